"""What the stateless contracts, the coverage phase and the read tests share: the fixture resources requests aim
at, and how one valid or one invalid request is sent and checked (the same checks whichever test made the
request)."""

from __future__ import annotations

import uuid

import pytest

from contracts.calls import serialisable
from contracts.engine.session import Suite, invalid_on_the_wire, read_view
from strategies import service_model

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


def fixture_kinds(suite: Suite, operation: str) -> tuple[str, ...]:
    """The resource kinds `operation`'s requests can aim at: a kind whose identifier it takes, or whose read or
    list it is (one item to show); every kind for an ARN member naming no kind of its own (TagResource's
    ResourceArn). Another kind's fixture would only make this test depend on an operation it does not test (one
    refused preview API then errored every operation)."""
    shape = service_model().operation_model(operation).input_shape
    members = set(shape.members) if shape is not None else set()
    resources = suite.contract.resources
    identifiers = {r.identifier for r in resources.values()}
    any_arn = any(m.endswith("Arn") and m not in identifiers for m in members)
    return tuple(kind for kind, r in resources.items()
                 if any_arn or r.identifier in members or operation in (r.read, r.list))


def make_fixtures(suite: Suite, operation: str) -> None:
    """One live resource of each kind `operation` can aim at, for the test (deleted again by the conftest's
    per-test cleanup; a real account keeps them for the session, as every create counts against its resource
    budget). A kind the target denies access to gives none (the denial is recorded: Suite.fixture)."""
    arns = (suite.fixture(kind, lambda make=FIXTURES[kind]: make(suite)) for kind in fixture_kinds(suite, operation))
    suite.fixture_arns = tuple(arn for arn in arns if arn is not None)
    suite.resync()


def skip_if_denied(suite: Suite, *operations: str, what: str = "") -> None:
    """Skip the test (untested, with the reason: never held, never a suite error) when the target denied the
    suite's identity one of `operations` (Suite.denial); the operations' cells are excused with the reason."""
    for operation in operations:
        reason = suite.denial(operation)
        if reason:
            pytest.skip(f"{what}{operation} was denied to this identity (AccessDeniedException: {reason})")


def require_answer(suite: Suite, operation: str, params: dict, outcome, *, what: str = "") -> None:
    """A valid request a test needs answered (a setup, a read the test goes on from). Refused, it is judged as any
    valid request is: an undeclared error, a 5xx or a refusal the suite did not predict is a violation (not a suite
    error: a target refusing a list at its largest page is at fault, not the test); a refusal the suite predicted
    leaves the test unable to go on, a suite error that says so."""
    skip_if_denied(suite, operation, what=what)
    if outcome.ok:
        return
    judge_valid(suite, operation, params, outcome, suite.predict(operation, params))  # a refusal changed nothing
    raise AssertionError(f"{what}{operation} was refused as the suite predicted, so the test cannot go on: "
                         f"{outcome.summary()}")


def judge_valid(suite: Suite, operation: str, params: dict, outcome, predicted) -> None:
    """The checks of any answer to a valid request: only declared errors, no 5xx, a refusal only where predicted."""
    suite.check("declared_error", operation, outcome)
    suite.check("no_server_error", operation, outcome)
    suite.check("valid_request_handled", operation, params, outcome, predicted)


def fresh_token(suite: Suite, operation: str, params: dict) -> None:
    """A unique token, so one example's request never collides with another's (replay is tested elsewhere)."""
    entry = suite.contract.operations.get(operation)
    if entry is not None:
        params[entry.token_member] = f"stateless-{uuid.uuid4()}"


def observe_answer(suite: Suite, operation: str, subject: str, outcome) -> None:
    if outcome.ok:
        suite.observe(operation, subject, "accepted")
    elif outcome.refused_by_client:
        suite.observe(operation, subject, "refused by botocore before sending")
    else:
        reason = outcome.error.get("reason")
        suite.observe(operation, subject, f"answered {outcome.error_code}" + (f" ({reason})" if reason else ""))


def send_valid(suite: Suite, operation: str, params: dict, *, note: str = "a valid request",
               subject: str = "valid requests were"):
    """Send one valid request and run every check of a valid request on its answer; the answer (None when the
    target denied this identity the operation)."""
    suite.trace.reset()
    fresh_token(suite, operation, params)
    predicted = suite.predict(operation, params)
    outcome = suite.api().call(operation, params, note=note)
    if _denied(suite, operation, outcome, subject, "valid-requests", "output-schema"):
        return None
    judge_valid(suite, operation, params, outcome, predicted)
    suite.check("output_schema", operation, outcome)
    observe_answer(suite, operation, subject, outcome)
    return outcome


