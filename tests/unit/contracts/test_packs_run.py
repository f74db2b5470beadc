"""The packs judged against moto: in-process (`--target moto`) and moto's own server on a loopback port
(`--target endpoint`, ThreadedMotoServer). What moto does is fixed by its version, so the findings below are
asserted exactly; a planted fault (contracts.packs.planted: moto ignoring the token) must fail the run on the
idempotency property. Shrinking is bounded (as in test_runner) to keep the runs short."""

from __future__ import annotations

import dataclasses
import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from contracts import cli, options
from contracts.exit_codes import ExitCode
from contracts.model.redaction import REDACTOR

SHRINK_SECONDS = 3
PLANTED = "contracts.packs.planted:ignore_token"


@pytest.fixture
def run(capsys, monkeypatch):
    monkeypatch.setitem(options.PROFILES, "dev", dataclasses.replace(options.PROFILES["dev"],
                                                                    shrink_seconds=SHRINK_SECONDS))

    def call(tmp_path: Path, *args: str) -> tuple[int, dict, str]:
        capsys.readouterr()
        code = cli.main(["run", "--profile", "dev", "--seed", "1", "--example-db", "none", "--quiet",
                         "--report-dir", str(tmp_path), *args])
        out = capsys.readouterr().out
        return code, json.loads((tmp_path / "results.json").read_text()), out

    return call


@pytest.fixture(scope="module")
def moto_server():
    from moto.server import ThreadedMotoServer

    with socket.socket() as probe:  # a free loopback port
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


def cells(results: dict, operation: str) -> dict:
    return results["operations"][operation]["properties"]


def failures(results: dict, operation: str, prop: str) -> dict[str, dict]:
    return {f["expectation"]: f for f in cells(results, operation)[prop]["failures"]}


def replays(tmp_path: Path, failure: dict) -> subprocess.CompletedProcess:
    script = tmp_path / "repro.py"
    script.write_text(failure["reproduction"])
    return subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120,
                          cwd=tmp_path)


# ----------------------------------------------------------------------------------------------------- EFS


def test_efs_against_moto_finds_the_missing_file_system_id_and_nothing_else_in_the_token_contract(tmp_path, run):
    code, results, out = run(tmp_path, "--service", "efs", "--target", "moto", "--operations", "CreateFileSystem")
    assert code == ExitCode.VIOLATED
    assert results["meta"]["target"] == "moto" and results["meta"]["moto_version"]
    props = cells(results, "CreateFileSystem")
    # The documented departure: FileSystemAlreadyExists without the existing file system's ID.
    found = failures(results, "CreateFileSystem", "replay-equivalence")
    assert set(found) == {"error-members"}
    assert found["error-members"]["basis"] == "documented"
    assert "with the ID of the existing file system" in found["error-members"]["expected"]
    # One file system per token, refused replays and conflicts: held, exercised.
    assert props["conflict-rejection"]["verdict"] == "held" and props["conflict-rejection"]["exercised"]
    assert {"pack:effects", "pack:answer", "pack:code"} <= set(props["replay-equivalence"]["checks"])
    # The reproduction runs as is and fails while moto departs, saying why.
    done = replays(tmp_path, found["error-members"])
    assert done.returncode == 1 and "with the ID of the existing file system" in done.stderr
    assert (tmp_path / "junit.xml").exists() and "FileSystemAlreadyExists" in (tmp_path / "behaviour.md").read_text()


def test_a_moto_that_ignores_the_creation_token_fails_on_the_effects(tmp_path, run):
    code, results, out = run(tmp_path, "--service", "efs", "--target", "moto", "--operations", "CreateFileSystem",
                             "--mock-backend", PLANTED)
    assert code == ExitCode.VIOLATED
    assert "effects" in failures(results, "CreateFileSystem", "replay-equivalence")
    assert "effects" in failures(results, "CreateFileSystem", "conflict-rejection")
    assert "Replay equivalence" in out and "counts 2 effects, not 1" in out
    assert results["meta"]["planted_fault"] == PLANTED


