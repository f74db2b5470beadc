"""Valid-request generation: our model-compiled strategies vs hypothesis-jsonschema on our exported schemas,
and (micro-benchmark) our pattern strings vs Hypothesis's own `st.from_regex` for the model's string shapes.

Section "requests": for every operation, in one run and one process: draws per second of
`strategies.requests(op)` and of `hypothesis_jsonschema.from_schema(contracts.json_schema(op, "input"))`, and the
share of each one's draws that the local validator accepts (ours in the Python form boto3 takes, theirs in the
wire form the schema describes).

Section "patterns": for every distinct (pattern, min, max) of a string member in the operations' inputs: draws
per second of `pattern_strings(shape).valid(min, max)` (what request generation draws for that member) and of
`st.from_regex(<the same translated pattern>, fullmatch=True)` with the length bounds as a filter (how one would
get such strings from Hypothesis directly), and the share of each one's draws that fully match within the bounds.

Both sections use the same Hypothesis harness (generate phase only, no database, health checks off); the first
draw, which builds the strategy, is timed separately as setup. Prints tables, then the figures as JSON.

    python benchmarks/bench_generation.py [--section all|requests|patterns] [--examples 50] [--time-limit 15]
                                          [--operations A B ...] [--json out.json]

A generator slower than `--time-limit` seconds per operation makes fewer draws (listed as time_capped); its rate
is still measured on the draws it made.

Ratios, not absolute timings, are the point: both sides run on the same machine in the same run.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import strategies  # noqa: E402
from contracts import json_schema, validate_request  # noqa: E402
from strategies import operation_model, pattern_strings, service_model, shape_kind, string_bounds  # noqa: E402


def _adapt_hypothesis_jsonschema() -> None:
    """hypothesis-jsonschema 0.23.1 (the latest release) drives Hypothesis's private `many` helper through a
    `.more()` method that current Hypothesis removed (it is now a context manager to iterate). Without this
    adapter every object schema fails with AttributeError, so the comparison would be empty. The adapter maps
    `more()` onto the new iteration protocol; it changes nothing in how either side generates values."""
    import types

    import hypothesis_jsonschema._from_schema as hjs
    from hypothesis.internal.conjecture import utils as cu

    if hasattr(cu.many, "more"):
        return

    class ManyWithMore:
        def __init__(self, data, **kwargs):
            self._many, self._iterator = cu.many(data, **kwargs), None

        def more(self) -> bool:
            if self._iterator is None:
                self._many.__enter__()
                self._iterator = iter(self._many)
            try:
                next(self._iterator)
                return True
            except StopIteration:
                self._many.__exit__(None, None, None)
                return False

        def reject(self, why=None) -> None:
            self._many.reject(why)

    hjs.cu = types.SimpleNamespace(**{**vars(cu), "many": ManyWithMore})


def timed_draws(strategy, count: int) -> tuple[list, float]:
    drawn = []

    @settings(max_examples=count, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(value=strategy)
    def collect(value):
        drawn.append(value)

    start = time.perf_counter()
    collect()
    return drawn, time.perf_counter() - start


def measure(name: str, strategy, count: int, accepts, time_limit: float) -> dict:
    """Setup (first draw), a 3-draw probe for the rate, then as many of `count` draws as fit `time_limit`."""
    try:
        _, setup = timed_draws(strategy, 1)
        drawn, seconds = timed_draws(strategy, 3)
        remaining = count - len(drawn)
        affordable = int((time_limit - seconds) * len(drawn) / seconds) if seconds else remaining
        if remaining > 0 and affordable > 0:
            more, more_seconds = timed_draws(strategy, min(remaining, affordable))
            drawn, seconds = drawn + more, seconds + more_seconds
    except Exception as error:  # a generator that cannot draw at all is a result, not a crash
        return {"generator": name, "error": f"{type(error).__name__}: {str(error)[:200]}"}
    accepted = sum(1 for value in drawn if accepts(value))
    return {
        "generator": name, "setup_s": round(setup, 3), "draws": len(drawn), "seconds": round(seconds, 3),
        "draws_per_s": round(len(drawn) / seconds, 2) if seconds else None,
        "accepted_share": round(accepted / len(drawn), 3) if drawn else None,
        "time_capped": len(drawn) < count,
    }


def run(operations, count: int, time_limit: float = 15.0) -> dict:
    from hypothesis_jsonschema import from_schema

    _adapt_hypothesis_jsonschema()
    rows = []
    for op in operations:
        ours = measure("strategies", strategies.requests(op), count,
                       lambda p, op=op: not validate_request(op, p), time_limit)
        theirs = measure("hypothesis-jsonschema", from_schema(json_schema(op, "input")), count,
                         lambda d, op=op: not validate_request(op, d, wire=True), time_limit)
        rows.append({"operation": op, "ours": ours, "hypothesis_jsonschema": theirs})
        print(f"  measured {op}", file=sys.stderr)
    summary = {"examples_per_operation": count, "operations": len(rows),
               **_compared(rows, "hypothesis_jsonschema", "theirs", "operation")}
    return {"summary": summary, "rows": rows}


def _share(rows, side):
    drawn = sum(r[side].get("draws", 0) for r in rows)
    accepted = sum(r[side].get("draws", 0) * (r[side].get("accepted_share") or 0) for r in rows)
    return round(accepted / drawn, 3) if drawn else None


def render(result: dict) -> str:
    def cell(side):
        if "error" in side:
            return f"{'error':>9} {'':>6} {'':>7}"
        return f"{side['draws_per_s']:>9} {side['accepted_share']:>6.0%} {side['setup_s']:>7}"

    def share(value):
        return "n/a" if value is None else f"{value:.1%}"

    lines = [f"{'operation':40} {'ours/s':>9} {'valid':>6} {'setup':>7} | {'hjs/s':>9} {'valid':>6} {'setup':>7} "
             f"{'ratio':>6}"]
    for r in result["rows"]:
        ours, theirs = r["ours"], r["hypothesis_jsonschema"]
        ratio = (f"{ours['draws_per_s'] / theirs['draws_per_s']:>6.1f}"
                 if ours.get("draws_per_s") and theirs.get("draws_per_s") else f"{'-':>6}")
        lines.append(f"{r['operation']:40} {cell(ours)} | {cell(theirs)} {ratio}")
    s = result["summary"]
    lines.append("")
    lines.append(f"all operations: ours {s['ours_total_draws_per_s']} draws/s, hypothesis-jsonschema "
                 f"{s['theirs_total_draws_per_s']} draws/s; per-operation speed ratio (geometric mean) "
                 f"{s['speed_ratio_geomean']}x")
    lines.append(f"accepted by the local validator: ours {share(s['ours_accepted_share'])}, hypothesis-jsonschema "
                 f"{share(s['theirs_accepted_share'])}; setup ours {s['ours_setup_s']} s, theirs {s['theirs_setup_s']} s")
    return "\n".join(lines)


# ---- section "patterns": one string member at a time ------------------------------------------------------------


def pattern_shapes(operations) -> list:
    """One string shape per distinct (pattern, min, max) among the inputs of `operations`, in model order."""
    found: dict[tuple, object] = {}

    def walk(shape, seen):
        kind = shape_kind(shape)
        if kind in ("structure", "union"):
            if shape.name in seen:
                return
            for member in shape.members.values():
                walk(member, seen | {shape.name})
        elif kind == "list":
            walk(shape.member, seen)
        elif kind == "map":
            walk(shape.key, seen)
            walk(shape.value, seen)
        elif kind == "string" and shape.metadata.get("pattern") is not None and not shape.metadata.get("enum"):
            found.setdefault((shape.metadata["pattern"], *string_bounds(shape)), shape)

    for op in operations:
        shape = operation_model(op).input_shape
        if shape is not None:
            walk(shape, frozenset())
    return list(found.values())


def run_patterns(operations, count: int, time_limit: float = 15.0) -> dict:
    """Ours vs `st.from_regex` on the translated pattern, per distinct string shape of the inputs."""
    rows = []
    for shape in pattern_shapes(operations):
        strings = pattern_strings(shape)
        lo, hi = string_bounds(shape)

        def fits(value, lo=lo, hi=hi, strings=strings):
            return lo <= len(value) and (hi is None or len(value) <= hi) and strings.full(value)

        ours = measure("strategies", strings.valid(lo, hi), count, fits, time_limit)
        # The baseline needs the length bounds as a filter: from_regex cannot take them.
        baseline = st.from_regex(strings.py, fullmatch=True).filter(
            lambda v, lo=lo, hi=hi: lo <= len(v) and (hi is None or len(v) <= hi))
        theirs = measure("st.from_regex", baseline, count, fits, time_limit)
        rows.append({"shape": shape.name, "pattern": shape.metadata["pattern"], "min": lo, "max": hi,
                     "ours": ours, "from_regex": theirs})
        print(f"  measured {shape.name}", file=sys.stderr)
    summary = {"examples_per_shape": count, "shapes": len(rows), **_compared(rows, "from_regex", "from_regex", "shape")}
    return {"summary": summary, "rows": rows}



def _compared(rows: list, other: str, prefix: str, label: str) -> dict:
    """Totals of our side against `other` over measured rows; keys of the other side start with `prefix`."""
    ratios = [r["ours"]["draws_per_s"] / r[other]["draws_per_s"] for r in rows
              if r["ours"].get("draws_per_s") and r[other].get("draws_per_s")]

    def total(side, key):
        return sum(r[side].get(key, 0) or 0 for r in rows)

    return {
        "ours_total_draws_per_s": round(total("ours", "draws") / max(total("ours", "seconds"), 1e-9), 1),
        f"{prefix}_total_draws_per_s": round(total(other, "draws") / max(total(other, "seconds"), 1e-9), 1),
        "speed_ratio_geomean": round(math.exp(sum(map(math.log, ratios)) / len(ratios)), 2) if ratios else None,
        "ours_setup_s": round(total("ours", "setup_s"), 2),
        f"{prefix}_setup_s": round(total(other, "setup_s"), 2),
        "ours_accepted_share": _share(rows, "ours"),
        f"{prefix}_accepted_share": _share(rows, other),
        f"{prefix}_errors": [r[label] for r in rows if "error" in r[other]],
        "time_capped": [f"{r[label]} ({side})" for r in rows for side in ("ours", other) if r[side].get("time_capped")],
    }

def render_patterns(result: dict) -> str:
    def cell(side):
        if "error" in side:
            return f"{'error':>9} {'':>6} {'':>7}"
        return f"{side['draws_per_s']:>9} {side['accepted_share']:>6.0%} {side['setup_s']:>7}"

    lines = [f"{'string shape (min..max)':44} {'ours/s':>9} {'fits':>6} {'setup':>7} | {'regex/s':>9} {'fits':>6} "
             f"{'setup':>7} {'ratio':>6}"]
    for r in result["rows"]:
        ours, theirs = r["ours"], r["from_regex"]
        ratio = (f"{ours['draws_per_s'] / theirs['draws_per_s']:>6.1f}"
                 if ours.get("draws_per_s") and theirs.get("draws_per_s") else f"{'-':>6}")
        name = f"{r['shape']} ({r['min']}..{'*' if r['max'] is None else r['max']})"
        lines.append(f"{name[:44]:44} {cell(ours)} | {cell(theirs)} {ratio}")
    s = result["summary"]
    lines.append("")
    lines.append(f"all string shapes: ours {s['ours_total_draws_per_s']} draws/s, st.from_regex "
                 f"{s['from_regex_total_draws_per_s']} draws/s; per-shape speed ratio (geometric mean) "
                 f"{s['speed_ratio_geomean']}x; setup ours {s['ours_setup_s']} s, "
                 f"from_regex {s['from_regex_setup_s']} s")
    lines.append(f"full match within the bounds: ours {_percent(s['ours_accepted_share'])}, st.from_regex "
                 f"{_percent(s['from_regex_accepted_share'])} (a draw its filter rejected is retried, not counted)")
    return "\n".join(lines)


def _percent(value):
    return "n/a" if value is None else f"{value:.1%}"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--section", choices=("all", "requests", "patterns"), default="all",
                        help="requests: whole requests vs hypothesis-jsonschema; patterns: string shapes vs "
                             "st.from_regex (default: both)")
    parser.add_argument("--examples", type=int, default=50, help="draws per operation (or shape) and generator")
    parser.add_argument("--operations", nargs="*", help="default: every operation of the installed model")
    parser.add_argument("--time-limit", type=float, default=15.0,
                        help="seconds per operation (or shape) and generator; slower generators make fewer draws "
                             "(default 15)")
    parser.add_argument("--json", type=Path, help="also write the JSON figures to this file")
    args = parser.parse_args(argv)
    operations = args.operations or service_model().operation_names
    figures = {}
    if args.section in ("all", "requests"):
        figures["requests"] = run(operations, args.examples, args.time_limit)
        print(render(figures["requests"]))
        print(json.dumps(figures["requests"]["summary"], indent=2))
    if args.section in ("all", "patterns"):
        figures["patterns"] = run_patterns(operations, args.examples, args.time_limit)
        print(render_patterns(figures["patterns"]))
        print(json.dumps(figures["patterns"]["summary"], indent=2))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
