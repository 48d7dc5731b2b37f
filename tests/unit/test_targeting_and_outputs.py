from __future__ import annotations

import pytest

from vastplan.errors import UsageError
from vastplan.plan.model import Action, Plan, ResourceChange
from vastplan.plan.outputs import evaluate, shown
from vastplan.plan.targeting import narrow
from vastplan.stack.model import OutputSpec
from vastplan.state.model import ResourceState, State


def change(address: str, *deps: str, action: Action = Action.CREATE) -> ResourceChange:
    return ResourceChange(address, address.split(".")[0][:-1], action, depends_on=deps, dph_after=1.0)


PLAN = Plan((
    change("ssh_keys.me"),
    change("templates.t"),
    change("instances.a[0]", "templates.t", "ssh_keys.me"),
    change("instances.a[1]", "templates.t", "ssh_keys.me"),
    change("instances.b", "ssh_keys.me"),
))


def acting(plan: Plan) -> list[str]:
    return [c.address for c in plan.actionable]


def test_target_keeps_the_resource_and_its_dependencies() -> None:
    narrowed = narrow(PLAN, targets=["instances.a"])
    assert acting(narrowed) == ["ssh_keys.me", "templates.t", "instances.a[0]", "instances.a[1]"]
    assert "may be incomplete" in narrowed.notes[0]
    assert narrowed.dph_after == 4.0  # what is left out costs nothing new


def test_exclude_drops_the_resource_and_its_dependents() -> None:
    assert acting(narrow(PLAN, excludes=["templates.t"])) == ["ssh_keys.me", "instances.b"]
    assert acting(narrow(PLAN, targets=["instances.a[1]"], excludes=["ssh_keys.me"])) == ["templates.t"]


def test_an_unknown_address_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="instances.zz is not an address"):
        narrow(PLAN, targets=["instances.zz"])


def test_outputs_take_every_index_one_index_or_text() -> None:
    state = State.new("s")
    for i, port in enumerate((40022, 40023)):
        state = state.with_resource(f"instances.a[{i}]", ResourceState("instance", 10 + i, {"ssh_url": f"p{port}"}))
    state = state.with_resource("templates.t", ResourceState("template", 7, {}))
    outputs = (
        OutputSpec("all", "${instances.a[*].ssh_url}"),
        OutputSpec("first", "${instances.a[0].ssh_url}"),
        OutputSpec("text", "template ${templates.t.id} at $${HOME}", sensitive=True),
        OutputSpec("missing", "${instances.zz.ssh_url}"),
    )
    values = evaluate(outputs, state)
    assert values["all"]["value"] == ["p40022", "p40023"]
    assert values["first"]["value"] == "p40022"
    assert values["text"] == {"value": "template 7 at ${HOME}", "sensitive": True}
    assert values["missing"]["value"] is None
    assert shown(values)["text"] == "(sensitive)" and shown(values, reveal=True)["text"] == "template 7 at ${HOME}"
