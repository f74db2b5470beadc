"""Model drift: a semantic diff of two botocore service models, its changelog, and the CI gate.

`invoicing-contracts diff OLD NEW` compares the shapes reachable from each operation's input, output and errors
(not the JSON text) and classifies every change the way smithy-diff does: breaking, dangerous, warning, note,
each with its reason. A changed pattern is decided by comparing the languages (contracts/drift/patterns.py):
narrowed, widened, both or equivalent, with checked witnesses. Changes are grouped by cause (one edit of a shared
shape, contracts/drift/causes.py) for the changelog. OLD and NEW are model files, botocore data directories,
`botocore==X.Y.Z`, `installed` or `snapshot` (see contracts/drift/sources.py). docs/drift.md explains the output. Exit code: 0 nothing at or above --fail-on (default: breaking),
1 a breaking change or a gate failure, 2 usage, 3 the package index was unreachable for botocore==X.Y.Z.

For the main job (`invoicing-contracts run`):

    check_drift(installed_model=None, *, snapshot="snapshot", docs=False) -> DriftResult
        Compares the snapshot the contracts were written against (contracts/drift/invoicing-model.json.gz, botocore
        1.44.8) with `installed_model` (None: the installed botocore's model; or any source load_model takes).
    DriftResult.changes            list[Change] (.operation .section .path .kind .severity .reason .old .new
                                   .shape .pattern .affects_callers)
    DriftResult.causes() -> list[Cause]   the changes grouped by the model edit they come from
    DriftResult.markdown(date=None, heading_level=1) -> str   the changelog, AWS API changelog style
    DriftResult.to_json() -> dict
    DriftResult.gate_failures(contract_token_operations=None) -> list[GateFailure] (.operation .reason; str())
        Empty when the gate passes. Fails for: a token-bearing operation of the new model with no contract entry,
        a contract operation missing from the new model or without its token, and every breaking change.
        contract_token_operations: names of operations with a contract entry (default
        contracts.model.TOKEN_OPERATIONS; pass contracts.packs.contract's `operations` keys when loaded).
    diff_models(old, new, *, docs=False, service="invoicing") -> DriftResult   any two sources
"""

from __future__ import annotations

import argparse
import datetime
import functools
import json
import sys
from dataclasses import dataclass, field

from botocore.model import Shape, ServiceModel

from strategies import string_bounds

from contracts.drift import changelog
from contracts.drift.causes import Cause, group_causes
from contracts.drift.patterns import EQUIVALENT, Language, PatternDecision, decide
from contracts.drift.sources import LoadedModel, Unreachable, load_model
from contracts.exit_codes import ExitCode
from contracts.model import TOKEN_OPERATIONS

CHECK_MODEL = False  # diff reads model files; it must work even when the installed model is too old

SEVERITIES = ("breaking", "dangerous", "warning", "note")  # worst first, as smithy's ERROR, DANGER, WARNING, NOTE
BREAKING, DANGEROUS, WARNING, NOTE = SEVERITIES
SECTIONS = ("operation", "request", "response", "errors")

# Operation keys compared one by one below; any other key that changes is reported generically.
_OPERATION_KEYS_HANDLED = {"name", "input", "output", "errors", "documentation", "idempotent", "readonly"}
# Shape metadata compared one by one below; others (retryable, error codes, ...) are reported generically.
_METADATA_HANDLED = {"required", "min", "max", "pattern", "enum", "sensitive", "idempotencyToken"}


