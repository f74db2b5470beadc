"""The part of the backend every resource family shares: configuration, the state they share (tags, the ordered
clock), the request path (validation, the idempotency token, dispatch to the operation) and its public hooks.

The request path, `BackendBase.handle(call)`:

    faults.before(call)                                  outside the locks, before any effect
    validate(call)                                       ValidationException (fieldValidationFailed)
    without a token:  faults.during(call); execute(call)
    with a token:
        [token_lock: lookup_token -> replay (same payload) | answer_conflict (other payload) | claim_token]
        faults.during(call)                              the claimed window: latency here makes requests overlap
        execute(call)                                    under `lock`
        [token_lock: remember_token (the first success); release the claim]
    faults.after(call, result)                           outside the locks, after the effect is committed

so the token is stored together with its effect, and of several requests with one token exactly one executes:
the others get its stored result when they arrive after it finished, and the operation's conflict error while it
still runs (docs/idempotency.md property 8). Only successes are recorded: a request refused by validation or by a
service rule leaves its token unused, as does a fault raised in `faults.before`.

Public hooks: the steps above are methods the backend itself calls, so a variant (`invoicing_mock.mutants`,
`invoicing_mock.planted`) plants a fault by overriding one of them, never a private method:

    validate(call)                                   raises ValidationException for what the model refuses
    execute(call) -> result                          runs the operation method under `lock`
    lookup_token(call, token) -> Recorded | None     the token's record, scoped by account and operation
    replay(call, recorded) -> result                 same payload again: a copy of the stored result
    answer_conflict(call, member, token, recorded)   other payload: raises the operation's token-conflict error
    claim_token(call, member, token, digest)         marks the token in flight; refuses a duplicate meanwhile
    remember_token(call, token, digest, result)      stores the first success (with `token_lock` held)
    new_id(length) -> str                            the random part of a new resource's ARN
    page_position(operation, account, params)        where a paged read resumes (None on the first page)

and the helpers a hook may use: `token_of(call)`, `fingerprint_of(call)`, `operations` (the operation methods by
model name), `handle(call)` (the whole path), and the resource families' inspection methods. `faults` is the
seam for transport-level faults (latency, throttling, lost responses; see `invoicing_mock.faults`).

Locks: `lock` guards the resource state; `token_lock` the token record and its in-flight markers. Lock order:
`token_lock` before `lock` when both are needed (a hook may execute while the token step holds `token_lock`);
`lock` is never held while taking `token_lock`, except re-entrantly by a thread that already holds both.
"""

from __future__ import annotations

import copy
import math
import threading
import uuid
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from botocore import xform_name

from contracts import validate_request
from invoicing_mock import equivalence
from invoicing_mock.behaviour import Behaviour
from invoicing_mock.call import Call
from invoicing_mock.clock import Clock, OffsetClock, SystemClock
from invoicing_mock.exceptions import (
    AccessDeniedException,
    ConflictException,
    InvoicingError,
    ResourceNotFoundException,
    SerializationException,
    ServiceQuotaExceededException,
    ValidationException,
)
from invoicing_mock.faults import Faults
from invoicing_mock.idempotency import DEFAULT_WINDOW_SECONDS, Recorded, TokenRecord, fingerprint
from invoicing_mock.organization import DEFAULT_ORGANIZATION, Directory, Organization
from invoicing_mock.pagination import DEFAULT_TTL_SECONDS, PageTokens, scope_of
from invoicing_mock.sensitive import reveals, sensitive_values
from strategies import service_model, token_members

MODEL = service_model("invoicing")
_MESSAGE_MAX = MODEL.shape_for("BasicString").metadata["max"]

#: The public hooks of the request path (see the module docstring); variants override these and nothing private.
HOOKS = (
    "validate", "execute", "lookup_token", "replay", "answer_conflict", "claim_token", "remember_token",
    "new_id", "page_position",
)


