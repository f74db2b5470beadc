"""One request as the backend sees it, once the wire protocol has been read (a module of its own so that the fault
seam and the backend can both name it without importing each other)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Call:
    """One request, as the backend sees it: who, what, with which (wire-form) parameters."""

    account: str
    operation: str
    params: dict[str, Any]
    request_id: str = ""
    fault_plan: Any = field(default=None, repr=False, compare=False)  # what ScheduledFaults chose for it
