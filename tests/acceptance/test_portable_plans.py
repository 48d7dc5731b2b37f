"""Portable saved plans: a CI pipeline plans in one job and applies in another, in another checkout
folder. A plan records its paths relative to where it was made, plus the backend, workspace, lineage
and serial it was made against; `--target` and `--replace` plans apply as saved."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.harness import Workspace, instances

STACK = """
version: 1
stack: ci
instances:
  a:
    image: ubuntu
    offer: {num_gpus: 1, gpu_name: "RTX 3090"}
    readiness: {timeout: 20s}
  b:
    image: ubuntu
    offer: {num_gpus: 1, gpu_name: "RTX 3090"}
    readiness: {timeout: 20s}
"""


def checkout(workspace: Workspace, name: str, capsys: pytest.CaptureFixture[str]) -> Workspace:
    """Another folder holding the same stack file, as a second CI job's checkout would."""
    root = workspace.root.parent / name
    root.mkdir()
    other = Workspace(root, workspace.api_url, capsys)
    other.outputs = workspace.outputs  # one list, so the key-leak check sees everything
    other.write(STACK)
    return other


def test_a_plan_made_in_one_checkout_applies_in_another(workspace: Workspace,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    pr_job, merge_job = checkout(workspace, "pr-job", capsys), checkout(workspace, "merge-job", capsys)
    assert pr_job.vastplan("plan", "--out", "ci.plan").code == 0
    shutil.copy(pr_job.root / "ci.plan", merge_job.root / "ci.plan")
    shutil.rmtree(pr_job.root)  # the PR job's runner is gone

    applied = merge_job.vastplan("apply", "ci.plan", stack=False)
    assert applied.code == 0, applied.text
    assert len(instances(workspace)) == 2
    assert merge_job.state_path.is_file()  # where this checkout's configuration says
    assert not pr_job.root.exists()  # never at the old path
    assert merge_job.vastplan("plan", "--detailed-exitcode").code == 0


def test_a_moved_folder_applies_its_plan_with_a_shared_state(workspace: Workspace,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    shared = workspace.root.parent / "shared" / "ci.vpstate.json"  # absolute: kept as given
    first = checkout(workspace, "first", capsys)
    assert first.vastplan("apply", "--auto-approve", "--state", str(shared)).code == 0
    first.write(STACK.replace("ubuntu", "debian", 1))
    assert first.vastplan("plan", "--state", str(shared), "--out", "change.plan").code == 0
    moved = workspace.root.parent / "moved"
    first.root.rename(moved)
    again = Workspace(moved, workspace.api_url, capsys)
    again.outputs = workspace.outputs
    applied = again.vastplan("apply", "change.plan", stack=False)
    assert applied.code == 0, applied.text
    assert "0 added, 1 changed, 0 destroyed" in applied.out
    assert again.vastplan("plan", "--state", str(shared), "--detailed-exitcode").code == 0
    assert not (moved / "stack.vpstate.json").exists()


def test_plans_saved_with_target_and_with_replace_apply(workspace: Workspace) -> None:
    workspace.write(STACK)
    assert workspace.vastplan("plan", "--target", "instances.a", "--out", "t.plan").code == 0
    targeted = workspace.vastplan("apply", "t.plan", stack=False)
    assert targeted.code == 0, targeted.text
    assert set(workspace.state()["resources"]) == {"instances.a"}

    assert workspace.vastplan("apply", "--auto-approve").code == 0
    ids = {a: e["id"] for a, e in workspace.state()["resources"].items()}
    assert workspace.vastplan("plan", "--replace", "instances.b", "--out", "r.plan").code == 0
    replaced = workspace.vastplan("apply", "r.plan", stack=False)
    assert replaced.code == 0, replaced.text
    now = {a: e["id"] for a, e in workspace.state()["resources"].items()}
    assert now["instances.a"] == ids["instances.a"] and now["instances.b"] != ids["instances.b"]


def test_a_plan_saved_in_another_workspace_is_refused_and_the_state_untouched(workspace: Workspace) -> None:
    workspace.write(STACK)
    assert workspace.vastplan("apply", "--auto-approve").code == 0
    before = workspace.state_path.read_bytes()
    assert workspace.vastplan("plan", "--workspace", "staging", "--out", "s.plan").code == 0
    refused = workspace.vastplan("apply", "s.plan", stack=False)
    assert refused.code == 1
    assert "made in the workspace 'staging', but this is 'default'" in refused.err
    assert workspace.state_path.read_bytes() == before and len(instances(workspace)) == 2
    assert not Path(str(workspace.state_path) + ".d").exists()
