"""Scheduled faults (invoicing_mock.faults), the server's fault admin interface and `serve` flags, the planted
exactly-once variants (invoicing_mock.planted), and a short soak of the HTTP server."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ConnectionClosedError, ReadTimeoutError

from invoicing_mock import mock_invoicing
from invoicing_mock.clock import ManualClock, OffsetClock
from invoicing_mock.faults import FaultRule, FaultSpecError, ScheduledFaults
from invoicing_mock.models import Call, InvoicingBackend
from invoicing_mock.planted import RacyTokenCheck, RetryExecutesTwice
from invoicing_mock.server import start

PAYER = "123456789012"
ROOT = Path(__file__).resolve().parents[3]
# The real CLI dispatch with only `serve` registered (as test_mock_server.py runs it).
SERVE = (
    "import sys, contracts.cli as cli; cli.COMMANDS = {'serve': cli.COMMANDS['serve']}; "
    "sys.exit(cli.main(['serve'] + sys.argv[1:]))"
)


def run_serve(*args: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-c", SERVE, *args], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def retrying(url=None, attempts=3, read_timeout=30):
    return boto3.client("invoicing", region_name="us-east-1", endpoint_url=url,
                        config=Config(retries={"mode": "standard", "total_max_attempts": attempts},
                                      read_timeout=read_timeout))


def once(url=None):
    return retrying(url, attempts=1)


def create(client, token, name="A"):
    return client.create_invoice_unit(Name=name, InvoiceReceiver=PAYER, Rule={}, ClientToken=token)


def units(client):
    return client.list_invoice_units()["InvoiceUnits"]


def admin(url, method, path, payload=None):
    data = None if payload is None else json.dumps(payload).encode()
    request = urllib.request.Request(f"{url}/_invoicing/{path}", data=data, method=method)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


# ------------------------------------------------------------------------------------------------ the rules
@pytest.mark.parametrize(("rule", "message"), [
    ({"kind": "explode"}, "unknown fault kind 'explode'; choose one of: drop, throttle, internal, latency"),
    ({"kind": "drop", "phase": "before"}, "fault rule 'drop': phase 'before' is not one of after"),
    ({"kind": "latency"}, "fault rule 'latency': latency needs seconds > 0"),
    ({"kind": "throttle", "nth": [1], "every": 2}, "give at most one of nth, every, probability (got nth, every)"),
    ({"kind": "throttle", "nth": [0]}, "nth lists 1-based call positions"),
    ({"kind": "throttle", "probability": 1.5}, "probability must be between 0 and 1; got 1.5"),
    ({"kind": "throttle", "operation": "CreateWidget"}, "'CreateWidget' is not an Invoicing operation"),
    ({"kind": "latency", "seconds": 3600}, "seconds must be between 0 and 60"),
    ({"kind": "drop", "colour": "red"}, "unknown key(s) ['colour']"),
    ({"operation": "CreateInvoiceUnit"}, "needs a kind (drop, throttle, internal, latency)"),
])
def test_a_bad_rule_says_what_to_change(rule, message):
    with pytest.raises(FaultSpecError) as raised:
        FaultRule.of(rule)
    assert message in str(raised.value)


def test_the_command_line_form_and_the_json_form_agree():
    rule = FaultRule.parse("drop:operation=CreateInvoiceUnit,nth=1+3,seconds=0.5")
    assert rule.to_dict() == {"kind": "drop", "operation": "CreateInvoiceUnit", "nth": [1, 3], "seconds": 0.5,
                              "phase": "after"}
    assert FaultRule.of(rule.to_dict()) == rule
    assert FaultRule.parse("internal:every=5,retry_after=2,phase=after").to_dict() == {
        "kind": "internal", "every": 5, "retry_after": 2, "phase": "after"}
    with pytest.raises(FaultSpecError, match="'nth' is not key=value"):
        FaultRule.parse("drop:nth")
    with pytest.raises(FaultSpecError, match="every='x' is not a number"):
        FaultRule.parse("drop:every=x")


def picks(schedule: ScheduledFaults, calls: int, operation="ListInvoiceUnits") -> list[int]:
    backend = InvoicingBackend(clock=ManualClock())
    chosen = []
    for position in range(1, calls + 1):
        call = Call(PAYER, operation, {})
        try:
            schedule.before(call, backend)
        except ClientError:  # never: the backend raises its own errors, not botocore's
            raise
        except Exception:  # noqa: BLE001 - the throttle fired
            chosen.append(position)
    return chosen


def test_nth_every_and_times_pick_calls_by_position():
    assert picks(ScheduledFaults([{"kind": "throttle", "nth": [2, 5]}]), 6) == [2, 5]
    assert picks(ScheduledFaults([{"kind": "throttle", "every": 3}]), 10) == [3, 6, 9]
    assert picks(ScheduledFaults([{"kind": "throttle", "every": 2, "times": 2}]), 10) == [2, 4]
    assert picks(ScheduledFaults([{"kind": "throttle", "operation": "GetInvoiceUnit"}]), 3) == []


def test_probability_is_seeded_so_a_run_repeats_exactly():
    rule = {"kind": "throttle", "probability": 0.3}
    first = picks(ScheduledFaults([rule], seed=7), 200)
    assert first == picks(ScheduledFaults([rule], seed=7), 200)
    assert first != picks(ScheduledFaults([rule], seed=8), 200)
    assert 30 <= len(first) <= 90  # about 60 of 200


# ------------------------------------------------------------------------------------------------ in-process
def test_a_dropped_response_is_retried_by_botocore_with_the_same_token_and_has_one_effect(inprocess):
    inprocess.backend.faults = schedule = ScheduledFaults([{"kind": "drop", "operation": "CreateInvoiceUnit",
                                                            "nth": [1]}])
    response = create(retrying(), "tok-1")
    assert response["ResponseMetadata"]["RetryAttempts"] == 1
    assert [u["InvoiceUnitArn"] for u in units(once())] == [response["InvoiceUnitArn"]]
    log = [(c["operation"], c["token"], c["faults"]) for c in schedule.log()]
    assert log[:2] == [("CreateInvoiceUnit", "tok-1", ["drop"]), ("CreateInvoiceUnit", "tok-1", [])]


def test_without_retries_the_client_sees_the_lost_response_while_the_effect_stays(inprocess):
    inprocess.backend.faults = ScheduledFaults([{"kind": "drop", "nth": [1]}, {"kind": "drop", "seconds": 1,
                                                                               "nth": [2]}])
    with pytest.raises(ConnectionClosedError):
        create(once(), "tok-1")
    with pytest.raises(ReadTimeoutError):  # a hanging drop: in-process the timeout comes at once
        create(once(), "tok-2", name="B")
    assert sorted(u["Name"] for u in units(once())) == ["A", "B"]


def test_throttling_refuses_before_any_effect_and_leaves_the_token_unused(inprocess, refused):
    inprocess.backend.faults = ScheduledFaults([{"kind": "throttle", "token": "tok-1", "nth": [1]}])
    error = refused(once().create_invoice_unit, Name="A", InvoiceReceiver=PAYER, Rule={}, ClientToken="tok-1")
    assert (error["Code"], error["Status"]) == ("ThrottlingException", 400)
    assert error["Message"] == "Rate exceeded (a fault injected by the emulator's schedule)"
    assert units(once()) == []
    # Unused: another payload with the token is a new request, not a conflict.
    assert create(once(), "tok-1", name="Other")["InvoiceUnitArn"]


def test_an_internal_error_carries_retry_after_and_after_the_commit_keeps_the_effect(inprocess, refused):
    inprocess.backend.faults = ScheduledFaults([
        {"kind": "internal", "retry_after": 3, "nth": [1]},
        {"kind": "internal", "phase": "after", "nth": [2]},
    ])
    before = refused(once().create_invoice_unit, Name="A", InvoiceReceiver=PAYER, Rule={}, ClientToken="t1")
    assert (before["Code"], before["Status"], before["retryAfterSeconds"]) == ("InternalServerException", 500, 3)
    after = refused(once().create_invoice_unit, Name="B", InvoiceReceiver=PAYER, Rule={}, ClientToken="t2")
    assert "after the effect was committed" in after["Message"]
    assert [u["Name"] for u in units(once())] == ["B"]
    # botocore's retry of the committed request replays its result: still one unit.
    assert create(once(), "t2", name="B")["InvoiceUnitArn"] == units(once())[0]["InvoiceUnitArn"]


def test_latency_delays_the_answer(inprocess):
    inprocess.backend.faults = ScheduledFaults([{"kind": "latency", "seconds": 0.2, "nth": [1]}])
    started = time.monotonic()
    units(once())
    assert time.monotonic() - started >= 0.2


def test_an_in_flight_hold_makes_a_concurrent_duplicate_an_in_flight_conflict(inprocess):
    inprocess.backend.faults = ScheduledFaults([{"kind": "latency", "phase": "inflight", "seconds": 0.3,
                                                 "token": "tok-1", "nth": [1]}])
    answers: list = []
    clients = [once(), once()]

    def send(client):
        try:
            answers.append(create(client, "tok-1")["InvoiceUnitArn"])
        except ClientError as error:
            answers.append(error.response["reason"])

    first = threading.Thread(target=send, args=(clients[0],))
    first.start()
    deadline = time.monotonic() + 5
    while inprocess.backend.tokens.in_flight() == 0 and time.monotonic() < deadline:
        time.sleep(0.01)  # until the first is held in flight
    send(clients[1])
    first.join()
    assert answers[0] == "other" and answers[1].startswith("arn:")
    assert len(units(once())) == 1 and inprocess.backend.tokens.in_flight() == 0


def test_an_in_flight_rule_holds_the_first_call_to_get_in_flight_not_the_first_to_arrive():
    """Two duplicates whose arrival order and token-check order differ (the first slowed in validation): "hold
    the first" holds the one that won the token, so the other overlaps it in the run and in its reproduction."""
    faults = ScheduledFaults([{"kind": "latency", "phase": "inflight", "seconds": 0.01, "token": "tok-1",
                               "nth": [1]}])
    backend = InvoicingBackend()
    params = {"Name": "A", "InvoiceReceiver": PAYER, "Rule": {}, "ClientToken": "tok-1"}
    early, late = (Call(PAYER, "CreateInvoiceUnit", dict(params), request_id=rid) for rid in ("early", "late"))
    faults.before(early, backend)
    faults.before(late, backend)
    faults.during(late, backend)
    faults.during(early, backend)
    applied = {entry["request_id"]: entry["faults"] for entry in faults.log()}
    assert applied == {"early": [], "late": ["latency:inflight"]}


