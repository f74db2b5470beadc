"""One place where the suite calls the target: every call is recorded with what went over the wire.

`Api.call(operation, params)` never raises for an answer of the target: success, an AWS error, a client-side
ParamValidationError, a request botocore could not even serialise, and a request a real-account run's guard or
resource budget kept back (NotSent) all come back as an `Outcome`. The raw JSON
body is kept (captured at botocore's after-call event) because the output contract is about the wire, not about
what botocore's parser made of it. Each call is appended to the run's `Trace`, the steps of the current Hypothesis
example, which becomes a failure's minimal example and its boto3 reproduction.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import botocore
import botocore.exceptions
from botocore import xform_name
from botocore.serialize import create_serializer

from contracts.model.redaction import REDACTOR
from strategies import service_model


@dataclass
class Outcome:
    sent: bool  # an HTTP request was made (False: refused by botocore before sending)
    status: int | None = None
    response: dict | None = None  # botocore's parsed response, ResponseMetadata removed
    wire: Any = None  # the raw JSON body as received (None when not JSON)
    wire_text: str = ""
    error_code: str | None = None
    error_message: str = ""
    error: dict = field(default_factory=dict)  # the parsed error body (reason, fieldList, ...)
    client_error: str | None = None  # ParamValidationError / serialisation failure, as text
    connection_error: str | None = None  # the target could not be reached
    sent_body: bytes | None = None  # the request body as sent (to check tokens on the wire)
    # A real-account run's guard or resource budget kept the request from being sent (contracts.guard.safety): the
    # request was not tried, so no check can hold it against the target.
    not_sent: str | None = None
    not_sent_by: str | None = None  # GuardRefused | BudgetExceeded

    @property
    def ok(self) -> bool:
        return self.sent and self.error_code is None and self.connection_error is None and self.status is not None \
            and self.status < 300

    @property
    def refused_by_client(self) -> bool:
        return self.client_error is not None and not self.sent

    @property
    def server_fault(self) -> bool:
        return self.status is not None and self.status >= 500

    def summary(self) -> str:
        """One line, redacted: what the target answered."""
        return " ".join(self._summary().split())

    def _summary(self) -> str:
        if self.not_sent:
            return f"not sent: {self.not_sent}"
        if self.connection_error:
            return f"connection failed: {self.connection_error}"
        if self.refused_by_client:
            return f"refused by botocore before sending: {REDACTOR.scrub(self.client_error or '')}"
        if self.error_code:
            reason = f" (reason {self.error.get('reason')})" if self.error.get("reason") else ""
            return f"HTTP {self.status} {self.error_code}{reason}: {REDACTOR.scrub(self.error_message)}"
        return f"HTTP {self.status} {json.dumps(REDACTOR.placeholder_repr(self.wire), sort_keys=True, default=str)}"


@dataclass
class Call:
    operation: str
    params: dict
    outcome: Outcome
    validate: bool = True  # botocore's client-side validation was on
    account: str | None = None  # the caller's account when the suite chose one
    note: str = ""  # why the suite made this call, e.g. "replay of step 2 (same token, same payload)"
    raw: bool = False  # sent as hand-made JSON (botocore cannot serialise these params)
    waited: float = 0.0  # seconds the suite let pass on purpose before it (Trace.wait)


class Trace:
    """The calls of the current Hypothesis example (thread-safe). `setup` calls (fixtures made for the whole
    test) stay across examples and open every example's list, so a reproduction recreates what it needs."""

    def __init__(self) -> None:
        self._setup: list[Call] = []
        self._calls: list[Call] = []
        self._lock = threading.Lock()
        self._waited = 0.0
        # Bumped per example (and per state-machine step): the unit in which results count examples.
        self.unit = 0

    def reset(self) -> None:
        """A new example begins."""
        with self._lock:
            self._calls = []
            self.unit += 1

    def next_unit(self) -> None:
        """A new unit of observation inside one example (a state-machine step)."""
        self.unit += 1

    def reset_all(self) -> None:
        """A new test begins."""
        with self._lock:
            self._calls, self._setup = [], []
            self.unit += 1

    def keep_as_setup(self) -> None:
        """The calls so far open every later example's list too (a scripted run's first resource)."""
        with self._lock:
            self._setup, self._calls = self._setup + self._calls, []

    def wait(self, seconds: float) -> None:
        """Let `seconds` pass before the next call, which keeps the wait for its reproduction (a change that must
        land in a later tick of a target's clock)."""
        time.sleep(seconds)
        with self._lock:
            self._waited += seconds

    def add(self, call: Call, *, setup: bool = False) -> int:
        with self._lock:
            call.waited, self._waited = call.waited + self._waited, 0.0
            (self._setup if setup else self._calls).append(call)
            return len(self._setup) + len(self._calls)

    @property
    def calls(self) -> list[Call]:
        with self._lock:
            return self._setup + self._calls


@dataclass(frozen=True)
class Attempt:
    """One HTTP attempt as it went over the wire (a retrying SDK makes several per call)."""

    operation: str
    body: bytes
    sdk_request: str  # the amz-sdk-request header, e.g. "attempt=2; max=3" ("" when absent)

    def param(self, name: str) -> Any:
        try:
            return json.loads(self.body or b"{}").get(name)
        except ValueError:
            return None


class NotSent(Exception):
    """A request a run's guard or budget kept from being sent (contracts.guard raises its subclasses)."""


