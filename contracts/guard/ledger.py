"""The run's identity and its write-ahead ledger: what a real-account run created, durable across a SIGKILL.

Identity: every run has an id (`20260526T101500Z-ab12cd34`). Every resource it creates carries two tags,
`invoicing-contracts:run=<run id>` and `invoicing-contracts:token=<the create's ClientToken>`, and invoice
units it names start with `ict-ab12cd34-` (the 8 hex digits of the run id; unit names are at most 50
characters, so the prefix stays short). The token tag ties a resource to one ledger entry, which is how an
entry whose answer was lost (the run died between the call and its record) is found again.

Ledger: one JSON object per line, appended and fsync'd before the next call is made:
    {"kind": "run", "v": 1, "run_id", "account", "region", "target", "endpoint_url", "name_prefix", "at"}
    {"kind": "intent", "seq", "operation", "resource_type", "token", "name", "at"}   before a create is sent
    {"kind": "created", "seq", "arn", "at"}                                          after it succeeded
    {"kind": "refused", "seq", "error", "at"}        the service refused it: nothing was created
    {"kind": "absent", "seq", "at"}                  sweep looked for a lost answer's resource: none exists
    {"kind": "deleted", "arn", "by", "at"}           the run or a sweep deleted it (or found it gone)
    {"kind": "swept", "at"}                          a sweep left nothing of this run behind
A run killed mid-write leaves at most a torn last line, which `read` ignores. Only the fields above are written:
never request parameters, never error messages (either may carry a member the model marks sensitive).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

from contracts.options import DEFAULT_LEDGER_DIR, DEFAULT_NAME_PREFIX  # re-exported for the ledger's callers

LEDGER_VERSION = 1

TAG_RUN = "invoicing-contracts:run"
TAG_TOKEN = "invoicing-contracts:token"

_RUN_ID = re.compile(r"(?P<stamp>\d{8}T\d{6}Z)-(?P<short>[0-9a-f]{8})")
_PREFIX = re.compile(r"[A-Za-z0-9]{1,12}")


class LedgerError(RuntimeError):
    """A ledger file that cannot be read as one (the message names the file and line)."""


class EmptyLedger(LedgerError):
    """A ledger with no complete run header: its run was killed before its first record, so (records being
    written before the calls they announce) it sent no create. Nothing to sweep."""


# --------------------------------------------------------------------------------------------- run identity


@dataclass(frozen=True)
class RunIdentity:
    """Who a resource belongs to: the run id, the name prefix of its invoice units, its tags."""

    run_id: str
    prefix: str = DEFAULT_NAME_PREFIX

    def __post_init__(self):
        if not _RUN_ID.fullmatch(self.run_id):
            raise ValueError(f"run id {self.run_id!r} is not of the form 20260526T101500Z-ab12cd34")
        if not _PREFIX.fullmatch(self.prefix):
            raise ValueError(f"name prefix {self.prefix!r} must be 1-12 letters or digits")

    @classmethod
    def new(cls, prefix: str = DEFAULT_NAME_PREFIX, now: float | None = None) -> "RunIdentity":
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(time.time() if now is None else now))
        return cls(f"{stamp}-{secrets.token_hex(4)}", prefix)

    @property
    def short(self) -> str:
        return _RUN_ID.fullmatch(self.run_id).group("short")

    @property
    def name_prefix(self) -> str:
        """Invoice unit names of this run start with this (model: letters, digits, spaces, '-', '_')."""
        return f"{self.prefix}-{self.short}-"

    def unit_name(self, suffix: str) -> str:
        """A unit name of this run, cut to the model's 50 characters."""
        return (self.name_prefix + suffix)[:50].rstrip(" ")

    def tags(self, token: str) -> list[dict[str, str]]:
        """The ResourceTags every resource this run creates carries (in the wire/boto3 form)."""
        return [{"Key": TAG_RUN, "Value": self.run_id}, {"Key": TAG_TOKEN, "Value": token}]

    def owns(self, tags: dict[str, str]) -> bool:
        return tags.get(TAG_RUN) == self.run_id


