r"""Java (Smithy model) regular expressions -> Python `re` patterns with the same meaning.

Why: Smithy patterns in AWS models are written for Java's `java.util.regex`. Python `re` cannot read
`\\p{L}` and friends, and some escapes mean something else in Python: Java's `\\d`, `\\w`, `\\s` are ASCII-only
while Python's are Unicode-wide; Java's `.` stops at five line terminators while Python's stops at `\\n` only.
So every class escape is expanded into explicit code-point ranges, which Python `re`, `jsonschema` and
Hypothesis's `from_regex` all read the same way.

A construct we cannot translate faithfully raises `UntranslatablePattern` naming the shape; it is never skipped.
Smithy patterns are unanchored (`re.search`); callers choose the reading (`fullmatch` for valid values).

Smithy itself says its patterns are ECMA-262 regular expressions, while the AWS services behind the models are
mostly Java. The readings differ on `\s`/`\S` (ECMAScript's whitespace adds U+00A0, U+FEFF, the Zs spaces and
U+2028/U+2029 to Java's ASCII six) and on `.` (ECMAScript lets U+0085 through); `\d` and `\w` are ASCII in both.
`translate(pattern, flavour="ecma")` gives the ECMAScript reading, so callers can ask for values both readings
agree on (strategies._patterns: valid under both, invalid under both, the rest ambiguous).
"""

from __future__ import annotations

import functools
import re
import sys
import unicodedata

__all__ = ["UntranslatablePattern", "translate", "compiled", "anchored", "ranges_of"]

MAX_CODE_POINT = sys.maxunicode


class UntranslatablePattern(ValueError):
    """A model pattern uses a construct this module cannot translate; the message names the shape."""


def _fail(where: str, construct: str, pattern: str, why: str = "which Python re cannot read") -> None:
    raise UntranslatablePattern(
        f"{where}.pattern uses {construct}, {why}; add a translation in strategies/_regex.py "
        f"(pattern: {pattern!r})"
    )


# ---- character sets as sorted, merged lists of inclusive (lo, hi) code-point ranges -------------------------

Ranges = tuple[tuple[int, int], ...]


def _merge(pairs) -> Ranges:
    out: list[list[int]] = []
    for lo, hi in sorted(pairs):
        if out and lo <= out[-1][1] + 1:
            out[-1][1] = max(out[-1][1], hi)
        else:
            out.append([lo, hi])
    return tuple((lo, hi) for lo, hi in out)


def _complement(ranges: Ranges) -> Ranges:
    out, start = [], 0
    for lo, hi in ranges:
        if lo > start:
            out.append((start, lo - 1))
        start = hi + 1
    if start <= MAX_CODE_POINT:
        out.append((start, MAX_CODE_POINT))
    return tuple(out)


def _chars(text: str) -> Ranges:
    return _merge((ord(c), ord(c)) for c in text)


@functools.lru_cache(maxsize=None)
def _categories() -> dict[str, Ranges]:
    """Unicode general category (two letters) -> ranges, built once from unicodedata (~0.3 s)."""
    table: dict[str, list[tuple[int, int]]] = {}
    current, start = None, 0
    for cp in range(MAX_CODE_POINT + 1):
        cat = unicodedata.category(chr(cp))
        if cat != current:
            if current is not None:
                table.setdefault(current, []).append((start, cp - 1))
            current, start = cat, cp
    table.setdefault(current, []).append((start, MAX_CODE_POINT))
    return {cat: _merge(r) for cat, r in table.items()}


_GENERAL_CATEGORIES = frozenset(
    "Lu Ll Lt Lm Lo Mn Mc Me Nd Nl No Pc Pd Ps Pe Pi Pf Po Sm Sc Sk So Zs Zl Zp Cc Cf Cs Co Cn".split()
)


def _general_category(name: str) -> Ranges | None:
    """Ranges of a general category (`L`, `Lu`, `LC`, ...), or None when `name` is not one."""
    cats = _categories()
    if name in _GENERAL_CATEGORIES:
        return cats.get(name, ())
    if len(name) == 1 and name in "LMNPSZC":
        return _merge(r for cat, rs in cats.items() if cat[0] == name for r in rs)
    if name == "LC":  # cased letter
        return _merge(cats.get("Lu", ()) + cats.get("Ll", ()) + cats.get("Lt", ()))
    return None


