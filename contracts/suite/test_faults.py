"""Fault contracts: properties 7, 8, 9 (throttling and 5xx refusals) and 10 of docs/idempotency.md.

They need a target that can inject faults: the in-process emulator (`--target mock`), or an endpoint offering the
emulator's admin interface (`invoicing-contracts serve`). Against any other target every test here is skipped
with the reason, which the behaviour report shows. `--faults off` skips them; `--faults on` turns a target that
cannot inject faults into an error (the option is read with the default `auto` when the plugin lacks it).

For each token-bearing operation whose effect can be counted (creates, updates and status changes, deletes):
- lost response: the request is committed and its response lost (the connection closes; it hangs past the
  client's read timeout; a 500 answers after the commit). botocore's standard retry mode retries; the retry must
  carry the same token (checked on the wire), get the committed result, and leave exactly one effect.
- concurrent duplicates: batches of N requests (up to 32) with one token, sent at once through the HTTP server,
  some with the first request held in flight so the rest overlap it: exactly one effect, every success carries
  the same result (as does a replay afterwards), the others are refused as in-flight conflicts.
- a request refused by throttling or by a 500 before any effect leaves its token unused.
- expiry: on the target's clock, a replay just inside the token window gets the first result; after the window
  a different payload with the token is not refused as a conflict, and what a replay does is reported.
Figures (trials, batches, duplicates and lost effects found) go to results.meta["faults"].
"""

from __future__ import annotations

import functools
import threading
from collections import Counter

import pytest

from contracts.calls import Api, Outcome
from contracts.checks import CheckContext, ContractViolation
from contracts.packs.contract import load
from contracts.checks.faults import refused_over_token  # importing it registers the fault properties and checks
from contracts.engine.faults_control import FaultsUnavailable, control_for
from contracts.engine.faults_effects import Subjects, effect_words, fault_operations
from contracts.reporting.faults import ScriptCall, count_effect, fault_script, figures, race_script, with_reproduction
from contracts.engine.faults_wire import WireRecorder, client_for
from contracts.suite.exchanges import skip_if_denied

FAULT_OPS = [op.name for op in fault_operations(load())]
PROPERTIES = ("lost-response", "concurrent-duplicates", "failure-does-not-poison", "expiry")

# How a committed request's response is lost: (fault rule without filters, what the client sees).
READ_TIMEOUT = 0.5  # the retrying client's read timeout: the "timeout" style hangs longer than this
LOST = {
    "drop": ({"kind": "drop"}, "the connection closed without an answer"),
    "timeout": ({"kind": "drop", "seconds": READ_TIMEOUT * 2.5}, "the answer never came (read timeout)"),
    "internal-after": ({"kind": "internal", "phase": "after"}, "a 500 InternalServerException after the commit"),
}
TRIALS = {"dev": 1, "ci": 2, "thorough": 8}  # lost-response trials per operation and style
# Concurrent batches per operation: (requests, whether the first is held in flight so the others overlap it).
BATCHES = {
    "dev": [(2, True), (32, True), (32, False)],
    "ci": [(2, True), (8, True), (32, True), (8, False), (32, False)],
    "thorough": [(2, True), (8, True), (32, True)] * 3 + [(8, False), (32, False)] * 3,
}
HOLD = 0.3  # seconds the first request of an overlapping batch stays in flight
BATCH_DEADLINE = 30.0  # a batch not answered by then is a deadlock


# ------------------------------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def control(suite, pytestconfig):
    """The target's fault control, or None (with the reason in the figures and the report) when it has none."""
    mode = pytestconfig.getoption("faults", default="auto")
    fig = figures(suite.results)
    reason = None
    ctl = None
    if mode == "off":
        reason = "the fault properties were turned off (--faults off)"
    else:
        try:
            ctl = control_for(suite.target)
        except FaultsUnavailable as error:
            reason = str(error)
    if reason:
        if mode == "on":
            pytest.fail(f"--faults on, but {reason}", pytrace=False)
        fig["skipped"] = reason
        for op in FAULT_OPS:
            if suite.selected(op):
                for prop in PROPERTIES:
                    suite.results.add_skip(op, prop, reason)
        yield None
        return
    try:
        yield ctl
    finally:
        ctl.clear()


