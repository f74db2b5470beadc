"""`invoicing-contracts run` end to end, as a user runs it (a subprocess per run).

Sized for CI on two cores: the full ci profile runs once against the in-process emulator; the endpoint run and
the planted faults use the dev profile (with an operation subset where that keeps them meaningful) and fixed
seeds. Durations are printed (pytest -s shows them), never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings, strategies as st

from contracts import runner

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
TOKEN_OPERATIONS = ["CreateInvoiceUnit", "UpdateInvoiceUnit", "DeleteInvoiceUnit",
                    "CreateProcurementPortalPreference", "PutProcurementPortalPreference",
                    "UpdateProcurementPortalPreferenceStatus", "DeleteProcurementPortalPreference",
                    "SendProcurementPortalValidation", "VerifyProcurementPortalValidation"]


def run_cli(*args: str, timeout: float = 900, env: dict | None = None) -> subprocess.CompletedProcess:
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(HERE)]),
                   "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                   "AWS_DEFAULT_REGION": "us-east-1", **(env or {})}
    environment.pop("AWS_ENDPOINT_URL_INVOICING", None)
    started = time.monotonic()
    # As the console script does (`python -m contracts.cli` would load cli.py twice, as __main__ too).
    command = [sys.executable, "-c", "import sys; from contracts.cli import main; sys.exit(main())", "run", *args]
    done = subprocess.run(command, capture_output=True, text=True, env=environment, timeout=timeout, cwd=ROOT)
    done.seconds = time.monotonic() - started
    print(f"\n$ invoicing-contracts run {' '.join(args)}\n  exit {done.returncode} in {done.seconds:.1f}s")
    return done


def results_of(report_dir: Path) -> dict:
    return json.loads((report_dir / "results.json").read_text())


def failures_of(results: dict) -> list[dict]:
    return [f for op in results["operations"].values() for cell in op["properties"].values()
            for f in cell["failures"]]


# --------------------------------------------------------------------------------------------- contracts hold


def test_ci_profile_against_the_embedded_emulator_holds(tmp_path):
    done = run_cli("--profile", "ci", "--seed", "1", "--report-dir", str(tmp_path / "reports"),
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
    assert "\n0 violations, 0 suite errors" in done.stdout
    assert any(line.startswith("operation ") and line.endswith("check runs") for line in done.stdout.splitlines())
    for name in ("junit.xml", "results.json", "behaviour.md", "behaviour.html"):
        assert (tmp_path / "reports" / name).stat().st_size > 0
    print(f"  ci profile, embedded emulator: {done.seconds:.1f}s wall clock")


def test_the_same_through_an_endpoint_against_the_emulators_server(tmp_path):
    from invoicing_mock import server

    served = server.start(port=0)
    try:
        done = run_cli("--target", "endpoint", "--endpoint-url", served.url, "--profile", "dev", "--seed", "2",
                       "--report-dir", str(tmp_path / "reports"), "--example-db", "none")
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        assert results_of(tmp_path / "reports")["meta"]["endpoint_url"] == served.url
        # It deleted everything it created, in every account it used.
        import boto3

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
        ("FreshArnOnReplay", "replay-equivalence"),
        ("ConflictAccepted", "conflict-rejection"),
        ("UndeclaredConflictError", "declared-errors"),
    ],
)
def test_a_planted_fault_fails_the_run_with_a_minimal_reproduction(tmp_path, variant, prop):
    reports, db = tmp_path / "reports", tmp_path / "db"
    done = run_cli("--profile", "dev", "--seed", "3", "--operations", "CreateInvoiceUnit",
                   "--mock-backend", f"planted_faults:{variant}", "--report-dir", str(reports),
                   "--example-db", str(db), "--quiet")
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
    failures = failures_of(results_of(reports))
    # Other properties (e.g. the fault suite's) may catch the same fault too; this one must be among them.
    named = [f for f in failures if f["property"] == prop]
    assert named, [(f["property"], f["title"]) for f in failures]
    failure = named[0]
    assert 1 <= len(failure["example"]) <= 12  # minimised: a handful of calls, not a whole run
    assert f"from planted_faults import {variant} as backend_factory" in failure["reproduction"]
    assert failure["title"] in done.stdout and "reproduction (boto3):" in done.stdout
    markdown = (reports / "behaviour.md").read_text()
    assert f"### Violation: {failure['title']}" in markdown
    # The reproduction is a runnable script: it replays the example against the same emulator variant.
    script = tmp_path / "repro.py"
    script.write_text(failure["reproduction"])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(HERE)]), "AWS_DEFAULT_REGION": "us-east-1"}
    replayed = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=120)
    assert replayed.returncode == 0, replayed.stderr
    assert len(replayed.stdout.splitlines()) == len(failure["example"])


# ---------------------------------------------------------------------------------------------------- secrets

secret_text = st.text(st.characters(codec="ascii", categories=("L", "N")), min_size=16, max_size=32)


@settings(max_examples=1, deadline=None, suppress_health_check=list(HealthCheck), phases=[Phase.generate])
@given(secret=secret_text, name=secret_text, local=secret_text)
def test_no_secret_sent_to_the_target_appears_in_any_file_the_run_wrote(tmp_path_factory, secret, name, local):
    """Secrets drawn here are handed to the run (target config hints), sent to the emulator (recorded by the
    variant), and then looked for in every file the run wrote: reports, example database, console output.
    A planted fault makes violations, so the reports hold minimal examples and reproductions of the calls."""
    work = tmp_path_factory.mktemp("secrets")
    secret, name, email = f"sec{secret}", f"nam{name}", f"eml{local.lower()}@example.com"
    config = work / "target.json"
    config.write_text(json.dumps({"hints": {"ProcurementPortalSharedSecret": [secret],
                                            "Contacts": [[{"Name": name, "Email": email}]]}}))
    sent_log = work / "outside" / "sent.json"
    sent_log.parent.mkdir()
    # No --seed: a seeded Hypothesis run bypasses the example database, and the database must be searched too.
    done = run_cli("--profile", "dev", "--operations", "CreateProcurementPortalPreference",
                   "PutProcurementPortalPreference", "--mock-backend", "planted_faults:FreshArnOnReplayRecordingSecrets",
                   "--target-config", str(config), "--report-dir", str(work / "reports"),
                   "--example-db", str(work / "db"), env={"PLANTED_SECRETS_LOG": str(sent_log)})
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


# ------------------------------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "args, code, message",
    [
        (["--target", "prod"], 2, "unknown target 'prod'; choose one of: mock, endpoint, aws"),
        (["--profile", "fast"], 2, "unknown profile 'fast'; choose one of: dev, ci, thorough"),
        (["--operations", "CreateInvoice"], 2, "unknown operation CreateInvoice; the installed model has:"),
        (["--target", "endpoint"], 2, "--target endpoint needs --endpoint-url"),
        (["--mock-backend", "nope"], 2, "--mock-backend takes module:attr"),
        (["--target", "aws"], 3, "--target aws is refused"),
        (["--target", "endpoint", "--endpoint-url", "http://127.0.0.1:9"], 3,
         "cannot reach the endpoint http://127.0.0.1:9"),
    ],
)
def test_bad_input_gives_one_line_and_the_documented_exit_code(args, code, message):
    done = run_cli(*args, timeout=120)
    assert done.returncode == code
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("invoicing-contracts run: ") and message in lines[0]


# ------------------------------------------------------------------------------------ the options, in-process


def test_run_options_become_the_same_pytest_options():
    parser = argparse.ArgumentParser()
    runner.add_arguments(parser)
    args = parser.parse_args(["--target", "endpoint", "--endpoint-url", "http://x:1", "--profile", "dev",
                              "--seed", "7", "--operations", "CreateInvoiceUnit", "GetInvoiceUnit",
                              "--report-dir", "out"])
    argv = runner.pytest_args(args)
    assert argv[0] == str(runner.SUITE_DIR)
    pairs = dict(zip(argv[1:], argv[2:]))
    assert (pairs["--target"], pairs["--endpoint-url"], pairs["--profile"], pairs["--seed"], pairs["--operations"],
            pairs["--report-dir"]) == ("endpoint", "http://x:1", "dev", "7", "CreateInvoiceUnit,GetInvoiceUnit", "out")


def test_pytest_directly_takes_the_same_options(tmp_path):
    environment = {**os.environ, "PYTHONPATH": str(ROOT), "AWS_DEFAULT_REGION": "us-east-1"}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", str(runner.SUITE_DIR), "-q", "-p", "no:cacheprovider", "--profile", "dev",
         "--seed", "1", "--operations", "ListProcurementPortals", "--report-dir", str(tmp_path), "--example-db",
         "none"], capture_output=True, text=True, env=environment, cwd=ROOT, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:]
    assert "2 passed" in done.stdout  # valid + invalid requests for the one operation; no machine selected
    assert results_of(tmp_path)["meta"]["operations"] == ["ListProcurementPortals"]
    bad = subprocess.run([sys.executable, "-m", "pytest", str(runner.SUITE_DIR), "--profile", "fast"],
                         capture_output=True, text=True, env=environment, cwd=ROOT, timeout=120)
    assert bad.returncode == pytest.ExitCode.USAGE_ERROR and "unknown profile 'fast'" in bad.stderr


def test_profiles_grow_from_dev_to_thorough():
    dev, ci, thorough = (runner.PROFILES[name] for name in ("dev", "ci", "thorough"))
    assert dev.max_examples < ci.max_examples < thorough.max_examples
    assert dev.stateful_examples < ci.stateful_examples < thorough.stateful_examples
