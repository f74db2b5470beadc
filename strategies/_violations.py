"""Invalid requests with exactly one labelled violation, and pattern-ambiguous requests that only document.

The model is walked once per operation into *sites*: (where, which constraint). An invalid request is a valid
request (drawn as usual, hints included) with the path to one site made present and that one node broken.
Each label carries the layer that must refuse it:
- "client": botocore's ParamValidator raises (required, unknown members, wrong types, and `min` on strings,
  lists and numbers: botocore's `range_check` runs for those and not for blobs or maps);
- "server": only the service can (max, pattern, enum, and min on blobs and maps).
When no value can break one constraint alone (e.g. an empty string below min=1 can never match
`[a-z]+@...`), the label lists the constraints that necessarily break with it in `implied`; the compiler proves
this from the pattern's length range, it never guesses.

Pattern sites exist only where a value fails EVERY reading (no substring matches, read as Java or as
ECMAScript). Values some reading accepts and another refuses (somewhere but not as a whole value; whole under
Java but not ECMAScript) are `AmbiguousRequest`s: targets may differ on them, so they document, never fail.
"""

from __future__ import annotations

import copy
import functools
from dataclasses import dataclass, field
from typing import Any

from botocore.model import Shape
from hypothesis import strategies as st

from strategies._compile import (
    ANY_TEXT, BOTOCORE_TYPES, INT_BOUNDS, Compiler, pattern_strings, shape_kind, string_bounds,
)
from strategies._describe import describe, quote_path_key
from strategies._patterns import PatternStrings

__all__ = ["Violation", "InvalidRequest", "AmbiguousRequest", "Site", "sites_of", "invalid_for_site",
           "ambiguous_sites", "ambiguous_for_site", "CONSTRAINTS"]

CONSTRAINTS = ("required", "type", "min", "max", "pattern", "enum", "unknown")
EXCESS = 3  # too-long lists/blobs/strings go this far past max

# Which layer refuses a value below `min`, per type: botocore's range_check runs for these and no others.
MIN_LAYER = {
    "string": "client", "list": "client", "integer": "client", "long": "client", "float": "client",
    "double": "client", "blob": "server", "map": "server",
}
# Types that carry no min/max in botocore models.
NO_BOUNDS = {"boolean", "timestamp", "structure"}
assert BOTOCORE_TYPES <= set(MIN_LAYER) | NO_BOUNDS, (
    f"strategies/_violations.py: say which layer refuses min for {sorted(BOTOCORE_TYPES - set(MIN_LAYER) - NO_BOUNDS)}"
)

# Wrong-typed values botocore's type check rejects (careful: bool passes as int and as float there, and
# numbers or ISO strings pass as timestamps). All JSON-serialisable, so they can also go over the wire.
WRONG_TYPE = {
    "structure": st.sampled_from(["not-an-object", [1]]),
    "union": st.sampled_from(["not-an-object", [1]]),
    "list": st.sampled_from(["not-a-list", 7]),
    "map": st.sampled_from(["not-a-map", [1]]),
    "string": st.integers(-1000, 1000),
    "integer": st.sampled_from(["1", "one", 1.5]),
    "long": st.sampled_from(["1", "one", 1.5]),
    "float": st.sampled_from(["1.5", "one"]),
    "double": st.sampled_from(["1.5", "one"]),
    "boolean": st.sampled_from(["true", "false", 1, 0]),
    "timestamp": st.sampled_from(["not-a-timestamp", [2024, 1, 1], {"seconds": 0}]),
    "blob": st.sampled_from([7, [1, 2]]),
}
assert BOTOCORE_TYPES <= set(WRONG_TYPE), "strategies/_violations.py: add a wrong-typed value for new botocore types"
UNKNOWN_VALUES = st.sampled_from(["x", 1, True])


@dataclass(frozen=True)
class Violation:
    """The one constraint an invalid request breaks; `implied` lists those that necessarily break with it."""

    path: str
    constraint: str
    layer: str
    description: str
    implied: tuple[str, ...] = ()


@dataclass(frozen=True, eq=False)
class InvalidRequest:
    params: dict
    violation: Violation
    operation: str = ""


