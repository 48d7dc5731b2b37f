"""Vast.ai mounts at most one volume per instance. The instance kind checks that at ``validate`` time,
so a stack with two volumes on one instance fails at FILE:LINE:COL before any network: ``validate``
with no API to reach, and ``plan``/``apply`` against a sandbox that sees no request and rents nothing."""

from __future__ import annotations

import json
import socket
import urllib.request
from typing import Any

import pytest

from tests.conftest import CANARY_API_KEY
from tests.harness import Workspace, api_get

TWO_VOLUMES = """\
version: 1
stack: demo
volumes:
  models: {size_gb: 50}
  scratch: {size_gb: 20}
instances:
  trainer:
    image: pytorch/pytorch
    offer: {gpu_name: RTX 4090}
    volumes:
      - {volume: models, mount: /models}
      - {volume: scratch, mount: /scratch}
"""
MESSAGE = "instances.trainer.volumes[1]: Vast.ai mounts at most one volume per instance; this one lists 2"


def closed_port_url() -> str:
    """A loopback URL nothing listens on: any request to it would be refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def requests_seen(url: str) -> int:
    with urllib.request.urlopen(url + "/_sandbox/counters", timeout=10) as response:
        counted: dict[str, Any] = json.loads(response.read())
    return int(counted["total"])


def rented(ws: Workspace) -> tuple[list[Any], list[Any]]:
    instances = api_get(ws.api_url, "/api/v1/instances/?limit=25", CANARY_API_KEY)["instances"]
    volumes = api_get(ws.api_url, "/api/v0/volumes?owner=me&type=all_volume", CANARY_API_KEY)["volumes"]
    return instances, volumes


def test_validate_refuses_two_volumes_on_one_instance_with_no_api_to_reach(workspace: Workspace) -> None:
    path = workspace.write(TWO_VOLUMES)
    workspace.api_url = closed_port_url()

    result = workspace.vastplan("validate")

    assert result.code == 1, result.text
    assert f"{path}:12:9: {MESSAGE}" in result.err.splitlines(), result.err
    assert "Traceback" not in result.text and "connect" not in result.text.lower()


@pytest.mark.parametrize("command", ["plan", "apply"])
def test_plan_and_apply_refuse_it_before_any_request(workspace: Workspace, command: str) -> None:
    path = workspace.write(TWO_VOLUMES)
    before = requests_seen(workspace.api_url)

    result = workspace.vastplan(command, *(["--auto-approve"] if command == "apply" else []))

    assert result.code == 1, result.text
    assert f"{path}:12:9: {MESSAGE}" in result.err.splitlines(), result.err
    assert requests_seen(workspace.api_url) == before  # not even a refresh
    assert rented(workspace) == ([], [])
    assert not workspace.state_path.exists()


def test_one_volume_on_an_instance_plans_and_the_sandbox_counts_the_requests(workspace: Workspace) -> None:
    """The counterpart: the same stack with one mount passes, and its plan does reach the sandbox."""
    workspace.write(TWO_VOLUMES.rsplit("      - {volume: scratch", 1)[0])
    before = requests_seen(workspace.api_url)

    assert workspace.vastplan("validate").code == 0
    result = workspace.vastplan("plan")

    assert result.code == 0, result.text
    assert requests_seen(workspace.api_url) > before
