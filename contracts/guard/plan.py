"""`run --target aws --plan`: what a real-account run would do, printed before anything is sent; and the
accounts it may use as invoice-unit receivers and linked accounts.

The plan is an upper bound, not a forecast: Hypothesis decides the examples at run time, so the plan states the
most each operation may be called, that creates stop at the resource budget, and that every resource created is
deleted again (by the run at its end, or by `invoicing-contracts sweep`). Making the plan sends no Invoicing
request; it asks STS who the caller is, and Organizations for its accounts when told to take them from there.

Accounts (`AccountPool`): invoice units change how the accounts in their rules are invoiced, so the run uses only
accounts it was given: a JSON file (`--accounts-file`: {"receivers": [...], "linked_accounts": [...]}) or the
organisation's ACTIVE accounts whose name matches a glob (`--organization-accounts 'sandbox-*'`; Organizations
ListAccounts, a read). The real-account guard refuses any write naming another 12-digit account.
"""

from __future__ import annotations

import fnmatch
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping

from contracts.packs.contract import load as load_contract
from strategies import service_model

ACCOUNT_ID = re.compile(r"\d{12}")
READ_PREFIXES = ("Get", "List", "BatchGet", "Describe")


class AccountsError(ValueError):
    """The account configuration cannot be used (the message says what to change)."""


# ------------------------------------------------------------------------------------------------- accounts


@dataclass(frozen=True)
class AccountPool:
    """Accounts a run may name in invoice-unit rules: receivers and linked (or bill-source) accounts."""

    receivers: tuple[str, ...] = ()
    linked: tuple[str, ...] = ()
    source: str = "none"

    def __post_init__(self):
        bad = [a for a in (*self.receivers, *self.linked) if not isinstance(a, str) or not ACCOUNT_ID.fullmatch(a)]
        if bad:
            raise AccountsError(f"account IDs are 12 digits; {self.source} has {bad!r}")

    @property
    def accounts(self) -> tuple[str, ...]:
        return tuple(sorted(set(self.receivers) | set(self.linked)))

    def __contains__(self, account: object) -> bool:
        return account in self.receivers or account in self.linked

    def __bool__(self) -> bool:
        return bool(self.receivers or self.linked)


def accounts_from_file(path: str | Path) -> AccountPool:
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except OSError as error:
        raise AccountsError(f"cannot read accounts file {path}: {error.strerror}") from None
    except ValueError as error:
        raise AccountsError(f"accounts file {path} is not JSON: {error}") from None
    if not isinstance(data, dict) or not set(data) <= {"receivers", "linked_accounts"}:
        raise AccountsError(
            f'accounts file {path} must be a JSON object {{"receivers": [...], "linked_accounts": [...]}}'
        )
    receivers = tuple(data.get("receivers", ()))
    linked = tuple(data.get("linked_accounts", ()))
    if not receivers:
        raise AccountsError(f"accounts file {path} names no receivers; an invoice unit needs one")
    return AccountPool(receivers, linked, source=f"configuration {path}")


def accounts_from_organization(org_client, name_glob: str, *, exclude: Iterable[str] = ()) -> AccountPool:
    """ACTIVE accounts of the caller's organisation whose name matches `name_glob` (Organizations ListAccounts).

    `name_glob` is required on purpose: a production organisation's every account is not a test account. Pass
    '*' to mean all of them."""
    excluded = set(exclude)
    chosen: list[str] = []
    kwargs: dict = {}
    while True:
        page = org_client.list_accounts(**kwargs)
        for account in page.get("Accounts", []):
            active = account.get("Status", account.get("State")) == "ACTIVE"
            if active and fnmatch.fnmatchcase(account.get("Name", ""), name_glob) and account["Id"] not in excluded:
                chosen.append(account["Id"])
        if not page.get("NextToken"):
            break
        kwargs["NextToken"] = page["NextToken"]
    if not chosen:
        raise AccountsError(
            f"no ACTIVE account of the organisation has a name matching {name_glob!r}; "
            f"name the test accounts with --organization-accounts GLOB or list them in --accounts-file"
        )
    chosen.sort()
    return AccountPool(tuple(chosen), tuple(chosen), source=f"Organizations ListAccounts (names {name_glob!r})")


# ------------------------------------------------------------------------------------------------- the plan


def is_read(operation: str) -> bool:
    return operation.startswith(READ_PREFIXES)


