"""The real-account guard: `--target aws` writes to a real account only when cleared, touches only what it made,
and leaves nothing behind (docs/real-account.md).

    optin        the three keys (flag, environment, allowlist checked against STS) -> Clearance or Unsafe
    write_guard  what a run may send (WriteGuard); a write it keeps back raises GuardRefused
    budget       resource budget (BudgetExceeded), request-rate limit, throttling backoff
    ledger       the run's identity and tags, the write-ahead ledger of its creates
    plan         `--plan` and the accounts a run may name (AccountPool)
    sweep        delete what runs left, from ledgers or tags (SweepOptions -> run_sweep)
    real_run     one run: RealAccountRun (ledger + budget + guarded clients, cleanup on exit), run_aws, show_plan

It sits above contracts.options, contracts.calls, the contract data, the validator and `strategies`, and below the
engine, reporting and the CLI, which import the names below.
"""

from contracts.guard.budget import BudgetExceeded
from contracts.guard.ledger import TAG_RUN, TAG_TOKEN, RunIdentity
from contracts.guard.optin import ALLOWLIST_ENV, OPT_IN_ENV, OPT_IN_FLAG, Clearance, Unsafe, clear
from contracts.guard.plan import AccountPool, AccountsError
from contracts.guard.real_run import RealAccountRun, plan_calls_for, run_aws, show_plan
from contracts.guard.sweep import SweepOptions, SweepReport, run_sweep
from contracts.guard.write_guard import GuardRefused

__all__ = [
    "OPT_IN_FLAG", "OPT_IN_ENV", "ALLOWLIST_ENV", "Clearance", "Unsafe", "clear",
    "GuardRefused", "BudgetExceeded",
    "RealAccountRun", "run_aws", "show_plan", "plan_calls_for",
    "SweepOptions", "SweepReport", "run_sweep",
    "AccountPool", "AccountsError", "RunIdentity", "TAG_RUN", "TAG_TOKEN",
]
