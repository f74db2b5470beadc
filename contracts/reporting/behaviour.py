"""The behaviour report (reports/behaviour.md and .html): what each operation of the target was observed to do,
as API documentation a person reads.

Its parts, in order: a title naming the target; the run and its verdict; contents; the operation x property
matrix, each cell coloured by its verdict and naming its basis (docs/bases.md), with a legend; one section per
operation: what AWS documents it does (the model's first sentence), what the service did (the suite's
observations, grouped), example exchanges (kept by Results.keep_exchange, masked and scrubbed when kept), its
properties, and its violations, divergences and suite errors; then the run's details (real account, model drift,
fault figures). Both files come from one list of blocks (contracts.reporting.blocks).

Nothing here scrubs: what it renders was redacted where it entered (contracts.model.redaction).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from contracts.checks import PROPERTIES
from contracts.engine.results import Cell, Results, cell_bases
from contracts.reporting.blocks import (
    Block, Bullets, CodeBlock, Heading, Mark, MarkdownLines, Paragraph, Section, SideBySide, Slugger, Table, code,
    html_page, markdown, number_headings, plain,
)
from contracts.reporting.faults import markdown_section as faults_markdown
from strategies import service_model

# verdict key -> (Markdown square, HTML symbol, words, meaning). "excused" is an untested cell the target
# declared it cannot exercise; "none" a property the suite does not check for that operation.
VERDICTS: dict[str, tuple[str, str, str, str]] = {
    "held": ("🟩", "✓", "held", "exercised at least once, and every check passed"),
    "violated": ("🟥", "✗", "violated", "the target broke the expectation (the failure, with a reproduction, is "
                                       "in the operation's section); the run fails"),
    "diverged": ("🟧", "≠", "diverged", "an assumed expectation (this project's reading where AWS is silent) was "
                                       "answered otherwise; recorded with its evidence, the run passes"),
    "error": ("🟪", "!", "error", "the suite could not check it (its error is in the operation's section)"),
    "untested": ("⬜", "?", "untested", "no example reached the property's subject: nothing was proven, and the run "
                                       "fails"),
    "excused": ("➖", "–", "not testable here", "the run declared why this target cannot exercise it (the reason "
                                              "is in the operation's section); the run passes"),
}
BASES: dict[str, str] = {
    "model": "the botocore model states it: shapes, constraints, declared errors, traits",
    "protocol": "the idempotency-token semantics every service with the trait owes (Smithy `@idempotencyToken`)",
    "documented": "AWS documentation for Invoicing says it; the contract data quotes it",
    "assumed": "this project's reading where AWS is silent: a violation on the embedded emulator, a divergence "
               "elsewhere",
}
MATRIX = "Operations x properties"

# The suite's observations, grouped by what their subject is about (first match; "Other" takes the rest).
GROUPS: list[tuple[str, re.Pattern]] = [
    ("Requests the model calls valid", re.compile(r"^(valid requests|coverage-phase|the coverage phase)", re.I)),
    ("Requests the model calls invalid", re.compile(r"^invalid requests|fieldList", re.I)),
    ("Idempotency tokens", re.compile(r"token|replay|conflicting|concurrent|response lost|delete", re.I)),
    ("Reads, listings and paging", re.compile(r"read|list|paging|filter|AsOf|discover", re.I)),
    ("Other", re.compile("")),
]

CSS = (
    "body{font:15px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;color:#1b1b1b;max-width:92em;"
    "margin:0 auto;padding:1em 1.5em}"
    "h1{font-size:1.7em;margin-bottom:.2em}h2{border-bottom:2px solid #ddd;padding-bottom:.15em;margin-top:2em}"
    "h3{margin-top:1.4em}a{color:#0b57b0}code{background:#f1f1f1;padding:0 .2em;border-radius:3px}"
    "table{border-collapse:collapse;margin:.6em 0}td,th{border:1px solid #b9b9b9;padding:.3em .55em;"
    "vertical-align:top}thead th{background:#eef0f3}th[scope=row]{text-align:left;font-weight:600}"
    ".num{text-align:right}.mid{text-align:center}"
    ".wide{overflow-x:auto}table.matrix{width:100%;font-size:.86em}"  # wider than the window: it scrolls
    "table.matrix th[scope=row]{white-space:nowrap}table.matrix td{text-align:center}"
    "table.matrix thead th{font-weight:600}"
    "small.basis{display:block;font-size:.78em;color:#2b2b2b}.mark{font-weight:700}"
    ".v-held{background:#bfe8c9}.v-violated{background:#f4a6a6}.v-diverged{background:#ffd27f}"
    ".v-error{background:#d5bdf2}.v-untested{background:#cfcfcf}.v-excused{background:#eeeeee;color:#555}"
    ".v-none{background:#fff;color:#999}"
    "nav.toc{background:#f7f7f9;border:1px solid #e2e2e6;padding:.3em 1em;display:inline-block}"
    "nav.toc ul{margin:.3em 0;padding-left:1.2em}"
    ".operation{border-top:1px solid #eee}.aws-says{color:#444;font-style:italic}"
    ".exchange{margin:.8em 0 1.2em}.pair{display:grid;grid-template-columns:1fr 1fr;gap:1em}"
    ".caption{font-weight:600;margin-bottom:.2em}"
    "pre{background:#f6f8fa;border:1px solid #e3e6ea;padding:.6em;margin:0;overflow-x:auto;font-size:.85em;"
    "white-space:pre-wrap;overflow-wrap:anywhere}"
)


def behaviour_markdown(results: Results) -> str:
    return markdown(document(results))


def behaviour_html(results: Results) -> str:
    return html_page(title(results.meta), CSS, document(results))


# ------------------------------------------------------------------------------------------------------ the title

def target_words(meta: dict[str, Any]) -> str:
    """Where the behaviour was observed: the embedded emulator, an endpoint's URL (without credentials, query or
    fragment), or a real account by its last four digits."""
    target = meta.get("target")
    if target == "aws":
        account = str(meta.get("account") or (meta.get("real_account") or {}).get("account") or "")
        return f"account …{account[-4:]}" if account else "a real AWS account"
    if target == "endpoint":
        url = meta.get("endpoint_url")
        if not url:
            return "an endpoint"
        parts = urlsplit(str(url))
        host = parts.hostname or ""
        netloc = f"[{host}]" if ":" in host else host
        netloc += f":{parts.port}" if parts.port else ""
        return urlunsplit((parts.scheme, netloc, parts.path, "", ""))
    if target == "mock":
        backend = meta.get("mock_backend")
        return "the embedded emulator" + (f" (backend {backend})" if backend else "")
    return f"target {target}" if target else "an unknown target"


def title(meta: dict[str, Any]) -> str:
    return f"Invoicing API behaviour observed on {target_words(meta)}"


# ------------------------------------------------------------------------------------------------- the document

def document(results: Results) -> list[Block]:
    meta = results.meta
    by_op = results.by_operation()
    props = property_order(by_op)
    head: list[Block] = [Heading(1, plain(title(meta))), Paragraph(_run_line(meta)), Paragraph(_verdict_line(results))]
    real = meta.get("real_account")
    if real and real.get("left_behind"):
        head.append(Paragraph(f"**The run left {len(real['left_behind'])} resource(s) behind**: see "
                              f"[Real account](#real-account)."))
    head.append(Paragraph("Members the model marks sensitive are shown as placeholders of the same length and "
                          "shape; a secret the target echoed anywhere else reads " + code("<redacted>") + "."))
    body: list[Block] = []
    if meta.get("contract_error"):
        body += [Heading(2, "The contracts could not be checked"), CodeBlock(meta["contract_error"], "text")]
    if by_op:
        body += [Heading(2, MATRIX), Paragraph("One row per operation, one column per property; each cell gives the "
                                               "verdict and the basis of what was checked (see the legend below)."),
                 matrix(by_op, props), Heading(2, "Legend")] + legend(props)
    for op, cells in by_op.items():
        body.append(operation_section(results, op, cells))
    sections = (_real_account(meta), _drift(meta), faults_markdown(meta.get("faults")))
    body += [MarkdownLines(lines) for lines in sections if lines]
    toc = Bullets([])
    blocks = head + [Heading(2, "Contents"), Section([toc], "toc", "nav")] + body
    headings = number_headings(blocks)
    toc.items = contents(headings, by_op)
    return blocks


def contents(headings: list[tuple[int, str, str]], by_op: dict[str, dict[str, Cell]]) -> list:
    """Every second-level heading but Contents itself; operations with their verdicts in a word."""
    items = []
    for level, text, anchor in headings:
        if level != 2 or text == "Contents":
            continue
        cells = by_op.get(text)
        tally = f" ({_tally(cells.values())})" if cells is not None else ""
        items.append(f"[{text}](#{anchor}){tally}")
    return items


def property_order(by_op: dict[str, dict[str, Cell]]) -> list[str]:
    """The properties the run has cells for: the general ones as registered, then the numbered idempotency
    properties of docs/idempotency.md in their order, then any the registry does not know."""
    present = {p for cells in by_op.values() for p in cells}
    general = [p for p, spec in PROPERTIES.items() if spec.number is None and p in present]
    numbered = sorted((p for p, spec in PROPERTIES.items() if spec.number is not None and p in present),
                      key=lambda p: PROPERTIES[p].number)
    return general + numbered + sorted(present - set(PROPERTIES))


def verdict_key(cell: Cell) -> str:
    return "excused" if cell.excused else cell.verdict


def mark(cell: Cell | None, prop: str, *, with_basis: bool = True) -> Mark:
    label = PROPERTIES[prop].label if prop in PROPERTIES else prop
    if cell is None:
        return Mark("v-none", "", "", "—", tooltip=f"{label}: not checked for this operation")
    key = verdict_key(cell)
    square, symbol, words, _meaning = VERDICTS[key]
    bases = ", ".join(cell_bases(cell))
    return Mark(f"v-{key}", square, symbol, words, bases if with_basis else "", tooltip=f"{label}: {words}"
                + (f" (basis: {bases})" if bases else ""))


def matrix(by_op: dict[str, dict[str, Cell]], props: list[str]) -> Table:
    headers = ["operation"] + [plain(_column(p)) for p in props]
    rows = [[f"[{op}](#{_github_anchor(op)})"] + [mark(cells.get(p), p) for p in props]
            for op, cells in by_op.items()]
    return Table(headers, rows, ["l"] + ["c"] * len(props), css="matrix", row_headers=True,
                 scrolls=True)


def legend(props: list[str]) -> list[Block]:
    verdicts = Table(["verdict", "meaning"],
                     [[Mark(f"v-{key}", square, symbol, words), meaning]
                      for key, (square, symbol, words, meaning) in VERDICTS.items()]
                     + [[Mark("v-none", "", "", "— not checked"), "the suite has no check of this property for this "
                                                                 "operation"]], css="legend")
    bases = Bullets([f"**{basis}**: {meaning}" for basis, meaning in BASES.items()])
    columns = Table(["column", "property", "what it says"],
                    [[code(_column(p)), plain(PROPERTIES[p].label) if p in PROPERTIES else plain(p),
                      plain(PROPERTIES[p].description) if p in PROPERTIES else ""] for p in props])
    return [verdicts,
            Paragraph("Under each verdict: the **basis** of what the cell checked (several when its checks rest on "
                      "several, strongest first), as in results.json (docs/bases.md):"),
            bases,
            Paragraph("The columns (numbered properties are those of docs/idempotency.md):"),
            columns]


# --------------------------------------------------------------------------------------------- one operation

def operation_section(results: Results, op: str, cells: dict[str, Cell]) -> Section:
    blocks: list[Block] = [Heading(2, op)]
    says, preview = aws_says(op)
    if says:
        blocks.append(Paragraph(f"AWS documents it as: “{plain(says)}”" + (" AWS marks it a preview, subject to "
                                                                          "change." if preview else ""),
                                css="aws-says"))
    checked = f"{len(cells)} propert{'ies' if len(cells) != 1 else 'y'} checked"
    blocks.append(Paragraph(f"{checked}: {_tally(cells.values())}. [Back to the matrix](#{_github_anchor(MATRIX)})"))
    observed = observation_groups(results.observations.get(op, {}))
    if observed:
        blocks.append(Heading(3, "What the service did"))
        for group, items in observed:
            blocks += [Paragraph(f"**{group}**"), Bullets(items)]
    exchanges = list(results.exchanges.get(op, {}).values())
    if exchanges:
        blocks += [Heading(3, "Example exchanges"),
                   Paragraph("The first accepted request and the first refusal per error code the run saw; "
                             "sensitive members masked, long bodies cut.")]
        blocks += [exchange_blocks(exchange) for exchange in exchanges]
    blocks += [Heading(3, "Properties"), property_table(cells)]
    for prop, cell in cells.items():
        label = PROPERTIES[prop].label if prop in PROPERTIES else prop
        for violation in cell.violations:
            blocks += [Heading(3, f"Violation: {plain(violation['title'])}"), CodeBlock(violation["text"], "text")]
        for divergence in cell.diverged:
            what = divergence.get("expectation") or divergence.get("check") or label
            blocks += [Heading(3, f"Divergence ({plain(label)}, assumed: {plain(what)}): "
                                  f"{plain(divergence.get('title', ''))}"),
                       CodeBlock(divergence["text"], "text")]
        for error in cell.errors:
            blocks += [Heading(3, f"Suite error ({plain(label)})"), CodeBlock(error, "text")]
    return Section(blocks, "operation")


def aws_says(op: str) -> tuple[str, bool]:
    """The first sentence of the model's documentation of `op` (AWS's API reference text), without markup; the
    preview notice some operations open with is left out, and said (the second value)."""
    try:
        doc = service_model().operation_model(op).documentation or ""
    except Exception:  # an operation the installed model does not have (a drifted or synthetic name)
        return "", False
    sentences = re.split(r"(?<=[.!?])\s+", " ".join(re.sub(r"<[^>]+>", " ", doc).split()))
    notice = [s for s in sentences if "subject to chang" in s or "Betas and Previews" in s]
    rest = [s for s in sentences if s and s not in notice]
    return (rest[0][:300] if rest else ""), bool(notice)


def property_table(cells: dict[str, Cell]) -> Table:
    rows = []
    for prop in property_order({"": cells}):
        cell = cells[prop]
        label = PROPERTIES[prop].label if prop in PROPERTIES else prop
        rows.append([plain(label), mark(cell, prop, with_basis=False), ", ".join(cell_bases(cell)) or "—",
                     str(cell.examples), str(cell.exercised), _notes(cell)])
    return Table(["property", "verdict", "basis", "examples", "exercised", "notes"], rows,
                 ["l", "c", "l", "r", "r", "l"], css="properties")


def _notes(cell: Cell) -> str:
    notes = [f"{len(cell.violations)} violation(s)"] if cell.violations else []
    notes += [f"{len(cell.diverged)} divergence(s)"] if cell.diverged else []
    notes += [f"suite error x{len(cell.errors)}"] if cell.errors else []
    notes += [f"not testable here: {plain(reason)}" for reason in cell.skipped]
    if cell.not_exercised:
        notes.append("ran without its subject: " + "; ".join(f"{plain(why)} x{n}"
                                                             for why, n in cell.not_exercised.most_common()))
    return "; ".join(notes)


def observation_groups(subjects: dict[str, Counter]) -> list[tuple[str, list]]:
    """The suite's observations of one operation as readable list items, grouped: a subject answered one way
    is one sentence; answered several ways, one item with a sub-item per way, most frequent first."""
    grouped: dict[str, list] = {name: [] for name, _ in GROUPS}
    for subject, outcomes in sorted(subjects.items(), key=lambda kv: kv[0].lower()):
        total = sum(outcomes.values())
        if not total:
            continue
        group = next(name for name, pattern in GROUPS if pattern.search(subject))
        what = plain(_capitalised(subject))
        if len(outcomes) == 1:
            [(outcome, _count)] = outcomes.items()
            grouped[group].append(f"{what} {plain(outcome)} ({_all(total)}).")
        else:
            grouped[group].append((f"In {total} examples, {plain(subject)}:",
                                   [f"{plain(outcome)}: {count} ({_percent(count, total)})"
                                    for outcome, count in outcomes.most_common()]))
    return [(name, items) for name, items in grouped.items() if items]


def exchange_blocks(exchange: dict[str, Any]) -> Section:
    if exchange["outcome"] == "accepted":
        label = f"**Accepted** (HTTP {exchange['status']})"
    else:
        label = f"**Refused with {plain(exchange.get('error_code') or 'an error')}** (HTTP {exchange['status']})"
    how = []
    if exchange.get("note"):
        how.append(f"the suite's note: {plain(exchange['note'])}")
    if exchange.get("raw"):
        how.append("hand-made JSON (botocore cannot serialise these parameters)")
    elif exchange.get("validated") is False:
        how.append("botocore's own validation off")
    text = label + (": " + "; ".join(how) if how else "")
    return Section([Paragraph(text), SideBySide([CodeBlock(exchange["request"], "json", "Request"),
                                                 CodeBlock(exchange["response"], "json", "Response")])],
                   "exchange", "div")


# ------------------------------------------------------------------------------------------------------ helpers

def _run_line(meta: dict[str, Any]) -> str:
    target = meta.get("target", "?")
    where = f"region {meta['region']}" if meta.get("region") else ""
    parts = [f"Target **{plain(target)}**" + (f", {plain(where)}" if where else ""),
             f"profile **{plain(meta.get('profile', '?'))}**, seed {plain(meta.get('seed', 'random'))}",
             f"botocore {plain(meta.get('botocore', '?'))}, Hypothesis {plain(meta.get('hypothesis', '?'))}",
             f"started {plain(meta.get('started', '?'))}, {meta.get('duration_seconds', 0):.1f} s"]
    selected = meta.get("operations")
    if selected:
        parts.append("operations selected: " + ", ".join(code(op) for op in selected))
    return "; ".join(parts) + "."


def _verdict_line(results: Results) -> str:
    summary = results.summary()
    return (f"**{summary['violations']} violation{'s' * (summary['violations'] != 1)}**, "
            f"{summary['divergences']} divergence{'s' * (summary['divergences'] != 1)}; "
            f"{summary['held']} of {summary['checked']} operation x property checks held, "
            f"{summary['untested']} untested, {summary['untested_excused']} not testable on this target; "
            f"{summary['examples_run']} examples, {summary['checks_run']} check runs. A property holds only where "
            f"its subject was exercised (the exercised column of each operation's table: examples that reached it).")


def _tally(cells) -> str:
    counts = Counter(verdict_key(cell) for cell in cells)
    return ", ".join(f"{counts[key]} {VERDICTS[key][2]}" for key in VERDICTS if counts[key])


def _column(prop: str) -> str:
    return PROPERTIES[prop].column if prop in PROPERTIES else prop


def _github_anchor(text: str) -> str:
    """The anchor GitHub gives the first heading with this text (operations and MATRIX are unique headings)."""
    return Slugger().slug(text)


def _capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]


def _all(total: int) -> str:
    return "1 example" if total == 1 else f"all {total} examples"


def _percent(count: int, total: int) -> str:
    return f"{100 * count / total:.0f}%"


def _real_account(meta: dict[str, Any]) -> list[str]:
    return real_account_markdown(meta.get("real_account"))


def _drift(meta: dict[str, Any]) -> list[str]:
    return drift_markdown(meta.get("drift"))


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
