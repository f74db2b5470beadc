"""Procurement portal preferences: the lifecycle, Version, statuses, the Send/Verify validation flow."""

from __future__ import annotations

import pytest

from invoicing_mock.models import Limits, validation_code

SECRET = "s3cr3t-value-never-shown"

DELIVERY = {
    "EinvoiceDeliveryDocumentTypes": ["AWS_CLOUD_INVOICE"],
    "Protocol": "CXML",
    "PurchaseOrderDataSources": [
        {"EinvoiceDeliveryDocumentType": "AWS_CLOUD_INVOICE", "PurchaseOrderDataSourceType": "PURCHASE_ORDER_NOT_REQUIRED"}
    ],
    "ConnectionTestingMethod": "PROD_ENV_DOLLAR_TEST",
    "EinvoiceDeliveryActivationDate": 1767225600,
}


def preference(buyer="BUYER-1", **overrides):
    params = {
        "ProcurementPortalName": "COUPA",
        "BuyerDomain": "NetworkID",
        "BuyerIdentifier": buyer,
        "SupplierDomain": "NetworkID",
        "SupplierIdentifier": "SUPPLIER-1",
        "ProcurementPortalSharedSecret": SECRET,
        "ProcurementPortalInstanceEndpoint": "https://buyer.example.com/cxml",
        "EinvoiceDeliveryEnabled": True,
        "EinvoiceDeliveryPreference": DELIVERY,
        "PurchaseOrderRetrievalEnabled": False,
        "Contacts": [{"Name": "Ann", "Email": "ann@example.com"}],
    }
    params.update(overrides)
    return params


def get(client, arn):
    return client.get_procurement_portal_preference(ProcurementPortalPreferenceArn=arn)["ProcurementPortalPreference"]


def test_create_starts_at_version_1_pending_verification(client, target):
    arn = client.create_procurement_portal_preference(**preference())["ProcurementPortalPreferenceArn"]
    assert arn.startswith("arn:aws:invoicing::123456789012:procurement-portal-preference/")
    view = get(client, arn)
    assert view["Version"] == 1
    assert view["EinvoiceDeliveryPreferenceStatus"] == "PENDING_VERIFICATION"
    assert "PurchaseOrderRetrievalPreferenceStatus" not in view  # the feature is off
    assert (view["AwsAccountId"], view["BuyerIdentifier"], view["Contacts"]) == (
        "123456789012", "BUYER-1", [{"Name": "Ann", "Email": "ann@example.com"}]
    )
    assert view["CreateDate"] == view["LastUpdateDate"]
    assert view["CreateDate"].timestamp() == target.clock.now()


def test_the_shared_secret_is_never_returned(client):
    arn = client.create_procurement_portal_preference(
        **preference(TestEnvPreference={
            "BuyerDomain": "NetworkID", "BuyerIdentifier": "T", "SupplierDomain": "NetworkID",
            "SupplierIdentifier": "T", "ProcurementPortalSharedSecret": SECRET + "-test",
        })
    )["ProcurementPortalPreferenceArn"]
    response = client.get_procurement_portal_preference(ProcurementPortalPreferenceArn=arn)
    assert SECRET not in repr(response)
    assert "ProcurementPortalSharedSecret" not in response["ProcurementPortalPreference"]["TestEnvPreference"]


def test_put_replaces_the_configuration_and_asks_for_validation_again(client, target):
    arn = client.create_procurement_portal_preference(**preference())["ProcurementPortalPreferenceArn"]
    target.clock.advance(60)
    client.put_procurement_portal_preference(
        ProcurementPortalPreferenceArn=arn,
        EinvoiceDeliveryEnabled=True,
        EinvoiceDeliveryPreference=DELIVERY,
        PurchaseOrderRetrievalEnabled=True,
        Contacts=[{"Name": "Bob", "Email": "bob@example.com"}],
    )
    view = get(client, arn)
    assert view["Version"] == 2
    assert view["Contacts"] == [{"Name": "Bob", "Email": "bob@example.com"}]
    assert "ProcurementPortalInstanceEndpoint" not in view  # omitted by Put: cleared
    assert view["BuyerIdentifier"] == "BUYER-1"  # identity kept
    assert view["PurchaseOrderRetrievalPreferenceStatus"] == "PENDING_VERIFICATION"
    assert view["PurchaseOrderRetrievalEndpoint"].startswith("https://po.invoicing-emulator.invalid/")
    assert view["LastUpdateDate"].timestamp() == view["CreateDate"].timestamp() + 60


def test_status_updates_take_any_model_status_and_bump_the_version(client):
    arn = client.create_procurement_portal_preference(**preference())["ProcurementPortalPreferenceArn"]
    client.update_procurement_portal_preference_status(
        ProcurementPortalPreferenceArn=arn,
        EinvoiceDeliveryPreferenceStatus="SUSPENDED",
        EinvoiceDeliveryPreferenceStatusReason="paused by finance",
    )
    view = get(client, arn)
    assert (view["Version"], view["EinvoiceDeliveryPreferenceStatus"], view["EinvoiceDeliveryPreferenceStatusReason"]) == (
        2, "SUSPENDED", "paused by finance"
    )
    summary = client.list_procurement_portal_preferences()["ProcurementPortalPreferences"][0]
    assert (summary["Version"], summary["EinvoiceDeliveryPreferenceStatus"]) == (2, "SUSPENDED")
    assert "Contacts" not in summary  # summaries carry the summary shape's members only


