"""contracts.reporting.baseline: what a baseline records from a run's observations, the stable file, reading one
back, and the comparison the `run --baseline` gate prints. The round trip through real runs is
test_baseline_roundtrip.py."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from contracts.exit_codes import UsageError
from contracts.reporting import baseline

ARN = "arn:aws:invoicing::000000000000:invoice-unit/abcd1234"


def observations(**by_operation: dict[str, dict[str, int]]) -> dict:
    return {op: {subject: Counter(outcomes) for subject, outcomes in subjects.items()}
            for op, subjects in by_operation.items()}


def behaviours(document: dict) -> dict[tuple[str, str, str], list[str]]:
    return {(op, prop, name): classes for op, props in document["operations"].items()
            for prop, named in props.items() for name, classes in named.items()}


# ------------------------------------------------------------------------------------------ normalisation


def test_counts_and_example_values_stay_out_and_behaviour_classes_stay_in():
    recorded = behaviours(baseline.record(observations(
        CreateInvoiceUnit={
            "replay with the same token": {"returned the same InvoiceUnitArn": 12},
            "conflicting payload (same token) was": {"refused with ValidationException": 4,
                                                      "not sent: on this target it is the same request (x)": 1},
            "conflicting payload (same token): the error's reason": {"invalidInput": 4},
            "2 concurrent requests with one token, the first held in flight 0.3 s":
                {"answered ValidationException x1, result x1; 1 effect": 1},
            "32 concurrent requests with one token, the first held in flight 0.3 s":
                {"answered ValidationException x31, result x1; 1 effect": 1},
            "32 concurrent requests with one token": {"answered ValidationException x3, result x29; 1 effect": 1},
            "a replay past the token window (86400 s)": {f"ran again: 1 new InvoiceUnit listed; the answer named "
                                                         f"{ARN}, not among them": 1},
            "invalid requests (client layer, type) (sent as raw JSON) were":
                {"answered ValidationException (fieldValidationFailed)": 2},
            "invalid requests (server layer, max) were": {"answered ValidationException (fieldValidationFailed)": 3,
                                                          "sent valid (botocore's serialiser rewrote it)": 1},
            "valid requests were": {"accepted": 7, "answered ValidationException (accountMembershipError)": 3},
            "valid requests in the state machine were": {"accepted": 19},
        },
        UpdateProcurementPortalPreferenceStatus={
            "a replay past the token window (86400 s)": {"ran again (Version went from 2 to 3)": 1},
            "a token CreateProcurementPortalPreference had used": {"worked like a fresh one": 3},
        },
        DeleteInvoiceUnit={"replay with the same token": {"returned the same InvoiceUnitArn": 2}},
        VerifyProcurementPortalValidation={"valid requests were": {"answered ValidationException (invalidInput)": 10}},
    )))
    assert recorded == {
        ("CreateInvoiceUnit", "replay-equivalence", "replay with the same token"): ["returned the same InvoiceUnitArn"],
        # what the runner kept back says nothing about the target
        ("CreateInvoiceUnit", "conflict-rejection", "conflicting payload (same token)"):
            ["refused with ValidationException"],
        ("CreateInvoiceUnit", "conflict-rejection", "conflicting payload (same token): the error's reason"):
            ["invalidInput"],
        # batch sizes merge, how many of each answer goes; without a hold, only the effects
        ("CreateInvoiceUnit", "concurrent-duplicates", "concurrent requests with one token, the first held in flight"):
            ["answered ValidationException, result; 1 effect"],
        ("CreateInvoiceUnit", "concurrent-duplicates", "concurrent requests with one token, sent at once: effects"):
            ["1 effect"],
        ("CreateInvoiceUnit", "expiry", "a replay past the token window"):
            ["ran again: 1 new InvoiceUnit listed; the answer named <arn>, not among them"],
        ("CreateInvoiceUnit", "expiry", "the token window"): ["86400 s"],
        ("CreateInvoiceUnit", "invalid-requests", "invalid requests (sent without client validation)"):
            ["answered ValidationException (fieldValidationFailed)"],
        ("CreateInvoiceUnit", "valid-requests", "valid requests"): ["accepted"],
        ("UpdateProcurementPortalPreferenceStatus", "expiry", "a replay past the token window"):
            ["ran again (Version went up by 1)"],
        ("UpdateProcurementPortalPreferenceStatus", "expiry", "the token window"): ["86400 s"],
        # token scope is recorded under the operation whose token was reused
        ("CreateProcurementPortalPreference", "scope", "its token, reused by another operation"):
            ["worked like a fresh one"],
        ("DeleteInvoiceUnit", "delete-replay", "replay with the same token"): ["returned the same InvoiceUnitArn"],
        ("VerifyProcurementPortalValidation", "valid-requests", "valid requests"):
            ["answered ValidationException (invalidInput)"],
    }


def test_the_file_is_the_same_bytes_whatever_the_order_and_counts_of_the_observations():
    first = observations(CreateInvoiceUnit={"replay with the same token": {"returned the same InvoiceUnitArn": 3},
                                            "two calls without a token": {"were independent": 2,
                                                                          "answered ok, then ValidationException": 1}},
                         GetInvoiceUnit={"a read with AsOf before a change": {"showed the earlier version": 1}})
    second = {op: dict(reversed(list(subjects.items()))) for op, subjects in reversed(list(first.items()))}
    # other counts, and a pair whose first call was refused (the draw's doing, not autofill's)
    second["CreateInvoiceUnit"]["two calls without a token"] = Counter(
        {"answered ok, then ValidationException": 9, "were independent": 1,
         "answered ValidationException, then ValidationException": 4})
    text = baseline.dumps(baseline.record(first))
    assert text == baseline.dumps(baseline.record(second))
    assert text.endswith("}\n") and json.loads(text)["format"] == baseline.FORMAT


def test_an_observation_neither_recorded_nor_excused_is_named():
    seen = observations(CreateInvoiceUnit={"replay with the same token": {"returned the same InvoiceUnitArn": 1},
                                           "valid requests in the state machine were": {"accepted": 1},
                                           "a brand-new observation": {"whatever": 1}})
    assert baseline.unaccounted(seen) == [("CreateInvoiceUnit", "a brand-new observation")]


# ------------------------------------------------------------------------------------------ reading a file


@pytest.mark.parametrize("content, message", [
    (None, "cannot read the baseline"),
    ("{not json", "is not JSON"),
    ('{"operations": {}}', "is not a behaviour baseline"),
    (json.dumps({"format": baseline.FORMAT, "version": 99, "operations": {}}), "has version 99"),
    (json.dumps({"format": baseline.FORMAT, "version": 1, "operations": {"Op": {"p": {"b": "a string"}}}}),
     "is damaged"),
])
def test_a_bad_baseline_file_is_a_usage_error_saying_what_is_wrong(tmp_path, content, message):
    path = tmp_path / "baseline.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(UsageError, match=message):
        baseline.load(path)


def test_a_written_baseline_reads_back(tmp_path):
    document = baseline.record(observations(CreateInvoiceUnit={"valid requests were": {"accepted": 1}}))
    baseline.write(document, tmp_path / "deep" / "b.json")
    assert baseline.load(tmp_path / "deep" / "b.json") == document


# ------------------------------------------------------------------------------------------ comparison


def doc(**behaviour_classes) -> dict:
    """{"Op__prop__behaviour": [classes]} -> a baseline document."""
    operations: dict = {}
    for key, classes in behaviour_classes.items():
        op, prop, name = key.split("__")
        operations.setdefault(op, {}).setdefault(prop, {})[name.replace("_", " ")] = classes
    return {"format": baseline.FORMAT, "version": baseline.VERSION, "operations": operations}


def test_a_change_is_a_behaviour_both_observed_answered_differently():
    before = doc(CreateX__conflict__same_token=["refused with ConflictException"], CreateX__replay__again=["same"],
                 CreateX__scope__rare=["worked"])
    after = doc(CreateX__conflict__same_token=["refused with ValidationException"], CreateX__replay__again=["same"],
                CreateX__autofill__new=["independent"])
    comparison = baseline.compare(before, after)
    assert comparison.counts() == {"agree": 1, "differ": 1, "only before": 1, "only after": 1}
    assert not comparison.agree
    assert baseline.change_lines(comparison) == [
        "CreateX / conflict / same token: baseline: refused with ConflictException; this run: refused with "
        "ValidationException"]
    assert baseline.compare(before, before).agree


def test_the_gate_writes_the_file_prints_each_change_and_says_whether_anything_changed(tmp_path):
    seen = observations(CreateInvoiceUnit={
        "conflicting payload (same token) was": {"refused with ConflictException": 2},
        "valid requests were": {"accepted": 10}})
    recorded = baseline.record(seen)
    said: list[str] = []
    assert not baseline.after_run(seen, record_to=str(tmp_path / "b.json"), gate=recorded, gate_path="b.json",
                                  say=said.append)
    assert (tmp_path / "b.json").read_text() == baseline.dumps(recorded)
    assert said[0] == f"baseline: recorded 2 behaviours of 1 operation in {tmp_path / 'b.json'}"
    assert said[1].startswith("baseline: b.json: 2 behaviours as recorded, 0 changed;")

    changed = observations(CreateInvoiceUnit={"conflicting payload (same token) was": {"accepted": 1},
                                              "valid requests were": {"accepted": 10}})
    said.clear()
    assert baseline.after_run(changed, record_to=None, gate=recorded, gate_path="b.json", say=said.append)
    assert said[1:] == ["  changed: CreateInvoiceUnit / conflict-rejection / conflicting payload (same token): "
                        "baseline: refused with ConflictException; this run: accepted"]


def test_without_either_option_a_run_neither_records_nor_prints():
    said: list[str] = []
    seen = observations(CreateInvoiceUnit={"a brand-new observation": {"whatever": 1}})
    assert not baseline.after_run(seen, record_to=None, gate=None, gate_path=None, say=said.append)
    assert said == []
