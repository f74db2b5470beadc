"""Valid requests that differ from a given one in exactly one field: the payloads of token-conflict tests.

Kinds of difference, each at one path: a scalar changed; an optional member omitted, added, or sent with an
explicit default-like value ("" / False / 0 / [] / {}) where it was omitted; a list reordered, one item
appended or removed; a map entry added or removed. Nested fields are walked. Members with the
idempotencyToken trait are never mutated: changing the token is a new request, not a conflicting one.
A change is only offered where the model allows another value (an enum of one value cannot change); it draws
from the hints when they offer another value, else from the model (a single known ARN can still be changed).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from botocore.model import Shape
from hypothesis import strategies as st

from strategies._compile import Compiler, pattern_strings, shape_kind, string_bounds
from strategies._describe import quote_path_key
from strategies.hints import hinted_values

__all__ = ["Mutation", "mutation_sites", "mutation_strategy"]


@dataclass(frozen=True, eq=False)
class Mutation:
    path: str
    params: dict
    description: str
    kind: str = ""


@dataclass(frozen=True)
class _Site:
    kind: str  # change | omit | add | explicit | reorder | append | remove-item | add-key | remove-key
    steps: tuple  # concrete keys/indices from the request to the node (for omit/add/explicit: to the parent)
    path: str
    shape: Any
    member: str | None = None


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _explicit_default(shape: Shape):
    """The "empty" value a client might send instead of omitting the member, if the model allows it."""
    kind, meta = shape_kind(shape), shape.metadata
    if kind == "boolean":
        return False
    if kind == "string" and not meta.get("enum") and meta.get("min", 0) == 0 and pattern_strings(shape).full(""):
        return ""
    if kind == "list" and meta.get("min", 0) == 0:
        return []
    if kind == "map" and meta.get("min", 0) == 0:
        return {}
    if kind == "structure" and not shape.required_members:
        return {}
    if kind in ("integer", "long") and meta.get("min", 0) <= 0 <= meta.get("max", 0):
        return 0
    return None


def _can_change(shape: Shape, current) -> bool:
    """Whether the model allows another value here (hints narrow the choice, they never forbid a change)."""
    meta = shape.metadata
    if meta.get("enum"):
        return len(set(meta["enum"]) - {current}) > 0
    if shape_kind(shape) == "string":
        lo, hi = string_bounds(shape)
        return hi is None or hi > 0 or lo < hi
    return True


def _other_value(shape: Shape, member: str | None, compiler: Compiler, path: str, old) -> st.SearchStrategy:
    """Another valid value: from the hints when they offer one, else from the model."""
    hinted = hinted_values(shape, member, compiler.hints)
    if hinted is not None and set(hinted) - {old}:
        return st.sampled_from([v for v in hinted if v != old])
    return Compiler(None).valid(shape, member, (), path).filter(lambda v: v != old)


def mutation_sites(root: Shape, params: dict, hints=None) -> list[_Site]:
    out: list[_Site] = []
    _walk(params, root, (), "", None, hints, out)
    return out


def _walk(value, shape, steps, path, member_name, hints, out):
    kind = shape_kind(shape)
    if kind == "structure" and isinstance(value, dict):
        for name, member in shape.members.items():
            if member.metadata.get("idempotencyToken"):
                continue
            member_path = _join(path, name)
            if name in value:
                if name not in shape.required_members:
                    out.append(_Site("omit", steps, member_path, member, name))
                _walk(value[name], member, steps + (name,), member_path, name, hints, out)
            else:
                out.append(_Site("add", steps, member_path, member, name))
                if _explicit_default(member) is not None:
                    out.append(_Site("explicit", steps, member_path, member, name))
    elif kind == "list" and isinstance(value, list):
        meta = shape.metadata
        if len(value) >= 2 and any(item != value[0] for item in value):
            out.append(_Site("reorder", steps, path, shape))
        hinted = hinted_values(shape.member, None, hints)
        room = hinted is None or bool(set(hinted) - set(value))  # hinted identities are not repeated
        if len(value) < meta.get("max", len(value) + 1) and room:
            out.append(_Site("append", steps, path, shape))
        if len(value) > meta.get("min", 0):
            out.append(_Site("remove-item", steps, path, shape))
        for i, item in enumerate(value):
            _walk(item, shape.member, steps + (i,), f"{path}[{i}]", None, hints, out)
    elif kind == "map" and isinstance(value, dict):
        meta = shape.metadata
        if len(value) < meta.get("max", len(value) + 1):
            out.append(_Site("add-key", steps, path, shape))
        if len(value) > meta.get("min", 0):
            out.append(_Site("remove-key", steps, path, shape))
        for key, item in value.items():
            _walk(item, shape.value, steps + (key,), f"{path}[{quote_path_key(key)}]", None, hints, out)
    elif kind not in ("structure", "list", "map", "union") and _can_change(shape, value):
        out.append(_Site("change", steps, path, shape, member_name))


def mutation_strategy(root: Shape, params: dict, compiler: Compiler) -> st.SearchStrategy[Mutation]:
    sites = mutation_sites(root, params, compiler.hints)
    if not sites:
        raise ValueError("no field of these params can change while the request stays valid")
    return st.sampled_from(sites).flatmap(lambda site: _mutated(site, params, compiler))


# Defined once at module level: Hypothesis reads a composite's source each time one is defined, and a
# mutation strategy is built per drawn site.
@st.composite
def _mutated(data, site: _Site, params: dict, compiler: Compiler) -> Mutation:
    new = copy.deepcopy(params)
    parent, key, node = None, None, new
    for step in site.steps:
        parent, key, node = node, step, node[step]
    if site.kind == "omit":
        del node[site.member]
        text = f"omitted {site.path}"
    elif site.kind == "add":
        node[site.member] = data(compiler.valid(site.shape, site.member, (), site.path))
        text = f"added {site.path}"
    elif site.kind == "explicit":
        node[site.member] = _explicit_default(site.shape)
        text = f"sent {site.path} explicitly as {node[site.member]!r} instead of omitting it"
    elif site.kind == "change":
        old = node
        new_value = data(_other_value(site.shape, site.member, compiler, site.path, old))
        if parent is None:
            raise AssertionError("a scalar at the top level")
        parent[key] = new_value
        text = f"changed {site.path}"
    elif site.kind == "reorder":
        original = list(node)
        node[:] = data(st.permutations(original).filter(lambda p: p != original))
        text = f"reordered {site.path}"
    elif site.kind == "append":
        item = compiler.valid(site.shape.member, None, (), site.path + "[]")
        if hinted_values(site.shape.member, None, compiler.hints) is not None:
            item = item.filter(lambda v: v not in node)  # hinted identities stay unique
        node.append(data(item))
        text = f"appended an item to {site.path}"
    elif site.kind == "remove-item":
        index = data(st.integers(0, len(node) - 1))
        del node[index]
        text = f"removed {site.path}[{index}]"
    elif site.kind == "add-key":
        k = data(compiler.valid(site.shape.key, None, (), site.path).filter(lambda k: k not in node))
        node[k] = data(compiler.valid(site.shape.value, None, (), site.path))
        text = f"added {site.path}[{quote_path_key(k)}]"
    else:  # remove-key
        k = data(st.sampled_from(sorted(node)))
        del node[k]
        text = f"removed {site.path}[{quote_path_key(k)}]"
    return Mutation(site.path, new, text, site.kind)
