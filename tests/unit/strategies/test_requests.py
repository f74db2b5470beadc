"""For every operation of the installed Invoicing model: valid draws pass every oracle, invalid draws break
exactly their labelled constraint, at the labelled layer (checked with a real boto3 client)."""

import json
import re

import boto3
import botocore.serialize
import jsonschema
import pytest
from botocore.exceptions import ParamValidationError
from botocore.validate import validate_parameters
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contracts import json_schema, validate_request
from strategies import (
    Hints, UnknownName, ambiguous_requests, invalid_requests, requests, violation_sites,
)
from strategies._model import operation_model, service_model
from strategies._regex import compiled
from strategies._violations import CONSTRAINTS

FAST = settings(max_examples=20, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
SWEEP = settings(max_examples=2, deadline=None, database=None,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
OPERATIONS = service_model().operation_names
SERIALIZER = botocore.serialize.create_serializer("json")


def test_the_pinned_model_has_21_operations():
    assert len(OPERATIONS) == 21


def to_wire(operation, params):
    """The JSON body botocore itself would send (AWS JSON 1.0)."""
    body = SERIALIZER.serialize_to_request(params, operation_model(operation))["body"]
    return json.loads(body or b"{}")


class Sent(Exception):
    """Raised in before-send: the request got past botocore's own validation and serialisation."""


@pytest.fixture(scope="module")
def client():
    client = boto3.client(
        "invoicing", region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing"
    )

    def refuse_network(request, **kwargs):
        raise Sent()

    client.meta.events.register("before-send", refuse_network)
    return client


def client_refuses(client, operation, params) -> bool:
    method = getattr(client, botocore.xform_name(operation))
    try:
        method(**params)
    except ParamValidationError:
        return True
    except Sent:
        return False
    raise AssertionError("the call neither failed validation nor reached before-send")


@pytest.mark.parametrize("operation", OPERATIONS)
@FAST
@given(data=st.data())
def test_valid_draws_pass_botocore_the_local_validator_and_the_json_schema(operation, data):
    params = data.draw(requests(operation))
    validate_parameters(params, operation_model(operation).input_shape)
    assert validate_request(operation, params) == []
    wire = to_wire(operation, params)
    assert validate_request(operation, wire, wire=True) == []
    errors = [e.message[:200] for e in jsonschema.Draft7Validator(json_schema(operation, "input")).iter_errors(wire)]
    assert errors == []


def check_invalid(client, operation, bad):
    violation = bad.violation
    assert violation.constraint in CONSTRAINTS and violation.layer in ("client", "server")
    assert set(violation.implied) <= {"pattern", "enum"}
    assert not violation.implied or violation.constraint in ("min", "max")
    expected = {(violation.path, violation.constraint)} | {(violation.path, c) for c in violation.implied}
    found = {(p.path, p.constraint) for p in validate_request(operation, bad.params)}
    assert found == expected, violation.description
    assert client_refuses(client, operation, bad.params) == (violation.layer == "client"), violation.description
    if violation.layer == "server":  # the emulator's view (wire form) and the schema agree
        wire = to_wire(operation, bad.params)
        assert {(p.path, p.constraint) for p in validate_request(operation, wire, wire=True)} == expected
        assert not jsonschema.Draft7Validator(json_schema(operation, "input")).is_valid(wire)
    if violation.constraint == "pattern":  # fails under both readings
        shape = _shape_at(operation, violation.path)
        value = _value_at(bad.params, violation.path)
        assert compiled(shape.metadata["pattern"], shape.name).search(value) is None


@pytest.mark.parametrize("operation", OPERATIONS)
def test_every_violation_site_breaks_exactly_its_label_at_its_layer(client, operation):
    # A sweep: each site gets its own small run, so every (member, constraint) is exercised, not a random few.
    for site in violation_sites(operation):

        @SWEEP
        @given(bad=invalid_requests(operation, site))
        def breaks_its_label(bad):
            assert bad.violation.constraint == site.constraint
            check_invalid(client, operation, bad)

        breaks_its_label()


@pytest.mark.parametrize("operation", ["CreateInvoiceUnit", "ListInvoiceSummaries", "PutProcurementPortalPreference"])
@FAST
@given(data=st.data())
def test_random_invalid_requests_break_exactly_their_label(client, operation, data):
    check_invalid(client, operation, data.draw(requests(operation, valid=False)))


@pytest.mark.parametrize("operation", ["CreateInvoiceUnit", "ListInvoiceUnits", "TagResource"])
@FAST
@given(data=st.data())
def test_ambiguous_values_are_those_the_readings_disagree_on(client, operation, data):
    sample = data.draw(ambiguous_requests(operation))
    shape = _shape_at(operation, sample.path)
    value = _value_at(sample.params, sample.path)
    java = compiled(shape.metadata["pattern"], shape.name)
    ecma = compiled(shape.metadata["pattern"], shape.name, "ecma")
    readings = [bool(java.search(value)), bool(ecma.search(value)), bool(java.fullmatch(value)),
                bool(ecma.fullmatch(value))]
    assert any(readings) and not all(readings)  # unanchored vs whole value, or Java vs ECMAScript
    expected = [] if java.fullmatch(value) else [(sample.path, "pattern")]  # the validator reads Java, whole
    assert [(p.path, p.constraint) for p in validate_request(operation, sample.params)] == expected
    assert not client_refuses(client, operation, sample.params)  # only the service can have an opinion


def test_invalid_labels_cover_all_constraint_kinds_and_both_layers():
    sites = [s for op in OPERATIONS for s in violation_sites(op)]
    assert {s.constraint for s in sites} == set(CONSTRAINTS)
    layers = {(s.constraint, s.layer) for s in sites}
    assert {("required", "client"), ("type", "client"), ("min", "client"), ("unknown", "client"),
            ("max", "server"), ("pattern", "server"), ("enum", "server")} == layers


def test_min_on_a_pattern_that_cannot_be_short_implies_the_pattern():
    # an empty InvoiceUnitArn is below min=1 and can never match `arn:aws...`: both break, and the label says so
    site = next(s for s in violation_sites("GetInvoiceUnit") if s.constraint == "min")
    assert site.template == "InvoiceUnitArn" and site.implied == ("pattern",)
    name_min = next(s for s in violation_sites("CreateInvoiceUnit") if (s.template, s.constraint) == ("Name", "min"))
    assert name_min.implied == ()  # "" fully matches InvoiceUnitName's pattern: min breaks alone


# ---- hints ---------------------------------------------------------------------------------------------------

ACCOUNTS = ("111111111111", "222222222222", "333333333333")
UNIT_ARN = "arn:aws:invoicing::111111111111:invoice-unit/abcd1234"
PREF_ARN = "arn:aws:invoicing::111111111111:procurement-portal-preference/p-1"


@FAST
@given(params=requests("CreateInvoiceUnit", hints=Hints(accounts=ACCOUNTS)))
def test_account_members_are_drawn_from_the_hinted_accounts(params):
    assert params["InvoiceReceiver"] in ACCOUNTS
    for key in ("LinkedAccounts", "BillSourceAccounts"):
        items = params["Rule"].get(key, [])
        assert set(items) <= set(ACCOUNTS) and len(items) == len(set(items))


@FAST
@given(data=st.data())
def test_arn_members_use_the_known_arns_that_fit_their_pattern(data):
    hints = Hints(arns=(UNIT_ARN, PREF_ARN))
    assert data.draw(requests("GetInvoiceUnit", hints=hints))["InvoiceUnitArn"] == UNIT_ARN
    assert data.draw(requests("SendProcurementPortalValidation", hints=hints))["ProcurementPortalPreferenceArn"] == PREF_ARN
    assert data.draw(requests("ListTagsForResource", hints=hints))["ResourceArn"] in (UNIT_ARN, PREF_ARN)


NOT_AN_INVOICING_ARN = "arn:aws:s3:::my-bucket"  # no 12-digit account: fits no Invoicing ARN pattern


@FAST
@given(params=requests("GetInvoiceUnit", hints=Hints(arns=(NOT_AN_INVOICING_ARN,))))
def test_without_a_fitting_arn_the_model_draws_valid_random_ones(params):
    assert params["InvoiceUnitArn"] != NOT_AN_INVOICING_ARN
    assert validate_request("GetInvoiceUnit", params) == []


def test_a_hint_the_model_refuses_is_an_error_naming_it():
    with pytest.raises(ValueError, match="12345"):
        requests("CreateInvoiceUnit", hints=Hints(accounts=("12345",))).example()
    with pytest.raises(ValueError, match="PortalIdentifier"):
        requests("ListProcurementPortalSuppliers", hints=Hints(members={"PortalIdentifier": [""]})).example()


@FAST
@given(params=requests("ListProcurementPortalSuppliers", hints=Hints(members={"PortalIdentifier": ["coupa-1"]})))
def test_member_hints_supply_values_by_member_name(params):
    assert params["PortalIdentifier"] == "coupa-1"


# ---- bad input -----------------------------------------------------------------------------------------------


def test_an_unknown_operation_lists_the_operations_that_exist():
    with pytest.raises(UnknownName) as raised:
        requests("CreateInvoice")
    assert "'CreateInvoice'" in str(raised.value) and "CreateInvoiceUnit" in str(raised.value)
    assert all(op in str(raised.value) for op in OPERATIONS)


def test_an_unknown_service_lists_services():
    with pytest.raises(UnknownName) as raised:
        requests("CreateInvoiceUnit", service="invoicingg")
    assert "'invoicingg'" in str(raised.value) and "services include" in str(raised.value)


# ---- helpers -------------------------------------------------------------------------------------------------

_STEP = re.compile(r"\.?([A-Za-z0-9_]+)|\[(\d+)\]")


def _steps(path):
    return [(name, int(index) if index else None) for name, index in _STEP.findall(path)]


def _value_at(params, path):
    node = params
    for name, index in _steps(path):
        node = node[name] if name else node[index]
    return node


def _shape_at(operation, path):
    shape = operation_model(operation).input_shape
    for name, _ in _steps(path):
        shape = shape.members[name] if name else shape.member
    return shape