@pytest.fixture
def faults(control, suite):
    if control is None:
        pytest.skip(figures(suite.results)["skipped"])
    try:
        yield control
    finally:
        control.clear()  # no schedule outlives its test: the rest of the suite runs on a fault-free target


@pytest.fixture(scope="module")
def subjects(suite):
    return Subjects(suite)


@pytest.fixture(scope="module")
def http_url(suite, control):
    """Where concurrent duplicates are sent: the endpoint itself, or the in-process emulator served over HTTP."""
    if control is None or suite.target.kind == "endpoint":
        yield getattr(suite.target, "url", None)
        return
    from invoicing_mock.server import start

    served = start(0, backend=suite.target.backend, admin=False)
    try:
        yield served.url
    finally:
        served.stop()


def _operation(suite, name: str):
    if not suite.selected(name):
        pytest.skip(f"{name} not selected")
    return suite.contract.operations[name]


def untested_if_denied(test):
    """A fault test of an operation the target denied this identity (its own, or the create its setup needs) is
    skipped with the target's reason, and the operation's cells are excused (Suite.denial): a refusal of access
    is "cannot be exercised here", not a failed setup and never a held property."""

    @functools.wraps(test)
    def run(suite, *args, op_name, **kwargs):
        op = suite.contract.operations[op_name]
        needs = [op_name] + [o.name for o in suite.contract.operations.values()
                             if o.resource.kind == op.resource.kind and o.effect == "create"]
        try:
            test(suite, *args, op_name=op_name, **kwargs)
        except (RuntimeError, AssertionError):
            skip_if_denied(suite, *needs, what="fault trial: ")
            raise
        skip_if_denied(suite, *needs, what="fault trial: ")

    return run


def _check(suite, name: str, operation: str, *args, script=None) -> None:
    """Run a registered check; a violation gets the fault-aware reproduction `script()` builds."""
    try:
        suite.check(name, operation, *args)
    except ContractViolation as violation:
        if script is not None:
            raise with_reproduction(violation, script()) from None
        raise


def _recording_api(client, suite) -> Api:
    """An Api whose calls go into the example's trace and the cleanup ledger (not the unreachable guard: a
    connection error here is what a fault property looks at, not a lost target)."""
    api = Api(client, trace=suite.trace)
    api.listeners.append(suite.ledger.observe)
    api.listeners.append(suite.oracle.observe)
    return api


# ------------------------------------------------------------------------------------------- 7. lost response
@pytest.mark.parametrize("op_name", FAULT_OPS)
@untested_if_denied
def test_lost_response(suite, faults, subjects, op_name):
    op = _operation(suite, op_name)
    suite.results.expect(op.name, "lost-response")
    fig = figures(suite.results)
    owned = suite.ledger.arns()
    retrying = client_for(suite.target, max_attempts=3, read_timeout=READ_TIMEOUT)
    recorder = WireRecorder(retrying)
    api = _recording_api(retrying, suite)
    for style, (rule, how) in LOST.items():
        for _trial in range(TRIALS.get(suite.profile, 1)):
            suite.trace.reset()
            token = subjects.token(style)
            arn = subjects.setup(op)
            params = subjects.request(op, arn, token)
            before = subjects.snapshot(op, arn)
            schedule = {"seed": 0, "rules": [{**rule, "operation": op.name, "token": token, "nth": [1]}]}
            since = faults.last_seq()
            faults.schedule(schedule["rules"])
            recorder.clear()
            at = len(suite.trace.calls)
            outcome = api.call(op.name, params, note=f"{how}; botocore retries (standard mode)")
            faults.clear()
            seen = [c for c in faults.log(since) if c["token"] == token and c["operation"] == op.name]
            if not seen or not seen[0]["faults"]:
                # The first attempt was refused, so nothing was lost: the trial says nothing about property 7.
                fig["lost_response_inconclusive"] += 1
                suite.check("valid_request_handled", op.name, params, outcome, suite.predict(op.name, params),
                            as_property="lost-response")
                continue
            fig["lost_response_trials"] += 1
            fig["lost_response_styles"][style] = fig["lost_response_styles"].get(style, 0) + 1
            after = subjects.snapshot(op, arn, note="read back: how many effects?")
            effects, observed = subjects.effects(op, before, after, params, outcome.response)
            count_effect(fig, effects)
            if not outcome.ok and outcome.status is not None and outcome.status < 500:
                fig["duplicates_found"] += 1  # a committed request's retry refused: it ran again
            calls = suite.trace.calls

            def script(calls=calls, at=at, schedule=schedule):
                return fault_script(suite.target.reproduction, [ScriptCall(c, "retrying" if i == at else "client",
                                                schedule if i == at else None) for i, c in enumerate(calls)],
                                    read_timeout=READ_TIMEOUT)

            suite.observe(op.name, f"response lost ({how}), botocore retried",
                          f"with the same token, answered {'the result' if outcome.ok else outcome.error_code}, "
                          f"{effect_words(effects)}")
            attempts = recorder.attempts(op.name)
            _check(suite, "lost_response_same_token", op.name, token, attempts, script=script)
            _check(suite, "lost_response_retry_answered", op.name, outcome, how, script=script)
            _check(suite, "lost_response_one_effect", op.name, effects, observed, script=script)
            suite.ledger.cleanup(suite, since=owned)  # what this trial made, nothing else


