"""The parity report: two behaviour baselines side by side (the emulator against an account, an account before
and after an AWS release), as a Markdown and an HTML table of differences and agreements, and a one-screen
summary for the console.

A behaviour recorded on one side only is listed apart, as "observed on one side only": whether a run observed it
can depend on the draw (contracts.reporting.baseline), so it is not a difference.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path

from contracts.checks import PROPERTIES
from contracts.reporting.baseline import Comparison, Row, change_lines, words

SCREEN = 20  # differences the console summary lists before pointing at the report


@dataclass(frozen=True)
class Sides:
    """What the two baselines are called in the report (their file names unless given)."""

    a: str
    b: str


def _label(prop: str) -> str:
    return PROPERTIES[prop].label if prop in PROPERTIES else prop


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _table(rows: list[Row], sides: Sides) -> list[str]:
    out = [f"| operation | property | behaviour | {_cell(sides.a)} | {_cell(sides.b)} |", "|---|---|---|---|---|"]
    out += [f"| {row.operation} | {_cell(_label(row.prop))} | {_cell(row.behaviour)} | {_cell(words(row.before))} "
            f"| {_cell(words(row.after))} |" for row in rows]
    return out


def headline(comparison: Comparison, sides: Sides) -> str:
    counts = comparison.counts()
    verdict = "agree" if comparison.agree else "DIFFER"
    differ = counts["differ"]
    return (f"parity of {sides.a} and {sides.b}: they {verdict}: {differ} behaviour{'s' * (differ != 1)} "
            f"differ{'s' * (differ == 1)}, {counts['agree']} agree; observed on one side only: "
            f"{counts['only before']} in {sides.a}, {counts['only after']} in {sides.b}")


def markdown(comparison: Comparison, sides: Sides) -> str:
    out = [f"# Parity: {sides.a} and {sides.b}", "", headline(comparison, sides) + ".", ""]
    sections = (
        ("Differences", "differ", "Both observed the behaviour, and answered differently."),
        (f"Observed only in {sides.a}", "only before",
         f"Not a difference: the run that recorded {sides.b} did not exercise these (a smaller profile, fewer "
         f"operations, no fault injection, or the draw)."),
        (f"Observed only in {sides.b}", "only after",
         f"Not a difference: the run that recorded {sides.a} did not exercise these."),
        ("Agreements", "agree", "Both observed the behaviour, and answered alike."),
    )
    for title, status, note in sections:
        rows = comparison.where(status)
        out += [f"## {title} ({len(rows)})", ""]
        if rows:
            out += [note, "", *_table(rows, sides), ""]
        else:
            out += ["None.", ""]
    return "\n".join(out).rstrip() + "\n"


def html_page(comparison: Comparison, sides: Sides) -> str:
    """The same tables, coloured by status; dependency-free."""
    colours = {"differ": "#f8d7da", "only before": "#eeeeee", "only after": "#eeeeee", "agree": "#d4edda"}
    body = [f"<h1>Parity: {html.escape(sides.a)} and {html.escape(sides.b)}</h1>",
            f"<p>{html.escape(headline(comparison, sides))}.</p>"]
    titles = {"differ": "Differences", "only before": f"Observed only in {sides.a}",
              "only after": f"Observed only in {sides.b}", "agree": "Agreements"}
    for status, title in titles.items():
        rows = comparison.where(status)
        body.append(f"<h2>{html.escape(title)} ({len(rows)})</h2>")
        if not rows:
            body.append("<p>None.</p>")
            continue
        body.append(f"<table><tr><th>operation</th><th>property</th><th>behaviour</th><th>{html.escape(sides.a)}"
                    f"</th><th>{html.escape(sides.b)}</th></tr>")
        for row in rows:
            cells = (row.operation, _label(row.prop), row.behaviour, words(row.before), words(row.after))
            body.append(f"<tr class=\"{status.replace(' ', '-')}\" style=\"background:{colours[status]}\">"
                        + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>")
        body.append("</table>")
    style = ("body{font-family:sans-serif;max-width:80em;margin:auto}table{border-collapse:collapse}"
             "td,th{border:1px solid #ccc;padding:.2em .6em;vertical-align:top}")
    return (f"<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>Parity: "
            f"{html.escape(sides.a)} and {html.escape(sides.b)}</title><style>{style}</style></head>"
            f"<body>\n" + "\n".join(body) + "\n</body></html>\n")


def write(comparison: Comparison, sides: Sides, report_dir: Path) -> dict[str, Path]:
    report_dir.mkdir(parents=True, exist_ok=True)
    paths = {"markdown": report_dir / "parity.md", "html": report_dir / "parity.html"}
    paths["markdown"].write_text(markdown(comparison, sides))
    paths["html"].write_text(html_page(comparison, sides))
    return paths


def summary(comparison: Comparison, sides: Sides) -> list[str]:
    """One screen: the verdict and the differences (the first SCREEN of them)."""
    lines = [headline(comparison, sides)]
    differences = change_lines(comparison, sides.a, sides.b)
    lines += [f"  differs: {line}" for line in differences[:SCREEN]]
    if len(differences) > SCREEN:
        lines.append(f"  ... and {len(differences) - SCREEN} more (see the report)")
    return lines
