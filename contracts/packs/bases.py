"""Where each expectation comes from (contracts/packs/bases.json), checked against the installed model on load.

Four bases (docs/bases.md): `model` (the botocore model states it), `protocol` (the idempotency-token semantics
every service with the trait owes), `documented` (AWS documentation says it for Invoicing; the entry quotes the
model's documentation string, which is AWS's API reference text, and gives its URL) and `assumed` (this project's
reading where AWS is silent). The data also says which errors reject a conflicting token (the set, not one
guess) and which payloads the model or the documentation make the same request.

Loading fails loudly, every problem listed with what to fix: an unknown basis, a check without one, a documented
expectation without a quote, a quote the model's text does not contain (so a model update that drops the sentence
is caught), an equivalence the model does not support. Which check names exist is the registry's to say
(contracts.checks.registry refuses a check without an entry, and an entry without a check).
"""

from __future__ import annotations

import copy
import functools
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from botocore.model import OperationModel, ServiceModel

from contracts.packs.files import read_json
from strategies import botocore_session, service_model, token_members

BASES_FILE = Path(__file__).with_name("bases.json")
BASES = ("model", "protocol", "documented", "assumed")
KINDS = ("default", "set")


class BasesDataError(RuntimeError):
    """bases.json is incomplete or disagrees with the installed model; the message lists every problem."""


@dataclass(frozen=True)
class Expectation:
    name: str
    basis: str
    why: str
    quote: str = ""
    source: str = ""  # where in the model the quote is: Shape, Shape.Member or an operation name
    url: str = ""

    def to_dict(self) -> dict[str, str]:
        out = {"basis": self.basis, "why": self.why}
        if self.quote:
            out.update(quote=self.quote, source=self.source, url=self.url)
        return out


@dataclass(frozen=True)
class CheckBasis:
    """A check's basis; `expectations` when its parts have different ones (a failure names its part)."""

    check: str
    default: Expectation  # the check's own: what a failure naming no expectation gets
    expectations: dict[str, Expectation] = field(default_factory=dict)
    registered_by: str = ""  # the module registering it, when not contracts.checks (a suite module)

    @property
    def bases(self) -> tuple[str, ...]:
        """Every basis the check's failures can have, strongest first."""
        found = {self.default.basis, *(e.basis for e in self.expectations.values())}
        return tuple(b for b in BASES if b in found)

    def of(self, expectation: str | None) -> Expectation:
        if not expectation:
            return self.default
        if expectation not in self.expectations:
            raise BasesDataError(f"{BASES_FILE.name}: check {self.check!r} has no expectation {expectation!r} "
                                 f"(it has: {', '.join(self.expectations) or 'none'}); add it under "
                                 f"checks.{self.check}.expectations")
        return self.expectations[expectation]


@dataclass(frozen=True)
class Equivalence:
    operation: str
    member: str  # dotted path from the request's top level
    kind: str  # default | set
    value: Any
    expectation: Expectation


@dataclass(frozen=True)
class Bases:
    checks: dict[str, CheckBasis]
    conflict_except: dict[str, str]  # declared client errors that do not reject a conflict, and why
    equivalences: tuple[Equivalence, ...]

    def of(self, check: str, expectation: str | None = None) -> Expectation:
        if check not in self.checks:
            raise BasesDataError(f"the check {check!r} has no basis: add checks.{check} to {BASES_FILE} "
                                 f"(basis: one of {', '.join(BASES)}; docs/bases.md says how to choose)")
        return self.checks[check].of(expectation)

    def conflict_answers(self, operation: OperationModel) -> frozenset[str]:
        """The errors that reject a token reused with another payload: the client errors the operation declares
        (error shapes without `fault`), less those that do not mean 'refused' (conflict_answers.except)."""
        return frozenset(client_errors(operation) - set(self.conflict_except))

    def equivalences_of(self, operation: str) -> tuple[Equivalence, ...]:
        return tuple(e for e in self.equivalences if e.operation == operation)

    def canonical(self, operation: str, params: dict) -> dict:
        """`params` as the request the model and the documentation make it: a member sent as its default is
        dropped (omitting it is the same request), a set-like list is sorted."""
        out = copy.deepcopy(dict(params))
        for eq in self.equivalences_of(operation):
            *parents, last = eq.member.split(".")
            node = out
            for part in parents:
                node = node.get(part) if isinstance(node, dict) else None
            if not isinstance(node, dict) or last not in node:
                continue
            if eq.kind == "default" and node[last] == eq.value:
                del node[last]
            elif eq.kind == "set" and isinstance(node[last], list):
                node[last] = sorted(node[last], key=lambda v: json.dumps(v, sort_keys=True))
        return out

    def equivalent(self, operation: str, first: dict, second: dict) -> bool:
        """Whether two payloads are one request by the model and the documentation (the conflict rule's 'same')."""
        return self.canonical(operation, first) == self.canonical(operation, second)


