"""The behaviour knobs and the plausible-behaviour catalogue: each variant answers as it says, with a real boto3
client; knobs are checked when given; `serve --behaviour FILE` behaves like the variant; the planted faults keep
the emulator's own knobs (which is how the suite tells the embedded emulator from a stand-in for another
service)."""

from __future__ import annotations

import argparse
import json
import math

import boto3
import pytest
from botocore.exceptions import ClientError

from invoicing_mock import mock_invoicing
from invoicing_mock.behaviour import Behaviour, BehaviourError, preview_operations
from invoicing_mock.call import Call
from invoicing_mock.clock import ManualClock
from invoicing_mock.exceptions import ValidationException
from invoicing_mock.models import InvoicingBackend
from invoicing_mock import equivalence, mutants, plausible, server

from botocore.config import Config

NO_RETRIES = Config(retries={"total_max_attempts": 1})
UNVALIDATED = Config(retries={"total_max_attempts": 1}, parameter_validation=False)

PAYER = "123456789012"
MEMBERS = ("111111111111", "222222222222", "333333333333")


def client(config=NO_RETRIES, url=None):
    return boto3.client("invoicing", region_name="us-east-1", aws_access_key_id=PAYER, aws_secret_access_key="x",
                        config=config, endpoint_url=url)


def unit(name="u", token="t1", **extra):
    return {"Name": name, "InvoiceReceiver": PAYER, "Rule": {"LinkedAccounts": []}, "ClientToken": token, **extra}


def preference(token="p1", **extra):
    return {"ProcurementPortalName": "COUPA", "BuyerDomain": "NetworkID", "BuyerIdentifier": "buyer",
            "SupplierDomain": "NetworkID", "SupplierIdentifier": "supplier", "EinvoiceDeliveryEnabled": False,
            "PurchaseOrderRetrievalEnabled": False, "Contacts": [{"Name": "n", "Email": "n@example.com"}],
            "ClientToken": token, **extra}


def code_of(call, *args, **kwargs) -> str:
    with pytest.raises(ClientError) as error:
        call(*args, **kwargs)
    return error.value.response["Error"]["Code"]


def test_the_catalogue_has_the_ten_behaviours_each_differing_from_the_emulator():
    assert len(plausible.CATALOGUE) == 10
    for variant in plausible.CATALOGUE.values():
        assert not variant.cls.BEHAVIOUR.is_default, variant.name
        assert Behaviour.of(variant.knobs) == variant.cls.BEHAVIOUR  # its knobs are a behaviour file
        assert variant.behaves_like


def test_every_planted_fault_keeps_the_emulators_own_behaviour():
    # The suite holds a backend with the default knobs to every expectation (contracts.plugin.embedded_emulator):
    # a planted fault must never get out of that by changing a knob.
    for variant in mutants.CATALOGUE.values():
        assert variant.cls().behaviour.is_default, variant.name
    assert InvoicingBackend().behaviour.is_default


def test_conflict_refused_with_another_declared_error():
    with mock_invoicing(backend=plausible.ConflictAsValidation()):
        c = client()
        c.create_procurement_portal_preference(**preference())
        assert code_of(c.create_procurement_portal_preference, **preference(BuyerIdentifier="other")) == \
            "ValidationException"
    with mock_invoicing():
        c = client()
        c.create_procurement_portal_preference(**preference())
        assert code_of(c.create_procurement_portal_preference, **preference(BuyerIdentifier="other")) == \
            "ConflictException"


def test_a_token_scoped_per_account_answers_for_another_operation():
    for backend, expected in ((plausible.TokenPerAccount(), "ValidationException"), (InvoicingBackend(), None)):
        with mock_invoicing(backend=backend):
            c = client()
            arn = c.create_invoice_unit(**unit())["InvoiceUnitArn"]
            update = {"InvoiceUnitArn": arn, "Description": "d", "ClientToken": "t1"}
            if expected:
                assert code_of(c.update_invoice_unit, **update) == expected  # t1 was the create's
            else:
                assert c.update_invoice_unit(**update)["InvoiceUnitArn"] == arn


def test_an_eight_hour_window():
    clock = ManualClock()
    backend = plausible.EightHourWindow(clock=clock)
    assert backend.tokens.window_seconds == 8 * 3600
    with mock_invoicing(backend=backend):
        c = client()
        first = c.create_invoice_unit(**unit())["InvoiceUnitArn"]
        clock.advance(8 * 3600 - 60)
        assert c.create_invoice_unit(**unit())["InvoiceUnitArn"] == first
        clock.advance(120)
        assert code_of(c.create_invoice_unit, **unit()) == "ValidationException"  # ran again: the name is taken


