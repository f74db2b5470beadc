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
from contracts.reporting import observation
from contracts.reporting.failures import (Step, expected_observations, guarded, header, literal, note_produced,
                                          waits, with_refs)

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
    advance: float | None = None  # seconds the target's clock was moved forward just before this call


def _header(ctx: Reproduction) -> list[str]:
    lines = header(ctx, extra_imports=("import json", "import threading", "import urllib.request"))
    if ctx.kind == "mock":
        lines.insert(lines.index("from invoicing_mock import Organization, mock_invoicing") + 1,
                     "from invoicing_mock.faults import ScheduledFaults")
    lines += ["", ""]
    if ctx.kind == "mock":
        orgs = ""
        if ctx.organization:
            orgs = f"organizations=[Organization.of({ctx.organization[0]!r}, {list(ctx.organization[1:])!r})]"
        backend = f"backend=backend_factory({orgs})" if ctx.backend else orgs
        lines += [f"with mock_invoicing({backend}) as mock:"]
    else:
        lines += ["if True:"]
    return lines


def _steps(body: list[str], steps: list[Step], clients: list[str], refs: dict, first: int = 1,
           before: dict[int, list[str]] | None = None, wants: list | None = None) -> None:
    """Each step as `step(...)` on its client with the failing run's observation, numbered from `first`."""
    wants = wants if wants is not None else expected_observations(steps)
    for offset, (step, client, want) in enumerate(zip(steps, clients, wants)):
        number = first + offset
        body.append(f"# step {number}" + (f": {step.note}" if step.note else ""))
        body += (before or {}).get(number, []) + waits(step)
        params = literal(with_refs(step.sent_params(), refs))
        assign = f"r{number} = " if step.produced else ""
        body.append(f"{assign}step({number}, {client}, {xform_name(step.operation)!r}, {params},")
        body.append(f"     expected={literal(want)})")
        body.append(f"# observed: {step.observed}")
        note_produced(refs, number, step)


_VERDICT = "sys.exit(verdict(STEPS, {expected!r}, {observed!r}))"


def _verdict(lines: list[str]) -> str:
    """The script's last line; with_reproduction() fills in the violation's words."""
    return "\n".join([*lines, "", _VERDICT.format(expected="", observed="")]) + "\n"


def _set_faults(ctx: Reproduction, spec: dict) -> list[str]:
    text = json.dumps(spec, sort_keys=True)
    if ctx.kind == "mock":
        return [f"mock.backend.faults = ScheduledFaults.from_spec({text})"]
    return [f"urllib.request.urlopen(urllib.request.Request({ctx.endpoint_url + '/_invoicing/faults'!r}, "
            f"data=json.dumps({text}).encode(), method=\"POST\"))"]


def _advance_clock(ctx: Reproduction, seconds: float) -> list[str]:
    if ctx.kind == "mock":
        return [f"mock.backend.advance_clock({seconds!r})"]
    return [f"urllib.request.urlopen(urllib.request.Request({ctx.endpoint_url + '/_invoicing/clock'!r}, "
            f"data=json.dumps({{'advance': {seconds!r}}}).encode(), method=\"POST\"))"]


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
    """A self-checking boto3 script: each call on its client, each schedule set and each clock move made before
    its call."""
    lines = _header(ctx)
    body = [_client(ctx, "client", SINGLE), _client(ctx, "retrying", RETRYING % read_timeout)]
    masks: dict[str, str] = {}
    steps = [Step.of(item.call, masks) for item in calls]
    before = {number: (_advance_clock(ctx, item.advance) if item.advance is not None else [])
              + (_set_faults(ctx, item.schedule) if item.schedule is not None else [])
              for number, item in enumerate(calls, 1)}
    _steps(body, steps, [item.client for item in calls], {}, before=before)
    return _verdict(guarded(lines, body))


def race_script(ctx: Reproduction, setup: list[Call], operation: str, params: dict, requests: int, schedule: dict,
                identifier: str, after: list[Call] = (), batch_calls: list[Call] = ()) -> str:
    """A self-checking boto3 script: the setup calls, the fault schedule, then `requests` threads sending one
    request with one token at once through the HTTP server, printing every answer, then the `after` calls (a
    replay, a read). Every step is compared with the failing run; the batch (step len(setup) + 1, its answers
    `batch_calls`) by the kinds of answer and the number of distinct results (observation.observe_batch)."""
    lines = _header(ctx)
    body: list[str] = []
    config = f'Config(retries={{"total_max_attempts": 1}}, max_pool_connections={requests})'
    if ctx.kind == "mock":
        body += ["from invoicing_mock.server import start", "served = start(0, backend=mock.backend)"]
        body.append(_client(ctx, "client", config, endpoint="served.url"))
    else:
        body.append(_client(ctx, "client", config))
    masks: dict[str, str] = {}
    refs: dict = {}
    setup_steps = [Step.of(call, masks) for call in setup]
    after_steps = [Step.of(call, masks) for call in after]
    batch = len(setup_steps) + 1
    masked = REDACTOR.mask(dict(params), masks)
    # The failing run's observations, numbered as the script numbers its steps.
    seen: dict = {}
    _steps(body, setup_steps, ["client"] * len(setup_steps), refs, wants=expected_observations(setup_steps, seen=seen))
    answers = [Step.of(call, masks).answer for call in batch_calls]
    want = observation.observe_batch(seen, batch, answers, identifier)
    body.append(f"# step {batch}: {requests} requests with one token at once")
    body += _set_faults(ctx, schedule)
    body += [
        f"request = {literal(with_refs(masked, refs))}",
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
    ]
    if batch_calls:
        body += [f"STEPS.append(({batch}, {literal(want)},",
                 f"              observe_batch(SEEN, {batch}, answers, {identifier!r})))"]
    else:  # the run did not say how the batch was answered: printed, not compared
        body.append(f"print(observe_batch({{}}, {batch}, answers, {identifier!r}))")
    _steps(body, after_steps, ["client"] * len(after_steps), refs, first=batch + 1,
           wants=expected_observations(after_steps, first=batch + 1, seen=seen))
    if ctx.kind == "mock":
        body.append("served.stop()")
    return _verdict(guarded(lines, body))


def with_reproduction(violation: Any, script: str) -> Any:
    """The violation with `script` as its reproduction (the reporters use it instead of replaying the calls), its
    verdict printing what the contract expected and what the failing run observed."""
    blank = _VERDICT.format(expected="", observed="")
    if script.rstrip().endswith(blank):
        words = _VERDICT.format(expected=violation.expected, observed=violation.observed)
        script = script.rstrip()[: -len(blank)] + words + "\n"
    violation.reproduction = script
    return violation
