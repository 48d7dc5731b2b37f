"""``vastplan logs ADDR``: an applied instance's container logs through the API's result URL,
and a clear message for every address that has none."""

from __future__ import annotations

import time

from tests.conftest import CANARY_API_KEY
from tests.harness import Workspace, api_call, api_get

STACK = """
version: 1
stack: logs
ssh_keys:
  me: {public_key: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGx me@host"}
instances:
  web:
    count: 2
    image: nginx
    onstart: "echo serving on 8080; echo ready"
    offer: {num_gpus: 1}
    readiness: {timeout: 20s}
"""


def _applied(workspace: Workspace) -> None:
    workspace.write(STACK)
    applied = workspace.vastplan("apply", "--auto-approve")
    assert applied.code == 0, applied.text


def test_logs_print_the_instance_lines_and_tail_keeps_the_last(workspace: Workspace) -> None:
    _applied(workspace)
    shown = workspace.vastplan("logs", "instances.web[1]")
    assert shown.code == 0, shown.text
    lines = shown.out.splitlines()
    assert "== nginx:latest ==" in lines and "Server listening on 0.0.0.0 port 22." in lines
    assert lines[-2:] == ["serving on 8080", "ready"]

    tail = workspace.vastplan("logs", "instances.web[1]", "--tail", "1")
    assert tail.code == 0 and tail.out.splitlines() == ["ready"]


def test_logs_follow_the_instance_through_a_stop(workspace: Workspace) -> None:
    _applied(workspace)
    instance_id = workspace.state()["resources"]["instances.web[0]"]["id"]
    api_call(workspace.api_url, "PUT", f"/api/v0/instances/{instance_id}/", CANARY_API_KEY, {"state": "stopped"})
    deadline = time.monotonic() + 10
    while api_get(workspace.api_url, f"/api/v0/instances/{instance_id}/", CANARY_API_KEY)["instances"][
            "actual_status"] != "stopped":
        assert time.monotonic() < deadline, "the instance never stopped"
        time.sleep(0.05)
    shown = workspace.vastplan("logs", "instances.web[0]", "--tail", "4")
    assert shown.code == 0, shown.text
    assert shown.out.splitlines() == ["serving on 8080", "ready", "Received SIGTERM, shutting down.",
                                      "sshd: Received signal 15; terminating."]


def test_unusable_addresses_get_one_clear_line(workspace: Workspace) -> None:
    _applied(workspace)
    cases = {
        "web": "'web' is not a resource address",
        "ssh_keys.me": "ssh_keys.me is an SSH key, not an instance; only instances have logs",
        "buckets.x": "there is no resource type 'buckets'",
        "instances.web": "instances.web has 2 instances; name one, e.g. instances.web[0]",
        "instances.db": "instances.db is not an address of the stack",
        "instances.web[7]": "instances.web[7] is not an address of the stack",
    }
    for address, message in cases.items():
        failed = workspace.vastplan("logs", address)
        assert failed.code == 1 and message in failed.err, (address, failed.text)
        assert "Traceback" not in failed.text


def test_an_instance_declared_but_not_applied_and_one_gone_from_the_account(workspace: Workspace) -> None:
    _applied(workspace)
    workspace.write(STACK.replace("count: 2", "count: 3"))
    missing = workspace.vastplan("logs", "instances.web[2]")
    assert missing.code == 1 and "instances.web[2] is not in the state" in missing.err
    assert "run `vastplan apply`" in missing.err

    gone = workspace.state()["resources"]["instances.web[0]"]["id"]
    api_call(workspace.api_url, "DELETE", f"/api/v0/instances/{gone}/", CANARY_API_KEY, {})
    failed = workspace.vastplan("logs", "instances.web[0]")
    assert failed.code == 1 and f"instance {gone} no longer exists in the account" in failed.err, failed.text


def test_logs_without_a_state_file(workspace: Workspace) -> None:
    workspace.write(STACK)
    failed = workspace.vastplan("logs", "instances.web[0]")
    assert failed.code == 1 and "there is no state at" in failed.err
    assert "Traceback" not in failed.text
