"""The `invoicing_contracts` pytest plugin: the contract suite's options, session and reports in any pytest run.

Registered as a `pytest11` entry point, so `pytest --pyargs contracts.suite --target endpoint --endpoint-url URL`
runs the suite from any directory, and a team can run it inside its own pytest session. The options are
`contracts.options.OPTIONS`, the same as `invoicing-contracts run` (which calls pytest in-process and hands its
RunContext over as a plugin object). `--target aws` works only under `run`, which clears the account and keeps
the cleanup ledger (contracts.guard).

Parallel (docs/parallel.md): under pytest-xdist (`-n N`, or `run --workers N`) each worker runs its tests
against its own target (its own emulator; its share of a real account) and sends its Results to the controller,
which merges them and alone writes the reports; against a shared target (an endpoint, an account) the tests that
read or change the whole account run alone (contracts.engine.parallel.SharedTargetLock). `--shard i/n` keeps
part i of the tests.

The plugin stays out of the way of other tests: it parametrizes, configures Hypothesis, sets dummy credentials
and records results only when the session was asked to run contracts.suite (`--pyargs contracts.suite...` or a
path inside it), and it puts back the Hypothesis settings, seed and shrink bound it changed when pytest
unconfigures.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import shutil
import tempfile
import time
from pathlib import Path

import pytest
from hypothesis import core, settings
from hypothesis.database import DirectoryBasedExampleDatabase

from contracts import reporting
from contracts.calls import Trace
from contracts.checks import ContractViolation
from contracts.engine import parallel
from contracts.engine.context import RunContext
from contracts.engine.session import Suite
from contracts.engine.targets import ConfigError, Reproduction, TargetConfig, TargetError, TargetLost, build, load_config_file, \
    parse_accounts
from contracts.exit_codes import ExitCode, UsageError
from contracts.options import DEFAULT_SERVICE, PROFILES, RunOptions, add_pytest_options, hypothesis_profile_name, limit_shrinking, \
    register_profiles

SUITE_PACKAGE = "contracts.suite"
RUN = pytest.StashKey[RunContext]()  # the active run: set only when the session collected the suite
_GIVEN = pytest.StashKey[RunContext]()  # the run as configured, before it is known whether the suite runs
_TARGET_CONFIG = pytest.StashKey[TargetConfig]()
_STARTED = pytest.StashKey[float]()
_RESTORE = pytest.StashKey[tuple]()
_LOCK = pytest.StashKey[parallel.SharedTargetLock]()
_WORKERS = pytest.StashKey[dict]()  # controller: xdist worker id -> its index among the run's workers
_LOCK_DIR = pytest.StashKey[str]()  # controller: the folder of the workers' SharedTargetLock
_REAL = pytest.StashKey[object]()  # worker of an aws run: its RealAccountRun, left at unconfigure
WORKER_INPUT = "invoicing_contracts"  # the key of what the controller hands each xdist worker, and gets back
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
    """The RunContext `run` handed over; in an xdist worker, the controller's options (with, for --target aws, the
    worker's part of the guarded run); else one built from this session's options."""
    for plugin in config.pluginmanager.get_plugins():
        if isinstance(plugin, RunContext):
            return plugin
    given = _worker_input(config)
    if given is not None:
        options = parallel.options_from_json(given["options"])
        real = None
        if given.get("real") is not None:
            from contracts.guard import RealAccountRun

            real = RealAccountRun.for_worker(options, given["real"]).__enter__()
            config.stash[_REAL] = real
        return RunContext(options, real_run=real)
    return RunContext(RunOptions.from_values(vars(config.option)))


def _worker_input(config: pytest.Config) -> dict | None:
    return getattr(config, "workerinput", {}).get(WORKER_INPUT)


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
        try:
            _activate(config)
        except UsageError as error:
            raise pytest.UsageError(str(error)) from None
        given = _worker_input(config)
        if given is not None and given.get("lock_dir"):
            config.stash[_LOCK] = parallel.SharedTargetLock(given["lock_dir"])


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


PACK_MODULE = SUITE_PACKAGE + ".test_pack_contracts"  # another service's pack (--service): it alone runs then


def _select_service(run: RunContext, items: list[pytest.Item], config: pytest.Config) -> None:
    """--service NAME keeps the pack module's tests only; the Invoicing run (the default) leaves them out."""
    pack = run.options.service != DEFAULT_SERVICE
    dropped = [item for item in items if getattr(item, "module", None) is not None
               and in_suite(item.module.__name__) and (item.module.__name__ == PACK_MODULE) != pack]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [item for item in items if item not in dropped]


