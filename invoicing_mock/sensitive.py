"""Request values that must never be echoed: members the model marks `sensitive` (on the member, its shape or
any enclosing shape, e.g. every field of a `Contact`), and `ProcurementPortalSharedSecret` wherever it appears
(the model marks it sensitive in some inputs only, but it is a secret everywhere)."""

from __future__ import annotations

from strategies import is_sensitive, operation_model

ALWAYS_SENSITIVE = frozenset({"ProcurementPortalSharedSecret"})


def sensitive_values(operation: str, params) -> set[str]:
    """The text of every sensitive leaf value in a wire-form request (empty strings left out)."""
    found: set[str] = set()
    _collect(operation_model(operation).input_shape, params, False, found)
    return found


def _collect(shape, value, inherited: bool, found: set[str]) -> None:
    if shape is None or value is None:
        return
    # A sensitive shape hides everything below it; `is_sensitive` also reads a list's or map's element trait,
    # which the walk below would reach anyway.
    hidden = inherited or is_sensitive(shape)
    kind = shape.type_name
    if kind == "structure" and isinstance(value, dict):
        for name, member in shape.members.items():
            if name in value:
                _collect(member, value[name], hidden or name in ALWAYS_SENSITIVE, found)
    elif kind == "list" and isinstance(value, list):
        for item in value:
            _collect(shape.member, item, hidden, found)
    elif kind == "map" and isinstance(value, dict):
        for item in value.values():
            _collect(shape.value, item, hidden, found)
    elif hidden:
        text = value if isinstance(value, str) else str(value)
        if text:
            found.add(text)


def reveals(message: str, secrets: set[str]) -> bool:
    return any(secret in message for secret in secrets)
