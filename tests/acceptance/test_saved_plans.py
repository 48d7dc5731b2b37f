"""Saved plans: apply exactly what was planned, fall back when an offer was taken, refuse stale plans."""

from __future__ import annotations

import json
import stat
from typing import Any

from tests.harness import Workspace, admin, instances, one_box, state_id


def saved_offer(ws: Workspace, plan_file: str) -> dict[str, Any]:
    doc = json.loads((ws.root / plan_file).read_text())
    offer: dict[str, Any] = doc["pinned"]["placements"]["instances.box"]["offer"]
    return offer


def test_a_saved_plan_is_private_secret_free_and_applies_without_a_prompt(workspace: Workspace) -> None:
    workspace.write(one_box())
    planned = workspace.vastplan("plan", "--out", "box.plan")
    assert planned.code == 0 and "Saved the plan to box.plan" in planned.out
    plan_path = workspace.root / "box.plan"
    assert stat.S_IMODE(plan_path.stat().st_mode) == 0o600
    assert "pl4n-s3cret" not in plan_path.read_text()
    offer = saved_offer(workspace, "box.plan")

    applied = workspace.vastplan("apply", "box.plan", stack=False)  # no --auto-approve, no TTY: no prompt
    assert applied.code == 0, applied.text
    assert instances(workspace)[state_id(workspace, "instances.box")]["bundle_id"] == offer["id"]


def test_an_offer_taken_after_planning_falls_back_to_the_next_match(workspace: Workspace) -> None:
    """The cheapest RTX 3090 is in England; the next cheapest in Poland, then another in England."""
    workspace.write(one_box(offer='{gpu_name: "RTX 3090", num_gpus: 1}'))
    planned = workspace.vastplan("plan", "--out", "box.plan")
    assert "Should a planned offer be taken before then, apply rents the best other machine" in planned.out
    assert "with the GPU model and the country planned" in planned.out
    offer = saved_offer(workspace, "box.plan")
    admin(workspace, "POST", f"/offers/{offer['id']}/take")

    applied = workspace.vastplan("apply", "box.plan", stack=False)
    assert applied.code == 0, applied.text
    assert f"offer {offer['id']} was taken; machine {offer['machine_id']} may still have room: renting another " \
           "of its offers" in applied.out
    assert f"machine {offer['machine_id']} has no 1-GPU offer left; trying the next match" in applied.out
    row = instances(workspace)[state_id(workspace, "instances.box")]
    assert row["bundle_id"] != offer["id"] and row["gpu_name"] == "RTX 3090" and row["num_gpus"] == 1
    assert row["machine_id"] != offer["machine_id"]
    assert country(row["geolocation"]) == country(offer["geolocation"])


def test_the_fallback_never_leaves_the_planned_country_unless_the_offer_names_others(workspace: Workspace) -> None:
    """The sandbox has one RTX 4090 machine in Canada, the cheapest: taken, nothing else will do,
    though cheaper RTX 4090s abroad are free (a plan that said New York once rented in Seoul)."""
    workspace.write(one_box())
    assert workspace.vastplan("plan", "--out", "box.plan").code == 0
    offer = saved_offer(workspace, "box.plan")
    assert country(offer["geolocation"]) == "CA"
    admin(workspace, "POST", f"/offers/{offer['id']}/take")
    refused = workspace.vastplan("apply", "box.plan", stack=False)
    assert refused.code == 1
    assert f"machine {offer['machine_id']} was taken and no other machine matches the filters (in CA, " \
           "as planned) with room; nothing was rented" in refused.out
    assert instances(workspace) == {}
    admin(workspace, "POST", f"/machines/{offer['machine_id']}/release")

    # An offer: block that names the Netherlands too lets the fallback go there.
    workspace.write(one_box(offer='{gpu_name: "RTX 4090", num_gpus: 1, geolocation: [CA, NL]}'))
    assert workspace.vastplan("plan", "--out", "wider.plan").code == 0
    offer = saved_offer(workspace, "wider.plan")
    admin(workspace, "POST", f"/offers/{offer['id']}/take")
    applied = workspace.vastplan("apply", "wider.plan", stack=False)
    assert applied.code == 0, applied.text
    row = instances(workspace)[state_id(workspace, "instances.box")]
    assert row["gpu_name"] == "RTX 4090" and country(row["geolocation"]) == "NL"


def country(location: str) -> str:
    return location.rsplit(",", 1)[-1].strip()


def test_with_no_other_match_apply_fails_clearly_and_rents_nothing(workspace: Workspace) -> None:
    workspace.write(one_box())
    assert workspace.vastplan("plan", "--out", "any.plan").code == 0
    machine = saved_offer(workspace, "any.plan")["machine_id"]
    pinned = f'{{num_gpus: 1, raw: {{machine_id: {{eq: {machine}}}}}}}'
    workspace.write(one_box(offer=pinned))
    assert workspace.vastplan("plan", "--out", "one.plan").code == 0
    admin(workspace, "POST", f"/offers/{saved_offer(workspace, 'one.plan')['id']}/take")

    failed = workspace.vastplan("apply", "one.plan", stack=False)
    assert failed.code == 1
    assert f"machine {machine} was taken and no other machine matches the filters (RTX 4090 in " in failed.out
    assert ", as planned) with room; nothing was rented" in failed.out
    assert instances(workspace) == {}
    assert workspace.state()["resources"] == {}  # the journal entry of the refused create is gone


def test_a_plan_made_before_another_apply_is_stale(workspace: Workspace) -> None:
    workspace.write(one_box())
    assert workspace.vastplan("plan", "--out", "old.plan").code == 0
    assert workspace.vastplan("apply", "--auto-approve").code == 0
    before = workspace.state_path.read_bytes()
    stale = workspace.vastplan("apply", "old.plan", stack=False)
    assert stale.code == 1
    assert "Saved plan is stale: the state changed since the plan was made" in stale.err
    assert workspace.state_path.read_bytes() == before


def test_a_plan_whose_stack_file_changed_is_refused(workspace: Workspace) -> None:
    workspace.write(one_box())
    assert workspace.vastplan("plan", "--out", "p.plan").code == 0
    workspace.write(one_box(secret="other"))
    refused = workspace.vastplan("apply", "p.plan", stack=False)
    assert refused.code == 1
    assert "the stack file changed since the plan was made" in refused.err
    assert instances(workspace) == {}