# The order changes no result (no test depends on the tests before it: Suite.begin_test), so it serves speed. In
# one process the deterministic tests run first, whatever their modules' names, those that find the most faults per
# second first: the scripted machines (a fault on the common path of a token fails within the first seconds), the
# coverage phase's violation sites, the read tests (one second, each aimed at one state dimension), the coverage
# phase's edges (three seconds), the fault tests cheapest first (expiry moves the clock, a refusal is one request;
# lost responses wait for timeouts, concurrent batches hold requests in flight); the long explorations last. In
# xdist workers the heaviest tests go first, so the workers' loads even out (longest processing time first; xdist
# hands out tests in this order).
FIRST = ("test_idempotency_script", "test_coverage_violations", SUITE_PACKAGE + ".test_reads", "test_coverage_edges",
         "test_expiry", "test_fault_refusal_does_not_poison", "test_lost_response", "test_concurrent_duplicates")


def _order(item: pytest.Item, workers: bool) -> float:
    module = getattr(item, "module", None)
    if module is None or not in_suite(module.__name__):
        return 0 if workers else len(FIRST)
    if workers:
        return -parallel.cost_of(parallel.item_key(module.__name__, item.name))
    name = getattr(item, "originalname", item.name)
    for rank, first in enumerate(FIRST):
        if first in (name, module.__name__):
            return rank
    return len(FIRST)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The order (_order); --service: the pack's tests or Invoicing's; --shard i/n: keep the
    suite's tests of part i (contracts.engine.parallel.partition); other tests stay."""
    run = config.stash.get(RUN, None)
    if run is not None:
        _select_service(run, items, config)
        workers = hasattr(config, "workerinput")
        items.sort(key=lambda item: _order(item, workers))  # stable: ties keep the collection's order
    if run is None or not run.options.shard:
        return
    shard = parallel.Shard.parse(run.options.shard)
    keys = {item: parallel.item_key(item.module.__name__, item.name) for item in items
            if getattr(item, "module", None) is not None and in_suite(item.module.__name__)}
    owned = shard.owned(keys.values())
    kept, dropped = [], []
    for item in items:
        (kept if item not in keys or keys[item] in owned else dropped).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept
    run.results.meta["shard"] = str(shard)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem):
    """Against a target the workers share, a test that reads or changes the whole account runs alone."""
    lock = item.config.stash.get(_LOCK, None)
    module = getattr(item, "module", None)
    if lock is None or module is None or not in_suite(module.__name__):
        yield
        return
    function = getattr(item, "originalname", item.name)
    with lock.hold(exclusive=parallel.exclusive(module.__name__, function)):
        yield


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node) -> None:
    """xdist controller, per worker: the run's options (all of them: the real-account ones are not pytest
    options), a lock folder when the target is shared, and for --target aws the worker's part of the guarded run."""
    config = node.config
    run = config.stash.get(RUN, None)
    if run is None:
        return
    indices = config.stash.setdefault(_WORKERS, {})
    index = indices.setdefault(node.gateway.id, len(indices))
    workers = node.workerinput["workercount"]
    lock_dir = None
    if run.options.target != "mock":  # the emulator is each worker's own; anything else is one state for all
        if _LOCK_DIR not in config.stash:
            config.stash[_LOCK_DIR] = tempfile.mkdtemp(prefix="invoicing-contracts-lock-")
        lock_dir = config.stash[_LOCK_DIR]
    real = None
    if run.options.target == "aws" and run.real_run is not None:
        real = run.real_run.handover(index, workers)
    node.workerinput[WORKER_INPUT] = {"options": parallel.options_to_json(run.options), "lock_dir": lock_dir,
                                      "real": real}


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error) -> None:
    """xdist controller: a worker finished; its Results join the run's. A worker that went down loses what it
    found, which the run must not pass over: it becomes a suite error."""
    run = node.config.stash.get(RUN, None)
    if run is None:
        return
    output = getattr(node, "workeroutput", {}).get(WORKER_INPUT)
    if output is not None:
        run.results.merge(parallel.results_from_json(output))
    elif error is not None or not getattr(node, "workeroutput", None):
        run.results.add_error("(run)", "suite-error", f"worker {node.gateway.id} went down before it reported "
                                                      f"its results: {error or 'no output'}")


def _activate(config: pytest.Config) -> None:
    """The session runs the suite: configure Hypothesis for the run and start recording its results."""
    run = config.stash[_GIVEN]
    options = run.options
    for name, value in _DUMMY_ENVIRONMENT:
        os.environ.setdefault(name, value)
    register_profiles()
    base = hypothesis_profile_name(options.profile, options.target)
    settings.register_profile(f"{base}-run", parent=settings.get_profile(base), database=example_database(options))
    # Restored at unconfigure: `run` calls pytest in-process, and its caller's Hypothesis settings are its own.
    config.stash[_RESTORE] = (settings.get_current_profile_name(),
                              limit_shrinking(PROFILES[options.profile].shrink_seconds), core.global_force_seed)
    settings.load_profile(f"{base}-run")
    load_project_modules()
    # Read by Hypothesis's own plugin, whose pytest_configure runs after this one.
    if options.seed is not None and config.getoption("hypothesis_seed", None) is None:
        config.option.hypothesis_seed = options.seed
    run.results.meta.update(reporting.environment_meta())
    run.results.meta.update(profile=options.profile, seed=options.seed, operations=list(options.selected_operations))
    config.stash[RUN] = run
    config.stash[_STARTED] = time.monotonic()


