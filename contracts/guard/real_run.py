"""One real-account run: clearance, then a ledger, a budget and guarded clients, and the cleanup at the end.

`run_aws(options, suite)` is the whole `--target aws` path of `run`: `--plan` (print and stop), clearance (exit
3), then `RealAccountRun`, the context the suite works in. It creates the ledger, instruments clients with the
write guard, the budget and the rate limit, and on leaving (end, failure, Ctrl-C, SIGTERM) deletes everything
the ledger holds, through contracts.guard.sweep. The run is handed to `suite(real)`; nothing else holds it, so
whoever builds the suite's target passes it on.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable, Mapping

from contracts.exit_codes import ExitCode
from contracts.guard import budget as budget_mod
from contracts.guard import ledger as ledger_mod
from contracts.guard import plan as plan_mod
from contracts.guard.ledger import Ledger, RunIdentity
from contracts.guard.optin import (
    OPT_IN_FLAG,
    Clearance,
    Unsafe,
    caller_identity,
    clear,
    endpoint_of,
    make_session,
    region_of,
)
from contracts.guard.sweep import SweepReport, sweep_ledger
from contracts.guard.write_guard import WriteGuard
from contracts.options import PROFILES, RunOptions
from strategies import Hints


def account_pool(options: RunOptions, session, *, region: str | None) -> plan_mod.AccountPool:
    """The accounts the run may put in invoice-unit rules (--accounts-file or --organization-accounts)."""
    if options.accounts_file and options.organization_accounts:
        raise plan_mod.AccountsError("give the rule accounts one way: --accounts-file or --organization-accounts")
    if options.accounts_file:
        return plan_mod.accounts_from_file(options.accounts_file)
    if options.organization_accounts:
        return plan_mod.accounts_from_organization(session.client("organizations", region_name=region),
                                                   options.organization_accounts)
    return plan_mod.AccountPool(source="no configuration (--accounts-file or --organization-accounts)")


def plan_calls_for(options: RunOptions) -> dict[str, int]:
    """The --plan call estimate of a real-account run of `options.profile` over its operations."""
    sized = PROFILES[options.profile].real_account
    return plan_mod.estimate_calls(options.selected_operations, sized.max_examples, read_only=options.read_only,
                                   stateful_steps=sized.stateful_examples * sized.stateful_steps)


class RealAccountRun:
    """One real-account run: identity, ledger, budget, guard, and the cleanup at the end.

        with RealAccountRun.start(options, clearance) as real:
            client = real.client()          # or real.instrument(a client you built for the target)
            ...                             # the suite
        real.summary()                      # for the behaviour report
    """

    def __init__(self, clearance: Clearance, *, identity: RunIdentity, ledger: Ledger, pool: plan_mod.AccountPool,
                 limits: budget_mod.Limits, read_only: bool, session, sleep: Callable[[float], None] = time.sleep):
        self.clearance = clearance
        self.identity = identity
        self.ledger = ledger
        self.pool = pool
        self.limits = limits
        self.read_only = read_only
        self.session = session
        self._sleep = sleep
        self.pacing = budget_mod.Pacing(limits, sleep=sleep)  # one rate for all the run's clients, cleanup's too
        self.resources = budget_mod.ResourceBudget(0 if read_only else limits.max_resources)
        self.guard = WriteGuard(account=clearance.account, identity=identity, ledger=ledger, pool=pool,
                                resources=self.resources, read_only=read_only)
        self.cleanup_report: SweepReport | None = None
        self.interrupted = False
        self.messages = sys.stderr  # where the cleanup reports
        self._old_sigterm = None
        self.worker_ledgers: list[Path] = []  # `run --workers N`: the workers' ledgers, swept at the end too

    @classmethod
    def start(cls, options: RunOptions, clearance: Clearance, *, session=None,
              sleep: Callable[[float], None] = time.sleep) -> "RealAccountRun":
        session = session or make_session(options)
        pool = account_pool(options, session, region=clearance.region)
        if not options.read_only and not pool:
            raise plan_mod.AccountsError("a read-write real-account run needs the accounts it may put in invoice-unit "
                                         "rules: --accounts-file FILE or --organization-accounts NAME_GLOB")
        limits = budget_mod.Limits(max_resources=options.resource_budget, max_rate=options.max_rate)
        identity = RunIdentity.new(options.name_prefix)
        ledger = Ledger.create(options.ledger_dir, identity, account=clearance.account, region=clearance.region,
                               target="aws", endpoint_url=clearance.endpoint_url)
        return cls(clearance, identity=identity, ledger=ledger, pool=pool, limits=limits,
                   read_only=options.read_only, session=session, sleep=sleep)

    # -- parallel workers (`run --workers N`) -------------------------------------------------------------------
    def handover(self, index: int, workers: int) -> dict:
        """What worker `index` of `workers` needs to run its part under this run's clearance (it asks STS
        nothing): the account, the rule accounts, its own run id (so its own ledger, which this run sweeps at the
        end too, in case the worker went down) and its share of the budget and rate (budget.worker_limits)."""
        identity = RunIdentity.new(self.identity.prefix)
        self.worker_ledgers.append(Path(self.ledger.path).parent / f"{identity.run_id}.jsonl")
        limits = budget_mod.worker_limits(self.limits, index, workers)
        return {"clearance": {**dataclasses.asdict(self.clearance), "allowlist": list(self.clearance.allowlist)},
                "pool": {"receivers": list(self.pool.receivers), "linked": list(self.pool.linked),
                         "source": self.pool.source},
                "run_id": identity.run_id, "limits": dataclasses.asdict(limits), "worker": index}

    @classmethod
    def for_worker(cls, options: RunOptions, handover: dict, *, session=None,
                   sleep: Callable[[float], None] = time.sleep) -> "RealAccountRun":
        """A worker's part of a run that `handover()` described, with its own identity, ledger and limits."""
        clearance = Clearance(**{**handover["clearance"], "allowlist": tuple(handover["clearance"]["allowlist"])})
        pool = plan_mod.AccountPool(tuple(handover["pool"]["receivers"]), tuple(handover["pool"]["linked"]),
                                    handover["pool"]["source"])
        identity = RunIdentity(handover["run_id"], options.name_prefix)
        ledger = Ledger.create(options.ledger_dir, identity, account=clearance.account, region=clearance.region,
                               target="aws", endpoint_url=clearance.endpoint_url)
        return cls(clearance, identity=identity, ledger=ledger, pool=pool, limits=budget_mod.Limits(**handover["limits"]),
                   read_only=options.read_only, session=session or make_session(options), sleep=sleep)

    # -- clients ---------------------------------------------------------------------------------------------
    def instrument(self, client) -> Any:
        """Guard, ledger, budget, rate limit and throttle backoff on `client` (an Invoicing botocore client)."""
        self.guard.install(client)
        self.pacing.install(client)
        return client

    def client(self, **kwargs) -> Any:
        return self.instrument(self.raw_client(**kwargs))

    def raw_client(self, **kwargs) -> Any:
        kwargs.setdefault("region_name", self.clearance.region)
        if self.clearance.endpoint_url:
            kwargs.setdefault("endpoint_url", self.clearance.endpoint_url)
        return self.session.client("invoicing", **kwargs)

    def hints(self) -> Hints:
        """Values the strategies need in a real account: only the pool's accounts, only this run's names."""
        return Hints(accounts=self.pool.accounts, arns=tuple(self.guard.created))

    # -- cleanup ---------------------------------------------------------------------------------------------
    def finish(self, *, out=None) -> SweepReport:
        """Delete everything this run created (idempotent; the ledger keeps the record)."""
        if self.cleanup_report is not None and self.cleanup_report.clean:
            return self.cleanup_report  # already clean: the suite may finish before the context exits
        client = self.raw_client()
        self.pacing.install(client)
        state = ledger_mod.read(self.ledger.path)
        part = sweep_ledger(client, state, self.ledger, caller_account=self.clearance.account, pending_grace=0.0)
        for path in self.worker_ledgers:  # a worker cleans up after itself; this is for one that went down
            if path.exists():
                writer = Ledger.reopen(path)
                try:
                    part.extend(sweep_ledger(client, ledger_mod.read(path), writer,
                                             caller_account=self.clearance.account, pending_grace=0.0))
                finally:
                    writer.close()
        earlier = [i for i in (self.cleanup_report.items if self.cleanup_report else [])
                   if i.status in ("removed", "gone")]
        self.cleanup_report = SweepReport(earlier + part.items)
        if out is not None:
            out.write(part.render(f"cleanup of run {self.identity.run_id}"))
        return self.cleanup_report

    def summary(self) -> dict:
        """For the behaviour report: which account and region, what was created and removed."""
        report = self.cleanup_report
        return {
            "account": self.clearance.account,
            "caller_arn": self.clearance.caller_arn,
            "region": self.clearance.region,
            "endpoint_url": self.clearance.endpoint_url,
            "run_id": self.identity.run_id,
            "ledger": str(self.ledger.path),
            "read_only": self.read_only,
            "resource_budget": self.resources.limit,
            "created": [{"type": kind, "arn": arn} for arn, kind in self.guard.created.items()],
            "deleted_by_run": sorted(self.guard.deleted),
            "removed_at_cleanup": [] if report is None else [r.as_dict() for r in report.removed],
            "left_behind": [] if report is None else [r.as_dict() for r in report.remaining()],
            "guard_refusals": self.guard.refused,
            "interrupted": self.interrupted,
        }

    def describe(self) -> dict:
        """For the target line of reports: where the run goes."""
        return {"target": "aws", "account": self.clearance.account, "caller_arn": self.clearance.caller_arn,
                "region": self.clearance.region, "endpoint_url": self.clearance.endpoint_url,
                "run_id": self.identity.run_id, "read_only": self.read_only}

    def __enter__(self) -> "RealAccountRun":
        if threading.current_thread() is threading.main_thread():
            # SIGTERM (a CI job cancelled) ends the run like Ctrl-C does: through the cleanup.
            self._old_sigterm = signal.signal(signal.SIGTERM, _raise_interrupt)
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if self._old_sigterm is not None:
            signal.signal(signal.SIGTERM, self._old_sigterm)
            self._old_sigterm = None
        self.interrupted = exc_type is not None and issubclass(exc_type, KeyboardInterrupt)
        try:
            self.finish(out=self.messages)
        except BaseException as error:  # noqa: BLE001 - the run must say how to finish the cleanup
            print(f"invoicing-contracts: cleanup of run {self.identity.run_id} did not finish "
                  f"({type(error).__name__}: {error}); run: invoicing-contracts sweep --ledger {self.ledger.path} "
                  f"{OPT_IN_FLAG}", file=self.messages)
            if exc_type is None:
                raise
        finally:
            self.ledger.close()


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


