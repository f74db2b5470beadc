"""`invoicing-contracts sweep`: delete what real-account runs created (contracts.guard.sweep does the work)."""

from __future__ import annotations

import argparse

from contracts.guard.sweep import DEFAULT_ALL_RUNS_MIN_AGE, DEFAULT_PENDING_GRACE, SweepOptions, run_sweep
from contracts.options import DEFAULT_NAME_PREFIX, RunOptions, add_argparse_options

# Declared once in contracts.options, and meaning the same here as for `run --target aws`.
SHARED = ("allow_real_account", "allowed_account", "aws_profile", "aws_region", "max_rate", "ledger_dir")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--ledger", action="append", default=[], metavar="FILE",
                        help="a run's ledger (repeatable); default: every ledger in --ledger-dir not yet swept")
    parser.add_argument("--run-id", default=None, help="also delete what carries this run's tags")
    parser.add_argument("--all-runs", action="store_true",
                        help="delete what carries any run's tags (runs younger than --min-age are left alone)")
    parser.add_argument("--min-age", type=float, default=None, metavar="SECONDS",
                        help=f"with --all-runs: leave runs younger than this (default {DEFAULT_ALL_RUNS_MIN_AGE:g})")
    parser.add_argument("--target", choices=("aws", "endpoint"), default=None,
                        help="where the resources are (default: what the ledgers say)")
    parser.add_argument("--endpoint-url", default=None, help="the endpoint (default: the one the ledgers record)")
    parser.add_argument("--name-prefix", default=DEFAULT_NAME_PREFIX,
                        help="the runs' invoice-unit name prefix, for --run-id/--all-runs")
    parser.add_argument("--pending-grace", type=float, default=DEFAULT_PENDING_GRACE, metavar="SECONDS",
                        help="how long a create whose answer was lost may take to appear before it counts as "
                             f"never made (default {DEFAULT_PENDING_GRACE:g})")
    parser.add_argument("--dry-run", action="store_true", help="say what would be deleted; delete nothing")
    add_argparse_options(parser, names=SHARED)


def options_from(args: argparse.Namespace) -> SweepOptions:
    # The shared flags are parsed and checked the way `run` does it (UsageError on a bad value); as `run` only
    # takes them with --target aws, they are read as such.
    shared = RunOptions.from_values({"target": "aws", **{name: getattr(args, name) for name in SHARED}})
    return SweepOptions(
        ledgers=tuple(args.ledger), ledger_dir=shared.ledger_dir, run_id=args.run_id, all_runs=args.all_runs,
        min_age=args.min_age, target=args.target, endpoint_url=args.endpoint_url, name_prefix=args.name_prefix,
        pending_grace=args.pending_grace, dry_run=args.dry_run, max_rate=shared.max_rate,
        allow_real_account=shared.allow_real_account, allowed_account=shared.allowed_account,
        aws_profile=shared.aws_profile, aws_region=shared.aws_region,
    )


def main(args: argparse.Namespace) -> int:
    return run_sweep(options_from(args))
