"""One run in several processes: CI shards, pytest-xdist workers, and the one Results their parts make.

- Shards: `--shard i/n` keeps the tests whose key falls in part i. The key is the test's module and name with its
  parameters (`contracts.suite.test_stateless::test_valid_requests[CreateInvoiceUnit]`): the same on every
  machine whatever the install path, and hashed with SHA-256 (Python's `hash` is salted per process). Each test
  draws from its own seed (Hypothesis seeds every test alike from `--seed`), so a test finds the same in any part.
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
from typing import Any, Iterator

from contracts.engine.results import Results
from contracts.options import RunOptions, parse_shard

STATE_FILE = "results.state.json"  # beside results.json: what `merge` reads
STATE_FORMAT = "invoicing-contracts results state"

# Tests that read or change the whole of a shared target: (module, test function) -> why.
EXCLUSIVE_TESTS = {
    ("contracts.suite.test_idempotency", "test_idempotency"):
        "its invariant compares List with the machine's model: another worker's resources would be extra",
    ("contracts.suite.test_reads", "test_pagination_shows_each_item_once"):
        "compares two listings of the whole account: another worker's changes would differ between them",
    ("contracts.suite.test_faults", "*"):
        "sets the target's fault schedule and moves its clock, which every caller shares",
}


# ------------------------------------------------------------------------------------------------------ shards


@dataclasses.dataclass(frozen=True)
class Shard:
    index: int  # 1-based
    count: int

    @classmethod
    def parse(cls, value: str) -> "Shard":
        return cls(*parse_shard(value))

    def owns(self, key: str) -> bool:
        return shard_of(key, self.count) == self.index

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def shard_of(key: str, count: int) -> int:
    """The part (1..count) a test key belongs to: stable across processes, machines and Python versions."""
    digest = hashlib.sha256(key.encode()).digest()
    return int.from_bytes(digest[:8], "big") % count + 1


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
    "Shard", "shard_of", "item_key", "exclusive", "EXCLUSIVE_TESTS", "SharedTargetLock", "STATE_FILE",
    "options_to_json", "options_from_json", "results_to_json", "results_from_json", "write_state", "read_state",
]
