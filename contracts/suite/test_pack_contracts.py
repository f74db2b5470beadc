"""Another service's contract pack (contracts.packs.pack), judged against moto in-process or an endpoint.

Run by `invoicing-contracts run --service NAME --target moto|endpoint` (the plugin keeps only this module then, and
leaves it out of Invoicing runs). Every test draws its requests from the installed botocore model of the pack's
service (strategies), and every expectation carries the pack's basis:

- valid requests: accepted, or refused with an error the operation declares and never a 5xx (model); accepted
  answers match the output's JSON Schema (model);
- invalid requests (one per server-side constraint): what the target answers is recorded as observed behaviour,
  never a verdict (an emulator's validation is not AWS's promise);
- replay (same token, same payload) and conflict (same token, one member changed): the pack's acceptable answer,
  the effects the read-back counts, the state left unchanged by a conflict, each with the pack's basis.

A documented or model expectation that fails raises a ContractViolation (the plugin reports it; Hypothesis
shrinks it); an assumed one, where AWS is silent, is recorded as a divergence with the same evidence and the test
goes on (docs/bases.md), unless --strict. Each finding carries a self-checking reproduction and the moto version.
Every example deletes what it created, so a shrunk example's replay starts from the same state.
"""

from __future__ import annotations

import uuid
from typing import Any

import jsonschema
import pytest
from hypothesis import given, strategies as st
from hypothesis.errors import Unsatisfiable

from contracts import json_schema, reporting
from contracts.calls import Outcome, Trace
from contracts.checks import ContractViolation
from contracts.engine.targets import Reproduction, ServiceTarget, TargetLost
from contracts.model.redaction import REDACTOR
from contracts.options import DEFAULT_SERVICE
from contracts.packs import pack as packs
from contracts.packs.pack import Answer, Pack, PackOperation, Read, Source
from contracts.packs.script import Script
from contracts.plugin import RUN
from contracts.calls import serialisable
from strategies import Contradiction, fixed_example, invalid_requests, requests, sensitive_members, violation_sites

MODEL = Source("model", "the botocore service model declares it")
# What an answer's shape is judged by: types, required members, enums. Not bounds or patterns: an answer echoes
# input the model's input shape allows, and the model's output bounds can be narrower (CreateSecret's Name: 512
# characters in, 256 out), a contradiction of the model, not of the target.
SHAPE_KEYWORDS = frozenset({"type", "required", "enum", "additionalProperties"})


def _pack_of(config: pytest.Config) -> Pack | None:
    run = config.stash.get(RUN, None)
    if run is None or run.options.service == DEFAULT_SERVICE:
        return None
    return packs.load(run.options.service)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    pack = _pack_of(metafunc.config)
    run = metafunc.config.stash.get(RUN, None)
    chosen = set(run.options.operations) if run is not None and run.options.operations else None
    for name, values in (("stateless_operation", pack.stateless if pack else ()),
                         ("token_operation", tuple(pack.operations) if pack else ())):
        if name in metafunc.fixturenames:
            metafunc.parametrize(name, [v for v in values if chosen is None or v in chosen])


