"""The behaviour report as documentation: contents, the operation x property matrix (verdict and basis per cell),
titles per target, grouped observations, example exchanges (kept redacted, carried across processes), and the
HTML as a browser shows it (headless Chromium, when installed)."""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
import zlib
from html.parser import HTMLParser
from pathlib import Path

import pytest

from contracts import reporting
from contracts.calls import Call, Outcome, Trace
from contracts.checks import PROPERTIES
from contracts.engine import results as results_module
from contracts.engine.results import MAX_EXCHANGE_CHARS, MAX_REFUSALS, Results
from contracts.engine.session import Suite
from contracts.engine.targets import TargetConfig, build
from contracts.options import PROFILES
from contracts.reporting import behaviour
from contracts.reporting.blocks import Slugger, inline_html, plain

UNIT = "arn:aws:invoicing::123456789012:invoice-unit/abcd1234"
SECRET = "s3cr3t-behaviour-report-only"
PORTAL = {"ProcurementPortalName": "COUPA", "BuyerDomain": "NetworkID", "BuyerIdentifier": "b",
          "SupplierDomain": "NetworkID", "SupplierIdentifier": "s", "EinvoiceDeliveryEnabled": False,
          "PurchaseOrderRetrievalEnabled": False, "ProcurementPortalSharedSecret": SECRET,
          "Contacts": [{"Name": "behaviour contact", "Email": "behaviour.contact@example.com"}]}


def ok(body: dict) -> Outcome:
    return Outcome(sent=True, status=200, response=dict(body), wire=dict(body))


def refused(code: str, message: str = "no", status: int = 400) -> Outcome:
    wire = {"__type": f"com.amazonaws.invoicing#{code}", "message": message}
    return Outcome(sent=True, status=status, error_code=code, error_message=message, wire=wire)


def synthetic() -> Results:
    """A run with every verdict in the matrix, each basis, observations and exchanges (one carrying a secret)."""
    results = Results()
    results.meta.update(target="mock", profile="dev", seed=3, operations=["CreateInvoiceUnit", "GetInvoiceUnit",
                                                                         "PutProcurementPortalPreference"])
    held = [("CreateInvoiceUnit", "valid-requests", "valid_request_handled"),
            ("CreateInvoiceUnit", "replay-equivalence", "replay_same_response"),
            ("CreateInvoiceUnit", "scope", "token_scoped_to_operation"),
            ("GetInvoiceUnit", "state-matches-reads", "as_of_reads_the_past")]
    for unit, (op, prop, check) in enumerate(held, 1):
        results.record(op, prop, check, True, unit=unit)
    results.record("CreateInvoiceUnit", "conflict-rejection", "conflict_refused", False, unit=10)
    results.add_violation({"operation": "CreateInvoiceUnit", "property": "conflict-rejection", "basis": "protocol",
                           "title": "a conflicting payload was accepted", "text": "the violation's formatted text"})
    results.record("GetInvoiceUnit", "output-schema", "output_schema", True, unit=11, exercised=False,
                   why="no successful response to validate")  # untested
    results.record("GetInvoiceUnit", "declared-errors", "declared_error", True, unit=12)
    results.add_error("GetInvoiceUnit", "declared-errors", "Traceback: the suite broke")
    results.record("PutProcurementPortalPreference", "independence", "independent_tokens", False, unit=13)
    results.add_divergence({"operation": "PutProcurementPortalPreference", "property": "independence",
                            "basis": "assumed", "expectation": "same_payload_new_token", "title": "answered twice",
                            "text": "the divergence's formatted text"})
    results.expect("PutProcurementPortalPreference", "expiry")
    results.add_skip("PutProcurementPortalPreference", "expiry", "the fault properties were turned off (on | off)")
    for _ in range(3):
        results.observe("CreateInvoiceUnit", "replay with the same token", "returned the same InvoiceUnitArn")
    results.observe("CreateInvoiceUnit", "valid requests were", "accepted", 7)
    results.observe("CreateInvoiceUnit", "valid requests were", "answered ValidationException (mutualExclusionError)",
                    3)
    results.observe("GetInvoiceUnit", "invalid requests (server layer, max) were", "answered ValidationException")
    results.observe("GetInvoiceUnit", "something new the suite notes", "happened")
    results.keep_exchange(Call("CreateInvoiceUnit", {"Name": "u", "ClientToken": "t1"}, ok({"InvoiceUnitArn": UNIT}),
                               note="replay of step 1"))
    results.keep_exchange(Call("GetInvoiceUnit", {"InvoiceUnitArn": UNIT}, refused("ResourceNotFoundException")))
    results.keep_exchange(Call("PutProcurementPortalPreference", {"ProcurementPortalPreferenceArn": UNIT, **PORTAL},
                               refused("ValidationException", f"secret {SECRET} is wrong")))
    return results


