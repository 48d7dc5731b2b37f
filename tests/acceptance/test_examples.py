"""Every stack in examples/ does what its header promises: validate, plan, apply, stay put, destroy.

Each example is copied into a scratch workspace (so its state lands there, not in the repo) and
driven through the real CLI against the sandbox, the way a first-time user would run it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.harness import CANARY_API_KEY, Workspace, api_get
from tests.vastai_cli import run_vastai

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

Row = dict[str, Any]


def country(row: Row) -> str:
    return str(row["geolocation"]).rsplit(",", 1)[-1].strip()


def check_quickstart(ws: Workspace, rows: list[Row]) -> None:
    (gpu,) = rows
    assert gpu["num_gpus"] == 1 and gpu["gpu_ram"] >= 12_000
    assert gpu["dph_total"] <= 0.20 and not gpu["is_bid"]
    assert gpu["image_uuid"] == "pytorch/pytorch:2.4.0-cuda12.4-cudnn9-runtime"


def check_llm_server(ws: Workspace, rows: list[Row]) -> None:
    (server,) = rows
    assert server["gpu_name"] == "RTX 4090" and server["num_gpus"] == 1 and server["gpu_ram"] >= 24_000
    assert server["dph_total"] <= 0.60 and server["reliability2"] >= 0.99
    assert country(server) in {"US", "CA"} and server["cuda_max_good"] >= 12.1
    (mount,) = server["volume_info"]
    assert mount["mount_path"] == "/models"
    (volume,) = api_get(ws.api_url, "/api/v0/volumes/", CANARY_API_KEY)["volumes"]
    assert volume["id"] == mount["id"] and volume["machine_id"] == server["machine_id"]
    assert volume["disk_space"] == 100
    # The sensitive token still reaches the container, from the variable's default.
    assert ["HF_TOKEN", "hf_not-a-real-token"] in server["extra_env"]


def check_training(ws: Workspace, rows: list[Row]) -> None:
    assert len(rows) == 4
    # Placement fills the cheapest machine while it has room: on this market it holds them all.
    assert len({row["machine_id"] for row in rows}) < 4, "workers share the cheapest machine"
    for row in rows:
        assert row["is_bid"] and row["dph_base"] == 0.15, "interruptible, billed at the bid"
        assert row["min_bid"] <= 0.15
        assert row["gpu_name"] == "RTX 3090" and row["num_gpus"] == 1
        assert row["reliability2"] >= 0.98 and row["cuda_max_good"] >= 12.4 and row["inet_down"] >= 200
        assert row["label"].endswith(" resnet50-baseline")


def check_ci_runner(ws: Workspace, rows: list[Row]) -> None:
    (runner,) = rows
    assert runner["num_gpus"] == 1 and runner["dph_total"] <= 0.15 and not runner["is_bid"]
    assert runner["reliability2"] >= 0.99 and runner["inet_down"] >= 500
    assert runner["image_uuid"] == "myoung34/github-runner:2.319.1"
    assert runner["label"].endswith(" ci gpu runner")
    assert runner["disk_space"] == 32


def check_serverless(ws: Workspace, rows: list[Row]) -> None:
    (loader,) = rows
    (mount,) = loader["volume_info"]
    (volume,) = api_get(ws.api_url, "/api/v0/volumes/?owner=me&type=network_volume", CANARY_API_KEY)["volumes"]
    assert mount == {**mount, "id": volume["id"], "mount_path": "/shared"} and volume["disk_space"] == 50
    assert country(volume) in {"US", "CA"} and loader["geolocation"] == volume["geolocation"], "in its cluster"
    # the workers are Vast.ai's autoscaler's to rent, not the stack's: the loader is the one instance
    resources = ws.state()["resources"]
    listed = {}
    for what in ("endpoints", "workergroups"):
        shown = run_vastai(ws.api_url, CANARY_API_KEY, "show", what, "--raw", config_dir=ws.root / "cli")
        ws.outputs += [shown.stdout, shown.stderr]
        assert shown.returncode == 0, shown.stderr
        listed[what] = json.loads(shown.stdout)
    (endpoint,) = listed["endpoints"]
    (group,) = listed["workergroups"]
    assert (endpoint["id"], endpoint["endpoint_name"]) == (resources["endpoints.chat"]["id"], "qwen-chat")
    assert (endpoint["cold_workers"], endpoint["max_workers"], endpoint["target_util"]) == (1, 4, 0.8)
    assert group["id"] == resources["workergroups.chat-gpus"]["id"] and group["endpoint_id"] == endpoint["id"]
    assert group["template_id"] == resources["templates.vllm"]["id"]
    assert group["search_query"]["gpu_name"] == {"in": ["RTX 4090", "RTX 5090"]}
    assert group["search_query"]["dph_total"] == {"lte": 0.8} and group["max_workers"] == 4
    shown = run_vastai(ws.api_url, CANARY_API_KEY, "show", "env-vars", "--raw", config_dir=ws.root / "cli")
    ws.outputs += [shown.stdout, shown.stderr]
    assert shown.returncode == 0 and json.loads(shown.stdout) == {"HF_TOKEN": "*****"}, shown.stderr
    (hook,) = api_get(ws.api_url, "/api/v0/webhooks/", CANARY_API_KEY)["webhooks"]
    assert hook["name"] == "vp:serverless/webhooks.alerts ops alerts"
    assert sorted(hook["event_types"]) == ["client:low_credit", "client:outbid"]
    assert ws.vastplan("output", "alerts_signing_secret").out.strip() == "(sensitive)"
    assert len(ws.vastplan("output", "alerts_signing_secret", "-raw").out.strip()) >= 32


@dataclass(frozen=True)
class Expected:
    resources: int                      # objects the first plan creates
    instances: int                      # of which instances
    check: Callable[[Workspace, list[Row]], None]  # the rented instances, as the API shows them


EXPECTED = {
    "quickstart.yaml": Expected(3, 1, check_quickstart),
    "llm-server.yaml": Expected(4, 1, check_llm_server),
    "training.yaml": Expected(6, 4, check_training),
    "ci-runner.yaml": Expected(2, 1, check_ci_runner),
    "serverless.yaml": Expected(7, 1, check_serverless),
}


def account_objects(ws: Workspace) -> dict[str, list[Any]]:
    """What the account holds, straight from the API (the search also returns public templates)."""
    me = api_get(ws.api_url, "/api/v0/users/current", CANARY_API_KEY)["id"]
    templates = api_get(ws.api_url, "/api/v0/template/", CANARY_API_KEY)["templates"]
    return {
        "ssh_keys": api_get(ws.api_url, "/api/v0/ssh/", CANARY_API_KEY),
        "templates": [t for t in templates if t.get("creator_id") == me],
        "volumes": api_get(ws.api_url, "/api/v0/volumes/", CANARY_API_KEY)["volumes"],
        "instances": api_get(ws.api_url, "/api/v0/instances/", CANARY_API_KEY)["instances"],
        "endpoints": api_get(ws.api_url, "/api/v0/endptjobs/", CANARY_API_KEY)["results"],
        "workergroups": api_get(ws.api_url, "/api/v0/workergroups/", CANARY_API_KEY)["results"],
        "secrets": list(api_get(ws.api_url, "/api/v0/secrets/", CANARY_API_KEY)["secrets"]),
        "webhooks": api_get(ws.api_url, "/api/v0/webhooks/", CANARY_API_KEY)["webhooks"],
    }


def money(text: str) -> float:
    return float(text.replace("$", ""))


@pytest.fixture
def no_secrets_in_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """A fresh machine: none of the tokens the examples mention are set."""
    for name in ("HF_TOKEN", "WANDB_API_KEY", "RUNNER_TOKEN"):
        monkeypatch.delenv(name, raising=False)


def test_every_example_is_covered() -> None:
    assert sorted(p.name for p in EXAMPLES.glob("*.yaml")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_validates_plans_applies_and_destroys(name: str, workspace: Workspace,
                                                      no_secrets_in_env: None) -> None:
    expected = EXPECTED[name]
    example = EXAMPLES / name

    validated = workspace.vastplan("validate", "-f", str(example), stack=False)
    assert validated.code == 0, validated.text
    assert f"valid ({expected.resources} resources)" in validated.out

    workspace.write(example.read_text())
    planned = workspace.vastplan("plan", "--detailed-exitcode")
    assert planned.code == 2, planned.text
    assert f"Plan: {expected.resources} to add, 0 to change, 0 to destroy." in planned.out
    assert planned.out.count(" will be created") == expected.resources
    priced = re.findall(r"# instances\.\S+ will be created +(\$\d+\.\d{3})/hr", planned.out)
    assert len(priced) == expected.instances, planned.out
    assert all(money(p) > 0 for p in priced)
    cost = re.search(r"Cost: \$0\.000/hr -> (\$\d+\.\d{3})/hr", planned.out)
    assert cost or not expected.instances, planned.out  # a stack that rents nothing has no cost line

    applied = workspace.vastplan("apply", "--auto-approve")
    assert applied.code == 0, applied.text
    assert f"Apply complete! Resources: {expected.resources} added, 0 changed, 0 destroyed." in applied.out

    ids = [entry["id"] for address, entry in workspace.state()["resources"].items()
           if address.startswith("instances.")]
    assert len(ids) == expected.instances
    rows = [api_get(workspace.api_url, f"/api/v0/instances/{i}/", CANARY_API_KEY)["instances"] for i in ids]
    assert all(row["actual_status"] == "running" for row in rows)
    expected.check(workspace, rows)

    again = workspace.vastplan("plan", "--detailed-exitcode")
    assert again.code == 0, again.text
    assert "No changes." in again.out
    assert cost is None or f"({cost.group(1)}/hr running)" in again.out, "the plan's price is what the account costs"

    destroyed = workspace.vastplan("destroy", "--auto-approve")
    assert destroyed.code == 0, destroyed.text
    assert f"Destroy complete! Resources: {expected.resources} destroyed." in destroyed.out
    assert workspace.state()["resources"] == {}
    assert account_objects(workspace) == {"ssh_keys": [], "templates": [], "volumes": [], "instances": [],
                                          "endpoints": [], "workergroups": [], "secrets": [], "webhooks": []}


def test_llm_server_token_is_never_printed_or_stored(workspace: Workspace, no_secrets_in_env: None) -> None:
    workspace.write((EXAMPLES / "llm-server.yaml").read_text())
    applied = workspace.vastplan("apply", "--auto-approve")
    assert applied.code == 0, applied.text
    assert "hf_not-a-real-token" not in applied.text
    assert "hf_not-a-real-token" not in workspace.state_path.read_text()


def test_training_budget_stops_an_apply_that_costs_too_much(workspace: Workspace) -> None:
    workspace.write((EXAMPLES / "training.yaml").read_text())
    # 6 workers bidding $0.20 come to about $1.29/hour, over the stack's budget of $1.00/hour.
    applied = workspace.vastplan("apply", "--auto-approve", "--var", "workers=6", "--var", "bid=0.20")
    assert applied.code == 1, applied.text
    assert "budget" in applied.text
    assert account_objects(workspace)["instances"] == []
