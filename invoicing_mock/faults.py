"""The one seam where faults enter the emulator's request path, and the scheduled faults tests set through it.

`InvoicingBackend.handle(call)` is the whole request path once the wire protocol has been read:

    faults.before(call, backend)            # outside the locks, before any effect
    result = ...                            # validate -> token check + claim -> faults.during -> execute + record
    return faults.after(call, backend, result)   # outside the locks, after the effect is committed

A fault injector is a `Faults` subclass passed as `InvoicingBackend(faults=...)` (or assigned to
`backend.faults` at any time). What it may do:
- in `before`: raise `ThrottlingException(...)` or `InternalServerException(..., retry_after_seconds=N)` (the
  request is refused with no effect and, being refused before the token check, leaves its token unused), or
  sleep to add latency;
- in `during` (a request with a token: after it claimed the token, before it executes; no lock held): sleep, so
  duplicates sent meanwhile meet the in-flight marker (docs/idempotency.md property 8);
- in `after`: raise `DropResponse()` so the effect stays committed but the client never gets the answer (the
  in-process transport raises botocore's ConnectionClosedError, or ReadTimeoutError when the drop hangs, which
  the SDK retries; the HTTP server closes the connection, after hanging when asked), raise an error response
  instead of the result, sleep, or return a changed result.
The default `Faults()` does nothing.

Scheduled faults (`ScheduledFaults`): deterministic, seeded rules, the same in-process and on the HTTP server
(its admin interface POST /_invoicing/faults and `serve --fault` take the JSON below; see invoicing_mock.server):

    {"seed": 7, "rules": [
      {"kind": "drop", "operation": "CreateInvoiceUnit", "nth": [1]},        # lose the 1st create's response
      {"kind": "throttle", "probability": 0.1},                              # 10% of all calls, seeded
      {"kind": "internal", "every": 5, "retry_after": 2},                    # each 5th call: 500, retryAfterSeconds 2
      {"kind": "latency", "seconds": 0.2, "phase": "inflight", "token": "t-1", "times": 1}]}

kind      drop (phase after; `seconds`: hang that long before closing, so a client with a shorter read timeout
          times out) | throttle (phase before) | internal (phase before, or after: the effect is committed and a
          500 answers anyway) | latency (`seconds`; phase before, inflight or after)
filters   operation, token (the request's idempotency token), account: a rule only sees matching calls
selection at most one of nth (list of 1-based positions among the calls the rule saw), every (each Nth call),
          probability (decided per call from seed, rule index and position, so a run repeats exactly given the
          same call order); none: every call it sees. `times` caps how often a rule fires. A rule sees calls as
          they arrive; one of phase inflight as they reach execution (past the token check), so `"nth": [1]`
          holds the request that won the token, not the one that arrived first.
Every call is logged (operation, account, token, request id, the faults applied): the server-side record of
what went over the wire, e.g. that an SDK's retry carried the same token.

Planted behavioural faults (to prove the suite catches them) are not faults of this seam: they are small
`InvoicingBackend` subclasses overriding one public hook of the request path (`validate`, `execute`,
`lookup_token`, `replay`, `answer_conflict`, `claim_token`, `remember_token`, `new_id`, `page_position`; see the
docstring of `invoicing_mock.models.base`), e.g. "a replay returns a fresh ARN":

    class FreshArnOnReplay(InvoicingBackend):
        def replay(self, call, recorded):
            result = super().replay(call, recorded)
            for name, value in result.items():
                if name.endswith("Arn"):
                    result[name] = value.rsplit("/", 1)[0] + "/" + self.new_id()
            return result

The catalogue of them is `invoicing_mock.mutants`.
"""

from __future__ import annotations

import collections
import random
import threading
import time
from dataclasses import asdict, dataclass
from typing import Any, Iterable, Mapping, Protocol

from invoicing_mock.call import Call
from invoicing_mock.exceptions import InternalServerException, ThrottlingException
from strategies import service_model


class Backend(Protocol):
    """What a fault injector may ask of the backend it is plugged into (an `InvoicingBackend`)."""

    def token_of(self, call: Call) -> str | None: ...


