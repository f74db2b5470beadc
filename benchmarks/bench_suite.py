"""Suite throughput: stateful steps per second, and how the time splits between the API and the suite itself.

Runs the stateful idempotency machines (contracts/suite/test_idempotency.py) against the in-process emulator
under a profile (default ci), in this process, and measures with light wrappers:
  steps      rule executions of the state machines (RuleBasedStateMachine.check_invariants runs once per step
             and once when a machine starts; starts are counted and taken off)
  api        wall time inside contracts.calls.Api.call: the boto3 client, botocore's serialising and parsing,
             the in-process transport and the emulator
  emulator   the part of api spent in InvoicingBackend.handle (the emulator's own work)
  total      wall time of the pytest session (the suite: Hypothesis, strategies, checks, reads, reporting)
The ratio api/total says how much of a run is spent talking to the target; 1 - api/total is the suite's own
overhead (generation, shrinking bookkeeping, checks, the report).

    python benchmarks/bench_suite.py [--profile ci] [--seed 1] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1")


class _Meter:
    """Accumulates wall time of wrapped calls (outermost only per thread) and counts them."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.calls = 0
        self._depth = threading.local()
        self._lock = threading.Lock()

    def wrap(self, function):
        meter = self

        def timed(*args, **kwargs):
            depth = getattr(meter._depth, "n", 0)
            meter._depth.n = depth + 1
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                meter._depth.n = depth
                if depth == 0:
                    with meter._lock:
                        meter.seconds += time.perf_counter() - start
                        meter.calls += 1

        timed.__wrapped__ = function
        return timed


def measure(profile: str = "ci", seed: int | None = 1, test_file: str = "test_idempotency.py") -> dict:
    """Run one test file of the suite in this process with the meters in place; returns the figures."""
    import pytest
    from hypothesis.stateful import RuleBasedStateMachine

    from contracts.calls import Api
    from invoicing_mock.models import InvoicingBackend

    api, emulator, invariants, machines = _Meter(), _Meter(), _Meter(), _Meter()
    patches = [(Api, "call", api), (InvoicingBackend, "handle", emulator),
               (RuleBasedStateMachine, "check_invariants", invariants), (RuleBasedStateMachine, "__init__", machines)]
    originals = [(owner, name, getattr(owner, name)) for owner, name, _ in patches]
    for owner, name, meter in patches:
        setattr(owner, name, meter.wrap(getattr(owner, name)))
    module = f"contracts.suite.{Path(test_file).stem}"
    args = ["--pyargs", module, "-qq", "-p", "no:cacheprovider", "-p", "no:randomly", "-p", "no:warnings",
            "--profile", profile, "--example-db", "none"] + (["--seed", str(seed)] if seed is not None else [])
    start = time.perf_counter()
    try:
        code = pytest.main(args, plugins=[])
    finally:
        for owner, name, original in originals:
            setattr(owner, name, original)
    total = time.perf_counter() - start
    steps = invariants.calls - machines.calls
    return {
        "profile": profile, "seed": seed, "test_file": test_file, "pytest_exit_code": int(code),
        "machine_runs": machines.calls, "steps": steps, "api_calls": api.calls,
        "total_s": round(total, 3), "api_s": round(api.seconds, 3), "emulator_s": round(emulator.seconds, 3),
        "steps_per_s": round(steps / total, 1) if total else None,
        "api_calls_per_step": round(api.calls / steps, 2) if steps else None,
        "api_share": round(api.seconds / total, 3) if total else None,
        "emulator_share": round(emulator.seconds / total, 3) if total else None,
        "suite_overhead_share": round(1 - api.seconds / total, 3) if total else None,
    }


def render(figures: dict) -> str:
    f = figures
    return "\n".join([
        f"suite throughput ({f['test_file']}, profile {f['profile']}, seed {f['seed']}, in-process emulator)",
        f"  {f['machine_runs']} machine runs, {f['steps']} steps, {f['api_calls']} API calls "
        f"({f['api_calls_per_step']} per step) in {f['total_s']:.1f} s",
        f"  stateful steps per second        {f['steps_per_s']}",
        f"  API time / total                 {f['api_share']:.1%}  ({f['api_s']:.1f} s: boto3 + botocore + emulator)",
        f"  emulator time / total            {f['emulator_share']:.1%}  ({f['emulator_s']:.1f} s)",
        f"  suite overhead (1 - API / total) {f['suite_overhead_share']:.1%}  (Hypothesis, strategies, checks, reports)",
    ])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="ci")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)
    figures = measure(args.profile, args.seed)
    print(render(figures))
    print(json.dumps(figures, indent=2))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    return 0 if figures["pytest_exit_code"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
