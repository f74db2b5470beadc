"""What the contract suite (contracts.suite) shares in one run: the session against a started target, the
cleanup ledger, read-backs, hints, and the run's trace and results."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from contracts import validate_request
from contracts.calls import Api, Call, Outcome, Trace, comparable
from contracts.checks import CHECKS, CheckContext, ContractViolation, first_mismatch
from contracts.checks.builtin import NotExercised
from contracts.engine.oracle import DENIED, DOCUMENTED_HINTS, Oracle
from contracts.engine.results import Results
from contracts.engine.targets import Target, secret_pool
from contracts.model.redaction import REDACTOR, sensitive_member_names
from contracts.options import Sizing
from contracts.packs.contract import Contract, Resource, load
from contracts.validation.validate import validate_value
from strategies import Hints, service_model


class Params(dict):
    """Request parameters whose repr (what Hypothesis prints for a falsifying example) masks sensitive members."""

    def __repr__(self) -> str:
        return repr(REDACTOR.placeholder_repr(dict(self)))

    def _repr_pretty_(self, printer, cycle) -> None:
        printer.text(repr(self))


# ------------------------------------------------------------------------------------------------- the ledger


@dataclass
class Owned:
    kind: str
    account: str | None


class Ledger:
    """Every resource the suite created and has not deleted, so it can delete what it created (and nothing else)."""

    def __init__(self, contract: Contract):
        self.contract = contract
        self.live: dict[str, Owned] = {}

    def observe(self, call: Call) -> None:
        entry = self.contract.operations.get(call.operation)
        if entry is None or not call.outcome.ok:
            return
        arn = (call.outcome.response or {}).get(entry.response_identifier)
        if entry.effect == "create" and arn:
            self.live[arn] = Owned(entry.resource.kind, call.account)
        elif entry.effect == "delete" and arn:
            self.live.pop(arn, None)

    def arns(self) -> frozenset[str]:
        return frozenset(self.live)

    def delete_operation(self, kind: str) -> str:
        return next(op.name for op in self.contract.operations.values()
                    if op.resource.kind == kind and op.effect == "delete")

    def cleanup(self, suite: "Suite", since: Iterable[str] | None = None) -> list[str]:
        """Delete the resources created since `since` (a snapshot of arns()), or all; returns what failed."""
        keep = set(since or ())
        failed = []
        for arn, owned in list(self.live.items()):
            if arn in keep:
                continue
            resource = self.contract.resources[owned.kind]
            api = suite.api(account=owned.account)
            outcome = api.call(self.delete_operation(owned.kind), {resource.identifier: arn}, record=False)
            if outcome.ok or outcome.error_code == "ResourceNotFoundException":
                self.live.pop(arn, None)
            else:
                failed.append(f"{arn}: {outcome.summary()}")
        return failed


# ------------------------------------------------------------------------------------------------ the session


def _build_secret(shape) -> Any:
    """A model-valid value for a sensitive shape, made from `secrets` (never drawn by Hypothesis)."""
    secret = secret_pool(1)[0]
    candidates: list[Any]
    if shape.type_name == "string":
        candidates = [secret, f"{secret.replace('_', '').replace('-', '')[:40]}@example.com"]
    elif shape.type_name == "structure":
        candidates = [{name: _build_secret(member) for name, member in shape.members.items()}]
    elif shape.type_name == "list":
        candidates = [[_build_secret(shape.member)]]
    else:
        return None
    for value in candidates:
        if value is not None and not validate_value(value, shape):
            return value
    raise ValueError(f"cannot build a valid secret for shape {shape.name}; give values for it in the target "
                     f"config's hints")


class SecretVault:
    """Swaps every drawn value of a sensitive member for a secret made outside Hypothesis.

    Why: Hypothesis stores the choices behind a failing example in its database, in the clear. The suite
    therefore sends secrets that Hypothesis never drew: each distinct drawn value maps to its own secret
    (equal stays equal, different stays different, so a conflicting payload stays conflicting), taken from
    the target config's hints when it gives some, otherwise generated with `secrets` for this run only."""

    def __init__(self, provided: dict[str, list] | None = None):
        self.provided = {name: list(values) for name, values in (provided or {}).items()}
        self._map: dict[tuple[str, str], Any] = {}
        self._used: dict[str, int] = {}

    def _secret_for(self, name: str, shape, drawn: Any) -> Any:
        key = (name, json.dumps(drawn, sort_keys=True, default=str))
        if key not in self._map:
            index = self._used.get(name, 0)
            self._used[name] = index + 1
            values = self.provided.get(name, [])
            self._map[key] = values[index] if index < len(values) else _build_secret(shape)
        return self._map[key]

    def substitute(self, operation: str, params: dict, *, keep: str | None = None) -> "Params":
        """`params` with each sensitive member's value swapped; the member at path `keep` (an invalid
        request's violation) and everything on its way stays as drawn."""
        shape = service_model().operation_model(operation).input_shape
        names = sensitive_member_names()

        def walk(value: Any, shape, path: str) -> Any:
            if shape is None:
                return value
            if shape.type_name == "structure" and isinstance(value, dict):
                out = {}
                for key, item in value.items():
                    member = shape.members.get(key)
                    sub = f"{path}.{key}" if path else key
                    on_keep_path = keep is not None and (keep == sub or keep.startswith(sub + ".")
                                                         or keep.startswith(sub + "["))
                    if member is not None and key in names and not on_keep_path:
                        out[key] = self._secret_for(key, member, item)
                    else:
                        out[key] = walk(item, member, sub)
                return out
            if shape.type_name == "list" and isinstance(value, list):
                return [walk(item, shape.member, f"{path}[{i}]") for i, item in enumerate(value)]
            return value

        return Params(walk(dict(params), shape, ""))


