"""What a run found, for CI and for people: results, JUnit XML, results JSON, behaviour documentation.

One formatter, `format_failure`, renders a ContractViolation for the console, JUnit and the behaviour report.
Everything written passes through the redactor: members the model marks sensitive are masked in structures and
the secrets seen are scrubbed from free text.
"""

from __future__ import annotations

import datetime as _dt
import html
import json
import platform
import pprint
import threading
import xml.etree.ElementTree as ET
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from botocore import xform_name

from contracts.calls import TRACE, Call
from contracts.model.redaction import REDACTOR

# -------------------------------------------------------------------------------------- steps and reproductions


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
            from contracts.packs.contract import load

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
            "params": json.loads(json.dumps(self.params, default=_json_default)),
            "client_validation": self.validate,
            "account": self.account,
            "note": self.note,
            "observed": self.observed,
        }


def _json_default(value: Any) -> Any:
    if isinstance(value, _dt.datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return repr(value)


@dataclass
class ReproductionContext:
    """How a reproduction reaches the target the run used (set by contracts.engine.targets when a target starts)."""

    kind: str = "mock"  # mock | endpoint | aws
    endpoint_url: str | None = None
    region: str = "us-east-1"
    backend: str | None = None  # "module:attr" of a non-default emulator backend factory, for the mock
    payer: str = "123456789012"
    organization: tuple[str, ...] | None = None  # (payer, members...) when not the emulator's default


REPRODUCTION = ReproductionContext()


def _client_line(var: str, account: str | None, validate: bool) -> str:
    ctx = REPRODUCTION
    args = [f'"invoicing"', f'region_name="{ctx.region}"']
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


def _with_refs(value: Any, refs: dict[str, str]) -> Any:
    if isinstance(value, str) and value in refs:
        return _Expr(refs[value])
    if isinstance(value, dict):
        return {k: _with_refs(v, refs) for k, v in value.items()}
    if isinstance(value, list):
        return [_with_refs(v, refs) for v in value]
    return value


def reproduction(steps: list[Step]) -> str:
    """A runnable boto3 script replaying `steps` against the run's target (sensitive values as placeholders)."""
    ctx = REPRODUCTION
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
            body.append(_client_line(var, step.account, step.validate))
        comment = f"# step {number}" + (f": {step.note}" if step.note else "")
        body.append(comment)
        shown = dict(step.params)
        if step.autofilled:
            body.append(f"# botocore filled in {', '.join(f'{k}={v!r}' for k, v in step.autofilled.items())}; "
                        f"passed explicitly so the steps below can replay it")
            shown.update(step.autofilled)
        params = pprint.pformat(_with_refs(shown, refs), width=100, sort_dicts=False)
        assign = f"r{number} = " if step.produced else ""
        if step.raw:
            from contracts.calls import wire_json

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


# ------------------------------------------------------------------------------------------- the one formatter


def format_failure(violation) -> str:
    """The text of a violation, used verbatim by the console, JUnit and the behaviour report."""
    from contracts.checks import PROPERTIES

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
            lines.append(f"       params:   {json.dumps(step.params, default=_json_default, sort_keys=True)}")
            lines.append(f"       observed: {step.observed}")
    lines.append("  reproduction (boto3):")
    lines += ["    " + line for line in violation.reproduction.rstrip().splitlines()]
    return REDACTOR.scrub("\n".join(lines))


# ---------------------------------------------------------------------------------------------------- results

VERDICTS = ("violated", "error", "held", "not run")


@dataclass
class Cell:
    """One operation x property: how many examples ran its checks, and what went wrong."""

    examples: int = 0  # examples (state-machine steps) in which the property's checks ran
    checks_run: int = 0
    passed: int = 0
    last_unit: int = -1
    violations: list[dict] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    @property
    def verdict(self) -> str:
        if self.violations:
            return "violated"
        if self.errors:
            return "error"
        if self.examples:
            return "held"
        return "not run"


class Results:
    """Everything a run found; fed by the check registry, the suite's observations and pytest's reports."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.cells: dict[tuple[str, str], Cell] = defaultdict(Cell)
        # operation -> subject -> Counter(outcome): "replay with the same token" -> {"returned the same ...": 212}
        self.observations: dict[str, dict[str, Counter]] = defaultdict(lambda: defaultdict(Counter))
        self.meta: dict[str, Any] = {}
        self.tests: list[dict] = []  # pytest outcomes: nodeid, operation, outcome, duration
        self.connection_errors: list[str] = []
        self._units: set[int] = set()  # the examples (state-machine steps) in which any check ran

    # listener signature of contracts.checks.CheckRegistry
    def record(self, operation: str, prop: str, check: str, passed: bool) -> None:
        with self._lock:
            cell = self.cells[(operation, prop)]
            cell.checks_run += 1
            cell.passed += passed
            self._units.add(TRACE.unit)
            if cell.last_unit != TRACE.unit:
                cell.last_unit = TRACE.unit
                cell.examples += 1

    def observe(self, operation: str, subject: str, outcome: str, count: int = 1) -> None:
        with self._lock:
            self.observations[operation][subject][outcome] += count

    def expect(self, operation: str, prop: str) -> None:
        """Make the cell exist (so a property never exercised shows as 'not run' instead of vanishing)."""
        with self._lock:
            self.cells[(operation, prop)]

    def add_violation(self, violation, nodeid: str) -> None:
        entry = {**violation.to_dict(), "test": nodeid, "text": format_failure(violation)}
        with self._lock:
            cell = self.cells[(violation.operation, violation.property)]
            if not any(v["text"] == entry["text"] for v in cell.violations):
                cell.violations.append(entry)

    def add_error(self, operation: str, prop: str, message: str) -> None:
        with self._lock:
            self.cells[(operation, prop)].errors.append(REDACTOR.scrub(message))

    def add_skip(self, operation: str, prop: str, reason: str) -> None:
        with self._lock:
            self.cells[(operation, prop)].skipped.append(reason)

    # -- views ---------------------------------------------------------------------------------------------
    @property
    def violations(self) -> list[dict]:
        return [v for cell in self.cells.values() for v in cell.violations]

    @property
    def errors(self) -> list[str]:
        return [e for cell in self.cells.values() for e in cell.errors]

    def operations(self) -> list[str]:
        return sorted({op for op, _ in self.cells} | set(self.observations))

    def by_operation(self) -> dict[str, dict[str, Cell]]:
        out: dict[str, dict[str, Cell]] = defaultdict(dict)
        for (op, prop), cell in sorted(self.cells.items()):
            out[op][prop] = cell
        return out

    def observation_lines(self, operation: str) -> list[str]:
        lines = []
        for subject, outcomes in sorted(self.observations.get(operation, {}).items()):
            total = sum(outcomes.values())
            for outcome, count in outcomes.most_common():
                lines.append(REDACTOR.scrub(f"{subject} {outcome} in {count} of {total} example"
                                            f"{'s' * (total != 1)}"))
        return lines

    def to_dict(self) -> dict[str, Any]:
        from contracts.checks import PROPERTIES

        operations = {}
        for op, props in self.by_operation().items():
            operations[op] = {
                "properties": {
                    prop: {
                        "title": PROPERTIES[prop].label if prop in PROPERTIES else prop,
                        "examples_run": cell.examples,
                        "checks_run": cell.checks_run,
                        "verdict": cell.verdict,
                        "failures": [{k: v for k, v in f.items() if k != "text"} for f in cell.violations],
                        "errors": cell.errors,
                        "skipped": cell.skipped,
                    }
                    for prop, cell in props.items()
                },
                "observed": self.observation_lines(op),
            }
        return {
            "meta": self.meta,
            "summary": self.summary(),
            "operations": operations,
        }

    def summary(self) -> dict[str, int]:
        verdicts = Counter(cell.verdict for cell in self.cells.values())
        return {
            "operations": len({op for op, _ in self.cells}),
            "checked": len(self.cells),
            "held": verdicts["held"],
            "violated": verdicts["violated"],
            "errors": verdicts["error"],
            "not_run": verdicts["not run"],
            "violations": len(self.violations),
            "examples_run": len(self._units),
            "checks_run": sum(cell.checks_run for cell in self.cells.values()),
        }


# ---------------------------------------------------------------------------------------------------- writers


def _scrubbed_json(value: Any) -> str:
    return REDACTOR.scrub(json.dumps(value, indent=2, sort_keys=False, default=_json_default))


def write_results_json(results: Results, path: Path) -> None:
    path.write_text(_scrubbed_json(results.to_dict()) + "\n")


def write_junit(results: Results, path: Path) -> None:
    """One testcase per operation x property: CI shows which contract broke where."""
    from contracts.checks import PROPERTIES

    summary = results.summary()
    suite = ET.Element(
        "testsuite",
        name="invoicing-contracts",
        tests=str(summary["checked"]),
        failures=str(summary["violated"]),
        errors=str(summary["errors"]),
        skipped=str(summary["not_run"]),
        time=f"{results.meta.get('duration_seconds', 0):.3f}",
        timestamp=str(results.meta.get("started", "")),
    )
    props = ET.SubElement(suite, "properties")
    for key in ("target", "profile", "seed", "botocore", "hypothesis"):
        if key in results.meta:
            ET.SubElement(props, "property", name=key, value=str(results.meta[key]))
    for key, value in sorted((results.meta.get("faults") or {}).items()):
        ET.SubElement(props, "property", name=f"faults.{key}", value=_property_value(value))
    drift = results.meta.get("drift")
    if drift:
        ET.SubElement(props, "property", name="drift.gate", value=drift["gate"])
        for number, failure in enumerate(drift["gate_failures"], 1):
            ET.SubElement(props, "property", name=f"drift.gate_failure.{number}", value=failure)
    real = results.meta.get("real_account")
    if real:
        for key in ("account", "region", "run_id", "ledger"):
            ET.SubElement(props, "property", name=f"real_account.{key}", value=str(real[key]))
        for key in ("created", "removed_at_cleanup", "left_behind"):
            ET.SubElement(props, "property", name=f"real_account.{key}", value=str(len(real[key])))
    for (op, prop), cell in sorted(results.cells.items()):
        title = PROPERTIES[prop].label if prop in PROPERTIES else prop
        case = ET.SubElement(suite, "testcase", classname=f"invoicing.{op}", name=title)
        ET.SubElement(case, "system-out").text = f"examples run: {cell.examples}"
        if cell.violations:
            first = cell.violations[0]
            failure = ET.SubElement(case, "failure", message=first["title"], type="ContractViolation")
            failure.text = "\n\n".join(v["text"] for v in cell.violations)
        elif cell.errors:
            error = ET.SubElement(case, "error", message=cell.errors[0].splitlines()[0][:200], type="SuiteError")
            error.text = "\n\n".join(cell.errors)
        elif not cell.examples:
            ET.SubElement(case, "skipped", message="; ".join(cell.skipped) or "no example exercised this property")
    ET.indent(suite)
    path.write_text(REDACTOR.scrub(ET.tostring(suite, encoding="unicode", xml_declaration=True)) + "\n")


def _property_value(value: Any) -> str:
    return json.dumps(value, sort_keys=True) if isinstance(value, (dict, list)) else str(value)


def real_account_markdown(real: dict | None) -> list[str]:
    """Where an aws run went and what it left (contracts.guard.safety.RealAccountRun.summary())."""
    if not real:
        return []
    out = ["## Real account", "",
           f"Account **{real['account']}** ({real['caller_arn']}), region **{real['region']}**"
           + (f", endpoint {real['endpoint_url']}" if real.get("endpoint_url") else "")
           + f"; run `{real['run_id']}`, ledger `{real['ledger']}`"
           + ("; read-only" if real.get("read_only") else f"; resource budget {real['resource_budget']}") + ".",
           "",
           f"- created: {len(real['created'])}; deleted by the suite: {len(real['deleted_by_run'])}; removed at "
           f"cleanup: {len(real['removed_at_cleanup'])}; **left behind: {len(real['left_behind'])}**; writes the "
           f"guard kept back: {real['guard_refusals']}" + ("; the run was interrupted" if real.get("interrupted")
                                                          else ""),
           ""]
    if real["created"]:
        out += ["| created | ARN |", "|---|---|"] + [f"| {c['type']} | {c['arn']} |" for c in real["created"]] + [""]
    for item in real["left_behind"]:
        out.append(f"- LEFT BEHIND: {json.dumps(item, sort_keys=True, default=str)}")
    if real["left_behind"]:
        out += ["", f"Sweep them: `invoicing-contracts sweep --ledger {real['ledger']} --allow-real-account`", ""]
    return out


def drift_markdown(drift: dict | None) -> list[str]:
    """The model-drift section: the changelog from the snapshot to the installed model, and the gate."""
    if not drift:
        return []
    body = drift["markdown"].strip().splitlines()
    # The changelog's own headings sit one level below this section's.
    body = ["#" + line if line.startswith("## ") or line.startswith("### ") else line for line in body]
    return ["## Model drift", "", f"The installed model ({drift['installed']}) against the {drift['snapshot']} "
            f"the contracts were written for.", ""] + body + [""]


def behaviour_markdown(results: Results) -> str:
    from contracts.checks import PROPERTIES
    from contracts.reporting.faults import markdown_section

    meta = results.meta
    summary = results.summary()
    out = [
        "# Invoicing API: observed behaviour",
        "",
        f"Target **{meta.get('target', '?')}**"
        + (f" account {meta['account']}" if meta.get("account") else "")
        + (f" ({meta['endpoint_url']})" if meta.get("endpoint_url") else "")
        + f", profile **{meta.get('profile', '?')}**, seed {meta.get('seed', 'random')}, "
        f"botocore {meta.get('botocore', '?')}, Hypothesis {meta.get('hypothesis', '?')}; "
        f"started {meta.get('started', '?')}, {meta.get('duration_seconds', 0):.1f} s.",
        "",
        f"**{summary['violations']} violation{'s' * (summary['violations'] != 1)}**; "
        f"{summary['held']} of {summary['checked']} operation x property checks held, "
        f"{summary['checks_run']} check runs in all.",
        "",
        "Members the model marks sensitive are shown as placeholders of the same length and shape.",
        "",
    ]
    if meta.get("contract_error"):
        out += ["## The contracts could not be checked", "", "```text", meta["contract_error"], "```", ""]
    out += real_account_markdown(meta.get("real_account"))
    out += drift_markdown(meta.get("drift"))
    out += markdown_section(meta.get("faults"))
    for op, props in results.by_operation().items():
        out += [f"## {op}", "", "| property | examples | verdict |", "|---|---:|---|"]
        for prop, cell in props.items():
            title = PROPERTIES[prop].label if prop in PROPERTIES else prop
            out.append(f"| {title} | {cell.examples} | {cell.verdict} |")
        out.append("")
        observed = results.observation_lines(op)
        if observed:
            out += ["Observed:", ""] + [f"- {line}" for line in observed] + [""]
        for prop, cell in props.items():
            for violation in cell.violations:
                out += [f"### Violation: {violation['title']}", "", "```text", violation["text"], "```", ""]
            for error in cell.errors:
                out += [f"### Suite error ({prop})", "", "```text", error, "```", ""]
            for reason in cell.skipped:
                out += [f"- {prop}: skipped: {reason}"]
    return REDACTOR.scrub("\n".join(out).rstrip() + "\n")


def behaviour_html(markdown: str) -> str:
    """A small, dependency-free rendering of the Markdown above (headings, tables, lists, code blocks)."""
    body: list[str] = []
    in_code = in_table = in_list = False
    for line in markdown.splitlines():
        if line.startswith("```"):
            body.append("</pre>" if in_code else "<pre>")
            in_code = not in_code
            continue
        if in_code:
            body.append(html.escape(line))
            continue
        if in_table and not line.startswith("|"):
            body.append("</table>")
            in_table = False
        if in_list and not line.startswith("- "):
            body.append("</ul>")
            in_list = False
        if line.startswith("#"):
            level = len(line) - len(line.lstrip("#"))
            body.append(f"<h{level}>{_inline(line[level:].strip())}</h{level}>")
        elif line.startswith("|"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            if all(set(c) <= set("-:") for c in cells):
                continue
            tag = "th" if not in_table else "td"
            if not in_table:
                body.append("<table>")
                in_table = True
            body.append("<tr>" + "".join(f"<{tag}>{_inline(c)}</{tag}>" for c in cells) + "</tr>")
        elif line.startswith("- "):
            if not in_list:
                body.append("<ul>")
                in_list = True
            body.append(f"<li>{_inline(line[2:])}</li>")
        elif line.strip():
            body.append(f"<p>{_inline(line)}</p>")
    if in_table:
        body.append("</table>")
    if in_list:
        body.append("</ul>")
    style = ("body{font-family:sans-serif;max-width:70em;margin:auto}pre{background:#f4f4f4;padding:1em;"
             "overflow-x:auto}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2em .6em}")
    return (f"<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>Invoicing API: observed behaviour"
            f"</title><style>{style}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n")


def _inline(text: str) -> str:
    escaped = html.escape(text)
    parts = escaped.split("**")
    return "".join(f"<strong>{p}</strong>" if i % 2 else p for i, p in enumerate(parts))


def write_reports(results: Results, report_dir: Path) -> dict[str, Path]:
    report_dir.mkdir(parents=True, exist_ok=True)
    paths = {
        "junit": report_dir / "junit.xml",
        "results": report_dir / "results.json",
        "markdown": report_dir / "behaviour.md",
        "html": report_dir / "behaviour.html",
    }
    write_junit(results, paths["junit"])
    write_results_json(results, paths["results"])
    markdown = behaviour_markdown(results)
    paths["markdown"].write_text(markdown)
    paths["html"].write_text(REDACTOR.scrub(behaviour_html(markdown)))
    return paths


def summary_table(results: Results) -> str:
    """The console table: one row per operation, one column per property verdict."""
    from contracts.checks import PROPERTIES

    by_op = results.by_operation()
    props = [p for p in PROPERTIES if any(p in cells for cells in by_op.values())]
    props += sorted({p for cells in by_op.values() for p in cells} - set(props))
    short = {"held": "ok", "violated": "FAIL", "error": "ERR", "not run": "-"}
    headers = ["operation"] + [PROPERTIES[p].column if p in PROPERTIES else p for p in props] + ["check runs"]
    rows = []
    for op, cells in by_op.items():
        row = [op]
        for p in props:
            row.append(short[cells[p].verdict] if p in cells else "")
        row.append(str(sum(c.checks_run for c in cells.values())))
        rows.append(row)
    widths = [max(len(str(r[i])) for r in [headers] + rows) for i in range(len(headers))]
    fmt = lambda r: "  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip()  # noqa: E731
    return "\n".join([fmt(headers), fmt(["-" * w for w in widths])] + [fmt(r) for r in rows])


def environment_meta() -> dict[str, Any]:
    import botocore
    import hypothesis

    return {
        "botocore": botocore.__version__,
        "hypothesis": hypothesis.__version__,
        "python": platform.python_version(),
        "started": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }
