"""The baseline round trip through real runs over HTTP (`invoicing-contracts serve`, started in this process):
record against the emulator; gating the emulator against it passes, with another seed, and records the same
bytes; gating a variant that behaves differently fails and names exactly the behaviours that differ; `parity` of
the two baselines lists the same differences.

VARIANTS is the table of differently behaving emulators: a new one (e.g. a plausible-behaviour variant) is a row,
with the behaviours gating it must name. Dev profile, two token-bearing operations and one list; about 15 s a run.
"""

from __future__ import annotations

import contextlib
import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest

from contracts import cli
from contracts.reporting import baseline
from invoicing_mock import mutants, server
from invoicing_mock.models import InvoicingBackend

OPERATIONS = "CreateInvoiceUnit,CreateProcurementPortalPreference,ListProcurementPortals"
PPP = "CreateProcurementPortalPreference"


@dataclass(frozen=True)
class Variant:
    id: str
    backend: Callable[[], InvoicingBackend]
    differs: frozenset[tuple[str, str, str]]  # (operation, property, behaviour) the gate must name, and no other
    suite_passes: bool  # True: only the baseline tells it apart from the emulator


VARIANTS = [
    Variant("conflict-answered-with-validation", mutants.ConflictAnsweredWithValidation, frozenset({
        (PPP, "conflict-rejection", "conflicting payload (same token)"),
        (PPP, "conflict-rejection", "conflicting payload (same token): the error's reason"),
    # Served over HTTP it is another service, not the embedded emulator: another declared client error for a
    # conflict is a divergence of an assumed expectation (docs/bases.md), so only the baseline tells it apart.
    }), suite_passes=True),
    Variant("8-hour-token-window", lambda: InvoicingBackend(idempotency_window=8 * 3600), frozenset({
        ("CreateInvoiceUnit", "expiry", "the token window"),
        (PPP, "expiry", "the token window"),
    }), suite_passes=True),
]


def invoicing_contracts(*args: str) -> tuple[int, str, str]:
    """The CLI in this process: (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(list(args))
    print(f"\n$ invoicing-contracts {' '.join(args)}\n  exit {code}")
    return code, out.getvalue(), err.getvalue()


def run_against(backend: InvoicingBackend, seed: int, report_dir: Path, *baseline_flags: str) -> tuple[int, str]:
    served = server.start(0, backend=backend)
    try:
        code, out, err = invoicing_contracts(
            "run", "--target", "endpoint", "--endpoint-url", served.url, "--profile", "dev", "--seed", str(seed),
            "--operations", OPERATIONS, "--example-db", "none", "--quiet", "--report-dir", str(report_dir),
            *baseline_flags)
    finally:
        served.stop()
    return code, out + err


def named(lines: str, prefix: str) -> set[tuple[str, str, str]]:
    """(operation, property, behaviour) of each `prefix` line: "  changed: Op / prop / behaviour: ..."."""
    found = set()
    for line in lines.splitlines():
        if line.startswith(prefix):
            op, prop, rest = line[len(prefix):].split(" / ", 2)
            found.add((op, prop, re.split(r": (?:baseline|\S+\.json): ", rest)[0]))
    return found


@pytest.fixture(scope="module")
def recorded(tmp_path_factory) -> Path:
    """The baseline of the emulator, served over HTTP (seed 1)."""
    where = tmp_path_factory.mktemp("baseline")
    code, out = run_against(InvoicingBackend(), 1, where / "reports", "--record-baseline", str(where / "emulator.json"))
    assert code == 0, out[-3000:]
    assert "baseline: left out" not in out  # every observation is recorded or excused (NOT_RECORDED)
    return where / "emulator.json"


def test_gating_the_emulator_against_its_baseline_passes_and_another_seed_records_the_same_bytes(recorded, tmp_path):
    again = tmp_path / "again.json"
    code, out = run_against(InvoicingBackend(), 2, tmp_path / "reports", "--baseline", str(recorded),
                            "--record-baseline", str(again))
    assert code == 0, out[-3000:]
    assert re.search(r"baseline: \S+: \d+ behaviours as recorded, 0 changed; 0 not observed by this run and 0 not "
                     r"in the baseline", out), out[-2000:]
    assert again.read_bytes() == recorded.read_bytes()
    document = baseline.load(recorded)
    assert document["operations"][PPP]["conflict-rejection"]["conflicting payload (same token)"] == \
        ["refused with ConflictException"]
    assert invoicing_contracts("parity", str(recorded), str(again), "--report-dir", str(tmp_path / "parity"))[0] == 0


@pytest.mark.parametrize("variant", VARIANTS, ids=lambda v: v.id)
def test_gating_a_variant_fails_naming_exactly_the_behaviours_that_differ_and_parity_lists_the_same(
        recorded, tmp_path, variant):
    observed = tmp_path / "variant.json"
    code, out = run_against(variant.backend(), 3, tmp_path / "reports", "--baseline", str(recorded),
                            "--record-baseline", str(observed))
    assert code == 1, out[-3000:]
    assert ("\n0 violations," in out) == variant.suite_passes, out[-3000:]
    assert named(out, "  changed: ") == variant.differs, out[-3000:]

    code, parity_out, _ = invoicing_contracts("parity", str(recorded), str(observed),
                                              "--report-dir", str(tmp_path / "parity"))
    assert code == 1
    assert named(parity_out, "  differs: ") == variant.differs
    markdown = (tmp_path / "parity" / "parity.md").read_text()
    differences = markdown.split("## Differences", 1)[1].split("\n## ", 1)[0]
    rows = [r.strip("|").split(" | ") for r in differences.splitlines()
            if r.startswith("| ") and "| operation |" not in r]
    assert {(row[0].strip(), row[2].strip()) for row in rows} == {(op, name) for op, _, name in variant.differs}
