"""The official `vastai` CLI, pointed at the sandbox, sees exactly what vastplan made."""

from __future__ import annotations

import json
from pathlib import Path

from tests.harness import CANARY_API_KEY, KEY_A, KEY_B, Workspace, gpu_stack, skeleton_stack
from tests.vastai_cli import run_vastai


def test_vastai_lists_the_keys_and_templates_vastplan_created(workspace: Workspace, tmp_path: Path) -> None:
    workspace.write(skeleton_stack())
    assert workspace.vastplan("apply", "--auto-approve").code == 0
    state = workspace.state()["resources"]

    keys = run_vastai(workspace.api_url, CANARY_API_KEY, "show", "ssh-keys", "--raw", config_dir=tmp_path / "cli")
    assert keys.returncode == 0, keys.stderr
    listed = {row["id"]: row["key"] for row in json.loads(keys.stdout)}
    assert listed == {state["ssh_keys.laptop"]["id"]: KEY_A, state["ssh_keys.ci"]["id"]: KEY_B}

    found = run_vastai(workspace.api_url, CANARY_API_KEY, "search", "templates", "name=torch",
                       config_dir=tmp_path / "cli")
    assert found.returncode == 0, found.stderr
    rows = json.loads(found.stdout)
    assert [(r["id"], r["image"], r["desc"]) for r in rows] == [
        (state["templates.torch"]["id"], "pytorch/pytorch", "vp:skeleton/templates.torch")
    ]
    workspace.outputs += [keys.stdout, keys.stderr, found.stdout, found.stderr]


def test_objects_the_vastai_cli_creates_are_not_touched_by_vastplan(workspace: Workspace, tmp_path: Path) -> None:
    made = run_vastai(workspace.api_url, CANARY_API_KEY, "create", "template", "--name", "hand-made", "--image",
                      "vastai/pytorch", "--image_tag", "latest", "--ssh", "--direct", config_dir=tmp_path / "cli")
    assert made.returncode == 0 and "New Template" in made.stdout, made.stderr
    workspace.write(skeleton_stack())
    assert workspace.vastplan("apply", "--auto-approve").code == 0
    assert workspace.vastplan("destroy", "--auto-approve").code == 0

    found = run_vastai(workspace.api_url, CANARY_API_KEY, "search", "templates", "name=hand-made",
                       config_dir=tmp_path / "cli")
    assert [r["name"] for r in json.loads(found.stdout)] == ["hand-made"]
    workspace.outputs += [made.stdout, made.stderr, found.stdout, found.stderr]


def test_vastai_sees_the_instances_and_volume_vastplan_rented(workspace: Workspace, tmp_path: Path) -> None:
    workspace.write(gpu_stack())
    assert workspace.vastplan("apply", "--auto-approve").code == 0
    state = workspace.state()["resources"]
    cli = tmp_path / "cli"

    shown = run_vastai(workspace.api_url, CANARY_API_KEY, "show", "instances", "--raw", config_dir=cli)
    rows = {row["id"]: row for row in json.loads(shown.stdout)}
    assert set(rows) == {state["instances.worker"]["id"], state["instances.helper"]["id"]}
    worker = rows[state["instances.worker"]["id"]]
    assert worker["label"] == "vp:gpus/instances.worker" and worker["actual_status"] == "running"

    one = run_vastai(workspace.api_url, CANARY_API_KEY, "show", "instance", str(worker["id"]), "--raw",
                     config_dir=cli)
    assert json.loads(one.stdout)["id"] == worker["id"]

    volumes = run_vastai(workspace.api_url, CANARY_API_KEY, "show", "volumes", "--raw", config_dir=cli)
    assert [v["id"] for v in json.loads(volumes.stdout)] == [state["volumes.data"]["id"]]
    workspace.outputs += [shown.stderr, one.stderr, volumes.stderr]
