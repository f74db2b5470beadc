"""`invoicing-contracts sweep`: delete what runs created, found from their ledgers or their tags; touch nothing
else; safe to repeat.

What is deleted, and only that:
- from a ledger (contracts.guard.ledger): every ARN a create returned, and every create whose answer was lost (the
  run died between the call and its record), found again by its token tag `invoicing-contracts:token`
  (or, for an invoice unit, by the run-prefixed name it was given);
- from tags (`--run-id ID`, `--all-runs`): resources tagged `invoicing-contracts:run` (= ID), invoice units only
  when their name also carries a run's prefix.
Before each delete the resource's tags are read: one not tagged with its run's id is kept and reported, so a
ledger edited by hand cannot point the sweep at a production resource. Deletes carry a ClientToken derived from
the run and the ARN, so a sweep interrupted after a delete was committed replays it instead of failing.
Preferences are deleted before invoice units (a preference may select units). What was removed is appended to
the ledger; a ledger with nothing left gets a `swept` record and is skipped by later sweeps of the directory.

`run_sweep(SweepOptions(...))` is the command (contracts.cli.sweep parses its flags). Exit codes: 0 nothing of the
runs is left, 1 something is left (listed), 2 usage, 3 refused or unreachable.
"""

from __future__ import annotations

import calendar
import dataclasses
import hashlib
import os
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Mapping

from botocore import xform_name
from botocore.exceptions import BotoCoreError, ClientError

from contracts.exit_codes import ExitCode, UsageError
from contracts.guard import budget as budget_mod
from contracts.guard import ledger as ledger_mod
from contracts.guard.ledger import TAG_RUN, TAG_TOKEN, LedgerState, RunIdentity
from contracts.guard.optin import Unsafe, clear, make_session
from contracts.options import DEFAULT_LEDGER_DIR, DEFAULT_MAX_RATE, DEFAULT_NAME_PREFIX
from contracts.packs.contract import load as load_contract
from strategies import service_model

DEFAULT_PENDING_GRACE = 60.0  # seconds a lost create may take to show up in List (eventual consistency)
DEFAULT_ALL_RUNS_MIN_AGE = 3600.0  # --all-runs leaves runs younger than this alone: they may still be running


@dataclass
class Item:
    """One resource the sweep looked at, and what it did."""

    status: str  # removed | gone | kept | pending | error | would-remove
    resource_type: str
    arn: str | None
    run_id: str
    detail: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class SweepReport:
    items: list[Item] = field(default_factory=list)

    @property
    def removed(self) -> list[Item]:
        return [i for i in self.items if i.status == "removed"]

    def remaining(self) -> list[Item]:
        return [i for i in self.items if i.status in ("kept", "pending", "error", "would-remove")]

    @property
    def clean(self) -> bool:
        return not self.remaining()

    def extend(self, other: "SweepReport") -> None:
        self.items.extend(other.items)

    def render(self, title: str = "sweep") -> str:
        counts = {s: sum(1 for i in self.items if i.status == s)
                  for s in ("removed", "gone", "would-remove", "kept", "pending", "error")}
        summary = ", ".join(f"{n} {s}" for s, n in counts.items() if n) or "nothing to do"
        lines = [f"{title}: {summary}"]
        for item in self.items:
            what = f"{item.resource_type} {item.arn or '(not found)'}"
            lines.append(f"  {item.status:<12} {what}  [run {item.run_id}]" + (f"  {item.detail}" if item.detail else ""))
        return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------- service knowledge


@dataclass(frozen=True)
class _Kind:
    name: str
    identifier: str
    list_op: str
    list_member: str
    delete_op: str
    named: bool  # whether list items carry a Name (invoice units)


def _kinds() -> list[_Kind]:
    """The resources the contract knows, in deletion order: later resources may refer to earlier ones (a
    preference selects invoice units), so they go first."""
    contract = load_contract()
    deletes = {op.resource.kind: op.name for op in contract.operations.values() if op.effect == "delete"}
    kinds = []
    for resource in contract.resources.values():
        item_shape = service_model("invoicing").operation_model(resource.list).output_shape.members[resource.list_member]
        kinds.append(_Kind(resource.kind, resource.identifier, resource.list, resource.list_member,
                           deletes[resource.kind], "Name" in item_shape.member.members))
    return list(reversed(kinds))


def _call(client, operation: str, **params):
    return getattr(client, xform_name(operation))(**params)


