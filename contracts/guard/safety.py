"""The real-account guard: `--target aws` runs only when told three times, and then touches only what it made.

Clearance (`clear`), before any Invoicing client exists:
  1. the flag `--allow-real-account`, and
  2. the environment variable INVOICING_CONTRACTS_ALLOW_REAL_ACCOUNT=1 (a pipeline sets it on purpose; a
     command copied from a README does not carry it), and
  3. an allowlist of account IDs (`--allowed-account ID`, repeatable, or INVOICING_CONTRACTS_ALLOWED_ACCOUNTS),
     on which the caller's account, as STS GetCallerIdentity reports it, must be.
  Otherwise `Unsafe` (exit code 3) with the region and, once known, the account and caller ARN in the message.
  STS is asked only after 1-3 are given: without opt-in nothing leaves the machine.

The write guard (`RealAccountRun.instrument(client)`), botocore event handlers on the run's clients; a write the
guard refuses raises `GuardRefused` locally and nothing is sent:
  - a write may name (in any member whose model shape is an ARN) only resources this run created, or strings
    that do not mention the caller's account (an ARN of another account cannot address the caller's resources);
  - a write may name (in any member whose model shape is a 12-digit account ID) only accounts of the run's
    account pool (contracts.guard.plan.AccountPool);
  - the run's own tags cannot be changed or removed;
  - `--read-only`: a write is sent only when the local validator finds it invalid (refused before any effect);
  - creates get the run's tags and a ClientToken (when the caller left it out, as botocore would), claim the
    resource budget, and are written to the ledger before they are sent; the ARN is written when it comes back.
Reads are never restricted. Which operations read is decided by name (Get/List/BatchGet); every other operation,
including ones a future model adds, is a write and guarded.

`RealAccountRun` is the context a run works in: it creates the ledger, instruments clients, and on leaving (end,
failure, Ctrl-C, SIGTERM) deletes everything the ledger holds, through contracts.guard.sweep.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping

from contracts.guard import budget as budget_mod
from contracts.guard import plan as plan_mod
from contracts.model.redaction import sensitive_member_names
from contracts.guard.ledger import DEFAULT_LEDGER_DIR, DEFAULT_NAME_PREFIX, TAG_RUN, TAG_TOKEN, Ledger, RunIdentity
from contracts.exit_codes import ExitCode

OPT_IN_FLAG = "--allow-real-account"
OPT_IN_ENV = "INVOICING_CONTRACTS_ALLOW_REAL_ACCOUNT"
ALLOWLIST_ENV = "INVOICING_CONTRACTS_ALLOWED_ACCOUNTS"
_TRUE = {"1", "true", "yes"}
_ACCOUNT = re.compile(r"\d{12}")


class Unsafe(RuntimeError):
    """The real-account run must not start (CLI exit code 3). The message says why and what to change."""

    exit_code = ExitCode.UNSAFE


class GuardRefused(RuntimeError):
    """The guard would not send this write (nothing was sent). The suite treats it as 'not tried', not a
    violation."""


# Everything that stops a call locally in a real-account run.
REFUSALS = (GuardRefused, budget_mod.BudgetExceeded)


# --------------------------------------------------------------------------------------------------- options


def add_arguments(parser: argparse.ArgumentParser, *, sweep: bool = False) -> None:
    """The real-account options, for `run` (and, with sweep=True, for `sweep`). An option the parser already
    has is left to its owner (e.g. a shared --accounts-file)."""
    group = parser.add_argument_group("real account (--target aws)")

    def add(*flags: str, **kwargs: Any) -> None:
        if not any(flag in parser._option_string_actions for flag in flags):
            group.add_argument(*flags, **kwargs)

    add(OPT_IN_FLAG, action="store_true",
        help=f"opt in to writes in a real AWS account (also needs {OPT_IN_ENV}=1 and the account allowlisted)")
    add("--allowed-account", action="append", default=[], metavar="ACCOUNT_ID",
        help=f"an account the run may write to (repeatable, or comma-separated; else {ALLOWLIST_ENV})")
    add("--aws-profile", default=None, help="AWS shared-config profile for credentials and region")
    add("--aws-region", default=None, help="AWS region (default: the profile's or AWS_DEFAULT_REGION)")
    add("--max-rate", type=float, default=budget_mod.Limits.max_rate, metavar="PER_SECOND",
        help=f"request-rate limit, retries included (default {budget_mod.Limits.max_rate:g})")
    add("--ledger-dir", default=str(DEFAULT_LEDGER_DIR),
        help=f"where ledgers of created resources are kept (default {DEFAULT_LEDGER_DIR})")
    if sweep:
        return
    add("--plan", action="store_true", help="print what the run would create, update and delete, and stop")
    add("--read-only", action="store_true",
        help="only reads, and writes that are invalid requests (refused before any effect)")
    add("--max-resources", type=int, default=None, metavar="N",
        help="most resources the run may create (default: the profile's, " + ", ".join(
            f"{name} {p.max_resources}" for name, p in REAL_ACCOUNT_PROFILES.items()) + ")")
    add("--accounts-file", default=None, metavar="JSON",
        help='accounts for invoice-unit rules: {"receivers": [...], "linked_accounts": [...]}')
    add("--organization-accounts", default=None, metavar="NAME_GLOB",
        help="take rule accounts from Organizations ListAccounts: ACTIVE accounts whose name matches")
    add("--name-prefix", default=DEFAULT_NAME_PREFIX,
        help=f"prefix of the invoice-unit names the run creates (default {DEFAULT_NAME_PREFIX})")


# ------------------------------------------------------------------------------------------------- clearance


@dataclass(frozen=True)
class Clearance:
    """The account a real-account run was cleared for."""

    account: str
    caller_arn: str
    region: str
    endpoint_url: str | None
    allowlist: tuple[str, ...]

    def describe(self) -> str:
        where = f"region {self.region}" + (f", endpoint {self.endpoint_url}" if self.endpoint_url else "")
        return f"account {self.account} ({self.caller_arn}), {where}"


def allowlist_of(args: argparse.Namespace, environ: Mapping[str, str]) -> tuple[str, ...]:
    raw = list(getattr(args, "allowed_account", None) or [])
    if not raw and environ.get(ALLOWLIST_ENV):
        raw = [environ[ALLOWLIST_ENV]]
    ids = [part for item in raw for part in re.split(r"[,\s]+", item) if part]
    bad = [i for i in ids if not _ACCOUNT.fullmatch(i)]
    if bad:
        raise ValueError(f"the allowlist has entries that are not 12-digit account IDs: {', '.join(map(repr, bad))}")
    return tuple(dict.fromkeys(ids))


def region_of(args: argparse.Namespace, session) -> str | None:
    return getattr(args, "aws_region", None) or session.region_name


def endpoint_of(args: argparse.Namespace, environ: Mapping[str, str]) -> str | None:
    return getattr(args, "endpoint_url", None) or environ.get("AWS_ENDPOINT_URL_INVOICING") or None


def make_session(args: argparse.Namespace):
    import boto3

    return boto3.Session(profile_name=getattr(args, "aws_profile", None), region_name=getattr(args, "aws_region", None))


def clear(args: argparse.Namespace, *, environ: Mapping[str, str] | None = None, session=None,
          purpose: str = "--target aws") -> Clearance:
    """Raise Unsafe unless flag, environment, allowlist and the caller's account all agree; no Invoicing call."""
    environ = os.environ if environ is None else environ
    session = session or make_session(args)
    region = region_of(args, session)
    endpoint = endpoint_of(args, environ)
    where = f"region {region or 'unset'}" + (f", endpoint {endpoint}" if endpoint else "")

    def refuse(reason: str, account: str = "not checked") -> Unsafe:
        return Unsafe(f"refusing {purpose} ({where}, account {account}): {reason}")

    if not getattr(args, "allow_real_account", False):
        raise refuse(f"this run would write to a real AWS account; opt in with {OPT_IN_FLAG} and "
                     f"{OPT_IN_ENV}=1, and allowlist the account with --allowed-account ACCOUNT_ID")
    if environ.get(OPT_IN_ENV, "").strip().lower() not in _TRUE:
        raise refuse(f"{OPT_IN_FLAG} was given but {OPT_IN_ENV} is not set to 1; both are needed, so that a "
                     f"copied command line alone cannot write to an account")
    try:
        allowlist = allowlist_of(args, environ)
    except ValueError as error:
        raise refuse(str(error)) from None
    if not allowlist:
        raise refuse(f"no account is allowlisted; add --allowed-account ACCOUNT_ID (or {ALLOWLIST_ENV}) for each "
                     f"account this run may write to")
    if not region:
        raise refuse("no region; set --aws-region or AWS_DEFAULT_REGION")
    identity = caller_identity(session, region, purpose)
    account, arn = identity["Account"], identity["Arn"]
    if account not in allowlist:
        raise refuse(f"the caller ({arn}) is account {account}, which is not on the allowlist "
                     f"({', '.join(allowlist)}); nothing was sent to Invoicing", account)
    return Clearance(account, arn, region, endpoint, allowlist)


