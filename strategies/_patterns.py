r"""Strings for a model pattern and length bounds: valid ones by construction, and the kinds of misfit.

Valid: whole-value matches (`fullmatch`) with `min <= len <= max`, drawn by walking the parsed (translated)
pattern: a character class is drawn by code-point index over its ranges (Hypothesis's `from_regex` expands
ranges one code point at a time, seconds for `\\S` or `\\p{L}`), repeats draw a count capped near the bounds.
When a length is needed beyond what a short draw gives (51 characters for a max=50 violation that must still
match), one top-level single-character repeat is *stretched* by cycling a few characters of its own class
at its position: a 1025-character token costs a handful of draws. Lookarounds and anchors are not generated:
the final `fullmatch` check (a filter that rarely rejects) enforces them.

Cost: everything that depends only on the pattern is done once per pattern, not per draw. The parsed pattern
is compiled (lazily, at the first draw, so an unsupported construct still fails at draw time) into a `_Program`
whose character-class nodes already hold their strategies; the strategies returned for given bounds are
cached; the `st.composite` functions are defined once at module level (Hypothesis inspects a composite's
source each time one is defined: milliseconds each). A compiled program makes exactly the draws the parsed
tree would, in the same order, so a given choice sequence still gives the same value.

Four readings of a model pattern: Java or ECMAScript (strategies._regex: `\s`, `\S` and `.` differ), each
unanchored (Smithy's `search`) or whole-value (`fullmatch`). Valid values satisfy all four; misfits:
- `violating()`: nothing matches anywhere under either flavour, so every reading refuses it (a real "pattern"
  violation);
- `ambiguous()`: some reading accepts it and another refuses it (matches somewhere but not as a whole, or is
  whole under Java but not under ECMAScript: `\S+` with a no-break space); documents, never fails.
"""

from __future__ import annotations

import bisect
import functools
import re
from re import _constants as sre
from re import _parser as sre_parse

from hypothesis import strategies as st

from strategies._regex import _complement, _merge, translate

UNBOUNDED = sre.MAXREPEAT
# What we try, character by character, to build misfits: ASCII, whitespace, line terminators, some Unicode.
PROBE_CHARS = tuple(
    dict.fromkeys(
        [chr(c) for c in range(0x20, 0x7F)]
        + list("\t\n\r\x0b\x0c\x00\x85\xa0\u2028\u2029\u3000")
        + list("éßЖ中あ١😀\u0301")
    )
)
STRETCH_PAD = 16  # how far past the lower bound a stretched value may go when there is no upper bound
REPEAT_CAP = 24  # an unbounded repeat draws at most this many items beyond its minimum
SURROGATES = ((0xD800, 0xDFFF),)  # never generated: no UTF-8 request can carry them


class Contradiction(ValueError):
    """No string satisfies the pattern and the bounds together."""


def _width(parsed) -> tuple[int, int | None]:
    lo, hi = parsed.getwidth()
    return lo, (None if hi >= UNBOUNDED - 1 else hi)


@functools.lru_cache(maxsize=None)
def charset(ranges: tuple[tuple[int, int], ...]) -> st.SearchStrategy[str]:
    """One character from `ranges` (surrogates excluded); ASCII members first so examples shrink readably."""
    ranges = tuple(r for r in _intersect_all(ranges) if r[0] <= r[1])
    if not ranges:
        return st.nothing()
    starts, offsets, total = [], [], 0
    for lo, hi in ranges:
        starts.append(lo)
        offsets.append(total)
        total += hi - lo + 1

    def at(index: int) -> str:
        k = bisect.bisect_right(offsets, index) - 1
        return chr(starts[k] + index - offsets[k])

    anywhere = st.integers(0, total - 1).map(at)
    ascii_members = [chr(c) for lo, hi in ranges if lo < 0x80 for c in range(lo, min(hi, 0x7F) + 1)]
    return st.one_of(st.sampled_from(ascii_members), anywhere) if ascii_members else anywhere


def _intersect_all(ranges):
    keep = _complement(SURROGATES)
    out = []
    for lo, hi in ranges:
        for klo, khi in keep:
            a, b = max(lo, klo), min(hi, khi)
            if a <= b:
                out.append((a, b))
    return out