@dataclass(frozen=True)
class Change:
    """One semantic change in one operation. `path` uses the project's path syntax ("" = the section itself);
    list items are `[*]`, map values `["*"]`, map keys `<key>`. `syntax` is the request-syntax fragment of
    what was added (changelog use), e.g. "'string'" for a new string member or "{'NEW'}" for new enum values."""

    operation: str
    section: str  # one of SECTIONS
    path: str
    kind: str
    severity: str
    reason: str
    old: object = None
    new: object = None
    syntax: str | None = field(default=None, compare=False)
    segments: tuple = field(default=(), compare=False, repr=False)
    shape: str = field(default="", compare=False)  # where the change lies: "TagrisArn", "Old -> New" when retargeted
    pattern: PatternDecision | None = field(default=None, compare=False)  # for pattern changes
    affects_callers: bool = field(default=True, compare=False)  # False: decided to change nothing callers see

    @property
    def documentation_only(self) -> bool:
        return self.kind == "documentation-changed"

    @property
    def in_error_member(self) -> bool:
        """Inside an error shape's members (what callers read from an error), not the declared error itself."""
        return self.section == "errors" and len(self.segments) > 1

    @property
    def updates_operation(self) -> bool:
        """Counts toward "N updated api methods": callers see it in the operation, its request or response, or
        its declared errors (documentation too, when diffed with docs); error members are summarised apart."""
        return not self.in_error_member and (self.affects_callers or self.documentation_only)

    @property
    def where(self) -> str:
        return f"{self.section} {self.path}".strip() if self.path else self.section

    def to_dict(self) -> dict:
        return {
            "operation": self.operation, "section": self.section, "path": self.path, "kind": self.kind,
            "severity": self.severity, "reason": self.reason, "old": _jsonable(self.old), "new": _jsonable(self.new),
            "shape": self.shape, "affects_callers": self.affects_callers,
            **({"pattern": self.pattern.to_dict()} if self.pattern else {}),
        }


@dataclass(frozen=True)
class GateFailure:
    operation: str
    reason: str

    def __str__(self) -> str:
        return f"{self.operation}: {self.reason}"


@dataclass
class DriftResult:
    old: LoadedModel
    new: LoadedModel
    changes: list[Change]
    old_model: ServiceModel = field(repr=False)
    new_model: ServiceModel = field(repr=False)

    @property
    def service_name(self) -> str:
        return self.new.raw.get("metadata", {}).get("serviceFullName") or self.new_model.service_name

    def _operations_with(self, kind: str) -> list[str]:
        return [c.operation for c in self.changes if c.kind == kind]

    @property
    def new_operations(self) -> list[str]:
        return self._operations_with("operation-added")

    @property
    def removed_operations(self) -> list[str]:
        return self._operations_with("operation-removed")

    @property
    def updated_operations(self) -> list[str]:
        """Operations in both models whose request, response, traits or declared errors changed for callers, as
        the AWS changelog counts them (documentation counts only when diffed with docs)."""
        skip = set(self.new_operations) | set(self.removed_operations)
        return list(dict.fromkeys(c.operation for c in self.changes if c.operation not in skip and c.updates_operation))

    def counts(self) -> dict[str, int]:
        """Per change (one per member and operation); `causes()` counts each model edit once."""
        return {severity: sum(c.severity == severity for c in self.changes) for severity in SEVERITIES}

    def causes(self) -> list[Cause]:
        return group_causes(self.changes)

    def at_least(self, severity: str) -> list[Change]:
        rank = SEVERITIES.index(severity)
        return [c for c in self.changes if SEVERITIES.index(c.severity) <= rank]

    @property
    def breaking(self) -> list[Change]:
        return self.at_least(BREAKING)

    def token_operations(self) -> dict[str, list[str]]:
        """Operations of the new model whose input has idempotency-token members, in model order."""
        found = {}
        for name in self.new_model.operation_names:
            members = list(self.new_model.operation_model(name).idempotent_members)
            if members:
                found[name] = members
        return found

    def gate_failures(self, contract_token_operations=None) -> list[GateFailure]:
        contract = list(TOKEN_OPERATIONS if contract_token_operations is None else contract_token_operations)
        tokens = self.token_operations()
        failures = [
            GateFailure(name, f"has idempotency token {', '.join(members)} but no contract entry: add it to "
                              f"contracts/packs/invoicing.json (and TOKEN_OPERATIONS in contracts/model/__init__.py), then refresh "
                              f"the snapshot contracts/drift/invoicing-model.json.gz")
            for name, members in tokens.items() if name not in contract
        ]
        for name in contract:
            if name not in self.new_model.operation_names:
                failures.append(GateFailure(name, f"has a contract entry but {self.new.label} has no such operation"))
            elif name not in tokens:
                failures.append(GateFailure(name, f"has a contract entry but no idempotency token in {self.new.label}"))
        failures += [GateFailure(c.operation, f"breaking change at {c.where}: {c.reason}") for c in self.breaking]
        return failures

    def exit_code(self, fail_on: str = BREAKING) -> int:
        return ExitCode.VIOLATED if self.at_least(fail_on) else ExitCode.OK

    def markdown(self, date: str | None = None, heading_level: int = 1) -> str:
        return changelog.markdown(self, date=date, heading_level=heading_level)

    def to_json(self) -> dict:
        return {
            "service": self.service_name,
            "old": {"label": self.old.label, "origin": self.old.origin},
            "new": {"label": self.new.label, "origin": self.new.origin},
            "new_operations": self.new_operations,
            "updated_operations": self.updated_operations,
            "removed_operations": self.removed_operations,
            "counts": self.counts(),
            "changes": [c.to_dict() for c in self.changes],
            "causes": [cause.to_dict() for cause in self.causes()],
        }