def test_advancing_a_wall_clock_backend_forgets_tokens():
    backend = InvoicingBackend(idempotency_window=60)
    with mock_invoicing(backend=backend):
        arn = create(once(), "tok-1")["InvoiceUnitArn"]
        assert create(once(), "tok-1")["InvoiceUnitArn"] == arn
        backend.advance_clock(61)
        assert isinstance(backend.clock, OffsetClock) and backend.tokens.clock is backend.clock
        with pytest.raises(ClientError, match="duplicateInvoiceUnit|already exists"):
            create(once(), "tok-1")  # forgotten: it runs again, and the name is taken


# --------------------------------------------------------------------------------------- planted variants
def schedule_fired(backend) -> bool:
    return backend.faults.fired() > 0

def test_retry_executes_twice_runs_a_retried_lost_request_again():
    backend = RetryExecutesTwice(clock=ManualClock(), faults=ScheduledFaults([{"kind": "drop", "nth": [1]}]))
    with mock_invoicing(backend=backend):
        with pytest.raises(ClientError, match="already exists"):
            create(retrying(), "tok-1")  # committed, lost, retried: the retry ran again and hit its own name
        assert len(units(once())) == 1


def test_racy_token_check_executes_concurrent_duplicates_twice():
    backend = RacyTokenCheck(clock=ManualClock(), faults=ScheduledFaults([
        {"kind": "latency", "phase": "inflight", "seconds": 0.3, "token": "tok-1", "nth": [1]}]))
    with mock_invoicing(backend=backend):
        arn = create(once(), "setup")["InvoiceUnitArn"]
        answers = []

        def update():
            answers.append(once().update_invoice_unit(InvoiceUnitArn=arn, Description="x", ClientToken="tok-1"))

        threads = [threading.Thread(target=update) for _ in range(2)]
        threads[0].start()
        deadline = time.monotonic() + 5
        while not schedule_fired(backend) and time.monotonic() < deadline:
            time.sleep(0.01)  # until the first is held between its token check and its execution
        threads[1].start()
        for thread in threads:
            thread.join()
        assert len(answers) == 2  # both executed: the correct emulator refuses the second as in flight
        assert len(backend.invoice_unit_histories(PAYER)[arn].versions) == 3  # created + two updates