# ---------------------------------------------------------------------------------- 8. concurrent duplicates
def _send_at_once(api: Api, operation: str, params: dict, requests: int) -> list[Outcome]:
    outcomes: list[Outcome | None] = [None] * requests
    barrier = threading.Barrier(requests)

    def send(index: int) -> None:
        try:
            barrier.wait(timeout=BATCH_DEADLINE)
        except threading.BrokenBarrierError:
            return
        outcomes[index] = api.call(operation, params, note=f"request {index + 1} of {requests}, sent at once")

    threads = [threading.Thread(target=send, args=(i,), daemon=True) for i in range(requests)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=BATCH_DEADLINE)
    return [o if o is not None else Outcome(sent=True, connection_error=f"no answer within {BATCH_DEADLINE:.0f} s "
                                                                         f"(deadlock?)") for o in outcomes]


@pytest.mark.parametrize("op_name", FAULT_OPS)
@untested_if_denied
def test_concurrent_duplicates(suite, faults, subjects, http_url, op_name):
    op = _operation(suite, op_name)
    suite.results.expect(op.name, "concurrent-duplicates")
    fig = figures(suite.results)
    largest = max(n for n, _ in BATCHES.get(suite.profile, BATCHES["ci"]))
    owned = suite.ledger.arns()
    api = _recording_api(client_for(suite.target, max_attempts=1, pool=largest, endpoint_url=http_url), suite)
    ident = op.response_identifier
    # Smallest batches first: the first failing batch is the minimal reproduction.
    for requests, overlap in BATCHES.get(suite.profile, BATCHES["ci"]):
        suite.trace.reset()
        token = subjects.token("race")
        arn = subjects.setup(op)
        params = subjects.request(op, arn, token)
        before = subjects.snapshot(op, arn)
        setup_calls = suite.trace.calls
        rules = [{"kind": "latency", "phase": "inflight", "seconds": HOLD, "operation": op.name, "token": token,
                  "nth": [1]}] if overlap else []
        faults.schedule(rules)
        outcomes = _send_at_once(api, op.name, params, requests)
        faults.clear()
        skip_if_denied(suite, op.name, what="fault trial: ")  # effects of a refused batch say nothing
        replay = suite.api().call(op.name, params, note="the same request again, after the batch")
        result = next((o.response for o in outcomes if o.ok), None) or (replay.response if replay.ok else None)
        after = subjects.snapshot(op, arn, note="read back: how many effects?")
        effects, observed = subjects.effects(op, before, after, params, result)
        answers = Counter("result" if o.ok else o.error_code or "no answer" for o in outcomes)
        fig["concurrent_batches"] += 1
        fig["concurrent_requests"] += requests
        fig["largest_batch"] = max(fig["largest_batch"], requests)
        fig["concurrent_successes"] += answers["result"]
        fig["in_flight_refusals"] += sum(1 for o in outcomes if not o.ok and refused_over_token(
            _ctx(suite, op.name), o, token))
        count_effect(fig, effects)
        held = f", the first held in flight {HOLD} s" if overlap else ""
        suite.observe(op.name, f"{requests} concurrent requests with one token{held}",
                      f"answered {', '.join(f'{k} x{v}' for k, v in sorted(answers.items()))}; "
                      f"{effect_words(effects)}")
        schedule = {"seed": 0, "rules": rules}
        after_calls = suite.trace.calls[len(setup_calls) + requests:]
        batch_calls = suite.trace.calls[len(setup_calls):len(setup_calls) + requests]

        def script(setup_calls=setup_calls, params=params, requests=requests, schedule=schedule,
                   after_calls=after_calls, batch_calls=batch_calls):
            return race_script(suite.target.reproduction, setup_calls, op.name, params, requests, schedule, ident,
                               after_calls, batch_calls)

        _check(suite, "concurrent_refused_in_flight", op.name, token, outcomes, script=script)
        _check(suite, "concurrent_same_result", op.name, outcomes, replay, script=script)
        _check(suite, "concurrent_one_effect", op.name, requests, effects, observed, script=script)
        suite.ledger.cleanup(suite, since=owned)  # what this trial made, nothing else