def name_prefix_pattern(prefix: str = DEFAULT_NAME_PREFIX) -> re.Pattern:
    """Names any run with `prefix` gives its invoice units (for a sweep by tags across runs)."""
    return re.compile(rf"{re.escape(prefix)}-[0-9a-f]{{8}}-")


def run_id_short(run_id: str) -> str:
    match = _RUN_ID.fullmatch(run_id)
    if not match:
        raise ValueError(f"run id {run_id!r} is not of the form 20260526T101500Z-ab12cd34")
    return match.group("short")


# ------------------------------------------------------------------------------------------------- writing


class Ledger:
    """Append-only, fsync'd JSON lines. Thread-safe: the suite's concurrent-duplicate tests call from threads."""

    def __init__(self, path: str | os.PathLike, *, identity: RunIdentity | None = None):
        self.path = Path(path)
        self.identity = identity
        self._lock = threading.Lock()
        self._seq = 0
        self._fd: int | None = None

    @classmethod
    def create(
        cls,
        directory: str | os.PathLike,
        identity: RunIdentity,
        *,
        account: str,
        region: str | None,
        target: str,
        endpoint_url: str | None = None,
    ) -> "Ledger":
        """A new ledger `<directory>/<run id>.jsonl` with its header written and on disk."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        ledger = cls(directory / f"{identity.run_id}.jsonl", identity=identity)
        if ledger.path.exists():
            raise LedgerError(f"{ledger.path} already exists; a run id is used once")
        ledger._append(
            {
                "kind": "run",
                "v": LEDGER_VERSION,
                "run_id": identity.run_id,
                "name_prefix": identity.name_prefix,
                "account": account,
                "region": region,
                "target": target,
                "endpoint_url": endpoint_url,
            }
        )
        _fsync_directory(directory)  # the new file's directory entry must survive a crash too
        return ledger

    @classmethod
    def reopen(cls, path: str | os.PathLike) -> "Ledger":
        """Append to an existing ledger (a sweep records what it removed). A torn last line is cut off first:
        its record never completed, so nothing acted on it (a create is sent only after its intent is on
        disk), and appending after it would merge two records into one unreadable line."""
        state = read(path)
        if state.torn_tail:
            raw = Path(path).read_bytes()
            with open(path, "r+b") as handle:
                handle.truncate(raw.rfind(b"\n") + 1)
                handle.flush()
                os.fsync(handle.fileno())
        ledger = cls(path, identity=RunIdentity(state.run_id, state.prefix))
        ledger._seq = max(state.entries, default=0)
        return ledger

    # -- records -------------------------------------------------------------------------------------------
    def intend(self, operation: str, token: str, *, resource_type: str, name: str | None = None) -> int:
        """Record a create about to be sent; returns the entry's seq. Written and fsync'd before returning."""
        with self._lock:
            self._seq += 1
            seq = self._seq
        record = {"kind": "intent", "seq": seq, "operation": operation, "resource_type": resource_type,
                  "token": _text(token, "token")}
        if name is not None:
            record["name"] = _text(name, "name")
        self._append(record)
        return seq

    def created(self, seq: int, arn: str) -> None:
        self._append({"kind": "created", "seq": seq, "arn": _text(arn, "arn")})

    def refused(self, seq: int, error_code: str) -> None:
        """The service answered the create with an error: nothing was created. Only the code is kept."""
        self._append({"kind": "refused", "seq": seq, "error": _text(error_code, "error code")})

    def absent(self, seq: int) -> None:
        self._append({"kind": "absent", "seq": seq})

    def deleted(self, arn: str, *, by: str) -> None:
        self._append({"kind": "deleted", "arn": _text(arn, "arn"), "by": by})

    def swept(self) -> None:
        self._append({"kind": "swept"})

    def close(self) -> None:
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None

    def _append(self, record: dict) -> None:
        record["at"] = round(time.time(), 3)
        line = (json.dumps(record, sort_keys=True, ensure_ascii=True) + "\n").encode()
        with self._lock:
            if self._fd is None:
                self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            os.write(self._fd, line)  # one write of a whole line: a kill tears at most this line
            os.fsync(self._fd)


def _text(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"ledger {what} must be a string, got {type(value).__name__}")
    return value


def _fsync_directory(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# ------------------------------------------------------------------------------------------------- reading


@dataclass
class Entry:
    """One create the run intended, and what became of it."""

    seq: int
    operation: str
    resource_type: str
    token: str
    name: str | None = None
    arn: str | None = None
    outcome: str = "pending"  # pending | created | refused | absent
    at: float = 0.0


@dataclass
class LedgerState:
    path: Path
    run_id: str
    prefix: str
    account: str
    region: str | None
    target: str
    endpoint_url: str | None
    entries: dict[int, Entry] = field(default_factory=dict)
    deleted: set[str] = field(default_factory=set)
    swept: bool = False
    torn_tail: bool = False

    @property
    def identity(self) -> RunIdentity:
        return RunIdentity(self.run_id, self.prefix)

    def live(self) -> list[Entry]:
        """Entries that created a resource nobody has deleted yet."""
        return [e for e in self.entries.values() if e.outcome == "created" and e.arn not in self.deleted]

    def pending(self) -> list[Entry]:
        """Creates whose answer never reached the ledger: the resource may or may not exist."""
        return [e for e in self.entries.values() if e.outcome == "pending"]

    def created_arns(self) -> set[str]:
        return {e.arn for e in self.entries.values() if e.arn}

    @property
    def clean(self) -> bool:
        return not self.live() and not self.pending()


def read(path: str | os.PathLike) -> LedgerState:
    """Parse a ledger. A torn last line (the writer was killed mid-write) is ignored; anything else is an error."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise LedgerError(f"cannot read ledger {path}: {error.strerror}") from None
    lines = raw.split(b"\n")
    state: LedgerState | None = None
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            if number >= len(lines) - 1 and not raw.endswith(b"\n"):
                if state is not None:
                    state.torn_tail = True
                continue
            raise LedgerError(f"{path}:{number} is not a JSON object; a ledger is only ever appended to") from None
        state = _apply(state, record, path, number)
    if state is None:
        if not raw.strip() or b"\n" not in raw.rstrip(b"\n") and not raw.endswith(b"\n"):
            raise EmptyLedger(f"{path} has no complete record: its run stopped before writing one, so it created "
                              f"nothing")
        raise LedgerError(f"{path} has no run header; it is not a ledger of invoicing-contracts")
    return state