class PatternStrings:
    """Strategies for one Java pattern, or (`py=`) an already-Python pattern."""

    def __init__(self, pattern: str | None, where: str, *, py: str | None = None):
        self.source = pattern if pattern is not None else py
        self.where = where
        self.py = translate(pattern, where) if pattern is not None else py
        self.regex = re.compile(self.py)
        # The ECMAScript reading (an already-Python pattern has one reading only).
        self.ecma = re.compile(translate(pattern, where, "ecma")) if pattern is not None else self.regex
        self.parsed = sre_parse.parse(self.py)
        self.width = _width(self.parsed)
        self.dotall = bool(self.parsed.state.flags & re.DOTALL)
        self.stretch_at = _stretchable(self.parsed)  # the repeat node we may stretch, or None
        self._programs: dict[int, _Program] = {}  # compiled per repeat cap, at the first draw
        self._strategies: dict[tuple, st.SearchStrategy | None] = {}  # per (kind, lo, hi)

    def _cached(self, kind: str, lo: int, hi: int | None, build):
        key = (kind, lo, hi)
        if key not in self._strategies:
            self._strategies[key] = build(lo, hi)  # a Contradiction is raised, never cached
        return self._strategies[key]

    # -- valid ----------------------------------------------------------------------------------------------------

    def bounds(self, lo: int, hi: int | None) -> tuple[int, int | None]:
        """Length bounds intersected with what the pattern can produce; Contradiction when empty."""
        wlo, whi = self.width
        eff_lo = max(lo, wlo)
        eff_hi = hi if whi is None else (whi if hi is None else min(hi, whi))
        if eff_hi is not None and eff_lo > eff_hi:
            raise Contradiction(
                f"{self.where}: no value of length {lo}..{'*' if hi is None else hi} fully matches "
                f"{self.source!r} (its matches have lengths {wlo}..{'*' if whi is None else whi})"
            )
        return eff_lo, eff_hi

    def valid(self, lo: int = 0, hi: int | None = None) -> st.SearchStrategy[str]:
        return self._cached("valid", lo, hi, self._build_valid)

    def _build_valid(self, lo: int, hi: int | None) -> st.SearchStrategy[str]:
        lo, hi = self.bounds(lo, hi)
        cap = REPEAT_CAP if hi is None else max(0, min(REPEAT_CAP, hi - self.width[0]))
        return _valid_text(self, lo, hi, cap).filter(
            lambda s: lo <= len(s) and (hi is None or len(s) <= hi) and self.full(s)
        )

    def program(self, cap: int) -> _Program:
        """The parsed pattern compiled for drawing, with unbounded repeats capped at `cap` extra items."""
        if cap not in self._programs:
            self._programs[cap] = _Program(self.parsed, cap, self.dotall, self.stretch_at)
        return self._programs[cap]

    @functools.cached_property
    def fill_program(self) -> _Program | None:
        """The stretchable repeat's body alone: what a stretch cycles through."""
        return None if self.stretch_at is None else _Program(self.stretch_at[1][2], 0, self.dotall, None)

    def full(self, value: str) -> bool:
        """A whole match under both flavours: valid under every reading."""
        return self.regex.fullmatch(value) is not None and self.ecma.fullmatch(value) is not None

    def anywhere(self, value: str) -> bool:
        """A match somewhere under either flavour: some reading accepts it."""
        return self.regex.search(value) is not None or self.ecma.search(value) is not None

    def can_reach(self, lo: int, hi: int | None) -> bool:
        try:
            self.bounds(lo, hi)
            return True
        except Contradiction:
            return False

    # -- misfits --------------------------------------------------------------------------------------------------

    @functools.cached_property
    def bad_chars(self) -> tuple[str, ...]:
        """Probe characters that match nowhere, even repeated: the alphabet of values failing both readings."""
        if self.anywhere(""):
            return ()  # matches the empty string, hence somewhere in every string
        return tuple(c for c in PROBE_CHARS if not self.anywhere(c) and not self.anywhere(c * 3))

    def violating(self, lo: int, hi: int | None) -> st.SearchStrategy[str] | None:
        """Values of length lo..hi on which both readings fail; None when the pattern matches every string."""
        return self._cached("violating", lo, hi, self._build_violating)

    def _build_violating(self, lo: int, hi: int | None) -> st.SearchStrategy[str] | None:
        if not self.bad_chars:
            return None
        lo = max(lo, 1)
        top = min(hi, lo + 12) if hi is not None else lo + 12
        if top < lo:
            return None
        return st.text(st.sampled_from(self.bad_chars), min_size=lo, max_size=top).filter(
            lambda s: not self.anywhere(s)
        )

    @functools.cached_property
    def misfit_chars(self) -> tuple[str, ...]:
        """Probe characters that are not a whole match on their own (candidates to break a whole match)."""
        return tuple(c for c in PROBE_CHARS if not self.full(c))

    def ambiguous(self, lo: int, hi: int | None) -> st.SearchStrategy[str] | None:
        """Values of length lo..hi some reading accepts and another refuses; None when none can be built."""
        return self._cached("ambiguous", lo, hi, self._build_ambiguous)

    def _build_ambiguous(self, lo: int, hi: int | None) -> st.SearchStrategy[str] | None:
        if not self.misfit_chars:
            return None
        try:
            inner = self.valid(max(lo - 1, 0), None if hi is None else hi - 1)
        except Contradiction:
            return None
        return _ambiguous_text(inner, self.misfit_chars).filter(
            lambda s: lo <= len(s) and (hi is None or len(s) <= hi) and self.anywhere(s) and not self.full(s)
        )