def diff_models(old, new, *, docs: bool = False, service: str = "invoicing") -> DriftResult:
    """Semantic diff of two models; `old`/`new` are anything contracts.drift.sources.load_model accepts."""
    old_loaded, new_loaded = load_model(old, service), load_model(new, service)
    old_model = ServiceModel(old_loaded.raw, service_name=service)
    new_model = ServiceModel(new_loaded.raw, service_name=service)
    changes = _Differ(old_loaded.raw, new_loaded.raw, old_model, new_model).run()
    if not docs:
        changes = [c for c in changes if not c.documentation_only]
    return DriftResult(old_loaded, new_loaded, changes, old_model, new_model)


def check_drift(installed_model=None, *, snapshot="snapshot", docs: bool = False) -> DriftResult:
    """The installed botocore's Invoicing model (or `installed_model`) against the contracts' snapshot."""
    return diff_models(snapshot, "installed" if installed_model is None else installed_model, docs=docs)


# ----------------------------------------------------------------------------------------------------------------
# The semantic diff


class _Differ:
    def __init__(self, old_raw: dict, new_raw: dict, old_model: ServiceModel, new_model: ServiceModel):
        self.old_ops, self.new_ops = old_raw["operations"], new_raw["operations"]
        self.old_model, self.new_model = old_model, new_model
        self.changes: list[Change] = []

    def run(self) -> list[Change]:
        # New-model order first, then what was removed, so the changelog reads like the model.
        names = list(self.new_ops) + [name for name in self.old_ops if name not in self.new_ops]
        for name in names:
            if name not in self.old_ops:
                self._operation_added(name)
            elif name not in self.new_ops:
                self._add(name, "operation", (), "operation-removed", BREAKING,
                          "callers of this operation fail; contract entries and tests for it must go")
            else:
                self._operation_changed(name)
        return self.changes

    def _add(self, operation, section, segments, kind, severity, reason, old=None, new=None, syntax=None, *,
             shape="", pattern=None, affects_callers=True):
        self.changes.append(Change(operation, section, _path(segments), kind, severity, reason, old, new, syntax,
                                   tuple(segments), shape, pattern, affects_callers))

    def _adder(self, shape: str):
        """`_add` for changes found in one shape, so that they group by the shape they lie in."""
        return functools.partial(self._add, shape=shape)

    # -- operations ------------------------------------------------------------------------------------------

    def _operation_added(self, name: str) -> None:
        op = self.new_model.operation_model(name)
        tokens = list(op.idempotent_members)
        if tokens:
            self._add(name, "operation", (), "operation-added", WARNING,
                      f"new operation with idempotency token {', '.join(tokens)}: nothing changes for existing "
                      f"callers, but the contract needs an entry for it (replay, conflict, scope)", new=tokens)
        else:
            self._add(name, "operation", (), "operation-added", NOTE, "new operation; existing callers unaffected")

    def _operation_changed(self, name: str) -> None:
        old_raw, new_raw = self.old_ops[name], self.new_ops[name]
        old_op, new_op = self.old_model.operation_model(name), self.new_model.operation_model(name)
        has_token = bool(new_op.idempotent_members or old_op.idempotent_members)
        self._operation_traits(name, old_raw, new_raw)
        self._errors(name, old_op, new_op, has_token)
        for key in sorted((set(old_raw) | set(new_raw)) - _OPERATION_KEYS_HANDLED):
            if old_raw.get(key) != new_raw.get(key):
                self._add(name, "operation", (), "operation-attribute-changed", WARNING,
                          f"operation attribute {key!r} changed; check how the SDK calls it", old_raw.get(key),
                          new_raw.get(key))
        if old_raw.get("documentation", "") != new_raw.get("documentation", ""):
            self._add(name, "operation", (), "documentation-changed", NOTE, "operation documentation changed",
                      affects_callers=False)
        for section, old_shape, new_shape in (("request", old_op.input_shape, new_op.input_shape),
                                              ("response", old_op.output_shape, new_op.output_shape)):
            self._shape(name, section, (), old_shape, new_shape, ())

    def _operation_traits(self, name: str, old_raw: dict, new_raw: dict) -> None:
        meaning = {
            "idempotent": ("the service declares that identical requests have the effect of one; the contract's "
                           "replay properties hold it to that",
                           "callers can no longer retry it safely (smithy-diff: removing @idempotent is breaking)"),
            "readonly": ("the service declares it has no side effects",
                         "it may now change state: callers that retry it freely or call it from read-only roles "
                         "must be reviewed (smithy-diff: removing @readonly is breaking)"),
        }
        for trait, (added, removed) in meaning.items():
            was, now = bool(old_raw.get(trait)), bool(new_raw.get(trait))
            if now and not was:
                self._add(name, "operation", (), "trait-added", NOTE, f"now marked {trait}: {added}", None, trait)
            elif was and not now:
                self._add(name, "operation", (), "trait-removed", BREAKING, f"no longer marked {trait}: {removed}",
                          trait, None)

    def _errors(self, name: str, old_op, new_op, has_token: bool) -> None:
        old_errors = [s.name for s in old_op.error_shapes]
        new_errors = [s.name for s in new_op.error_shapes]
        for error in new_errors:
            if error not in old_errors:
                reason = (f"callers may now receive {error}; backward-compatible only when it answers something "
                          f"new the caller does (smithy-diff: warning)")
                if has_token and error == "ConflictException":
                    reason += "; a reused token with a different payload must now be refused with ConflictException"
                self._add(name, "errors", (error,), "error-added", WARNING, reason, None, error)
        for error in old_errors:
            if error not in new_errors:
                severity, reason = WARNING, f"no longer declared: callers handling {error} may keep their handler"
                if has_token and error == "ConflictException":
                    severity = DANGEROUS
                    reason = ("no longer declared: the token-conflict contract falls back to ValidationException "
                              "for this operation (see docs/idempotency.md); review its contract entry")
                self._add(name, "errors", (error,), "error-removed", severity, reason, error, None)
        for error in new_errors:
            if error in old_errors:
                self._shape(name, "errors", (error,), self.old_model.shape_for(error),
                            self.new_model.shape_for(error), ())

    # -- shapes ------------------------------------------------------------------------------------------------

    def _shape(self, op, section, segments, old: Shape | None, new: Shape | None, stack) -> None:
        """Compare the shapes found at one path (resolved members: member traits merged over the target)."""
        if old is None and new is None:
            return
        if old is None or new is None:
            # an operation gained or lost its whole input/output structure
            old = old or _EMPTY
            new = new or _EMPTY
        inbound = section == "request"
        if segments and old.name != new.name and old is not _EMPTY and new is not _EMPTY:
            start = len(self.changes)
            self._shape_body(op, section, segments, old, new, stack, inbound)
            substantive = [c for c in self.changes[start:] if c.affects_callers]
            retarget = Change(
                op, section, _path(segments), "member-retargeted", WARNING if substantive else NOTE,
                f"now targets {new.name} instead of {old.name}: "
                + (f"{len(substantive)} difference(s) between them are listed at this path"
                   if substantive else "the two shapes are equivalent, no effect on callers"),
                old.name, new.name, None, tuple(segments), _label(old, new), affects_callers=bool(substantive))
            self.changes.insert(start, retarget)
            return
        self._shape_body(op, section, segments, old, new, stack, inbound)

    def _shape_body(self, op, section, segments, old: Shape, new: Shape, stack, inbound: bool) -> None:
        add = self._adder(_label(old, new))
        if old.type_name != new.type_name:
            add(op, section, segments, "type-changed", BREAKING,
                      f"type changed from {old.type_name} to {new.type_name}: values of the old type no longer "
                      f"{'validate' if inbound else 'parse the same'}", old.type_name, new.type_name)
            return
        self._traits(op, section, segments, old, new, inbound)
        self._constraints(op, section, segments, old, new, inbound)
        if (old.documentation or "") != (new.documentation or "") and segments:
            add(op, section, segments, "documentation-changed", NOTE, "documentation changed", affects_callers=False)
        key = (old.name, new.name)
        if key in stack:  # recursive shapes: compared once on this path
            return
        stack = stack + (key,)
        if new.type_name == "structure":
            self._structure(op, section, segments, old, new, stack, inbound)
        elif new.type_name == "list":
            self._shape(op, section, segments + ("[*]",), old.member, new.member, stack)
        elif new.type_name == "map":
            self._shape(op, section, segments + ("<key>",), old.key, new.key, stack)
            self._shape(op, section, segments + ('["*"]',), old.value, new.value, stack)

    def _structure(self, op, section, segments, old: Shape, new: Shape, stack, inbound: bool) -> None:
        add = self._adder(_label(old, new))
        old_members, new_members = old.members, new.members
        old_required = set(old.metadata.get("required", []))
        new_required = set(new.metadata.get("required", []))
        for name, member in new_members.items():
            at = segments + (name,)
            if name not in old_members:
                self._member_added(add, op, section, at, member, name in new_required, inbound)
                continue
            if name in new_required and name not in old_required:
                if inbound:
                    add(op, section, at, "required-added", BREAKING,
                              "now required: callers that omit it fail validation", False, True)
                else:
                    add(op, section, at, "required-added", NOTE, "now always present in the response",
                              False, True)
            elif name in old_required and name not in new_required:
                if inbound:
                    add(op, section, at, "required-removed", NOTE, "now optional: callers may omit it",
                              True, False)
                else:
                    add(op, section, at, "required-removed", DANGEROUS,
                              "no longer guaranteed in the response: callers that read it must handle its absence",
                              True, False)
            self._shape(op, section, at, old_members[name], member, stack)
        for name, member in old_members.items():
            if name not in new_members:
                if inbound:
                    reason = "removed: callers that send it get a parameter validation error from the SDK"
                    if member.metadata.get("idempotencyToken"):
                        reason += ("; the operation loses its idempotency token, so retries are no longer "
                                   "deduplicated and the contract's replay properties cannot run")
                else:
                    reason = "removed: callers that read it get nothing"
                add(op, section, segments + (name,), "member-removed", BREAKING, reason,
                          member.name, None, changelog.syntax(member))

    def _member_added(self, add, op, section, at, member: Shape, required: bool, inbound: bool) -> None:
        syntax = changelog.syntax(member)
        if inbound and required:
            add(op, section, at, "member-added", BREAKING,
                      "added as a required member: existing callers that do not send it fail validation",
                      None, member.name, syntax)
        elif inbound and member.metadata.get("idempotencyToken"):
            add(op, section, at, "member-added", WARNING,
                      "added, optional, with the idempotencyToken trait: non-breaking for callers (the SDK fills "
                      "a fresh token when it is omitted), but it changes the contract: the same token with the "
                      "same payload must have one effect, with a different payload it must be refused, and the "
                      "operation needs a contract entry", None, member.name, syntax)
        elif inbound:
            add(op, section, at, "member-added", NOTE, "added, optional: existing callers unaffected",
                      None, member.name, syntax)
        else:
            add(op, section, at, "member-added", NOTE, "added to the response: callers may read it",
                      None, member.name, syntax)

    def _traits(self, op, section, segments, old: Shape, new: Shape, inbound: bool) -> None:
        add = self._adder(_label(old, new))
        was, now = bool(old.metadata.get("sensitive")), bool(new.metadata.get("sensitive"))
        if was and not now:
            add(op, section, segments, "trait-removed", DANGEROUS,
                      "no longer sensitive: SDK logs and this project's reports stop redacting its values; make "
                      "sure they are not secrets before anything prints them", "sensitive", None)
        elif now and not was:
            add(op, section, segments, "trait-added", NOTE,
                      "now sensitive: reports and logs redact its values", None, "sensitive")
        was, now = bool(old.metadata.get("idempotencyToken")), bool(new.metadata.get("idempotencyToken"))
        if was and not now:
            add(op, section, segments, "trait-removed", BREAKING,
                      "no longer an idempotency token: the SDK stops filling it and the service need not "
                      "deduplicate retries (smithy-diff: removing @idempotencyToken is breaking); the contract's "
                      "replay and conflict properties lose their token", "idempotencyToken", None)
        elif now and not was:
            add(op, section, segments, "trait-added", WARNING,
                      "now an idempotency token: the SDK fills it when omitted; the contract must check replay "
                      "and conflict for this operation", None, "idempotencyToken")
        for attrs, what in ((old.metadata, new.metadata), "metadata"), ((old.serialization, new.serialization),
                                                                        "serialization"):
            before, after = attrs
            for key in sorted((set(before) | set(after)) - _METADATA_HANDLED):
                if before.get(key) != after.get(key):
                    add(op, section, segments, "trait-changed", WARNING,
                              f"{what} {key!r} changed: the wire form or error handling may differ",
                              before.get(key), after.get(key))

    def _constraints(self, op, section, segments, old: Shape, new: Shape, inbound: bool) -> None:
        add = self._adder(_label(old, new))
        before, after = old.metadata, new.metadata
        unit = "items" if new.type_name in ("list", "map") else (
            "characters" if new.type_name == "string" else ("bytes" if new.type_name == "blob" else ""))
        for bound in ("min", "max"):
            a, b = before.get(bound), after.get(bound)
            if a == b:
                continue
            # tighter = fewer values accepted
            if a is None:
                tighter = True
            elif b is None:
                tighter = False
            else:
                tighter = b > a if bound == "min" else b < a
            shown = [f"{v} {unit}".rstrip() if v is not None else "none" for v in (a, b)]
            what = f"{bound} {shown[0]} -> {shown[1]}"
            if inbound:
                severity = BREAKING if tighter else NOTE
                reason = (f"{what}: requests valid before are now refused" if tighter
                          else f"{what}: accepts more values than before")
            else:
                severity = NOTE if tighter else WARNING
                reason = (f"{what}: responses stay within what callers saw before" if tighter
                          else f"{what}: responses may carry values callers have not seen")
            add(op, section, segments, "constraint-changed", severity, reason, a, b)
        if before.get("pattern") != after.get("pattern"):
            self._pattern(add, op, section, segments, old, new, inbound)
        self._enum(add, op, section, segments, before.get("enum"), after.get("enum"), inbound)

    def _pattern(self, add, op, section, segments, old: Shape, new: Shape, inbound: bool) -> None:
        """Which values the pattern (with the length bounds) accepts before and after, decided with witnesses."""
        decision = decide(_language(old), _language(new))
        severity = _pattern_severity(decision, inbound)
        reason = decision.describe()
        if not inbound and decision.accepted_now is not None:
            reason += "; responses may carry such values"
        add(op, section, segments, "constraint-changed", severity, reason, old.metadata.get("pattern"),
            new.metadata.get("pattern"), pattern=decision,
            affects_callers=not (decision.exact and decision.relation == EQUIVALENT))

    def _enum(self, add, op, section, segments, old: list | None, new: list | None, inbound: bool) -> None:
        if old == new:
            return
        if old is None or new is None:
            loosened = new is None
            severity = (NOTE if loosened else BREAKING) if inbound else (WARNING if loosened else NOTE)
            reason = ("enum removed: any string is accepted now" if loosened and inbound else
                      "enum removed: responses may carry any string" if loosened else
                      "enum added: only the listed values are accepted now" if inbound else
                      "enum added to the response")
            add(op, section, segments, "enum-changed", severity, reason, old, new)
            return
        removed = [v for v in old if v not in new]
        added = [v for v in new if v not in old]
        if removed:
            add(op, section, segments, "enum-values-removed", BREAKING if inbound else DANGEROUS,
                      f"values {_quoted(removed)} removed: "
                      + ("callers that send them are refused" if inbound
                         else "callers that handle them keep dead branches, and old stored values may no longer parse"),
                      removed, None, "{" + ", ".join(repr(v) for v in removed) + "}")
        # smithy-diff: appending is a note, inserting before the end of the existing values is an error there
        # (ordinal-based clients shift). botocore compares strings, so here it is dangerous, not breaking.
        kept = [v for v in old if v in new]
        last_kept = max((new.index(v) for v in kept), default=-1)
        inserted = [v for v in added if new.index(v) < last_kept]
        appended = [v for v in added if v not in inserted]
        if inserted:
            add(op, section, segments, "enum-values-inserted", DANGEROUS,
                      f"values {_quoted(inserted)} inserted before the end of the existing values: botocore compares "
                      f"strings so Python callers are unaffected, but generated clients that rely on ordinals shift "
                      f"(smithy-diff: breaking); "
                      + ("callers may send them" if inbound else "callers that switch on the value meet new values"),
                      None, inserted, "{" + ", ".join(repr(v) for v in inserted) + "}")
        if appended:
            add(op, section, segments, "enum-values-added", NOTE if inbound else WARNING,
                      f"values {_quoted(appended)} appended: "
                      + ("callers may send them" if inbound else "callers that switch on the value meet new values"),
                      None, appended, "{" + ", ".join(repr(v) for v in appended) + "}")
        if not removed and not added and old != new:
            add(op, section, segments, "enum-reordered", NOTE, "enum values reordered", old, new)


