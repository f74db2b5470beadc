"""`invoicing-contracts coverage`: is every constraint the model states violated by an invalid draw?

The constraints are read from the model here, independently of the strategies (operation x member x
constraint: required, type, min, max, pattern, enum, unknown members). The invalid-request strategies then draw
within the CI budget, and each draw is judged by the local validator, not by its own label: a cell counts as
violated when the validator reports that constraint at that member.

Budget: the CI profile's examples per operation (contracts.cli.run PROFILES["ci"]) times the number of
operations, the number of invalid draws the contract suite spends in CI. Draws are spread as a sweep (every
violation site once, then round-robin), the way the suite should spend them; random draws over 100+ sites of one
operation would leave most of them untouched.

Cells that no value can violate under BOTH pattern readings are reported, not failed: "vacuous" (the pattern
accepts every string, e.g. `[\\s\\S]*`) and "ambiguous only" (e.g. InvoiceUnitName: every string matches
somewhere, so only whole-value readings refuse; those draws document a target, see AmbiguousRequest).
Exit 0 when every other stated constraint is violated, 1 otherwise (each missing cell is listed).
"""

from __future__ import annotations

import json
import re
import sys
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass

from hypothesis import HealthCheck, Phase, given, settings

import strategies
from contracts import validate_request
from contracts.exit_codes import UsageError
from contracts.options import PROFILES
from strategies import operation_model, pattern_strings, service_model

CHECK_MODEL = True
STATUS_OK, STATUS_MISSED, STATUS_VACUOUS, STATUS_AMBIGUOUS = "violated", "MISSED", "vacuous", "ambiguous only"


@dataclass
class Cell:
    operation: str
    member: str
    constraint: str
    layer: str = ""
    draws: int = 0
    violated: int = 0
    status: str = STATUS_MISSED


def add_arguments(parser) -> None:
    parser.add_argument("--service", default="invoicing", help="botocore service name (default: invoicing)")
    parser.add_argument("--operations", nargs="*", help="only these operations (default: all)")
    parser.add_argument("--examples", type=int, default=None,
                        help="invalid draws per operation in the budget (default: the CI profile's examples)")
    parser.add_argument("--format", choices=("table", "json"), default="table")
    parser.add_argument("--all", action="store_true", help="print every cell, not only the summary and misses")


def ci_examples() -> int:
    return PROFILES["ci"].max_examples


# ---- what the model states (independent of strategies/_violations.py) -------------------------------------------


def stated_constraints(shape, template="", seen=()) -> list[tuple[str, str]]:
    """(member template, constraint) for every constraint the model states in an input shape."""
    out = []
    kind = shape.type_name
    if getattr(shape, "is_document_type", False):
        return out
    if template:
        out.append((template, "type"))
    meta = shape.metadata
    if kind == "structure":
        if shape.name in seen:
            return out
        out.append((f"{template}.*" if template else "*", "unknown"))
        for name in shape.required_members:
            out.append((f"{template}.{name}" if template else name, "required"))
        for name, member in shape.members.items():
            out += stated_constraints(member, f"{template}.{name}" if template else name, seen + (shape.name,))
        return out
    length_like = kind in ("string", "list", "map", "blob")
    if "min" in meta and (meta["min"] > 0 or not length_like):
        out.append((template, "min"))
    if "max" in meta:
        out.append((template, "max"))
    if meta.get("pattern") is not None:
        out.append((template, "pattern"))
    if meta.get("enum"):
        out.append((template, "enum"))
    if kind == "list" and shape.name not in seen:
        out += stated_constraints(shape.member, f"{template}[]", seen + (shape.name,))
    if kind == "map" and shape.name not in seen:
        out += stated_constraints(shape.value, f"{template}[]", seen + (shape.name,))
    return out


_INDEX = re.compile(r"\[(\d+|\"(?:[^\"\\]|\\.)*\")\]")


def template_of(path: str) -> str:
    return _INDEX.sub("[]", path)


# ---- drawing ----------------------------------------------------------------------------------------------------


