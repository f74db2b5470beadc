"""The rules the model's documentation strings state, as the emulator enforces them (each refusal quotes its
rule), and as the suite's oracle predicts them (written separately: contracts/engine/oracle.py)."""

from __future__ import annotations

import datetime as dt

import pytest
from botocore.exceptions import ClientError

from contracts.engine.oracle import Oracle, documented_refusals
from invoicing_mock.models import documented_rules

UTC = dt.timezone.utc


def preference(**overrides) -> dict:
    return {"ProcurementPortalName": "COUPA", "BuyerDomain": "NetworkID", "BuyerIdentifier": "BUYER-1",
            "SupplierDomain": "NetworkID", "SupplierIdentifier": "SUPPLIER-1",
            "ProcurementPortalInstanceEndpoint": "https://buyer.example.com/cxml", "EinvoiceDeliveryEnabled": False,
            "PurchaseOrderRetrievalEnabled": False, "Contacts": [{"Name": "Ann", "Email": "ann@example.com"}],
            **overrides}
PAYER = "123456789012"


def refusal(call, **params) -> dict:
    with pytest.raises(ClientError) as error:
        call(**params)
    return error.value.response


def summaries(**filter_) -> dict:
    return {"Selector": {"ResourceType": "ACCOUNT_ID", "Value": PAYER}, "Filter": filter_}


def interval(start, end) -> dict:
    return {"TimeInterval": {"StartDate": start, "EndDate": end}}


JUNE, JULY = dt.datetime(2025, 6, 1, tzinfo=UTC), dt.datetime(2025, 7, 1, tzinfo=UTC)
REFUSED_SUMMARIES = [
    ("a month and a day without ReceiverRole", interval(JUNE, dt.datetime(2025, 7, 2, tzinfo=UTC)),
     documented_rules.NO_ROLE_SPAN),
    ("ReceiverRole before 2025-06-01", {"ReceiverRole": "BUYER", **interval(dt.datetime(2025, 5, 31, tzinfo=UTC), JULY)},
     documented_rules.RECEIVER_ROLE_FROM),
    ("ReceiverRole, a billing period before June 2025", {"ReceiverRole": "SELLER", "BillingPeriod": {"Month": 5, "Year": 2025}},
     documented_rules.RECEIVER_ROLE_FROM),
    ("ReceiverRole over five years", {"ReceiverRole": "BUYER", **interval(JUNE, dt.datetime(2030, 6, 2, tzinfo=UTC))},
     documented_rules.RECEIVER_ROLE_SPAN),
]
ACCEPTED_SUMMARIES = [  # at the emulator's boundaries: the oracle, reading a boundary both ways, may predict these
    ("one month without ReceiverRole (end exclusive)", interval(JUNE, JULY)),
    ("ReceiverRole from June 2025, five years", {"ReceiverRole": "BUYER", **interval(JUNE, dt.datetime(2030, 6, 1, tzinfo=UTC))}),
    ("no TimeInterval", {}),
]
CLEARLY_ALLOWED = [  # well inside every reading: the oracle predicts nothing
    ("ten days without ReceiverRole", interval(JUNE, dt.datetime(2025, 6, 11, tzinfo=UTC))),
    ("ReceiverRole, a year from July 2025", {"ReceiverRole": "BUYER", **interval(JULY, dt.datetime(2026, 7, 1, tzinfo=UTC))}),
    ("no TimeInterval", {}),
]

@pytest.mark.parametrize("what, filter_, rule", REFUSED_SUMMARIES, ids=[c[0] for c in REFUSED_SUMMARIES])
def test_list_invoice_summaries_refuses_what_receiver_roles_documentation_rules_out(client, what, filter_, rule):
    answer = refusal(client.list_invoice_summaries, **summaries(**filter_))
    assert answer["Error"]["Code"] == "ValidationException" and answer["reason"] == "invalidInput"
    assert rule.quote in answer["Error"]["Message"], "the refusal quotes its documented rule"
    assert documented_refusals("ListInvoiceSummaries", summaries(**filter_), None), "the oracle predicts it"


@pytest.mark.parametrize("what, filter_", ACCEPTED_SUMMARIES, ids=[c[0] for c in ACCEPTED_SUMMARIES])
def test_list_invoice_summaries_takes_what_the_documentation_allows(client, what, filter_):
    assert "InvoiceSummaries" in client.list_invoice_summaries(**summaries(**filter_))


