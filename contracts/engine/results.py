"""What a run found, as it runs: per operation x property, how many examples exercised its checks, and the
violations, errors and skips; the suite's observations of what the target did; the run's metadata.

The engine fills it; the reporters (contracts.reporting) read it.
"""

from __future__ import annotations

import threading
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from contracts.checks import PROPERTIES
from contracts.checks.registry import basis_of
from contracts.model.redaction import REDACTOR

VERDICTS = ("violated", "error", "diverged", "held", "not run")


@dataclass
class Cell:
    """One operation x property: how many examples ran its checks, and what went wrong."""

    examples: int = 0  # examples (state-machine steps) in which the property's checks ran
    checks_run: int = 0
    passed: int = 0
    last_unit: int = -1
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
        if self.examples:
            return "held"
        return "not run"


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

    def record(self, operation: str, prop: str, check: str, passed: bool, unit: int) -> None:
        """One run of a check, in the example (or state-machine step) numbered `unit` of the run's trace."""
        with self._lock:
            cell = self.cells[(operation, prop)]
            cell.checks_run += 1
            cell.check_runs[check] += 1
            cell.passed += passed
            self._units.add(unit)
            if cell.last_unit != unit:
                cell.last_unit = unit
                cell.examples += 1

    def observe(self, operation: str, subject: str, outcome: str, count: int = 1) -> None:
        with self._lock:
            self.observations[operation][subject][outcome] += count

    def expect(self, operation: str, prop: str) -> None:
        """Make the cell exist (so a property never exercised shows as 'not run' instead of vanishing)."""
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
                lines.append(REDACTOR.scrub(f"{subject} {outcome} in {count} of {total} example"
                                            f"{'s' * (total != 1)}"))
        return lines

    def to_dict(self) -> dict[str, Any]:
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
                        "diverged": [{k: v for k, v in d.items() if k != "text"} for d in cell.diverged],
                        # The bases of what the cell checked (bases.json), and each check with its own.
                        "basis": _cell_bases(cell),
                        "checks": {name: {"runs": runs, "basis": basis_of(name)}
                                   for name, runs in sorted(cell.check_runs.items())},
                    }
                    for prop, cell in props.items()
                },
                "observed": self.observation_lines(op),
            }
        return {
            "meta": self.meta,
            "summary": self.summary(),
            "operations": operations,
        }

    def summary(self) -> dict[str, int]:
        verdicts = Counter(cell.verdict for cell in self.cells.values())
        return {
            "operations": len({op for op, _ in self.cells}),
            "checked": len(self.cells),
            "held": verdicts["held"],
            "violated": verdicts["violated"],
            "errors": verdicts["error"],
            "diverged": verdicts["diverged"],
            "not_run": verdicts["not run"],
            "violations": len(self.violations),
            "divergences": len(self.divergences),
            "examples_run": len(self._units),
            "checks_run": sum(cell.checks_run for cell in self.cells.values()),
        }


def _cell_bases(cell: Cell) -> list[str]:
    """The bases of the checks a cell ran and of its failures, strongest first (model, protocol, documented,
    assumed)."""
    found = {basis_of(name) for name in cell.check_runs}
    found |= {f.get("basis", "") for f in (*cell.violations, *cell.diverged)}
    return [b for b in ("model", "protocol", "documented", "assumed") if b in found]
