"""Every operation's successful response validates against the model's output JSON Schema (wire form)."""

from __future__ import annotations

import pytest

from invoicing_mock.models import validation_code
from strategies import service_model


def test_every_operation_answers_schema_valid_output(client, target, schema_checked):
    arn = client.create_invoice_unit(
        Name="A", InvoiceReceiver="123456789012", Description="d", Rule={"LinkedAccounts": ["111111111111"]},
        ResourceTags=[{"Key": "k", "Value": "v"}],
    )["InvoiceUnitArn"]
    client.update_invoice_unit(InvoiceUnitArn=arn, TaxInheritanceDisabled=True)
    client.get_invoice_unit(InvoiceUnitArn=arn)
    client.list_invoice_units()
    client.tag_resource(ResourceArn=arn, ResourceTags=[{"Key": "a", "Value": "b"}])
    client.untag_resource(ResourceArn=arn, ResourceTagKeys=["a"])
    client.list_tags_for_resource(ResourceArn=arn)
    client.delete_invoice_unit(InvoiceUnitArn=arn)
    # COUPA: the documentation supports a Marketplace punch-out redirect for Coupa only (documented_rules).
    preference = client.create_procurement_portal_preference(
        ProcurementPortalName="COUPA", BuyerDomain="NetworkID", BuyerIdentifier="AN01",
        SupplierDomain="NetworkID", SupplierIdentifier="AN02", ProcurementPortalSharedSecret="secret",
        Selector={"InvoiceUnitArns": [], "SellerOfRecords": ["AWS-Inc"]},
        TestEnvPreference={"BuyerDomain": "NetworkID", "BuyerIdentifier": "T1", "SupplierDomain": "NetworkID", "SupplierIdentifier": "T2"},
        EinvoiceDeliveryEnabled=True,
        EinvoiceDeliveryPreference={
            "EinvoiceDeliveryDocumentTypes": ["AWS_CLOUD_INVOICE"], "EinvoiceDeliveryAttachmentTypes": ["INVOICE_PDF"],
            "Protocol": "CXML", "PurchaseOrderDataSources": [], "ConnectionTestingMethod": "TEST_ENV_REPLAY_TEST",
            "EinvoiceDeliveryActivationDate": 1767225600,
        },
        PurchaseOrderRetrievalEnabled=True, MarketplacePunchOutEnabled=True,
        MarketplacePunchOutPreference={"ApprovalRequestRedirectUrl": "https://example.com/approve"},
        Contacts=[{"Name": "Ann", "Email": "ann@example.com"}],
    )["ProcurementPortalPreferenceArn"]
    client.get_procurement_portal_preference(ProcurementPortalPreferenceArn=preference)
    client.list_procurement_portal_preferences()
    client.send_procurement_portal_validation(ProcurementPortalPreferenceArn=preference)
    client.verify_procurement_portal_validation(ProcurementPortalPreferenceArn=preference, Code=validation_code(preference, 1))
    client.update_procurement_portal_preference_status(
        ProcurementPortalPreferenceArn=preference, PurchaseOrderRetrievalPreferenceStatus="ACTIVE"
    )
    client.put_procurement_portal_preference(
        ProcurementPortalPreferenceArn=preference, EinvoiceDeliveryEnabled=False, PurchaseOrderRetrievalEnabled=False,
        Contacts=[{"Name": "Bob", "Email": "bob@example.com"}],
    )
    client.delete_procurement_portal_preference(ProcurementPortalPreferenceArn=preference)
    client.batch_get_invoice_profile(AccountIds=["111111111111"])
    client.list_invoice_summaries(Selector={"ResourceType": "ACCOUNT_ID", "Value": "111111111111"}, MaxResults=2)
    client.get_invoice_pdf(InvoiceId="111111111111202501")
    portal = client.list_procurement_portals()["ProcurementPortals"][0]["PortalIdentifier"]
    client.list_procurement_portal_suppliers(PortalIdentifier=portal)
    assert schema_checked == set(service_model("invoicing").operation_names)


def test_the_schema_check_refuses_a_body_the_model_does_not_allow(inprocess, monkeypatch):
    # The planted fault: a Get that answers a member the output shape lacks.
    backend = inprocess.backend
    original = backend.operations["ListProcurementPortals"]
    monkeypatch.setitem(
        backend.operations, "ListProcurementPortals", lambda account, params: {**original(account, params), "Extra": 1}
    )
    with pytest.raises(AssertionError, match="ListProcurementPortals answered 200 with a body its schema refuses"):
        inprocess.client().list_procurement_portals()