# ----------------------------------------------------------------------------------- over HTTP: admin, flags
def test_the_admin_interface_sets_reads_and_clears_faults(http):
    url = http.url
    status, state = admin(url, "POST", "faults", {"seed": 3, "rules": [{"kind": "drop", "operation":
                                                                          "CreateInvoiceUnit", "nth": [1]}]})
    assert status == 200 and state["seed"] == 3 and state["rules"][0]["kind"] == "drop"
    assert state["idempotency_window"] == 86400
    response = create(retrying(url), "tok-1")
    assert response["ResponseMetadata"]["RetryAttempts"] == 1 and len(units(once(url))) == 1
    status, log = admin(url, "GET", "log?since=0")
    assert [(c["operation"], c["token"], c["faults"]) for c in log["calls"]][:2] == [
        ("CreateInvoiceUnit", "tok-1", ["drop"]), ("CreateInvoiceUnit", "tok-1", [])]
    assert "Rule" not in json.dumps(log)  # no request bodies (so no secrets) in the log
    status, state = admin(url, "GET", "faults")
    assert state["rules"][0]["fired"] == 1 and state["rules"][0]["seen"] == 2
    assert admin(url, "DELETE", "faults")[1]["rules"] == []


def test_the_admin_interface_refuses_bad_input_with_a_message(http):
    status, body = admin(http.url, "POST", "faults", {"rules": [{"kind": "explode"}]})
    assert status == 400 and body["message"].startswith("unknown fault kind 'explode'")
    status, body = admin(http.url, "POST", "clock", {"advance": "soon"})
    assert status == 400 and body["message"] == 'POST /_invoicing/clock takes {"advance": seconds}'
    status, body = admin(http.url, "GET", "nothing")
    assert status == 404 and "/_invoicing/faults" in body["message"]


