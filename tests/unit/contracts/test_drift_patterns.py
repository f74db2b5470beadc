"""The pattern decision: narrowing, widening, both or equivalent, each with a witness checked here on its own.

Witnesses are checked with `strategies.compiled` (the project's Java -> Python translation) and the length
bounds, not with the module under test, so a witness in the wrong direction fails here.
"""

from __future__ import annotations

import copy

import pytest

from contracts.drift.gate import diff_models
from contracts.drift.patterns import Language, decide, exact_witness
from contracts.drift.sources import SNAPSHOT_PATH, read_model_file
from strategies import compiled

INVOICE_UNIT_NAME = r"(?! )[\p{L}\p{N}\p{Z}-_]*(?<! )"  # lookarounds at both ends


def accepts(pattern: str | None, lo: int, hi: int | None, value: str) -> bool:
    in_bounds = lo <= len(value) and (hi is None or len(value) <= hi)
    return in_bounds and (pattern is None or compiled(pattern).fullmatch(value) is not None)


def check_witnesses(old: tuple, new: tuple, decision) -> None:
    """Each reported witness is in one language and not the other, in the direction it claims."""
    if decision.refused_now is not None:
        assert accepts(*old, decision.refused_now) and not accepts(*new, decision.refused_now)
    if decision.accepted_now is not None:
        assert accepts(*new, decision.accepted_now) and not accepts(*old, decision.accepted_now)


@pytest.mark.parametrize("old, new, relation", [
    # narrowing: ARNs of any service -> invoicing only (botocore 1.38.30)
    ((r"arn:aws[-a-z0-9]*:[a-z0-9]+:[-a-z0-9]*:[0-9]{12}:[-a-zA-Z0-9/:_]+", 20, 2048),
     (r"arn:aws[-a-z0-9]*:(invoicing)::[0-9]{12}:[-a-zA-Z0-9/:_]+", 20, 2048), "narrowed"),
    # widening by the pattern alone, bounds unchanged
    ((r"\S+", 0, 1024), (r"[\s\S]*", 0, 1024), "widened"),
    # widening: the lookarounds at the ends are dropped
    ((INVOICE_UNIT_NAME, 1, 50), (r"[\p{L}\p{N}\p{Z}-_]*", 1, 50), "widened"),
    # both: the pattern gains digits while the bound shrinks
    ((r"[a-z]+", 1, 10), (r"[a-z0-9]+", 1, 5), "narrowed and widened"),
    ((r"[a-c]+", 1, None), (r"[b-d]+", 1, None), "narrowed and widened"),
    # pattern added to a string that had none: narrowing; removed: widening
    ((None, 1, None), (r"\S+", 1, None), "narrowed"),
    ((r"[0-9]+", 0, 64), (None, 0, 64), "widened"),
    # equivalent rewrites, decided exactly
    ((r"\d{12}", 0, None), (r"[0-9]{12}", 0, None), "equivalent"),
    ((r"(a|b)*c", 0, None), (r"[ab]*c", 0, None), "equivalent"),
    ((r"[a-z]+", 1, 10), (r"[a-z]*", 1, 10), "equivalent"),  # the bound makes `*` and `+` the same
    ((r"\S+", 0, 1024), (r"[^\s]+", 1, 1024), "equivalent"),
])
def test_exact_decision_with_checked_witnesses(old, new, relation):
    decision = decide(Language(*old), Language(*new))
    assert (decision.relation, decision.exact) == (relation, True)
    assert (decision.refused_now is not None) == ("narrowed" in relation)
    assert (decision.accepted_now is not None) == ("widened" in relation)
    check_witnesses(old, new, decision)
    assert ("decided exactly" in decision.describe()) and "not a proof" not in decision.describe()


