"""The contract suite's pytest plumbing: options, the target, results, reports.

The options are those of `invoicing-contracts run`, so `pytest tests/contract --target endpoint --endpoint-url
URL --profile ci --seed 1 --operations CreateInvoiceUnit --faults auto --report-dir reports` is the same run
(without the model-drift gate, which `run` checks before pytest starts). `--target aws` works only under `run`,
which clears the account and keeps the cleanup ledger (contracts.guard.safety); its Hypothesis profiles are
`invoicing-aws-<profile>`. `run` calls pytest in-process: the Hypothesis settings, seed and shrink bound this
plugin changes are put back at unconfigure.
"""

from __future__ import annotations

import os
import time

import pytest

from contracts import reporting
from contracts.checks import CHECKS, ContractViolation
from contracts.cli.run import SUITE_PACKAGE, DEFAULT_DATABASE, FAULT_MODES, PROFILES, check_faults, check_profile, \
    limit_shrinking, parse_operations, register_profiles
from contracts.engine.session import RESULTS, SUITE, Suite
from contracts.engine.targets import TARGETS, ConfigError, TargetConfig, TargetError, TargetLost, build, \
    load_config_file, parse_accounts

# Dummy credentials: the suite never needs real ones, and must never pick up a developer's.
for _name, _value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing"),
                      ("AWS_DEFAULT_REGION", "us-east-1")):
    os.environ.setdefault(_name, _value)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("invoicing-contracts", "Invoicing contract suite (same as `invoicing-contracts run`)")
    group.addoption("--target", default="mock", help=f"one of {', '.join(TARGETS)} (default mock)")
    group.addoption("--endpoint-url", default=None, help="URL for --target endpoint")
    group.addoption("--profile", default="dev", help=f"one of {', '.join(PROFILES)} (default dev here; "
                                                     f"`run` defaults to ci)")
    group.addoption("--seed", default=None, type=int, help="Hypothesis seed")
    group.addoption("--operations", default=None, help="comma-separated operation names (default: all)")
    group.addoption("--report-dir", default=None, help="write reports here (default: none for pytest)")
    group.addoption("--accounts", default=None, help="PAYER,MEMBER,... of the organisation")
    group.addoption("--target-config", default=None, help="JSON target config file")
    group.addoption("--mock-backend", default=None, help="module:attr emulator backend factory (mock target)")
    group.addoption("--example-db", default=DEFAULT_DATABASE, help="Hypothesis example database dir, or 'none'")
    group.addoption("--faults", default="auto", help=f"{'|'.join(FAULT_MODES)}: the fault properties 7-10 (auto: "
                                                     f"where the target can inject faults, else skipped with the "
                                                     f"reason; on: a target that cannot is an error)")


def _target_config(config: pytest.Config) -> TargetConfig:
    target = TargetConfig(kind=config.getoption("target"), endpoint_url=config.getoption("endpoint_url"))
    if config.getoption("target_config"):
        load_config_file(config.getoption("target_config"), target)
    if config.getoption("accounts"):
        target.payer, target.members = parse_accounts(config.getoption("accounts"))
    target.mock_backend = config.getoption("mock_backend")
    return target


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    from hypothesis import settings
    from hypothesis.database import DirectoryBasedExampleDatabase

    try:
        if config.getoption("target") not in TARGETS:
            raise ConfigError(f"unknown target {config.getoption('target')!r}; choose one of: {', '.join(TARGETS)}")
        profile = check_profile(config.getoption("profile"))
        check_faults(config.getoption("faults"))
        operations = parse_operations([config.getoption("operations")] if config.getoption("operations") else [])
        config.stash[_TARGET_CONFIG] = _target_config(config)
    except ValueError as error:
        raise pytest.UsageError(str(error)) from None
    register_profiles()
    base = f"invoicing-{profile}"
    if config.getoption("target") == "aws":
        from contracts.guard.safety import register_real_account_profiles

        register_real_account_profiles()
        base = f"invoicing-aws-{profile}"  # few examples: each is real requests at the run's rate limit
    database = config.getoption("example_db")
    settings.register_profile(
        f"{base}-run", parent=settings.get_profile(base),
        database=None if database == "none" else DirectoryBasedExampleDatabase(database),
    )
    # Restored at unconfigure: `run` calls pytest in-process, and its caller's Hypothesis settings are its own.
    from hypothesis import core

    config.stash[_RESTORE] = (settings.get_current_profile_name(), limit_shrinking(PROFILES[profile].shrink_seconds),
                              core.global_force_seed)  # --seed sets it (through Hypothesis's own plugin)
    settings.load_profile(f"{base}-run")
    if config.getoption("seed") is not None and config.getoption("hypothesis_seed", None) is None:
        config.option.hypothesis_seed = config.getoption("seed")
    results = reporting.Results()
    results.meta.update(reporting.environment_meta())
    results.meta.update(profile=profile, seed=config.getoption("seed"),
                        operations=list(operations))
    config.stash[RESULTS] = results
    config.stash[_OPERATIONS] = operations
    config.stash[_STARTED] = time.monotonic()
    CHECKS.listeners.append(results.record)