class Settling:
    """Eventual consistency of a real service: a read straight after a write may show the state before it.

    Every successful write of a token-bearing operation leaves an expectation on its resource (live and showing
    the request's members, or gone); a read or a listing that does not meet it yet is repeated, a bounded number
    of times with a growing pause, until it does. Only targets that ask for it (`Target.read_retries`, the real
    account) get retries: against the emulator a stale read is a bug to report, not to wait out."""

    def __init__(self, contract: Contract, retries: int, delay: float, sleep: Callable[[float], None] = time.sleep):
        self.contract = contract
        self.retries = retries
        self.delay = delay
        self.sleep = sleep
        self.expected: dict[str, tuple[str, dict, str | None]] = {}  # ARN -> ("live"|"gone", shown, account)
        self.listed: dict[str, tuple[str, str, str | None]] = {}  # ARN -> ("live"|"gone", kind, account)
        self.waited = 0  # reads repeated, for the report
        self._tokens: set[tuple] = set()  # (operation, token, account) of successful calls

    def observe(self, call: Call) -> None:
        entry = self.contract.operations.get(call.operation)
        if not self.retries or entry is None or not call.outcome.ok:
            return
        token = call.params.get(entry.token_member)
        if token is None:  # botocore filled it in: a later replay passes it explicitly
            try:
                token = json.loads(call.outcome.sent_body or b"{}").get(entry.token_member)
            except (ValueError, AttributeError):
                token = None
        if token is not None:
            if (call.operation, token, call.account) in self._tokens:
                return  # a replay answers with the first result and has no effect to wait for
            self._tokens.add((call.operation, token, call.account))
        if entry.effect == "create":
            arn = (call.outcome.response or {}).get(entry.response_identifier)
        else:
            arn = call.params.get(entry.resource.identifier)
        if not isinstance(arn, str):
            return
        skip = {entry.token_member, entry.resource.identifier}
        if entry.effect == "delete":
            self.expected[arn] = ("gone", {}, call.account)
            self.listed[arn] = ("gone", entry.resource.kind, call.account)
            return
        shown = {} if entry.effect == "action" else {k: v for k, v in call.params.items() if k not in skip}
        self.expected[arn] = ("live", shown, call.account)
        if entry.effect == "create":
            self.listed[arn] = ("live", entry.resource.kind, call.account)

    def read_settled(self, resource: Resource, arn: str, outcome: Outcome) -> bool:
        expectation = self.expected.get(arn)
        if expectation is None:
            return True
        state, shown, _account = expectation
        if state == "gone":
            done = not outcome.ok
        elif not outcome.ok:
            done = outcome.error_code != "ResourceNotFoundException"  # other refusals are not staleness
        else:
            view = read_view(resource, outcome)
            # What the read can show at all: never the token or the tags, and no secret (a sensitive member is
            # written, not read back).
            readable = _view_members(resource) - sensitive_member_names()
            done = all(first_mismatch(comparable(v), comparable(view[k]), k) is None if k in view
                       else v in ("", [], {}, None)  # an empty value may simply not be shown
                       for k, v in shown.items() if k in readable)
        if done:
            self.expected.pop(arn, None)
        return done

    def list_settled(self, resource: Resource, account: str | None, items: dict) -> bool:
        pending = [(arn, state) for arn, (state, kind, owner) in self.listed.items()
                   if kind == resource.kind and owner == account]
        done = True
        for arn, state in pending:
            if (arn in items) == (state == "live"):
                self.listed.pop(arn, None)
            else:
                done = False
        return done

    def pause(self, attempt: int) -> None:
        self.waited += 1
        self.sleep(min(self.delay * 2 ** attempt, 8.0))