@dataclass(frozen=True, eq=False)
class AmbiguousRequest:
    """Matches the pattern somewhere (unanchored reading) but not as a whole value (anchored reading)."""

    params: dict
    path: str
    pattern: str
    description: str
    operation: str = ""


@dataclass(frozen=True)
class Site:
    """One (node, constraint) of an operation's input; `template` is the path with `[]` for any index/key."""

    steps: tuple[tuple[str, ...], ...]
    template: str
    constraint: str
    layer: str
    shape: Shape = field(compare=False, repr=False)
    member: str | None = None  # required: the member removed from the structure at `steps`
    implied: tuple[str, ...] = ()
    bound: Any = None
    sensitive: bool = False

    @property
    def member_template(self) -> str:
        """The member the constraint is about (for required, the missing member)."""
        if self.constraint == "required":
            return f"{self.template}.{self.member}" if self.template else self.member
        if self.constraint == "unknown":
            return f"{self.template}.*" if self.template else "*"
        return self.template


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def sites_of(shape: Shape) -> list[Site]:
    """Every violation site of an input shape, in model order."""
    out: list[Site] = []
    _walk(shape, (), "", (), False, out, top=True)
    return out


def _walk(shape, steps, template, stack, sensitive, out, top=False):
    sensitive = sensitive or bool(shape.metadata.get("sensitive"))
    kind = shape_kind(shape)

    def add(constraint, layer, **kw):
        out.append(Site(steps, template, constraint, layer, shape, sensitive=sensitive, **kw))

    if kind == "document":
        return
    if not top:
        add("type", "client")
    meta = shape.metadata
    if kind in ("structure", "union"):
        if shape.name in stack:
            return  # a recursive shape's constraints are covered at its first level
        stack = stack + (shape.name,)
        add("unknown", "client")
        for name in shape.members:
            if kind == "structure" and name in shape.required_members:
                add("required", "client", member=name)
        for name, member in shape.members.items():
            _walk(member, steps + (("member", name),), _join(template, name), stack, sensitive, out)
        return
    if kind in ("list", "map"):
        if meta.get("min", 0) > 0:
            add("min", MIN_LAYER[kind], bound=meta["min"])
        if "max" in meta:
            add("max", "server", bound=meta["max"])
        if meta.get("max", 1) >= 1 and shape.name not in stack:
            child = shape.member if kind == "list" else shape.value
            _walk(child, steps + (("item",) if kind == "list" else ("value",),), f"{template}[]",
                  stack + (shape.name,), sensitive, out)
        return
    if kind == "string":
        _string_sites(shape, add)
    elif kind in INT_BOUNDS:
        lo, hi = INT_BOUNDS[kind]
        if meta.get("min", lo) > lo:
            add("min", MIN_LAYER[kind], bound=meta["min"])
        if meta.get("max", hi) < hi:
            add("max", "server", bound=meta["max"])
    elif kind in ("float", "double", "blob"):
        if "min" in meta and (kind != "blob" or meta["min"] > 0):
            add("min", MIN_LAYER[kind], bound=meta["min"])
        if "max" in meta:
            add("max", "server", bound=meta["max"])


def _string_sites(shape, add):
    meta = shape.metadata
    lo, hi = string_bounds(shape)
    strings = pattern_strings(shape)
    has_pattern = meta.get("pattern") is not None
    enum_implied = ("enum",) if meta.get("enum") else ()
    if meta.get("enum"):
        add("enum", "server")
    if lo > 0:
        implied = () if strings.can_reach(0, lo - 1) else (("pattern",) if has_pattern else ())
        add("min", MIN_LAYER["string"], bound=lo, implied=enum_implied + implied)
    if hi is not None:
        implied = () if strings.can_reach(hi + 1, hi + EXCESS) else (("pattern",) if has_pattern else ())
        add("max", "server", bound=hi, implied=enum_implied + implied)
    if has_pattern and strings.violating(lo, hi) is not None:
        add("pattern", "server", implied=enum_implied)


# ---- drawing ---------------------------------------------------------------------------------------------------


