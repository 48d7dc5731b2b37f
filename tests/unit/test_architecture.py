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
import re
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


def reaches(root: Path, package: str, forbidden: tuple[str, ...]) -> set[str]:
    """``module -> import`` for each import under the folder ``package`` of a module in ``forbidden`` or
    below it; TYPE_CHECKING imports count here (a type named is a type depended on)."""
    found = set()
    for name, path in modules(root, package).items():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import | ast.ImportFrom):
                found |= {f"{name} -> {target}" for target in _named(name, path.name == "__init__.py", node)
                          if any(target == f or target.startswith(f + ".") for f in forbidden)}
    return found


def test_the_sandbox_world_knows_no_http() -> None:
    """The emulated account and market are free of the wire: no aiohttp, nothing from vastsandbox.http."""
    assert len(modules(ROOT, "vastsandbox/world")) > 20
    assert not reaches(ROOT, "vastsandbox/world", ("vastsandbox.http", "aiohttp"))


def test_the_sandbox_top_level_is_its_entry_point_only() -> None:
    top = sorted(path.name for path in (ROOT / "vastsandbox").glob("*.py"))
    assert top == ["__init__.py", "server.py"]


def test_the_world_check_sees_type_checking_and_relative_imports(tmp_path: Path) -> None:
    world = tmp_path / "pkg" / "world"
    world.mkdir(parents=True)
    (tmp_path / "pkg" / "http").mkdir()
    (world / "__init__.py").write_text("")
    (world / "a.py").write_text("from typing import TYPE_CHECKING\n"
                                "if TYPE_CHECKING:\n    from pkg.http.router import Call\n")
    (world / "b.py").write_text("from ..http import app\nimport aiohttp.web\n"
                                "import aiohttpx\nfrom pkg.httpd import x\n")  # look-alike names do not count
    assert reaches(tmp_path, "pkg/world", ("pkg.http", "aiohttp")) == {
        "pkg.world.a -> pkg.http.router.Call", "pkg.world.b -> pkg.http.app", "pkg.world.b -> aiohttp.web"}


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


# --- no module outside vastplan/kinds/ names a kind ------------------------------------------------
# What counts is what the code *does*: every string literal (f-string parts included) and every name it
# binds, reads, calls or imports. A string that is a statement of its own (a docstring) does nothing,
# and comments are not code: both may speak of instances and volumes in prose. vastplan/api/ is the
# wire: its paths and JSON fields are Vast.ai's nouns (``/instances/``), not the product's kinds, and it
# is held below the pipeline instead (it imports nothing that knows a kind: see the next test).
OUTSIDE_THE_REGISTRY_CHECK = ("vastplan/kinds/", "vastplan/api/")
# A foreign library's attribute that happens to share a kind's word: jsonschema's ValidationError.instance.
FOREIGN_ATTRIBUTES = frozenset({"instance"})
API_MAY_IMPORT = ("vastplan.api", "vastplan.errors", "vastplan.files")


def kind_words() -> list[tuple[str, ...]]:
    """Each kind's name, collection and nouns as word sequences: ``ssh_key`` -> ("ssh", "key")."""
    from vastplan.kinds import KINDS

    assert {"ssh_key", "template", "volume", "instance"} <= set(KINDS)  # the registry was read, not emptied
    words = {w for k in KINDS.values() for w in (k.kind, k.collection, k.singular, k.plural)}
    return sorted({tuple(_split(word)) for word in words})


