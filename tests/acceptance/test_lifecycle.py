"""The walking skeleton end to end: the real CLI against the sandbox over loopback."""

from __future__ import annotations

import json
import stat

from tests.harness import (
    CANARY_API_KEY,
    KEY_A,
    KEY_B,
    Workspace,
    api_delete,
    api_post,
    keys_in_sandbox,
    skeleton_stack,
    templates_in_sandbox,
)


def test_apply_then_plan_shows_no_changes(workspace: Workspace) -> None:
    workspace.write(skeleton_stack())
    first = workspace.vastplan("plan", "--detailed-exitcode")
    assert first.code == 2, first.text
    assert "Plan: 3 to add, 0 to change, 0 to destroy." in first.out

    applied = workspace.vastplan("apply", "--auto-approve")
    assert applied.code == 0, applied.text
    assert "Apply complete! Resources: 3 added, 0 changed, 0 destroyed." in applied.out
    assert sorted(keys_in_sandbox(workspace)) == sorted([KEY_A, KEY_B])
    assert [t["image"] for t in templates_in_sandbox(workspace)] == ["pytorch/pytorch"]

    again = workspace.vastplan("plan", "--detailed-exitcode")
    assert again.code == 0, again.text
    assert "No changes." in again.out


def test_editing_a_template_image_is_one_in_place_update(workspace: Workspace) -> None:
    workspace.write(skeleton_stack())
    assert workspace.vastplan("apply", "--auto-approve").code == 0
    before = templates_in_sandbox(workspace)[0]

    workspace.write(skeleton_stack(image="vllm/vllm-openai"))
    planned = workspace.vastplan("plan", "--detailed-exitcode")
    assert planned.code == 2, planned.text
    assert planned.out.count("~ template") == 1
    assert '~ image = "pytorch/pytorch" -> "vllm/vllm-openai"' in planned.out
    assert "Plan: 0 to add, 1 to change, 0 to destroy." in planned.out

    assert workspace.vastplan("apply", "--auto-approve").code == 0
    after = templates_in_sandbox(workspace)[0]
    assert after["id"] == before["id"] and after["hash_id"] != before["hash_id"]
    assert after["image"] == "vllm/vllm-openai"
    assert workspace.vastplan("plan", "--detailed-exitcode").code == 0


def test_removing_a_key_from_the_stack_plans_its_destroy(workspace: Workspace) -> None:
    workspace.write(skeleton_stack())
    assert workspace.vastplan("apply", "--auto-approve").code == 0

    workspace.write(skeleton_stack(keys=("laptop",)))
    planned = workspace.vastplan("plan")
    assert '- ssh_key "ci"' in planned.out
    assert "# ssh_keys.ci will be destroyed" in planned.out
    assert "Plan: 0 to add, 0 to change, 1 to destroy." in planned.out

    assert workspace.vastplan("apply", "--auto-approve").code == 0
    assert keys_in_sandbox(workspace) == [KEY_A]
    assert set(workspace.state()["resources"]) == {"ssh_keys.laptop", "templates.torch"}


def test_destroy_removes_everything_the_stack_made(workspace: Workspace) -> None:
    workspace.write(skeleton_stack())
    assert workspace.vastplan("apply", "--auto-approve").code == 0

    destroyed = workspace.vastplan("destroy", "--auto-approve")
    assert destroyed.code == 0, destroyed.text
    assert "Destroy complete! Resources: 3 destroyed." in destroyed.out
    assert keys_in_sandbox(workspace) == []
    assert templates_in_sandbox(workspace) == []
    assert workspace.state()["resources"] == {}


def test_a_key_that_existed_before_is_adopted_and_left_behind_by_destroy(workspace: Workspace) -> None:
    workspace.write(skeleton_stack(keys=("laptop",)))
    api_post(workspace.api_url, "/api/v0/ssh/", CANARY_API_KEY, {"ssh_key": KEY_A})
    applied = workspace.vastplan("apply", "--auto-approve")
    assert "adopted" in applied.out
    assert keys_in_sandbox(workspace) == [KEY_A]  # not a second copy

    assert workspace.vastplan("destroy", "--auto-approve").code == 0
    assert keys_in_sandbox(workspace) == [KEY_A]


def test_sensitive_values_are_hidden_and_never_stored(workspace: Workspace) -> None:
    workspace.write(skeleton_stack(secret="hunter2-sensitive"))
    planned = workspace.vastplan("plan")
    assert "+ env.TOKEN = (sensitive)" in planned.out
    applied = workspace.vastplan("apply", "--auto-approve")
    assert "hunter2-sensitive" not in applied.text
    assert "hunter2-sensitive" not in workspace.state_path.read_text()

    workspace.write(skeleton_stack(secret="hunter3-sensitive"))
    changed = workspace.vastplan("plan")
    assert "~ env.TOKEN = (sensitive) -> (sensitive)" in changed.out
    assert "hunter" not in changed.text


def test_state_is_private_and_backed_up(workspace: Workspace) -> None:
    workspace.write(skeleton_stack())
    assert workspace.vastplan("apply", "--auto-approve").code == 0
    state = workspace.state()
    assert stat.S_IMODE(workspace.state_path.stat().st_mode) == 0o600
    assert state["format"] == 1 and state["stack"] == "skeleton"
    # a journal entry, then the id, for each of the 3 objects: a write each, or one shared by changes
    # made at the same moment (the two keys' journal entries, say)
    assert 2 <= state["serial"] <= 6
    backup = workspace.state_path.with_name(workspace.state_path.name + ".backup")
    assert not backup.exists()  # .backup is the state before the command; the first one had none

    workspace.write(skeleton_stack(keys=("laptop",)))
    assert workspace.vastplan("apply", "--auto-approve").code == 0
    assert json.loads(backup.read_text())["serial"] == state["serial"]  # the state as this apply found it
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600


def test_an_object_deleted_outside_vastplan_is_reported_and_recreated(workspace: Workspace) -> None:
    workspace.write(skeleton_stack(keys=()))
    assert workspace.vastplan("apply", "--auto-approve").code == 0
    template_id = workspace.state()["resources"]["templates.torch"]["id"]
    api_delete(workspace.api_url, "/api/v0/template/", CANARY_API_KEY, {"template_id": template_id})
    planned = workspace.vastplan("plan")
    assert "Objects changed outside vastplan:" in planned.out
    assert f"template {template_id} was deleted outside vastplan" in planned.out
    assert "Plan: 1 to add, 0 to change, 0 to destroy." in planned.out
    assert workspace.vastplan("apply", "--auto-approve").code == 0
    assert workspace.vastplan("plan", "--detailed-exitcode").code == 0
