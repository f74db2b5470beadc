"""The coverage phase: before random exploration (the plugin runs its violation sites after the scripted machines of
test_idempotency, its edges after the read tests), every operation gets, whatever the run's seed, one request per
violation site of its input (each labelled invalid request, refused at its layer), one valid request per edge of the
model (every bounded string, list, map and number at its min and at its max, every enum value; `max + 1` and `min - 1`
are violation sites already; a list of tags at a size has that many distinct keys), and one valid request aimed at
identifiers known to exist. A create or change of one resource at an edge is read back: the read's output schema,
and every member the write set as sent (a value stored wrong, a name at its maximum length cut short, shows only
there). Values come from `strategies.fixed_example`: fixed per site, never drawn from the run's seed, so no seed can
miss a site. The checks are those of the stateless contracts (contracts.suite.exchanges).

Two tests per operation, violation sites and edges; every case runs even after a violation, and the test reports
them all at its end.
"""

from __future__ import annotations

import pytest

import strategies
from contracts.checks import ContractViolation
from contracts.engine.session import Suite
from contracts.guard.plan import is_read
from contracts.suite.exchanges import make_fixtures, read_back, send_invalid, send_valid


@pytest.fixture(autouse=True)
def live_fixtures(suite: Suite, operation: str):
    make_fixtures(suite, operation)


def _edge(site) -> str:
    if site.constraint == "enum":
        return f"{site.template} = {site.bound!r}"
    return f"{site.template} at its {site.constraint} ({site.bound})"


def _edge_and_read_back(suite: Suite, operation: str, params: dict, *, note: str) -> None:
    changed = False
    try:
        outcome = send_valid(suite, operation, params, note=note, subject="coverage-phase edge requests were")
        changed = outcome is not None and outcome.ok and not is_read(operation)
        read_back(suite, operation, params, outcome)
    finally:
        # A write that took effect stays in the trace for the later edges: they aim at the same fixture, and a
        # reproduction of theirs must rebuild what it left there (a member a Put that merges kept).
        if changed:
            suite.trace.keep_as_setup()


class Attempts:
    """Every case runs even after a violation; the test reports them all at its end."""

    def __init__(self) -> None:
        self.violations: list[ContractViolation] = []

    def __call__(self, send, *args, **kwargs) -> None:
        try:
            send(*args, **kwargs)
        except ContractViolation as violation:
            self.violations.append(violation)

    def report(self, operation: str) -> None:
        if len(self.violations) == 1:
            raise self.violations[0]
        if self.violations:
            raise ExceptionGroup(f"{len(self.violations)} coverage-phase violations of {operation}", self.violations)


def test_coverage_violations(suite: Suite, operation: str) -> None:
    """One request per violation site (the cheaper half: every operation's runs before any edge's)."""
    attempt = Attempts()
    for site in strategies.violation_sites(operation):
        invalid = strategies.fixed_example(strategies.invalid_requests(operation, site, hints=suite.hints))
        attempt(send_invalid, suite, operation, invalid)
    attempt.report(operation)


def test_coverage_edges(suite: Suite, operation: str) -> None:
    """One valid request per edge of the model, then one aimed at known identifiers."""
    attempt = Attempts()
    known = suite.discovered_hints(operation) or suite.hints
    for index, site in enumerate(strategies.edge_sites(operation)):
        # A fixed draw of its own per edge (`at`): the same base request for every edge would make all but the
        # first create a duplicate, refused before its edge value is looked at.
        params = suite.prepare(operation, strategies.fixed_example(
            strategies.edge_requests(operation, site, hints=known), at=index))
        attempt(_edge_and_read_back, suite, operation, params, note=f"coverage: {_edge(site)}")
    # Last, as it may delete the fixture the edges aim at.
    params = suite.prepare(operation, strategies.fixed_example(strategies.requests(operation, hints=known)))
    attempt(send_valid, suite, operation, params, note="coverage: a request aimed at known identifiers",
            subject="the coverage phase's request aimed at known identifiers was")
    attempt.report(operation)