def read_back(suite: Suite, operation: str, params: dict, outcome) -> None:
    """After a successful create or change of one resource, read the resource: the read's output schema, and
    (but for actions, whose members are not the resource's) every member the write set shows as sent. A value
    stored wrong at an edge (an enum value or a name at its maximum length cut short) shows only there."""
    entry = suite.contract.operations.get(operation)
    if outcome is None or not outcome.ok or entry is None or entry.effect == "delete":
        return
    resource = entry.resource
    arn = params.get(resource.identifier) or (outcome.response or {}).get(resource.identifier)
    if not isinstance(arn, str) or not suite.selected(resource.read) or suite.denial(resource.read):
        return
    read = suite.read(resource, arn, note=f"read back after {operation}", record=True)
    if read.ok:
        suite.check("output_schema", resource.read, read)
        if entry.effect != "action":
            suite.check("effect_visible", operation, params, read_view(resource, read))


def _unchecked(suite: Suite, operation: str, params: dict, invalid_violation):
    """The invalid request with client validation off.

    botocore's serialiser cannot encode some wrong types (an unknown member, a string for a structure): then
    send the JSON a client that does not validate would send. A service must not rely on the SDK."""
    raw = not serialisable(operation, params)
    how = " (sent as raw JSON)" if raw else ""
    return suite.api(validate=False).call(
        operation, params, raw=raw, note=f"invalid, client validation off{how}: {invalid_violation.description}")


def _denied(suite: Suite, operation: str, outcome, subject: str, *properties: str) -> bool:
    """Whether the target denied this identity `operation` (Suite.denial): then nothing is checked, and the
    properties the request was for show as untested with the target's reason (their cells exist)."""
    if outcome.error_code == "AccessDeniedException" and suite.denial(operation):
        suite.observe(operation, subject, "denied (AccessDeniedException): untested")
        for prop in (*properties, "declared-errors"):
            suite.results.expect(operation, prop)
        return True
    return False


def send_invalid(suite: Suite, operation: str, invalid) -> None:  # noqa: C901 (one request, two layers)
    """Send one labelled invalid request (and, when botocore refuses it, the same with client validation off)
    and check it is refused at its layer."""
    violation = invalid.violation
    params = suite.prepare(operation, invalid.params, keep=violation.path)
    entry = suite.contract.operations.get(operation)
    if entry is None or not violation.path.startswith(entry.token_member):
        fresh_token(suite, operation, params)
    suite.trace.reset()
    subject = f"invalid requests ({violation.layer} layer, {violation.constraint}) were"
    checked = suite.api(validate=True).call(operation, params, note=f"invalid: {violation.description}")
    unchecked = None
    if violation.layer == "client":
        if checked.refused_by_client:  # the target's answer first: botocore's refusal alone holds nothing of a
            unchecked = _unchecked(suite, operation, params, violation)  # target that denies the operation
            if _denied(suite, operation, unchecked, "invalid requests were", "invalid-requests"):
                return
        suite.check("client_refuses_invalid", operation, violation, checked)
    elif not checked.refused_by_client:
        # A server-layer violation passes botocore's validation: the target alone must refuse it.
        if _denied(suite, operation, checked, "invalid requests were", "invalid-requests"):
            return
        suite.check("declared_error", operation, checked)
        suite.check("target_refuses_invalid", operation, violation, checked)
        observe_answer(suite, operation, subject, checked)
        return
    else:
        suite.observe(operation, "invalid requests labelled server-layer",
                      "were refused by botocore after all (the strategies' label is wrong)")
    raw = not serialisable(operation, params)
    how = " (sent as raw JSON)" if raw else ""
    unchecked = unchecked or _unchecked(suite, operation, params, violation)
    if _denied(suite, operation, unchecked, "invalid requests were", "invalid-requests"):
        return
    if not invalid_on_the_wire(operation, unchecked):
        # e.g. a string where a list belongs is sent as a list of its characters: valid by the time it is sent.
        suite.observe(operation, subject, "sent valid (botocore's serialiser rewrote the invalid value)")
        return
    suite.check("declared_error", operation, unchecked)
    suite.check("target_refuses_invalid", operation, violation, unchecked)
    observe_answer(suite, operation, subject[:-len(" were")] + how + " were", unchecked)
    names = [f.get("name") for f in unchecked.error.get("fieldList") or []]
    suite.observe(operation, "ValidationException's fieldList",
                  "named the violated member" if violation.path in names else "did not name the violated member")
    suite.observe(operation, "ValidationException's fieldList, for the violated member",
                  "named it or a member within it" if any(str(n) == violation.path or str(n).startswith(
                      (f"{violation.path}.", f"{violation.path}[")) for n in names) else "did not name it")