class PackRun:
    """The started target, the run's results and the helpers every test of the module shares."""

    def __init__(self, run, pack: Pack, target: ServiceTarget):
        self.run, self.pack, self.target = run, pack, target
        self.results = run.results
        self.trace: Trace = target.trace
        self.api = target.api()
        self.nodeid = ""

    # -- reporting -------------------------------------------------------------------------------------------
    def record(self, operation: str, prop: str, check: str, passed: bool, *, exercised: bool = True,
               why: str = "") -> None:
        self.results.record(operation, prop, check, passed, self.trace.unit, exercised=exercised, why=why)

    def script(self) -> Script:
        return Script(self.pack.service, self.target.kind, self.target.region, self.target.url,
                      self.target.describe().get("moto_version", ""), self.target.fault_spec)

    def fail(self, operation: str, prop: str, expectation: str, source: Source, title: str, *, expected: str,
             observed: str, script: Script | None = None) -> None:
        """A failed expectation: raised (model, protocol, documented; assumed under --strict), else recorded as a
        divergence and the test goes on."""
        if source.quote:
            expected = f"{expected} (AWS: \"{source.quote}\" [{source.source}])"
        elif source.why:
            expected = f"{expected} ({source.basis}: {source.why})"
        violation = ContractViolation(title, operation=operation, property=prop, expected=expected,
                                      observed=observed, calls=self.trace.calls,
                                      reproduction=script.render() if script else None)
        violation.basis, violation.expectation = source.basis, expectation
        if source.basis != "assumed" or self.run.options.strict:
            raise violation
        record = reporting.failure_record(violation, Reproduction(kind=self.target.kind), self.nodeid)
        record.update(basis=source.basis, expectation=expectation, quote=source.quote, source=source.source,
                      why=source.why)
        self.results.add_divergence(record)

    def judge(self, operation: str, prop: str, expectation: str, source: Source, passed: bool, title: str, *,
              expected: str, observed: str, script: Script | None = None, assert_: str = "") -> None:
        """One expectation checked; `assert_` is the Python condition the reproduction asserts for it."""
        self.record(operation, prop, f"pack:{expectation}", passed)
        if not passed:
            if script is None and assert_:  # a stateless example: its calls, the last one's answer asserted
                script = self.script()
                for number, call in enumerate(self.trace.calls, 1):
                    script.call("answer" if number == len(self.trace.calls) else f"step{number}", call.operation,
                                call.params)
            if script is not None and assert_:
                script.asserts = [(assert_, f"{title}; expected {expected}; AWS: {source.quote}" if source.quote
                                   else f"{title}; expected {expected} ({source.basis}: {source.why})")]
            self.fail(operation, prop, expectation, source, title, expected=expected, observed=observed,
                      script=script)

    # -- calls -----------------------------------------------------------------------------------------------
    def call(self, operation: str, params: dict, note: str = "") -> Outcome:
        outcome = self.api.call(operation, params, note=note)
        if outcome.connection_error:
            raise TargetLost(f"lost the target mid-run: {outcome.connection_error}")
        return outcome

    def cleanup(self, op: PackOperation, request: dict, outcome: Outcome) -> None:
        if op.cleanup is not None and outcome.ok:
            self.api.call(op.cleanup.operation, fill(op.cleanup.params, request, outcome.response), record=False)


def fill(template: dict, request: dict, response: dict | None) -> dict:
    """A read's params: "$request.X" and "$response.X" replaced by those members."""
    out = {}
    for key, value in template.items():
        if isinstance(value, str) and value.startswith(("$request.", "$response.")):
            where, _, member = value[1:].partition(".")
            value = (request if where == "request" else (response or {})).get(member)
        out[key] = value
    return out


def without(value: Any, names: tuple[str, ...]) -> Any:
    """`value` with every member named in `names` removed, at any depth (what may change between reads)."""
    if isinstance(value, dict):
        return {k: without(v, names) for k, v in value.items() if k not in names}
    if isinstance(value, list):
        return [without(v, names) for v in value]
    return value


@pytest.fixture(scope="module")
def pack_run(pytestconfig: pytest.Config):
    run = pytestconfig.stash[RUN]
    pack = _pack_of(pytestconfig)
    options = run.options
    REDACTOR.also_sensitive(sensitive_members(pack.service))
    target = ServiceTarget(pack.service, options.target, Trace(), endpoint_url=options.endpoint_url,
                           fault=options.mock_backend)
    target.start()
    run.results.meta.update(target.describe())
    run.results.meta["pack"] = {"service": pack.service, "title": pack.title, "file": pack.file,
                                "expectations": pack.expectations(), "not_covered": pack.not_covered}
    try:
        yield PackRun(run, pack, target)
    finally:
        target.stop()


@pytest.fixture(autouse=True)
def _name_the_test(request: pytest.FixtureRequest):
    if "pack_run" in request.fixturenames:
        request.getfixturevalue("pack_run").nodeid = request.node.nodeid
    yield


# ------------------------------------------------------------------------------------------------ stateless