class DropResponse(Exception):
    """Raised by `Faults.after`: the effect is committed, the response is lost on the way back.

    `hang_seconds` > 0: the connection hangs that long before closing (over HTTP), so a client whose read
    timeout is shorter sees a read timeout; in-process the SDK gets ReadTimeoutError at once."""

    def __init__(self, hang_seconds: float = 0.0):
        super().__init__(f"response dropped{f' after hanging {hang_seconds}s' if hang_seconds else ''}")
        self.hang_seconds = hang_seconds


class Faults:
    def before(self, call: Call, backend: Backend) -> None:
        return None

    def during(self, call: Call, backend: Backend) -> None:
        return None

    def after(self, call: Call, backend: Backend, result: dict[str, Any]) -> dict[str, Any]:
        return result


# ------------------------------------------------------------------------------------------ scheduled faults

KINDS = {"drop": ("after",), "throttle": ("before",), "internal": ("before", "after"),
         "latency": ("before", "inflight", "after")}
#: Latency and hangs are bounded: a schedule must not be able to wedge a server for minutes.
MAX_SECONDS = 60.0


class FaultSpecError(ValueError):
    """A fault rule or schedule that cannot be used; the message says what to change."""


@dataclass(frozen=True)
class FaultRule:
    kind: str
    operation: str | None = None
    token: str | None = None
    account: str | None = None
    nth: tuple[int, ...] | None = None
    every: int | None = None
    probability: float | None = None
    times: int | None = None
    seconds: float = 0.0
    retry_after: int = 1
    phase: str = ""  # "" -> the kind's first phase

    def __post_init__(self) -> None:
        where = f"fault rule {self.kind!r}"
        if self.kind not in KINDS:
            raise FaultSpecError(f"unknown fault kind {self.kind!r}; choose one of: {', '.join(KINDS)}")
        if not self.phase:
            object.__setattr__(self, "phase", KINDS[self.kind][0])
        if self.phase not in KINDS[self.kind]:
            raise FaultSpecError(f"{where}: phase {self.phase!r} is not one of {', '.join(KINDS[self.kind])}")
        if self.operation is not None:
            names = service_model("invoicing").operation_names
            if self.operation not in names:
                raise FaultSpecError(f"{where}: {self.operation!r} is not an Invoicing operation; "
                                     f"e.g. {', '.join(names[:3])}")
        chosen = [name for name in ("nth", "every", "probability") if getattr(self, name) is not None]
        if len(chosen) > 1:
            raise FaultSpecError(f"{where}: give at most one of nth, every, probability (got {', '.join(chosen)})")
        if self.nth is not None:
            nth = tuple(int(n) for n in ([self.nth] if isinstance(self.nth, int) else self.nth))
            if not nth or min(nth) < 1:
                raise FaultSpecError(f"{where}: nth lists 1-based call positions, e.g. [1] or [1, 3]; got {nth}")
            object.__setattr__(self, "nth", nth)
        if self.every is not None and int(self.every) < 1:
            raise FaultSpecError(f"{where}: every must be 1 or more (every Nth call); got {self.every}")
        if self.probability is not None and not 0.0 <= float(self.probability) <= 1.0:
            raise FaultSpecError(f"{where}: probability must be between 0 and 1; got {self.probability}")
        if self.times is not None and int(self.times) < 0:
            raise FaultSpecError(f"{where}: times must be 0 or more; got {self.times}")
        if not 0.0 <= float(self.seconds) <= MAX_SECONDS:
            raise FaultSpecError(f"{where}: seconds must be between 0 and {MAX_SECONDS:g}; got {self.seconds}")
        if self.kind == "latency" and not self.seconds:
            raise FaultSpecError(f"{where}: latency needs seconds > 0, e.g. \"seconds\": 0.2")
        if int(self.retry_after) < 0:
            raise FaultSpecError(f"{where}: retry_after must be 0 or more seconds; got {self.retry_after}")

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> "FaultRule":
        if not isinstance(data, Mapping):
            raise FaultSpecError(f"a fault rule is a JSON object like {{\"kind\": \"drop\"}}; got {data!r}")
        known = set(cls.__dataclass_fields__)
        unknown = set(data) - known
        if unknown:
            raise FaultSpecError(f"fault rule: unknown key(s) {sorted(unknown)}; known: {sorted(known)}")
        if "kind" not in data:
            raise FaultSpecError(f"fault rule {dict(data)}: needs a kind ({', '.join(KINDS)})")
        try:
            return cls(**dict(data))
        except (TypeError, ValueError) as error:
            if isinstance(error, FaultSpecError):
                raise
            raise FaultSpecError(f"fault rule {dict(data)}: {error}") from None

    @classmethod
    def parse(cls, text: str) -> "FaultRule":
        """The command-line form KIND[:key=value,...], e.g. `drop:operation=CreateInvoiceUnit,nth=1+3` or
        `latency:seconds=0.2,probability=0.1` (several nth positions joined with +)."""
        kind, _, rest = text.strip().partition(":")
        data: dict[str, Any] = {"kind": kind.strip()}
        for item in filter(None, (part.strip() for part in rest.split(","))):
            key, sep, value = item.partition("=")
            if not sep:
                raise FaultSpecError(f"--fault {text!r}: {item!r} is not key=value")
            key, value = key.strip(), value.strip()
            try:
                if key == "nth":
                    data[key] = [int(n) for n in value.split("+")]
                elif key in ("every", "times", "retry_after"):
                    data[key] = int(value)
                elif key in ("probability", "seconds"):
                    data[key] = float(value)
                else:
                    data[key] = value
            except ValueError:
                raise FaultSpecError(f"--fault {text!r}: {key}={value!r} is not a number") from None
        return cls.of(data)

    def to_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in asdict(self).items() if v is not None}
        if self.nth is not None:
            out["nth"] = list(self.nth)
        for name, default in (("seconds", 0.0), ("retry_after", 1)):
            if out.get(name) == default:
                del out[name]
        return out

    def matches(self, operation: str, account: str, token: str | None) -> bool:
        return ((self.operation is None or self.operation == operation)
                and (self.token is None or self.token == token)
                and (self.account is None or self.account == account))

    def selects(self, position: int, seed: int, index: int) -> bool:
        """Whether the rule picks the `position`-th call it saw (1-based)."""
        if self.nth is not None:
            return position in self.nth
        if self.every is not None:
            return position % self.every == 0
        if self.probability is not None:
            # Seeded per (seed, rule, position): independent of other rules and of thread timing.
            return random.Random(f"{seed}:{index}:{position}").random() < self.probability
        return True


