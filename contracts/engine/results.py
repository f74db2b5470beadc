"""What a run found, as it runs: per operation x property, how many examples ran its checks and how many of them
reached its subject (`exercised`), and the violations, errors and skips; the suite's observations of what the
target did; the run's metadata.

A property is held only where its subject was exercised: a check that ran without its subject (an output schema
with no successful response, a scope check whose control failed) proves nothing, so a cell without one
exercised example is `untested`, and fails the run unless the target declared it cannot be exercised there
(`add_skip`: faults off, expiry on a real account), which `excused` says.

It also keeps a few example exchanges per operation (`keep_exchange`, told of every call the suite makes): the
first accepted request and the first refusal per error code, masked and scrubbed as they are stored, bounded in
size, so the behaviour report can show what a request and its answer looked like.

The engine fills it; the reporters (contracts.reporting) read it.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import threading
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from contracts.checks import PROPERTIES
from contracts.checks.registry import basis_of
from contracts.model.redaction import REDACTOR

if TYPE_CHECKING:
    from contracts.calls import Call

VERDICTS = ("violated", "error", "diverged", "held", "untested")


@dataclass
class Cell:
    """One operation x property: how many examples ran its checks, and what went wrong."""

    examples: int = 0  # examples (state-machine steps) in which the property's checks ran
    checks_run: int = 0
    passed: int = 0
    last_unit: int = -1
    exercised: int = 0  # examples in which a check reached its subject (the only ones that can hold it)
    last_exercised_unit: int = -1
    # why checks ran without their subject ("no successful response", "the control failed too") -> how often
    not_exercised: Counter = field(default_factory=Counter)
    violations: list[dict] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    # Failed `assumed` expectations on a target other than the embedded emulator (docs/bases.md): what the
    # target did where AWS is silent, recorded with its evidence instead of failing the run.
    diverged: list[dict] = field(default_factory=list)
    check_runs: Counter = field(default_factory=Counter)  # check name -> runs

    @property
    def verdict(self) -> str:
        if self.violations:
            return "violated"
        if self.errors:
            return "error"
        if self.diverged:
            return "diverged"
        if self.exercised:
            return "held"
        return "untested"

    @property
    def excused(self) -> bool:
        """Untested because the target declared the property cannot be exercised there (the reasons: skipped)."""
        return self.verdict == "untested" and bool(self.skipped)

    def excuse(self, reason: str) -> None:
        if reason not in self.skipped:
            self.skipped.append(reason)


class Results:
    """Everything a run found; fed by the check registry, the suite's observations and pytest's reports."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.cells: dict[tuple[str, str], Cell] = defaultdict(Cell)
        # operation -> subject -> Counter(outcome): "replay with the same token" -> {"returned the same ...": 212}
        self.observations: dict[str, dict[str, Counter]] = defaultdict(lambda: defaultdict(Counter))
        self.meta: dict[str, Any] = {}
        self.tests: list[dict] = []  # pytest outcomes: nodeid, operation, outcome, duration
        self.connection_errors: list[str] = []
        self._units: set[int] = set()  # the examples (state-machine steps) in which any check ran
        # operation -> slot ("accepted", "refused ValidationException") -> an example exchange (keep_exchange)
        self.exchanges: dict[str, dict[str, dict]] = defaultdict(dict)

    def record(self, operation: str, prop: str, check: str, passed: bool, unit: int, *,
               exercised: bool = True, why: str = "") -> None:
        """One run of a check, in the example (or state-machine step) numbered `unit` of the run's trace;
        `exercised=False` (with `why`) when it ran without its subject."""
        with self._lock:
            cell = self.cells[(operation, prop)]
            cell.checks_run += 1
            cell.check_runs[check] += 1
            cell.passed += passed
            self._units.add(unit)
            if cell.last_unit != unit:
                cell.last_unit = unit
                cell.examples += 1
            if not exercised:
                cell.not_exercised[why or check] += 1
            elif cell.last_exercised_unit != unit:
                cell.last_exercised_unit = unit
                cell.exercised += 1

    def observe(self, operation: str, subject: str, outcome: str, count: int = 1) -> None:
        with self._lock:
            self.observations[operation][subject][REDACTOR.scrub(outcome)] += count  # the outcome: the target's words

    def keep_exchange(self, call: "Call") -> None:
        """Keep `call` as an example of its operation if it fills an empty slot: the first accepted exchange, the
        first refusal per error code (at most MAX_REFUSALS codes). Only answers of the target count: a request
        botocore refused, one the guard kept back or one that never reached the target shows nothing of it."""
        outcome = call.outcome
        if not outcome.sent or outcome.status is None or outcome.not_sent or outcome.connection_error:
            return
        slot = "accepted" if outcome.ok else f"refused {outcome.error_code or outcome.status}"
        with self._lock:
            if not _room_for(self.exchanges.get(call.operation, {}), slot):
                return
        example = _exchange(call, slot)  # masking and scrubbing outside the lock
        with self._lock:
            slots = self.exchanges[call.operation]
            if _room_for(slots, slot):
                slots[slot] = example

    def expect(self, operation: str, prop: str) -> None:
        """Make the cell exist (so a property never exercised shows as 'untested' instead of vanishing)."""
        with self._lock:
            self.cells[(operation, prop)]

    def add_violation(self, entry: dict) -> None:
        """A violation as the reporters wrote it down (contracts.reporting.failure_record): its operation,
        property, example, reproduction and text."""
        with self._lock:
            cell = self.cells[(entry["operation"], entry["property"])]
            if not any(v["text"] == entry["text"] for v in cell.violations):
                cell.violations.append(entry)

    def add_divergence(self, entry: dict) -> None:
        """An observed divergence (a failure record, as add_violation takes, of an `assumed` expectation)."""
        with self._lock:
            cell = self.cells[(entry["operation"], entry["property"])]
            if not any(d["text"] == entry["text"] for d in cell.diverged):
                cell.diverged.append(entry)

    def add_error(self, operation: str, prop: str, message: str) -> None:
        with self._lock:
            self.cells[(operation, prop)].errors.append(REDACTOR.scrub(message))

    def add_skip(self, operation: str, prop: str, reason: str) -> None:
        with self._lock:
            self.cells[(operation, prop)].skipped.append(reason)

    # -- views ---------------------------------------------------------------------------------------------
    @property
    def violations(self) -> list[dict]:
        return [v for cell in self.cells.values() for v in cell.violations]

    def excuse_unselected(self) -> None:
        """What the run declared it would not exercise: operations it did not select (a state machine's create
        and delete serve the selected ones), and, on a real account, what the guard or the resource budget kept
        back (`not_sent`). Untested there is reported with the reason, and does not fail the gate."""
        selected = self.meta.get("operations")
        kept_back = {k: v for k, v in (self.meta.get("not_sent") or {}).items() if v}
        denied = self.meta.get("access_denied") or {}  # operation -> the target's message (Suite.denial)
        with self._lock:
            for (op, _prop), cell in self.cells.items():
                if cell.verdict != "untested":
                    continue
                if selected and op not in selected:
                    cell.excuse("the operation was not selected (--operations); it ran only to serve others")
                elif op in denied:
                    cell.excuse(f"the target denied this identity access to {op} (AccessDeniedException: "
                                f"{denied[op]})")
                elif kept_back:
                    cell.excuse("the real-account guard or resource budget kept requests back ("
                                + ", ".join(f"{n} {by}" for by, n in sorted(kept_back.items())) + ")")

    def untested(self, *, excused: bool) -> list[tuple[str, str, Cell]]:
        """The untested cells (operation, property, cell): those the target excused, or those it did not."""
        self.excuse_unselected()
        return [(op, prop, cell) for (op, prop), cell in sorted(self.cells.items())
                if cell.verdict == "untested" and cell.excused == excused]

    @property
    def divergences(self) -> list[dict]:
        return [d for cell in self.cells.values() for d in cell.diverged]

    @property
    def errors(self) -> list[str]:
        return [e for cell in self.cells.values() for e in cell.errors]

    def operations(self) -> list[str]:
        return sorted({op for op, _ in self.cells} | set(self.observations))

    def by_operation(self) -> dict[str, dict[str, Cell]]:
        out: dict[str, dict[str, Cell]] = defaultdict(dict)
        for (op, prop), cell in sorted(self.cells.items()):
            out[op][prop] = cell
        return out

    def observation_lines(self, operation: str) -> list[str]:
        lines = []
        for subject, outcomes in sorted(self.observations.get(operation, {}).items()):
            total = sum(outcomes.values())
            for outcome, count in outcomes.most_common():
                lines.append(f"{subject} {outcome} in {count} of {total} example{'s' * (total != 1)}")
        return lines

    def to_dict(self) -> dict[str, Any]:
        self.excuse_unselected()
        operations = {}
        for op, props in self.by_operation().items():
            operations[op] = {
                "properties": {
                    prop: {
                        "title": PROPERTIES[prop].label if prop in PROPERTIES else prop,
                        "examples_run": cell.examples,
                        "checks_run": cell.checks_run,
                        "verdict": cell.verdict,
                        "failures": [{k: v for k, v in f.items() if k != "text"} for f in cell.violations],
                        "errors": cell.errors,
                        "skipped": cell.skipped,
                        "exercised": cell.exercised,
                        "excused": cell.excused,
                        "not_exercised": dict(cell.not_exercised.most_common()),
                        "diverged": [{k: v for k, v in d.items() if k != "text"} for d in cell.diverged],
                        # The bases of what the cell checked (bases.json), and each check with its own.
                        "basis": cell_bases(cell),
                        "checks": {name: {"runs": runs, "basis": basis_of(name)}
                                   for name, runs in sorted(cell.check_runs.items())},
                    }
                    for prop, cell in props.items()
                },
                "observed": self.observation_lines(op),
                "exchanges": list(self.exchanges.get(op, {}).values()),
            }
        return {
            "meta": self.meta,
            "summary": self.summary(),
            "operations": operations,
        }

    def summary(self) -> dict[str, int]:
        self.excuse_unselected()
        verdicts = Counter(cell.verdict for cell in self.cells.values())
        return {
            "operations": len({op for op, _ in self.cells}),
            "checked": len(self.cells),
            "held": verdicts["held"],
            "violated": verdicts["violated"],
            "errors": verdicts["error"],
            "not_run": verdicts["untested"],  # the old name, kept for readers of results.json
            "untested": sum(cell.verdict == "untested" and not cell.excused for cell in self.cells.values()),
            "untested_excused": sum(cell.excused for cell in self.cells.values()),
            "diverged": verdicts["diverged"],
            "violations": len(self.violations),
            "divergences": len(self.divergences),
            "examples_run": len(self._units),
            "checks_run": sum(cell.checks_run for cell in self.cells.values()),
        }



    # -- across processes: parallel workers and CI shards (contracts.engine.parallel) --------------------------
    # to_dict() above is the report's shape (results.json): it drops what the reports re-derive (a violation's
    # text, the observation counts, the example numbers). to_state() keeps everything, so that results found in
    # several processes can be merged into the Results one process would have found.
    # 2: cells carry what exercised their subject; 3: divergences and runs per check; 4: example exchanges
    STATE_VERSION = 4

    def to_state(self) -> dict[str, Any]:
        """Everything this Results holds, as JSON-able data (`from_state` reads it back)."""
        with self._lock:
            return {
                "version": self.STATE_VERSION,
                "cells": [{"operation": op, "property": prop, "examples": c.examples, "checks_run": c.checks_run,
                           "passed": c.passed, "exercised": c.exercised, "not_exercised": dict(c.not_exercised),
                           "check_runs": dict(c.check_runs), "diverged": list(c.diverged),
                           "violations": list(c.violations), "errors": list(c.errors),
                           "skipped": list(c.skipped)} for (op, prop), c in self.cells.items()],
                "observations": {op: {subject: dict(counts) for subject, counts in subjects.items()}
                                 for op, subjects in self.observations.items()},
                "exchanges": {op: dict(slots) for op, slots in self.exchanges.items()},
                "meta": self.meta,
                "tests": list(self.tests),
                "connection_errors": list(self.connection_errors),
                # Only how many: example numbers are per process (each worker's trace counts from 0).
                "examples_run": len(self._units),
            }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> "Results":
        if state.get("version") != cls.STATE_VERSION:
            raise ValueError(f"results state version {state.get('version')!r}, expected {cls.STATE_VERSION}")
        results = cls()
        for c in state["cells"]:
            results.cells[(c["operation"], c["property"])] = Cell(
                examples=c["examples"], checks_run=c["checks_run"], passed=c["passed"], exercised=c["exercised"],
                not_exercised=Counter(c["not_exercised"]), check_runs=Counter(c["check_runs"]),
                diverged=list(c["diverged"]), violations=list(c["violations"]),
                errors=list(c["errors"]), skipped=list(c["skipped"]))
        for op, subjects in state["observations"].items():
            for subject, counts in subjects.items():
                results.observations[op][subject].update(counts)
        for op, slots in state["exchanges"].items():
            results.exchanges[op].update(slots)
        results.meta = dict(state["meta"])
        results.tests = list(state["tests"])
        results.connection_errors = list(state["connection_errors"])
        results._units = set(range(state["examples_run"]))
        return results

    def merge(self, other: "Results") -> "Results":
        """Add what `other` found (another worker's or shard's part of the same run) to this Results.

        Counts add up; a violation found twice (the same text) is kept once, as `add_violation` does; a skip
        reason is kept once per cell (each worker sets up the module fixtures that give it). `meta` merges by
        `merge_meta`: this Results' values win, except for the figures that add up. Example exchanges: this
        Results' slots stand, the other's fill the empty ones (in its order, up to the same bound)."""
        with self._lock:
            for key, theirs in other.cells.items():
                mine = self.cells[key]
                mine.examples += theirs.examples
                mine.checks_run += theirs.checks_run
                mine.passed += theirs.passed
                mine.exercised += theirs.exercised
                mine.not_exercised.update(theirs.not_exercised)
                mine.check_runs.update(theirs.check_runs)
                for entry in theirs.diverged:
                    if not any(d["text"] == entry["text"] for d in mine.diverged):
                        mine.diverged.append(entry)
                for entry in theirs.violations:
                    if not any(v["text"] == entry["text"] for v in mine.violations):
                        mine.violations.append(entry)
                mine.errors.extend(theirs.errors)
                mine.skipped.extend(r for r in theirs.skipped if r not in mine.skipped)
            for op, subjects in other.observations.items():
                for subject, counts in subjects.items():
                    self.observations[op][subject].update(counts)
            for op, slots in other.exchanges.items():
                mine_slots = self.exchanges[op]
                for slot, example in slots.items():
                    if _room_for(mine_slots, slot):
                        mine_slots[slot] = example
            self.tests.extend(other.tests)
            self.connection_errors.extend(other.connection_errors)
            start = max(self._units, default=-1) + 1  # fresh numbers: the other process counted from 0 too
            self._units.update(range(start, start + len(other._units)))
            self.meta = merge_meta(self.meta, other.meta)
        return self


