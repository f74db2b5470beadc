"""Draft-07 JSON Schemas of operation inputs and outputs, in the JSON WIRE form (AWS JSON 1.0).

Wire form: timestamps are epoch-seconds numbers, blobs base64 strings, structures objects that admit no
members the model does not name. Structures go into `definitions` (so recursive shapes terminate); scalars
are inline. Patterns are the whole-value reading of the translated Java pattern, written so that `re.search`
(how `jsonschema` applies `pattern`) agrees with the local validator's `fullmatch`.
Non-finite floats ("NaN", "Infinity") are accepted as AWS JSON carries them.
"""

from __future__ import annotations

from typing import Any

from botocore.model import Shape

from strategies import INT_BOUNDS, anchored, operation_model

__all__ = ["json_schema", "shape_schema"]

DRAFT_07 = "http://json-schema.org/draft-07/schema#"
_BASE64 = r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$"


def json_schema(operation: str, direction: str, service: str = "invoicing") -> dict:
    """The Draft-07 schema of `operation`'s "input" or "output" (wire form)."""
    if direction not in ("input", "output"):
        raise ValueError(f"direction must be 'input' or 'output', not {direction!r}")
    model = operation_model(operation, service)
    shape = model.input_shape if direction == "input" else model.output_shape
    title = f"{model.service_model.service_name} {operation} {direction}"
    if shape is None:  # no members at all: only the empty object
        return {"$schema": DRAFT_07, "title": title, "type": "object", "maxProperties": 0}
    return shape_schema(shape, title=title)


def shape_schema(shape: Shape, title: str | None = None) -> dict:
    definitions: dict[str, Any] = {}
    root = _Builder(definitions).schema(shape)
    out = {"$schema": DRAFT_07}
    if title:
        out["title"] = title
    out.update(root)
    if definitions:
        out["definitions"] = definitions
    return out


class _Builder:
    def __init__(self, definitions: dict):
        self.definitions = definitions

    def schema(self, shape: Shape) -> dict:
        if getattr(shape, "is_document_type", False):
            return {}  # any JSON value
        return getattr(self, f"_{shape.type_name}")(shape)

    def _structure(self, shape: Shape) -> dict:
        ref = {"$ref": f"#/definitions/{shape.name}"}
        if shape.name in self.definitions:
            return ref
        self.definitions[shape.name] = {}  # placeholder first: recursion ends here
        body: dict[str, Any] = {
            "type": "object",
            "properties": {name: self.schema(member) for name, member in shape.members.items()},
            "additionalProperties": False,
        }
        if shape.required_members:
            body["required"] = list(shape.required_members)
        if getattr(shape, "is_tagged_union", False):
            body["minProperties"] = body["maxProperties"] = 1
        self.definitions[shape.name] = body
        return ref

    def _list(self, shape: Shape) -> dict:
        out = {"type": "array", "items": self.schema(shape.member)}
        _bounds(out, shape, "minItems", "maxItems")
        return out

    def _map(self, shape: Shape) -> dict:
        out = {
            "type": "object",
            "additionalProperties": self.schema(shape.value),
            "propertyNames": self.schema(shape.key),
        }
        _bounds(out, shape, "minProperties", "maxProperties")
        return out

    def _string(self, shape: Shape) -> dict:
        out: dict[str, Any] = {"type": "string"}
        meta = shape.metadata
        if meta.get("enum"):
            out["enum"] = list(meta["enum"])
        _bounds(out, shape, "minLength", "maxLength")
        if meta.get("pattern") is not None:
            out["pattern"] = anchored(meta["pattern"], shape.name)
        return out

    def _integer(self, shape: Shape) -> dict:
        lo, hi = INT_BOUNDS[shape.type_name]
        meta = shape.metadata
        return {"type": "integer", "minimum": max(lo, meta.get("min", lo)), "maximum": min(hi, meta.get("max", hi))}

    _long = _integer

    def _float(self, shape: Shape) -> dict:
        number: dict[str, Any] = {"type": "number"}
        _bounds(number, shape, "minimum", "maximum")
        return {"anyOf": [number, {"enum": ["NaN", "Infinity", "-Infinity"]}]}

    _double = _float

    def _boolean(self, shape: Shape) -> dict:
        return {"type": "boolean"}

    def _timestamp(self, shape: Shape) -> dict:
        return {"type": "number", "description": "epoch seconds"}

    def _blob(self, shape: Shape) -> dict:
        # Byte-length bounds are not expressible on the base64 text exactly; the local validator checks them.
        return {"type": "string", "contentEncoding": "base64", "pattern": _BASE64}


def _bounds(out: dict, shape: Shape, low: str, high: str) -> None:
    meta = shape.metadata
    if "min" in meta:
        out[low] = meta["min"]
    if "max" in meta:
        out[high] = meta["max"]
