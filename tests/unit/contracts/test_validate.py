"""The local validator: every constraint the model states, in the Python form and the JSON wire form."""

import datetime as dt

import pytest

from contracts import Problem, validate_request
from strategies import UnknownName

GOOD_UNIT = {"Name": "Team A", "InvoiceReceiver": "123456789012", "Rule": {"LinkedAccounts": ["123456789012"]}}


def problems(operation, params, **kw):
    return sorted((p.path, p.constraint) for p in validate_request(operation, params, **kw))


@pytest.mark.parametrize("operation, params, expected", [
    ("CreateInvoiceUnit", GOOD_UNIT, []),
    ("CreateInvoiceUnit", {**GOOD_UNIT, "Name": "x" * 51}, [("Name", "max")]),
    ("CreateInvoiceUnit", {**GOOD_UNIT, "Name": "x" * 50}, []),
    ("CreateInvoiceUnit", {**GOOD_UNIT, "Name": ""}, [("Name", "min")]),
    ("CreateInvoiceUnit", {**GOOD_UNIT, "Name": " lead"}, [("Name", "pattern")]),
    ("CreateInvoiceUnit", {**GOOD_UNIT, "Name": "Équipe 名前-_1"}, []),
    ("CreateInvoiceUnit", {**GOOD_UNIT, "InvoiceReceiver": "x123456789012"}, [("InvoiceReceiver", "pattern")]),
    ("CreateInvoiceUnit", {**GOOD_UNIT, "InvoiceReceiver": "١٢٣٤٥٦٧٨٩٠١٢"}, [("InvoiceReceiver", "pattern")]),
    ("CreateInvoiceUnit", {**GOOD_UNIT, "Rule": {"LinkedAccounts": ["1", "123456789012"]}},
     [("Rule.LinkedAccounts[0]", "pattern")]),
    ("CreateInvoiceUnit", {k: v for k, v in GOOD_UNIT.items() if k != "Rule"}, [("Rule", "required")]),
    ("CreateInvoiceUnit", {**GOOD_UNIT, "Colour": "red"}, [("Colour", "unknown")]),
    ("CreateInvoiceUnit", {**GOOD_UNIT, "Rule": {"Accounts": []}}, [("Rule.Accounts", "unknown")]),
    ("CreateInvoiceUnit", {**GOOD_UNIT, "TaxInheritanceDisabled": "yes"}, [("TaxInheritanceDisabled", "type")]),
    ("CreateInvoiceUnit", {**GOOD_UNIT, "Name": 5}, [("Name", "type")]),
    ("CreateInvoiceUnit", {**GOOD_UNIT, "ResourceTags": [{"Key": "k"}]}, [("ResourceTags[0].Value", "required")]),
    ("CreateInvoiceUnit", {**GOOD_UNIT, "ResourceTags": [{"Key": "", "Value": ""}]}, [("ResourceTags[0].Key", "min")]),
    ("CreateInvoiceUnit", {**GOOD_UNIT, "ResourceTags": [{"Key": "k", "Value": "v"}] * 201},
     [("ResourceTags", "max")]),
    ("CreateInvoiceUnit", {**GOOD_UNIT, "ClientToken": "has space"}, [("ClientToken", "pattern")]),
    ("CreateInvoiceUnit", {**GOOD_UNIT, "Description": "line\nbreaks are fine"}, []),
    ("ListInvoiceUnits", {"MaxResults": 0}, [("MaxResults", "min")]),
    ("ListInvoiceUnits", {"MaxResults": 501}, [("MaxResults", "max")]),
    ("ListInvoiceUnits", {"MaxResults": True}, [("MaxResults", "type")]),  # bool is not an integer
    ("ListInvoiceUnits", {"MaxResults": 2**40}, [("MaxResults", "type")]),  # not a 32-bit integer
    ("ListInvoiceUnits", {"AsOf": dt.datetime(2024, 1, 1)}, []),
    ("ListInvoiceUnits", {"AsOf": "2024-01-01T00:00:00Z"}, []),  # botocore parses ISO strings
    ("ListInvoiceUnits", {"AsOf": "not-a-timestamp"}, [("AsOf", "type")]),
    ("ListInvoiceUnits", {"NextToken": ""}, [("NextToken", "min")]),
    ("GetInvoicePDF", {"InvoiceId": "abc\r"}, [("InvoiceId", "pattern")]),  # Java's `.` stops at \r too
    ("ListInvoiceSummaries", {"Selector": {"ResourceType": "ACCOUNT", "Value": "1"}},
     [("Selector.ResourceType", "enum")]),
    ("ListInvoiceSummaries", {"Selector": {"ResourceType": "ACCOUNT_ID", "Value": "1"},
                              "Filter": {"BillingPeriod": {"Month": 13, "Year": 2004}}},
     [("Filter.BillingPeriod.Month", "max"), ("Filter.BillingPeriod.Year", "min")]),
    ("ListTagsForResource", {"ResourceArn": "arn:x"}, [("ResourceArn", "min"), ("ResourceArn", "pattern")]),
    ("CreateProcurementPortalPreference", {"ProcurementPortalName": "COUPA"}, [
        ("BuyerDomain", "required"), ("BuyerIdentifier", "required"), ("Contacts", "required"),
        ("EinvoiceDeliveryEnabled", "required"), ("PurchaseOrderRetrievalEnabled", "required"),
        ("SupplierDomain", "required"), ("SupplierIdentifier", "required")]),
    ("CreateInvoiceUnit", "not a dict", [("", "type")]),
])
def test_python_form(operation, params, expected):
    assert problems(operation, params) == expected


