"""Rendering a model diff as a changelog in the style of the public AWS API changelog.

    2026-05-22 - AWS Invoicing - 6 updated api methods

then, per operation, the request-syntax delta (`{'ClientToken': 'string'}`, new enum values as a set
`{'Status': {'NEW_VALUE'}}`) and every change with its severity and what it means. Knows nothing of how the diff
is computed: it reads a DriftResult (contracts/drift/gate.py), its causes (contracts/drift/causes.py) and
botocore shapes. A change to a shared shape is told once under "Shared shapes"; error members and changes decided
to have no effect on callers get their own short sections, so what callers meet stays in view.
"""

from __future__ import annotations

import datetime

# Leaves of the request syntax, as boto3's documentation writes them.
_SCALARS = {
    "string": "'string'", "integer": "123", "long": "123", "float": "123.0", "double": "123.0",
    "boolean": "True|False", "timestamp": "datetime(2015, 1, 1)", "blob": "b'bytes'", "bigdecimal": "123.0",
}
_LIST, _MAP_KEY, _MAP_VALUE = "[*]", "<key>", '["*"]'
_WIDTH = 100
_ADDED = ("member-added", "enum-values-added", "enum-values-inserted")
_REMOVED = ("member-removed", "enum-values-removed")


def skeleton(shape, stack: tuple = ()):
    """The request-syntax tree of a botocore shape: dicts for structures, {"[*]": item} for lists,
    {"<key>": k, '["*"]': v} for maps, strings for scalars (enums as 'A'|'B')."""
    kind = shape.type_name
    if kind == "structure":
        if shape.name in stack:
            return "{...}"  # recursive shape
        return {name: skeleton(member, stack + (shape.name,)) for name, member in shape.members.items()}
    if kind == "list":
        return {_LIST: skeleton(shape.member, stack)}
    if kind == "map":
        return {_MAP_KEY: skeleton(shape.key, stack), _MAP_VALUE: skeleton(shape.value, stack)}
    if kind == "string" and shape.metadata.get("enum"):
        return "|".join(repr(value) for value in shape.metadata["enum"])
    return _SCALARS.get(kind, f"<{kind}>")


def syntax(shape) -> str:
    """One-line request syntax of a shape, e.g. "'string'" or "{'Name': 'string', 'Tags': ['string']}"."""
    return render(skeleton(shape), width=None)


def render(node, indent: int = 0, width: int | None = _WIDTH) -> str:
    """Python-literal text of a syntax tree; nested over several lines when wider than `width`."""
    if isinstance(node, str):
        return node
    flat = _render_flat(node)
    if width is None or indent + len(flat) <= width:
        return flat
    pad, inner = " " * indent, " " * (indent + 4)
    if set(node) == {_LIST}:
        return f"[\n{inner}{render(node[_LIST], indent + 4, width)}\n{pad}]"
    if set(node) <= {_MAP_KEY, _MAP_VALUE}:
        key = render(node.get(_MAP_KEY, "'string'"), indent + 4, width)
        return f"{{\n{inner}{key}: {render(node.get(_MAP_VALUE, '...'), indent + 4, width)}\n{pad}}}"
    lines = [f"{inner}'{name}': {render(child, indent + 4, width)}" for name, child in node.items()]
    return "{\n" + ",\n".join(lines) + f"\n{pad}}}"


def _render_flat(node) -> str:
    if isinstance(node, str):
        return node
    if set(node) == {_LIST}:
        return f"[{_render_flat(node[_LIST])}]"
    if node and set(node) <= {_MAP_KEY, _MAP_VALUE}:
        key, value = _render_flat(node.get(_MAP_KEY, "'string'")), _render_flat(node.get(_MAP_VALUE, "..."))
        return f"{{{key}: {value}}}"
    return "{" + ", ".join(f"'{name}': {_render_flat(child)}" for name, child in node.items()) + "}"