class ScheduledFaults(Faults):
    """Deterministic fault rules (see the module docstring), and a log of every call. Thread-safe."""

    LOG_SIZE = 10_000

    def __init__(self, rules: Iterable[FaultRule | Mapping[str, Any]] = (), seed: int = 0):
        self.rules = tuple(r if isinstance(r, FaultRule) else FaultRule.of(r) for r in rules)
        self.seed = int(seed)
        self._lock = threading.Lock()
        self._seen = [0] * len(self.rules)  # calls each rule matched
        self._picked = [0] * len(self.rules)  # calls each rule chose (what `times` caps)
        self._fired = [0] * len(self.rules)  # times each rule was applied (a drop chosen for a call that
        #                                      then failed never fires: there is no response to lose)
        self._log: collections.deque[dict] = collections.deque(maxlen=self.LOG_SIZE)
        self._calls = 0

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any] | None) -> "ScheduledFaults":
        """From the JSON form {"seed": N, "rules": [...]}; FaultSpecError says what is wrong."""
        spec = spec or {}
        if not isinstance(spec, Mapping):
            raise FaultSpecError('a fault schedule is a JSON object like {"seed": 1, "rules": [...]}')
        unknown = set(spec) - {"seed", "rules"}
        if unknown:
            raise FaultSpecError(f"fault schedule: unknown key(s) {sorted(unknown)}; known: ['rules', 'seed']")
        rules = spec.get("rules", [])
        if not isinstance(rules, list):
            raise FaultSpecError("fault schedule: rules is a list of rule objects")
        try:
            seed = int(spec.get("seed", 0))
        except (TypeError, ValueError):
            raise FaultSpecError(f"fault schedule: seed must be an integer; got {spec.get('seed')!r}") from None
        return cls([FaultRule.of(rule) for rule in rules], seed=seed)

    def continuing(self, previous: "Faults") -> "ScheduledFaults":
        """Take over the call log (and its numbering) of the schedule this one replaces."""
        if isinstance(previous, ScheduledFaults):
            with previous._lock:
                self._log, self._calls = previous._log, previous._calls
        return self

    def spec(self) -> dict[str, Any]:
        return {"seed": self.seed, "rules": [rule.to_dict() for rule in self.rules]}

    def state(self) -> dict[str, Any]:
        """The schedule with per-rule counters and the call count (what the admin interface answers)."""
        with self._lock:
            rules = [{**rule.to_dict(), "seen": self._seen[i], "fired": self._fired[i]}
                     for i, rule in enumerate(self.rules)]
            return {"seed": self.seed, "rules": rules, "calls": self._calls}

    def log(self, since: int = 0) -> list[dict]:
        """Calls with sequence number > `since`: seq, operation, account, token, request_id, faults."""
        with self._lock:
            return [dict(entry, faults=list(entry["faults"])) for entry in self._log if entry["seq"] > since]

    def fired(self, kind: str | None = None) -> int:
        with self._lock:
            return sum(n for rule, n in zip(self.rules, self._fired) if kind is None or rule.kind == kind)

    # -- the seam ------------------------------------------------------------------------------------------
    def before(self, call: Call, backend: Backend) -> None:
        token = backend.token_of(call)
        with self._lock:
            self._calls += 1
            entry = {"seq": self._calls, "operation": call.operation, "account": call.account, "token": token,
                     "request_id": call.request_id, "faults": []}
            self._log.append(entry)
            picked = self._pick(call, token, inflight=False)
        # The plan travels with the call: a call that fails midway never reaches the later phases, and one
        # in flight while the schedule is replaced still ends as its own schedule said.
        call.fault_plan = (self, entry, picked)
        self._apply(call, "before")

    def during(self, call: Call, backend: Backend) -> None:
        plan = getattr(call, "fault_plan", None)
        if plan is not None:
            owner, entry, picked = plan
            with owner._lock:
                call.fault_plan = (owner, entry, picked + owner._pick(call, entry["token"], inflight=True))
        self._apply(call, "inflight")

    def _pick(self, call: Call, token: str | None, *, inflight: bool) -> list[tuple[int, FaultRule]]:
        """The rules (of the in-flight phase, or of the others) that choose `call`; the lock is held. A rule of
        the in-flight phase sees a call when it gets in flight, in the order calls do: "hold the first" then
        holds the one that won the token, however the calls were ordered on arrival (a slower validation, a
        thread scheduled late); a call replayed or refused before executing is not seen."""
        picked = []
        for index, rule in enumerate(self.rules):
            if (rule.phase == "inflight") != inflight or not rule.matches(call.operation, call.account, token):
                continue
            self._seen[index] += 1
            # Counted when chosen, so concurrent calls cannot overrun `times`.
            if rule.times is not None and self._picked[index] >= rule.times:
                continue
            if rule.selects(self._seen[index], self.seed, index):
                picked.append((index, rule))
                self._picked[index] += 1
        return picked

    def after(self, call: Call, backend: Backend, result: dict[str, Any]) -> dict[str, Any]:
        self._apply(call, "after")
        return result

    def _apply(self, call: Call, phase: str) -> None:
        plan = getattr(call, "fault_plan", None)
        if plan is None:
            return
        owner, entry, picked = plan
        chosen = [(index, rule) for index, rule in picked if rule.phase == phase]
        for index, rule in chosen:
            if rule.kind == "latency":
                owner._note(entry, index, f"latency:{phase}")
                time.sleep(rule.seconds)
        for index, rule in chosen:
            if rule.kind == "throttle":
                owner._note(entry, index, "throttle")
                raise ThrottlingException("Rate exceeded (a fault injected by the emulator's schedule)")
            if rule.kind == "internal":
                owner._note(entry, index, f"internal:{phase}")
                raise InternalServerException(
                    f"The service failed (a fault injected by the emulator's schedule"
                    f"{', after the effect was committed' if phase == 'after' else ''}); retry after "
                    f"{rule.retry_after} seconds",
                    retry_after_seconds=rule.retry_after,
                )
            if rule.kind == "drop":
                owner._note(entry, index, "drop")
                raise DropResponse(rule.seconds)

    def _note(self, entry: dict, index: int, fault: str) -> None:
        with self._lock:
            self._fired[index] += 1
            entry.setdefault("faults", []).append(fault)