# Java's POSIX classes are US-ASCII only (no UNICODE_CHARACTER_CLASS flag).
_PUNCT = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"
_POSIX: dict[str, Ranges] = {
    "Lower": ((0x61, 0x7A),),
    "Upper": ((0x41, 0x5A),),
    "ASCII": ((0x00, 0x7F),),
    "Alpha": ((0x41, 0x5A), (0x61, 0x7A)),
    "Digit": ((0x30, 0x39),),
    "Alnum": ((0x30, 0x39), (0x41, 0x5A), (0x61, 0x7A)),
    "Punct": _chars(_PUNCT),
    "Graph": _merge(((0x30, 0x39), (0x41, 0x5A), (0x61, 0x7A)) + _chars(_PUNCT)),
    "Print": _merge(((0x20, 0x20), (0x30, 0x39), (0x41, 0x5A), (0x61, 0x7A)) + _chars(_PUNCT)),
    "Blank": _chars(" \t"),
    "Cntrl": ((0x00, 0x1F), (0x7F, 0x7F)),
    "XDigit": ((0x30, 0x39), (0x41, 0x46), (0x61, 0x66)),
    "Space": _chars(" \t\n\x0b\f\r"),
}

# Java's predefined classes (ASCII unless UNICODE_CHARACTER_CLASS, which we refuse below).
_DIGIT = ((0x30, 0x39),)
_WORD = _merge(((0x30, 0x39), (0x41, 0x5A), (0x61, 0x7A), (0x5F, 0x5F)))
_SPACE = _chars(" \t\n\x0b\f\r")
_HSPACE = _merge(_chars(" \t\xa0\u1680\u180e\u202f\u205f\u3000") + ((0x2000, 0x200A),))
_VSPACE = _chars("\n\x0b\f\r\x85\u2028\u2029")
_LINE_TERMINATORS = _chars("\n\r\x85\u2028\u2029")  # what Java's `.` does not match

_ESCAPE_CLASSES = {
    "d": _DIGIT, "w": _WORD, "s": _SPACE, "h": _HSPACE, "v": _VSPACE,
}
# ECMA-262: WhiteSpace (TAB, VT, FF, SP, NBSP, ZWNBSP, Zs) and LineTerminator (LF, CR, LS, PS).
_ECMA_LINE_TERMINATORS = _chars("\n\r\u2028\u2029")
_ECMA_SPACE = _merge(_chars("\t\x0b\f \xa0\ufeff\u1680\u202f\u205f\u3000") + ((0x2000, 0x200A),)
                     + _ECMA_LINE_TERMINATORS)
_ECMA_ESCAPE_CLASSES = {"d": _DIGIT, "w": _WORD, "s": _ECMA_SPACE}
FLAVOURS = ("java", "ecma")


def _property(name: str) -> Ranges | None:
    """Ranges of a Java `\\p{name}`, or None when we do not know it."""
    for prefix in ("general_category=", "gc="):
        if name.startswith(prefix):
            return _general_category(name[len(prefix):])
    if name in _POSIX:
        return _POSIX[name]
    bare = name[2:] if name.startswith("Is") else name
    found = _general_category(bare)
    if found is not None:
        return found
    cats = _categories()
    aliases = {  # Java's `\p{IsXxx}` binary properties that map exactly onto general categories
        "Letter": "L", "Digit": "Nd", "Punctuation": "P", "Control": "Cc",
        "Uppercase_Letter": "Lu", "Lowercase_Letter": "Ll", "Decimal_Number": "Nd",
    }
    if bare in aliases:
        return _general_category(aliases[bare])
    if name == "javaWhitespace":  # Character.isWhitespace: Z* except no-break spaces, plus ASCII controls
        z = _merge(cats["Zs"] + cats["Zl"] + cats["Zp"])
        nbsp = _chars("\xa0\u2007\u202f")
        keep = tuple(r for r in _split(z, nbsp))
        return _merge(keep + _chars("\t\n\x0b\f\r\x1c\x1d\x1e\x1f"))
    return None


