"""`invoicing-contracts run` end to end.

The ci profile runs once as a user runs it (the console script, a process of its own) against the embedded
emulator. The other runs call the CLI in this process (`contracts.cli.main`, output captured): the same code path
without a second interpreter start, and they use the dev profile with an operation subset where the property
still bites, and fixed seeds. Runs that must fail minimise their failure for at most SHRINK_SECONDS (the dev
profile allows 20; the minimal examples asserted below are reached well within that). Durations are printed
(pytest -s shows them), never asserted.
"""

from __future__ import annotations

import argparse
import dataclasses
import gzip
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest
from hypothesis import Phase, given, settings, strategies as st
from moto import mock_aws

from contracts import cli

from contracts import options
from contracts.cli import run as runner
from contracts.reporting.blocks import plain

from contracts import guard as safety
from _real_account_support import (  # noqa: F401 - fixtures
    MEMBERS,
    PAYER,
    accounts_file,
    aws_test_environment,
    emulator,
    raw_client,
    snapshot,
    unit_params,
)

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
TOKEN_OPERATIONS = ["CreateInvoiceUnit", "UpdateInvoiceUnit", "DeleteInvoiceUnit",
                    "CreateProcurementPortalPreference", "PutProcurementPortalPreference",
                    "UpdateProcurementPortalPreferenceStatus", "DeleteProcurementPortalPreference",
                    "SendProcurementPortalValidation", "VerifyProcurementPortalValidation"]
SHRINK_SECONDS = 3


@dataclasses.dataclass
class Done:
    returncode: int
    stdout: str
    stderr: str
    seconds: float


def _environment(env: dict | None = None) -> dict:
    environment = {**os.environ, "PYTHONPATH": str(ROOT), "AWS_ACCESS_KEY_ID": "testing",
                   "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1", **(env or {})}
    environment.pop("AWS_ENDPOINT_URL_INVOICING", None)
    return environment


def run_process(*args: str, command: list[str] | None = None, env: dict | None = None,
                timeout: float = 600) -> Done:
    """`invoicing-contracts run ARGS` in a process of its own (the console script when it is installed)."""
    script = Path(sys.executable).with_name("invoicing-contracts")
    command = command or ([str(script)] if script.exists() else
                          [sys.executable, "-c", "import sys; from contracts.cli import main; sys.exit(main())"])
    started = time.monotonic()
    done = subprocess.run([*command, "run", *args], capture_output=True, text=True, env=_environment(env),
                          timeout=timeout, cwd=ROOT)
    seconds = time.monotonic() - started
    print(f"\n$ invoicing-contracts run {' '.join(args)}\n  exit {done.returncode} in {seconds:.1f}s")
    return Done(done.returncode, done.stdout, done.stderr, seconds)


@pytest.fixture
def run(capsys, monkeypatch):
    """`invoicing-contracts run ARGS` in this process; Done(returncode, stdout, stderr, seconds)."""
    monkeypatch.setitem(options.PROFILES, "dev", dataclasses.replace(options.PROFILES["dev"],
                                                                    shrink_seconds=SHRINK_SECONDS))

    def call(*args: str) -> Done:
        capsys.readouterr()
        started = time.monotonic()
        code = cli.main(["run", *args])
        seconds = time.monotonic() - started
        out, err = capsys.readouterr()
        with capsys.disabled():
            print(f"\n$ invoicing-contracts run {' '.join(args)}\n  exit {code} in {seconds:.1f}s")
        return Done(code, out, err, seconds)

    return call


def results_of(report_dir: Path) -> dict:
    return json.loads((report_dir / "results.json").read_text())


def failures_of(results: dict) -> list[dict]:
    return [f for op in results["operations"].values() for cell in op["properties"].values()
            for f in cell["failures"]]


def run_script(tmp_path: Path, name: str, text: str) -> subprocess.CompletedProcess:
    script = tmp_path / name
    script.write_text(text)
    return subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=_environment(),
                          timeout=120)


