"""What a changed `pattern` (with its length bounds) does to the values a string member accepts.

A string shape accepts a *language*: the whole-value matches (`fullmatch`, the project's reading) of its pattern
whose length lies within min..max. `decide(old, new)` compares two languages in both directions:

- refused now: a value valid before and refused now (the new language misses part of the old one);
- accepted now: a value refused before and valid now.

Each direction is searched two ways. Sampling draws valid values of one language with the project's strategies
(`strategies.PatternStrings`, valid by construction) and checks them against the other; it finds differences but
cannot prove there are none. The exact search walks the two patterns' automata together, length by length, and
either returns the shortest difference or proves there is none; it reads the regular part of `re` (characters,
classes, groups, alternation, repeats, edge anchors, and one-character lookarounds at the edges, such as
InvoiceUnitName's `(?! )...(?<! )`); anything else makes that direction *sampled only*, and the wording says so.

Every witness is checked against both languages with Python `re` before it is reported: a witness is a fact,
never a guess. Values with surrogate code points are left out: no UTF-8 request or response can carry them.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from re import _constants as sre
from re import _parser as sre_parse

from hypothesis import HealthCheck, Phase, find, settings
from hypothesis.errors import NoSuchExample, Unsatisfiable

from strategies import Contradiction, PatternStrings, UntranslatablePattern, complement_ranges, merge_ranges, translate

SAMPLES = 200  # values drawn from each language per direction
ANY_TEXT = r"[\x00-\U0010ffff]*"  # the language of a string without a pattern
MAX_CODE_POINT = 0x10FFFF
SURROGATES = (0xD800, 0xDFFF)
NFA_STATE_LIMIT = 20_000  # e.g. `(\p{L}\p{N}){1,5000}` expands past this: decided by sampling only
LAYER_LIMIT = 5_000  # lengths walked before the reachable states must repeat

# Readable witnesses: a piece of the alphabet is shown by its first character in the first of these ranges.
_PREFERRED = ((0x61, 0x7A), (0x30, 0x39), (0x41, 0x5A), (0x21, 0x7E), (0x20, 0x20), (0xA0, MAX_CODE_POINT))

EQUIVALENT, NARROWED, WIDENED, BOTH, NO_DIFFERENCE_FOUND, UNKNOWN = (
    "equivalent", "narrowed", "widened", "narrowed and widened", "no difference found", "unknown")


class Undecidable(Exception):
    """The exact search cannot read this pattern (the message says why); sampling still runs."""


@dataclass(frozen=True)
class Language:
    """The values a string shape accepts: whole-value matches of `pattern` (None: any text), min <= len <= max."""

    pattern: str | None
    min: int = 0
    max: int | None = None
    where: str = field(default="pattern", compare=False)  # the shape name, for error messages

    @functools.cached_property
    def python(self) -> str:
        return ANY_TEXT if self.pattern is None else translate(self.pattern, self.where)

    @functools.cached_property
    def regex(self) -> re.Pattern:
        return re.compile(self.python)

    def length_ok(self, length: int) -> bool:
        return self.min <= length and (self.max is None or length <= self.max)

    def contains(self, value: str) -> bool:
        return self.length_ok(len(value)) and self.regex.fullmatch(value) is not None

    def strings(self):
        """Valid values by construction (raises Contradiction when there are none)."""
        source = PatternStrings(self.pattern, self.where) if self.pattern is not None else \
            PatternStrings(None, self.where, py=ANY_TEXT)
        return source.valid(self.min, self.max)


@dataclass(frozen=True)
class PatternDecision:
    """How the new language relates to the old one. A witness is None when none was found; `exact` says
    whether "none found" is proven for both directions (else it held over `samples` draws each way)."""

    refused_now: str | None
    accepted_now: str | None
    exact: bool
    samples: int
    why_sampled: str | None = None  # why the exact search did not decide (None when exact)
    compared: bool = True  # False: a pattern could not be read, so nothing was compared

    @property
    def relation(self) -> str:
        if not self.compared:
            return UNKNOWN
        if self.refused_now is not None and self.accepted_now is not None:
            return BOTH
        if self.refused_now is not None:
            return NARROWED
        if self.accepted_now is not None:
            return WIDENED
        return EQUIVALENT if self.exact else NO_DIFFERENCE_FOUND

    @property
    def may_refuse_more(self) -> bool:
        """A value valid before is refused now, or that is not ruled out."""
        return self.refused_now is not None or not self.exact

    @property
    def may_accept_more(self) -> bool:
        return self.accepted_now is not None or not self.exact

    def to_dict(self) -> dict:
        return {"relation": self.relation, "exact": self.exact, "refused_now": self.refused_now,
                "accepted_now": self.accepted_now, "samples": self.samples, "why_sampled": self.why_sampled}

    def describe(self) -> str:
        """"pattern <relation>: <how it was decided>; <witnesses>", for the changelog."""
        if self.relation == UNKNOWN:
            return f"pattern changed: not compared ({self.why_sampled})"
        found = [f"{_shown(self.refused_now)} was valid and is now refused"] if self.refused_now is not None else []
        if self.accepted_now is not None:
            found.append(f"{_shown(self.accepted_now)} was refused and is now valid")
        if self.exact:
            how = {
                EQUIVALENT: "the same values are accepted before and after",
                NARROWED: "the new pattern accepts a strict subset",
                WIDENED: "the new pattern accepts a strict superset",
                BOTH: "neither accepts a subset of the other",
            }[self.relation] + " (decided exactly)"
        else:
            missing = " or ".join(what for what, witness in (("refused now", self.refused_now),
                                                              ("accepted now", self.accepted_now)) if witness is None)
            how = (f"no value {missing} found in up to {self.samples} samples each way, which is not a proof "
                   f"(exact decision not possible: {self.why_sampled})")
        headline = "changed" if self.relation == NO_DIFFERENCE_FOUND else self.relation
        return f"pattern {headline}: " + "; ".join([how, *found] if self.exact else [*found, how])


def _shown(value: str) -> str:
    return repr(value) + (" (the empty string)" if value == "" else "")


@functools.lru_cache(maxsize=256)
def decide(old: Language, new: Language, samples: int = SAMPLES) -> PatternDecision:
    """Compare two languages both ways: sampled witnesses, then the exact search where the patterns allow it."""
    try:
        old.regex, new.regex  # noqa: B018 - translate both first: an unreadable pattern decides nothing
    except UntranslatablePattern as error:
        return PatternDecision(None, None, False, 0, str(error), compared=False)
    refused_now = _sampled_witness(old, new, samples)
    accepted_now = _sampled_witness(new, old, samples)
    try:
        exact_refused, exact_accepted = exact_witness(old, new), exact_witness(new, old)
    except Undecidable as error:
        return PatternDecision(refused_now, accepted_now, False, samples, str(error))
    if (exact_refused is None and refused_now is not None) or (exact_accepted is None and accepted_now is not None):
        # a checked sample contradicts the exact search: trust the sample, claim nothing exact
        return PatternDecision(refused_now, accepted_now, False, samples, "the exact search disagreed with a sample")
    # the exact search's witnesses are the shortest; they were checked like the samples
    return PatternDecision(exact_refused, exact_accepted, True, samples)


def _sampled_witness(inside: Language, outside: Language, samples: int) -> str | None:
    """A value of `inside` that `outside` refuses, drawn (and shrunk) by Hypothesis; None when none was found."""
    try:
        strategy = inside.strings()
    except Contradiction:
        return None  # `inside` accepts nothing
    config = settings(max_examples=samples, database=None, derandomize=True, deadline=None,
                      phases=(Phase.generate, Phase.shrink), suppress_health_check=list(HealthCheck))
    try:
        witness = find(strategy, lambda value: not outside.contains(value), settings=config)
    except (NoSuchExample, Unsatisfiable):
        return None
    if not _separates(witness, inside, outside):  # drawn valid by construction: this is a bug in strategies
        raise AssertionError(f"sampled witness {witness!r} is not valid for {inside} and refused by {outside}")
    return witness


def _separates(witness: str, inside: Language, outside: Language) -> bool:
    """The check every witness passes: accepted by one language, refused by the other, by Python `re`."""
    return inside.contains(witness) and not outside.contains(witness)


# ----------------------------------------------------------------------------------------------------------------
# The exact search


def exact_witness(inside: Language, outside: Language) -> str | None:
    """The shortest value of `inside` that `outside` refuses, or None when `inside` is a subset of `outside`.

    Walks the reachable pairs of automaton states length by length. The set of pairs reachable at length n
    depends only on the set at n-1, so once a set repeats, all longer lengths repeat with the same period and
    only lengths up to one period past the largest length bound need checking.
    """
    witness = _LayeredSearch(_automaton(inside), _automaton(outside), inside, outside).run()
    if witness is not None and not _separates(witness, inside, outside):
        raise Undecidable(f"the exact search found {witness!r}, which the check refutes")
    return witness


class _LayeredSearch:
    def __init__(self, a, b, inside: Language, outside: Language):
        self.a, self.b, self.inside, self.outside = a, b, inside, outside
        self.layers: list[dict] = []  # per length: state pair -> (pair at the previous length, character)
        self.wrap: dict = {}  # the parents of the first repeated layer (it equals layers[period_start])
        self.period_start = self.repeat_at = None

    def differs(self, pair, length: int) -> bool:
        a_state, b_state = pair
        in_inside = self.a.accepts(a_state) and self.inside.length_ok(length)
        in_outside = b_state is not None and self.b.accepts(b_state) and self.outside.length_ok(length)
        return in_inside and not in_outside

    def run(self) -> str | None:
        layer = {(self.a.start, self.b.start): None}
        first_seen = {}
        for length in range(LAYER_LIMIT):
            key = frozenset(layer)
            if key in first_seen:
                self.period_start, self.repeat_at, self.wrap = first_seen[key], length, layer
                return self._after_repeat()
            first_seen[key] = length
            self.layers.append(layer)
            for pair in layer:
                if self.differs(pair, length):
                    return self._trace(pair, length)
            if self.inside.max is not None and length >= self.inside.max:
                return None
            layer = self._next(layer)
            if not layer:
                return None
        raise Undecidable(f"no repeat of reachable states within {LAYER_LIMIT} characters")

    def _next(self, layer: dict) -> dict:
        following: dict = {}
        for pair in layer:
            for char, target in _pair_steps(self.a, self.b, pair):
                following.setdefault(target, (pair, char))
        return following

    def _index(self, length: int) -> int:
        if self.repeat_at is None or length < self.repeat_at:
            return length
        return self.period_start + (length - self.period_start) % (self.repeat_at - self.period_start)

    def _after_repeat(self) -> str | None:
        bounds = [n for n in (self.inside.min, self.inside.max, self.outside.min, self.outside.max) if n is not None]
        horizon = max(self.repeat_at, max(bounds, default=0) + 1) + (self.repeat_at - self.period_start)
        for length in range(self.repeat_at, horizon + 1):
            if self.inside.max is not None and length > self.inside.max:
                return None
            for pair in self.layers[self._index(length)]:
                if self.differs(pair, length):
                    return self._trace(pair, length)
        return None

    def _trace(self, pair, length: int) -> str:
        chars = []
        while length > 0:
            index = self._index(length)
            # past the repeat, the period's first layer is entered from the period's last one: its own parents
            # point below the period, so it uses those of the repeated layer instead
            past_repeat = self.repeat_at is not None and length >= self.repeat_at
            parents = self.wrap if past_repeat and index == self.period_start else self.layers[index]
            pair, char = parents[pair]
            chars.append(char)
            length -= 1
        return "".join(reversed(chars))


def _pair_steps(a, b, pair):
    """(character, next pair) for each piece of the alphabet on which `a` stays alive; `b` may die (None)."""
    a_state, b_state = pair
    b_pieces = b.pieces(b_state) if b_state is not None else ()
    best: dict = {}
    for lo, hi, a_next, b_next in _overlay(a.pieces(a_state), b_pieces):
        rank, char = _readable(lo, hi)
        target = (a_next, b_next)
        if target not in best or rank < best[target][0]:
            best[target] = (rank, char)
    return [(char, target) for target, (rank, char) in best.items()]


def _overlay(pieces, others):
    """Split `pieces` (sorted, disjoint (lo, hi, x)) by `others` (same form): (lo, hi, x, y or None)."""
    j = 0
    for lo, hi, x in pieces:
        at = lo
        while at <= hi:
            while j < len(others) and others[j][1] < at:
                j += 1
            if j < len(others) and others[j][0] <= at:
                end = min(hi, others[j][1])
                yield at, end, x, others[j][2]
            else:
                end = min(hi, others[j][0] - 1) if j < len(others) else hi
                yield at, end, x, None
            at = end + 1


def _intersect(pieces, others):
    for lo, hi, x, y in _overlay(pieces, others):
        if y is not None:
            yield lo, hi, (x, y)


def _readable(lo: int, hi: int) -> tuple[int, str]:
    for rank, (first, last) in enumerate(_PREFERRED):
        if lo <= last and first <= hi:
            return rank, chr(max(lo, first))
    return len(_PREFERRED), chr(lo)


# -- automata --------------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=256)
def _automaton(language: Language):
    """The language's pattern as a deterministic automaton (length bounds are checked by the search)."""
    parsed = sre_parse.parse(language.python)
    items, gates = _edge_assertions(parsed, language.python)
    nfa = _Nfa(items, language.python, dotall=bool(parsed.state.flags & re.DOTALL))
    automaton = _SubsetAutomaton(nfa)
    return _Product((automaton, *gates)) if gates else automaton