def _split(ranges: Ranges, remove: Ranges) -> Ranges:
    """ranges minus remove."""
    return _intersect(ranges, _complement(remove))


def _intersect(a: Ranges, b: Ranges) -> Ranges:
    out, i, j = [], 0, 0
    while i < len(a) and j < len(b):
        lo, hi = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if lo <= hi:
            out.append((lo, hi))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return tuple(out)


def _emit_char(cp: int) -> str:
    """A code point safe inside a Python character class (and outside one)."""
    c = chr(cp)
    if c.isalnum() and cp < 0x80:
        return c
    if cp < 0x80 and c in " _!\"#%&',/:;<=>@`~":
        return c
    if cp <= 0xFF:
        return f"\\x{cp:02x}"
    if cp <= 0xFFFF:
        return f"\\u{cp:04x}"
    return f"\\U{cp:08x}"


def _emit_ranges(ranges: Ranges) -> str:
    """Class body (without brackets) for ranges."""
    parts = []
    for lo, hi in ranges:
        if lo == hi:
            parts.append(_emit_char(lo))
        elif hi == lo + 1:
            parts.append(_emit_char(lo) + _emit_char(hi))
        else:
            parts.append(f"{_emit_char(lo)}-{_emit_char(hi)}")
    return "".join(parts)


def _emit_class(ranges: Ranges) -> str:
    if not ranges:
        return "(?!)"  # matches nothing, like an empty Java class
    return f"[{_emit_ranges(ranges)}]"


def ranges_of(class_escape: str) -> Ranges:
    """Ranges of one Java class escape such as `\\p{L}` or `\\d` (exposed for tests)."""
    translated = translate(class_escape, "ranges_of")
    body = translated[1:-1] if translated.startswith("[") else translated
    return _parse_class_body(body)


def _parse_class_body(body: str) -> Ranges:
    compiled = re.compile(f"[{body}]")
    # Reading back through sre is simplest and only used by tests.
    from re import _parser as sre_parse  # noqa: PLC0415

    (op, items), = sre_parse.parse(compiled.pattern)
    pairs = []
    for kind, arg in items:
        if kind is sre_parse.LITERAL:
            pairs.append((arg, arg))
        elif kind is sre_parse.RANGE:
            pairs.append(arg)
    return _merge(pairs)


# ---- the translator ------------------------------------------------------------------------------------------

_UNSUPPORTED_FLAGS = {"d": "UNIX_LINES (?d)", "U": "UNICODE_CHARACTER_CLASS (?U)"}


