"""ttl: an instance past its ttl is destroyed by `reap` (and nothing else is), and is not rented
again while its ttl stays the same."""

from __future__ import annotations

import time

from tests.harness import Workspace, instances, state_id, ttl_stack


def test_reap_destroys_only_what_expired_and_it_stays_gone(workspace: Workspace) -> None:
    workspace.write(ttl_stack())
    assert workspace.vastplan("apply", "--auto-approve").code == 0
    short, long = state_id(workspace, "instances.short"), state_id(workspace, "instances.long")
    assert isinstance(workspace.state()["resources"]["instances.short"]["attributes"]["expires_at"], float)
    time.sleep(1.5)

    planned = workspace.vastplan("plan")
    assert "# instances.short will be destroyed (expired: its ttl ran out at" in planned.out
    assert "Plan: 0 to add, 0 to change, 1 to destroy." in planned.out

    reaped = workspace.vastplan("reap", "--auto-approve")
    assert reaped.code == 0, reaped.text
    assert short not in instances(workspace) and long in instances(workspace)
    assert workspace.state()["resources"]["instances.short"]["expired"] is True

    assert workspace.vastplan("plan", "--detailed-exitcode").code == 0  # not rented again
    again = workspace.vastplan("reap", "--auto-approve")
    assert again.code == 0 and "Nothing has expired." in again.out

    workspace.write(ttl_stack(ttl="2h"))  # a new rule: rent it again
    replanned = workspace.vastplan("plan")
    assert "Plan: 1 to add, 0 to change, 0 to destroy." in replanned.out


def test_reap_with_nothing_expired_touches_nothing(workspace: Workspace) -> None:
    workspace.write(ttl_stack(ttl="8h"))
    assert workspace.vastplan("apply", "--auto-approve").code == 0
    before = workspace.state()["serial"]
    result = workspace.vastplan("reap", "--auto-approve")
    assert result.code == 0 and "Nothing has expired." in result.out
    assert workspace.state()["serial"] == before and len(instances(workspace)) == 2
