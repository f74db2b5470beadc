"""Reaching a target's fault seam: scheduling faults, reading its call log, moving its clock.

Two ways, one interface (`FaultControl`):
- the in-process emulator (`--target mock`): the backend's `faults` and `advance_clock` directly;
- an endpoint that offers the emulator's admin interface (`invoicing-contracts serve`): JSON over HTTP under
  /_invoicing/ (see invoicing_mock.server).
A target with neither (a real service, a proxy) cannot have faults injected: `control_for` raises
`FaultsUnavailable` with the reason, and the fault properties are skipped with it.
Schedules are the JSON of invoicing_mock.faults (`{"seed": N, "rules": [...]}`), the same on both ways.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from invoicing_mock.faults import ScheduledFaults

ADMIN = "/_invoicing"


class FaultsUnavailable(Exception):
    """The target cannot inject faults; the message is the reason shown for the skipped properties."""


class FaultControl:
    """What the fault properties need from a target. `clock_control` is False when its clock cannot move."""

    kind = "?"
    clock_control = True

    def schedule(self, rules: list[dict], seed: int = 0) -> None:
        raise NotImplementedError

    def clear(self) -> None:
        self.schedule([])

    def log(self, since: int = 0) -> list[dict]:
        """Calls the target saw after sequence number `since` (operation, account, token, request_id, faults)."""
        raise NotImplementedError

    def last_seq(self) -> int:
        calls = self.log()
        return calls[-1]["seq"] if calls else 0

    def window(self) -> float:
        """How long the target remembers a token, in seconds."""
        raise NotImplementedError

    def advance_clock(self, seconds: float) -> float:
        raise NotImplementedError


class InProcessControl(FaultControl):
    kind = "in-process"

    def __init__(self, backend: Any):
        self.backend = backend
        if not isinstance(backend.faults, ScheduledFaults):
            backend.faults = ScheduledFaults()  # no faults yet, but a call log

    def schedule(self, rules: list[dict], seed: int = 0) -> None:
        self.backend.faults = ScheduledFaults.from_spec({"seed": seed, "rules": rules}).continuing(self.backend.faults)

    def log(self, since: int = 0) -> list[dict]:
        return self.backend.faults.log(since)

    def window(self) -> float:
        return float(self.backend.tokens.window_seconds)

    def advance_clock(self, seconds: float) -> float:
        return self.backend.advance_clock(seconds)


class HttpControl(FaultControl):
    kind = "admin-http"

    def __init__(self, url: str, timeout: float = 5.0):
        self.url = url.rstrip("/")
        self.timeout = timeout

    def _request(self, method: str, path: str, payload: dict | None = None) -> dict:
        data = None if payload is None else json.dumps(payload).encode()
        request = urllib.request.Request(f"{self.url}{ADMIN}{path}", data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as error:
            try:
                message = json.loads(error.read() or b"{}").get("message", "")
            except ValueError:
                message = ""
            raise FaultsUnavailable(f"{method} {ADMIN}{path} answered HTTP {error.code}"
                                    f"{': ' + message if message else ''}") from None
        except (urllib.error.URLError, OSError, ValueError) as error:
            raise FaultsUnavailable(f"{method} {ADMIN}{path} failed: {error}") from None

    def probe(self) -> None:
        state = self._request("GET", "/faults")
        if "rules" not in state:
            raise FaultsUnavailable(f"{self.url}{ADMIN}/faults did not answer like the emulator's admin interface")

    def schedule(self, rules: list[dict], seed: int = 0) -> None:
        self._request("POST", "/faults", {"seed": seed, "rules": rules})

    def clear(self) -> None:
        self._request("DELETE", "/faults")

    def log(self, since: int = 0) -> list[dict]:
        return self._request("GET", f"/log?since={int(since)}")["calls"]

    def window(self) -> float:
        return float(self._request("GET", "/clock")["idempotency_window"])

    def advance_clock(self, seconds: float) -> float:
        return float(self._request("POST", "/clock", {"advance": seconds})["now"])


def control_for(target: Any) -> FaultControl:
    """The fault control of a started contracts.engine.targets.Target; FaultsUnavailable says why there is none."""
    backend = getattr(target, "backend", None)
    if target.kind == "mock" and backend is not None:
        if not all(hasattr(backend, name) for name in ("faults", "advance_clock", "token_of")):
            raise FaultsUnavailable(f"the mock backend {type(backend).__name__} has no fault seam "
                                    f"(an InvoicingBackend subclass has one)")
        return InProcessControl(backend)
    if target.kind == "endpoint":
        control = HttpControl(target.url)
        try:
            control.probe()
        except FaultsUnavailable as error:
            raise FaultsUnavailable(
                f"the endpoint {target.url} offers no fault admin interface ({error}); faults can be injected "
                f"into `invoicing-contracts serve` (admin on) or the in-process emulator (--target mock)"
            ) from None
        return control
    raise FaultsUnavailable(f"target {target.kind} cannot inject faults (a real service has no fault seam)")
