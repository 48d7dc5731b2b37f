"""Hostile numbers and values through the CLI: refused with a position (or the option's name), exit 1,
no traceback or "internal error", nothing rented, the state file untouched."""

from __future__ import annotations

import re

import pytest

from tests.harness import Result, Workspace, assert_clean_failure, instances

KEPT_STATE = '{"format": 1, "lineage": "l", "serial": 4, "stack": "hostile", "resources": {}}\n'


def priced_stack(extra: str = "") -> str:
    return f"""
version: 1
stack: hostile
variables:
  budget: {{type: number, default: 0.01}}
  n: {{type: number, default: 1}}
budget: {{max_dph_total: "${{var.budget}}"}}
instances:
  box:
    image: ubuntu
    count: "${{var.n}}"
    offer: {{gpu_name: "RTX 4090", num_gpus: 1}}
    readiness: {{timeout: 20s}}
{extra}"""


def refused(ws: Workspace, *args: str) -> Result:
    """Run ``args`` against a kept state; assert the refusal is clean and touched nothing."""
    ws.state_path.write_text(KEPT_STATE)
    before = ws.state_path.read_bytes()
    result = ws.vastplan(*args)
    assert result.code == 1, result.text
    assert_clean_failure(result.text)
    assert "internal error" not in result.text
    assert instances(ws) == {}
    assert ws.state_path.read_bytes() == before
    return result


@pytest.mark.parametrize("value", ["nan", "NaN", "inf", "-inf", "1e400"])
def test_a_budget_that_is_not_a_finite_number_never_switches_the_guard_off(workspace: Workspace, value: str) -> None:
    workspace.write(priced_stack())
    result = refused(workspace, "apply", "--auto-approve", "--var", f"budget={value}")
    assert f'variables.budget: --var "budget": "{value}" is not a finite number' in result.err
    assert re.search(r"stack\.yaml:5:3: ", result.err), result.err  # where the variable is declared


@pytest.mark.parametrize("value", ["nan", "1e400", "2.5", "1e2"])
def test_a_count_from_var_must_be_a_finite_integer(workspace: Workspace, value: str) -> None:
    workspace.write(priced_stack())
    result = refused(workspace, "plan", "--var", f"n={value}")
    assert "--var \"n\"" in result.err or "instances.box.count" in result.err, result.err


def test_without_the_bad_number_the_budget_guard_still_refuses_the_rental(workspace: Workspace) -> None:
    """The control: the same stack with its own $0.01 budget is refused by the budget, not by a number."""
    workspace.write(priced_stack())
    result = refused(workspace, "apply", "--auto-approve")
    assert "budget" in result.err


def test_an_expiry_already_past_is_refused_before_anything_is_rented(workspace: Workspace) -> None:
    workspace.write(priced_stack("    expires_at: 1970-01-01T00:00:00Z\n"))
    result = refused(workspace, "apply", "--auto-approve", "--var", "budget=5")
    assert re.search(r"stack\.yaml:9:3: instances\.box\[0\]: expires_at 1970-01-01T00:00:00Z is in the past",
                     result.err), result.err


def test_a_far_future_expiry_is_fine_and_a_ttl_of_ten_to_the_26_days_is_not(workspace: Workspace) -> None:
    workspace.write(priced_stack("    ttl: 100000000000000000000000000d\n"))
    result = refused(workspace, "plan", "--var", "budget=5")
    assert "instances.box.ttl" in result.err and "is longer than 366 days" in result.err
    workspace.write(priced_stack("    expires_at: 9999-12-31T23:59:59Z\n"))
    planned = workspace.vastplan("plan", "--var", "budget=5")
    assert planned.code == 0, planned.text


@pytest.mark.parametrize("value", ["nan", "inf", "-1", "1e400"])
def test_a_lock_timeout_must_be_a_finite_number_of_seconds(workspace: Workspace, value: str) -> None:
    workspace.write(priced_stack())
    result = refused(workspace, "apply", "--auto-approve", "--lock-timeout", value)
    assert f"Invalid value for '--lock-timeout': '{value}' is not a number of seconds from 0 to 86400" in result.err