def _edge_assertions(parsed, pattern: str):
    """Drop anchors at the ends (always true under fullmatch) and turn one-character lookarounds at the ends
    into small automata; anything else stays for _Nfa, which refuses it."""
    flags = parsed.state.flags
    if flags & re.IGNORECASE:
        raise Undecidable("case-insensitive matching")
    items, gates = list(parsed), []
    while items and _is_leading(items[0]):
        gates += _gate(items.pop(0), pattern, leading=True, dotall=bool(flags & re.DOTALL))
    while items and _is_trailing(items[-1]):
        gates += _gate(items.pop(), pattern, leading=False, dotall=bool(flags & re.DOTALL))
    return items, gates


def _is_leading(node) -> bool:
    op, av = node
    return (op is sre.AT and av in (sre.AT_BEGINNING, sre.AT_BEGINNING_STRING)) or \
        (op in (sre.ASSERT, sre.ASSERT_NOT) and av[0] == 1)


def _is_trailing(node) -> bool:
    op, av = node
    return (op is sre.AT and av in (sre.AT_END, sre.AT_END_STRING)) or \
        (op in (sre.ASSERT, sre.ASSERT_NOT) and av[0] == -1)


def _gate(node, pattern: str, leading: bool, dotall: bool) -> list:
    op, av = node
    if op is sre.AT:
        return []
    body = list(av[1])
    if len(body) != 1:
        raise Undecidable(f"a lookaround longer than one character in {pattern!r}")
    chars = _char_ranges(body[0], dotall)
    return [_EdgeGate(chars, positive=op is sre.ASSERT, leading=leading)]


