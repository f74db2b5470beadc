"""Rendering a model diff as a changelog in the style of the public AWS API changelog.

    2026-05-22 - AWS Invoicing - 6 updated api methods

then, per operation, the request-syntax delta (`{'ClientToken': 'string'}`, new enum values as a set
`{'Status': {'NEW_VALUE'}}`) and every change with its severity and what it means. Knows nothing of how the diff
is computed: it reads a DriftResult (contracts/drift.py) and botocore shapes.
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
    date = date or datetime.datetime.now(datetime.timezone.utc).date().isoformat()
    h1, h2 = "#" * heading_level, "#" * (heading_level + 1)
    counts = result.counts()
    lines = [
        f"{h1} {date} - {result.service_name} - {header(result)}",
        "",
        f"From {result.old.label} to {result.new.label}: "
        + ", ".join(f"{n} {severity}" for severity, n in counts.items()) + ".",
        "",
    ]
    if not result.changes:
        lines += ["No change of substance in the operations, their shapes or their errors.", ""]
    by_operation: dict[str, list] = {}
    for change in result.changes:
        by_operation.setdefault(change.operation, []).append(change)
    sections = ([(name, "new") for name in result.new_operations]
                + [(name, "updated") for name in result.updated_operations]
                + [(name, "removed") for name in result.removed_operations])
    for name, status in sections:
        changes = by_operation[name]
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
        for change in changes:
            where = f" `{change.path}`" if change.path else ""
            lines.append(f"- **{change.severity}** {change.section}{where}: {change.reason}")
        lines.append("")
    return "\n".join(lines)


def gate_markdown(failures) -> str:
    if not failures:
        return "\n**Gate: passed**: every token-bearing operation has a contract entry and nothing breaks.\n"
    lines = ["", f"**Gate: failed** ({len(failures)})", ""]
    lines += [f"- {failure}" for failure in failures]
    return "\n".join(lines) + "\n"