@dataclass
class Suite:
    """One run of the contract suite against one started target."""

    target: Target
    results: Results
    operations: tuple[str, ...]
    sizing: Sizing  # how many examples (RunOptions.sizing: the real-account sizes for --target aws)
    profile: str = "ci"  # its name, for the properties that size their own trials by it
    contract: Contract = field(default_factory=load)
    extra_hints: dict[str, list] = field(default_factory=dict)
    # The embedded emulator behaving as itself (contracts.plugin.embedded_emulator): it has no IAM, so an
    # AccessDeniedException there is a bug, never a reason to leave an operation untested.
    embedded: bool = False
    # --strict: payloads compared byte for byte (docs/bases.md: equivalences bind only without it).
    strict: bool = False

    def __post_init__(self) -> None:
        self.unreachable_guard = None  # called with every Call; raises TargetLost when the target is gone
        # Set by the plugin: records a failure that on this target is an observed divergence (an assumed
        # expectation, docs/bases.md) and says True, so the test goes on to its later examples instead of ending.
        self.divergence: Callable[[ContractViolation], bool] | None = None
        self.ledger = Ledger(self.contract)
        self.settling = Settling(self.contract, self.target.read_retries, self.target.read_retry_delay)
        self._apis: dict[tuple, Api] = {}
        self.fixture_arns: tuple[str, ...] = ()
        self._shared_fixtures: dict[str, tuple[str, Call]] = {}  # kind -> (ARN, the create call)
        secret_names = sensitive_member_names()
        self.vault = SecretVault({k: v for k, v in self.extra_hints.items() if k in secret_names})
        # Hints take hashable values only (strategies are cached per Hints).
        self.hint_members = {k: tuple(v) for k, v in {**DOCUMENTED_HINTS, **self.extra_hints}.items()
                             if k not in secret_names}
        self.oracle = Oracle(self.target.payer, self.target.members, rate_limited=self.target.kind == "aws",
                             validation_code=self.target.validation_code)
        self.seen_violations: list[ContractViolation] = []  # every violation raised, for flaky replays

    # -- calls -------------------------------------------------------------------------------------------------
    def api(self, *, account: str | None = None, validate: bool = True) -> Api:
        key = (account, validate)
        if key not in self._apis:
            api = self.target.api(account=account, validate=validate)
            api.listeners.append(self.ledger.observe)
            api.listeners.append(self.settling.observe)
            api.listeners.append(self._count_unsent)
            api.listeners.append(self.oracle.observe)
            api.listeners.append(self.results.keep_exchange)  # a few per operation for the behaviour report
            if self.unreachable_guard is not None:
                api.listeners.append(self.unreachable_guard)
            self._apis[key] = api
        return self._apis[key]

    def _count_unsent(self, call: Call) -> None:
        if call.outcome.not_sent_by:
            counts = self.results.meta.setdefault("not_sent", {})
            counts[call.outcome.not_sent_by] = counts.get(call.outcome.not_sent_by, 0) + 1

    def check(self, name: str, operation: str, *args: Any, as_property: str | None = None, **kwargs: Any) -> None:
        """Run a registered check; `as_property` files it under another property (the rule's, in a machine).

        A check about a request the real-account guard or budget kept back is not run: the target never saw it."""
        if any(isinstance(a, Outcome) and a.not_sent for a in (*args, *kwargs.values())):
            self.observe(operation, "checks skipped because a request was",
                         "not sent (real-account guard or resource budget)")
            return
        if self.denial(operation) and any(_denied(a) for a in (*args, *kwargs.values())):
            self.observe(operation, "checks skipped because a request was",
                         "denied (AccessDeniedException): untested with this identity")
            return
        heard: list[tuple] = []
        ctx = CheckContext(operation, contract=self.contract, live=self.ledger.arns(), calls=self.trace.calls,
                           listener=lambda *run: heard.append(run), as_property=as_property)
        vacuous = ""
        try:
            CHECKS.run(name, ctx, *args, **kwargs)
        except NotExercised as why:  # ran without its subject: a check run that cannot hold the property
            vacuous = str(why) or name
        except ContractViolation as violation:
            if self.divergence is not None and self.divergence(violation):
                return  # recorded as a divergence (the finally below still counts the run)
            self.seen_violations.append(violation)
            raise
        finally:  # a violation is recorded too (as exercised), then propagates
            for op, prop, check, passed in heard:
                self.results.record(op, prop, check, passed or bool(vacuous), unit=self.trace.unit,
                                    exercised=not vacuous, why=vacuous)

    def denial(self, operation: str) -> str | None:
        """Why `operation` cannot be exercised here: the target answered the suite's identity
        AccessDeniedException for it (an IAM gap, a preview API not enabled for the account), with its message.
        The operation's cells are then untested with this reason (results.meta["access_denied"]), never held, and
        its checks are not run on the denied answers. None on the embedded emulator (see `embedded`)."""
        reason = None if self.embedded else self.oracle.denied.get(operation)
        if reason:
            self.results.meta.setdefault("access_denied", {}).setdefault(operation, reason)
        return reason

    def reporting_flaky(self, run: Callable[[], Any]) -> Any:
        """Run a Hypothesis test; when Hypothesis cannot replay a failing example against a target whose state
        moved on (Flaky: the replay drew differently or passed), raise the violation the run did see, with the
        calls of its example, instead of losing it behind the flakiness error."""
        from hypothesis.errors import Flaky

        seen = len(self.seen_violations)
        try:
            return run()
        except Flaky as flaky:
            if isinstance(flaky, BaseExceptionGroup) and flaky.subgroup(ContractViolation) is not None:
                raise  # FlakyFailure carries the violation itself: the reporters find it there
            new = self.seen_violations[seen:]
            if new:
                raise new[0] from flaky
            raise

    def _record(self, operation: str, prop: str, check: str, passed: bool) -> None:
        self.results.record(operation, prop, check, passed, unit=self.trace.unit)

    def context(self, operation: str, prop: str) -> CheckContext:
        """A CheckContext for a verdict the suite reaches itself (not through a registered check)."""
        return CheckContext(operation, contract=self.contract, calls=self.trace.calls, property_id=prop)

    @property
    def trace(self) -> Trace:
        """The calls of the current example (the target's Apis record into it)."""
        return self.target.trace

    def observe(self, operation: str, subject: str, outcome: str) -> None:
        self.results.observe(operation, subject, outcome)

    @property
    def hints(self) -> Hints:
        """Hints: the organisation's accounts, the suite's fixture resources, values from the target config."""
        return Hints(accounts=self.target.members, arns=self.fixture_arns, members=self.hint_members)

    def prepare(self, operation: str, params: dict, *, keep: str | None = None) -> Params:
        """Drawn params as the suite sends them: sensitive members swapped for vault secrets."""
        return self.vault.substitute(operation, params, keep=keep)

    def selected(self, operation: str) -> bool:
        return operation in self.operations

    # -- what the suite knows ----------------------------------------------------------------------------------
    def same_request(self, operation: str, first: dict, second: dict) -> bool:
        """Whether reusing a token with `second` after `first` is a replay (not a conflict): equal, or equivalent
        by the model and the documentation unless --strict."""
        return first == second or (not self.strict and self.contract.equivalent(operation, first, second))

    def predict(self, operation: str, params: dict, *, account: str | None = None) -> dict[str, str]:
        """The refusals the suite's knowledge of the state predicts for a valid request (contracts.engine.oracle)."""
        return self.oracle.predict(operation, params, account=account)

    def resync(self) -> None:
        """Before a test: the oracle learns the payer's resources from one listing per kind (resources other
        clients made, a real account's own), so its predictions start from the state as it is."""
        lists = {}
        for kind, resource in self.contract.resources.items():
            items, failed = self._list_once(resource, None)
            lists[kind] = None if failed is not None else list(items.values())
        self.oracle.resync(None, lists.get("InvoiceUnit"), lists.get("ProcurementPortalPreference"))

    # Read operations whose identifiers no model pattern can guess: where the suite learns real ones, and the
    # members they go into. Without them every valid request of these gets ResourceNotFoundException and their
    # responses are never checked.
    DISCOVERY = {
        "ListProcurementPortals": lambda suite: {},
        "ListInvoiceSummaries": lambda suite: {"Selector": {"ResourceType": "ACCOUNT_ID", "Value": suite.target.payer}},
    }

    def discover(self) -> None:
        """Once, before the first test: read identifiers the read operations need (invoice IDs, portal
        identifiers). Before any test rather than in the first that needs them, so every test starts from the same
        knowledge whichever tests ran before it in this process (a split run gives the single run's results)."""
        api = self.api()
        for operation, params in self.DISCOVERY.items():
            outcome = api.call(operation, params(self), record=False, note="discover identifiers")
            if not outcome.ok:
                self.observe(operation, "discovering identifiers", f"failed: {outcome.summary()}")

    def discovered_hints(self, operation: str) -> Hints | None:
        """Hints aiming `operation`'s identifiers at things known to exist; None when it takes none of them."""
        oracle = self.oracle
        invoices = tuple(sorted(oracle.invoices))[:8]
        by_operation = {
            "GetInvoicePDF": {"InvoiceId": invoices},
            "ListInvoiceSummaries": {"Value": tuple(sorted(oracle.members)) + invoices},
            "ListProcurementPortalSuppliers": {"PortalIdentifier": tuple(sorted(oracle.portals))},
        }
        extra = {k: v for k, v in by_operation.get(operation, {}).items() if v}
        if not extra:
            return None
        return Hints(accounts=self.target.members, arns=self.fixture_arns, members={**self.hint_members, **extra})

    def begin_test(self) -> None:
        """Before each test: nothing one test aimed at carries into the next (a test's draws may not depend on
        which tests ran before it in this process: a split run must give the single run's results)."""
        self.fixture_arns = ()
        self.trace.reset_all()

    # -- fixtures ----------------------------------------------------------------------------------------------
    def fixture(self, kind: str, make: Callable[[], dict]) -> str | None:
        """A live resource of `kind` to aim requests at, created from `make()` (recorded as a setup call); None
        when a real-account run may not create it (read-only, or over its resource budget).

        Where the target shares fixtures (a real account: every create counts against the resource budget), the
        one made earlier is reused for as long as it lives; otherwise each call creates one."""
        shared = self._shared_fixtures.get(kind)
        if self.target.shares_fixtures and shared and shared[0] in self.ledger.live:
            self.api().trace.add(shared[1], setup=True)
            return shared[0]
        create = next(op for op in self.contract.operations.values()
                      if op.resource.kind == kind and op.effect == "create")
        params = self.prepare(create.name, make())
        problems = validate_request(create.name, params)
        if problems:
            raise AssertionError(f"the fixture request for {kind} no longer fits the model: {problems}")
        params = Params({**params, create.token_member: str(uuid.uuid4())})
        outcome = self.api().call(create.name, params, note=f"setup: a live {kind} to aim at", record="setup")
        if outcome.not_sent:  # a read-only or out-of-budget real-account run: requests aim at nothing live
            self.observe(create.name, f"a live {kind} for the stateless requests to aim at was",
                         f"not sent ({outcome.not_sent_by})")
            return None
        if not outcome.ok and self.denial(create.name):
            self.observe(create.name, f"a live {kind} for the stateless requests to aim at was",
                         "denied (AccessDeniedException)")
            return None
        if not outcome.ok:
            raise AssertionError(f"could not create the fixture {kind}: {outcome.summary()}")
        arn = outcome.response[create.response_identifier]
        self.read(self.contract.resources[kind], arn)  # settled before requests aim at it
        call = next(c for c in reversed(self.api().trace.calls) if c.outcome is outcome)
        self._shared_fixtures[kind] = (arn, call)
        return arn

    def shared_fixture_arns(self) -> frozenset[str]:
        """Fixtures kept across tests (the per-test cleanup leaves them to the end of the session)."""
        if not self.target.shares_fixtures:
            return frozenset()
        return frozenset(arn for arn, _call in self._shared_fixtures.values())

    # -- reads -------------------------------------------------------------------------------------------------
    def read(self, resource: Resource, arn: str, *, account: str | None = None, note: str = "",
             record: bool = False) -> Outcome:
        """The read operation's answer for `arn`; on a target that is only eventually consistent, repeated (a
        bounded number of times) until it shows the last write this suite made to `arn`."""
        api = self.api(account=account)
        params = {resource.identifier: arn}
        outcome = api.call(resource.read, params, note=note, record=False)
        for attempt in range(self.settling.retries):
            if self.settling.read_settled(resource, arn, outcome):
                break
            self.settling.pause(attempt)
            outcome = api.call(resource.read, params, note=note, record=False)
        if record:
            api.trace.add(Call(resource.read, params, outcome, account=account, note=note),
                          setup=record == "setup")
        return outcome

    def listed(self, resource: Resource, *, account: str | None = None) -> tuple[dict[str, dict], Outcome | None]:
        """Every resource List shows (ARN -> item), following NextToken; (partial, failing outcome) on error.

        On an eventually consistent target the listing is repeated until it shows the suite's recent creates
        and deletes; on a shared one (a real account), resources the run did not create are left out."""
        items, failed = self._list_once(resource, account)
        for attempt in range(self.settling.retries):
            if failed is not None or self.settling.list_settled(resource, account, items):
                break
            self.settling.pause(attempt)
            items, failed = self._list_once(resource, account)
        if self.target.shares_fixtures:
            items = {arn: item for arn, item in items.items() if not self.target.foreign(arn)}
        return items, failed

    def _list_once(self, resource: Resource, account: str | None) -> tuple[dict[str, dict], Outcome | None]:
        api = self.api(account=account)
        items: dict[str, dict] = {}
        params: dict[str, Any] = {}
        for _page in range(1000):
            outcome = api.call(resource.list, dict(params), record=False)
            if not outcome.ok:
                return items, outcome
            for item in outcome.response.get(resource.list_member, []):
                items[item.get(resource.identifier)] = item
            token = outcome.response.get("NextToken")
            if not token:
                return items, None
            params["NextToken"] = token
        return items, None