def check_reproduction(tmp_path: Path, failure: dict) -> subprocess.CompletedProcess:
    """The reproduction is a self-checking script: against the emulator variant the run used it replays the
    example and exits 1 (the fault is there); pointed at the correct emulator, the same steps exit 0."""
    from contracts.reporting.failures import against_the_emulator

    replayed = run_script(tmp_path, "repro.py", failure["reproduction"])
    assert replayed.returncode == 1, replayed.stdout[-3000:] + replayed.stderr[-3000:]
    assert "FAULT PRESENT" in replayed.stdout, replayed.stdout[-3000:]
    correct = run_script(tmp_path, "repro_correct.py", against_the_emulator(failure["reproduction"]))
    assert "import InvoicingBackend as backend_factory" in (tmp_path / "repro_correct.py").read_text()
    assert correct.returncode == 0, correct.stdout[-3000:] + correct.stderr[-3000:]
    assert "NOT REPRODUCED: step" in correct.stdout, correct.stdout[-3000:]
    return replayed


# --------------------------------------------------------------------------------------------- contracts hold


def test_ci_profile_against_the_embedded_emulator_holds(tmp_path):
    done = run_process("--profile", "ci", "--seed", "1", "--report-dir", str(tmp_path / "reports"),
                       "--example-db", str(tmp_path / "db"))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    results = results_of(tmp_path / "reports")
    assert results["summary"]["violations"] == 0
    # Every token-bearing operation had its replay and conflict contracts exercised, not just declared.
    for op in TOKEN_OPERATIONS:
        cells = results["operations"][op]["properties"]
        replay = "delete-replay" if op.startswith("Delete") else "replay-equivalence"
        for prop in (replay, "conflict-rejection"):
            assert cells[prop]["verdict"] == "held" and cells[prop]["examples_run"] > 0, (op, prop)
    lines = done.stdout.splitlines()
    # Progress while it runs: the first line says what runs, each next one the tests done, the examples run
    # so far and the violations so far.
    assert lines[0].startswith("running ") and "against target mock (profile ci)" in lines[0]
    assert lines[1].startswith("[  1/") and "examples run" in lines[1] and "violations so far 0" in lines[1]
    assert any(line.startswith("operation ") and line.endswith("check runs") for line in lines)
    summary = next(line for line in lines if line.startswith("0 violations, 0 suite errors"))
    assert f"{results['summary']['examples_run']} examples" in summary
    # The fault figures and the model-drift verdict follow the summary.
    faults = results["meta"]["faults"]
    assert faults["lost_response_trials"] > 0 and faults["concurrent_batches"] > 0
    assert faults["duplicates_found"] == 0 and faults["lost_effects_found"] == 0
    assert (f"faults: {faults['lost_response_trials']} lost-response trials, {faults['concurrent_batches']} "
            f"concurrent batches") in done.stdout
    assert "model drift: " in done.stdout and "gate passed" in done.stdout
    assert results["meta"]["drift"]["gate"] == "passed"
    markdown = (tmp_path / "reports" / "behaviour.md").read_text()
    assert "## Model drift" in markdown and "**Gate: passed**" in markdown
    assert "| lost-response trials run |" in markdown and "| duplicates found | 0 |" in markdown
    for name in ("junit.xml", "results.json", "behaviour.md", "behaviour.html"):
        assert (tmp_path / "reports" / name).stat().st_size > 0
    assert 'name="faults.duplicates_found" value="0"' in (tmp_path / "reports" / "junit.xml").read_text()
    print(f"  ci profile, embedded emulator: {done.seconds:.1f}s wall clock")


def test_the_same_through_an_endpoint_against_the_emulators_server(tmp_path, run):
    from invoicing_mock import server

    served = server.start(port=0)
    try:
        # Both resource kinds, their machines and the fault properties over HTTP (the server's admin interface).
        done = run("--target", "endpoint", "--endpoint-url", served.url, "--profile", "dev", "--seed", "2",
                   "--operations", "CreateInvoiceUnit,PutProcurementPortalPreference,ListInvoiceUnits",
                   "--report-dir", str(tmp_path / "reports"), "--example-db", "none", "--quiet")
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        results = results_of(tmp_path / "reports")
        assert results["meta"]["endpoint_url"] == served.url
        assert results["meta"]["faults"]["concurrent_batches"] > 0  # injected through the endpoint
        # It deleted everything it created, in every account it used.
        for account in ("123456789012", "999999999999"):
            client = boto3.client("invoicing", endpoint_url=served.url, region_name="us-east-1",
                                  aws_access_key_id=account, aws_secret_access_key="testing")
            assert client.list_procurement_portal_preferences()["ProcurementPortalPreferences"] == []
            if account == "123456789012":
                assert client.list_invoice_units()["InvoiceUnits"] == []
    finally:
        served.stop()


