"""Stateful idempotency contracts: properties 1-6 and 9 of docs/idempotency.md.

One Hypothesis state machine per resource kind of the contract data (invoice units; procurement portal
preferences), over its token-bearing operations. Bundles hold live resources, used tokens and deletions;
deletes consume resources. After every step an invariant compares the machine's model of the state with what the
read and list operations show. Tokens are always passed explicitly, except where autofill is under test.

What the reads must show comes from the reference model (contracts/engine/reference.py), told of every call that
executed: every member a request controls (an Update keeps what it leaves out, a Put clears it), the tags after
TagResource / UntagResource, deletes. A read is compared with it and never adopted as the truth; only the members
the reference cannot know (LastModified, Version) are compared with the previous read, as "unchanged without a
call". New tokens are sometimes an earlier token with its letter case swapped or one character changed: the
model documents ClientToken as "A unique, case-sensitive identifier", so each is a request of its own.

Against an endpoint the machine creates what it needs, and deletes what it created when each run ends.
"""

from __future__ import annotations

import itertools
import json
import uuid
from dataclasses import dataclass

import pytest
from botocore import xform_name
from hypothesis import settings, strategies as st
from hypothesis.stateful import (
    Bundle,
    MultipleResults,
    RuleBasedStateMachine,
    consumes,
    invariant,
    multiple,
    precondition,
    rule,
    run_state_machine_as_test,
)

import strategies
from contracts import calls
from contracts.calls import Call, Outcome, comparable
from contracts.checks import ContractViolation
from contracts.model.redaction import REDACTOR
from contracts.packs.contract import TokenOperation, load
from contracts.checks import CHECKS, CheckContext
from contracts.engine.reference import ABSENT, ReferenceModel
from contracts.engine.session import Params, Suite, invalid_on_the_wire, read_view
from contracts.suite.exchanges import skip_if_denied

# A letter first: every token has one whose case can be swapped. Its 33 characters make every token longer than a
# UUID, the length a token store may wrongly keep.
_RUN = "r" + uuid.uuid4().hex
_SEQ = itertools.count(1)
TAG_OPERATIONS = ("TagResource", "UntagResource", "ListTagsForResource")
_TAGS_MAX = strategies.service_model().shape_for("ResourceTagList").metadata["max"]  # 200


@CHECKS.register("matches_reference", property="state-matches-reads")
def matches_reference(ctx: CheckContext, reference: ReferenceModel, arn: str, view: dict, when: str) -> None:
    """A read of a resource shows every member the reference model says the suite's calls made of it."""
    found = reference.mismatches(arn, view)
    if found:
        first = found[0]
        seen = "not shown" if first.observed is ABSENT else _brief({first.member: first.observed})
        ctx.fail(f"{when}, the read shows {arn}'s {first.member} otherwise than the calls made it"
                 + (f" (and {len(found) - 1} more members)" if len(found) > 1 else ""),
                 expectation=first.expected.expectation,
                 expected="; ".join(m.describe() for m in found)[:500], observed=seen)


@CHECKS.register("tags_match_reference", property="state-matches-reads")
def tags_match_reference(ctx: CheckContext, reference: ReferenceModel, arn: str, listed: list, when: str) -> None:
    """ListTagsForResource shows the tags the create, TagResource and UntagResource calls left."""
    problems = reference.tag_mismatches(arn, listed)
    if problems:
        ctx.fail(f"{when}, ListTagsForResource shows {arn}'s tags otherwise than the calls left them",
                 expected="the tags the calls left", observed="; ".join(problems)[:500])


@dataclass(eq=False)
class TokenUse:
    """A successful call with an explicit token: what a replay must reproduce."""

    op: TokenOperation
    params: Params
    outcome: Outcome
    account: str | None
    step: int  # its number among the example's calls (for notes and reproductions)

    @property
    def token(self) -> str:
        return self.params[self.op.token_member]

    def __repr__(self) -> str:
        return f"<{self.op.name} of step {self.step}>"


@dataclass(eq=False)
class Ref:
    """A live resource the machine created, and the call that created it."""

    arn: str
    creation: TokenUse

    def __repr__(self) -> str:
        return f"<{self.creation.op.resource.kind} {self.arn}>"


@dataclass(eq=False)
class Deletion:
    ref: Ref
    use: TokenUse

    def __repr__(self) -> str:
        return f"<deleted {self.ref.arn}>"