# Meta entries that are figures of the work done, so the parts of a run add up (the rest describes the run, and
# the first part's value stands). Inside them numbers add up, except the maxima; lists join; dicts merge alike.
ADDITIVE_META = frozenset({"faults", "not_sent", "access_denied", "reads_repeated_for_consistency",
                           "cleanup_failed", "real_account"})
MAXIMUM_META = frozenset({"largest_batch"})


def merge_meta(mine: dict[str, Any], theirs: dict[str, Any]) -> dict[str, Any]:
    out = dict(mine)
    for key, value in theirs.items():
        if key not in out:
            out[key] = value
        elif key in ADDITIVE_META:
            out[key] = _add(key, out[key], value)
    return out


def _add(key: str, a: Any, b: Any) -> Any:
    if isinstance(a, dict) and isinstance(b, dict):
        return {k: _add(k, a[k], b[k]) if k in a and k in b else a.get(k, b.get(k)) for k in {**a, **b}}
    if isinstance(a, bool) or isinstance(b, bool):
        return bool(a) or bool(b)
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return max(a, b) if key in MAXIMUM_META else a + b
    if isinstance(a, list) and isinstance(b, list):
        return a + b
    return a if a not in (None, "") else b


def cell_bases(cell: Cell) -> list[str]:
    """The bases of the checks a cell ran and of its failures, strongest first (model, protocol, documented,
    assumed)."""
    found = {basis_of(name) for name in cell.check_runs}
    found |= {f.get("basis", "") for f in (*cell.violations, *cell.diverged)}
    return [b for b in ("model", "protocol", "documented", "assumed") if b in found]