# Strategies every draw uses; built once.
_ONE_IN_EIGHT = st.integers(0, 7)
_FILL_COUNT = st.integers(1, 4)


@st.composite
def _valid_text(draw, strings: PatternStrings, lo: int, hi: int | None, cap: int) -> str:
    mark: list[int] = []
    value = strings.program(cap).run(draw, mark)
    top = hi if hi is not None else max(lo, len(value)) + STRETCH_PAD
    if mark and len(value) < top and (len(value) < lo or draw(_ONE_IN_EIGHT) == 0):
        # reach the lower bound, or (1 in 8) a longer length: the upper bound itself half of the time,
        # since off-by-one mistakes live there
        low = max(lo, len(value))
        lengths = st.integers(low, top)
        target = draw(st.one_of(st.just(top), lengths) if hi is not None else lengths)
        fill_program = strings.fill_program
        fill = [fill_program.run(draw, None) for _ in range(draw(_FILL_COUNT))]
        extra = "".join(fill[i % len(fill)] for i in range(target - len(value)))
        value = value[: mark[0]] + extra + value[mark[0]:]
    return value


@st.composite
def _ambiguous_text(draw, inner: st.SearchStrategy[str], misfit_chars: tuple[str, ...]) -> str:
    value = draw(inner)
    c = draw(st.sampled_from(misfit_chars))
    return value + c if draw(st.booleans()) else c + value


# Node kinds of a compiled program.
_TEXT, _CHAR, _BRANCH, _GROUP, _REPEAT, _GROUPREF = range(6)