class TokenMachine(RuleBasedStateMachine):
    """Generic over one resource kind; the subclasses only name the kind."""

    kind = ""
    resources = Bundle("resources")
    tokens = Bundle("tokens")
    deleted = Bundle("deleted")

    def __init__(self, suite: Suite) -> None:
        super().__init__()
        self.suite = suite
        self.suite.trace.reset()
        contract = self.suite.contract
        self.resource = contract.resources[self.kind]
        ops = [op for op in contract.operations.values() if op.resource.kind == self.kind]
        self.create_op = next(op for op in ops if op.effect == "create")
        self.delete_op = next(op for op in ops if op.effect == "delete")
        self.change_ops = [op for op in ops if op.effect in ("update", "action") and self.selected(op)]
        self.reference = ReferenceModel(contract)  # what the reads must show (never taken from a read)
        self.expected: dict[str, dict] = {}  # live ARN -> its last read (only for members the reference lacks)
        self.gone: set[str] = set()
        self.accounts: dict[str, str | None] = {}  # ARN -> the account that owns it
        self.owned_before = self.suite.ledger.arns()
        listed, failed = self.suite.listed(self.resource)
        if failed is not None:
            skip_if_denied(self.suite, self.resource.list, what="before the machine started: ")
            raise RuntimeError(f"{self.resource.list} failed before the machine started: {failed.summary()}")
        self.baseline = set(listed)  # what existed before (on an endpoint, others' resources)
        self.last_property = "state-matches-reads"
        self.last_operation = self.create_op.name
        self.used: set[tuple[str, str, str | None]] = set()  # (operation, token, account) the target has seen
        self.issued: dict[str, list[str]] = {}  # operation -> the tokens sent with it, in order (variants' sources)
        self.changes: dict[str, list[TokenUse]] = {}  # ARN -> its executed updates, in order
        self.tagging = all(self.suite.selected(name) for name in TAG_OPERATIONS)

    def teardown(self) -> None:
        self.suite.ledger.cleanup(self.suite, since=self.owned_before)

    # -- helpers -----------------------------------------------------------------------------------------------
    def selected(self, op: TokenOperation) -> bool:
        return self.suite.selected(op.name)

    def begin(self, prop: str, op: TokenOperation) -> None:
        self.suite.trace.next_unit()
        self.last_property, self.last_operation = prop, op.name

    def call(self, op: TokenOperation | str, params: dict, *, account: str | None = None, validate: bool = True,
             note: str = "") -> tuple[Outcome, int]:
        name = op if isinstance(op, str) else op.name
        outcome = self.suite.api(account=account, validate=validate).call(name, params, note=note)
        entry = self.suite.contract.operations.get(name)
        if entry is not None and outcome.ok and entry.token_member in params:
            self.used.add((name, params[entry.token_member], account))
        self.suite.check("declared_error", name, outcome)
        self.suite.check("no_server_error", name, outcome)
        if outcome.ok:  # every response the machine gets is a response to check, whatever the rule tests
            self.suite.check("output_schema", name, outcome)
        return outcome, len(self.suite.trace.calls)

    def call_unchecked(self, op: TokenOperation, params: dict, note: str) -> tuple[Outcome, int]:
        """With client validation off; as raw JSON when botocore cannot even serialise the params."""
        api = self.suite.api(validate=False)
        serialisable = calls.serialisable(op.name, params)
        outcome = api.call(op.name, params, note=note if serialisable else note + ", sent as raw JSON",
                           raw=not serialisable)
        self.suite.check("declared_error", op.name, outcome)
        self.suite.check("no_server_error", op.name, outcome)
        return outcome, len(self.suite.trace.calls)

    def token(self, drawn: str | None = None) -> str:
        """An explicit token, unique in this run: the drawn one (if any) made unique with a suffix."""
        base = (drawn or "t")[:64]
        return f"{base}~{_RUN}-{next(_SEQ)}"

    def new_token(self, data, op: TokenOperation, drawn: str | None = None) -> str:
        """A token `op` was never sent with: fresh, or one of its earlier tokens with the letter case swapped or
        one character changed (a distinct token: ClientToken is "A unique, case-sensitive identifier")."""
        earlier = self.issued.get(op.name, [])
        how = data.draw(st.sampled_from(["fresh", "fresh", "case swapped", "one character changed"]),
                        label="new token") if earlier else "fresh"
        token = self.token(drawn)
        if how != "fresh":
            source = data.draw(st.sampled_from(earlier), label=f"an earlier token, {how}")
            variant = _token_variant(source, how)
            if variant not in earlier:
                token = variant
        self.issued.setdefault(op.name, []).append(token)
        return token

    def draw(self, data, op: TokenOperation, label: str, *, ref: Ref | None = None) -> Params:
        raw = data.draw(strategies.requests(op.name, hints=self.suite.hints), label=label)
        params = self.suite.prepare(op.name, raw)
        if ref is not None:
            params[self.resource.identifier] = ref.arn
        if op.name == "VerifyProcurementPortalValidation" and ref is not None:
            code = self.suite.target.validation_code(ref.creation.account or self.suite.target.payer, ref.arn)
            # Mostly the right code (so Verify succeeds and its replays are tested), sometimes a wrong one. Not
            # st.integers(0, 3): Hypothesis draws 0 far more often than one in four.
            use_code = data.draw(st.sampled_from([True, True, True, False]), label="use the code the last Send issued")
            if code and use_code:
                params["Code"] = code
        params[op.token_member] = self.new_token(data, op, raw.get(op.token_member))
        if ref is not None and op.effect == "update":
            self.leave_out(data, op, ref.arn, params)
        return params

    def leave_out(self, data, op: TokenOperation, arn: str, params: Params) -> None:
        """Half the time, leave out of an update an optional member the resource holds now: what an update
        does with a member it does not carry (kept by an Update*, cleared by a Put) is a state dimension a
        random draw rarely reaches (it must have been set before and be omitted now)."""
        state = self.reference.states.get(arn)
        shape = strategies.service_model().operation_model(op.name).input_shape
        held = sorted(name for name, expected in (state.members.items() if state else ())
                      if name in shape.members and name not in shape.required_members and expected.value is not ABSENT)
        if held and data.draw(st.booleans(), label="leave out a member the resource holds"):
            params.pop(data.draw(st.sampled_from(held), label="the member left out"), None)

    def explained(self, op: TokenOperation | str, params: dict, outcome: Outcome, prop: str,
                  account: str | None = None) -> None:
        """A refusal of a valid request must be one the suite predicted from the state (the call was refused,
        so the state is as it was before it)."""
        name = op if isinstance(op, str) else op.name
        self.suite.check("valid_request_handled", name, params, outcome,
                         self.suite.predict(name, params, account=account), as_property=prop)
        reason = outcome.error.get("reason")
        self.suite.observe(name, "valid requests in the state machine were",
                           "not sent (real-account guard or resource budget)" if outcome.not_sent else
                           f"refused with {outcome.error_code}" + (f" ({reason})" if reason else ""))

    def refresh(self, op: TokenOperation, arn: str, params: dict, account: str | None, prop: str,
                step: int = 0) -> None:
        """After a successful effect: tell the reference model, read it back, compare the read with it."""
        self.suite.observe(op.name, "valid requests in the state machine were", "accepted")
        if op.effect == "create":
            self.reference.created(op.name, arn, self.suite.target.effective_params(op.name, params),
                                   account=account, step=step, tags_complete=not self.suite.target.shares_fixtures)
        else:
            self.reference.changed(op.name, arn, params, step=step)
        read = self.suite.read(self.resource, arn, account=account)
        if not read.ok:
            self.suite.trace.add(_read_call(self.resource.read, self.resource.identifier, arn, read, account))
            self._fail(self.suite.context(op.name, prop),
                       f"after a successful {op.name}, {self.resource.read} cannot read {arn}",
                       expected="the resource", observed=read.summary(), property_id=prop)
        if op.effect != "action":
            # The read is the check's evidence: in the trace, so the reproduction makes it too.
            self.suite.trace.add(_read_call(self.resource.read, self.resource.identifier, arn, read, account))
            self.suite.check("effect_visible", op.name, params, read_view(self.resource, read), as_property=prop)
        self.suite.check("matches_reference", op.name, self.reference, arn, read_view(self.resource, read),
                         f"after {op.name}", as_property=prop)
        self.expected[arn] = read_view(self.resource, read)
        self.accounts[arn] = account

    def _fail(self, ctx, title: str, **kwargs) -> None:
        try:
            ctx.fail(title, **kwargs)
        except ContractViolation as violation:
            self.suite.seen_violations.append(violation)
            raise

    def created(self, use: TokenUse, prop: str) -> Ref:
        arn = use.outcome.response[use.op.response_identifier]
        self.refresh(use.op, arn, use.params, use.account, prop, use.step)
        return Ref(arn, use)

    def _replay(self, use: TokenUse, prop: str = "replay-equivalence") -> Outcome:
        self.begin(prop, use.op)
        replay, _ = self.call(use.op, use.params, account=use.account,
                              note=f"replay of step {use.step}: same token, same payload")
        ident = use.op.response_identifier
        if replay.ok and replay.response.get(ident) == use.outcome.response.get(ident):
            self.suite.observe(use.op.name, "replay with the same token", f"returned the same {ident}")
        elif replay.ok:
            self.suite.observe(use.op.name, "replay with the same token", f"returned a different {ident}")
        else:
            self.suite.observe(use.op.name, "replay with the same token", f"was refused with {replay.error_code}")
        check = "delete_replay_same" if use.op.effect == "delete" else "replay_same_response"
        self.suite.check(check, use.op.name, use.outcome, replay, as_property=prop)
        return replay

    def follow_up(self, use: TokenUse, data) -> None:
        """Right after every successful call, replay it and send a conflicting payload with its token: every
        token-bearing operation that succeeds once gets properties 1 and 2 checked, whatever the rule lottery
        (a drawn plan left an operation's conflict cell untested on some seeds)."""
        self._replay(use, "delete-replay" if use.op.effect == "delete" else "replay-equivalence")
        self._conflict(use, data)

    def _conflict(self, use: TokenUse, data) -> None:
        self.begin("conflict-rejection", use.op)
        mutation = data.draw(strategies.mutations(use.op.name, dict(use.params), hints=self.suite.hints),
                             label="one field changed")
        params = self.suite.prepare(use.op.name, mutation.params)
        params[use.op.token_member] = use.token
        target = self.suite.target
        sent, first = (target.effective_params(use.op.name, p) for p in (params, use.params))
        if self.suite.same_request(use.op.name, sent, first):
            # e.g. ResourceTags omitted vs [] in a real-account run, whose creates all carry the run's tags
            self.suite.observe(use.op.name, "conflicting payload (same token) was",
                               f"not sent: on this target it is the same request ({mutation.description})")
            return
        outcome, _ = self.call(use.op, params, account=use.account,
                               note=f"same token as step {use.step}, payload differs: {mutation.description}")
        answer = outcome.error_code or "accepted"
        self.suite.observe(use.op.name, "conflicting payload (same token) was",
                           "accepted" if outcome.ok else f"refused with {answer}")
        self.suite.observe(use.op.name, "conflicting payload (same token): the error's reason",
                           outcome.error.get("reason") or ("no error" if outcome.ok else "none given"))
        self.suite.check("conflict_refused", use.op.name, mutation.description, outcome)

    # -- rules: create, change, delete -------------------------------------------------------------------------
    @rule(target=resources, data=st.data())
    def create(self, data):
        self.begin("valid-requests", self.create_op)
        params = self.draw(data, self.create_op, "create request")
        outcome, step = self.call(self.create_op, params, note="create")
        if not outcome.ok:
            self.explained(self.create_op, params, outcome, "valid-requests")
            return multiple()
        ref = self.created(TokenUse(self.create_op, params, outcome, None, step), "valid-requests")
        if self.selected(self.create_op):
            self.follow_up(ref.creation, data)
        return ref

    def change(self, op: TokenOperation, ref: Ref, data):
        """An update or action on a live resource (one rule per operation: see change_rule)."""
        self.begin("valid-requests", op)
        params = self.draw(data, op, "request", ref=ref)
        outcome, step = self.call(op, params, account=ref.creation.account, note=op.effect)
        if not outcome.ok:
            self.explained(op, params, outcome, "valid-requests", ref.creation.account)
            return multiple()
        if op.name == "SendProcurementPortalValidation":
            self.suite.target.note_validation_sent(ref.arn)
        self.refresh(op, ref.arn, params, ref.creation.account, "valid-requests", step)
        use = TokenUse(op, params, outcome, ref.creation.account, step)
        self.follow_up(use, data)
        self.replay_earlier_change(use)
        return use

    def replay_earlier_change(self, use: TokenUse) -> None:
        """After an update, replay an earlier update of the same resource whose payload differs from what the
        resource now holds (the latest such): a replay has no effect of its own (protocol), so the reads (the
        invariant, after this step) must still show the later change. Right after each update, not left to the
        rule lottery (a seed whose machine drew `replay_change` at the wrong moment never took this path)."""
        if use.op.effect != "update":
            return
        arn = use.params[self.resource.identifier]
        earlier = self.changes.setdefault(arn, [])
        state = self.reference.states.get(arn)
        differs = [u for u in earlier if state is not None and any(
            name in state.members and comparable(value) != comparable(state.members[name].value)
            for name, value in u.params.items() if name not in (u.op.token_member, self.resource.identifier))]
        earlier.append(use)
        if differs:
            self._replay(differs[-1])

    @rule(target=deleted, ref=consumes(resources), data=st.data())
    def delete(self, ref, data):
        op = self.delete_op
        self.begin("valid-requests", op)
        params = Params({self.resource.identifier: ref.arn, op.token_member: self.token()})
        outcome, step = self.call(op, params, account=ref.creation.account, note="delete")
        if not outcome.ok:
            self.explained(op, params, outcome, "valid-requests", ref.creation.account)
            return multiple()
        self.expected.pop(ref.arn, None)
        self.reference.deleted(ref.arn)
        self.gone.add(ref.arn)
        use = TokenUse(op, params, outcome, ref.creation.account, step)
        if self.selected(op):
            self.follow_up(use, data)
        gone = Deletion(ref, use)
        self._replay_creation(gone)
        return gone

    @precondition(lambda self: any(op.name == "VerifyProcurementPortalValidation" for op in self.change_ops))
    @rule(target=tokens, ref=resources, data=st.data())
    def send_then_verify(self, ref, data):
        """Verify succeeds only with the code the last Send issued: send one, then verify with it (when the
        target lets the suite know codes: the emulator does, a real service sends them out of band)."""
        ops = {op.name: op for op in self.suite.contract.operations.values()}
        send, verify = ops["SendProcurementPortalValidation"], ops["VerifyProcurementPortalValidation"]
        account = ref.creation.account
        self.begin("valid-requests", send)
        params = self.draw(data, send, "send request", ref=ref)
        sent, _ = self.call(send, params, account=account, note="send a validation code")
        if not sent.ok:
            self.explained(send, params, sent, "valid-requests", account)
            return multiple()
        self.suite.target.note_validation_sent(ref.arn)
        self.follow_up(TokenUse(send, params, sent, account, len(self.suite.trace.calls)), data)
        code = self.suite.target.validation_code(account or self.suite.target.payer, ref.arn)
        if code is None:
            return multiple()
        self.begin("valid-requests", verify)
        params = self.draw(data, verify, "verify request", ref=ref)
        params["Code"] = code
        outcome, step = self.call(verify, params, account=account, note="verify with the code just sent")
        if not outcome.ok:
            self.explained(verify, params, outcome, "valid-requests", account)
            return multiple()
        self.refresh(verify, ref.arn, params, account, "valid-requests", step)
        use = TokenUse(verify, params, outcome, account, step)
        self.follow_up(use, data)
        return use

    # -- 1. replay equivalence ---------------------------------------------------------------------------------
    @rule(ref=resources)
    def replay_create(self, ref):
        if self.selected(ref.creation.op):
            self._replay(ref.creation)

    @rule(use=tokens)
    def replay_change(self, use):
        self._replay(use)

    @precondition(lambda self: any(op.effect == "update" for op in self.change_ops))
    @rule(use=tokens, data=st.data())
    def replay_after_a_later_change(self, use, data):
        """Property 1 on a rare path: change the resource again (`use`'s request with one member changed, a new
        token), then replay `use`. The replay has no effect of its own, so the reads (the invariant, after this
        step) must show the later change, not `use`'s members written again."""
        arn = use.params[self.resource.identifier]
        if use.op.effect != "update" or arn not in self.expected:
            return
        self.begin("replay-equivalence", use.op)
        mutation = data.draw(strategies.mutations(use.op.name, dict(use.params), hints=self.suite.hints),
                             label="the later change: one field changed")
        params = self.suite.prepare(use.op.name, mutation.params)
        params.update({self.resource.identifier: arn, use.op.token_member: self.new_token(data, use.op)})
        outcome, step = self.call(use.op, params, account=use.account,
                                  note=f"a later change: step {use.step}'s request, {mutation.description}")
        if not outcome.ok:
            self.explained(use.op, params, outcome, "valid-requests", use.account)
            return
        self.refresh(use.op, arn, params, use.account, "replay-equivalence", step)
        self.changes.setdefault(arn, []).append(TokenUse(use.op, params, outcome, use.account, step))
        self._replay(use)

    # -- 2. conflict rejection ---------------------------------------------------------------------------------
    @rule(ref=resources, data=st.data())
    def conflict_create(self, ref, data):
        if self.selected(ref.creation.op):
            self._conflict(ref.creation, data)

    @rule(use=tokens, data=st.data())
    def conflict_change(self, use, data):
        self._conflict(use, data)

    @rule(gone=deleted, data=st.data())
    def conflict_delete(self, gone, data):
        if self.selected(gone.use.op):
            self._conflict(gone.use, data)

    # -- 3. independence ---------------------------------------------------------------------------------------
    @rule(target=resources, ref=resources, data=st.data())
    def same_payload_new_token(self, ref, data):
        use = ref.creation
        if not self.selected(use.op):
            return multiple()
        self.begin("independence", use.op)
        params = Params({**use.params, use.op.token_member: self.new_token(data, use.op)})
        outcome, step = self.call(use.op, params, account=use.account,
                                  note=f"same payload as step {use.step}, new token")
        self.suite.check("independent_tokens", use.op.name, params, use.outcome, outcome,
                         self.suite.predict(use.op.name, params, account=use.account))
        self.suite.observe(use.op.name, "the same payload with a new token",
                           "made a new resource" if outcome.ok else f"was refused with {outcome.error_code}")
        if not outcome.ok:
            return multiple()
        return self.created(TokenUse(use.op, params, outcome, use.account, step), "independence")

    @rule(target=tokens, use=tokens, data=st.data())
    def change_again_new_token(self, use, data):
        self.begin("independence", use.op)
        arn = use.params[self.resource.identifier]
        if arn not in self.expected:
            return multiple()
        params = Params({**use.params, use.op.token_member: self.new_token(data, use.op)})
        outcome, step = self.call(use.op, params, account=use.account,
                                  note=f"same payload as step {use.step}, new token")
        self.suite.check("independent_tokens", use.op.name, params, use.outcome, outcome,
                         self.suite.predict(use.op.name, params, account=use.account))
        if not outcome.ok:
            return multiple()
        self.refresh(use.op, arn, params, use.account, "independence", step)
        again = TokenUse(use.op, params, outcome, use.account, step)
        self.replay_earlier_change(again)
        return again

    # -- 4. autofill -------------------------------------------------------------------------------------------
    @rule(target=resources, data=st.data())
    def autofill_create(self, data):
        op = self.create_op
        if not self.selected(op):
            return multiple()
        self.begin("autofill", op)
        params = self.draw(data, op, "create request")
        del params[op.token_member]
        refs = []
        outcomes = []
        for note in ("no token: botocore fills one in", "the same request again, no token"):
            outcome, step = self.call(op, params, note=note)
            self.suite.check("autofilled_token_sent", op.name, outcome)
            outcomes.append(outcome)
            if outcome.ok:
                refs.append(self.created(TokenUse(op, Params({**params, op.token_member: _sent_token(outcome, op)}),
                                                  outcome, None, step), "autofill"))
            elif len(outcomes) == 1:
                self.explained(op, params, outcome, "autofill")
        self.suite.check("autofill_independent", op.name, params, *outcomes, self.suite.predict(op.name, params))
        self.suite.observe(op.name, "two calls without a token",
                           "were independent" if outcomes[0].ok and len(refs) == 2 else
                           f"answered {outcomes[0].error_code or 'ok'}, then {outcomes[1].error_code or 'ok'}")
        return multiple(*refs)

    # -- 5. delete replay --------------------------------------------------------------------------------------
    @rule(gone=deleted)
    def replay_delete(self, gone):
        use = gone.use
        if self.selected(use.op):
            self._replay(use, "delete-replay")
            self.begin("delete-replay", use.op)
            again, _ = self.call(use.op, Params({**use.params, use.op.token_member: self.token()}),
                                 account=use.account, note=f"a new delete (new token) of what step {use.step} deleted")
            self.suite.check("delete_again_not_found", use.op.name, again)
            self.suite.observe(use.op.name, "a new delete of a deleted resource",
                               f"answered {again.error_code or 'success'}")
        self._replay_creation(gone)

    def _replay_creation(self, gone: Deletion) -> None:
        """Replay the create of a deleted resource: it must not come back. Run right after every delete as well
        as by the rule above, so every run that deletes checks it, whatever the rule lottery (a seed whose
        machine never drew `replay_delete` left the cell, and a baseline's behaviour, unobserved)."""
        creation = gone.ref.creation
        if self.selected(creation.op):
            self.begin("delete-replay", creation.op)
            replay, _ = self.call(creation.op, creation.params, account=creation.account,
                                  note=f"replay of the create of step {creation.step}, after its resource was deleted")
            if replay.ok:
                self.suite.check("replay_same_response", creation.op.name, creation.outcome, replay,
                                 as_property="delete-replay")
            read = self.suite.read(self.resource, gone.ref.arn, account=creation.account,
                                   note="is the deleted resource back?", record=True)
            self.suite.check("no_resurrection", creation.op.name, gone.ref.arn, replay, read)
            self.suite.observe(creation.op.name, "a replayed create after the delete",
                               "did not bring the resource back" if not read.ok else "brought the resource back")

    def _send_code(self, ref: Ref) -> None:
        """Have a validation code pending for `ref` (a setup call with a fresh token)."""
        send = self.suite.contract.operations.get("SendProcurementPortalValidation")
        if send is None:
            return
        params = Params({self.resource.identifier: ref.arn, send.token_member: self.token()})
        sent, _ = self.call(send, params, account=ref.creation.account, note="setup: send a validation code")
        if sent.ok:
            self.suite.target.note_validation_sent(ref.arn)

    # -- 6. scope ----------------------------------------------------------------------------------------------
    @precondition(lambda self: bool(self.change_ops))
    @rule(target=tokens, ref=resources, data=st.data())
    def token_of_another_operation(self, ref, data):
        op = data.draw(st.sampled_from(self.change_ops), label="operation")
        source = ref.creation
        if (op.name, source.token, source.account) in self.used:
            return multiple()  # already used on this operation: that would be a replay or a conflict
        # Scope is judged only on a request that can succeed: one the suite predicts a refusal for (a documented
        # rule, a name taken) says nothing about the token, so draw again a few times, then leave it.
        for attempt in range(4):
            params = self.draw(data, op, f"request (try {attempt + 1})", ref=ref)
            predicted = self.suite.predict(op.name, params, account=source.account)
            if not set(predicted) - {"ThrottlingException"}:  # a real service may throttle any request
                break
        else:
            return multiple()
        self.begin("scope", op)
        if op.name == "VerifyProcurementPortalValidation":
            self._send_code(ref)  # so the verify can succeed and the scope check has something to compare
        if op.name == "VerifyProcurementPortalValidation":  # the right code: scope needs a request that can succeed
            params["Code"] = self.suite.target.validation_code(ref.creation.account or self.suite.target.payer,
                                                               ref.arn) or params["Code"]
        params[op.token_member] = source.token
        outcome, step = self.call(op, params, account=ref.creation.account,
                                  note=f"reuses the token of step {source.step} ({source.op.name})")
        control = None
        if not outcome.ok:
            params = Params({**params, op.token_member: self.token()})
            control, step = self.call(op, params, account=ref.creation.account,
                                      note="control: the same request, a fresh token")
        self.suite.check("token_scoped_to_operation", op.name, source.op.name, outcome, control)
        self.suite.observe(op.name, f"a token {source.op.name} had used",
                           "worked like a fresh one" if outcome.ok or not (control and control.ok) else
                           "was refused although a fresh token worked")
        done = outcome if outcome.ok else control
        if done is None or not done.ok:
            return multiple()
        if op.name == "SendProcurementPortalValidation":
            self.suite.target.note_validation_sent(ref.arn)
        self.refresh(op, ref.arn, params, ref.creation.account, "scope", step)
        use = TokenUse(op, params, done, ref.creation.account, step)
        self.replay_earlier_change(use)
        return use

    @rule(ref=resources)
    def token_from_another_account(self, ref):
        """The creating call's token and payload from an account outside the organisation and from a member of
        the payer's own (a store keyed by organisation shares tokens only inside it)."""
        target = self.suite.target
        use = ref.creation
        if target.other_account is None or not self.selected(use.op):
            return  # the target cannot call as another account
        members = [m for m in target.members if m not in (target.payer, use.account)]
        for other, where in ((target.other_account, "outside"), *((m, "inside") for m in members[:1])):
            self.begin("scope", use.op)
            outcome, _ = self.call(use.op, use.params, account=other,
                                   note=f"step {use.step}'s token and payload, from account {other} ({where} "
                                        f"the organisation)")
            self.suite.check("token_scoped_to_account", use.op.name, use.outcome, outcome)
            self.suite.observe(use.op.name, f"the same token from another account {where} the organisation",
                               "made that account's own resource" if outcome.ok else f"answered {outcome.error_code}")
            if outcome.ok:  # the other account's own resource: delete it now, as that account
                arn = outcome.response[use.op.response_identifier]
                self.call(self.delete_op, {self.resource.identifier: arn, self.delete_op.token_member: self.token()},
                          account=other, note=f"clean up account {other}'s resource")

    # -- tags: the reference model against ListTagsForResource ---------------------------------------------------
    @precondition(lambda self: self.tagging)
    @rule(ref=resources, data=st.data())
    def tag_then_untag(self, ref, data):
        """Tag a live resource with a few distinct keys, untag several of its keys at once, and compare the tags
        listed with the reference after each."""
        arn, account = ref.arn, ref.creation.account
        if arn not in self.expected:
            return
        self.begin("state-matches-reads", self.create_op)
        raw = data.draw(strategies.requests("TagResource", hints=self.suite.hints), label="tag request")
        tags = _distinct_tags(raw.get("ResourceTags") or [])
        if len(set(self.reference.live_tag_keys(arn)) | {t["Key"] for t in tags}) <= _TAGS_MAX:
            # (past the model's maximum a refusal is right, and the oracle does not predict tag quotas)
            params = {"ResourceArn": arn, "ResourceTags": tags}
            outcome, _ = self.call("TagResource", params, account=account, note="tag")
            if not outcome.ok:
                self.explained("TagResource", params, outcome, "valid-requests", account)
            else:
                self.reference.tagged(arn, tags)
                self._compare_tags(arn, account, "after TagResource")
        keys = self.reference.live_tag_keys(arn)
        if len(keys) < 2:
            return
        count = data.draw(st.integers(2, min(len(keys), 4)), label="keys to untag")
        chosen = data.draw(st.permutations(keys), label="untag order")[:count]
        params = {"ResourceArn": arn, "ResourceTagKeys": chosen}
        outcome, _ = self.call("UntagResource", params, account=account, note=f"untag {count} keys")
        if not outcome.ok:
            self.explained("UntagResource", params, outcome, "valid-requests", account)
            return
        self.reference.untagged(arn, chosen)
        self._compare_tags(arn, account, f"after an UntagResource of {count} keys")

    def _compare_tags(self, arn: str, account: str | None, when: str) -> None:
        outcome, _ = self.call("ListTagsForResource", {"ResourceArn": arn}, account=account, note="read the tags")
        if not outcome.ok:
            self._fail(self.suite.context("ListTagsForResource", "state-matches-reads"),
                       f"{when}, ListTagsForResource cannot read the tags of the live {arn}",
                       expected="its tags", observed=outcome.summary(), property_id="state-matches-reads")
        self.suite.check("tags_match_reference", "ListTagsForResource", self.reference, arn,
                         outcome.response.get("ResourceTags") or [], when)

    # -- 9. failure does not poison ----------------------------------------------------------------------------
    @rule(target=resources, data=st.data())
    def refused_then_valid(self, data):
        op = self.create_op
        if not self.selected(op):
            return multiple()
        self.begin("failure-does-not-poison", op)
        invalid = data.draw(strategies.requests(op.name, valid=False, hints=self.suite.hints),
                            label="invalid request")
        if invalid.violation.path.startswith(op.token_member):
            return multiple()  # the token itself is what is wrong: nothing to reuse
        token = self.token()
        bad = self.suite.prepare(op.name, invalid.params, keep=invalid.violation.path)
        bad[op.token_member] = token
        note = f"invalid ({invalid.violation.description}), client validation off"
        refused, _ = self.call_unchecked(op, bad, note)
        if not invalid_on_the_wire(op.name, refused):
            return multiple()  # botocore's serialiser made it valid
        if refused.ok:
            self.suite.check("target_refuses_invalid", op.name, invalid.violation, refused)
        params = self.draw(data, op, "valid request")
        params[op.token_member] = token
        outcome, step = self.call(op, params, note="a valid request with the refused request's token")
        if outcome.not_sent:
            return multiple()  # a real-account run kept it back: the token's fate is unknown
        control = None
        if not outcome.ok:
            control_params = Params({**params, op.token_member: self.token()})
            control, step = self.call(op, control_params, note="control: the same request, a fresh token")
        self.suite.check("failure_does_not_poison", op.name, refused, outcome, control)
        self.suite.observe(op.name, "a token whose request was refused",
                           "worked like a fresh one" if outcome.ok or not (control and control.ok) else
                           "was poisoned")
        done = outcome if outcome.ok else control
        if done is None or not done.ok:
            return multiple()
        used = params if outcome.ok else control_params
        return self.created(TokenUse(op, used, done, None, step), "failure-does-not-poison")

    # -- the invariant: the machine's model against Get and List ------------------------------------------------
    @invariant()
    def state_matches_reads(self):
        if not hasattr(self, "expected"):
            return
        try:
            self._state_matches_reads()
        except ContractViolation as violation:
            self.suite.seen_violations.append(violation)
            raise

    def _state_matches_reads(self):
        prop, op = self.last_property, self.last_operation

        def ctx():  # made when it fails: its calls end with the read that shows the failure
            return self.suite.context(op, prop)

        for arn, view in self.expected.items():
            read = self.suite.read(self.resource, arn, account=self.accounts.get(arn))
            now = read_view(self.resource, read) if read.ok else None
            if now is not None and not self.reference.mismatches(arn, now):
                # What the reference cannot know (LastModified, Version) may change only with a call's effect.
                known = self.reference.states[arn].members if arn in self.reference.states else {}
                now, view = ({k: v for k, v in d.items() if k not in known} for d in (now, view))
            if now != view:
                self.suite.trace.add(_read_call(self.resource.read, self.resource.identifier, arn, read, self.accounts.get(arn)))
                if now is not None:
                    self.suite.check("matches_reference", op, self.reference, arn, read_view(self.resource, read),
                                     f"after {op}", as_property=prop)
                ctx().fail(f"after {op}, {self.resource.read} shows {arn} changed although one call's effect "
                         f"was already in place", expected=f"unchanged: {_brief(view)}",
                         observed=read.summary() if not read.ok else _brief(now))
        for arn in self.gone:
            read = self.suite.read(self.resource, arn, account=self.accounts.get(arn))
            if read.ok:
                self.suite.trace.add(_read_call(self.resource.read, self.resource.identifier, arn, read, self.accounts.get(arn)))
                ctx().fail(f"after {op}, the deleted {arn} can be read again",
                         expected="ResourceNotFoundException", observed=read.summary())
        listed, failed = self.suite.listed(self.resource)
        if failed is not None:
            ctx().fail(f"{self.resource.list} failed", expected="a listing", observed=failed.summary())
        live_by_payer = {a for a in self.expected if self.accounts.get(a) in (None, self.suite.target.payer)}
        missing = sorted(live_by_payer - set(listed))
        extra = sorted(set(listed) - self.baseline - live_by_payer - (self.suite.ledger.arns() - self.machine_arns()))
        back = sorted(set(listed) & self.gone)
        if missing or extra or back:
            # The listing again, recorded: the reproduction's evidence (the compared one follows NextToken unrecorded)
            self.suite.api().call(self.resource.list, {}, note="list again: what the invariant compared")
            ctx().fail(f"after {op}, {self.resource.list} does not show exactly the resources the calls made",
                     expected=f"{len(live_by_payer)} live resources of this run",
                     observed=f"missing {missing[:3]}, unexpected {extra[:3]}, deleted but listed {back[:3]}")
        self.suite.results.record(op, "state-matches-reads", "state_matches_reads", True, unit=self.suite.trace.unit)

    def machine_arns(self) -> frozenset[str]:
        return frozenset(self.expected) | frozenset(self.gone)


