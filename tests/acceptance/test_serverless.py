"""Serverless endpoints and worker groups through the real CLI against the sandbox: plan, apply,
converge, change in place, import what the official `vastai` CLI made, destroy leaving nothing, and
the official CLI listing what vastplan made."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from tests.harness import CANARY_API_KEY, Workspace, admin, api_get, api_post
from tests.vastai_cli import run_vastai

TEMPLATE = """
templates:
  vllm:
    image: vllm/vllm-openai
    tag: "v0.6.4"
    runtype: args
    args: ["--model", "Qwen/Qwen3-8B"]
    disk_gb: 32
"""


def stack(endpoint: str = "", group: str = "", *, name: str = "serving") -> str:
    text = f"version: 1\nstack: {name}\n{TEMPLATE}"
    if endpoint:
        text += f"\nendpoints:\n  chat:\n{endpoint}"
    if group:
        text += f"\nworkergroups:\n  gpus:\n{group}"
    return text


ENDPOINT = """    name: qwen-chat
    target_util: 0.8
    cold_workers: 1
    max_workers: 4
"""
GROUP = """    endpoint: chat
    template: vllm
    offer: {gpu_name: "RTX 4090", num_gpus: 1, dph_total: 0.9}
    launch_args: "--disk 64"
    cold_workers: 1
    max_workers: 3