def _ctx(suite, operation: str):
    return CheckContext(operation, contract=suite.contract, calls=suite.trace.calls)


# ------------------------------------------------------------------- 9. throttled or failed: the token is unused
@pytest.mark.parametrize("op_name", FAULT_OPS)
@untested_if_denied
def test_fault_refusal_does_not_poison(suite, faults, subjects, op_name):
    op = _operation(suite, op_name)
    suite.results.expect(op.name, "failure-does-not-poison")
    fig = figures(suite.results)
    owned = suite.ledger.arns()
    retrying = _recording_api(client_for(suite.target, max_attempts=3), suite)
    # throttle: refused, then sent again by the caller; internal: a 500 before any effect, retried by botocore.
    for kind, how in (("throttle", "ThrottlingException"), ("internal", "500 InternalServerException")):
        suite.trace.reset()
        token = subjects.token(kind)
        arn = subjects.setup(op)
        params = subjects.request(op, arn, token)
        before = subjects.snapshot(op, arn)
        schedule = {"seed": 0, "rules": [{"kind": kind, "operation": op.name, "token": token, "nth": [1]}]}
        faults.schedule(schedule["rules"])
        at = len(suite.trace.calls)
        if kind == "throttle":
            refused = suite.api().call(op.name, params, note=f"refused by an injected {how}")
            outcome = suite.api().call(op.name, params, note="the same request, same token, sent again")
        else:
            outcome = retrying.call(op.name, params, note=f"first attempt refused by an injected {how}; "
                                                          f"botocore retries")
            refused = Outcome(sent=True, status=500, error_code="InternalServerException")
        faults.clear()
        if kind == "throttle" and refused.error_code != "ThrottlingException":
            raise RuntimeError(f"the target did not apply the scheduled ThrottlingException to {op.name}: "
                               f"{refused.summary()}")
        fig["poison_trials"] += 1
        after = subjects.snapshot(op, arn, note="read back: how many effects?")
        effects, observed = subjects.effects(op, before, after, params, outcome.response)
        count_effect(fig, effects)
        suite.observe(op.name, f"a token whose request was refused by an injected {how}",
                      f"then {'worked' if outcome.ok else f'was refused with {outcome.error_code}'}, "
                      f"{effect_words(effects)}")
        calls = suite.trace.calls

        def script(calls=calls, at=at, schedule=schedule, kind=kind):
            return fault_script(suite.target.reproduction, [ScriptCall(c, "retrying" if kind == "internal" and i == at else "client",
                                            schedule if i == at else None) for i, c in enumerate(calls)],
                                read_timeout=30)

        _check(suite, "fault_refusal_leaves_token_unused", op.name, refused, outcome, effects, observed,
               script=script)
        suite.ledger.cleanup(suite, since=owned)  # what this trial made, nothing else