def test_valid_requests(pack_run: PackRun, stateless_operation: str) -> None:
    """Valid requests by the model: accepted with an answer matching the output schema, or refused with a declared
    error, never a 5xx (basis: model)."""
    service, op = pack_run.pack.service, stateless_operation
    declared = packs.declared_errors(service, op)
    schema = json_schema(op, "output", service)
    token_op = pack_run.pack.operations.get(op)

    @given(params=requests(op, service=service))
    def example(params: dict) -> None:
        pack_run.trace.reset()
        outcome = pack_run.call(op, params)
        try:
            if outcome.refused_by_client:
                pack_run.record(op, "valid-requests", "pack:sent", False, exercised=False,
                                why="botocore refused a model-valid request")
                pack_run.fail(op, "valid-requests", "sent", MODEL, "botocore refused a request the model accepts",
                              expected="sent", observed=outcome.summary())
            # In-process, an exception escaping moto reaches the caller instead of an HTTP answer (a server
            # answers it with a 500): a server fault either way.
            crashed = outcome.sent and outcome.status is None
            pack_run.judge(op, "valid-requests", "no-5xx", MODEL, not (outcome.server_fault or crashed),
                           "a valid request got a server error", expected="accepted or a declared 4xx error",
                           observed=(f"no HTTP answer: an exception escaped the target in-process: "
                                     f"{(outcome.client_error or '').split('request: ', 1)[-1]}" if crashed
                                     else outcome.summary()),
                           assert_="answer['ResponseMetadata']['HTTPStatusCode'] < 500")
            if not outcome.ok:
                pack_run.judge(op, "declared-errors", "declared", MODEL, outcome.error_code in declared,
                               f"{op} answered an error it does not declare",
                               expected=f"one of {sorted(declared)}", observed=outcome.summary(),
                               assert_=f"answer['Error']['Code'] in {sorted(declared)!r}")
                pack_run.results.observe(op, "a valid request", f"was refused with {outcome.error_code}")
                return
            pack_run.record(op, "valid-requests", "pack:accepted", True)
            pack_run.results.observe(op, "a valid request", "was accepted")
            if isinstance(outcome.wire, dict):
                problems = sorted((p for p in jsonschema.Draft7Validator(schema).iter_errors(outcome.wire)
                                   if p.validator in SHAPE_KEYWORDS), key=str)
                pack_run.judge(op, "output-schema", "schema", MODEL, not problems,
                               f"{op}'s answer does not match its output shape", expected="the model's output shape",
                               observed="; ".join(f"{'/'.join(map(str, p.path)) or '(body)'}: {p.message}"
                                                  for p in problems[:3]),
                               assert_=" and ".join(_schema_assertion(p) for p in problems[:3]))
        finally:
            if token_op is not None:
                pack_run.cleanup(token_op, params, outcome)

    example()


JSON_TYPES = {"string": "str", "object": "dict", "array": "list", "boolean": "bool", "integer": "int",
              "number": "(int, float)"}


def _schema_assertion(problem: jsonschema.ValidationError) -> str:
    """The reproduction's assertion for one schema problem, on the answer's body as received (`answer_wire`)."""
    path = "answer_wire" + "".join(f"[{part!r}]" for part in problem.path)
    if problem.validator == "type":
        wanted = problem.validator_value if isinstance(problem.validator_value, str) else "object"
        return f"isinstance({path}, {JSON_TYPES.get(wanted, 'object')})"
    if problem.validator == "required":
        return f"{str(problem.message).split(chr(39))[1]!r} in {path}"
    if problem.validator == "additionalProperties":
        return f"not set({path}) - set({sorted(problem.schema.get('properties', {}))!r})"
    return f"{path} in {problem.validator_value!r}"


def test_invalid_requests_are_observed(pack_run: PackRun, stateless_operation: str) -> None:
    """One request per server-layer constraint of the model (the coverage phase's fixed draw), sent past botocore's
    validation. moto validates little, and AWS's refusal is its own, not moto's promise: what the target answers
    is recorded as observed behaviour (behaviour.md's "Observed"), never as a verdict."""
    service, op = pack_run.pack.service, stateless_operation
    token_op = pack_run.pack.operations.get(op)
    api = pack_run.target.api(validate=False)
    sites = [site for site in violation_sites(op, service=service) if site.layer == "server"]
    if not sites:
        pytest.skip(f"{op}: every constraint of its input is one botocore checks before sending")
    for site in sites:
        try:
            invalid = fixed_example(invalid_requests(op, site, service=service))
        except (Contradiction, Unsatisfiable):
            continue  # the model gives no value breaking only this constraint
        pack_run.trace.reset()
        outcome = api.call(op, invalid.params, raw=not serialisable(op, invalid.params, service),
                           note=invalid.violation.description)
        answer = ("was accepted" if outcome.ok else f"was refused with {outcome.error_code}" if outcome.error_code
                  else f"got no HTTP answer ({(outcome.client_error or '').split('request: ', 1)[-1][:80]})"
                  if outcome.sent else "was not sent (botocore refused it)")
        pack_run.results.observe(op, f"an invalid request ({site.constraint} at {site.template})", answer)
        if token_op is not None:
            pack_run.cleanup(token_op, invalid.params, outcome)