def _draw(strategy, count: int) -> list:
    found = []

    @settings(max_examples=count, database=None, derandomize=True, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(value=strategy)
    def collect(value):
        found.append(value)

    collect()
    return found


def measure(operations, service: str, per_operation: int) -> tuple[list[Cell], dict]:
    cells: dict[tuple, Cell] = {}
    budget = per_operation * len(operations)
    by_op = {}
    for op in operations:
        shape = operation_model(op, service).input_shape
        if shape is None:
            continue
        for member, constraint in stated_constraints(shape):
            cells[(op, member, constraint)] = Cell(op, member, constraint)
        by_op[op] = strategies.violation_sites(op, service=service)
    sweep = [(op, site) for op, sites in by_op.items() for site in sites]
    spare = max(0, budget - len(sweep))
    plan = sweep + [sweep[i % len(sweep)] for i in range(spare)] if sweep else []
    counts = Counter(plan)
    for (op, site), count in counts.items():
        for bad in _draw(strategies.invalid_requests(op, site, service=service), count):
            cell = cells.get((op, site.member_template, site.constraint))
            if cell is not None:
                cell.layer = site.layer
                cell.draws += 1
            for problem in validate_request(op, bad.params, service):
                judged = cells.get((op, template_of(problem.path), problem.constraint))
                if problem.constraint == "unknown":
                    parent = template_of(problem.path).rpartition(".")[0]
                    judged = cells.get((op, f"{parent}.*" if parent else "*", "unknown"))
                if judged is not None:
                    judged.violated += 1
    _explain_pattern_cells(cells, service)
    for cell in cells.values():
        if cell.violated:
            cell.status = STATUS_OK
    summary = {
        "budget_draws": budget, "draws": len(plan), "operations": len(by_op), "cells": len(cells),
        "violated": sum(c.status == STATUS_OK for c in cells.values()),
        "ambiguous_only": sum(c.status == STATUS_AMBIGUOUS for c in cells.values()),
        "vacuous": sum(c.status == STATUS_VACUOUS for c in cells.values()),
        "missed": sum(c.status == STATUS_MISSED for c in cells.values()),
    }
    return list(cells.values()), summary


def _explain_pattern_cells(cells, service):
    """Pattern cells no value can break under both readings: vacuous or ambiguous-only (never failures)."""
    for (op, member, constraint), cell in cells.items():
        if constraint != "pattern":
            continue
        shape = _shape_at(operation_model(op, service).input_shape, member)
        strings = pattern_strings(shape)
        lo, hi = shape.metadata.get("min", 0), shape.metadata.get("max")
        if strings.violating(lo, hi) is None:
            cell.status = STATUS_AMBIGUOUS if strings.ambiguous(lo, hi) is not None else STATUS_VACUOUS
            cell.layer = "documented"


def _shape_at(shape, template):
    for part in re.findall(r"[^.\[\]]+|\[\]", template):
        shape = shape.member if part == "[]" and shape.type_name == "list" else (
            shape.value if part == "[]" else shape.members[part])
    return shape


# ---- output -----------------------------------------------------------------------------------------------------


def render_table(cells: list[Cell], summary: dict, show_all: bool) -> str:
    lines = []
    shown = [c for c in cells if show_all or c.status != STATUS_OK]
    if shown:
        width = max(len(c.member) for c in shown)
        lines.append(f"{'operation':40} {'member':{width}} {'constraint':10} {'layer':10} {'draws':>5} "
                     f"{'violated':>8}  status")
        for c in sorted(shown, key=lambda c: (c.operation, c.member, c.constraint)):
            lines.append(f"{c.operation:40} {c.member:{width}} {c.constraint:10} {c.layer:10} {c.draws:>5} "
                         f"{c.violated:>8}  {c.status}")
        lines.append("")
    per_constraint = defaultdict(Counter)
    for c in cells:
        per_constraint[c.constraint][c.status] += 1
    lines.append(f"{'constraint':10} {'stated':>6} {'violated':>8} {'ambiguous only':>14} {'vacuous':>7} {'MISSED':>6}")
    for constraint in ("required", "type", "min", "max", "pattern", "enum", "unknown"):
        n = per_constraint[constraint]
        lines.append(f"{constraint:10} {sum(n.values()):>6} {n[STATUS_OK]:>8} {n[STATUS_AMBIGUOUS]:>14} "
                     f"{n[STATUS_VACUOUS]:>7} {n[STATUS_MISSED]:>6}")
    lines.append("")
    lines.append(
        f"{summary['cells']} stated constraints in {summary['operations']} operations; {summary['violated']} violated "
        f"by {summary['draws']} invalid draws (CI budget {summary['budget_draws']}); {summary['ambiguous_only']} "
        f"ambiguous only, {summary['vacuous']} vacuous, {summary['missed']} missed"
    )
    return "\n".join(lines)


def main(args) -> int:
    names = service_model(args.service).operation_names
    operations = list(args.operations or names)
    for op in operations:
        operation_model(op, args.service)  # UnknownName lists what exists
    per_operation = args.examples if args.examples is not None else ci_examples()
    if per_operation < 1:
        raise UsageError("--examples must be at least 1")
    cells, summary = measure(operations, args.service, per_operation)
    if summary["draws"] > summary["budget_draws"]:
        summary["over_budget"] = True
    if args.format == "json":
        print(json.dumps({"summary": summary, "cells": [asdict(c) for c in cells]}, indent=2))
    else:
        print(render_table(cells, summary, args.all))
    failed = summary["missed"] > 0 or summary.get("over_budget", False)
    if summary.get("over_budget"):
        print(f"the {summary['draws']} violation sites do not fit the CI budget of {summary['budget_draws']} "
              f"invalid draws", file=sys.stderr)
    return 1 if failed else 0
