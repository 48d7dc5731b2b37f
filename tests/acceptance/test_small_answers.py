"""Small answers that were wrong: import of an object another address holds, a pending create in
``state list``, ``plan --no-refresh`` of a state without a recorded machine row."""

from __future__ import annotations

import json

from tests.harness import KEY_A, Workspace, one_box, state_id

TWO_TEMPLATES = f"""
version: 1
stack: small
ssh_keys:
  me: {{public_key: "{KEY_A}"}}
templates:
  base: {{name: "base", image: ubuntu}}
  other: {{name: "other", image: ubuntu}}
"""


def test_import_refuses_an_id_another_address_holds(workspace: Workspace) -> None:
    workspace.write(TWO_TEMPLATES)
    assert workspace.vastplan("apply", "--auto-approve", "--target", "templates.base").code == 0
    held = state_id(workspace, "templates.base")
    serial = workspace.state()["serial"]
    refused = workspace.vastplan("import", "templates.other", str(held))
    assert refused.code == 1 and "Traceback" not in refused.text
    assert f"template {held} is already in the state as templates.base" in refused.err
    assert "vastplan state mv templates.base templates.other" in refused.err
    assert workspace.state()["serial"] == serial and "templates.other" not in workspace.state()["resources"]


def test_state_list_says_pending_for_a_create_whose_id_is_not_known(workspace: Workspace) -> None:
    workspace.write(one_box())
    label = "vp:saved/instances.box"
    workspace.state_path.write_text(json.dumps({
        "format": 1, "lineage": "l-1", "serial": 1, "stack": "saved", "outputs": {},
        "resources": {"instances.box": {"kind": "instance", "id": None, "pending": True,
                                        "attributes": {"label": label, "marker": label}}}}))
    listed = workspace.vastplan("state", "list")
    assert listed.code == 0, listed.text
    assert listed.out.strip() == "instances.box  pending (created, id not yet known)"
    assert "None" not in listed.out


def test_plan_without_refresh_trusts_a_state_that_lacks_the_machine_row(workspace: Workspace) -> None:
    workspace.write(one_box().replace('env: {TOKEN: {value: "pl4n-s3cret", sensitive: true}}', "label: plain"))
    assert workspace.vastplan("apply", "--auto-approve").code == 0
    state = workspace.state()
    attributes = state["resources"]["instances.box"]["attributes"]
    assert attributes.pop("machine_row")  # as a state written before the row was recorded
    workspace.state_path.write_text(json.dumps(state))
    planned = workspace.vastplan("plan", "--no-refresh", "--detailed-exitcode")
    assert planned.code == 0, planned.text
    assert "internal error" not in planned.text and "No changes." in planned.out
    assert "(0 requests" in planned.out