# --------------------------------------------------------------------------------- one call for `run` to make


def run_aws(options: RunOptions, suite: Callable[[RealAccountRun], int], *,
            plan_calls: Mapping[str, int] | None = None, session=None, environ: Mapping[str, str] | None = None,
            out=None, err=None) -> int:
    """The whole `--target aws` path of `run`: --plan, clearance (exit 3), the guarded run, the cleanup.

    `suite(real)` runs the contract suite with clients from `real.client()` (or `real.instrument(c)`) and returns
    its exit code. Returns the exit code of the run: the suite's, or 3 when refused or when the cleanup left
    resources behind (their ARNs and the sweep command are printed)."""
    out = out or sys.stdout
    err = err or sys.stderr
    session = session or make_session(options)
    if options.plan:
        return show_plan(options, plan_calls, session=session, environ=environ, out=out)
    try:
        clearance = clear(options, environ=environ, session=session)
    except Unsafe as error:
        print(f"invoicing-contracts run: {error}", file=err)
        return ExitCode.UNSAFE
    try:
        real = RealAccountRun.start(options, clearance, session=session)
    except plan_mod.AccountsError as error:
        print(f"invoicing-contracts run: refusing --target aws ({clearance.describe()}): {error}", file=err)
        return ExitCode.UNSAFE
    real.messages = err
    print(f"invoicing-contracts run: against the real {clearance.describe()}; run {real.identity.run_id}, ledger "
          f"{real.ledger.path}", file=err)
    with real:
        code = suite(real)
    report = real.cleanup_report
    if report is not None and not report.clean:
        print(f"invoicing-contracts run: resources left behind; run: invoicing-contracts sweep --ledger "
              f"{real.ledger.path} {OPT_IN_FLAG}", file=err)
        return ExitCode.UNSAFE
    return code


