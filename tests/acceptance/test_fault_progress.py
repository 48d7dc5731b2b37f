"""Faults that go on: a long wait says what it waits for and why, and a 10-instance stack is applied
and destroyed through a steady 5% of HTTP 500s."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.harness import CANARY_API_KEY, Workspace, admin, instances, skeleton_stack
from vastsandbox.server import start_in_thread


def test_a_long_wait_on_a_rate_limited_endpoint_says_what_it_waits_for_and_why(workspace: Workspace) -> None:
    """The one slow test here: the API asks for 12 s between calls, so vastplan waits 12.6 s."""
    workspace.write(skeleton_stack(keys=()))
    admin(workspace, "POST", "/faults", {"status": 429, "count": 1, "retry_after": 12,
                                        "route": "POST /api/v0/template/"})
    result = workspace.vastplan("apply", "--auto-approve")
    assert result.code == 0, result.text
    assert ("warning: waiting for POST /template/: one call every 12.6s to this endpoint, as the API asked; "
            "next try in 13s") in result.err, result.err


def ten_instances() -> str:
    return """
version: 1
stack: ten
budget: {max_dph_total: 50}
instances:
  worker:
    count: 10
    image: pytorch/pytorch
    offer: {num_gpus: 1}
    readiness: {timeout: 2m}
"""


STEADY_500S = {"status": 500, "rate": 0.05}


def account_instances(ws: Workspace) -> dict[int, dict[str, Any]]:
    """The account's instances, read with the faults paused: the 5% are for vastplan, and this check's
    own request drew one whenever vastplan's polling had made the count land on it."""
    admin(ws, "DELETE", "/faults")
    return instances(ws)


def test_ten_instances_are_applied_and_destroyed_through_a_steady_5_percent_of_500s(
        workspace: Workspace, tmp_path: Path) -> None:
    # Seed 94: the sandbox's 5% draws hit the 5th and the 11th request, so rentals meet 500s for sure.
    with start_in_thread(tmp_path / "seeded", api_key=CANARY_API_KEY, boot_seconds=0.2, seed=94) as seeded:
        workspace.api_url = seeded.url
        workspace.write(ten_instances())
        admin(workspace, "POST", "/faults", STEADY_500S)

        applied = workspace.vastplan("apply", "--auto-approve")
        assert applied.code == 0, applied.text
        assert "Apply complete! Resources: 10 added, 0 changed, 0 destroyed." in applied.out
        assert len(account_instances(workspace)) == 10  # a 500 on a rental was reconciled, never re-sent blindly

        admin(workspace, "POST", "/faults", STEADY_500S)
        destroyed = workspace.vastplan("destroy", "--auto-approve")
        assert destroyed.code == 0, destroyed.text
        assert account_instances(workspace) == {}
        counters = admin(workspace, "GET", "/state")["counters"]
        assert counters["faults_injected"] >= 2, counters  # the faults were really met
