"""The lost-state guard: objects that carry this stack's marker but that the state does not know are
never rented a second time. `plan` names them, `apply` refuses, `apply --adopt` takes them in."""

from __future__ import annotations

import json

from tests.harness import Workspace, instances

STACK = """
version: 1
stack: lost
ssh_keys:
  laptop: {public_key: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK0wmN/Cr3JXqmLW7u+g9pTh+wyqDHpSQEIQczXkVx9q lost@example"}
templates:
  base: {image: pytorch/pytorch, tag: "2.4.0", disk_gb: 20}
volumes:
  data: {size_gb: 10}
instances:
  gpu:
    template: base
    ssh_keys: [laptop]
    volumes: [{volume: data, mount: /data}]
    offer: {num_gpus: 1, gpu_ram_gb: 12}
    readiness: {timeout: 20s}
"""


def ids(state: dict[str, object]) -> dict[str, object]:
    resources = state["resources"]
    assert isinstance(resources, dict)
    return {address: entry["id"] for address, entry in resources.items()}


def test_after_the_state_is_deleted_apply_rents_nothing_and_adopt_converges(workspace: Workspace) -> None:
    workspace.write(STACK)
    assert workspace.vastplan("apply", "--auto-approve").code == 0
    before, rented = ids(workspace.state()), set(instances(workspace))
    for leftover in workspace.root.glob("stack.vpstate.json*"):
        leftover.unlink()

    planned = workspace.vastplan("plan")
    assert planned.code == 0
    assert "state does not know" in planned.out and f"instances.gpu: instance {before['instances.gpu']}" in planned.out
    assert f"volumes.data: volume {before['volumes.data']}" in planned.out
    document = json.loads(workspace.vastplan("plan", "--json").out)
    assert {u["address"] for u in document["unclaimed"]} == {"instances.gpu", "volumes.data"}

    refused = workspace.vastplan("apply", "--auto-approve")
    assert refused.code == 1, refused.text
    assert f"vastplan import instances.gpu {before['instances.gpu']}" in refused.err
    assert "apply --adopt" in refused.err and "Nothing was changed" in refused.err
    assert set(instances(workspace)) == rented and not workspace.state_path.exists()

    adopted = workspace.vastplan("apply", "--adopt", "--auto-approve")
    assert adopted.code == 0, adopted.text
    after = ids(workspace.state())
    assert after["instances.gpu"] == before["instances.gpu"] and after["volumes.data"] == before["volumes.data"]
    assert set(instances(workspace)) == rented
    again = workspace.vastplan("plan", "--detailed-exitcode")
    assert again.code == 0, again.text


def test_a_second_state_file_for_one_stack_rents_nothing(workspace: Workspace) -> None:
    workspace.write(STACK)
    first = workspace.vastplan("apply", "--auto-approve", "--state", "first.vpstate.json")
    assert first.code == 0, first.text
    made = json.loads((workspace.root / "first.vpstate.json").read_text())["resources"]["instances.gpu"]["id"]
    second = workspace.vastplan("apply", "--auto-approve", "--state", "second.vpstate.json")
    assert second.code == 1
    assert f"instances.gpu (instance {made})" in second.err
    assert len(instances(workspace)) == 1