# ----------------------------------------------------------------------------------------- planted faults


@pytest.mark.parametrize(
    "variant, prop",
    [
        ("FreshArnOnReplay", "replay-equivalence"),  # (a) a fresh ARN on replay
        ("ConflictAccepted", "conflict-rejection"),  # (b) a conflicting payload accepted
        ("UndeclaredConflictError", "declared-errors"),  # (c) an undeclared error
    ],
)
def test_a_planted_fault_fails_the_run_with_a_minimal_reproduction(tmp_path, run, variant, prop):
    reports, db = tmp_path / "reports", tmp_path / "db"
    done = run("--profile", "dev", "--seed", "3", "--operations", "CreateInvoiceUnit",
               "--mock-backend", f"invoicing_mock.mutants:{variant}", "--report-dir", str(reports),
               "--example-db", str(db), "--quiet")
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
    failures = failures_of(results_of(reports))
    # Other properties (e.g. the fault suite's) may catch the same fault too; this one must be among them.
    named = [f for f in failures if f["property"] == prop]
    assert named, [(f["property"], f["title"]) for f in failures]
    failure = named[0]
    assert 1 <= len(failure["example"]) <= 12  # minimised: a handful of calls, not a whole run
    assert f"from invoicing_mock.mutants import {variant} as backend_factory" in failure["reproduction"]
    assert failure["title"] in done.stdout and "reproduction (boto3):" in done.stdout
    markdown = (reports / "behaviour.md").read_text()
    assert f"### Violation: {plain(failure['title'])}" in markdown  # a title with [] is escaped for Markdown
    replayed = check_reproduction(tmp_path, failure)
    answers = [line for line in replayed.stdout.splitlines() if " -> " in line]
    assert len(answers) == len(failure["example"])  # one answer per step of the minimal example


@pytest.mark.parametrize(
    "variant, prop",
    [
        ("RetryExecutesTwice", "lost-response"),  # the token is stored after the response: a retry runs again
        ("RacyTokenCheck", "concurrent-duplicates"),  # check and store are not atomic: duplicates all run
    ],
)
def test_a_planted_exactly_once_fault_fails_the_run(tmp_path, run, variant, prop):
    reports = tmp_path / "reports"
    done = run("--profile", "dev", "--seed", "4", "--operations", "PutProcurementPortalPreference",
               "--mock-backend", f"invoicing_mock.planted:{variant}", "--report-dir", str(reports),
               "--example-db", "none", "--quiet")
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
    results = results_of(reports)
    named = [f for f in failures_of(results) if f["property"] == prop]
    assert named, [(f["property"], f["title"]) for f in failures_of(results)]
    assert named[0]["title"] in done.stdout and "reproduction (boto3):" in done.stdout
    assert f"from invoicing_mock.planted import {variant} as backend_factory" in named[0]["reproduction"]
    faults = results["meta"]["faults"]
    assert faults["duplicates_found"] > 0  # both faults run a request twice
    assert f"{faults['duplicates_found']} duplicates found" in done.stdout
    check_reproduction(tmp_path, named[0])


# ---------------------------------------------------------------------------------------------------- secrets

secret_text = st.text(st.characters(codec="ascii", categories=("L", "N")), min_size=16, max_size=32)


def draw_secrets() -> tuple[str, str, str]:
    """A secret, a contact name and a contact email, drawn by Hypothesis. (Drawn apart from the run: a run inside
    @given would run under the drawing test's settings instead of its own profile.)"""
    drawn = []

    @settings(max_examples=1, deadline=None, database=None, phases=[Phase.generate])
    @given(secret=secret_text, name=secret_text, local=secret_text)
    def draw(secret, name, local):
        drawn.append((f"sec{secret}", f"nam{name}", f"eml{local.lower()}@example.com"))

    draw()
    return drawn[-1]


