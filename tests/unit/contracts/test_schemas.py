"""JSON Schemas (Draft-07, wire form) of every operation's input and output."""

import jsonschema
import pytest

from contracts import json_schema, validate_request
from strategies import UnknownName, service_model

OPERATIONS = service_model().operation_names


@pytest.mark.parametrize("operation", OPERATIONS)
@pytest.mark.parametrize("direction", ["input", "output"])
def test_every_schema_is_a_valid_draft_07_schema(operation, direction):
    schema = json_schema(operation, direction)
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"
    jsonschema.Draft7Validator.check_schema(schema)


def validator(operation, direction="input"):
    return jsonschema.Draft7Validator(json_schema(operation, direction))


GOOD_UNIT = {"Name": "Team A", "InvoiceReceiver": "123456789012", "Rule": {"LinkedAccounts": ["123456789012"]},
             "ClientToken": "t-1"}


@pytest.mark.parametrize("change, broken", [
    ({"Name": "x" * 51}, "max"),
    ({"Name": " lead"}, "pattern"),
    ({"InvoiceReceiver": "123456789012\n"}, "pattern"),  # whole-value match, no trailing newline
    ({"InvoiceReceiver": "x123456789012"}, "pattern"),
    ({"Colour": "red"}, "unknown"),
    ({"TaxInheritanceDisabled": "yes"}, "type"),
    ({"Rule": {"LinkedAccounts": ["1"]}}, "pattern"),
])
def test_schema_and_local_validator_refuse_the_same_wire_values(change, broken):
    wire = {**GOOD_UNIT, **change}
    assert validator("CreateInvoiceUnit").is_valid(GOOD_UNIT)
    assert not validator("CreateInvoiceUnit").is_valid(wire)
    assert broken in {p.constraint for p in validate_request("CreateInvoiceUnit", wire, wire=True)}


def test_missing_required_and_wire_types():
    assert not validator("CreateInvoiceUnit").is_valid({"Name": "a"})
    assert validator("ListInvoiceUnits").is_valid({"AsOf": 1704067200.5, "MaxResults": 5})
    assert not validator("ListInvoiceUnits").is_valid({"AsOf": "2024-01-01"})  # timestamps are epoch seconds
    assert not validator("ListInvoiceUnits").is_valid({"MaxResults": 2**31})


def test_output_schema_describes_responses():
    schema = json_schema("GetProcurementPortalPreference", "output")
    pref = schema["definitions"]["ProcurementPortalPreference"]
    assert "AwsAccountId" in pref["required"] and pref["properties"]["CreateDate"]["type"] == "number"
    assert validator("CreateInvoiceUnit", "output").is_valid(
        {"InvoiceUnitArn": "arn:aws:invoicing::123456789012:invoice-unit/abc"})
    assert not validator("CreateInvoiceUnit", "output").is_valid({"InvoiceUnitArn": "nope"})


def test_bad_arguments_are_clear_errors():
    with pytest.raises(ValueError, match="'input' or 'output'"):
        json_schema("CreateInvoiceUnit", "request")
    with pytest.raises(UnknownName, match="CreateInvoiceUnit"):
        json_schema("CreateInvoice", "input")
