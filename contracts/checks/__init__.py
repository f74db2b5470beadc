"""The registry of named checks and the one failure type they raise.

A check is a small function registered under a unique name and the property it verifies. It receives a
`CheckContext` (the operation, the calls of the current example) plus whatever it compares, and either returns
or calls `ctx.fail(...)`, which raises `ContractViolation`. Every run of a check is reported to the registry's
listeners, which is how the results count "examples run" per operation and property.

New properties (faults, retries, concurrency, real accounts) register their own checks with `CHECKS.register`
and their property with `register_property`; nothing here needs editing for that.
"""

from contracts.checks.registry import (
    CHECKS,
    PROPERTIES,
    Check,
    CheckContext,
    CheckRegistry,
    ContractViolation,
    Listener,
    Property,
    check,
    register_property,
)
from contracts.checks.builtin import first_mismatch
# The fault properties (7, 8, 10 and the throttling half of 9) register here too, so their titles and checks are
# known wherever results are read or written, not only in a process that collected contracts/suite/test_faults.py.
from contracts.checks import faults as _faults  # noqa: E402,F401

__all__ = ["CHECKS", "PROPERTIES", "Check", "CheckContext", "CheckRegistry", "ContractViolation", "Listener",
           "Property", "check", "register_property", "first_mismatch"]