# ---------------------------------------------------------------------------------------------------- 10. expiry
def _after_window(op, first: Outcome, replay: Outcome, effects: int | None, observed: str) -> str:
    """What a replay past the window did, in words: whether it ran again is read from its effect."""
    ident = op.response_identifier
    if not replay.ok:
        reason = f", reason {replay.error['reason']}" if replay.error.get("reason") else ""
        return f"ran again and was refused with {replay.error_code}{reason}"
    same = replay.response.get(ident) == first.response.get(ident)
    if op.effect == "create":
        return "returned the first result (the token was still remembered)" if same and not effects else \
            f"ran again: {observed}"
    if op.effect == "update" and effects is not None and observed.startswith("Version"):
        return "returned the first result, no second effect (the token was still remembered)" if not effects \
            else f"ran again ({observed})"
    return (f"answered success with the same {ident}; whether it ran again cannot be seen (the answer is the "
            f"same either way)")


@pytest.mark.parametrize("op_name", FAULT_OPS)
@untested_if_denied
def test_expiry(suite, faults, subjects, op_name):
    op = _operation(suite, op_name)
    suite.results.expect(op.name, "expiry")
    fig = figures(suite.results)
    if not faults.clock_control:
        pytest.skip("the target's clock cannot be moved")
    window = faults.window()
    owned = suite.ledger.arns()
    suite.trace.reset()
    api = suite.api()
    # Two tokens used at once: A is replayed as it was (what does the target do?), B gets a different payload
    # (is it forgotten?). One token cannot serve both: a replay past the window may record the token afresh.
    uses = []
    for label in ("expiry", "expiry-other"):
        token = subjects.token(label)
        params = subjects.request(op, subjects.setup(op) or None, token) if op.effect != "create" else \
            subjects.request(op, None, token)
        first = api.call(op.name, params, note=f"first use of token {label.split('-')[-1].upper()}")
        if not first.ok:
            raise RuntimeError(f"a known-good {op.name} failed: {first.summary()}")
        uses.append((token, params, first))
    (token_a, params_a, first_a), (token_b, params_b, _first_b) = uses
    # A different payload for B: another resource for a delete, another value for an update or a create.
    other_arn = subjects.setup(op) if op.effect == "delete" else params_b.get(op.resource.identifier)
    other_params = subjects.request(op, other_arn, token_b, variant=1)
    moves = {}  # the index in the trace of a call -> the clock move made just before it

    def script():
        return fault_script(suite.target.reproduction, [ScriptCall(c, advance=moves.get(i))
                                                        for i, c in enumerate(suite.trace.calls)],
                            read_timeout=READ_TIMEOUT)

    moves[len(suite.trace.calls)] = window - 60
    faults.advance_clock(window - 60)
    inside = api.call(op.name, params_a, note=f"replay of A {window - 60:.0f} s later, inside the token window")
    _check(suite, "token_remembered_within_window", op.name, first_a, inside, window - 60, script=script)
    moves[len(suite.trace.calls)] = 120
    faults.advance_clock(120)
    other = api.call(op.name, other_params, note="B with a different payload, past the window")
    _check(suite, "token_forgotten_after_window", op.name, token_b, other, window + 60, script=script)
    arn_a = params_a.get(op.resource.identifier)
    before = subjects.snapshot(op, arn_a) if op.effect != "delete" else None
    replay = api.call(op.name, params_a, note=f"replay of A {window + 60:.0f} s later, past the token window")
    effects, observed = None, ""
    if before is not None:
        effects, observed = subjects.effects(op, before, subjects.snapshot(op, arn_a), params_a, replay.response)
    what = _after_window(op, first_a, replay, effects, observed)
    fig["expiry_trials"] += 1
    fig.setdefault("after_window", {})[op.name] = what
    suite.observe(op.name, f"a replay past the token window ({window:.0f} s)", what)
    suite.observe(op.name, "a different payload with an expired token",
                  "was accepted (the token was forgotten)" if other.ok else f"was refused with {other.error_code}")
    suite.ledger.cleanup(suite, since=owned)  # what this trial made, nothing else
