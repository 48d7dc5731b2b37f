"""What happens to the objects that pin a replaced object's id: `--replace`, a taint and a field
that forces replacement all replace a volume or a network volume together with the instances that
mount it, and an endpoint together with its worker groups (Vast.ai deletes those with it); a worker
group is moved in place onto its replaced template. Destroying part of a serverless stack takes the
dependents along, never the dependencies, and a group Vast.ai already deleted is only forgotten.
An instance its idle watchdog destroyed says that it may have been."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.harness import CANARY_API_KEY, Workspace, api_call, api_get, container, instances, watchdog_stack

NETWORK = """
version: 1
stack: deps
network_volumes:
  shared: {size_gb: SIZE}
instances:
  box:
    image: pytorch/pytorch
    volumes: [{network_volume: shared, mount: /shared}]
    offer: {num_gpus: 1}
    readiness: {timeout: 20s}
"""

LOCAL = """
version: 1
stack: deps
volumes:
  shared: {size_gb: SIZE}
instances:
  box:
    image: pytorch/pytorch
    volumes: [{volume: shared, mount: /shared}]
    offer: {num_gpus: 1}
    readiness: {timeout: 20s}
"""

SERVING = """
version: 1
stack: serving
templates:
  vllm:
    image: vllm/vllm-openai
    tag: "v0.6.4"
    runtype: args
    args: ["--model", "Qwen/Qwen3-8B"]
    disk_gb: 32
endpoints:
  chat: {name: qwen-chat, cold_workers: 1, max_workers: 4}
workergroups:
  gpus:
    endpoint: chat
    template: vllm
    offer: {gpu_name: "RTX 4090", num_gpus: 1, dph_total: 0.9}
    cold_workers: 1
    max_workers: 3
"""


def volumes(ws: Workspace) -> dict[int, dict[str, Any]]:
    rows = api_get(ws.api_url, "/api/v0/volumes?owner=me&type=all_volume", CANARY_API_KEY)["volumes"]
    return {row["id"]: row for row in rows}


def groups(ws: Workspace) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = api_get(ws.api_url, "/api/v0/autojobs/", CANARY_API_KEY)["results"]
    return rows


def ids(ws: Workspace) -> dict[str, Any]:
    return {address: entry["id"] for address, entry in ws.state()["resources"].items()}


def trigger(ws: Workspace, how: str, stack: str, address: str) -> tuple[str, ...]:
    """Make the next plan replace ``address`` the way ``how`` says; returns the plan's extra flags."""
    if how == "replace":
        return ("--replace", address)
    if how == "taint":
        tainted = ws.vastplan("taint", address)
        assert tainted.code == 0, tainted.text
        return ()
    ws.write(stack.replace("SIZE", "30"))  # size_gb cannot change in place
    return ()


@pytest.mark.parametrize("how", ["replace", "taint", "size"])
@pytest.mark.parametrize(("stack", "collection"), [(NETWORK, "network_volumes"), (LOCAL, "volumes")])
def test_the_instance_mounting_a_volume_is_replaced_with_it(workspace: Workspace, how: str, stack: str,
                                                            collection: str) -> None:
    workspace.write(stack.replace("SIZE", "20"))
    assert workspace.vastplan("apply", "--auto-approve").code == 0
    old = ids(workspace)
    volume = f"{collection}.shared"

    flags = trigger(workspace, how, stack, volume)
    planned = workspace.vastplan("plan", *flags)
    assert planned.code == 0, planned.text
    assert f"# {volume} must be replaced" in planned.out
    assert "# instances.box must be replaced (a field that cannot change in place changed)" in planned.out
    assert f'~ volumes = ["{old[volume]}:/shared"] -> ["{volume}:/shared"]' in planned.out
    assert "Plan: 2 to add, 0 to change, 2 to destroy." in planned.out

    applied = workspace.vastplan("apply", "--auto-approve", *flags)
    assert applied.code == 0, applied.text
    new = ids(workspace)
    assert new[volume] != old[volume] and new["instances.box"] != old["instances.box"]
    assert set(volumes(workspace)) == {new[volume]} and set(instances(workspace)) == {new["instances.box"]}
    box = instances(workspace)[new["instances.box"]]
    assert [(m["id"], m["mount_path"]) for m in box["volume_info"]] == [(new[volume], "/shared")]
    again = workspace.vastplan("plan", "--detailed-exitcode")
    assert again.code == 0, again.text


