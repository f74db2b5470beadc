"""Budget, rate limit and throttle backoff of a real-account run, on a real botocore client and the emulator."""

from __future__ import annotations

import random

import pytest

from contracts.guard import budget
from invoicing_mock.exceptions import ThrottlingException
from invoicing_mock.faults import Faults
from invoicing_mock.models import InvoicingBackend
from _real_account_support import aws_test_environment, raw_client, unit_params  # noqa: F401


class FakeTime:
    def __init__(self):
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class ThrottleFirst(Faults):
    """Refuses the first `n` requests of `operation` with ThrottlingException (before any effect), and records
    the token every attempt carried."""

    def __init__(self, operation: str, n: int):
        self.operation, self.n = operation, n
        self.tokens: list[str] = []

    def before(self, call, backend):
        if call.operation == self.operation:
            self.tokens.append(call.params.get("ClientToken"))
            if len(self.tokens) <= self.n:
                raise ThrottlingException("Rate exceeded")


@pytest.fixture
def throttled_server():
    from invoicing_mock import server

    faults = ThrottleFirst("CreateInvoiceUnit", 3)
    backend = InvoicingBackend(faults=faults)
    served = server.start(backend=backend)
    yield served.url, backend, faults
    served.stop()


def test_limits_reject_nonsense():
    with pytest.raises(ValueError, match="max_rate must be > 0"):
        budget.Limits(max_rate=0)
    with pytest.raises(ValueError, match="max_resources must be >= 0"):
        budget.Limits(max_resources=-1)


def test_resource_budget_counts_distinct_tokens():
    resources = budget.ResourceBudget(2)
    resources.claim("a")
    resources.claim("a")  # a replay
    resources.claim("b")
    with pytest.raises(budget.BudgetExceeded, match="resource 3 of this run, over its budget of 2"):
        resources.claim("c", "CreateInvoiceUnit")
    resources.claim("b")
    assert resources.used == 2


def test_one_token_on_two_create_operations_is_two_resources():
    """The scope property sends a token one create used to another create: a second resource, counted."""
    resources = budget.ResourceBudget(1)
    resources.claim("t", "CreateInvoiceUnit")
    resources.claim("t", "CreateInvoiceUnit")  # a replay of the same create
    with pytest.raises(budget.BudgetExceeded):
        resources.claim("t", "CreateProcurementPortalPreference")
    assert resources.used == 1


def test_rate_limiter_spaces_requests_after_the_burst():
    fake = FakeTime()
    limiter = budget.RateLimiter(rate=4.0, burst=2, clock=fake.clock, sleep=fake.sleep)
    for _ in range(6):
        limiter.acquire()
    assert fake.sleeps == [pytest.approx(0.25)] * 4  # two at once, then one every 1/4 s
    assert fake.now == pytest.approx(1.0)
    fake.now += 10  # a quiet spell refills the bucket, never beyond the burst
    limiter.acquire()
    limiter.acquire()
    limiter.acquire()
    assert fake.sleeps[4:] == [pytest.approx(0.25)]


def test_backoff_is_capped_exponential_with_jitter():
    backoff = budget.ThrottleBackoff(budget.Limits(backoff_base=1.0, backoff_cap=5.0), rng=random.Random(1))
    for attempt in range(1, 8):
        ceiling = min(5.0, 2 ** (attempt - 1))
        delays = [backoff.delay(attempt) for _ in range(50)]
        assert all(0 <= d <= ceiling for d in delays)
        assert max(delays) > ceiling / 2  # jitter spreads over the whole range


def test_throttled_create_is_retried_with_the_same_token_and_makes_one_resource(throttled_server):
    url, backend, faults = throttled_server
    client = raw_client(url)
    fake = FakeTime()
    installed = budget.install(client, budget.Limits(max_rate=1000, max_throttle_retries=5), sleep=fake.sleep,
                               clock=fake.clock, rng=random.Random(0))
    response = client.create_invoice_unit(**unit_params("throttled"))
    assert len(faults.tokens) == 4 and len(set(faults.tokens)) == 1 and faults.tokens[0]
    assert installed.backoff.retries == 3 and len(fake.sleeps) == 3
    assert response["ResponseMetadata"]["RetryAttempts"] == 3
    units = client.list_invoice_units()["InvoiceUnits"]
    assert [u["InvoiceUnitArn"] for u in units] == [response["InvoiceUnitArn"]]


def test_backoff_gives_up_after_its_retries(throttled_server):
    url, _backend, faults = throttled_server
    client = raw_client(url)
    fake = FakeTime()
    # One retry, fewer than botocore's own standard mode would make (2): the backoff decides for throttling.
    budget.install(client, budget.Limits(max_rate=1000, max_throttle_retries=1), sleep=fake.sleep, clock=fake.clock)
    with pytest.raises(client.exceptions.ThrottlingException):
        client.create_invoice_unit(**unit_params("gives up"), ClientToken="tok-1")
    assert faults.tokens == ["tok-1"] * 2
    assert client.list_invoice_units()["InvoiceUnits"] == []


def test_rate_limit_applies_to_every_attempt(throttled_server):
    url, _backend, faults = throttled_server
    client = raw_client(url)
    fake = FakeTime()
    installed = budget.install(client, budget.Limits(max_rate=2.0, burst=1, backoff_base=0.0), sleep=fake.sleep,
                               clock=fake.clock)
    client.create_invoice_unit(**unit_params("paced"))  # 4 attempts
    client.list_invoice_units()
    assert installed.limiter.waited == pytest.approx(4 * 0.5)  # 5 requests, one every 1/2 s after the first


def test_one_pacing_holds_the_rate_across_all_the_clients_of_a_run(throttled_server):
    """A run makes several clients (accounts, validation off, cleanup): they share one bucket, so --max-rate is
    the run's rate, not each client's (two buckets would let 4 requests through with 1 s of waiting, not 1.5 s)."""
    url, _backend, _faults = throttled_server
    fake = FakeTime()
    pacing = budget.Pacing(budget.Limits(max_rate=2.0, burst=1), sleep=fake.sleep, clock=fake.clock)
    clients = [raw_client(url), raw_client(url)]
    for client in clients:
        pacing.install(client)
    for client in clients * 2:
        client.list_invoice_units()
    assert pacing.limiter.waited == pytest.approx(3 * 0.5)  # 4 requests at 2/s after a burst of 1
