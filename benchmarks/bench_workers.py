"""Parallel runs: `run --workers 1` against `--workers N` (wall clock, speed-up), and `--shard 1/2` + `--shard 2/2`
merged against one run (the same checks, the same verdicts).

Every run is `invoicing-contracts run` in a process of its own, seeded, against the embedded emulator, with no
example database. Prints the figures and ratios; asserts nothing about time.

    python benchmarks/bench_workers.py                          # thorough profile, every operation (long)
    python benchmarks/bench_workers.py --profile ci             # about two minutes on 2 cores
    python benchmarks/bench_workers.py --profile thorough --operations CreateInvoiceUnit,GetInvoiceUnit
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def command() -> list[str]:
    script = Path(sys.executable).with_name("invoicing-contracts")
    return [str(script)] if script.exists() else [sys.executable, "-m", "contracts.cli"]


def run(*args: str) -> tuple[float, int]:
    environment = {**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                   "AWS_DEFAULT_REGION": "us-east-1"}
    started = time.monotonic()
    done = subprocess.run([*command(), *args], capture_output=True, text=True, env=environment)
    seconds = time.monotonic() - started
    if done.returncode not in (0, 1):
        sys.exit(f"invoicing-contracts {' '.join(args)} exited {done.returncode}:\n{done.stderr[-2000:]}")
    return seconds, done.returncode


BURN = "x = 0\nfor i in range(20_000_000): x += i * i % 7"


def ceiling() -> float:
    """What two processes at once get from this machine: a CPU-bound loop alone, then two copies at once (the
    throughput ratio). A virtual machine's two cores may give less than 2x to any two processes, ours too."""
    started = time.monotonic()
    subprocess.run([sys.executable, "-c", BURN], check=True)
    alone = time.monotonic() - started
    started = time.monotonic()
    pair = [subprocess.Popen([sys.executable, "-c", BURN]) for _ in range(2)]
    for process in pair:
        process.wait()
    return 2 * alone / (time.monotonic() - started)


def cells(report_dir: Path) -> dict:
    results = json.loads((report_dir / "results.json").read_text())
    return {(op, prop): (c["verdict"], c["checks_run"], c["examples_run"])
            for op, o in results["operations"].items() for prop, c in o["properties"].items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="thorough")
    parser.add_argument("--seed", default="1")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--operations", default=None, help="comma-separated (default: every operation)")
    args = parser.parse_args()
    base = ["run", "--profile", args.profile, "--seed", args.seed, "--example-db", "none", "--quiet"]
    if args.operations:
        base += ["--operations", args.operations]
    out = Path(tempfile.mkdtemp(prefix="bench-workers-"))
    print(f"cores: {os.cpu_count()}; profile {args.profile}, seed {args.seed}"
          + (f", operations {args.operations}" if args.operations else ", every operation") + f"; reports in {out}")

    one, code_one = run(*base, "--report-dir", str(out / "w1"))
    print(f"--workers 1: {one:7.1f} s (exit {code_one})")
    many, code_many = run(*base, "--workers", str(args.workers), "--report-dir", str(out / f"w{args.workers}"))
    print(f"--workers {args.workers}: {many:7.1f} s (exit {code_many})   speed-up {one / many:.2f}x "
          f"(this machine's ceiling for two processes, measured now: {ceiling():.2f}x)")
    shards = [run(*base, "--shard", f"{i}/2", "--report-dir", str(out / f"s{i}"))[0] for i in (1, 2)]
    merged, code_merged = run("merge", str(out / "s1"), str(out / "s2"), "--report-dir", str(out / "merged"))
    print(f"--shard 1/2: {shards[0]:.1f} s, --shard 2/2: {shards[1]:.1f} s (on two machines: {max(shards):.1f} s, "
          f"{one / max(shards):.2f}x), merge {merged:.1f} s (exit {code_merged})")

    whole = cells(out / "w1")
    for name in (f"w{args.workers}", "merged"):
        other = cells(out / name)
        differ = sorted(k for k in set(whole) | set(other) if whole.get(k) != other.get(k))
        checks = (sum(c[1] for c in whole.values()), sum(c[1] for c in other.values()))
        verdicts = sum(whole.get(k, ("",))[0] != other.get(k, ("",))[0] for k in set(whole) | set(other))
        print(f"{name} against one run: {len(whole)} cells, check runs {checks[1]} vs {checks[0]}, "
              f"{verdicts} verdicts differ, {len(differ)} cells differ" + (f": {differ[:5]}" if differ else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