def caller_identity(session, region: str, purpose: str = "--target aws") -> dict:
    """STS GetCallerIdentity (needs no IAM permission); Unsafe when the caller cannot be established."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return session.client("sts", region_name=region).get_caller_identity()
    except (BotoCoreError, ClientError) as error:
        raise Unsafe(f"refusing {purpose} (region {region}): cannot establish the caller's account with STS "
                     f"GetCallerIdentity ({type(error).__name__}: {error}); check the credentials") from None


# ----------------------------------------------------------------------------------------------- write guard


def is_read(operation: str) -> bool:
    return plan_mod.is_read(operation)


def _string_leaves(shape, value, path: str = ""):
    """(path, shape, string) for every string in `value`, with the model shape it sits in where the value
    agrees with the model, else the nearest shape known (a type-confused invalid request is still checked)."""
    kind = getattr(shape, "type_name", None)
    if isinstance(value, str):
        yield path, (shape.member if kind == "list" else shape), value
    elif isinstance(value, dict):
        for key, item in value.items():
            if kind == "structure":
                inner = shape.members.get(key)
            elif kind == "map":
                inner = shape.value
            else:
                inner = None
            yield from _string_leaves(inner, item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, (list, tuple)):
        inner = shape.member if kind == "list" else shape
        for i, item in enumerate(value):
            yield from _string_leaves(inner, item, f"{path}[{i}]")


class WriteGuard:
    """The event handlers of one real-account run (shared by all its clients; thread-safe)."""

    def __init__(self, *, account: str, identity: RunIdentity, ledger: Ledger | None, pool: plan_mod.AccountPool,
                 resources: budget_mod.ResourceBudget, read_only: bool):
        from contracts.packs.contract import load as load_contract
        from strategies import service_model
        from strategies.hints import is_account_id, is_arn

        self.account = account
        self.identity = identity
        self.ledger = ledger
        self.pool = pool
        self.resources = resources
        self.read_only = read_only
        self.contract = load_contract()
        self.model = service_model("invoicing")
        self._is_account_id, self._is_arn = is_account_id, is_arn
        self._lock = threading.Lock()
        self.created: dict[str, str] = {}  # arn -> resource type, in creation order
        self.deleted: set[str] = set()
        self.refused = 0
        self._tag_max = self.model.shape_for("ResourceTagList").metadata.get("max")

    # -- what an operation is --------------------------------------------------------------------------------
    def _entry(self, operation: str):
        return self.contract.operations.get(operation)

    def _is_create(self, operation: str) -> bool:
        entry = self._entry(operation)
        return entry is not None and entry.effect == "create"

    # -- handlers --------------------------------------------------------------------------------------------
    def before_parameter_build(self, params: dict, model, context: dict, **_kwargs) -> None:
        if not self._is_create(model.name):
            return
        entry = self._entry(model.name)
        token = params.get(entry.token_member)
        if token is None:
            token = params[entry.token_member] = str(uuid.uuid4())  # what botocore would fill in
        if not isinstance(token, str):
            self._refuse(f"{model.name}: {entry.token_member} is not a string, so it cannot tag the resource; a "
                         f"real-account run creates only what it can find again")
        if "ResourceTags" not in model.input_shape.members:
            self._refuse(f"{model.name} cannot carry the run's tags; a real-account run creates only what it can "
                         f"find again")
        tags = params.get("ResourceTags")
        if tags is None:
            tags = []
        if not isinstance(tags, list):
            self._refuse(f"{model.name}: ResourceTags is not a list, so the run's tags cannot be added")
        own = self.identity.tags(token)
        if self._tag_max is not None and len(tags) <= self._tag_max < len(tags) + len(own):
            self._refuse(f"{model.name} has {len(tags)} ResourceTags; with the run's {len(own)} it would exceed the "
                         f"model's {self._tag_max}. In a real-account run, draw at most {self._tag_max - len(own)}")
        keys = {t.get("Key") for t in tags if isinstance(t, dict)}
        params["ResourceTags"] = [*tags, *(t for t in own if t["Key"] not in keys)]
        context["real_account_create"] = {"token": token, "name": params.get("Name")}

    def before_call(self, model, params=None, context=None, **_kwargs) -> None:
        operation = model.name
        if is_read(operation):
            return None
        api_params = (context or {}).get("real_account_params")
        self.check_write(operation, api_params if api_params is not None else {})
        if self._is_create(operation):
            self._before_create(operation, api_params or {}, context)
        return None

    def provide_params(self, params: dict, model, context: dict, **_kwargs) -> None:
        # Keep the boto3-form parameters for before-call, which only sees the serialised request.
        context["real_account_params"] = params
        return None

    def after_call(self, http_response, parsed: dict, model, context: dict, **_kwargs) -> None:
        operation = model.name
        entry = self._entry(operation)
        ok = http_response.status_code < 300
        create = context.get("real_account_create")
        if create and "seq" in create and self.ledger is not None:
            if ok:
                arn = parsed.get(entry.response_identifier)
                if isinstance(arn, str):
                    self.ledger.created(create["seq"], arn)
                    with self._lock:
                        self.created[arn] = entry.resource.kind
                    if not create.get("claimed"):
                        self.resources.claim_after(create["token"], operation)
            else:
                code = parsed.get("Error", {}).get("Code")
                # Only a client error other than throttling says "no effect"; after a 5xx (or a throttling
                # answer from a faulty service) the entry stays pending and sweep looks for it by its tag.
                if 400 <= http_response.status_code < 500 and code not in budget_mod.THROTTLING_CODES:
                    self.ledger.refused(create["seq"], str(code or http_response.status_code))
        if ok and entry is not None and entry.effect == "delete":
            arn = (context.get("real_account_params") or {}).get(entry.resource.identifier)
            if isinstance(arn, str):
                if self.ledger is not None:
                    self.ledger.deleted(arn, by="run")
                with self._lock:
                    self.deleted.add(arn)

    # -- checks ----------------------------------------------------------------------------------------------
    def check_write(self, operation: str, params: dict) -> None:
        """GuardRefused unless this write may be sent (see the module docstring)."""
        shape = self.model.operation_model(operation).input_shape
        if self.read_only:
            from contracts.validation.validate import validate_request

            if not validate_request(operation, params):
                self._refuse(f"{operation} is a valid write and this is a --read-only run; only requests refused "
                             f"before any effect are sent")
        with self._lock:
            ours = set(self.created)
        secret_names = sensitive_member_names()
        for path, leaf_shape, value in _string_leaves(shape, params):
            if leaf_shape is None:
                continue
            # Never echo a member the model marks sensitive (none is an ARN or an account today).
            shown = "<redacted>" if secret_names & set(re.split(r"[.\[]", path)) else value
            if self._is_arn(leaf_shape) and value not in ours and self.account in value:
                self._refuse(f"{operation} names {shown} at {path}, a resource of account {self.account} that this "
                             f"run did not create")
            if self._is_account_id(leaf_shape) and _ACCOUNT.fullmatch(value) and value not in self.pool:
                self._refuse(f"{operation} names account {shown} at {path}, which is not in the run's accounts "
                             f"({self.pool.source})")
        if not self._is_create(operation):
            tags, tag_keys = params.get("ResourceTags"), params.get("ResourceTagKeys")
            keys = [t.get("Key") for t in tags if isinstance(t, dict)] if isinstance(tags, list) else []
            keys += list(tag_keys) if isinstance(tag_keys, list) else [tag_keys]
            if TAG_RUN in keys or TAG_TOKEN in keys:
                self._refuse(f"{operation} would change the run's own tags ({TAG_RUN}, {TAG_TOKEN}), by which "
                             f"sweep recognises what the run created")

    def check_raw(self, operation: str, params: dict) -> None:
        """A request sent as hand-made JSON (an invalid one botocore cannot serialise) bypasses the handlers
        above: check it here. A create cannot carry the run's tags or be ledgered that way, so it is refused."""
        if is_read(operation):
            return
        if self._is_create(operation):
            self._refuse(f"{operation} as hand-made JSON cannot carry the run's tags nor be written to the ledger")
        self.check_write(operation, params if isinstance(params, dict) else {})

    def _before_create(self, operation: str, params: dict, context: dict) -> None:
        create = context.get("real_account_create")
        if create is None:
            return
        from contracts.validation.validate import validate_request

        if not validate_request(operation, params):
            self.resources.claim(create["token"], operation)  # BudgetExceeded: nothing sent
            create["claimed"] = True
        if self.ledger is not None:
            entry = self._entry(operation)
            name = create.get("name") if isinstance(create.get("name"), str) else None
            create["seq"] = self.ledger.intend(operation, create["token"], resource_type=entry.resource.kind,
                                               name=name)

    def _refuse(self, message: str) -> None:
        with self._lock:
            self.refused += 1
        raise GuardRefused(f"real-account guard: {message}; nothing was sent")

    # -- installation ----------------------------------------------------------------------------------------
    def install(self, client) -> Any:
        events = client.meta.events
        service_id = client.meta.service_model.service_id.hyphenize()
        for operation in client.meta.service_model.operation_names:
            suffix = f"{service_id}.{operation}"
            events.register_first(f"before-parameter-build.{suffix}", self.provide_params)
            events.register_last(f"before-parameter-build.{suffix}", self.before_parameter_build)
            events.register_first(f"before-call.{suffix}", self.before_call)
            events.register_first(f"after-call.{suffix}", self.after_call)
        return client