def client_errors(operation: OperationModel) -> frozenset[str]:
    """The client errors an operation declares: its error shapes the model does not mark as the server's fault
    (`fault` is on the raw shape; botocore's resolved metadata leaves it out)."""
    return frozenset(shape.name for shape in operation.error_shapes
                     if not getattr(shape, "_shape_model", {}).get("fault"))


# ---------------------------------------------------------------------------------------------- model text


def plain(html: str) -> str:
    """A documentation string as a person reads it: tags dropped, whitespace collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html or "")).strip()


def model_text(source: str, model: ServiceModel) -> str | None:
    """The documentation string at `source` (Shape, Shape.Member or an operation name), or None."""
    head, _, member = source.partition(".")
    if head in model.shape_names:
        shape = model.shape_for(head)
        if not member:
            return plain(shape.documentation)
        members = getattr(shape, "members", {})
        return plain(members[member].documentation) if member in members else None
    if not member and head in model.operation_names:
        return plain(model.operation_model(head).documentation)
    return None


def _expectation(name: str, entry: Any, where: str, model: ServiceModel, url: str,
                 problems: list[str]) -> Expectation:
    if not isinstance(entry, dict):
        problems.append(f"{where}: is {entry!r}; write {{\"basis\": ..., \"why\": ...}}")
        return Expectation(name, "model", "")
    basis, why = entry.get("basis"), entry.get("why", "")
    if basis not in BASES:
        problems.append(f"{where}.basis: {'missing' if basis is None else repr(basis)}; "
                        f"it must be one of {', '.join(BASES)}")
    if basis != "documented" and not why:
        problems.append(f"{where}.why: missing; say in a line why the basis is {basis}")
    quote, source = entry.get("quote", ""), entry.get("source", "")
    if basis == "documented":
        if not quote or not source:
            problems.append(f"{where}: a documented expectation needs \"quote\" (AWS's words, exactly) and "
                            f"\"source\" (Shape, Shape.Member or an operation of the model whose documentation "
                            f"string holds them); without a quote its basis is assumed")
        else:
            text = model_text(source, model)
            if text is None:
                problems.append(f"{where}.source: {source!r} is no shape, member or operation of the model")
            elif plain(quote) not in text:
                problems.append(f"{where}.quote: the model's documentation of {source} does not say "
                                f"{quote!r}; it says {text[:300]!r}")
    return Expectation(name, basis if basis in BASES else "model", why, quote, source,
                       url if basis == "documented" else "")


def _box(shape_name: str, member_ref: dict, raw: dict) -> bool:
    return bool(member_ref.get("box") or raw["shapes"][shape_name].get("box"))


def unboxed_defaults(operation: str, raw: dict) -> dict[str, Any]:
    """Top-level input members of a primitive shape without `box`: the model gives them a zero value, so
    omitting one and sending its zero are the same request."""
    op = raw["operations"][operation]
    if "input" not in op:
        return {}
    zero = {"boolean": False, "integer": 0, "long": 0, "float": 0.0, "double": 0.0}
    out = {}
    for name, ref in raw["shapes"][op["input"]["shape"]].get("members", {}).items():
        kind = raw["shapes"][ref["shape"]]["type"]
        if kind in zero and not _box(ref["shape"], ref, raw):
            out[name] = zero[kind]
    return out


def _member_shape(model: ServiceModel, operation: str, path: str):
    shape = model.operation_model(operation).input_shape
    for part in path.split("."):
        if shape is None or shape.type_name != "structure" or part not in shape.members:
            return None
        shape = shape.members[part]
    return shape


def _equivalences(data: dict, model: ServiceModel, raw: dict, url: str, problems: list[str]) -> tuple:
    out = []
    entries = data.get("entries", [])
    for i, entry in enumerate(entries):
        where = f"equivalences.entries[{i}]"
        op, member, kind = entry.get("operation"), entry.get("member", ""), entry.get("kind")
        if op not in model.operation_names:
            problems.append(f"{where}.operation: {op!r} is not an operation of the model")
            continue
        shape = _member_shape(model, op, member)
        if shape is None:
            problems.append(f"{where}.member: {op}'s input has no {member!r}")
            continue
        if kind not in KINDS:
            problems.append(f"{where}.kind: {kind!r} is not one of {', '.join(KINDS)}")
            continue
        if kind == "set" and shape.type_name != "list":
            problems.append(f"{where}: {op}.{member} is a {shape.type_name}, not a list; only lists can be sets")
        expectation = _expectation(f"{op}.{member}", entry, where, model, url, problems)
        if expectation.basis not in ("model", "documented"):
            problems.append(f"{where}.basis: an equivalence must be stated by the model or the documentation, "
                            f"not {expectation.basis}")
        if kind == "default" and expectation.basis == "model":
            zero = unboxed_defaults(op, raw)
            if "." in member or member not in zero or zero[member] != entry.get("value"):
                problems.append(f"{where}: the model gives {op}.{member} no default {entry.get('value')!r} (only "
                                f"top-level primitive members without box have one: {zero or 'none here'})")
        out.append(Equivalence(op, member, kind, entry.get("value"), expectation))
    # Every default the model itself gives must be listed: a missing one would make the suite call an equivalent
    # payload a conflict.
    listed = {(e.operation, e.member) for e in out if e.kind == "default"}
    for op in model.operation_names:
        if not token_members(model.operation_model(op)):
            continue
        for member, value in unboxed_defaults(op, raw).items():
            if (op, member) not in listed:
                problems.append(f"equivalences.entries: missing {op}.{member}, which the model defaults to "
                                f"{json.dumps(value)} (a primitive without box); add it with basis model")
    return tuple(out)


def parse(data: dict, check_names: frozenset[str] | None = None, model: ServiceModel | None = None) -> Bases:
    """Check the bases data against the model (and, given, the registered check names); BasesDataError."""
    model = model or service_model("invoicing")
    raw = botocore_session().get_service_data("invoicing")
    url = data.get("sources", {}).get("model", "")
    problems: list[str] = []
    if not url.startswith("https://"):
        problems.append("sources.model: the URL of the model's text (documented quotes cite it)")
    checks = {}
    for name, entry in data.get("checks", {}).items():
        where = f"checks.{name}"
        default = _expectation(name, entry, where, model, url, problems)
        parts = {part: _expectation(part, sub, f"{where}.expectations.{part}", model, url, problems)
                 for part, sub in (entry.get("expectations") or {}).items()} if isinstance(entry, dict) else {}
        registered_by = entry.get("registered_by", "") if isinstance(entry, dict) else ""
        checks[name] = CheckBasis(name, default, parts, registered_by)
    if check_names is not None:
        for name in sorted(set(check_names) - set(checks)):
            problems.append(f"checks.{name}: missing; the check {name!r} is registered, so it needs a basis "
                            f"(one of {', '.join(BASES)})")
        for name in sorted(set(checks) - set(check_names)):
            problems.append(f"checks.{name}: no check of that name is registered; remove the entry or fix "
                            f"its name")
    excepted = {k: v for k, v in data.get("conflict_answers", {}).get("except", {}).items()}
    known_errors = {shape.name for op in model.operation_names for shape in model.operation_model(op).error_shapes}
    for code in excepted:
        if code not in known_errors:
            problems.append(f"conflict_answers.except.{code}: no operation of the model declares it")
    equivalences = _equivalences(data.get("equivalences", {}), model, raw, url, problems)
    if problems:
        raise BasesDataError(f"{BASES_FILE.name} has {len(problems)} problem{'s' * (len(problems) != 1)}:\n  "
                             + "\n  ".join(problems))
    return Bases(checks, excepted, equivalences)


@functools.lru_cache(maxsize=None)
def load(path: str | None = None) -> Bases:
    """The bases of the installed model (cached); BasesDataError when the data is incomplete or wrong."""
    return parse(read_json(Path(path) if path else BASES_FILE, BasesDataError))
