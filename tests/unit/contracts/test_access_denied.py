"""Access denied is "cannot be exercised here": an operation the target denies the suite's identity (an IAM gap,
a preview API not enabled) is untested with the target's reason, never held and never a suite error; and a
denied operation does not take the others down with it (fixtures only for the operations that need them)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from contracts.packs.contract import load
from contracts.suite.exchanges import fixture_kinds


class _Suite:
    contract = load()


def test_fixtures_only_for_the_kinds_an_operation_can_aim_at():
    kinds = {op: fixture_kinds(_Suite, op) for op in ("GetInvoiceUnit", "ListInvoiceUnits", "TagResource",
                                                      "GetProcurementPortalPreference", "ListInvoiceSummaries")}
    assert kinds == {"GetInvoiceUnit": ("InvoiceUnit",), "ListInvoiceUnits": ("InvoiceUnit",),
                     "TagResource": ("InvoiceUnit", "ProcurementPortalPreference"),
                     "GetProcurementPortalPreference": ("ProcurementPortalPreference",), "ListInvoiceSummaries": ()}


def test_a_denied_preview_api_is_untested_with_its_reason_and_the_rest_holds(tmp_path):
    ops = "GetInvoiceUnit,GetProcurementPortalPreference,CreateProcurementPortalPreference"
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--pyargs", "contracts.suite", "-q", "-p", "no:cacheprovider",
         "--profile", "dev", "--seed", "1", "--operations", ops, "--example-db", "none",
         "--mock-backend", "invoicing_mock.plausible:PreviewAccessDenied", "--report-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=600, cwd=tmp_path,
        env={**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"})
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["summary"]["violations"] == 0 and results["summary"]["errors"] == 0
    assert {"CreateProcurementPortalPreference", "GetProcurementPortalPreference"} <= set(
        results["meta"]["access_denied"])
    assert not any("InvoiceUnit" in op for op in results["meta"]["access_denied"])
    for op in ("GetProcurementPortalPreference", "CreateProcurementPortalPreference"):
        cells = results["operations"][op]["properties"]
        assert {"valid-requests", "invalid-requests"} <= set(cells), sorted(cells)
        for prop, cell in cells.items():
            assert cell["verdict"] == "untested" and cell["excused"], (op, prop, cell)
            assert any("AccessDeniedException" in reason for reason in cell["skipped"]), (op, prop, cell)
    # The invoice unit's requests aim at their own fixture only: the refused preference fixture errs nothing.
    unit = results["operations"]["GetInvoiceUnit"]["properties"]
    assert unit["valid-requests"]["verdict"] == "held" and unit["output-schema"]["verdict"] == "held"
