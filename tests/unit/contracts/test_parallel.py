"""The pieces of parallel runs (contracts.engine.parallel, Results state and merge, worker shares), in-process."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections import Counter

import pytest

from contracts.cli.merge import merge_parts
from contracts.engine import parallel
from contracts.engine.results import Results
from contracts.exit_codes import UsageError
from contracts.guard.budget import Limits, worker_limits
from contracts.options import RunOptions

KEYS = [parallel.item_key(f"contracts.suite.test_{m}", f"test_{t}[{op}]")
        for m in ("stateless", "faults", "reads") for t in ("a", "b", "c")
        for op in ("CreateInvoiceUnit", "GetInvoiceUnit", "ListInvoiceUnits", "TagResource", "UntagResource")]


# ------------------------------------------------------------------------------------------------------ shards


MACHINES = [parallel.item_key("contracts.suite.test_idempotency", f"test_idempotency[{m}]")
            for m in ("InvoiceUnit", "ProcurementPortalPreference")]


def test_parts_are_stable_not_pythons_salted_hash():
    # Golden values: a machine with another PYTHONHASHSEED, Python or platform must put each test in the same part.
    parts = parallel.partition(KEYS[:4], 2)
    assert [parts[k] for k in KEYS[:4]] == [2, 1, 2, 1]
    assert parallel.partition(reversed(KEYS), 3) == parallel.partition(KEYS, 3)  # collection order does not matter


@pytest.mark.parametrize("count", [1, 2, 3, 5])
def test_shards_partition_the_tests_and_balance_their_cost(count):
    keys = KEYS + MACHINES
    shards = [parallel.Shard(i, count) for i in range(1, count + 1)]
    owned = [shard.owned(keys) for shard in shards]
    owners = Counter(sum(k in part for part in owned) for k in keys)
    assert owners == {1: len(keys)}, "every test in exactly one part"
    loads = sorted(sum(parallel.cost_of(k) for k in part) for part in owned)
    heaviest = max(parallel.cost_of(k) for k in keys)
    assert loads[-1] - loads[0] <= heaviest, loads  # no part waits on another by more than one test


def test_the_two_state_machines_go_to_two_parts():
    """Measured: a split by hash alone put both idempotency machines (two thirds of a ci run) in part 1."""
    parts = parallel.partition(KEYS + MACHINES, 2)
    assert {parts[m] for m in MACHINES} == {1, 2}


@pytest.mark.parametrize("value, error", [("0/2", "1 <= i <= n"), ("3/2", "1 <= i <= n"), ("1-2", "i/n"),
                                          ("x", "i/n")])
def test_bad_shard_and_workers_values_are_usage_errors(value, error):
    with pytest.raises(UsageError, match=error):
        RunOptions.from_values({"shard": value})
    with pytest.raises(UsageError, match="--workers must be >= 1"):
        RunOptions.from_values({"workers": "0"})
    assert RunOptions.from_values({"shard": " 2 / 3 ", "workers": "2"}).shard == "2/3"


def test_options_cross_to_workers_whole():
    options = RunOptions(target="aws", allowed_account=("123456789012",), operations=("CreateInvoiceUnit",),
                         max_rate=3.5, workers=2, shard="1/2", allow_real_account=True)
    assert parallel.options_from_json(parallel.options_to_json(options)) == options


# ----------------------------------------------------------------------------------------- results in parts


def _events(unit_base: int = 0):
    """What one run records, as (method, args): checks in several examples, observations, a violation found
    twice, an error, a skip reason given by two workers' module fixtures."""
    violation = {"operation": "CreateInvoiceUnit", "property": "replay-equivalence", "title": "t", "text": "same"}
    return [
        ("record", ("CreateInvoiceUnit", "valid-requests", "c1", True, unit_base + 1)),
        ("record", ("CreateInvoiceUnit", "valid-requests", "c2", True, unit_base + 1)),
        ("record", ("CreateInvoiceUnit", "valid-requests", "c1", False, unit_base + 2)),
        ("record", ("GetInvoiceUnit", "valid-requests", "c1", True, unit_base + 3)),
        ("observe", ("CreateInvoiceUnit", "valid requests were", "accepted")),
        ("observe", ("GetInvoiceUnit", "valid requests were", "answered X")),
        ("add_violation", (violation,)),
        ("add_error", ("GetInvoiceUnit", "suite-error", "boom")),
        ("add_skip", ("DeleteInvoiceUnit", "expiry", "faults off")),
        ("expect", ("TagResource", "valid-requests")),
    ]


def _apply(results: Results, events) -> Results:
    for method, args in events:
        getattr(results, method)(*args)
    return results


def test_state_round_trip_keeps_everything_the_reports_read():
    results = _apply(Results(), _events())
    results.meta.update(target="mock", faults={"concurrent_batches": 2, "largest_batch": 8, "skipped": ""})
    again = Results.from_state(results.to_state())
    assert again.to_dict() == results.to_dict()
    assert again.violations == results.violations  # with the text the reports print
    assert again.summary() == results.summary()


