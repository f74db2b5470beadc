"""`invoicing-contracts sweep`: deletes what runs created (ledger or tags), idempotently, and nothing else.

Ends with the kill tests: real-account runs (the guard's `run_aws` with a stand-in suite, and `run --target aws`
itself) killed with SIGKILL at random points (20 times with KILL_TEST_KILLS=20), then one sweep; nothing the runs
created is left, and nothing else was touched."""

from __future__ import annotations

import argparse
import io
import multiprocessing
import os
import random
import signal
import subprocess
import sys
import time
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest
from moto import mock_aws

from contracts import guard
from contracts.cli import sweep as sweep_cli_module
from contracts.guard import ledger as ledger_mod
from contracts.guard import sweep
from contracts.guard.ledger import TAG_RUN, RunIdentity
from invoicing_mock.faults import DropResponse, Faults
from invoicing_mock.models import InvoicingBackend
from _real_account_support import (  # noqa: F401 - fixtures
    PAYER,
    SECRET,
    accounts_file,
    aws_test_environment,
    emulator,
    preference_params,
    raw_client,
    run_options,
    snapshot,
    unit_params,
)

OPT_IN = {guard.OPT_IN_ENV: "1"}
OLD_RUN = "20200101T000000Z-0000beef"


def start_run(tmp_path, url) -> guard.RealAccountRun:
    options = run_options(tmp_path, url=url)
    with mock_aws():
        return guard.RealAccountRun.start(options, guard.clear(options, environ=OPT_IN))


def production(raw) -> dict:
    """Resources the runs did not create, some of them look-alikes; returns their snapshot."""
    raw.create_invoice_unit(**unit_params("production unit", ResourceTags=[{"Key": "team", "Value": "billing"}]))
    raw.create_invoice_unit(**unit_params("ict-0000beef-look-alike"))  # a run's name, no run tag
    raw.create_procurement_portal_preference(**preference_params(ResourceTags=[{"Key": "team", "Value": "ap"}]))
    raw.create_procurement_portal_preference(
        **preference_params(ResourceTags=[{"Key": TAG_RUN, "Value": "not-a-run-id"}]))
    return snapshot(raw)


def sweep_cli(*argv: str, environ=None) -> tuple[int, str, str]:
    parser = argparse.ArgumentParser()
    sweep_cli_module.add_arguments(parser)
    args = parser.parse_args(list(argv))
    out, err = io.StringIO(), io.StringIO()
    env = {**os.environ, **(OPT_IN if environ is None else environ)}
    old = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        with mock_aws(), redirect_stdout(out), redirect_stderr(err):
            code = sweep_cli_module.main(args)
    finally:
        os.environ.clear()
        os.environ.update(old)
    return code, out.getvalue(), err.getvalue()


AWS_FLAGS = (guard.OPT_IN_FLAG, "--allowed-account", PAYER, "--max-rate", "1000")


# ------------------------------------------------------------------------------------------------ from ledgers