#: The key under which a stored refusal sits in a token's record (behaviour.replay_errors).
_REFUSAL = "__refusal__"
#: The other declared client errors a behaviour may refuse a token conflict with (message only).
_OTHER_CONFLICT_ERRORS = {
    "AccessDeniedException": AccessDeniedException,
    "ResourceNotFoundException": ResourceNotFoundException,
    "ServiceQuotaExceededException": ServiceQuotaExceededException,
}


class _Refusal:
    """A stored refusal: immutable, so the record's deep copy keeps it as it is; `again()` is a new exception
    with the same code, message and members (error classes take their members as keywords, so copy.copy, which
    calls the constructor with the message alone, cannot rebuild them)."""

    def __init__(self, error: Exception):
        self.error = error

    def __deepcopy__(self, memo: dict) -> "_Refusal":
        return self

    def again(self) -> Exception:
        error = type(self.error).__new__(type(self.error))
        error.args = self.error.args
        error.__dict__.update(self.error.__dict__)
        return error


def _drop(params: dict, path: str) -> None:
    """Remove the member at `path` (the validator's syntax: `A.B`, `A[0].B`, `A.key`) from `params`."""
    parts = [p for p in path.replace("[", ".[").split(".") if p]
    node: Any = params
    for part in parts[:-1]:
        key: Any = int(part[1:-1]) if part.startswith("[") else part
        try:
            node = node[key]
        except (KeyError, IndexError, TypeError):
            return
    last = parts[-1] if parts else ""
    if isinstance(node, dict):
        node.pop(last, None)


def clip(text: str) -> str:
    """A message cut to the model's BasicString maximum, which error messages are."""
    return text if len(text) <= _MESSAGE_MAX else text[: _MESSAGE_MAX - 1] + "…"


def token_member(operation: str) -> str | None:
    """The member of `operation` with the idempotencyToken trait, or None (every Invoicing operation has at most
    one)."""
    members = token_members(operation)
    return members[0] if members else None


def declares(operation: str, error: str) -> bool:
    return any(shape.name == error for shape in MODEL.operation_model(operation).error_shapes)


def default_validator(operation: str, params: dict[str, Any]) -> list:
    """The shared model validator, on the wire form."""
    return validate_request(operation, params, wire=True)


@dataclass(frozen=True)
class Limits:
    """Quotas: AWS documents the first two; 100 preferences per account is an emulator choice (AWS documents
    none); tags per resource is the model's ResourceTagList maximum."""

    invoice_units_per_payer: int = 500
    accounts_per_rule: int = 1000
    preferences_per_account: int = 100
    tags_per_resource: int = MODEL.shape_for("ResourceTagList").metadata["max"]