def test_efs_through_moto_server_finds_the_same(tmp_path, run, moto_server):
    code, results, _ = run(tmp_path, "--service", "efs", "--target", "endpoint", "--endpoint-url", moto_server,
                           "--operations", "CreateFileSystem")
    assert code == ExitCode.VIOLATED
    assert results["meta"]["endpoint_url"] == moto_server
    assert set(failures(results, "CreateFileSystem", "replay-equivalence")) == {"error-members"}
    assert cells(results, "CreateFileSystem")["conflict-rejection"]["verdict"] == "held"


# ------------------------------------------------------------------------------------------ Secrets Manager


STATELESS = {"valid-requests", "output-schema", "declared-errors"}


def test_secrets_manager_token_contract_holds_in_moto(tmp_path, run):
    code, results, _ = run(tmp_path, "--service", "secretsmanager", "--target", "moto", "--operations",
                           "CreateSecret")
    props = cells(results, "CreateSecret")
    for prop in ("replay-equivalence", "conflict-rejection"):
        assert props[prop]["verdict"] == "held" and props[prop]["exercised"], prop
    # moto's stateless findings (e.g. AddReplicaRegions [{}] raises KeyError 'Region') are the only failures.
    assert {p for p, cell in props.items() if cell["verdict"] != "held"} <= STATELESS
    assert code in (ExitCode.OK, ExitCode.VIOLATED)
    secrets = {s for s in REDACTOR.known_secrets() if len(s) >= 8}
    assert secrets  # the run sent SecretString values
    for path in tmp_path.iterdir():
        text = path.read_text(errors="replace")
        assert not [s for s in secrets if s in text], path.name


def test_a_moto_that_ignores_the_client_request_token_fails_on_the_conflict(tmp_path, run):
    code, results, out = run(tmp_path, "--service", "secretsmanager", "--target", "moto", "--operations",
                             "CreateSecret", "--mock-backend", PLANTED)
    assert code == ExitCode.VIOLATED
    found = failures(results, "CreateSecret", "conflict-rejection")
    assert found and all(f["basis"] == "documented" for f in found.values())
    assert "you cannot modify an existing version" in out


def test_secrets_manager_through_moto_server(tmp_path, run, moto_server):
    code, results, _ = run(tmp_path, "--service", "secretsmanager", "--target", "endpoint", "--endpoint-url",
                           moto_server, "--operations", "CreateSecret")
    props = cells(results, "CreateSecret")
    assert props["replay-equivalence"]["verdict"] == "held" and props["conflict-rejection"]["verdict"] == "held"
    assert {p for p, cell in props.items() if cell["verdict"] != "held"} <= STATELESS
    assert code in (ExitCode.OK, ExitCode.VIOLATED)


def test_list_secret_version_ids_of_an_unknown_secret_crashes_moto(tmp_path, run):
    code, results, _ = run(tmp_path, "--service", "secretsmanager", "--target", "moto", "--operations",
                           "ListSecretVersionIds")
    assert code == ExitCode.VIOLATED
    found = failures(results, "ListSecretVersionIds", "valid-requests")["no-5xx"]
    assert "KeyError" in found["observed"] and found["basis"] == "model"
    done = replays(tmp_path, found)
    assert done.returncode == 1 and "KeyError" in done.stderr


def test_an_invoicing_run_leaves_the_pack_tests_out(tmp_path, run):
    code, results, _ = run(tmp_path, "--operations", "ListProcurementPortals")
    assert "pack" not in results["meta"] and set(results["operations"]) <= {"ListProcurementPortals"}
    assert code == ExitCode.OK


@pytest.mark.parametrize("service, kept", [("efs", "test_pack_contracts.py"), ("invoicing", "test_stateless.py")])
def test_pytest_on_the_whole_suite_keeps_only_the_chosen_packs_tests(tmp_path, service, kept):
    target = ["--target", "moto"] if service != "invoicing" else []
    done = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--collect-only", "-q",
                           "--pyargs", "contracts.suite", "--service", service, *target,
                           "--report-dir", str(tmp_path)], capture_output=True, text=True, timeout=300,
                          cwd=tmp_path)
    items = [line for line in done.stdout.splitlines() if "::" in line]
    assert items and any(kept in item for item in items), done.stdout[-2000:]
    assert all(("test_pack_contracts.py" in item) == (service != "invoicing") for item in items)
