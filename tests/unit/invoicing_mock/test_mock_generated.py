"""Generated requests (the shared strategies) against the in-process emulator: a valid request gets a success
whose body its output schema accepts, or an error the operation declares, never an emulator failure; a request
that breaks one server-side constraint gets ValidationException fieldValidationFailed naming that field."""

from __future__ import annotations

import boto3
import pytest
from botocore import xform_name
from botocore.config import Config
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from invoicing_mock import DEFAULT_ORGANIZATION, mock_invoicing
from invoicing_mock.clock import ManualClock
from invoicing_mock.models import InvoicingBackend
from strategies import Hints, invalid_requests, operation_model, requests, service_model, violation_sites

OPERATIONS = sorted(service_model("invoicing").operation_names)
GENERATED = settings(
    max_examples=8,
    deadline=None,
    derandomize=True,
    # No shrinking: each step is a request with up to 1,000-item lists, and the drawn Violation already says
    # what was broken; a failure is reported in seconds rather than minutes.
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
)


@pytest.fixture(scope="module")
def world():
    """One emulator for the module, with a unit, a preference and known accounts to hint at."""
    backend = InvoicingBackend(clock=ManualClock())
    with mock_invoicing(backend=backend):
        def make(validate):
            return boto3.client(
                "invoicing", region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="x",
                config=Config(retries={"total_max_attempts": 1}, parameter_validation=validate),
            )

        strict, loose = make(True), make(False)
        for client in (strict, loose):
            client.meta.events.register("before-parse.invoicing", _check_schema)
        unit = strict.create_invoice_unit(Name="Seed", InvoiceReceiver="123456789012", Rule={})["InvoiceUnitArn"]
        preference = strict.create_procurement_portal_preference(
            ProcurementPortalName="COUPA", BuyerDomain="NetworkID", BuyerIdentifier="B", SupplierDomain="NetworkID",
            SupplierIdentifier="S", EinvoiceDeliveryEnabled=False, PurchaseOrderRetrievalEnabled=False,
            Contacts=[{"Name": "Ann", "Email": "ann@example.com"}],
        )["ProcurementPortalPreferenceArn"]
        hints = Hints(
            accounts=sorted(DEFAULT_ORGANIZATION.members),
            arns=[unit, preference],
            members={"PortalIdentifier": ["coupa", "sap-business-network"], "InvoiceId": ["111111111111202501"]},
        )
        yield strict, loose, hints


def _check_schema(operation_model, response_dict, **kwargs):
    from contracts import json_schema
    import jsonschema

    if response_dict["status_code"] == 200:
        import json

        jsonschema.validate(json.loads(response_dict["body"] or b"{}"), json_schema(operation_model.name, "output"))


def declared(operation: str) -> set[str]:
    return {shape.name for shape in operation_model(operation).error_shapes} - {"InternalServerException"}


@pytest.mark.parametrize("operation", OPERATIONS)
@GENERATED
@given(data=st.data())
def test_a_valid_request_succeeds_or_gets_a_declared_error(world, operation, data):
    strict, _loose, hints = world
    params = data.draw(requests(operation, hints=hints))
    try:
        getattr(strict, xform_name(operation))(**params)
    except ClientError as error:
        code = error.response["Error"]["Code"]
        assert code in declared(operation), f"{operation} answered {code}: {error.response['Error']['Message']}"
        if code == "ValidationException":
            # a valid request is refused only by a service rule, never by the model's field constraints
            assert error.response.get("reason") != "fieldValidationFailed", error.response


def server_sites(operation: str):
    """The constraints only the service checks (botocore's validator skips max, pattern and enum)."""
    return [site for site in violation_sites(operation) if site.layer == "server"]


@pytest.mark.parametrize("operation", [op for op in OPERATIONS if server_sites(op)])
@GENERATED
@given(data=st.data())
def test_a_server_side_violation_is_named_in_the_field_list(world, operation, data):
    _strict, loose, hints = world
    site = data.draw(st.sampled_from(server_sites(operation)))
    invalid = data.draw(invalid_requests(operation, site, hints=hints))
    with pytest.raises(ClientError) as raised:
        getattr(loose, xform_name(operation))(**invalid.params)
    response = raised.value.response
    assert (response["Error"]["Code"], response.get("reason")) == ("ValidationException", "fieldValidationFailed")
    assert invalid.violation.path in [field["name"] for field in response["fieldList"]], invalid.violation.description
