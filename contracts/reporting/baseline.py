"""Behaviour baselines: what a target did, per operation and property, as a stable, reviewable JSON file; and the
comparison of two of them (the `run --baseline` gate and the `parity` report).

A baseline holds classes of behaviour, never examples: "replay with the same token: returned the same
InvoiceUnitArn", "conflicting payload (same token): refused with ConflictException", "a replay past the token
window: ran again (Version went up by 1)". It is derived from the run's observations (`Results.observations`,
which the suite records with `suite.observe`), normalised so that another run against the same target, with another
seed, writes the same bytes: counts, ARNs, tokens, batch sizes and version numbers are left out, and only the
observations listed in BEHAVIOURS are recorded. The rest are listed in NOT_RECORDED with the reason; an
observation in neither is printed by the run as "left out" (and refused by test_baseline_roundtrip.py), so a new
`suite.observe` is never silently left out of the gate.

Whether a behaviour is observed at all can depend on the draw: the state machines reach a conflict on a rarely
drawn operation in most runs, not in every one (docs/baselines.md gives the figures). A behaviour recorded on one
side only is therefore reported as "not observed", never as a change; a change is a behaviour both runs observed,
answered differently.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Mapping

from contracts.exit_codes import UsageError
from contracts.model.redaction import REDACTOR

FORMAT = "invoicing-contracts behaviour baseline"
VERSION = 1

Classes = list[str]  # the classes of behaviour observed, sorted


# ------------------------------------------------------------------------------------------- normalisation

_ARN = re.compile(r"arn:[A-Za-z0-9-]*:[^\s,;)'\"]+")
_VERSION = re.compile(r"Version went from (\d+) to (\d+)")
_COUNTED = re.compile(r" x\d+\b")  # "ConflictException x31": how many of a batch is timing, not behaviour


def _scrub(text: str) -> str:
    """Example-specific values out: ARNs (and, through the redactor, any secret seen)."""
    text = _VERSION.sub(lambda m: f"Version went up by {int(m[2]) - int(m[1])}", text)
    return REDACTOR.scrub(_ARN.sub("<arn>", text))


def _as_observed(outcomes: Iterable[str]) -> Classes | None:
    return sorted({_scrub(o) for o in outcomes}) or None


def _answered(outcomes: Iterable[str]) -> Classes | None:
    """What the target answered; a request botocore refused or rewrote, or the real-account guard kept back,
    says nothing about the target."""
    skip = ("refused by botocore", "sent valid", "not sent")
    return _as_observed(o for o in outcomes if not o.startswith(skip))


def _valid(outcomes: Iterable[str]) -> Classes | None:
    """Valid requests: whether they are accepted at all, else what every one got. Which refusals the state
    explains (a receiver outside the organisation, mutually exclusive members) depends on the drawn requests;
    the valid-requests contract judges each of them."""
    outcomes = set(outcomes)
    return ["accepted"] if "accepted" in outcomes else _answered(outcomes)


def _autofill(outcomes: Iterable[str]) -> Classes | None:
    """Two calls without a token: only the pairs whose first call was accepted show what autofill does (a first
    refusal is the drawn request's, e.g. a receiver outside the organisation)."""
    return _as_observed(o for o in outcomes if o == "were independent" or o.startswith("answered ok,"))


def _concurrent(outcomes: Iterable[str]) -> Classes | None:
    """A batch whose first request is held in flight: the kinds of answer the overlapping requests got and the
    number of effects, not how many of each (batch sizes differ by profile)."""
    return _as_observed(_COUNTED.sub("", o) for o in outcomes)


def _effects_only(outcomes: Iterable[str]) -> Classes | None:
    """A batch sent at once without a hold: whether the requests overlap is the machine's timing (a loaded CI
    runner makes some refusals in flight, an idle one none), so only the number of effects is behaviour."""
    return _as_observed(o.rpartition("; ")[2] for o in outcomes)


@dataclass(frozen=True)
class Behaviour:
    """Observations of one subject, recorded under a property as one named behaviour."""

    subject: str  # a regular expression the observation's subject must match in full
    prop: str  # the property id; "replay" picks delete-replay for delete operations, else replay-equivalence
    name: str  # the behaviour's name in the baseline (may use the subject's groups: {0}, {1}...)
    classify: Callable[[Iterable[str]], Classes | None] = _as_observed
    window: bool = False  # the subject names the token window: record it as a behaviour of its own
    under: int = 0  # record it under the operation the subject's group names (0: the observing operation)

    def matches(self, subject: str) -> re.Match | None:
        return re.fullmatch(self.subject, subject)


# Every behaviour the baseline records. Order does not matter; the file is sorted.
BEHAVIOURS: tuple[Behaviour, ...] = (
    # -- stateless (contracts/suite/test_stateless.py)
    Behaviour(r"valid requests were", "valid-requests", "valid requests", _valid),
    # The coverage phase (contracts/suite/test_coverage.py): fixed requests, the same in every run.
    Behaviour(r"coverage-phase edge requests were", "valid-requests", "edge requests (lengths, counts, ranges, "
              "enum values at their bounds)", _valid),
    Behaviour(r"the coverage phase's request aimed at known identifiers was", "valid-requests",
              "a request aimed at identifiers that exist", _valid),
    # One behaviour for both layers and every constraint: which constraints a run violates is the draw's; what
    # the target answers an invalid request is the behaviour (a lenient target adds "accepted" here).
    Behaviour(r"invalid requests \((?:client|server) layer, [^)]*\)(?: \(sent as raw JSON\))? were",
              "invalid-requests", "invalid requests (sent without client validation)", _answered),
    Behaviour(r"ValidationException's fieldList, for the violated member", "invalid-requests",
              "ValidationException's fieldList names the violated member"),
    # -- the state machines (contracts/suite/test_idempotency.py)
    Behaviour(r"replay with the same token", "replay", "replay with the same token"),
    Behaviour(r"conflicting payload \(same token\) was", "conflict-rejection", "conflicting payload (same token)",
              _answered),
    Behaviour(r"conflicting payload \(same token\): the error's reason", "conflict-rejection",
              "conflicting payload (same token): the error's reason"),
    Behaviour(r"the same payload with a new token", "independence", "the same payload with a new token"),
    Behaviour(r"two calls without a token", "autofill", "two calls without a token", _autofill),
    Behaviour(r"a new delete of a deleted resource", "delete-replay", "a new delete of a deleted resource"),
    Behaviour(r"a replayed create after the delete", "delete-replay", "a replayed create after the delete"),
    # Under the operation whose token is reused: whichever other operation the machine drew reuses it (each of them
    # alone is drawn too rarely to be observed in every run), and token scope is the token store's, not theirs.
    Behaviour(r"a token (\w+) had used", "scope", "its token, reused by another operation", under=1),
    Behaviour(r"the same token from another account inside the organisation", "scope",
              "the same token from another account inside the organisation"),
    Behaviour(r"the same token from another account outside the organisation", "scope",
              "the same token from another account outside the organisation"),
    Behaviour(r"a token whose request was refused", "failure-does-not-poison",
              "a token whose request was refused by validation"),
    # -- reads (contracts/suite/test_reads.py): fixed probes, observed in every run that selects them
    Behaviour(r"paging with MaxResults=\d+", "state-matches-reads", "paging with a small MaxResults"),
    Behaviour(r"a read with AsOf before a change", "state-matches-reads", "a read with AsOf before a change"),
    Behaviour(r"filters of two types", "state-matches-reads", "filters of two types"),
    # -- faults (contracts/suite/test_faults.py): fixed probes, where the target can inject faults
    Behaviour(r"response lost \((.*)\), botocore retried", "lost-response", "response lost ({0}), botocore retried"),
    Behaviour(r"\d+ concurrent requests with one token, the first held in flight [\d.]+ s", "concurrent-duplicates",
              "concurrent requests with one token, the first held in flight", _concurrent),
    Behaviour(r"\d+ concurrent requests with one token", "concurrent-duplicates",
              "concurrent requests with one token, sent at once: effects", _effects_only),
    Behaviour(r"a token whose request was refused by an injected (.*)", "failure-does-not-poison",
              "a token whose request was refused by an injected {0}"),
    Behaviour(r"a replay past the token window \(([\d.]+) s\)", "expiry", "a replay past the token window",
              window=True),
    Behaviour(r"a different payload with an expired token", "expiry", "a different payload with an expired token"),
)

# Observations the baseline leaves out, and why (each is a regular expression matched in full).
NOT_RECORDED: dict[str, str] = {
    r"valid requests in the state machine were":
        "which refusals the state explains depends on the drawn state; the stateless 'valid requests' behaviour "
        "and the state-matches-reads invariant cover what the target does with valid requests",
    r"invalid requests labelled server-layer":
        "says the strategies mislabelled a violation, nothing about the target",
    r"ValidationException's fieldList":
        "superseded by 'ValidationException's fieldList, for the violated member', which counts an element of the "
        "member (a string sent where a list belongs is named as AccountIds[0]) as naming it",
}


# ------------------------------------------------------------------------------------------------ recording


def _property(behaviour: Behaviour, operation: str) -> str:
    if behaviour.prop != "replay":
        return behaviour.prop
    from contracts.packs.contract import load

    entry = load().operations.get(operation)
    return "delete-replay" if entry is not None and entry.effect == "delete" else "replay-equivalence"


def unaccounted(observations: Mapping[str, Mapping[str, object]]) -> list[tuple[str, str]]:
    """(operation, subject) of each observation neither recorded nor listed in NOT_RECORDED."""
    out = []
    for operation, subjects in sorted(observations.items()):
        for subject in sorted(subjects):
            if not any(b.matches(subject) for b in BEHAVIOURS) and \
                    not any(re.fullmatch(pattern, subject) for pattern in NOT_RECORDED):
                out.append((operation, subject))
    return out


def record(observations: Mapping[str, Mapping[str, Mapping[str, int]]]) -> dict:
    """The baseline document of a run's observations (operation -> subject -> outcome -> count)."""
    gathered: dict[tuple[str, str, str], tuple[Callable, set[str]]] = {}
    for operation, subjects in observations.items():
        for subject, outcomes in subjects.items():
            behaviour = next((b for b in BEHAVIOURS if b.matches(subject)), None)
            if behaviour is None:
                continue
            match = behaviour.matches(subject)
            owner = match[behaviour.under] if behaviour.under else operation
            prop = _property(behaviour, owner)
            if behaviour.window:  # measurable only where the target's clock can be moved
                gathered.setdefault((owner, prop, "the token window"), (_as_observed, set()))[1].add(
                    f"{float(match[1]):g} s")
            named = behaviour.name.format(*match.groups())
            # Several subjects may make one behaviour (batch sizes, violated constraints): their outcomes merge.
            gathered.setdefault((owner, prop, named), (behaviour.classify, set()))[1].update(
                o for o, n in outcomes.items() if n)
    operations: dict[str, dict[str, dict[str, Classes]]] = {}
    for (operation, prop, named), (classify, outcomes) in gathered.items():
        classes = classify(outcomes)
        if classes:
            operations.setdefault(operation, {}).setdefault(prop, {})[named] = classes
    return {"format": FORMAT, "version": VERSION, "operations": operations}


def dumps(document: dict) -> str:
    """Stable bytes: sorted keys, one class per line, a final newline (so a diff reads as a review)."""
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write(document: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dumps(document))


def load(path: str | Path) -> dict:
    """A baseline file, checked; UsageError saying what is wrong with it."""
    path = Path(path)
    try:
        document = json.loads(path.read_text())
    except OSError as error:
        raise UsageError(f"cannot read the baseline {path}: {error.strerror}") from None
    except ValueError as error:
        raise UsageError(f"the baseline {path} is not JSON: {error}") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise UsageError(f"{path} is not a behaviour baseline (no \"format\": \"{FORMAT}\"); write one with "
                         f"`invoicing-contracts run --record-baseline {path}`")
    if document.get("version") != VERSION:
        raise UsageError(f"the baseline {path} has version {document.get('version')!r}; this suite reads version "
                         f"{VERSION}: record it again")
    operations = document.get("operations")
    ok = isinstance(operations, dict) and all(
        isinstance(props, dict) and all(
            isinstance(behaviours, dict) and all(
                isinstance(classes, list) and all(isinstance(c, str) for c in classes)
                for classes in behaviours.values())
            for behaviours in props.values())
        for props in operations.values())
    if not ok:
        raise UsageError(f"the baseline {path} is damaged: \"operations\" must map operation -> property -> "
                         f"behaviour -> list of strings")
    return document


# ----------------------------------------------------------------------------------------------- comparison


@dataclass(frozen=True)
class Row:
    """One behaviour of one operation and property, on both sides (None: not observed on that side)."""

    operation: str
    prop: str
    behaviour: str
    before: Classes | None
    after: Classes | None

    @property
    def status(self) -> str:
        if self.before is None:
            return "only after"
        if self.after is None:
            return "only before"
        return "agree" if self.before == self.after else "differ"


@dataclass
class Comparison:
    rows: list[Row] = field(default_factory=list)

    def where(self, status: str) -> list[Row]:
        return [row for row in self.rows if row.status == status]

    @property
    def differences(self) -> list[Row]:
        return self.where("differ")

    @property
    def agree(self) -> bool:
        return not self.differences

    def counts(self) -> dict[str, int]:
        return {status: len(self.where(status)) for status in ("agree", "differ", "only before", "only after")}


def _flatten(document: dict) -> dict[tuple[str, str, str], Classes]:
    return {(op, prop, name): classes for op, props in document.get("operations", {}).items()
            for prop, behaviours in props.items() for name, classes in behaviours.items()}


def compare(before: dict, after: dict) -> Comparison:
    a, b = _flatten(before), _flatten(after)
    return Comparison([Row(*key, a.get(key), b.get(key)) for key in sorted(set(a) | set(b))])


def words(classes: Classes | None) -> str:
    return "not observed" if classes is None else "; ".join(classes)


def change_lines(comparison: Comparison, before: str = "baseline", after: str = "this run") -> list[str]:
    """One line per difference: operation, property, behaviour, before and after."""
    return [f"{row.operation} / {row.prop} / {row.behaviour}: {before}: {words(row.before)}; {after}: "
            f"{words(row.after)}" for row in comparison.differences]


# ------------------------------------------------------------------------------------ the run's two options


def before_run(baseline: str | None) -> dict | None:
    """The baseline `run --baseline` gates against, read before anything runs (bad input: exit 2 at once, not
    after a long run)."""
    return load(baseline) if baseline else None


def after_run(observations: Mapping, *, record_to: str | None, gate: dict | None, gate_path: str | None,
              say: Callable[[str], None] = print) -> bool:
    """Write `--record-baseline`, compare with `--baseline` and print what changed; True when a behaviour both
    observed changed (the run then exits 1)."""
    if not record_to and gate is None:
        return False
    document = record(observations)
    missing = unaccounted(observations)
    if missing:  # a new suite.observe: add it to BEHAVIOURS, or to NOT_RECORDED with the reason
        say(f"baseline: left out, neither recorded nor listed in contracts.reporting.baseline.NOT_RECORDED: "
            + "; ".join(f"{op}: {subject}" for op, subject in missing))
    if record_to:
        write(document, Path(record_to))
        behaviours = len(_flatten(document))
        operations = len(document["operations"])
        say(f"baseline: recorded {behaviours} behaviour{'s' * (behaviours != 1)} of {operations} "
            f"operation{'s' * (operations != 1)} in {record_to}")
    if gate is None:
        return False
    comparison = compare(gate, document)
    counts = comparison.counts()
    say(f"baseline: {gate_path}: {counts['agree']} behaviours as recorded, {counts['differ']} changed; "
        f"{counts['only before']} not observed by this run and {counts['only after']} not in the baseline "
        f"(neither is a change: see docs/baselines.md)")
    for line in change_lines(comparison):
        say(f"  changed: {line}")
    return not comparison.agree
