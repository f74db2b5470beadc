"""The full local validator: every constraint the model states, the oracle that botocore is not.

botocore's ParamValidator checks required, type, `min` and unknown members only; it skips `max`, `pattern` and
`enum`. This module checks all of them, on the Python form (what boto3 takes) or the JSON wire form (what the
emulator receives: AWS JSON 1.0, timestamps as epoch seconds, blobs as base64 strings).

Reading choices, stated once:
- patterns are whole-value matches (`fullmatch`) of the Java pattern translated by `strategies._regex`;
- string and list lengths count code points / items, blob lengths count bytes;
- `integer` is 32-bit and `long` 64-bit: a value outside is a "type" problem;
- `bool` is not an integer (botocore lets `True` through as an int; the wire would carry `true`);
- wire form only: a JSON `null` member is treated as absent (AWS JSON), so it is "required" if required.
Values of members marked sensitive (or inside a sensitive structure) never appear in messages.
"""

from __future__ import annotations

import base64
import binascii
import datetime as _dt
import decimal
import math
from dataclasses import dataclass
from typing import Any

from botocore.model import Shape
from botocore.utils import parse_to_aware_datetime

from strategies import INT_BOUNDS, compiled, describe, operation_model, quote_path_key

__all__ = ["Problem", "validate_request", "validate_value"]



@dataclass(frozen=True)
class Problem:
    """One broken constraint: `path` in the shared syntax (`Rule.LinkedAccounts[0]`, `` for the request)."""

    path: str
    constraint: str  # required | type | min | max | pattern | enum | unknown
    message: str

    def __str__(self) -> str:
        return self.message


def validate_request(
    operation: str, params: Any, service: str = "invoicing", *, wire: bool = False
) -> list[Problem]:
    """Every problem of `params` as input of `operation`; empty when valid. Unknown names raise UnknownName."""
    shape = operation_model(operation, service).input_shape
    if shape is None:
        if params in ({}, None):
            return []
        return [Problem("", "unknown", describe("unknown", "", f"{operation} takes no input"))]
    return validate_value(params, shape, wire=wire)


def validate_value(value: Any, shape: Shape, *, wire: bool = False, path: str = "") -> list[Problem]:
    """Problems of `value` against any shape (also used for outputs and by the emulator for nested parts)."""
    problems: list[Problem] = []
    _Checker(wire, problems).check(value, shape, path, bool(shape.metadata.get("sensitive")))
    return problems


def _join(path: str, member: str) -> str:
    return f"{path}.{member}" if path else member


def _type_name(value: Any) -> str:
    return "null" if value is None else type(value).__name__