def _error_code(error) -> str | None:
    return getattr(error, "response", {}).get("Error", {}).get("Code")


def _list_all(client, kind: _Kind) -> list[dict]:
    items, params = [], {}
    while True:
        page = _call(client, kind.list_op, **params)
        items.extend(page.get(kind.list_member, []))
        if not page.get("NextToken"):
            return items
        params["NextToken"] = page["NextToken"]


def _tags(client, arn: str) -> dict[str, str] | None:
    """The resource's tags, or None when it does not exist."""
    try:
        return ledger_mod.tags_dict(client.list_tags_for_resource(ResourceArn=arn).get("ResourceTags", []))
    except ClientError as error:
        if _error_code(error) == "ResourceNotFoundException":
            return None
        raise


def delete_token(run_id: str, arn: str) -> str:
    """The same for every sweep of this resource: a retried delete is a replay (docs/idempotency.md property 5)."""
    return "sweep-" + hashlib.sha256(f"{run_id} {arn}".encode()).hexdigest()[:40]


def _delete(client, kind: _Kind, arn: str, run_id: str) -> str:
    token_member = load_contract().operations[kind.delete_op].token_member
    try:
        _call(client, kind.delete_op, **{kind.identifier: arn, token_member: delete_token(run_id, arn)})
    except ClientError as error:
        if _error_code(error) == "ResourceNotFoundException":
            return "gone"
        raise
    return "removed"


def _remove(client, kind: _Kind, arn: str, identity: RunIdentity, *, dry_run: bool) -> Item:
    """Delete one resource if its tags say it is the run's; never raises for an answer of the service."""
    try:
        tags = _tags(client, arn)
        if tags is None:
            return Item("gone", kind.name, arn, identity.run_id, "already deleted")
        if not identity.owns(tags):
            found = tags.get(TAG_RUN)
            return Item("kept", kind.name, arn, identity.run_id,
                        f"not tagged {TAG_RUN}={identity.run_id} (tag is {found!r}); not ours, not deleted")
        if dry_run:
            return Item("would-remove", kind.name, arn, identity.run_id)
        return Item(_delete(client, kind, arn, identity.run_id), kind.name, arn, identity.run_id)
    except ClientError as error:
        return Item("error", kind.name, arn, identity.run_id, f"{_error_code(error)}; sweep again later")


# ------------------------------------------------------------------------------------------- from a ledger


def _find_lost(client, state: LedgerState, pending: list) -> dict[str, tuple[str, str]]:
    """token -> (resource type, ARN) for pending creates whose resource exists, by token tag or run name."""
    identity = state.identity
    tokens = {e.token for e in pending}
    # Units are named uniquely per payer, and only this run uses its prefix: a pending unit's name finds it even
    # if the service applied its tags late.
    names = {e.name: e.token for e in pending if e.name and e.name.startswith(identity.name_prefix)}
    found: dict[str, tuple[str, str]] = {}
    for kind in _kinds():
        if not any(e.resource_type == kind.name for e in pending):
            continue
        for item in _list_all(client, kind):
            arn = item[kind.identifier]
            name = item.get("Name") if kind.named else None
            if kind.named and not (name or "").startswith(identity.name_prefix) and name not in names:
                continue  # a unit no pending create of this run could have made: not even read
            tags = _tags(client, arn) or {}
            if identity.owns(tags) and tags.get(TAG_TOKEN) in tokens:
                found[tags[TAG_TOKEN]] = (kind.name, arn)
            elif name in names:
                found[names[name]] = (kind.name, arn)  # its name carries this run's prefix: only this run uses it
    return found