def _token_variant(token: str, how: str) -> str:
    """`token` with its letter case swapped, or with its last character changed: a different token
    (case-sensitive). Every fresh token of the run ends "~r<run>-<n>" with its own n, so a variant ends in a letter,
    never a digit: no later fresh token can equal it. It differs past the 36th character (a store that keeps a
    UUID's length would take it for `token`)."""
    if how == "case swapped":
        return token.swapcase()
    last = token[-1]
    return token[:-1] + ("abcdefghij"[int(last)] if last.isdigit() else "y" if last == "z" else "z")


def _distinct_tags(tags: list[dict]) -> list[dict]:
    """The drawn tags with distinct keys, at least two (a key suffixed where the draw repeated or lacked one)."""
    drawn = {t["Key"]: t.get("Value", "") for t in tags if t.get("Key")}
    base = next(iter(drawn), "k")
    for n in range(2, 4):
        if len(drawn) >= 2:
            break
        drawn.setdefault(f"{base[:120]}-{n}", "")
    return [{"Key": key, "Value": value} for key, value in list(drawn.items())[:4]]


def _sent_token(outcome: Outcome, op: TokenOperation) -> str:
    """The token botocore filled in, as it went over the wire."""
    return json.loads(outcome.sent_body or b"{}").get(op.token_member, "")