def _apply(state: LedgerState | None, record: dict, path: Path, number: int) -> LedgerState:
    kind = record.get("kind")
    if state is None:
        if kind != "run":
            raise LedgerError(f"{path}:{number}: the first record must be the run header, not {kind!r}")
        if record.get("v") != LEDGER_VERSION:
            raise LedgerError(f"{path}: ledger version {record.get('v')!r}; this tool reads {LEDGER_VERSION}")
        prefix = record["name_prefix"].split("-", 1)[0]
        return LedgerState(path, record["run_id"], prefix, record["account"], record.get("region"),
                           record.get("target", "aws"), record.get("endpoint_url"))
    if kind == "intent":
        state.entries[record["seq"]] = Entry(record["seq"], record["operation"], record["resource_type"],
                                             record["token"], record.get("name"), at=record.get("at", 0.0))
    elif kind in ("created", "refused", "absent"):
        entry = state.entries.get(record["seq"])
        if entry is None:
            raise LedgerError(f"{path}:{number}: {kind} for entry {record['seq']}, which has no intent")
        entry.outcome = kind
        if kind == "created":
            entry.arn = record["arn"]
    elif kind == "deleted":
        state.deleted.add(record["arn"])
    elif kind == "swept":
        state.swept = True
    else:
        raise LedgerError(f"{path}:{number}: unknown record kind {kind!r}")
    return state


def ledgers_in(directory: str | os.PathLike) -> Iterator[Path]:
    """The ledger files in a directory, oldest run first (run ids sort by time)."""
    directory = Path(directory)
    if not directory.is_dir():
        return iter(())
    return iter(sorted(p for p in directory.glob("*.jsonl") if _RUN_ID.fullmatch(p.stem)))


def tags_dict(tags: Iterable[dict]) -> dict[str, str]:
    return {tag["Key"]: tag["Value"] for tag in tags}
