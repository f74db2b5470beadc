"""Patterns read both ways: Smithy patterns are ECMA-262 regexes, the services behind them mostly Java.

Valid values must be valid under both readings (and whole-value as well as unanchored), invalid values invalid
under both; values the readings disagree on are ambiguous requests, which document and never fail.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

import strategies
from strategies import PatternStrings, compiled

NBSP, ZWNBSP, NEL, LS = "\u00a0", "\ufeff", "\u0085", "\u2028"
# ECMA-262 WhiteSpace and LineTerminator, written out here (not taken from the code under test).
ECMA_WHITESPACE = set("\t\x0b\x0c \u00a0\ufeff\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
                      "\u2009\u200a\u202f\u205f\u3000\n\r\u2028\u2029")


@pytest.mark.parametrize("pattern, value, java, ecma", [
    (r"\S+", "ab", True, True),
    (r"\S+", f"a{NBSP}b", True, False),  # NBSP: not Java's ASCII \s, whitespace in ECMAScript
    (r"\S+", ZWNBSP, True, False),
    (r"\s", NBSP, False, True),
    (r".*", f"a{NEL}b", False, True),  # NEL ends a line for Java's `.`, not for ECMAScript's
    (r".*", f"a{LS}b", False, False),
    (r"\d{3}", "123", True, True),
    (r"\w+", "a_1", True, True),
])
def test_the_two_flavours_read_class_escapes_as_their_specifications_say(pattern, value, java, ecma):
    assert bool(compiled(pattern).fullmatch(value)) == java
    assert bool(compiled(pattern, flavour="ecma").fullmatch(value)) == ecma


def test_valid_means_valid_under_both_readings():
    strings = PatternStrings(r"\S+", "t")
    assert strings.full("ab")
    assert not strings.full(f"a{NBSP}b") and not strings.full(ZWNBSP)


@settings(max_examples=300)
@given(st.data())
def test_valid_draws_of_a_whitespace_free_pattern_are_free_of_whitespace_in_both_readings(data):
    for name in ("ClientToken", "ProcurementPortalInstanceEndpoint"):
        shape = strategies.operation_model("CreateProcurementPortalPreference").input_shape.members[name]
        value = data.draw(PatternStrings(shape.metadata["pattern"], name).valid(1, 64))
        assert value and not ECMA_WHITESPACE & set(value), repr(value)


@given(st.data())
def test_invalid_draws_fail_under_both_readings(data):
    strings = PatternStrings(r"\S+", "t")
    value = data.draw(strings.violating(1, 20))
    assert not compiled(r"\S+").search(value) and not compiled(r"\S+", flavour="ecma").search(value)


def test_values_the_readings_disagree_on_are_ambiguous_not_invalid():
    strings = PatternStrings(r"\S+", "t")
    assert NBSP in strings.misfit_chars  # a building block of ambiguous values
    assert NBSP not in strings.bad_chars  # never one of an invalid value's characters
    from hypothesis import find

    value = find(strings.ambiguous(1, 20), lambda v: compiled(r"\S+").fullmatch(v) is not None)
    assert compiled(r"\S+", flavour="ecma").fullmatch(value) is None


def test_the_model_members_with_such_patterns_have_ambiguous_requests():
    draw = strategies.fixed_example(strategies.ambiguous_requests("CreateProcurementPortalPreference"))
    assert draw.pattern and "disagree" in draw.description
