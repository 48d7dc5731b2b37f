"""Orphans: an instance made behind vastplan's back with this stack's marker shows up in every plan
with its price, and `vastplan orphans --destroy` removes it."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.harness import CANARY_API_KEY, Workspace, instances
from tests.vastai_cli import run_vastai

STACK = """
version: 1
stack: cost
instances:
  box:
    image: ubuntu
    offer: {num_gpus: 1, gpu_name: "RTX 3090"}
    readiness: {timeout: 20s}
"""


def test_an_instance_made_with_the_official_cli_and_our_marker_is_an_orphan(workspace: Workspace,
                                                                            tmp_path: Path) -> None:
    workspace.write(STACK)
    assert workspace.vastplan("apply", "--auto-approve").code == 0
    cli = tmp_path / "cli"
    found = run_vastai(workspace.api_url, CANARY_API_KEY, "search", "offers", "gpu_name=RTX_3060 num_gpus=1",
                       "--raw", config_dir=cli)
    offer = json.loads(found.stdout)[0]
    made = run_vastai(workspace.api_url, CANARY_API_KEY, "create", "instance", str(offer["id"]), "--image",
                      "ubuntu", "--label", "vp:cost/instances.ghost", "--raw", config_dir=cli)
    ghost = json.loads(made.stdout)["new_contract"]
    workspace.outputs += [found.stderr, made.stdout, made.stderr]

    planned = workspace.vastplan("plan", "--detailed-exitcode")
    assert planned.code == 0  # an orphan is not a change of the stack
    assert "Orphans (carry this stack's label, not in state" in planned.out
    assert re.search(rf'instance {ghost} "vp:cost/instances.ghost"  \S+ \S+  \$\d+\.\d{{3}}/hr', planned.out), \
        planned.out

    listed = workspace.vastplan("orphans")
    assert f"instance {ghost}" in listed.out and "vastplan orphans --destroy" in listed.out
    refused = workspace.vastplan("orphans", "--destroy")
    assert refused.code == 1 and ghost in instances(workspace)  # no TTY, no --auto-approve: nothing removed

    swept = workspace.vastplan("orphans", "--destroy", "--auto-approve")
    assert swept.code == 0, swept.text
    assert "verified gone" in swept.out
    assert ghost not in instances(workspace)
    assert len(instances(workspace)) == 1  # the stack's own instance is untouched
    assert "Orphans" not in workspace.vastplan("plan").out


def test_no_orphans_is_said_plainly(workspace: Workspace) -> None:
    workspace.write(STACK)
    result = workspace.vastplan("orphans")
    assert result.code == 0 and "No orphans" in result.out


def test_plan_warns_of_costs_a_user_may_not_expect(workspace: Workspace) -> None:
    workspace.write(STACK + """
volumes:
  spare: {size_gb: 10}
""")
    planned = workspace.vastplan("plan")
    assert "Warnings:" in planned.out
    assert "! volumes.spare: no instance of the stack mounts it; it bills $" in planned.out


def test_a_bid_lowered_below_the_min_bid_is_warned_about(workspace: Workspace) -> None:
    def bid_stack(bid: float) -> str:
        return STACK.replace("    readiness:", f"    interruptible: {{bid_dph: {bid}}}\n    readiness:")

    workspace.write(bid_stack(1.0))
    assert workspace.vastplan("apply", "--auto-approve").code == 0
    workspace.write(bid_stack(0.001))
    planned = workspace.vastplan("plan")
    assert "~ bid_dph = 1.0 -> 0.001" in planned.out
    assert re.search(r"! instances.box: its bid \$0\.001/hr is below the current min_bid \$\d", planned.out)
