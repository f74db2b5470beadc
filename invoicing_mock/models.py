"""State and behaviour of the Invoicing emulator: one method per operation, named as botocore names them.

Every method takes the caller's account and the request in its JSON wire form (already validated against the
model) and returns the response in wire form, or raises an error of `invoicing_mock.exceptions`.
The request path around them, `InvoicingBackend.handle`, is described in `invoicing_mock.faults`.

Rules and where they come from (the model states the shapes; the Billing user guide the rest):

Invoice units (managed by an organisation's payer account; a member account gets AccessDeniedException):
  unit names are unique among a payer's live units                       -> duplicateInvoiceUnit
  at most 500 live units per payer                                       -> maxInvoiceUnitsExceeded
  the receiver and every linked account must be organisation members  -> nonMemberPresent
  at most 1000 accounts per rule (LinkedAccounts and BillSourceAccounts together; each list alone is already
    capped at 1000 by the model, so only the union can exceed it)          -> maxAccountsExceeded
  an account is in at most one unit's rule (LinkedAccounts; likewise BillSourceAccounts)
                                                                         -> accountMembershipError
  an account that is linked in one unit cannot receive another unit unless it also receives the unit it is
    linked in                                                            -> mutualExclusionError
  receiver and name are immutable: UpdateInvoiceUnit has no such members, so the validator refuses them.
  Checks run in that order; the first rule broken answers, naming the fields in `fieldList`.
  Every change is a version with the time it happened; GetInvoiceUnit/ListInvoiceUnits with `AsOf` read the
  versions in force at that time (deleted units included when AsOf precedes their deletion).
  ListInvoiceUnits filters: AND across filter types, OR within one; `Accounts` matches the receiver or a
  linked account; an empty filter list does not filter.
Procurement portal preferences (per account):
  a second preference for the same portal, buyer and supplier identifiers -> ConflictException
  at most 100 per account (an emulator choice; AWS documents none)      -> ServiceQuotaExceededException
  Create: Version 1; each enabled feature (e-invoice delivery, PO retrieval) starts PENDING_VERIFICATION.
  Put: replaces every member Put carries (omitted optional members are cleared); Version + 1; enabled
    features go back to PENDING_VERIFICATION (a changed configuration must be validated again).
  UpdateProcurementPortalPreferenceStatus: sets the given statuses and reasons; Version + 1.
  SendProcurementPortalValidation: issues a code (see `validation_code`); no Version change.
  VerifyProcurementPortalValidation: the pending code moves PENDING_VERIFICATION features to VALIDATED;
    Version + 1. No pending code, or a different one -> ValidationException reason invalidInput.
  The shared secret is stored and never returned.
Tags: on any live invoice unit or preference of the caller; at most the model's ResourceTagList max per
  resource (ServiceQuotaExceededException beyond).
Idempotency (../shared/IDEMPOTENCY.md): see `InvoicingBackend._serve`.
"""

from __future__ import annotations

import bisect
import copy
import hashlib
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator

from botocore import xform_name

from invoicing_mock import synthetic
from invoicing_mock.clock import Clock, OffsetClock, SystemClock
from invoicing_mock.exceptions import (
    AccessDeniedException,
    ConflictException,
    InvoicingError,
    ResourceNotFoundException,
    ServiceQuotaExceededException,
    ValidationException,
)
from invoicing_mock.faults import Faults
from invoicing_mock.idempotency import DEFAULT_WINDOW_SECONDS, TokenRecord, fingerprint
from invoicing_mock.organization import DEFAULT_ORGANIZATION, Directory, Organization
from invoicing_mock.pagination import DEFAULT_TTL_SECONDS, PageTokens, scope_of
from invoicing_mock.sensitive import reveals, sensitive_values
from strategies import service_model

_MODEL = service_model("invoicing")
_STATUSES = set(_MODEL.shape_for("ProcurementPortalPreferenceStatus").enum)
PENDING, VALIDATED = "PENDING_VERIFICATION", "VALIDATED"
assert {PENDING, VALIDATED} <= _STATUSES, f"the model's preference statuses changed: {sorted(_STATUSES)}"

# The two features a preference can enable, and the members that carry their switch and status.
_FEATURES = (
    ("EinvoiceDeliveryEnabled", "EinvoiceDeliveryPreferenceStatus", "EinvoiceDeliveryPreferenceStatusReason"),
    (
        "PurchaseOrderRetrievalEnabled",
        "PurchaseOrderRetrievalPreferenceStatus",
        "PurchaseOrderRetrievalPreferenceStatusReason",
    ),
)
_MESSAGE_MAX = _MODEL.shape_for("BasicString").metadata["max"]


def _members(shape_name: str) -> tuple[str, ...]:
    return tuple(_MODEL.shape_for(shape_name).members)


def _token_member(operation: str) -> str | None:
    shape = _MODEL.operation_model(operation).input_shape
    for name, member in shape.members.items():
        if member.metadata.get("idempotencyToken"):
            return name
    return None


def _declares(operation: str, error: str) -> bool:
    return any(shape.name == error for shape in _MODEL.operation_model(operation).error_shapes)


def _clip(text: str) -> str:
    return text if len(text) <= _MESSAGE_MAX else text[: _MESSAGE_MAX - 1] + "…"


def validation_code(arn: str, sends: int) -> str:
    """The code SendProcurementPortalValidation issues for the `sends`-th send of a preference (1-based).

    Deterministic, so a test against an emulator it cannot reach into (the HTTP server) can compute it.
    """
    return hashlib.sha256(f"{arn}#{sends}".encode()).hexdigest()[:8].upper()