def test_sweep_removes_what_the_ledger_holds_and_nothing_else(tmp_path, emulator):
    url, _backend, log = emulator
    raw = raw_client(url)
    before = production(raw)
    real = start_run(tmp_path, url)
    client = real.client()
    units = [client.create_invoice_unit(**unit_params(real.identity.unit_name(f"s{i}")))["InvoiceUnitArn"]
             for i in range(2)]
    pref = client.create_procurement_portal_preference(
        **preference_params(ProcurementPortalSharedSecret=SECRET, Selector={"InvoiceUnitArns": units[:1]}))[
        "ProcurementPortalPreferenceArn"]
    real.ledger.close()  # the run "dies" here, without its cleanup
    log.calls.clear()

    code, out, err = sweep_cli("--ledger-dir", str(tmp_path / "ledgers"), *AWS_FLAGS)
    assert code == 0, out + err
    assert out.startswith("sweep: 3 removed")
    deletes = [(op, p.get("InvoiceUnitArn") or p.get("ProcurementPortalPreferenceArn"))
               for op, _a, p in log.calls if op.startswith("Delete")]
    assert deletes[0] == ("DeleteProcurementPortalPreference", pref), "preferences go before the units they select"
    assert sorted(arn for _op, arn in deletes[1:]) == sorted(units)
    assert snapshot(raw) == before
    state = ledger_mod.read(real.ledger.path)
    assert state.swept and state.clean and state.deleted == {*units, pref}

    # Idempotent: swept ledgers are skipped; an explicit one is checked again and changes nothing.
    log.calls.clear()
    code, out, _err = sweep_cli("--ledger-dir", str(tmp_path / "ledgers"), *AWS_FLAGS)
    assert (code, out.strip()) == (0, f"sweep: no ledger left to sweep in {tmp_path / 'ledgers'}; nothing to do")
    code, out, _err = sweep_cli("--ledger", str(real.ledger.path), *AWS_FLAGS)
    assert (code, out.strip()) == (0, "sweep: nothing to do")
    assert log.writes() == [] and snapshot(raw) == before


def test_an_edited_ledger_cannot_point_the_sweep_at_production(tmp_path, emulator):
    url, _backend, log = emulator
    raw = raw_client(url)
    before = production(raw)
    victim = next(arn for arn, (unit, _tags) in before.items() if unit.get("Name") == "production unit")
    real = start_run(tmp_path, url)
    seq = real.ledger.intend("CreateInvoiceUnit", "forged", resource_type="InvoiceUnit")
    real.ledger.created(seq, victim)
    real.ledger.close()
    log.calls.clear()
    code, out, _err = sweep_cli("--ledger-dir", str(tmp_path / "ledgers"), *AWS_FLAGS)
    assert code == 1
    assert f"kept         InvoiceUnit {victim}" in out and "not ours, not deleted" in out
    assert log.writes() == [] and snapshot(raw) == before
    assert not ledger_mod.read(real.ledger.path).swept


def test_a_lost_create_is_found_by_its_token_tag_or_its_run_name(tmp_path, emulator):
    url, _backend, _log = emulator
    raw = raw_client(url)
    before = production(raw)
    real = start_run(tmp_path, url)
    identity = real.identity
    # The run wrote its intents, the creates committed, and it died before writing the ARNs.
    seq_pref = real.ledger.intend("CreateProcurementPortalPreference", "tok-p", resource_type="ProcurementPortalPreference")
    pref = raw.create_procurement_portal_preference(
        **preference_params(ResourceTags=identity.tags("tok-p"), ClientToken="tok-p"))["ProcurementPortalPreferenceArn"]
    name = identity.unit_name("late-tags")
    seq_unit = real.ledger.intend("CreateInvoiceUnit", "tok-u", resource_type="InvoiceUnit", name=name)
    unit = raw.create_invoice_unit(**unit_params(name))["InvoiceUnitArn"]  # tags not (yet) applied
    raw.tag_resource(ResourceArn=unit, ResourceTags=[{"Key": TAG_RUN, "Value": identity.run_id}])
    real.ledger.close()

    code, out, _err = sweep_cli("--ledger-dir", str(tmp_path / "ledgers"), "--pending-grace", "0", *AWS_FLAGS)
    assert code == 0, out
    assert f"removed      ProcurementPortalPreference {pref}" in out and f"removed      InvoiceUnit {unit}" in out
    state = ledger_mod.read(real.ledger.path)
    assert state.entries[seq_pref].arn == pref and state.entries[seq_unit].arn == unit and state.swept
    assert snapshot(raw) == before