def test_send_then_verify_validates_the_pending_features(client, target, refused):
    arn = client.create_procurement_portal_preference(**preference())["ProcurementPortalPreferenceArn"]
    error = refused(client.verify_procurement_portal_validation, ProcurementPortalPreferenceArn=arn, Code="ABC")
    assert (error["Code"], error["reason"], error["Message"]) == (
        "ValidationException",
        "invalidInput",
        f"No validation is pending for {arn}; call SendProcurementPortalValidation first",
    )
    client.send_procurement_portal_validation(ProcurementPortalPreferenceArn=arn)
    assert get(client, arn)["Version"] == 1  # sending changes nothing
    code = target.backend.pending_validation_code("123456789012", arn)
    assert code == validation_code(arn, 1)
    error = refused(client.verify_procurement_portal_validation, ProcurementPortalPreferenceArn=arn, Code="WRONG")
    assert (error["reason"], error["fieldList"]) == ("invalidInput", [{"name": "Code", "message": "does not match the code sent"}])
    assert "WRONG" not in error["Message"] and code not in error["Message"]
    client.verify_procurement_portal_validation(ProcurementPortalPreferenceArn=arn, Code=code)
    view = get(client, arn)
    assert (view["Version"], view["EinvoiceDeliveryPreferenceStatus"]) == (2, "VALIDATED")
    # the code is spent
    assert refused(client.verify_procurement_portal_validation, ProcurementPortalPreferenceArn=arn, Code=code)["reason"] == "invalidInput"


def test_a_second_send_replaces_the_code(client, target, refused):
    arn = client.create_procurement_portal_preference(**preference())["ProcurementPortalPreferenceArn"]
    client.send_procurement_portal_validation(ProcurementPortalPreferenceArn=arn)
    client.send_procurement_portal_validation(ProcurementPortalPreferenceArn=arn)
    assert refused(
        client.verify_procurement_portal_validation, ProcurementPortalPreferenceArn=arn, Code=validation_code(arn, 1)
    )["reason"] == "invalidInput"
    client.verify_procurement_portal_validation(ProcurementPortalPreferenceArn=arn, Code=validation_code(arn, 2))


def test_the_same_portal_buyer_and_supplier_twice_is_a_conflict(client, refused):
    first = client.create_procurement_portal_preference(**preference())["ProcurementPortalPreferenceArn"]
    error = refused(client.create_procurement_portal_preference, **preference())
    assert error == {
        "Code": "ConflictException",
        "Status": 400,
        "Message": f"A procurement portal preference for this portal, buyer and supplier already exists: {first}",
        "resourceId": first,
        "resourceType": "ProcurementPortalPreference",
    }
    assert client.create_procurement_portal_preference(**preference(buyer="BUYER-2"))


def test_delete_then_everything_is_not_found(client, refused):
    arn = client.create_procurement_portal_preference(**preference())["ProcurementPortalPreferenceArn"]
    assert client.delete_procurement_portal_preference(ProcurementPortalPreferenceArn=arn)["ProcurementPortalPreferenceArn"] == arn
    for call in (
        client.get_procurement_portal_preference,
        client.delete_procurement_portal_preference,
        client.send_procurement_portal_validation,
    ):
        error = refused(call, ProcurementPortalPreferenceArn=arn)
        assert error == {
            "Code": "ResourceNotFoundException",
            "Status": 400,
            "Message": f"Procurement portal preference {arn} does not exist in account 123456789012",
            "resourceName": arn,
        }
    assert client.list_procurement_portal_preferences()["ProcurementPortalPreferences"] == []


def test_preferences_belong_to_their_account(target, refused):
    arn = target.client().create_procurement_portal_preference(**preference())["ProcurementPortalPreferenceArn"]
    other = target.client(account="111111111111")
    assert refused(other.get_procurement_portal_preference, ProcurementPortalPreferenceArn=arn)["Code"] == "ResourceNotFoundException"
    assert other.list_procurement_portal_preferences()["ProcurementPortalPreferences"] == []


def test_list_pages_in_creation_order(client):
    arns = [
        client.create_procurement_portal_preference(**preference(buyer=f"B{i}"))["ProcurementPortalPreferenceArn"]
        for i in range(5)
    ]
    pages = list(client.get_paginator("list_procurement_portal_preferences").paginate(PaginationConfig={"PageSize": 2}))
    assert [len(page["ProcurementPortalPreferences"]) for page in pages] == [2, 2, 1]
    assert [p["ProcurementPortalPreferenceArn"] for page in pages for p in page["ProcurementPortalPreferences"]] == arns


class TestQuota:
    @pytest.fixture
    def backend_options(self):
        return {"limits": Limits(preferences_per_account=2)}

    def test_an_account_has_at_most_the_quota(self, client, refused):
        for buyer in ("A", "B"):
            client.create_procurement_portal_preference(**preference(buyer=buyer))
        error = refused(client.create_procurement_portal_preference, **preference(buyer="C"))
        assert (error["Code"], error["Message"]) == (
            "ServiceQuotaExceededException",
            "Account 123456789012 already has 2 procurement portal preferences, the maximum",
        )
