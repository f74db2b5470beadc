"""Valid-request generation: our model-compiled strategies vs hypothesis-jsonschema on our exported schemas.

For every operation, in one run and one process: draws per second of `strategies.requests(op)` and of
`hypothesis_jsonschema.from_schema(contracts.json_schema(op, "input"))`, and the share of each one's draws that
the local validator accepts (ours in the Python form boto3 takes, theirs in the wire form the schema describes).
Both are driven by the same Hypothesis harness (generate phase only, no database, health checks off); the first
draw, which builds the strategy, is timed separately as setup. Prints a table, then the figures as JSON.

    python benchmarks/bench_generation.py [--examples 50] [--time-limit 15] [--operations A B ...] [--json out.json]

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

import strategies  # noqa: E402
from contracts import json_schema, validate_request  # noqa: E402
from strategies._model import service_model  # noqa: E402


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
    ratios = [r["ours"]["draws_per_s"] / r["hypothesis_jsonschema"]["draws_per_s"] for r in rows
              if r["ours"].get("draws_per_s") and r["hypothesis_jsonschema"].get("draws_per_s")]

    def total(side, key):
        return sum(r[side].get(key, 0) or 0 for r in rows)

    summary = {
        "examples_per_operation": count,
        "operations": len(rows),
        "ours_total_draws_per_s": round(total("ours", "draws") / total("ours", "seconds"), 1),
        "theirs_total_draws_per_s": round(
            total("hypothesis_jsonschema", "draws") / max(total("hypothesis_jsonschema", "seconds"), 1e-9), 1),
        "speed_ratio_geomean": round(math.exp(sum(map(math.log, ratios)) / len(ratios)), 2) if ratios else None,
        "ours_setup_s": round(total("ours", "setup_s"), 2),
        "theirs_setup_s": round(total("hypothesis_jsonschema", "setup_s"), 2),
        "ours_accepted_share": _share(rows, "ours"),
        "theirs_accepted_share": _share(rows, "hypothesis_jsonschema"),
        "theirs_errors": [r["operation"] for r in rows if "error" in r["hypothesis_jsonschema"]],
        "time_capped": [f"{r['operation']} ({side})" for r in rows for side in ("ours", "hypothesis_jsonschema")
                        if r[side].get("time_capped")],
    }
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


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=50, help="draws per operation and generator")
    parser.add_argument("--operations", nargs="*", help="default: every operation of the installed model")
    parser.add_argument("--time-limit", type=float, default=15.0,
                        help="seconds per operation and generator; slower generators make fewer draws (default 15)")
    parser.add_argument("--json", type=Path, help="also write the JSON figures to this file")
    args = parser.parse_args(argv)
    operations = args.operations or service_model().operation_names
    result = run(operations, args.examples, args.time_limit)
    print(render(result))
    print(json.dumps(result["summary"], indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
