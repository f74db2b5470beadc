"""The fault properties in the reports: the run's figures, a behaviour-report section, and reproductions.

Figures live in `results.meta["faults"]` (so results.json carries them as they are): lost-response trials run,
concurrent batches run, duplicates found, lost effects found, and what they are made of. `markdown_section`
renders them for the behaviour report. A failure of a fault property needs more than the calls to reproduce
it: the fault schedule set before a call, a client that retries as botocore's standard mode does, threads for
a race. `fault_script` and `race_script` write such boto3 scripts (sensitive members masked, as everywhere).
"""

from __future__ import annotations

import json
import pprint
from dataclasses import dataclass
from typing import Any, Iterable

from botocore import xform_name

from contracts.calls import Call
from contracts.model.redaction import REDACTOR
from contracts.engine.targets import Reproduction
from contracts.reporting.failures import Step, with_refs as _with_refs

FIGURES = {
    "lost_response_trials": "lost-response trials run",
    "concurrent_batches": "concurrent batches run",
    "duplicates_found": "duplicates found (must be 0)",
    "lost_effects_found": "lost effects found (must be 0)",
}


def figures(results: Any) -> dict[str, Any]:
    """The run's fault figures (created on first use), kept in results.meta["faults"]."""
    return results.meta.setdefault("faults", {
        "lost_response_trials": 0, "lost_response_inconclusive": 0, "lost_response_styles": {},
        "concurrent_batches": 0, "concurrent_requests": 0, "concurrent_successes": 0, "in_flight_refusals": 0,
        "largest_batch": 0, "duplicates_found": 0, "lost_effects_found": 0,
        "poison_trials": 0, "expiry_trials": 0, "skipped": "",
    })


def count_effect(fig: dict[str, Any], effects: int | None) -> None:
    if effects is None:
        return
    if effects > 1:
        fig["duplicates_found"] += effects - 1
    elif effects < 1:
        fig["lost_effects_found"] += 1


def markdown_section(fig: dict[str, Any] | None) -> list[str]:
    """Lines for the behaviour report (empty when the fault properties did not run)."""
    if not fig:
        return []
    out = ["## Faults, retries and concurrency (docs/idempotency.md properties 7-10)", ""]
    if fig.get("skipped"):
        return out + [f"Skipped: {fig['skipped']}", ""]
    styles = ", ".join(f"{k} {v}" for k, v in sorted(fig.get("lost_response_styles", {}).items()))
    out += [
        "| figure | value |",
        "|---|---:|",
        f"| lost-response trials run | {fig['lost_response_trials']} |",
        f"| concurrent batches run | {fig['concurrent_batches']} |",
        f"| duplicates found | {fig['duplicates_found']} |",
        f"| lost effects found | {fig['lost_effects_found']} |",
        "",
        f"- Lost responses: {fig['lost_response_trials']} committed requests whose response was lost "
        f"({styles or 'none'}) were retried by botocore's standard retry mode; "
        f"{fig['lost_response_inconclusive']} trials were inconclusive (the first attempt was refused, so there "
        f"was nothing to lose).",
        f"- Concurrent duplicates: {fig['concurrent_batches']} batches, {fig['concurrent_requests']} requests "
        f"(largest batch {fig['largest_batch']}): {fig['concurrent_successes']} got the result, "
        f"{fig['in_flight_refusals']} were refused as in-flight conflicts.",
        f"- Failures that must not poison a token: {fig['poison_trials']} throttled or failed requests, each "
        f"followed by the same request with its token.",
        f"- Expiry: {fig['expiry_trials']} tokens replayed inside and after the window.",
        "",
    ]
    return out


# ------------------------------------------------------------------------------------------- reproductions

RETRYING = 'Config(retries={"mode": "standard", "total_max_attempts": 3}, read_timeout=%s)'
SINGLE = 'Config(retries={"total_max_attempts": 1})'


@dataclass
class ScriptCall:
    call: Call
    client: str = "client"  # "client": one attempt per call; "retrying": botocore's standard retry mode
    schedule: dict | None = None  # the fault schedule set just before this call


class _Expr:
    def __init__(self, source: str):
        self.source = source

    def __repr__(self) -> str:
        return self.source


def _header(ctx: Reproduction, extra_imports: Iterable[str] = ()) -> list[str]:
    lines = ["# Reproduction: python3 repro.py",
             "# Members the model marks sensitive are placeholders of the same length and shape.",
             "import json", "import threading", "import urllib.request", *extra_imports, "",
             "import boto3", "from botocore.config import Config", "from botocore.exceptions import ClientError",
             "from botocore.exceptions import ConnectionClosedError, ReadTimeoutError"]
    if ctx.kind == "mock":
        lines += ["from invoicing_mock import Organization, mock_invoicing",
                  "from invoicing_mock.faults import ScheduledFaults"]
        if ctx.backend:
            module, _, attr = ctx.backend.partition(":")
            lines.append(f"from {module} import {attr} as backend_factory  # the emulator variant the run used")
    lines += [
        "", "",
        "def call(client, operation, params):",
        "    try:",
        "        response = getattr(client, operation)(**params)",
        '        attempts = response.pop("ResponseMetadata", {}).get("RetryAttempts", 0) + 1',
        '        print(operation, "->", response, f"({attempts} attempts)")',
        "        return response",
        "    except ClientError as error:",
        '        print(operation, "->", error.response["Error"]["Code"], error.response["Error"].get("Message"))',
        "    except (ConnectionClosedError, ReadTimeoutError) as error:",
        '        print(operation, "->", type(error).__name__, error)',
        "    return {}",
        "", "",
    ]
    if ctx.kind == "mock":
        orgs = ""
        if ctx.organization:
            orgs = f"organizations=[Organization.of({ctx.organization[0]!r}, {list(ctx.organization[1:])!r})]"
        backend = f"backend=backend_factory({orgs})" if ctx.backend else orgs
        lines += [f"with mock_invoicing({backend}) as mock:"]
    else:
        lines += ["if True:"]
    return lines


