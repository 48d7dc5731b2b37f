"""lifecycle rules (prevent_destroy kept in state, create_before_destroy, ignore_changes), count,
and drift worded for a Vast.ai user."""

from __future__ import annotations

from tests.harness import CANARY_API_KEY, Workspace, api_call, instances, state_id


def box_stack(*, count: int = 1, disk: int = 20, lifecycle: str = "{}", with_box: bool = True) -> str:
    box = f"""
  box:
    count: {count}
    image: ubuntu
    disk_gb: {disk}
    offer: {{num_gpus: 1, gpu_name: "RTX 3090"}}
    readiness: {{timeout: 20s}}
    lifecycle: {lifecycle}
""" if with_box else ""
    return f"""
version: 1
stack: rules
instances:
  other:
    image: ubuntu
    offer: {{num_gpus: 1, gpu_name: "RTX 3060"}}
    readiness: {{timeout: 20s}}
{box}"""


def test_prevent_destroy_survives_deleting_the_block_until_unprotected(workspace: Workspace) -> None:
    workspace.write(box_stack(lifecycle="{prevent_destroy: true}"))
    assert workspace.vastplan("apply", "--auto-approve").code == 0
    assert workspace.state()["resources"]["instances.box[0]"]["protected"] is True
    box = state_id(workspace, "instances.box[0]")

    workspace.write(box_stack(with_box=False))
    planned = workspace.vastplan("plan")
    assert planned.code == 1
    assert "Blocked: instances.box[0] cannot be destroyed: lifecycle.prevent_destroy protects it" in planned.out
    assert "# instances.box[0] will be destroyed" in planned.out  # the rest of the plan is still shown
    assert "protected by lifecycle.prevent_destroy; nothing was changed" in planned.err
    assert workspace.vastplan("destroy", "--auto-approve").code == 1
    assert box in instances(workspace)


def test_create_before_destroy_keeps_the_old_instance_until_the_new_one_runs(workspace: Workspace) -> None:
    workspace.write(box_stack(lifecycle="{create_before_destroy: true}"))
    assert workspace.vastplan("apply", "--auto-approve").code == 0
    old = state_id(workspace, "instances.box[0]")
    workspace.write(box_stack(disk=30, lifecycle="{create_before_destroy: true}"))
    applied = workspace.vastplan("apply", "--auto-approve")
    assert applied.code == 0, applied.text
    out = applied.out
    assert out.index("instances.box[0]: Creation complete") < out.index("instances.box[0]: Destroying...")
    new = state_id(workspace, "instances.box[0]")
    assert new != old and old not in instances(workspace)
    assert set(workspace.state()["resources"]) == {"instances.box[0]", "instances.other"}


def test_shrinking_count_destroys_the_highest_indices(workspace: Workspace) -> None:
    workspace.write(box_stack(count=3))
    assert workspace.vastplan("apply", "--auto-approve").code == 0
    kept = state_id(workspace, "instances.box[0]")
    workspace.write(box_stack(count=1))
    planned = workspace.vastplan("plan")
    assert "# instances.box[1] will be destroyed" in planned.out
    assert "# instances.box[2] will be destroyed" in planned.out
    assert "Plan: 0 to add, 0 to change, 2 to destroy." in planned.out
    assert workspace.vastplan("apply", "--auto-approve").code == 0
    assert state_id(workspace, "instances.box[0]") == kept


def test_drift_is_reported_in_vast_terms(workspace: Workspace) -> None:
    workspace.write(box_stack())
    assert workspace.vastplan("apply", "--auto-approve").code == 0
    box, other = state_id(workspace, "instances.box[0]"), state_id(workspace, "instances.other")
    api_call(workspace.api_url, "PUT", f"/api/v0/instances/{box}/", CANARY_API_KEY, {"state": "stopped"})
    api_call(workspace.api_url, "PUT", f"/api/v0/instances/{other}/", CANARY_API_KEY, {"label": "renamed"})
    planned = workspace.vastplan("plan")
    assert "Objects changed outside vastplan:" in planned.out
    assert f"instances.box[0]: instance {box} was stopped outside vastplan; its disk still bills $" in planned.out
    assert f'instances.other: instance {other} label was edited outside vastplan ("" -> "renamed")' in planned.out
    assert "Plan: 0 to add, 2 to change, 0 to destroy." in planned.out


def test_ignore_changes_leaves_a_console_edit_alone(workspace: Workspace) -> None:
    workspace.write(box_stack(lifecycle="{ignore_changes: [label]}"))
    assert workspace.vastplan("apply", "--auto-approve").code == 0
    box = state_id(workspace, "instances.box[0]")
    api_call(workspace.api_url, "PUT", f"/api/v0/instances/{box}/", CANARY_API_KEY, {"label": "mine now"})
    assert workspace.vastplan("plan", "--detailed-exitcode").code == 0
