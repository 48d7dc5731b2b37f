"""Instances and volumes on the sandbox: placement, readiness, in-place changes, replacement, destroy."""

from __future__ import annotations

import asyncio
import re

from tests.harness import CANARY_API_KEY, KEY_A, Workspace, admin, api_get, gpu_stack, instances, small_stack, state_id
from vastplan.kinds.readiness import ssh_greets


def test_a_full_stack_plans_with_prices_applies_in_order_and_converges(workspace: Workspace) -> None:
    workspace.write(gpu_stack())
    planned = workspace.vastplan("plan")
    assert "Plan: 5 to add, 0 to change, 0 to destroy." in planned.out
    for address in ("volumes.data", "instances.worker", "instances.helper"):
        assert re.search(rf"# {re.escape(address)} will be created\s+\$\d+\.\d{{3}}/hr", planned.out), planned.out
    assert re.search(r"Cost: \$0\.000/hr -> \$\d+\.\d{3}/hr", planned.out)

    applied = workspace.vastplan("apply", "--auto-approve")
    assert applied.code == 0, applied.text
    out = applied.out
    assert out.index("volumes.data: Creation complete") < out.index("instances.worker: Creating...")
    assert out.index("templates.torch: Creation complete") < out.index("instances.worker: Creating...")

    live = instances(workspace)
    worker = live[state_id(workspace, "instances.worker")]
    volume = state_id(workspace, "volumes.data")
    assert worker["actual_status"] == "running" and worker["gpu_name"] == "RTX 4090"
    assert worker["label"] == "vp:gpus/instances.worker"
    assert [v["id"] for v in worker["volume_info"]] == [volume]
    assert asyncio.run(ssh_greets(worker["ssh_host"], worker["ssh_port"]))
    assert workspace.vastplan("plan", "--detailed-exitcode").code == 0


def test_label_edit_is_in_place_and_disk_change_is_a_replacement(workspace: Workspace) -> None:
    workspace.write(gpu_stack())
    assert workspace.vastplan("apply", "--auto-approve").code == 0
    helper_id = state_id(workspace, "instances.helper")

    workspace.write(gpu_stack(label="build box"))
    relabel = workspace.vastplan("plan")
    assert "Plan: 0 to add, 1 to change, 0 to destroy." in relabel.out
    assert '~ label = "" -> "build box"' in relabel.out  # the ownership marker before it is not diffed
    assert workspace.vastplan("apply", "--auto-approve").code == 0
    assert instances(workspace)[helper_id]["label"] == "vp:gpus/instances.helper build box"
    assert state_id(workspace, "instances.helper") == helper_id

    worker_id = state_id(workspace, "instances.worker")
    workspace.write(gpu_stack(label="build box", disk=80))
    resize = workspace.vastplan("plan")
    assert "-/+ instance \"worker\"" in resize.out
    assert "~ disk_gb = 40 -> 80  # forces replacement" in resize.out
    assert "Plan: 1 to add, 0 to change, 1 to destroy." in resize.out
    assert workspace.vastplan("apply", "--auto-approve").code == 0
    new_id = state_id(workspace, "instances.worker")
    assert new_id != worker_id and worker_id not in instances(workspace)
    assert instances(workspace)[new_id]["disk_space"] == 80


def test_stopping_is_in_place_and_says_the_disk_keeps_billing(workspace: Workspace) -> None:
    workspace.write(gpu_stack())
    assert workspace.vastplan("apply", "--auto-approve").code == 0
    workspace.write(gpu_stack(state="stopped"))
    planned = workspace.vastplan("plan")
    assert '~ state = "running" -> "stopped"' in planned.out
    assert "a stopped instance keeps billing for its disk" in planned.out
    assert workspace.vastplan("apply", "--auto-approve").code == 0
    helper = instances(workspace)[state_id(workspace, "instances.helper")]
    assert helper["intended_status"] == "stopped"
    assert workspace.vastplan("plan", "--detailed-exitcode").code == 0


