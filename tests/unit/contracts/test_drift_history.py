"""The diff on the real history of the Invoicing model: every botocore release that changed it.

tests/fixtures/models/history.json lists the changes and which fixture holds each side; the expectations below
were read off the two models of each change (the new and removed operations, the shapes that changed), not off
the diff's own output.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from contracts.drift.gate import diff_models
from contracts.drift.sources import LoadedModel, read_model_file
from strategies import compiled

MODELS = Path(__file__).parents[2] / "fixtures" / "models"
HISTORY = json.loads((MODELS / "history.json").read_text())
CHANGES = {(c["before"], c["after"]): c for c in HISTORY["changes"]}


def released(before: str, after: str):
    """The diff of two consecutive releases, labelled with the releases (the fixtures may carry another name)."""
    change = CHANGES[(before, after)]
    old = LoadedModel(f"botocore {before}", read_model_file(MODELS / change["old"]))
    new = LoadedModel(f"botocore {after}", read_model_file(MODELS / change["new"]))
    return diff_models(old, new)


def bullets(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("- ")]


def sections(text: str) -> list[list[str]]:
    """The bullets under each "## " heading."""
    return [bullets(part) for part in text.split("\n## ")[1:]]


# (before, after): new operations, updated operations (the header's count), worst severity, exit code
EXPECTED = {
    ("1.38.29", "1.38.30"): (["ListInvoiceSummaries"],
                             ["BatchGetInvoiceProfile", "ListInvoiceUnits", "ListTagsForResource", "TagResource",
                              "UntagResource"], "breaking", 1),
    ("1.40.69", "1.40.70"): (["GetInvoicePDF"],
                             ["BatchGetInvoiceProfile", "GetInvoiceUnit", "ListInvoiceUnits", "ListTagsForResource"],
                             "note", 0),
    ("1.40.76", "1.41.0"): ([], ["CreateInvoiceUnit", "GetInvoiceUnit", "ListInvoiceUnits", "UpdateInvoiceUnit"],
                            "warning", 0),
    ("1.41.1", "1.41.2"): (["CreateProcurementPortalPreference", "DeleteProcurementPortalPreference",
                            "GetProcurementPortalPreference", "ListProcurementPortalPreferences",
                            "PutProcurementPortalPreference", "UpdateProcurementPortalPreferenceStatus"], [],
                           "warning", 0),
    ("1.43.5", "1.43.6"): ([], ["GetInvoicePDF", "ListInvoiceSummaries"], "warning", 0),
    ("1.43.13", "1.43.14"): ([], ["CreateInvoiceUnit", "DeleteInvoiceUnit", "DeleteProcurementPortalPreference",
                                  "PutProcurementPortalPreference", "UpdateInvoiceUnit",
                                  "UpdateProcurementPortalPreferenceStatus"], "warning", 0),
    ("1.43.52", "1.43.53"): (["SendProcurementPortalValidation", "VerifyProcurementPortalValidation"],
                             ["GetProcurementPortalPreference", "ListProcurementPortalPreferences",
                              "UpdateProcurementPortalPreferenceStatus"], "dangerous", 0),
    ("1.43.92", "1.43.93"): (["ListProcurementPortalSuppliers", "ListProcurementPortals"], [], "note", 0),
    ("1.43.107", "1.43.108"): ([], ["CreateProcurementPortalPreference", "DeleteProcurementPortalPreference",
                                    "GetProcurementPortalPreference", "ListProcurementPortalPreferences",
                                    "PutProcurementPortalPreference"], "warning", 0),
}


def test_every_recorded_change_has_expectations_and_fixtures():
    assert set(EXPECTED) == set(CHANGES)
    assert {name for c in HISTORY["changes"] for name in (c["old"], c["new"])} == set(HISTORY["carried_by"])
    assert all((MODELS / name).is_file() for name in HISTORY["carried_by"])


@pytest.mark.parametrize("before, after", list(EXPECTED), ids=[f"{b}-{a}" for b, a in EXPECTED])
def test_operations_counted_like_the_aws_changelog(before, after):
    new, updated, worst, exit_code = EXPECTED[(before, after)]
    result = released(before, after)
    assert result.new_operations == new
    assert sorted(result.updated_operations) == sorted(updated)
    assert result.removed_operations == []
    assert min(result.changes, key=lambda c: ("breaking", "dangerous", "warning", "note").index(c.severity)).severity \
        == worst
    assert result.exit_code() == exit_code
    text = result.markdown(date="2000-01-01")
    sections = [line for line in text.splitlines() if line.startswith("## ") and line.endswith(")")]
    assert sections == [f"## {name} (new)" for name in new] + [f"## {name} (updated)" for name in
                                                                result.updated_operations]


# ---------------------------------------------------------------------------------------------------------------
# 1.38.29 -> 1.38.30: TagrisArn narrowed to invoicing ARNs; BasicString loosened everywhere it is used


OLD_ARN = "arn:aws[-a-z0-9]*:[a-z0-9]+:[-a-z0-9]*:[0-9]{12}:[-a-zA-Z0-9/:_]+"
NEW_ARN = "arn:aws[-a-z0-9]*:(invoicing)::[0-9]{12}:[-a-zA-Z0-9/:_]+"


@pytest.fixture(scope="module")
def june_2025():
    return released("1.38.29", "1.38.30")


def test_tagris_arn_narrowing_is_breaking_with_a_checked_witness(june_2025):
    breaking = june_2025.breaking
    assert [(c.operation, c.path, c.shape) for c in breaking] == [
        (op, "ResourceArn", "TagrisArn") for op in ("ListTagsForResource", "TagResource", "UntagResource")]
    decision = breaking[0].pattern
    assert (decision.relation, decision.exact, decision.accepted_now) == ("narrowed", True, None)
    witness = decision.refused_now  # valid under the old pattern and bounds (20..2048), refused by the new one
    assert 20 <= len(witness) <= 2048
    assert compiled(OLD_ARN).fullmatch(witness) and not compiled(NEW_ARN).fullmatch(witness)
    assert (breaking[0].old, breaking[0].new) == (OLD_ARN, NEW_ARN)


def test_tagris_arn_is_told_once_and_referenced_per_operation(june_2025):
    text = june_2025.markdown(date="2025-06-05")
    assert text.startswith("# 2025-06-05 - AWS Invoicing - 1 new api method / 5 updated api methods\n")
    witness = repr(june_2025.breaking[0].pattern.refused_now)
    assert text.count(witness) == 1  # the witness, under "Shared shapes"
    assert "Reaches request `ResourceArn` in ListTagsForResource, TagResource, UntagResource." in text
    references = [b for b in bullets(text) if "TagrisArn pattern narrowed" in b]
    assert len(references) == 3 and all(b.startswith("- **breaking** request `ResourceArn`") for b in references)


def test_basic_string_loosening_is_one_line_per_cause_not_per_member(june_2025):
    text = june_2025.markdown(date="2025-06-05")
    error_members = [c for c in june_2025.changes if c.in_error_member]
    assert len(error_members) == 62 and {c.shape for c in error_members} == {"BasicString"}
    widened = [b for b in bullets(text) if "pattern widened" in b]
    # one for the response members of BatchGetInvoiceProfile, one for all error members
    assert widened == [b for b in widened if b.startswith("- **warning** ")] and len(widened) == 2
    assert "(9 operations)." in text
    assert all(len(section) == len(set(section)) for section in sections(text))
    assert len(bullets(text)) < 15  # was 81 lines, 72 of them warnings
    summary = text.splitlines()[2]
    assert summary.startswith("From botocore 1.38.29 to botocore 1.38.30: 1 breaking, 0 dangerous, 3 warning, 4 note")


def test_basic_string_loosening_on_responses_is_a_proven_widening(june_2025):
    response = [c for c in june_2025.changes if c.section == "response" and c.shape == "BasicString"]
    assert {c.operation for c in response} == {"BatchGetInvoiceProfile"} and len(response) == 9
    decision = response[0].pattern
    assert (decision.relation, decision.exact, decision.refused_now) == ("widened", True, None)
    assert not compiled(r"\S+").fullmatch(decision.accepted_now) and compiled(r"[\s\S]*").fullmatch(
        decision.accepted_now)


def test_a_bound_removed_reads_as_none(june_2025):
    text = june_2025.markdown(date="2025-06-05")
    assert "request `NextToken`: max 2048 characters -> none: accepts more values than before" in text
    assert "None" not in text


def test_equivalent_retargets_are_set_apart(june_2025):
    retargets = [c for c in june_2025.changes if c.kind == "member-retargeted"]
    assert {c.shape for c in retargets} == {"BasicString -> BasicStringWithoutSpace",
                                            "SensitiveBasicString -> SensitiveBasicStringWithoutSpace"}
    assert not any(c.affects_callers for c in retargets)
    text = june_2025.markdown(date="2025-06-05")
    assert text.index("## Without effect on callers") > text.index("## Error members")


# ---------------------------------------------------------------------------------------------------------------
# Other releases: shared shapes grouped


def test_validated_status_inserted_is_told_once_for_the_responses():
    result = released("1.43.52", "1.43.53")
    causes = [c for c in result.causes() if c.kind == "enum-values-inserted"]
    assert [(c.severity, len(c.operations), len(c.changes)) for c in causes] == [("dangerous", 2, 4),
                                                                                  ("dangerous", 1, 2)]
    text = result.markdown(date="2000-01-01")
    assert text.count("### ProcurementPortalPreferenceStatus") == 1
    assert text.count("values 'VALIDATED' inserted before the end of the existing values: botocore") == 2


def test_account_list_retarget_reaches_requests_and_responses_once():
    result = released("1.40.76", "1.41.0")
    retarget = [c for c in result.causes() if c.kind == "member-retargeted"]
    assert len(retarget) == 1 and retarget[0].severity == "warning"
    assert sorted(retarget[0].sites) == sorted([
        ("CreateInvoiceUnit", "request", "Rule.LinkedAccounts"), ("GetInvoiceUnit", "response", "Rule.LinkedAccounts"),
        ("ListInvoiceUnits", "response", "InvoiceUnits[*].Rule.LinkedAccounts"),
        ("UpdateInvoiceUnit", "request", "Rule.LinkedAccounts")])