def expected_cells(results: Results) -> dict[tuple[str, str], tuple[str, str]]:
    """operation x property -> (verdict words, bases) as the matrix must show them."""
    out = {}
    for (op, prop), cell in results.cells.items():
        words = "not testable here" if cell.excused else cell.verdict
        out[(op, prop)] = (words, ", ".join(results_module.cell_bases(cell)))
    return out


# ----------------------------------------------------------------------------------------- structure (Markdown)

def test_the_contents_link_every_operation_to_its_section():
    results = synthetic()
    markdown = reporting.behaviour_markdown(results)
    contents = markdown.split("## Contents\n", 1)[1].split("\n## ", 1)[0]
    headings = re.findall(r"^## (.+)$", markdown, re.M)
    for op in results.operations():
        anchor = Slugger().slug(op)
        assert f"- [{op}](#{anchor})" in contents, op
        assert op in headings
    assert "- [Operations x properties](#operations-x-properties)" in contents
    assert "- [Legend](#legend)" in contents
    assert "- [CreateInvoiceUnit](#createinvoiceunit) (3 held, 1 violated)" in contents  # its verdicts in a word
    # GitHub gives a repeated heading -1: the contents link the operation, not an earlier heading of that text.
    assert len(headings) == len(set(headings))


def matrix_rows(markdown: str) -> dict[str, list[str]]:
    table = markdown.split("## Operations x properties\n", 1)[1].split("\n## ", 1)[0]
    lines = [line for line in table.splitlines() if line.startswith("|")]
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    rows = {}
    for line in lines[2:]:
        cells = [c.strip() for c in line.strip("|").split(" | ")]
        op = re.match(r"\[(\w+)\]", cells[0]).group(1)
        rows[op] = dict(zip(header[1:], cells[1:]))
    return rows


def test_the_matrix_has_a_cell_per_operation_and_property_with_verdict_and_basis():
    results = synthetic()
    rows = matrix_rows(reporting.behaviour_markdown(results))
    expected = expected_cells(results)
    assert set(rows) == set(results.operations())
    for (op, prop), (words, bases) in expected.items():
        cell = rows[op][PROPERTIES[prop].column]
        square = behaviour.VERDICTS["excused" if words == "not testable here" else words][0]
        assert cell == f"{square} {words}" + (f" · {bases}" if bases else ""), (op, prop, cell)
    for op, cells in rows.items():  # the properties an operation was not checked for are marked so
        for column, cell in cells.items():
            if not any(PROPERTIES[p].column == column for (o, p) in expected if o == op):
                assert cell == "—"
    seen = {words for words, _ in expected.values()}
    assert seen == {"held", "violated", "diverged", "error", "untested", "not testable here"}
    assert {b for _, bases in expected.values() for b in bases.split(", ")} >= {"model", "protocol", "assumed",
                                                                                  "documented"}


