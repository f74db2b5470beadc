"""The documents a run writes, for CI and for people: results JSON, JUnit XML, the behaviour documentation
(Markdown and HTML), and the console's summary table.

Nothing here scrubs whole documents: what they render was redacted where it entered (contracts.model.redaction).
"""

from __future__ import annotations

import datetime as _dt
import html
import json
import platform
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import botocore
import hypothesis

from contracts.checks import PROPERTIES
from contracts.engine.results import Results
from contracts.reporting.failures import json_default
from contracts.reporting.faults import markdown_section


def _scrubbed_json(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=False, default=json_default)


def write_results_json(results: Results, path: Path) -> None:
    path.write_text(_scrubbed_json(results.to_dict()) + "\n")


def write_junit(results: Results, path: Path) -> None:
    """One testcase per operation x property: CI shows which contract broke where."""

    summary = results.summary()
    suite = ET.Element(
        "testsuite",
        name="invoicing-contracts",
        tests=str(summary["checked"]),
        failures=str(summary["violated"]),
        errors=str(summary["errors"]),
        skipped=str(summary["untested_excused"]),
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
        ET.SubElement(case, "system-out").text = (f"examples run: {cell.examples}; exercised: {cell.exercised}"
                                                  + _not_exercised(cell) + _diverged(cell))
        if cell.violations:
            first = cell.violations[0]
            failure = ET.SubElement(case, "failure", message=first["title"], type="ContractViolation")
            failure.text = "\n\n".join(v["text"] for v in cell.violations)
        elif cell.errors:
            error = ET.SubElement(case, "error", message=cell.errors[0].splitlines()[0][:200], type="SuiteError")
            error.text = "\n\n".join(cell.errors)
        elif cell.excused:  # the target declared it cannot be exercised there: a skip, with its reason
            ET.SubElement(case, "skipped", message="; ".join(cell.skipped))
        elif cell.verdict == "untested":  # never exercised: nothing was proven, and the gate fails
            failure = ET.SubElement(case, "failure", message="untested: no example exercised this property",
                                    type="Untested")
            failure.text = f"examples run: {cell.examples}" + _not_exercised(cell)
    ET.indent(suite)
    path.write_text(ET.tostring(suite, encoding="unicode", xml_declaration=True) + "\n")


def _diverged(cell) -> str:
    """Divergences pass the gate (docs/bases.md), so JUnit shows them as output of a passed case."""
    return "".join(f"\ndiverged (assumed: {d.get('expectation') or d.get('check')}): {d['text']}"
                   for d in cell.diverged)


def _not_exercised(cell) -> str:
    if not cell.not_exercised:
        return ""
    return "; ran without its subject: " + ", ".join(f"{why} x{n}" for why, n in cell.not_exercised.most_common())


def _property_value(value: Any) -> str:
    return json.dumps(value, sort_keys=True) if isinstance(value, (dict, list)) else str(value)


def real_account_markdown(real: dict | None) -> list[str]:
    """Where an aws run went and what it left (contracts.guard.RealAccountRun.summary())."""
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
        f"{summary['untested']} untested, {summary['untested_excused']} not testable on this target; "
        f"{summary['checks_run']} check runs in all. A property holds only where its subject was exercised "
        f"(the *exercised* column: examples that reached it).",
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
        out += [f"## {op}", "", "| property | examples | exercised | verdict |", "|---|---:|---:|---|"]
        for prop, cell in props.items():
            title = PROPERTIES[prop].label if prop in PROPERTIES else prop
            verdict = "untested (not testable here)" if cell.excused else cell.verdict
            out.append(f"| {title} | {cell.examples} | {cell.exercised} | {verdict} |")
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
    return "\n".join(out).rstrip() + "\n"


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
    paths["html"].write_text(behaviour_html(markdown))
    return paths


def summary_table(results: Results) -> str:
    """The console table: one row per operation, one column per property verdict."""

    by_op = results.by_operation()
    props = [p for p in PROPERTIES if any(p in cells for cells in by_op.values())]
    props += sorted({p for cells in by_op.values() for p in cells} - set(props))
    short = {"held": "ok", "violated": "FAIL", "error": "ERR", "diverged": "DIV", "untested": "NONE"}
    headers = ["operation"] + [PROPERTIES[p].column if p in PROPERTIES else p for p in props] + ["check runs"]
    rows = []
    for op, cells in by_op.items():
        row = [op]
        for p in props:
            row.append(("skip" if cells[p].excused else short[cells[p].verdict]) if p in cells else "")
        row.append(str(sum(c.checks_run for c in cells.values())))
        rows.append(row)
    widths = [max(len(str(r[i])) for r in [headers] + rows) for i in range(len(headers))]
    fmt = lambda r: "  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip()  # noqa: E731
    return "\n".join([fmt(headers), fmt(["-" * w for w in widths])] + [fmt(r) for r in rows])


def environment_meta() -> dict[str, Any]:
    return {
        "botocore": botocore.__version__,
        "hypothesis": hypothesis.__version__,
        "python": platform.python_version(),
        "started": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }
