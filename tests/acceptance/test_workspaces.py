"""Workspaces: staging and prod from one stack file, each with its own state and its own markers, so
that no command in one sees or touches the other's objects (issue 12: `orphans --destroy` in staging
once destroyed prod's instance)."""

from __future__ import annotations

import json

from tests.harness import Workspace, instances

STACK = """
version: 1
stack: shop
instances:
  box:
    image: ubuntu
    label: "env-${workspace}"
    offer: {num_gpus: 1, gpu_name: "RTX 3090"}
    readiness: {timeout: 20s}
"""


def labels(ws: Workspace) -> dict[str, int]:
    return {row["label"]: row_id for row_id, row in instances(ws).items()}


def test_staging_and_prod_from_one_stack_never_touch_each_other(workspace: Workspace) -> None:
    workspace.write(STACK)
    assert workspace.vastplan("apply", "--auto-approve").code == 0  # the default workspace
    made = workspace.vastplan("workspace", "new", "staging")
    assert made.code == 0, made.text
    assert workspace.vastplan("workspace", "show").out.strip() == "staging"
    assert workspace.vastplan("apply", "--auto-approve").code == 0  # staging, as selected
    prod = workspace.vastplan("apply", "--auto-approve", "--workspace", "prod")
    assert prod.code == 0, prod.text
    assert set(labels(workspace)) == {"vp:shop/instances.box env-default", "vp:shop@staging/instances.box env-staging",
                                      "vp:shop@prod/instances.box env-prod"}
    assert (workspace.root / "stack.vpstate.json.d" / "staging" / "stack.vpstate.json").is_file()
    assert (workspace.root / "stack.vpstate.json.d" / "prod" / "stack.vpstate.json").is_file()

    for name in ("staging", "prod", "default"):  # no plan lists another workspace's instance as an orphan
        planned = workspace.vastplan("plan", "--detailed-exitcode", "--workspace", name)
        assert planned.code == 0 and "Orphans" not in planned.out, planned.text
    assert "No orphans" in workspace.vastplan("orphans", "--destroy", "--auto-approve").out
    assert len(instances(workspace)) == 3

    destroyed = workspace.vastplan("destroy", "--auto-approve")  # staging, as selected
    assert destroyed.code == 0, destroyed.text
    assert set(labels(workspace)) == {"vp:shop/instances.box env-default", "vp:shop@prod/instances.box env-prod"}

    listed = workspace.vastplan("workspace", "list")
    assert listed.out.split("\n")[:3] == ["  default", "  prod", "* staging"], listed.out
    refused = workspace.vastplan("workspace", "delete", "staging")
    assert refused.code == 1 and "current workspace" in refused.err
    assert workspace.vastplan("workspace", "select", "default").code == 0
    kept = workspace.vastplan("workspace", "delete", "prod")
    assert kept.code == 1 and "instances.box" in kept.err and "destroy" in kept.err
    assert workspace.vastplan("workspace", "delete", "staging").code == 0
    assert json.loads(workspace.vastplan("workspace", "list", "--json").out)["workspaces"] == ["default", "prod"]


def test_the_environment_variable_chooses_the_workspace_over_the_selection(workspace: Workspace,
                                                                           monkeypatch: object) -> None:
    import pytest

    assert isinstance(monkeypatch, pytest.MonkeyPatch)
    workspace.write(STACK)
    assert workspace.vastplan("workspace", "new", "staging").code == 0
    monkeypatch.setenv("VASTPLAN_WORKSPACE", "ci")
    assert workspace.vastplan("workspace", "show").out.strip() == "ci"
    monkeypatch.setenv("VASTPLAN_WORKSPACE", "Bad Name")
    bad = workspace.vastplan("workspace", "show")
    assert bad.code == 1 and "not a workspace name" in bad.err