class _EmptyStructure:
    """Stands in for a missing input/output so that every member shows as added or removed."""

    name = "(none)"
    type_name = "structure"
    metadata: dict = {}
    serialization: dict = {}
    documentation = ""
    members: dict = {}


_EMPTY = _EmptyStructure()


def _language(shape: Shape) -> Language:
    return Language(shape.metadata.get("pattern"), *string_bounds(shape), where=shape.name)


def _pattern_severity(decision: PatternDecision, inbound: bool) -> str:
    """A checked witness decides: a value refused now breaks requests, a value accepted now warns readers of
    responses. Where a direction is only sampled, one step lower: possible, not shown."""
    if not decision.compared:
        return DANGEROUS if inbound else WARNING
    if inbound:
        return BREAKING if decision.refused_now is not None else (NOTE if decision.exact else DANGEROUS)
    return WARNING if decision.accepted_now is not None else NOTE


def _label(old: Shape, new: Shape) -> str:
    return new.name if old.name == new.name or old is _EMPTY else (old.name if new is _EMPTY else
                                                                     f"{old.name} -> {new.name}")


def _path(segments) -> str:
    text = ""
    for segment in segments:
        text += segment if segment.startswith(("[", "<")) else (f".{segment}" if text else segment)
    return text


def _quoted(values) -> str:
    return ", ".join(f"'{v}'" for v in values)