class _Translator:
    def __init__(self, pattern: str, where: str, flavour: str = "java"):
        self.p, self.where, self.i = pattern, where, 0
        self.dotall = False
        self.ecma = flavour == "ecma"
        self.classes = _ECMA_ESCAPE_CLASSES if self.ecma else _ESCAPE_CLASSES
        self.line_terminators = _ECMA_LINE_TERMINATORS if self.ecma else _LINE_TERMINATORS

    def error(self, construct: str, why: str = "which Python re cannot read"):
        _fail(self.where, construct, self.p, why)

    def peek(self, k: int = 0) -> str:
        j = self.i + k
        return self.p[j] if j < len(self.p) else ""

    def run(self) -> str:
        out = []
        while self.i < len(self.p):
            c = self.p[self.i]
            if c == "\\":
                out.append(self.escape(in_class=False)[0])
            elif c == "[":
                out.append(self.char_class())
            elif c == ".":
                self.i += 1
                out.append("." if self.dotall else _emit_class(_complement(self.line_terminators)))
            elif c == "(":
                out.append(self.group_open(at_start=not out))
            else:
                out.append(c)
                self.i += 1
        return "".join(out)

    def group_open(self, at_start: bool) -> str:
        rest = self.p[self.i:]
        m = re.match(r"\(\?<([A-Za-z][A-Za-z0-9]*)>", rest)
        if m:  # Java named group -> Python named group
            self.i += m.end()
            return f"(?P<{m.group(1)}>"
        m = re.match(r"\(\?([idmsuxU]*)(?:-([idmsuxU]*))?(\)|:)", rest)
        if m and (m.group(1) or m.group(2)):
            on, off, end = m.group(1), m.group(2) or "", m.group(3)
            for flag in on + off:
                if flag in _UNSUPPORTED_FLAGS:
                    self.error(f"the flag {_UNSUPPORTED_FLAGS[flag]}")
            on, off = on.replace("u", ""), off.replace("u", "")  # UNICODE_CASE: Python str is always Unicode
            if end == ")":
                if not at_start or off:
                    self.error(f"the inline flag group {m.group(0)!r} in the middle of the pattern")
                self.dotall = self.dotall or "s" in on
                self.i += m.end()
                return f"(?{on})" if on else ""
            if "s" in on + off:
                self.error(f"the scoped DOTALL flag group {m.group(0)!r}")
            self.i += m.end()
            return f"(?{on}-{off}:" if off else (f"(?{on}:" if on else "(?:")
        self.i += 1
        return "("

    def escape(self, in_class: bool) -> tuple[str, Ranges | None]:
        """Translate the escape at self.i; returns (text, ranges when it denotes a set of characters)."""
        c = self.peek(1)
        if c == "":
            self.error("a trailing backslash", "which is not a complete escape")
        start = self.i
        self.i += 2
        if c in "pP":
            if self.peek() == "{":
                end = self.p.find("}", self.i)
                if end < 0:
                    self.error(f"\\{c}{{ without a closing brace", "which is malformed")
                name = self.p[self.i + 1:end]
                self.i = end + 1
            else:
                name = self.peek()
                self.i += 1
            ranges = _property(name)
            if ranges is None:
                self.error(self.p[start:self.i])
            if c == "P":
                ranges = _complement(ranges)
            return (_emit_ranges(ranges) if in_class else _emit_class(ranges)), ranges
        if self.ecma and c == "v":  # ECMAScript: the vertical tab character, not a class
            return _emit_char(0x0B), ((0x0B, 0x0B),)
        if c.lower() in self.classes:
            ranges = self.classes[c.lower()]
            if c.isupper():
                ranges = _complement(ranges)
            return (_emit_ranges(ranges) if in_class else _emit_class(ranges)), ranges
        if c == "Q":  # \Q...\E quotes literally
            end = self.p.find("\\E", self.i)
            end = len(self.p) if end < 0 else end
            text = self.p[self.i:end]
            self.i = min(len(self.p), end + 2)
            return "".join(_emit_char(ord(ch)) for ch in text), _chars(text) if len(text) == 1 else None
        if c == "x" and self.peek() == "{":
            end = self.p.find("}", self.i)
            cp = int(self.p[self.i + 1:end], 16)
            self.i = end + 1
            return _emit_char(cp), ((cp, cp),)
        if c == "x":
            cp = int(self.p[self.i:self.i + 2], 16)
            self.i += 2
            return _emit_char(cp), ((cp, cp),)
        if c == "u":
            cp = int(self.p[self.i:self.i + 4], 16)
            self.i += 4
            return _emit_char(cp), ((cp, cp),)
        if c == "0":  # Java octal \0n, \0nn, \0mnn
            m = re.match(r"[0-3]?[0-7]{1,2}", self.p[self.i:])
            if not m:
                self.error("\\0 without octal digits", "which is malformed")
            self.i += m.end()
            cp = int(m.group(0), 8)
            return _emit_char(cp), ((cp, cp),)
        if c == "c":
            cp = ord(self.peek()) ^ 64
            self.i += 1
            return _emit_char(cp), ((cp, cp),)
        simple = {"t": 9, "n": 10, "r": 13, "f": 12, "a": 7, "e": 27}
        if c in simple:
            return _emit_char(simple[c]), ((simple[c], simple[c]),)
        if in_class:
            if c.isalnum():
                self.error(f"\\{c} inside a character class")
            return _emit_char(ord(c)), ((ord(c), ord(c)),)
        if c == "z":
            return r"\Z", None
        if c == "Z":  # Java: end of input but for a final line terminator
            return r"(?=(?:\r\n|[\n\r\x85\u2028\u2029])?\Z)", None
        if c in "AbB":
            return "\\" + c, None
        if c == "k" and self.peek() == "<":
            end = self.p.find(">", self.i)
            name = self.p[self.i + 1:end]
            self.i = end + 1
            return f"(?P={name})", None
        if c.isdigit():
            return "\\" + c, None
        if c.isalnum():
            self.error(self.p[start:self.i])
        return "\\" + c, ((ord(c), ord(c)),)  # escaped metacharacter: keep it escaped

    def char_class(self) -> str:
        """Translate `[...]`; every member becomes explicit so no Python-vs-Java ambiguity remains."""
        start = self.i
        self.i += 1
        negate = self.peek() == "^"
        if negate:
            self.i += 1
        pairs: list[tuple[int, int]] = []
        first = True
        while True:
            c = self.peek()
            if c == "":
                self.error(f"the unclosed class {self.p[start:]!r}", "which is malformed")
            if c == "]" and not first:
                self.i += 1
                break
            first = False
            if c == "[":
                self.error("a nested character class (union)")
            if c == "&" and self.peek(1) == "&":
                self.error("a character class intersection (&&)")
            if c == "\\":
                _, ranges = self.escape(in_class=True)
                lo_cp = ranges[0][0] if ranges and len(ranges) == 1 and ranges[0][0] == ranges[0][1] else None
            else:
                self.i += 1
                ranges = ((ord(c), ord(c)),)
                lo_cp = ord(c)
            # A range `a-z`: only when the left side is one character and `-` is not last. Java reads
            # `[\p{Z}-_]` as three members (a class, '-', '_'); we keep that reading.
            if lo_cp is not None and self.peek() == "-" and self.peek(1) not in ("]", ""):
                self.i += 1
                if self.peek() == "\\":
                    _, hi_ranges = self.escape(in_class=True)
                    if not (hi_ranges and len(hi_ranges) == 1 and hi_ranges[0][0] == hi_ranges[0][1]):
                        self.error("a range ending in a class escape")
                    hi_cp = hi_ranges[0][0]
                elif self.peek() == "[":
                    self.error("a nested character class (union)")
                else:
                    hi_cp = ord(self.peek())
                    self.i += 1
                if hi_cp < lo_cp:
                    self.error(f"the reversed range {chr(lo_cp)!r}-{chr(hi_cp)!r}", "which is malformed")
                pairs.append((lo_cp, hi_cp))
            else:
                pairs.extend(ranges or ())
        ranges = _merge(pairs)
        if negate:
            ranges = _complement(ranges)
        return _emit_class(ranges)


@functools.lru_cache(maxsize=None)
def translate(pattern: str, where: str = "pattern", flavour: str = "java") -> str:
    """The Python `re` pattern with the meaning of `pattern` read as Java (default) or ECMAScript (`"ecma"`);
    `where` names the shape for errors."""
    if flavour not in FLAVOURS:
        raise ValueError(f"flavour must be one of {FLAVOURS}, not {flavour!r}")
    translated = _Translator(pattern, where, flavour).run()
    try:
        re.compile(translated)
    except re.error as error:  # a construct we passed through that Python reads differently or not at all
        _fail(where, f"a construct Python rejects ({error})", pattern)
    return translated


@functools.lru_cache(maxsize=None)
def compiled(pattern: str, where: str = "pattern", flavour: str = "java") -> re.Pattern:
    return re.compile(translate(pattern, where, flavour))


def anchored(pattern: str, where: str = "pattern") -> str:
    """Whole-value reading usable with `re.search` (as JSON Schema's `pattern` is applied).

    `(?![\\s\\S])` rather than `$`: Python's `$` also matches before a final newline.
    """
    return f"^(?:{translate(pattern, where)})(?![\\s\\S])"
