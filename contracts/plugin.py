"""The `invoicing_contracts` pytest plugin: the contract suite's options, session and reports in any pytest run.

Registered as a `pytest11` entry point, so `pytest --pyargs contracts.suite --target endpoint --endpoint-url URL`
runs the suite from any directory, and a team can run it inside its own pytest session. The options are
`contracts.options.OPTIONS`, the same as `invoicing-contracts run` (which calls pytest in-process and hands its
RunContext over as a plugin object). `--target aws` works only under `run`, which clears the account and keeps
the cleanup ledger (contracts.guard).

The plugin stays out of the way of other tests: it parametrizes, configures Hypothesis, sets dummy credentials
and records results only when the session was asked to run contracts.suite (`--pyargs contracts.suite...` or a
path inside it), and it puts back the Hypothesis settings, seed and shrink bound it changed when pytest
unconfigures.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from contracts import reporting
from contracts.calls import Trace
from contracts.checks import ContractViolation
from contracts.engine.context import RunContext
from contracts.engine.session import Suite
from contracts.engine.targets import ConfigError, Reproduction, TargetConfig, TargetError, TargetLost, build, load_config_file, \
    parse_accounts
from contracts.exit_codes import ExitCode, UsageError
from contracts.options import PROFILES, RunOptions, add_pytest_options, hypothesis_profile_name, limit_shrinking, \
    register_profiles

SUITE_PACKAGE = "contracts.suite"
RUN = pytest.StashKey[RunContext]()  # the active run: set only when the session collected the suite
_GIVEN = pytest.StashKey[RunContext]()  # the run as configured, before it is known whether the suite runs
_TARGET_CONFIG = pytest.StashKey[TargetConfig]()
_STARTED = pytest.StashKey[float]()
_RESTORE = pytest.StashKey[tuple]()
# Dummy credentials: the suite never needs real ones against the emulator, and must never pick up a developer's.
_DUMMY_ENVIRONMENT = (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing"),
                      ("AWS_DEFAULT_REGION", "us-east-1"))


def pytest_addoption(parser: pytest.Parser) -> None:
    add_pytest_options(parser)


def target_config(options: RunOptions, real_run=None) -> TargetConfig:
    """The (unstarted) target's configuration; ConfigError for bad input."""
    config = TargetConfig(kind=options.target, endpoint_url=options.endpoint_url, mock_backend=options.mock_backend,
                          real_run=real_run)
    if options.target_config:
        load_config_file(options.target_config, config)
    if options.accounts:
        config.payer, config.members = parse_accounts(options.accounts)
    return config


def _given_run(config: pytest.Config) -> RunContext:
    """The RunContext `run` handed over, else one built from this session's options."""
    for plugin in config.pluginmanager.get_plugins():
        if isinstance(plugin, RunContext):
            return plugin
    return RunContext(RunOptions.from_values(vars(config.option)))


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    try:
        run = _given_run(config)
        config.stash[_TARGET_CONFIG] = target_config(run.options, run.real_run)
    except (UsageError, ConfigError) as error:
        raise pytest.UsageError(str(error)) from None
    config.stash[_GIVEN] = run
    if _runs_suite(config):
        # Now, before collection: Hypothesis reads its default settings when the suite's tests are defined.
        _activate(config)


def _runs_suite(config: pytest.Config) -> bool:
    """The session was asked to run the suite: `--pyargs contracts.suite[...]`, or a path inside it."""
    home = Path(__file__).with_name("suite").resolve()
    for arg in config.args:
        target = arg.split("::", 1)[0]
        if config.option.pyargs and (target == SUITE_PACKAGE or target.startswith(SUITE_PACKAGE + ".")):
            return True
        path = Path(config.invocation_params.dir, target).resolve()
        if path == home or home in path.parents:
            return True
    return False


def in_suite(module_name: str) -> bool:
    return module_name == SUITE_PACKAGE or module_name.startswith(SUITE_PACKAGE + ".")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """`operation` runs over the selected operations of the model (all by default)."""
    if "operation" in metafunc.fixturenames and in_suite(metafunc.module.__name__):
        metafunc.parametrize("operation", metafunc.config.stash[_GIVEN].options.selected_operations)


def _activate(config: pytest.Config) -> None:
    """The session runs the suite: configure Hypothesis for the run and start recording its results."""
    from hypothesis import core, settings
    from hypothesis.database import DirectoryBasedExampleDatabase

    run = config.stash[_GIVEN]
    options = run.options
    for name, value in _DUMMY_ENVIRONMENT:
        os.environ.setdefault(name, value)
    register_profiles()
    base = hypothesis_profile_name(options.profile, options.target)
    settings.register_profile(
        f"{base}-run", parent=settings.get_profile(base),
        database=None if options.example_db == "none" else DirectoryBasedExampleDatabase(options.example_db),
    )
    # Restored at unconfigure: `run` calls pytest in-process, and its caller's Hypothesis settings are its own.
    config.stash[_RESTORE] = (settings.get_current_profile_name(),
                              limit_shrinking(PROFILES[options.profile].shrink_seconds), core.global_force_seed)
    settings.load_profile(f"{base}-run")
    # Read by Hypothesis's own plugin, whose pytest_configure runs after this one.
    if options.seed is not None and config.getoption("hypothesis_seed", None) is None:
        config.option.hypothesis_seed = options.seed
    run.results.meta.update(reporting.environment_meta())
    run.results.meta.update(profile=options.profile, seed=options.seed, operations=list(options.selected_operations))
    config.stash[RUN] = run
    config.stash[_STARTED] = time.monotonic()