"""


def vastai(ws: Workspace, tmp_path: Path, *args: str) -> Any:
    done = run_vastai(ws.api_url, CANARY_API_KEY, *args, config_dir=tmp_path / "cli")
    ws.outputs += [done.stdout, done.stderr]
    assert done.returncode == 0, done.stderr
    return done.stdout


def shown(ws: Workspace, tmp_path: Path, what: str) -> list[dict[str, Any]]:
    """``vastai show endpoints|workergroups --raw``: what the official CLI lists."""
    rows: list[dict[str, Any]] = json.loads(vastai(ws, tmp_path, "show", what, "--raw"))
    return rows


def state_ids(ws: Workspace) -> dict[str, Any]:
    return {address: entry["id"] for address, entry in ws.state()["resources"].items()}


def test_an_endpoint_and_its_worker_group_plan_apply_converge_change_in_place_and_destroy(
        workspace: Workspace, tmp_path: Path) -> None:
    workspace.write(stack(ENDPOINT, GROUP))
    planned = workspace.vastplan("plan", "--detailed-exitcode")
    assert planned.code == 2, planned.text
    assert "Plan: 3 to add, 0 to change, 0 to destroy." in planned.out
    assert '+ endpoint "chat"' in planned.out and '+ workergroup "gpus"' in planned.out
    assert 'offer.gpu_name = {"eq": "RTX 4090"}' in planned.out

    applied = workspace.vastplan("apply", "--auto-approve")
    assert applied.code == 0, applied.text
    assert "Apply complete! Resources: 3 added, 0 changed, 0 destroyed." in applied.out
    ids = state_ids(workspace)

    (endpoint,) = shown(workspace, tmp_path, "endpoints")
    assert endpoint["id"] == ids["endpoints.chat"]
    assert (endpoint["endpoint_name"], endpoint["target_util"], endpoint["cold_workers"], endpoint["max_workers"]) \
        == ("qwen-chat", 0.8, 1, 4)
    (group,) = shown(workspace, tmp_path, "workergroups")
    template = workspace.state()["resources"]["templates.vllm"]
    assert group["id"] == ids["workergroups.gpus"]
    assert (group["endpoint_id"], group["endpoint_name"]) == (ids["endpoints.chat"], "qwen-chat")
    assert (group["template_id"], group["template_hash"]) == (template["id"], template["attributes"]["hash_id"])
    assert group["search_query"] == {"verified": {"eq": True}, "rentable": {"eq": True}, "rented": {"eq": False},
                                     "gpu_name": {"eq": "RTX 4090"}, "num_gpus": {"eq": 1},
                                     "dph_total": {"lte": 0.9}}
    assert (group["launch_args"], group["cold_workers"], group["max_workers"]) == ("--disk 64", 1, 3)

    again = workspace.vastplan("plan", "--detailed-exitcode")
    assert again.code == 0, again.text
    assert "No changes." in again.out
    # The endpoint's own key (its listing carries it) is neither stored nor shown.
    (listed,) = api_get(workspace.api_url, "/api/v0/endptjobs/", CANARY_API_KEY)["results"]
    assert listed["api_key"] and listed["api_key"] not in workspace.state_path.read_text()
    assert not any(listed["api_key"] in result.text for result in (planned, applied, again))

    # In place: the endpoint's policy and name, the group's filters, launch args and load settings.
    workspace.write(stack(ENDPOINT.replace("0.8", "0.6").replace("qwen-chat", "qwen-chat-v2"),
                          GROUP.replace("0.9}", "0.7}").replace("--disk 64", "--disk 80") + "    test_workers: 1\n"))
    changed = workspace.vastplan("plan", "--detailed-exitcode")
    assert changed.code == 2, changed.text
    assert "Plan: 0 to add, 2 to change, 0 to destroy." in changed.out
    assert "~ target_util = 0.8 -> 0.6" in changed.out and '~ name = "qwen-chat" -> "qwen-chat-v2"' in changed.out
    assert '~ launch_args = "--disk 64" -> "--disk 80"' in changed.out and "~ test_workers = 3 -> 1" in changed.out
    assert workspace.vastplan("apply", "--auto-approve").code == 0
    assert state_ids(workspace) == ids, "updated in place: the same objects"
    (endpoint,) = shown(workspace, tmp_path, "endpoints")
    assert (endpoint["endpoint_name"], endpoint["target_util"]) == ("qwen-chat-v2", 0.6)
    (group,) = shown(workspace, tmp_path, "workergroups")
    assert group["search_query"]["dph_total"] == {"lte": 0.7} and group["launch_args"] == "--disk 80"
    assert (group["test_workers"], group["endpoint_name"]) == (1, "qwen-chat-v2")
    assert workspace.vastplan("plan", "--detailed-exitcode").code == 0

    destroyed = workspace.vastplan("destroy", "--auto-approve")
    assert destroyed.code == 0, destroyed.text
    assert "Destroy complete! Resources: 3 destroyed." in destroyed.out
    # The group goes before the endpoint it serves.
    assert destroyed.out.index("workergroups.gpus: Destroying") < destroyed.out.index("endpoints.chat: Destroying")
    assert workspace.state()["resources"] == {}
    assert shown(workspace, tmp_path, "endpoints") == [] and shown(workspace, tmp_path, "workergroups") == []


def test_a_template_edit_reaches_the_worker_group_in_the_same_apply(workspace: Workspace) -> None:
    workspace.write(stack(ENDPOINT, GROUP))
    assert workspace.vastplan("apply", "--auto-approve").code == 0
    workspace.write(stack(ENDPOINT, GROUP).replace("Qwen/Qwen3-8B", "Qwen/Qwen3-14B"))
    planned = workspace.vastplan("plan")
    assert "Plan: 0 to add, 2 to change, 0 to destroy." in planned.out, planned.text
    assert re.search(r'~ template_hash = "[0-9a-f]{32}" ->\s+"\(known after apply\)"', planned.out), planned.out
    assert workspace.vastplan("apply", "--auto-approve").code == 0
    resources = workspace.state()["resources"]
    group = resources["workergroups.gpus"]["attributes"]
    assert group["template_hash"] == resources["templates.vllm"]["attributes"]["hash_id"]
    assert workspace.vastplan("plan", "--detailed-exitcode").code == 0


def test_a_worker_group_limit_the_api_cannot_update_replaces_it(workspace: Workspace, tmp_path: Path) -> None:
    workspace.write(stack(ENDPOINT, GROUP))
    assert workspace.vastplan("apply", "--auto-approve").code == 0
    old = state_ids(workspace)["workergroups.gpus"]
    workspace.write(stack(ENDPOINT, GROUP.replace("max_workers: 3", "max_workers: 4")))
    planned = workspace.vastplan("plan")
    assert "~ max_workers = 3 -> 4  # forces replacement" in planned.out, planned.text
    assert "Plan: 1 to add, 0 to change, 1 to destroy." in planned.out
    assert workspace.vastplan("apply", "--auto-approve").code == 0
    (group,) = shown(workspace, tmp_path, "workergroups")
    assert group["id"] == state_ids(workspace)["workergroups.gpus"] != old and group["max_workers"] == 4


def test_the_plan_prices_the_workers_from_cold_to_max_at_the_cheapest_matching_offers(workspace: Workspace) -> None:
    workspace.write(stack(ENDPOINT, GROUP))
    planned = workspace.vastplan("plan")
    found = re.search(r"! workergroups\.gpus: its workers bill as the account's instances: \$(\d+\.\d{3})/hr with 1 "
                      r"\(cold_workers\) to \$(\d+\.\d{3})/hr with 3 \(max_workers 3\) at today's cheapest matching "
                      r"offers", " ".join(planned.out.split()))  # folded at 80 columns
    assert found, planned.out
    offers = api_post(workspace.api_url, "/api/v0/bundles/", CANARY_API_KEY, {
        "verified": {"eq": True}, "rentable": {"eq": True}, "rented": {"eq": False}, "gpu_name": {"eq": "RTX 4090"},
        "num_gpus": {"eq": 1}, "dph_total": {"lte": 0.9}, "order": [["dph_total", "asc"]], "type": "on-demand"})
    prices = sorted(o["dph_total"] for o in offers["offers"])
    assert len(prices) >= 3
    assert (float(found[1]), float(found[2])) == (round(prices[0], 3), round(sum(prices[:3]), 3))
    # The group itself bills nothing: the plan's cost line is about objects the stack rents.
    assert "Cost:" not in planned.out


def test_an_endpoint_made_by_the_official_cli_is_imported_not_duplicated(workspace: Workspace, tmp_path: Path) -> None:
    out = vastai(workspace, tmp_path, "create", "endpoint", "--endpoint_name", "qwen-chat", "--target_util", "0.8",
                 "--cold_workers", "1", "--max_workers", "4")
    made = int(re.search(r"'result': (\d+)", out)[1])  # type: ignore[index]
    workspace.write(stack(ENDPOINT))
    planned = workspace.vastplan("plan")
    assert planned.code == 1, planned.text
    assert f"vastplan import endpoints.chat {made}" in planned.text
    assert 'already has an endpoint named "qwen-chat"' in planned.text

    imported = workspace.vastplan("import", "endpoints.chat", str(made))
    assert imported.code == 0, imported.text
    assert workspace.vastplan("apply", "--auto-approve").code == 0  # the template only
    assert workspace.vastplan("plan", "--detailed-exitcode").code == 0
    assert state_ids(workspace)["endpoints.chat"] == made

    workspace.write(stack(ENDPOINT.replace("max_workers: 4", "max_workers: 6")))
    assert workspace.vastplan("apply", "--auto-approve").code == 0
    assert [(e["id"], e["max_workers"]) for e in shown(workspace, tmp_path, "endpoints")] == [(made, 6)]
    assert workspace.vastplan("destroy", "--auto-approve").code == 0
    assert shown(workspace, tmp_path, "endpoints") == []


def test_a_worker_group_made_by_the_official_cli_is_imported(workspace: Workspace, tmp_path: Path) -> None:
    workspace.write(stack(ENDPOINT))
    assert workspace.vastplan("apply", "--auto-approve").code == 0
    resources = workspace.state()["resources"]
    out = vastai(workspace, tmp_path, "create", "workergroup", "--endpoint_id", str(resources["endpoints.chat"]["id"]),
                 "--template_hash", resources["templates.vllm"]["attributes"]["hash_id"],
                 "--search_params", "gpu_name=RTX_4090 num_gpus=1 gpu_ram>=24", "--launch_args", "--disk 64")
    made = int(re.search(r"'id': (\d+)", out)[1])  # type: ignore[index]

    workspace.write(stack(ENDPOINT, "    endpoint: chat\n    template: vllm\n"
                                    "    offer: {gpu_name: RTX 4090, num_gpus: 1, gpu_ram_gb: 24}\n"
                                    "    launch_args: --disk 64\n"))
    imported = workspace.vastplan("import", "workergroups.gpus", str(made))
    assert imported.code == 0, imported.text
    converged = workspace.vastplan("plan", "--detailed-exitcode")
    assert converged.code == 0, converged.text

    workspace.write(stack(ENDPOINT, "    endpoint: chat\n    template: vllm\n"
                                    "    offer: {gpu_name: RTX 4090, num_gpus: 1, gpu_ram_gb: 24}\n"
                                    "    launch_args: --disk 64\n    target_util: 0.7\n"))
    changed = workspace.vastplan("apply", "--auto-approve")
    assert changed.code == 0 and "0 added, 1 changed, 0 destroyed" in changed.out, changed.text
    assert [(g["id"], g["target_util"]) for g in shown(workspace, tmp_path, "workergroups")] == [(made, 0.7)]

    assert workspace.vastplan("destroy", "--auto-approve").code == 0
    assert shown(workspace, tmp_path, "workergroups") == [] and shown(workspace, tmp_path, "endpoints") == []


def test_a_worker_group_must_name_an_endpoint_and_template_of_the_stack(workspace: Workspace) -> None:
    workspace.write(stack(ENDPOINT, "    endpoint: missing\n    template: vllm\n    cold_workers: 5\n"
                                    "    max_workers: 2\n"))
    checked = workspace.vastplan("validate")
    assert checked.code == 1, checked.text
    assert re.search(r"stack\.yaml:\d+:\d+: .*missing", checked.text), checked.text
    assert "cold_workers (5) is more than max_workers (2)" in checked.text


def test_a_create_whose_answer_is_lost_is_found_not_made_twice(workspace: Workspace, tmp_path: Path) -> None:
    # The endpoint is found by its name, the group by its endpoint and settings.
    for route in ("POST /api/v0/endptjobs/", "POST /api/v0/autojobs/"):
        admin(workspace, "POST", "/faults", {"kind": "lose_response", "status": 502, "count": 1, "route": route})
    workspace.write(stack(ENDPOINT, GROUP))
    applied = workspace.vastplan("apply", "--auto-approve")
    assert applied.code == 0, applied.text
    assert applied.text.count("the create's answer was lost; found and adopted") == 2, applied.text
    ids = state_ids(workspace)
    assert [e["id"] for e in shown(workspace, tmp_path, "endpoints")] == [ids["endpoints.chat"]]
    assert [g["id"] for g in shown(workspace, tmp_path, "workergroups")] == [ids["workergroups.gpus"]]
    assert workspace.vastplan("plan", "--detailed-exitcode").code == 0
