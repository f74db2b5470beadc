"""Fixtures: real boto3 clients against the emulator, in-process and over HTTP, whose every response is checked
against the model's JSON Schemas (success bodies against the operation's output schema, error bodies against
the error shape's schema)."""

from __future__ import annotations

import functools
import json

import boto3
import jsonschema
import pytest
from botocore.config import Config

from contracts import json_schema
from contracts.validation.schemas import shape_schema
from invoicing_mock import mock_invoicing
from invoicing_mock.clock import ManualClock
from invoicing_mock.models import InvoicingBackend
from invoicing_mock.server import start
from strategies import service_model

NO_RETRIES = Config(retries={"total_max_attempts": 1})
UNVALIDATED = Config(retries={"total_max_attempts": 1}, parameter_validation=False)


@pytest.fixture(autouse=True)
def credentials(monkeypatch):
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_INVOICING", "MOTO_ACCOUNT_ID"):
        monkeypatch.delenv(name, raising=False)


@functools.lru_cache(maxsize=None)
def output_validator(operation: str) -> jsonschema.Draft7Validator:
    return jsonschema.Draft7Validator(json_schema(operation, "output"))


@functools.lru_cache(maxsize=None)
def error_validator(code: str) -> jsonschema.Draft7Validator:
    return jsonschema.Draft7Validator(shape_schema(service_model("invoicing").shape_for(code)))


#: Operations whose successful responses passed their output schema in this test session.
SCHEMA_CHECKED: set[str] = set()


def check_wire_response(operation: str, status: int, body: bytes) -> None:
    """Success: the body validates against the output schema. Error: against its error shape's schema."""
    payload = json.loads(body) if body else {}
    if status == 200:
        errors = list(output_validator(operation).iter_errors(payload))
        if not errors:
            SCHEMA_CHECKED.add(operation)
    else:
        code = payload.pop("__type").split("#")[-1]
        if code in {shape.name for shape in service_model("invoicing").error_shapes}:
            errors = list(error_validator(code).iter_errors(payload))
        else:
            errors = []
    assert not errors, f"{operation} answered {status} with a body its schema refuses: {errors[0].message}"


def _schema_hook(operation_model, response_dict, **kwargs):
    check_wire_response(operation_model.name, response_dict["status_code"], response_dict["body"])


@pytest.fixture
def schema_checked():
    """The set of operations whose responses passed their output schema, emptied for the test."""
    SCHEMA_CHECKED.clear()
    return SCHEMA_CHECKED


def make_client(endpoint_url: str | None = None, *, validate: bool = True, access_key: str = "testing"):
    client = boto3.client(
        "invoicing",
        region_name="us-east-1",
        endpoint_url=endpoint_url,
        aws_access_key_id=access_key,
        aws_secret_access_key="testing",
        config=NO_RETRIES if validate else UNVALIDATED,
    )
    client.meta.events.register("before-parse.invoicing", _schema_hook)
    return client


class Target:
    """One way of reaching an emulator: its backend, its clock, and a factory for boto3 clients."""

    def __init__(self, kind: str, backend: InvoicingBackend, url: str | None):
        self.kind, self.backend, self.url = kind, backend, url
        self.clock = backend.clock

    def client(self, *, validate: bool = True, account: str | None = None):
        return make_client(self.url, validate=validate, access_key=account or "testing")


def new_backend(**options) -> InvoicingBackend:
    options.setdefault("clock", ManualClock())
    return InvoicingBackend(**options)


@pytest.fixture
def backend_options():
    """Override in a test module to configure the backend (organizations, limits, ...)."""
    return {}


@pytest.fixture(params=["in-process", "http"])
def target(request, backend_options):
    backend = new_backend(**backend_options)
    if request.param == "in-process":
        with mock_invoicing(backend=backend):
            yield Target("in-process", backend, None)
    else:
        served = start(0, backend=backend)
        try:
            yield Target("http", backend, served.url)
        finally:
            served.stop()


@pytest.fixture
def inprocess(backend_options):
    """In-process only, for tests whose subject is not the transport."""
    backend = new_backend(**backend_options)
    with mock_invoicing(backend=backend):
        yield Target("in-process", backend, None)


@pytest.fixture
def http(backend_options):
    """Over HTTP only, for tests whose subject is the server."""
    backend = new_backend(**backend_options)
    served = start(0, backend=backend)
    try:
        yield Target("http", backend, served.url)
    finally:
        served.stop()


@pytest.fixture
def client(target):
    return target.client()


def error_of(raised) -> dict:
    """The parsed error response of a botocore ClientError: Code, Message, Status and the shape's members."""
    response = raised.value.response
    members = ("reason", "fieldList", "resourceName", "resourceId", "resourceType", "retryAfterSeconds")
    return {
        "Code": response["Error"]["Code"],
        "Message": response["Error"]["Message"],
        "Status": response["ResponseMetadata"]["HTTPStatusCode"],
        **{name: response[name] for name in members if name in response},
    }


@pytest.fixture
def refused():
    """refused(call, **params) -> the error (see error_of) of a call that must fail with a ClientError."""
    from botocore.exceptions import ClientError

    def call(operation, **params) -> dict:
        with pytest.raises(ClientError) as raised:
            operation(**params)
        return error_of(raised)

    return call


def add_raw_members(client, operation: str, **members) -> None:
    """Make `client` send extra top-level members botocore cannot serialise (e.g. ones the model lacks)."""

    def inject(request, **kwargs):
        body = json.loads(request.data or b"{}")
        body.update(members)
        request.data = json.dumps(body).encode()

    client.meta.events.register(f"before-sign.invoicing.{operation}", inject)


@pytest.fixture
def raw_members():
    return add_raw_members
