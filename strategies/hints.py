"""Where the model is vague but the service is not: values the target knows, in one place.

The model says an account ID is twelve digits; the service wants an account of the organisation under test.
The model says an ARN has a shape; the service wants one that exists. `Hints` carries what the target knows,
and generation stays model-driven: a hint only narrows which model-valid values are drawn, and every hint value
is checked against the shape it is used for (a value the model refuses is an error, not a silent skip).

Which members a hint applies to is read from the model, not from names typed here:
- account IDs: string shapes whose pattern is exactly twelve ASCII digits (`\\d{12}`, `[0-9]{12}`);
- ARNs: string shapes whose pattern starts with `arn:`; a known ARN is used where it fits the member's pattern
  and length; among those, ARNs whose resource type matches the member name (`InvoiceUnitArn` ->
  `invoice-unit/...`, `ProcurementPortalPreferenceArn` -> `procurement-portal-preference/...`) are preferred, as
  the model's ARN patterns are looser than the service; the generic `ResourceArn` takes any fitting ARN. Where
  none fits, random model-valid ARNs are drawn;
- `members`: explicit values by member name, for anything else (e.g. `{"PortalIdentifier": ["coupa"]}`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterable, Mapping

from botocore.model import Shape

from strategies._regex import compiled, translate

__all__ = ["Hints", "is_account_id", "is_arn", "hinted_values"]

_ACCOUNT_PATTERNS = {"[0-9]{12}", "^[0-9]{12}$"}


@dataclass(frozen=True)
class Hints:
    accounts: tuple[str, ...] = ()
    arns: tuple[str, ...] = ()
    members: tuple[tuple[str, tuple], ...] = field(default=())

    def __init__(
        self,
        accounts: Iterable[str] = (),
        arns: Iterable[str] = (),
        members: Mapping[str, Iterable] | Iterable[tuple[str, Iterable]] = (),
    ):
        # Stored as tuples so Hints is hashable: compiled strategies are cached per (operation, hints).
        items = members.items() if isinstance(members, Mapping) else members
        object.__setattr__(self, "accounts", tuple(accounts))
        object.__setattr__(self, "arns", tuple(arns))
        object.__setattr__(self, "members", tuple(sorted((k, tuple(v)) for k, v in items)))

    def member_values(self, name: str) -> tuple | None:
        for key, values in self.members:
            if key == name:
                return values
        return None


def is_account_id(shape: Shape) -> bool:
    pattern = shape.metadata.get("pattern")
    return shape.type_name == "string" and pattern is not None and translate(pattern, shape.name) in _ACCOUNT_PATTERNS


def is_arn(shape: Shape) -> bool:
    pattern = shape.metadata.get("pattern") or ""
    return shape.type_name == "string" and pattern.lstrip("^").startswith("arn:")


def _kebab(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "-", name).lower()


def _resource_type(arn: str) -> str:
    """`invoice-unit` of `arn:aws:invoicing::123456789012:invoice-unit/abc`."""
    resource = arn.split(":", 5)[-1]
    return re.split(r"[/:]", resource, maxsplit=1)[0]


def fits(value, shape: Shape) -> bool:
    """Whether a hint value satisfies the shape's own constraints (type, length, pattern, enum)."""
    if shape.type_name != "string":
        return True  # non-string hints are checked by the caller's validator tests
    if not isinstance(value, str):
        return False
    meta = shape.metadata
    if "min" in meta and len(value) < meta["min"] or "max" in meta and len(value) > meta["max"]:
        return False
    if meta.get("enum") and value not in meta["enum"]:
        return False
    pattern = meta.get("pattern")
    return pattern is None or compiled(pattern, shape.name).fullmatch(value) is not None


def hinted_values(shape: Shape, member_name: str | None, hints: Hints | None) -> tuple | None:
    """The hint values to draw for this member, or None when no hint applies (draw from the model)."""
    if hints is None:
        return None
    explicit = hints.member_values(member_name) if member_name else None
    if explicit is not None:
        bad = [v for v in explicit if not fits(v, shape)]
        if bad or not explicit:
            raise ValueError(
                f"Hints.members[{member_name!r}] has values the model refuses for shape {shape.name}: {bad!r}"
            )
        return explicit
    if hints.accounts and is_account_id(shape):
        bad = [a for a in hints.accounts if not fits(a, shape)]
        if bad:
            raise ValueError(f"Hints.accounts has values that are not {shape.name} (12 digits): {bad!r}")
        return hints.accounts
    if hints.arns and is_arn(shape):
        fitting = tuple(a for a in hints.arns if fits(a, shape))
        typed = tuple(a for a in fitting if member_name and _resource_type(a) == _kebab(member_name[:-3]))
        return typed or fitting or None
    return None