def sweep_ledger(client, state: LedgerState, writer: ledger_mod.Ledger | None, *, caller_account: str | None,
                 pending_grace: float = DEFAULT_PENDING_GRACE, dry_run: bool = False, now=time.time) -> SweepReport:
    """Delete everything `state` (one run's ledger) identifies; record it through `writer` (None: read-only)."""
    report = SweepReport()
    identity = state.identity
    if caller_account is not None and state.account != caller_account:
        report.items.append(Item("kept", "ledger", str(state.path), state.run_id,
                                 f"the ledger is for account {state.account}, the caller is {caller_account}; "
                                 f"sweep it with that account's credentials"))
        return report
    record = writer if not dry_run else None
    kinds = {k.name: k for k in _kinds()}
    targets: dict[str, str] = {e.arn: e.resource_type for e in state.live()}
    pending = state.pending()
    if pending:
        found = _find_lost(client, state, pending)
        for entry in pending:
            if entry.token in found:
                kind, arn = found[entry.token]
                targets.setdefault(arn, kind)
                if record:
                    record.created(entry.seq, arn)
            elif now() - entry.at >= pending_grace:
                if record:
                    record.absent(entry.seq)
            else:
                report.items.append(Item("pending", entry.resource_type, None, state.run_id,
                                         f"{entry.operation} token {entry.token} not found yet; sweep again after "
                                         f"{pending_grace:g}s"))
    for kind in kinds.values():  # deletion order
        for arn in [a for a, k in targets.items() if k == kind.name]:
            item = _remove(client, kind, arn, identity, dry_run=dry_run)
            report.items.append(item)
            if record and item.status in ("removed", "gone"):
                record.deleted(arn, by="sweep")
    if record and report.clean:
        record.swept()
    return report


# --------------------------------------------------------------------------------------------- from tags


def sweep_tags(client, *, run_id: str | None, prefix: str = DEFAULT_NAME_PREFIX, min_age: float = 0.0,
               dry_run: bool = False, now=time.time) -> SweepReport:
    """Delete resources tagged as created by run `run_id` (None: by any run started `min_age` seconds ago)."""
    report = SweepReport()
    pattern = ledger_mod.name_prefix_pattern(prefix)
    for kind in _kinds():
        for item in _list_all(client, kind):
            arn = item[kind.identifier]
            if kind.named:
                name = item.get("Name") or ""
                wanted = RunIdentity(run_id, prefix).name_prefix if run_id else None
                if not (name.startswith(wanted) if wanted else pattern.match(name)):
                    continue  # no run of ours names units like this: not even read
            tags = _tags(client, arn)
            owner = (tags or {}).get(TAG_RUN)
            if owner is None or (run_id is not None and owner != run_id):
                continue
            try:
                identity = RunIdentity(owner, prefix)
            except ValueError:
                continue  # a tag value no run of ours writes
            if kind.named and not item.get("Name", "").startswith(identity.name_prefix):
                continue
            if run_id is None and now() - _started(owner) < min_age:
                report.items.append(Item("kept", kind.name, arn, owner, f"run started less than {min_age:g}s ago; "
                                         f"it may still be running (--min-age)"))
                continue
            report.items.append(_remove(client, kind, arn, identity, dry_run=dry_run))
    return report


def _started(run_id: str) -> float:
    return calendar.timegm(time.strptime(run_id.split("-", 1)[0], "%Y%m%dT%H%M%SZ"))


# ------------------------------------------------------------------------------------------------ the command


@dataclass(frozen=True)
class SweepOptions:
    """What `invoicing-contracts sweep` was asked to do (contracts.cli.sweep builds it from the command line)."""

    ledgers: tuple[str, ...] = ()  # explicit ledgers; empty: every unswept ledger in ledger_dir
    ledger_dir: str = DEFAULT_LEDGER_DIR
    run_id: str | None = None  # also delete what carries this run's tags
    all_runs: bool = False  # also delete what carries any run's tags (older than min_age)
    min_age: float | None = None  # None: 0 with run_id, DEFAULT_ALL_RUNS_MIN_AGE with all_runs
    target: str | None = None  # aws | endpoint; None: what the ledgers say
    endpoint_url: str | None = None  # None: the one the ledgers record
    name_prefix: str = DEFAULT_NAME_PREFIX
    pending_grace: float = DEFAULT_PENDING_GRACE
    dry_run: bool = False
    max_rate: float = DEFAULT_MAX_RATE
    # Clearance, for a real account (contracts.guard.optin.ClearanceOptions)
    allow_real_account: bool = False
    allowed_account: tuple[str, ...] = ()
    aws_profile: str | None = None
    aws_region: str | None = None

    def __post_init__(self):
        if self.target not in (None, "aws", "endpoint"):
            raise UsageError(f"unknown --target {self.target!r}; sweep takes aws or endpoint")
        for flag, value in (("--min-age", self.min_age), ("--pending-grace", self.pending_grace)):
            if value is not None and value < 0:
                raise UsageError(f"{flag} must be >= 0 seconds, got {value:g}")
        if self.max_rate <= 0:
            raise UsageError(f"--max-rate must be > 0 requests per second, got {self.max_rate:g}")

    @property
    def tag_mode(self) -> bool:
        return bool(self.run_id or self.all_runs)


