"""Token store memory: what the emulator's record of used idempotency tokens holds after 100,000 tokens.

Each token goes through the store as a request does in InvoicingBackend._serve: look it up (a miss), then record
the first success with the request's fingerprint and a copy of the result. The requests are CreateInvoiceUnit
payloads of realistic size, one per token, on a manual clock that advances `--spacing` seconds per request.
  without expiry  the documented 24-hour window: 100,000 requests 0.5 s apart all stay inside it
  with expiry     a 1-hour window: only the tokens of the last hour are kept (entries older than the window are
                  dropped at the next look-up)
Memory is measured with tracemalloc (bytes allocated by the store and still held), in one process, one run.

    python benchmarks/bench_tokens.py [--tokens 100000] [--json out.json]
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from invoicing_mock.clock import ManualClock  # noqa: E402
from invoicing_mock.idempotency import DEFAULT_WINDOW_SECONDS, TokenRecord, fingerprint  # noqa: E402

PAYER = "123456789012"
OPERATION = "CreateInvoiceUnit"


def _request(i: int) -> tuple[dict, dict]:
    params = {
        "Name": f"bench unit {i:06d}",
        "InvoiceReceiver": PAYER,
        "Description": "an invoice unit of the token-store benchmark",
        "Rule": {"LinkedAccounts": ["111111111111", "222222222222"]},
        "ClientToken": f"{i:08d}-7c1e-4b8e-9a57-2f0c5d3e1a{i % 100:02d}",
    }
    result = {"InvoiceUnitArn": f"arn:aws:invoicing::{PAYER}:invoice-unit/{i:08x}"}
    return params, result


def fill(tokens: int, window: float, spacing: float) -> dict:
    """Push `tokens` requests through a fresh store; returns memory held and timing."""
    gc.collect()
    clock = ManualClock()
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    store = TokenRecord(clock, window)
    start = time.perf_counter()
    for i in range(tokens):
        params, result = _request(i)
        token = params["ClientToken"]
        if store.lookup(PAYER, OPERATION, token) is None:
            store.record(PAYER, OPERATION, token, fingerprint(params, "ClientToken"), dict(result))
        clock.advance(spacing)
    seconds = time.perf_counter() - start
    kept = len(store)  # also drops what expired since the last look-up
    gc.collect()
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    held = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
    return {
        "tokens_sent": tokens, "window_s": window, "spacing_s": spacing, "tokens_kept": kept,
        "memory_mb": round(held / 1e6, 2), "bytes_per_kept_token": round(held / kept) if kept else None,
        "us_per_request": round(seconds / tokens * 1e6, 2),
    }


def measure(tokens: int = 100_000, spacing: float = 0.5, expiring_window: float = 3600.0) -> dict:
    without = fill(tokens, DEFAULT_WINDOW_SECONDS, spacing)
    with_expiry = fill(tokens, expiring_window, spacing)
    return {
        "without_expiry": without,
        "with_expiry": with_expiry,
        "memory_ratio": round(with_expiry["memory_mb"] / without["memory_mb"], 3) if without["memory_mb"] else None,
    }


def render(figures: dict) -> str:
    lines = [f"{'token store':16} {'window':>8} {'sent':>8} {'kept':>8} {'memory MB':>10} {'B/token':>8} "
             f"{'us/request':>10}"]
    for label, key in (("without expiry", "without_expiry"), ("with expiry", "with_expiry")):
        f = figures[key]
        lines.append(f"{label:16} {f['window_s'] / 3600:>7.0f}h {f['tokens_sent']:>8,} {f['tokens_kept']:>8,} "
                     f"{f['memory_mb']:>10.2f} {f['bytes_per_kept_token'] or 0:>8} {f['us_per_request']:>10.2f}")
    lines.append(f"memory with expiry / without: {figures['memory_ratio']}")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=100_000)
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)
    figures = measure(args.tokens)
    print(render(figures))
    print(json.dumps(figures, indent=2))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
