"""Notification webhooks as desired state, through the CLI against the sandbox: plan, apply, converge,
an in-place change, the signing secret as a sensitive output, import of a webhook made through the
official package's API client (its CLI has no webhook command), destroy."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.harness import CANARY_API_KEY, Workspace
from tests.vastai_cli import run_vastai_client
from vastsandbox.server import RunningSandbox

STACK = """
version: 1
stack: hooks
webhooks:
  ops:
    url: https://hooks.example.com/vast
    events: [client:outbid, client:low_credit]
    name: {name}
outputs:
  ops_signing_secret: {{value: "${{webhooks.ops.signing_secret}}"}}
"""


def official(ws: Workspace, tmp_path: Path, method: str, path: str, body: object = None) -> Any:
    done = run_vastai_client(ws.api_url, CANARY_API_KEY, method, path, body, config_dir=tmp_path / "cli")
    ws.outputs += [done.stderr]
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["status"] == 200, answer
    return answer["body"]


def listed(ws: Workspace, tmp_path: Path) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = official(ws, tmp_path, "GET", "/webhooks/")["webhooks"]
    return rows


def signing_secret_in_sandbox(sandbox: RunningSandbox, webhook_id: int) -> str:
    for owned in sandbox.sandbox.world.extra["webhooks"].values():
        if str(webhook_id) in owned:
            return str(owned[str(webhook_id)]["webhook_secret"])
    raise AssertionError(f"no webhook {webhook_id} in the sandbox")


def test_webhook_plan_apply_converge_change_output_and_destroy(workspace: Workspace, tmp_path: Path,
                                                               sandbox: RunningSandbox) -> None:
    workspace.write(STACK.format(name="Ops alerts"))
    planned = workspace.vastplan("plan")
    assert planned.code == 0, planned.text
    assert "# webhooks.ops will be created" in planned.out and "client:low_credit" in planned.out
    applied = workspace.vastplan("apply", "--auto-approve")
    assert applied.code == 0, applied.text
    assert 'ops_signing_secret = "(sensitive)"' in applied.out
    assert workspace.vastplan("plan", "--detailed-exitcode").code == 0

    [row] = listed(workspace, tmp_path)
    webhook_id = workspace.state()["resources"]["webhooks.ops"]["id"]
    assert row["id"] == webhook_id and row["name"] == "vp:hooks/webhooks.ops Ops alerts"
    assert row["webhook_url"] == "https://hooks.example.com/vast"
    assert sorted(row["event_types"]) == ["client:low_credit", "client:outbid"]
    assert "webhook_secret" not in row

    # The signing secret: (sensitive) unless asked for; never in the state's resources.
    secret = signing_secret_in_sandbox(sandbox, webhook_id)
    assert secret not in "".join(workspace.outputs)
    assert secret not in workspace.vastplan("state", "show", "webhooks.ops").text
    assert workspace.vastplan("output", "ops_signing_secret").out.strip() == "(sensitive)"
    assert workspace.vastplan("output", "ops_signing_secret", "-raw").out.strip() == secret
    assert secret in workspace.vastplan("output", "--show-sensitive").out
    state = workspace.state()
    assert state["resources"]["webhooks.ops"]["attributes"]["signing_secret"] == "(sensitive)"
    assert state["outputs"]["ops_signing_secret"]["sensitive"] is True

    # Name and types change in place: same id, and the output keeps the secret.
    workspace.write(STACK.format(name="Ops").replace("client:outbid, ", ""))
    changed = workspace.vastplan("plan", "--detailed-exitcode")
    assert changed.code == 2 and "# webhooks.ops will be updated in place" in changed.out, changed.text
    assert "Plan: 0 to add, 1 to change, 0 to destroy." in changed.out
    assert workspace.vastplan("apply", "--auto-approve").code == 0
    [row] = listed(workspace, tmp_path)
    assert (row["id"], row["name"]) == (webhook_id, "vp:hooks/webhooks.ops Ops")
    assert row["event_types"] == ["client:low_credit"]
    assert workspace.vastplan("plan", "--detailed-exitcode").code == 0
    assert workspace.vastplan("output", "ops_signing_secret", "-raw").out.strip() == secret

    # Changed outside: drift, and apply puts the stack's URL back.
    official(workspace, tmp_path, "PUT", f"/webhooks/{webhook_id}/", {"webhook_url": "https://elsewhere.example/x"})
    drifted = workspace.vastplan("plan", "--detailed-exitcode")
    assert drifted.code == 2 and "url was changed outside vastplan" in drifted.text, drifted.text
    assert workspace.vastplan("apply", "--auto-approve").code == 0
    assert listed(workspace, tmp_path)[0]["webhook_url"] == "https://hooks.example.com/vast"

    assert workspace.vastplan("destroy", "--auto-approve").code == 0
    assert listed(workspace, tmp_path) == []


def test_a_webhook_made_through_the_official_client_is_imported(workspace: Workspace, tmp_path: Path) -> None:
    made = official(workspace, tmp_path, "POST", "/webhooks/", {
        "name": "hand-made", "webhook_url": "https://hooks.example.com/vast", "event_types": ["client:low_credit"]})
    webhook_id = made["webhook"]["id"]
    workspace.write(STACK.format(name="Ops alerts"))
    imported = workspace.vastplan("import", "webhooks.ops", str(webhook_id))
    assert imported.code == 0, imported.text
    plan = workspace.vastplan("plan", "--detailed-exitcode")
    assert plan.code == 2 and "# webhooks.ops will be updated in place" in plan.out, plan.text
    assert "Plan: 0 to add, 1 to change, 0 to destroy." in plan.out
    assert workspace.vastplan("apply", "--auto-approve").code == 0
    [row] = listed(workspace, tmp_path)
    assert (row["id"], row["name"]) == (webhook_id, "vp:hooks/webhooks.ops Ops alerts")
    assert workspace.vastplan("plan", "--detailed-exitcode").code == 0
    assert workspace.vastplan("destroy", "--auto-approve").code == 0
    assert listed(workspace, tmp_path) == []


def test_a_lost_state_does_not_subscribe_the_url_twice(workspace: Workspace, tmp_path: Path) -> None:
    workspace.write(STACK.format(name="Ops alerts"))
    assert workspace.vastplan("apply", "--auto-approve").code == 0
    workspace.state_path.unlink()
    refused = workspace.vastplan("apply", "--auto-approve")
    assert refused.code == 1 and "vastplan import webhooks.ops" in refused.text, refused.text
    assert len(listed(workspace, tmp_path)) == 1
    assert workspace.vastplan("apply", "--auto-approve", "--adopt").code == 0
    assert workspace.vastplan("destroy", "--auto-approve").code == 0
    assert listed(workspace, tmp_path) == []
