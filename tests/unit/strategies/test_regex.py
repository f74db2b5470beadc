"""Java/Smithy pattern -> Python translation: table-driven, plus every pattern of the installed model."""

import re

import pytest

from strategies._model import service_model
from strategies._regex import UntranslatablePattern, anchored, ranges_of, translate

# (Java pattern, whole values it must accept, whole values it must refuse) under Java semantics.
CASES = [
    # InvoiceUnitName: letters, numbers, separators, '-' and '_', no leading/trailing space. Java reads
    # `[\p{Z}-_]` as the class, '-', '_' (not a range).
    (r"(?! )[\p{L}\p{N}\p{Z}-_]*(?<! )", ["", "a", "Prod unit_1", "é-ü", "名前", "١٢٣", "a\u3000b", "x-y_z"],
     [" a", "a ", "a!", "a.b", "a\tb", "a,b", "\u0301"]),
    (r"\d{12}", ["123456789012"], ["12345678901", "١٢٣٤٥٦٧٨٩٠١٢", "12345678901x", "1234567890123"]),
    (r"\S+", ["a", "é", "\x00", "a-b"], ["", " ", "a b", "a\n", "\t"]),
    (r"[\s\S]*", ["", "any\nthing", "\u2028"], []),
    (".*", ["", "abc", "\t"], ["a\nb", "\r", "\x85", "\u2028", "\u2029"]),  # Java's five line terminators
    (r"\w+", ["abc_09"], ["é", "a-b"]),  # ASCII in Java
    (r"\p{Alnum}+", ["abcXYZ09"], ["é", "_", "٣"]),
    (r"\p{Alpha}\p{Digit}", ["a1"], ["é1", "a٣"]),
    (r"\p{Lower}\p{Upper}", ["aB"], ["Ab", "éB"]),
    (r"\p{Punct}", ["!", "~", "-"], ["a", "¿"]),
    (r"\p{Space}", [" ", "\x0b"], ["\xa0", "a"]),
    (r"\p{XDigit}+", ["09afAF"], ["g"]),
    (r"\p{Lu}\p{Ll}", ["Ab", "Éé"], ["aB"]),
    (r"\p{IsL}\pN", ["a1", "ж٣"], ["11"]),
    (r"\P{L}", ["1", " "], ["a", "ж"]),
    (r"[^\p{L}]", ["1"], ["a"]),
    (r"[\P{N}]", ["a"], ["1", "٣"]),
    (r"\p{Zs}", [" ", "\u3000"], ["\n"]),
    (r"[a-zA-Z0-9._%+-]+@[a-zA-Z0-9.-]+\.[a-zA-Z]{2,}", ["a.b+c@x-y.example"], ["a@b", "@x.io", "a@b.c"]),
    (r"arn:aws[-a-z0-9]*:(invoicing)::[0-9]{12}:[-a-zA-Z0-9/:_]+",
     ["arn:aws:invoicing::123456789012:invoice-unit/abc"], ["arn:aws:invoicing::12345678901:x", "xarn:aws:invoicing::123456789012:x"]),
    (r"\Qa.b\E", ["a.b"], ["axb"]),
    (r"\x41\u0042\t", ["AB\t"], ["ab\t"]),
    (r"\h", [" ", "\xa0", "\u3000"], ["\n"]),
    (r"(?<word>ab)\k<word>", ["abab"], ["abba"]),
    (r"(?i)abc", ["ABC", "abc"], ["abd"]),
    (r"a++b", ["aab"], ["b"]),
    (r"[]a]", ["]", "a"], ["b"]),
    (r"[a-]", ["a", "-"], ["b"]),
    (r"\.\-\[", [".-["], ["a-["]),
]


@pytest.mark.parametrize("java, good, bad", CASES, ids=[c[0][:30] for c in CASES])
def test_translation_keeps_the_java_meaning(java, good, bad):
    python = re.compile(translate(java, "Case"))
    for value in good:
        assert python.fullmatch(value), f"{java!r} should accept {value!r} (translated: {python.pattern[:200]})"
    for value in bad:
        assert not python.fullmatch(value), f"{java!r} should refuse {value!r} (translated: {python.pattern[:200]})"


@pytest.mark.parametrize("java, construct", [
    (r"\p{IsLatin}", r"\p{IsLatin}"),
    (r"\p{InGreek}", r"\p{InGreek}"),
    (r"[a-z&&[^aeiou]]", "intersection"),
    (r"[a[bc]]", "nested character class"),
    (r"(?U)\w", "UNICODE_CHARACTER_CLASS"),
    (r"a(?i)b", "inline flag group"),
    (r"\G", r"\G"),
    (r"[z-a]", "reversed range"),
    (r"[abc", "unclosed class"),
])
def test_untranslatable_constructs_name_the_shape_and_the_fix(java, construct):
    with pytest.raises(UntranslatablePattern) as raised:
        translate(java, "InvoiceUnitName")
    message = str(raised.value)
    assert message.startswith("InvoiceUnitName.pattern uses")
    assert construct in message
    assert "strategies/_regex.py" in message


def test_every_pattern_of_the_installed_model_translates():
    shapes = service_model()._shape_resolver._shape_map
    patterns = {name: s["pattern"] for name, s in shapes.items() if "pattern" in s}
    assert patterns, "the Invoicing model has patterns"
    for name, pattern in patterns.items():
        re.compile(translate(pattern, name))


def test_anchored_form_is_a_whole_value_match_under_search():
    # JSON Schema applies `pattern` with search; Python's `$` would also accept a trailing newline.
    whole = re.compile(anchored(r"\d{12}"))
    assert whole.search("123456789012")
    assert not whole.search("123456789012\n")
    assert not whole.search("x123456789012")


def test_class_escapes_expand_to_explicit_ranges():
    assert ranges_of(r"\d") == ((0x30, 0x39),)
    assert ranges_of(r"\s") == ((0x09, 0x0D), (0x20, 0x20))
    letters = ranges_of(r"\p{L}")
    assert (0x41, 0x5A) in letters and len(letters) > 300
