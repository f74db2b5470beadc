"""`invoicing-contracts`: one entry point, one module per subcommand.

Each subcommand module provides `add_arguments(parser)` and `main(args) -> int`, and may set
`CHECK_MODEL = False` when it does not need the installed botocore model (e.g. `diff` reads model files).
Exit codes: 0 all contracts hold, 1 a contract is violated, 2 usage error, 3 target unreachable or unsafe.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from contracts.exit_codes import ExitCode, UsageError
from contracts.model import ModelTooOld, check_installed_model
from strategies import UnknownName

COMMANDS = {
    "run": ("contracts.cli.run", "check the Invoicing contracts against a target (the main job)"),
    "serve": ("invoicing_mock.server", "serve the Invoicing emulator over HTTP"),
    "diff": ("contracts.drift.gate", "semantic diff and changelog of two Invoicing service models"),
    "coverage": ("contracts.cli.coverage", "which model constraints the invalid-request strategies violate"),
    "mutants": ("contracts.cli.mutants", "run the suite against each planted-fault variant: mutation score, time to kill"),
    "merge": ("contracts.cli.merge", "join the report directories of a run's shards (run --shard i/n) into one report"),
    "sweep": ("contracts.cli.sweep", "delete what real-account runs created (from their ledgers or tags)"),
    "packs": ("contracts.cli.packs", "list the contract packs (Invoicing and other services) and their operations"),
    "parity": ("contracts.cli.parity", "compare two behaviour baselines: a Markdown and HTML table of differences"),
}


def build_parser() -> tuple[argparse.ArgumentParser, dict]:
    parser = argparse.ArgumentParser(prog="invoicing-contracts", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    modules = {}
    for name, (module_name, help_text) in COMMANDS.items():
        module = importlib.import_module(module_name)
        module.add_arguments(sub.add_parser(name, help=help_text, description=help_text))
        modules[name] = module
    return parser, modules


def main(argv: list[str] | None = None) -> int:
    parser, modules = build_parser()
    args = parser.parse_args(argv)
    module = modules[args.command]
    try:
        if getattr(module, "CHECK_MODEL", True):
            check_installed_model()
        return module.main(args)
    except (ModelTooOld, UnknownName, UsageError) as error:
        print(f"invoicing-contracts {args.command}: {error}", file=sys.stderr)
        return ExitCode.USAGE