def test_two_workers_parts_merge_into_what_one_process_records():
    first, second = _events(0), _events(0)  # each worker numbers its examples from 0
    # One process sets the module fixture up once, so it gives the skip reason once.
    whole = _apply(Results(), first + [(m, a) for m, a in _events(100) if m != "add_skip"])
    part_a = _apply(Results(), first)
    part_b = _apply(Results(), second)
    part_a.meta.update(target="mock", faults={"concurrent_batches": 2, "largest_batch": 8, "styles": {"drop": 1},
                                              "skipped": ""})
    part_b.meta.update(target="other", faults={"concurrent_batches": 3, "largest_batch": 32, "styles": {"drop": 2},
                                               "skipped": ""}, seed=7)
    merged = Results.from_state(part_a.to_state()).merge(Results.from_state(part_b.to_state()))
    assert merged.to_dict()["operations"] == whole.to_dict()["operations"]
    assert merged.summary() == whole.summary()
    assert merged.summary()["examples_run"] == 6  # 3 per worker, although both counted from 0
    assert merged.cells[("DeleteInvoiceUnit", "expiry")].skipped == ["faults off"]  # once, as one process says it
    assert len(merged.violations) == 1
    assert merged.meta["faults"] == {"concurrent_batches": 5, "largest_batch": 32, "styles": {"drop": 3},
                                     "skipped": ""}
    assert merged.meta["target"] == "mock" and merged.meta["seed"] == 7  # describing: the first part's, or given


def _document(shard, seed=1, **results):
    r = Results()
    r.record("GetInvoiceUnit", "valid-requests", "c", True, 1)
    r.meta["duration_seconds"] = 2.0
    return {"shard": shard, "seed": seed, "profile": "dev", "target": "mock", "operations": ["GetInvoiceUnit"],
            "pytest_exit": 0, "results": r.to_state()}


@pytest.mark.parametrize("shards, seeds, message", [
    (["1/2"], [1], "shard 2/2 missing"),
    (["1/2", "1/2"], [1, 1], "shard 1 given twice"),
    (["1/2", "2/3"], [1, 1], "split the run differently"),
    (["1/2", "2/2"], [1, 2], "their seed differ"),
    (["1/2", None], [1, 1], "was not run with --shard"),
])
def test_merge_refuses_parts_that_are_not_one_whole_run(shards, seeds, message):
    with pytest.raises(UsageError, match=message):
        merge_parts([_document(s, seed) for s, seed in zip(shards, seeds)])


def test_merge_of_complete_parts():
    results, problems = merge_parts([_document("2/2"), _document("1/2")])
    assert problems == [] and results.summary()["checks_run"] == 2 and results.meta["shards"] == ["2/2", "1/2"]
    partial, problems = merge_parts([_document("1/3")], partial=True)
    assert problems == ["shards 2/3, 3/3 missing"] and partial.summary()["errors"] == 1  # and so exit 1


# ---------------------------------------------------------------------------------- a real account, shared


@pytest.mark.parametrize("budget", [0, 1, 5, 6, 25, 250])
@pytest.mark.parametrize("workers", [1, 2, 3, 4])
def test_worker_shares_add_up_to_the_runs_limits_never_more(budget, workers):
    limits = Limits(max_resources=budget, max_rate=2.0)
    shares = [worker_limits(limits, i, workers) for i in range(workers)]
    assert sum(s.max_resources for s in shares) == budget
    assert max(s.max_resources for s in shares) - min(s.max_resources for s in shares) <= 1
    assert sum(s.max_rate for s in shares) == pytest.approx(2.0)
    assert worker_limits(limits, workers, workers).max_resources == 0  # a replacement worker gets nothing


def test_exclusive_holder_keeps_shared_ones_out_and_waits_for_them(tmp_path):
    lock = parallel.SharedTargetLock(tmp_path)
    events: list[str] = []
    inside = threading.Event()

    def shared(name, delay):
        with lock.hold(exclusive=False):
            events.append(f"{name} in")
            inside.set()
            time.sleep(delay)
            events.append(f"{name} out")

    def exclusive():
        inside.wait()
        with lock.hold(exclusive=True):
            events.append("X in")
            time.sleep(0.2)
            events.append("X out")

    a = threading.Thread(target=shared, args=("a", 0.3))
    x = threading.Thread(target=exclusive)
    a.start()
    x.start()
    time.sleep(0.1)  # X waits for a; b arrives after X asked
    b = threading.Thread(target=shared, args=("b", 0))
    b.start()
    for t in (a, x, b):
        t.join(5)
    assert events == ["a in", "a out", "X in", "X out", "b in", "b out"], events


def test_which_tests_need_a_shared_target_to_themselves():
    assert parallel.exclusive("contracts.suite.test_faults", "test_expiry")
    assert parallel.exclusive("contracts.suite.test_idempotency", "test_idempotency")
    assert parallel.exclusive("contracts.suite.test_idempotency", "test_idempotency_script")
    assert parallel.exclusive("contracts.suite.test_reads", "test_pagination_shows_each_item_once")
    assert not parallel.exclusive("contracts.suite.test_stateless", "test_valid_requests")
    assert not parallel.exclusive("contracts.suite.test_reads", "test_list_filters_are_and_across_types")


# ------------------------------------------------------------------------------------------- one process's order


def test_one_process_runs_the_cheap_deterministic_tests_before_the_explorations(tmp_path):
    """The order serves the time to the first failure: scripted machines, the coverage phase's violation sites,
    the reads, the coverage phase's edges, the fault tests cheapest first, then the Hypothesis explorations
    (whatever the modules' names)."""
    done = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--collect-only", "-q",
                           "--pyargs", "contracts.suite", "--report-dir", str(tmp_path)],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path)
    names = [line.split("::")[1].split("[")[0] for line in done.stdout.splitlines() if "::" in line]
    order = [name for i, name in enumerate(names) if i == 0 or names[i - 1] != name]
    assert order == ["test_idempotency_script", "test_coverage_violations",
                     "test_pagination_shows_each_item_once", "test_as_of_reads_the_past",
                     "test_list_filters_are_and_across_types", "test_batch_profile_answers_every_account",
                     "test_member_reads_only_its_own_invoices", "test_coverage_edges", "test_expiry",
                     "test_fault_refusal_does_not_poison",
                     "test_lost_response", "test_concurrent_duplicates", "test_idempotency", "test_valid_requests",
                     "test_invalid_requests"], done.stdout[-2000:]
