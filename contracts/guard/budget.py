"""Limits of a real-account run: how many resources it may create, how fast it may call, how it backs off.

Installed on botocore clients as event handlers (`Pacing.install`, one pacing per run shared by all its clients),
so every call the suite makes through them is limited, whoever makes it:
- `before-send` (each attempt, retries included): the request-rate limit, a token bucket.
- `needs-retry` (registered first, so it decides before botocore's own retry handler): on ThrottlingException
  (or HTTP 429) wait with capped exponential backoff and full jitter, then botocore resends the very same
  request: the same serialised body, hence the same ClientToken, so a throttled create that was in fact
  committed is replayed, never duplicated.
The resource budget is counted by `ResourceBudget.claim(token)`, which the real-account guard calls before every
create is sent, valid or not (contracts.guard.write_guard): a service may accept what the local validator calls
invalid, so only a claim before sending bounds what exists. A replay of a token already claimed costs nothing; a
create the service refuses with a client error gives its claim back.
"""

from __future__ import annotations

import dataclasses
import random
import threading
import time
from dataclasses import dataclass
from typing import Callable

from contracts.calls import NotSent
from contracts.options import DEFAULT_MAX_RATE

THROTTLING_CODES = frozenset({"ThrottlingException", "Throttling", "TooManyRequestsException"})


class BudgetExceeded(NotSent):
    """The run asked to create more resources than its budget allows; nothing was sent."""


@dataclass(frozen=True)
class Limits:
    # Resources created per run (distinct create tokens). A run passes RunOptions.resource_budget; the default
    # fits clients that never create (sweep's).
    max_resources: int = 0
    max_rate: float = DEFAULT_MAX_RATE  # requests per second, retries included
    burst: int = 2  # requests that may go at once after a quiet spell
    max_throttle_retries: int = 6
    backoff_base: float = 1.0  # seconds; attempt n waits up to base * 2**(n-1)
    backoff_cap: float = 20.0

    def __post_init__(self):
        if self.max_resources < 0:
            raise ValueError(f"max_resources must be >= 0, got {self.max_resources}")
        if self.max_rate <= 0:
            raise ValueError(f"max_rate must be > 0 requests per second, got {self.max_rate}")
        if self.burst < 1:
            raise ValueError(f"burst must be >= 1, got {self.burst}")