class BackendBase:
    """All state of the emulator, for every account, behind one lock; the resource families add theirs.

    Configuration: `organizations` (default `[DEFAULT_ORGANIZATION]`; inside moto's mock_aws an organisation in
    moto's Organizations backend takes precedence), `clock` (default wall clock; `ManualClock` for tests),
    `idempotency_window` seconds (default 24 h), `page_token_ttl` seconds (default 1 h), `limits`, `faults`
    (see `invoicing_mock.faults`), `validator` (default: the shared model validator on the wire form) and
    `behaviour` (invoicing_mock.behaviour: how it answers where AWS is silent; default the class's BEHAVIOUR, the
    emulator's own choices).
    """

    #: The behaviour a backend of this class has unless given another (plausible-behaviour variants set theirs).
    BEHAVIOUR = Behaviour()

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
        behaviour: Behaviour | dict | None = None,
    ):
        self.behaviour = Behaviour.of(behaviour) if behaviour is not None else self.BEHAVIOUR
        if self.behaviour.idempotency_window is not None:
            idempotency_window = self.behaviour.idempotency_window
        self.lock = threading.RLock()  # the resource state
        self.token_lock = threading.RLock()  # the token record and its in-flight markers (see the module docstring)
        self.clock = clock or SystemClock()
        self.limits = limits
        self.faults = faults or Faults()
        self.validator = validator or default_validator
        self.directory = Directory(organizations)
        self.access_keys: dict[str, str] = {}
        self.tokens = TokenRecord(self.clock, idempotency_window)
        self.page_tokens = PageTokens(self.clock, page_token_ttl)
        #: The operation methods by model name: `execute` dispatches through it. Built once, so a backend without
        #: a method for some model operation fails here rather than on the first such request.
        self.operations: dict[str, Callable[[str, dict], dict]] = {
            op: getattr(self, xform_name(op)) for op in MODEL.operation_names
        }
        self._token_members = {op: token_member(op) for op in MODEL.operation_names}
        self._reset_state()

    def _reset_state(self) -> None:
        """Empty the state; each resource family extends it for its own (and calls super())."""
        self._tags: dict[str, dict[str, str]] = {}  # ARN -> tags in the order first set, for every family
        self._last_time = 0.0

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

    def set_organizations(self, organizations: Iterable[Organization]) -> None:
        self.directory = Directory(organizations)

    # ---------------------------------------------------------------------------------- the request path

    def handle(self, call: Call) -> dict[str, Any]:
        """The request path; `faults` is its one seam for transport faults (see `invoicing_mock.faults`)."""
        self.faults.before(call, self)
        result = self._serve(call)
        return self.faults.after(call, self, result)

    def _serve(self, call: Call) -> dict[str, Any]:
        """Validate, then run the operation, through the token steps when the request carries a token (see the
        module docstring)."""
        if call.operation in self.behaviour.access_denied:
            # Authorisation comes before anything else reads the request (as IAM does).
            raise AccessDeniedException(f"The caller is not authorized to perform {call.operation}: it is a preview "
                                        f"API this account has not been given access to")
        try:
            self.validate(call)
        except (InvoicingError, SerializationException) as error:
            self._store_refusal(call, error)
            raise
        token = self.token_of(call)
        if token is None:
            self.faults.during(call, self)
            return self.execute(call)
        member = self._token_members[call.operation]
        digest = self.fingerprint_of(call)
        with self.token_lock:
            recorded = self.lookup_token(call, token)
            if recorded is not None:
                if recorded.fingerprint == digest:
                    return self.replay(call, recorded)
                return self.answer_conflict(call, member, token, recorded)
            self.claim_token(call, member, token, digest)
        try:
            self.faults.during(call, self)
            try:
                result = self.execute(call)
            except InvoicingError as error:
                self._store_refusal(call, error)
                raise
            # The claim is held until the record is in: no request with this token can execute or be answered
            # in between, so to every client the token is stored together with its effect.
            with self.token_lock:
                self.remember_token(call, token, digest, result)
                self._release_token(call, token)
            return result
        finally:
            # A failed execution (or fault) releases the claim too: the token stays unused.
            with self.token_lock:
                self._release_token(call, token)

    def _store_refusal(self, call: Call, error: Exception) -> None:
        """behaviour.replay_errors: a refusal by validation or by a service rule is the token's stored result (the
        IETF draft's reading); a fault (throttling, a 5xx before any effect) is not, it never reached the
        operation. Default: nothing is stored, the token stays unused."""
        token = self.token_of(call)
        if not self.behaviour.replay_errors or not isinstance(token, str) or not token:
            return
        with self.token_lock:
            if self.lookup_token(call, token) is None:
                self.remember_token(call, token, self.fingerprint_of(call), {_REFUSAL: _Refusal(error)})

    def token_of(self, call: Call) -> str | None:
        """The idempotency token a request carries, or None (also for operations without one)."""
        member = self._token_members.get(call.operation)
        return call.params.get(member) if member else None

    def fingerprint_of(self, call: Call) -> str:
        """What a reused token is compared by: the request without its token, canonically serialised; payloads
        the model or the documentation make equal compare equal (invoicing_mock.equivalence) unless
        behaviour.payload_comparison is "bytes"."""
        params = call.params
        if self.behaviour.payload_comparison == "semantic":
            params = equivalence.canonical(call.operation, params)
        return fingerprint(params, self._token_members.get(call.operation))

    def token_scope(self, call: Call) -> str:
        """What a token is scoped by besides the account: the operation (the emulator's choice), or nothing
        (behaviour.token_scope "account": one token answers for every operation of the account)."""
        return call.operation if self.behaviour.token_scope == "operation" else "*"

    # -- hooks (see the module docstring) --------------------------------------------------------------------

    def validate(self, call: Call) -> None:
        """Every problem the validator finds, in one ValidationException (fieldValidationFailed); a message that
        would show a sensitive value names the broken constraint instead."""
        problems = self.validator(call.operation, call.params)
        if self.behaviour.unknown_members == "ignore" and any(p.constraint == "unknown" for p in problems):
            # As a service that ignores what it does not know: the members are dropped before anything reads them.
            for problem in problems:
                if problem.constraint == "unknown":
                    _drop(call.params, problem.path)
            problems = [p for p in problems if p.constraint != "unknown"]
        if not problems:
            return
        if self.behaviour.wrong_type_error == "SerializationException" and any(p.constraint == "type"
                                                                                for p in problems):
            wrong = next(p for p in problems if p.constraint == "type")
            raise SerializationException(clip(f"Cannot deserialize {wrong.path or 'the request'}: {wrong.message}"))
        secrets = sensitive_values(call.operation, call.params)
        fields = []
        for problem in problems:
            message = problem.message
            if reveals(message, secrets):
                message = f"failed the {problem.constraint} constraint (the value is sensitive and not shown)"
            fields.append({"name": problem.path, "message": clip(message)})
        count = f"{len(fields)} validation error{'s' if len(fields) > 1 else ''} detected"
        detail = "; ".join(f"{f['name'] or '(request)'}: {f['message']}" for f in fields)
        raise ValidationException(clip(f"{count}: {detail}"), reason="fieldValidationFailed", field_list=fields)

    def execute(self, call: Call) -> dict[str, Any]:
        """Run the operation method under `lock` (re-entrant: a hook already holding it may call this)."""
        with self.lock:
            return self.operations[call.operation](call.account, call.params)

    def lookup_token(self, call: Call, token: str) -> Recorded | None:
        """The record of `token` for this account and operation (its `token_scope`), within the window."""
        return self.tokens.lookup(call.account, self.token_scope(call), token)

    def replay(self, call: Call, recorded: Recorded) -> dict[str, Any]:
        """A copy of the stored result (a caller may change what it gets without changing the record); a stored
        refusal (behaviour.replay_errors) is raised again."""
        refusal = recorded.result.get(_REFUSAL)
        if refusal is not None:
            raise refusal.again()
        return copy.deepcopy(recorded.result)

    def answer_conflict(self, call: Call, member: str, token: str, recorded: Recorded) -> dict[str, Any]:
        """A reused token with another payload is refused with the operation's conflict error: ConflictException
        where the operation declares it, else ValidationException (invalidInput), naming the token."""
        message = (
            f"{member} {token!r} was already used for {call.operation} with a different request; "
            f"a retry must repeat the request exactly, and a new request needs a new {member}"
        )
        code = self.behaviour.conflict_error_of(call.operation) or (
            "ConflictException" if declares(call.operation, "ConflictException") else "ValidationException")
        if code == "ConflictException":
            raise ConflictException(clip(message), resource_id=clip(token), resource_type=member)
        if code == "ValidationException":
            raise ValidationException(
                clip(message), reason="invalidInput", field_list=[{"name": member, "message": "already used"}]
            )
        raise _OTHER_CONFLICT_ERRORS[code](clip(message))

    def claim_token(self, call: Call, member: str, token: str, digest: str) -> None:
        """Mark the token in flight. A duplicate arriving while the first request with its token still executes
        gets the operation's conflict error (ConflictException where declared, else ValidationException);
        retrying once the first request finished gets its result."""
        if self.tokens.claim(call.account, self.token_scope(call), token, digest):
            return
        message = (
            f"{member} {token!r} is in use by a {call.operation} request that is still in progress; "
            f"retry after it completes to get its result"
        )
        if declares(call.operation, "ConflictException"):
            raise ConflictException(clip(message), resource_id=clip(token), resource_type=member)
        raise ValidationException(
            clip(message), reason="other", field_list=[{"name": member, "message": "in use by a request in progress"}]
        )

    def remember_token(self, call: Call, token: str, digest: str, result: dict[str, Any]) -> None:
        """Store the first success with its fingerprint (a copy: the caller's result may still change)."""
        self.tokens.record(call.account, self.token_scope(call), token, digest, copy.deepcopy(result))

    def new_id(self, length: int = 8) -> str:
        """The random part of a new resource's ARN."""
        return uuid.uuid4().hex[:length]

    def page_position(self, operation: str, account: str, params: dict) -> Any:
        """Where a paged read resumes: the position its NextToken points at (ValidationException when the token
        is invalid or expired), None on the first page."""
        token = params.get("NextToken")
        return None if token is None else self.page_tokens.read(token, operation, account, scope_of(params))

    def _release_token(self, call: Call, token: str) -> None:
        self.tokens.release(call.account, self.token_scope(call), token)

    # --------------------------------------------------------------------- helpers of the resource families

    def _now(self) -> float:
        """Clock time, never earlier than the last change (history must be ordered); truncated to
        behaviour.timestamp_resolution (whole seconds, as some services keep them) when set."""
        now = self.clock.now()
        step = self.behaviour.timestamp_resolution
        if step:
            now = math.floor(now / step) * step
        self._last_time = max(self._last_time, now)
        return self._last_time

    def _management_org(self, account: str) -> Organization:
        """The caller's organisation, which it must manage: invoice units and invoice profiles are the payer's."""
        org = self.directory.organization_of(account)
        if org.payer != account:
            raise AccessDeniedException(
                f"Account {account} is a member of the organization whose management account is {org.payer}; "
                f"only the management account manages invoice units and reads invoice profiles"
            )
        return org

    def _is_live(self, account: str, arn: str) -> bool:
        """Whether `arn` is a live resource of `account`; each resource family answers for its own (and asks
        super() otherwise), so tags reach every family without knowing them."""
        return False

    def _start_tags(self, arn: str, params: dict) -> None:
        """A new resource's tags: the ResourceTags of its create request."""
        self._tags[arn] = {tag["Key"]: tag["Value"] for tag in params.get("ResourceTags", ())}

    def _drop_tags(self, arn: str) -> None:
        self._tags.pop(arn, None)

    def _page(self, operation: str, account: str, params: dict, default_max: int) -> tuple[Any, int, str]:
        """(position to start after, page size, scope) for a paged read; position None on the first page."""
        position = self.page_position(operation, account, params)
        return position, params.get("MaxResults", default_max), scope_of(params)

    def _static_page(self, operation: str, account: str, params: dict, items: list, key: str) -> dict:
        """One page of a list that does not change between pages (the synthetic reads): by offset."""
        default_max = MODEL.operation_model(operation).input_shape.members["MaxResults"].metadata["max"]
        offset, size, scope = self._page(operation, account, params, default_max)
        offset = offset or 0
        page = items[offset : offset + size]
        result: dict[str, Any] = {key: copy.deepcopy(page)}
        if offset + size < len(items):
            result["NextToken"] = self.page_tokens.issue(operation, account, scope, offset + size)
        return result

