"""Long waits say what they wait for, every 10 s; a readiness timeout taints the instance, and once
it runs after all, `untaint` keeps it."""

from __future__ import annotations

import re
import time

from tests.harness import Workspace, admin, instances

STUCK = """
version: 1
stack: stuck
instances:
  box:
    image: ubuntu
    offer: {num_gpus: 1, gpu_name: "RTX 3090"}
    readiness: {timeout: 12s}
outputs:
  ssh: {value: "${instances.box.ssh_url}"}
"""


def test_a_readiness_timeout_says_what_it_waits_for_then_untaint_keeps_the_instance(workspace: Workspace) -> None:
    workspace.write(STUCK)
    admin(workspace, "PUT", "/settings", {"new_instance_fate": "loading"})  # it never finishes booting
    failed = workspace.vastplan("apply", "--auto-approve")
    assert failed.code == 1
    out = failed.out
    assert "instances.box: waiting up to 12s for it to run and answer SSH" in out
    assert re.search(r"instances.box: Still creating\.\.\. \[1\ds elapsed, status loading", out), out
    assert 'Creation failed after 1' in out and 'still "loading" at the readiness deadline of 12s' in out
    assert "the next plan replaces it (should it run after all: vastplan untaint instances.box)" in out
    entry = workspace.state()["resources"]["instances.box"]
    assert entry["tainted"] is True

    # It boots after all: untaint keeps it, and the next apply fills in what it never learned.
    admin(workspace, "PUT", "/settings", {"new_instance_fate": None})
    admin(workspace, "POST", f"/instances/{entry['id']}/stick", {"stuck": False})
    deadline = time.monotonic() + 30
    while instances(workspace)[entry["id"]]["actual_status"] != "running":
        assert time.monotonic() < deadline, instances(workspace)
        time.sleep(0.1)
    assert "must be replaced" in workspace.vastplan("plan").out
    untainted = workspace.vastplan("untaint", "instances.box")
    assert untainted.code == 0, untainted.text
    assert workspace.vastplan("plan", "--detailed-exitcode").code == 0
    settled = workspace.vastplan("apply", "--auto-approve")
    assert settled.code == 0 and "No changes." in settled.out, settled.text
    assert list(instances(workspace)) == [entry["id"]]
    assert workspace.vastplan("output", "ssh", "-raw").out.startswith("ssh -p ")