def _bad_value(site: Site, compiler: Compiler, data) -> tuple[Any, str]:
    """A value breaking `site.constraint` (and only it, or only it plus `site.implied`), with a detail text."""
    shape, constraint, kind = site.shape, site.constraint, shape_kind(site.shape)
    meta = shape.metadata

    def shown(value):
        if site.sensitive:
            return "a sensitive value"
        text = repr(value)
        return text if len(text) <= 60 else text[:57] + "..."

    if constraint == "type":
        value = data(WRONG_TYPE[kind])
        return value, f"expected {kind}, got {type(value).__name__}"
    if kind == "string":
        lo, hi = string_bounds(shape)
        strings = pattern_strings(shape)
        not_enum = (lambda v: v not in meta["enum"]) if meta.get("enum") else (lambda v: True)
        if constraint == "min":
            if "pattern" in site.implied or "enum" in site.implied:
                value = data(st.text(max_size=lo - 1).filter(not_enum))
            else:
                value = data(strings.valid(0, lo - 1))
            return value, f"was {len(value)} characters"
        if constraint == "max":
            if "pattern" in site.implied or "enum" in site.implied:
                value = data(pattern_strings_any().valid(hi + 1, hi + EXCESS).filter(not_enum))
            else:
                value = data(strings.valid(hi + 1, hi + EXCESS))
            return value, f"was {len(value)} characters"
        if constraint == "pattern":
            value = data(strings.violating(lo, hi).filter(not_enum))
            return value, f"was {shown(value)}, no part of it matches {meta['pattern']}"
        if constraint == "enum":
            base = strings.valid(lo, hi) if meta.get("pattern") is not None else st.text(min_size=lo, max_size=hi)
            value = data(base.filter(not_enum))
            return value, f"was {shown(value)}, not one of {', '.join(meta['enum'])}"
    if kind in ("list", "map", "blob"):
        lo, hi = meta.get("min", 0), meta.get("max")
        unit = {"list": "items", "map": "entries", "blob": "bytes"}[kind]
        if kind == "blob":
            value = data(st.binary(max_size=lo - 1)) if constraint == "min" else _cycled(
                data(st.binary(min_size=1, max_size=8)), hi + 1 + data(st.integers(0, EXCESS)))
        elif kind == "list":
            item = compiler.valid(shape.member, None, (), site.template + "[]")
            if constraint == "min":
                value = data(st.lists(item, max_size=lo - 1))
            else:
                value = _cycled(data(st.lists(item, min_size=1, max_size=3)), hi + 1 + data(st.integers(0, EXCESS)))
        else:
            key = compiler.valid(shape.key, None, (), site.template)
            val = compiler.valid(shape.value, None, (), site.template + "[]")
            size = (0, lo - 1) if constraint == "min" else (hi + 1, hi + 1)
            value = data(st.dictionaries(key, val, min_size=size[0], max_size=size[1]))
        return value, f"was {len(value)} {unit}"
    if kind in INT_BOUNDS:
        type_lo, type_hi = INT_BOUNDS[kind]
        if constraint == "min":
            value = data(st.integers(max(type_lo, meta["min"] - 1000), meta["min"] - 1))
        else:
            value = data(st.integers(meta["max"] + 1, min(type_hi, meta["max"] + 1000)))
        return value, f"was {shown(value)}"
    if kind in ("float", "double"):
        width = 32 if kind == "float" else 64
        if constraint == "min":
            value = data(st.floats(max_value=meta["min"], exclude_max=True, allow_nan=False, allow_infinity=False,
                                   width=width))
        else:
            value = data(st.floats(min_value=meta["max"], exclude_min=True, allow_nan=False, allow_infinity=False,
                                   width=width))
        return value, f"was {shown(value)}"
    raise AssertionError(f"no way to break {constraint} on a {kind} ({site.template})")


@functools.cache
def pattern_strings_any() -> PatternStrings:
    """Any text: for too-long values whose pattern breaks anyway (the label lists it in `implied`)."""
    return PatternStrings(None, "any text", py=ANY_TEXT)


def _cycled(items, size):
    return [items[i % len(items)] for i in range(size)] if isinstance(items, list) else (
        bytes(items[i % len(items)] for i in range(size))
    )


