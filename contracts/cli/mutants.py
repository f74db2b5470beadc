"""`invoicing-contracts mutants`: how much the contract suite catches, and how fast.

Runs the suite (`invoicing-contracts run --mock-backend invoicing_mock.mutants:<Name>`) against each planted-fault
variant of the emulator in the catalogue (invoicing_mock/mutants.py) and prints a table: variant, killed or
survived, the property and check that caught it, seconds to the first failure; then the mutation score
(variants killed in every run / variants). Exit 0 when every variant is killed, 1 when one survives (or a run
could not tell), 2 for bad input.

`--false-alarms N` runs the correct emulator N times with different seeds instead: exit 1 on any violation.

Isolation: every run is its own process (`invoicing-contracts run ...`, started as the console script does),
so no Hypothesis state, settings profile, check listener or emulator leaks from one variant into the next.
Inside that process this module is loaded as a pytest plugin as well (PYTEST_ADDOPTS="-p contracts.cli.mutants"):
it notes when the first ContractViolation is raised (before Hypothesis minimises it), the "time to first
failure", and writes it to a probe file. A mutant run stops at the first failing test (`-x`): one kill is enough.
Runs use no example database (`--example-db none`): a kill must come from this run's search, not from replaying
a failure found earlier. A run minimises its failure for at most `--shrink-seconds` (default 10; the ci profile
allows 60, which would dominate the catalogue's time): verdicts and times to first failure do not depend on it.
Seeds are printed, so any row can be repeated exactly:
`invoicing-contracts run --mock-backend invoicing_mock.mutants:NAME --seed N --example-db none`.

`--check-reproductions`: after each kill, the reported violation's self-checking reproduction runs against the
variant (must exit 1: the fault is there) and against the correct emulator (must exit 0: the same steps behave).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from contracts.checks import PROPERTIES
from contracts.exit_codes import ExitCode, UsageError
from contracts.options import PROFILES, limit_shrinking

CORRECT = "invoicing_mock.models:InvoicingBackend"
DEFAULT_REPORT_DIR = "reports/mutants"
PROBE_ENV = "INVOICING_MUTANTS_PROBE"
SHRINK_ENV = "INVOICING_MUTANTS_SHRINK_SECONDS"
DEFAULT_SHRINK_SECONDS = 10


# ------------------------------------------------------------------------------------------------------ the CLI


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--variants", nargs="+", metavar="NAME",
                        help="only these variants of the catalogue (names, space- or comma-separated; "
                             "default: all; --list shows them)")
    parser.add_argument("--profile", default="ci", metavar="|".join(PROFILES),
                        help="the suite's profile for every run (default ci)")
    parser.add_argument("--seed", type=int, metavar="N",
                        help="seed of the first run; run k of a variant uses N+k (default: a random N, printed)")
    parser.add_argument("--repeat", type=int, default=1, metavar="K",
                        help="runs per variant with seeds N..N+K-1 (default 1); a variant counts as killed only "
                             "when every run kills it; the time to first failure is the median over the runs")
    parser.add_argument("--false-alarms", type=int, metavar="N",
                        help="instead of the variants: run the correct emulator N times (seeds N0..N0+N-1) and "
                             "exit 1 on any violation")
    parser.add_argument("--jobs", type=int, default=1, metavar="J",
                        help="runs at once (default 1: times to first failure are measured on a quiet machine)")
    parser.add_argument("--timeout", type=float, default=900.0, metavar="SECONDS",
                        help="a run taking longer is stopped and reported as a timeout (default 900)")
    parser.add_argument("--shrink-seconds", type=int, default=DEFAULT_SHRINK_SECONDS, metavar="S",
                        help=f"bound on minimising each run's failure (default {DEFAULT_SHRINK_SECONDS}; the "
                             f"profile's own bound, 60 s for ci, otherwise dominates the catalogue's time). "
                             f"Verdicts and times to first failure do not depend on it (the kill is timed before "
                             f"minimising); only how small the reported example is")
    parser.add_argument("--report-dir", default=DEFAULT_REPORT_DIR, metavar="DIR",
                        help=f"each run's reports go to DIR/<variant>-<seed>/, the summary to DIR/mutants.json "
                             f"(default {DEFAULT_REPORT_DIR})")
    parser.add_argument("--check-reproductions", action="store_true",
                        help="after each kill, run the reported violation's reproduction against the variant (it "
                             "must exit 1) and against the correct emulator (it must exit 0); a reproduction that "
                             "does not makes the command exit 1")
    parser.add_argument("--list", action="store_true", help="print the catalogue and exit")


def _catalogue():
    from invoicing_mock.mutants import CATALOGUE

    return CATALOGUE


def chosen_variants(values) -> list:
    """The catalogue entries named by --variants (all by default); UsageError names the unknown ones."""
    catalogue = _catalogue()
    names = [n.strip() for v in (values or []) for n in str(v).split(",") if n.strip()]
    unknown = [n for n in names if n not in catalogue]
    if unknown:
        raise UsageError(f"unknown variant{'s' * (len(unknown) > 1)} {', '.join(unknown)}; the catalogue has: "
                         f"{', '.join(catalogue)}")
    return [catalogue[n] for n in dict.fromkeys(names)] if names else list(catalogue.values())


def _check_args(args: argparse.Namespace) -> None:
    if args.profile not in PROFILES:
        raise UsageError(f"unknown profile {args.profile!r}; choose one of: {', '.join(PROFILES)}")
    for name, low in (("repeat", 1), ("jobs", 1)):
        if getattr(args, name) < low:
            raise UsageError(f"--{name} must be {low} or more; got {getattr(args, name)}")
    if args.false_alarms is not None and args.false_alarms < 1:
        raise UsageError(f"--false-alarms must be 1 or more runs; got {args.false_alarms}")
    if args.false_alarms is not None and args.variants:
        raise UsageError("--false-alarms runs the correct emulator; leave out --variants")


# ------------------------------------------------------------------------------------------------------ one run


@dataclass
class Run:
    """One suite run against one backend with one seed."""

    variant: str
    spec: str
    seed: int
    report_dir: str
    stop_at_first: bool = True
    exit_code: int | None = None
    verdict: str = ""  # killed | survived | error | timeout (mutants); passed | FALSE ALARM (clean runs)
    first_failure: float | None = None  # seconds from the suite's start to the first violation raised
    seconds: float = 0.0  # wall time of the whole run, process start to end
    suite_seconds: float | None = None  # the suite's own time (pytest session)
    caught_by: dict = field(default_factory=dict)  # property, check, operation, title of the reported failure
    violations: int = 0
    reported: str = "violation"  # how a kill shows in the run's report: "violation", or "suite error"
    detail: str = ""
    # --check-reproductions: "1/0" when the reported violation's reproduction exits 1 against the variant and 0
    # against the correct emulator, else the two exit codes ("0/0": it does not reproduce; "1/1": dishonest)
    reproduction: str = ""

    def command(self, profile: str) -> list[str]:
        # The installed package of this interpreter, wherever the project's files are.
        return [sys.executable, "-m", "contracts.cli", "run",
                "--mock-backend", self.spec, "--profile", profile,
                "--seed", str(self.seed), "--example-db", "none", "--report-dir", self.report_dir, "--quiet"]

    @property
    def repeat_line(self) -> str:
        return (f"invoicing-contracts run --mock-backend {self.spec} --seed {self.seed} --example-db none")


def execute(run: Run, profile: str, *, timeout: float, shrink_seconds: int | None = None,
            processes: dict | None = None) -> Run:
    """Run the suite in a child process; fill in the verdict from its exit code, probe and results.json."""
    out = Path(run.report_dir)
    out.mkdir(parents=True, exist_ok=True)
    probe = out / "probe.json"
    probe.unlink(missing_ok=True)
    env = {**os.environ, PROBE_ENV: str(probe)}
    env.setdefault("AWS_ACCESS_KEY_ID", "testing")
    env.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    env.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    env.pop("AWS_ENDPOINT_URL_INVOICING", None)
    addopts = ["-p", "contracts.cli.mutants"] + (["-x"] if run.stop_at_first else [])
    env["PYTEST_ADDOPTS"] = " ".join(filter(None, [env.get("PYTEST_ADDOPTS"), *addopts]))
    # One Hypothesis storage directory for all the runs (beside their folders): its caches of the project's source
    # constants are the same for every run, and rebuilding them in each fresh folder cost every kill 1.3-1.6 s.
    # No example is shared: the runs use --example-db none.
    env.setdefault("HYPOTHESIS_STORAGE_DIRECTORY", str(out.parent / ".hypothesis"))
    if shrink_seconds is not None:
        env[SHRINK_ENV] = str(shrink_seconds)
    started = time.monotonic()
    with open(out / "console.log", "w") as console:
        child = subprocess.Popen(run.command(profile), cwd=out, env=env, stdout=console, stderr=subprocess.STDOUT)
        if processes is not None:
            processes[child.pid] = child
        try:
            run.exit_code = child.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
            run.exit_code = None
        finally:
            if processes is not None:
                processes.pop(child.pid, None)
    run.seconds = time.monotonic() - started
    _read_outcome(run, probe, out / "results.json")
    return run


def _read_outcome(run: Run, probe_path: Path, results_path: Path) -> None:
    probe = _load(probe_path) or {}
    results = _load(results_path) or {}
    run.first_failure = probe.get("first_violation_at")
    run.suite_seconds = probe.get("suite_seconds")
    failures = _failures(results)
    errors = [e for op in results.get("operations", {}).values() for p in op.get("properties", {}).values()
              for e in p.get("errors", [])]
    run.violations = len(failures)
    if failures:
        first = reported_failure(failures)
        run.caught_by = {k: first.get(k, "") for k in ("property", "check", "operation", "title")}
    elif probe.get("first_violation"):
        run.caught_by = dict(probe["first_violation"])
    if run.exit_code is None:
        run.verdict, run.detail = "timeout", "stopped after the time limit"
    elif run.exit_code == 0:
        run.verdict = "survived"
    elif run.exit_code == 1 and failures:
        run.verdict = "killed"  # only a reported violation kills: a suite error or an untested gate does not
    elif run.exit_code == 1 and probe.get("first_violation"):
        # A violation was raised, but the run reported none (e.g. Hypothesis could not replay the failing example:
        # FlakyStrategyDefinition): no reported violation, no reproduction, so no kill.
        run.verdict, run.reported = "error", "suite error"
        run.detail = ("a violation was raised but not reported: "
                      + (errors[0] if errors else "exit 1; the violation is not in results.json"))[:300]
    elif run.exit_code == 1:
        run.verdict = "error"
        run.detail = (errors[0] if errors else "exit 1 without a reported violation; see console.log")[:300]
        if run.first_failure is None and probe.get("first_failed_test_at") is not None:
            run.first_failure = probe["first_failed_test_at"]
    else:
        run.verdict, run.detail = "error", f"exit code {run.exit_code}; see {Path(run.report_dir) / 'console.log'}"


def _failures(results: dict) -> list[dict]:
    return [f for op in results.get("operations", {}).values() for p in op.get("properties", {}).values()
            for f in p.get("failures", [])]


def reported_failure(failures: list[dict]) -> dict:
    """The failure a run reported first (minimised); the probe's first one is the same test, maybe before
    shrinking."""
    return min(failures, key=lambda f: f.get("test", ""))


def check_reproduction(run: Run, *, timeout: float = 120.0) -> Run:
    """Run the reported violation's reproduction against the variant and against the correct emulator (each a
    process of its own, in the run's report folder); `run.reproduction` says "1/0" when it behaved."""
    from contracts.reporting.failures import against_the_emulator

    out = Path(run.report_dir)
    failures = _failures(_load(out / "results.json") or {})
    if not failures:
        return run
    script = reported_failure(failures)["reproduction"]
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
           "AWS_DEFAULT_REGION": "us-east-1"}
    env.pop("AWS_ENDPOINT_URL_INVOICING", None)
    codes = []
    for name, text in (("variant", script), ("emulator", against_the_emulator(script))):
        path = out / f"repro-{name}.py"
        path.write_text(text)
        with open(out / f"repro-{name}.log", "w") as log:
            try:
                codes.append(str(subprocess.run([sys.executable, str(path)], cwd=out, env=env, stdout=log,
                                                stderr=subprocess.STDOUT, timeout=timeout).returncode))
            except subprocess.TimeoutExpired:
                codes.append("timeout")
    run.reproduction = "/".join(codes)
    return run