def _read_call(operation: str, identifier: str, arn: str, outcome: Outcome, account: str | None):
    return Call(operation, {identifier: arn}, outcome, account=account, note="read back")


def _brief(view: dict | None) -> str:
    return json.dumps(REDACTOR.placeholder_repr(comparable(view or {})), sort_keys=True, default=str)[:500]


# ------------------------------------------------------------------------------------------ one machine per kind

def change_rule(name: str):
    """A rule of its own per update/action operation: each gets as many steps as a create or a delete, where
    one rule drawing the operation would leave each a fraction (and their replays rarer still)."""

    @precondition(lambda self: any(op.name == name for op in self.change_ops))
    @rule(target=TokenMachine.tokens, ref=TokenMachine.resources, data=st.data())
    def change_operation(self, ref, data):
        return self.change(self.suite.contract.operations[name], ref, data)

    change_operation.__name__ = f"change_{xform_name(name)}"
    return change_operation


def machine_for(kind: str) -> type:
    ops = [op for op in load().operations.values() if op.resource.kind == kind and op.effect in ("update", "action")]
    rules = {f"change_{xform_name(op.name)}": change_rule(op.name) for op in ops}
    return type(f"{kind}Machine", (TokenMachine,), {"kind": kind, **rules})


MACHINES = {kind: machine_for(kind) for kind in ("InvoiceUnit", "ProcurementPortalPreference")}


