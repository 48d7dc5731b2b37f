"""Removing things from an instance in place: the sandbox's update route replaces the env whole, as
Vast.ai's does, so a variable or a port dropped from the stack is gone after one in-place update."""

from __future__ import annotations

from tests.conftest import CANARY_API_KEY
from tests.harness import Workspace, api_get


def stack(env: str, ports: str) -> str:
    return f"""
version: 1
stack: trim
instances:
  box:
    image: ubuntu
    tag: "22.04"
    env: {env}
    ports: {ports}
    offer: {{num_gpus: 1}}
    readiness: {{timeout: 20s}}
"""


def live_env(ws: Workspace, instance_id: int) -> dict[str, str]:
    row = api_get(ws.api_url, f"/api/v0/instances/{instance_id}/", CANARY_API_KEY)["instances"]
    return {k: v for k, v in row["extra_env"]}


def test_removing_an_env_var_and_a_port_is_one_in_place_update_then_no_changes(workspace: Workspace) -> None:
    workspace.write(stack("{MODEL: small, DEBUG: '1'}", "[8000, 9090]"))
    assert workspace.vastplan("apply", "--auto-approve").code == 0
    box = workspace.state()["resources"]["instances.box"]["id"]
    assert {"DEBUG", "-p 9090:9090"} <= set(live_env(workspace, box))

    workspace.write(stack("{MODEL: small}", "[8000]"))
    planned = workspace.vastplan("plan")
    assert "Plan: 0 to add, 1 to change, 0 to destroy." in planned.out, planned.out
    assert "(the container is recreated on the same machine)" in planned.out
    applied = workspace.vastplan("apply", "--auto-approve")
    assert applied.code == 0, applied.text

    assert workspace.state()["resources"]["instances.box"]["id"] == box
    env = live_env(workspace, box)
    assert env == {"MODEL": "small", "-p 8000:8000": "1"}
    again = workspace.vastplan("plan", "--detailed-exitcode")
    assert again.code == 0 and "No changes." in again.out, again.text
