"""Shared pieces of the real-account tests: the emulator's HTTP server standing in for an AWS account, a request
log on it, valid requests, and the options of `run --target aws`."""

from __future__ import annotations

import json
import threading
import uuid
from pathlib import Path

import boto3
import pytest

from contracts.guard import optin
from contracts.options import RunOptions
from invoicing_mock.faults import Faults
from invoicing_mock.models import InvoicingBackend
from invoicing_mock.organization import DEFAULT_ORGANIZATION

PAYER = DEFAULT_ORGANIZATION.payer  # the emulator's default caller with test credentials
MEMBERS = sorted(DEFAULT_ORGANIZATION.members - {PAYER})
SECRET = "s3cr3t-Shared-Portal-Value-9f2c"


class RequestLog(Faults):
    """Records every request that reaches the emulator's backend (operation, account, parameters)."""

    def __init__(self):
        self.calls: list[tuple[str, str, dict]] = []
        self._lock = threading.Lock()

    def before(self, call, backend):
        with self._lock:
            self.calls.append((call.operation, call.account, dict(call.params)))

    def operations(self) -> list[str]:
        with self._lock:
            return [op for op, _a, _p in self.calls]

    def writes(self) -> list[str]:
        return [op for op in self.operations() if not op.startswith(("Get", "List", "BatchGet"))]


@pytest.fixture(autouse=True)
def aws_test_environment(monkeypatch):
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SECURITY_TOKEN": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL_INVOICING", optin.OPT_IN_ENV, optin.ALLOWLIST_ENV):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def emulator():
    """The emulator's HTTP server with a request log: (url, backend, log)."""
    from invoicing_mock import server

    log = RequestLog()
    backend = InvoicingBackend(faults=log)
    served = server.start(backend=backend)
    try:
        yield served.url, backend, log
    finally:
        served.stop()


def raw_client(url: str):
    return boto3.session.Session().client("invoicing", region_name="us-east-1", endpoint_url=url)


def accounts_file(tmp_path: Path) -> str:
    path = tmp_path / "accounts.json"
    path.write_text(json.dumps({"receivers": MEMBERS[:2], "linked_accounts": MEMBERS[2:]}))
    return str(path)


def run_options(tmp_path: Path, *, url: str | None = None, opt_in: bool = True, allowed: str | None = PAYER,
                **changes) -> RunOptions:
    """`run --target aws` against `url`, opted in (flag only: the environment is the test's), the emulator's
    payer allowlisted, rule accounts from a file, ledgers under tmp_path; `changes` override any field."""
    options = RunOptions(target="aws", endpoint_url=url, ledger_dir=str(tmp_path / "ledgers"),
                         accounts_file=accounts_file(tmp_path), max_rate=1000.0, allow_real_account=opt_in,
                         allowed_account=(allowed,) if allowed else ())
    return options.replace(**changes)


def unit_params(name: str, receiver: str = MEMBERS[0], linked: list[str] | None = None, **extra) -> dict:
    return {"Name": name, "InvoiceReceiver": receiver, "Rule": {"LinkedAccounts": linked or []}, **extra}


def preference_params(**extra) -> dict:
    return {
        "ProcurementPortalName": "COUPA",
        "BuyerDomain": "NetworkID",
        "BuyerIdentifier": f"buyer-{uuid.uuid4().hex[:12]}",
        "SupplierDomain": "NetworkID",
        "SupplierIdentifier": "supplier-1",
        "EinvoiceDeliveryEnabled": False,
        "PurchaseOrderRetrievalEnabled": False,
        "Contacts": [{"Name": "Billing", "Email": "billing@example.com"}],
        **extra,
    }


def snapshot(client) -> dict:
    """Everything the caller's account holds, as Get/List/ListTags return it (to prove nothing else changed)."""
    state = {}
    for unit in client.list_invoice_units().get("InvoiceUnits", []):
        arn = unit["InvoiceUnitArn"]
        state[arn] = (client.get_invoice_unit(InvoiceUnitArn=arn), client.list_tags_for_resource(ResourceArn=arn))
    for pref in client.list_procurement_portal_preferences().get("ProcurementPortalPreferences", []):
        arn = pref["ProcurementPortalPreferenceArn"]
        state[arn] = (client.get_procurement_portal_preference(ProcurementPortalPreferenceArn=arn),
                      client.list_tags_for_resource(ResourceArn=arn))
    for value in state.values():
        for part in value:
            part.pop("ResponseMetadata", None)
    return state