@pytest.mark.parametrize("how", ["replace", "taint"])
def test_the_worker_group_is_replaced_with_its_endpoint(workspace: Workspace, how: str) -> None:
    workspace.write(SERVING)
    assert workspace.vastplan("apply", "--auto-approve").code == 0
    old = ids(workspace)

    flags = trigger(workspace, how, SERVING, "endpoints.chat")
    planned = workspace.vastplan("plan", *flags)
    assert planned.code == 0, planned.text
    assert "# endpoints.chat must be replaced" in planned.out
    assert "# workergroups.gpus must be replaced (a field that cannot change in place changed)" in planned.out
    assert f'~ endpoint_id = {old["endpoints.chat"]} -> "(known after apply)"  # forces replacement' in planned.out
    assert "Plan: 2 to add, 0 to change, 2 to destroy." in planned.out
    as_json = json.loads(workspace.vastplan("plan", "--json", *flags).out)
    actions = {c["address"]: c["change"]["actions"] for c in as_json["resource_changes"]}
    assert actions["workergroups.gpus"] == actions["endpoints.chat"] == ["delete", "create"]

    applied = workspace.vastplan("apply", "--auto-approve", *flags)
    assert applied.code == 0, applied.text
    new = ids(workspace)
    (group,) = groups(workspace)
    assert group["id"] == new["workergroups.gpus"] != old["workergroups.gpus"]
    assert group["endpoint_id"] == new["endpoints.chat"] != old["endpoints.chat"]
    again = workspace.vastplan("plan", "--detailed-exitcode")
    assert again.code == 0, again.text  # no group to bring back on the next apply


def test_a_worker_group_moves_in_place_onto_its_replaced_template(workspace: Workspace) -> None:
    workspace.write(SERVING)
    assert workspace.vastplan("apply", "--auto-approve").code == 0
    old = ids(workspace)

    applied = workspace.vastplan("apply", "--auto-approve", "--replace", "templates.vllm")
    assert applied.code == 0, applied.text
    assert "# workergroups.gpus will be updated in place" in applied.out
    assert f'~ template_id = {old["templates.vllm"]} -> "(known after apply)"' in applied.out
    assert "Resources: 1 added, 1 changed, 1 destroyed." in applied.out
    new = ids(workspace)
    (group,) = groups(workspace)
    assert group["id"] == old["workergroups.gpus"] and group["template_id"] == new["templates.vllm"]
    assert new["templates.vllm"] != old["templates.vllm"]
    assert workspace.vastplan("plan", "--detailed-exitcode").code == 0


def test_a_targeted_destroy_takes_the_dependents_and_leaves_the_dependencies(workspace: Workspace) -> None:
    workspace.write(SERVING)
    assert workspace.vastplan("apply", "--auto-approve").code == 0
    old = ids(workspace)

    group_only = workspace.vastplan("destroy", "--auto-approve", "--target", "workergroups.gpus")
    assert group_only.code == 0, group_only.text
    assert "Destroy complete! Resources: 1 destroyed." in group_only.out
    assert groups(workspace) == []
    assert set(workspace.state()["resources"]) == {"templates.vllm", "endpoints.chat"}
    listed = api_get(workspace.api_url, "/api/v0/endptjobs/", CANARY_API_KEY)["results"]
    assert [e["id"] for e in listed] == [old["endpoints.chat"]]

    assert workspace.vastplan("apply", "--auto-approve").code == 0
    endpoint = workspace.vastplan("destroy", "--auto-approve", "--target", "endpoints.chat")
    assert endpoint.code == 0, endpoint.text
    out = endpoint.out
    assert out.index("workergroups.gpus: Destruction complete") < out.index("endpoints.chat: Destroying")
    assert set(workspace.state()["resources"]) == {"templates.vllm"}