def pytest_unconfigure(config: pytest.Config) -> None:
    restore = config.stash.get(_RESTORE, None)
    if restore is not None:
        from hypothesis import core, settings

        profile, shrink_seconds, core.global_force_seed = restore
        settings.load_profile(profile)
        limit_shrinking(shrink_seconds)


@pytest.fixture(scope="session")
def suite(pytestconfig: pytest.Config):
    """The started target wrapped in a Suite; everything it created is deleted at the end."""
    run = pytestconfig.stash[RUN]
    results = run.results
    try:
        target = build(pytestconfig.stash[_TARGET_CONFIG], Trace())
        target.start()
    except TargetError as error:
        results.meta["target_error"] = str(error)
        pytest.exit(f"invoicing-contracts: {error}", returncode=ExitCode.UNSAFE)
    results.meta.update(target.describe())
    suite = Suite(target=target, results=results, operations=run.options.selected_operations,
                  sizing=run.options.sizing, profile=run.options.profile, extra_hints=target.config.hints)

    def unreachable(call) -> None:
        if call.outcome.connection_error:
            raise TargetLost(f"lost the target mid-run: {call.outcome.connection_error}")

    suite.unreachable_guard = unreachable
    run.suite = suite
    try:
        yield suite
    finally:
        try:
            leftovers = suite.ledger.cleanup(suite)
            if leftovers:
                results.meta["cleanup_failed"] = leftovers
            if suite.settling.waited:
                results.meta["reads_repeated_for_consistency"] = suite.settling.waited
            results.meta.update(target.finish())
        finally:
            target.stop()


@pytest.fixture(autouse=True)
def _delete_what_this_test_created(request: pytest.FixtureRequest):
    """Per test: resources the test created are deleted when it ends (quotas stay free, endpoints stay clean)."""
    if "suite" not in request.fixturenames:
        yield
        return
    suite = request.getfixturevalue("suite")
    before = suite.ledger.arns()
    yield
    suite.ledger.cleanup(suite, since=before | suite.shared_fixture_arns())


def _operation_of(item: pytest.Item) -> str:
    callspec = getattr(item, "callspec", None)
    if callspec is not None and "operation" in callspec.params:
        return callspec.params["operation"]
    marker = item.get_closest_marker("contract_resource")
    return marker.args[0] if marker else item.name


def _violations_in(error: BaseException) -> list[ContractViolation]:
    if isinstance(error, ContractViolation):
        return [error]
    if isinstance(error, BaseExceptionGroup):
        return [v for inner in error.exceptions for v in _violations_in(inner)]
    return []


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    outcome = yield
    report = outcome.get_result()
    run = item.config.stash.get(RUN, None)
    if run is None or not in_suite(item.module.__name__) or call.excinfo is None or call.when == "teardown":
        return
    results = run.results
    if call.excinfo.errisinstance((pytest.skip.Exception,)):
        return
    if call.when == "setup":  # a fixture could not give the test what it needs: say why (nothing was checked)
        if not call.excinfo.errisinstance(TargetLost):
            results.add_error(_operation_of(item), "suite-error",
                              f"{item.nodeid}: setup: {call.excinfo.exconly().strip()[:4000]}")
            return
    if call.excinfo.errisinstance(TargetLost):
        results.meta["target_error"] = str(call.excinfo.value)
        item.session.shouldstop = str(call.excinfo.value)
        return
    violations = _violations_in(call.excinfo.value)
    target = run.suite.target.reproduction if run.suite is not None else Reproduction()
    records = [reporting.failure_record(v, target, item.nodeid) for v in violations]
    # An assumed expectation binds the embedded emulator (and every target under --strict); elsewhere its failure
    # is what the target does where AWS is silent: a divergence, with the same evidence (docs/bases.md).
    observe = not run.options.strict and not embedded_emulator(run)
    diverged = 0
    for violation, record in zip(violations, records):
        record.update(basis=violation.basis, expectation=violation.expectation)
        if observe and violation.basis == "assumed":
            results.add_divergence(record)
            diverged += 1
        else:
            results.add_violation(record)
    if not violations:
        text = f"{item.nodeid}: {call.excinfo.typename}: {call.excinfo.value}"
        results.add_error(_operation_of(item), "suite-error", text.strip()[:4000])
    # The console shows the one formatter's text (sensitive members masked), not the raw traceback.
    if records:
        report.longrepr = "\n\n".join(record["text"] for record in records)
    if violations and diverged == len(violations):
        report.outcome = "passed"  # only divergences: the test did not fail (its cells say "diverged")


def embedded_emulator(run: RunContext) -> bool:
    """Whether the run's target is the embedded emulator behaving as itself: `--target mock` with a backend whose
    behaviour knobs are the emulator's own (invoicing_mock.behaviour). A planted-fault variant keeps them and is
    held to every expectation; a plausible-behaviour variant or `mock_invoicing(behaviour=...)` stands for another
    service, as `serve` behind `--target endpoint` and a real account do."""
    target = run.suite.target if run.suite is not None else None
    if target is None or target.kind != "mock":
        return False
    behaviour = getattr(getattr(target, "backend", None), "behaviour", None)
    return behaviour is None or behaviour.is_default


def pytest_sessionfinish(session: pytest.Session) -> None:
    run = session.config.stash.get(RUN, None)
    if run is None:
        return
    results = run.results
    results.meta["duration_seconds"] = time.monotonic() - session.config.stash[_STARTED]
    results.meta.setdefault("target", run.options.target)
    if run.options.report_dir:
        reporting.write_reports(results, Path(run.options.report_dir))
