"""The layout as a test: the import-linter contracts in pyproject.toml hold, no import cycle exists anywhere in
the three packages (imports inside functions count), and the suite ships in the package."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("contracts", "strategies", "invoicing_mock")


def test_the_import_linter_contracts_hold():
    done = subprocess.run([sys.executable, "-m", "importlinter.cli", "--config", str(ROOT / "pyproject.toml")],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)
    if done.returncode != 0 and "No module named importlinter.cli" in done.stderr:
        done = subprocess.run([str(Path(sys.executable).with_name("lint-imports")), "--config",
                               str(ROOT / "pyproject.toml")], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "BROKEN" not in done.stdout


def cycle_in(graph) -> list[str] | None:
    """One import cycle among the graph's modules (as the path that closes it), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(module: str, path: list[str]) -> list[str] | None:
        state[module] = 1
        for imported in sorted(graph.find_modules_directly_imported_by(module)):
            if state.get(imported) == 1:
                return path[path.index(imported):] + [module, imported] if imported in path else [module, imported]
            if imported not in state:
                found = visit(imported, path + [module])
                if found:
                    return found
        state[module] = 2
        return None

    for module in sorted(graph.modules):
        if module not in state:
            found = visit(module, [])
            if found:
                return found
    return None


def test_there_is_no_import_cycle():
    graph = grimp.build_graph(*PACKAGES)
    cycle = cycle_in(graph)
    assert cycle is None, " -> ".join(cycle)


def test_the_cycle_finder_finds_a_planted_cycle():
    graph = grimp.ImportGraph()
    for name in ("a", "a.b", "a.c", "a.d"):
        graph.add_module(name)
    graph.add_import(importer="a.b", imported="a.c")
    graph.add_import(importer="a.c", imported="a.d")
    assert cycle_in(graph) is None
    graph.add_import(importer="a.d", imported="a.b")
    assert cycle_in(graph) is not None


@pytest.mark.parametrize("module", ["contracts.suite.test_stateless", "contracts.suite.test_idempotency",
                                    "contracts.suite.test_reads", "contracts.suite.test_faults", "contracts.plugin"])
def test_the_suite_ships_in_the_package(module):
    __import__(module)
    assert Path(sys.modules[module].__file__).resolve().is_relative_to(ROOT / "contracts")
