"""botocore shape -> Hypothesis strategy of VALID values, by construction (no filtering for validity).

One builder per botocore type in a dispatch table; an import-time assertion checks that every type botocore's
own ParamValidator knows has a builder, so a new botocore type fails loudly here instead of deep in a test.
Values are the Python form boto3 takes (datetime for timestamps, bytes for blobs).

Recursion: a shape already `MAX_DEPTH` times on the current path is built in its minimal form (required members
only, lists and maps at their minimum size); a cycle of required members is a contradiction.
Contradictions (e.g. an enum whose values all break the length bounds) raise `Contradiction` naming the path;
an optional member that cannot be built is left out, a required one makes the request unbuildable.
"""

from __future__ import annotations

import datetime as _dt

from botocore.model import Shape
from botocore.validate import ParamValidator
from hypothesis import strategies as st

from strategies._facts import INT_BOUNDS
from strategies._patterns import Contradiction, PatternStrings
from strategies.hints import Hints, hinted_values

__all__ = ["Compiler", "Contradiction", "BOTOCORE_TYPES", "INT_BOUNDS", "pattern_strings", "string_bounds"]

MAX_DEPTH = 2  # how many times one shape may nest inside itself before only its minimum is built
LIST_EXTRA = 4  # valid lists/maps draw between min and min+LIST_EXTRA items (max=1000 stays cheap)
BLOB_EXTRA = 64
TIME_RANGE = (_dt.datetime(2000, 1, 1), _dt.datetime(2099, 12, 31))
ANY_TEXT = r"[\x00-\U0010ffff]*"  # strings without a pattern (surrogates are dropped at generation)

# Every type botocore validates (its ParamValidator has one `_validate_<type>` per type; two are special cases).
BOTOCORE_TYPES = frozenset(
    name[len("_validate_"):] for name in dir(ParamValidator) if name.startswith("_validate_")
) - {"jsonvalue_string", "document"}

_pattern_cache: dict[tuple, PatternStrings] = {}


def pattern_strings(shape: Shape) -> PatternStrings:
    """The (cached) PatternStrings of a string shape; shapes without a pattern accept any text."""
    pattern = shape.metadata.get("pattern")
    key = (pattern, shape.name)
    if key not in _pattern_cache:
        _pattern_cache[key] = (
            PatternStrings(pattern, shape.name) if pattern is not None else PatternStrings(None, shape.name, py=ANY_TEXT)
        )
    return _pattern_cache[key]


def string_bounds(shape: Shape) -> tuple[int, int | None]:
    return shape.metadata.get("min", 0), shape.metadata.get("max")


def shape_kind(shape: Shape) -> str:
    if shape.type_name == "structure" and getattr(shape, "is_document_type", False):
        return "document"
    if shape.type_name == "structure" and getattr(shape, "is_tagged_union", False):
        return "union"
    return shape.type_name


def truncate_ms(value: _dt.datetime) -> _dt.datetime:
    """Millisecond precision: what the JSON protocol carries without rounding surprises."""
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


# Built strategies, by (hints, shape, member name, stack). Shapes are keyed by identity: botocore caches them
# per loaded model, and invalid requests and mutations ask again for the same nodes at every draw.
# The path is not in the key: it only names the place in a Contradiction, and contradictions are not cached.
_built: dict[tuple, st.SearchStrategy] = {}


