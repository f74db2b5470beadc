"""The check registry, the failure type, and each built-in check on hand-made outcomes."""

from __future__ import annotations

import pytest

from contracts import reporting
from contracts.engine.targets import Reproduction
from contracts.calls import Call, Outcome
from contracts.checks import CHECKS, PROPERTIES, CheckContext, CheckRegistry, ContractViolation
from contracts.checks.builtin import NotExercised
from contracts.packs.contract import load

UNIT = "arn:aws:invoicing::123456789012:invoice-unit/abcd1234"
OTHER = "arn:aws:invoicing::123456789012:invoice-unit/ffff0000"


def ok(body: dict) -> Outcome:
    return Outcome(sent=True, status=200, response=dict(body), wire=dict(body))


def error(code: str, status: int = 400, reason: str | None = None, message: str = "no") -> Outcome:
    return Outcome(sent=True, status=status, error_code=code, error_message=message,
                   error={"reason": reason} if reason else {})


def run(name: str, operation: str, *args, live=()):
    CHECKS.run(name, CheckContext(operation, contract=load(), live=frozenset(live), calls=[]), *args)


def fails(name: str, operation: str, *args, live=()) -> ContractViolation:
    with pytest.raises(ContractViolation) as caught:
        run(name, operation, *args, live=live)
    return caught.value


# -------------------------------------------------------------------------------------------------- registry


def test_registry_refuses_a_duplicate_name():
    registry = CheckRegistry()
    registry.register("same", property="output-schema")(lambda ctx: None)
    with pytest.raises(ValueError, match="'same' is already registered"):
        registry.register("same", property="output-schema")(lambda ctx: None)


def test_registry_refuses_an_unknown_property():
    with pytest.raises(ValueError, match="unknown property 'nope'"):
        CheckRegistry().register("x", property="nope")


def test_unknown_check_name_lists_the_registered_ones():
    with pytest.raises(KeyError, match="declared_error"):
        CHECKS["no_such_check"]


def test_the_contexts_listener_hears_every_verdict():
    heard = []
    registry = CheckRegistry()
    listener = lambda *args: heard.append(args)  # noqa: E731

    @registry.register("positive", property="output-schema")
    def positive(ctx, value):
        if value < 0:
            ctx.fail("negative")

    registry.run("positive", CheckContext("GetInvoiceUnit", calls=[], listener=listener), 1)
    with pytest.raises(ContractViolation):
        registry.run("positive", CheckContext("GetInvoiceUnit", calls=[], listener=listener), -1)
    assert heard == [("GetInvoiceUnit", "output-schema", "positive", True),
                     ("GetInvoiceUnit", "output-schema", "positive", False)]


def test_the_built_in_checks_cover_the_properties_of_the_issue():
    covered = {check.property for check in CHECKS}
    assert {"valid-requests", "invalid-requests", "output-schema", "declared-errors", "replay-equivalence",
            "conflict-rejection", "independence", "autofill", "delete-replay", "scope",
            "failure-does-not-poison", "state-matches-reads"} <= covered
    assert [PROPERTIES[p].number for p in ("replay-equivalence", "scope", "failure-does-not-poison")] == [1, 6, 9]


# ----------------------------------------------------------------------------------------------- the failure


def test_a_violation_carries_title_operation_property_example_and_reproduction():
    calls = [Call("CreateInvoiceUnit", {"Name": "a", "InvoiceReceiver": "123456789012", "Rule": {},
                                        "ClientToken": "t1"}, ok({"InvoiceUnitArn": UNIT}))]
    violation = ContractViolation("replay broke", operation="CreateInvoiceUnit", property="replay-equivalence",
                                  expected="same", observed="different", calls=calls)
    assert (violation.title, violation.operation, violation.property) == (
        "replay broke", "CreateInvoiceUnit", "replay-equivalence")
    assert violation.calls == calls and "replay broke" in str(violation)
    failure = reporting.Failure.of(violation, Reproduction())
    assert failure.steps[0].params["ClientToken"] == "t1"
    assert "client.create_invoice_unit" not in failure.reproduction  # calls go through call(client, name, ...)
    assert "'create_invoice_unit'" in failure.reproduction
    assert "1. Replay equivalence" in reporting.format_failure(failure)


def test_a_violation_of_an_unregistered_property_is_a_programming_error():
    with pytest.raises(ValueError, match="unknown property"):
        ContractViolation("x", operation="GetInvoiceUnit", property="made-up")


# ---------------------------------------------------------------------------------------- stateless checks


def test_declared_error():
    run("declared_error", "CreateInvoiceUnit", error("ValidationException"))
    violation = fails("declared_error", "CreateInvoiceUnit", error("ConflictException"))
    assert violation.property == "declared-errors" and "ConflictException" in violation.title


def test_no_server_error():
    run("no_server_error", "GetInvoiceUnit", error("ResourceNotFoundException"))
    fails("no_server_error", "GetInvoiceUnit", error("InternalServerException", status=500))


