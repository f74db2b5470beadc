"""The registry of named checks and properties, and the one failure type checks raise.

Every check of the suite's registry (`CHECKS`) has a basis in contracts/packs/bases.json: registering one without
an entry fails at import, and an entry naming no registered check fails at the first run. A violation carries the
basis of the expectation it broke (the check's own, or the one `ctx.fail(..., expectation=...)` names).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from contracts.calls import Call
from contracts.model.redaction import REDACTOR
from contracts.packs import bases as _bases
from contracts.packs.contract import Contract, TokenOperation, load

#: The bases entry of a failure the suite raises itself, without a check (the state machine's invariant and its
#: read-backs): what "state matches reads" rests on.
SUITE_VERDICT = "state_matches_reads"


def basis_of(check: str, expectation: str | None = None) -> str:
    """The basis of a check's expectation (bases.json); "" for a check the data does not know (a registry of
    its own, as tests build), which counts as binding everywhere."""
    data = _bases.load()
    name = check or SUITE_VERDICT
    return data.of(name, expectation).basis if name in data.checks else ""


@dataclass(frozen=True)
class Property:
    id: str
    title: str
    description: str
    number: int | None = None  # its number in docs/idempotency.md, when it is one of those
    short: str = ""  # a column header for the console table

    @property
    def column(self) -> str:
        return self.short or self.id

    @property
    def label(self) -> str:
        return f"{self.number}. {self.title}" if self.number else self.title


PROPERTIES: dict[str, Property] = {}


def register_property(prop: Property) -> Property:
    if prop.id in PROPERTIES and PROPERTIES[prop.id] != prop:
        raise ValueError(f"property {prop.id!r} is already registered with another definition")
    PROPERTIES[prop.id] = prop
    return prop


for _prop in (
    Property("valid-requests", "Valid requests", "accepted, or refused only with a declared error the state "
             "explains; never a 5xx", short="valid"),
    Property("invalid-requests", "Invalid requests", "each labelled invalid request is refused at its layer: "
             "botocore for client-layer ones; the target answers ValidationException for all of them", short="invalid"),
    Property("output-schema", "Output schema", "every successful response body validates against the "
             "operation's output JSON Schema", short="schema"),
    Property("declared-errors", "Declared errors", "every error code is one the operation declares", short="errors"),
    Property("replay-equivalence", "Replay equivalence", "same token, same payload: the same response and no "
             "second effect", 1, short="1 replay"),
    Property("conflict-rejection", "Conflict rejection", "same token, a payload differing in one field: refused "
             "with the declared conflict error, state unchanged", 2, short="2 conflict"),
    Property("independence", "Independence", "different tokens: independent requests", 3, short="3 indep"),
    Property("autofill", "Autofill", "an omitted token is filled by the SDK; two calls without tokens are "
             "independent", 4, short="4 autofill"),
    Property("delete-replay", "Delete replay", "a replayed delete returns the same success; a new delete is "
             "ResourceNotFound; a replayed create does not resurrect", 5, short="5 delete"),
    Property("scope", "Scope", "a token answers neither for another operation nor for another account", 6, short="6 scope"),
    Property("failure-does-not-poison", "Failure does not poison", "a request refused by validation leaves the "
             "token unused", 9, short="9 poison"),
    Property("state-matches-reads", "State matches reads", "Get and List show exactly the effects the calls "
             "should have had", short="reads"),
):
    register_property(_prop)


class ContractViolation(AssertionError):
    """A contract does not hold: plain data for the reporters (a title, the operation, the property, what was
    expected and observed, and the calls of the failing example). Reporters turn the calls into the minimal
    example and a runnable reproduction (contracts.reporting); a check that needs another kind of reproduction
    (the fault properties replay a race or a lost response) gives its own script."""

    def __init__(
        self,
        title: str,
        *,
        operation: str,
        property: str,
        check: str = "",
        expected: str = "",
        observed: str = "",
        calls: Iterable[Call] = (),
        reproduction: str | None = None,
        expectation: str = "",
    ):
        if property not in PROPERTIES:
            raise ValueError(f"unknown property {property!r}; registered: {', '.join(PROPERTIES)}")
        self.calls = list(calls)
        for call in self.calls:  # learn their secrets first, so no text below can carry one
            REDACTOR.harvest(call.params)
            if call.outcome.wire is not None:
                REDACTOR.harvest(call.outcome.wire)
        self.title = REDACTOR.scrub(title)
        self.operation = operation
        self.property = property
        self.check = check
        self.expectation = expectation
        # Resolved now, so an expectation the data lacks fails where the check names it.
        self.basis = basis_of(check, expectation)
        self.expected = REDACTOR.scrub(expected)
        self.observed = REDACTOR.scrub(observed)
        self.reproduction = reproduction
        super().__init__(self.headline())

    def headline(self) -> str:
        """The violation in a few lines, without the example (the reporters add it)."""
        lines = [self.title, f"  operation: {self.operation}   property: {PROPERTIES[self.property].label}"]
        if self.expected:
            lines.append(f"  expected: {self.expected}")
        if self.observed:
            lines.append(f"  observed: {self.observed}")
        return "\n".join(lines)


@dataclass
class CheckContext:
    operation: str
    contract: Contract = field(default_factory=load)
    # Resources the suite knows to be live / deleted (ARN -> resource kind): what "the state explains" means.
    live: frozenset[str] = frozenset()
    calls: list[Call] = field(default_factory=list)  # the calls of the current example
    # Told of every run of a check (operation, property, check, passed): how results count what was exercised.
    listener: "Listener | None" = None
    check: str = ""
    property_id: str = ""
    as_property: str | None = None  # report under this property instead of the check's own

    def fail(self, title: str, *, expected: str = "", observed: str = "", property_id: str | None = None,
             expectation: str = "") -> None:
        """Raise the violation; `expectation` names which part of a check with several bases failed."""
        raise ContractViolation(
            title,
            operation=self.operation,
            property=property_id or self.property_id,
            check=self.check,
            expected=expected,
            observed=observed,
            calls=self.calls,
            expectation=expectation,
        )

    @property
    def token_operation(self) -> TokenOperation | None:
        return self.contract.operations.get(self.operation)


@dataclass(frozen=True)
class Check:
    name: str
    property: str
    function: Callable[..., None]
    description: str


Listener = Callable[[str, str, str, bool], None]  # (operation, property, check name, passed)


class CheckRegistry:
    """The checks, by unique name. Filled once at import (like Schemathesis's registry); a run's state lives in
    the CheckContext it passes, never here. `with_bases`: every check needs a basis in bases.json (the suite's
    registry; a registry a test builds needs none)."""

    def __init__(self, *, with_bases: bool = False) -> None:
        self._checks: dict[str, Check] = {}
        self.with_bases = with_bases
        self._verified = False

    def register(self, name: str, *, property: str) -> Callable:
        """Decorator: register `function` as the check `name` of `property`; a duplicate name is refused."""
        if property not in PROPERTIES:
            raise ValueError(f"check {name!r}: unknown property {property!r}; register_property() it first")

        def decorate(function: Callable) -> Callable:
            if self.with_bases and name not in _bases.load().checks:
                raise _bases.BasesDataError(
                    f"the check {name!r} ({function.__module__}) has no basis: add checks.{name} to "
                    f"{_bases.BASES_FILE} with basis one of {', '.join(_bases.BASES)} (docs/bases.md)")
            if name in self._checks:
                raise ValueError(
                    f"a check named {name!r} is already registered (from {self._checks[name].function.__module__}); "
                    f"check names must be unique"
                )
            doc = (function.__doc__ or "").strip().splitlines()
            self._checks[name] = Check(name, property, function, doc[0] if doc else "")
            return function

        return decorate

    def __getitem__(self, name: str) -> Check:
        if name not in self._checks:
            raise KeyError(f"no check named {name!r}; registered: {', '.join(sorted(self._checks))}")
        return self._checks[name]

    def __contains__(self, name: str) -> bool:
        return name in self._checks

    def __iter__(self):
        return iter(self._checks.values())

    def verify_bases(self) -> None:
        """Every bases.json entry names a registered check (BasesDataError otherwise). An entry `registered_by` a
        module not imported in this process (a suite module not collected) is not expected to be registered."""
        entries = _bases.load().checks
        unknown = [name for name, entry in entries.items()
                   if name not in self._checks and name != SUITE_VERDICT
                   and (not entry.registered_by or entry.registered_by in sys.modules)]
        if unknown:
            raise _bases.BasesDataError(
                f"{_bases.BASES_FILE.name} gives a basis to checks that are not registered: {', '.join(unknown)}; "
                f"remove those entries or fix their names (registered: {', '.join(sorted(self._checks))})")

    def run(self, name: str, ctx: CheckContext, *args: Any, **kwargs: Any) -> None:
        """Run one check; the context's listener hears (operation, property, check, passed) whatever the verdict."""
        if self.with_bases and not self._verified:
            self.verify_bases()  # at the first run: every module that registers checks has been imported by now
            self._verified = True
        check = self[name]
        prop = ctx.as_property or check.property
        ctx.check, ctx.property_id = name, prop
        passed = False
        try:
            check.function(ctx, *args, **kwargs)
            passed = True
        finally:
            if ctx.listener is not None:
                ctx.listener(ctx.operation, prop, name, passed)


CHECKS = CheckRegistry(with_bases=True)
check = CHECKS.register


