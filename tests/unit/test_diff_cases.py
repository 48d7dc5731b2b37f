"""Diff cases as data: tests/cases/diff/*.yaml hold config, state, live row and the expected change.

A case's keys: ``kind``; ``config`` (the resource's block as written); ``sensitive`` and
``ignore_changes``; ``state`` (null, or the entry: ``id``, ``tainted``, and ``attributes`` for what the
API does not report, such as an instance's ``ssh_keys`` and ``bid_dph``); ``live`` (null, or the API
row); ``placement`` (the offer row chosen for it at plan time: an instance's or volume's machine);
``expect`` (``action``, and optionally ``fields``, ``sensitive``, ``replace``, ``reason`` (an
``ActionReason`` name) and ``explanation`` (the reason in the words the plan prints)).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from vastplan.kinds import KINDS
from vastplan.kinds.base import Planning
from vastplan.kinds.placement import Placement
from vastplan.plan.diff import decide_action
from vastplan.plan.model import Action
from vastplan.stack.model import Lifecycle, ResourceSpec, Stack, make_address
from vastplan.state.model import ResourceState, State

CASES = sorted((Path(__file__).parent.parent / "cases" / "diff").glob("*.yaml"))


@pytest.mark.parametrize("case_file", CASES, ids=[c.stem for c in CASES])
def test_diff_case(case_file: Path) -> None:
    case: dict[str, Any] = yaml.safe_load(case_file.read_text())
    kind = KINDS[case["kind"]]
    spec = ResourceSpec(
        kind=case["kind"], name="t", address=make_address(KINDS[case["kind"]].collection, "t"), config=case["config"],
        sensitive_paths=frozenset(case.get("sensitive", [])),
        lifecycle=Lifecycle(ignore_changes=tuple(case.get("ignore_changes", []))),
    )
    entry = None
    if case["state"] is not None:
        entry = ResourceState(kind=case["kind"], id=case["state"]["id"],
                              attributes=case["state"].get("attributes", {}),
                              tainted=case["state"].get("tainted", False))
    live = kind.from_api(case["live"]) if case["live"] is not None else None

    state = State.new("demo") if entry is None else State.new("demo").with_resource(spec.address, entry)
    listed = {case["kind"]: {entry.id: live}} if entry is not None and live is not None else {}
    planning = Planning(Stack("stack.yaml", "demo", (spec,)), state, listed)
    if case.get("placement") is not None:
        planning.placements[spec.address] = Placement(case["placement"], {}, [], current=entry is not None)
    change = decide_action(spec, kind, kind.desired(spec, planning), entry, live, kind.sensitive_paths(spec, planning))

    expect = case["expect"]
    actual = {"action": change.action.name, "fields": [f.path for f in change.fields],
              "sensitive": [f.path for f in change.fields if f.sensitive], "reason": change.reason.name,
              "replace": list(change.replace_paths), "explanation": change.explanation}
    assert actual["action"] == expect["action"], actual
    assert change.action is Action[expect["action"]]
    if "fields" in expect:
        assert actual["fields"] == expect["fields"], actual
    if "sensitive" in expect:
        assert actual["sensitive"] == expect["sensitive"], actual
    if "replace" in expect:
        assert actual["replace"] == expect["replace"], actual
    if "reason" in expect:
        assert actual["reason"] == expect["reason"], actual
    if "explanation" in expect:
        assert actual["explanation"] == expect["explanation"], actual
