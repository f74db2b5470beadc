"""The emulator's shape as a test: what it may import, no import cycles inside it, and variants that plant their
faults through the backend's public hooks only. Reads the source with `ast`, so it needs nothing beyond the
standard library (import-linter says the same in CI where it is installed)."""

from __future__ import annotations

import ast
import inspect
import sys
from pathlib import Path

import pytest

from botocore import xform_name

from invoicing_mock import mutants, planted
from invoicing_mock.models import HOOKS, InvoicingBackend, base, invoice_units, procurement_portals
from strategies import service_model

PACKAGE = Path(__file__).resolve().parents[3] / "invoicing_mock"
#: Third-party packages the emulator may use, besides the project's model and validation layers.
THIRD_PARTY = {"botocore", "moto"}
#: Imported only inside functions, where they are known to be loaded already (see invoicing_mock.organization).
LAZY_ONLY = {"moto"}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def imports_of(path: Path) -> list[tuple[str, bool, int]]:
    """(imported module, inside a function, line) for every import of a module, TYPE_CHECKING blocks included."""
    tree = ast.parse(path.read_text())
    found = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            nested = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if isinstance(child, ast.Import):
                found.extend((alias.name, nested, child.lineno) for alias in child.names)
            elif isinstance(child, ast.ImportFrom) and child.level == 0 and child.module != "__future__":
                # `from invoicing_mock import synthetic` imports a submodule, not a name of the package's __init__.
                submodules = [f"{child.module}.{alias.name}" for alias in child.names
                              if f"{child.module}.{alias.name}" in MODULES]
                if len(submodules) < len(child.names):
                    found.append((child.module, nested, child.lineno))
                found.extend((module, nested, child.lineno) for module in submodules)
            visit(child, nested)

    visit(tree, False)
    return found


@pytest.mark.parametrize("name", list(MODULES))
def test_the_emulator_imports_only_the_model_and_validation_layers(name):
    wrong = []
    for target, in_function, line in imports_of(MODULES[name]):
        top = target.split(".")[0]
        if top in ("strategies", "contracts"):
            allowed = target == top  # the public face: never strategies._x, never a contracts layer above
        elif top == "invoicing_mock" or top in sys.stdlib_module_names:
            allowed = True
        else:
            allowed = top in THIRD_PARTY
        if in_function and top not in LAZY_ONLY:
            wrong.append(f"line {line}: {target} is imported inside a function; import it at the top")
        elif top in LAZY_ONLY and not in_function:
            wrong.append(f"line {line}: {target} at module level would load it for every user; import it lazily")
        elif not allowed:
            wrong.append(f"line {line}: {target} is not the model or validation layer")
    assert not wrong, f"{name}: " + "; ".join(wrong)


def test_no_import_cycles_inside_the_emulator():
    graph = {name: {t for t, _, _ in imports_of(path) if t in MODULES and t != "invoicing_mock"}
             for name, path in MODULES.items()}
    # Importing a submodule runs its package's __init__ first: a package imports its own children.
    done, chain, cycles = set(), [], []

    def walk(name: str) -> None:
        if name in chain:
            cycles.append(chain[chain.index(name):] + [name])
            return
        if name in done:
            return
        chain.append(name)
        for target in sorted(graph[name]):
            walk(target)
        chain.pop()
        done.add(name)

    for name in graph:
        walk(name)
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(cycle) for cycle in cycles)
    through_init = [name for name, path in MODULES.items() if "invoicing_mock" in {t for t, _, _ in imports_of(path)}]
    # The package's __init__ imports core, which imports the backend: a module taking a name from it closes a circle.
    assert not through_init, f"{through_init} import names from invoicing_mock/__init__; import the defining module"


# ------------------------------------------------------------------------------------------------ variants

VARIANTS = {**{v.name: v.cls for v in mutants.CATALOGUE.values()}, **planted.VARIANTS,
            "FreshArnOnReplayRecordingSecrets": mutants.FreshArnOnReplayRecordingSecrets}
BASE_SOURCE = inspect.getsource(base)


def operation_methods() -> set[str]:
    return {xform_name(op) for op in service_model("invoicing").operation_names}


def private_backend_names() -> set[str]:
    """Underscore names of the backend's methods and state (a variant must neither read nor override them)."""
    backend = InvoicingBackend()
    return {name for name in set(dir(InvoicingBackend)) | set(vars(backend))
            if name.startswith("_") and not name.startswith("__")}


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_is_documented_and_used_by_the_backend(hook):
    assert (getattr(InvoicingBackend, hook).__doc__ or "").strip(), f"hook {hook} has no docstring"
    hook_list = base.__doc__.split("Public hooks:")[1]
    assert f"    {hook}(" in hook_list, f"{hook} is missing from the hook list of invoicing_mock.models.base"
    users = BASE_SOURCE + "".join(inspect.getsource(module) for module in (invoice_units, procurement_portals))
    assert f"self.{hook}(" in users, f"the backend never calls {hook}: overriding it would change nothing"


@pytest.mark.parametrize("name", list(VARIANTS))
def test_a_variant_overrides_only_public_hooks_and_operation_methods(name):
    cls = VARIANTS[name]
    chain = cls.__mro__[: cls.__mro__.index(InvoicingBackend)]
    allowed = set(HOOKS) | operation_methods() | {"handle", "__init__"}
    overridden = {attr for klass in chain for attr, value in vars(klass).items()
                  if inspect.isfunction(value) and hasattr(InvoicingBackend, attr)}
    assert overridden <= allowed, f"{name} overrides {sorted(overridden - allowed)}, which are not public hooks"
    used = {node.attr for klass in chain for node in ast.walk(ast.parse(inspect.getsource(klass)))
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "self"}
    own = {attr for klass in chain for attr in vars(klass)}
    private = (used & private_backend_names()) - own
    assert not private, f"{name} uses the backend's private {sorted(private)}"


def test_every_operation_method_lives_in_a_resource_family():
    for method in operation_methods():
        owner = next(klass for klass in InvoicingBackend.__mro__ if method in vars(klass))
        assert owner.__module__.startswith("invoicing_mock.models.") and owner is not base.BackendBase, method
