"""The Terraform-grade workflow through the CLI: targeting, --replace, refresh modes, state
commands, import, outputs."""

from __future__ import annotations

import json

from tests.harness import (
    CANARY_API_KEY,
    KEY_A,
    Workspace,
    api_call,
    api_post,
    instances,
    keys_in_sandbox,
    state_id,
    templates_in_sandbox,
)

STACK = f"""
version: 1
stack: flow
ssh_keys:
  me: {{public_key: "{KEY_A}"}}
templates:
  base: {{name: "base image", image: ubuntu, tag: "22.04"}}
instances:
  box:
    count: 2
    image: ubuntu
    offer: {{num_gpus: 1, gpu_name: "RTX 3090"}}
    ssh_keys: [me]
    readiness: {{timeout: 20s}}
outputs:
  ssh: {{value: "${{instances.box[*].ssh_url}}"}}
  first: {{value: "${{instances.box[0].ssh_url}}", sensitive: true}}
  template_id: {{value: "template ${{templates.base.id}}"}}
"""


def test_target_applies_only_the_resource_and_its_dependencies(workspace: Workspace) -> None:
    workspace.write(STACK)
    planned = workspace.vastplan("plan", "--target", "templates.base")
    assert "Plan: 1 to add, 0 to change, 0 to destroy." in planned.out
    assert "the result may be incomplete" in planned.out
    assert workspace.vastplan("apply", "--auto-approve", "--target", "instances.box[0]").code == 0
    assert set(workspace.state()["resources"]) == {"ssh_keys.me", "instances.box[0]"}
    rest = workspace.vastplan("plan", "--exclude", "ssh_keys.me")
    assert "Plan: 1 to add, 0 to change, 0 to destroy." in rest.out  # box[1] needs the excluded key: left out
    unknown = workspace.vastplan("plan", "--target", "instances.nope")
    assert unknown.code == 1 and "instances.nope is not an address" in unknown.err


def test_replace_forces_a_new_object_and_outputs_follow(workspace: Workspace) -> None:
    workspace.write(STACK)
    applied = workspace.vastplan("apply", "--auto-approve")
    assert applied.code == 0, applied.text
    assert "Outputs:" in applied.out and 'first = "(sensitive)"' in applied.out
    old = state_id(workspace, "instances.box[1]")

    replaced = workspace.vastplan("apply", "--auto-approve", "--replace", "instances.box[1]")
    assert "# instances.box[1] must be replaced (requested with --replace)" in replaced.out
    new = state_id(workspace, "instances.box[1]")
    assert new != old and old not in instances(workspace)

    shown = workspace.vastplan("output", "--json", stack=True)
    values = json.loads(shown.out)
    row = instances(workspace)[new]
    assert values["ssh"]["value"][1] == f"ssh -p {row['ssh_port']} root@{row['ssh_host']}"
    assert values["first"] == {"value": "(sensitive)", "sensitive": True}
    assert values["template_id"]["value"] == f"template {state_id(workspace, 'templates.base')}"
    revealed = workspace.vastplan("output", "first", "--show-sensitive")
    assert revealed.out.strip().startswith("ssh -p ")


def test_state_list_show_mv_rm_and_import(workspace: Workspace) -> None:
    workspace.write(STACK)
    assert workspace.vastplan("apply", "--auto-approve").code == 0
    listed = workspace.vastplan("state", "list")
    assert [line.split()[0] for line in listed.out.splitlines()] == [
        "instances.box[0]", "instances.box[1]", "ssh_keys.me", "templates.base"]
    template_id = state_id(workspace, "templates.base")
    shown = json.loads(workspace.vastplan("state", "show", "templates.base").out)
    assert shown["id"] == template_id and shown["kind"] == "template"

    # Rename in the stack and in state: no replacement, no change (its display name is set explicitly;
    # left to default, the name follows the resource name and would change with it).
    workspace.write(STACK.replace("base:", "renamed:").replace("templates.base", "templates.renamed"))
    assert workspace.vastplan("state", "mv", "templates.base", "templates.renamed").code == 0
    assert workspace.vastplan("plan", "--detailed-exitcode").code == 0  # renamed, not replaced or changed

    # Forget it, then adopt it again with import.
    assert workspace.vastplan("state", "rm", "templates.renamed").code == 0
    assert len(templates_in_sandbox(workspace)) == 1  # rm does not touch the account
    imported = workspace.vastplan("import", "templates.renamed", str(template_id))
    assert imported.code == 0, imported.text
    assert workspace.vastplan("apply", "--auto-approve").code == 0
    assert workspace.vastplan("plan", "--detailed-exitcode").code == 0
    assert workspace.state_path.with_name(workspace.state_path.name + ".backup").exists()


def test_import_of_a_missing_object_or_undeclared_address_is_refused(workspace: Workspace) -> None:
    workspace.write(STACK)
    missing = workspace.vastplan("import", "templates.base", "99999")
    assert missing.code == 1 and "there is no template with id 99999" in missing.err
    undeclared = workspace.vastplan("import", "templates.other", "1")
    assert undeclared.code == 1 and "templates.other is not declared" in undeclared.err


def test_import_of_a_key_made_elsewhere_then_no_changes(workspace: Workspace) -> None:
    workspace.write(STACK.split("templates:")[0])
    made = api_post(workspace.api_url, "/api/v0/ssh/", CANARY_API_KEY, {"ssh_key": KEY_A})
    assert workspace.vastplan("import", "ssh_keys.me", str(made["key"]["id"])).code == 0
    assert workspace.vastplan("plan", "--detailed-exitcode").code == 0
    assert keys_in_sandbox(workspace) == [KEY_A]


def test_refresh_only_accepts_drift_into_state(workspace: Workspace) -> None:
    workspace.write(STACK)
    assert workspace.vastplan("apply", "--auto-approve").code == 0
    box = state_id(workspace, "instances.box[0]")
    api_call(workspace.api_url, "PUT", f"/api/v0/instances/{box}/", CANARY_API_KEY, {"label": "by hand"})
    before = workspace.state()["serial"]
    preview = workspace.vastplan("plan", "--refresh-only")
    assert "label was edited outside vastplan" in preview.out and workspace.state()["serial"] == before
    accepted = workspace.vastplan("apply", "--refresh-only", "--auto-approve")
    assert accepted.code == 0 and "nothing in the account changed" in accepted.out
    assert workspace.state()["resources"]["instances.box[0]"]["attributes"]["label"] == "by hand"
    assert instances(workspace)[box]["label"] == "by hand"


def test_no_refresh_trusts_state_and_sends_no_list_request(workspace: Workspace) -> None:
    workspace.write(STACK)
    assert workspace.vastplan("apply", "--auto-approve").code == 0
    planned = workspace.vastplan("plan", "--no-refresh", "--detailed-exitcode")
    assert planned.code == 0, planned.text
    assert "(0 requests" in planned.out
