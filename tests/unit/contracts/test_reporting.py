"""Results, the one failure formatter, reproductions, the report writers, and redaction in all of them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings, strategies as st

from contracts import reporting
from contracts.calls import Call, Outcome
from contracts.checks import ContractViolation
from contracts.engine.results import Results
from contracts.engine.targets import Reproduction
from contracts.model.redaction import REDACTOR, Redactor, _placeholder, sensitive_member_names

ROOT = Path(__file__).resolve().parents[3]
UNIT = "arn:aws:invoicing::123456789012:invoice-unit/abcd1234"


def ok(body: dict, sent_body: bytes | None = None) -> Outcome:
    return Outcome(sent=True, status=200, response=dict(body), wire=dict(body), sent_body=sent_body)


def violation_with(calls, prop="replay-equivalence", title="replaying CreateInvoiceUnit returned a different ARN"):
    return ContractViolation(title, operation=calls[0].operation, property=prop, expected="e", observed="o",
                             calls=calls)


def test_sensitive_member_names_come_from_the_model():
    assert {"ProcurementPortalSharedSecret", "Contacts", "ReceiverAddress", "TaxRegistrationNumber"} <= \
        sensitive_member_names()
    assert "Name" not in sensitive_member_names()


def test_placeholders_keep_length_whitespace_punctuation_and_distinctness():
    assert _placeholder("abc def", 0) == "R0x xxx"
    assert _placeholder("a@b.cd", 3) == "R@3.xx"
    assert len(_placeholder("s" * 1025, 1)) == 1025
    assert _placeholder("0", 0) != _placeholder("1", 1)


def test_mask_keeps_equal_secrets_equal_and_different_ones_different():
    redactor = Redactor()
    masks: dict[str, str] = {}
    a = redactor.mask({"ProcurementPortalSharedSecret": "first-secret"}, masks)
    b = redactor.mask({"ProcurementPortalSharedSecret": "first-secret"}, masks)
    c = redactor.mask({"ProcurementPortalSharedSecret": "other-secret"}, masks)
    assert a == b != c
    assert "first-secret" not in json.dumps([a, b, c])


secret_text = st.text(st.characters(codec="ascii", categories=("L", "N")), min_size=12, max_size=40)


def _report_texts(out: Path, secret: str, name: str, local: str) -> dict[str, str]:
    """Every file the writers produce (and the console and formatted failure) for a run whose requests, responses
    and error messages carry `secret`, `name` and `local`@example.com in sensitive members."""
    email = f"{local}@example.com"
    params = {"ProcurementPortalName": "COUPA", "BuyerDomain": "NetworkID", "BuyerIdentifier": "b",
              "SupplierDomain": "NetworkID", "SupplierIdentifier": "s", "EinvoiceDeliveryEnabled": False,
              "PurchaseOrderRetrievalEnabled": False, "ProcurementPortalSharedSecret": secret,
              "Contacts": [{"Name": name, "Email": email}],
              "TestEnvPreference": {"BuyerDomain": "NetworkID", "BuyerIdentifier": "b", "SupplierDomain": "NetworkID",
                                    "SupplierIdentifier": "s", "ProcurementPortalSharedSecret": secret}}
    echoed = Outcome(sent=True, status=400, error_code="ValidationException",
                     error_message=f"bad secret {secret} for {email}", error={"reason": "invalidInput"})
    leaked = ok({"ProcurementPortalPreference": {"ProcurementPortalSharedSecret": secret,
                                                 "Contacts": [{"Name": name, "Email": email}]}})
    calls = [Call("CreateProcurementPortalPreference", params, echoed, note=f"note mentioning {secret}"),
             Call("GetProcurementPortalPreference", {"ProcurementPortalPreferenceArn": UNIT}, leaked)]
    violation = violation_with(calls, prop="conflict-rejection", title=f"title mentioning {name}")
    results = Results()
    record = reporting.failure_record(violation, Reproduction(), "test::node")
    results.add_violation(record)
    results.observe("CreateProcurementPortalPreference", "a subject", f"an outcome naming {email}")
    results.add_error("CreateProcurementPortalPreference", "suite-error", f"traceback with {secret}")
    # Example exchanges the behaviour report shows: the secrets in the request, echoed in a member the model does
    # not mark sensitive, and in an error message.
    echoing = ok({"ProcurementPortalPreferenceArn": UNIT, "Echo": f"{secret} / {email}", "Contacts": [{"Name": name}]})
    for call in [Call("CreateProcurementPortalPreference", params, echoing, note=f"note with {name}"),
                 Call("CreateProcurementPortalPreference", params, echoed),
                 Call("GetProcurementPortalPreference", {"ProcurementPortalPreferenceArn": UNIT}, leaked)]:
        results.keep_exchange(call)
    assert sum(len(slots) for slots in results.exchanges.values()) == 3
    reporting.write_reports(results, out)
    return {path.name: path.read_text() for path in out.iterdir()} | {"console": str(violation),
                                                                      "formatted": record["text"]}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(secret=secret_text, name=secret_text, local=secret_text)
def test_no_sensitive_value_reaches_any_report_file(tmp_path_factory, secret, name, local):
    """Secrets in requests, responses and error messages: none of them in any file the writers produce."""
    email = f"{local}@example.com"
    # A drawn value that is one of our own words (Hypothesis draws from constants in our source: "ResponseMeta",
    # "documentatio") is in the files whatever the redaction: the files of the same run with other secrets say
    # which words are ours. The test below covers such secrets.
    ours = "\n".join(_report_texts(tmp_path_factory.mktemp("ours"), "7" * len(secret), "Q" * len(name),
                                    "q" * len(local)).values())
    assume(not any(value in ours for value in (secret, name, email)))
    texts = _report_texts(tmp_path_factory.mktemp("reports"), secret, name, local)
    for label, text in texts.items():
        for value in (secret, name, email):
            assert value not in text, f"{label} leaks a sensitive value"
    assert "ProcurementPortalSharedSecret" in texts["results.json"]  # masked, not dropped
    assert texts["behaviour.md"].count('"ProcurementPortalSharedSecret": ') >= 3  # in the exchanges, masked


@pytest.mark.parametrize("secret", ["ScheduledFaults", "operations", "held", "import", "reproduction"])
def test_a_secret_that_is_one_of_the_suites_own_words_breaks_no_document(tmp_path, monkeypatch, secret):
    """Hypothesis draws strings from constants in our own source, so a generated secret can be a word the suite
    writes itself: the reports must still parse, keep their verdicts, and the reproduction must still run."""
    monkeypatch.setattr(REDACTOR, "_secrets", set(REDACTOR.known_secrets()))  # this test's secrets stay here
    params = {"ProcurementPortalPreferenceArn": UNIT, "ProcurementPortalSharedSecret": secret}
    refused = Outcome(sent=True, status=400, error_code="ValidationException", error_message=f"bad {secret}")
    violation = violation_with([Call("PutProcurementPortalPreference", params, refused)], prop="conflict-rejection")
    record = reporting.failure_record(violation, Reproduction(kind="mock", backend="invoicing_mock.faults:"
                                                                                  "ScheduledFaults"), "t::n")
    results = Results()
    results.add_violation(record)
    results.record("CreateInvoiceUnit", "replay-equivalence", "replay_same_response", True, unit=1)
    reporting.write_reports(results, tmp_path)
    data = json.loads((tmp_path / "results.json").read_text())
    cell = data["operations"]["CreateInvoiceUnit"]["properties"]["replay-equivalence"]
    assert cell["verdict"] == "held"
    ET.parse(tmp_path / "junit.xml")
    compile(record["reproduction"], "repro.py", "exec")
    assert "import ScheduledFaults as backend_factory" in record["reproduction"]
    assert f"bad {secret}" not in (tmp_path / "behaviour.md").read_text()  # the target's words: scrubbed


def test_results_count_examples_and_give_verdicts():
    results = Results()
    results.record("CreateInvoiceUnit", "replay-equivalence", "replay_same_response", True, unit=1)
    results.expect("DeleteInvoiceUnit", "delete-replay")
    data = results.to_dict()
    cell = data["operations"]["CreateInvoiceUnit"]["properties"]["replay-equivalence"]
    assert (cell["examples_run"], cell["verdict"]) == (1, "held")
    assert data["operations"]["DeleteInvoiceUnit"]["properties"]["delete-replay"]["verdict"] == "untested"


def test_observations_read_as_sentences():
    results = Results()
    for _ in range(3):
        results.observe("CreateInvoiceUnit", "replay with the same token", "returned the same InvoiceUnitArn")
    results.observe("CreateInvoiceUnit", "conflicting payload (same token) was", "refused with ValidationException")
    lines = results.observation_lines("CreateInvoiceUnit")
    assert "replay with the same token returned the same InvoiceUnitArn in 3 of 3 examples" in lines
    assert "conflicting payload (same token) was refused with ValidationException in 1 of 1 example" in lines


def test_junit_has_one_testcase_per_operation_and_property_with_the_formatted_failure(tmp_path):
    results = Results()
    results.record("CreateInvoiceUnit", "conflict-rejection", "conflict_refused", True, unit=1)
    violation = violation_with([Call("CreateInvoiceUnit", {"Name": "a"}, ok({"InvoiceUnitArn": UNIT}))])
    record = reporting.failure_record(violation, Reproduction(), "node")
    results.add_violation(record)
    reporting.write_junit(results, tmp_path / "junit.xml")
    suite = ET.parse(tmp_path / "junit.xml").getroot()
    cases = {(c.get("classname"), c.get("name")): c for c in suite.iter("testcase")}
    assert set(cases) == {("invoicing.CreateInvoiceUnit", "2. Conflict rejection"),
                          ("invoicing.CreateInvoiceUnit", "1. Replay equivalence")}
    failure = cases[("invoicing.CreateInvoiceUnit", "1. Replay equivalence")].find("failure")
    assert failure.text == record["text"] == reporting.format_failure(reporting.Failure.of(violation, Reproduction()))
    assert suite.get("failures") == "1"


def test_behaviour_report_in_markdown_and_html(tmp_path):
    results = Results()
    results.meta.update(target="mock", profile="ci", seed=1)
    results.observe("CreateInvoiceUnit", "replay with the same token", "returned the same InvoiceUnitArn")
    results.record("CreateInvoiceUnit", "replay-equivalence", "replay_same_response", True, unit=1)
    paths = reporting.write_reports(results, tmp_path)
    markdown = paths["markdown"].read_text()
    assert "## CreateInvoiceUnit" in markdown
    assert "- Replay with the same token returned the same InvoiceUnitArn (1 example)." in markdown
    html = paths["html"].read_text()
    assert '<h2 id="createinvoiceunit">CreateInvoiceUnit</h2>' in html and "<table" in html


def test_the_reproduction_runs_and_replays_the_example(tmp_path):
    """The script a failure carries runs against a fresh emulator and repeats the steps (ARNs rebound)."""
    create = {"Name": "repro-unit", "InvoiceReceiver": "123456789012", "Rule": {}, "ClientToken": "tok-1"}
    calls = [
        Call("CreateInvoiceUnit", create, ok({"InvoiceUnitArn": UNIT})),
        Call("CreateInvoiceUnit", create, ok({"InvoiceUnitArn": UNIT}), note="replay of step 1"),
        Call("GetInvoiceUnit", {"InvoiceUnitArn": UNIT}, ok({"InvoiceUnitArn": UNIT})),
        Call("CreateInvoiceUnit", {"Name": "x", "InvoiceReceiver": "123456789012", "Rule": {}},
             ok({"InvoiceUnitArn": UNIT}, sent_body=b'{"ClientToken": "filled-by-botocore"}'),
             note="no token: botocore fills one in"),
        Call("GetInvoiceUnit", {"InvoiceUnitArn": UNIT, "Unknown": 1}, Outcome(sent=True, status=400),
             validate=False, raw=True, note="botocore cannot serialise an unknown member"),
    ]
    script = tmp_path / "repro.py"
    script.write_text(reporting.Failure.of(violation_with(calls), Reproduction(kind="mock")).reproduction)
    assert "ClientToken='filled-by-botocore'" in script.read_text()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "AWS_DEFAULT_REGION": "us-east-1"}
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=120)
    # Self-checking: step 3's recorded answer (the ARN alone) is not what the emulator answers (the whole unit),
    # so the failing run's answers are not reproduced there and the script says so and exits 0.
    assert done.returncode == 0, done.stderr
    assert "NOT REPRODUCED: step 3 answered otherwise" in done.stdout, done.stdout
    lines = [line for line in done.stdout.splitlines() if " -> " in line]
    assert len(lines) == 5
    assert lines[4] == "get_invoice_unit -> ValidationException " + lines[4].split("ValidationException ", 1)[1]
    assert "Unknown" in lines[4]  # the raw JSON reached the emulator, which named the unknown member
    first_arn = lines[0].split("'InvoiceUnitArn': '")[1].split("'")[0]
    assert first_arn != UNIT  # a fresh emulator makes its own ARN; later steps use it
    assert first_arn in lines[1] and first_arn in lines[2] and "ResourceNotFound" not in lines[2]


def test_summary_table_has_a_row_per_operation():
    results = Results()
    results.record("CreateInvoiceUnit", "replay-equivalence", "replay_same_response", True, unit=1)
    results.record("GetInvoiceUnit", "output-schema", "output_schema", True, unit=1)
    table = reporting.summary_table(results)
    assert table.splitlines()[0].split()[:3] == ["operation", "schema", "1"]
    assert any(line.startswith("CreateInvoiceUnit") for line in table.splitlines())


def test_the_reports_carry_the_fault_figures_the_model_drift_and_the_real_account(tmp_path):
    from contracts.reporting.faults import figures

    results = Results()
    results.meta.update(target="aws", account="123456789012", profile="ci")
    fig = figures(results)
    fig.update(lost_response_trials=12, concurrent_batches=5, concurrent_requests=82, largest_batch=32)
    results.meta["drift"] = {"snapshot": "snapshot of botocore 1.44.8", "installed": "installed botocore 1.44.9",
                             "gate": "failed", "gate_failures": ["TagResource: has idempotency token ClientToken"],
                             "markdown": "## 2026-05-22 - AWS Invoicing - 1 updated api methods\n\n### TagResource\n"
                                         "\n**Gate: failed** (1)\n"}
    results.meta["real_account"] = {
        "account": "123456789012", "caller_arn": "arn:aws:iam::123456789012:user/ci", "region": "eu-west-1",
        "endpoint_url": None, "run_id": "20260526T101500Z-ab12cd34", "ledger": "reports/ledgers/x.jsonl",
        "read_only": False, "resource_budget": 60, "guard_refusals": 2, "interrupted": False,
        "created": [{"type": "InvoiceUnit", "arn": UNIT}], "deleted_by_run": [UNIT], "removed_at_cleanup": [],
        "left_behind": []}
    paths = reporting.write_reports(results, tmp_path)
    markdown = paths["markdown"].read_text()
    assert markdown.startswith("# Invoicing API behaviour observed on account …9012\n")
    real = markdown.index("## Real account")
    assert "Account **123456789012** (arn:aws:iam::123456789012:user/ci), region **eu-west-1**" in markdown
    assert f"| InvoiceUnit | {UNIT} |" in markdown and "**left behind: 0**" in markdown
    drift = markdown.index("## Model drift")
    assert "### 2026-05-22 - AWS Invoicing" in markdown and "#### TagResource" in markdown  # one level down
    assert "installed botocore 1.44.9" in markdown and "**Gate: failed** (1)" in markdown
    faults = markdown.index("## Faults, retries and concurrency")
    assert "| lost-response trials run | 12 |" in markdown and "| concurrent batches run | 5 |" in markdown
    assert real < drift < faults  # where the run went, then the model it checked, then the fault figures
    properties = {p.get("name"): p.get("value") for p in ET.parse(paths["junit"]).getroot().iter("property")}
    assert properties["faults.lost_response_trials"] == "12" and properties["faults.duplicates_found"] == "0"
    assert properties["drift.gate"] == "failed"
    assert properties["drift.gate_failure.1"] == "TagResource: has idempotency token ClientToken"
    assert (properties["real_account.account"], properties["real_account.created"]) == ("123456789012", "1")
    assert json.loads(paths["results"].read_text())["meta"]["faults"]["concurrent_batches"] == 5


def test_examples_run_counts_each_example_once_whatever_it_checked():
    results = Results()
    for prop in ("replay-equivalence", "conflict-rejection"):
        results.record("CreateInvoiceUnit", prop, "c", True, unit=1)
    results.record("CreateInvoiceUnit", "replay-equivalence", "c", True, unit=2)
    assert results.summary()["examples_run"] == 2 and results.summary()["checks_run"] == 3


def test_a_property_holds_only_where_its_subject_was_exercised():
    results = Results()
    results.record("GetInvoicePDF", "output-schema", "output_schema", True, unit=1, exercised=False,
                   why="no successful response to validate")
    results.record("GetInvoicePDF", "output-schema", "output_schema", True, unit=2, exercised=False,
                   why="no successful response to validate")
    cell = results.to_dict()["operations"]["GetInvoicePDF"]["properties"]["output-schema"]
    assert (cell["verdict"], cell["examples_run"], cell["exercised"]) == ("untested", 2, 0)
    assert cell["not_exercised"] == {"no successful response to validate": 2} and not cell["excused"]
    assert results.summary()["untested"] == 1
    results.record("GetInvoicePDF", "output-schema", "output_schema", True, unit=3)
    assert results.to_dict()["operations"]["GetInvoicePDF"]["properties"]["output-schema"]["verdict"] == "held"
    assert results.summary()["untested"] == 0


def test_untested_is_excused_only_where_the_run_declared_why():
    results = Results()
    results.meta["operations"] = ["PutProcurementPortalPreference"]
    results.expect("PutProcurementPortalPreference", "expiry")
    results.add_skip("PutProcurementPortalPreference", "expiry", "the fault properties were turned off")
    results.expect("PutProcurementPortalPreference", "output-schema")
    results.expect("CreateProcurementPortalPreference", "declared-errors")  # not selected: serves Put
    summary = results.summary()
    assert (summary["untested"], summary["untested_excused"]) == (1, 2)
    [(op, prop, _cell)] = results.untested(excused=False)
    assert (op, prop) == ("PutProcurementPortalPreference", "output-schema")