def _select_ledgers(options: SweepOptions, err) -> list[LedgerState]:
    if options.ledgers:
        paths = [Path(p) for p in options.ledgers]
    elif options.run_id:
        candidate = Path(options.ledger_dir) / f"{options.run_id}.jsonl"
        paths = [candidate] if candidate.exists() else []
    else:
        paths = list(ledger_mod.ledgers_in(options.ledger_dir))
    states = []
    for path in paths:
        try:
            states.append(ledger_mod.read(path))
        except ledger_mod.EmptyLedger as error:
            print(f"sweep: skipped {error}", file=err)
        except ledger_mod.LedgerError as error:
            raise UsageError(str(error))
    if not options.ledgers:
        states = [s for s in states if not s.swept]
    return states


def _where(options: SweepOptions, states: list[LedgerState]) -> tuple[str, str | None, str | None]:
    places = {(s.target, s.endpoint_url, s.region) for s in states}
    if options.target:
        target = options.target
        endpoint = options.endpoint_url or next((e for t, e, _r in places if t == target and e), None)
        region = options.aws_region or next((r for _t, _e, r in places if r), None)
    elif len(places) == 1:
        target, endpoint, region = next(iter(places))
        endpoint = options.endpoint_url or endpoint
        region = options.aws_region or region
    elif not places:
        raise UsageError("nothing to sweep from: no ledger found; give --ledger FILE, or --target with --run-id "
                         "or --all-runs")
    else:
        raise UsageError("the ledgers are from different targets ("
                         + "; ".join(sorted(f"{t} {e or ''} {r or ''}".strip() for t, e, r in places))
                         + "); sweep them one --ledger at a time or give --target")
    if target == "endpoint" and not endpoint:
        raise UsageError("--target endpoint needs --endpoint-url")
    return target, endpoint, region


def run_sweep(options: SweepOptions, *, environ: Mapping[str, str] | None = None, out=None, err=None) -> int:
    """The `sweep` command: returns its exit code; UsageError for bad input."""
    out = out or sys.stdout
    err = err or sys.stderr
    environ = os.environ if environ is None else environ
    states = _select_ledgers(options, err)
    if not states and not options.tag_mode:
        print(f"sweep: no ledger left to sweep in {options.ledger_dir}; nothing to do", file=out)
        return ExitCode.OK
    target, endpoint, region = _where(options, states)
    session = make_session(options)
    caller = None
    if target == "aws":
        # The ledger's endpoint, unless given: the resources are where the run made them.
        where = dataclasses.replace(options, endpoint_url=endpoint)
        try:
            clearance = clear(where, environ=environ, session=session, purpose="sweep in a real account")
        except Unsafe as error:
            print(f"invoicing-contracts sweep: {error}", file=err)
            return ExitCode.UNSAFE
        caller, region, endpoint = clearance.account, clearance.region, clearance.endpoint_url
        print(f"sweeping {clearance.describe()}", file=err)
    client = session.client("invoicing", region_name=region or "us-east-1",
                            **({"endpoint_url": endpoint} if endpoint else {}))
    budget_mod.install(client, budget_mod.Limits(max_rate=options.max_rate))
    report = SweepReport()
    try:
        for state in states:
            writer = None if options.dry_run else ledger_mod.Ledger.reopen(state.path)
            try:
                part = sweep_ledger(client, state, writer, caller_account=caller,
                                    pending_grace=options.pending_grace, dry_run=options.dry_run)
            finally:
                if writer is not None:
                    writer.close()
            report.extend(part)
        if options.tag_mode:
            min_age = options.min_age if options.min_age is not None else (
                0.0 if options.run_id else DEFAULT_ALL_RUNS_MIN_AGE)
            report.extend(sweep_tags(client, run_id=options.run_id, prefix=options.name_prefix, min_age=min_age,
                                     dry_run=options.dry_run))
    except (BotoCoreError, ClientError) as error:
        out.write(report.render("sweep (interrupted)"))
        print(f"invoicing-contracts sweep: the target failed ({type(error).__name__}: {error}); sweeping again "
              f"is safe", file=err)
        return ExitCode.UNSAFE
    out.write(report.render("sweep" + (" (dry run)" if options.dry_run else "")))
    return ExitCode.OK if report.clean else ExitCode.VIOLATED  # 1: something the runs made is still there