def test_errors_are_replayed_on_the_same_token():
    with mock_invoicing(backend=plausible.ErrorsReplayed()):
        c = client()
        c.create_invoice_unit(**unit(token="a"))
        duplicate = unit(token="b")  # refused by a service rule: the name is taken
        assert code_of(c.create_invoice_unit, **duplicate) == "ValidationException"
        c.delete_invoice_unit(InvoiceUnitArn=c.list_invoice_units()["InvoiceUnits"][0]["InvoiceUnitArn"])
        with pytest.raises(ClientError) as again:  # the name is free now, but the stored refusal answers
            c.create_invoice_unit(**duplicate)
        assert again.value.response.get("reason") == "duplicateInvoiceUnit"
    with mock_invoicing():
        c = client()
        arn = c.create_invoice_unit(**unit(token="a"))["InvoiceUnitArn"]
        assert code_of(c.create_invoice_unit, **unit(token="b")) == "ValidationException"
        c.delete_invoice_unit(InvoiceUnitArn=arn)
        c.create_invoice_unit(**unit(token="b"))  # the emulator's own: a refusal leaves the token unused


def test_a_wrong_type_gets_a_serialization_error():
    with mock_invoicing(backend=plausible.SerializationErrors()):
        assert code_of(client(UNVALIDATED).create_invoice_unit, **unit(Description=7)) == "SerializationException"
        assert code_of(client(UNVALIDATED).create_invoice_unit, **unit(Name="")) == "ValidationException"
    with mock_invoicing():
        assert code_of(client(UNVALIDATED).create_invoice_unit, **unit(Description=7)) == "ValidationException"


def test_unknown_members_are_ignored():
    # botocore cannot even serialise an unknown member: the request goes to the backend as the wire gives it.
    request = {**unit(), "Colour": "blue", "Rule": {"LinkedAccounts": [], "Shade": 1}}
    backend = plausible.UnknownMembersIgnored()
    arn = backend.handle(Call(PAYER, "CreateInvoiceUnit", json.loads(json.dumps(request))))["InvoiceUnitArn"]
    shown = backend.handle(Call(PAYER, "GetInvoiceUnit", {"InvoiceUnitArn": arn}))
    assert "Colour" not in shown and shown["Rule"] == {"LinkedAccounts": []} and shown["Name"] == "u"
    with pytest.raises(ValidationException):
        InvoicingBackend().handle(Call(PAYER, "CreateInvoiceUnit", json.loads(json.dumps(request))))


def test_access_denied_on_the_preview_apis():
    assert set(preview_operations()) == {
        "CreateProcurementPortalPreference", "DeleteProcurementPortalPreference", "GetProcurementPortalPreference",
        "ListProcurementPortalPreferences", "PutProcurementPortalPreference", "SendProcurementPortalValidation",
        "UpdateProcurementPortalPreferenceStatus", "VerifyProcurementPortalValidation"}
    with mock_invoicing(backend=plausible.PreviewAccessDenied()):
        c = client()
        assert code_of(c.create_procurement_portal_preference, **preference()) == "AccessDeniedException"
        assert code_of(c.list_procurement_portal_preferences) == "AccessDeniedException"
        c.create_invoice_unit(**unit())  # not a preview API


def test_timestamps_in_whole_seconds():
    clock = ManualClock(1_767_225_600.75)
    with mock_invoicing(backend=plausible.WholeSecondTimestamps(clock=clock)):
        c = client()
        arn = c.create_invoice_unit(**unit())["InvoiceUnitArn"]
        assert c.get_invoice_unit(InvoiceUnitArn=arn)["LastModified"].timestamp() == math.floor(clock.now())


def test_the_shared_secret_read_back_masked():
    secret = "s3cr3t-value"
    with mock_invoicing(backend=plausible.MaskedSharedSecret()):
        c = client()
        arn = c.create_procurement_portal_preference(**preference(ProcurementPortalSharedSecret=secret))[
            "ProcurementPortalPreferenceArn"]
        shown = c.get_procurement_portal_preference(ProcurementPortalPreferenceArn=arn)["ProcurementPortalPreference"]
        assert shown["ProcurementPortalSharedSecret"] == "********"
    with mock_invoicing():
        c = client()
        arn = c.create_procurement_portal_preference(**preference(ProcurementPortalSharedSecret=secret))[
            "ProcurementPortalPreferenceArn"]
        shown = c.get_procurement_portal_preference(ProcurementPortalPreferenceArn=arn)["ProcurementPortalPreference"]
        assert "ProcurementPortalSharedSecret" not in shown