def example_database(options: RunOptions):
    """Hypothesis's example database for --example-db: a folder (the default), `none`, or redis://HOST:PORT/DB,
    one database several machines share (a failure one finds, every other replays first)."""
    if options.example_db == "none":
        return None
    if options.example_db.startswith(("redis://", "rediss://", "unix://")):
        try:
            import redis
            from hypothesis.extra.redis import RedisExampleDatabase
        except ImportError:
            raise UsageError("--example-db redis://... needs the redis package: pip install "
                             "'invoicing-contracts[redis]'") from None
        client = redis.Redis.from_url(options.example_db, socket_connect_timeout=5)
        try:
            client.ping()
        except redis.RedisError as error:
            raise UsageError(f"--example-db {options.example_db}: {error}") from None
        return RedisExampleDatabase(client, key_prefix=b"invoicing-contracts:")
    return DirectoryBasedExampleDatabase(options.example_db)


def load_project_modules() -> None:
    """Import every module of this project (the suite's own come with collection).

    Hypothesis now and then draws a constant found in the source of the local modules loaded so far
    (hypothesis.internal.conjecture.providers._get_local_constants), so what a process happens to have imported
    changes the examples of a seeded run: `run` imports the drift gate and the CLI, an xdist worker does not, a
    test that imports invoicing_mock.server lazily grows the pool for the tests after it. Loaded up front, the pool
    is the same in every process that runs the suite, and a seeded run draws the same examples however it is split.
    """
    for package in ("strategies", "contracts", "invoicing_mock"):
        root = importlib.import_module(package)
        for info in pkgutil.walk_packages(root.__path__, package + "."):
            if not in_suite(info.name) and not info.name.endswith(".__main__"):  # __main__ runs a command
                importlib.import_module(info.name)


def pytest_unconfigure(config: pytest.Config) -> None:
    lock_dir = config.stash.get(_LOCK_DIR, None)
    if lock_dir is not None:
        shutil.rmtree(lock_dir, ignore_errors=True)
    real = config.stash.get(_REAL, None)
    if real is not None:
        real.__exit__(None, None, None)  # a worker's part of an aws run: whatever its suite left, and the ledger
    restore = config.stash.get(_RESTORE, None)
    if restore is not None:
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
    suite.embedded = embedded_emulator(run)
    suite.strict = run.options.strict
    suite.divergence = _recording_divergences(run, suite)
    suite.discover()
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
def _each_test_on_its_own(request: pytest.FixtureRequest):
    """Per test: it starts from what the suite knew before any test ran, and the resources it created are
    deleted when it ends (quotas stay free, endpoints stay clean)."""
    if "suite" not in request.fixturenames:
        yield
        return
    suite = request.getfixturevalue("suite")
    suite.begin_test()
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


def _recording_divergences(run: RunContext, suite: Suite):
    """Suite.divergence: a failed assumed expectation on a target that is not the embedded emulator (and without
    --strict) is recorded where it happens, with the calls of its example, and the test goes on, so its later
    examples still run. One record per operation, property, check and expectation (the first evidence)."""
    seen: set[tuple] = set()

    def diverged(violation: ContractViolation) -> bool:
        if run.options.strict or suite.embedded or violation.basis != "assumed":
            return False
        key = (violation.operation, violation.property, violation.check, violation.expectation)
        if key not in seen:
            seen.add(key)
            test = os.environ.get("PYTEST_CURRENT_TEST", "").rsplit(" (", 1)[0]
            record = reporting.failure_record(violation, suite.target.reproduction, test)
            record.update(basis=violation.basis, expectation=violation.expectation)
            run.results.add_divergence(record)
        return True

    return diverged


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


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    run = config.stash.get(RUN, None)
    if run is None:
        return
    results = run.results
    results.meta["duration_seconds"] = time.monotonic() - config.stash[_STARTED]
    results.meta.setdefault("target", run.options.target)
    if hasattr(config, "workeroutput"):  # an xdist worker: the controller merges and reports
        if results.meta.get("real_account"):
            real = results.meta["real_account"]
            real["runs"] = [{"run_id": real["run_id"], "ledger": real["ledger"]}]
        config.workeroutput[WORKER_INPUT] = parallel.results_to_json(results)
        return
    if run.options.report_dir:
        reporting.write_reports(results, Path(run.options.report_dir))
        parallel.write_state(results, Path(run.options.report_dir), options=run.options, pytest_exit=exitstatus)