def test_no_secret_sent_to_the_target_appears_in_any_file_the_run_wrote(tmp_path_factory, run, monkeypatch):
    """Secrets drawn here are handed to the run (target config hints), sent to the emulator (recorded by the
    variant), and then looked for in every file the run wrote: reports, example database, console output.
    A planted fault makes violations, so the reports hold minimal examples and reproductions of the calls."""
    secret, name, email = draw_secrets()
    work = tmp_path_factory.mktemp("secrets")
    config = work / "target.json"
    config.write_text(json.dumps({"hints": {"ProcurementPortalSharedSecret": [secret],
                                            "Contacts": [[{"Name": name, "Email": email}]]}}))
    sent_log = work / "outside" / "sent.json"
    sent_log.parent.mkdir()
    monkeypatch.setenv("PLANTED_SECRETS_LOG", str(sent_log))
    # No --seed: a seeded Hypothesis run bypasses the example database, and the database must be searched too.
    done = run("--profile", "dev", "--operations", "CreateProcurementPortalPreference",
               "PutProcurementPortalPreference", "--mock-backend",
               "invoicing_mock.mutants:FreshArnOnReplayRecordingSecrets", "--target-config", str(config),
               "--report-dir", str(work / "reports"), "--example-db", str(work / "db"))
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
    sent = set(json.loads(sent_log.read_text()))
    assert {secret, name, email} <= sent, "the drawn secrets were not all sent: the test would prove nothing"
    written = [p for p in work.rglob("*") if p.is_file() and p != sent_log and p != config]
    assert any(p.name == "junit.xml" for p in written)
    assert any("db" in p.relative_to(work).parts for p in written), "the failing examples were saved to the database"
    texts = {str(p): p.read_bytes().decode("utf-8", "replace") for p in written}
    texts["stdout"], texts["stderr"] = done.stdout, done.stderr
    for where, text in texts.items():
        for value in (secret, name, email):
            assert value not in text, f"{where} contains a sensitive value"
    assert '"Contacts"' in texts[str(work / "reports" / "results.json")]  # masked in the examples, not dropped


# ------------------------------------------------------------------------------------------------ faults switch


def test_faults_off_skips_the_fault_properties_with_the_reason(tmp_path, run):
    done = run("--profile", "dev", "--seed", "5", "--operations", "PutProcurementPortalPreference", "--faults", "off",
               "--report-dir", str(tmp_path), "--example-db", "none", "--quiet")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "faults: skipped: the fault properties were turned off (--faults off)" in done.stdout
    cell = results_of(tmp_path)["operations"]["PutProcurementPortalPreference"]["properties"]["lost-response"]
    assert cell["verdict"] == "untested" and cell["excused"] and cell["skipped"]
    assert "Skipped: the fault properties were turned off" in (tmp_path / "behaviour.md").read_text()


def test_faults_on_against_a_target_that_cannot_inject_them_fails(tmp_path, run):
    from invoicing_mock import server

    served = server.start(port=0, admin=False)
    try:
        done = run("--target", "endpoint", "--endpoint-url", served.url, "--profile", "dev", "--seed", "5",
                   "--operations", "PutProcurementPortalPreference", "--faults", "on", "--report-dir", str(tmp_path),
                   "--example-db", "none", "--quiet")
    finally:
        served.stop()
    assert done.returncode == 1
    assert "--faults on, but the endpoint" in done.stdout and "offers no fault admin interface" in done.stdout


# ------------------------------------------------------------------------------------------------ model drift


def derived_model_dir(tmp_path: Path, change) -> Path:
    """A botocore data directory (for AWS_DATA_PATH) holding the installed Invoicing model changed by `change`."""
    import botocore.session

    loader = botocore.session.get_session().get_component("data_loader")
    version = max(loader.list_api_versions("invoicing", "service-2"))
    model = loader.load_service_model("invoicing", "service-2", version)
    change(model)
    where = tmp_path / "models" / "invoicing" / version
    where.mkdir(parents=True)
    (where / "service-2.json.gz").write_bytes(gzip.compress(json.dumps(model).encode()))
    return tmp_path / "models"


def _token_on_tag_resource(model: dict) -> None:
    """TagResource gains an idempotency token, as six operations did in May 2026."""
    model["shapes"]["TagResourceRequest"]["members"]["ClientToken"] = {
        "shape": "BasicString", "idempotencyToken": True}


def _get_invoice_pdf_removed(model: dict) -> None:
    del model["operations"]["GetInvoicePDF"]


