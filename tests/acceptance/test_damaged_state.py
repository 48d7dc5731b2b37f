"""A damaged state file is refused whole, before any API call: exit 1, a message naming the damage,
nothing rented or destroyed, the file byte-for-byte as it was."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from tests.harness import Workspace, assert_clean_failure, instances, one_box
from vastplan.kinds import KINDS

Damage = Callable[[dict[str, Any]], None]


def _resource(doc: dict[str, Any]) -> dict[str, Any]:
    entry: dict[str, Any] = doc["resources"]["instances.box"]
    return entry


DAMAGES: dict[str, tuple[Damage, str]] = {
    "serial as text": (lambda d: d.update(serial="7"), 'serial: "7" is not an integer'),
    "serial null": (lambda d: d.update(serial=None), "serial: null is not an integer"),
    "serial 1e400": (lambda d: d.update(serial="@1e400@"), "serial: Infinity is not an integer"),
    "id an object": (lambda d: _resource(d).update(id={"id": 1}),
                     'resources["instances.box"].id: {"id": 1} is not an integer or a string or null'),
    "outputs a list": (lambda d: d.update(outputs=[]), "outputs: [] is not a mapping"),
    "unknown kind": (lambda d: _resource(d).update(kind="gpu_box"),
                     'resources["instances.box"].kind: "gpu_box" is not one of ' + ", ".join(KINDS)),
    "two addresses, one id": (lambda d: d["resources"].update({"instances.twin": dict(_resource(d))}),
                              'resources["instances.box"] and resources["instances.twin"] both record instance'),
}


@pytest.mark.parametrize("name", list(DAMAGES))
@pytest.mark.parametrize("command", ["apply", "destroy"])
def test_a_damaged_state_rents_and_destroys_nothing(workspace: Workspace, name: str, command: str) -> None:
    workspace.write(one_box())
    assert workspace.vastplan("apply", "--auto-approve").code == 0
    live_before = instances(workspace)
    assert len(live_before) == 1

    damage, words = DAMAGES[name]
    doc = json.loads(workspace.state_path.read_text())
    damage(doc)
    workspace.state_path.write_text(json.dumps(doc, indent=2).replace('"@1e400@"', "1e400"))
    before = workspace.state_path.read_bytes()

    result = workspace.vastplan(command, "--auto-approve")

    assert result.code == 1, result.text
    assert f"{workspace.state_path} is damaged: {words}" in result.err, result.err
    assert "Nothing was read from the account or changed" in result.err
    assert_clean_failure(result.text)
    assert "internal error" not in result.text
    assert instances(workspace).keys() == live_before.keys()  # nothing new, nothing gone
    assert workspace.state_path.read_bytes() == before