def test_groups_vastai_deleted_with_their_endpoint_are_forgotten_not_deleted(workspace: Workspace) -> None:
    workspace.write(SERVING)
    assert workspace.vastplan("apply", "--auto-approve").code == 0
    endpoint = ids(workspace)["endpoints.chat"]
    api_call(workspace.api_url, "DELETE", f"/api/v0/endptjobs/{endpoint}/", CANARY_API_KEY,
             {"client_id": "me", "endptjob_id": endpoint})  # by hand: its groups go with it
    assert groups(workspace) == []

    planned = workspace.vastplan("plan", "--destroy")
    assert planned.code == 0, planned.text
    assert "# workergroups.gpus will be removed from state (already deleted outside vastplan)" in planned.out

    # Without a refresh the plan trusts the state and sends the delete: the 404 counts as deleted.
    blind = workspace.vastplan("apply", "--destroy", "--auto-approve", "-refresh=false")
    assert blind.code == 0, blind.text
    for address in ("workergroups.gpus", "endpoints.chat"):
        (done,) = [line for line in blind.out.splitlines() if line.startswith(f"{address}: Destruction complete")]
        assert done.endswith("already gone"), blind.out
    assert workspace.state()["resources"] == {}


def test_an_instance_gone_with_an_idle_destroy_rule_says_its_watchdog_may_have_done_it(
        workspace: Workspace) -> None:
    workspace.write(watchdog_stack("{idle: {after: 30m, gpu_util_below: 5, then: destroy}}"))
    assert workspace.vastplan("apply", "--auto-approve").code == 0
    box_id = ids(workspace)["instances.box"]
    key = container(workspace, box_id)["env"]["CONTAINER_API_KEY"]
    api_call(workspace.api_url, "DELETE", f"/api/v0/instances/{box_id}/", key)  # what its watchdog does

    planned = workspace.vastplan("plan")
    assert planned.code == 0, planned.text
    text = " ".join(planned.out.split())  # unfolded from 80 columns
    assert (f"instance {box_id} was deleted outside vastplan or destroyed by its watchdog for idling "
            "(idle 30m below 5% GPU, then destroy) (the API does not say which)") in text
    assert ("# instances.box will be created (deleted outside vastplan or destroyed by its watchdog for idling "
            "(idle 30m below 5% GPU, then destroy): rented again, as the stack declares it; remove it from the "
            "stack to keep it gone)") in text

    workspace.write("version: 1\nstack: watched\n")
    kept_gone = workspace.vastplan("apply", "--auto-approve")
    assert kept_gone.code == 0, kept_gone.text
    assert workspace.state()["resources"] == {} and instances(workspace) == {}


def test_an_instance_without_an_idle_destroy_rule_is_plainly_deleted_outside(workspace: Workspace) -> None:
    workspace.write(watchdog_stack("{idle: {after: 30m, then: stop}}"))
    assert workspace.vastplan("apply", "--auto-approve").code == 0
    box_id = ids(workspace)["instances.box"]
    api_call(workspace.api_url, "DELETE", f"/api/v0/instances/{box_id}/", CANARY_API_KEY)

    planned = workspace.vastplan("plan")
    assert f"instance {box_id} was deleted outside vastplan\n" in planned.out
    assert "# instances.box will be created (deleted outside vastplan)" in planned.out
    assert "watchdog" not in planned.out.split("will perform")[0]


def test_replace_of_a_volume_with_a_saved_plan_applies_as_planned(workspace: Workspace, tmp_path: Path) -> None:
    workspace.write(NETWORK.replace("SIZE", "20"))
    assert workspace.vastplan("apply", "--auto-approve").code == 0
    old = ids(workspace)
    saved = workspace.vastplan("plan", "--replace", "network_volumes.shared", "--out", "r.plan")
    assert saved.code == 0, saved.text
    applied = workspace.vastplan("apply", "r.plan")
    assert applied.code == 0, applied.text
    assert "Resources: 2 added, 0 changed, 2 destroyed." in applied.out
    new = ids(workspace)
    assert all(new[a] != old[a] for a in ("network_volumes.shared", "instances.box"))


@pytest.mark.parametrize("how", ["replace", "taint", "size"])
def test_a_volume_no_instance_mounts_is_placed_anew_when_replaced(workspace: Workspace, how: str) -> None:
    lone = "version: 1\nstack: lone\nvolumes:\n  data: {size_gb: SIZE}\n"
    workspace.write(lone.replace("SIZE", "20"))
    assert workspace.vastplan("apply", "--auto-approve").code == 0
    old = ids(workspace)["volumes.data"]

    flags = trigger(workspace, how, lone, "volumes.data")
    applied = workspace.vastplan("apply", "--auto-approve", *flags)
    assert applied.code == 0, applied.text
    assert "volumes.data: renting volume offer" in applied.out
    new = ids(workspace)["volumes.data"]
    assert new != old and set(volumes(workspace)) == {new}
    assert workspace.vastplan("plan", "--detailed-exitcode").code == 0