def test_destroy_removes_everything_the_volume_last(workspace: Workspace) -> None:
    workspace.write(gpu_stack())
    assert workspace.vastplan("apply", "--auto-approve").code == 0
    destroyed = workspace.vastplan("destroy", "--auto-approve")
    assert destroyed.code == 0, destroyed.text
    assert "Destroy complete! Resources: 5 destroyed." in destroyed.out
    out = destroyed.out
    assert out.index("instances.worker: Destruction complete") < out.index("volumes.data: Destroying...")
    assert instances(workspace) == {}
    assert api_get(workspace.api_url, "/api/v0/volumes", CANARY_API_KEY)["volumes"] == []


def test_an_instance_stuck_loading_is_tainted_and_replaced(workspace: Workspace) -> None:
    workspace.write(gpu_stack(timeout="2s"))
    admin(workspace, "PUT", "/settings", {"new_instance_fate": "loading"})  # nothing finishes booting
    failed = workspace.vastplan("apply", "--auto-approve")
    assert failed.code == 1
    assert re.search(r'instances.worker: Creation failed after \ds: still "loading" at the readiness deadline of 2s',
                     failed.out), failed.out
    assert "Recorded as tainted" in failed.out
    assert "Apply failed: 2 errors." in failed.err
    entry = workspace.state()["resources"]["instances.worker"]
    assert entry["tainted"] is True and entry["id"] in instances(workspace)

    admin(workspace, "PUT", "/settings", {"new_instance_fate": None})
    replan = workspace.vastplan("plan")
    assert "# instances.worker must be replaced (tainted: by vastplan taint, or it never became ready)" in replan.out
    assert workspace.vastplan("apply", "--auto-approve").code == 0
    assert entry["id"] not in instances(workspace)
    assert workspace.vastplan("plan", "--detailed-exitcode").code == 0


def test_no_matching_offer_is_a_plan_error_naming_the_instance(workspace: Workspace) -> None:
    workspace.write(gpu_stack().replace('gpu_name: "RTX 4090"', 'gpu_name: "RTX 9999"'))
    result = workspace.vastplan("plan")
    assert result.code == 1
    assert "instances.worker: no GPU offer matches the filters" in result.err
    assert re.search(r"stack\.yaml:\d+:\d+: ", result.err)


def attached_keys(ws: Workspace, instance_id: int) -> list[str]:
    import json

    raw = api_get(ws.api_url, f"/api/v0/instances/{instance_id}/ssh/", CANARY_API_KEY)["ssh_keys"]
    return sorted(k["public_key"] for k in json.loads(raw))


def test_image_keys_and_bid_change_in_place(workspace: Workspace) -> None:
    workspace.write(small_stack(bid=0.5))
    assert workspace.vastplan("apply", "--auto-approve").code == 0
    box = state_id(workspace, "instances.box")
    assert KEY_A in attached_keys(workspace, box)

    workspace.write(small_stack(image="pytorch/pytorch", keys="[me]", bid=0.6))
    planned = workspace.vastplan("plan")
    assert "(the container is recreated on the same machine)" in planned.out
    assert '~ image = "ubuntu:latest" -> "pytorch/pytorch:latest"' in planned.out
    assert "~ bid_dph = 0.5 -> 0.6" in planned.out
    assert "Plan: 0 to add, 1 to change, 0 to destroy." in planned.out
    applied = workspace.vastplan("apply", "--auto-approve")
    assert applied.code == 0, applied.text

    row = instances(workspace)[box]
    assert state_id(workspace, "instances.box") == box
    assert row["image_uuid"] == "pytorch/pytorch:latest" and row["actual_status"] == "running"
    assert row["dph_base"] == 0.6
    assert KEY_A.replace("One", "Six") not in attached_keys(workspace, box)
    assert workspace.vastplan("plan", "--detailed-exitcode").code == 0


def test_an_instance_that_exits_while_booting_fails_fast_and_is_tainted(workspace: Workspace) -> None:
    workspace.write(small_stack())
    admin(workspace, "PUT", "/settings", {"new_instance_fate": "exited"})
    failed = workspace.vastplan("apply", "--auto-approve")
    assert failed.code == 1
    assert re.search(r'instances.box: Creation failed after \ds: it will never become ready: it is "exited"',
                     failed.out), failed.out
    assert workspace.state()["resources"]["instances.box"]["tainted"] is True
