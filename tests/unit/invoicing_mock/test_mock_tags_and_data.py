"""Tags on invoicing ARNs, and the deterministic data of the read-only operations."""

from __future__ import annotations

import datetime

import pytest

from invoicing_mock import synthetic
from invoicing_mock.models import Limits

PAYER, M1, OUTSIDER = "123456789012", "111111111111", "999999999999"


def test_tags_on_an_invoice_unit(client, refused):
    arn = client.create_invoice_unit(
        Name="A", InvoiceReceiver=PAYER, Rule={}, ResourceTags=[{"Key": "team", "Value": "a"}]
    )["InvoiceUnitArn"]
    client.tag_resource(ResourceArn=arn, ResourceTags=[{"Key": "env", "Value": "prod"}, {"Key": "team", "Value": "b"}])
    assert client.list_tags_for_resource(ResourceArn=arn)["ResourceTags"] == [
        {"Key": "team", "Value": "b"},
        {"Key": "env", "Value": "prod"},
    ]
    client.untag_resource(ResourceArn=arn, ResourceTagKeys=["team", "absent"])
    assert client.list_tags_for_resource(ResourceArn=arn)["ResourceTags"] == [{"Key": "env", "Value": "prod"}]
    client.delete_invoice_unit(InvoiceUnitArn=arn)
    error = refused(client.list_tags_for_resource, ResourceArn=arn)
    assert error == {
        "Code": "ResourceNotFoundException",
        "Status": 400,
        "Message": f"Resource {arn} does not exist in account {PAYER}",
        "resourceName": arn,
    }


def test_tags_on_a_preference_and_unknown_arns(client, refused):
    arn = client.create_procurement_portal_preference(
        ProcurementPortalName="COUPA", BuyerDomain="NetworkID", BuyerIdentifier="B", SupplierDomain="NetworkID",
        SupplierIdentifier="S", EinvoiceDeliveryEnabled=False, PurchaseOrderRetrievalEnabled=False,
        Contacts=[{"Name": "Ann", "Email": "ann@example.com"}], ResourceTags=[{"Key": "k", "Value": "v"}],
    )["ProcurementPortalPreferenceArn"]
    assert client.list_tags_for_resource(ResourceArn=arn)["ResourceTags"] == [{"Key": "k", "Value": "v"}]
    unknown = f"arn:aws:invoicing::{PAYER}:invoice-unit/nothere"
    for operation, params in (
        (client.tag_resource, {"ResourceTags": [{"Key": "a", "Value": "b"}]}),
        (client.untag_resource, {"ResourceTagKeys": ["a"]}),
        (client.list_tags_for_resource, {}),
    ):
        assert refused(operation, ResourceArn=unknown, **params)["Code"] == "ResourceNotFoundException"


class TestTagQuota:
    @pytest.fixture
    def backend_options(self):
        return {"limits": Limits(tags_per_resource=2)}

    def test_a_resource_has_at_most_the_tag_quota(self, client, refused):
        arn = client.create_invoice_unit(Name="A", InvoiceReceiver=PAYER, Rule={})["InvoiceUnitArn"]
        client.tag_resource(ResourceArn=arn, ResourceTags=[{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}])
        error = refused(client.tag_resource, ResourceArn=arn, ResourceTags=[{"Key": "c", "Value": "3"}])
        assert (error["Code"], error["Message"]) == (
            "ServiceQuotaExceededException",
            "A resource has at most 2 tags; this would make 3",
        )
        assert len(client.list_tags_for_resource(ResourceArn=arn)["ResourceTags"]) == 2


def test_the_default_tag_quota_is_the_models():
    assert Limits().tags_per_resource == 200


def test_invoice_profiles_for_members_only(client, refused):
    profiles = client.batch_get_invoice_profile(AccountIds=[M1, PAYER, M1])["Profiles"]
    assert [p["AccountId"] for p in profiles] == [M1, PAYER]
    assert profiles[0] == client.batch_get_invoice_profile(AccountIds=[M1])["Profiles"][0]  # deterministic
    error = refused(client.batch_get_invoice_profile, AccountIds=[M1, OUTSIDER])
    assert (error["reason"], error["fieldList"]) == (
        "nonMemberPresent",
        [{"name": "AccountIds[1]", "message": f"{OUTSIDER} is not an organization member"}],
    )