class _EdgeGate:
    """`(?=C)`/`(?!C)` at the start or `(?<=C)`/`(?<!C)` at the end, as a three-state automaton.
    States: "start" (nothing read), "in" (the edge character is in C), "out" (it is not)."""

    def __init__(self, chars, positive: bool, leading: bool):
        self.chars, self.positive, self.leading = chars, positive, leading
        self.start = "start"

    def accepts(self, state) -> bool:
        if state == "start":  # the empty string: a lookahead sees no character, so only `(?!C)` holds
            return not self.positive
        return (state == "in") == self.positive

    @functools.lru_cache(maxsize=None)
    def pieces(self, state):
        if self.leading and state != "start":
            return ((0, MAX_CODE_POINT, state),)  # decided by the first character; the rest is free
        inside = [(lo, hi, "in") for lo, hi in self.chars]
        outside = [(lo, hi, "out") for lo, hi in complement_ranges(self.chars)]
        return tuple(sorted(inside + outside))


class _Product:
    """Several automata read together: alive while all are, accepting when all accept."""

    def __init__(self, parts):
        self.parts = parts
        self.start = tuple(part.start for part in parts)

    def accepts(self, state) -> bool:
        return all(part.accepts(s) for part, s in zip(self.parts, state))

    @functools.lru_cache(maxsize=None)
    def pieces(self, state):
        combined = [(lo, hi, (s,)) for lo, hi, s in self.parts[0].pieces(state[0])]
        for part, s in zip(self.parts[1:], state[1:]):
            combined = [(lo, hi, xs + (y,)) for lo, hi, (xs, y) in _intersect(combined, part.pieces(s))]
        return tuple(combined)


