"""Strings for a model pattern and length bounds: valid ones by construction, and the kinds of misfit.

Valid: whole-value matches (`fullmatch`) with `min <= len <= max`, drawn by walking the parsed (translated)
pattern: a character class is drawn by code-point index over its ranges (Hypothesis's `from_regex` expands
ranges one code point at a time, seconds for `\\S` or `\\p{L}`), repeats draw a count capped near the bounds.
When a length is needed beyond what a short draw gives (51 characters for a max=50 violation that must still
match), one top-level single-character repeat is *stretched* by cycling a few characters of its own class
at its position: a 1025-character token costs a handful of draws. Lookarounds and anchors are not generated:
the final `fullmatch` check (a filter that rarely rejects) enforces them.

Misfits, relative to Smithy's unanchored reading (`search`) and the whole-value reading (`fullmatch`):
- `violating()`: nothing matches anywhere, so it fails under both readings (a real "pattern" violation);
- `ambiguous()`: matches somewhere but not as a whole; readings disagree, so it documents, never fails.
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
        self.parsed = sre_parse.parse(self.py)
        self.width = _width(self.parsed)
        self.dotall = bool(self.parsed.state.flags & re.DOTALL)
        self.stretch_at = _stretchable(self.parsed)  # the repeat node we may stretch, or None

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
        lo, hi = self.bounds(lo, hi)
        cap = REPEAT_CAP if hi is None else max(0, min(REPEAT_CAP, hi - self.width[0]))
        fill_body = None if self.stretch_at is None else self.stretch_at[1][2]

        @st.composite
        def draw(data):
            mark: list[int] = []
            value = self._gen(list(self.parsed), data, {}, cap, mark, 0)
            top = hi if hi is not None else max(lo, len(value)) + STRETCH_PAD
            if mark and len(value) < top and (len(value) < lo or data(st.integers(0, 7)) == 0):
                # reach the lower bound, or (1 in 8) a longer length: the upper bound itself half of the time,
                # since off-by-one mistakes live there
                low = max(lo, len(value))
                lengths = st.integers(low, top)
                target = data(st.one_of(st.just(top), lengths) if hi is not None else lengths)
                fill = [self._gen(list(fill_body), data, {}, 0, [], 0) for _ in range(data(st.integers(1, 4)))]
                extra = "".join(fill[i % len(fill)] for i in range(target - len(value)))
                value = value[: mark[0]] + extra + value[mark[0]:]
            return value

        return draw().filter(lambda s: lo <= len(s) and (hi is None or len(s) <= hi) and self.full(s))

    def _gen(self, items, data, groups, cap, mark, offset) -> str:
        """Draw text for `items`; `offset` is where it starts in the whole value (for the stretch mark)."""
        out: list[str] = []
        for node in items:
            op, av = node
            if op is sre.LITERAL:
                out.append(chr(av))
            elif op is sre.NOT_LITERAL:
                out.append(data(charset(_complement(((av, av),)))))
            elif op is sre.ANY:
                out.append(data(charset(_complement(() if self.dotall else _chars_nl()))))
            elif op is sre.IN:
                out.append(data(charset(_class_ranges(av))))
            elif op is sre.BRANCH:
                alternatives = av[1]
                chosen = list(alternatives[data(st.integers(0, len(alternatives) - 1))])
                out.append(self._gen(chosen, data, groups, cap, mark, offset + sum(map(len, out))))
            elif op is sre.SUBPATTERN:
                group, _, _, body = av
                text = self._gen(list(body), data, groups, cap, mark, offset + sum(map(len, out)))
                if group:
                    groups[group] = text
                out.append(text)
            elif op in (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT):
                lo, hi, body = av
                top = lo + cap if hi == UNBOUNDED else hi
                count = data(st.integers(lo, max(lo, top)))
                out.extend(self._gen(list(body), data, groups, cap, [], 0) for _ in range(count))
                if node is self.stretch_at:
                    mark.append(offset + sum(map(len, out)))
            elif op is sre.GROUPREF:
                out.append(groups.get(av, ""))
            elif op is sre.ATOMIC_GROUP:
                out.append(self._gen(list(av), data, groups, cap, mark, offset + sum(map(len, out))))
            # AT, ASSERT, ASSERT_NOT generate nothing; the final fullmatch enforces them
        return "".join(out)

    def full(self, value: str) -> bool:
        return self.regex.fullmatch(value) is not None

    def anywhere(self, value: str) -> bool:
        return self.regex.search(value) is not None

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
        if self.regex.search("") is not None:
            return ()  # matches the empty string, hence somewhere in every string
        return tuple(c for c in PROBE_CHARS if not self.anywhere(c) and not self.anywhere(c * 3))

    def violating(self, lo: int, hi: int | None) -> st.SearchStrategy[str] | None:
        """Values of length lo..hi on which both readings fail; None when the pattern matches every string."""
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
        """Values of length lo..hi that match somewhere but not as a whole; None when none can be built."""
        if not self.misfit_chars:
            return None
        try:
            inner = self.valid(max(lo - 1, 0), None if hi is None else hi - 1)
        except Contradiction:
            return None

        @st.composite
        def draw(data):
            value = data(inner)
            c = data(st.sampled_from(self.misfit_chars))
            return value + c if data(st.booleans()) else c + value

        return draw().filter(
            lambda s: lo <= len(s) and (hi is None or len(s) <= hi) and self.anywhere(s) and not self.full(s)
        )


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