# -- example exchanges (keep_exchange) ------------------------------------------------------------------------
MAX_REFUSALS = 3  # refusal exchanges per operation (one per error code)
MAX_EXCHANGE_CHARS = 1500  # per request or response text: a listing can be long, an example need not be


def _room_for(slots: dict[str, dict], slot: str) -> bool:
    """Whether `slot` is empty and within the bound (one accepted, MAX_REFUSALS refusals)."""
    return slot not in slots and (slot == "accepted" or sum(s != "accepted" for s in slots) < MAX_REFUSALS)


def _exchange(call: "Call", slot: str) -> dict[str, Any]:
    """The exchange as the report shows it: sensitive members masked (one placeholder per distinct secret across
    request and response), then every string scrubbed of the secrets seen so far (a target may echo one in
    any member or message), as JSON text: long strings and lists shortened, the whole cut to MAX_EXCHANGE_CHARS."""
    outcome = call.outcome
    masks: dict[str, str] = {}
    request = _shortened(_scrubbed(REDACTOR.mask(call.params, masks)))
    if outcome.wire is not None:
        response = _json_text(_shortened(_scrubbed(REDACTOR.mask(outcome.wire, masks))))
    else:
        response = _bounded(REDACTOR.scrub(outcome.wire_text or outcome.error_message or ""))
    return {"outcome": "accepted" if slot == "accepted" else "refused", "operation": call.operation,
            "status": outcome.status, "error_code": outcome.error_code,
            "note": REDACTOR.scrub(call.note), "raw": call.raw, "validated": call.validate,
            "request": _json_text(request), "response": response}


def _scrubbed(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _scrubbed(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_scrubbed(v) for v in value]
    return REDACTOR.scrub(value) if isinstance(value, str) else value


LONG_STRING, LONG_LIST = 160, 8  # an example shows a long member's start, and says how much more there was


def _shortened(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _shortened(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        items = [_shortened(v) for v in value[:LONG_LIST]]
        return items + ([f"... {len(value) - LONG_LIST} more items"] if len(value) > LONG_LIST else [])
    if isinstance(value, str) and len(value) > LONG_STRING:
        return value[:LONG_STRING] + f"... ({len(value) - LONG_STRING} more characters)"
    return value


def _json_text(value: Any) -> str:
    return _bounded(json.dumps(value, indent=2, ensure_ascii=False, default=_json_default))


def _json_default(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(value).decode()
    return repr(value)


def _bounded(text: str) -> str:
    if len(text) <= MAX_EXCHANGE_CHARS:
        return text
    cut = text.rfind("\n", 0, MAX_EXCHANGE_CHARS)
    cut = cut if cut > 0 else MAX_EXCHANGE_CHARS
    return text[:cut] + f"\n... ({len(text) - cut} more characters)"