@dataclass
class Plan:
    account: str | None
    caller_arn: str | None
    region: str | None
    endpoint_url: str | None
    read_only: bool
    max_resources: int
    max_rate: float
    pool: AccountPool
    run_name_prefix: str
    ledger_dir: str
    calls: dict[str, int]  # operation -> most calls it may get
    refusal: str | None = None  # why a real run would be refused now (None: it would be allowed)
    notes: list[str] = field(default_factory=list)

    def effects(self) -> dict[str, str]:
        contract = load_contract()
        effects = {}
        for op in self.calls:
            entry = contract.operations.get(op)
            effects[op] = entry.effect if entry else ("read" if is_read(op) else "write")
        return effects

    def creates_at_most(self) -> int:
        if self.read_only:
            return 0
        creates = sum(n for op, n in self.calls.items() if self.effects()[op] == "create")
        return min(self.max_resources, creates)


def estimate_calls(operations: Iterable[str], examples: int, *, read_only: bool, stateful_steps: int = 0,
                   replays_per_step: int = 3) -> dict[str, int]:
    """The most calls each operation may get: `examples` valid plus `examples` invalid requests (stateless), plus
    for token-bearing operations `stateful_steps` steps of the idempotency machines, each a call and up to
    `replays_per_step` replays or conflicting reuses of its token. Read-only: no write is sent at all."""
    token_ops = set(load_contract().operations)
    calls = {}
    for op in operations:
        if read_only and not is_read(op):
            calls[op] = 0  # the write guard keeps every write of a read-only run back
            continue
        n = 2 * examples
        if op in token_ops:
            n += stateful_steps * (1 + replays_per_step)
        calls[op] = n
    return calls


def build(*, clearance_account: str | None, caller_arn: str | None, region: str | None,
          endpoint_url: str | None, read_only: bool, max_resources: int, max_rate: float, pool: AccountPool,
          run_name_prefix: str, ledger_dir: str, calls: Mapping[str, int], refusal: str | None = None) -> Plan:
    unknown = sorted(set(calls) - set(service_model("invoicing").operation_names))
    if unknown:
        raise ValueError(f"not operations of the installed Invoicing model: {', '.join(unknown)}")
    plan = Plan(clearance_account, caller_arn, region, endpoint_url, read_only, max_resources, max_rate, pool,
                run_name_prefix, ledger_dir, dict(calls), refusal)
    if not read_only and not pool:
        plan.notes.append("no accounts configured: a read-write run needs --accounts-file or "
                          "--organization-accounts, and would be refused")
    return plan


def render(plan: Plan) -> str:
    effects = plan.effects()
    lines = ["Plan of `invoicing-contracts run --target aws` (nothing has been sent to Invoicing)", ""]
    who = plan.account or "unknown"
    lines.append(f"  account   {who}" + (f"  ({plan.caller_arn})" if plan.caller_arn else ""))
    lines.append(f"  region    {plan.region or 'unset'}" + (f"  endpoint {plan.endpoint_url}" if plan.endpoint_url else ""))
    lines.append(f"  mode      {'read-only: reads only; every write is kept back, unsent' if plan.read_only else 'read-write'}")
    verdict = f"REFUSED now: {plan.refusal}" if plan.refusal else "allowed (opt-in given, account on the allowlist)"
    lines.append(f"  guard     {verdict}")
    lines.append(f"  budget    at most {plan.max_resources} resources created, at most {plan.max_rate:g} requests/s, "
                 f"ThrottlingException retried with the same token after a jittered backoff")
    lines.append(f"  identity  invoice-unit names start with {plan.run_name_prefix!r}; every resource is tagged "
                 f"invoicing-contracts:run=<run id> and invoicing-contracts:token=<its ClientToken>")
    lines.append(f"  ledger    {plan.ledger_dir}/<run id>.jsonl")
    lines.append("")
    lines.append(f"  accounts  from {plan.pool.source}")
    lines.append(f"    receivers        {', '.join(plan.pool.receivers) or '-'}")
    lines.append(f"    linked accounts  {', '.join(plan.pool.linked) or '-'}")
    lines.append("")
    width = max([len(op) for op in plan.calls] + [9])
    lines.append(f"  {'operation':<{width}}  {'effect':<7}  calls at most")
    for op in sorted(plan.calls, key=lambda o: (effects[o] == "read", o)):
        n = plan.calls[op]
        note = ""
        if effects[op] == "create" and not plan.read_only:
            note = f"  (creates stop at the budget: {plan.max_resources})"
        if plan.read_only and effects[op] != "read":
            note = "  (read-only: never sent)"
        lines.append(f"  {op:<{width}}  {effects[op]:<7}  {n}{note}")
    lines.append("")
    creates = plan.creates_at_most()
    lines.append(f"  creates at most {creates} resources; deletes every one it creates (at the end of the run, on "
                 f"failure and on Ctrl-C; after a crash: invoicing-contracts sweep)")
    lines.append("  touches no invoice unit or preference it did not create (the guard refuses such writes locally)")
    for note in plan.notes:
        lines.append(f"  note: {note}")
    return "\n".join(lines) + "\n"
