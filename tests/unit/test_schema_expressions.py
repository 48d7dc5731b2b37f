"""The stack schema as an editor uses it: the shipped examples are valid under a plain JSON Schema
validator after YAML loading (yaml-language-server's view), a ``${...}`` expression is accepted wherever a
variable may stand (every number, integer and boolean field, of every kind, including kinds added
later), and the schema has a stable ``$id`` and ships inside the package."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

if sys.version_info >= (3, 11):
    import tomllib
else:  # pytest itself needs tomli before 3.11
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_FILE = ROOT / "schemas" / "stack.schema.json"
SCHEMA: dict[str, Any] = json.loads(SCHEMA_FILE.read_text())
# Not interpolated, so no expression may stand there: the format version, the stack's name (read before
# loading, for a shared backend), the variables themselves, outputs (kept as text) and the backend block.
NOT_INTERPOLATED = {"version", "stack", "variables", "outputs", "backend"}
SCALARS = {"number", "integer", "boolean"}
FIX = "run `python .ci/schema-expressions.py` to add the shared expression to them"


def _examples() -> list[Path]:
    files = sorted(p for p in (ROOT / "examples").rglob("*") if p.suffix in (".yaml", ".yml"))
    return [p for p in files if isinstance(data := yaml.safe_load(p.read_text()), dict) and "stack" in data]


EXAMPLES = _examples()


def test_the_examples_are_found() -> None:
    assert {p.name for p in EXAMPLES} >= {"quickstart.yaml", "llm-server.yaml", "training.yaml", "ci-runner.yaml"}


@pytest.mark.parametrize("example", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_every_example_is_valid_for_a_plain_validator(example: Path) -> None:
    errors = list(Draft202012Validator(SCHEMA).iter_errors(yaml.safe_load(example.read_text())))
    assert not errors, [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors]


def _positions(node: Any, pointer: str, top: bool = False) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every place a value sits in a stack (a property, a list item, a mapping's values), by JSON pointer."""
    if not isinstance(node, dict):
        return
    children: list[tuple[str, Any]] = []
    for key in ("properties", "patternProperties"):
        for name, sub in node.get(key, {}).items():
            if not (top and key == "properties" and name in NOT_INTERPOLATED):
                children.append((f"{pointer}/{key}/{name}", sub))
    for key in ("items", "additionalProperties"):
        if isinstance(node.get(key), dict):
            children.append((f"{pointer}/{key}", node[key]))
    for i, branch in enumerate(node.get("anyOf", []) + node.get("oneOf", [])):
        yield from _positions(branch, f"{pointer}/anyOf/{i}")
    for where, sub in children:
        yield where, sub
        yield from _positions(sub, where)


def _value_positions() -> Iterator[tuple[str, dict[str, Any]]]:
    yield from _positions(SCHEMA, "#", top=True)
    for name, definition in SCHEMA["$defs"].items():
        if name != "expression":
            yield from _positions(definition, f"#/$defs/{name}")


def _types(node: dict[str, Any]) -> set[str]:
    """The JSON types a position's schema names, itself or in one of its alternatives."""
    named = node.get("type", [])
    types = {named} if isinstance(named, str) else set(named)
    for branch in node.get("anyOf", []) + node.get("oneOf", []):
        types |= _types(branch) if isinstance(branch, dict) else set()
    return types


def test_every_number_integer_and_boolean_field_accepts_an_expression() -> None:
    """Walks the whole schema, so a field or kind added on any branch is checked too."""
    validator = Draft202012Validator(SCHEMA)
    scalar = [(where, node) for where, node in _value_positions() if _types(node) & SCALARS]
    assert len(scalar) > 100  # the walk reaches the offer operators, lifecycle flags, sizes, counts
    refused = [where for where, node in scalar
               if not validator.evolve(schema=node).is_valid("${var.value}")]
    assert not refused, f"these fields refuse a ${{...}} expression; {FIX}: {refused}"


def test_constrained_text_fields_accept_an_expression() -> None:
    validator = Draft202012Validator(SCHEMA)
    constrained = [(where, node) for where, node in _value_positions()
                   if node.get("type") == "string" and {"pattern", "enum", "format"} & node.keys()
                   or "enum" in node and "type" not in node]
    refused = [where for where, node in constrained if not validator.evolve(schema=node).is_valid("${var.value}")]
    assert not refused, f"{FIX}: {refused}"


def test_an_expression_is_still_checked_as_what_it_stands_for() -> None:
    """The alternative is for the file as written; vastplan checks the value once substituted."""
    validator = Draft202012Validator(SCHEMA)
    count = {"version": 1, "stack": "s", "templates": {"t": {"image": "x"}}}
    assert validator.is_valid({**count, "instances": {"w": {"template": "t", "count": "${var.n}"}}})
    assert not validator.is_valid({**count, "instances": {"w": {"template": "t", "count": "many"}}})


def test_vastplan_reports_a_bad_substituted_value_in_plain_words(tmp_path: Path) -> None:
    stack = tmp_path / "s.yaml"
    stack.write_text("version: 1\nstack: s\nvariables:\n  n: {default: many}\n"
                     "templates:\n  t: {image: x}\ninstances:\n  w: {template: t, count: \"${var.n}\"}\n")
    from vastplan.errors import StackError
    from vastplan.stack import load_stack

    with pytest.raises(StackError) as raised:
        load_stack(stack)
    said = [d.format() for d in raised.value.diagnostics]
    assert said == [f'{stack}:8:27: instances.w.count: "many" is not an integer']


def _project() -> dict[str, Any]:
    loaded: dict[str, Any] = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return loaded


def test_the_schema_id_is_where_the_published_file_is() -> None:
    source = _project()["project"]["urls"]["Source"].removeprefix("https://github.com/")
    for name in ("stack.schema.json", "state.schema.json"):
        schema = json.loads((ROOT / "schemas" / name).read_text())
        assert schema["$id"] == f"https://raw.githubusercontent.com/{source}/main/schemas/{name}"


def test_the_wheel_ships_the_schemas_where_schema_path_finds_them(tmp_path: Path) -> None:
    shipped = _project()["tool"]["hatch"]["build"]["targets"]["wheel"]["force-include"]
    assert shipped["schemas/stack.schema.json"] == "vastplan/schemas/stack.schema.json"
    assert shipped["schemas/state.schema.json"] == "vastplan/schemas/state.schema.json"
    # An installed copy (the package with its schemas/ inside, as the wheel lays it out, and no source
    # tree beside it): `vastplan schema --path` names the file inside the package.
    site = tmp_path / "site-packages"
    shutil.copytree(ROOT / "vastplan", site / "vastplan", ignore=shutil.ignore_patterns("__pycache__"))
    (site / "vastplan" / "schemas").mkdir()
    for name in shipped.values():
        shutil.copyfile(ROOT / "schemas" / Path(name).name, site / name)
    env = {**os.environ, "PYTHONPATH": str(site)}
    where = subprocess.run([sys.executable, "-c", "from vastplan.cli.root import main; main(['schema', '--path'])"],
                           cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60, check=True)
    path = Path(where.stdout.strip())
    assert path == site / "vastplan" / "schemas" / "stack.schema.json"
    assert json.loads(path.read_text())["$id"] == SCHEMA["$id"]