@pytest.mark.parametrize("params, expected", [
    ({"AsOf": 1704067200}, []),
    ({"AsOf": 1704067200.123}, []),
    ({"AsOf": "2024-01-01"}, [("AsOf", "type")]),  # the wire carries epoch seconds
    ({"MaxResults": 10, "NextToken": None}, []),  # JSON null is "absent"
    ({"MaxResults": 10.0}, [("MaxResults", "type")]),
    ({"Filters": {"Accounts": ("123456789012",)}}, [("Filters.Accounts", "type")]),  # the wire has no tuples
])
def test_wire_form(params, expected):
    assert problems("ListInvoiceUnits", params, wire=True) == expected


def test_null_required_member_on_the_wire_is_missing():
    assert problems("GetInvoiceUnit", {"InvoiceUnitArn": None}, wire=True) == [("InvoiceUnitArn", "required")]
    assert problems("GetInvoiceUnit", {"InvoiceUnitArn": None}) == [("InvoiceUnitArn", "type")]


def test_messages_say_what_and_where():
    [problem] = validate_request("CreateInvoiceUnit", {**GOOD_UNIT, "Name": "x" * 51})
    assert isinstance(problem, Problem)
    assert problem.message == "violates max=50 at Name (was 51 characters)"
    [problem] = validate_request("CreateInvoiceUnit", {**GOOD_UNIT, "Colour": 1})
    assert "Colour" in problem.message and "CreateInvoiceUnitRequest has members: Name" in problem.message


def test_sensitive_values_never_appear_in_messages():
    secret = "s3cr3t value"  # pattern \S+ fails: the message must not echo it
    params = {"ProcurementPortalPreferenceArn": "arn:aws:invoicing::123456789012:procurement-portal-preference/p",
              "EinvoiceDeliveryEnabled": True, "PurchaseOrderRetrievalEnabled": True,
              "Contacts": [{"Name": "N", "Email": "not-an-email secret"}], "ProcurementPortalSharedSecret": secret}
    found = validate_request("PutProcurementPortalPreference", params)
    assert {(p.path, p.constraint) for p in found} == {
        ("ProcurementPortalSharedSecret", "pattern"), ("Contacts[0].Email", "pattern")}
    for p in found:
        assert secret not in p.message and "not-an-email" not in p.message and "a sensitive value" in p.message


def test_unknown_names_list_what_exists():
    with pytest.raises(UnknownName, match="CreateInvoiceUnit, CreateProcurementPortalPreference, DeleteInvoiceUnit"):
        validate_request("CreateInvoice", {})
    with pytest.raises(UnknownName, match="services include"):
        validate_request("CreateInvoiceUnit", {}, service="nope")