def test_the_legend_explains_every_mark_and_basis_and_each_column():
    markdown = reporting.behaviour_markdown(synthetic())
    legend = markdown.split("## Legend\n", 1)[1].split("\n## ", 1)[0]
    for square, _symbol, words, meaning in behaviour.VERDICTS.values():
        assert f"| {square} {words} | {meaning} |" in legend
    for basis in ("model", "protocol", "documented", "assumed"):
        assert f"- **{basis}**: " in legend
    assert "| `1 replay` | 1. Replay equivalence |" in legend


@pytest.mark.parametrize("meta, title", [
    ({"target": "mock"}, "the embedded emulator"),
    ({"target": "mock", "mock_backend": "invoicing_mock.plausible:Lenient"},
     "the embedded emulator (backend invoicing_mock.plausible:Lenient)"),
    ({"target": "endpoint", "endpoint_url": "http://127.0.0.1:8765"}, "http://127.0.0.1:8765"),
    ({"target": "endpoint", "endpoint_url": "https://user:pa55@svc.example.com:8443/api?key=k#f"},
     "https://svc.example.com:8443/api"),
    ({"target": "aws", "account": "123456789012"}, "account …9012"),
    ({"target": "aws"}, "a real AWS account"),
])
def test_the_title_names_the_target(meta, title):
    results = Results()
    results.meta.update(meta)
    markdown = reporting.behaviour_markdown(results)
    html = reporting.behaviour_html(results)
    assert markdown.splitlines()[0] == f"# Invoicing API behaviour observed on {plain(title)}"
    assert f"<title>Invoicing API behaviour observed on {title}</title>".replace("&", "&amp;") in html
    head = markdown.split("## Contents", 1)[0]
    for withheld in ("123456789012", "210987654321", "pa55", "key=k"):
        assert withheld not in head  # a real account by its last digits; no credentials of a URL


def test_observations_read_as_grouped_sentences():
    markdown = reporting.behaviour_markdown(synthetic())
    create = markdown.split("## CreateInvoiceUnit\n", 1)[1].split("\n## ", 1)[0]
    assert "**Requests the model calls valid**\n\n- In 10 examples, valid requests were:\n  - accepted: 7 (70%)\n" \
           "  - answered ValidationException (mutualExclusionError): 3 (30%)" in create
    assert "**Idempotency tokens**\n\n- Replay with the same token returned the same InvoiceUnitArn (all 3 " \
           "examples)." in create
    get = markdown.split("## GetInvoiceUnit\n", 1)[1].split("\n## ", 1)[0]
    assert "**Requests the model calls invalid**" in get and "**Other**\n\n- Something new the suite notes " \
                                                            "happened (1 example)." in get


def test_operations_show_their_failures_divergences_errors_and_why_untested():
    markdown = reporting.behaviour_markdown(synthetic())
    assert "### Violation: a conflicting payload was accepted\n\n```text\nthe violation's formatted text" in markdown
    assert "### Divergence (3. Independence, assumed: same_payload_new_token): answered twice\n\n```text\nthe " \
           "divergence's formatted text" in markdown
    assert "### Suite error (Declared errors)" in markdown
    # A pipe in a table cell is escaped, or it would end the cell (GitHub shows it as a pipe).
    assert "| not testable here: the fault properties were turned off (on \\| off) |" in markdown
    assert "ran without its subject: no successful response to validate x1" in markdown


def test_the_examples_are_shown_redacted_in_both_files():
    results = synthetic()
    markdown, html = reporting.behaviour_markdown(results), reporting.behaviour_html(results)
    for text in (markdown, html):
        assert SECRET not in text
    put = markdown.split("## PutProcurementPortalPreference\n", 1)[1]
    assert "**Refused with ValidationException** (HTTP 400)" in put
    assert '"ProcurementPortalSharedSecret": "R0xxxx-xxxxxxxxx-xxxxxx-xxxx"' in put  # masked, same shape
    assert "secret <redacted> is wrong" in put  # the target's echo, scrubbed as it was kept
    create = markdown.split("## CreateInvoiceUnit\n", 1)[1]
    assert "**Accepted** (HTTP 200): the suite's note: replay of step 1" in create
    assert f'"InvoiceUnitArn": "{UNIT}"' in create
    assert html.count('<div class="pair">') == 3