class _Nfa:
    """Thompson construction over the regular part of a parsed `re` pattern: characters, classes, groups,
    alternation, greedy or lazy repeats (same language). Edges carry code-point ranges."""

    def __init__(self, items, pattern: str, dotall: bool):
        self.pattern, self.dotall = pattern, dotall
        self.eps: list[list[int]] = []
        self.edges: list[list[tuple]] = []
        self.start = self._new()
        self.accept = self._sequence(items, self.start)

    def _new(self) -> int:
        if len(self.eps) >= NFA_STATE_LIMIT:
            raise Undecidable(f"its automaton exceeds {NFA_STATE_LIMIT} states")
        self.eps.append([])
        self.edges.append([])
        return len(self.eps) - 1

    def _sequence(self, items, state: int) -> int:
        for node in items:
            state = self._node(node, state)
        return state

    def _node(self, node, state: int) -> int:
        op, av = node
        if op in (sre.LITERAL, sre.NOT_LITERAL, sre.ANY, sre.IN):
            end = self._new()
            self.edges[state].append((_char_ranges(node, self.dotall), end))
            return end
        if op is sre.SUBPATTERN:
            _, add_flags, del_flags, body = av
            if add_flags or del_flags:
                raise Undecidable("a scoped flag group")
            return self._sequence(body, state)
        if op is sre.BRANCH:
            end = self._new()
            for alternative in av[1]:
                begin = self._new()
                self.eps[state].append(begin)
                self.eps[self._sequence(alternative, begin)].append(end)
            return end
        if op in (sre.MAX_REPEAT, sre.MIN_REPEAT):
            return self._repeat(state, *av)
        raise Undecidable(f"{str(op).lower()} inside {self.pattern!r}")

    def _repeat(self, state: int, lo: int, hi: int, body) -> int:
        for _ in range(lo):
            state = self._sequence(body, state)
        if hi == sre.MAXREPEAT:
            loop = self._new()
            self.eps[state].append(loop)
            self.eps[self._sequence(body, loop)].append(loop)
            return loop
        end = self._new()
        self.eps[state].append(end)
        for _ in range(hi - lo):
            state = self._sequence(body, state)
            self.eps[state].append(end)
        return end