def show_plan(options: RunOptions, plan_calls: Mapping[str, int] | None = None, *, session=None,
              environ: Mapping[str, str] | None = None, out=None) -> int:
    """Print the plan and return 0; asks STS (and Organizations, if so configured), never Invoicing.
    `plan_calls`: the calls per operation to show (default: the estimate for the options' profile)."""
    out = out or sys.stdout
    session = session or make_session(options)
    environ = os.environ if environ is None else environ
    refusal, account, arn = None, None, None
    try:
        clearance = clear(options, environ=environ, session=session)
        account, arn = clearance.account, clearance.caller_arn
    except Unsafe as error:
        refusal = str(error).split(": ", 1)[-1]
        region = region_of(options, session)
        if region:
            try:
                identity = caller_identity(session, region)
                account, arn = identity["Account"], identity["Arn"]
            except Unsafe:
                pass
    try:
        pool = account_pool(options, session, region=region_of(options, session))
    except plan_mod.AccountsError as error:
        pool = plan_mod.AccountPool(source=f"unusable: {error}")
    identity = RunIdentity.new(options.name_prefix)
    plan = plan_mod.build(
        clearance_account=account, caller_arn=arn, region=region_of(options, session),
        endpoint_url=endpoint_of(options, environ), read_only=options.read_only,
        max_resources=options.resource_budget, max_rate=options.max_rate, pool=pool,
        run_name_prefix=f"{identity.prefix}-<8 hex digits of the run id>-", ledger_dir=str(options.ledger_dir),
        calls=plan_calls_for(options) if plan_calls is None else plan_calls, refusal=refusal,
    )
    out.write(plan_mod.render(plan))
    return ExitCode.OK