def _split(text: str) -> list[str]:
    """Words of a name or a string: ``NOT_INSTANCES`` -> not, instances; ``InstanceKind`` -> instance, kind."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", text)
    return [w for w in re.split(r"[^A-Za-z0-9]+", spaced.lower()) if w]


def _names(word: tuple[str, ...], text: str) -> bool:
    parts = _split(text)
    return any(tuple(parts[i:i + len(word)]) == word for i in range(len(parts)))


def _docstrings(tree: ast.AST) -> set[int]:
    """The string statements of ``tree`` (docstrings, or prose a statement of its own): they do nothing."""
    return {id(node.value) for node in ast.walk(tree) if isinstance(node, ast.Expr)
            and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)}


def _identifiers(node: ast.AST) -> Iterator[str]:
    if isinstance(node, ast.Name):
        yield node.id
    elif isinstance(node, ast.Attribute) and node.attr not in FOREIGN_ATTRIBUTES:
        yield node.attr
    elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        yield node.name
    elif isinstance(node, ast.arg | ast.keyword) and node.arg:
        yield node.arg
    elif isinstance(node, ast.alias):
        yield from (node.name, node.asname or "")
    elif isinstance(node, ast.ImportFrom) and not (node.module or "").startswith("vastplan.api."):
        yield node.module or ""


def kind_mentions(source: str, words: list[tuple[str, ...]], kind_modules: frozenset[str]) -> list[str]:
    """Where ``source`` names a kind: ``LINE: what``, one per string, identifier or import."""
    tree = ast.parse(source)
    docstrings = _docstrings(tree)
    found = []
    for node in ast.walk(tree):
        texts: list[str] = []
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            texts = [node.value]
        else:
            texts = [name for name in _identifiers(node) if not name.startswith("vastplan.api.")]  # the wire's areas
        if isinstance(node, ast.Import | ast.ImportFrom):
            targets = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or "", *(f"{node.module}.{a.name}" for a in node.names)]
            found += [f"{node.lineno}: imports the kind module {t}" for t in targets if t in kind_modules]
        found += [f"{getattr(node, 'lineno', '?')}: {text!r} names {' '.join(word)}"
                  for text in texts for word in words if _names(word, text)]
    return found


def test_no_module_outside_kinds_names_a_kind() -> None:
    from vastplan.kinds import KINDS

    words = kind_words()
    kind_modules = frozenset(type(k).__module__ for k in KINDS.values())
    checked, offences = 0, []
    for path in modules(ROOT, "vastplan").values():
        relative = path.relative_to(ROOT).as_posix()
        if relative.startswith(OUTSIDE_THE_REGISTRY_CHECK):
            continue
        checked += 1
        offences += [f"{relative}:{where}" for where in kind_mentions(path.read_text(), words, kind_modules)]
    assert checked > 40  # the walk found stack/, plan/, render/, commands/...
    assert offences == [], "kinds named outside vastplan/kinds/:\n" + "\n".join(offences)


def test_the_api_layer_imports_nothing_that_knows_a_kind() -> None:
    known = modules(ROOT, "vastplan")
    api = {name: path for name, path in known.items() if name.startswith("vastplan.api")}
    assert len(api) > 8
    reaching = {f"{name} -> {target}" for name, path in api.items() for target in imports(name, path, known)
                if target != "vastplan" and not target.startswith(API_MAY_IMPORT)}
    assert not reaching


def test_the_kind_check_sees_literals_names_and_imports_but_not_prose() -> None:
    words = [("instance",), ("instances",), ("volume",), ("volumes",), ("ssh", "key")]
    source = '''"""Instances and volumes are described here, in prose."""
from vastplan.kinds.volume import mounted_volumes  # a comment about volumes
NOT_INSTANCES = 1


def f(spec, error):
    """Whether spec is a volume."""
    seen = error.instance
    if spec.kind == "volume" or spec.address.startswith(f"instances.{spec.name}"):
        return SshKeyLike
'''
    found = kind_mentions(source, words, frozenset({"vastplan.kinds.volume"}))
    assert sorted(found) == sorted([
        "2: imports the kind module vastplan.kinds.volume",
        "2: 'vastplan.kinds.volume' names volume",
        "2: 'mounted_volumes' names volumes",  # imported name: a kind's helper
        "3: 'NOT_INSTANCES' names instances",
        "9: 'volume' names volume",
        "9: 'instances.' names instances",
        "10: 'SshKeyLike' names ssh key",
    ]), found