# ------------------------------------------------------------------------------------------ structure (HTML)

class _Page(HTMLParser):
    """The ids, the links, and the matrix's cells (class and text) of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: list[str] = []
        self.links: list[str] = []
        self.rows: list[list[tuple[str, str]]] = []
        self._in_matrix = self._cell = False
        self._class = ""
        self._text = ""

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.append(attrs["id"])
        if tag == "a":
            self.links.append(attrs.get("href", ""))
        if tag == "table" and "matrix" in (attrs.get("class") or ""):
            self._in_matrix = True
        if self._in_matrix and tag == "tr":
            self.rows.append([])
        if self._in_matrix and tag in ("td", "th"):
            self._cell, self._class, self._text = True, attrs.get("class") or "", ""

    def handle_endtag(self, tag):
        if self._in_matrix and tag in ("td", "th"):
            self.rows[-1].append((self._class, " ".join(self._text.split())))
            self._cell = False
        if tag == "table":
            self._in_matrix = False

    def handle_data(self, data):
        if self._cell:
            self._text += data


def test_the_html_has_anchors_for_every_link_and_a_coloured_cell_per_operation_and_property():
    results = synthetic()
    page = _Page()
    page.feed(reporting.behaviour_html(results))
    internal = [link[1:] for link in page.links if link.startswith("#")]
    assert internal and set(internal) <= set(page.ids)  # every contents and matrix link lands on a heading
    assert {Slugger().slug(op) for op in results.operations()} <= set(page.ids)
    header, *rows = page.rows
    columns = [text for _class, text in header[1:]]
    by_op = {row[0][1]: dict(zip(columns, row[1:])) for row in rows}
    for (op, prop), (words, bases) in expected_cells(results).items():
        css, text = by_op[op][PROPERTIES[prop].column]
        key = "excused" if words == "not testable here" else words
        assert css == f"v-{key}"
        assert text == f"{behaviour.VERDICTS[key][1]} {words}{bases}", (op, prop)  # words, not colour alone


def test_inline_markup_from_a_target_never_becomes_markup():
    text = plain("[x](javascript:alert(1)) <script>**b** `c` | d")
    html = inline_html(text)
    assert "<script>" not in html and "href" not in html and "<strong>" not in html
    assert html == "[x](javascript:alert(1)) &lt;script&gt;**b** `c` | d"
    assert inline_html("**bold** and [op](#op-1)") == '<strong>bold</strong> and <a href="#op-1">op</a>'
    assert "href" not in inline_html("[x](javascript:alert(1))") and "href" not in inline_html("[x](http://a.b/)")


# --------------------------------------------------------------------------------------- exchanges in Results

def test_the_first_accepted_and_the_first_refusal_per_code_are_kept_bounded():
    results = Results()
    results.keep_exchange(Call("GetInvoiceUnit", {"InvoiceUnitArn": "a"}, ok({"InvoiceUnit": {"Name": "first"}})))
    results.keep_exchange(Call("GetInvoiceUnit", {"InvoiceUnitArn": "b"}, ok({"InvoiceUnit": {"Name": "second"}})))
    for code in ("E1", "E2", "E1", "E3", "E4", "E5"):
        results.keep_exchange(Call("GetInvoiceUnit", {"InvoiceUnitArn": code}, refused(code)))
    # Answers that are not the target's: botocore refused, the guard kept it back, the target was unreachable.
    results.keep_exchange(Call("ListInvoiceUnits", {}, Outcome(sent=False, client_error="ParamValidationError")))
    results.keep_exchange(Call("ListInvoiceUnits", {}, Outcome(sent=False, not_sent="budget")))
    results.keep_exchange(Call("ListInvoiceUnits", {}, Outcome(sent=True, connection_error="refused")))
    slots = results.exchanges["GetInvoiceUnit"]
    assert list(slots) == ["accepted"] + [f"refused E{i}" for i in range(1, MAX_REFUSALS + 1)]
    assert '"first"' in slots["accepted"]["response"] and '"InvoiceUnitArn": "E1"' in slots["refused E1"]["request"]
    assert "ListInvoiceUnits" not in results.exchanges
    # Long members are shortened (the start shown, with how much more), and the whole text is bounded.
    long = Call("ListInvoiceUnits", {"NextToken": "n" * 5000},
                ok({"InvoiceUnits": [{"Name": f"unit {i}"} for i in range(500)]}))
    results.keep_exchange(long)
    kept = results.exchanges["ListInvoiceUnits"]["accepted"]
    assert '"unit 7"' in kept["response"] and '"unit 8"' not in kept["response"]
    assert "492 more items" in kept["response"]
    assert f'"{"n" * 160}... (4840 more characters)"' in kept["request"]
    wide = Call("ListInvoiceSummaries", {}, ok({f"Member{i}": "v" * 150 for i in range(40)}))
    results.keep_exchange(wide)
    kept = results.exchanges["ListInvoiceSummaries"]["accepted"]["response"]
    assert len(kept) < MAX_EXCHANGE_CHARS + 40 and kept.endswith("more characters)")


def test_exchanges_survive_the_state_round_trip_and_merge_without_loss_deterministically():
    a, b = Results(), Results()
    a.keep_exchange(Call("GetInvoiceUnit", {"InvoiceUnitArn": "a"}, ok({"InvoiceUnit": {}})))
    a.keep_exchange(Call("GetInvoiceUnit", {"InvoiceUnitArn": "x"}, refused("E1")))
    b.keep_exchange(Call("GetInvoiceUnit", {"InvoiceUnitArn": "b"}, ok({"InvoiceUnit": {}})))
    for code in ("E2", "E1", "E3", "E4"):
        b.keep_exchange(Call("GetInvoiceUnit", {"InvoiceUnitArn": code}, refused(code)))
    b.keep_exchange(Call("CreateInvoiceUnit", {"Name": "n"}, ok({"InvoiceUnitArn": UNIT})))
    again = Results.from_state(a.to_state())
    assert again.exchanges == a.exchanges and again.to_dict() == a.to_dict()
    merged = Results.from_state(a.to_state()).merge(Results.from_state(b.to_state()))
    slots = merged.exchanges["GetInvoiceUnit"]
    assert list(slots) == ["accepted", "refused E1", "refused E2", "refused E3"]  # the bound one process keeps
    assert '"a"' in slots["accepted"]["request"] and slots["refused E1"] == a.exchanges["GetInvoiceUnit"]["refused E1"]
    assert merged.exchanges["CreateInvoiceUnit"] == b.exchanges["CreateInvoiceUnit"]
    twice = Results.from_state(a.to_state()).merge(Results.from_state(b.to_state()))
    assert twice.to_state() == merged.to_state()
    with pytest.raises(ValueError, match="version 3"):
        Results.from_state({**a.to_state(), "version": 3})


def test_the_suite_keeps_the_exchanges_of_its_calls_redacted():
    """The hook: every Api the suite builds tells the results of its calls (contracts.engine.session.Suite.api)."""
    with build(TargetConfig(), Trace()) as target:
        suite = Suite(target=target, results=Results(), operations=("CreateProcurementPortalPreference",),
                      sizing=PROFILES["dev"].sizing)
        made = suite.api().call("CreateProcurementPortalPreference", dict(PORTAL, ClientToken="tok-behaviour"))
        assert made.ok, made.summary()
        suite.api().call("GetInvoiceUnit", {"InvoiceUnitArn": UNIT})
        suite.api(validate=False).call("GetInvoiceUnit", {"InvoiceUnitArn": 7})  # a ValidationException
    exchanges = suite.results.exchanges
    assert list(exchanges["CreateProcurementPortalPreference"]) == ["accepted"]
    assert list(exchanges["GetInvoiceUnit"]) == ["refused ResourceNotFoundException", "refused ValidationException"]
    kept = exchanges["CreateProcurementPortalPreference"]["accepted"]
    for secret in (SECRET, "behaviour contact", "behaviour.contact@example.com"):
        assert secret not in str(kept)
    assert '"ProcurementPortalSharedSecret": "R' in kept["request"] and '"Contacts": [' in kept["request"]


# ----------------------------------------------------------------------------------------- as a browser shows it

CHROMIUM = next((shutil.which(name) for name in ("chromium", "chromium-browser", "google-chrome")
                 if shutil.which(name)), None)


def read_png(path: Path) -> tuple[int, int, int, list[bytes]]:
    """(width, height, bytes per pixel, rows) of an 8-bit RGB or RGBA PNG, as Chromium writes them."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat = 8, b""
    while pos < len(data):
        size, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + size]
        pos += 12 + size
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and colour in (2, 6), "an 8-bit RGB(A) PNG"
            bpp = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += body
    raw, stride, rows, prev, i = zlib.decompress(idat), width * bpp, [], bytearray(width * bpp), 0
    for _ in range(height):
        kind, line = raw[i], bytearray(raw[i + 1:i + 1 + stride])
        i += 1 + stride
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            b, c = prev[x], prev[x - bpp] if x >= bpp else 0
            if kind == 1:
                line[x] = (line[x] + a) & 255
            elif kind == 2:
                line[x] = (line[x] + b) & 255
            elif kind == 3:
                line[x] = (line[x] + (a + b) // 2) & 255
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    return width, height, bpp, rows


def verdict_colours() -> dict[str, bytes]:
    """Each verdict's background, read from the report's stylesheet (RGB bytes)."""
    found = dict(re.findall(r"\.v-(\w+)\{background:#([0-9a-f]{6})", behaviour.CSS))
    return {key: bytes.fromhex(found[key]) for key in behaviour.VERDICTS}


def test_verdict_colours_are_distinct():
    colours = verdict_colours()
    assert len(set(colours.values())) == len(colours)


@pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium is not installed (apt-get install -y chromium); "
                                             "CI does not install it")
