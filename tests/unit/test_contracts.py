"""The typed contracts between core and views: the error tree, Action and ActionReason, apply events."""

from __future__ import annotations

import importlib
import inspect
import io
import json
import pkgutil

import pytest

import vastplan
import vastplan.errors
from vastplan.apply.events import ApplyEvent, Phase
from vastplan.errors import VastplanError
from vastplan.plan.model import Action, ActionReason, ResourceChange, change_from_json, change_to_json
from vastplan.render.human import HumanView
from vastplan.render.json import JsonStreamView


def vastplan_exceptions() -> dict[str, type[BaseException]]:
    """Every exception class defined in a vastplan module, by qualified name."""
    found: dict[str, type[BaseException]] = {}
    for info in pkgutil.walk_packages(vastplan.__path__, "vastplan."):
        if info.name == "vastplan.__main__":
            continue  # running it runs the CLI
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            if inspect.isclass(value) and issubclass(value, BaseException) and value.__module__ == info.name:
                found[f"{info.name}.{name}"] = value
    return found


def test_every_public_error_is_in_the_one_tree_and_drawn_in_its_docstring() -> None:
    found = vastplan_exceptions()
    assert "vastplan.errors.CycleError" in found  # the walk saw the package
    public = {name: cls for name, cls in found.items() if not name.rpartition(".")[2].startswith("_")}
    assert sorted(n for n, cls in public.items() if not issubclass(cls, VastplanError)) == []
    assert sorted(n for n in public if not n.startswith("vastplan.errors.")) == []
    drawn = vastplan.errors.__doc__ or ""
    assert sorted(cls.__name__ for cls in public.values() if f"── {cls.__name__} " not in drawn
                  and cls is not VastplanError) == []


@pytest.mark.parametrize("name", ["BudgetExceeded", "NotReady", "CycleError"])
def test_the_errors_that_lived_elsewhere_are_vastplan_errors(name: str) -> None:
    assert issubclass(getattr(vastplan.errors, name), VastplanError)


def test_apply_events_carry_the_executors_id_not_one_parsed_from_words() -> None:
    out = io.StringIO()
    view = JsonStreamView(out)
    view.apply_event(ApplyEvent("templates.t", Action.CREATE, Phase.START))
    view.apply_event(ApplyEvent("templates.t", Action.CREATE, Phase.COMPLETE, resource_id="tpl-42", elapsed=1.5))
    view.apply_event(ApplyEvent("templates.t", Action.DELETE, Phase.START, resource_id=7))
    start, complete, delete = [json.loads(line) for line in out.getvalue().splitlines()[1:]]
    assert (start["action"], start["resource_id"], start["id"]) == ("create", None, None)
    assert (complete["resource_id"], complete["id"], complete["detail"]) == ("tpl-42", "tpl-42", "[id=tpl-42]")
    assert complete["elapsed_seconds"] == 1.5
    assert (delete["action"], delete["resource_id"], delete["id"]) == ("delete", 7, 7)


def test_human_apply_lines_come_from_the_event() -> None:
    out = io.StringIO()
    view = HumanView(out)
    view.apply_event(ApplyEvent("instances.a", Action.EXPIRE, Phase.START, resource_id=9))
    view.apply_event(ApplyEvent("instances.a", Action.EXPIRE, Phase.COMPLETE, resource_id=9, elapsed=2.2))
    view.apply_event(ApplyEvent("templates.t", Action.CREATE, Phase.COMPLETE, resource_id=3, adopted=True,
                                detail="an identical object already existed; adopted"))
    view.apply_event(ApplyEvent("templates.u", Action.CREATE, Phase.ERRORED, error=VastplanError("boom")))
    view.apply_event(ApplyEvent("instances.b", Action.CREATE, Phase.SKIPPED, detail="templates.u"))
    assert out.getvalue().splitlines() == [
        "instances.a: Destroying (ttl expired)... [id=9]",
        "instances.a: Destruction complete after 2s",
        "templates.t: Creation complete after 0s [id=3] (an identical object already existed; adopted)",
        "templates.u: Creation failed after 0s: boom",
        "instances.b: skipped (depends on templates.u)",
    ]


def change(action: Action, reason: ActionReason, note: str = "") -> ResourceChange:
    return ResourceChange("templates.t", "template", action, reason, resource_id=5, before={}, after={},
                          reason_note=note, create_before_destroy=action is Action.REPLACE_CREATE_FIRST)


@pytest.mark.parametrize("planned, header", [
    (change(Action.CREATE, ActionReason.NOT_IN_STATE), "  # templates.t will be created"),
    (change(Action.CREATE, ActionReason.DELETED_OUTSIDE), "  # templates.t will be created (deleted outside vastplan)"),
    (change(Action.UPDATE, ActionReason.FIELDS_DIFFER), "  # templates.t will be updated in place"),
    (change(Action.UPDATE, ActionReason.FIELDS_DIFFER, "the container is recreated"),
     "  # templates.t will be updated in place (the container is recreated)"),
    (change(Action.REPLACE_CREATE_FIRST, ActionReason.TAINTED),
     "  # templates.t must be replaced (tainted: by vastplan taint, or it never became ready)"),
    (change(Action.EXPIRE, ActionReason.TTL_EXPIRED, "2026-12-02 07:00 UTC"),
     "  # templates.t will be destroyed (expired: its ttl ran out at 2026-12-02 07:00 UTC)"),
])
def test_the_plan_header_explains_only_what_is_not_self_evident(planned: ResourceChange, header: str) -> None:
    out = io.StringIO()
    HumanView(out)._change(planned)
    assert out.getvalue().splitlines()[0] == header


def test_replacement_order_is_part_of_the_action_and_survives_a_saved_plan() -> None:
    for action, symbol in ((Action.REPLACE_DESTROY_FIRST, "-/+"), (Action.REPLACE_CREATE_FIRST, "+/-")):
        planned = change(action, ActionReason.CANNOT_UPDATE_IN_PLACE)
        doc = change_to_json(planned)
        assert doc["change"]["actions"] == ["delete", "create"]
        assert doc["action_reason_code"] == "cannot_update_in_place"
        assert change_from_json(doc) == planned
        out = io.StringIO()
        HumanView(out)._change(planned)
        assert out.getvalue().splitlines()[1].startswith(f"{symbol} template")
    expired = change(Action.EXPIRE, ActionReason.TTL_EXPIRED, "2026-12-02 07:00 UTC")
    assert change_from_json(change_to_json(expired)) == expired
