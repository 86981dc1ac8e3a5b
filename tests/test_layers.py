"""The package's layers import only downward, and nothing imports in a cycle.

Every import counts: at module level, inside functions, under ``TYPE_CHECKING``, and through
``importlib.import_module`` / ``__import__`` with a literal name. Layers, lowest first:

    leaf        herd_cfn (version), names, errors, fields: import nothing of ours
    config      parameters/ loaded and validated against a schema it is handed
    templates   the stack interface, helpers, registry, stacks, inline Lambda sources
    build       rendering output/, parameter checks, lint, the picture
    emulator    moto and our fixes of it (the only place moto is imported)
    operations  boto3: sessions, waiting, progress, and the commands' logic
    cli         argument parsing, one module per command
"""

from __future__ import annotations

import ast
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import pytest

from tests.conftest import ROOT

PACKAGE = ROOT / "herd_cfn"
LAYERS = ("leaf", "config", "templates", "build", "emulator", "operations", "cli")
LEAF_MODULES = {"herd_cfn", "herd_cfn.names", "herd_cfn.errors", "herd_cfn.fields"}
MAX_TOP_LEVEL_MODULES = 8


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _layer(module: str) -> str:
    if module in LEAF_MODULES:
        return "leaf"
    if module == "herd_cfn.__main__":
        return "cli"
    return module.split(".")[1]


def _resolve(name: str) -> str | None:
    """The herd_cfn module an import names (``from a.b import c`` may name module a.b.c)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    package = _module_name(path) if path.name == "__init__.py" else _module_name(path).rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{parent}.{base}" if base else parent
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
        elif (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)
              and isinstance(node.args[0].value, str)
              and ((isinstance(node.func, ast.Attribute) and node.func.attr == "import_module")
                   or (isinstance(node.func, ast.Name) and node.func.id in ("__import__", "import_module")))):
            found.add(node.args[0].value)
    return found


def _graph() -> dict[str, set[str]]:
    graph = {}
    for module, path in MODULES.items():
        own = {_resolve(name) for name in _imports(path) if name == "herd_cfn" or name.startswith("herd_cfn.")}
        # A module's own package __init__ runs first anyway; importing it is not a dependency edge.
        graph[module] = {m for m in own if m and m != module and not module.startswith(f"{m}.")}
    return graph


GRAPH = _graph()


def test_every_package_is_in_a_layer():
    assert {_layer(m) for m in MODULES} <= set(LAYERS)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_only_its_own_layer_or_lower(module):
    rank = LAYERS.index(_layer(module))
    upward = sorted(m for m in GRAPH[module] if LAYERS.index(_layer(m)) > rank)
    assert not upward, f"{module} ({_layer(module)}) imports a higher layer: {upward}"


def test_leaf_modules_import_nothing_of_ours():
    for module in LEAF_MODULES:
        assert not GRAPH[module], f"{module} imports {sorted(GRAPH[module])}"


def test_no_import_cycle():
    try:
        TopologicalSorter(GRAPH).prepare()
    except CycleError as exc:
        pytest.fail(f"import cycle: {' -> '.join(exc.args[1])}")


def test_moto_only_in_the_emulator():
    users = sorted(m for m, p in MODULES.items() if any(n == "moto" or n.startswith("moto.") for n in _imports(p))
                   and _layer(m) != "emulator")
    assert not users


def test_few_top_level_modules():
    top = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert len(top) <= MAX_TOP_LEVEL_MODULES, top


def test_the_graph_sees_imports_inside_functions():
    # The check itself can fail: operations.local imports the emulator only inside a function.
    assert "herd_cfn.emulator.server" in GRAPH["herd_cfn.operations.local"]