class _Program:
    """A parsed pattern compiled for drawing: each node holds what it draws from, built once.

    Draws exactly what walking the parsed tree would, in the same order: one character per class node, the
    alternative of a branch, then the count of a repeat followed by its items. Lookarounds and anchors generate
    nothing (the final fullmatch enforces them). Nodes are (kind, argument) pairs:
    _TEXT literal text | _CHAR a charset strategy | _BRANCH (choice strategy, programs) |
    _GROUP (group number or None, program) | _REPEAT (count strategy, program, is the stretch node) |
    _GROUPREF group number.
    """

    __slots__ = ("nodes",)

    def __init__(self, items, cap: int, dotall: bool, stretch_at):
        nodes: list[tuple] = []
        for node in items:
            op, av = node
            if op is sre.LITERAL:
                if nodes and nodes[-1][0] == _TEXT:  # adjacent literals draw nothing: one text node
                    nodes[-1] = (_TEXT, nodes[-1][1] + chr(av))
                else:
                    nodes.append((_TEXT, chr(av)))
            elif op is sre.NOT_LITERAL:
                nodes.append((_CHAR, charset(_complement(((av, av),)))))
            elif op is sre.ANY:
                nodes.append((_CHAR, charset(_complement(() if dotall else _chars_nl()))))
            elif op is sre.IN:
                nodes.append((_CHAR, charset(_class_ranges(av))))
            elif op is sre.BRANCH:
                alternatives = av[1]
                nodes.append((_BRANCH, (
                    st.integers(0, len(alternatives) - 1),
                    tuple(_Program(alt, cap, dotall, stretch_at) for alt in alternatives),
                )))
            elif op is sre.SUBPATTERN:
                group, _, _, body = av
                nodes.append((_GROUP, (group or None, _Program(body, cap, dotall, stretch_at))))
            elif op in (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT):
                lo, hi, body = av
                top = lo + cap if hi == UNBOUNDED else hi
                nodes.append((_REPEAT, (
                    st.integers(lo, max(lo, top)), _Program(body, cap, dotall, stretch_at), node is stretch_at,
                )))
            elif op is sre.GROUPREF:
                nodes.append((_GROUPREF, av))
            elif op is sre.ATOMIC_GROUP:
                nodes.append((_GROUP, (None, _Program(av, cap, dotall, stretch_at))))
            # AT, ASSERT, ASSERT_NOT generate nothing; the final fullmatch enforces them
        self.nodes = tuple(nodes)

    def run(self, draw, mark: list[int] | None) -> str:
        """Draw one text; `mark` receives the end of the stretch node's repeat (None inside repeats)."""
        out: list[str] = []
        self._emit(draw, {}, out, mark)
        return "".join(out)

    def _emit(self, draw, groups: dict, out: list[str], mark: list[int] | None) -> None:
        for kind, arg in self.nodes:
            if kind == _TEXT:
                out.append(arg)
            elif kind == _CHAR:
                out.append(draw(arg))
            elif kind == _REPEAT:
                count, body, stretch = arg
                for _ in range(draw(count)):
                    body._emit(draw, groups, out, None)
                if stretch and mark is not None:
                    mark.append(sum(map(len, out)))
            elif kind == _GROUP:
                group, body = arg
                start = len(out)
                body._emit(draw, groups, out, mark)
                if group:
                    groups[group] = "".join(out[start:])
            elif kind == _BRANCH:
                choice, alternatives = arg
                alternatives[draw(choice)]._emit(draw, groups, out, mark)
            else:  # _GROUPREF
                out.append(groups.get(arg, ""))


def _chars_nl():
    return ((0x0A, 0x0A),)


def _class_ranges(items) -> tuple[tuple[int, int], ...]:
    pairs, negate = [], False
    for op, av in items:
        if op is sre.NEGATE:
            negate = True
        elif op is sre.LITERAL:
            pairs.append((av, av))
        elif op is sre.RANGE:
            pairs.append(tuple(av))
        elif op is sre.CATEGORY:  # only in patterns given as Python (our translator expands classes)
            pairs.extend(_CATEGORY[av])
        else:
            raise NotImplementedError(f"class item {op}")
    ranges = _merge(pairs)
    return _complement(ranges) if negate else ranges


_ASCII_DIGIT, _ASCII_SPACE = ((0x30, 0x39),), _merge([(9, 13), (32, 32)])
_ASCII_WORD = _merge([(0x30, 0x39), (0x41, 0x5A), (0x61, 0x7A), (0x5F, 0x5F)])
_CATEGORY = {
    sre.CATEGORY_DIGIT: _ASCII_DIGIT, sre.CATEGORY_NOT_DIGIT: _complement(_ASCII_DIGIT),
    sre.CATEGORY_SPACE: _ASCII_SPACE, sre.CATEGORY_NOT_SPACE: _complement(_ASCII_SPACE),
    sre.CATEGORY_WORD: _ASCII_WORD, sre.CATEGORY_NOT_WORD: _complement(_ASCII_WORD),
}


def _stretchable(parsed):
    """The last unbounded single-character repeat reachable through the top-level sequence and plain groups."""
    found = None

    def walk(items):
        nonlocal found
        for node in items:
            op, av = node
            if op in (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT) and av[1] == UNBOUNDED:
                body = list(av[2])
                if len(body) == 1 and body[0][0] in (sre.IN, sre.LITERAL, sre.ANY, sre.NOT_LITERAL):
                    found = node
            elif op is sre.SUBPATTERN:
                walk(list(av[3]))

    walk(list(parsed))
    return found
