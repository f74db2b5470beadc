"""Contract packs for services other than Invoicing (contracts/packs/<service>.pack.json), checked against the
installed botocore model on load.

A pack is data: the operations whose idempotency it judges (the token member, from the model's
`idempotencyToken` trait or, where the service uses another convention, named with `"token_by": "convention"`),
how a request is drawn (the members Hypothesis draws from the model, and fixed values), the read-backs that count
effects and show state, what cleans up, and the acceptable answers to a replay and to a conflicting payload, each
with its basis (contracts/packs/bases.py: model, protocol, documented, assumed) and, for `documented`, AWS's own
sentence quoted from the installed model's documentation string. Loading fails loudly, every disagreement
listed: an operation or member the model lacks, a token member without the trait, an error the operation does
not declare, a quote the documentation no longer says, a token-bearing operation neither covered nor excused.

Values in `params` templates: "$request.Member" (the create request's member) and "$response.Member" (its
successful response's member).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.model import ServiceModel

from contracts.packs import contract
from contracts.packs.bases import BASES, model_text
from contracts.packs.files import read_json
from strategies import UnknownName, service_model, token_members

PACK_DIR = Path(__file__).parent
SUFFIX = ".pack.json"
ANSWERS = ("success", "error")


class PackDataError(RuntimeError):
    """A pack disagrees with the installed model; the message lists every disagreement."""


@dataclass(frozen=True)
class Source:
    """Why an expectation holds: its basis, and for `documented` AWS's sentence and where the model says it."""

    basis: str
    why: str = ""
    quote: str = ""
    source: str = ""  # Shape.Member or an operation name, as contracts.packs.bases.model_text reads it

    def to_dict(self) -> dict[str, str]:
        out = {"basis": self.basis}
        out.update({k: v for k, v in (("why", self.why), ("quote", self.quote), ("source", self.source)) if v})
        return out


@dataclass(frozen=True)
class Read:
    operation: str
    params: dict  # a template ($request.X, $response.X)
    count: str = ""  # the list member whose length counts the effects ("" : this read shows state only)
    volatile: tuple[str, ...] = ()  # member names (anywhere in the answer) that may change between reads


@dataclass(frozen=True)
class Answer:
    """An acceptable answer: success, or one of `codes`; `source` says why. `refusal_source`, when given, is the
    basis of "refused at all", `source` then the basis of which code."""

    answer: str
    source: Source
    codes: tuple[str, ...] = ()
    same_response: tuple[str, ...] = ()  # response members a replay must repeat
    same_response_source: Source | None = None
    error_members: dict | None = None  # members the error must carry (template)
    error_members_source: Source | None = None
    refusal_source: Source | None = None
    effects: int = 1  # effects the read-back counts after the answer
    effects_source: Source | None = None


@dataclass(frozen=True)
class PackOperation:
    name: str
    token: str
    token_by: str  # model (the idempotencyToken trait) | convention (named here)
    draw: tuple[str, ...]  # members Hypothesis draws from the model
    fixed: dict
    reads: tuple[Read, ...]
    cleanup: Read | None
    replay: Answer
    conflict: Answer
    vary: tuple[str, ...]  # members a conflicting payload changes (one at a time)
    declared_errors: frozenset[str]

    @property
    def counter(self) -> Read:
        return next(read for read in self.reads if read.count)


@dataclass(frozen=True)
class Pack:
    service: str
    title: str
    stateless: tuple[str, ...]  # operations the stateless contracts draw requests for
    operations: dict[str, PackOperation]  # the token-bearing operations it judges
    not_covered: dict[str, str]  # token-bearing operations it leaves out, and why
    file: str

    @property
    def operation_names(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys((*self.stateless, *self.operations)))

    def expectations(self) -> list[dict[str, Any]]:
        """Every expectation with its basis, for the reports."""
        out = []
        for op in self.operations.values():
            for prop, answer in (("replay-equivalence", op.replay), ("conflict-rejection", op.conflict)):
                parts = [("answer", answer.refusal_source or answer.source)]
                if answer.refusal_source:
                    parts.append(("code", answer.source))
                parts += [(name, src) for name, src in (
                    ("same-response", answer.same_response_source), ("error-members", answer.error_members_source),
                    ("effects", answer.effects_source)) if src]
                for name, src in parts:
                    out.append({"operation": op.name, "property": prop, "expectation": name, **src.to_dict()})
        return out


