"""The AsOf read test reads every AsOf off the service's own LastModified, so a local clock ahead of the service
(or a service keeping whole seconds) cannot make it fail a correct service."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

BEHIND = '''
from invoicing_mock.clock import OffsetClock, SystemClock
from invoicing_mock.models import InvoicingBackend


def Behind(**options):
    """The emulator as itself, its clock {seconds} s behind this machine's (the local clock is ahead)."""
    return InvoicingBackend(clock=OffsetClock(SystemClock(), -{seconds}), **options)
'''


@pytest.mark.parametrize("backend", ["skewed:Behind", "invoicing_mock.plausible:WholeSecondTimestamps"])
def test_as_of_holds_with_the_local_clock_ahead_and_with_whole_seconds(tmp_path, backend):
    (tmp_path / "skewed.py").write_text(BEHIND.format(seconds=5.0))
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--pyargs", "contracts.suite", "-q", "-p", "no:cacheprovider",
         "-k", "as_of", "--example-db", "none", "--mock-backend", backend, "--report-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(tmp_path), "AWS_ACCESS_KEY_ID": "testing",
             "AWS_SECRET_ACCESS_KEY": "testing"})
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    results = json.loads((tmp_path / "results.json").read_text())
    cell = results["operations"]["ListInvoiceUnits"]["properties"]["state-matches-reads"]
    # Three reads of the past: before the create, between the two versions, and after the delete.
    assert cell["verdict"] == "held" and cell["checks"]["as_of_reads_the_past"]["runs"] == 3, cell