_TARGET_CONFIG = pytest.StashKey[TargetConfig]()
_OPERATIONS = pytest.StashKey[tuple]()
_STARTED = pytest.StashKey[float]()
_RESTORE = pytest.StashKey[tuple]()


def pytest_unconfigure(config: pytest.Config) -> None:
    from hypothesis import settings

    results = config.stash.get(RESULTS, None)
    if results is not None and results.record in CHECKS.listeners:
        CHECKS.listeners.remove(results.record)
    restore = config.stash.get(_RESTORE, None)
    if restore is not None:
        from hypothesis import core

        profile, shrink_seconds, core.global_force_seed = restore
        settings.load_profile(profile)
        limit_shrinking(shrink_seconds)


@pytest.fixture(scope="session")
def suite(pytestconfig: pytest.Config):
    """The started target wrapped in a Suite; everything it created is deleted at the end."""
    results = pytestconfig.stash[RESULTS]
    try:
        target = build(pytestconfig.stash[_TARGET_CONFIG])
        target.start()
    except TargetError as error:
        results.meta["target_error"] = str(error)
        pytest.exit(f"invoicing-contracts: {error}", returncode=3)
    results.meta.update(target.describe())
    profile = pytestconfig.getoption("profile")
    if target.kind == "aws":
        from contracts.guard.safety import REAL_ACCOUNT_PROFILES

        sizing = REAL_ACCOUNT_PROFILES[profile]
    else:
        sizing = PROFILES[profile]
    suite = Suite(target=target, results=results, operations=pytestconfig.stash[_OPERATIONS],
                  profile=profile, extra_hints=target.config.hints, sizing=sizing)

    def unreachable(call) -> None:
        if call.outcome.connection_error:
            raise TargetLost(f"lost the target mid-run: {call.outcome.connection_error}")

    suite.unreachable_guard = unreachable
    pytestconfig.stash[SUITE] = suite
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


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """`operation` runs over the selected operations of the model (all by default)."""
    if "operation" in metafunc.fixturenames and _in_suite(metafunc.module.__name__):
        metafunc.parametrize("operation", metafunc.config.stash[_OPERATIONS])


def _in_suite(module_name: str) -> bool:
    return module_name == SUITE_PACKAGE or module_name.startswith(SUITE_PACKAGE + ".")


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
    results = item.config.stash.get(RESULTS, None)
    if results is None or call.excinfo is None or call.when == "teardown":
        return
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
    for violation in violations:
        results.add_violation(violation, item.nodeid)
    if not violations:
        text = f"{item.nodeid}: {call.excinfo.typename}: {call.excinfo.value}"
        results.add_error(_operation_of(item), "suite-error", text.strip()[:4000])
    # The console shows the one formatter's text (sensitive members masked), not the raw traceback.
    if violations:
        report.longrepr = "\n\n".join(str(v) for v in violations)


def pytest_sessionfinish(session: pytest.Session) -> None:
    config = session.config
    results = config.stash.get(RESULTS, None)
    if results is None:
        return
    results.meta["duration_seconds"] = time.monotonic() - config.stash.get(_STARTED, time.monotonic())
    results.meta.setdefault("target", config.getoption("target"))
    report_dir = config.getoption("report_dir")
    if report_dir:
        from pathlib import Path

        reporting.write_reports(results, Path(report_dir))