@dataclass(frozen=True)
class Limits:
    invoice_units_per_payer: int = 500
    accounts_per_rule: int = 1000
    preferences_per_account: int = 100
    tags_per_resource: int = _MODEL.shape_for("ResourceTagList").metadata["max"]


@dataclass
class Call:
    """One request, as the backend sees it: who, what, with which (wire-form) parameters."""

    account: str
    operation: str
    params: dict[str, Any]
    request_id: str = ""
    fault_plan: Any = field(default=None, repr=False, compare=False)  # what ScheduledFaults chose for it


def default_validator(operation: str, params: dict[str, Any]) -> list:
    """The shared model validator, on the wire form (imported on first use: contracts imports strategies)."""
    from contracts import validate_request

    return validate_request(operation, params, wire=True)


# ---------------------------------------------------------------------------------------------- invoice units


@dataclass
class _UnitHistory:
    """Every version of one invoice unit: (time, wire-form data or None once deleted)."""

    seq: int
    arn: str
    times: list[float] = field(default_factory=list)
    versions: list[dict | None] = field(default_factory=list)

    @property
    def current(self) -> dict | None:
        return self.versions[-1]

    def at(self, when: float) -> dict | None:
        index = bisect.bisect_right(self.times, when) - 1
        return self.versions[index] if index >= 0 else None

    def add(self, when: float, data: dict | None) -> None:
        self.times.append(when)
        self.versions.append(data)


class _PayerUnits:
    """A payer's invoice units with the indexes the rules and the list filters need (live units only)."""

    def __init__(self) -> None:
        self.histories: dict[str, _UnitHistory] = {}
        self.ordered: list[_UnitHistory] = []  # every unit ever, by creation
        self.live_seqs: list[int] = []
        self.by_name: dict[str, str] = {}
        self.linked_owner: dict[str, str] = {}
        self.bill_source_owner: dict[str, str] = {}
        self.received: dict[str, set[str]] = {}

    def live(self, arn: str) -> dict | None:
        history = self.histories.get(arn)
        return history.current if history else None

    def _index(self, arn: str, data: dict, add: bool) -> None:
        rule = data.get("Rule") or {}
        if add:
            self.by_name[data["Name"]] = arn
            self.received.setdefault(data["InvoiceReceiver"], set()).add(arn)
            for account in rule.get("LinkedAccounts", ()):
                self.linked_owner[account] = arn
            for account in rule.get("BillSourceAccounts", ()):
                self.bill_source_owner[account] = arn
        else:
            self.by_name.pop(data["Name"], None)
            receivers = self.received.get(data["InvoiceReceiver"], set())
            receivers.discard(arn)
            if not receivers:
                self.received.pop(data["InvoiceReceiver"], None)
            for account in rule.get("LinkedAccounts", ()):
                if self.linked_owner.get(account) == arn:
                    del self.linked_owner[account]
            for account in rule.get("BillSourceAccounts", ()):
                if self.bill_source_owner.get(account) == arn:
                    del self.bill_source_owner[account]

    def create(self, arn: str, data: dict, when: float) -> None:
        history = _UnitHistory(seq=len(self.ordered) + 1, arn=arn)
        history.add(when, data)
        self.histories[arn] = history
        self.ordered.append(history)
        self.live_seqs.append(history.seq)
        self._index(arn, data, add=True)

    def update(self, arn: str, data: dict, when: float) -> None:
        history = self.histories[arn]
        self._index(arn, history.current, add=False)
        history.add(when, data)
        self._index(arn, data, add=True)

    def delete(self, arn: str, when: float) -> None:
        history = self.histories[arn]
        self._index(arn, history.current, add=False)
        history.add(when, None)
        del self.live_seqs[bisect.bisect_left(self.live_seqs, history.seq)]

    def candidates(self, filters: dict, after_seq: int) -> Iterator[_UnitHistory]:
        """Live units after `after_seq`, in creation order, narrowed through the indexes when filtered."""
        narrowed: set[str] | None = None

        def narrow(arns: Iterable[str]) -> None:
            nonlocal narrowed
            found = set(arns)
            narrowed = found if narrowed is None else narrowed & found

        if filters.get("Names"):
            narrow(self.by_name[name] for name in filters["Names"] if name in self.by_name)
        if filters.get("InvoiceReceivers"):
            narrow(arn for account in filters["InvoiceReceivers"] for arn in self.received.get(account, ()))
        if filters.get("Accounts"):
            narrow(
                [arn for account in filters["Accounts"] for arn in self.received.get(account, ())]
                + [self.linked_owner[account] for account in filters["Accounts"] if account in self.linked_owner]
            )
        if filters.get("BillSourceAccounts"):
            narrow(
                self.bill_source_owner[a] for a in filters["BillSourceAccounts"] if a in self.bill_source_owner
            )
        if narrowed is not None:
            chosen = sorted((self.histories[arn] for arn in narrowed), key=lambda h: h.seq)
            yield from (history for history in chosen if history.seq > after_seq)
            return
        # Index by position rather than slicing: a page costs what it returns, not what is stored.
        live = self.live_seqs
        for position in range(bisect.bisect_right(live, after_seq), len(live)):
            yield self.ordered[live[position] - 1]

    def ever_after(self, after_seq: int) -> Iterator[_UnitHistory]:
        """Every unit ever created after `after_seq` (for AsOf reads, which may include deleted units)."""
        for index in range(after_seq, len(self.ordered)):
            yield self.ordered[index]


