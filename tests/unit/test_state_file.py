from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from vastplan.errors import StateError
from vastplan.state.backends.local import LocalStateFile
from vastplan.state.model import ResourceState, State


def test_write_advances_serial_keeps_backup_and_redacts(tmp_path: Path) -> None:
    backend = LocalStateFile(tmp_path / "s.vpstate.json")
    state = State.new("demo")
    entry = ResourceState("template", 7, {"env": {"TOKEN": "secret", "TZ": "UTC"}},
                          sensitive_paths=("env.TOKEN",))
    first = backend.write(state.with_resource("templates.t", entry))
    other = ResourceState("template", 8, entry.attributes, sensitive_paths=("env.TOKEN",))
    second = backend.write(first.with_resource("templates.u", other))
    assert (first.serial, second.serial) == (1, 2)
    on_disk = json.loads(backend.path.read_text())
    assert on_disk["resources"]["templates.t"]["attributes"]["env"] == {"TOKEN": "(sensitive)", "TZ": "UTC"}
    assert "secret" not in backend.path.read_text()
    assert not backend.backup_path.exists()  # no state existed before this "command"
    assert stat.S_IMODE(backend.path.stat().st_mode) == 0o600
    assert backend.read() == second.with_resource("templates.t", ResourceState(
        "template", 7, {"env": {"TOKEN": "(sensitive)", "TZ": "UTC"}}, sensitive_paths=("env.TOKEN",)
    )).with_resource("templates.u", ResourceState(
        "template", 8, {"env": {"TOKEN": "(sensitive)", "TZ": "UTC"}}, sensitive_paths=("env.TOKEN",)))
    LocalStateFile(backend.path).write(second)  # the next command keeps the state it found
    assert json.loads(backend.backup_path.read_text())["serial"] == 2


def test_no_temp_files_are_left_behind(tmp_path: Path) -> None:
    backend = LocalStateFile(tmp_path / "s.vpstate.json")
    backend.write(State.new("demo"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.vpstate.json"]


@pytest.mark.parametrize("content, message", [
    ("[]", "is not a vastplan state file"),
    ('{"format": 9, "lineage": "x", "resources": {}}', "has state format 9"),
    ('{"format": 1, "lineage": "x", "resources": {"instances.a": {"id": 1}}}',
     r"""is damaged: resources\["instances.a"\]: 'kind' is a required property"""),
    ("\x00\x01", "is not valid JSON"),
])
def test_foreign_or_broken_state_is_a_state_error(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "s.vpstate.json"
    path.write_text(content)
    with pytest.raises(StateError, match=message):
        LocalStateFile(path).read()


def test_redaction_reaches_list_items_and_nested_keys() -> None:
    from vastplan.state.model import redact

    attrs = {"args": ["--token", "s3cret", "--x"], "env": {"A": "hidden", "B": "shown"}}
    assert redact(attrs, ["args[1]", "env.A", "args[9]", "nope.x"]) == {
        "args": ["--token", "(sensitive)", "--x"], "env": {"A": "(sensitive)", "B": "shown"}}
    assert attrs["args"][1] == "s3cret"  # a copy, never the original


def test_a_field_holding_a_sensitive_item_is_sensitive_as_a_whole() -> None:
    from vastplan.plan.model import is_sensitive

    paths = frozenset({"args[1]", "env.TOKEN"})
    assert is_sensitive("args", paths) and is_sensitive("env.TOKEN", paths) and is_sensitive("env", paths)
    assert not is_sensitive("env.TZ", paths) and not is_sensitive("argsx", paths)


def test_the_file_is_the_state_as_indented_json_byte_for_byte(tmp_path: Path) -> None:
    """Each entry is encoded once and reused by later writes: the file stays exactly what
    ``json.dumps(state, indent=2)`` gives, whatever the values hold (quotes, newlines, non-ASCII)."""
    backend = LocalStateFile(tmp_path / "s.vpstate.json")
    state = State(lineage="l", stack='odd "name"', outputs={"o": {"value": ["a\nb", "é"], "sensitive": False}})
    for i, address in enumerate(["instances.w[0]", 'instances.m["k"]', "templates.t", "instances.w[10]"]):
        entry = ResourceState("instance", i, {"env": {"TOKEN": "s€cret", "A": "x\ny"}, "empty": {}, "none": [],
                                              "nested": [1, {"k": None}], "price": 0.25},
                              depends_on=("templates.t",), sensitive_paths=("env.TOKEN",))
        state = backend.write(state.with_resource(address, entry))
        assert backend.path.read_text() == json.dumps(state.to_json(), indent=2) + "\n"
    assert "s€cret" not in backend.path.read_text()
    empty = backend.write(State(lineage="l", serial=state.serial, stack="s"))
    assert backend.path.read_text() == json.dumps(empty.to_json(), indent=2) + "\n"
