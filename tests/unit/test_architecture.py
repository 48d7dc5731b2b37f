"""The package layout, checked: no import cycles, the sandbox stands apart, the top level stays small.

Imports are read from the source with ``ast``, not by importing. An import inside a function counts
(it runs, only later); one under ``if TYPE_CHECKING:`` does not (it never runs). An edge goes to the
module an import executes: ``from vastplan.kinds import KINDS`` to ``vastplan.kinds`` (its
``__init__``), ``from vastplan.api import instances`` to ``vastplan.api.instances``. The parent
packages Python initialises on the way are not edges, or every package ``__init__`` that loads a
submodule lazily (``vastplan.cli.main``) would look like a cycle.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MAX_TOP_LEVEL_MODULES = 6  # __init__, __main__, errors, diagnostics, and room for addresses and session

Graph = Mapping[str, set[str]]


def modules(root: Path, package: str) -> dict[str, Path]:
    """Dotted module name -> source file, for every module of ``package`` (packages by their __init__)."""
    found = {}
    for path in sorted((root / package).rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _import_nodes(node: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.Import | ast.ImportFrom):
            yield child
        elif isinstance(child, ast.If) and _type_checking(child.test):
            yield from _import_nodes(ast.Module(body=child.orelse, type_ignores=[]))
        else:
            yield from _import_nodes(child)


def _named(name: str, is_package: bool, node: ast.Import | ast.ImportFrom) -> Iterator[str]:
    if isinstance(node, ast.Import):
        yield from (alias.name for alias in node.names)
        return
    base = node.module or ""
    if node.level:  # relative: resolve against the importing module's package
        package = name.split(".") if is_package else name.split(".")[:-1]
        base = ".".join(package[: len(package) - node.level + 1] + ([base] if base else []))
    for alias in node.names:
        yield f"{base}.{alias.name}"  # a submodule, or else a name inside ``base``


def imports(name: str, path: Path, known: Mapping[str, Path]) -> set[str]:
    """The modules of ``known`` that the module ``name`` imports (itself excluded)."""
    edges = set()
    for node in _import_nodes(ast.parse(path.read_text(), str(path))):
        for target in _named(name, path.name == "__init__.py", node):
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                edges.add(target)
    return edges


def import_graph(root: Path, package: str) -> dict[str, set[str]]:
    known = modules(root, package)
    return {name: imports(name, path, known) for name, path in known.items()}


def find_cycle(graph: Graph) -> list[str] | None:
    try:
        TopologicalSorter(graph).prepare()
    except CycleError as cycle:
        return list(cycle.args[1])
    return None


@pytest.mark.parametrize("package", ["vastplan", "vastsandbox"])
def test_no_import_cycle(package: str) -> None:
    graph = import_graph(ROOT, package)
    assert len(graph) > 20  # the walk found the package, not an empty folder
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_the_sandbox_imports_nothing_from_vastplan() -> None:
    known = {**modules(ROOT, "vastplan"), **modules(ROOT, "vastsandbox")}
    crossing = {f"{name} -> {target}" for name, path in known.items() if name.startswith("vastsandbox")
                for target in imports(name, path, known) if target.split(".")[0] == "vastplan"}
    assert not crossing


def test_vastplan_has_at_most_six_top_level_modules() -> None:
    top = sorted(path.name for path in (ROOT / "vastplan").glob("*.py"))
    assert len(top) <= MAX_TOP_LEVEL_MODULES, f"{len(top)} modules at the top of vastplan/: {top}"


def test_the_checks_see_a_cycle_through_a_lazy_import_and_not_through_type_checking(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from pkg.b import helper\n")
    (pkg / "b.py").write_text("def helper():\n    from pkg import a\n")
    (pkg / "c.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.a import x\n")
    (pkg / "d.py").write_text("from .c import y\n")
    graph = import_graph(tmp_path, "pkg")
    assert graph["pkg.c"] == set() and graph["pkg.d"] == {"pkg.c"}
    assert sorted(find_cycle(graph) or []) == ["pkg.a", "pkg.a", "pkg.b"]
