"""Idempotency tokens (docs/idempotency.md), property by property, with explicit ClientTokens."""

from __future__ import annotations

import contextlib
import threading
import time

import boto3
import pytest
from botocore.config import Config

from contracts.model import TOKEN_OPERATIONS
from invoicing_mock import mock_invoicing
from invoicing_mock.clock import ManualClock
from invoicing_mock.faults import DropResponse, Faults
from invoicing_mock.models import InvoicingBackend, validation_code
from invoicing_mock.server import start
from strategies import operation_model

PAYER = "123456789012"
TOKEN = "token-1"
SECRET = "shh-secret-value"


def unit(client, name="A", token=None, **extra):
    params = {"Name": name, "InvoiceReceiver": PAYER, "Rule": {}, **extra}
    if token:
        params["ClientToken"] = token
    return client.create_invoice_unit(**params)["InvoiceUnitArn"]


def portal_preference(buyer="B1", **extra):
    return {
        "ProcurementPortalName": "COUPA",
        "BuyerDomain": "NetworkID",
        "BuyerIdentifier": buyer,
        "SupplierDomain": "NetworkID",
        "SupplierIdentifier": "S1",
        "ProcurementPortalSharedSecret": SECRET,
        "EinvoiceDeliveryEnabled": True,
        "PurchaseOrderRetrievalEnabled": False,
        "Contacts": [{"Name": "Ann", "Email": "ann@example.com"}],
        **extra,
    }


def new_preference(client, buyer="B1"):
    return client.create_procurement_portal_preference(**portal_preference(buyer))["ProcurementPortalPreferenceArn"]


def snapshot(client) -> tuple:
    units = client.list_invoice_units()["InvoiceUnits"]
    prefs = [
        client.get_procurement_portal_preference(ProcurementPortalPreferenceArn=p["ProcurementPortalPreferenceArn"])[
            "ProcurementPortalPreference"
        ]
        for p in client.list_procurement_portal_preferences()["ProcurementPortalPreferences"]
    ]
    return units, prefs


# For each token operation: (set-up returning the request, the same request changed in one field).
def _cases():
    def create_unit(c, t):
        return {"Name": "A", "InvoiceReceiver": PAYER, "Rule": {}}, {"Name": "B"}

    def update_unit(c, t):
        return {"InvoiceUnitArn": unit(c), "Description": "x"}, {"Description": "y"}

    def delete_unit(c, t):
        return {"InvoiceUnitArn": unit(c, "A")}, {"InvoiceUnitArn": unit(c, "B")}

    def create_pref(c, t):
        return portal_preference(), {"BuyerIdentifier": "B2"}

    def put_pref(c, t):
        base = {
            "ProcurementPortalPreferenceArn": new_preference(c),
            "EinvoiceDeliveryEnabled": False,
            "PurchaseOrderRetrievalEnabled": False,
            "Contacts": [{"Name": "Bob", "Email": "bob@example.com"}],
        }
        return base, {"Contacts": [{"Name": "Bo", "Email": "bob@example.com"}]}

    def status_pref(c, t):
        return (
            {"ProcurementPortalPreferenceArn": new_preference(c), "EinvoiceDeliveryPreferenceStatus": "ACTIVE"},
            {"EinvoiceDeliveryPreferenceStatus": "SUSPENDED"},
        )

    def delete_pref(c, t):
        return {"ProcurementPortalPreferenceArn": new_preference(c)}, {"ProcurementPortalPreferenceArn": new_preference(c, "B2")}

    def send(c, t):
        return {"ProcurementPortalPreferenceArn": new_preference(c)}, {"ProcurementPortalPreferenceArn": new_preference(c, "B2")}

    def verify(c, t):
        arn = new_preference(c)
        c.send_procurement_portal_validation(ProcurementPortalPreferenceArn=arn)
        return {"ProcurementPortalPreferenceArn": arn, "Code": validation_code(arn, 1)}, {"Code": "OTHER"}

    return {
        "CreateInvoiceUnit": create_unit,
        "UpdateInvoiceUnit": update_unit,
        "DeleteInvoiceUnit": delete_unit,
        "CreateProcurementPortalPreference": create_pref,
        "PutProcurementPortalPreference": put_pref,
        "UpdateProcurementPortalPreferenceStatus": status_pref,
        "DeleteProcurementPortalPreference": delete_pref,
        "SendProcurementPortalValidation": send,
        "VerifyProcurementPortalValidation": verify,
    }


CASES = _cases()


def test_every_token_operation_has_a_case():
    assert set(CASES) == set(TOKEN_OPERATIONS)


