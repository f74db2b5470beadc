"""A violation as people read it: the minimal example as redacted steps, a runnable, self-checking boto3
reproduction against the run's target, and the one formatter the console, JUnit and the behaviour report share.

A reproduction replays the steps and compares each answer with the failing run's, reduced to what must answer
the same again (contracts.reporting.observation): it exits 1 while the violating behaviour is there, 0 at the
first step the target answers otherwise. Sensitive members are placeholders, in the requests and in the
recorded answers alike (one mask per secret across the steps, so equal secrets stay equal)."""

from __future__ import annotations

import datetime as _dt
import inspect
import json
import pprint
from dataclasses import dataclass, field
from typing import Any

from botocore import xform_name

from contracts.calls import Call, wire_json
from contracts.checks import PROPERTIES, ContractViolation
from contracts.engine.targets import Reproduction
from contracts.model.redaction import REDACTOR
from contracts.packs.contract import load
from contracts.reporting import observation


@dataclass
class Step:
    """One call of a minimal example, already redacted."""

    operation: str
    params: dict
    validate: bool
    account: str | None
    note: str
    observed: str
    # ARNs, the NextToken and the times the response named: later steps that send them (or a time derived from
    # them, an AsOf) refer to this step's answer, since a replay gets its own (a page token is signed by the
    # target that issued it; a resource changes at the replay's time)
    produced: dict = field(default_factory=dict)
    autofilled: dict = field(default_factory=dict)  # idempotency tokens botocore filled in (from the wire)
    raw: bool = False  # sent as hand-made JSON: botocore cannot serialise these params
    waited: float = 0.0  # seconds the run let pass on purpose before it: the script waits as long
    # The answer as a reproduction compares it (observation.observe): ("ok", masked response), ("error", code,
    # reason), ("refused by botocore",), ("connection failed",), ("not sent",).
    answer: tuple = ("not sent",)

    @classmethod
    def of(cls, call: Call, masks: dict[str, str]) -> "Step":
        response = call.outcome.response if call.outcome.ok else None
        produced = {k: _in_utc(v) for k, v in (response or {}).items()
                    if isinstance(v, str) and (v.startswith("arn:") or k == "NextToken")
                    or isinstance(v, _dt.datetime)}
        autofilled = {}
        if call.outcome.sent and call.outcome.sent_body:
            try:
                sent = json.loads(call.outcome.sent_body)
            except ValueError:
                sent = {}
            entry = load().operations.get(call.operation)
            if entry and entry.token_member not in call.params and isinstance(sent, dict) and \
                    sent.get(entry.token_member):
                autofilled = {entry.token_member: sent[entry.token_member]}
        return cls(
            operation=call.operation,
            params=REDACTOR.mask(call.params, masks),
            validate=call.validate,
            account=call.account,
            note=REDACTOR.scrub(call.note),
            observed=call.outcome.summary(),
            produced=produced,
            autofilled=autofilled,
            raw=call.raw,
            waited=call.waited,
            answer=answer_of(call.outcome, masks),
        )

    def sent_params(self) -> dict:
        """The params as the reproduction sends them: masked, with the tokens botocore filled in, times in UTC
        (a time zone such as dateutil's tzlocal() has no repr the script could run)."""
        return _in_utc({**self.params, **self.autofilled})

    def to_dict(self) -> dict[str, Any]:
        return {
            "operation": self.operation,
            "params": json.loads(json.dumps(self.params, default=json_default)),
            "client_validation": self.validate,
            "account": self.account,
            "note": self.note,
            "observed": self.observed,
        }