def _jsonable(value):
    return list(value) if isinstance(value, tuple) else value


# ----------------------------------------------------------------------------------------------------------------
# The `diff` subcommand


def _date(text: str) -> str:
    try:
        return datetime.date.fromisoformat(text).isoformat()
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date; use YYYY-MM-DD") from None


def add_arguments(parser) -> None:
    parser.add_argument("old", help="the earlier model: a service-2.json[.gz] file, a botocore data directory, "
                                    "botocore==X.Y.Z, 'installed' or 'snapshot'")
    parser.add_argument("new", help="the later model, in any of the same forms")
    parser.add_argument("--format", choices=("markdown", "json"), default="markdown",
                        help="markdown: a changelog like the AWS API changelog (default); json: for tools")
    parser.add_argument("--docs", action="store_true", help="also list documentation-only changes")
    parser.add_argument("--date", type=_date, default=None,
                        help="date for the changelog header (YYYY-MM-DD; default today, UTC)")
    parser.add_argument("--fail-on", choices=SEVERITIES, default=BREAKING,
                        help="exit 1 when a change is this severe or worse (default: breaking)")
    parser.add_argument("--gate", action="store_true",
                        help="also fail (exit 1) when NEW has a token-bearing operation without a contract entry, "
                             "as `run` does")
    parser.add_argument("--service", default="invoicing",
                        help="service whose model to find in botocore directories and releases (default invoicing)")


def main(args) -> int:
    try:
        result = diff_models(args.old, args.new, docs=args.docs, service=args.service)
    except Unreachable as error:
        print(f"invoicing-contracts diff: {error}", file=sys.stderr)
        return ExitCode.UNSAFE
    failures = result.gate_failures() if args.gate else []
    if args.format == "json":
        document = result.to_json()
        if args.gate:
            document["gate_failures"] = [{"operation": f.operation, "reason": f.reason} for f in failures]
        print(json.dumps(document, indent=2, default=str))
    else:
        print(result.markdown(date=args.date), end="")
        if args.gate:
            print(changelog.gate_markdown(failures), end="")
    code = result.exit_code(args.fail_on)
    return ExitCode.VIOLATED if failures else code


__all__ = ["Change", "DriftResult", "GateFailure", "SEVERITIES", "check_drift", "diff_models"]
