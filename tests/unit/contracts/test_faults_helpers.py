"""The fault properties' helpers: checks on hand-made outcomes, the wire recorder, fault controls, reports."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.config import Config

from contracts.calls import Trace, Call, Outcome
from contracts.checks import CHECKS, CheckContext, ContractViolation
from contracts.packs.contract import load
from contracts.checks.faults import refused_over_token
from contracts.engine.faults_control import FaultsUnavailable, HttpControl, InProcessControl, control_for
from contracts.reporting.faults import ScriptCall, fault_script, figures, markdown_section, race_script
from contracts.engine.faults_wire import Attempt, WireRecorder
from contracts.engine.results import Results
from contracts.engine.targets import Reproduction
from contracts.engine.targets import EndpointTarget, MockTarget, TargetConfig
from invoicing_mock import mock_invoicing
from invoicing_mock.faults import ScheduledFaults
from invoicing_mock.server import start

ARN = "arn:aws:invoicing::123456789012:invoice-unit/abcd1234"


@pytest.fixture(autouse=True)
def credentials(monkeypatch):
    for name, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing"),
                        ("AWS_DEFAULT_REGION", "us-east-1")):
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL_INVOICING", raising=False)


def ok(arn: str = ARN) -> Outcome:
    return Outcome(sent=True, status=200, response={"InvoiceUnitArn": arn})


def refusal(code: str, **error) -> Outcome:
    return Outcome(sent=True, status=400, error_code=code, error_message=error.pop("message", "no"), error=error)


def run(name: str, operation: str, *args) -> None:
    CHECKS.run(name, CheckContext(operation, contract=load(), calls=[]), *args)


def fails(name: str, operation: str, *args) -> ContractViolation:
    with pytest.raises(ContractViolation) as caught:
        run(name, operation, *args)
    return caught.value


def attempt(token: str, body: dict | None = None) -> Attempt:
    return Attempt("CreateInvoiceUnit", json.dumps({"Name": "A", **(body or {}), "ClientToken": token}).encode(), "")


# --------------------------------------------------------------------------------------------------- checks
def test_an_in_flight_refusal_is_the_declared_conflict_error_naming_the_token():
    ctx = CheckContext("CreateInvoiceUnit", contract=load())
    in_flight = refusal("ValidationException", reason="other", fieldList=[{"name": "ClientToken", "message": "x"}])
    assert refused_over_token(ctx, in_flight, "t-1")
    duplicate = refusal("ValidationException", reason="duplicateInvoiceUnit", fieldList=[{"name": "Name"}])
    assert not refused_over_token(ctx, duplicate, "t-1")
    assert not refused_over_token(ctx, refusal("ConflictException", resourceType="ClientToken"), "t-1")
    ctx = CheckContext("CreateProcurementPortalPreference", contract=load())
    assert refused_over_token(ctx, refusal("ConflictException", resourceType="ClientToken"), "t-1")
    assert not refused_over_token(ctx, refusal("ConflictException", resourceType="ProcurementPortalPreference",
                                               resourceId="arn:x"), "t-1")


def test_lost_response_same_token_needs_a_retry_with_the_same_token_and_body():
    run("lost_response_same_token", "CreateInvoiceUnit", "t-1", [attempt("t-1"), attempt("t-1")])
    assert "did not retry" in fails("lost_response_same_token", "CreateInvoiceUnit", "t-1", [attempt("t-1")]).title
    assert "another ClientToken" in fails("lost_response_same_token", "CreateInvoiceUnit", "t-1",
                                          [attempt("t-1"), attempt("t-2")]).title
    assert "another body" in fails("lost_response_same_token", "CreateInvoiceUnit", "t-1",
                                   [attempt("t-1"), attempt("t-1", {"Description": "x"})]).title


def test_lost_response_checks_want_the_result_and_one_effect():
    run("lost_response_retry_answered", "CreateInvoiceUnit", ok(), "a drop")
    fails("lost_response_retry_answered", "CreateInvoiceUnit", refusal("ValidationException"), "a drop")
    run("lost_response_one_effect", "CreateInvoiceUnit", 1, "1 new")
    run("lost_response_one_effect", "UpdateInvoiceUnit", None, "not observable")
    assert "2 effects" in fails("lost_response_one_effect", "CreateInvoiceUnit", 2, "2 new").title
    fails("lost_response_one_effect", "CreateInvoiceUnit", 0, "none")


def test_concurrent_checks():
    token = "t-1"
    in_flight = refusal("ValidationException", fieldList=[{"name": "ClientToken"}])
    run("concurrent_refused_in_flight", "CreateInvoiceUnit", token, [ok(), in_flight, ok()])
    fails("concurrent_refused_in_flight", "CreateInvoiceUnit", token,
          [ok(), refusal("ValidationException", reason="duplicateInvoiceUnit")])
    fails("concurrent_refused_in_flight", "CreateInvoiceUnit", token,
          [ok(), Outcome(sent=True, status=500, error_code="InternalServerException")])
    fails("concurrent_refused_in_flight", "CreateInvoiceUnit", token, [in_flight, in_flight])
    run("concurrent_same_result", "CreateInvoiceUnit", [ok(), in_flight], ok())
    fails("concurrent_same_result", "CreateInvoiceUnit", [ok(), ok(ARN + "x")], ok())
    fails("concurrent_same_result", "CreateInvoiceUnit", [ok()], refusal("ValidationException"))
    run("concurrent_one_effect", "CreateInvoiceUnit", 8, 1, "1 new")
    fails("concurrent_one_effect", "CreateInvoiceUnit", 8, 2, "2 new")


def test_fault_refusal_and_expiry_checks():
    throttled = refusal("ThrottlingException")
    run("fault_refusal_leaves_token_unused", "CreateInvoiceUnit", throttled, ok(), 1, "1 new")
    fails("fault_refusal_leaves_token_unused", "CreateInvoiceUnit", throttled, throttled, 0, "none")
    fails("fault_refusal_leaves_token_unused", "CreateInvoiceUnit", throttled, ok(), 2, "2 new")
    run("token_remembered_within_window", "CreateInvoiceUnit", ok(), ok(), 86340)
    fails("token_remembered_within_window", "CreateInvoiceUnit", ok(), ok(ARN + "x"), 86340)
    run("token_forgotten_after_window", "CreateInvoiceUnit", "t-1", ok(), 86460)
    fails("token_forgotten_after_window", "CreateInvoiceUnit", "t-1",
          refusal("ValidationException", message="ClientToken 't-1' was already used"), 86460)


# ---------------------------------------------------------------------------------------------- the wire
def test_the_recorder_sees_every_attempt_and_a_token_rewritten_on_retry_is_caught():
    with mock_invoicing() as mock:
        mock.backend.faults = ScheduledFaults([{"kind": "drop", "nth": [1]}])
        client = boto3.client("invoicing", config=Config(retries={"mode": "standard", "total_max_attempts": 3}))
        recorder = WireRecorder(client)
        client.create_invoice_unit(Name="A", InvoiceReceiver="123456789012", Rule={}, ClientToken="t-1")
        attempts = recorder.attempts("CreateInvoiceUnit")
        assert [a.param("ClientToken") for a in attempts] == ["t-1", "t-1"]
        assert [a.sdk_request.split(";")[0] for a in attempts] == ["attempt=1", "attempt=2"]
        run("lost_response_same_token", "CreateInvoiceUnit", "t-1", attempts)

        # A planted client fault: an SDK that makes up a new token when it retries.
        def new_token_on_retry(request, **_):
            if b"attempt=2" in (request.headers.get("amz-sdk-request") or b""):
                request.body = request.body.replace(b"t-2", b"t-2-fresh")

        mock.backend.faults = ScheduledFaults([{"kind": "drop", "nth": [1]}])
        client.meta.events.register_first("before-send.invoicing.CreateInvoiceUnit", new_token_on_retry)
        recorder.clear()
        with pytest.raises(client.exceptions.ValidationException, match="already exists"):
            # the retry, with its made-up token, is a new request: it runs again and meets its own name
            client.create_invoice_unit(Name="B", InvoiceReceiver="123456789012", Rule={}, ClientToken="t-2")
        assert "another ClientToken" in fails("lost_response_same_token", "CreateInvoiceUnit", "t-2",
                                              recorder.attempts("CreateInvoiceUnit")).title


# ------------------------------------------------------------------------------------------------ controls
def test_the_mock_target_has_an_in_process_control_and_a_plain_endpoint_has_none():
    target = MockTarget(TargetConfig(), Trace())
    target.start()
    try:
        control = control_for(target)
        assert isinstance(control, InProcessControl) and control.window() == 86400
        control.schedule([{"kind": "throttle", "nth": [1]}], seed=5)
        assert target.backend.faults.spec() == {"seed": 5, "rules": [{"kind": "throttle", "nth": [1],
                                                                       "phase": "before"}]}
    finally:
        target.stop()
    served = start(0, admin=False)
    try:
        target = EndpointTarget(TargetConfig(kind="endpoint", endpoint_url=served.url), Trace())
        with pytest.raises(FaultsUnavailable, match="offers no fault admin interface"):
            control_for(target)
    finally:
        served.stop()


def test_the_http_control_schedules_reads_the_log_and_moves_the_clock():
    served = start(0)
    try:
        control = HttpControl(served.url)
        control.probe()
        control.schedule([{"kind": "throttle", "operation": "ListInvoiceUnits", "nth": [1]}])
        client = boto3.client("invoicing", endpoint_url=served.url, config=Config(retries={"total_max_attempts": 1}))
        with pytest.raises(client.exceptions.ThrottlingException):
            client.list_invoice_units()
        assert [c["faults"] for c in control.log()] == [["throttle"]]
        assert control.last_seq() == 1 and control.window() == 86400
        before = served.backend.clock.now()
        assert control.advance_clock(100) >= before + 100
        control.clear()
        client.list_invoice_units()
        with pytest.raises(FaultsUnavailable, match="HTTP 400: unknown fault kind"):
            control.schedule([{"kind": "explode"}])
    finally:
        served.stop()


# -------------------------------------------------------------------------------------------------- reports
def test_figures_render_for_the_behaviour_report_and_a_skip_says_why():
    results = Results()
    fig = figures(results)
    fig.update(lost_response_trials=42, concurrent_batches=35, lost_response_styles={"drop": 14})
    text = "\n".join(markdown_section(results.meta["faults"]))
    assert "| lost-response trials run | 42 |" in text and "| duplicates found | 0 |" in text
    assert markdown_section(None) == []
    fig["skipped"] = "target aws cannot inject faults"
    assert "Skipped: target aws cannot inject faults" in "\n".join(markdown_section(fig))


def test_reproductions_are_python_that_sets_the_schedule():
    calls = [Call("CreateInvoiceUnit", {"Name": "A", "InvoiceReceiver": "123456789012", "Rule": {},
                                        "ClientToken": "t-1"}, ok(), note="lost")]
    schedule = {"seed": 0, "rules": [{"kind": "drop", "nth": [1]}]}
    script = fault_script(Reproduction(), [ScriptCall(calls[0], "retrying", schedule)], read_timeout=0.5)
    compile(script, "repro.py", "exec")
    assert "ScheduledFaults.from_spec(" in script and "step(1, retrying, 'create_invoice_unit'" in script
    assert script.index("ScheduledFaults.from_spec(") < script.index("step(1, retrying")  # the schedule first
    race = race_script(Reproduction(), [], "CreateInvoiceUnit", calls[0].params, 8, schedule, "InvoiceUnitArn", calls,
                       calls)
    compile(race, "repro.py", "exec")
    assert "threading.Barrier(8)" in race and "served = start(0, backend=mock.backend)" in race
    # Self-checking: the batch is compared by its kinds of answer and distinct results, the calls after it one by one.
    assert "{'answers': ['ok'], 'distinct results': 1}" in race and "step(2, client, 'create_invoice_unit'" in race
    assert race.rstrip().endswith("sys.exit(verdict(STEPS, '', ''))")
