"""The budget guard fails closed: a running cost that is not a number is over any budget."""

from __future__ import annotations

import math

import pytest

from vastplan.plan.budget import BudgetExceeded, check_budget
from vastplan.plan.model import Action, Plan, ResourceChange
from vastplan.stack.model import Budget, Stack


@pytest.mark.parametrize("dph", [math.nan, math.inf, 4.24])
def test_a_price_that_is_not_a_finite_number_within_budget_is_refused(dph: float) -> None:
    stack = Stack(path="s.yaml", name="s", resources=(), budget=Budget(0.01))
    plan = Plan((ResourceChange("instances.box", "instance", Action.CREATE, dph_after=dph),), (), stack_name="s")
    with pytest.raises(BudgetExceeded, match="over its budget of \\$0.01/hr"):
        check_budget(stack, plan)


def test_a_price_within_budget_passes() -> None:
    stack = Stack(path="s.yaml", name="s", resources=(), budget=Budget(1.0))
    plan = Plan((ResourceChange("instances.box", "instance", Action.CREATE, dph_after=0.5),), (), stack_name="s")
    check_budget(stack, plan)
