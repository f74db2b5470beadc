"""`invoicing-contracts parity A B` and contracts.reporting.parity: the tables, the one-screen summary, the exit
codes (0 agree, 1 differ, 2 bad input)."""

from __future__ import annotations

import json

import pytest

from contracts import cli
from contracts.reporting import baseline, parity


def document(behaviours: dict[tuple[str, str, str], list[str]]) -> dict:
    operations: dict = {}
    for (op, prop, name), classes in behaviours.items():
        operations.setdefault(op, {}).setdefault(prop, {})[name] = classes
    return {"format": baseline.FORMAT, "version": baseline.VERSION, "operations": operations}


EMULATOR = document({
    ("CreateProcurementPortalPreference", "conflict-rejection", "conflicting payload (same token)"):
        ["refused with ConflictException"],
    ("CreateInvoiceUnit", "replay-equivalence", "replay with the same token"): ["returned the same InvoiceUnitArn"],
    ("CreateInvoiceUnit", "expiry", "the token window"): ["86400 s"],
})
ACCOUNT = document({
    ("CreateProcurementPortalPreference", "conflict-rejection", "conflicting payload (same token)"):
        ["refused with ValidationException"],
    ("CreateInvoiceUnit", "replay-equivalence", "replay with the same token"): ["returned the same InvoiceUnitArn"],
    ("CreateInvoiceUnit", "scope", "the same token from another account"): ["made that account's own resource"],
})


def write(tmp_path, name: str, content) -> str:
    path = tmp_path / name
    path.write_text(content if isinstance(content, str) else baseline.dumps(content))
    return str(path)


def table_rows(markdown: str, section: str) -> list[list[str]]:
    """The data rows of one section's table (cells stripped)."""
    part = markdown.split(f"## {section}", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in part.splitlines() if line.startswith("| ") and not line.startswith("| operation")]
    return [[cell.strip() for cell in row.strip("|").split(" | ")] for row in rows]


def test_parity_lists_differences_one_sided_behaviours_and_agreements(tmp_path, capsys):
    a, b = write(tmp_path, "emulator.json", EMULATOR), write(tmp_path, "account.json", ACCOUNT)
    code = cli.main(["parity", a, b, "--report-dir", str(tmp_path / "out")])
    out = capsys.readouterr().out
    assert code == 1
    assert out.splitlines()[0] == ("parity of emulator.json and account.json: they DIFFER: 1 behaviour differs, 1 "
                                   "agree; observed on one side only: 1 in emulator.json, 1 in account.json")
    assert ("  differs: CreateProcurementPortalPreference / conflict-rejection / conflicting payload (same token): "
            "emulator.json: refused with ConflictException; account.json: refused with ValidationException") in out
    markdown = (tmp_path / "out" / "parity.md").read_text()
    assert table_rows(markdown, "Differences") == [["CreateProcurementPortalPreference", "2. Conflict rejection",
                                                    "conflicting payload (same token)",
                                                    "refused with ConflictException",
                                                    "refused with ValidationException"]]
    # (the property column shows the property's label, which the fault properties get once registered)
    only_a = table_rows(markdown, "Observed only in emulator.json")
    only_b = table_rows(markdown, "Observed only in account.json")
    assert [row[:1] + row[2:] for row in only_a] == [["CreateInvoiceUnit", "the token window", "86400 s",
                                                      "not observed"]]
    assert [row[:1] + row[2:] for row in only_b] == [["CreateInvoiceUnit", "the same token from another account",
                                                      "not observed", "made that account's own resource"]]
    assert [row[2] for row in table_rows(markdown, "Agreements")] == ["replay with the same token"]
    page = (tmp_path / "out" / "parity.html").read_text()
    assert page.count('<tr class="differ"') == 1 and page.count('<tr class="agree"') == 1
    assert "refused with ConflictException" in page


def test_parity_of_agreeing_baselines_exits_0(tmp_path, capsys):
    a, b = write(tmp_path, "a.json", EMULATOR), write(tmp_path, "b.json", EMULATOR)
    assert cli.main(["parity", a, b, "--report-dir", str(tmp_path / "out"), "--label-a", "before",
                     "--label-b", "after"]) == 0
    assert capsys.readouterr().out.startswith("parity of before and after: they agree: 0 behaviours differ, 3 agree")
    assert "## Differences (0)\n\nNone." in (tmp_path / "out" / "parity.md").read_text()


def test_the_console_summary_fits_a_screen(tmp_path):
    many = {("Op", "p", f"behaviour {i:02}"): ["x"] for i in range(50)}
    other = {key: ["y"] for key in many}
    lines = parity.summary(baseline.compare(document(many), document(other)), parity.Sides("a", "b"))
    assert len(lines) == 1 + parity.SCREEN + 1 and lines[-1] == "  ... and 30 more (see the report)"


@pytest.mark.parametrize("content, message", [
    (None, "cannot read the baseline"),
    ("[]", "is not a behaviour baseline"),
    ("nope", "is not JSON"),
])
def test_bad_input_exits_2_naming_the_file(tmp_path, capsys, content, message):
    good = write(tmp_path, "good.json", EMULATOR)
    bad = str(tmp_path / "bad.json") if content is None else write(tmp_path, "bad.json", content)
    assert cli.main(["parity", good, bad, "--report-dir", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("invoicing-contracts parity: ") and message in err and "bad.json" in err
    assert not (tmp_path / "out").exists()


def test_a_pipe_in_a_class_does_not_break_the_table():
    a = document({("Op", "p", "b"): ["answered A | B"]})
    markdown = parity.markdown(baseline.compare(a, a), parity.Sides("x", "y"))
    assert "| answered A \\| B | answered A \\| B |" in markdown
    assert json.loads(baseline.dumps(a))  # the file itself keeps the class as it is