def test_the_linked_accounts_read_back_sorted():
    with mock_invoicing(backend=plausible.SortedAccountLists()):
        c = client()
        arn = c.create_invoice_unit(**unit(Rule={"LinkedAccounts": ["333333333333", "111111111111"]}))[
            "InvoiceUnitArn"]
        assert c.get_invoice_unit(InvoiceUnitArn=arn)["Rule"]["LinkedAccounts"] == ["111111111111", "333333333333"]


# ------------------------------------------------------------------------------------------ payload comparison


@pytest.mark.parametrize("comparison, replayed", [(None, True), ("semantic", True), ("bytes", False)])
def test_equivalent_payloads_are_one_request_unless_compared_byte_for_byte(comparison, replayed):
    # None: the emulator's default, which judges payloads as the suite does (semantic).
    with mock_invoicing(behaviour={"payload_comparison": comparison} if comparison else None):
        c = client()
        first = c.create_invoice_unit(**unit(Rule={"LinkedAccounts": ["222222222222", "111111111111"]}))
        for same in (unit(Rule={"LinkedAccounts": ["111111111111", "222222222222"]}),  # documented: a set
                     unit(Rule={"LinkedAccounts": ["222222222222", "111111111111"]}, TaxInheritanceDisabled=False)):
            if replayed:
                assert c.create_invoice_unit(**same)["InvoiceUnitArn"] == first["InvoiceUnitArn"]
            else:
                assert code_of(c.create_invoice_unit, **same) == "ValidationException"
        # A real difference stays a conflict either way.
        assert code_of(c.create_invoice_unit, **unit(Rule={"LinkedAccounts": ["111111111111"]})) == \
            "ValidationException"


def test_the_documented_equivalences_quote_the_installed_model():
    for rule in equivalence.DOCUMENTED:
        assert rule.quote in equivalence._documentation(rule.source), rule
    assert {(r.operation, r.member) for r in equivalence.model_defaults()} == \
        {("CreateInvoiceUnit", "TaxInheritanceDisabled")}


# -------------------------------------------------------------------------------------------------- the knobs


@pytest.mark.parametrize(
    "knobs, message",
    [
        ({"token_scope": "region"}, "token_scope: 'region' is not one of operation, account"),
        ({"conflict_error": {"CreateInvoiceUnit": "ConflictException"}}, "not a client error CreateInvoiceUnit"),
        ({"conflict_error": {"*": "ThrottlingException"}}, "not a client error"),
        ({"conflict_error": {"GetInvoiceUnit": "ValidationException"}}, "not an operation with an idempotency"),
        ({"access_denied": ["GetInvoices"]}, "neither an operation of the model nor \"preview\""),
        ({"idempotency_window": 0}, "idempotency_window: 0 must be"),
        ({"colour": "blue"}, "unknown knob colour"),
    ],
)
def test_a_bad_knob_is_refused_saying_what_to_write(knobs, message):
    with pytest.raises(BehaviourError, match=message):
        Behaviour.of(knobs)
    with pytest.raises(BehaviourError, match=message):
        mock_invoicing(behaviour=knobs)  # at once, not at the first request


def test_serve_behaviour_file_makes_the_server_answer_like_the_variant(tmp_path):
    spec = tmp_path / "behaviour.json"
    spec.write_text(json.dumps(plausible.CATALOGUE["ConflictAsValidation"].knobs))
    backend = InvoicingBackend(behaviour=Behaviour.from_file(spec))
    served = server.start(0, backend=backend)
    try:
        c = client(url=served.url)
        c.create_procurement_portal_preference(**preference())
        assert code_of(c.create_procurement_portal_preference, **preference(BuyerIdentifier="x")) == \
            "ValidationException"
    finally:
        served.stop()


def test_serve_refuses_a_bad_behaviour_file_with_one_line(tmp_path, capsys):
    spec = tmp_path / "behaviour.json"
    spec.write_text('{"token_scope": "region"}')
    parser = argparse.ArgumentParser()
    server.add_arguments(parser)
    assert server.main(parser.parse_args(["--behaviour", str(spec), "--port", "0"])) == server.USAGE_EXIT_CODE
    err = capsys.readouterr().err
    assert "--behaviour behaviour file" in err and "token_scope: 'region'" in err and len(err.splitlines()) == 1