class _SubsetAutomaton:
    """The NFA determinised on demand: a state is the epsilon-closed set of NFA states."""

    def __init__(self, nfa: _Nfa):
        self.nfa = nfa
        self.start = self._closure((nfa.start,))

    def accepts(self, state) -> bool:
        return self.nfa.accept in state

    @functools.lru_cache(maxsize=None)
    def _closure(self, states) -> frozenset:
        seen, todo = set(states), list(states)
        while todo:
            for nxt in self.nfa.eps[todo.pop()]:
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return frozenset(seen)

    @functools.lru_cache(maxsize=None)
    def pieces(self, state) -> tuple:
        """Disjoint (lo, hi, next state) over the alphabet, by a sweep over the edges' range ends."""
        events = []
        for nfa_state in state:
            for ranges, target in self.nfa.edges[nfa_state]:
                for lo, hi in _without_surrogates(ranges):
                    events += [(lo, 1, target), (hi + 1, -1, target)]
        events.sort()
        active: dict[int, int] = {}
        out, at = [], None
        for point, delta, target in events:
            if at is not None and point > at and active:
                out.append((at, point - 1, self._closure(tuple(sorted(active)))))
            at = point
            active[target] = active.get(target, 0) + delta
            if not active[target]:
                del active[target]
        return tuple(out)


def _without_surrogates(ranges):
    low, high = SURROGATES
    for lo, hi in ranges:
        if lo < low:
            yield lo, min(hi, low - 1)
        if hi > high:
            yield max(lo, high + 1), hi


def _char_ranges(node, dotall: bool) -> tuple:
    op, av = node
    if op is sre.LITERAL:
        return ((av, av),)
    if op is sre.NOT_LITERAL:
        return complement_ranges(((av, av),))
    if op is sre.ANY:  # translated patterns spell Java's `.` as a class; a bare `.` is Python's
        return ((0, MAX_CODE_POINT),) if dotall else complement_ranges(((0x0A, 0x0A),))
    if op is sre.IN:
        return _class_ranges(av)
    raise Undecidable(f"{str(op).lower()} where one character was expected")


def _class_ranges(items) -> tuple:
    pairs, negate = [], False
    for op, av in items:
        if op is sre.NEGATE:
            negate = True
        elif op is sre.LITERAL:
            pairs.append((av, av))
        elif op is sre.RANGE:
            pairs.append(tuple(av))
        else:  # CATEGORY: Python's own \d \w \s (Unicode-wide); translated patterns never contain them
            raise Undecidable(f"the class item {str(op).lower()}")
    ranges = merge_ranges(pairs)
    return complement_ranges(ranges) if negate else ranges