def _view_members(resource: Resource) -> frozenset[str]:
    """The members the read operation shows of a resource (inside its holder member, if it has one)."""
    shape = service_model().operation_model(resource.read).output_shape
    if resource.read_member and shape is not None:
        shape = shape.members.get(resource.read_member)
    return frozenset(shape.members) if shape is not None and shape.type_name == "structure" else frozenset()


def _denied(value: Any) -> bool:
    """An answer (or a batch of answers) refusing the caller access."""
    if isinstance(value, (list, tuple)):
        return any(_denied(v) for v in value)
    return isinstance(value, Outcome) and value.error_code == DENIED


def read_view(resource: Resource, outcome: Outcome) -> dict:
    """The resource as the read operation shows it (its holder member unwrapped), volatile members removed."""
    body = dict(outcome.response or {})
    if resource.read_member:
        body = dict(body.get(resource.read_member) or {})
    for path in resource.read_volatile:
        head, _, rest = path.partition(".")
        if not rest:
            body.pop(head, None)
    return body


def invalid_on_the_wire(operation: str, outcome: Outcome) -> bool:
    """Whether the body botocore actually sent breaks the model: the target's contract is about what it got
    (with validation off, botocore sends a string given for a list as the list of its characters)."""
    try:
        body = json.loads(outcome.sent_body or b"{}")
    except ValueError:
        return True  # not even JSON: certainly invalid
    return bool(validate_request(operation, body, wire=True))
