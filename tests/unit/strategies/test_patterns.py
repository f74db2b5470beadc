"""Strings for a pattern and length bounds: valid by construction, and the two kinds of misfit."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from strategies._patterns import Contradiction, PatternStrings

FAST = settings(max_examples=25, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])

# (Java pattern, min, max): the Invoicing model's patterns with their bounds, and a few harder ones.
CASES = [
    (r"\d{12}", 0, None),
    (r"(?! )[\p{L}\p{N}\p{Z}-_]*(?<! )", 1, 50),
    (r"\S+", 0, 1024),
    (r"[\s\S]*", 0, 1024),
    (r".*", 0, 1024),
    (r"[a-zA-Z0-9._%+-]+@[a-zA-Z0-9.-]+\.[a-zA-Z]{2,}", 1, 1024),
    (r"arn:aws[-a-z0-9]*:(invoicing)::[0-9]{12}:[-a-zA-Z0-9/:_]+", 20, 2048),
    (r"arn:aws:invoicing::[0-9]{12}:procurement-portal-preference/[-a-zA-Z0-9]+", 1, 256),
    (r"(ab|cd)+e?", 3, 9),
    (r"(x)\1[^y]", 0, None),
]
IDS = [c[0][:24] for c in CASES]


@pytest.mark.parametrize("pattern, lo, hi", CASES, ids=IDS)
@FAST
@given(data=st.data())
def test_valid_strings_fully_match_within_bounds(pattern, lo, hi, data):
    strings = PatternStrings(pattern, "Case")
    value = data.draw(strings.valid(lo, hi))
    assert strings.full(value) and lo <= len(value) and (hi is None or len(value) <= hi)


@pytest.mark.parametrize("pattern, lo, hi", [c for c in CASES if c[2] is not None and c[0] != r"(ab|cd)+e?"],
                         ids=[i for c, i in zip(CASES, IDS) if c[2] is not None and c[0] != r"(ab|cd)+e?"])
@FAST
@given(data=st.data())
def test_values_just_past_max_still_match_so_only_max_breaks(pattern, lo, hi, data):
    strings = PatternStrings(pattern, "Case")
    value = data.draw(strings.valid(hi + 1, hi + 3))
    assert strings.full(value) and hi < len(value) <= hi + 3


@pytest.mark.parametrize("pattern, lo, hi", CASES, ids=IDS)
@FAST
@given(data=st.data())
def test_violating_values_fail_both_readings(pattern, lo, hi, data):
    strings = PatternStrings(pattern, "Case")
    violating = strings.violating(lo, hi)
    if strings.regex.search("") is not None:
        assert violating is None  # matches the empty string, hence somewhere in every string
        return
    value = data.draw(violating)
    assert not strings.anywhere(value) and not strings.full(value)
    assert max(lo, 1) <= len(value) and (hi is None or len(value) <= hi)


@pytest.mark.parametrize("pattern, lo, hi", CASES, ids=IDS)
@FAST
@given(data=st.data())
def test_ambiguous_values_split_the_readings(pattern, lo, hi, data):
    strings = PatternStrings(pattern, "Case")
    ambiguous = strings.ambiguous(lo, hi)
    if pattern == r"[\s\S]*":
        assert ambiguous is None  # every string is a whole match: the readings never disagree
        return
    value = data.draw(ambiguous)
    assert strings.anywhere(value) and not strings.full(value)


def test_bounds_the_pattern_cannot_meet_are_a_contradiction_naming_the_shape():
    with pytest.raises(Contradiction, match=r"AccountIdString: no value of length 13\.\.20"):
        PatternStrings(r"\d{12}", "AccountIdString").valid(13, 20)
    assert not PatternStrings(r"[A-Z]{2}", "CountryCode").can_reach(3, 5)
    assert PatternStrings(r"\S+", "Token").can_reach(1025, 1030)
