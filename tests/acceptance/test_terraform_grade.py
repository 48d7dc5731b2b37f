"""The Terraform-grade workflow's must-shows: a golden plan document, targeting one instance,
a protected volume, import of a CLI-made instance, and Ctrl-C during an apply."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tests.harness import CANARY_API_KEY, Workspace, admin, api_get, instances, state_id
from tests.vastai_cli import run_vastai

CASES = Path(__file__).parent.parent / "cases" / "json"


def normalised(doc: dict[str, Any]) -> dict[str, Any]:
    """The plan document without what legitimately differs between runs and releases."""
    return {**doc, "vastplan_version": "<version>"}


def test_plan_json_matches_the_checked_in_document(workspace: Workspace) -> None:
    """Against the sandbox's default seed, the same stack always plans to the same document.
    After an intended change to the format: VASTPLAN_REGEN_GOLDEN=1 pytest -k golden, then review."""
    workspace.stack = workspace.write((CASES / "golden-stack.yaml").read_text())
    result = workspace.vastplan("plan", "--json")
    assert result.code == 0, result.text
    actual = normalised(json.loads(result.out))
    expected_path = CASES / "plan-golden.json"
    if os.environ.get("VASTPLAN_REGEN_GOLDEN"):
        expected_path.write_text(json.dumps(actual, indent=2, sort_keys=True) + "\n")
    expected = json.loads(expected_path.read_text())
    assert actual == expected, "plan --json differs from tests/cases/json/plan-golden.json"
    assert "not-in-the-document" not in result.out


TWO = """
version: 1
stack: two
volumes:
  data: {size_gb: 10}
instances:
  a:
    image: ubuntu
    offer: {num_gpus: 1, gpu_name: "RTX 3090"}
    readiness: {timeout: 20s}
  b:
    image: ubuntu
    offer: {num_gpus: 1, gpu_name: "RTX 3060"}
    readiness: {timeout: 20s}
"""


def test_target_of_one_instance_touches_nothing_else(workspace: Workspace) -> None:
    workspace.write(TWO)
    applied = workspace.vastplan("apply", "--auto-approve", "--target", "instances.a")
    assert applied.code == 0, applied.text
    assert set(workspace.state()["resources"]) == {"instances.a"}
    assert len(instances(workspace)) == 1
    assert api_get(workspace.api_url, "/api/v0/volumes", CANARY_API_KEY)["volumes"] == []


def test_removing_a_protected_volumes_block_fails_the_plan_naming_it(workspace: Workspace) -> None:
    workspace.write(TWO.replace("data: {size_gb: 10}", "data: {size_gb: 10, lifecycle: {prevent_destroy: true}}"))
    assert workspace.vastplan("apply", "--auto-approve").code == 0
    workspace.write(TWO.replace("volumes:\n  data: {size_gb: 10}\n", ""))
    before = workspace.state_path.read_bytes()
    planned = workspace.vastplan("plan")
    assert planned.code == 1
    assert "volumes.data, protected by lifecycle.prevent_destroy" in planned.err
    assert "Blocked: volumes.data cannot be destroyed" in planned.out
    assert workspace.state_path.read_bytes() == before


def test_import_of_an_instance_made_with_the_official_cli_then_no_changes(workspace: Workspace,
                                                                         tmp_path: Path) -> None:
    cli = tmp_path / "cli"
    offers = json.loads(run_vastai(workspace.api_url, CANARY_API_KEY, "search", "offers",
                                   "gpu_name=RTX_3090 num_gpus=1", "--raw", config_dir=cli).stdout)
    made = run_vastai(workspace.api_url, CANARY_API_KEY, "create", "instance", str(offers[0]["id"]),
                      "--image", "ubuntu:latest", "--disk", "10", "--raw", config_dir=cli)
    instance_id = json.loads(made.stdout)["new_contract"]
    workspace.outputs += [made.stdout, made.stderr]
    workspace.write("""
version: 1
stack: adopt
instances:
  box:
    image: ubuntu
    offer: {num_gpus: 1, gpu_name: "RTX 3090"}
""")
    imported = workspace.vastplan("import", "instances.box", str(instance_id))
    assert imported.code == 0, imported.text
    planned = workspace.vastplan("plan", "--detailed-exitcode")
    assert planned.code == 0, planned.out
    assert state_id(workspace, "instances.box") == instance_id


def test_ctrl_c_during_an_apply_leaves_nothing_untracked(workspace: Workspace) -> None:
    """Deterministic: new instances never finish booting until the test says so, and the signal is
    sent only once both are rented and waited on, so the apply cannot finish first (it once did
    under load: exit 0). The next apply, with nothing to change, fills in the outputs."""
    workspace.write(TWO.replace("readiness: {timeout: 20s}", "readiness: {timeout: 600s}")
                    + 'outputs:\n  ssh: {value: "${instances.a.ssh_url}"}\n')
    admin(workspace, "PUT", "/settings", {"new_instance_fate": "loading"})
    env = {**os.environ, "VAST_API_KEY": CANARY_API_KEY, "NO_COLOR": "1"}
    command = [sys.executable, "-m", "vastplan", "apply", "-f", str(workspace.stack), "--auto-approve",
               "--api-url", workspace.api_url]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True,
                            stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None and not both_rented(workspace):
        time.sleep(0.05)
    assert proc.poll() is None, proc.communicate()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    workspace.outputs += [out, err]
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "interrupted" in err
    assert (workspace.state()["outputs"].get("ssh") or {}).get("value") is None  # not known when interrupted

    admin(workspace, "PUT", "/settings", {"new_instance_fate": None})
    for instance_id in instances(workspace):
        admin(workspace, "POST", f"/instances/{instance_id}/stick", {"stuck": False})
    wait_until_running(workspace)
    settled = workspace.vastplan("apply", "--auto-approve")
    assert settled.code == 0, settled.text
    assert "No changes." in settled.out
    known = {entry["id"] for entry in workspace.state()["resources"].values()}
    assert set(instances(workspace)) <= known  # nothing untracked
    assert len(instances(workspace)) == 2  # and nothing rented twice
    ssh = workspace.state()["outputs"]["ssh"]["value"]
    assert ssh is not None and ssh.startswith("ssh -p "), workspace.state()["outputs"]
    assert workspace.vastplan("output", "ssh", "-raw").out.strip() == ssh
    assert workspace.vastplan("plan", "--detailed-exitcode").code == 0


def both_rented(workspace: Workspace) -> bool:
    try:
        resources = workspace.state()["resources"]
    except (FileNotFoundError, ValueError):  # not written yet, or being replaced this instant
        return False
    return all(resources.get(f"instances.{name}", {}).get("id") for name in ("a", "b"))


def wait_until_running(workspace: Workspace) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if all(row.get("actual_status") == "running" for row in instances(workspace).values()):
            return
        time.sleep(0.1)
    raise AssertionError(f"never running: {instances(workspace)}")
