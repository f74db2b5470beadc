"""`invoicing-contracts merge DIR...`: join the parts of one run (`run --shard i/n` on n CI machines) into one report.

Each DIR is the report directory of one part; merge reads its `results.state.json` (every run writes it beside
results.json), checks that the parts are of one run (the same seed, profile, target and operations) and together
are the whole of it (shards 1..n, each once), and writes junit.xml, results.json, behaviour.md and .html of the
whole, with the console summary of `run`. The exit code is the one `run` would give: 0 every contract holds, 1 a
contract is violated, a part could not check one or the drift gate failed, 2 the parts do not make one run.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from contracts import reporting
from contracts.cli.run import conclude
from contracts.engine import parallel
from contracts.engine.results import Results
from contracts.exit_codes import UsageError
from contracts.options import DEFAULT_REPORT_DIR, RunOptions

CHECK_MODEL = False  # it reads results, not the model


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dirs", nargs="+", metavar="DIR", help="report directories of the parts (run --shard i/n)")
    parser.add_argument("--report-dir", default=DEFAULT_REPORT_DIR,
                        help=f"where the merged reports go (default {DEFAULT_REPORT_DIR}/)")
    parser.add_argument("--partial", action="store_true",
                        help="merge even if shards are missing (the report says which; the exit code is 1)")


def merge_parts(documents: list[dict], *, partial: bool = False) -> tuple[Results, list[str]]:
    """The Results of the whole run, and the problems that make it incomplete. UsageError when the parts are
    not of one run."""
    first = documents[0]
    for key in ("seed", "profile", "target", "operations"):
        values = {repr(d.get(key)) for d in documents}
        if len(values) > 1:
            raise UsageError(f"the parts are not of one run: their {key} differ ({', '.join(sorted(values))})")
    shards = [parallel.Shard.parse(d["shard"]) if d.get("shard") else None for d in documents]
    problems = []
    if None in shards:
        if len(documents) > 1:
            raise UsageError("a part was not run with --shard i/n: it is a whole run already, and merging it with "
                             "another would count its tests twice")
    else:
        counts = {s.count for s in shards}
        if len(counts) > 1:
            raise UsageError(f"the parts split the run differently: {', '.join(str(s) for s in shards)}")
        seen = [s.index for s in shards]
        twice = sorted({i for i in seen if seen.count(i) > 1})
        if twice:
            raise UsageError(f"shard{'s' * (len(twice) > 1)} {', '.join(map(str, twice))} given twice")
        missing = sorted(set(range(1, counts.pop() + 1)) - set(seen))
        if missing:
            text = f"shard{'s' * (len(missing) > 1)} {', '.join(f'{i}/{shards[0].count}' for i in missing)} missing"
            if not partial:
                raise UsageError(f"{text}; give every part's directory (or --partial)")
            problems.append(text)
    results = Results.from_state(first["results"])
    for document in documents[1:]:
        results.merge(Results.from_state(document["results"]))
    results.meta["duration_seconds"] = max(d["results"]["meta"].get("duration_seconds", 0) for d in documents)
    results.meta.pop("shard", None)
    results.meta["shards"] = [str(s) for s in shards if s is not None]
    for problem in problems:
        results.add_error("(run)", "suite-error", f"merge: {problem}: the report covers part of the run")
    return results, problems


def main(args: argparse.Namespace) -> int:
    try:
        documents = [parallel.read_state(Path(d)) for d in args.dirs]
    except ValueError as error:
        raise UsageError(str(error)) from None
    results, _problems = merge_parts(documents, partial=args.partial)
    first = documents[0]
    options = RunOptions(target=first["target"], profile=first["profile"], seed=first["seed"],
                         operations=tuple(first["operations"]), report_dir=args.report_dir)
    report_dir = Path(args.report_dir)
    reporting.write_reports(results, report_dir)
    # The worst part decides, as pytest's exit code does in `run` (a part that could not run fails the whole).
    code = max((d["pytest_exit"] for d in documents), key=_severity)
    parallel.write_state(results, report_dir, options=options, pytest_exit=code)
    gate = _Gate(results.meta.get("drift"))
    print(f"merged {len(documents)} part{'s' * (len(documents) != 1)}: {', '.join(args.dirs)}")
    return conclude(results, code, results.meta.get("duration_seconds", 0.0), options,
                    gate if gate.data else None, command="merge")


def _severity(code: int) -> int:
    # pytest: 0 ok, 5 no tests (a shard may hold none), 1 failed, 2 interrupted, 4 usage, 3 internal error.
    return {0: 0, 5: 0, 1: 1, 2: 2, 4: 3, 3: 4}.get(code, 4)


class _Gate:
    """The drift verdict as the parts recorded it (`run` computed it before the suite ran)."""

    def __init__(self, data: dict | None):
        self.data = data or {}
        self.failures = list(self.data.get("gate_failures", []))
        self.summary = (f"model drift: {self.data.get('installed', '?')} against the {self.data.get('snapshot', '?')}; "
                        f"gate {'FAILED' if self.failures else 'passed'}")

    @property
    def failed(self) -> bool:
        return bool(self.failures)