def _matches(data: dict, filters: dict) -> bool:
    """ListInvoiceUnits Filters: AND across filter types, OR within one; an empty list does not filter."""
    rule = data.get("Rule") or {}
    names = filters.get("Names")
    if names and data["Name"] not in names:
        return False
    receivers = filters.get("InvoiceReceivers")
    if receivers and data["InvoiceReceiver"] not in receivers:
        return False
    accounts = filters.get("Accounts")
    if accounts and data["InvoiceReceiver"] not in accounts and not set(accounts) & set(rule.get("LinkedAccounts", ())):
        return False
    bill_sources = filters.get("BillSourceAccounts")
    if bill_sources and not set(bill_sources) & set(rule.get("BillSourceAccounts", ())):
        return False
    return True


# -------------------------------------------------------------------------------- procurement portal preferences

_CREATE_MEMBERS = _members("CreateProcurementPortalPreferenceRequest")
_PUT_MEMBERS = _members("PutProcurementPortalPreferenceRequest")
# What Put cannot change: the identity of the preference (Create members Put does not carry).
_IMMUTABLE = tuple(m for m in _CREATE_MEMBERS if m not in _PUT_MEMBERS and m not in ("ResourceTags",))
_NOT_CONFIG = {"ClientToken", "ResourceTags", "ProcurementPortalPreferenceArn", "ProcurementPortalSharedSecret"}
_VIEW_MEMBERS = _members("ProcurementPortalPreference")
_SUMMARY_MEMBERS = _members("ProcurementPortalPreferenceSummary")


@dataclass
class _Preference:
    seq: int
    arn: str
    account: str
    config: dict[str, Any]
    created: float
    updated: float
    version: int = 1
    status: dict[str, str] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict)
    pending_code: str | None = None
    sends: int = 0

    def configure(self, params: dict[str, Any], when: float, *, keep: dict[str, Any] | None = None) -> None:
        """Take every configuration member of `params` (replacing the old ones), keeping `keep`."""
        config = dict(keep or {})
        secrets = {}
        for name, value in params.items():
            if name == "ProcurementPortalSharedSecret":
                secrets["main"] = value
            elif name not in _NOT_CONFIG:
                config[name] = copy.deepcopy(value)
        test_env = config.get("TestEnvPreference")
        if test_env and "ProcurementPortalSharedSecret" in test_env:
            secrets["test"] = test_env.pop("ProcurementPortalSharedSecret")
        self.config, self.secrets = config, secrets
        # Every enabled feature must be validated (again); a disabled feature has no status.
        self.status = {}
        for enabled, status, _reason in _FEATURES:
            if config.get(enabled):
                self.status[status] = PENDING
        self.pending_code = None
        self.updated = when

    def view(self) -> dict[str, Any]:
        data = {
            "AwsAccountId": self.account,
            "ProcurementPortalPreferenceArn": self.arn,
            **copy.deepcopy(self.config),
            **self.status,
            "Version": self.version,
            "CreateDate": self.created,
            "LastUpdateDate": self.updated,
        }
        if self.config.get("PurchaseOrderRetrievalEnabled"):
            endpoint = f"https://po.invoicing-emulator.invalid/{self.arn.rsplit('/', 1)[1]}"
            data["PurchaseOrderRetrievalEndpoint"] = endpoint
            if "TestEnvPreference" in data:
                data["TestEnvPreference"]["PurchaseOrderRetrievalEndpoint"] = endpoint + "/test"
        return {name: data[name] for name in _VIEW_MEMBERS if name in data}

    def summary(self) -> dict[str, Any]:
        view = self.view()
        return {name: view[name] for name in _SUMMARY_MEMBERS if name in view}


# ------------------------------------------------------------------------------------------------- the backend