def test_a_new_token_operation_without_a_contract_entry_fails_the_gate(tmp_path):
    data = derived_model_dir(tmp_path, _token_on_tag_resource)
    done = run_process("--report-dir", str(tmp_path / "reports"), "--example-db", "none", "--profile", "dev",
                       env={"AWS_DATA_PATH": str(data)}, timeout=120)
    assert done.returncode == 1, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("invoicing-contracts run: ")
    assert "TagResource: has idempotency token ClientToken but no contract entry" in lines[0]
    results = results_of(tmp_path / "reports")
    assert results["meta"]["drift"]["gate"] == "failed"
    assert any(f.startswith("TagResource: has idempotency token") for f in results["meta"]["drift"]["gate_failures"])
    markdown = (tmp_path / "reports" / "behaviour.md").read_text()
    assert "## Model drift" in markdown and "**Gate: failed** (1)" in markdown and "TagResource" in markdown
    assert "## The contracts could not be checked" in markdown  # the contract data does not load: nothing ran


def test_a_breaking_change_fails_the_run_even_when_every_contract_holds(tmp_path):
    data = derived_model_dir(tmp_path, _get_invoice_pdf_removed)
    done = run_process("--operations", "ListProcurementPortals", "--report-dir", str(tmp_path / "reports"),
                       "--example-db", "none", "--profile", "dev", "--quiet", env={"AWS_DATA_PATH": str(data)},
                       timeout=120)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "\n0 violations, 0 suite errors" in done.stdout and "gate FAILED" in done.stdout
    assert done.stderr.strip().splitlines()[-1].startswith(
        "invoicing-contracts run: the model drift gate failed: GetInvoicePDF: breaking change")
    assert "GetInvoicePDF" in (tmp_path / "reports" / "behaviour.md").read_text()


# ----------------------------------------------------------------------------------------------- real account


def accounts_named(params: dict) -> list[str]:
    """The account IDs a request puts in an invoice unit (receiver, linked accounts)."""
    rule = params.get("Rule") if isinstance(params.get("Rule"), dict) else {}
    named = [params.get("InvoiceReceiver"), *(rule.get("LinkedAccounts") or [])]
    return [a for a in named if isinstance(a, str) and len(a) == 12 and a.isdigit()]


def aws_args(tmp_path: Path, url: str, *extra: str) -> list[str]:
    return ["--target", "aws", "--endpoint-url", url, "--accounts-file", accounts_file(tmp_path),
            "--ledger-dir", str(tmp_path / "ledgers"), "--report-dir", str(tmp_path / "reports"),
            "--max-rate", "1000", "--example-db", "none", *extra]


@pytest.mark.parametrize(
    "flags, environ, message",
    [
        ([], {}, "opt in with --allow-real-account"),
        ([safety.OPT_IN_FLAG, "--allowed-account", PAYER], {}, "INVOICING_CONTRACTS_ALLOW_REAL_ACCOUNT is not set"),
        ([safety.OPT_IN_FLAG, "--allowed-account", "111122223333"], {safety.OPT_IN_ENV: "1"},
         f"is account {PAYER}, which is not on the allowlist"),
    ],
)
def test_aws_is_refused_with_exit_3_before_any_write(tmp_path, emulator, run, monkeypatch, flags, environ, message):
    url, _backend, log = emulator
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        done = run(*aws_args(tmp_path, url, *flags))
    assert done.returncode == 3
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("invoicing-contracts run: refusing --target aws") and message in lines[0]
    assert log.operations() == [], "the emulator (the account) was called"
    assert not (tmp_path / "ledgers").exists() and not (tmp_path / "reports").exists()


def test_aws_plan_prints_and_sends_nothing(tmp_path, emulator, run, monkeypatch):
    url, _backend, log = emulator
    monkeypatch.setenv(safety.OPT_IN_ENV, "1")
    with mock_aws():
        done = run(*aws_args(tmp_path, url, safety.OPT_IN_FLAG, "--allowed-account", PAYER, "--plan",
                             "--profile", "ci"))
    assert done.returncode == 0, done.stderr
    assert "Plan of `invoicing-contracts run --target aws`" in done.stdout and PAYER in done.stdout
    assert "allowed (opt-in given, account on the allowlist)" in done.stdout
    assert "at most 60 resources created" in done.stdout  # the ci profile's budget
    assert log.operations() == []


