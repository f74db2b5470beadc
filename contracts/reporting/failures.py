"""A violation as people read it: the minimal example as redacted steps, a runnable boto3 reproduction against
the run's target, and the one formatter the console, JUnit and the behaviour report share."""

from __future__ import annotations

import datetime as _dt
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


@dataclass
class Step:
    """One call of a minimal example, already redacted."""

    operation: str
    params: dict
    validate: bool
    account: str | None
    note: str
    observed: str
    produced: dict = field(default_factory=dict)  # ARNs the response named (later steps may use them)
    autofilled: dict = field(default_factory=dict)  # idempotency tokens botocore filled in (from the wire)
    raw: bool = False  # sent as hand-made JSON: botocore cannot serialise these params

    @classmethod
    def of(cls, call: Call, masks: dict[str, str]) -> "Step":
        response = call.outcome.response if call.outcome.ok else None
        produced = {k: v for k, v in (response or {}).items() if isinstance(v, str) and v.startswith("arn:")}
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
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "operation": self.operation,
            "params": json.loads(json.dumps(self.params, default=json_default)),
            "client_validation": self.validate,
            "account": self.account,
            "note": self.note,
            "observed": self.observed,
        }


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


def with_refs(value: Any, refs: dict[str, str]) -> Any:
    if isinstance(value, str) and value in refs:
        return _Expr(refs[value])
    if isinstance(value, dict):
        return {k: with_refs(v, refs) for k, v in value.items()}
    if isinstance(value, list):
        return [with_refs(v, refs) for v in value]
    return value


def reproduction(steps: list[Step], ctx: Reproduction) -> str:
    """A runnable boto3 script replaying `steps` against the run's target (sensitive values as placeholders)."""
    lines = [
        "# Reproduction: python3 repro.py",
        "# Members the model marks sensitive are placeholders of the same length and shape.",
        "import contextlib",
        "import datetime",
        "",
        "import boto3",
        "from botocore.config import Config",
        "from botocore.exceptions import ClientError, ParamValidationError",
    ]
    if ctx.kind == "mock":
        lines.append("from invoicing_mock import Organization, mock_invoicing")
        if ctx.backend:
            module, _, attr = ctx.backend.partition(":")
            lines.append(f"from {module} import {attr} as backend_factory  # the emulator variant the run used")
    lines += [
        "",
        "",
        "def call(client, operation, params):",
        "    try:",
        "        response = getattr(client, operation)(**params)",
        '        response.pop("ResponseMetadata", None)',
        '        print(operation, "->", response)',
        "        return response",
        "    except ClientError as error:",
        '        print(operation, "->", error.response["Error"]["Code"], error.response["Error"].get("Message"))',
        "    except ParamValidationError as error:",
        '        print(operation, "-> ParamValidationError:", error)',
        "    return {}",
    ]
    if any(step.raw for step in steps):
        lines += [
            "",
            "",
            "def call_raw(client, operation, body):",
            '    """Send `body` as the request: botocore cannot serialise these (invalid) parameters itself."""',
            "",
            "    def swap(request, **kwargs):",
            "        request.data = body.encode()",
            "",
            '    event = "request-created.invoicing." + client.meta.method_to_api_mapping[operation]',
            "    client.meta.events.register_first(event, swap)",
            "    try:",
            "        return call(client, operation, {})",
            "    finally:",
            "        client.meta.events.unregister(event, swap)",
        ]
    lines += [
        "",
        "",
    ]
    if ctx.kind == "mock":
        orgs = ""
        if ctx.organization:
            orgs = f"organizations=[Organization.of({ctx.organization[0]!r}, {list(ctx.organization[1:])!r})]"
        if ctx.backend:
            lines.append(f"with mock_invoicing(backend=backend_factory({orgs})):")
        else:
            lines.append(f"with mock_invoicing({orgs}):")
    else:
        lines.append("with contextlib.nullcontext():")
    clients: dict[tuple[str | None, bool], str] = {}
    refs: dict[str, str] = {}  # ARN -> the expression that holds it once an earlier step returned it
    body: list[str] = []
    for number, step in enumerate(steps, 1):
        key = (step.account, step.validate)
        if key not in clients:
            var = "client" if not clients else f"client{len(clients) + 1}"
            clients[key] = var
            body.append(_client_line(ctx, var, step.account, step.validate))
        comment = f"# step {number}" + (f": {step.note}" if step.note else "")
        body.append(comment)
        shown = dict(step.params)
        if step.autofilled:
            body.append(f"# botocore filled in {', '.join(f'{k}={v!r}' for k, v in step.autofilled.items())}; "
                        f"passed explicitly so the steps below can replay it")
            shown.update(step.autofilled)
        params = pprint.pformat(with_refs(shown, refs), width=100, sort_dicts=False)
        assign = f"r{number} = " if step.produced else ""
        if step.raw:
            text = wire_json(shown).decode()
            body.append(f"{assign}call_raw({clients[key]}, {xform_name(step.operation)!r}, {text!r})")
        else:
            body.append(f"{assign}call({clients[key]}, {xform_name(step.operation)!r}, {params})")
        body.append(f"# observed: {step.observed}")
        for member, arn in step.produced.items():
            refs.setdefault(arn, f"r{number}.get({member!r}, {arn!r})")
    if not body:
        body = ["pass  # the failing example made no call"]
    lines += ["    " + line for text in body for line in text.splitlines()]
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
        return cls(violation.title, violation.operation, violation.property, violation.check, violation.expected,
                   violation.observed, steps, violation.reproduction or reproduction(steps, target))

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