def _reach(site: Site, compiler: Compiler, params: dict, root: Shape, data):
    """Make the path to `site` present in `params`; returns (parent, key, node, shape, path)."""
    parent, key, node, shape, path = None, None, params, root, ""
    for step in site.steps:
        kind = shape_kind(shape)
        if step[0] == "member":
            name = step[1]
            member = shape.members[name]
            if kind == "union" and name not in node:
                node.clear()  # a union holds exactly one member: switch to the one we need
            if name not in node:
                node[name] = data(compiler.valid(member, name, (), _join(path, name)))
            parent, key, node, shape, path = node, name, node[name], member, _join(path, name)
        elif step[0] == "item":
            if not node:
                top = max(1, min(2, shape.metadata.get("max", 2)))
                node.extend(data(st.lists(compiler.valid(shape.member, None, (), f"{path}[]"), min_size=1,
                                          max_size=top)))
            index = data(st.integers(0, len(node) - 1))
            parent, key, node, shape, path = node, index, node[index], shape.member, f"{path}[{index}]"
        else:  # map value
            if not node:
                node[data(compiler.valid(shape.key, None, (), path))] = data(compiler.valid(shape.value, None, (), path))
            chosen = data(st.sampled_from(sorted(node)))
            parent, key, node, shape, path = node, chosen, node[chosen], shape.value, f"{path}[{quote_path_key(chosen)}]"
    return parent, key, node, shape, path


def invalid_for_site(operation: str, root: Shape, site: Site, compiler: Compiler) -> st.SearchStrategy:
    return _invalid_request(operation, root, site, compiler, compiler.valid(root))


# Composites are defined once, here: Hypothesis reads a composite's source each time one is defined.
@st.composite
def _invalid_request(data, operation: str, root: Shape, site: Site, compiler: Compiler, base) -> InvalidRequest:
    params = copy.deepcopy(data(base))
    parent, key, node, shape, path = _reach(site, compiler, params, root, data)
    if site.constraint == "required":
        del node[site.member]
        where, detail = _join(path, site.member), "missing"
    elif site.constraint == "unknown":
        members = set(shape.members)
        name = data(st.from_regex(r"[A-Z][A-Za-z0-9]{0,11}", fullmatch=True).filter(lambda n: n not in members))
        node[name] = data(UNKNOWN_VALUES)
        where, detail = _join(path, name), f"{name!r} is not a member of {shape.name}"
    else:
        value, detail = _bad_value(site, compiler, data)
        parent[key] = value
        where = path
    description = describe(site.constraint, where, detail, site.bound)
    return InvalidRequest(params, Violation(where, site.constraint, site.layer, description, site.implied),
                          operation)


# ---- ambiguous (documenting) -------------------------------------------------------------------------------------


def ambiguous_sites(shape: Shape) -> list[Site]:
    """String nodes whose pattern has values the readings disagree on (somewhere but not as a whole, or Java but
    not ECMAScript), within the bounds."""
    out = []
    for site in sites_of(shape):
        if site.constraint == "type" and shape_kind(site.shape) == "string" and not site.shape.metadata.get("enum"):
            pattern = site.shape.metadata.get("pattern")
            if pattern is not None and pattern_strings(site.shape).ambiguous(*string_bounds(site.shape)) is not None:
                out.append(Site(site.steps, site.template, "pattern", "documented", site.shape,
                                sensitive=site.sensitive))
    return out


def ambiguous_for_site(operation: str, root: Shape, site: Site, compiler: Compiler) -> st.SearchStrategy:
    strategy = pattern_strings(site.shape).ambiguous(*string_bounds(site.shape))
    return _ambiguous_request(operation, root, site, compiler, compiler.valid(root), strategy)


@st.composite
def _ambiguous_request(data, operation: str, root: Shape, site: Site, compiler: Compiler, base,
                       strategy) -> AmbiguousRequest:
    pattern = site.shape.metadata["pattern"]
    params = copy.deepcopy(data(base))
    parent, key, _, _, path = _reach(site, compiler, params, root, data)
    parent[key] = value = data(strategy)
    shown = "a sensitive value" if site.sensitive else repr(value)[:60]
    description = (f"pattern readings disagree at {path}: {shown} matches {pattern} under some reading (Java or "
                   f"ECMAScript, unanchored or whole value) and not under another")
    return AmbiguousRequest(params, path, pattern, description, operation)
