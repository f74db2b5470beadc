"""The suite reaches the dimensions of state the rare-path variants (invoicing_mock/rare_paths.py) hide in:
filtered lists paged one unit at a time, names that differ only in letter case, an account a unit only links,
an AsOf read after a delete, every account of a batch read, a member reading another member's invoices, the
longest enum value and a name at its maximum length read back, a resource at its tag quota. Each suite test
passes against the emulator and fails against the variant planted on its path (one pytest child per target, the
suite's own tests selected by -k)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

CASES = {  # variant -> (the suite's tests, the failing test's name)
    "LaterPagesIgnoreFilters": ("test_reads and filters", "test_list_filters_are_and_across_types"),
    "NamesFilterIgnoresCase": ("test_reads and filters", "test_list_filters_are_and_across_types"),
    "AccountsFilterMatchesReceiverOnly": ("test_reads and filters", "test_list_filters_are_and_across_types"),
    "AsOfAfterDeleteNotFound": ("test_reads and as_of", "test_as_of_reads_the_past"),
    "BatchProfileDropsLast": ("test_reads and batch_profile", "test_batch_profile_answers_every_account"),
    "MemberSeesOtherMembersInvoices": ("test_reads and member_reads", "test_member_reads_only_its_own_invoices"),
    "LongestStatusTruncated": ("test_coverage_edges and UpdateProcurementPortalPreferenceStatus", "test_coverage_edges"),
    "TagQuotaOffByOne": ("test_coverage_edges and TagResource", "test_coverage_edges"),
    "NameAtMaxLengthTruncated": ("test_coverage_edges and CreateInvoiceUnit", "test_coverage_edges"),
}


def suite(tmp_path, selection: str, backend: str | None = None) -> subprocess.CompletedProcess:
    argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--pyargs", "contracts.suite",
            "-k", selection, "--report-dir", str(tmp_path / "reports")]
    if backend:
        argv += ["--mock-backend", f"invoicing_mock.rare_paths:{backend}"]
    return subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=300)


def test_the_emulator_passes_every_dimension(tmp_path):
    selection = " or ".join(f"({s})" for s in dict.fromkeys(s for s, _ in CASES.values()))
    run = suite(tmp_path, selection)
    assert run.returncode == 0, run.stdout[-3000:]
    assert " passed" in run.stdout and "skipped" not in run.stdout, run.stdout[-500:]


@pytest.mark.parametrize("variant", sorted(CASES))
def test_each_variant_fails_the_suite_test_on_its_path(tmp_path, variant):
    selection, failing = CASES[variant]
    run = suite(tmp_path, selection, variant)
    assert run.returncode == 1, run.stdout[-3000:]
    assert f"::{failing}" in run.stdout, run.stdout[-3000:]


def test_a_valid_request_a_read_test_needs_refused_is_a_violation_not_a_suite_error(tmp_path):
    """The largest page the pagination test reads first, refused by a target: the target is at fault
    (valid-requests), the test is not (no suite error)."""
    run = suite(tmp_path, "test_pagination_shows_each_item_once and ListInvoiceUnits", "MaxResultsAtMaximumRefused")
    results = json.loads((tmp_path / "reports" / "results.json").read_text())
    assert run.returncode == 1 and results["summary"]["violations"] == 1, run.stdout[-3000:]
    assert results["summary"]["errors"] == 0, run.stdout[-3000:]
    [failure] = results["operations"]["ListInvoiceUnits"]["properties"]["valid-requests"]["failures"]
    assert failure["check"] == "valid_request_handled" and "test_pagination_shows_each_item_once" in failure["test"]