def _source(entry: Any, where: str, model: ServiceModel, problems: list[str]) -> Source:
    if not isinstance(entry, dict):
        problems.append(f"{where}: write {{\"basis\": ..., \"why\": ...}} (and quote/source for documented)")
        return Source("assumed")
    basis, quote, source = entry.get("basis"), entry.get("quote", ""), entry.get("source", "")
    if basis not in BASES:
        problems.append(f"{where}.basis: {basis!r} is not one of {', '.join(BASES)}")
    if basis == "documented":
        text = model_text(source, model) if source else None
        if not quote or text is None:
            problems.append(f"{where}: a documented expectation needs \"quote\" and a \"source\" whose "
                            f"documentation the installed model has (Shape.Member or an operation); got {source!r}")
        elif " ".join(quote.split()) not in text:
            problems.append(f"{where}.quote: the installed model's documentation of {source} does not say "
                            f"{quote!r}; it says {text[:300]!r}...")
    elif not entry.get("why"):
        problems.append(f"{where}.why: say why the basis is {basis}")
    return Source(basis if basis in BASES else "assumed", entry.get("why", ""), quote, source)


def _members_of(model: ServiceModel, operation: str) -> set[str]:
    shape = model.operation_model(operation).input_shape
    return set(shape.members) if shape is not None else set()


def _read(entry: Any, where: str, model: ServiceModel, problems: list[str]) -> Read | None:
    if not isinstance(entry, dict) or entry.get("operation") not in model.operation_names:
        problems.append(f"{where}.operation: {entry.get('operation') if isinstance(entry, dict) else entry!r} "
                        f"is not an operation of the installed {model.service_name} model")
        return None
    name = entry["operation"]
    for member in entry.get("params", {}):
        if member not in _members_of(model, name):
            problems.append(f"{where}.params: {name} takes no {member!r}")
    count = entry.get("count", "")
    output = model.operation_model(name).output_shape
    if count and (output is None or count not in output.members or output.members[count].type_name != "list"):
        problems.append(f"{where}.count: {count!r} is not a list member of {name}'s output")
    return Read(name, dict(entry.get("params", {})), count, tuple(entry.get("volatile", [])))


def _answer(entry: Any, where: str, op: str, model: ServiceModel, problems: list[str]) -> Answer:
    if not isinstance(entry, dict) or entry.get("answer") not in ANSWERS:
        problems.append(f"{where}.answer: must be one of {', '.join(ANSWERS)}")
        return Answer("success", Source("assumed"))
    declared = {shape.name for shape in model.operation_model(op).error_shapes}
    codes = tuple(entry.get("codes", ()))
    for code in codes:
        if code not in declared:
            problems.append(f"{where}.codes: {op} does not declare {code!r} (it declares {sorted(declared)})")
    if entry["answer"] == "error" and not codes:
        problems.append(f"{where}.codes: an error answer names the codes it accepts")
    output = model.operation_model(op).output_shape
    for member in entry.get("same_response", ()):
        if output is None or member not in output.members:
            problems.append(f"{where}.same_response: {member!r} is not a member of {op}'s output")
    errors = entry.get("error_members") or {}
    for member in errors:
        if not any(member in getattr(model.shape_for(code), "members", {}) for code in codes):
            problems.append(f"{where}.error_members: no error of {list(codes)} has a member {member!r}")

    def optional(key: str) -> Source | None:
        return _source(entry[key], f"{where}.{key}", model, problems) if key in entry else None

    return Answer(entry["answer"], _source(entry.get("source"), f"{where}.source", model, problems), codes,
                  tuple(entry.get("same_response", ())), optional("same_response_source"), errors or None,
                  optional("error_members_source"), optional("refusal_source"), int(entry.get("effects", 1)),
                  optional("effects_source"))