def _in_utc(value: Any) -> Any:
    if isinstance(value, _dt.datetime) and value.tzinfo is not None:
        return value.astimezone(_dt.timezone.utc)
    if isinstance(value, dict):
        return {k: _in_utc(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_in_utc(v) for v in value]
    return value


def answer_of(outcome: Any, masks: dict[str, str]) -> tuple:
    """An outcome as a reproduction's `call()` returns it (sensitive members masked with `masks`)."""
    if outcome.not_sent:
        return ("not sent",)
    if outcome.connection_error:
        return ("connection failed",)
    if outcome.refused_by_client:
        return ("refused by botocore",)
    if outcome.ok:
        return ("ok", REDACTOR.mask(outcome.response or {}, masks))
    return ("error", outcome.error_code or f"HTTP {outcome.status}", (outcome.error or {}).get("reason"))


def json_default(value: Any) -> Any:
    if isinstance(value, _dt.datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return repr(value)


def _client_line(ctx: Reproduction, var: str, account: str | None, validate: bool) -> str:
    args = ['"invoicing"', f'region_name="{ctx.region}"']
    if ctx.endpoint_url:
        args.append(f'endpoint_url="{ctx.endpoint_url}"')
    if ctx.kind != "aws":
        key = account or ctx.payer
        # The emulator reads a 12-digit access key id as the caller's account.
        args += [f'aws_access_key_id="{key}"', 'aws_secret_access_key="testing"']
    config = 'retries={"total_max_attempts": 1}' + ("" if validate else ", parameter_validation=False")
    args.append(f"config=Config({config})")
    return f"{var} = boto3.client({', '.join(args)})"


class _Expr:
    """Python source standing for a value in a reproduction (an ARN an earlier step returned)."""

    def __init__(self, source: str):
        self.source = source

    def __repr__(self) -> str:
        return self.source


def waits(step: Step) -> list[str]:
    return [f"time.sleep({step.waited!r})  # the run waited as long here"] if step.waited else []


def note_produced(refs: dict, number: int, step: Step) -> None:
    """What step `number` produced, as the expressions later steps send instead of the run's values."""
    for member, value in step.produced.items():
        refs.setdefault(value, f"r{number}.get({member!r}, {value!r})")


def with_refs(value: Any, refs: dict) -> Any:
    """`value` with every ARN, page token and time an earlier step produced written as that step's answer, and
    every other time placed among those times as in the run (an AsOf halfway between two versions stays halfway
    between the replay's two versions)."""
    if isinstance(value, (str, _dt.datetime)) and value in refs:
        return _Expr(refs[value])
    if isinstance(value, _dt.datetime) and value.tzinfo is not None:
        return _time_between(value, sorted((t, e) for t, e in refs.items() if isinstance(t, _dt.datetime))) \
            or value
    if isinstance(value, dict):
        return {k: with_refs(v, refs) for k, v in value.items()}
    if isinstance(value, list):
        return [with_refs(v, refs) for v in value]
    return value


# A request time this close to a time the steps produced was derived from it (an AsOf read off LastModified); a
# time further away is a value of its own (a drawn date, a bound of the model) and stays as it is.
NEAR = _dt.timedelta(hours=1)


def _time_between(value: _dt.datetime, times: list[tuple[_dt.datetime, str]]) -> _Expr | None:
    """`value` as an expression of the produced times around it (None when none is near)."""
    earlier = [item for item in times if value - NEAR <= item[0] < value]
    later = [item for item in times if value < item[0] <= value + NEAR]
    if earlier and later:
        (a, left), (b, right) = earlier[-1], later[0]
        return _Expr(f"({left} + ({right} - {left}) * {(value - a) / (b - a):.6f})")
    if not earlier and not later:
        return None
    (t, expr), sign = (earlier[-1], "+") if earlier else (later[0], "-")
    return _Expr(f"({expr} {sign} datetime.timedelta(seconds={abs((value - t).total_seconds()):.6f}))")


VARIANT_IMPORT = "  # the emulator variant the run used"


def against_the_emulator(script: str) -> str:
    """A reproduction of a run against an emulator variant, pointed at the correct emulator instead (the honest
    other half of its check: the same steps there must exit 0)."""
    lines = [("from invoicing_mock.models import InvoicingBackend as backend_factory  # the correct emulator"
              if line.endswith(VARIANT_IMPORT) else line) for line in script.splitlines()]
    return "\n".join(lines) + "\n"


def observation_source() -> list[str]:
    """contracts.reporting.observation without its docstring: the comparison every reproduction carries."""
    source = inspect.getsource(observation)
    return source.split("from __future__ import annotations\n", 1)[1].strip().splitlines()


def header(ctx: Reproduction, *, extra_imports: tuple[str, ...] = ()) -> list[str]:
    """The imports, the comparison and `call`/`step`, shared by every reproduction (faults.py's too)."""
    lines = [
        "# Reproduction: python3 repro.py",
        "# Self-checking: each step's answer is compared with the failing run's (in what the contract looked at);",
        "# exit 1 while the fault is present, 0 once a step answers otherwise, 2 if the script itself fails.",
        "# Members the model marks sensitive are placeholders of the same length and shape.",
        "import contextlib",
        "import datetime",
        *extra_imports,
        "import sys",
        "import time",
        "import traceback",
        "",
        "import boto3",
        "from botocore.config import Config",
        "from botocore.exceptions import ClientError, ConnectionClosedError, EndpointConnectionError",
        "from botocore.exceptions import ParamValidationError, ReadTimeoutError",
    ]
    if ctx.kind == "mock":
        lines.append("from invoicing_mock import Organization, mock_invoicing")
        if ctx.backend:
            module, _, attr = ctx.backend.partition(":")
            lines.append(f"from {module} import {attr} as backend_factory{VARIANT_IMPORT}")
    lines += ["", "", *observation_source(), "", ""]
    lines += [
        "def call(client, operation, params):",
        '    """Send one request; print its answer and return it as observe() reads it."""',
        "    try:",
        "        response = getattr(client, operation)(**params)",
        "    except ClientError as error:",
        '        code = error.response["Error"]["Code"]',
        '        print(operation, "->", code, error.response["Error"].get("Message"))',
        '        return ("error", code, error.response.get("reason"))',
        "    except ParamValidationError as error:",
        '        print(operation, "-> ParamValidationError:", error)',
        '        return ("refused by botocore",)',
        "    except (ConnectionClosedError, ReadTimeoutError, EndpointConnectionError) as error:",
        '        print(operation, "->", type(error).__name__, error)',
        '        return ("connection failed",)',
        '    attempts = response.pop("ResponseMetadata", {}).get("RetryAttempts", 0) + 1',
        '    print(operation, "->", response, f"({attempts} attempts)" if attempts > 1 else "")',
        '    return ("ok", response)',
        "",
        "",
        "SEEN, STEPS = {}, []  # where each value first appeared; (step, the failing run's observation, now's)",
        "# Members the model marks sensitive: placeholders in the failing run's record, compared by equality only.",
        f"HIDDEN = {literal(sorted(REDACTOR.names))}",
        "# Steps a few milliseconds apart, as in the run: two changes never share a timestamp by chance.",
        "PACE = 0.005",
        "",
        "",
        "def step(number, client, operation, params, expected):",
        '    """Step `number`: send it, compare its observation with the failing run\'s; its response ({} if none)."""',
        "    time.sleep(PACE)",
        "    answer = call(client, operation, params)",
        "    STEPS.append((number, expected, observe(SEEN, number, params, answer, HIDDEN)))",
        '    return answer[1] if answer[0] == "ok" else {}',
    ]
    return lines


def guarded(lines: list[str], body: list[str]) -> list[str]:
    """`lines` ending in the `with` line that opens the steps, then `body` inside it, all in a try: a script that
    fails itself (a traceback) exits 2, never 1, which says the fault is present."""
    opening = lines[-1]
    inside = ["        " + line for text in body for line in text.splitlines()]
    return [*lines[:-1], "try:", "    " + opening, *inside,
            "except Exception:  # the script itself failed: it says nothing about the target",
            "    traceback.print_exc()",
            "    sys.exit(2)"]


def expected_observations(steps: list[Step], *, first: int = 1, seen: dict | None = None) -> list[Any]:
    """What each step observed in the failing run, as the script will compute it again (steps numbered from
    `first`; `seen` carries what earlier steps remembered)."""
    seen = {} if seen is None else seen
    return [observation.observe(seen, number, compared_params(step), step.answer, REDACTOR.names)
            for number, step in enumerate(steps, first)]


def compared_params(step: Step) -> dict:
    """The request as the script's observe() sees it: a raw step's body is what it sends."""
    return json.loads(wire_json(step.sent_params())) if step.raw else step.sent_params()


def _pending_code(ctx: Reproduction, step: Step, params: dict) -> dict:
    """A Verify the run answered with success sent the code pending then, which the emulator derives from the
    preference's ARN (a new one in the replay): against the emulator the script sends the code pending now."""
    if ctx.kind != "mock" or step.operation != "VerifyProcurementPortalValidation" or step.answer[0] != "ok" \
            or "Code" not in params:
        return params
    account = step.account or ctx.payer
    arn = params.get("ProcurementPortalPreferenceArn")
    return {**params, "Code": _Expr(f"mock.backend.pending_validation_code({account!r}, {arn!r}) or "
                                    f"{params['Code']!r}")}


def literal(value: Any) -> str:
    return pprint.pformat(value, width=100, sort_dicts=False)


def reproduction(steps: list[Step], ctx: Reproduction, *, expected: str = "", observed: str = "") -> str:
    """A runnable boto3 script replaying `steps` against the run's target (sensitive values as placeholders),
    exiting 1 while every step answers as it did in the failing run (`expected`/`observed`: the violation's
    words, printed with the verdict)."""
    lines = header(ctx)
    if any(step.raw for step in steps):
        lines += [
            "",
            "",
            "def step_raw(number, client, operation, body, expected):",
            '    """A step sent as `body`: botocore cannot serialise these (invalid) parameters itself."""',
            "",
            "    def swap(request, **kwargs):",
            "        request.data = body.encode()",
            "",
            '    event = "request-created.invoicing." + client.meta.method_to_api_mapping[operation]',
            "    client.meta.events.register_first(event, swap)",
            "    time.sleep(PACE)",
            "    try:",
            "        answer = call(client, operation, {})",
            "    finally:",
            "        client.meta.events.unregister(event, swap)",
            "    STEPS.append((number, expected, observe(SEEN, number, json.loads(body), answer, HIDDEN)))",
            '    return answer[1] if answer[0] == "ok" else {}',
        ]
        lines.insert(lines.index("import sys"), "import json")
    lines += ["", ""]
    if ctx.kind == "mock":
        orgs = ""
        if ctx.organization:
            orgs = f"organizations=[Organization.of({ctx.organization[0]!r}, {list(ctx.organization[1:])!r})]"
        if ctx.backend:
            lines.append(f"with mock_invoicing(backend=backend_factory({orgs})) as mock:")
        else:
            lines.append(f"with mock_invoicing({orgs}) as mock:")
    else:
        lines.append("with contextlib.nullcontext():")
    clients: dict[tuple[str | None, bool], str] = {}
    refs: dict = {}  # ARN, page token or time -> the expression that holds it once an earlier step returned it
    body: list[str] = []
    for number, (step, want) in enumerate(zip(steps, expected_observations(steps)), 1):
        key = (step.account, step.validate)
        if key not in clients:
            var = "client" if not clients else f"client{len(clients) + 1}"
            clients[key] = var
            body.append(_client_line(ctx, var, step.account, step.validate))
        comment = f"# step {number}" + (f": {step.note}" if step.note else "")
        body.append(comment)
        body += waits(step)
        shown = step.sent_params()
        if step.autofilled:
            body.append(f"# botocore filled in {', '.join(f'{k}={v!r}' for k, v in step.autofilled.items())}; "
                        f"passed explicitly so the steps below can replay it")
        assign = f"r{number} = " if step.produced else ""
        if step.raw:
            text = wire_json(shown).decode()
            body.append(f"{assign}step_raw({number}, {clients[key]}, {xform_name(step.operation)!r}, {text!r},")
        else:
            params = literal(_pending_code(ctx, step, with_refs(shown, refs)))
            body.append(f"{assign}step({number}, {clients[key]}, {xform_name(step.operation)!r}, {params},")
        body.append(f"     expected={literal(want)})")
        body.append(f"# observed: {step.observed}")
        note_produced(refs, number, step)
    if not body:
        body = ["pass  # the failing example made no call"]
    lines = guarded(lines, body)
    lines += ["", f"sys.exit(verdict(STEPS, {expected!r}, {observed!r}))"]
    return "\n".join(lines) + "\n"


@dataclass
class Failure:
    """A violation as the reports show it: the violation's own data, its calls as redacted steps, and a runnable
    reproduction against the run's target."""

    title: str
    operation: str
    property: str
    check: str
    expected: str
    observed: str
    steps: list[Step]
    reproduction: str

    @classmethod
    def of(cls, violation: ContractViolation, target: Reproduction) -> "Failure":
        masks: dict[str, str] = {}  # one mask per secret across the steps, so a replay still replays
        steps = [Step.of(call, masks) for call in violation.calls]
        script = violation.reproduction or reproduction(steps, target, expected=violation.expected,
                                                        observed=violation.observed)
        return cls(violation.title, violation.operation, violation.property, violation.check, violation.expected,
                   violation.observed, steps, script)

    def to_dict(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "operation": self.operation,
            "property": self.property,
            "check": self.check,
            "expected": self.expected,
            "observed": self.observed,
            "example": [step.to_dict() for step in self.steps],
            "reproduction": self.reproduction,
        }


def failure_record(violation: ContractViolation, target: Reproduction, test: str) -> dict[str, Any]:
    """What results.json and the reports keep of a violation found by the pytest item `test`."""
    failure = Failure.of(violation, target)
    return {**failure.to_dict(), "test": test, "text": format_failure(failure)}


def format_failure(violation: Failure) -> str:
    """The text of a violation, used verbatim by the console, JUnit and the behaviour report."""
    prop = PROPERTIES.get(violation.property)
    lines = [
        f"{violation.title}",
        f"  operation: {violation.operation}",
        f"  property:  {prop.label if prop else violation.property}"
        + (f"  (check {violation.check})" if violation.check else ""),
    ]
    if violation.expected:
        lines.append(f"  expected:  {violation.expected}")
    if violation.observed:
        lines.append(f"  observed:  {violation.observed}")
    if violation.steps:
        lines.append(f"  minimal example ({len(violation.steps)} call{'s' * (len(violation.steps) != 1)}):")
        for number, step in enumerate(violation.steps, 1):
            note = f"  [{step.note}]" if step.note else ""
            who = f" as {step.account}" if step.account else ""
            unchecked = " (client validation off)" if not step.validate else ""
            unchecked += " (sent as raw JSON)" if step.raw else ""
            lines.append(f"    {number}. {step.operation}{who}{unchecked}{note}")
            lines.append(f"       params:   {json.dumps(step.params, default=json_default, sort_keys=True)}")
            lines.append(f"       observed: {step.observed}")
    lines.append("  reproduction (boto3):")
    lines += ["    " + line for line in violation.reproduction.rstrip().splitlines()]
    return "\n".join(lines)