def test_the_admin_clock_moves_the_server_past_the_token_window(http):
    url = http.url
    arn = create(once(url), "tok-1")["InvoiceUnitArn"]
    before = admin(url, "GET", "clock")[1]["now"]
    status, body = admin(url, "POST", "clock", {"advance": 86401})
    assert status == 200 and body["now"] >= before + 86401
    with pytest.raises(ClientError, match="already exists"):
        create(once(url), "tok-1")  # the token was forgotten: the create ran again
    assert [u["InvoiceUnitArn"] for u in units(once(url))] == [arn]


def test_a_hanging_drop_is_a_read_timeout_over_http_and_the_retry_gets_the_result(http):
    admin(http.url, "POST", "faults", {"rules": [{"kind": "drop", "seconds": 1.0, "nth": [1]}]})
    response = create(retrying(http.url, read_timeout=0.4), "tok-1")
    assert response["ResponseMetadata"]["RetryAttempts"] == 1 and len(units(once(http.url))) == 1


def test_without_admin_the_admin_paths_are_just_unknown_requests():
    served = start(0, backend=InvoicingBackend(clock=ManualClock()), admin=False)
    try:
        status, body = admin(served.url, "GET", "faults")
        assert status == 404 and body["__type"].endswith("#UnknownOperationException")
    finally:
        served.stop()


def test_serve_takes_faults_on_the_command_line():
    process = run_serve("--port", "0", "--fault", "throttle:operation=ListInvoiceUnits,nth=1", "--fault-seed", "4")
    try:
        first = process.stdout.readline()
        assert first.startswith("Invoicing emulator listening on"), first + process.stderr.read()
        url = first.split()[-1]
        lines = [process.stdout.readline() for _ in range(2)]
        assert '"seed": 4' in lines[1] and '"kind": "throttle"' in lines[1]
        with pytest.raises(ClientError, match="ThrottlingException"):
            units(once(url))
        assert units(once(url)) == []
        assert admin(url, "GET", "faults")[1]["rules"][0]["fired"] == 1
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_a_bad_fault_flag_is_a_one_line_usage_error(tmp_path):
    process = run_serve("--fault", "explode")
    assert process.wait(timeout=20) == 2
    err = process.stderr.read()
    assert "unknown fault kind 'explode'" in err
    bad = tmp_path / "faults.json"
    bad.write_text('{"rules": [{"kind": "drop", "nth": [0]}]}')
    process = run_serve("--faults-file", str(bad))
    assert process.wait(timeout=20) == 2
    err = process.stderr.read()
    assert err.count("\n") == 1 and "nth lists 1-based call positions" in err


# ---------------------------------------------------------------------------------------------------- soak
def test_a_short_soak_of_32_clients_sees_only_injected_5xx_and_no_deadlock():
    spec = importlib.util.spec_from_file_location("soak_server", ROOT / "benchmarks" / "soak_server.py")
    soak_server = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = soak_server  # dataclasses look their module up while the script loads
    spec.loader.exec_module(soak_server)
    result = soak_server.soak(seconds=3, clients=32, seed=2, fault_rate=0.03)
    assert result.ok, soak_server.report(result)
    assert result.injected_500s > 0 and result.server_errors == result.injected_500s
    assert result.statuses["conn"] == result.injected["drop"]