def test_a_refusal_is_explained_only_when_predicted():
    params = {"InvoiceUnitArn": UNIT}
    predicted = {"ResourceNotFoundException": "not a resource the suite knows to be live"}
    run("valid_request_handled", "GetInvoiceUnit", params, error("ResourceNotFoundException"), predicted)
    violation = fails("valid_request_handled", "GetInvoiceUnit", params, error("ResourceNotFoundException"), {})
    assert "was not predicted" in violation.title


def test_a_validation_refusal_needs_the_predicted_reason():
    params = {"Name": "a"}
    predicted = {"ValidationException:duplicateInvoiceUnit": "a live unit is named 'a'"}
    run("valid_request_handled", "CreateInvoiceUnit", params,
        error("ValidationException", reason="duplicateInvoiceUnit"), predicted)
    violation = fails("valid_request_handled", "CreateInvoiceUnit", params,
                      error("ValidationException", reason="mutualExclusionError"), predicted)
    assert "mutualExclusionError" in violation.title and "duplicateInvoiceUnit" in violation.title


@pytest.mark.parametrize("refusal", [
    error("ValidationException", reason="invalidInput"),  # catch-all reasons explain nothing by themselves
    error("ValidationException", reason="other"),
    error("ValidationException", reason="fieldValidationFailed"),
    error("ConflictException"),  # neither do conflicts, quotas or throttling nobody predicted
    error("ServiceQuotaExceededException"),
    error("ThrottlingException"),
])
def test_unpredicted_refusals_of_a_valid_request_are_violations(refusal):
    fails("valid_request_handled", "CreateProcurementPortalPreference", {}, refusal, {})
    fails("valid_request_handled", "CreateProcurementPortalPreference", {}, refusal)  # no prediction at all


def test_a_predicted_conflict_or_quota_explains_the_refusal():
    predicted = {"ConflictException": "a preference for this portal, buyer and supplier exists",
                 "ServiceQuotaExceededException": "100 preferences exist"}
    run("valid_request_handled", "CreateProcurementPortalPreference", {}, error("ConflictException"), predicted)
    run("valid_request_handled", "CreateProcurementPortalPreference", {}, error("ServiceQuotaExceededException"),
        predicted)


def test_access_denied_does_not_explain_a_refused_valid_request():
    fails("valid_request_handled", "ListInvoiceUnits", {}, error("AccessDeniedException"))


def test_output_schema_checks_the_wire_body():
    run("output_schema", "CreateProcurementPortalPreference",
        ok({"ProcurementPortalPreferenceArn": "arn:aws:invoicing::123456789012:procurement-portal-preference/a-1"}))
    missing = fails("output_schema", "CreateProcurementPortalPreference", ok({}))
    assert missing.property == "output-schema"
    fails("output_schema", "GetInvoiceUnit", ok({"InvoiceUnitArn": UNIT, "LastModified": "yesterday"}))
    fails("output_schema", "GetInvoiceUnit", ok({"InvoiceUnitArn": "not-an-arn"}))


def test_invalid_requests_are_refused_at_their_layer():
    from strategies import Violation

    violation = Violation("Name", "max", "server", "violates max=50 at Name (was 51 characters)")
    client_refusal = Outcome(sent=False, client_error="ParamValidationError: ...")
    run("client_refuses_invalid", "CreateInvoiceUnit", violation, client_refusal)
    fails("client_refuses_invalid", "CreateInvoiceUnit", violation, error("ValidationException"))
    run("target_refuses_invalid", "CreateInvoiceUnit", violation, error("ValidationException"))
    accepted = fails("target_refuses_invalid", "CreateInvoiceUnit", violation, ok({"InvoiceUnitArn": UNIT}))
    assert "violates max=50 at Name" in accepted.title


# -------------------------------------------------------------------------------------- idempotency checks


def test_replay_must_return_the_same_identifier():
    run("replay_same_response", "CreateInvoiceUnit", ok({"InvoiceUnitArn": UNIT}), ok({"InvoiceUnitArn": UNIT}))
    violation = fails("replay_same_response", "CreateInvoiceUnit", ok({"InvoiceUnitArn": UNIT}),
                      ok({"InvoiceUnitArn": OTHER}))
    assert violation.title == "replaying CreateInvoiceUnit returned a different InvoiceUnitArn"
    fails("replay_same_response", "CreateInvoiceUnit", ok({"InvoiceUnitArn": UNIT}),
          error("ValidationException", reason="duplicateInvoiceUnit"))


def test_conflict_must_be_the_declared_conflict_error():
    run("conflict_refused", "CreateInvoiceUnit", "changed Name", error("ValidationException", reason="invalidInput"))
    run("conflict_refused", "CreateProcurementPortalPreference", "changed X", error("ConflictException"))
    accepted = fails("conflict_refused", "CreateInvoiceUnit", "changed Name", ok({"InvoiceUnitArn": UNIT}))
    assert accepted.property == "conflict-rejection" and "changed Name" in accepted.title
    fails("conflict_refused", "CreateProcurementPortalPreference", "changed X", error("ValidationException"))