def test_a_lost_create_that_never_happened_waits_out_the_grace(tmp_path, emulator):
    url, _backend, _log = emulator
    real = start_run(tmp_path, url)
    seq = real.ledger.intend("CreateInvoiceUnit", "tok-never", resource_type="InvoiceUnit",
                             name=real.identity.unit_name("never"))
    real.ledger.close()
    ledgers = str(tmp_path / "ledgers")
    code, out, _err = sweep_cli("--ledger-dir", ledgers, "--pending-grace", "3600", *AWS_FLAGS)
    assert code == 1 and "pending      InvoiceUnit (not found)" in out and "sweep again after 3600s" in out
    code, out, _err = sweep_cli("--ledger-dir", ledgers, "--pending-grace", "0", *AWS_FLAGS)
    assert code == 0
    assert ledger_mod.read(real.ledger.path).entries[seq].outcome == "absent"


def test_an_interrupted_delete_is_replayed_with_its_token(tmp_path):
    """The sweep's delete commits but its answer is lost: botocore resends the same token, the service replays
    the success, and the sweep reports it removed (not 'already gone')."""
    from invoicing_mock import server

    class LoseFirstDelete(Faults):
        lost = 0
        tokens: list = []

        def after(self, call, backend, result):
            if call.operation == "DeleteInvoiceUnit":
                self.tokens.append(call.params["ClientToken"])
                if not self.lost:
                    self.lost += 1
                    raise DropResponse()
            return result

    faults = LoseFirstDelete()
    served = server.start(backend=InvoicingBackend(faults=faults))
    try:
        real = start_run(tmp_path, served.url)
        arn = real.client().create_invoice_unit(**unit_params(real.identity.unit_name("d")))["InvoiceUnitArn"]
        real.ledger.close()
        code, out, _err = sweep_cli("--ledger-dir", str(tmp_path / "ledgers"), *AWS_FLAGS)
        assert code == 0 and f"removed      InvoiceUnit {arn}" in out
        assert len(faults.tokens) == 2 and faults.tokens[0] == faults.tokens[1] == sweep.delete_token(
            real.identity.run_id, arn)
    finally:
        served.stop()


def test_a_create_answered_with_a_server_error_after_it_committed_is_swept(tmp_path):
    """A 5xx does not prove there was no effect: the entry stays pending and the sweep finds the resource."""
    from botocore.config import Config

    from invoicing_mock import server
    from invoicing_mock.exceptions import InternalServerException

    class FailAfterCommit(Faults):
        def after(self, call, backend, result):
            if call.operation == "CreateInvoiceUnit":
                raise InternalServerException("the answer failed after the unit was created")
            return result

    served = server.start(backend=InvoicingBackend(faults=FailAfterCommit()))
    try:
        real = start_run(tmp_path, served.url)
        client = real.client(config=Config(retries={"mode": "standard", "total_max_attempts": 1}))
        with pytest.raises(client.exceptions.InternalServerException):
            client.create_invoice_unit(**unit_params(real.identity.unit_name("5xx")))
        real.ledger.close()
        assert [e.outcome for e in ledger_mod.read(real.ledger.path).entries.values()] == ["pending"]
        code, out, _err = sweep_cli("--ledger-dir", str(tmp_path / "ledgers"), "--pending-grace", "0", *AWS_FLAGS)
        assert code == 0 and out.startswith("sweep: 1 removed"), out
        assert snapshot(raw_client(served.url)) == {}
    finally:
        served.stop()


# ------------------------------------------------------------------------------------------------ from tags


def test_sweep_by_tags_finds_runs_without_ledgers(tmp_path, emulator):
    url, _backend, log = emulator
    raw = raw_client(url)
    before = production(raw)
    old, young = RunIdentity(OLD_RUN), RunIdentity.new()
    made = {}
    for identity in (old, young):
        made[identity.run_id] = [
            raw.create_invoice_unit(**unit_params(identity.unit_name("t"), ResourceTags=identity.tags("a")))[
                "InvoiceUnitArn"],
            raw.create_procurement_portal_preference(**preference_params(ResourceTags=identity.tags("b")))[
                "ProcurementPortalPreferenceArn"],
        ]
    # --all-runs leaves a run that may still be going (younger than --min-age) alone.
    code, out, _err = sweep_cli("--target", "aws", "--all-runs", *AWS_FLAGS, "--endpoint-url", url)
    assert code == 1, out
    assert out.startswith("sweep: 2 removed, 2 kept")
    assert all(f"removed      {kind} {arn}" in out
               for kind, arn in zip(("InvoiceUnit", "ProcurementPortalPreference"), made[OLD_RUN]))
    # Naming the run sweeps it whatever its age.
    code, out, _err = sweep_cli("--target", "aws", "--run-id", young.run_id, *AWS_FLAGS, "--endpoint-url", url)
    assert code == 0 and out.startswith("sweep: 2 removed")
    assert snapshot(raw) == before


