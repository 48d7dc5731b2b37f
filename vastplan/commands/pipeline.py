"""The use cases: plan, apply (a fresh plan or a saved one), destroy, refresh-only, reap. The CLI
parses flags and hands over a Session; the shared steps live in ``steps``."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

from vastplan.commands.options import Options
from vastplan.commands.session import Session
from vastplan.commands.steps import (
    confirm,
    execute,
    refresh_and_diff,
    refuse_unclaimed,
    settle_state,
    show_plan,
)
from vastplan.errors import PlanStaleError
from vastplan.kinds import KINDS
from vastplan.plan import planfile
from vastplan.plan.diff import idle_plan
from vastplan.plan.model import Action, Plan
from vastplan.plan.outputs import evaluate
from vastplan.refresh.live import refresh
from vastplan.stack.model import Stack

EXIT_OK, EXIT_CHANGES = 0, 2
# Under a saved plan that rents (kinds/placement.py, fallback_query, says what "like it" keeps).
FALLBACK_NOTE = ("Should a planned offer be taken before then, apply rents the best other machine\n"
                 "that matches the offer: filters, with the GPU model and the country planned\n"
                 "unless offer: names others; never one outside them.")
__all__ = ["load", "plan", "apply", "apply_saved", "refresh_only", "reap"]


def load(opts: Options) -> Stack:
    from vastplan.stack import load_stack

    return load_stack(opts.stack_file, opts.variables, opts.var_files, opts.workspace, opts.environ,
                      opts.schema_cache)


def plan(session: Session, *, destroy: bool = False, out: str | None = None) -> int:
    stack = load(session.opts)
    return asyncio.run(_plan(session, stack, destroy=destroy, out=out))


async def _plan(session: Session, stack: Stack, *, destroy: bool, out: str | None) -> int:
    opts, state = session.opts, session.read_state(stack)
    async with session.client() as client:
        planned, planning = await refresh_and_diff(session, client, stack, state, destroy=destroy)
    show_plan(session, planned, stack)
    if out:
        given_state = opts.state_file
        planfile.save(Path(out), planfile.SavedPlan(
            plan=planned, stack_file=planfile.portable(opts.stack_file),
            state_file=given_state if not given_state or Path(given_state).is_absolute()
            else planfile.portable(given_state),
            fingerprint=planfile.fingerprint(opts.stack_file, opts.var_files),
            lineage=state.lineage, serial=state.serial,
            variables={k: v for k, v in opts.variables.items() if k not in stack.sensitive_variables},
            var_files=tuple(planfile.portable(f) for f in opts.var_files),
            placements=dict(planning.placements), workspace=opts.workspace, backend=session.backend.identity(),
            targets=opts.targets, excludes=opts.excludes, replace=opts.replace,
        ))
        session.view.plan_saved(out)
        if any(not placement.current for placement in planning.placements.values()):
            session.view.line(FALLBACK_NOTE)
    return EXIT_CHANGES if opts.detailed_exitcode and planned.has_changes else EXIT_OK


def apply(session: Session, *, destroy: bool = False) -> int:
    stack = load(session.opts)
    with session.locked("destroy" if destroy else "apply"):
        return asyncio.run(_apply(session, stack, destroy=destroy))


async def _apply(session: Session, stack: Stack, *, destroy: bool) -> int:
    state = session.read_state(stack)
    async with session.client() as client:
        planned, planning = await refresh_and_diff(session, client, stack, state, destroy=destroy)
        show_plan(session, planned, stack)
        refuse_unclaimed(session, planned)
        if not planned.has_changes:
            if planning.state.resources:
                settle_state(session, planning.state, stack, written=state, live=planning.live)
            return EXIT_OK
        confirm(session, "destroy" if destroy else "apply")
        await execute(session, client, planning, planned)
    return EXIT_OK


def apply_saved(session: Session, path: str) -> int:
    """Apply a saved plan exactly: no prompt; refused when the state, stack or account moved on."""
    saved = planfile.load(Path(path))
    opts = session.opts
    if saved.workspace != opts.workspace:
        raise PlanStaleError(f"Saved plan {path} was made in the workspace {saved.workspace!r}, but this is "
                             f"{opts.workspace!r}; pass --workspace {saved.workspace} (or make a new plan). "
                             "Nothing was changed")
    session.retarget(stack_file=saved.stack_file, state_file=opts.state_file or saved.state_file,
                     variables={**saved.variables, **opts.variables}, var_files=saved.var_files,
                     targets=saved.targets, excludes=saved.excludes, replace=saved.replace)
    if session.backend.identity() != saved.backend:
        raise PlanStaleError(f"Saved plan {path} was made against the state backend {saved.backend}, but this "
                             f"command's is {session.backend.identity()}; make a new plan. Nothing was changed")
    if planfile.fingerprint(saved.stack_file, saved.var_files) != saved.fingerprint:
        raise PlanStaleError("Saved plan is stale: the stack file changed since the plan was made")
    stack = load(session.opts)
    with session.locked("apply"):
        return asyncio.run(_apply_saved(session, stack, saved))


async def _apply_saved(session: Session, stack: Stack, saved: planfile.SavedPlan) -> int:
    state = session.read_state(stack)
    if saved.serial == 0:  # planned before the first apply, when there was no state yet
        if state.serial != 0:  # a state has been written since (every write advances the serial)
            raise PlanStaleError("Saved plan is stale: the state changed since the plan was made")
        state = replace(state, lineage=saved.lineage)
    if state.lineage != saved.lineage:
        raise PlanStaleError(f"Saved plan is for another state (lineage {saved.lineage}, "
                             f"but {session.backend.describe()} has {state.lineage})")
    if state.serial != saved.serial:
        raise PlanStaleError("Saved plan is stale: the state changed since the plan was made")
    async with session.client() as client:
        planned, planning = await refresh_and_diff(session, client, stack, state, destroy=saved.plan.destroy,
                                                   pinned=saved.placements)
        _same_actions(saved.plan, planned)
        show_plan(session, planned, stack)
        refuse_unclaimed(session, planned)
        if planned.has_changes:
            await execute(session, client, planning, planned)
    return EXIT_OK


def _same_actions(saved: Plan, fresh: Plan) -> None:
    before = {c.address: c.action for c in saved.actionable}
    now = {c.address: c.action for c in fresh.actionable}
    if before != now:
        moved = sorted(a for a in before.keys() | now.keys() if before.get(a) != now.get(a))
        raise PlanStaleError("Saved plan is stale: the account changed since the plan was made "
                             f"({', '.join(moved)}); make a new plan")


def refresh_only(session: Session, *, write: bool) -> int:
    """Accept drift: bring state's record of each object up to what the account says; drop the
    objects that are gone. With ``write`` (apply --refresh-only) the state is saved."""
    stack = load(session.opts)
    if not write:
        return asyncio.run(_refresh_only(session, stack, write))
    with session.locked("apply --refresh-only"):
        return asyncio.run(_refresh_only(session, stack, write))


async def _refresh_only(session: Session, stack: Stack, write: bool) -> int:
    view, state = session.view, session.read_state(stack)
    async with session.client() as client:
        live = await refresh(client, KINDS, state, ())
    updated = state
    for address, entry in state.resources.items():
        observed = live.get(entry.kind, entry.id)
        if observed is None:
            view.line(f"{address}: {KINDS[entry.kind].noun} {entry.id} is gone; it will be dropped from state")
            updated = updated.with_resource(address, None)
            continue
        merged = {**entry.attributes, **{k: v for k, v in observed.items() if k in entry.attributes}}
        for text in KINDS[entry.kind].describe_drift(entry, observed):
            view.line(f"{address}: {KINDS[entry.kind].noun} {entry.id} {text}; state will record it")
        updated = updated.with_resource(address, replace(entry, attributes=merged))
    outputs = evaluate(stack.outputs, updated)
    if outputs != dict(updated.outputs):
        updated = replace(updated, outputs=outputs)
    if updated == state:
        view.line("No drift: the state matches the account.")
        return EXIT_OK
    if write:
        confirm(session, "apply --refresh-only")
        session.backend.write(updated)
        view.line("Refresh complete: the state now records the account as it is; nothing in the account changed.")
    return EXIT_CHANGES if session.opts.detailed_exitcode else EXIT_OK


def reap(session: Session) -> int:
    """Destroy only the objects whose ttl ran out, and stop or destroy those idle for longer than their
    idle rule allows (for a scheduled CI job); exit 0 when none did."""
    stack = load(session.opts)
    with session.locked("reap"):
        return asyncio.run(_reap(session, stack))


async def _reap(session: Session, stack: Stack) -> int:
    state = session.read_state(stack)
    async with session.client() as client:
        planned, planning = await refresh_and_diff(session, client, stack, state, destroy=False)
        expired = replace(planned, changes=tuple(
            c if c.action is Action.EXPIRE else replace(c, action=Action.NOOP, dph_after=c.dph_before)
            for c in planned.changes))
        marked, expired = idle_plan(planning, expired, KINDS)
        if marked != planning.state:  # when each object was first seen idle, for the next run
            planning.state = session.backend.write(marked)
        if not expired.has_changes:
            session.view.line("Nothing has expired.")
            return EXIT_OK
        show_plan(session, expired, stack)
        confirm(session, "reap")
        await execute(session, client, planning, expired)
    return EXIT_OK