def call(client, operation, params):
    from botocore import xform_name

    return getattr(client, xform_name(operation))(**params)


def declared_conflict_error(operation: str) -> str:
    declared = {shape.name for shape in operation_model(operation).error_shapes}
    return "ConflictException" if "ConflictException" in declared else "ValidationException"


@pytest.mark.parametrize("operation", sorted(CASES))
def test_same_token_same_payload_replays_without_a_second_effect(target, operation):
    client = target.client()
    params, _change = CASES[operation](client, target)
    params = {**params, "ClientToken": TOKEN}
    first = call(client, operation, params)
    after_first = snapshot(client)
    target.clock.advance(5)
    second = call(client, operation, params)
    strip = lambda r: {k: v for k, v in r.items() if k != "ResponseMetadata"}  # noqa: E731
    assert strip(second) == strip(first)
    assert snapshot(client) == after_first


@pytest.mark.parametrize("operation", sorted(CASES))
def test_same_token_other_payload_is_refused_with_the_declared_error(target, refused, operation):
    client = target.client()
    params, change = CASES[operation](client, target)
    params = {**params, "ClientToken": TOKEN}
    call(client, operation, params)
    before = snapshot(client)
    error = refused(lambda **p: call(client, operation, p), **{**params, **change})
    expected = declared_conflict_error(operation)
    assert (error["Code"], error["Status"]) == (expected, 400)
    assert error["Message"] == (
        f"ClientToken '{TOKEN}' was already used for {operation} with a different request; "
        f"a retry must repeat the request exactly, and a new request needs a new ClientToken"
    )
    if expected == "ValidationException":
        assert (error["reason"], error["fieldList"]) == ("invalidInput", [{"name": "ClientToken", "message": "already used"}])
    else:
        assert (error["resourceId"], error["resourceType"]) == (TOKEN, "ClientToken")
    assert snapshot(client) == before


def test_a_request_refused_by_validation_leaves_the_token_unused(target, refused):
    loose = target.client(validate=False)
    error = refused(loose.create_invoice_unit, Name=" leading space", InvoiceReceiver=PAYER, Rule={}, ClientToken=TOKEN)
    assert error["reason"] == "fieldValidationFailed"
    client = target.client()
    arn = unit(client, "Fine", token=TOKEN)
    assert unit(client, "Fine", token=TOKEN) == arn


def test_a_request_refused_by_a_rule_leaves_the_token_unused(target, refused):
    client = target.client()
    blocker = unit(client, "Taken")
    error = refused(client.create_invoice_unit, Name="Taken", InvoiceReceiver=PAYER, Rule={}, ClientToken=TOKEN)
    assert error["reason"] == "duplicateInvoiceUnit"
    client.delete_invoice_unit(InvoiceUnitArn=blocker)
    assert unit(client, "Taken", token=TOKEN) != blocker


def test_a_token_is_scoped_to_its_operation_and_account(target):
    client = target.client()
    arn = unit(client, "A", token=TOKEN)
    # the same token on another operation is another token
    client.update_invoice_unit(InvoiceUnitArn=arn, Description="changed", ClientToken=TOKEN)
    assert client.get_invoice_unit(InvoiceUnitArn=arn)["Description"] == "changed"
    # and from another account (a standalone payer) too
    other = target.client(account="999999999999")
    theirs = other.create_invoice_unit(Name="A", InvoiceReceiver="999999999999", Rule={}, ClientToken=TOKEN)["InvoiceUnitArn"]
    assert theirs != arn and theirs.split(":")[4] == "999999999999"


def test_tokens_are_forgotten_after_the_window(target):
    client = target.client()
    arn = unit(client, "A", token=TOKEN)
    target.clock.advance(24 * 3600 - 1)
    assert unit(client, "A", token=TOKEN) == arn  # still remembered
    target.clock.advance(1)
    # forgotten: the same token now makes a new request (a different one would have been refused before)
    assert unit(client, "B", token=TOKEN) != arn
    assert [u["Name"] for u in client.list_invoice_units()["InvoiceUnits"]] == ["A", "B"]


def test_the_window_is_configurable():
    clock = ManualClock()
    with mock_invoicing(clock=clock, idempotency_window=60):
        client = boto3.client("invoicing", region_name="us-east-1")
        arn = unit(client, "A", token=TOKEN)
        clock.advance(60)
        assert unit(client, "B", token=TOKEN) != arn


def test_autofilled_tokens_make_independent_requests(target):
    client = target.client()
    assert unit(client, "A") != unit(client, "B")


