"""Every benchmark in one process, one run: prints a table and the JSON, writes reports/benchmarks.json and a
chart, reports/benchmarks.png.

  1. botocore floor vs emulator   calls per second of a client answered by a canned response at before-send,
                                  the same calls answered by the in-process emulator, and the ratio
                                  (benchmarks/bench_emulator.py's helpers)
  2. scaling                      GetInvoiceUnit and per-item ListInvoiceUnits cost with 10, 1,000, 10,000 units
  3. generation                   our strategies vs hypothesis-jsonschema: draws per second, validity rate
                                  (benchmarks/bench_generation.py)
  4. suite throughput             stateful steps per second, API time / total time (benchmarks/bench_suite.py)
  5. token store memory           after 100,000 tokens, with and without expiry (benchmarks/bench_tokens.py)
  6. time to kill                 median seconds to the first failure per planted fault, read from the summary
                                  `invoicing-contracts mutants` wrote (default reports/mutants/mutants.json;
                                  `--run-mutants` runs the catalogue first, in child processes: ~10-30 minutes)

Ratios, not absolute timings, are the point: each comparison runs on one machine in one run.

    python benchmarks/run_all.py [--quick] [--run-mutants] [--mutants-json PATH] [--out-dir reports]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))
os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1")

import bench_emulator as emu  # noqa: E402  (benchmarks/ is not a package: imported by path)
import bench_generation  # noqa: E402
import bench_suite  # noqa: E402
import bench_tokens  # noqa: E402


# ---------------------------------------------------------------------------------- 1-2. emulator (B's helpers)


def emulator_floor(calls: int) -> dict:
    """Per-call cost of three operations: canned before-send answer (the floor) vs the emulator."""
    from invoicing_mock import mock_invoicing
    from invoicing_mock.clock import ManualClock
    from invoicing_mock.models import InvoicingBackend

    backend = InvoicingBackend(clock=ManualClock())
    out = {}
    with mock_invoicing(backend=backend):
        arns = emu.fill(backend, 10)
        emulated = emu.client()
        cases = {
            "GetInvoiceUnit": (lambda c: c.get_invoice_unit(InvoiceUnitArn=arns[0]),
                               backend.get_invoice_unit(emu.PAYER, {"InvoiceUnitArn": arns[0]})),
            "ListInvoiceUnits(10)": (lambda c: c.list_invoice_units(MaxResults=10),
                                     backend.list_invoice_units(emu.PAYER, {"MaxResults": 10})),
            "ListProcurementPortals": (lambda c: c.list_procurement_portals(),
                                       backend.list_procurement_portals(emu.PAYER, {})),
        }
        for name, (call, canned) in cases.items():
            floor_client = emu.canned_client(json.dumps(canned).encode())
            floor = emu.best_per_call(lambda: call(floor_client), calls)
            cost = emu.best_per_call(lambda: call(emulated), calls)
            out[name] = {"floor_calls_per_s": round(1 / floor), "emulator_calls_per_s": round(1 / cost),
                         "floor_us": round(floor * 1e6, 1), "emulator_us": round(cost * 1e6, 1),
                         "ratio": round(cost / floor, 2)}
    return out


def emulator_scaling(calls: int, sizes=(10, 1_000, 10_000)) -> dict:
    from invoicing_mock import mock_invoicing
    from invoicing_mock.clock import ManualClock
    from invoicing_mock.models import InvoicingBackend, Limits
    from invoicing_mock.pagination import scope_of

    out = {}
    for stored in sizes:
        backend = InvoicingBackend(clock=ManualClock(), limits=Limits(invoice_units_per_payer=stored))
        with mock_invoicing(backend=backend):
            arns = emu.fill(backend, stored)
            client = emu.client()
            middle = stored // 2 if stored > emu.PAGE else 0
            token = backend.page_tokens.issue("ListInvoiceUnits", emu.PAYER, scope_of({}), middle) if middle else None
            extra = {"NextToken": token} if token else {}
            returned = len(client.list_invoice_units(MaxResults=emu.PAGE, **extra)["InvoiceUnits"])
            get = emu.best_per_call(lambda: client.get_invoice_unit(InvoiceUnitArn=arns[len(arns) // 2]), calls)
            page = emu.best_per_call(lambda: client.list_invoice_units(MaxResults=emu.PAGE, **extra),
                                     max(calls // 20, 20))
            out[str(stored)] = {"get_us": round(get * 1e6, 1), "list_page_us": round(page * 1e6, 1),
                                "list_items": returned, "list_us_per_item": round(page / returned * 1e6, 2)}
    big, mid = out[str(sizes[-1])], out[str(sizes[-2])]
    out["growth"] = {"stored": [sizes[-2], sizes[-1]], "get": round(big["get_us"] / mid["get_us"], 2),
                     "list_per_item": round(big["list_us_per_item"] / mid["list_us_per_item"], 2)}
    return out


# ------------------------------------------------------------------------------------------------ 6. time to kill


def time_to_kill(path: Path, run: bool, quick: bool) -> dict | None:
    if run:
        from contracts.cli import mutants

        argv = ["--seed", "1", "--report-dir", str(path.parent)]
        mutants.run_cli(argv + (["--variants", "TokenIgnored,ConflictAccepted,RacyTokenCheck"] if quick else []))
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    rows = [{"variant": v["variant"], "verdict": v["verdict"], "runs": v["runs"],
             "median_s_to_first_failure": v["median_seconds_to_first_failure"],
             "caught_by": v["caught_by"].get("property")} for v in data["variants"]]
    times = [r["median_s_to_first_failure"] for r in rows if r["median_s_to_first_failure"] is not None]
    return {"source": str(path), "profile": data["profile"], "seed": data["seed"], "repeat": data["repeat"],
            "score": f"{data['killed']}/{data['total']}", "catalogue_seconds": round(data["seconds"]),
            "median_of_medians_s": round(statistics.median(times), 1) if times else None, "variants": rows}


# ----------------------------------------------------------------------------------------------------- output


def table(figures: dict) -> str:
    lines = ["benchmark                                   figure"]
    lines.append("-" * 100)
    for name, f in figures["floor"].items():
        lines.append(f"1. {name:<40} floor {f['floor_calls_per_s']:>6}/s  emulator {f['emulator_calls_per_s']:>6}/s"
                     f"  ratio {f['ratio']:.2f}x")
    for stored, f in figures["scaling"].items():
        if stored.isdigit():
            lines.append(f"2. scaling, {int(stored):>6,} units stored          Get {f['get_us']:>7.1f} us   "
                         f"List {f['list_us_per_item']:>6.2f} us/item")
    growth = figures["scaling"]["growth"]
    label = f"2. scaling, {growth['stored'][1]:,} vs {growth['stored'][0]:,} stored"
    lines.append(f"{label:<44}Get {growth['get']:.2f}x   List per item {growth['list_per_item']:.2f}x  (flat = 1.00x)")
    g = figures["generation"]["summary"]
    lines.append(f"3. generation, all operations                ours {g['ours_total_draws_per_s']} draws/s "
                 f"({g['ours_accepted_share']:.0%} valid)  hypothesis-jsonschema {g['theirs_total_draws_per_s']} "
                 f"draws/s ({(g['theirs_accepted_share'] or 0):.0%} valid)  per-op ratio {g['speed_ratio_geomean']}x")
    s = figures["suite"]
    lines.append(f"4. suite, stateful machines ({s['profile']})         {s['steps_per_s']} steps/s  API time / total "
                 f"{s['api_share']:.0%} (emulator {s['emulator_share']:.0%})  suite overhead "
                 f"{s['suite_overhead_share']:.0%}")
    t = figures["tokens"]
    for label in ("without_expiry", "with_expiry"):
        f = t[label]
        lines.append(f"5. token store, {label.replace('_', ' '):<28} {f['tokens_kept']:>7,} kept of "
                     f"{f['tokens_sent']:,}  {f['memory_mb']:.1f} MB  {f['bytes_per_kept_token']} B/token")
    k = figures.get("time_to_kill")
    if k:
        lines.append(f"6. time to kill ({k['profile']}, {k['repeat']} seeds each)     mutation score {k['score']}; "
                     f"median of the medians {k['median_of_medians_s']} s (per variant: the JSON and the chart)")
    else:
        lines.append("6. time to kill                              no mutants summary: run `invoicing-contracts "
                     "mutants` first, or pass --run-mutants")
    return "\n".join(lines)


def chart(figures: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 3, figsize=(18, 10.5))
    fig.suptitle(f"invoicing-contracts benchmarks ({figures['meta']['when']}, {figures['meta']['machine']})",
                 fontsize=13)

    ax = axes[0][0]
    names = list(figures["floor"])
    floor = [figures["floor"][n]["floor_calls_per_s"] for n in names]
    emulated = [figures["floor"][n]["emulator_calls_per_s"] for n in names]
    xs = range(len(names))
    ax.bar([x - 0.2 for x in xs], floor, 0.4, label="botocore floor (canned answer)", color="#9db4c0")
    ax.bar([x + 0.2 for x in xs], emulated, 0.4, label="in-process emulator", color="#2a6f97")
    for x, n in zip(xs, names):
        ax.annotate(f"{figures['floor'][n]['ratio']:.2f}x", (x + 0.2, emulated[x]), ha="center", va="bottom")
    ax.set_xticks(list(xs), [n.replace("(", "\n(") for n in names], fontsize=8)
    ax.set_ylim(top=max(floor + emulated) * 1.3)
    ax.set_ylabel("calls per second")
    ax.set_title("1. emulator vs the botocore floor (ratio = cost / floor)")
    ax.legend(fontsize=8, loc="upper center", ncol=2)

    ax = axes[0][1]
    sizes = [k for k in figures["scaling"] if k.isdigit()]
    ax.plot([int(s) for s in sizes], [figures["scaling"][s]["get_us"] for s in sizes], "o-", label="GetInvoiceUnit (us)")
    ax.plot([int(s) for s in sizes], [figures["scaling"][s]["list_us_per_item"] * 10 for s in sizes], "s-",
            label="ListInvoiceUnits (us per 10 items)")
    ax.set_xscale("log")
    ax.set_ylim(bottom=0)
    first = sizes[0]
    ax.annotate(f"{figures['scaling'][first]['list_items']} items on the page:\nthe call's fixed cost dominates",
                (int(first), figures["scaling"][first]["list_us_per_item"] * 10), textcoords="offset points",
                xytext=(12, -8), fontsize=7, va="top")
    ax.set_xlabel("invoice units stored")
    ax.set_ylabel("microseconds")
    ax.set_title("2. per-call cost as the store grows (flat is good)")
    ax.legend(fontsize=8)

    ax = axes[0][2]
    g = figures["generation"]["summary"]
    bars = ax.bar(["ours", "hypothesis-\njsonschema"], [g["ours_total_draws_per_s"], g["theirs_total_draws_per_s"]],
                  color=["#2a6f97", "#9db4c0"])
    for bar, share in zip(bars, [g["ours_accepted_share"], g["theirs_accepted_share"]]):
        ax.annotate(f"{bar.get_height():g}/s, {(share or 0):.0%} valid",
                    (bar.get_x() + bar.get_width() / 2, bar.get_height()), ha="center", va="bottom")
    ax.set_yscale("log")
    ax.set_ylabel("draws per second, all operations (log scale)")
    ax.set_title(f"3. generation (per-operation speed ratio {g['speed_ratio_geomean']}x)")

    ax = axes[1][0]
    s = figures["suite"]
    parts = [s["emulator_share"], s["api_share"] - s["emulator_share"], s["suite_overhead_share"]]
    labels = ["emulator", "boto3 + botocore", "suite: Hypothesis,\nstrategies, checks"]
    ax.pie(parts, labels=[f"{label}\n{part:.0%}" for label, part in zip(labels, parts)],
           colors=["#2a6f97", "#61a5c2", "#d9d9d9"], startangle=90, textprops={"fontsize": 9})
    ax.set_title(f"4. suite time ({s['steps_per_s']} stateful steps/s, {s['api_calls_per_step']} calls/step)")

    ax = axes[1][1]
    t = figures["tokens"]
    labels = [f"without expiry\n(24 h window)\n{t['without_expiry']['tokens_kept']:,} kept",
              f"with expiry\n(1 h window)\n{t['with_expiry']['tokens_kept']:,} kept"]
    bars = ax.bar(labels, [t["without_expiry"]["memory_mb"], t["with_expiry"]["memory_mb"]],
                  color=["#9db4c0", "#2a6f97"])
    for bar in bars:
        ax.annotate(f"{bar.get_height():.1f} MB", (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                    ha="center", va="bottom")
    ax.set_ylabel("MB held by the token store")
    ax.set_title(f"5. token store after {t['without_expiry']['tokens_sent']:,} tokens")

    ax = axes[1][2]
    k = figures.get("time_to_kill")
    if k:
        rows = sorted(k["variants"], key=lambda r: (r["median_s_to_first_failure"] is None,
                                                    r["median_s_to_first_failure"] or 0))
        longest = max([r["median_s_to_first_failure"] or 0 for r in rows] + [1])
        values = [r["median_s_to_first_failure"] if r["median_s_to_first_failure"] is not None else longest
                  for r in rows]
        colors = ["#2a6f97" if r["verdict"] == "killed" else "#c0392b" for r in rows]
        ax.barh([r["variant"] for r in rows], values, color=colors)
        for i, r in enumerate(rows):
            if r["verdict"] != "killed":
                ax.annotate(" survived (a whole run, no kill)", (values[i], i), va="center", fontsize=7,
                            color="#c0392b")
        ax.invert_yaxis()
        ax.tick_params(axis="y", labelsize=6.5)
        ax.set_xlim(right=longest * 1.45)
        ax.set_xlabel("median seconds to the first failure")
        ax.set_title(f"6. time to kill: score {k['score']} ({k['profile']}, {k['repeat']} seeds)")
    else:
        ax.text(0.5, 0.5, "no mutants summary\n(run `invoicing-contracts mutants`)", ha="center", va="center")
        ax.set_axis_off()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="fewer calls, draws and tokens (a smoke run; figures are noisier)")
    parser.add_argument("--out-dir", type=Path, default=ROOT / "reports")
    parser.add_argument("--mutants-json", type=Path, default=None,
                        help="the mutants summary to read (default OUT_DIR/mutants/mutants.json)")
    parser.add_argument("--run-mutants", action="store_true", help="run `invoicing-contracts mutants` first")
    parser.add_argument("--suite-profile", default="ci")
    parser.add_argument("--from-json", type=Path, help="only redraw the table and chart from a benchmarks.json")
    args = parser.parse_args(argv)
    if args.from_json:
        figures = json.loads(args.from_json.read_text())
        print(table(figures))
        chart(figures, args.out_dir / "benchmarks.png")
        return 0
    quick = args.quick
    started = time.monotonic()
    figures: dict = {"meta": {"when": time.strftime("%Y-%m-%d %H:%M"), "python": platform.python_version(),
                              "machine": f"{platform.machine()}, {os.cpu_count()} cores", "quick": quick}}
    steps = [
        ("floor", lambda: emulator_floor(300 if quick else 2000)),
        ("scaling", lambda: emulator_scaling(300 if quick else 2000, (10, 100, 1_000) if quick else (10, 1_000, 10_000))),
        ("generation", lambda: bench_generation.run(_operations(), 10 if quick else 50, 3.0 if quick else 15.0)),
        ("suite", lambda: bench_suite.measure("dev" if quick else args.suite_profile, 1)),
        ("tokens", lambda: bench_tokens.measure(10_000 if quick else 100_000)),
    ]
    for name, step in steps:
        began = time.monotonic()
        print(f"running {name} ...", file=sys.stderr, flush=True)
        figures[name] = step()
        figures["meta"][f"{name}_seconds"] = round(time.monotonic() - began, 1)
    mutants_json = args.mutants_json or args.out_dir / "mutants" / "mutants.json"
    figures["time_to_kill"] = time_to_kill(mutants_json, args.run_mutants, quick)
    figures["meta"]["seconds"] = round(time.monotonic() - started, 1)
    print(table(figures))
    print(json.dumps(figures, indent=2))
    args.out_dir.mkdir(parents=True, exist_ok=True)
    (args.out_dir / "benchmarks.json").write_text(json.dumps(figures, indent=2) + "\n")
    chart(figures, args.out_dir / "benchmarks.png")
    print(f"wrote {args.out_dir / 'benchmarks.json'} and {args.out_dir / 'benchmarks.png'}", file=sys.stderr)
    return 0


def _operations():
    from strategies import service_model

    return service_model().operation_names


if __name__ == "__main__":
    sys.exit(main())