def delta(changes) -> dict:
    """The syntax tree holding only what the given changes added (or removed), at their paths."""
    root: dict = {}
    for change in changes:
        if change.syntax is None or not change.segments:
            continue
        node = root
        *parents, last = change.segments
        for segment in parents:
            child = node.setdefault(segment, {})
            if isinstance(child, str):  # a whole new member already covers this path
                break
            node = child
        else:
            node.setdefault(last, change.syntax)
    return root


def _count(n: int, what: str) -> str:
    return f"{n} {what} api method{'' if n == 1 else 's'}"


def header(result) -> str:
    parts = [_count(len(names), what) for names, what in (
        (result.new_operations, "new"), (result.updated_operations, "updated"),
        (result.removed_operations, "removed")) if names]
    return " / ".join(parts) if parts else "no api changes"


def markdown(result, date: str | None = None, heading_level: int = 1) -> str:
    """The changelog: per operation what callers meet, then each shared shape's change once, then error
    members, then what was decided to change nothing for callers."""
    date = date or datetime.datetime.now(datetime.timezone.utc).date().isoformat()
    h1, h2 = "#" * heading_level, "#" * (heading_level + 1)
    causes = result.causes()
    lines = [f"{h1} {date} - {result.service_name} - {header(result)}", "", _summary(result, causes), ""]
    if not result.changes:
        lines += ["No change of substance in the operations, their shapes or their errors.", ""]
    lines += _operation_sections(result, causes, h2)
    lines += _shared_section(causes, h2)
    lines += _listed_section(
        [c for c in causes if c.in_error_member], f"{h2} Error members",
        "What callers read from an error (its message and fields), not what they send or get back; "
        "each change once, with the error members and the number of operations it reaches.")
    lines += _listed_section(
        [c for c in causes if not c.affects_callers and not c.in_error_member and c.kind != "documentation-changed"],
        f"{h2} Without effect on callers", "Rewrites decided to accept and return exactly what they did before.")
    return "\n".join(lines)


def _summary(result, causes) -> str:
    counts = {severity: 0 for severity in result.counts()}
    for cause in causes:
        counts[cause.severity] += 1
    text = ", ".join(f"{n} {severity}" for severity, n in counts.items())
    return (f"From {result.old.label} to {result.new.label}: {text}, each change of the model counted once "
            f"({len(result.changes)} at members and operations; `--format json` lists them all).")


def _operation_sections(result, causes, h2: str) -> list[str]:
    lines = []
    sections = ([(name, "new") for name in result.new_operations]
                + [(name, "updated") for name in result.updated_operations]
                + [(name, "removed") for name in result.removed_operations])
    for name, status in sections:
        changes = [c for c in result.changes if c.operation == name]
        lines += [f"{h2} {name} ({status})", ""]
        if status == "new":
            shape = result.new_model.operation_model(name).input_shape
            tree = skeleton(shape) if shape is not None else {}
            lines += ["Request syntax", "", "```python", render(tree), "```", ""]
        for section in ("request", "response"):
            in_section = [c for c in changes if c.section == section]
            for title, kinds in (("Changes", _ADDED), ("Removed", _REMOVED)):
                tree = delta(c for c in in_section if c.kind in kinds)
                if tree:
                    lines += [f"{title} ({section})", "", "```python", render(tree), "```", ""]
        for cause in causes:
            mine = [c for c in cause.changes if c.operation == name and c.updates_operation]
            if mine:
                lines += _operation_bullet(cause, mine)
        lines.append("")
    return lines


def _operation_bullet(cause, mine) -> list[str]:
    where = _where(mine)
    if len(cause.operations) > 1:  # told once under "Shared shapes"; here only what it is and where
        return [f"- **{cause.severity}** {where}: {cause.shape} {cause.headline} (shared, see below)"]
    return [f"- **{cause.severity}** {where}: {cause.reason}", *_details(cause)]


