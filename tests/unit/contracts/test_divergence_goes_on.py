"""A divergence (a failed `assumed` expectation on a target other than the embedded emulator) is recorded where it
happens and the test goes on, so the test's later examples still run; a model, protocol or documented failure, the
embedded emulator and --strict still end the test."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from contracts.calls import Outcome, Trace
from contracts.checks import ContractViolation
from contracts.engine.results import Results
from contracts.engine.session import Suite
from contracts.engine.targets import TargetConfig, build
from contracts.options import PROFILES
from contracts.plugin import _recording_divergences

REFUSED = Outcome(sent=True, status=400, error_code="ConflictException")
ACCEPTED = Outcome(sent=True, status=200, response={"InvoiceUnitArn": "arn:aws:invoicing::123456789012:invoice-unit/x"})
UNDECLARED = Outcome(sent=True, status=400, error_code="NoSuchThingException")


@pytest.fixture
def suite():
    with build(TargetConfig(kind="mock"), Trace()) as target:
        yield Suite(target=target, results=Results(), operations=("UpdateInvoiceUnit",),
                    sizing=PROFILES["dev"].sizing)


def _observing(suite, *, strict=False, embedded=False):
    suite.embedded = embedded
    suite.divergence = _recording_divergences(SimpleNamespace(options=SimpleNamespace(strict=strict),
                                                              results=suite.results), suite)


def _scope_diverges(suite):
    """token_scoped_to_operation (assumed): a token another operation used is refused while a fresh one works."""
    suite.check("token_scoped_to_operation", "UpdateInvoiceUnit", "CreateInvoiceUnit", REFUSED, ACCEPTED)


def test_a_divergence_is_recorded_once_and_the_test_goes_on(suite):
    _observing(suite)
    for _example in range(3):  # later examples run: nothing is raised
        _scope_diverges(suite)
    cell = suite.results.cells[("UpdateInvoiceUnit", "scope")]
    assert cell.verdict == "diverged" and len(cell.diverged) == 1 and cell.check_runs["token_scoped_to_operation"] == 3
    assert cell.diverged[0]["basis"] == "assumed" and not cell.violations


@pytest.mark.parametrize("how", [{"strict": True}, {"embedded": True}, None])
def test_strict_the_embedded_emulator_or_no_recorder_end_the_test(suite, how):
    if how is not None:
        _observing(suite, **how)
    with pytest.raises(ContractViolation):
        _scope_diverges(suite)
    assert not suite.results.cells[("UpdateInvoiceUnit", "scope")].diverged


def test_a_model_expectation_ends_the_test_on_every_target(suite):
    _observing(suite)
    with pytest.raises(ContractViolation):
        suite.check("declared_error", "UpdateInvoiceUnit", UNDECLARED)