def test_the_matrix_shows_each_verdict_in_its_colour_in_a_browser(tmp_path):
    """Only the matrix keeps its colours here (the legend and the operations are hidden), so each verdict's
    colour on the screenshot comes from the cells of that verdict."""
    page = reporting.behaviour_html(synthetic()).replace(
        "</style>", ".legend,.operation,nav.toc{display:none}</style>")
    (tmp_path / "report.html").write_text(page)
    shot = tmp_path / "shot.png"
    done = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                           f"--screenshot={shot}", "--window-size=1200,900", (tmp_path / "report.html").as_uri()],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert shot.exists(), done.stderr[-2000:]
    width, _height, bpp, rows = read_png(shot)
    counts = dict.fromkeys(verdict_colours().values(), 0)
    for row in rows:
        for x in range(0, width * bpp, bpp):
            pixel = row[x:x + 3]
            if pixel in counts:
                counts[pixel] += 1
    for key, colour in verdict_colours().items():
        assert counts[colour] > 500, f"{key} ({colour.hex()}): {counts[colour]} pixels"


def test_each_operation_quotes_the_first_sentence_the_model_documents():
    markdown = reporting.behaviour_markdown(synthetic())
    assert "AWS documents it as: “This creates a new invoice unit with the provided definition.”" in markdown
    assert "AWS documents it as: “Updates an existing procurement portal preference configuration.” AWS marks it " \
           "a preview, subject to change." in markdown
    assert "subject to changing at any time" not in markdown  # the preview notice is said, not quoted
