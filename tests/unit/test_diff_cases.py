"""Diff cases as data: tests/cases/diff/*.yaml hold config, state, live row and the expected change."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from vastplan.kinds import KINDS
from vastplan.kinds.base import Planning
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
        entry = ResourceState(kind=case["kind"], id=case["state"]["id"], attributes={},
                              tainted=case["state"].get("tainted", False))
    live = kind.from_api(case["live"]) if case["live"] is not None else None

    planning = Planning(Stack("stack.yaml", "demo", (spec,)), State.new("demo"), {})
    change = decide_action(spec, kind, kind.desired(spec, planning), entry, live, kind.sensitive_paths(spec, planning))

    expect = case["expect"]
    actual = {"action": change.action.name, "fields": [f.path for f in change.fields],
              "sensitive": [f.path for f in change.fields if f.sensitive], "reason": change.reason.name}
    assert actual["action"] == expect["action"], actual
    assert change.action is Action[expect["action"]]
    if "fields" in expect:
        assert actual["fields"] == expect["fields"], actual
    if "sensitive" in expect:
        assert actual["sensitive"] == expect["sensitive"], actual
    if "reason" in expect:
        assert actual["reason"] == expect["reason"], actual