def _load(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


# --------------------------------------------------------------------------------------------- many runs


def run_all(runs: list[Run], profile: str, *, jobs: int, timeout: float, shrink_seconds: int | None,
            progress=None, reproductions: bool = False) -> list[Run]:
    processes: dict = {}
    lock = threading.Lock()

    def one(run: Run) -> Run:
        execute(run, profile, timeout=timeout, shrink_seconds=shrink_seconds, processes=processes)
        if reproductions and run.verdict == "killed":
            check_reproduction(run)
        if progress is not None:
            with lock:
                progress(run)
        return run

    try:
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            return list(pool.map(one, runs))
    except KeyboardInterrupt:
        for child in list(processes.values()):  # only the children this command started
            child.kill()
        raise


@dataclass
class Score:
    variant: str
    fault: str
    expected: str
    runs: list[Run]

    @property
    def verdict(self) -> str:
        verdicts = {r.verdict for r in self.runs}
        if verdicts == {"killed"}:
            return "killed"
        if "survived" in verdicts:
            return "SURVIVED"
        return verdicts.difference({"killed"}).pop().upper()

    @property
    def kills(self) -> int:
        return sum(r.verdict == "killed" for r in self.runs)

    @property
    def median_first_failure(self) -> float | None:
        times = [r.first_failure for r in self.runs if r.verdict == "killed" and r.first_failure is not None]
        return statistics.median(times) if times else None

    @property
    def reproductions_behave(self) -> bool:
        """Every checked reproduction exited 1 against the variant and 0 against the emulator."""
        return all(r.reproduction in ("", "1/0") for r in self.runs)

    @property
    def caught_by(self) -> dict:
        return next((r.caught_by for r in self.runs if r.verdict == "killed"), {})

    def to_dict(self) -> dict:
        return {"variant": self.variant, "fault": self.fault, "expected_property": self.expected,
                "verdict": self.verdict, "kills": self.kills, "runs": len(self.runs),
                "median_seconds_to_first_failure": self.median_first_failure, "caught_by": self.caught_by,
                "reproductions": [r.reproduction for r in self.runs],
                "run_details": [asdict(r) for r in self.runs]}


def _short_property(prop: str) -> str:
    return PROPERTIES[prop].column if prop in PROPERTIES else prop


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def mutant_table(scores: list[Score], reproductions: bool = False) -> str:
    rows = [("variant", "verdict", "caught by: property / check (operation)", "expected", "s to 1st failure",
             "run s") + (("repro variant/emulator",) if reproductions else ())]
    for score in scores:
        caught = score.caught_by
        by = (f"{_short_property(caught.get('property', ''))} / {caught.get('check') or '-'} "
              f"({caught.get('operation', '?')})") if caught else (score.runs[0].detail[:60] or "-")
        verdict = score.verdict + (f" {score.kills}/{len(score.runs)}" if len(score.runs) > 1 else "")
        if any(r.reported != "violation" for r in score.runs):
            verdict += "*"
        run_s = statistics.median(r.seconds for r in score.runs)
        rows.append((score.variant, verdict, by, _short_property(score.expected),
                     _seconds(score.median_first_failure), f"{run_s:.0f}")
                    + ((" ".join(r.reproduction or "-" for r in score.runs),) if reproductions else ()))
    return _render(rows)


def _render(rows: list[tuple]) -> str:
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


# -------------------------------------------------------------------------------------------------------- main


def main(args: argparse.Namespace) -> int:
    _check_args(args)
    if args.list:
        for variant in _catalogue().values():
            print(f"{variant.name:<32} {variant.fault}  [{variant.expected}]")
        return ExitCode.OK
    seed = args.seed if args.seed is not None else secrets.randbelow(2 ** 31)
    report_dir = Path(args.report_dir).resolve()  # children run in their own report folders
    if args.false_alarms is not None:
        return false_alarms(args, seed, report_dir)
    variants = chosen_variants(args.variants)
    runs = [Run(v.name, v.spec, seed + k, str(report_dir / f"{v.name}-{seed + k}"))
            for v in variants for k in range(args.repeat)]
    print(f"mutants: {len(variants)} variant{'s' * (len(variants) != 1)} x {args.repeat} run"
          f"{'s' * (args.repeat != 1)}, profile {args.profile}, seeds from {seed}, {args.jobs} at once", flush=True)
    started = time.monotonic()

    def progress(run: Run) -> None:
        repro = f", reproduction {run.reproduction}" if run.reproduction else ""
        print(f"  {run.variant:<32} seed {run.seed:<11} {run.verdict:<8} first failure "
              f"{_seconds(run.first_failure):>6} s, run {run.seconds:5.1f} s{repro}", flush=True)

    done = run_all(runs, args.profile, jobs=args.jobs, timeout=args.timeout, shrink_seconds=args.shrink_seconds,
                   progress=progress, reproductions=args.check_reproductions)
    elapsed = time.monotonic() - started
    scores = [Score(v.name, v.fault, v.expected, [r for r in done if r.variant == v.name]) for v in variants]
    killed = sum(s.verdict == "killed" for s in scores)
    print()
    print(mutant_table(scores, args.check_reproductions))
    print()
    percent = 100.0 * killed / len(scores)
    print(f"mutation score: {killed}/{len(scores)} killed ({percent:.1f}%) under profile {args.profile}; "
          f"seeds {seed}..{seed + args.repeat - 1}; {elapsed:.0f} s in total")
    flagged = [s.variant for s in scores if any(r.reported != "violation" for r in s.runs)]
    if flagged:
        print(f"  * not killed: a violation was raised, but the run reported a suite error instead (see each "
              f"run's results.json; the violation is the probe's first): {', '.join(flagged)}")
    for score in scores:
        if score.verdict != "killed":
            bad = next(r for r in score.runs if r.verdict != "killed")
            print(f"  {score.variant} {score.verdict.lower()}: {score.fault}; repeat with: {bad.repeat_line}"
                  + (f" ({bad.detail})" if bad.detail else ""))
    misbehaving = [s.variant for s in scores if not s.reproductions_behave]
    if misbehaving:
        print(f"  reproductions that did not exit 1 against the variant and 0 against the emulator (see "
              f"repro-*.log in each run's folder): {', '.join(misbehaving)}")
    summary = {"kind": "mutants", "profile": args.profile, "seed": seed, "repeat": args.repeat, "jobs": args.jobs,
               "killed": killed, "total": len(scores), "score": killed / len(scores), "seconds": elapsed,
               "variants": [s.to_dict() for s in scores]}
    _write_summary(report_dir / "mutants.json", summary)
    print(f"summary: {report_dir / 'mutants.json'}")
    return ExitCode.OK if killed == len(scores) and not misbehaving else ExitCode.VIOLATED


def false_alarms(args: argparse.Namespace, seed: int, report_dir: Path) -> int:
    """The correct emulator, N seeds: every run must hold (no false alarm)."""
    runs = [Run("InvoicingBackend", CORRECT, seed + k, str(report_dir / f"clean-{seed + k}"), stop_at_first=False)
            for k in range(args.false_alarms)]
    print(f"false alarms: the correct emulator, {len(runs)} run{'s' * (len(runs) != 1)}, profile {args.profile}, "
          f"seeds {seed}..{seed + len(runs) - 1}, {args.jobs} at once", flush=True)
    started = time.monotonic()

    def progress(run: Run) -> None:
        verdict = {"survived": "passed", "killed": "FALSE ALARM"}.get(run.verdict, run.verdict.upper())
        print(f"  seed {run.seed:<11} {verdict:<12} {run.violations} violations, {run.seconds:5.1f} s", flush=True)

    done = run_all(runs, args.profile, jobs=args.jobs, timeout=args.timeout, shrink_seconds=args.shrink_seconds,
                   progress=progress)
    elapsed = time.monotonic() - started
    bad = [r for r in done if r.verdict != "survived"]
    for run in done:
        run.verdict = "passed" if run.verdict == "survived" else (
            "FALSE ALARM" if run.verdict == "killed" else run.verdict.upper())
    rows = [("seed", "verdict", "violations", "first violation", "run s")]
    for run in done:
        caught = run.caught_by
        rows.append((run.seed, run.verdict, run.violations,
                     f"{caught.get('property')} / {caught.get('check')} ({caught.get('operation')})" if caught else
                     (run.detail[:60] or "-"), f"{run.seconds:.0f}"))
    print()
    print(_render(rows))
    print()
    times = [r.seconds for r in done]
    print(f"{len(done) - len(bad)}/{len(done)} runs of the correct emulator passed (profile {args.profile}, seeds "
          f"{seed}..{seed + len(done) - 1}); median run {statistics.median(times):.0f} s, {elapsed:.0f} s in total")
    for run in bad:
        print(f"  seed {run.seed}: {run.verdict}; repeat with: {run.repeat_line}")
    _write_summary(report_dir / "false-alarms.json",
                   {"kind": "false-alarms", "profile": args.profile, "seed": seed, "runs": len(done),
                    "passed": len(done) - len(bad), "seconds": elapsed, "run_details": [asdict(r) for r in done]})
    print(f"summary: {report_dir / 'false-alarms.json'}")
    return ExitCode.OK if not bad else ExitCode.VIOLATED


def run_cli(argv: list[str]) -> int:
    """`invoicing-contracts mutants ARGV...` in this process (for scripts and the benchmarks): a usage error is
    printed as one line and returns 2, as the CLI does."""
    parser = argparse.ArgumentParser(prog="invoicing-contracts mutants", description=__doc__.splitlines()[0])
    add_arguments(parser)
    try:
        return main(parser.parse_args(argv))
    except UsageError as error:
        print(f"invoicing-contracts mutants: {error}", file=sys.stderr)
        return ExitCode.USAGE


def _write_summary(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, default=str) + "\n")


