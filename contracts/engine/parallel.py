"""One run in several processes: CI shards, pytest-xdist workers, and the one Results their parts make.

- Shards: `--shard i/n` keeps the tests of part i. A test's key is its module and name with its parameters
  (`contracts.suite.test_stateless::test_valid_requests[CreateInvoiceUnit]`): the same on every machine whatever
  the install path. The parts are balanced by each test's measured cost (`partition`: heaviest first, to the
  lightest part), so both idempotency machines never land in one part. Each test draws from its own seed
  (Hypothesis seeds every test alike from `--seed`), so a test finds the same in any part.
- Workers: each xdist worker runs some tests against its own target and sends its Results to the controller as
  `Results.to_state()` JSON; the controller merges them (`Results.merge`) and alone writes the reports.
- A shared target (an endpoint, a real account) is one state for every worker. Most tests only look at what they
  made, but some read or change the whole account: the idempotency machines compare List with their model, the
  pagination test compares two listings, the fault tests set the server's fault schedule and move its clock.
  Those take `SharedTargetLock` exclusively; the other tests take it shared.
"""

from __future__ import annotations

import dataclasses
import fcntl
import hashlib
import json
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterable, Iterator

from contracts.engine.results import Results
from contracts.options import RunOptions, parse_shard

STATE_FILE = "results.state.json"  # beside results.json: what `merge` reads
STATE_FORMAT = "invoicing-contracts results state"

# Tests that read or change the whole of a shared target: (module, test function) -> why.
EXCLUSIVE_TESTS = {
    ("contracts.suite.test_idempotency", "test_idempotency"):
        "its invariant compares List with the machine's model: another worker's resources would be extra",
    ("contracts.suite.test_idempotency", "test_idempotency_script"): "the same machine, scripted",
    ("contracts.suite.test_reads", "test_pagination_shows_each_item_once"):
        "compares two listings of the whole account: another worker's changes would differ between them",
    ("contracts.suite.test_faults", "*"):
        "sets the target's fault schedule and moves its clock, which every caller shares",
}


# ------------------------------------------------------------------------------------------------------ shards


# Seconds one test of each function takes at the ci profile against the emulator (`pytest --pyargs contracts.suite
# --profile ci --durations=0`, averaged per function, 2026-12-06): weights that balance the parts, not limits.
COSTS = {
    "test_idempotency": 10.0,  # a state machine: a third of a ci run each
    "test_as_of_reads_the_past": 2.2,
    "test_concurrent_duplicates": 1.2,
    "test_idempotency_script": 0.7,
    "test_lost_response": 0.4,
    "test_coverage_edges": 0.3,
    "test_coverage_violations": 0.1,
    "test_invalid_requests": 0.3,
    "test_fault_refusal_does_not_poison": 0.2,
    "test_valid_requests": 0.2,
}
DEFAULT_COST = 0.1


@dataclasses.dataclass(frozen=True)
class Shard:
    index: int  # 1-based
    count: int

    @classmethod
    def parse(cls, value: str) -> "Shard":
        return cls(*parse_shard(value))

    def owned(self, keys: Iterable[str]) -> set[str]:
        """The keys of this part, among all the test keys the run collected."""
        return {key for key, part in partition(keys, self.count).items() if part == self.index}

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def cost_of(key: str) -> float:
    function = key.split("::", 1)[-1].split("[", 1)[0]
    return COSTS.get(function, DEFAULT_COST)


def partition(keys: Iterable[str], count: int) -> dict[str, int]:
    """Each test key's part (1..count): the heaviest test first, each to the part with the least cost so far
    (longest processing time first), ties by the key's SHA-256 (Python's `hash` is salted per process). Every
    machine that collected the same tests (the same options) computes the same parts."""
    loads = [0.0] * count
    parts: dict[str, int] = {}
    for key in sorted(set(keys), key=lambda k: (-cost_of(k), hashlib.sha256(k.encode()).digest())):
        lightest = min(range(count), key=lambda i: (loads[i], i))
        loads[lightest] += cost_of(key)
        parts[key] = lightest + 1
    return parts


def item_key(module: str, name: str) -> str:
    """A test's key: its module and its name with parameters (the operation, kind or list it runs on)."""
    return f"{module}::{name}"


def exclusive(module: str, function: str) -> bool:
    return (module, function) in EXCLUSIVE_TESTS or (module, "*") in EXCLUSIVE_TESTS


# --------------------------------------------------------------------------------------------- the shared lock


class SharedTargetLock:
    """A readers-writer lock between the worker processes of one run (flock on two files in `directory`).

    Exclusive holders wait for the shared ones to finish and keep new ones out (the turnstile), so a whole-account
    test is not starved by a stream of short ones."""

    def __init__(self, directory: str | os.PathLike):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self._turnstile = self.directory / "turnstile.lock"
        self._room = self.directory / "room.lock"

    @contextmanager
    def hold(self, exclusive: bool) -> Iterator[None]:
        with open(self._turnstile, "a") as turnstile, open(self._room, "a") as room:
            fcntl.flock(turnstile, fcntl.LOCK_EX)
            try:
                if exclusive:
                    fcntl.flock(room, fcntl.LOCK_EX)  # keep the turnstile: no new shared holder gets in
                else:
                    fcntl.flock(turnstile, fcntl.LOCK_UN)
                    fcntl.flock(room, fcntl.LOCK_SH)
                yield
            finally:
                fcntl.flock(room, fcntl.LOCK_UN)
                fcntl.flock(turnstile, fcntl.LOCK_UN)


# ---------------------------------------------------------------------------------- options and results in transit


def options_to_json(options: RunOptions) -> str:
    return json.dumps(dataclasses.asdict(options))


def options_from_json(text: str) -> RunOptions:
    values = json.loads(text)
    for field in dataclasses.fields(RunOptions):
        if isinstance(values.get(field.name), list):
            values[field.name] = tuple(values[field.name])
    return RunOptions(**values).validated()


def results_to_json(results: Results) -> str:
    """A worker's Results for the controller (already redacted: text from targets is scrubbed where it enters)."""
    return json.dumps(results.to_state(), default=str)


def results_from_json(text: str) -> Results:
    return Results.from_state(json.loads(text))


def write_state(results: Results, report_dir: Path, *, options: RunOptions, pytest_exit: int) -> Path:
    """The lossless results of this run (or part of a run), next to its reports, for `merge`."""
    report_dir.mkdir(parents=True, exist_ok=True)
    path = report_dir / STATE_FILE
    document = {"format": STATE_FORMAT, "shard": options.shard, "seed": options.seed, "profile": options.profile,
                "target": options.target, "operations": list(options.selected_operations),
                "pytest_exit": int(pytest_exit), "results": results.to_state()}
    path.write_text(json.dumps(document, indent=1, default=str) + "\n")
    return path


def read_state(report_dir: Path) -> dict[str, Any]:
    path = Path(report_dir) / STATE_FILE
    try:
        document = json.loads(path.read_text())
    except FileNotFoundError:
        raise ValueError(f"{path} is missing: merge reads the report directories of `run` (any run writes it "
                         f"beside results.json)") from None
    except ValueError as error:
        raise ValueError(f"{path} is not JSON: {error}") from None
    if document.get("format") != STATE_FORMAT:
        raise ValueError(f"{path} is not an invoicing-contracts results state")
    return document


__all__ = [
    "Shard", "partition", "cost_of", "item_key", "exclusive", "EXCLUSIVE_TESTS", "SharedTargetLock", "STATE_FILE",
    "options_to_json", "options_from_json", "results_to_json", "results_from_json", "write_state", "read_state",
]