def test_a_replayed_delete_succeeds_and_a_replayed_create_does_not_resurrect(target, refused):
    client = target.client()
    arn = unit(client, "A", token="create-1")
    first = client.delete_invoice_unit(InvoiceUnitArn=arn, ClientToken="delete-1")["InvoiceUnitArn"]
    assert client.delete_invoice_unit(InvoiceUnitArn=arn, ClientToken="delete-1")["InvoiceUnitArn"] == first
    assert refused(client.delete_invoice_unit, InvoiceUnitArn=arn, ClientToken="delete-2")["Code"] == "ResourceNotFoundException"
    assert unit(client, "A", token="create-1") == arn
    assert refused(client.get_invoice_unit, InvoiceUnitArn=arn)["Code"] == "ResourceNotFoundException"
    assert client.list_invoice_units()["InvoiceUnits"] == []


class SlowCreate(InvoicingBackend):
    """Creates take a while, so concurrent duplicates really overlap (without the in-flight marker, each would
    execute)."""

    def create_invoice_unit(self, account, params):
        time.sleep(0.05)
        return super().create_invoice_unit(account, params)


@pytest.mark.parametrize("transport", ["in-process", "http"])
def test_concurrent_requests_with_one_token_execute_once(transport):
    """docs/idempotency.md property 8: one executes; duplicates arriving while it runs are refused as in flight
    (CreateInvoiceUnit declares no ConflictException: ValidationException naming the token); any arriving
    after it finished get its result."""
    backend = SlowCreate(clock=ManualClock())
    with contextlib.ExitStack() as stack:
        if transport == "http":
            served = start(0, backend=backend)
            stack.callback(served.stop)
            url = served.url
        else:
            stack.enter_context(mock_invoicing(backend=backend))
            url = None
        clients = [
            boto3.client("invoicing", region_name="us-east-1", endpoint_url=url, config=Config(retries={"total_max_attempts": 1}))
            for _ in range(6)
        ]
        results, errors = [], []
        barrier = threading.Barrier(len(clients))

        def attempt(client):
            barrier.wait()
            try:
                results.append(unit(client, "Once", token=TOKEN))
            except Exception as error:  # noqa: BLE001 - collected for the assertion
                errors.append(error)

        threads = [threading.Thread(target=attempt, args=(c,)) for c in clients]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(results) + len(errors) == 6 and len(set(results)) == 1 and errors
        for error in errors:
            assert error.response["Error"]["Code"] == "ValidationException"
            assert error.response["reason"] == "other"
            assert error.response["fieldList"] == [{"name": "ClientToken", "message": "in use by a request in progress"}]
            assert error.response["Error"]["Message"] == (
                f"ClientToken {TOKEN!r} is in use by a CreateInvoiceUnit request that is still in progress; "
                f"retry after it completes to get its result"
            )
        assert len(clients[0].list_invoice_units()["InvoiceUnits"]) == 1
        assert unit(clients[0], "Once", token=TOKEN) == results[0]  # after it finished: its result
        assert backend.tokens.in_flight() == 0


def test_an_in_flight_duplicate_is_a_conflict_exception_where_the_operation_declares_one(inprocess, refused):
    """Property 8 for an operation that declares ConflictException: a duplicate in flight gets it."""

    class Holder(Faults):
        def __init__(self):
            self.entered, self.go = threading.Event(), threading.Event()

        def during(self, call, backend):
            if not self.entered.is_set():
                self.entered.set()
                self.go.wait(5)

    holder = Holder()
    inprocess.backend.faults = holder
    client = inprocess.client()
    request = {**portal_preference(), "ClientToken": TOKEN}
    first: list = []
    thread = threading.Thread(target=lambda: first.append(client.create_procurement_portal_preference(**request)))
    thread.start()
    assert holder.entered.wait(5)
    error = refused(client.create_procurement_portal_preference, **request)
    holder.go.set()
    thread.join()
    assert error["Code"] == "ConflictException" and error["resourceType"] == "ClientToken"
    assert error["resourceId"] == TOKEN and "still in progress" in error["Message"]
    arn = first[0]["ProcurementPortalPreferenceArn"]
    assert client.create_procurement_portal_preference(**request)["ProcurementPortalPreferenceArn"] == arn
    assert len(client.list_procurement_portal_preferences()["ProcurementPortalPreferences"]) == 1