def parse(data: dict, file: str = "<data>") -> Pack:
    """Check pack data against the installed model and build the Pack; PackDataError lists every problem."""
    service = data.get("service", "")
    try:
        model = service_model(service)
    except UnknownName as error:
        raise PackDataError(f"{file}: service {service!r}: {error}") from None
    names = list(model.operation_names)
    problems: list[str] = []
    for name in data.get("stateless", []):
        if name not in names:
            problems.append(f"stateless: {name!r} is not an operation of the installed {service} model")
    operations: dict[str, PackOperation] = {}
    for name, entry in data.get("operations", {}).items():
        where = f"operations.{name}"
        if name not in names:
            problems.append(f"{where}: not an operation of the installed {service} model")
            continue
        op = model.operation_model(name)
        members = _members_of(model, name)
        token, token_by = entry.get("token", ""), entry.get("token_by", "model")
        if token_by == "model" and token not in token_members(op):
            problems.append(f"{where}.token: {token!r} does not carry the idempotencyToken trait in the installed "
                            f"model (token members: {token_members(op)}); name it with \"token_by\": \"convention\"")
        if token not in members:
            problems.append(f"{where}.token: {name} takes no {token!r}")
        for member in (*entry.get("draw", ()), *entry.get("fixed", {}), *entry.get("vary", ())):
            if member not in members:
                problems.append(f"{where}: {name} takes no {member!r}")
        if token in entry.get("draw", ()):
            problems.append(f"{where}.draw: the suite draws the token {token!r} itself")
        reads = [_read(r, f"{where}.reads[{i}]", model, problems) for i, r in enumerate(entry.get("reads", []))]
        if sum(bool(r and r.count) for r in reads) != 1:
            problems.append(f"{where}.reads: exactly one read-back counts the effects (\"count\")")
        cleanup = _read(entry["cleanup"], f"{where}.cleanup", model, problems) if "cleanup" in entry else None
        if not entry.get("vary"):
            problems.append(f"{where}.vary: name the members a conflicting payload changes")
        operations[name] = PackOperation(
            name=name, token=token, token_by=token_by, draw=tuple(entry.get("draw", ())),
            fixed=dict(entry.get("fixed", {})), reads=tuple(r for r in reads if r), cleanup=cleanup,
            replay=_answer(entry.get("replay"), f"{where}.replay", name, model, problems),
            conflict=_answer(entry.get("conflict"), f"{where}.conflict", name, model, problems),
            vary=tuple(entry.get("vary", ())),
            declared_errors=frozenset(shape.name for shape in op.error_shapes))
    not_covered = dict(data.get("not_covered", {}))
    for name in names:  # every token-bearing operation is judged or excused: never a silent skip
        if token_members(model.operation_model(name)) and name not in operations and name not in not_covered:
            problems.append(f"operations.{name}: missing; {name} has an idempotency token in the installed model: "
                            f"add it, or say in not_covered why the pack leaves it out")
    if problems:
        raise PackDataError(f"{file} disagrees with the installed {service} model ({len(problems)} problem"
                            f"{'s' * (len(problems) != 1)}):\n  " + "\n  ".join(problems))
    return Pack(service, data.get("title", service), tuple(data.get("stateless", ())), operations, not_covered, file)


def pack_files() -> dict[str, Path]:
    return {path.name[:-len(SUFFIX)]: path for path in sorted(PACK_DIR.glob("*" + SUFFIX))}


def names() -> tuple[str, ...]:
    """Every pack's service name: invoicing (contracts/packs/invoicing.json) and the data packs."""
    return ("invoicing", *pack_files())


@functools.lru_cache(maxsize=None)
def load(service: str) -> Pack:
    """The pack of `service` (cached); PackDataError when its data disagrees with the model, or no such pack."""
    files = pack_files()
    if service not in files:
        raise PackDataError(f"no contract pack for {service!r}; packs: {', '.join(names())}")
    return parse(read_json(files[service], PackDataError, "pack data"), files[service].name)


def declared_errors(service: str, operation: str) -> frozenset[str]:
    return frozenset(shape.name for shape in service_model(service).operation_model(operation).error_shapes)


def operations_of(service: str) -> dict[str, tuple[str, ...]]:
    """A pack's operations for listing: {"token-bearing": (...), "stateless": (...), "not covered": (...)}."""
    if service == "invoicing":
        data = contract.load()
        return {"token-bearing": tuple(data.operations), "stateless": tuple(service_model().operation_names)}
    pack = load(service)
    return {"token-bearing": tuple(pack.operations), "stateless": pack.stateless,
            "not covered": tuple(pack.not_covered)}
