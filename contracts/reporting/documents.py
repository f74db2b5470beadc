"""The documents a run writes, for CI and for people: results JSON, JUnit XML, the behaviour documentation
(Markdown and HTML, rendered by contracts.reporting.behaviour), and the console's summary table.

Nothing here scrubs whole documents: what they render was redacted where it entered (contracts.model.redaction).
"""

from __future__ import annotations

import datetime as _dt
import json
import platform
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import botocore
import hypothesis

from contracts.checks import PROPERTIES
from contracts.engine.results import Results
from contracts.reporting.behaviour import behaviour_html, behaviour_markdown
from contracts.reporting.failures import json_default


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
    paths["markdown"].write_text(behaviour_markdown(results))
    paths["html"].write_text(behaviour_html(results))
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