def test_a_request_that_fails_while_in_flight_releases_its_token(inprocess, refused):
    """A claimed token whose execution fails is released: the next request with it executes."""
    client = inprocess.client()
    unit(client, "Taken", token="other")
    assert refused(client.create_invoice_unit, Name="Taken", InvoiceReceiver=PAYER, Rule={},
                   ClientToken=TOKEN)["reason"] == "duplicateInvoiceUnit"
    assert inprocess.backend.tokens.in_flight() == 0
    assert unit(client, "Fresh", token=TOKEN).startswith("arn:aws:invoicing::")


class _LoseFirstResponse(Faults):
    """Commit the first request, then lose its response (a planted network fault)."""

    def __init__(self):
        self.dropped = 0

    def after(self, call, backend, result):
        if call.operation == "CreateInvoiceUnit" and not self.dropped:
            self.dropped += 1
            raise DropResponse()
        return result


def test_a_lost_response_retried_by_the_sdk_has_one_effect(target):
    faults = _LoseFirstResponse()
    target.backend.faults = faults
    retrying = boto3.client(
        "invoicing",
        region_name="us-east-1",
        endpoint_url=target.url,
        config=Config(retries={"mode": "standard", "total_max_attempts": 3}),
    )
    response = retrying.create_invoice_unit(Name="A", InvoiceReceiver=PAYER, Rule={})  # token autofilled once
    assert faults.dropped == 1 and response["ResponseMetadata"]["RetryAttempts"] == 1
    assert [u["InvoiceUnitArn"] for u in retrying.list_invoice_units()["InvoiceUnits"]] == [response["InvoiceUnitArn"]]


def test_a_conflict_message_never_shows_a_secret(target, refused):
    client = target.client()
    client.create_procurement_portal_preference(**portal_preference(), ClientToken=TOKEN)
    error = refused(
        client.create_procurement_portal_preference,
        **portal_preference(ProcurementPortalSharedSecret=SECRET + "2"),
        ClientToken=TOKEN,
    )
    assert error["Code"] == "ConflictException"
    assert SECRET not in repr(error)


class ReExecuteOnReplay(InvoicingBackend):
    """A planted fault: a replay executes the request again instead of returning the stored result."""

    def replay(self, call, recorded):
        return self.execute(call)


class FreshArnOnReplay(InvoicingBackend):
    """A planted fault: a replay answers a new ARN (the example of invoicing_mock.faults)."""

    def replay(self, call, recorded):
        result = dict(recorded.result)
        for name, value in result.items():
            if name.endswith("Arn"):
                result[name] = value.rsplit("/", 1)[0] + "/" + self.new_id()
        return result


@pytest.mark.parametrize("planted", [ReExecuteOnReplay, FreshArnOnReplay])
def test_a_planted_replay_fault_is_visible_to_a_client(planted):
    with mock_invoicing(backend=planted(clock=ManualClock())):
        client = boto3.client("invoicing", region_name="us-east-1")
        request = {**portal_preference(), "ClientToken": TOKEN}
        first = client.create_procurement_portal_preference(**request)["ProcurementPortalPreferenceArn"]
        try:
            second = client.create_procurement_portal_preference(**request)["ProcurementPortalPreferenceArn"]
        except client.exceptions.ConflictException:
            second = None  # re-executed: the duplicate preference is refused
        # what test_same_token_same_payload_replays_without_a_second_effect asserts no longer holds
        assert second != first


@pytest.mark.parametrize(
    "first, second, same",
    [
        # The model and the documentation make these one request (invoicing_mock.equivalence; the default
        # comparison is semantic, `bytes` keeps them apart: test_plausible.py).
        ({"Rule": {"LinkedAccounts": ["111111111111", "222222222222"]}}, {"Rule": {"LinkedAccounts": ["222222222222", "111111111111"]}}, True),
        ({}, {"TaxInheritanceDisabled": False}, True),  # omitted vs the explicit default of a non-boxed member
        ({"Rule": {}}, {"Rule": {"LinkedAccounts": []}}, False),  # nested omitted vs empty: nothing makes them equal
    ],
    ids=["list-order", "omitted-vs-default", "nested-omitted-vs-empty"],
)
def test_equivalent_payloads_replay_and_others_conflict(target, refused, first, second, same):
    client = target.client()
    base = {"Name": "A", "InvoiceReceiver": PAYER, "Rule": {}, "ClientToken": TOKEN}
    arn = client.create_invoice_unit(**{**base, **first})["InvoiceUnitArn"]
    if same:
        assert client.create_invoice_unit(**{**base, **second})["InvoiceUnitArn"] == arn
        return
    assert refused(client.create_invoice_unit, **{**base, **second})["Code"] == "ValidationException"