def test_a_new_token_with_the_same_payload_is_a_new_request():
    params = {"Name": "a"}
    run("independent_tokens", "CreateInvoiceUnit", params, ok({"InvoiceUnitArn": UNIT}), ok({"InvoiceUnitArn": OTHER}))
    run("independent_tokens", "CreateInvoiceUnit", params, ok({"InvoiceUnitArn": UNIT}),
        error("ValidationException", reason="duplicateInvoiceUnit"),
        {"ValidationException:duplicateInvoiceUnit": "the first call took the name"})
    fails("independent_tokens", "CreateInvoiceUnit", params, ok({"InvoiceUnitArn": UNIT}),
          error("ValidationException", reason="duplicateInvoiceUnit"), {})  # nothing predicted it
    fails("independent_tokens", "CreateInvoiceUnit", params, ok({"InvoiceUnitArn": UNIT}),
          ok({"InvoiceUnitArn": UNIT}))


def test_autofilled_token_must_be_on_the_wire():
    sent = Outcome(sent=True, status=200, sent_body=b'{"Name": "a", "ClientToken": "x"}')
    run("autofilled_token_sent", "CreateInvoiceUnit", sent)
    fails("autofilled_token_sent", "CreateInvoiceUnit", Outcome(sent=True, status=200, sent_body=b'{"Name": "a"}'))


def test_delete_replay_and_a_new_delete():
    deleted = ok({"InvoiceUnitArn": UNIT})
    run("delete_replay_same", "DeleteInvoiceUnit", deleted, ok({"InvoiceUnitArn": UNIT}))
    fails("delete_replay_same", "DeleteInvoiceUnit", deleted, error("ResourceNotFoundException"))
    run("delete_again_not_found", "DeleteInvoiceUnit", error("ResourceNotFoundException"))
    fails("delete_again_not_found", "DeleteInvoiceUnit", ok({"InvoiceUnitArn": UNIT}))
    run("no_resurrection", "CreateInvoiceUnit", UNIT, ok({"InvoiceUnitArn": UNIT}), error("ResourceNotFoundException"))
    fails("no_resurrection", "CreateInvoiceUnit", UNIT, ok({"InvoiceUnitArn": UNIT}), ok({"InvoiceUnitArn": UNIT}))


def test_scope_and_poison_compare_with_a_fresh_token():
    refused, fresh_ok = error("ValidationException", reason="invalidInput"), ok({"InvoiceUnitArn": UNIT})
    both_refused = error("ValidationException", reason="accountMembershipError")
    run("token_scoped_to_operation", "UpdateInvoiceUnit", "CreateInvoiceUnit", fresh_ok, None)
    fails("token_scoped_to_operation", "UpdateInvoiceUnit", "CreateInvoiceUnit", refused, fresh_ok)
    run("failure_does_not_poison", "CreateInvoiceUnit", refused, fresh_ok, None)
    fails("failure_does_not_poison", "CreateInvoiceUnit", refused, refused, fresh_ok)


def test_a_failed_control_makes_the_check_inconclusive_not_held():
    refused = error("ValidationException", reason="accountMembershipError")
    for name, args in (("token_scoped_to_operation", ("UpdateInvoiceUnit", "CreateInvoiceUnit", refused, refused)),
                       ("token_scoped_to_operation", ("UpdateInvoiceUnit", "CreateInvoiceUnit", refused, None)),
                       ("failure_does_not_poison", ("CreateInvoiceUnit", refused, refused, refused))):
        with pytest.raises(NotExercised):
            run(name, *args)


def test_checks_without_their_subject_say_so():
    with pytest.raises(NotExercised):
        run("output_schema", "GetInvoiceUnit", error("ResourceNotFoundException"))
    with pytest.raises(NotExercised):
        run("declared_error", "GetInvoiceUnit", ok({}))
    with pytest.raises(NotExercised):
        run("no_server_error", "GetInvoiceUnit", Outcome(sent=False, client_error="ParamValidationError"))


def test_another_account_is_never_answered_with_the_first_accounts_result():
    first = ok({"InvoiceUnitArn": UNIT})
    run("token_scoped_to_account", "CreateInvoiceUnit", first, error("ValidationException", reason="nonMemberPresent"))
    run("token_scoped_to_account", "CreateInvoiceUnit", first, ok({"InvoiceUnitArn": OTHER}))
    fails("token_scoped_to_account", "CreateInvoiceUnit", first, ok({"InvoiceUnitArn": UNIT}))


def test_effect_visible_compares_only_what_the_read_shows():
    params = {"InvoiceUnitArn": UNIT, "Description": "new", "ClientToken": "t", "Rule": {"LinkedAccounts": ["1"]}}
    run("effect_visible", "UpdateInvoiceUnit", params, {"Description": "new", "Rule": {"LinkedAccounts": ["1"]}})
    run("effect_visible", "UpdateInvoiceUnit", params, {"Rule": {"LinkedAccounts": ["1"]}})
    violation = fails("effect_visible", "UpdateInvoiceUnit", params,
                      {"Description": "new", "Rule": {"LinkedAccounts": []}})
    assert "Rule.LinkedAccounts" in violation.title