# ----------------------------------------------------------------------------------------------- idempotency


def payloads(service: str, op: PackOperation) -> st.SearchStrategy[dict]:
    """A request with the pack's members present: each drawn from the model's valid requests of the operation
    (the members are optional, so each is taken from a request that has it; half of them do)."""
    whole = requests(op.name, service=service)
    members = {name: whole.filter(lambda p, n=name: n in p).map(lambda p, n=name: p[n]) for name in op.draw}
    return st.fixed_dictionaries(members).flatmap(
        lambda drawn: whole.map(lambda base: {**{k: v for k, v in base.items()
                                                 if k in _required(service, op.name)},
                                              **drawn, **op.fixed}))


def _required(service: str, operation: str) -> frozenset[str]:
    from strategies import operation_model

    return frozenset(operation_model(operation, service).input_shape.required_members)


def reads(pack_run: PackRun, op: PackOperation, request: dict, response: dict | None, note: str) -> list:
    """What each read-back shows now, its volatile members left out (an error is shown as its code)."""
    out = []
    for read in op.reads:
        outcome = pack_run.call(read.operation, fill(read.params, request, response), note=note)
        out.append(without(outcome.response, read.volatile) if outcome.ok else {"error": outcome.error_code})
    return out


def count(op: PackOperation, shown: list) -> int | None:
    index = op.reads.index(op.counter)
    value = shown[index]
    return len(value.get(op.counter.count, [])) if isinstance(value, dict) and "error" not in value else None


def script_reads(script: Script, op: PackOperation, request: dict, response: dict | None, prefix: str) -> list[str]:
    return [script.call(f"{prefix}_{i}", read.operation, fill(read.params, request, response))
            for i, read in enumerate(op.reads)]


def check_answer(pack_run: PackRun, op: PackOperation, prop: str, answer: Answer, first: Outcome, second: Outcome,
                 script: Script, what: str) -> None:
    """`second` (a replay or a conflict of `first`) answers as the pack accepts."""
    name = op.name
    if answer.answer == "success":
        pack_run.judge(name, prop, "answer", answer.source, second.ok, f"{what} was not answered with success",
                       expected="success", observed=second.summary(), script=script,
                       assert_="'Error' not in second")
        return
    codes = " or ".join(answer.codes)
    pack_run.judge(name, prop, "answer", answer.refusal_source or answer.source, not second.ok,
                   f"{what} was not refused", expected=f"refused ({codes})", observed=second.summary(),
                   script=script, assert_="'Error' in second")


def check_details(pack_run: PackRun, op: PackOperation, prop: str, answer: Answer, first: Outcome, second: Outcome,
                  script: Script, what: str) -> None:
    """After the effects: which error, and what it carries (a duplicate effect is the graver finding)."""
    name, codes = op.name, " or ".join(answer.codes)
    if answer.answer == "success" or second.ok:
        return
    pack_run.judge(name, prop, "code", answer.source, second.error_code in answer.codes,
                   f"{what} was refused with another error", expected=codes, observed=second.summary(),
                   script=script, assert_=f"second['Error']['Code'] in {tuple(answer.codes)!r}")
    for member, template in (answer.error_members or {}).items():
        wanted = fill({member: template}, {}, first.response)[member]
        pack_run.judge(name, prop, "error-members", answer.error_members_source or answer.source,
                       second.error.get(member) == wanted, f"{what}: the {codes} error does not carry {member}",
                       expected=f"{member} {wanted!r} in the error",
                       observed=f"{second.summary()}; error members {sorted(second.error)}", script=script,
                       assert_=f"second.get({member!r}) == first[{member!r}]")


def check_effects(pack_run: PackRun, op: PackOperation, prop: str, answer: Answer, request: dict,
                  first: Outcome, before: list, script: Script, what: str) -> None:
    after = reads(pack_run, op, request, first.response, f"read back after the {what}")
    counted = count(op, after)
    source = answer.effects_source or answer.source
    names = script_reads(script, op, request, first.response, "after")
    counter = names[op.reads.index(op.counter)]
    pack_run.judge(op.name, prop, "effects", source, counted == answer.effects,
                   f"{what}: {op.counter.operation} counts {counted} effects, not {answer.effects}",
                   expected=f"{answer.effects} {op.counter.count} entr{'y' if answer.effects == 1 else 'ies'}",
                   observed=f"{counted}", script=script,
                   assert_=f"len({counter}.get({op.counter.count!r}, [])) == {answer.effects}")
    same = " and ".join(f"without(before_{i}, {read.volatile!r}) == without(after_{i}, {read.volatile!r})"
                        for i, read in enumerate(op.reads))
    pack_run.judge(op.name, prop, "state-unchanged", source, after == before, f"{what}: the read-backs changed",
                   expected="the read-backs of the first answer",
                   observed=f"before {REDACTOR.placeholder_repr(before)!r}, after {REDACTOR.placeholder_repr(after)!r}",
                   script=script, assert_=same)


