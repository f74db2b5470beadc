"""`invoicing-contracts run`: check the Invoicing contracts against a target (the main job).

Runs pytest on tests/contract with the same options (they are pytest options too, for people who run pytest
directly), prints progress and a summary table, writes the reports, and exits
0 every contract holds, 1 a contract is violated (or the suite could not check one), 2 usage error,
3 target unreachable or unsafe.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

EXIT_OK, EXIT_VIOLATED, EXIT_USAGE, EXIT_UNSAFE = 0, 1, 2, 3
SUITE_DIR = Path(__file__).resolve().parent.parent / "tests" / "contract"
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


def limit_shrinking(seconds: int) -> None:
    """Bound the time Hypothesis spends minimising one failure (default 300 s), so a failing CI run still ends
    in time. Hypothesis has no setting for it; this adjusts its engine's constant when it exists."""
    from hypothesis.internal.conjecture import engine

    if hasattr(engine, "MAX_SHRINKING_SECONDS"):
        engine.MAX_SHRINKING_SECONDS = seconds


def all_operations() -> list[str]:
    from strategies._model import service_model

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


# ---------------------------------------------------------------------------------------------------- the CLI


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--target", default="mock", metavar="mock|endpoint|aws",
                        help="mock: the in-process emulator (default); endpoint: any URL; aws: a real account "
                             "(refused until the guarded real-account mode exists)")
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
    advanced = parser.add_argument_group("advanced")
    advanced.add_argument("--mock-backend", metavar="MODULE:ATTR",
                          help="an emulator backend factory for --target mock (e.g. a planted-fault variant)")
    advanced.add_argument("--example-db", default=DEFAULT_DATABASE, metavar="DIR",
                          help=f"Hypothesis example database, kept between runs (default {DEFAULT_DATABASE}); "
                               f"'none' for no database")
    advanced.add_argument("--quiet", action="store_true", help="no progress lines, only the summary")


def pytest_args(args: argparse.Namespace) -> list[str]:
    """The pytest command line equivalent to `args` (also what a person would type)."""
    out = [str(SUITE_DIR), "-p", "no:cacheprovider", "-p", "no:terminal", "-p", "no:randomly",
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
    return out


def validate_args(args: argparse.Namespace):
    """Check everything that can be checked before pytest starts; returns the (unstarted) target config."""
    from contracts.cli import UsageError
    from contracts.contract import load
    from contracts.targets import ConfigError, TARGETS, TargetConfig, load_config_file, parse_accounts, \
        resolve_factory

    try:
        if args.target not in TARGETS:
            raise ConfigError(f"unknown target {args.target!r}; choose one of: {', '.join(TARGETS)}")
        check_profile(args.profile)
        parse_operations(args.operations)
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
        load()  # the contract data must agree with the installed model before anything runs
    except ValueError as error:  # ConfigError is one
        raise UsageError(str(error)) from None
    return config


class Progress:
    """pytest plugin: a line per finished test, a heartbeat while a long one runs, failures as they happen."""

    def __init__(self, quiet: bool = False, stream=None):
        self.quiet = quiet
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

    # pytest hooks
    def pytest_collectreport(self, report) -> None:
        if report.failed:
            self.collect_errors.append(f"{report.nodeid}: {report.longreprtext.strip().splitlines()[-1]}")
            self.say(f"collection error in {report.nodeid}:\n{report.longreprtext}")

    def pytest_collection_finish(self, session) -> None:
        from contracts.suite import RESULTS

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
        summary = self.results.summary() if self.results else {}
        verdict = {"passed": "held", "failed": "FAILED", "skipped": "skipped"}[report.outcome]
        name = report.nodeid.split("::", 1)[-1]
        self.say(f"[{self.done:>3}/{self.total}] {name:<70} {verdict:<7} {report.duration:6.1f}s   "
                 f"checks run {summary.get('checks_run', 0):>6}, violations so far {summary.get('violations', 0)}")

    def pytest_sessionfinish(self, session) -> None:
        self._stop.set()

    def _heartbeat(self) -> None:
        while not self._stop.wait(5):
            if time.monotonic() - self._last_line >= 15 and self.results is not None:
                s = self.results.summary()
                self.say(f"      ... {time.monotonic() - self.started:5.0f}s: checks run {s['checks_run']}, "
                         f"violations so far {s['violations']}")


def main(args: argparse.Namespace) -> int:
    import pytest

    from contracts import reporting
    from contracts.targets import TargetError, build

    config = validate_args(args)
    try:
        target = build(config)
        if config.kind == "endpoint":
            target.probe()  # fail fast, before pytest starts, with the one-line reason
    except TargetError as error:
        print(f"invoicing-contracts run: {error}", file=sys.stderr)
        return EXIT_UNSAFE
    except ValueError as error:
        from contracts.cli import UsageError

        raise UsageError(str(error)) from None

    progress = Progress(quiet=args.quiet)
    started = time.monotonic()
    os.environ.setdefault("AWS_DEFAULT_REGION", config.region)
    code = pytest.main(pytest_args(args), plugins=[progress])
    elapsed = time.monotonic() - started
    results = progress.results
    target_error = results.meta.get("target_error") if results is not None else None
    if target_error:
        print(f"invoicing-contracts run: {target_error}", file=sys.stderr)
        return EXIT_UNSAFE
    if results is None or progress.collect_errors or code in (pytest.ExitCode.USAGE_ERROR,
                                                              pytest.ExitCode.INTERNAL_ERROR):
        print(f"invoicing-contracts run: the suite could not run (pytest exit code {int(code)}); "
              f"see the messages above", file=sys.stderr)
        return EXIT_VIOLATED if code != pytest.ExitCode.USAGE_ERROR else EXIT_USAGE
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
          f"{summary['checks_run']} check runs in {elapsed:.1f}s")
    print(f"reports: {Path(args.report_dir) / 'behaviour.md'} (and .html), results.json, junit.xml")
    if summary["violations"] or summary["errors"] or code == pytest.ExitCode.TESTS_FAILED:
        return EXIT_VIOLATED
    if code == pytest.ExitCode.INTERRUPTED:
        return EXIT_USAGE
    return EXIT_OK