def worker_limits(limits: Limits, index: int, workers: int) -> Limits:
    """Worker `index` (0-based) of `workers` parallel workers of one run: its share of the run's limits, so that
    together they never exceed them. The resource budget splits as evenly as whole resources allow (the first
    `max_resources % workers` get one more); the rate splits evenly, and so does the burst (at least 1 each, so
    with more workers than the burst the first second may see `workers` requests at once). A worker beyond the
    count (xdist's replacement for one that went down) gets no resources: what the lost one used is unknown."""
    if workers < 1 or index < 0:
        raise ValueError(f"worker {index} of {workers}")
    resources = 0 if index >= workers else \
        limits.max_resources // workers + (1 if index < limits.max_resources % workers else 0)
    return dataclasses.replace(limits, max_resources=resources, max_rate=limits.max_rate / workers,
                               burst=max(1, limits.burst // workers))


class ResourceBudget:
    """Counts distinct creates (operation, token); refuses the one beyond `limit`. By operation too: a token
    answers only for the operation that used it (the suite's scope property sends one token to another create),
    so the same token on another create operation makes another resource."""

    def __init__(self, limit: int):
        self.limit = limit
        self._tokens: set[tuple[str, str]] = set()
        self._lock = threading.Lock()

    def claim(self, token: str, operation: str = "a create") -> bool:
        """Count the create (operation, token) before it is sent; BudgetExceeded when it would be one too many.
        True when this claim is new (the caller may `release` it if the service refuses the create)."""
        key = (operation, token)
        with self._lock:
            if key in self._tokens:
                return False  # a replay: the resource, if any, is already counted
            if len(self._tokens) >= self.limit:
                raise BudgetExceeded(
                    f"{operation} would be resource {len(self._tokens) + 1} of this run, over its budget of "
                    f"{self.limit}; nothing was sent. Raise --max-resources if the account can take it"
                )
            self._tokens.add(key)
            return True

    def release(self, token: str, operation: str = "a create") -> None:
        """Give back a new claim whose create the service refused with a client error (no effect)."""
        with self._lock:
            self._tokens.discard((operation, token))

    @property
    def used(self) -> int:
        with self._lock:
            return len(self._tokens)


class RateLimiter:
    """Token bucket: `rate` requests per second on average, at most `burst` at once. Thread-safe."""

    def __init__(self, rate: float, burst: int = 1, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep):
        self.rate, self.burst = rate, burst
        self._clock, self._sleep = clock, sleep
        self._tokens = float(burst)
        self._last = clock()
        self._lock = threading.Lock()
        self.waited = 0.0

    def acquire(self) -> None:
        with self._lock:
            now = self._clock()
            self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
            self._last = now
            self._tokens -= 1
            wait = -self._tokens / self.rate if self._tokens < 0 else 0.0
            self.waited += wait
        if wait:
            self._sleep(wait)


class ThrottleBackoff:
    """A `needs-retry` handler: retry throttled requests, unchanged, after a jittered exponential wait."""

    def __init__(self, limits: Limits, *, sleep: Callable[[float], None] = time.sleep,
                 rng: random.Random | None = None):
        self.limits = limits
        self._sleep = sleep
        self._rng = rng or random.Random()
        self.retries = 0

    def delay(self, attempts: int) -> float:
        """Full jitter (AWS Architecture Blog, "Exponential Backoff And Jitter"): uniform in [0, cap_n]."""
        ceiling = min(self.limits.backoff_cap, self.limits.backoff_base * 2 ** (attempts - 1))
        return self._rng.uniform(0, ceiling)

    def __call__(self, response=None, attempts: int = 1, **_kwargs):
        if response is None:
            return None  # a connection error: botocore's own retry policy decides
        http, parsed = response
        code = (parsed or {}).get("Error", {}).get("Code")
        if code not in THROTTLING_CODES and getattr(http, "status_code", None) != 429:
            return None
        if attempts > self.limits.max_throttle_retries:
            return False  # give up (False, not None: botocore's own retry handler must not go on retrying)
        self.retries += 1
        self._sleep(self.delay(attempts))
        return 0  # non-None: botocore retries now (we already slept, so it sleeps 0)


class Pacing:
    """The request-rate limiter and throttle backoff of one run (or one worker's part of it): one token bucket
    shared by every client it is installed on, so `max_rate` holds for the run, however many clients it makes."""

    def __init__(self, limits: Limits, *, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic, rng: random.Random | None = None):
        self.limiter = RateLimiter(limits.max_rate, limits.burst, clock=clock, sleep=sleep)
        self.backoff = ThrottleBackoff(limits, sleep=sleep, rng=rng)

    def install(self, client) -> "Pacing":
        """Rate limit and throttle backoff on every operation of `client`."""
        events = client.meta.events
        service_id = client.meta.service_model.service_id.hyphenize()
        # Most specific event names run first and register_first puts us ahead on ours: the limiter waits before
        # any before-send handler may answer (an in-process emulator does), and the backoff answers before
        # botocore's own retry handler, which would give up on throttling after its few attempts.
        for operation in client.meta.service_model.operation_names:
            events.register_first(f"before-send.{service_id}.{operation}", _limit(self.limiter))
            events.register_first(f"needs-retry.{service_id}.{operation}", self.backoff)
        return self


def install(client, limits: Limits, *, sleep: Callable[[float], None] = time.sleep,
            clock: Callable[[], float] = time.monotonic, rng: random.Random | None = None) -> Pacing:
    """A pacing of its own on `client` alone (sweep's one client; tests)."""
    return Pacing(limits, sleep=sleep, clock=clock, rng=rng).install(client)


def _limit(limiter: RateLimiter):
    def before_send(**_kwargs):
        limiter.acquire()
        return None

    return before_send
