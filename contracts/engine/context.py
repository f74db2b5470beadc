"""One run's context: the options it was given, what it found, and (for --target aws) the guarded real-account
run. Passed explicitly from the `run` command (or built by the pytest plugin) to the suite's session; nothing of
a run lives in module globals, so two runs in one process stay independent."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from contracts.engine.results import Results
from contracts.options import RunOptions


@dataclass(eq=False)
class RunContext:
    options: RunOptions
    results: Results = field(default_factory=Results)
    real_run: Any = None  # contracts.guard's RealAccountRun, for --target aws
    suite: Any = None  # the session (contracts.engine.session.Suite) once its target has started