def test_an_endpoint_is_swept_without_the_real_account_keys(tmp_path, emulator):
    url, _backend, _log = emulator
    raw = raw_client(url)
    before = production(raw)
    identity = RunIdentity(OLD_RUN)
    arn = raw.create_invoice_unit(**unit_params(identity.unit_name("e"), ResourceTags=identity.tags("e")))[
        "InvoiceUnitArn"]
    code, out, _err = sweep_cli("--target", "endpoint", "--endpoint-url", url, "--run-id", OLD_RUN,
                                "--ledger-dir", str(tmp_path), "--max-rate", "1000", environ={})
    assert code == 0 and out.startswith(f"sweep: 1 removed\n  removed      InvoiceUnit {arn}")
    assert snapshot(raw) == before


def test_dry_run_deletes_nothing(tmp_path, emulator):
    url, _backend, log = emulator
    real = start_run(tmp_path, url)
    arn = real.client().create_invoice_unit(**unit_params(real.identity.unit_name("dry")))["InvoiceUnitArn"]
    real.ledger.close()
    log.calls.clear()
    code, out, _err = sweep_cli("--ledger-dir", str(tmp_path / "ledgers"), "--dry-run", *AWS_FLAGS)
    assert code == 1 and f"would-remove InvoiceUnit {arn}" in out
    assert log.writes() == [] and not ledger_mod.read(real.ledger.path).swept
    real.finish()


# ------------------------------------------------------------------------------------------------ refusals


def test_sweeping_a_real_account_needs_the_same_opt_in(tmp_path, emulator):
    url, _backend, log = emulator
    real = start_run(tmp_path, url)
    real.client().create_invoice_unit(**unit_params(real.identity.unit_name("o")))
    real.ledger.close()
    log.calls.clear()
    code, _out, err = sweep_cli("--ledger-dir", str(tmp_path / "ledgers"), *AWS_FLAGS, environ={})
    assert code == 3 and "refusing sweep in a real account" in err and "is not set to 1" in err
    assert log.operations() == []
    real.finish()


def test_a_ledger_of_another_account_is_left_alone(tmp_path, emulator, monkeypatch):
    url, _backend, log = emulator
    real = start_run(tmp_path, url)
    real.client().create_invoice_unit(**unit_params(real.identity.unit_name("a")))
    real.ledger.close()
    log.calls.clear()
    monkeypatch.setenv("MOTO_ACCOUNT_ID", "999988887777")
    code, out, _err = sweep_cli("--ledger-dir", str(tmp_path / "ledgers"), guard.OPT_IN_FLAG,
                                "--allowed-account", "999988887777")
    assert code == 1 and f"the ledger is for account {PAYER}, the caller is 999988887777" in out
    assert log.writes() == []
    monkeypatch.delenv("MOTO_ACCOUNT_ID")
    real.finish()


def test_sweep_usage_errors(tmp_path):
    from contracts.exit_codes import UsageError

    with pytest.raises(UsageError, match="no ledger found; give --ledger FILE, or --target"):
        sweep_cli("--all-runs", "--ledger-dir", str(tmp_path))
    with pytest.raises(UsageError, match="--target endpoint needs --endpoint-url"):
        sweep_cli("--target", "endpoint", "--run-id", OLD_RUN, "--ledger-dir", str(tmp_path))
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"kind": "intent"}\n')
    with pytest.raises(UsageError, match="first record must be the run header"):
        sweep_cli("--ledger", str(bad))


