"""docs/design.md's module table names every module of vastplan/, and nothing that is not there."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "vastplan"
_ROW = re.compile(r"^\| `(?P<package>[a-z_/]+/)` \| (?P<modules>.*) \|$")
_MODULE = re.compile(r"`(?P<name>[a-z_]+\.py)`")


def documented_modules(text: str) -> set[str]:
    """Paths relative to vastplan/ of the modules the table's rows name, e.g. ``apply/dag/walk.py``."""
    table = text.split("\n## Modules\n", 1)[1].split("\n## ", 1)[0]
    found = set()
    for row in filter(None, map(_ROW.match, table.splitlines())):
        package = row["package"].removeprefix("vastplan/")
        found |= {package + module["name"] for module in _MODULE.finditer(row["modules"])}
    return found


def existing_modules() -> set[str]:
    """Every module of vastplan/ except a package ``__init__.py`` that holds only a docstring."""
    return {path.relative_to(PACKAGE).as_posix() for path in PACKAGE.rglob("*.py")
            if path.name != "__init__.py" or _holds_code(path)}


def _holds_code(path: Path) -> bool:
    body = path.read_text().strip()
    docstring = re.fullmatch(r'(?s)""".*?"""', body)
    return bool(body) and docstring is None


def test_the_module_table_matches_the_tree() -> None:
    documented = documented_modules((ROOT / "docs" / "design.md").read_text())
    existing = existing_modules()
    assert len(existing) > 50  # the walk found the package
    assert sorted(existing - documented) == [], "modules missing from docs/design.md's table"
    assert sorted(documented - existing) == [], "docs/design.md's table names modules that do not exist"


def test_the_table_reader_takes_module_files_from_package_rows_only() -> None:
    text = ("# x\n## Modules\n\n| package | modules |\n| --- | --- |\n"
            "| `plan/` | `diff.py` the pure diff; `model.py` `Plan` |\n| `vastplan/` | `errors.py` |\n\n## Next\n"
            "| `state/` | `model.py` |\n")
    assert documented_modules(text) == {"plan/diff.py", "plan/model.py", "errors.py"}