class _Checker:
    def __init__(self, wire: bool, problems: list[Problem]):
        self.wire, self.problems = wire, problems

    def add(self, path: str, constraint: str, detail: str, bound: Any = None) -> None:
        self.problems.append(Problem(path, constraint, describe(constraint, path, detail, bound)))

    def shown(self, value: Any, sensitive: bool) -> str:
        if sensitive:
            return "a sensitive value"
        text = repr(value)
        return text if len(text) <= 60 else text[:57] + "..."

    def check(self, value: Any, shape: Shape, path: str, sensitive: bool) -> None:
        sensitive = sensitive or bool(shape.metadata.get("sensitive"))
        kind = "document" if getattr(shape, "is_document_type", False) else shape.type_name
        getattr(self, f"check_{kind}")(value, shape, path, sensitive)

    def wrong_type(self, value: Any, expected: str, path: str) -> None:
        self.add(path, "type", f"expected {expected}, got {_type_name(value)}")

    # -- containers ---------------------------------------------------------------------------------------------

    def check_structure(self, value: Any, shape: Shape, path: str, sensitive: bool) -> None:
        if not isinstance(value, dict):
            return self.wrong_type(value, "an object (dict)", path)
        members = shape.members
        present = {k: v for k, v in value.items() if not (self.wire and v is None)}
        for name in shape.required_members:
            if name not in present:
                self.add(_join(path, name), "required", "missing")
        for name in present:
            if name not in members:
                where = f"{shape.name} has members: {', '.join(members) or 'none'}"
                self.add(_join(path, str(name)), "unknown", f"not a member; {where}")
        if getattr(shape, "is_tagged_union", False):
            set_members = [n for n in present if n in members]
            if len(set_members) != 1:
                self.add(path, "type", f"a tagged union sets exactly one member, got {len(set_members)}")
        for name, item in present.items():
            if name in members:
                self.check(item, members[name], _join(path, name), sensitive)

    def check_list(self, value: Any, shape: Shape, path: str, sensitive: bool) -> None:
        allowed = (list,) if self.wire else (list, tuple)
        if not isinstance(value, allowed):
            return self.wrong_type(value, "a list", path)
        self.length(len(value), shape, path, "items")
        for i, item in enumerate(value):
            self.check(item, shape.member, f"{path}[{i}]", sensitive)

    def check_map(self, value: Any, shape: Shape, path: str, sensitive: bool) -> None:
        if not isinstance(value, dict):
            return self.wrong_type(value, "an object (dict)", path)
        self.length(len(value), shape, path, "entries")
        for key, item in value.items():
            key_problems = validate_value(key, shape.key, wire=self.wire, path=path)
            for problem in key_problems:  # a bad key is reported on the map, the message says it is the key
                self.problems.append(Problem(path, problem.constraint, f"map key: {problem.message}"))
            self.check(item, shape.value, f"{path}[{quote_path_key(key)}]", sensitive)

    def check_document(self, value: Any, shape: Shape, path: str, sensitive: bool) -> None:
        if value is None or isinstance(value, (str, bool, int, float)):
            if isinstance(value, float) and not math.isfinite(value):
                self.wrong_type(value, "a finite JSON number", path)
            return
        if isinstance(value, list):
            for i, item in enumerate(value):
                self.check_document(item, shape, f"{path}[{i}]", sensitive)
        elif isinstance(value, dict):
            for key, item in value.items():
                if not isinstance(key, str):
                    self.wrong_type(key, "a string key", path)
                self.check_document(item, shape, f"{path}[{quote_path_key(key)}]", sensitive)
        else:
            self.wrong_type(value, "a JSON document value", path)

    # -- scalars ------------------------------------------------------------------------------------------------

    def check_string(self, value: Any, shape: Shape, path: str, sensitive: bool) -> None:
        if not isinstance(value, str):
            return self.wrong_type(value, "a string", path)
        meta = shape.metadata
        enum = meta.get("enum")
        if enum and value not in enum:
            self.add(path, "enum", f"was {self.shown(value, sensitive)}, not one of {', '.join(enum)}")
        self.length(len(value), shape, path, "characters")
        pattern = meta.get("pattern")
        if pattern is not None and compiled(pattern, shape.name).fullmatch(value) is None:
            self.add(path, "pattern", f"was {self.shown(value, sensitive)}, must fully match {pattern}")

    def check_integer(self, value: Any, shape: Shape, path: str, sensitive: bool) -> None:
        if isinstance(value, bool) or not isinstance(value, int):
            return self.wrong_type(value, f"an {shape.type_name}", path)
        lo, hi = INT_BOUNDS[shape.type_name]
        if not lo <= value <= hi:
            return self.add(path, "type", f"{value} does not fit a {shape.type_name} ({lo}..{hi})")
        self.value_range(value, shape, path, sensitive)

    check_long = check_integer

    def check_float(self, value: Any, shape: Shape, path: str, sensitive: bool) -> None:
        if self.wire and value in ("NaN", "Infinity", "-Infinity"):
            return  # AWS JSON carries non-finite numbers as these strings
        numbers = (int, float) if self.wire else (int, float, decimal.Decimal)
        if isinstance(value, bool) or not isinstance(value, numbers):
            return self.wrong_type(value, f"a {shape.type_name}", path)
        if math.isfinite(value):
            self.value_range(value, shape, path, sensitive)

    check_double = check_float

    def check_boolean(self, value: Any, shape: Shape, path: str, sensitive: bool) -> None:
        if not isinstance(value, bool):
            self.wrong_type(value, "a boolean", path)

    def check_timestamp(self, value: Any, shape: Shape, path: str, sensitive: bool) -> None:
        if self.wire:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                self.wrong_type(value, "epoch seconds (a JSON number)", path)
            return
        if isinstance(value, _dt.datetime):
            return
        try:  # what botocore itself accepts: datetimes, epoch numbers, ISO 8601 strings
            parse_to_aware_datetime(value)
        except (TypeError, ValueError, AttributeError, OverflowError):
            self.wrong_type(value, "a datetime (or a timestamp string botocore can parse)", path)

    def check_blob(self, value: Any, shape: Shape, path: str, sensitive: bool) -> None:
        if self.wire:
            if not isinstance(value, str):
                return self.wrong_type(value, "a base64 string", path)
            try:
                data = base64.b64decode(value, validate=True)
            except (binascii.Error, ValueError):
                return self.wrong_type(value, "a base64 string", path)
        elif isinstance(value, (bytes, bytearray)):
            data = value
        elif isinstance(value, str):
            data = value.encode("utf-8")
        elif hasattr(value, "read"):
            return  # file-like: botocore streams it, its length is not known here
        else:
            return self.wrong_type(value, "bytes", path)
        self.length(len(data), shape, path, "bytes")

    # -- bounds -------------------------------------------------------------------------------------------------

    def length(self, size: int, shape: Shape, path: str, unit: str) -> None:
        meta = shape.metadata
        if "min" in meta and size < meta["min"]:
            self.add(path, "min", f"was {size} {unit}", meta["min"])
        if "max" in meta and size > meta["max"]:
            self.add(path, "max", f"was {size} {unit}", meta["max"])

    def value_range(self, value: Any, shape: Shape, path: str, sensitive: bool) -> None:
        meta = shape.metadata
        shown = self.shown(value, sensitive)
        if "min" in meta and value < meta["min"]:
            self.add(path, "min", f"was {shown}", meta["min"])
        if "max" in meta and value > meta["max"]:
            self.add(path, "max", f"was {shown}", meta["max"])
