"""A run's state lives in its own objects: two runs in one process, at the same time, against two different
targets, each see only their own calls, results, violations and reproduction target."""

from __future__ import annotations

import threading

from contracts import reporting
from contracts.calls import Trace
from contracts.checks import ContractViolation
from contracts.engine.results import Results
from contracts.engine.session import Suite
from contracts.engine.targets import TargetConfig, build
from contracts.options import PROFILES
from invoicing_mock.mutants import FreshArnOnReplay

EXAMPLES = 12
UNIT = {"InvoiceReceiver": "111111111111", "Rule": {"LinkedAccounts": ["111111111111"]}}


def replays(config: TargetConfig, name: str, start: threading.Barrier, out: dict) -> None:
    """A small run: create with a token, replay it, check the replay; EXAMPLES times."""
    target = build(config, Trace())
    with target:
        suite = Suite(target=target, results=Results(), operations=("CreateInvoiceUnit",),
                      sizing=PROFILES["dev"].sizing)
        violations, arns, firsts = [], set(), set()
        start.wait()  # both runs interleave from here on
        for i in range(EXAMPLES):
            suite.trace.reset()
            params = {**UNIT, "Name": f"{name}-{i}", "ClientToken": f"{name}-token-{i}"}
            first = suite.api().call("CreateInvoiceUnit", params)
            replay = suite.api().call("CreateInvoiceUnit", params, note="replay")
            made = {first.response["InvoiceUnitArn"], replay.response["InvoiceUnitArn"]}
            arns |= made
            firsts.add(first.response["InvoiceUnitArn"])
            try:
                suite.check("replay_same_response", "CreateInvoiceUnit", first, replay)
            except ContractViolation as violation:
                violations.append(violation)
            for arn in made:  # a rule's accounts belong to one live unit at a time: free them for the next
                suite.api().call("DeleteInvoiceUnit", {"InvoiceUnitArn": arn}, record=False)
        stored = set(target.backend.invoice_unit_histories(target.payer))
        out[name] = dict(suite=suite, violations=violations, arns=arns, firsts=firsts, stored=stored,
                         reproduction=target.reproduction)


def test_two_concurrent_runs_against_two_targets_stay_independent():
    start, out = threading.Barrier(2), {}
    runs = [threading.Thread(target=replays, args=(TargetConfig(), "correct", start, out)),
            threading.Thread(target=replays, args=(TargetConfig(backend_factory=FreshArnOnReplay,
                                                                mock_backend="invoicing_mock.mutants:FreshArnOnReplay"),
                                                   "planted", start, out))]
    for thread in runs:
        thread.start()
    for thread in runs:
        thread.join(timeout=120)
    correct, planted = out["correct"], out["planted"]

    # Results: each run counted only its own checks, with its own verdict.
    for run, verdict in ((correct, "held"), (planted, "violated")):
        cell = run["suite"].results.cells[("CreateInvoiceUnit", "replay-equivalence")]
        assert cell.checks_run == EXAMPLES
        if verdict == "held":
            assert cell.passed == EXAMPLES and not run["violations"]
    assert len(planted["violations"]) == EXAMPLES

    # Calls: each violation's example is its own two calls, never the other run's.
    for violation in planted["violations"]:
        assert [c.note for c in violation.calls] == ["", "replay"]
        assert all(c.params["Name"].startswith("planted-") for c in violation.calls)

    # Targets: each run's creates reached its own emulator, and nothing of the other's did. (The planted
    # variant answers a replay with a fresh ARN it never stores.)
    assert correct["stored"] == correct["firsts"] == correct["arns"] and len(correct["arns"]) == EXAMPLES
    assert planted["stored"] == planted["firsts"] and len(planted["arns"]) == 2 * EXAMPLES
    assert not correct["arns"] & planted["arns"]

    # Reproductions: each failure replays against the emulator variant its own run used.
    script = reporting.Failure.of(planted["violations"][0], planted["reproduction"]).reproduction
    assert "from invoicing_mock.mutants import FreshArnOnReplay as backend_factory" in script
    assert correct["reproduction"].backend is None