def pytest_generate_tests(metafunc):
    if "kind" in metafunc.fixturenames:
        metafunc.parametrize("kind", sorted(MACHINES))


def _start_machines(suite: Suite, kind: str) -> None:
    """Skip when none of the kind's operations is selected; else the oracle's predictions start from the state
    as it is (machines clean up after themselves)."""
    ops = [op.name for op in suite.contract.operations.values() if op.resource.kind == kind]
    if not any(suite.selected(op) for op in ops):
        pytest.skip(f"none of {', '.join(ops)} selected")
    suite.resync()


class FixedDraws:
    """`st.data()` for a scripted run: each draw a value fixed by its place in the script (`fixed_example`),
    never by the run's seed."""

    def __init__(self) -> None:
        self.count = itertools.count(1)

    def draw(self, strategy: st.SearchStrategy, label: str | None = None):
        return strategies.fixed_example(strategy, at=next(self.count))


def _given(result):
    """What a rule gave its bundle: the value, or None where it gave nothing (`multiple()`)."""
    if isinstance(result, MultipleResults):
        return result.values[0] if result.values else None
    return result


def test_idempotency_script(suite: Suite, kind: str) -> None:
    """Before Hypothesis explores (the plugin runs this first): one scripted walk of the machine, every rule once
    in an order that gives each its subject, with fixed draws, so every property gets its examples whatever the
    seed and a planted fault on the common path fails within the run's first seconds."""
    _start_machines(suite, kind)
    machine, data = MACHINES[kind](suite), FixedDraws()

    def step(rule: str, *args, tries: int = 1):
        """One rule, then the invariant; a rule that gave nothing (a refusal the suite predicted) is tried again
        with the next draws, up to `tries` times. Each step's calls stay in the trace for the later steps (their
        reproductions rebuild the state the earlier steps made); a try that gave nothing leaves it."""
        for attempt in range(tries):
            given = _given(getattr(machine, rule)(*args))
            machine.state_matches_reads()
            if given is not None or attempt == tries - 1:
                suite.trace.keep_as_setup()
                return given
            suite.trace.reset()
        return None

    verify = "VerifyProcurementPortalValidation"
    try:
        ref = step("create", data, tries=8)
        if ref is None:
            return
        step("same_payload_new_token", ref, data)
        step("replay_create", ref)
        step("token_from_another_account", ref)
        if machine.tagging:
            step("tag_then_untag", ref, data)
        step("autofill_create", data)
        step("refused_then_valid", data, tries=4)  # a draw botocore refuses, or aimed at the token, gives nothing
        uses = [step(f"change_{xform_name(op.name)}", ref, data, tries=4)
                for op in machine.change_ops if op.name != verify]
        for use in filter(None, uses):
            step("change_again_new_token", use, data)
            if use.op.effect == "update":
                step("replay_after_a_later_change", use, data)
        if machine.change_ops:
            step("token_of_another_operation", ref, data)
        # Last: a reproduction cannot repeat a verify (it sends the run's code, and the code is the service's), so
        # no earlier step's failure has one among its calls.
        if any(op.name == verify for op in machine.change_ops):
            step(f"change_{xform_name(verify)}", ref, data, tries=4)
            step("send_then_verify", ref, data, tries=4)
        gone = step("delete", ref, data)
        if gone is not None:
            step("replay_delete", gone)
            step("conflict_delete", gone, data)
    finally:
        machine.teardown()


def test_idempotency(suite: Suite, kind: str) -> None:
    missing = set(suite.contract.resources) - set(MACHINES)
    assert not missing, f"contract resources without a state machine: {sorted(missing)}; add them to MACHINES"
    _start_machines(suite, kind)
    for entry in suite.contract.operations.values():
        if entry.resource.kind == kind and suite.selected(entry.name):
            replay = "delete-replay" if entry.effect == "delete" else "replay-equivalence"
            for prop in (replay, "conflict-rejection"):
                suite.results.expect(entry.name, prop)
    # A factory: each machine gets this run's Suite (Hypothesis would build a bare class without arguments).
    suite.reporting_flaky(lambda: run_state_machine_as_test(
        lambda: MACHINES[kind](suite),
        settings=settings(settings.default, max_examples=suite.sizing.stateful_examples,
                          stateful_step_count=suite.sizing.stateful_steps),
    ))
