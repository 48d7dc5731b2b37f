"""The budget guard: a plan whose running cost after apply would exceed the stack's (or one
instance's) ``budget.max_dph_total`` is refused before anything is rented."""

from __future__ import annotations

from vastplan.diagnostics import Diagnostic
from vastplan.errors import BudgetExceeded
from vastplan.plan.model import Action, Plan
from vastplan.stack.model import Stack

__all__ = ["BudgetExceeded", "check_budget"]


def check_budget(stack: Stack, plan: Plan) -> None:
    if plan.destroy:
        return
    problems: list[Diagnostic] = []
    cap = stack.budget.max_dph_total
    # "not <=" rather than ">": a price that is not a number (NaN from a broken answer) must fail the
    # check, where every ">" comparison with NaN is false and would let the plan through.
    if cap is not None and not plan.dph_after <= cap + 1e-9:
        problems.append(Diagnostic(
            f"the stack would run at ${plan.dph_after:.3f}/hr after apply, over its budget of ${cap:.2f}/hr "
            "(budget.max_dph_total); nothing was changed", address="budget"))
    specs = stack.by_address()
    for change in plan.changes:
        spec = specs.get(change.address)
        own = ((spec.config.get("budget") or {}).get("max_dph_total") if spec else None)
        if own is not None and change.action is not Action.DELETE and not change.dph_after <= float(own) + 1e-9:
            problems.append(Diagnostic(
                f"would run at ${change.dph_after:.3f}/hr, over its budget of ${float(own):.2f}/hr; "
                "nothing was changed", range=spec.range if spec else None, address=change.address))
    if problems:
        raise BudgetExceeded(problems)
