"""The HTTP server: `serve` through the CLI's dispatch, thread safety, and secrets kept out of logs."""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import boto3

from contracts.cli import COMMANDS

ROOT = Path(__file__).resolve().parents[3]
# Run the real CLI dispatch with only the `serve` subcommand registered (the others are other modules' work).
SERVE = (
    "import sys, contracts.cli as cli; cli.COMMANDS = {'serve': cli.COMMANDS['serve']}; "
    "sys.exit(cli.main(['serve'] + sys.argv[1:]))"
)


def run_serve(*args: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, "-c", SERVE, *args], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def test_the_cli_maps_serve_to_this_module():
    from invoicing_mock import server

    assert COMMANDS["serve"][0] == "invoicing_mock.server"
    assert callable(server.add_arguments) and callable(server.main)


def test_serve_answers_sdks_and_stops_on_interrupt():
    process = run_serve("--port", "0", "--organization", "210987654321:111122223333")
    try:
        first = process.stdout.readline()
        assert first.startswith("Invoicing emulator listening on http://127.0.0.1:"), first + process.stderr.read()
        url = first.split()[-1]
        client = boto3.client(
            "invoicing", region_name="us-east-1", endpoint_url=url,
            aws_access_key_id="210987654321", aws_secret_access_key="x",
        )
        client.create_invoice_unit(Name="A", InvoiceReceiver="111122223333", Rule={})
        assert [u["Name"] for u in client.list_invoice_units()["InvoiceUnits"]] == ["A"]
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0


def test_serve_on_a_busy_port_is_a_usage_error():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        process = run_serve("--port", str(port))
        assert process.wait(timeout=20) == 2
        err = process.stderr.read()
    assert err.count("\n") == 1
    assert err.startswith(f"invoicing-contracts serve: cannot listen on 127.0.0.1:{port} (")
    assert "choose another --port, or 0" in err


def test_a_bad_organization_is_a_usage_error():
    process = run_serve("--organization", "123:456")
    assert process.wait(timeout=20) == 2
    assert "12-digit" in process.stderr.read()


def test_concurrent_clients_share_one_consistent_state(http):
    target = http
    errors = []

    def create_many(worker: int):
        client = target.client()
        try:
            for i in range(10):
                client.create_invoice_unit(Name=f"W{worker}-{i}", InvoiceReceiver="123456789012", Rule={})
        except Exception as error:  # noqa: BLE001 - collected for the assertion
            errors.append(error)

    threads = [threading.Thread(target=create_many, args=(w,)) for w in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    listed = target.client().get_paginator("list_invoice_units").paginate().build_full_result()["InvoiceUnits"]
    assert len(listed) == 60 and len({u["InvoiceUnitArn"] for u in listed}) == 60


def test_secrets_stay_out_of_errors_and_logs(target, refused, caplog):
    caplog.set_level(logging.DEBUG, logger="invoicing_mock")
    secret = "top secret"  # a space breaks the \S+ pattern: a validation error about the secret itself
    client = target.client(validate=False)
    error = refused(
        client.create_procurement_portal_preference,
        ProcurementPortalName="COUPA", BuyerDomain="NetworkID", BuyerIdentifier="B", SupplierDomain="NetworkID",
        SupplierIdentifier="S", EinvoiceDeliveryEnabled=True, PurchaseOrderRetrievalEnabled=False,
        ProcurementPortalSharedSecret=secret,
        Contacts=[{"Name": "Ann", "Email": "not-an-email"}],
    )
    assert error["reason"] == "fieldValidationFailed"
    assert {f["name"] for f in error["fieldList"]} == {"ProcurementPortalSharedSecret", "Contacts[0].Email"}
    assert secret not in repr(error) and "not-an-email" not in repr(error)
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("invoicing_mock"))
    assert ours  # the emulator did log the request
    assert secret not in ours and "not-an-email" not in ours


def test_a_validator_message_that_shows_a_secret_is_redacted(inprocess, refused):
    from contracts import Problem

    def leaky(operation, params):
        value = params.get("ProcurementPortalSharedSecret", "")
        return [Problem("ProcurementPortalSharedSecret", "max", f"too long: {value}")] if value else []

    inprocess.backend.validator = leaky
    error = refused(
        inprocess.client().create_procurement_portal_preference,
        ProcurementPortalName="COUPA", BuyerDomain="NetworkID", BuyerIdentifier="B", SupplierDomain="NetworkID",
        SupplierIdentifier="S", EinvoiceDeliveryEnabled=False, PurchaseOrderRetrievalEnabled=False,
        ProcurementPortalSharedSecret="hunter2", Contacts=[{"Name": "Ann", "Email": "ann@example.com"}],
    )
    assert error["fieldList"] == [
        {"name": "ProcurementPortalSharedSecret", "message": "failed the max constraint (the value is sensitive and not shown)"}
    ]
    assert "hunter2" not in error["Message"]
