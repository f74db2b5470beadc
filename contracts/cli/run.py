"""`invoicing-contracts run`: check the Invoicing contracts against a target (the main job).

In order: the options are checked (exit 2); the installed model is compared with the snapshot the contracts were
written for (contracts.drift.gate: the model-drift gate); for --target aws, contracts.guard.safety clears the account (exit
3 before any write otherwise; --plan prints and stops) and wraps the rest in a guarded, ledgered run that cleans
up after itself. Then pytest runs tests/contract in this process with the same options (they are pytest options
too, for people who run pytest directly), printing progress; then the summary table, the fault figures, the
drift verdict and (aws) what the run created and left; the reports are written. Exit codes:
0 every contract holds, 1 a contract is violated, the suite could not check one, or the drift gate failed,
2 usage error, 3 target unreachable or unsafe.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from contracts.exit_codes import ExitCode

SUITE_PACKAGE = "contracts.suite"  # the installed suite: pytest collects it with --pyargs from any directory
DEFAULT_REPORT_DIR = "reports"
DEFAULT_DATABASE = ".hypothesis/invoicing-contracts"


@dataclass(frozen=True)
class Profile:
    """How hard to look: examples per stateless test, state-machine runs and steps per run."""

    max_examples: int
    stateful_examples: int
    stateful_steps: int
    shrink_seconds: int  # how long Hypothesis may spend minimising one failure
    description: str


PROFILES = {
    "dev": Profile(10, 8, 12, 20, "a quick look while editing (seconds)"),
    "ci": Profile(40, 30, 25, 60, "the regression gate (under a minute against the emulator)"),
    "thorough": Profile(300, 200, 50, 300, "before a release (many minutes)"),
}
DEFAULT_PROFILE = "ci"


def register_profiles() -> None:
    """Hypothesis settings profiles named invoicing-<profile>; the database is chosen by the caller."""
    from hypothesis import HealthCheck, settings

    for name, profile in PROFILES.items():
        settings.register_profile(
            f"invoicing-{name}",
            max_examples=profile.max_examples,
            stateful_step_count=profile.stateful_steps,
            deadline=None,  # the target's latency is not the property under test
            # Per-test fixtures (the cleanup ledger) deliberately outlive examples; strategies draw whole requests.
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                   HealthCheck.data_too_large, HealthCheck.filter_too_much],
            print_blob=False,
            # One failure per test, minimised once: a second, distinct bug is found on the next run.
            report_multiple_bugs=False,
        )


def limit_shrinking(seconds: int) -> int | None:
    """Bound the time Hypothesis spends minimising one failure (default 300 s), so a failing CI run still ends
    in time. Hypothesis has no setting for it; this adjusts its engine's constant when it exists. Returns the
    previous bound (to restore it)."""
    from hypothesis.internal.conjecture import engine

    previous = getattr(engine, "MAX_SHRINKING_SECONDS", None)
    if previous is not None and seconds is not None:
        engine.MAX_SHRINKING_SECONDS = seconds
    return previous


def all_operations() -> list[str]:
    from strategies import service_model

    return list(service_model().operation_names)


def parse_operations(values) -> tuple[str, ...]:
    """Operation names from `--operations A B` or `--operations A,B`; UsageError-worthy ValueError if unknown."""
    names = [n.strip() for v in (values or []) for n in str(v).split(",") if n.strip()]
    known = all_operations()
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ValueError(f"unknown operation{'s' * (len(unknown) > 1)} {', '.join(unknown)}; "
                         f"the installed model has: {', '.join(known)}")
    return tuple(dict.fromkeys(names)) or tuple(known)


def check_profile(name: str) -> str:
    if name not in PROFILES:
        raise ValueError(f"unknown profile {name!r}; choose one of: {', '.join(PROFILES)}")
    return name


FAULT_MODES = ("auto", "on", "off")


def check_faults(mode: str) -> str:
    if mode not in FAULT_MODES:
        raise ValueError(f"unknown --faults {mode!r}; choose one of: {', '.join(FAULT_MODES)}")
    return mode


# ---------------------------------------------------------------------------------------------------- the CLI


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--target", default="mock", metavar="mock|endpoint|aws",
                        help="mock: the in-process emulator (default); endpoint: any URL; aws: a real account "
                             "(guarded: see the real-account options and docs/real-account.md)")
    parser.add_argument("--endpoint-url", metavar="URL",
                        help="the endpoint for --target endpoint (default: $AWS_ENDPOINT_URL_INVOICING)")
    parser.add_argument("--profile", default=DEFAULT_PROFILE, metavar="|".join(PROFILES),
                        help=f"how hard to look (default {DEFAULT_PROFILE}): "
                             + "; ".join(f"{k}: {v.description}" for k, v in PROFILES.items()))
    parser.add_argument("--seed", type=int, metavar="N", help="Hypothesis seed, to repeat a run exactly (a seeded run bypasses the example "
                                                         "database)")
    parser.add_argument("--operations", nargs="+", metavar="OP",
                        help="only these operations (names as in the model, e.g. CreateInvoiceUnit)")
    parser.add_argument("--report-dir", default=DEFAULT_REPORT_DIR, metavar="DIR",
                        help=f"where the reports go (default {DEFAULT_REPORT_DIR}/)")
    parser.add_argument("--accounts", metavar="PAYER,MEMBER,...",
                        help="the organisation's accounts, payer first (default: the emulator's documented "
                             "default organisation)")
    parser.add_argument("--target-config", metavar="FILE",
                        help="JSON: payer, members, other_account, credentials, region, hints")
    parser.add_argument("--faults", default="auto", metavar="|".join(FAULT_MODES),
                        help="the fault properties 7-10 (lost responses, concurrent duplicates, throttling, "
                             "expiry): auto (default) runs them where the target can inject faults and skips them "
                             "with the reason elsewhere; on: a target that cannot is an error; off: skip them")
    advanced = parser.add_argument_group("advanced")
    advanced.add_argument("--mock-backend", metavar="MODULE:ATTR",
                          help="an emulator backend factory for --target mock (e.g. a planted-fault variant)")
    advanced.add_argument("--example-db", default=DEFAULT_DATABASE, metavar="DIR",
                          help=f"Hypothesis example database, kept between runs (default {DEFAULT_DATABASE}); "
                               f"'none' for no database")
    advanced.add_argument("--quiet", action="store_true", help="no progress lines, only the summary")
    from contracts.guard import safety

    safety.add_arguments(parser)  # the real-account options (--target aws); it skips any this parser has


def pytest_args(args: argparse.Namespace) -> list[str]:
    """The pytest command line equivalent to `args` (also what a person would type)."""
    out = ["--pyargs", SUITE_PACKAGE, "-p", "invoicing_contracts", "-p", "no:cacheprovider", "-p", "no:terminal", "-p", "no:randomly",
           "--target", args.target, "--profile", args.profile, "--report-dir", str(args.report_dir),
           "--example-db", str(args.example_db)]
    if args.endpoint_url:
        out += ["--endpoint-url", args.endpoint_url]
    if args.seed is not None:
        out += ["--seed", str(args.seed)]
    if args.operations:
        out += ["--operations", ",".join(args.operations)]
    if args.accounts:
        out += ["--accounts", args.accounts]
    if args.target_config:
        out += ["--target-config", args.target_config]
    if args.mock_backend:
        out += ["--mock-backend", args.mock_backend]
    if getattr(args, "faults", "auto") != "auto":
        out += ["--faults", args.faults]
    return out


def validate_args(args: argparse.Namespace):
    """Check everything that can be checked before pytest starts; returns the (unstarted) target config."""
    from contracts.exit_codes import UsageError
    from contracts.engine.targets import ConfigError, TARGETS, TargetConfig, load_config_file, parse_accounts, \
        resolve_factory

    try:
        if args.target not in TARGETS:
            raise ConfigError(f"unknown target {args.target!r}; choose one of: {', '.join(TARGETS)}")
        check_profile(args.profile)
        check_faults(getattr(args, "faults", "auto"))
        parse_operations(args.operations)
        if args.target != "aws":
            given = [flag for flag, name in (("--plan", "plan"), ("--read-only", "read_only"),
                                             ("--allow-real-account", "allow_real_account"))
                     if getattr(args, name, False)]
            if given:
                raise ConfigError(f"{', '.join(given)} only appl{'ies' if len(given) == 1 else 'y'} to --target aws")
        config = TargetConfig(kind=args.target, endpoint_url=args.endpoint_url)
        if args.target_config:
            load_config_file(args.target_config, config)
        if args.accounts:
            config.payer, config.members = parse_accounts(args.accounts)
        if args.mock_backend:
            if args.target != "mock":
                raise ConfigError("--mock-backend only applies to --target mock")
            config.mock_backend = args.mock_backend
            resolve_factory(args.mock_backend)
    except ValueError as error:  # ConfigError is one
        raise UsageError(str(error)) from None
    return config


class Progress:
    """pytest plugin: a line per finished test, a heartbeat while a long one runs, failures as they happen.
    `meta` is added to the run's results before anything runs (the model-drift gate's verdict)."""

    def __init__(self, quiet: bool = False, stream=None, meta: dict | None = None):
        self.quiet = quiet
        self.stream = stream or sys.stdout
        self.meta = meta or {}
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
        s = self.results.summary() if self.results is not None else {}
        return (f"examples run {s.get('examples_run', 0):>5} ({s.get('checks_run', 0)} checks), "
                f"violations so far {s.get('violations', 0)}")

    # pytest hooks
    def pytest_configure(self, config) -> None:
        from contracts.engine.session import RESULTS

        results = config.stash.get(RESULTS, None)  # made by the suite's conftest (tryfirst)
        if results is not None:
            results.meta.update(self.meta)

    def pytest_collectreport(self, report) -> None:
        if report.failed:
            self.collect_errors.append(f"{report.nodeid}: {report.longreprtext.strip().splitlines()[-1]}")
            self.say(f"collection error in {report.nodeid}:\n{report.longreprtext}")

    def pytest_collection_finish(self, session) -> None:
        from contracts.engine.session import RESULTS

        self.total = len(session.items)
        self.results = session.config.stash.get(RESULTS, None)
        if not self.quiet:
            self.say(f"running {self.total} contract tests against target {session.config.getoption('target')} "
                     f"(profile {session.config.getoption('profile')})")
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
    """The operations contracts/invoicing.json has an entry for (read from the file itself, so the gate can
    speak even when the entries no longer load against the installed model)."""
    import json

    from contracts.packs.contract import DATA_FILE

    return list(json.loads(DATA_FILE.read_text()).get("operations", {}))


def installed_model():
    """The Invoicing model the suite itself uses (botocore's session, so AWS_DATA_PATH overrides count too)."""
    import botocore

    from contracts.drift.sources import LoadedModel
    from strategies import botocore_session

    label = f"installed botocore {botocore.__version__}"
    if os.environ.get("AWS_DATA_PATH"):
        label += f" (with AWS_DATA_PATH={os.environ['AWS_DATA_PATH']})"
    return LoadedModel(label, botocore_session().get_service_data("invoicing"))


def model_drift() -> DriftGate:
    """The gate `run` checks first: a token-bearing operation without a contract entry, a contract operation
    gone or without its token, or a breaking change since the snapshot fails the run (after the suite ran)."""
    from contracts.drift import changelog
    from contracts.drift import gate as drift

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
    from contracts.packs.contract import ContractDataError, load
    from contracts.engine.targets import TargetError, build

    config = validate_args(args)
    if config.kind == "aws" and getattr(args, "plan", False):
        return run_aws(args, None)  # prints the plan and stops; sends nothing to Invoicing
    gate = model_drift()
    try:
        load()  # the contract data must agree with the installed model before anything runs
    except ContractDataError as error:
        return cannot_load(args, gate, error)
    if config.kind == "aws":
        return run_aws(args, gate)
    try:
        target = build(config)
        if config.kind == "endpoint":
            target.probe()  # fail fast, before pytest starts, with the one-line reason
    except TargetError as error:
        print(f"invoicing-contracts run: {error}", file=sys.stderr)
        return ExitCode.UNSAFE
    except ValueError as error:
        from contracts.exit_codes import UsageError

        raise UsageError(str(error)) from None
    os.environ.setdefault("AWS_DEFAULT_REGION", config.region)
    return run_suite(args, gate)


def run_aws(args: argparse.Namespace, gate: DriftGate | None) -> int:
    """--target aws: contracts.guard.safety clears the account (exit 3 before any write otherwise), keeps the ledger
    and cleans up; the suite runs inside, in-process, with the real-account Hypothesis profiles."""
    from contracts.guard import safety

    safety.register_real_account_profiles()
    operations = parse_operations(args.operations)
    calls = safety.plan_calls_for(args.profile, operations, read_only=bool(getattr(args, "read_only", False)))

    def suite(real) -> int:
        return run_suite(args, gate)

    return safety.run_aws(args, suite, plan_calls=calls)


def cannot_load(args: argparse.Namespace, gate: DriftGate, error: Exception) -> int:
    """The contract data does not load against the installed model: nothing can be checked. The reports say
    why (with the model drift that explains it) and the run fails."""
    from contracts import reporting

    results = reporting.Results()
    results.meta.update(reporting.environment_meta())
    results.meta.update(target=args.target, profile=args.profile, **gate.meta())
    results.meta["contract_error"] = str(error)
    reporting.write_reports(results, Path(args.report_dir))
    print(gate.summary)
    reason = gate.failures[0] if gate.failures else str(error).splitlines()[0]
    more = f" (and {len(gate.failures) - 1} more)" if len(gate.failures) > 1 else ""
    print(f"invoicing-contracts run: the contracts cannot be checked against the installed model: {reason}{more}; "
          f"see {Path(args.report_dir) / 'behaviour.md'}", file=sys.stderr)
    return ExitCode.VIOLATED


def run_suite(args: argparse.Namespace, gate: DriftGate | None) -> int:
    """pytest on tests/contract in this process, then the summary; the exit code of the run."""
    import pytest

    from contracts import reporting

    progress = Progress(quiet=args.quiet, meta=gate.meta() if gate else None)
    started = time.monotonic()
    code = pytest.main(pytest_args(args), plugins=[progress])
    elapsed = time.monotonic() - started
    results = progress.results
    target_error = results.meta.get("target_error") if results is not None else None
    if target_error:
        print(f"invoicing-contracts run: {target_error}", file=sys.stderr)
        return ExitCode.UNSAFE
    if results is None or progress.collect_errors or code in (pytest.ExitCode.USAGE_ERROR,
                                                              pytest.ExitCode.INTERNAL_ERROR):
        print(f"invoicing-contracts run: the suite could not run (pytest exit code {int(code)}); "
              f"see the messages above", file=sys.stderr)
        return ExitCode.VIOLATED if code != pytest.ExitCode.USAGE_ERROR else ExitCode.USAGE
    summary = results.summary()
    print()
    print(reporting.summary_table(results))
    print("ok: held; FAIL: violated; ERR: the suite could not check it; -: not exercised; numbered columns are "
          "the properties of IDEMPOTENCY.md")
    print()
    for violation in results.violations:
        print(violation["text"])
        print()
    for error in results.errors:
        print(f"suite error: {error}")
        print()
    print(f"{summary['violations']} violation{'s' * (summary['violations'] != 1)}, "
          f"{summary['errors']} suite error{'s' * (summary['errors'] != 1)}; "
          f"{summary['held']} of {summary['checked']} operation x property checks held; "
          f"{summary['examples_run']} examples, {summary['checks_run']} check runs in {elapsed:.1f}s")
    for line in faults_lines(results.meta.get("faults")):
        print(line)
    if gate is not None:
        print(gate.summary)
    real = results.meta.get("real_account")
    if real:
        print(real_account_line(real, results.meta.get("not_sent") or {}))
    print(f"reports: {Path(args.report_dir) / 'behaviour.md'} (and .html), results.json, junit.xml")
    if gate is not None and gate.failed:
        more = f" (and {len(gate.failures) - 1} more)" if len(gate.failures) > 1 else ""
        print(f"invoicing-contracts run: the model drift gate failed: {gate.failures[0]}{more}", file=sys.stderr)
    if summary["violations"] or summary["errors"] or code == pytest.ExitCode.TESTS_FAILED or \
            (gate is not None and gate.failed):
        return ExitCode.VIOLATED
    if code == pytest.ExitCode.INTERRUPTED:
        return ExitCode.USAGE
    return ExitCode.OK


def faults_lines(fig: dict | None) -> list[str]:
    """The fault figures of issue 5, after the summary (nothing when no fault property was selected)."""
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
