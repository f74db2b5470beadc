"""The emulator's sense of time, injectable so tests can move it (token windows, AsOf history, page tokens)."""

from __future__ import annotations

import threading
import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the epoch, as a float (the AWS JSON wire form of a timestamp)."""


class SystemClock:
    """Wall-clock time."""

    def now(self) -> float:
        return time.time()


class ManualClock:
    """A clock that moves only when told to: `advance(seconds)` or `set(epoch_seconds)`.

    Starts at 2026-01-01T00:00:00Z unless given another start, so tests are reproducible.
    """

    def __init__(self, start: float = 1_767_225_600.0):
        self._now = float(start)
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> float:
        if seconds < 0:
            raise ValueError(f"a ManualClock only moves forward; advance({seconds}) would move it back")
        with self._lock:
            self._now += seconds
            return self._now

    def set(self, epoch_seconds: float) -> None:
        with self._lock:
            if epoch_seconds < self._now:
                raise ValueError(
                    f"a ManualClock only moves forward; set({epoch_seconds}) is before now ({self._now})"
                )
            self._now = float(epoch_seconds)


class OffsetClock:
    """Another clock moved forward by an offset that only grows: `advance(seconds)`.

    Why: a server started on the wall clock can still be moved past a token window (the fault admin interface's
    POST /_invoicing/clock), while its time keeps flowing.
    """

    def __init__(self, base: Clock, offset: float = 0.0):
        self.base = base
        self.offset = float(offset)
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return self.base.now() + self.offset

    def advance(self, seconds: float) -> float:
        if seconds < 0:
            raise ValueError(f"the emulator's clock only moves forward; advance({seconds}) would move it back")
        with self._lock:
            self.offset += seconds
            return self.base.now() + self.offset
