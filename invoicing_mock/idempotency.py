"""The record of used idempotency tokens (docs/idempotency.md).

A token is scoped by (account, operation): the same string on another operation or from another account is a
different token. The first successful result is stored with the request's fingerprint; a later request with the
token replays it when the fingerprint matches and is refused when it does not. Entries older than the window
(default 24 hours, on the backend's injectable clock) are forgotten.

It also keeps the in-flight markers (docs/idempotency.md property 8): a request that passed the look-up claims its
token until its result is recorded (or it failed), and a duplicate arriving meanwhile is refused instead of
executing a second time or waiting.

This module only keeps the record; it takes no lock. Atomicity is the caller's job: InvoicingBackend holds its
`token_lock` around look-up + claim, and around record + release, and the claim lasts from the look-up until the
record is in, so exactly one of several concurrent requests with one token executes, and no client can see the
effect without the token's record.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

DEFAULT_WINDOW_SECONDS = 24 * 60 * 60


def fingerprint(params: dict[str, Any], token_member: str) -> str:
    """The request payload without its token, canonically serialised: list order, an omitted member versus an
    explicit default, and nested values all count as differences."""
    payload = {name: value for name, value in params.items() if name != token_member}
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


@dataclass(frozen=True)
class Recorded:
    fingerprint: str
    result: dict[str, Any]
    recorded_at: float


class TokenRecord:
    def __init__(self, clock, window_seconds: float = DEFAULT_WINDOW_SECONDS):
        self.clock = clock
        self.window_seconds = window_seconds
        # Insertion order is time order, so expired entries are always at the front.
        self._entries: OrderedDict[tuple[str, str, str], Recorded] = OrderedDict()
        # (account, operation, token) -> fingerprint of the request executing with it right now.
        self._in_flight: dict[tuple[str, str, str], str] = {}

    def _expire(self) -> None:
        horizon = self.clock.now() - self.window_seconds
        while self._entries:
            key, entry = next(iter(self._entries.items()))
            if entry.recorded_at > horizon:
                break
            del self._entries[key]

    def lookup(self, account: str, operation: str, token: str) -> Recorded | None:
        self._expire()
        return self._entries.get((account, operation, token))

    def record(self, account: str, operation: str, token: str, fingerprint: str, result: dict) -> Recorded:
        entry = Recorded(fingerprint, result, self.clock.now())
        self._entries[(account, operation, token)] = entry
        return entry

    def claim(self, account: str, operation: str, token: str, fingerprint: str) -> bool:
        """Mark the token as in use by a request now executing; False when another request already holds it."""
        key = (account, operation, token)
        if key in self._in_flight:
            return False
        self._in_flight[key] = fingerprint
        return True

    def release(self, account: str, operation: str, token: str) -> None:
        self._in_flight.pop((account, operation, token), None)

    def in_flight(self) -> int:
        """How many tokens are held by executing requests (0 once the emulator is idle)."""
        return len(self._in_flight)

    def __len__(self) -> int:
        self._expire()
        return len(self._entries)
