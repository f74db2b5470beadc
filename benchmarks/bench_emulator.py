"""How much the in-process emulator costs per call, measured in one run, printed as ratios.

1. The floor: the same boto3 client answered at before-send by a canned response (serialisation, signing,
   parsing: everything botocore does anyway). The emulator's per-call cost is reported as a multiple of it
   (target: at most 1.5x).
2. Scaling: GetInvoiceUnit and a page of ListInvoiceUnits with 10, 1,000 and 10,000 stored units; the cost per
   returned item must stay flat as the store grows.

    python benchmarks/bench_emulator.py [--calls 2000]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1")

import boto3  # noqa: E402
from botocore.awsrequest import AWSResponse  # noqa: E402

from invoicing_mock import mock_invoicing  # noqa: E402
from invoicing_mock.clock import ManualClock  # noqa: E402
from invoicing_mock.core import EVENT, _before_send, _Body  # noqa: E402
from invoicing_mock.models import InvoicingBackend, Limits  # noqa: E402
from invoicing_mock.pagination import scope_of  # noqa: E402

PAYER = "123456789012"
PAGE = 100


def best_per_call(function, calls: int, rounds: int = 3) -> float:
    """Seconds per call, best of `rounds` runs of `calls` calls (the least disturbed run)."""
    function()  # warm caches
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(calls):
            function()
        best = min(best, (time.perf_counter() - start) / calls)
    return best


def client():
    return boto3.client("invoicing", region_name="us-east-1")


def canned_client(body: bytes):
    """A client whose every request is answered at before-send with `body`: the botocore floor."""
    plain = client()

    def answer(request, **kwargs):
        headers = {"x-amzn-RequestId": "r", "Content-Type": "application/x-amz-json-1.0"}
        return AWSResponse(request.url, 200, headers, _Body(body))

    # botocore calls every before-send handler (then takes the first answer): without removing the emulator's
    # handler, the floor would pay for the emulator too.
    plain.meta.events.unregister(EVENT, _before_send)
    plain.meta.events.register_first("before-send.invoicing", answer)
    return plain


def fill(backend: InvoicingBackend, count: int) -> list[str]:
    """Store `count` units straight through the backend (setup, not what is measured)."""
    return [
        backend.create_invoice_unit(PAYER, {"Name": f"U{i:05d}", "InvoiceReceiver": PAYER, "Rule": {}})["InvoiceUnitArn"]
        for i in range(count)
    ]


def floor_comparison(calls: int) -> None:
    print(f"1. per-call cost against the botocore floor ({calls} calls, best of 3)")
    backend = InvoicingBackend(clock=ManualClock())
    with mock_invoicing(backend=backend):
        arns = fill(backend, 10)
        emulated = client()
        cases = {
            "GetInvoiceUnit": (lambda: emulated.get_invoice_unit(InvoiceUnitArn=arns[0]), backend.get_invoice_unit(PAYER, {"InvoiceUnitArn": arns[0]})),
            "ListInvoiceUnits(10)": (lambda: emulated.list_invoice_units(MaxResults=10), backend.list_invoice_units(PAYER, {"MaxResults": 10})),
            "ListProcurementPortals": (lambda: emulated.list_procurement_portals(), backend.list_procurement_portals(PAYER, {})),
        }
        for name, (call, canned) in cases.items():
            floor_client = canned_client(json.dumps(canned).encode())
            operation = {
                "GetInvoiceUnit": lambda: floor_client.get_invoice_unit(InvoiceUnitArn=arns[0]),
                "ListInvoiceUnits(10)": lambda: floor_client.list_invoice_units(MaxResults=10),
                "ListProcurementPortals": lambda: floor_client.list_procurement_portals(),
            }[name]
            floor = best_per_call(operation, calls)
            cost = best_per_call(call, calls)
            print(f"   {name:24s} floor {floor * 1e6:7.1f} us  emulator {cost * 1e6:7.1f} us  ratio {cost / floor:4.2f}x")


def scaling(calls: int) -> None:
    print(f"2. cost with the store growing (page of {PAGE}, read from the middle of the list)")
    print(f"   {'stored':>7s} {'Get us':>8s} {'List us':>9s} {'List us/item':>13s}")
    measured = {}
    for stored in (10, 1_000, 10_000):
        backend = InvoicingBackend(clock=ManualClock(), limits=Limits(invoice_units_per_payer=stored))
        with mock_invoicing(backend=backend):
            arns = fill(backend, stored)
            emulated = client()
            middle = stored // 2 if stored > PAGE else 0
            token = backend.page_tokens.issue("ListInvoiceUnits", PAYER, scope_of({}), middle) if middle else None
            extra = {"NextToken": token} if token else {}
            returned = len(emulated.list_invoice_units(MaxResults=PAGE, **extra)["InvoiceUnits"])
            get = best_per_call(lambda: emulated.get_invoice_unit(InvoiceUnitArn=arns[len(arns) // 2]), calls)
            page = best_per_call(lambda: emulated.list_invoice_units(MaxResults=PAGE, **extra), max(calls // 20, 20))
            print(f"   {stored:7d} {get * 1e6:8.1f} {page * 1e6:9.1f} {page / returned * 1e6:13.1f}   ({returned} items)")
            measured[stored] = (get, page / returned)
    (get_1k, item_1k), (get_10k, item_10k) = measured[1_000], measured[10_000]
    print(f"   10,000 vs 1,000 stored: Get {get_10k / get_1k:4.2f}x, List per item {item_10k / item_1k:4.2f}x (flat is 1.00x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    args = parser.parse_args()
    floor_comparison(args.calls)
    scaling(args.calls)


if __name__ == "__main__":
    main()
