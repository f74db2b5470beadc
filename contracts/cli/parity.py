"""`invoicing-contracts parity A B`: compare two behaviour baselines (`run --record-baseline`), e.g. the emulator
against an account, or an account before and after an AWS release.

Writes parity.md and parity.html (differences, behaviours observed on one side only, agreements) to --report-dir
and prints a one-screen summary. Exit codes: 0 the baselines agree, 1 they differ, 2 bad input (a file missing,
not JSON, or not a baseline).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from contracts.exit_codes import ExitCode
from contracts.options import DEFAULT_REPORT_DIR
from contracts.reporting import baseline, parity

CHECK_MODEL = False  # it reads two files; the installed model plays no part


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("a", metavar="A", help="a behaviour baseline (e.g. recorded against the emulator)")
    parser.add_argument("b", metavar="B", help="another one (e.g. recorded against the account)")
    parser.add_argument("--report-dir", default=DEFAULT_REPORT_DIR,
                        help=f"where parity.md and parity.html go (default {DEFAULT_REPORT_DIR}/)")
    parser.add_argument("--label-a", help="what A is called in the report (default: its file name)")
    parser.add_argument("--label-b", help="what B is called in the report (default: its file name)")


def main(args: argparse.Namespace) -> int:
    a, b = baseline.load(args.a), baseline.load(args.b)  # UsageError: exit 2
    sides = parity.Sides(args.label_a or Path(args.a).name, args.label_b or Path(args.b).name)
    if sides.a == sides.b:  # two files of one name in different directories: keep the columns apart
        sides = parity.Sides(str(args.a), str(args.b))
    comparison = baseline.compare(a, b)
    paths = parity.write(comparison, sides, Path(args.report_dir))
    for line in parity.summary(comparison, sides):
        print(line)
    print(f"report: {paths['markdown']} (and .html)")
    return ExitCode.OK if comparison.agree else ExitCode.VIOLATED