def comparable(value: Any) -> Any:
    """Values as both a request and a parsed response carry them: datetimes as epoch milliseconds."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.timezone.utc)
        return round(value.timestamp() * 1000)
    if isinstance(value, dict):
        return {k: comparable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [comparable(v) for v in value]
    return value


class _WireCapture(threading.local):
    """Per-thread scratch space filled by botocore event handlers during one call."""

    def clear(self) -> None:
        self.sent = False
        self.status = None
        self.body = b""
        self.sent_body = None
        self.override = None  # a body to send instead of botocore's (see Api.call(raw=True))


def _wire_default(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.timezone.utc)
        return value.timestamp()
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(value).decode()
    return repr(value)


def serialisable(operation: str, params: dict, service: str = "invoicing") -> bool:
    """Whether botocore's serialiser (validation off) can encode `params` at all."""
    model = service_model(service)
    try:
        create_serializer(model.protocol, include_validation=False).serialize_to_request(
            params, model.operation_model(operation))
    except (TypeError, ValueError, AttributeError, KeyError):
        return False
    return True


def wire_json(params: dict) -> bytes:
    """`params` as AWS JSON 1.0 puts them on the wire (epoch-second timestamps, base64 blobs), wrong types kept
    as they are: what a client that does not validate would send."""
    return json.dumps(params, default=_wire_default, ensure_ascii=False).encode()


class Api:
    """A botocore client of the target plus recording; built by contracts.engine.targets.Target.api()."""

    def __init__(self, client, *, trace: Trace, validate: bool = True, account: str | None = None):
        self.client = client
        self.validate = validate
        self.account = account
        self.trace = trace
        self.listeners: list[Callable[[Call], None]] = []  # told of every call (e.g. the cleanup ledger)
        # Checks a request sent as hand-made JSON (raw=True), which botocore's event handlers never see as
        # parameters: a real-account run's guard (it raises NotSent to refuse).
        self.raw_guard: Callable[[str, dict], None] | None = None
        self._wire = _WireCapture()
        self._wire.clear()
        events = client.meta.events
        service_id = client.meta.service_model.service_id.hyphenize()
        events.register(f"request-created.{service_id}", self._on_request_created)
        events.register(f"after-call.{service_id}", self._on_after_call)

    def _on_request_created(self, request, **_kwargs) -> None:
        # Runs before botocore's signer (more specific event name), so a replaced body is the one signed.
        self._wire.sent = True
        if self._wire.override is not None:
            request.data = self._wire.override
        body = request.body
        self._wire.sent_body = body if isinstance(body, bytes) else (body or "").encode()

    def _on_after_call(self, http_response, **_kwargs) -> None:
        self._wire.status = http_response.status_code
        self._wire.body = http_response.content

    def call(self, operation: str, params: dict, *, note: str = "", record: bool | str = True,
             raw: bool = False) -> Outcome:
        """Call `operation` with exactly `params` (a dict as passed to boto3); never raises for the answer.

        record: True adds the call to the current example's trace, "setup" to the test's setup calls.
        raw: send `wire_json(params)` as the body, for invalid params botocore's serialiser cannot encode (an
        unknown member, a string for a structure); needs a client without parameter validation."""
        self._wire.clear()
        method: Callable = getattr(self.client, xform_name(operation))
        outcome = Outcome(sent=False)
        if raw:
            if self.validate:
                raise ValueError("raw=True needs an Api without client-side validation (validate=False)")
            self._wire.override = wire_json(params)
        try:
            if raw and self.raw_guard is not None:
                self.raw_guard(operation, params)
            parsed = method(**({} if raw else dict(params)))
        except NotSent as error:
            outcome.not_sent = REDACTOR.scrub(str(error))
            outcome.not_sent_by = type(error).__name__
        except botocore.exceptions.ParamValidationError as error:
            outcome.client_error = f"ParamValidationError: {error}"
        except botocore.exceptions.ClientError as error:
            outcome.error_code = error.response.get("Error", {}).get("Code")
            outcome.error_message = error.response.get("Error", {}).get("Message", "")
            outcome.error = {k: v for k, v in error.response.items() if k not in ("Error", "ResponseMetadata")}
            outcome.status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        except (botocore.exceptions.EndpointConnectionError, botocore.exceptions.ConnectionClosedError,
                botocore.exceptions.ReadTimeoutError, botocore.exceptions.ConnectTimeoutError) as error:
            outcome.connection_error = str(error)
        except (TypeError, ValueError, AttributeError, KeyError) as error:
            # With parameter_validation off, botocore's serialiser chokes on some wrong types before sending.
            outcome.client_error = f"botocore could not serialise the request: {type(error).__name__}: {error}"
        else:
            outcome.response = {k: v for k, v in parsed.items() if k != "ResponseMetadata"}
            outcome.status = parsed.get("ResponseMetadata", {}).get("HTTPStatusCode")
        outcome.sent = self._wire.sent
        if self._wire.status is not None:
            outcome.status = self._wire.status
        outcome.sent_body = self._wire.sent_body
        received = self._wire.body or b""
        outcome.wire_text = received.decode("utf-8", "replace")
        try:
            outcome.wire = json.loads(received) if received else None
        except ValueError:
            outcome.wire = None
        REDACTOR.harvest(params)
        if outcome.wire is not None:
            REDACTOR.harvest(outcome.wire)
        call = Call(operation, dict(params), outcome, validate=self.validate, account=self.account, note=note,
                    raw=raw)
        if record:
            self.trace.add(call, setup=record == "setup")
        for listener in self.listeners:
            listener(call)
        return outcome
