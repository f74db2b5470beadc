"""Facts every consumer of a botocore model asks for, stated once: which members carry the idempotencyToken
trait, which the model marks sensitive, and the numeric range of each integer type.

Traits are read from the resolved members (`StructureShape.members`), where botocore puts member-level traits
such as `idempotencyToken`, not from the raw shape JSON.
"""

from __future__ import annotations

import functools

from botocore.model import OperationModel, Shape

from strategies._model import service_model

# botocore's `integer` and `long` are Smithy's 32- and 64-bit signed integers.
INT_BOUNDS = {"integer": (-(2**31), 2**31 - 1), "long": (-(2**63), 2**63 - 1)}


def token_members(operation: str | OperationModel, service: str = "invoicing") -> list[str]:
    """Input members of `operation` (a name in the installed model, or an OperationModel of any model) with the
    idempotencyToken trait; empty when it has none."""
    if isinstance(operation, str):
        operation = service_model(service).operation_model(operation)
    shape = operation.input_shape
    if shape is None:
        return []
    return [name for name, member in shape.members.items() if member.metadata.get("idempotencyToken")]


def is_sensitive(shape: Shape | None) -> bool:
    """The shape, or the element or value shape of a list or map, carries the `sensitive` trait."""
    if shape is None:
        return False
    if shape.metadata.get("sensitive") or getattr(shape, "serialization", {}).get("sensitive"):
        return True
    if shape.type_name == "list":
        return is_sensitive(shape.member)
    if shape.type_name == "map":
        return is_sensitive(shape.value)
    return False


@functools.lru_cache(maxsize=None)
def sensitive_members(service: str = "invoicing") -> frozenset[str]:
    """Names of members the model marks sensitive on any operation's input, output or errors."""
    model = service_model(service)
    names: set[str] = set()
    seen: set[str] = set()

    def walk(shape: Shape | None) -> None:
        if shape is None or shape.name in seen:
            return
        seen.add(shape.name)
        if shape.type_name == "structure":
            for name, member in shape.members.items():
                if is_sensitive(member):
                    names.add(name)
                walk(member)
        elif shape.type_name == "list":
            walk(shape.member)
        elif shape.type_name == "map":
            walk(shape.value)

    for op_name in model.operation_names:
        op = model.operation_model(op_name)
        walk(op.input_shape)
        walk(op.output_shape)
        for error in op.error_shapes:
            walk(error)
    return frozenset(names)
