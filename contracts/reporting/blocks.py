"""A small document model with two renderings: Markdown that reads well on GitHub, and dependency-free HTML
(inline CSS, no scripts). The behaviour report (contracts.reporting.behaviour) is built from these blocks, so
both files say the same thing.

Inline text is a tiny subset of Markdown: **bold**, `code`, [text](#anchor) (internal anchors only, so text from a
target can never become a link) and backslash escapes; `plain()` escapes text that is not ours. Sections another
module writes as Markdown lines come in as `MarkdownLines` and are converted for the HTML.

Anchors follow GitHub's rule (lower case, punctuation dropped, spaces to hyphens, -1, -2 ... for repeats, counted
over every heading of the document), so the Markdown's links work on GitHub and the HTML's ids match them.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import Protocol

# --------------------------------------------------------------------------------------------------- inline text

_SPECIAL = re.compile(r"([\\`*\[\]<|])")
_INLINE = re.compile(r"\\([\\`*_\[\]<>|#])|`([^`]+)`|\*\*(.+?)\*\*|\[([^\]]+)\]\(#([\w-]+)\)")


def plain(text: str) -> str:
    """`text` (the target's words, a title) escaped so Markdown shows it as it is."""
    return _SPECIAL.sub(r"\\\1", str(text))


def code(text: str) -> str:
    """An inline code span around `text` (our own identifiers: no backticks in them)."""
    return f"`{str(text).replace('`', chr(39))}`"


def inline_html(text: str) -> str:
    """The inline subset as HTML: everything escaped, then the few constructs turned into tags."""
    out, pos = [], 0
    for match in _INLINE.finditer(text):
        out.append(html.escape(text[pos:match.start()]))
        escaped, span, bold, label, anchor = match.groups()
        if escaped is not None:
            out.append(html.escape(escaped))
        elif span is not None:
            out.append(f"<code>{html.escape(span)}</code>")
        elif bold is not None:
            out.append(f"<strong>{inline_html(bold)}</strong>")
        else:
            out.append(f'<a href="#{anchor}">{inline_html(label)}</a>')
        pos = match.end()
    out.append(html.escape(text[pos:]))
    return "".join(out)


def inline_text(text: str) -> str:
    """What the inline markup shows, without markup (a heading's text, from which GitHub makes its anchor)."""
    return re.sub(r"<[^>]+>", "", html.unescape(inline_html(text)))


class Slugger:
    """GitHub's heading anchors: the same text twice gets -1 on its second heading."""

    def __init__(self) -> None:
        self._seen: dict[str, int] = {}

    def slug(self, text: str) -> str:
        base = re.sub(r"[^\w\- ]", "", inline_text(text).strip().lower()).replace(" ", "-")
        count = self._seen.get(base, 0)
        self._seen[base] = count + 1
        return base if count == 0 else f"{base}-{count}"


# --------------------------------------------------------------------------------------------------------- blocks

class Block(Protocol):
    def markdown(self) -> list[str]: ...

    def html(self) -> str: ...


@dataclass
class Heading:
    level: int
    text: str  # inline markup
    id: str = ""  # set by number_headings()

    def markdown(self) -> list[str]:
        return ["#" * self.level + " " + self.text, ""]

    def html(self) -> str:
        return f'<h{self.level} id="{self.id}">{inline_html(self.text)}</h{self.level}>'


@dataclass
class Paragraph:
    text: str
    css: str = ""

    def markdown(self) -> list[str]:
        return [self.text, ""]

    def html(self) -> str:
        return f"<p{_class(self.css)}>{inline_html(self.text)}</p>"


@dataclass
class Bullets:
    """A list; an item is its text, or (its text, sub-items) for one nested level."""

    items: list[str | tuple[str, list[str]]]
    css: str = ""

    def markdown(self) -> list[str]:
        out = []
        for item in self.items:
            text, subs = item if isinstance(item, tuple) else (item, [])
            out.append(f"- {text}")
            out += [f"  - {sub}" for sub in subs]
        return out + [""]

    def html(self) -> str:
        out = [f"<ul{_class(self.css)}>"]
        for item in self.items:
            text, subs = item if isinstance(item, tuple) else (item, [])
            nested = "<ul>" + "".join(f"<li>{inline_html(s)}</li>" for s in subs) + "</ul>" if subs else ""
            out.append(f"<li>{inline_html(text)}{nested}</li>")
        return "\n".join(out + ["</ul>"])


@dataclass
class Mark:
    """A table cell that carries a verdict: a CSS class for its colour, and always words (colour is never the
    only signal). Markdown has no colour of its own on GitHub, so it leads with a coloured square."""

    css: str  # the verdict's class: v-held, v-violated, ...
    square: str  # the Markdown's coloured square
    symbol: str  # the HTML's mark before the words
    words: str
    detail: str = ""  # the basis, under the words
    tooltip: str = ""

    def markdown(self) -> str:
        return " ".join(p for p in (self.square, self.words) if p) + (f" · {self.detail}" if self.detail else "")

    def html(self, tag: str = "td") -> str:
        title = f' title="{html.escape(self.tooltip)}"' if self.tooltip else ""
        detail = f'<small class="basis">{html.escape(self.detail)}</small>' if self.detail else ""
        # A non-breaking space: a narrow cell never shows the mark on one line and its verdict on the next.
        symbol = f'<span class="mark" aria-hidden="true">{self.symbol}</span>&nbsp;' if self.symbol else ""
        return f'<{tag} class="{self.css}"{title}>{symbol}{html.escape(self.words)}{detail}</{tag}>'


@dataclass
class Table:
    headers: list[str]  # inline markup
    rows: list[list[str | Mark]]
    align: list[str] = field(default_factory=list)  # per column: "l", "r" or "c"
    css: str = ""
    row_headers: bool = False  # the first column names the row (a <th>)
    scrolls: bool = False  # wider than a narrow window: it scrolls inside its own box

    def markdown(self) -> list[str]:
        align = self.align or ["l"] * len(self.headers)
        rule = {"l": "---", "r": "---:", "c": ":---:"}
        out = ["| " + " | ".join(_cell_md(h) for h in self.headers) + " |",
               "|" + "|".join(rule[a] for a in align) + "|"]
        out += ["| " + " | ".join(_cell_md(c) for c in row) + " |" for row in self.rows]
        return out + [""]

    def html(self) -> str:
        align = self.align or ["l"] * len(self.headers)
        style = {"l": "", "r": ' class="num"', "c": ' class="mid"'}
        out = [f"<table{_class(self.css)}>", "<thead><tr>"
               + "".join(f"<th{style[a]}>{inline_html(h)}</th>" for h, a in zip(self.headers, align))
               + "</tr></thead>", "<tbody>"]
        for row in self.rows:
            cells = []
            for i, cell in enumerate(row):
                tag = "th" if self.row_headers and i == 0 else "td"
                if isinstance(cell, Mark):
                    cells.append(cell.html(tag))
                else:
                    extra = ' scope="row"' if tag == "th" else style[align[i]]
                    cells.append(f"<{tag}{extra}>{inline_html(cell)}</{tag}>")
            out.append("<tr>" + "".join(cells) + "</tr>")
        out.append("</tbody></table>")
        return "\n".join(['<div class="wide">'] + out + ["</div>"] if self.scrolls else out)


@dataclass
class CodeBlock:
    text: str
    language: str = ""
    caption: str = ""  # inline markup, shown above

    def markdown(self) -> list[str]:
        fence = "`" * max(3, _longest_run(self.text, "`") + 1)
        head = [self.caption, ""] if self.caption else []
        return head + [fence + self.language, self.text, fence, ""]

    def html(self) -> str:
        caption = f'<div class="caption">{inline_html(self.caption)}</div>' if self.caption else ""
        return f"<div>{caption}<pre>{html.escape(self.text)}</pre></div>"


@dataclass
class SideBySide:
    """Blocks shown next to each other in the HTML (a request and its response); one after the other in
    Markdown."""

    parts: list[Block]

    def markdown(self) -> list[str]:
        return [line for part in self.parts for line in part.markdown()]

    def html(self) -> str:
        return '<div class="pair">' + "".join(part.html() for part in self.parts) + "</div>"


@dataclass
class Section:
    """Blocks grouped in one HTML element (a card), in sequence in Markdown."""

    blocks: list[Block]
    css: str = ""
    element: str = "section"

    def markdown(self) -> list[str]:
        return [line for block in self.blocks for line in block.markdown()]

    def html(self) -> str:
        return f"<{self.element}{_class(self.css)}>\n" + "\n".join(b.html() for b in self.blocks) \
            + f"\n</{self.element}>"


@dataclass
class MarkdownLines:
    """A section another module writes as Markdown (headings, tables, lists, code blocks, paragraphs)."""

    lines: list[str]
    ids: list[str] = field(default_factory=list)  # its headings' anchors, set by number_headings()

    def headings(self) -> list[tuple[int, str]]:
        out, fenced = [], False
        for line in self.lines:
            if line.startswith("```"):
                fenced = not fenced
            elif not fenced and line.startswith("#"):
                level = len(line) - len(line.lstrip("#"))
                out.append((level, line[level:].strip()))
        return out

    def markdown(self) -> list[str]:
        return list(self.lines) + ([""] if self.lines and self.lines[-1] else [])

    def html(self) -> str:
        return _markdown_to_html(self.lines, iter(self.ids))


def number_headings(blocks: list[Block]) -> list[tuple[int, str, str]]:
    """Give every heading, in document order (nested sections too), its GitHub anchor; returns (level, text, id)
    of each."""
    slugger, found = Slugger(), []

    def walk(items) -> None:
        for block in items:
            if isinstance(block, Heading):
                block.id = slugger.slug(block.text)
                found.append((block.level, block.text, block.id))
            elif isinstance(block, MarkdownLines):
                block.ids = []
                for level, text in block.headings():
                    block.ids.append(slugger.slug(text))
                    found.append((level, text, block.ids[-1]))
            elif isinstance(block, (Section, SideBySide)):
                walk(block.blocks if isinstance(block, Section) else block.parts)

    walk(blocks)
    return found


def markdown(blocks: list[Block]) -> str:
    return "\n".join(line for block in blocks for line in block.markdown()).rstrip() + "\n"


def html_page(title: str, css: str, blocks: list[Block]) -> str:
    body = "\n".join(block.html() for block in blocks)
    return (f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{html.escape(title)}</title><style>{css}</style></head><body>\n{body}\n</body></html>\n")


# -------------------------------------------------------------------------------------------------------- helpers

def _class(css: str) -> str:
    return f' class="{css}"' if css else ""


def _cell_md(cell: str | Mark) -> str:
    # Text in cells comes through plain(), which escapes pipes (a pipe would end the cell).
    return (cell.markdown() if isinstance(cell, Mark) else cell).replace("\n", " ")


def _longest_run(text: str, char: str) -> int:
    return max((len(m) for m in re.findall(f"{re.escape(char)}+", text)), default=0)


def _markdown_to_html(lines: list[str], ids) -> str:
    """The Markdown other modules write (headings, pipe tables, flat lists, fenced code, paragraphs) as HTML."""
    body: list[str] = []
    in_code = in_table = in_list = False
    for line in lines:
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
            body.append(f'<h{level} id="{next(ids, "")}">{inline_html(line[level:].strip())}</h{level}>')
        elif line.startswith("|"):
            cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip().strip("|"))]
            if all(set(c) <= set("-:") for c in cells):
                continue
            tag = "th" if not in_table else "td"
            if not in_table:
                body.append("<table>")
                in_table = True
            body.append("<tr>" + "".join(f"<{tag}>{inline_html(c)}</{tag}>" for c in cells) + "</tr>")
        elif line.startswith("- "):
            if not in_list:
                body.append("<ul>")
                in_list = True
            body.append(f"<li>{inline_html(line[2:])}</li>")
        elif line.strip():
            body.append(f"<p>{inline_html(line)}</p>")
    body += ["</pre>"] * in_code + ["</table>"] * in_table + ["</ul>"] * in_list
    return "\n".join(body)