# ----------------------------------------------------------------------------------------------- the session


def pool_from_args(args: argparse.Namespace, session, *, region: str | None) -> plan_mod.AccountPool:
    accounts_file = getattr(args, "accounts_file", None)
    glob = getattr(args, "organization_accounts", None)
    if accounts_file and glob:
        raise plan_mod.AccountsError("give the rule accounts one way: --accounts-file or --organization-accounts")
    if accounts_file:
        return plan_mod.accounts_from_file(accounts_file)
    if glob:
        return plan_mod.accounts_from_organization(session.client("organizations", region_name=region), glob)
    return plan_mod.AccountPool(source="no configuration (--accounts-file or --organization-accounts)")


class RealAccountRun:
    """One real-account run: identity, ledger, budget, guard, and the cleanup at the end.

        with RealAccountRun.start(args, clearance) as real:
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
        self.resources = budget_mod.ResourceBudget(0 if read_only else limits.max_resources)
        self.guard = WriteGuard(account=clearance.account, identity=identity, ledger=ledger, pool=pool,
                                resources=self.resources, read_only=read_only)
        self.cleanup_report = None
        self.interrupted = False
        self.messages = sys.stderr  # where the cleanup reports
        self._old_sigterm = None

    @classmethod
    def start(cls, args: argparse.Namespace, clearance: Clearance, *, session=None,
              sleep: Callable[[float], None] = time.sleep) -> "RealAccountRun":
        session = session or make_session(args)
        read_only = bool(getattr(args, "read_only", False))
        pool = pool_from_args(args, session, region=clearance.region)
        if not read_only and not pool:
            raise plan_mod.AccountsError("a read-write real-account run needs the accounts it may put in invoice-unit "
                                         "rules: --accounts-file FILE or --organization-accounts NAME_GLOB")
        limits = budget_mod.Limits(max_resources=resource_budget(args),
                                   max_rate=getattr(args, "max_rate", budget_mod.Limits.max_rate))
        identity = RunIdentity.new(getattr(args, "name_prefix", None) or DEFAULT_NAME_PREFIX)
        ledger = Ledger.create(getattr(args, "ledger_dir", None) or DEFAULT_LEDGER_DIR, identity,
                               account=clearance.account, region=clearance.region, target="aws",
                               endpoint_url=clearance.endpoint_url)
        return cls(clearance, identity=identity, ledger=ledger, pool=pool, limits=limits, read_only=read_only,
                   session=session, sleep=sleep)

    # -- clients ---------------------------------------------------------------------------------------------
    def instrument(self, client) -> Any:
        """Guard, ledger, budget, rate limit and throttle backoff on `client` (an Invoicing botocore client)."""
        self.guard.install(client)
        budget_mod.install(client, self.limits, sleep=self._sleep)
        return client

    def client(self, **kwargs) -> Any:
        return self.instrument(self.raw_client(**kwargs))

    def raw_client(self, **kwargs) -> Any:
        kwargs.setdefault("region_name", self.clearance.region)
        if self.clearance.endpoint_url:
            kwargs.setdefault("endpoint_url", self.clearance.endpoint_url)
        return self.session.client("invoicing", **kwargs)

    def hints(self):
        """Values the strategies need in a real account: only the pool's accounts, only this run's names."""
        from strategies.hints import Hints

        return Hints(accounts=self.pool.accounts, arns=tuple(self.guard.created))

    # -- cleanup ---------------------------------------------------------------------------------------------
    def finish(self, *, out=None):
        """Delete everything this run created (idempotent; the ledger keeps the record). Returns the
        contracts.guard.sweep.SweepReport."""
        from contracts.guard import ledger as ledger_mod
        from contracts.guard.sweep import SweepReport, sweep_ledger

        if self.cleanup_report is not None and self.cleanup_report.clean:
            return self.cleanup_report  # already clean: the suite may finish before the context exits
        client = self.raw_client()
        budget_mod.install(client, self.limits, sleep=self._sleep)
        state = ledger_mod.read(self.ledger.path)
        part = sweep_ledger(client, state, self.ledger, caller_account=self.clearance.account, pending_grace=0.0)
        earlier = [i for i in (self.cleanup_report.items if self.cleanup_report else []) if i.status in ("removed", "gone")]
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
        global _CURRENT
        _CURRENT = self
        if threading.current_thread() is threading.main_thread():
            # SIGTERM (a CI job cancelled) ends the run like Ctrl-C does: through the cleanup.
            self._old_sigterm = signal.signal(signal.SIGTERM, _raise_interrupt)
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        global _CURRENT
        _CURRENT = None
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


_CURRENT: "RealAccountRun | None" = None


def current_run() -> "RealAccountRun | None":
    """The real-account run in progress in this process (inside `run_aws`), for the aws Target the suite builds
    inside pytest; None outside one."""
    return _CURRENT


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


# --------------------------------------------------------------------------------- one call for `run` to make


def run_aws(args: argparse.Namespace, suite: Callable[[RealAccountRun], int], *,
            plan_calls: Mapping[str, int] | None = None, session=None, environ: Mapping[str, str] | None = None,
            out=None, err=None) -> int:
    """The whole `--target aws` path of `run`: --plan, clearance (exit 3), the guarded run, the cleanup.

    `suite(real)` runs the contract suite with clients from `real.client()` (or `real.instrument(c)`) and returns
    its exit code. Returns the exit code of the run: the suite's, or 3 when refused or when the cleanup left
    resources behind (their ARNs and the sweep command are printed)."""
    out = out or sys.stdout
    err = err or sys.stderr
    session = session or make_session(args)
    if getattr(args, "plan", False):
        return show_plan(args, plan_calls, session=session, environ=environ, out=out)
    try:
        clearance = clear(args, environ=environ, session=session)
    except Unsafe as error:
        print(f"invoicing-contracts run: {error}", file=err)
        return ExitCode.UNSAFE
    try:
        real = RealAccountRun.start(args, clearance, session=session)
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


def show_plan(args: argparse.Namespace, plan_calls: Mapping[str, int] | None, *, session=None,
              environ: Mapping[str, str] | None = None, out=None) -> int:
    """Print the plan and return 0; asks STS (and Organizations, if so configured), never Invoicing."""
    out = out or sys.stdout
    session = session or make_session(args)
    environ = os.environ if environ is None else environ
    refusal, account, arn = None, None, None
    try:
        clearance = clear(args, environ=environ, session=session)
        account, arn = clearance.account, clearance.caller_arn
    except Unsafe as error:
        refusal = str(error).split(": ", 1)[-1]
        region = region_of(args, session)
        if region:
            try:
                identity = caller_identity(session, region)
                account, arn = identity["Account"], identity["Arn"]
            except Unsafe:
                pass
    try:
        pool = pool_from_args(args, session, region=region_of(args, session))
    except plan_mod.AccountsError as error:
        pool = plan_mod.AccountPool(source=f"unusable: {error}")
    read_only = bool(getattr(args, "read_only", False))
    if plan_calls is None:
        from strategies import service_model

        profile = getattr(args, "profile", "ci") if getattr(args, "profile", "ci") in REAL_ACCOUNT_PROFILES else "ci"
        operations = getattr(args, "operations", None) or service_model("invoicing").operation_names
        plan_calls = plan_calls_for(profile, operations, read_only=read_only)
    identity = RunIdentity.new(getattr(args, "name_prefix", None) or DEFAULT_NAME_PREFIX)
    plan = plan_mod.build(
        clearance_account=account, caller_arn=arn, region=region_of(args, session),
        endpoint_url=endpoint_of(args, environ), read_only=read_only,
        max_resources=resource_budget(args),
        max_rate=getattr(args, "max_rate", budget_mod.Limits.max_rate), pool=pool,
        run_name_prefix=f"{identity.prefix}-<8 hex digits of the run id>-",
        ledger_dir=str(getattr(args, "ledger_dir", None) or DEFAULT_LEDGER_DIR), calls=plan_calls, refusal=refusal,
    )
    out.write(plan_mod.render(plan))
    return 0


# --------------------------------------------------------------------------------- Hypothesis profiles


@dataclass(frozen=True)
class RealAccountProfile:
    """Sized for a real account: few examples (each is real requests at <= --max-rate), no deadline (latency is
    the network's, not the code's)."""

    max_examples: int
    stateful_examples: int
    stateful_steps: int
    max_resources: int = budget_mod.Limits.max_resources  # the default --max-resources


# Keyed like `run --profile`; registered as Hypothesis profiles `invoicing-aws-<name>`. The budgets (creates the
# run may send: every distinct create token counts, also one the service then refuses) leave room above what the
# suite claimed in runs against the emulator standing in for an account (seeds 1-3: dev 14, ci 39-47, thorough
# 161 with seed 1, of which 77 became resources); a create over the budget is not sent and its checks are skipped.
REAL_ACCOUNT_PROFILES = {
    "dev": RealAccountProfile(2, 1, 4, 25),
    "ci": RealAccountProfile(5, 3, 6, 60),
    "thorough": RealAccountProfile(15, 10, 10, 250),
}


def resource_budget(args: argparse.Namespace) -> int:
    """--max-resources, else the budget of the run's --profile (else budget.Limits' default)."""
    given = getattr(args, "max_resources", None)
    if given is not None:
        return given
    profile = REAL_ACCOUNT_PROFILES.get(getattr(args, "profile", None) or "")
    return profile.max_resources if profile else budget_mod.Limits.max_resources


def register_real_account_profiles() -> tuple[str, ...]:
    """Register `invoicing-aws-dev|ci|thorough`; `run --target aws --profile ci` should load `invoicing-aws-ci`."""
    from hypothesis import HealthCheck, settings

    names = []
    for name, profile in REAL_ACCOUNT_PROFILES.items():
        settings.register_profile(
            f"invoicing-aws-{name}", max_examples=profile.max_examples,
            stateful_step_count=profile.stateful_steps, deadline=None, print_blob=False,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                   HealthCheck.data_too_large, HealthCheck.filter_too_much],
        )
        names.append(f"invoicing-aws-{name}")
    return tuple(names)


def plan_calls_for(profile: str, operations: Iterable[str], *, read_only: bool) -> dict[str, int]:
    """The --plan call estimate of a real-account run with `run --profile <profile>`."""
    sized = REAL_ACCOUNT_PROFILES[profile]
    return plan_mod.estimate_calls(operations, sized.max_examples, read_only=read_only,
                                   stateful_steps=sized.stateful_examples * sized.stateful_steps)