@pytest.mark.parametrize("what, filter_", CLEARLY_ALLOWED, ids=[c[0] for c in CLEARLY_ALLOWED])
def test_the_oracle_predicts_no_refusal_well_inside_the_rules(client, what, filter_):
    assert "InvoiceSummaries" in client.list_invoice_summaries(**summaries(**filter_))
    assert not documented_refusals("ListInvoiceSummaries", summaries(**filter_), None)


PUNCH_OUT = {"ApprovalRequestRedirectUrl": "https://buyer.example.com/approve"}
REFUSED_PREFERENCES = [
    ("an http endpoint", {"ProcurementPortalInstanceEndpoint": "http://buyer.example.com/cxml"},
     documented_rules.HTTPS["CreateProcurementPortalPreference"]),
    ("punch-out for SAP", {"ProcurementPortalName": "SAP_BUSINESS_NETWORK", "MarketplacePunchOutPreference": PUNCH_OUT},
     documented_rules.PUNCH_OUT_COUPA_ONLY),
    ("a redirect on another host", {"MarketplacePunchOutPreference": {"ApprovalRequestRedirectUrl": "https://x.example.net/a"}},
     documented_rules.PUNCH_OUT_HOST),
    ("punch-out enabled for Coupa without its preference", {"MarketplacePunchOutEnabled": True},
     documented_rules.PUNCH_OUT_REQUIRED["CreateProcurementPortalPreference"]),
]


@pytest.mark.parametrize("what, change, rule", REFUSED_PREFERENCES, ids=[c[0] for c in REFUSED_PREFERENCES])
def test_create_preference_refuses_what_the_documentation_rules_out(client, what, change, rule):
    params = preference(**change)
    answer = refusal(client.create_procurement_portal_preference, **params)
    assert answer["Error"]["Code"] == "ValidationException" and answer["reason"] == "invalidInput"
    assert rule.quote in answer["Error"]["Message"]
    assert documented_refusals("CreateProcurementPortalPreference", params, params["ProcurementPortalName"])


def test_put_knows_the_portal_from_the_stored_preference_and_needs_punch_out_for_any(client):
    arn = client.create_procurement_portal_preference(
        **preference(MarketplacePunchOutEnabled=True, MarketplacePunchOutPreference=PUNCH_OUT))[
        "ProcurementPortalPreferenceArn"]
    put = {"ProcurementPortalPreferenceArn": arn, "EinvoiceDeliveryEnabled": False,
           "PurchaseOrderRetrievalEnabled": False, "Contacts": [{"Name": "Ann", "Email": "ann@example.com"}],
           "ClientToken": "put-1"}
    client.put_procurement_portal_preference(**put, MarketplacePunchOutPreference=PUNCH_OUT)  # Coupa: allowed
    answer = refusal(client.put_procurement_portal_preference, **{**put, "ClientToken": "put-2"},
                     MarketplacePunchOutEnabled=True)
    assert documented_rules.PUNCH_OUT_REQUIRED["PutProcurementPortalPreference"].quote in answer["Error"]["Message"]


def test_the_oracle_learns_the_portal_of_a_put_from_the_create_it_saw():
    from contracts.calls import Call, Outcome

    oracle = Oracle(PAYER, ())
    params = preference(ProcurementPortalName="SAP_BUSINESS_NETWORK")
    arn = "arn:aws:invoicing::123456789012:procurement-portal-preference/abc"
    oracle.observe(Call("CreateProcurementPortalPreference", params,
                        Outcome(sent=True, status=200, response={"ProcurementPortalPreferenceArn": arn})))
    put = {"ProcurementPortalPreferenceArn": arn, "MarketplacePunchOutPreference": PUNCH_OUT}
    assert "ValidationException:invalidInput" in oracle.predict("PutProcurementPortalPreference", put)
    assert "ValidationException:invalidInput" not in oracle.predict("PutProcurementPortalPreference",
                                                                   {"ProcurementPortalPreferenceArn": arn})


def test_every_quoted_rule_is_in_the_installed_models_documentation(monkeypatch):
    documented_rules.check_sources()
    monkeypatch.setattr(documented_rules, "ALL", (documented_rules.Documented(
        "InvoiceSummariesFilter.ReceiverRole", "Data is available from the dawn of time."),))
    documented_rules.check_sources.cache_clear()
    try:
        with pytest.raises(ValueError, match="no longer says"):
            documented_rules.check_sources()
    finally:
        documented_rules.check_sources.cache_clear()