def test_time_interval_includes_its_start_and_excludes_its_end_as_the_model_documents(client):
    """DateInterval: "The start date is inclusive", "The end date is exclusive" (the model's documentation)."""
    selector = {"ResourceType": "ACCOUNT_ID", "Value": M1}
    march = next(s for s in client.list_invoice_summaries(Selector=selector)["InvoiceSummaries"]
                 if s["BillingPeriod"]["Month"] == 3)
    issued = march["IssuedDate"]

    def months(start, end):
        found = client.list_invoice_summaries(Selector=selector, Filter={"TimeInterval": {
            "StartDate": start, "EndDate": end}})["InvoiceSummaries"]
        return [s["BillingPeriod"]["Month"] for s in found]

    assert 3 in months(issued, issued + datetime.timedelta(seconds=1))
    assert 3 not in months(issued - datetime.timedelta(days=1), issued)


def test_invoice_summaries_by_account_filter_and_page(client, refused):
    everything = client.list_invoice_summaries(Selector={"ResourceType": "ACCOUNT_ID", "Value": M1})["InvoiceSummaries"]
    assert [s["BillingPeriod"]["Month"] for s in everything] == list(range(1, 13))
    assert client.list_invoice_summaries(Selector={"ResourceType": "ACCOUNT_ID", "Value": M1})["InvoiceSummaries"] == everything
    march = client.list_invoice_summaries(
        Selector={"ResourceType": "ACCOUNT_ID", "Value": M1}, Filter={"BillingPeriod": {"Month": 3, "Year": 2025}}
    )["InvoiceSummaries"]
    assert [s["InvoiceId"] for s in march] == [f"{M1}202503"]
    paged = client.get_paginator("list_invoice_summaries").paginate(
        Selector={"ResourceType": "ACCOUNT_ID", "Value": M1}, PaginationConfig={"PageSize": 5}
    )
    assert [len(page["InvoiceSummaries"]) for page in paged] == [5, 5, 2]
    error = refused(client.list_invoice_summaries, Selector={"ResourceType": "ACCOUNT_ID", "Value": OUTSIDER})
    assert (error["Code"], error["Message"]) == (
        "ResourceNotFoundException",
        f"Account '{OUTSIDER}' is not visible to account {PAYER}: it is not in its organization",
    )


def test_an_invoice_by_id_and_its_pdf(client, refused):
    invoice = f"{M1}202506"
    summaries = client.list_invoice_summaries(Selector={"ResourceType": "INVOICE_ID", "Value": invoice})["InvoiceSummaries"]
    assert [s["InvoiceId"] for s in summaries] == [invoice]
    pdf = client.get_invoice_pdf(InvoiceId=invoice)["InvoicePDF"]
    assert pdf["InvoiceId"] == invoice and pdf["DocumentUrl"].endswith(".pdf?expires=" + str(int(pdf["DocumentUrlExpirationDate"].timestamp())))
    for missing in (f"{OUTSIDER}202506", f"{M1}209901", "nonsense"):
        error = refused(client.get_invoice_pdf, InvoiceId=missing)
        assert (error["Code"], error["Message"]) == (
            "ResourceNotFoundException",
            f"Invoice {missing!r} does not exist for account {PAYER}",
        )


def test_a_member_sees_only_its_own_invoices(target, refused):
    member = target.client(account=M1)
    assert member.list_invoice_summaries(Selector={"ResourceType": "ACCOUNT_ID", "Value": M1})["InvoiceSummaries"]
    assert refused(member.get_invoice_pdf, InvoiceId=f"{PAYER}202501")["Code"] == "ResourceNotFoundException"


def test_portals_come_from_the_model_and_suppliers_page(client, refused):
    portals = client.list_procurement_portals()["ProcurementPortals"]
    assert [p["PortalName"] for p in portals] == synthetic.enum_of("ProcurementPortalName")
    first = portals[0]["PortalIdentifier"]
    pages = list(
        client.get_paginator("list_procurement_portal_suppliers").paginate(
            PortalIdentifier=first, PaginationConfig={"PageSize": 10}
        )
    )
    assert [len(page["ProcurementPortalSuppliers"]) for page in pages] == [10, 10, 5]
    assert len(client.list_procurement_portals(MaxResults=1)["ProcurementPortals"]) == 1
    error = refused(client.list_procurement_portal_suppliers, PortalIdentifier="nope")
    assert error["Code"] == "ResourceNotFoundException"
    assert error["Message"].startswith("No procurement portal has the identifier 'nope'; portals: ")
