"""`invoicing-contracts packs`: the contract packs and their operations; and `run --service NAME`, which checks
a pack against moto in-process (`--target moto`) or an endpoint (`--target endpoint --endpoint-url URL`).

A pack whose data disagrees with the installed model fails the run before anything is sent (exit 1, every
disagreement listed); an endpoint that does not answer is exit 3; the rest is `run`'s: the same reports and exit
codes (contracts.cli.run.conclude)."""

from __future__ import annotations

import argparse
import sys
from typing import Callable

from contracts.calls import Trace
from contracts.engine.context import RunContext
from contracts.engine.targets import ConfigError, ServiceTarget, TargetError
from contracts.exit_codes import ExitCode, UsageError
from contracts.options import RunOptions
from contracts.packs import pack as packs


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("service", nargs="?", help="only this pack")


def main(args: argparse.Namespace) -> int:
    names = packs.names()
    if args.service and args.service not in names:
        raise UsageError(f"no contract pack for {args.service!r}; packs: {', '.join(names)}")
    for name in [args.service] if args.service else names:
        try:
            groups = packs.operations_of(name)
        except packs.PackDataError as error:
            print(f"{name}: does not load: {error}")
            continue
        target = "mock (default), endpoint, aws" if name == "invoicing" else "moto, endpoint"
        print(f"{name}  (--service {name}; targets: {target})")
        for group, operations in groups.items():
            if operations:
                print(f"  {group}: {', '.join(operations)}")
    return ExitCode.OK


def run_pack(options: RunOptions, run_suite: Callable[[RunContext, None], int]) -> int:
    try:
        pack = packs.load(options.service)
    except packs.PackDataError as error:
        print(f"invoicing-contracts run: the {options.service} pack cannot be checked against the installed "
              f"model: {error}", file=sys.stderr)
        return ExitCode.VIOLATED
    unknown = [name for name in options.operations if name not in pack.operation_names]
    if unknown:
        raise UsageError(f"--operations {', '.join(unknown)}: not in the {pack.service} pack "
                         f"({', '.join(pack.operation_names)})")
    try:
        target = ServiceTarget(pack.service, options.target, Trace(), endpoint_url=options.endpoint_url,
                               fault=options.mock_backend)
        if options.target == "endpoint":
            target.probe()
    except ConfigError as error:
        raise UsageError(str(error)) from None
    except TargetError as error:
        print(f"invoicing-contracts run: {error}", file=sys.stderr)
        return ExitCode.UNSAFE
    if not options.operations:
        options = options.replace(operations=pack.operation_names)  # what the reports call selected
    return run_suite(RunContext(options), None)
