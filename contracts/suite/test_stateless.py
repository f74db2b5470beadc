"""Stateless contracts, for every operation of the model (random exploration; the deterministic coverage phase
that runs first is contracts/suite/test_coverage.py).

- valid requests are accepted, or refused only with a declared error the suite predicted from the state it
  knows; never a 5xx;
- every labelled invalid request is refused at its layer: botocore refuses client-layer ones (ParamValidationError,
  nothing sent); with client validation off, the target answers ValidationException to every invalid request;
- every successful response's raw JSON body validates against the operation's output schema;
- every error code is one the operation declares.
"""

from __future__ import annotations

import functools
from typing import Callable

import pytest
from hypothesis import given, strategies as st

import strategies
from contracts.engine.session import Suite
from contracts.suite.exchanges import make_fixtures, send_invalid, send_valid


@pytest.fixture(autouse=True)
def live_fixtures(suite: Suite, operation: str):
    """One live resource of each kind for the test (deleted again by the conftest's per-test cleanup; a real
    account keeps them for the session, as every create counts against its resource budget)."""
    make_fixtures(suite, operation)


def reporting_flaky(test: Callable) -> Callable:
    """The Hypothesis test `test` run through Suite.reporting_flaky. `wraps` keeps it a Hypothesis test to pytest
    (its statistics, example database and seed work as for any @given test)."""

    @functools.wraps(test)
    def run(suite: Suite, operation: str) -> None:
        suite.reporting_flaky(lambda: test(suite, operation))

    return run


@reporting_flaky
@given(data=st.data())
def test_valid_requests(suite: Suite, operation: str, data: st.DataObject) -> None:
    hints = suite.hints
    known = suite.discovered_hints(operation)
    # Mostly aimed at identifiers known to exist (so responses get checked), sometimes at any model-valid one.
    if known is not None and data.draw(st.sampled_from([True, True, True, False]), label="aim at a known identifier"):
        hints = known
    params = suite.prepare(operation, data.draw(strategies.requests(operation, hints=hints), label="params"))
    send_valid(suite, operation, params)


@reporting_flaky
@given(data=st.data())
def test_invalid_requests(suite: Suite, operation: str, data: st.DataObject) -> None:
    invalid = data.draw(strategies.requests(operation, valid=False, hints=suite.hints), label="invalid request")
    send_invalid(suite, operation, invalid)