def _set_faults(ctx: Reproduction, spec: dict) -> list[str]:
    text = json.dumps(spec, sort_keys=True)
    if ctx.kind == "mock":
        return [f"mock.backend.faults = ScheduledFaults.from_spec({text})"]
    return [f"urllib.request.urlopen(urllib.request.Request({ctx.endpoint_url + '/_invoicing/faults'!r}, "
            f"data=json.dumps({text}).encode(), method=\"POST\"))"]


def _client(ctx: Reproduction, var: str, config: str, endpoint: str | None = None) -> str:
    args = ['"invoicing"', f'region_name="{ctx.region}"']
    url = endpoint or (repr(ctx.endpoint_url) if ctx.endpoint_url else None)
    if url:
        args.append(f"endpoint_url={url}")
    if ctx.kind != "aws":
        args += [f'aws_access_key_id="{ctx.payer}"', 'aws_secret_access_key="testing"']
    args.append(f"config={config}")
    return f"{var} = boto3.client({', '.join(args)})"


def fault_script(ctx: Reproduction, calls: list[ScriptCall], *, read_timeout: float) -> str:
    """A boto3 script: each call on its client, each schedule set before its call."""
    lines = _header(ctx)
    body = [_client(ctx, "client", SINGLE), _client(ctx, "retrying", RETRYING % read_timeout)]
    masks: dict[str, str] = {}
    refs: dict[str, str] = {}
    for number, item in enumerate(calls, 1):
        step = Step.of(item.call, masks)
        body.append(f"# step {number}" + (f": {step.note}" if step.note else ""))
        if item.schedule is not None:
            body += _set_faults(ctx, item.schedule)
        params = pprint.pformat(_with_refs(step.params, refs), width=100, sort_dicts=False)
        assign = f"r{number} = " if step.produced else ""
        body.append(f"{assign}call({item.client}, {xform_name(step.operation)!r}, {params})")
        body.append(f"# observed: {step.observed}")
        for member, arn in step.produced.items():
            refs.setdefault(arn, f"r{number}.get({member!r}, {arn!r})")
    lines += ["    " + line for text in body for line in text.splitlines()]
    return "\n".join(lines) + "\n"


def race_script(ctx: Reproduction, setup: list[Call], operation: str, params: dict, requests: int, schedule: dict,
                identifier: str, after: list[Call] = ()) -> str:
    """A boto3 script: the setup calls, the fault schedule, then `requests` threads sending one request with one
    token at once through the HTTP server, printing every answer, then the `after` calls (a replay, a read)."""
    lines = _header(ctx)
    body: list[str] = []
    if ctx.kind == "mock":
        body += ["from invoicing_mock.server import start", "served = start(0, backend=mock.backend)"]
        body.append(_client(ctx, "client", f'Config(retries={{"total_max_attempts": 1}}, max_pool_connections={requests})',
                            endpoint="served.url"))
    else:
        body.append(_client(ctx, "client", f'Config(retries={{"total_max_attempts": 1}}, max_pool_connections={requests})'))
    masks: dict[str, str] = {}
    refs: dict[str, str] = {}
    for number, call in enumerate(setup, 1):
        step = Step.of(call, masks)
        shown = pprint.pformat(_with_refs(step.params, refs), width=100, sort_dicts=False)
        body.append(f"r{number} = call(client, {xform_name(step.operation)!r}, {shown})  # {step.note}")
        for member, arn in step.produced.items():
            refs.setdefault(arn, f"r{number}.get({member!r}, {arn!r})")
    body += _set_faults(ctx, schedule)
    masked = REDACTOR.mask(dict(params), masks)
    body += [
        f"request = {pprint.pformat(_with_refs(masked, refs), width=100, sort_dicts=False)}",
        f"barrier = threading.Barrier({requests})",
        "answers = []",
        "",
        "def send():",
        "    barrier.wait()",
        f"    answers.append(call(client, {xform_name(operation)!r}, request))",
        "",
        f"threads = [threading.Thread(target=send) for _ in range({requests})]",
        "for thread in threads:",
        "    thread.start()",
        "for thread in threads:",
        "    thread.join()",
        f"print(len({{a.get({identifier!r}) for a in answers if a}}), 'distinct results;',",
        "      sum(1 for a in answers if not a), 'refused')",
    ]
    for call in after:
        step = Step.of(call, masks)
        shown = pprint.pformat(_with_refs(step.params, refs), width=100, sort_dicts=False)
        body.append(f"call(client, {xform_name(step.operation)!r}, {shown})  # {step.note}")
        body.append(f"# observed: {step.observed}")
    if ctx.kind == "mock":
        body.append("served.stop()")
    lines += ["    " + line for text in body for line in text.splitlines()]
    return "\n".join(lines) + "\n"


def with_reproduction(violation: Any, script: str) -> Any:
    """The violation with `script` as its reproduction (the reporters use it instead of replaying the calls)."""
    violation.reproduction = script
    return violation