# ------------------------------------------------------------------------ the probe (a pytest plugin in the child)
# Loaded with `-p contracts.cli.mutants` in the child process only: these hooks are inert unless PROBE_ENV is set.

_PROBE: dict = {}


def pytest_configure(config) -> None:
    path = os.environ.get(PROBE_ENV)
    if not path:
        return
    from contracts.checks import ContractViolation

    _PROBE.update(path=path, started=time.monotonic(), first_violation_at=None, first_violation=None,
                  first_failed_test_at=None)
    original = ContractViolation.__init__

    def noting_init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        if _PROBE.get("first_violation_at") is None:
            _PROBE["first_violation_at"] = time.monotonic() - _PROBE["started"]
            _PROBE["first_violation"] = {"property": self.property, "check": self.check,
                                         "operation": self.operation, "title": self.title}

    ContractViolation.__init__ = noting_init
    shrink = os.environ.get(SHRINK_ENV)
    if shrink:
        _PROBE["shrink_seconds"] = int(shrink)  # applied at session start, after the suite set the profile's


def pytest_sessionstart(session) -> None:
    if _PROBE:
        _PROBE["started"] = time.monotonic()  # the suite's clock starts here, after imports and configuration
        if "shrink_seconds" in _PROBE:
            limit_shrinking(_PROBE["shrink_seconds"])


def pytest_runtest_logreport(report) -> None:
    if _PROBE and report.failed and _PROBE.get("first_failed_test_at") is None:
        _PROBE["first_failed_test_at"] = time.monotonic() - _PROBE["started"]


def pytest_sessionfinish(session) -> None:
    if not _PROBE:
        return
    data = {k: v for k, v in _PROBE.items() if k not in ("path", "started")}
    data["suite_seconds"] = time.monotonic() - _PROBE["started"]
    Path(_PROBE["path"]).write_text(json.dumps(data, indent=2) + "\n")
