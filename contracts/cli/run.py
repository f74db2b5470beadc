"""`invoicing-contracts run`: check the Invoicing contracts against a target (the main job).

In order: the options are checked (exit 2); the installed model is compared with the snapshot the contracts were
written for (contracts.drift: the model-drift gate); for --target aws, contracts.guard clears the account (exit
3 before any write otherwise; --plan prints and stops) and wraps the rest in a guarded, ledgered run that cleans
up after itself. Then pytest runs the installed suite (contracts.suite) in this process, handed this run's
RunContext, printing progress; then the summary table, the fault figures, the drift verdict and (aws) what the
run created and left; the reports are written. Exit codes (contracts.exit_codes): 0 every contract holds, 1 a
contract is violated, the suite could not check one, or the drift gate failed, 2 usage error, 3 target
unreachable or unsafe.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import botocore
import pytest

from contracts import guard, reporting
from contracts.calls import Trace
from contracts.drift import changelog
from contracts.drift import gate as drift
from contracts.drift.sources import LoadedModel
from contracts.engine import parallel
from contracts.engine.context import RunContext
from contracts.engine.results import Results
from contracts.engine.targets import ConfigError, TargetError, build, resolve_factory
from contracts.exit_codes import ExitCode, UsageError
from contracts.options import DEFAULT_SERVICE, OPTIONS, RunOptions, add_argparse_options
from contracts.packs.contract import DATA_FILE, ContractDataError, load
from contracts.plugin import PACK_MODULE, RUN, SUITE_PACKAGE, example_database, target_config
from contracts.reporting import baseline
from strategies import botocore_session

# ---------------------------------------------------------------------------------------------------- the CLI


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_argparse_options(parser)


def pytest_args(options: RunOptions) -> list[str]:
    """The pytest command line equivalent to `options` (also what a person would type)."""
    pytest_flags = {option.name for option in OPTIONS if option.pytest}
    flags = RunOptions(**{name: getattr(options, name) for name in pytest_flags}).command_line()
    # --workers N: pytest-xdist's workers are processes of their own that read this command line (the RunContext
    # cannot cross; the plugin hands them the options that are not pytest's); its controller stays in this process.
    workers = ["-n", str(options.workers)] if options.workers > 1 else []
    suite = SUITE_PACKAGE if options.service == DEFAULT_SERVICE else PACK_MODULE
    return ["--pyargs", suite, "-p", "invoicing_contracts", "-p", "no:cacheprovider", "-p", "no:terminal",
            "-p", "no:randomly", *workers, *flags]


def check_target(options: RunOptions) -> None:
    """Everything about the target that can be checked before pytest starts (UsageError, or TargetError when
    an endpoint does not answer)."""
    try:
        config = target_config(options)
        if options.mock_backend:
            resolve_factory(options.mock_backend)
        target = build(config, Trace())
    except ConfigError as error:
        raise UsageError(str(error)) from None
    if config.kind == "endpoint":
        target.probe()  # fail fast, before pytest starts, with the one-line reason
    example_database(options)  # a redis:// database must answer (UsageError)
    os.environ.setdefault("AWS_DEFAULT_REGION", config.region)


class Progress:
    """pytest plugin: a line per finished test, a heartbeat while a long one runs, failures as they happen."""

    def __init__(self, options: RunOptions, stream=None, run: RunContext | None = None):
        self.options = options
        self.run = run
        self.quiet = options.quiet
        self.stream = stream or sys.stdout
        self.done = 0
        self.total = 0
        self.results = None
        self.started = time.monotonic()
        self._stop = threading.Event()
        self._last_line = time.monotonic()
        self.collect_errors: list[str] = []

    def say(self, text: str) -> None:
        print(text, file=self.stream, flush=True)
        self._last_line = time.monotonic()

    def figures(self) -> str:
        if self.options.workers > 1:
            return ""  # the workers' figures reach this process only when each ends
        s = self.results.summary() if self.results is not None else {}
        return (f"examples run {s.get('examples_run', 0):>5} ({s.get('checks_run', 0)} checks), "
                f"violations so far {s.get('violations', 0)}")

    # pytest hooks
    def pytest_collectreport(self, report) -> None:
        if report.failed:
            self.collect_errors.append(f"{report.nodeid}: {report.longreprtext.strip().splitlines()[-1]}")
            self.say(f"collection error in {report.nodeid}:\n{report.longreprtext}")

    def pytest_collection_finish(self, session) -> None:
        self._started(session.config, len(session.items))

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node, ids) -> None:
        """With workers the controller collects nothing; every worker collects the same tests."""
        if self.results is None:
            self._started(node.config, len(ids), f", {self.options.workers} workers")

    def _started(self, config, total: int, how: str = "") -> None:
        self.total = total
        run = config.stash.get(RUN, None)  # set by the plugin once it knows the suite runs
        self.results = run.results if run is not None else None
        if not self.quiet:
            self.say(f"running {self.total} contract tests against target {self.options.target} "
                     f"(profile {self.options.profile}{how})")
            if not how:  # a worker's figures reach this process only when it ends
                threading.Thread(target=self._heartbeat, daemon=True).start()

    def pytest_runtest_logreport(self, report) -> None:
        if report.when != "call" and not (report.when == "setup" and (report.failed or report.skipped)):
            return
        self.done += 1
        if self.quiet:
            return
        verdict = {"passed": "held", "failed": "FAILED", "skipped": "skipped"}[report.outcome]
        name = report.nodeid.split("::", 1)[-1]
        self.say(f"[{self.done:>3}/{self.total}] {name:<64} {verdict:<7} {report.duration:6.1f}s   {self.figures()}")

    def pytest_sessionfinish(self, session) -> None:
        self._stop.set()

    def _heartbeat(self) -> None:
        while not self._stop.wait(5):
            if time.monotonic() - self._last_line >= 15 and self.results is not None:
                self.say(f"      ... {time.monotonic() - self.started:5.0f}s: {self.figures()}")


# ------------------------------------------------------------------------------------------ the model-drift gate


@dataclass
class DriftGate:
    """The installed model against the snapshot the contracts were written for (contracts.drift.gate)."""

    markdown: str  # the changelog, for the behaviour report
    failures: list[str]  # the gate's failures, one line each (empty: the gate passed)
    summary: str  # one line for the console
    data: dict  # for results.json

    @property
    def failed(self) -> bool:
        return bool(self.failures)

    def meta(self) -> dict:
        return {"drift": self.data}


def contract_operation_names() -> list[str]:
    """The operations the contract data has an entry for (read from the file itself, so the gate can speak
    even when the entries no longer load against the installed model)."""
    return list(json.loads(DATA_FILE.read_text()).get("operations", {}))


def installed_model():
    """The Invoicing model the suite itself uses (botocore's session, so AWS_DATA_PATH overrides count too)."""
    label = f"installed botocore {botocore.__version__}"
    if os.environ.get("AWS_DATA_PATH"):
        label += f" (with AWS_DATA_PATH={os.environ['AWS_DATA_PATH']})"
    return LoadedModel(label, botocore_session().get_service_data("invoicing"))


def model_drift() -> DriftGate:
    """The gate `run` checks first: a token-bearing operation without a contract entry, a contract operation
    gone or without its token, or a breaking change since the snapshot fails the run (after the suite ran)."""
    result = drift.check_drift(installed_model())
    gate = result.gate_failures(contract_operation_names())
    failures = [str(f) for f in gate]
    markdown = result.markdown(heading_level=2).rstrip() + "\n" + changelog.gate_markdown(gate)
    counts = ", ".join(f"{n} {k}" for k, n in result.counts().items() if n)
    changes = len(result.changes)
    summary = (f"model drift: {result.new.label} against the {result.old.label}: "
               + (f"{changes} change{'s' * (changes != 1)} ({counts})" if changes else "no change")
               + f"; gate {'FAILED' if failures else 'passed'}")
    data = {"snapshot": result.old.label, "installed": result.new.label, "gate": "failed" if failures else "passed",
            "gate_failures": failures, "changes": result.to_json(), "markdown": markdown}
    return DriftGate(markdown, failures, summary, data)


# ------------------------------------------------------------------------------------------------------ main


def main(args: argparse.Namespace) -> int:
    options = RunOptions.from_values(vars(args))
    if options.service != DEFAULT_SERVICE:
        from contracts.cli.packs import run_pack  # another service's pack: no drift gate, no real account

        return run_pack(options, run_suite)
    if options.target == "aws" and options.plan:
        return run_aws(options, None)  # prints the plan and stops; sends nothing to Invoicing
    if options.target != "aws":
        try:
            check_target(options)
        except TargetError as error:
            print(f"invoicing-contracts run: {error}", file=sys.stderr)
            return ExitCode.UNSAFE
    gate = model_drift()
    try:
        load()  # the contract data must agree with the installed model before anything runs
    except ContractDataError as error:
        return cannot_load(options, gate, error)
    if options.target == "aws":
        return run_aws(options, gate)
    return run_suite(RunContext(options), gate)


def run_aws(options: RunOptions, gate: DriftGate | None) -> int:
    """--target aws: contracts.guard clears the account (exit 3 before any write otherwise), keeps the ledger and
    cleans up; the suite runs inside, in-process, with the real-account sizes, handed the guarded run."""
    calls = guard.plan_calls_for(options)

    def suite(real) -> int:
        return run_suite(RunContext(options, real_run=real), gate)

    return guard.run_aws(options, suite, plan_calls=calls)


def cannot_load(options: RunOptions, gate: DriftGate, error: Exception) -> int:
    """The contract data does not load against the installed model: nothing can be checked. The reports say
    why (with the model drift that explains it) and the run fails."""
    results = Results()
    results.meta.update(reporting.environment_meta())
    results.meta.update(target=options.target, profile=options.profile, **gate.meta())
    results.meta["contract_error"] = str(error)
    reporting.write_reports(results, Path(options.report_dir))
    parallel.write_state(results, Path(options.report_dir), options=options,
                         pytest_exit=pytest.ExitCode.INTERNAL_ERROR)  # `merge` of this part fails the same way
    print(gate.summary)
    reason = gate.failures[0] if gate.failures else str(error).splitlines()[0]
    more = f" (and {len(gate.failures) - 1} more)" if len(gate.failures) > 1 else ""
    print(f"invoicing-contracts run: the contracts cannot be checked against the installed model: {reason}{more}; "
          f"see {Path(options.report_dir) / 'behaviour.md'}", file=sys.stderr)
    return ExitCode.VIOLATED


def run_suite(run: RunContext, gate: DriftGate | None) -> int:
    """pytest on the installed suite in this process, then the summary; the exit code of the run."""
    options = run.options
    if gate is not None:
        run.results.meta.update(gate.meta())
    gate_baseline = baseline.before_run(options.baseline)  # a bad file stops the run before it starts (exit 2)
    progress = Progress(options)
    started = time.monotonic()
    code = pytest.main(pytest_args(options), plugins=[run, progress])
    elapsed = time.monotonic() - started
    return conclude(progress.results, code, elapsed, options, gate, collect_errors=progress.collect_errors,
                    gate_baseline=gate_baseline)


def conclude(results: Results | None, code: int, elapsed: float, options: RunOptions, gate: DriftGate | None, *,
             collect_errors=(), command: str = "run", gate_baseline: dict | None = None) -> int:
    """The console's summary of a run (or of merged parts: `merge`) and its exit code."""
    target_error = results.meta.get("target_error") if results is not None else None
    if target_error:
        print(f"invoicing-contracts {command}: {target_error}", file=sys.stderr)
        return ExitCode.UNSAFE
    if results is None or collect_errors or code in (pytest.ExitCode.USAGE_ERROR, pytest.ExitCode.INTERNAL_ERROR):
        print(f"invoicing-contracts {command}: the suite could not run (pytest exit code {int(code)}); "
              f"see the messages above", file=sys.stderr)
        return ExitCode.VIOLATED if code != pytest.ExitCode.USAGE_ERROR else ExitCode.USAGE
    summary = results.summary()
    print()
    print(reporting.summary_table(results))
    print("ok: held (exercised); FAIL: violated; ERR: the suite could not check it; DIV: diverged (an assumed "
          "expectation answered otherwise; docs/bases.md); NONE: untested (no example reached it); skip: not "
          "testable on this target; numbered columns are the properties of docs/idempotency.md")
    print()
    for violation in results.violations:
        print(violation["text"])
        print()
    for error in results.errors:
        print(f"suite error: {error}")
        print()
    for op, prop, cell in results.untested(excused=True):
        print(f"not testable here: {op} / {prop}: {'; '.join(dict.fromkeys(cell.skipped))}")
    for op, prop, cell in results.untested(excused=False):
        why = ", ".join(f"{w} x{n}" for w, n in cell.not_exercised.most_common()) or "no check ran"
        print(f"UNTESTED: {op} / {prop}: no example reached its subject ({why})")
    print(f"{summary['violations']} violation{'s' * (summary['violations'] != 1)}, "
          f"{summary['errors']} suite error{'s' * (summary['errors'] != 1)}, "
          f"{summary['untested']} untested; "
          f"{summary['held']} of {summary['checked']} operation x property checks held; "
          f"{summary['examples_run']} examples, {summary['checks_run']} check runs in {elapsed:.1f}s")
    if summary.get("divergences"):
        print(f"{summary['divergences']} divergence{'s' * (summary['divergences'] != 1)} observed in "
              f"{summary['diverged']} operation x property cell{'s' * (summary['diverged'] != 1)}: assumed "
              f"expectations this target answers otherwise (results.json: diverged; docs/bases.md); "
              f"{'they fail this --strict run' if options.strict else 'not failures without --strict'}")
    for line in faults_lines(results.meta.get("faults")):
        print(line)
    if gate is not None:
        print(gate.summary)
    real = results.meta.get("real_account")
    if real:
        print(real_account_line(real, results.meta.get("not_sent") or {}))
    print(f"reports: {Path(options.report_dir) / 'behaviour.md'} (and .html), results.json, junit.xml")
    changed = baseline.after_run(results.observations, record_to=options.record_baseline, gate=gate_baseline,
                                 gate_path=options.baseline)
    if gate is not None and gate.failed:
        more = f" (and {len(gate.failures) - 1} more)" if len(gate.failures) > 1 else ""
        print(f"invoicing-contracts {command}: the model drift gate failed: {gate.failures[0]}{more}", file=sys.stderr)
    if summary["violations"] or summary["errors"] or summary["untested"] or code == pytest.ExitCode.TESTS_FAILED \
            or (gate is not None and gate.failed) or changed:
        return ExitCode.VIOLATED
    if code == pytest.ExitCode.INTERRUPTED:
        return ExitCode.USAGE
    return ExitCode.OK


def faults_lines(fig: dict | None) -> list[str]:
    """The fault figures (properties 7-10), after the summary (nothing when no fault property was selected)."""
    if not fig:
        return []
    if fig.get("skipped"):
        return [f"faults: skipped: {fig['skipped']}"]
    return [f"faults: {fig['lost_response_trials']} lost-response trials, {fig['concurrent_batches']} concurrent "
            f"batches ({fig['concurrent_requests']} requests), {fig['duplicates_found']} duplicates found, "
            f"{fig['lost_effects_found']} lost effects found"]


def real_account_line(real: dict, not_sent: dict[str, int]) -> str:
    """Where a real-account run went, what it made and left, and what it did not send."""
    line = (f"real account {real['account']} ({real['region']}), run {real['run_id']}: created "
            f"{len(real['created'])}, deleted by the suite {len(real['deleted_by_run'])}, removed at cleanup "
            f"{len(real['removed_at_cleanup'])}, left behind {len(real['left_behind'])}; ledger {real['ledger']}")
    if not_sent.get("BudgetExceeded"):
        line += (f"\nresource budget reached: {not_sent['BudgetExceeded']} creates were not sent and their checks "
                 f"skipped (budget {real['resource_budget']}; raise --max-resources if the account can take it)")
    if not_sent.get("GuardRefused"):
        line += f"\nthe real-account guard kept back {not_sent['GuardRefused']} writes (not sent, not checked)"
    return line
