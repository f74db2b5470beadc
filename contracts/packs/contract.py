"""The Invoicing contract data (contracts/packs/invoicing.json), checked against the installed botocore model.

The model decides names, members and declared errors; the data file adds only what the model cannot say (which
operation reads a resource back, which error answers a token conflict, which response members are volatile).
Loading fails loudly, with every disagreement listed, so a model update cannot silently skip a contract.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from botocore.model import OperationModel, ServiceModel, Shape

from contracts.packs import bases as _bases
from contracts.packs.files import read_json
from strategies import service_model, token_members

DATA_FILE = Path(__file__).with_name("invoicing.json")
EFFECTS = ("create", "update", "delete", "action")


class ContractDataError(RuntimeError):
    """contracts/packs/invoicing.json disagrees with the installed model; the message lists every disagreement."""


@dataclass(frozen=True)
class Resource:
    kind: str
    identifier: str  # the input/output member that names one resource (an ARN)
    read: str  # operation that reads one resource back
    read_member: str  # member of the read output holding the resource ("" when the output is the resource)
    list: str
    list_member: str
    read_volatile: tuple[str, ...]


@dataclass(frozen=True)
class TokenOperation:
    name: str
    resource: Resource
    effect: str  # create | update | delete | action
    token_member: str
    response_identifier: str
    conflict_error: str
    volatile: tuple[str, ...]
    declared_errors: frozenset[str]
    # Every error that rejects a token conflict (contracts/packs/bases.json: conflict_answers); conflict_error is
    # the emulator's choice among them, an assumed expectation elsewhere.
    conflict_answers: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Contract:
    service: str
    resources: dict[str, Resource]
    operations: dict[str, TokenOperation]  # the token-bearing operations, in the model's order
    explained_errors: dict[str, str]
    domain_reasons: frozenset[str]
    point_in_time_members: frozenset[str] = frozenset()

    def declared_errors(self, operation: str) -> frozenset[str]:
        return declared_errors(operation, self.service)

    def resource_of(self, operation: str) -> Resource | None:
        entry = self.operations.get(operation)
        return entry.resource if entry else None

    def equivalent(self, operation: str, first: dict, second: dict) -> bool:
        """Whether two payloads are the same request by the model and the documentation (bases.json:
        equivalences), so reusing a token with the second is a replay, not a conflict."""
        return _bases.load().equivalent(operation, first, second)


def declared_errors(operation: str, service: str = "invoicing") -> frozenset[str]:
    return frozenset(shape.name for shape in service_model(service).operation_model(operation).error_shapes)


def _member_path_exists(shape: Shape | None, path: str) -> bool:
    for part in path.split("."):
        if shape is None or shape.type_name != "structure" or part not in shape.members:
            return False
        shape = shape.members[part]
    return True


def _check_operation(name: str, entry: dict, resources: dict, op: OperationModel, problems: list[str]) -> None:
    where = f"operations.{name}"
    tokens = token_members(op)
    if not tokens:
        problems.append(f"{where}: the installed model gives {name} no idempotency token; remove the entry")
    if entry.get("resource") not in resources:
        problems.append(f"{where}.resource: {entry.get('resource')!r} is not one of {sorted(resources)}")
    if entry.get("effect") not in EFFECTS:
        problems.append(f"{where}.effect: {entry.get('effect')!r} is not one of {list(EFFECTS)}")
    ident = entry.get("response_identifier", "")
    if not _member_path_exists(op.output_shape, ident):
        problems.append(f"{where}.response_identifier: {ident!r} is not a member of {name}'s output")
    errors = {shape.name for shape in op.error_shapes}
    expected = "ConflictException" if "ConflictException" in errors else "ValidationException"
    if entry.get("conflict_error") != expected:
        problems.append(
            f"{where}.conflict_error: is {entry.get('conflict_error')!r}, but {name} "
            f"{'declares' if expected == 'ConflictException' else 'does not declare'} ConflictException, "
            f"so a token conflict must be answered with {expected}"
        )
    answers = _bases.load().conflict_answers(op)
    if entry.get("conflict_error") == expected and expected not in answers:
        problems.append(f"{where}.conflict_error: {entry.get('conflict_error')!r} does not reject a conflict for "
                        f"{name}; the answers are {sorted(answers)} (bases.json: conflict_answers)")
    for path in entry.get("volatile", []):
        if not _member_path_exists(op.output_shape, path):
            problems.append(f"{where}.volatile: {path!r} is not a member of {name}'s output")
    resource = resources.get(entry.get("resource"))
    ident_in = resource.get("identifier", "") if resource else ""
    if resource and entry.get("effect") != "create" and not _member_path_exists(op.input_shape, ident_in):
        problems.append(f"{where}: {name}'s input has no {ident_in!r} to name the resource it changes")


def _check_resource(kind: str, entry: dict, model: ServiceModel, problems: list[str]) -> None:
    where = f"resources.{kind}"
    names = list(model.operation_names)
    for key in ("read", "list"):
        if entry.get(key) not in names:
            problems.append(f"{where}.{key}: {entry.get(key)!r} is not an operation of the installed model")
            return
    read = model.operation_model(entry["read"])
    if not _member_path_exists(read.input_shape, entry["identifier"]):
        problems.append(f"{where}.identifier: {entry['read']} takes no {entry['identifier']!r}")
    holder = entry["read_member"]
    if holder and not _member_path_exists(read.output_shape, holder):
        problems.append(f"{where}.read_member: {holder!r} is not a member of {entry['read']}'s output")
    listing = model.operation_model(entry["list"])
    if not _member_path_exists(listing.output_shape, entry["list_member"]):
        problems.append(f"{where}.list_member: {entry['list_member']!r} is not in {entry['list']}'s output")
    read_shape = read.output_shape
    if holder and read_shape is not None:
        read_shape = read_shape.members.get(holder)
    for path in entry.get("read_volatile", []):
        if not _member_path_exists(read_shape, path):
            problems.append(f"{where}.read_volatile: {path!r} is not a member of what {entry['read']} returns")


def parse(data: dict, model: ServiceModel | None = None) -> Contract:
    """Check contract data against a model (default: the installed one) and build it; ContractDataError."""
    service = data.get("service", "invoicing")
    model = model or service_model(service)
    names = list(model.operation_names)
    problems: list[str] = []
    raw_resources = data.get("resources", {})
    for kind, entry in raw_resources.items():
        _check_resource(kind, entry, model, problems)
    raw_ops = data.get("operations", {})
    for name, entry in raw_ops.items():
        if name not in names:
            problems.append(f"operations.{name}: not an operation of the installed {service} model")
            continue
        _check_operation(name, entry, raw_resources, model.operation_model(name), problems)
    # Every token-bearing operation needs an entry: a missing one is a failure, never a silent skip.
    for name in names:
        if token_members(model.operation_model(name)) and name not in raw_ops:
            problems.append(
                f"operations.{name}: missing; {name} has an idempotency token in the installed model, "
                f"add its resource, effect, response_identifier, conflict_error and volatile to {DATA_FILE.name}"
            )
    errors_everywhere = {shape.name for op in names for shape in model.operation_model(op).error_shapes}
    for code in data.get("explained_errors", {}):
        if not code.startswith("_") and code not in errors_everywhere:
            problems.append(f"explained_errors.{code}: no operation of the installed model declares it")
    past = data.get("point_in_time_members", {}).get("members", [])
    for name in past:
        if not any(model.operation_model(op).input_shape is not None
                   and name in model.operation_model(op).input_shape.members for op in names):
            problems.append(f"point_in_time_members: no operation of the model takes {name!r}")
    reasons = model.shape_for("ValidationExceptionReason").enum if "ValidationExceptionReason" in \
        model.shape_names else []
    for reason in data.get("domain_reasons", []):
        if reason not in reasons:
            problems.append(f"domain_reasons: {reason!r} is not a ValidationExceptionReason of the model "
                            f"({', '.join(reasons)})")
    if problems:
        raise ContractDataError(
            f"{DATA_FILE.name} disagrees with the {service} model "
            f"({len(problems)} problem{'s' * (len(problems) != 1)}):\n  " + "\n  ".join(problems)
        )
    resources = {
        kind: Resource(
            kind=kind,
            identifier=entry["identifier"],
            read=entry["read"],
            read_member=entry["read_member"],
            list=entry["list"],
            list_member=entry["list_member"],
            read_volatile=tuple(entry.get("read_volatile", [])),
        )
        for kind, entry in raw_resources.items()
    }
    operations = {
        name: TokenOperation(
            name=name,
            resource=resources[raw_ops[name]["resource"]],
            effect=raw_ops[name]["effect"],
            token_member=token_members(model.operation_model(name))[0],
            response_identifier=raw_ops[name]["response_identifier"],
            conflict_error=raw_ops[name]["conflict_error"],
            volatile=tuple(raw_ops[name].get("volatile", [])),
            declared_errors=frozenset(e.name for e in model.operation_model(name).error_shapes),
            conflict_answers=_bases.load().conflict_answers(model.operation_model(name)),
        )
        for name in names
        if name in raw_ops
    }
    explained = {k: v for k, v in data.get("explained_errors", {}).items() if not k.startswith("_")}
    return Contract(
        service=service,
        resources=resources,
        operations=operations,
        explained_errors=explained,
        domain_reasons=frozenset(data.get("domain_reasons", [])),
        point_in_time_members=frozenset(past),
    )


@functools.lru_cache(maxsize=None)
def load(path: str | None = None) -> Contract:
    """The contract of the installed model (cached); ContractDataError when the data file disagrees."""
    return parse(read_json(Path(path) if path else DATA_FILE, ContractDataError, "contract data"))
