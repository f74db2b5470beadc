"""The AWS JSON 1.0 wire protocol: what a malformed request gets, error bodies, status codes, request ids."""

from __future__ import annotations

import http.client
import json
from urllib.parse import urlsplit

import pytest

from invoicing_mock.exceptions import InternalServerException, ThrottlingException
from invoicing_mock.faults import Faults


def tamper(client, operation: str, *, body: bytes | None = None, headers: dict | None = None) -> None:
    """Rewrite what `client` sends for `operation`, after serialisation and before signing."""

    def rewrite(request, **kwargs):
        if body is not None:
            request.data = body
        for name, value in (headers or {}).items():
            if name in request.headers:
                del request.headers[name]
            if value is not None:
                request.headers[name] = value

    client.meta.events.register(f"before-sign.invoicing.{operation}", rewrite)


def raw_post(url: str, body: bytes, headers: dict, method: str = "POST") -> tuple[int, dict, dict]:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
    connection.request(method, "/", body=body, headers=headers)
    response = connection.getresponse()
    data = response.read()
    connection.close()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, json.loads(data) if data else {}


JSON10 = "application/x-amz-json-1.0"


@pytest.mark.parametrize(
    "body, headers, status, code",
    [
        (b"{not json", {}, 400, "SerializationException"),
        (b"[1, 2]", {}, 400, "SerializationException"),
        (b"{}", {"X-Amz-Target": "Invoicing.NoSuchOperation"}, 400, "UnknownOperationException"),
        (b"{}", {"X-Amz-Target": "DynamoDB_20120810.ListTables"}, 400, "UnknownOperationException"),
        (b"{}", {"X-Amz-Target": None}, 400, "UnknownOperationException"),
        (b"{}", {"Content-Type": "text/plain"}, 404, "UnknownOperationException"),
        (b"{}", {"Content-Type": "application/x-www-form-urlencoded"}, 404, "UnknownOperationException"),
    ],
)
def test_malformed_requests_get_the_protocol_errors(target, refused, body, headers, status, code):
    client = target.client()
    tamper(client, "ListInvoiceUnits", body=body, headers=headers)
    error = refused(client.list_invoice_units)
    assert (error["Status"], error["Code"]) == (status, code)


@pytest.mark.parametrize(
    "content_type", [JSON10, "application/json", "application/x-amz-json-1.0; charset=utf-8", "APPLICATION/JSON"]
)
def test_json_content_types_are_accepted_parameters_ignored(target, content_type):
    client = target.client()
    tamper(client, "ListInvoiceUnits", headers={"Content-Type": content_type})
    assert client.list_invoice_units()["InvoiceUnits"] == []


def test_an_empty_body_is_an_empty_request(target):
    client = target.client()
    tamper(client, "ListProcurementPortals", body=b"")
    assert len(client.list_procurement_portals()["ProcurementPortals"]) == 2


def test_a_null_member_is_absent(target):
    client = target.client()
    tamper(client, "ListInvoiceUnits", body=b'{"Filters": null, "MaxResults": null}')
    assert client.list_invoice_units()["InvoiceUnits"] == []
    creating = target.client()
    tamper(
        creating,
        "CreateInvoiceUnit",
        body=b'{"Name": "A", "InvoiceReceiver": "123456789012", "Rule": {"BillSourceAccounts": null}, "Description": null}',
    )
    arn = creating.create_invoice_unit(Name="ignored", InvoiceReceiver="123456789012", Rule={})["InvoiceUnitArn"]
    unit = client.get_invoice_unit(InvoiceUnitArn=arn)
    assert "Description" not in unit and unit["Rule"] == {}


def test_raw_error_bodies_carry_type_message_and_request_id(http):
    url = http.url
    status, headers, body = raw_post(url, b"{oops", {"Content-Type": JSON10, "X-Amz-Target": "Invoicing.ListInvoiceUnits"})
    assert status == 400
    assert body["__type"] == "com.amazon.coral.service#SerializationException"
    assert body["message"].startswith("The request body is not valid JSON: ")
    assert headers["content-type"] == JSON10 and headers["x-amzn-requestid"]

    status, headers, body = raw_post(url, b"{}", {"Content-Type": JSON10, "X-Amz-Target": "Invoicing.Nope"})
    assert (status, body) == (
        400,
        {
            "__type": "com.amazon.coral.service#UnknownOperationException",
            "message": "X-Amz-Target 'Invoicing.Nope' names no operation of the Invoicing service; "
            "expected Invoicing.<Operation>, e.g. Invoicing.ListInvoiceUnits",
        },
    )

    status, _, body = raw_post(url, b"", {}, method="GET")
    assert (status, body["__type"]) == (404, "com.amazon.coral.service#UnknownOperationException")

    status, headers, body = raw_post(
        url, b'{"InvoiceUnitArn": "nope"}', {"Content-Type": JSON10, "X-Amz-Target": "Invoicing.GetInvoiceUnit"}
    )
    assert status == 400 and headers["x-amzn-errortype"] == "ValidationException"
    assert body["__type"] == "com.amazonaws.invoicing#ValidationException"
    assert body["reason"] == "fieldValidationFailed"
    assert [field["name"] for field in body["fieldList"]] == ["InvoiceUnitArn"]


def test_every_response_has_its_own_request_id(target):
    client = target.client()
    ids = {client.list_procurement_portals()["ResponseMetadata"]["RequestId"] for _ in range(3)}
    assert len(ids) == 3


def test_server_validation_reports_every_field(target, refused):
    client = target.client(validate=False)
    error = refused(
        client.create_invoice_unit, Name=" bad name ", InvoiceReceiver="12345", Rule={"LinkedAccounts": ["x"]}
    )
    assert (error["Code"], error["Status"], error["reason"]) == ("ValidationException", 400, "fieldValidationFailed")
    assert sorted(field["name"] for field in error["fieldList"]) == ["InvoiceReceiver", "Name", "Rule.LinkedAccounts[0]"]
    assert error["Message"].startswith("3 validation errors detected: ")


class _Failing(Faults):
    def __init__(self, error):
        self.error = error

    def before(self, call, backend):
        raise self.error


@pytest.mark.parametrize(
    "error, status",
    [(ThrottlingException("Rate exceeded"), 400), (InternalServerException("Try again", retry_after_seconds=3), 500)],
)
def test_status_codes_come_from_the_model(target, refused, error, status):
    target.backend.faults = _Failing(error)
    found = refused(target.client().list_procurement_portals)
    assert (found["Code"], found["Status"], found["Message"]) == (error.code, status, error.message)
    if error.code == "InternalServerException":
        assert found["retryAfterSeconds"] == 3


def test_an_emulator_bug_is_a_500_without_a_trace(target, refused, monkeypatch, caplog):
    def broken(account, params):
        raise KeyError("internal detail")

    monkeypatch.setitem(target.backend.operations, "ListProcurementPortals", broken)
    error = refused(target.client().list_procurement_portals)
    assert (error["Code"], error["Status"]) == ("InternalServerException", 500)
    assert error["Message"].startswith("The emulator failed on request ") and error["Message"].endswith("; see its log")
    assert "internal detail" not in error["Message"] and "Traceback" not in error["Message"]
    assert "internal detail" in caplog.text  # the operator gets the trace
