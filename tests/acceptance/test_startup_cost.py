"""What a command loads at start-up, and the schema check's cache (issue 14).

A command pays only for what it uses: the commands that never call the API (``--version``, ``--help``,
``validate``, ``state list``, ``output``, ``graph``) never import the HTTP stack, and a stack file that
passed the JSON Schema check before is not checked again until it (or the schema) changes. Both are
behaviour, not timing: each command runs in a fresh interpreter, which then reports the modules it
imported; the cache is seen through what the commands answer and import.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from vastplan.state.backends.local import LocalStateFile
from vastplan.state.model import State

STACK = """\
version: 1
stack: demo
ssh_keys:
  me: {public_key: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK0wmN/Cr3JXqmLW7u+g9pTh+wyqDHpSQEIQczXkVx9q me@example"}
templates:
  base: {image: pytorch/pytorch, tag: latest, disk_gb: 20}
instances:
  worker: {count: 3, template: base, ssh_keys: [me], offer: {gpu_name: RTX 4090}}
outputs:
  hosts: {value: "${instances.worker[*].ssh_url}"}
"""

# Runs the console script's entry point the way the installed `vastplan` does, then writes what the
# interpreter imported; its own output goes where the command's would.
PROBE = """
import json, sys
report, sys.argv = sys.argv[1], ["vastplan", *sys.argv[2:]]
code = 0
try:
    from vastplan.cli import main
    main()
except SystemExit as done:
    code = done.code
with open(report, "w") as out:
    json.dump({"code": code, "modules": sorted(sys.modules)}, out)
"""

HTTP = ("aiohttp", "yarl", "multidict")


def _run(folder: Path, *argv: str) -> tuple[int, set[str], str]:
    report = folder / "imported.json"
    done = subprocess.run([sys.executable, "-c", PROBE, str(report), *argv], cwd=folder, capture_output=True,
                          text=True, timeout=120, env={"PATH": "/usr/bin:/bin", "HOME": str(folder), "NO_COLOR": "1"})
    found = json.loads(report.read_text())
    return int(found["code"]), set(found["modules"]), done.stdout + done.stderr


def _top(modules: set[str]) -> set[str]:
    return {m.split(".")[0] for m in modules}


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "stack.yaml").write_text(STACK)
    LocalStateFile(tmp_path / "stack.vpstate.json").write(State.new("demo"))
    return tmp_path


@pytest.mark.parametrize("argv", [
    ("--help",),
    ("validate", "-f", "stack.yaml"),
    ("state", "list", "-f", "stack.yaml"),
    ("output", "-f", "stack.yaml"),
    ("graph", "-f", "stack.yaml"),
])
def test_commands_that_call_no_api_never_import_the_http_stack(folder: Path, argv: tuple[str, ...]) -> None:
    code, modules, text = _run(folder, *argv)
    assert code == 0, text
    assert _top(modules).isdisjoint(HTTP), sorted(m for m in modules if m.split(".")[0] in HTTP)
    assert "deepdiff" not in _top(modules)


def test_version_loads_nothing_but_the_version(folder: Path) -> None:
    code, modules, text = _run(folder, "--version")
    assert (code, text.strip()) == (0, "vastplan, version " + __import__("vastplan").__version__)
    assert _top(modules).isdisjoint({"click", "yaml", "jsonschema", "asyncio", *HTTP})


def test_an_unchanged_stack_is_not_schema_checked_twice(folder: Path) -> None:
    code, first, text = _run(folder, "validate", "-f", "stack.yaml")
    assert code == 0 and "valid" in text
    assert "jsonschema" in _top(first)  # the first run checks
    code, second, text = _run(folder, "validate", "-f", "stack.yaml")
    assert code == 0 and "valid (5 resources)" in text
    assert "jsonschema" not in _top(second)  # the second knows this very file passed
    # the cache is beside the state, and holds nothing of the stack but a digest
    (cache,) = (folder / ".vastplan").iterdir()
    assert "RTX" not in cache.read_text() and len(cache.read_text().strip()) == 64


def test_a_changed_file_is_checked_again_and_its_error_reported(folder: Path) -> None:
    assert _run(folder, "validate", "-f", "stack.yaml")[0] == 0
    stack = folder / "stack.yaml"
    stack.write_text(stack.read_text().replace("count: 3", "count: three"))
    code, modules, text = _run(folder, "validate", "-f", "stack.yaml")
    assert code == 1
    assert 'stack.yaml:8:19: instances.worker.count: "three" is not an integer' in text
    assert "jsonschema" in _top(modules)
    # and the failure was not recorded as a pass: the broken file fails every time
    assert _run(folder, "validate", "-f", "stack.yaml")[0] == 1


def test_a_variable_that_breaks_the_schema_is_caught_after_a_cached_pass(folder: Path) -> None:
    stack = folder / "stack.yaml"
    stack.write_text(stack.read_text().replace("count: 3", 'count: "${var.n}"')
                     + "variables:\n  n: {type: number, default: 3}\n")
    assert _run(folder, "validate", "-f", "stack.yaml")[0] == 0
    code, _, text = _run(folder, "validate", "-f", "stack.yaml", "--var", "n=2.5")
    assert code == 1 and "instances.worker.count: 2.5 is not an integer" in text, text


def test_a_deleted_or_damaged_cache_is_harmless(folder: Path) -> None:
    assert _run(folder, "validate", "-f", "stack.yaml")[0] == 0
    (cache,) = (folder / ".vastplan").iterdir()
    cache.write_text("not a digest\n")
    code, modules, text = _run(folder, "validate", "-f", "stack.yaml")
    assert code == 0 and "jsonschema" in _top(modules), text  # checked again, and recorded again
    assert len(cache.read_text().strip()) == 64
    cache.unlink()
    (folder / ".vastplan").rmdir()
    assert _run(folder, "validate", "-f", "stack.yaml")[0] == 0


def test_a_cached_pass_never_hides_an_error_of_another_file(folder: Path) -> None:
    assert _run(folder, "validate", "-f", "stack.yaml")[0] == 0
    (cache,) = (folder / ".vastplan").iterdir()
    broken = folder / "broken.yaml"
    broken.write_text(STACK.replace("stack: demo", "stack: demo\nbogus_key: 1"))
    # even a cache file copied under the other file's name holds the wrong digest for it
    (folder / ".vastplan" / "broken.yaml.schema-ok").write_text(cache.read_text())
    code, _, text = _run(folder, "validate", "-f", "broken.yaml")
    assert code == 1 and "bogus_key" in text, text


def test_an_unwritable_cache_folder_costs_the_check_not_the_command(folder: Path) -> None:
    (folder / ".vastplan").write_text("a file where the cache folder would go")
    for _ in range(2):
        code, modules, text = _run(folder, "validate", "-f", "stack.yaml")
        assert code == 0 and "jsonschema" in _top(modules), text


def _with_resource(folder: Path, kind: str = "template") -> Path:
    path = folder / "stack.vpstate.json"
    state = json.loads(path.read_text())
    state["resources"]["templates.base"] = {"kind": kind, "id": 7, "attributes": {"image": "pytorch/pytorch:latest"},
                                            "depends_on": [], "sensitive_paths": [], "tainted": False,
                                            "protected": False}
    path.write_text(json.dumps(state))
    return path


def test_an_unchanged_state_file_is_not_schema_checked_twice(folder: Path) -> None:
    _with_resource(folder)
    code, first, text = _run(folder, "state", "list", "-f", "stack.yaml")
    assert (code, text.strip()) == (0, "templates.base  id=7")
    assert "jsonschema" in _top(first)
    code, second, text = _run(folder, "state", "list", "-f", "stack.yaml")
    assert (code, text.strip()) == (0, "templates.base  id=7")
    assert "jsonschema" not in _top(second)


def test_a_state_damaged_after_a_cached_pass_is_still_refused(folder: Path) -> None:
    path = _with_resource(folder)
    assert _run(folder, "state", "list", "-f", "stack.yaml")[0] == 0
    path.write_text(path.read_text().replace('"kind": "template"', '"kind": "tempest"'))
    code, _, text = _run(folder, "state", "list", "-f", "stack.yaml")
    assert code == 1 and "is damaged" in text and "tempest" in text, text
    # a state whose schema is fine but whose address holds another kind is refused from the cache too
    path = _with_resource(folder, kind="ssh_key")
    code, _, text = _run(folder, "state", "list", "-f", "stack.yaml")
    assert code == 1 and 'has kind "ssh_key"' in text, text