def test_a_guarded_aws_run_checks_the_contracts_and_leaves_the_account_as_it_was(tmp_path, emulator, run, monkeypatch):
    """The emulator's HTTP server stands in for the account, moto's STS for the caller."""
    url, _backend, log = emulator
    raw = raw_client(url)
    raw.create_invoice_unit(**unit_params("production unit", ResourceTags=[{"Key": "team", "Value": "billing"}]))
    before = snapshot(raw)
    log.calls.clear()
    monkeypatch.setenv(safety.OPT_IN_ENV, "1")
    with mock_aws():
        done = run(*aws_args(tmp_path, url, safety.OPT_IN_FLAG, "--allowed-account", PAYER, "--profile", "dev",
                             "--seed", "6", "--quiet"))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert snapshot(raw) == before, "everything the run created is gone, and nothing else changed"
    writes = [(op, params) for op, _account, params in log.calls if not op.startswith(("Get", "List", "BatchGet"))]
    assert any(op == "CreateInvoiceUnit" for op, _params in writes), "the suite did write (or it proves nothing)"
    for op, params in writes:  # every create carried the run's tags; every write named only the run's accounts
        if op.startswith("Create"):
            assert "invoicing-contracts:run" in {t.get("Key") for t in params.get("ResourceTags") or []}, params
        assert set(accounts_named(params)) <= set(MEMBERS), (op, params)
    results = results_of(tmp_path / "reports")
    real = results["meta"]["real_account"]
    assert (real["account"], real["region"], real["endpoint_url"]) == (PAYER, "us-east-1", url)
    assert real["created"] and real["left_behind"] == []
    assert results["summary"]["violations"] == 0
    assert results["meta"]["faults"]["skipped"].startswith("target aws cannot inject faults")
    markdown = (tmp_path / "reports" / "behaviour.md").read_text()
    assert "## Real account" in markdown and f"Account **{PAYER}**" in markdown and "region **us-east-1**" in markdown
    assert f"created: {len(real['created'])};" in markdown and "**left behind: 0**" in markdown
    assert f"real account {PAYER} (us-east-1)" in done.stdout and "left behind 0" in done.stdout
    assert 'name="real_account.left_behind" value="0"' in (tmp_path / "reports" / "junit.xml").read_text()


# ------------------------------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "args, code, message",
    [
        (["--target", "prod"], 2, "unknown target 'prod'; choose one of: mock, endpoint, aws"),
        (["--profile", "fast"], 2, "unknown profile 'fast'; choose one of: dev, ci, thorough"),
        (["--operations", "CreateInvoice"], 2, "unknown operation CreateInvoice; the installed model has:"),
        (["--faults", "maybe"], 2, "unknown --faults 'maybe'; choose one of: auto, on, off"),
        (["--target", "endpoint"], 2, "--target endpoint needs --endpoint-url"),
        (["--mock-backend", "nope"], 2, "--mock-backend takes module:attr"),
        (["--plan"], 2, "--plan only applies to --target aws"),
        (["--target", "aws"], 3, "refusing --target aws"),
        (["--target", "endpoint", "--endpoint-url", "http://127.0.0.1:9"], 3,
         "cannot reach the endpoint http://127.0.0.1:9"),
    ],
)
def test_bad_input_gives_one_line_and_the_documented_exit_code(run, args, code, message):
    done = run(*args)
    assert done.returncode == code
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("invoicing-contracts run: ") and message in lines[0]


def test_python_dash_m_gives_the_same_one_line_usage_error():
    done = run_process("--target", "prod", command=[sys.executable, "-m", "contracts.cli"], timeout=120)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.strip() == ("invoicing-contracts run: unknown target 'prod'; choose one of: mock, endpoint, "
                                   "aws, moto")


# ------------------------------------------------------------------------------------ the options, in-process