class Compiler:
    """Builds valid-value strategies; `hints` narrow vague members (accounts, ARNs) to what the target knows."""

    def __init__(self, hints: Hints | None = None):
        self.hints = hints

    def valid(self, shape: Shape, member_name: str | None = None, stack: tuple[str, ...] = (),
              path: str = "") -> st.SearchStrategy:
        key = (self.hints, shape, member_name, stack)
        built = _built.get(key)
        if built is None:
            built = _built[key] = self._build(shape, member_name, stack, path)
        return built

    def _build(self, shape: Shape, member_name: str | None, stack: tuple[str, ...], path: str) -> st.SearchStrategy:
        hinted = hinted_values(shape, member_name, self.hints)
        if hinted is not None:
            return st.sampled_from(hinted)
        kind = shape_kind(shape)
        if kind in ("structure", "union", "list", "map"):
            if stack.count(shape.name) > MAX_DEPTH + 1:
                raise Contradiction(f"{path or 'the request'}: {shape.name} requires itself (a required cycle)")
            stack = stack + (shape.name,)
        return _BUILDERS[kind](self, shape, stack, path)

    def minimal(self, stack: tuple[str, ...], shape: Shape) -> bool:
        return stack.count(shape.name) > MAX_DEPTH

    # -- containers ---------------------------------------------------------------------------------------------

    def structure(self, shape, stack, path):
        required, optional = {}, {}
        minimal = self.minimal(stack, shape)
        for name, member in shape.members.items():
            member_path = f"{path}.{name}" if path else name
            if name in shape.required_members:
                required[name] = self.valid(member, name, stack, member_path)
            elif not minimal:
                try:
                    optional[name] = self.valid(member, name, stack, member_path)
                except Contradiction:
                    continue  # an optional member that cannot be built is simply never sent
        return st.fixed_dictionaries(required, optional=optional)

    def union(self, shape, stack, path):
        choices = []
        for name, member in shape.members.items():
            try:
                choices.append(st.fixed_dictionaries({name: self.valid(member, name, stack, f"{path}.{name}")}))
            except Contradiction:
                continue
        if not choices:
            raise Contradiction(f"{path}: no member of the union {shape.name} can be built")
        return st.one_of(choices)

    def list(self, shape, stack, path):
        lo, hi = shape.metadata.get("min", 0), shape.metadata.get("max")
        top = lo if self.minimal(stack, shape) else lo + LIST_EXTRA
        top = top if hi is None else min(hi, top)
        try:
            item = self.valid(shape.member, None, stack, f"{path}[]")
        except Contradiction:
            if lo == 0:
                return st.just([])
            raise
        hinted = hinted_values(shape.member, None, self.hints)
        unique = hinted is not None and len(hinted) >= lo  # hinted identities (accounts, ARNs) are not repeated
        return st.lists(item, min_size=lo, max_size=min(top, len(hinted)) if unique else top, unique=unique)

    def map(self, shape, stack, path):
        lo, hi = shape.metadata.get("min", 0), shape.metadata.get("max")
        top = lo if self.minimal(stack, shape) else lo + LIST_EXTRA
        top = top if hi is None else min(hi, top)
        key = self.valid(shape.key, None, stack, f"{path}(key)")
        value = self.valid(shape.value, None, stack, f"{path}[]")
        return st.dictionaries(key, value, min_size=lo, max_size=top)

    def document(self, shape, stack, path):
        scalars = st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=10) | st.floats(
            allow_nan=False, allow_infinity=False
        )
        return st.recursive(
            scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
            max_leaves=6,
        )

    # -- scalars ------------------------------------------------------------------------------------------------

    def string(self, shape, stack, path):
        lo, hi = string_bounds(shape)
        enum = shape.metadata.get("enum")
        strings = pattern_strings(shape)
        if enum:
            allowed = [v for v in enum if lo <= len(v) and (hi is None or len(v) <= hi) and strings.full(v)]
            if not allowed:
                raise Contradiction(f"{path}: no value of the enum {shape.name} fits its length/pattern")
            return st.sampled_from(allowed)
        try:
            return strings.valid(lo, hi)
        except Contradiction as error:
            raise Contradiction(f"{path}: {error}") from None

    def integer(self, shape, stack, path):
        lo, hi = INT_BOUNDS[shape.type_name]
        lo, hi = max(lo, shape.metadata.get("min", lo)), min(hi, shape.metadata.get("max", hi))
        if lo > hi:
            raise Contradiction(f"{path}: {shape.name} has min {lo} > max {hi}")
        return st.integers(lo, hi)

    def float(self, shape, stack, path):
        return st.floats(
            min_value=shape.metadata.get("min"), max_value=shape.metadata.get("max"),
            allow_nan=False, allow_infinity=False, width=32 if shape.type_name == "float" else 64,
        )

    def boolean(self, shape, stack, path):
        return st.booleans()

    def timestamp(self, shape, stack, path):
        return st.datetimes(*TIME_RANGE, timezones=st.just(_dt.timezone.utc)).map(truncate_ms)

    def blob(self, shape, stack, path):
        lo, hi = shape.metadata.get("min", 0), shape.metadata.get("max")
        return st.binary(min_size=lo, max_size=lo + BLOB_EXTRA if hi is None else min(hi, lo + BLOB_EXTRA))


_BUILDERS = {
    "structure": Compiler.structure, "union": Compiler.union, "document": Compiler.document,
    "list": Compiler.list, "map": Compiler.map, "string": Compiler.string,
    "integer": Compiler.integer, "long": Compiler.integer, "float": Compiler.float, "double": Compiler.float,
    "boolean": Compiler.boolean, "timestamp": Compiler.timestamp, "blob": Compiler.blob,
}
assert BOTOCORE_TYPES <= set(_BUILDERS), (
    f"botocore knows shape types without a builder in strategies/_compile.py: {sorted(BOTOCORE_TYPES - set(_BUILDERS))}"
)