def _first(pack_run: PackRun, op: PackOperation, prop: str, request: dict, script: Script) -> Outcome | None:
    first = pack_run.call(op.name, request, note="first request")
    script.call("first", op.name, request)
    if not first.ok:
        pack_run.record(op.name, prop, "pack:first", True, exercised=False, why="the first request was refused")
        pack_run.results.observe(op.name, "the first request", f"was refused with {first.error_code}")
    return first


def _reuse_token(pack_run: PackRun, op: PackOperation, prop: str, spec: Answer, payload: dict, *, change, note: str,
                 subject: str, label: str, then=None) -> None:
    """What replay and conflict share: a first request and its read-backs, the same token again with
    `change(request)`, the effects, answer and details judged against `spec`, `then(first, second, script)`, and
    the cleanup of whatever either request made."""
    pack_run.trace.reset()
    request = {**payload, op.token: str(uuid.uuid4())}
    script = pack_run.script()
    first = _first(pack_run, op, prop, request, script)
    second = None
    try:
        if not first.ok:
            return
        before = reads(pack_run, op, request, first.response, "read back after the first request")
        script_reads(script, op, request, first.response, "before")
        again = change(request)
        second = pack_run.call(op.name, again, note=note)
        script.call("second", op.name, again)
        pack_run.results.observe(op.name, subject, "succeeded" if second.ok else
                                 f"was refused with {second.error_code}")
        # The effects first: a duplicate is the gravest departure, and the read-backs see it whatever answered.
        check_effects(pack_run, op, prop, spec, request, first, before, script, label)
        check_answer(pack_run, op, prop, spec, first, second, script, label)
        check_details(pack_run, op, prop, spec, first, second, script, label)
        if then is not None:
            then(first, second, script)
    finally:
        pack_run.cleanup(op, request, first)
        if second is not None:  # a second effect, where the target made one
            pack_run.cleanup(op, request, second)


def test_replay(pack_run: PackRun, token_operation: str) -> None:
    """Same token, same payload: the pack's acceptable answer, and the read-back counts the documented effects."""
    service, op = pack_run.pack.service, pack_run.pack.operations[token_operation]

    def same_response(first: Outcome, second: Outcome, script: Script) -> None:
        if not (second.ok and op.replay.same_response):
            return
        source = op.replay.same_response_source or op.replay.source
        differ = [m for m in op.replay.same_response
                  if (first.response or {}).get(m) != (second.response or {}).get(m)]
        pack_run.judge(op.name, "replay-equivalence", "same-response", source, not differ,
                       f"a replay answered other {', '.join(differ)}",
                       expected=f"the first answer's {', '.join(op.replay.same_response)}",
                       observed=f"{second.summary()} after {first.summary()}", script=script,
                       assert_=f"all(first.get(m) == second.get(m) for m in {op.replay.same_response!r})")

    @given(payload=payloads(service, op))
    def example(payload: dict) -> None:
        _reuse_token(pack_run, op, "replay-equivalence", op.replay, payload, change=dict,
                     note="replay (same token, same payload)", subject="replay with the same token",
                     label="a replay", then=same_response)

    example()


def test_conflict(pack_run: PackRun, token_operation: str) -> None:
    """Same token, one member changed: the pack's acceptable answer; the read-backs show the first request only."""
    service, op = pack_run.pack.service, pack_run.pack.operations[token_operation]
    whole = requests(op.name, service=service)

    @given(payload=payloads(service, op), data=st.data())
    def example(payload: dict, data) -> None:
        member = data.draw(st.sampled_from(op.vary), label="changed member")
        other = data.draw(whole.filter(lambda p: member in p and p[member] != payload.get(member))
                          .map(lambda p: p[member]), label=f"another {member}")
        label = f"the same token with another {member}"
        _reuse_token(pack_run, op, "conflict-rejection", op.conflict, payload,
                     change=lambda request: {**request, member: other}, note=f"same token, another {member}",
                     subject=label, label=label)

    example()
