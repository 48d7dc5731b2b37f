"""Transient API failures are ridden out; creates are never blindly repeated."""

from __future__ import annotations

import json

from tests.harness import (
    CANARY_API_KEY,
    Workspace,
    admin,
    api_call,
    instances,
    keys_in_sandbox,
    one_box,
    skeleton_stack,
    templates_in_sandbox,
)


def test_429_with_and_without_retry_after_and_503s_are_retried(workspace: Workspace) -> None:
    workspace.write(skeleton_stack())
    admin(workspace, "POST", "/faults", {"status": 429, "count": 2, "retry_after": 0.1})
    admin(workspace, "POST", "/faults", {"status": 429, "count": 2, "body": "text"})
    admin(workspace, "POST", "/faults", {"status": 503, "count": 2, "route": "GET *"})
    applied = workspace.vastplan("apply", "--auto-approve")
    assert applied.code == 0, applied.text
    assert len(keys_in_sandbox(workspace)) == 2 and len(templates_in_sandbox(workspace)) == 1
    assert admin(workspace, "GET", "/faults")["faults"] == []  # every injected failure was met and survived


def test_a_502_after_a_template_was_made_is_reconciled_not_repeated(workspace: Workspace) -> None:
    workspace.write(skeleton_stack(keys=()))
    admin(workspace, "POST", "/faults", {"kind": "lose_response", "status": 502, "count": 1,
                                        "route": "POST /api/v0/template/"})
    applied = workspace.vastplan("apply", "--auto-approve")
    assert applied.code == 0, applied.text
    assert "the create's answer was lost; found and adopted id" in applied.out
    assert len(templates_in_sandbox(workspace)) == 1  # made once, not twice
    assert workspace.vastplan("plan", "--detailed-exitcode").code == 0


def test_a_dropped_connection_on_a_rental_never_rents_twice(workspace: Workspace) -> None:
    workspace.write(one_box())
    admin(workspace, "POST", "/faults", {"kind": "lose_response", "drop": True, "count": 1,
                                        "route": "PUT /api/v0/asks/*"})
    applied = workspace.vastplan("apply", "--auto-approve")
    assert applied.code == 0, applied.text
    assert "found and adopted" in applied.out
    assert len(instances(workspace)) == 1
    assert workspace.vastplan("plan", "--detailed-exitcode").code == 0


def test_a_journaled_create_interrupted_by_a_crash_is_adopted_on_the_next_run(workspace: Workspace) -> None:
    """A crash between the create request and recording its answer leaves a pending entry."""
    workspace.write(one_box())
    assert workspace.vastplan("plan", "--out", "p.plan").code == 0
    offer = json.loads((workspace.root / "p.plan").read_text())["pinned"]["placements"]["instances.box"]["offer"]
    label = "vp:saved/instances.box"
    api_call(workspace.api_url, "PUT", f"/api/v0/asks/{offer['id']}/", CANARY_API_KEY,
             {"client_id": "me", "image": "pytorch/pytorch:latest", "disk": 10, "label": label})
    workspace.state_path.write_text(json.dumps({
        "format": 1, "lineage": "l-1", "serial": 1, "stack": "saved", "outputs": {},
        "resources": {"instances.box": {"kind": "instance", "id": None, "pending": True,
                                        "attributes": {"label": "", "marker": label}}}}))

    planned = workspace.vastplan("plan")
    assert "was created by an interrupted apply and has been adopted" in planned.out
    # adopted, not rented again: only the env the crashed create never set is left to change
    assert "Plan: 0 to add, 1 to change, 0 to destroy." in planned.out, planned.out
    assert workspace.vastplan("apply", "--auto-approve").code == 0
    assert len(instances(workspace)) == 1
    assert workspace.state()["resources"]["instances.box"]["pending"] is False


def test_a_journaled_create_that_made_nothing_is_dropped_and_created(workspace: Workspace) -> None:
    workspace.write(one_box())
    label = "vp:saved/instances.box"
    workspace.state_path.write_text(json.dumps({
        "format": 1, "lineage": "l-2", "serial": 1, "stack": "saved", "outputs": {},
        "resources": {"instances.box": {"kind": "instance", "id": None, "pending": True,
                                        "attributes": {"label": label, "marker": label}}}}))
    planned = workspace.vastplan("plan")
    assert "an interrupted create left nothing behind" in planned.out
    assert "Plan: 1 to add, 0 to change, 0 to destroy." in planned.out
    assert workspace.vastplan("apply", "--auto-approve").code == 0
    assert len(instances(workspace)) == 1


def test_a_listing_that_keeps_failing_stops_the_plan_instead_of_reading_as_empty(workspace: Workspace) -> None:
    workspace.write(skeleton_stack())
    assert workspace.vastplan("apply", "--auto-approve").code == 0
    admin(workspace, "POST", "/faults", {"status": 500, "route": "GET /api/v0/template/"})
    planned = workspace.vastplan("plan", "--detailed-exitcode")
    assert planned.code == 1
    assert "GET /template/ failed (500" in planned.err
    assert "to add" not in planned.out  # never "the templates are gone, create them again"


def test_verbose_logs_requests_but_never_the_key(workspace: Workspace) -> None:
    workspace.write(skeleton_stack())
    result = workspace.vastplan("plan", "-v")
    assert result.code == 0
    assert "vastplan.api: GET /ssh/ -> 200" in result.err  # the fixture checks the canary key is absent