class InvoicingBackend:
    """All state of the emulator, for every account, behind one lock.

    Configuration: `organizations` (default `[DEFAULT_ORGANIZATION]`; inside moto's mock_aws an organisation in
    moto's Organizations backend takes precedence), `clock` (default wall clock; `ManualClock` for tests),
    `idempotency_window` seconds (default 24 h), `page_token_ttl` seconds (default 1 h), `limits`, `faults`
    (see `invoicing_mock.faults`) and `validator` (default: the shared model validator on the wire form).
    """

    def __init__(
        self,
        *,
        organizations: Iterable[Organization] = (DEFAULT_ORGANIZATION,),
        clock: Clock | None = None,
        idempotency_window: float = DEFAULT_WINDOW_SECONDS,
        page_token_ttl: float = DEFAULT_TTL_SECONDS,
        limits: Limits = Limits(),
        faults: Faults | None = None,
        validator: Callable[[str, dict], list] | None = None,
    ):
        self.lock = threading.RLock()  # the state
        # The token record and its in-flight markers. Lock order: `token_lock` before `lock` when both are needed
        # (a planted-fault step may take `lock` inside a token step); `lock` is never held while taking this one.
        self.token_lock = threading.RLock()
        self.clock = clock or SystemClock()
        self.limits = limits
        self.faults = faults or Faults()
        self.validator = validator or default_validator
        self.directory = Directory(organizations)
        self.access_keys: dict[str, str] = {}
        self.tokens = TokenRecord(self.clock, idempotency_window)
        self.page_tokens = PageTokens(self.clock, page_token_ttl)
        self._operations = {op: getattr(self, xform_name(op)) for op in _MODEL.operation_names}
        self._token_members = {op: _token_member(op) for op in _MODEL.operation_names}
        self._reset_state()

    def _reset_state(self) -> None:
        self._units: dict[str, _PayerUnits] = {}
        self._preferences: dict[str, dict[str, _Preference]] = {}
        self._tags: dict[str, dict[str, str]] = {}
        self._last_time = 0.0
        self._next_seq = 0

    def reset(self) -> None:
        """Forget every resource and token (configuration stays)."""
        with self.token_lock, self.lock:
            self._reset_state()
            self.tokens = TokenRecord(self.clock, self.tokens.window_seconds)

    # ------------------------------------------------------------------------------------- configuration

    def register_access_key(self, access_key: str, account: str) -> None:
        """Requests signed with `access_key` act as `account`."""
        self.access_keys[access_key] = account

    def advance_clock(self, seconds: float) -> float:
        """Move the emulator's time forward (token windows, page tokens, AsOf history); returns the new time.
        A clock without `advance` (the wall clock) is wrapped in an OffsetClock, so time keeps flowing."""
        with self.token_lock, self.lock:
            if not hasattr(self.clock, "advance"):
                self.clock = OffsetClock(self.clock)
                self.tokens.clock = self.page_tokens.clock = self.clock
            return self.clock.advance(seconds)

    def token_of(self, call: Call) -> str | None:
        """The idempotency token a request carries, or None (also for operations without one)."""
        member = self._token_members.get(call.operation)
        return call.params.get(member) if member else None

    def set_organizations(self, organizations: Iterable[Organization]) -> None:
        self.directory = Directory(organizations)

    def pending_validation_code(self, account: str, arn: str) -> str | None:
        """The code the last SendProcurementPortalValidation issued for a preference (tests read it here)."""
        with self.lock:
            preference = self._preferences.get(account, {}).get(arn)
            return preference.pending_code if preference else None

    # ---------------------------------------------------------------------------------- the request path

    def handle(self, call: Call) -> dict[str, Any]:
        """The request path; `faults` is its one seam (see `invoicing_mock.faults`)."""
        self.faults.before(call, self)
        result = self._serve(call)
        return self.faults.after(call, self, result)

    def _serve(self, call: Call) -> dict[str, Any]:
        """Validate, then run the operation. With an idempotency token:

            [token_lock: look the token up -> replay | refuse a different payload | refuse, in flight | claim it]
            faults.during(call)                      (the claimed window: latency here makes requests overlap)
            [lock: execute]  [token_lock: record the first success, release the claim]

        so the token is stored together with its effect, and of several requests with one token exactly one
        executes: the others get its stored result when they arrive after it finished, and the operation's
        conflict error (`_in_flight_conflict`) while it still runs (IDEMPOTENCY.md property 8).
        Only successes are recorded: a request refused by validation or by a service rule leaves its token
        unused, as does a fault raised before `_serve`. Each step is a method a planted-fault subclass may
        override (see `invoicing_mock.faults` and `invoicing_mock.planted`).
        """
        self._validate(call)
        member = self._token_members[call.operation]
        token = call.params.get(member) if member else None
        if token is None:
            self.faults.during(call, self)
            with self.lock:
                return self._execute(call)
        digest = fingerprint(call.params, member)
        with self.token_lock:
            recorded = self._lookup(call, token)
            if recorded is not None:
                if recorded.fingerprint == digest:
                    return self._replay(call, recorded)
                return self._mismatch(call, member, token, recorded)
            self._claim(call, member, token, digest)
        try:
            self.faults.during(call, self)
            with self.lock:
                result = self._execute(call)
            # The claim is held until the record is in: no request with this token can execute or be answered
            # in between, so to every client the token is stored together with its effect. The two locks are
            # never nested this way round (token_lock may be held while taking `lock`, never the reverse).
            with self.token_lock:
                self._record(call, token, digest, result)
                self._release(call, token)
            return result
        finally:
            # A failed execution (or fault) releases the claim too: the token stays unused.
            with self.token_lock:
                self._release(call, token)

    def _execute(self, call: Call) -> dict[str, Any]:
        return self._operations[call.operation](call.account, call.params)

    def _lookup(self, call: Call, token: str):
        return self.tokens.lookup(call.account, call.operation, token)

    def _replay(self, call: Call, recorded) -> dict[str, Any]:
        return copy.deepcopy(recorded.result)

    def _mismatch(self, call: Call, member: str, token: str, recorded) -> dict[str, Any]:
        raise self._token_conflict(call, member, token)

    def _claim(self, call: Call, member: str, token: str, digest: str) -> None:
        """Mark the token in flight; a duplicate of a request still executing is refused."""
        if not self.tokens.claim(call.account, call.operation, token, digest):
            raise self._in_flight_conflict(call, member, token)

    def _release(self, call: Call, token: str) -> None:
        self.tokens.release(call.account, call.operation, token)

    def _record(self, call: Call, token: str, digest: str, result: dict[str, Any]) -> None:
        self.tokens.record(call.account, call.operation, token, digest, copy.deepcopy(result))

    def _in_flight_conflict(self, call: Call, member: str, token: str) -> InvoicingError:
        """The answer to a duplicate arriving while the first request with its token still executes: the
        operation's conflict error (ConflictException where declared, else ValidationException, as for a token
        conflict), naming the token; retrying once the first request finished gets its result."""
        message = (
            f"{member} {token!r} is in use by a {call.operation} request that is still in progress; "
            f"retry after it completes to get its result"
        )
        if _declares(call.operation, "ConflictException"):
            return ConflictException(_clip(message), resource_id=_clip(token), resource_type=member)
        return ValidationException(
            _clip(message), reason="other", field_list=[{"name": member, "message": "in use by a request in progress"}]
        )

    def _token_conflict(self, call: Call, member: str, token: str) -> InvoicingError:
        message = (
            f"{member} {token!r} was already used for {call.operation} with a different request; "
            f"a retry must repeat the request exactly, and a new request needs a new {member}"
        )
        if _declares(call.operation, "ConflictException"):
            return ConflictException(_clip(message), resource_id=_clip(token), resource_type=member)
        return ValidationException(
            _clip(message), reason="invalidInput", field_list=[{"name": member, "message": "already used"}]
        )

    def _validate(self, call: Call) -> None:
        problems = self.validator(call.operation, call.params)
        if not problems:
            return
        secrets = sensitive_values(call.operation, call.params)
        fields = []
        for problem in problems:
            message = problem.message
            if reveals(message, secrets):
                message = f"failed the {problem.constraint} constraint (the value is sensitive and not shown)"
            fields.append({"name": problem.path, "message": _clip(message)})
        count = f"{len(fields)} validation error{'s' if len(fields) > 1 else ''} detected"
        detail = "; ".join(f"{f['name'] or '(request)'}: {f['message']}" for f in fields)
        raise ValidationException(_clip(f"{count}: {detail}"), reason="fieldValidationFailed", field_list=fields)

    # --------------------------------------------------------------------------------------------- helpers

    def _now(self) -> float:
        """Clock time, never earlier than the last change (history must be ordered)."""
        self._last_time = max(self._last_time, self.clock.now())
        return self._last_time

    def _new_id(self, length: int = 8) -> str:
        return uuid.uuid4().hex[:length]

    def _payer(self, account: str) -> tuple[Organization, _PayerUnits]:
        org = self.directory.organization_of(account)
        if org.payer != account:
            raise AccessDeniedException(
                f"Account {account} is a member of the organization whose management account is {org.payer}; "
                f"only the management account manages invoice units and reads invoice profiles"
            )
        return org, self._units.setdefault(account, _PayerUnits())

    def _unit_not_found(self, arn: str, when: float | None = None) -> ResourceNotFoundException:
        where = "" if when is None else " at the requested AsOf time"
        return ResourceNotFoundException(
            _clip(f"Invoice unit {arn} does not exist{where} for this management account"),
            resource_name=arn if len(arn) <= 256 else None,
        )

    def _page(self, operation: str, account: str, params: dict, default_max: int):
        """(position to start after, page size, scope) for a paged read; position None on the first page."""
        scope = scope_of(params)
        token = params.get("NextToken")
        position = self.page_tokens.read(token, operation, account, scope) if token is not None else None
        return position, params.get("MaxResults", default_max), scope

    def _static_page(self, operation: str, account: str, params: dict, items: list, key: str) -> dict:
        default_max = _MODEL.operation_model(operation).input_shape.members["MaxResults"].metadata["max"]
        offset, size, scope = self._page(operation, account, params, default_max)
        offset = offset or 0
        page = items[offset : offset + size]
        result: dict[str, Any] = {key: copy.deepcopy(page)}
        if offset + size < len(items):
            result["NextToken"] = self.page_tokens.issue(operation, account, scope, offset + size)
        return result

    # -------------------------------------------------------------------------------------- invoice units

    def _check_rule(
        self, org: Organization, units: _PayerUnits, receiver: str, rule: dict, own: str | None
    ) -> None:
        linked = list(rule.get("LinkedAccounts", ()))
        bill_sources = list(rule.get("BillSourceAccounts", ()))
        outsiders = [("InvoiceReceiver", receiver)] if receiver not in org else []
        outsiders += [(f"Rule.LinkedAccounts[{i}]", a) for i, a in enumerate(linked) if a not in org]
        if outsiders:
            accounts = ", ".join(sorted({a for _, a in outsiders}))
            raise ValidationException(
                _clip(f"Account(s) {accounts} are not members of the organization of management account {org.payer}"),
                reason="nonMemberPresent",
                field_list=[{"name": path, "message": f"{a} is not an organization member"} for path, a in outsiders],
            )
        total = len(set(linked) | set(bill_sources))
        if total > self.limits.accounts_per_rule:
            raise ValidationException(
                f"The rule names {total} accounts; an invoice unit rule holds at most "
                f"{self.limits.accounts_per_rule} (LinkedAccounts and BillSourceAccounts together)",
                reason="maxAccountsExceeded",
                field_list=[{"name": "Rule", "message": f"{total} accounts"}],
            )
        taken = [
            (f"Rule.{kind}[{i}]", a, owners[a])
            for kind, accounts, owners in (
                ("LinkedAccounts", linked, units.linked_owner),
                ("BillSourceAccounts", bill_sources, units.bill_source_owner),
            )
            for i, a in enumerate(accounts)
            if owners.get(a, own) != own
        ]
        if taken:
            raise ValidationException(
                _clip(
                    "An account can be in only one invoice unit's rule: "
                    + "; ".join(f"{a} is in {self._describe_unit(units, arn)}" for _, a, arn in taken)
                ),
                reason="accountMembershipError",
                field_list=[{"name": p, "message": f"{a} is in {arn}"} for p, a, arn in taken],
            )
        clashes = []
        linked_elsewhere = units.linked_owner.get(receiver)
        if linked_elsewhere not in (None, own) and units.live(linked_elsewhere)["InvoiceReceiver"] != receiver:
            clashes.append(
                (
                    "InvoiceReceiver",
                    f"{receiver} is a linked account of {self._describe_unit(units, linked_elsewhere)}, "
                    f"which it does not receive",
                )
            )
        for i, account in enumerate(linked):
            if account == receiver:
                continue
            received = units.received.get(account, set()) - {own}
            if received:
                clashes.append(
                    (
                        f"Rule.LinkedAccounts[{i}]",
                        f"{account} receives {self._describe_unit(units, min(received))}, "
                        f"so it can only be linked in a unit it receives",
                    )
                )
        if clashes:
            raise ValidationException(
                _clip(
                    "An account cannot be a linked account of one invoice unit and the receiver of another "
                    "unless it receives both: " + "; ".join(message for _, message in clashes)
                ),
                reason="mutualExclusionError",
                field_list=[{"name": path, "message": _clip(message)} for path, message in clashes],
            )

    @staticmethod
    def _describe_unit(units: _PayerUnits, arn: str) -> str:
        return f"invoice unit {units.live(arn)['Name']!r} ({arn})"

    def create_invoice_unit(self, account: str, params: dict) -> dict:
        """Simplified: BillSourceAccounts are not checked against billing transfers (any account is accepted,
        once per payer); TaxInheritanceDisabled is stored, never refused (no taxSettingsError)."""
        org, units = self._payer(account)
        name, receiver = params["Name"], params["InvoiceReceiver"]
        rule = params["Rule"]
        if name in units.by_name:
            raise ValidationException(
                f"An invoice unit named {name!r} already exists ({units.by_name[name]}); names are unique",
                reason="duplicateInvoiceUnit",
                field_list=[{"name": "Name", "message": "already in use"}],
            )
        if len(units.live_seqs) >= self.limits.invoice_units_per_payer:
            raise ValidationException(
                f"Management account {account} already has {len(units.live_seqs)} invoice units, the maximum",
                reason="maxInvoiceUnitsExceeded",
            )
        self._check_rule(org, units, receiver, rule, None)
        arn = f"arn:aws:invoicing::{account}:invoice-unit/{self._new_id()}"
        while arn in units.histories:
            arn = f"arn:aws:invoicing::{account}:invoice-unit/{self._new_id()}"
        now = self._now()
        data = {
            "InvoiceUnitArn": arn,
            "InvoiceReceiver": receiver,
            "Name": name,
            **({"Description": params["Description"]} if "Description" in params else {}),
            "TaxInheritanceDisabled": bool(params.get("TaxInheritanceDisabled", False)),
            "Rule": copy.deepcopy(rule),
            "LastModified": now,
        }
        units.create(arn, data, now)
        self._tags[arn] = {tag["Key"]: tag["Value"] for tag in params.get("ResourceTags", ())}
        return {"InvoiceUnitArn": arn}

    def update_invoice_unit(self, account: str, params: dict) -> dict:
        """Only the members given change; a given Rule replaces the whole rule."""
        org, units = self._payer(account)
        arn = params["InvoiceUnitArn"]
        current = units.live(arn)
        if current is None:
            raise self._unit_not_found(arn)
        data = dict(current)
        for name in ("Description", "TaxInheritanceDisabled", "Rule"):
            if name in params:
                data[name] = copy.deepcopy(params[name])
        if "Rule" in params:
            self._check_rule(org, units, data["InvoiceReceiver"], data["Rule"], arn)
        data["LastModified"] = now = self._now()
        units.update(arn, data, now)
        return {"InvoiceUnitArn": arn}

    def delete_invoice_unit(self, account: str, params: dict) -> dict:
        """The unit stays readable through AsOf times before the deletion; its tags are gone."""
        _org, units = self._payer(account)
        arn = params["InvoiceUnitArn"]
        if units.live(arn) is None:
            raise self._unit_not_found(arn)
        units.delete(arn, self._now())
        self._tags.pop(arn, None)
        return {"InvoiceUnitArn": arn}

    def get_invoice_unit(self, account: str, params: dict) -> dict:
        """The current version, or with AsOf the version in force then (deleted units included when AsOf
        precedes the deletion)."""
        _org, units = self._payer(account)
        arn = params["InvoiceUnitArn"]
        history = units.histories.get(arn)
        as_of = params.get("AsOf")
        data = None if history is None else (history.current if as_of is None else history.at(as_of))
        if data is None:
            raise self._unit_not_found(arn, as_of)
        # Stored versions are never mutated (a change makes a new version), so sharing them is safe.
        return dict(data)

    def list_invoice_units(self, account: str, params: dict) -> dict:
        """Creation order. Without AsOf, pages follow the live units (a cursor, so units that live throughout
        are seen exactly once); with AsOf, every page reads the same point in time."""
        _org, units = self._payer(account)
        default_max = _MODEL.shape_for("MaxResultsInteger").metadata["max"]
        after, size, scope = self._page("ListInvoiceUnits", account, params, default_max)
        filters = params.get("Filters") or {}
        as_of = params.get("AsOf")
        if as_of is None:
            views = ((h.seq, h.current) for h in units.candidates(filters, after or 0))
        else:
            views = ((h.seq, h.at(as_of)) for h in units.ever_after(after or 0))
        page: list[dict] = []
        last_seq = None
        for seq, data in views:
            if data is None or not _matches(data, filters):
                continue
            if len(page) == size:
                # One more match exists: the page is full and another follows.
                return {
                    "InvoiceUnits": page,
                    "NextToken": self.page_tokens.issue("ListInvoiceUnits", account, scope, last_seq),
                }
            page.append(data)
            last_seq = seq
        return {"InvoiceUnits": page}

    # -------------------------------------------------------------------- procurement portal preferences

    def _preference(self, account: str, arn: str) -> _Preference:
        preference = self._preferences.get(account, {}).get(arn)
        if preference is None:
            raise ResourceNotFoundException(
                _clip(f"Procurement portal preference {arn} does not exist in account {account}"),
                resource_name=arn if len(arn) <= 256 else None,
            )
        return preference

    def create_procurement_portal_preference(self, account: str, params: dict) -> dict:
        """Simplified: nothing is sent to the portal; endpoints are stored, never called."""
        preferences = self._preferences.setdefault(account, {})
        identity = tuple(params.get(name) for name in _IMMUTABLE)
        for existing in preferences.values():
            if tuple(existing.config.get(name) for name in _IMMUTABLE) == identity:
                raise ConflictException(
                    f"A procurement portal preference for this portal, buyer and supplier already exists: "
                    f"{existing.arn}",
                    resource_id=existing.arn,
                    resource_type="ProcurementPortalPreference",
                )
        if len(preferences) >= self.limits.preferences_per_account:
            raise ServiceQuotaExceededException(
                f"Account {account} already has {len(preferences)} procurement portal preferences, the maximum"
            )
        self._next_seq += 1
        arn = f"arn:aws:invoicing::{account}:procurement-portal-preference/{self._new_id(32)}"
        now = self._now()
        preference = _Preference(self._next_seq, arn, account, {}, created=now, updated=now)
        preference.configure(params, now)
        preferences[arn] = preference
        self._tags[arn] = {tag["Key"]: tag["Value"] for tag in params.get("ResourceTags", ())}
        return {"ProcurementPortalPreferenceArn": arn}

    def get_procurement_portal_preference(self, account: str, params: dict) -> dict:
        """Everything stored except the shared secrets; PurchaseOrderRetrievalEndpoint is made up by the
        emulator when PO retrieval is enabled."""
        preference = self._preference(account, params["ProcurementPortalPreferenceArn"])
        return {"ProcurementPortalPreference": preference.view()}

    def put_procurement_portal_preference(self, account: str, params: dict) -> dict:
        """Put semantics: the members given replace the configuration, omitted optional ones are cleared;
        portal, buyer and supplier stay. Version + 1; enabled features return to PENDING_VERIFICATION."""
        preference = self._preference(account, params["ProcurementPortalPreferenceArn"])
        identity = {name: preference.config[name] for name in _IMMUTABLE if name in preference.config}
        preference.configure(params, self._now(), keep=identity)
        preference.version += 1
        return {"ProcurementPortalPreferenceArn": preference.arn}

    def update_procurement_portal_preference_status(self, account: str, params: dict) -> dict:
        """Any status of the model's enum is accepted for either feature (AWS documents no transitions)."""
        preference = self._preference(account, params["ProcurementPortalPreferenceArn"])
        for _enabled, status, reason in _FEATURES:
            for name in (status, reason):
                if name in params:
                    preference.status[name] = params[name]
        preference.version += 1
        preference.updated = self._now()
        return {"ProcurementPortalPreferenceArn": preference.arn}

    def delete_procurement_portal_preference(self, account: str, params: dict) -> dict:
        """Gone at once, tags included (no history is kept for preferences)."""
        preference = self._preference(account, params["ProcurementPortalPreferenceArn"])
        del self._preferences[account][preference.arn]
        self._tags.pop(preference.arn, None)
        return {"ProcurementPortalPreferenceArn": preference.arn}

    def list_procurement_portal_preferences(self, account: str, params: dict) -> dict:
        """Creation order; each item carries the members of the model's summary shape."""
        default_max = _MODEL.shape_for("MaxResults").metadata["max"]
        after, size, scope = self._page("ListProcurementPortalPreferences", account, params, default_max)
        chosen = [p for p in self._preferences.get(account, {}).values() if p.seq > (after or 0)]
        result: dict[str, Any] = {"ProcurementPortalPreferences": [p.summary() for p in chosen[:size]]}
        if len(chosen) > size:
            result["NextToken"] = self.page_tokens.issue(
                "ListProcurementPortalPreferences", account, scope, chosen[size - 1].seq
            )
        return result

    def send_procurement_portal_validation(self, account: str, params: dict) -> dict:
        """Simplified: the code is not sent anywhere; read it with `pending_validation_code` or compute it
        with `validation_code(arn, sends)`. A new send replaces the pending code."""
        preference = self._preference(account, params["ProcurementPortalPreferenceArn"])
        preference.sends += 1
        preference.pending_code = validation_code(preference.arn, preference.sends)
        return {"ProcurementPortalPreferenceArn": preference.arn}

    def verify_procurement_portal_validation(self, account: str, params: dict) -> dict:
        """The pending code moves PENDING_VERIFICATION features to VALIDATED and is spent; Version + 1."""
        preference = self._preference(account, params["ProcurementPortalPreferenceArn"])
        if preference.pending_code is None:
            raise ValidationException(
                f"No validation is pending for {preference.arn}; call SendProcurementPortalValidation first",
                reason="invalidInput",
                field_list=[{"name": "Code", "message": "no validation code is pending"}],
            )
        if params["Code"] != preference.pending_code:
            raise ValidationException(
                "Code does not match the code last sent for this preference; use the code the latest "
                "SendProcurementPortalValidation issued",
                reason="invalidInput",
                field_list=[{"name": "Code", "message": "does not match the code sent"}],
            )
        preference.pending_code = None
        for _enabled, status, _reason in _FEATURES:
            if preference.status.get(status) == PENDING:
                preference.status[status] = VALIDATED
        preference.version += 1
        preference.updated = self._now()
        return {"ProcurementPortalPreferenceArn": preference.arn}

    # ------------------------------------------------------------------------------------------------ tags

    def _tagged(self, account: str, arn: str) -> dict[str, str]:
        units = self._units.get(account)
        live = arn in self._preferences.get(account, {}) or (units is not None and units.live(arn) is not None)
        if not live:
            raise ResourceNotFoundException(
                _clip(f"Resource {arn} does not exist in account {account}"),
                resource_name=arn if len(arn) <= 256 else None,
            )
        return self._tags.setdefault(arn, {})

    def tag_resource(self, account: str, params: dict) -> dict:
        """Merges: a given key replaces its value; at most the quota of tags per resource."""
        tags = self._tagged(account, params["ResourceArn"])
        merged = dict(tags)
        merged.update({tag["Key"]: tag["Value"] for tag in params["ResourceTags"]})
        if len(merged) > self.limits.tags_per_resource:
            raise ServiceQuotaExceededException(
                f"A resource has at most {self.limits.tags_per_resource} tags; this would make {len(merged)}"
            )
        tags.update(merged)
        return {}

    def untag_resource(self, account: str, params: dict) -> dict:
        """Keys the resource does not have are ignored."""
        tags = self._tagged(account, params["ResourceArn"])
        for key in params["ResourceTagKeys"]:
            tags.pop(key, None)
        return {}

    def list_tags_for_resource(self, account: str, params: dict) -> dict:
        """Tags in the order they were first set."""
        tags = self._tagged(account, params["ResourceArn"])
        return {"ResourceTags": [{"Key": key, "Value": value} for key, value in tags.items()]}

    # ------------------------------------------------------------------------------- read-only synthetic data

    def batch_get_invoice_profile(self, account: str, params: dict) -> dict:
        """Made-up profiles derived from the account IDs (see synthetic.py); one per distinct account, in
        request order; every account must be an organisation member (nonMemberPresent)."""
        org, _units = self._payer(account)
        outsiders = [(i, a) for i, a in enumerate(params["AccountIds"]) if a not in org]
        if outsiders:
            raise ValidationException(
                _clip(
                    f"Account(s) {', '.join(sorted({a for _, a in outsiders}))} are not members of the "
                    f"organization of management account {org.payer}"
                ),
                reason="nonMemberPresent",
                field_list=[{"name": f"AccountIds[{i}]", "message": f"{a} is not an organization member"} for i, a in outsiders],
            )
        unique = list(dict.fromkeys(params["AccountIds"]))
        return {"Profiles": [synthetic.invoice_profile(a) for a in unique]}

    def _visible_accounts(self, account: str) -> Organization:
        """A payer sees its organisation's invoices; a member account sees its own."""
        org = self.directory.organization_of(account)
        return org if org.payer == account else Organization.of(account)

    def _invoice(self, account: str, invoice_id: str) -> tuple[str, int, int]:
        parsed = synthetic.parse_invoice_id(invoice_id)
        if parsed is None or parsed[0] not in self._visible_accounts(account):
            raise ResourceNotFoundException(_clip(f"Invoice {invoice_id!r} does not exist for account {account}"))
        return parsed

    def list_invoice_summaries(self, account: str, params: dict) -> dict:
        """Made-up monthly invoices of 2025 (see synthetic.py). A payer sees its organisation's accounts, a
        member its own; others are ResourceNotFoundException."""
        selector = params["Selector"]
        if selector["ResourceType"] == "INVOICE_ID":
            items = [synthetic.invoice_summary(*self._invoice(account, selector["Value"]))]
        else:
            target = selector["Value"]
            if target not in self._visible_accounts(account):
                raise ResourceNotFoundException(
                    _clip(f"Account {target!r} is not visible to account {account}: it is not in its organization")
                )
            items = synthetic.invoice_summaries(target)
        wanted = params.get("Filter") or {}
        items = [item for item in items if synthetic.matches_filter(item, wanted)]
        return self._static_page("ListInvoiceSummaries", account, params, items, "InvoiceSummaries")

    def get_invoice_pdf(self, account: str, params: dict) -> dict:
        """A made-up URL on the reserved .invalid domain, expiring an hour after the request."""
        self._invoice(account, params["InvoiceId"])
        return {"InvoicePDF": synthetic.invoice_pdf(params["InvoiceId"], self.clock.now())}

    def list_procurement_portals(self, account: str, params: dict) -> dict:
        """One portal per value of the model's ProcurementPortalName enum."""
        portals = list(synthetic.procurement_portals())
        return self._static_page("ListProcurementPortals", account, params, portals, "ProcurementPortals")

    def list_procurement_portal_suppliers(self, account: str, params: dict) -> dict:
        """25 made-up suppliers per portal; an unknown portal is ResourceNotFoundException."""
        suppliers = synthetic.portal_suppliers(params["PortalIdentifier"])
        if suppliers is None:
            known = ", ".join(p["PortalIdentifier"] for p in synthetic.procurement_portals())
            raise ResourceNotFoundException(
                _clip(f"No procurement portal has the identifier {params['PortalIdentifier']!r}; portals: {known}")
            )
        return self._static_page(
            "ListProcurementPortalSuppliers", account, params, list(suppliers), "ProcurementPortalSuppliers"
        )
