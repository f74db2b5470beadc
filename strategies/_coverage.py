"""Valid requests at the model's edges, for a deterministic coverage phase (Schemathesis's coverage phase is the
model): every bounded node at its `min` and at its `max` (string lengths, list and map sizes, number ranges),
and every enum value. `max + 1` and `min - 1` are violation sites already (`sites_of`). A list of key-value
structures (tags) at a size has that many distinct keys.

An edge is a `Site` whose `constraint` is "min", "max" or "enum" and whose `layer` is "valid"; `bound` is the
length, size or number (or the enum value). A valid request with that one node at the edge is a valid request
drawn as usual with the path to the node made present and the node replaced by a value at the edge; edges no
value can reach (a pattern that cannot be that long) are left out, never faked.
"""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import strategies as st

from strategies._compile import INT_BOUNDS, Compiler, pattern_strings, shape_kind, string_bounds
from strategies._violations import Site, _reach, sites_of

__all__ = ["edge_sites", "edge_request"]

# A list or map edge larger than this is built by repeating a few drawn items: a 1000-item list costs as
# little to build as a 3-item one, and what the service must accept is the count.
CYCLE_FROM = 8


def edge_sites(shape) -> list[Site]:
    """Every edge of an input shape, in model order (one per node and edge)."""
    out: list[Site] = []
    for site in sites_of(shape):
        if site.constraint != "type":  # one "type" site per node (the top structure has none: it has no edge)
            continue
        node, kind, meta = site.shape, shape_kind(site.shape), site.shape.metadata

        def add(constraint: str, bound: Any) -> None:
            out.append(Site(site.steps, site.template, constraint, "valid", node, bound=bound,
                            sensitive=site.sensitive))

        if kind == "string":
            if meta.get("enum"):
                for value in meta["enum"]:
                    add("enum", value)
                continue
            lo, hi = string_bounds(node)
            strings = pattern_strings(node)
            for constraint, length in (("min", lo), ("max", hi)):
                if length is not None and strings.can_reach(length, length):
                    add(constraint, length)
        elif kind in ("list", "map", "blob"):
            lo, hi = meta.get("min", 0), meta.get("max")
            add("min", lo)
            if hi is not None and hi != lo:
                add("max", hi)
        elif kind in INT_BOUNDS or kind in ("float", "double"):
            for constraint in ("min", "max"):
                if constraint in meta:
                    add(constraint, meta[constraint])
    return out


def _cycled(items: list, size: int) -> list:
    return [copy.deepcopy(items[i % len(items)]) for i in range(size)] if items else []


def _key_member(list_shape) -> str | None:
    """`Key` when the list's items are key-value structures with a required string `Key` (a map written as a
    list, AWS's tag convention): its keys differ, as a map's do, or a count edge is no count at all (200 tags of
    one key are one tag)."""
    item = list_shape.member
    if shape_kind(item) == "structure" and "Key" in item.required_members and \
            shape_kind(item.members["Key"]) == "string":
        return "Key"
    return None


def _distinct_keys(items: list, key: str, key_shape) -> list:
    """`items` with every repeated key made unique by a numbered suffix (or tail) the key's pattern and length
    allow; an item no such key fits keeps its key (left as it is, never faked)."""
    strings, (lo, hi) = pattern_strings(key_shape), string_bounds(key_shape)
    seen: set[str] = set()
    for number, item in enumerate(items):
        original = item.get(key)
        if not isinstance(original, str):
            continue
        if original in seen:
            tag = f"{number:x}"
            for candidate in (original + tag, original[: max(len(original) - len(tag), 0)] + tag, tag):
                if candidate not in seen and lo <= len(candidate) <= (hi if hi is not None else len(candidate)) \
                        and strings.full(candidate):
                    item[key] = candidate
                    break
        seen.add(item[key])
    return items


def edge_request(root, site: Site, compiler: Compiler) -> st.SearchStrategy[dict]:
    return _edge_request(root, site, compiler, compiler.valid(root))


@st.composite
def _edge_request(data, root, site: Site, compiler: Compiler, base) -> dict:
    params = copy.deepcopy(data(base))
    parent, key, _node, shape, _path = _reach(site, compiler, params, root, data)
    kind, bound = shape_kind(shape), site.bound
    value: Any
    if site.constraint == "enum" or kind in INT_BOUNDS or kind in ("float", "double"):
        value = bound
    elif kind == "string":
        value = data(pattern_strings(shape).valid(bound, bound))
    elif kind == "blob":
        value = bytes(data(st.binary(min_size=min(bound, 1), max_size=min(bound, 1))) * bound)[:bound]
    elif kind == "list":
        item = compiler.valid(shape.member, None, (), site.template + "[]")
        value = _cycled(data(st.lists(item, min_size=min(bound, 1), max_size=min(bound, CYCLE_FROM))), bound) \
            if bound > CYCLE_FROM else data(st.lists(item, min_size=bound, max_size=bound))
        keyed = _key_member(shape)
        if keyed:
            value = _distinct_keys(value, keyed, shape.member.members[keyed])
    else:  # map: keys must differ, so it is drawn at its size
        key_strategy = compiler.valid(shape.key, None, (), site.template)
        value = data(st.dictionaries(key_strategy, compiler.valid(shape.value, None, (), site.template + "[]"),
                                     min_size=bound, max_size=bound))
    parent[key] = value
    return params