def test_run_options_become_the_same_pytest_options():
    parser = argparse.ArgumentParser()
    runner.add_arguments(parser)
    args = parser.parse_args(["--target", "endpoint", "--endpoint-url", "http://x:1", "--profile", "dev",
                              "--seed", "7", "--operations", "CreateInvoiceUnit", "GetInvoiceUnit",
                              "--report-dir", "out", "--faults", "off"])
    argv = runner.pytest_args(options.RunOptions.from_values(vars(args)))
    assert argv[:2] == ["--pyargs", "contracts.suite"]
    pairs = dict(zip(argv[1:], argv[2:]))
    assert (pairs["--target"], pairs["--endpoint-url"], pairs["--profile"], pairs["--seed"], pairs["--operations"],
            pairs["--report-dir"], pairs["--faults"]) == ("endpoint", "http://x:1", "dev", "7",
                                                         "CreateInvoiceUnit,GetInvoiceUnit", "out", "off")


def test_run_has_the_real_account_options():
    parser = argparse.ArgumentParser()
    runner.add_arguments(parser)
    args = parser.parse_args([])
    given = options.RunOptions.from_values(vars(args))
    assert (given.allow_real_account, given.allowed_account, given.plan, given.read_only, given.max_resources) == \
        (False, (), False, False, None)


def test_pytest_directly_takes_the_same_options(tmp_path):
    environment = _environment()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--pyargs", "contracts.suite", "-q", "-p", "no:cacheprovider", "--profile", "dev",
         "--seed", "1", "--operations", "ListProcurementPortals", "--report-dir", str(tmp_path), "--example-db",
         "none", "--faults", "off"], capture_output=True, text=True, env=environment, cwd=ROOT, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:]
    results = results_of(tmp_path)
    assert results["meta"]["operations"] == ["ListProcurementPortals"]
    assert list(results["operations"]) == ["ListProcurementPortals"]  # nothing else was exercised
    cells = results["operations"]["ListProcurementPortals"]["properties"]
    assert cells["valid-requests"]["verdict"] == cells["invalid-requests"]["verdict"] == "held"
    bad = subprocess.run([sys.executable, "-m", "pytest", "--pyargs", "contracts.suite", "--profile", "fast"],
                         capture_output=True, text=True, env=environment, cwd=ROOT, timeout=120)
    assert bad.returncode == pytest.ExitCode.USAGE_ERROR and "unknown profile 'fast'" in bad.stderr


def test_an_in_process_run_leaves_the_callers_hypothesis_settings_alone(tmp_path, run):
    from hypothesis import core, settings as current
    from hypothesis.internal.conjecture import engine

    def state():
        return (current.get_current_profile_name(), current.default.max_examples, current.default.database,
                core.global_force_seed, engine.MAX_SHRINKING_SECONDS)

    before = state()
    done = run("--profile", "dev", "--seed", "9", "--operations", "ListProcurementPortals", "--report-dir",
               str(tmp_path), "--example-db", "none", "--quiet")
    assert done.returncode == 0
    assert state() == before


def test_profiles_grow_from_dev_to_thorough():
    dev, ci, thorough = (options.PROFILES[name] for name in ("dev", "ci", "thorough"))
    assert dev.max_examples < ci.max_examples < thorough.max_examples
    assert dev.stateful_examples < ci.stateful_examples < thorough.stateful_examples


def test_the_installed_suite_runs_from_any_directory(tmp_path):
    """No path of the checkout is needed: `run` and `pytest --pyargs` find the suite in the installed package."""
    environment = {k: v for k, v in _environment().items() if k != "PYTHONPATH"}
    common = ["--profile", "dev", "--seed", "1", "--operations", "ListProcurementPortals", "--example-db", "none",
              "--faults", "off"]
    done = subprocess.run([sys.executable, "-m", "contracts.cli", "run", *common, "--report-dir", "a", "--quiet"],
                          capture_output=True, text=True, env=environment, cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    direct = subprocess.run([sys.executable, "-m", "pytest", "-q", "--pyargs", "contracts.suite", *common,
                             "--report-dir", "b"], capture_output=True, text=True, env=environment, cwd=tmp_path,
                            timeout=300)
    assert direct.returncode == 0, direct.stdout[-2000:]
    ran, also = results_of(tmp_path / "a"), results_of(tmp_path / "b")
    assert list(ran["operations"]) == list(also["operations"]) == ["ListProcurementPortals"]
    verdicts = {p: c["verdict"] for p, c in ran["operations"]["ListProcurementPortals"]["properties"].items()}
    assert verdicts == {p: c["verdict"] for p, c in also["operations"]["ListProcurementPortals"]["properties"].items()}
    assert verdicts["valid-requests"] == "held"
