"""`invoicing-contracts coverage`: the constraint-coverage table and its exit code."""

import json

import strategies
from contracts.cli import coverage
from contracts.cli import main
from strategies import operation_model


def run(capsys, *argv):
    code = main(["coverage", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_every_stated_constraint_of_an_operation_is_violated(capsys):
    code, out, _ = run(capsys, "--operations", "CreateInvoiceUnit", "TagResource", "--format", "json")
    report = json.loads(out)
    assert code == 0
    assert report["summary"]["missed"] == 0
    cells = {(c["operation"], c["member"], c["constraint"]): c for c in report["cells"]}
    assert cells[("CreateInvoiceUnit", "Name", "max")]["status"] == "violated"
    assert cells[("CreateInvoiceUnit", "Name", "max")]["layer"] == "server"
    assert cells[("CreateInvoiceUnit", "Rule.LinkedAccounts[]", "pattern")]["status"] == "violated"
    assert cells[("CreateInvoiceUnit", "ResourceTags[].Key", "required")]["layer"] == "client"
    assert cells[("CreateInvoiceUnit", "*", "unknown")]["status"] == "violated"
    # a pattern no value can break under both readings is documented, not failed
    assert cells[("CreateInvoiceUnit", "Name", "pattern")]["status"] == "ambiguous only"
    assert cells[("CreateInvoiceUnit", "Description", "pattern")]["status"] == "vacuous"


def test_the_table_lists_the_summary_per_constraint(capsys):
    code, out, _ = run(capsys, "--operations", "GetInvoiceUnit")
    assert code == 0
    assert "constraint stated violated" in out and "0 missed" in out


def test_a_constraint_no_draw_violates_fails_the_command(capsys, monkeypatch):
    real = strategies.violation_sites

    def without_name_max(operation, *, service="invoicing"):
        return tuple(s for s in real(operation, service=service) if (s.template, s.constraint) != ("Name", "max"))

    monkeypatch.setattr(strategies, "violation_sites", without_name_max)
    code, out, _ = run(capsys, "--operations", "CreateInvoiceUnit")
    assert code == 1
    [missed] = [line for line in out.splitlines() if "MISSED" in line and "CreateInvoiceUnit" in line]
    assert "Name" in missed and "max" in missed


def test_a_budget_too_small_for_the_sites_fails(capsys):
    code, _, err = run(capsys, "--operations", "CreateInvoiceUnit", "--examples", "5")
    assert code == 1 and "do not fit the CI budget" in err


def test_unknown_operation_is_a_usage_error(capsys):
    code, _, err = run(capsys, "--operations", "CreateInvoice")
    assert code == 2 and "CreateInvoiceUnit" in err


def test_stated_constraints_are_read_from_the_model_not_from_the_strategies():
    stated = set(coverage.stated_constraints(operation_model("CreateInvoiceUnit").input_shape))
    sites = {(s.member_template, s.constraint) for s in strategies.violation_sites("CreateInvoiceUnit")}
    assert sites <= stated
    assert stated - sites == {("Name", "pattern"), ("Description", "pattern")}
    assert ("Description", "min") not in stated  # min=0 on a length is no constraint
