"""Soak the emulator's HTTP server: many concurrent SDK clients for a while, with seeded faults injected.

What it shows, in one run (loopback only, bounded in time):
- no 5xx other than the injected ones: every 500 a client saw is matched by an injected InternalServerException
  in the server's call log, and the emulator logged no failure of its own;
- no deadlock: requests keep completing (a watchdog fails the run after --stall seconds without one), and at the
  end no idempotency token is left marked in flight and the backend's locks are free;
- throughput and latency, printed as figures of this run (never compared with a fixed time).
Clients mix invoice-unit and preference operations with tokens; some share hot tokens, so duplicates meet in
flight. One attempt per call (no SDK retries): what the server answered is what is counted.

    python benchmarks/soak_server.py [--seconds 30] [--clients 32] [--seed 1] [--fault-rate 0.02]

Exit code 0 when both hold, 1 otherwise. tests/unit/invoicing_mock/test_mock_faults.py runs a 3-second version.
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import statistics
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
for _name, _value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing"),
                      ("AWS_DEFAULT_REGION", "us-east-1")):
    os.environ.setdefault(_name, _value)

import boto3  # noqa: E402
import botocore.exceptions  # noqa: E402
from botocore.config import Config  # noqa: E402

from invoicing_mock.faults import ScheduledFaults  # noqa: E402
from invoicing_mock.models import InvoicingBackend  # noqa: E402
from invoicing_mock.server import start  # noqa: E402

PAYER = "123456789012"
MAX_SECONDS = 600  # bounded: a soak is a measurement, not a service
HOT_TOKENS = 4  # tokens every client keeps reusing, so duplicates are in flight at once


@dataclass
class SoakResult:
    seconds: float = 0.0
    clients: int = 0
    requests: int = 0
    statuses: Counter = field(default_factory=Counter)  # HTTP status -> count ("conn" for no answer)
    errors: Counter = field(default_factory=Counter)  # error code -> count
    latencies: list[float] = field(default_factory=list)
    injected: Counter = field(default_factory=Counter)  # fault -> count, from the server's call log
    emulator_failures: int = 0  # "failed inside the emulator" log records
    stalled: bool = False
    longest_gap: float = 0.0
    left_in_flight: int = 0
    locks_free: bool = True
    client_failures: list[str] = field(default_factory=list)

    @property
    def server_errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if isinstance(status, int) and status >= 500)

    @property
    def injected_500s(self) -> int:
        return self.injected["internal:before"] + self.injected["internal:after"]

    @property
    def unexplained_5xx(self) -> int:
        return max(0, self.server_errors - self.injected_500s) + self.emulator_failures

    @property
    def ok(self) -> bool:
        return (self.unexplained_5xx == 0 and not self.stalled and self.left_in_flight == 0 and self.locks_free
                and not self.client_failures and self.requests > 0)


class _FailureCounter(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1


def _schedule(rate: float, seed: int) -> ScheduledFaults:
    if rate <= 0:
        return ScheduledFaults(seed=seed)
    return ScheduledFaults([
        {"kind": "throttle", "probability": rate},
        {"kind": "internal", "probability": rate, "retry_after": 1},
        {"kind": "internal", "phase": "after", "probability": rate},
        {"kind": "drop", "probability": rate},
        {"kind": "latency", "phase": "inflight", "seconds": 0.05, "probability": rate * 2},
    ], seed=seed)


class _Worker:
    """One SDK client doing a seeded mix of operations until the deadline."""

    def __init__(self, index: int, url: str, seed: int, result: SoakResult, lock: threading.Lock,
                 progress: list[float], shared: dict):
        self.index, self.result, self.lock, self.progress, self.shared = index, result, lock, progress, shared
        self.rng = random.Random(f"{seed}:{index}")
        self.client = boto3.client(
            "invoicing", region_name="us-east-1", endpoint_url=url, aws_access_key_id=PAYER,
            aws_secret_access_key="testing",
            config=Config(retries={"total_max_attempts": 1}, read_timeout=20, connect_timeout=5),
        )
        self.units: list[str] = []
        self.prefs: list[str] = []
        self.seq = 0

    def call(self, operation: str, **params):
        started = time.perf_counter()
        status, code, response = None, None, None
        try:
            response = getattr(self.client, operation)(**params)
            status = response["ResponseMetadata"]["HTTPStatusCode"]
        except botocore.exceptions.ClientError as error:
            status = error.response["ResponseMetadata"].get("HTTPStatusCode")
            code = error.response["Error"]["Code"]
            if error.response.get("reason"):
                code += f" ({error.response['reason']})"
        except (botocore.exceptions.ConnectionClosedError, botocore.exceptions.ReadTimeoutError,
                botocore.exceptions.EndpointConnectionError) as error:
            status, code = "conn", type(error).__name__
        elapsed = time.perf_counter() - started
        with self.lock:
            self.result.requests += 1
            self.result.statuses[status] += 1
            if code:
                self.result.errors[code] += 1
            self.result.latencies.append(elapsed)
            self.progress[0] = time.monotonic()
        return response

    def token(self) -> str:
        self.seq += 1
        return f"soak-{self.index}-{self.seq}"

    def step(self) -> None:
        rng = self.rng
        choice = rng.random()
        if choice < 0.15 or not self.units:
            self.seq += 1
            made = self.call("create_invoice_unit", Name=f"soak {self.index} {self.seq}", InvoiceReceiver=PAYER,
                             Rule={}, ClientToken=self.token())
            if made:
                self.units.append(made["InvoiceUnitArn"])
        elif (choice < 0.25 and len(self.prefs) < 3) or not self.prefs:  # 100 preferences per account
            self.seq += 1
            made = self.call("create_procurement_portal_preference", ProcurementPortalName="COUPA",
                             BuyerDomain="NetworkID", BuyerIdentifier=f"soak-{self.index}-{self.seq}",
                             SupplierDomain="NetworkID", SupplierIdentifier="soak", EinvoiceDeliveryEnabled=True,
                             PurchaseOrderRetrievalEnabled=False,
                             Contacts=[{"Name": "Soak", "Email": "soak@example.com"}], ClientToken=self.token())
            if made:
                self.prefs.append(made["ProcurementPortalPreferenceArn"])
        elif choice < 0.40:
            self.call("get_invoice_unit", InvoiceUnitArn=rng.choice(self.units))
        elif choice < 0.50:
            self.call("list_invoice_units", MaxResults=rng.choice([5, 50]))
        elif choice < 0.60:
            self.call("update_invoice_unit", InvoiceUnitArn=rng.choice(self.units),
                      Description=f"soak {rng.random():.3f}", ClientToken=self.token())
        elif choice < 0.70:
            # A hot token on a shared preference: duplicates from many clients meet in flight.
            hot = rng.randrange(HOT_TOKENS)
            arn = self.shared.get("prefs", {}).get(hot)
            if arn:
                self.call("update_procurement_portal_preference_status", ProcurementPortalPreferenceArn=arn,
                          EinvoiceDeliveryPreferenceStatus="ACTIVE", ClientToken=f"soak-hot-{hot}")
            else:
                self.call("list_procurement_portal_preferences")
        elif choice < 0.80:
            self.call("put_procurement_portal_preference", ProcurementPortalPreferenceArn=rng.choice(self.prefs),
                      EinvoiceDeliveryEnabled=True, PurchaseOrderRetrievalEnabled=False,
                      Contacts=[{"Name": "Soak", "Email": "soak@example.com"}], ClientToken=self.token())
        elif choice < 0.90:
            self.call("get_procurement_portal_preference", ProcurementPortalPreferenceArn=rng.choice(self.prefs))
        elif choice < 0.95 and len(self.units) > 3:
            arn = self.units.pop(rng.randrange(len(self.units)))
            self.call("delete_invoice_unit", InvoiceUnitArn=arn, ClientToken=self.token())
        elif len(self.prefs) > 3:
            arn = self.prefs.pop(rng.randrange(len(self.prefs)))
            self.call("delete_procurement_portal_preference", ProcurementPortalPreferenceArn=arn,
                      ClientToken=self.token())
        else:
            self.call("list_procurement_portals")

    def run(self, deadline: float, stop: threading.Event) -> None:
        try:
            while time.monotonic() < deadline and not stop.is_set():
                self.step()
        except Exception as error:  # noqa: BLE001 - a client-side crash is reported, not hidden
            with self.lock:
                self.result.client_failures.append(f"client {self.index}: {type(error).__name__}: {error}")


def soak(seconds: float = 30, clients: int = 32, seed: int = 1, fault_rate: float = 0.02,
         stall: float = 10.0) -> SoakResult:
    """Run the soak; returns what it saw. Loopback only; at most MAX_SECONDS."""
    seconds = min(float(seconds), MAX_SECONDS)
    backend = InvoicingBackend(faults=_schedule(fault_rate, seed))
    failures = _FailureCounter()
    emulator_log = logging.getLogger("invoicing_mock")
    emulator_log.addHandler(failures)
    served = start(0, backend=backend, host="127.0.0.1")
    result = SoakResult(clients=clients)
    lock = threading.Lock()
    progress = [time.monotonic()]
    shared: dict = {"prefs": {}}
    try:
        setup = _Worker(-1, served.url, seed, SoakResult(), threading.Lock(), [0.0], shared)
        backend.faults, schedule = ScheduledFaults(seed=seed), backend.faults  # the setup runs fault-free
        for hot in range(HOT_TOKENS):
            made = setup.client.create_procurement_portal_preference(
                ProcurementPortalName="COUPA", BuyerDomain="NetworkID", BuyerIdentifier=f"soak-hot-{hot}",
                SupplierDomain="NetworkID", SupplierIdentifier="soak", EinvoiceDeliveryEnabled=True,
                PurchaseOrderRetrievalEnabled=False, Contacts=[{"Name": "Soak", "Email": "soak@example.com"}])
            shared["prefs"][hot] = made["ProcurementPortalPreferenceArn"]
        workers = [_Worker(i, served.url, seed, result, lock, progress, shared) for i in range(clients)]
        backend.faults = schedule
        stop = threading.Event()
        started = time.monotonic()
        deadline = started + seconds
        threads = [threading.Thread(target=w.run, args=(deadline, stop), daemon=True) for w in workers]
        for thread in threads:
            thread.start()
        while any(t.is_alive() for t in threads):
            time.sleep(0.2)
            gap = time.monotonic() - progress[0]
            result.longest_gap = max(result.longest_gap, gap)
            if gap > stall:
                result.stalled = True
                stop.set()
                break
        for thread in threads:
            thread.join(timeout=stall)
        result.seconds = time.monotonic() - started
        if any(t.is_alive() for t in threads):
            result.stalled = True
        result.injected = Counter(f for entry in schedule.log() for f in entry["faults"])
        # The log is bounded; the per-rule counters are not, so take the injected totals from them.
        state = schedule.state()["rules"]
        result.injected["internal:before"] = state[1]["fired"] if len(state) > 1 else 0
        result.injected["internal:after"] = state[2]["fired"] if len(state) > 2 else 0
        result.injected["drop"] = state[3]["fired"] if len(state) > 3 else 0
        result.injected["throttle"] = state[0]["fired"] if state else 0
        result.left_in_flight = backend.tokens.in_flight()
        result.locks_free = backend.token_lock.acquire(timeout=5) and backend.lock.acquire(timeout=5)
        if result.locks_free:
            backend.lock.release()
            backend.token_lock.release()
        result.emulator_failures = failures.count
    finally:
        emulator_log.removeHandler(failures)
        served.stop()
    return result


def report(result: SoakResult) -> str:
    lat = sorted(result.latencies) or [0.0]
    p = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] * 1000  # noqa: E731
    statuses = ", ".join(f"{k}: {v}" for k, v in sorted(result.statuses.items(), key=lambda kv: str(kv[0])))
    errors = ", ".join(f"{k}: {v}" for k, v in result.errors.most_common())
    injected = ", ".join(f"{k}: {v}" for k, v in sorted(result.injected.items()) if v)
    lines = [
        f"soak: {result.clients} concurrent clients for {result.seconds:.1f} s against the emulator's HTTP server",
        f"  requests:            {result.requests} ({result.requests / max(result.seconds, 1e-9):.0f}/s)",
        f"  latency:             p50 {p(0.5):.1f} ms, p99 {p(0.99):.1f} ms, max {lat[-1] * 1000:.0f} ms "
        f"(mean {statistics.fmean(lat) * 1000:.1f} ms)",
        f"  statuses:            {statuses}",
        f"  error codes:         {errors or 'none'}",
        f"  injected faults:     {injected or 'none'}",
        f"  5xx seen / injected: {result.server_errors} / {result.injected_500s} "
        f"(ratio {result.server_errors / result.injected_500s if result.injected_500s else 0:.2f}); "
        f"emulator failures logged: {result.emulator_failures}",
        f"  unexplained 5xx:     {result.unexplained_5xx}",
        f"  no-answer seen / drops injected: {result.statuses.get('conn', 0)} / {result.injected['drop']}",
        f"  deadlock:            {'YES (no request completed for a while)' if result.stalled else 'no'} "
        f"(longest gap without a completed request {result.longest_gap:.2f} s); tokens left in flight "
        f"{result.left_in_flight}; locks free {result.locks_free}",
    ]
    for failure in result.client_failures[:5]:
        lines.append(f"  client failure:      {failure}")
    lines.append(f"  verdict:             {'OK' if result.ok else 'FAILED'}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30, help=f"how long (default 30, at most {MAX_SECONDS})")
    parser.add_argument("--clients", type=int, default=32, help="concurrent SDK clients (default 32)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the clients' mix and of the faults")
    parser.add_argument("--fault-rate", type=float, default=0.02,
                        help="probability of each injected fault kind per call (default 0.02; 0: none)")
    parser.add_argument("--stall", type=float, default=10, help="seconds without a completed request that count "
                                                                "as a deadlock (default 10)")
    args = parser.parse_args(argv)
    if not 0 < args.clients <= 256:
        parser.error("--clients must be between 1 and 256")
    result = soak(args.seconds, args.clients, args.seed, args.fault_rate, args.stall)
    print(report(result))
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
