"""Stateless contracts, for every operation of the model.

- valid requests are accepted, or refused only with a declared error the state explains; never a 5xx;
- every labelled invalid request is refused at its layer: botocore refuses client-layer ones (ParamValidationError,
  nothing sent); with client validation off, the target answers ValidationException to every invalid request;
- every successful response's raw JSON body validates against the operation's output schema;
- every error code is one the operation declares.
"""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given, strategies as st

import strategies
from contracts.calls import serialisable
from contracts.engine.session import Suite, invalid_on_the_wire

# Fixture resources give the strategies live ARNs to aim at (Get, Update, Tag... of something that exists).
# Hand-written because "a minimal create" is not in the model; validated against the model before use.
FIXTURES = {
    "InvoiceUnit": lambda suite: {
        "Name": suite.target.unit_name(f"contracts-fixture-{uuid.uuid4().hex[:12]}"),
        "InvoiceReceiver": suite.target.receiver,
        "Rule": {"LinkedAccounts": []},
    },
    "ProcurementPortalPreference": lambda suite: {
        "ProcurementPortalName": "COUPA",
        "BuyerDomain": "NetworkID",
        "BuyerIdentifier": f"fixture-buyer-{uuid.uuid4().hex[:12]}",
        "SupplierDomain": "NetworkID",
        "SupplierIdentifier": f"fixture-supplier-{uuid.uuid4().hex[:12]}",
        "EinvoiceDeliveryEnabled": False,
        "PurchaseOrderRetrievalEnabled": False,
        "Contacts": [{"Name": "fixture", "Email": "fixture@example.com"}],
    },
}


@pytest.fixture(autouse=True)
def live_fixtures(suite: Suite):
    """One live resource of each kind for the test (deleted again by the conftest's per-test cleanup; a real
    account keeps them for the session, as every create counts against its resource budget)."""
    suite.trace.reset_all()
    arns = (suite.fixture(kind, lambda make=make: make(suite)) for kind, make in FIXTURES.items())
    suite.fixture_arns = tuple(arn for arn in arns if arn is not None)
    yield


def _fresh_token(suite: Suite, operation: str, params: dict) -> None:
    """A unique token, so one example's request never collides with another's (replay is tested elsewhere)."""
    entry = suite.contract.operations.get(operation)
    if entry is not None:
        params[entry.token_member] = f"stateless-{uuid.uuid4()}"


def _observe_answer(suite: Suite, operation: str, subject: str, outcome) -> None:
    if outcome.ok:
        suite.observe(operation, subject, "accepted")
    elif outcome.refused_by_client:
        suite.observe(operation, subject, "refused by botocore before sending")
    else:
        reason = outcome.error.get("reason")
        suite.observe(operation, subject, f"answered {outcome.error_code}" + (f" ({reason})" if reason else ""))


@given(data=st.data())
def test_valid_requests(suite: Suite, operation: str, data: st.DataObject) -> None:
    params = suite.prepare(operation, data.draw(strategies.requests(operation, hints=suite.hints), label="params"))
    suite.trace.reset()
    _fresh_token(suite, operation, params)
    outcome = suite.api().call(operation, params, note="a valid request")
    suite.check("declared_error", operation, outcome)
    suite.check("no_server_error", operation, outcome)
    suite.check("valid_request_handled", operation, params, outcome)
    suite.check("output_schema", operation, outcome)
    _observe_answer(suite, operation, "valid requests were", outcome)


@given(data=st.data())
def test_invalid_requests(suite: Suite, operation: str, data: st.DataObject) -> None:
    invalid = data.draw(strategies.requests(operation, valid=False, hints=suite.hints), label="invalid request")
    violation = invalid.violation
    params = suite.prepare(operation, invalid.params, keep=violation.path)
    entry = suite.contract.operations.get(operation)
    if entry is None or not violation.path.startswith(entry.token_member):
        _fresh_token(suite, operation, params)
    suite.trace.reset()
    subject = f"invalid requests ({violation.layer} layer, {violation.constraint}) were"
    checked = suite.api(validate=True).call(operation, params, note=f"invalid: {violation.description}")
    if violation.layer == "client":
        suite.check("client_refuses_invalid", operation, violation, checked)
    elif not checked.refused_by_client:
        # A server-layer violation passes botocore's validation: the target alone must refuse it.
        suite.check("declared_error", operation, checked)
        suite.check("target_refuses_invalid", operation, violation, checked)
        _observe_answer(suite, operation, subject, checked)
        return
    else:
        suite.observe(operation, "invalid requests labelled server-layer",
                      "were refused by botocore after all (the strategies' label is wrong)")
    # botocore's serialiser cannot encode some wrong types (an unknown member, a string for a structure): then
    # send the JSON a client that does not validate would send. A service must not rely on the SDK.
    raw = not serialisable(operation, params)
    how = " (sent as raw JSON)" if raw else ""
    unchecked = suite.api(validate=False).call(
        operation, params, raw=raw, note=f"invalid, client validation off{how}: {violation.description}")
    if not invalid_on_the_wire(operation, unchecked):
        # e.g. a string where a list belongs is sent as a list of its characters: valid by the time it is sent.
        suite.observe(operation, subject, "sent valid (botocore's serialiser rewrote the invalid value)")
        return
    suite.check("declared_error", operation, unchecked)
    suite.check("target_refuses_invalid", operation, violation, unchecked)
    _observe_answer(suite, operation, subject[:-len(" were")] + how + " were", unchecked)
    names = [f.get("name") for f in unchecked.error.get("fieldList") or []]
    suite.observe(operation, "ValidationException's fieldList",
                  "named the violated member" if violation.path in names else "did not name the violated member")
    suite.observe(operation, "ValidationException's fieldList, for the violated member",
                  "named it or a member within it" if any(str(n) == violation.path or str(n).startswith(
                      (f"{violation.path}.", f"{violation.path}[")) for n in names) else "did not name it")