# ------------------------------------------------------------------------------------------------ the kill test
# The runs are `invoicing-contracts run --target aws` itself (moto's STS for the caller, the emulator's server in
# its own process for the account), SIGKILLed at random points: while starting, while the suite creates, changes
# and deletes, while it cleans up. CI kills a few runs (KILL_TEST_KILLS, default 4, each in its own stretch of the
# run); KILL_TEST_KILLS=20 is the full kill test (about a minute).

KILLS = int(os.environ.get("KILL_TEST_KILLS", "4"))
# At 25 requests per second a dev-profile run takes about 5.5 s on two cores (3.7 s at 40/s): every kill lands
# before the run could end by itself, and the run spends most of its time on the account, as a real one does.
RUN_RATE = "25"
KILL_WINDOW = (0.2, 4.5)  # seconds after the start


@pytest.fixture
def emulator_process():
    """The emulator's HTTP server in its own process (so this one can fork runs without threads)."""
    root = Path(__file__).resolve().parents[3]
    proc = subprocess.Popen([sys.executable, "-m", "invoicing_mock.server", "--port", "0"], cwd=root,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        line = proc.stdout.readline()
        assert "listening on" in line, line
        yield line.split()[-1]
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def kill_runs_then_sweep(tmp_path, url, run, delays, creates: list[int] | None = None) -> None:
    """Start `run(url, ledger_dir, accounts_file, seed)` in a forked process and SIGKILL it after each delay
    (counted from the run's `creates[number]`-th created resource when given, else from its start); then one sweep
    must remove every resource the runs created and leave everything else as it was."""
    raw = raw_client(url)
    before = production(raw)
    ledgers = tmp_path / "ledgers"
    rng = random.Random(int(os.environ.get("KILL_TEST_SEED", "20260526")))
    fork = multiprocessing.get_context("fork")
    for number, delay in enumerate(delays):
        child = fork.Process(target=run, args=(url, str(ledgers), accounts_file(tmp_path), rng.randrange(2**32)))
        child.start()
        if creates and creates[number]:
            _wait_for_creates(ledgers, _created_in(ledgers) + creates[number], child)
        time.sleep(delay)
        os.kill(child.pid, signal.SIGKILL)
        child.join()
        assert child.exitcode == -signal.SIGKILL, f"run {number} ended by itself (exit {child.exitcode})"
    time.sleep(0.2)  # a request in flight when its client died finishes on the server

    states = [ledger_mod.read(p) for p in ledger_mod.ledgers_in(ledgers) if p.stat().st_size]
    left = sum(len(s.live()) for s in states)
    pending = sum(len(s.pending()) for s in states)
    leftovers = len(snapshot(raw)) - len(before)
    print(f"\nkill test: {len(delays)} runs killed at {', '.join(f'{d:.1f}' for d in delays)} s, {len(states)} "
          f"ledgers, {leftovers} resources left behind ({left} with a recorded ARN, {pending} creates with a lost "
          f"answer)")
    assert leftovers > 0, "the kills should leave something to sweep"

    code, out, err = sweep_cli("--ledger-dir", str(ledgers), "--pending-grace", "0", *AWS_FLAGS)
    print(out.splitlines()[0])
    assert code == 0, out + err
    assert snapshot(raw) == before, "only what the runs created is gone; everything else is as it was"
    code, out, _err = sweep_cli("--ledger-dir", str(ledgers), "--pending-grace", "0", *AWS_FLAGS)
    assert code == 0 and "nothing to do" in out


def _created_in(ledgers: Path) -> int:
    """Resources the ledgers record as created (a torn last line is not one)."""
    return sum(p.read_text().count('"kind": "created"') for p in ledgers.glob("*.jsonl")) if ledgers.exists() else 0


def _wait_for_creates(ledgers: Path, count: int, child, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while _created_in(ledgers) < count and child.is_alive() and time.monotonic() < deadline:
        time.sleep(0.02)


def _real_run(url: str, ledger_dir: str, accounts: str, seed: int) -> None:
    from contracts import cli

    os.environ[guard.OPT_IN_ENV] = "1"
    with mock_aws():  # moto's STS says who the caller is; Invoicing goes to the emulator's server
        code = cli.main(["run", "--target", "aws", "--endpoint-url", url, guard.OPT_IN_FLAG, "--allowed-account",
                         PAYER, "--accounts-file", accounts, "--ledger-dir", ledger_dir, "--max-rate", RUN_RATE,
                         "--profile", "dev", "--seed", str(seed), "--example-db", "none",
                         "--report-dir", str(Path(ledger_dir).parent / "reports"), "--quiet"])
    os._exit(100 + code)  # ended by itself: the test says so


def kill_points(count: int, rng: random.Random) -> list[float]:
    """One kill in each of `count` equal stretches of the window, in random order: even a few kills reach the
    start, the middle and the end of a run."""
    low, high = KILL_WINDOW
    width = (high - low) / count
    points = [rng.uniform(low + i * width, low + (i + 1) * width) for i in range(count)]
    rng.shuffle(points)
    return points


def _guarded_run(url: str, ledger_dir: str, accounts: str, seed: int) -> None:
    """The guard's own path, `run_aws`, with a stand-in for the contract suite: a seeded mix of creates, updates
    and deletes through the guarded client at RUN_RATE (about 4 s), then the run's cleanup (about 2 s)."""
    from contracts.calls import NotSent
    from contracts.options import RunOptions

    rng = random.Random(seed)
    options = RunOptions(target="aws", endpoint_url=url, allow_real_account=True, allowed_account=(PAYER,),
                         accounts_file=accounts, ledger_dir=ledger_dir, max_rate=float(RUN_RATE), max_resources=60)

    def suite(real) -> int:
        client, units = real.client(), []
        for step in range(100):
            roll = rng.random()
            try:
                if roll < 0.45 or not units:
                    units.append(client.create_invoice_unit(
                        **unit_params(real.identity.unit_name(f"k{step}")))["InvoiceUnitArn"])
                elif roll < 0.6:
                    client.create_procurement_portal_preference(**preference_params())
                elif roll < 0.8:
                    client.update_invoice_unit(InvoiceUnitArn=rng.choice(units), Description=f"step {step}")
                else:
                    client.delete_invoice_unit(InvoiceUnitArn=units.pop(rng.randrange(len(units))))
            except NotSent:
                pass  # over the budget: kept back, as the suite would skip it
        return 0

    os.environ[guard.OPT_IN_ENV] = "1"
    with mock_aws():  # moto's STS says who the caller is; Invoicing goes to the emulator's server
        code = guard.run_aws(options, suite, out=io.StringIO(), err=io.StringIO())
    os._exit(100 + code)  # ended by itself: the test says so


def test_guarded_runs_killed_at_random_points_are_swept_clean(tmp_path, emulator_process):
    kill_runs_then_sweep(tmp_path, emulator_process, _guarded_run, kill_points(KILLS, random.Random(11)))


def test_real_runs_killed_at_random_points_are_swept_clean(tmp_path, emulator_process):
    """A whole run makes hundreds of requests at RUN_RATE, most of them before its first create: so each kill but
    the first (at the start) waits for some of the run's creates, then for a random delay."""
    rng = random.Random(11)
    creates = [0] + [rng.randint(1, 8) for _ in range(KILLS - 1)]
    delays = [rng.uniform(*KILL_WINDOW)] + [rng.uniform(0.0, 1.5) for _ in range(KILLS - 1)]
    kill_runs_then_sweep(tmp_path, emulator_process, _real_run, delays, creates)