def test_exact_witness_is_the_shortest_difference():
    assert exact_witness(Language(r"[a-c]+", 1), Language(r"[b-d]+", 1)) == "a"
    assert exact_witness(Language(r"[a-z]{3,}", 3), Language(r"[a-z]{3,5}", 3)) == "aaaaaa"
    assert exact_witness(Language(r"[a-z]+", 1, 10), Language(r"[a-z]*", 1, 10)) is None
    # lengths past the first repeat of the reachable states: the bound at 2048 is where the difference starts
    long = exact_witness(Language(r"[\s\S]*", 0, 4096), Language(r"[\s\S]*", 0, 2048))
    assert long is not None and len(long) == 2049


def test_patterns_outside_the_exact_subset_are_sampled_and_say_so():
    # a backreference is not regular: sampling finds the widening, nothing is claimed about the other way
    decision = decide(Language(r"(a)\1"), Language(r"a+"))
    assert (decision.relation, decision.exact, decision.refused_now) == ("widened", False, None)
    check_witnesses((r"(a)\1", 0, None), (r"a+", 0, None), decision)
    assert "not a proof" in decision.describe() and "groupref" in decision.describe()
    same = decide(Language(r"(?i)abc"), Language(r"(?i)[a][b][c]"))
    assert (same.relation, same.exact) == ("no difference found", False)
    assert "no value refused now or accepted now found in up to 200 samples" in same.describe()


def test_a_pattern_that_cannot_be_translated_is_not_compared():
    decision = decide(Language(r"\Ga"), Language(r"a"))
    assert (decision.relation, decision.compared) == ("unknown", False)
    assert "\\G" in decision.describe()


# ---------------------------------------------------------------------------------------------------------------
# Severities in the diff, on the current model with one planted pattern change each


@pytest.fixture(scope="module")
def snapshot() -> dict:
    return read_model_file(SNAPSHOT_PATH)


def planted(snapshot, shape: str, pattern: str | None) -> dict:
    model = copy.deepcopy(snapshot)
    if pattern is None:
        del model["shapes"][shape]["pattern"]
    else:
        model["shapes"][shape]["pattern"] = pattern
    return model


def severities(result) -> set[tuple[str, str]]:
    return {(c.section, c.severity) for c in result.changes}


def test_narrowing_breaks_requests_and_is_a_note_on_responses(snapshot):
    # InvoiceUnitArn is sent (GetInvoiceUnit, ...), returned (CreateInvoiceUnit, ...) and named in errors
    model = planted(snapshot, "InvoiceUnitArnString", r"arn:aws:invoicing::[0-9]{12}:invoice-unit/[a-z0-9]+")
    result = diff_models(snapshot, model)
    assert severities(result) == {("request", "breaking"), ("response", "note"), ("errors", "note")}
    assert result.exit_code() == 1


def test_widening_warns_on_responses_and_is_a_note_on_requests(snapshot):
    result = diff_models(snapshot, planted(snapshot, "InvoiceUnitArnString", None))
    assert severities(result) == {("request", "note"), ("response", "warning"), ("errors", "warning")}
    assert all(c.pattern.relation == "widened" for c in result.changes)


def test_an_equivalent_rewrite_is_a_note_that_updates_no_operation(snapshot):
    result = diff_models(snapshot, planted(snapshot, "AccountIdString", r"[0-9]{12}"))
    assert result.changes and {c.severity for c in result.changes} == {"note"}
    assert not any(c.affects_callers for c in result.changes)
    assert result.updated_operations == []
    assert "Without effect on callers" in result.markdown(date="2000-01-01")


def test_a_sampled_request_pattern_change_stays_dangerous(snapshot):
    # the same language spelt with a backreference: no difference can be found, none can be proven absent
    result = diff_models(snapshot, planted(snapshot, "AccountIdString", r"([0-9])[0-9]{11}|([0-9])\2[0-9]{10}"))
    request = {c.severity for c in result.changes if c.section == "request"}
    response = {c.severity for c in result.changes if c.section == "response"}
    assert request == {"dangerous"} and response <= {"note"}
    assert all(c.pattern.relation == "no difference found" for c in result.changes)
