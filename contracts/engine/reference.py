"""The reference model: what the service's state must be after the suite's own successful calls, written here
from the model and its documentation, never read from the target.

Per resource it keeps every member the suite's requests control (the read's members a create or a change takes),
each with the value it must show and why (`Expected.expectation`, a key of the check's bases.json entry):

  as_sent              the request set it (model: the read's shape has the member the request set)
  omitted_at_create    a create left it out: the read shows nothing or an empty value (assumed)
  update_keeps_omitted an Update* left it out: it keeps its value (assumed: every member of UpdateInvoiceUnit and
                       UpdateProcurementPortalPreferenceStatus is optional, and the model says nothing of
                       clearing; the emulator documents "Only the members given change")
  put_clears_omitted   PutProcurementPortalPreference left it out: cleared (assumed: a Put replaces the
                       configuration it carries; the model's own Put documentation says of one member "Defaults to
                       false if not provided", i.e. an omitted member is not kept)

Members the requests do not control (LastModified, Version, CreateDate, AwsAccountId, a status a Put or a Verify
resets) are unknown to the reference and not compared here. Tags: what the create carried, TagResource merged
("Adds a tag to a resource"), UntagResource removed ("Removes a tag from a resource"); on a target that adds tags
of its own (a real account's run tags) only the keys the suite touched are known. A replay, a conflict and a
refused call change nothing, so the machine tells the reference only of calls that executed.

History: every executed create, change and delete adds a version (the members after it; None once deleted), so a
read of the past (AsOf) is compared with the version in force then: "You can see legacy invoice units that are
currently deleted if the AsOf time is set to before it was deleted" (GetInvoiceUnitRequest.AsOf).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Callable

from contracts.calls import comparable
from contracts.checks import first_mismatch
from contracts.model.redaction import sensitive_member_names
from contracts.packs.contract import Contract, Resource
from strategies import service_model


class _Absent:
    def __repr__(self) -> str:
        return "<not shown, or empty>"


ABSENT = _Absent()


def _empty(value: Any) -> bool:
    """What a read may show for a member nothing set (False: a boolean's default)."""
    return value is None or value is False or (isinstance(value, (str, list, dict)) and not value)


@dataclass(frozen=True)
class Expected:
    value: Any  # ABSENT: not shown, or shown empty
    expectation: str
    operation: str  # the call that set it (its payload equivalences apply)
    step: int

    def describe(self) -> str:
        return f"{'nothing' if self.value is ABSENT else 'as sent'} ({self.expectation}, {self.operation} of step " \
               f"{self.step})"


@dataclass
class State:
    kind: str
    arn: str
    account: str | None
    members: dict[str, Expected] = field(default_factory=dict)
    tags: dict[str, Any] = field(default_factory=dict)  # key -> value, or ABSENT for a key removed
    tags_complete: bool = True  # False where the target adds tags of its own: only the keys touched are known
    gone: bool = False
    versions: list[dict[str, Expected] | None] = field(default_factory=list)  # after each executed call

    def record(self) -> None:
        self.versions.append(None if self.gone else dict(self.members))


@dataclass(frozen=True)
class Mismatch:
    member: str
    expected: Expected
    observed: Any  # ABSENT when the read does not show it

    def describe(self) -> str:
        return f"{self.member}: expected {self.expected.describe()}"


def readable_members(resource: Resource) -> frozenset[str]:
    """The members the read operation shows of a resource, secrets apart (written, never read back)."""
    shape = service_model().operation_model(resource.read).output_shape
    if resource.read_member and shape is not None:
        shape = shape.members.get(resource.read_member)
    names = frozenset(shape.members) if shape is not None and shape.type_name == "structure" else frozenset()
    return names - sensitive_member_names()


def _input_members(operation: str) -> frozenset[str]:
    shape = service_model().operation_model(operation).input_shape
    return frozenset(shape.members) if shape is not None else frozenset()


class ReferenceModel:
    """The expected state of the resources one state machine made; `equivalent(op, a, b)` says when two values
    are the same by the model (bases.json: equivalences, e.g. a set-like list in another order)."""

    def __init__(self, contract: Contract, equivalent: Callable[[str, dict, dict], bool] | None = None):
        self.contract = contract
        self.equivalent = equivalent or contract.equivalent
        self.states: dict[str, State] = {}
        self._readable = {kind: readable_members(r) for kind, r in contract.resources.items()}
        self._create_inputs = {op.resource.kind: _input_members(op.name) for op in contract.operations.values()
                               if op.effect == "create"}

    # -- what executed -----------------------------------------------------------------------------------------
    def created(self, operation: str, arn: str, params: dict, *, account: str | None = None, step: int = 0,
                tags_complete: bool = True) -> State:
        op = self.contract.operations[operation]
        kind = op.resource.kind
        controlled = self._readable[kind] & _input_members(operation)
        state = State(kind, arn, account, tags_complete=tags_complete)
        for name in controlled:
            state.members[name] = self._expect(params, name, operation, step, "omitted_at_create")
        state.tags = {t["Key"]: t.get("Value") for t in params.get("ResourceTags") or ()}
        state.record()
        self.states[arn] = state
        return state

    def changed(self, operation: str, arn: str, params: dict, *, step: int = 0) -> None:
        """An update or action that executed: Update* keeps what it leaves out, Put* clears it."""
        state = self.states.get(arn)
        if state is None:
            return
        op = self.contract.operations[operation]
        if op.effect == "update":
            replaces = operation.startswith("Put")
            for name in self._readable[state.kind] & _input_members(operation) - {op.resource.identifier}:
                if name in params:
                    state.members[name] = self._expect(params, name, operation, step, "")
                elif replaces:
                    state.members[name] = Expected(ABSENT, "put_clears_omitted", operation, step)
                elif name in state.members:  # kept: the same value, now also on this call's account
                    old = state.members[name]
                    state.members[name] = Expected(old.value, "update_keeps_omitted", old.operation, old.step)
        if op.effect == "action" or operation.startswith("Put"):
            # What another operation set and this one may reset (a feature's status after a Put or a Verify: the
            # model documents no transitions): unknown from now on.
            keep = self._create_inputs.get(state.kind, frozenset()) | _input_members(operation)
            for name in [n for n in state.members if n not in keep]:
                del state.members[name]
        state.record()

    def deleted(self, arn: str) -> None:
        state = self.states.get(arn)
        if state is not None:
            state.gone = True
            state.members.clear()
            state.tags.clear()
            state.record()

    def tagged(self, arn: str, tags: list[dict]) -> None:
        if arn in self.states:
            self.states[arn].tags.update({t["Key"]: t.get("Value") for t in tags})

    def untagged(self, arn: str, keys: list[str]) -> None:
        if arn in self.states:
            self.states[arn].tags.update({key: ABSENT for key in keys})

    # -- comparing a read --------------------------------------------------------------------------------------
    def mismatches(self, arn: str, view: dict, *, version: int | None = None) -> list[Mismatch]:
        """The members a read of `arn` (its view: the holder member unwrapped) shows otherwise than expected: now,
        or as of `version` (an index into its versions: 0 is as created)."""
        state = self.states.get(arn)
        members = (state.members if version is None else state.versions[version]) if state else None
        if members is None:
            return []
        found = []
        for name, expected in sorted(members.items()):
            seen = view.get(name, ABSENT)
            if not self._matches(expected, seen, name):
                found.append(Mismatch(name, expected, seen))
        return found

    def _matches(self, expected: Expected, seen: Any, name: str) -> bool:
        if expected.value is ABSENT:
            return seen is ABSENT or _empty(comparable(seen))
        if seen is ABSENT:
            return _empty(comparable(expected.value))  # an empty value may simply not be shown
        sent, shown = comparable(expected.value), comparable(seen)
        if self.equivalent(expected.operation, {name: sent}, {name: shown}):
            return True
        return first_mismatch(sent, shown, name) is None

    def tag_mismatches(self, arn: str, listed: list[dict]) -> list[str]:
        """What a ListTagsForResource answer shows otherwise than the reference's tags of `arn`."""
        state = self.states.get(arn)
        if state is None:
            return []
        shown = {t["Key"]: t.get("Value") for t in listed}
        problems = []
        for key, value in sorted(state.tags.items()):
            if value is ABSENT and key in shown:
                problems.append(f"{key!r} still listed after UntagResource removed it")
            elif value is not ABSENT and shown.get(key, ABSENT) != value:
                problems.append(f"{key!r} listed as {shown.get(key, ABSENT)!r}, expected {value!r}")
        if state.tags_complete:
            problems += [f"{key!r} listed, never set" for key in sorted(set(shown) - set(state.tags))]
        return problems

    def live_tag_keys(self, arn: str) -> list[str]:
        state = self.states.get(arn)
        return [k for k, v in state.tags.items() if v is not ABSENT] if state else []

    @staticmethod
    def _expect(params: dict, name: str, operation: str, step: int, omitted: str) -> Expected:
        if name in params:
            return Expected(copy.deepcopy(params[name]), "as_sent", operation, step)
        return Expected(ABSENT, omitted, operation, step)