def _shared_section(causes, h2: str) -> list[str]:
    shared = [c for c in causes if len(c.operations) > 1 and not c.in_error_member
              and (c.affects_callers or c.kind == "documentation-changed")]
    if not shared:
        return []
    lines = [f"{h2} Shared shapes", "", "A change to a shape used in several operations, told once with where it reaches.", ""]
    for shape in dict.fromkeys(c.shape for c in shared):
        lines += [f"### {shape}", ""]
        for cause in (c for c in shared if c.shape == shape):
            lines += [f"- **{cause.severity}** {cause.reason}", *_details(cause),
                      f"  Reaches {_reach(cause.changes)}."]
        lines.append("")
    return lines


def _listed_section(causes, heading: str, intro: str) -> list[str]:
    if not causes:
        return []
    lines = [heading, "", intro, ""]
    for cause in causes:
        count = len(cause.operations)
        paths = _paths([c.path for c in cause.changes])
        lines += [f"- **{cause.severity}** {cause.shape}: {cause.reason}", *_details(cause),
                  f"  In {paths} ({count} operation{'' if count == 1 else 's'})."]
    lines.append("")
    return lines


def _details(cause) -> list[str]:
    """The two patterns of a pattern change, under its bullet."""
    if cause.pattern is None:
        return []
    first = cause.first
    return [f"  {_code(first.old) if first.old is not None else '(no pattern)'} -> "
            f"{_code(first.new) if first.new is not None else '(no pattern)'}"]


def _where(changes) -> str:
    """'request `A`, `B`; response `C`' for the changes of one operation."""
    parts = []
    for section in dict.fromkeys(c.section for c in changes):
        paths = [c.path for c in changes if c.section == section and c.path]
        parts.append(f"{section} {_paths(paths)}" if paths else section)
    return "; ".join(parts)


def _reach(changes) -> str:
    """'request `ResourceArn` in A, B, C': members grouped by the operations they are reached in."""
    operations_at: dict[tuple, list[str]] = {}
    for change in changes:
        operations_at.setdefault((change.section, change.path), []).append(change.operation)
    by_operations: dict[tuple, list[tuple]] = {}
    for site, operations in operations_at.items():
        by_operations.setdefault(tuple(dict.fromkeys(operations)), []).append(site)
    parts = []
    for operations, sites in by_operations.items():
        parts.append(f"{_where_sites(sites)} in {', '.join(operations)}")
    return "; ".join(parts)


def _where_sites(sites) -> str:
    parts = []
    for section in dict.fromkeys(section for section, _ in sites):
        paths = [path for s, path in sites if s == section and path]
        parts.append(f"{section} {_paths(paths)}" if paths else section)
    return "; ".join(parts)


def _paths(paths) -> str:
    """Paths as code, siblings folded: `Profiles[*].ReceiverAddress.{City, PostalCode}`."""
    siblings: dict[str, list[str]] = {}
    for path in dict.fromkeys(paths):
        parent, dot, leaf = path.rpartition(".")
        siblings.setdefault(parent if dot else path, []).append(leaf if dot else "")
    out = []
    for parent, leaves in siblings.items():
        if leaves == [""]:
            out.append(_code(parent))
        elif len(leaves) == 1:
            out.append(_code(f"{parent}.{leaves[0]}"))
        else:
            out.append(_code(f"{parent}.{{{', '.join(leaves)}}}"))
    return ", ".join(out)


def _code(text) -> str:
    text = str(text)
    fence = "``" if "`" in text else "`"
    return f"{fence}{text}{fence}" if fence == "`" else f"{fence} {text} {fence}"


def gate_markdown(failures) -> str:
    if not failures:
        return "\n**Gate: passed**: every token-bearing operation has a contract entry and nothing breaks.\n"
    lines = ["", f"**Gate: failed** ({len(failures)})", ""]
    lines += [f"- {failure}" for failure in failures]
    return "\n".join(lines) + "\n"
