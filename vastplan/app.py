"""The use cases: validate, plan, apply (a fresh plan or a saved one), destroy. The CLI parses
flags into Options and hands over a view; the shared steps live in ``workflow``."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

from vastplan import planfile
from vastplan.errors import PlanStaleError
from vastplan.lock import StateLock
from vastplan.plan import Action, Plan
from vastplan.refresh import refresh
from vastplan.render.base import View
from vastplan.resources import KINDS
from vastplan.stack.model import Stack
from vastplan.state import LocalStateFile
from vastplan.workflow import (
    Options,
    confirm,
    connect,
    execute,
    read_state,
    refresh_and_diff,
    settle_state,
    show_plan,
)

EXIT_OK, EXIT_CHANGES = 0, 2
__all__ = ["Options", "plan", "apply", "apply_saved", "refresh_only", "reap"]


def load(opts: Options) -> Stack:
    from vastplan.stack import load_stack

    return load_stack(opts.stack_file, opts.variables, opts.var_files)


def plan(opts: Options, view: View, *, destroy: bool = False, out: str | None = None) -> int:
    stack = load(opts)
    return asyncio.run(_plan(opts, stack, view, destroy=destroy, out=out))


async def _plan(opts: Options, stack: Stack, view: View, *, destroy: bool, out: str | None) -> int:
    state = read_state(opts.state_path, stack)
    async with connect(opts, view) as client:
        planned, planning = await refresh_and_diff(client, stack, state, view, opts, destroy=destroy)
    show_plan(view, planned, stack, opts.stack_file)
    if out:
        planfile.save(Path(out), planfile.SavedPlan(
            plan=planned, stack_file=str(Path(opts.stack_file).resolve()),
            state_file=str(opts.state_path.resolve()),
            fingerprint=planfile.fingerprint(opts.stack_file, opts.var_files),
            lineage=state.lineage, serial=state.serial,
            variables={k: v for k, v in opts.variables.items() if k not in stack.sensitive_variables},
            var_files=tuple(str(Path(f).resolve()) for f in opts.var_files),
            placements=dict(planning.placements),
        ))
        view.plan_saved(out)
    return EXIT_CHANGES if opts.detailed_exitcode and planned.has_changes else EXIT_OK


def apply(opts: Options, view: View, *, destroy: bool = False) -> int:
    stack = load(opts)
    with StateLock(opts.state_path, "destroy" if destroy else "apply", opts.lock_timeout):
        return asyncio.run(_apply(opts, stack, view, destroy=destroy))


async def _apply(opts: Options, stack: Stack, view: View, *, destroy: bool) -> int:
    state = read_state(opts.state_path, stack)
    async with connect(opts, view) as client:
        planned, planning = await refresh_and_diff(client, stack, state, view, opts, destroy=destroy)
        show_plan(view, planned, stack, opts.stack_file)
        if not planned.has_changes:
            if planning.state.resources:
                settle_state(opts.state_path, planning.state, stack, written=state)
            return EXIT_OK
        confirm(opts, view, "destroy" if destroy else "apply")
        await execute(client, planning, planned, opts.state_path, view, opts.parallelism)
    return EXIT_OK


def apply_saved(opts: Options, view: View, path: str) -> int:
    """Apply a saved plan exactly: no prompt; refused when the state, stack or account moved on."""
    saved = planfile.load(Path(path))
    opts = replace(
        opts, stack_file=saved.stack_file, state_file=opts.state_file or saved.state_file,
        variables={**saved.variables, **opts.variables}, var_files=saved.var_files,
    )
    if planfile.fingerprint(saved.stack_file, saved.var_files) != saved.fingerprint:
        raise PlanStaleError("Saved plan is stale: the stack file changed since the plan was made")
    stack = load(opts)
    with StateLock(opts.state_path, "apply", opts.lock_timeout):
        return asyncio.run(_apply_saved(opts, stack, view, saved))


async def _apply_saved(opts: Options, stack: Stack, view: View, saved: planfile.SavedPlan) -> int:
    state = read_state(opts.state_path, stack)
    if saved.serial == 0:  # planned before the first apply, when there was no state yet
        if opts.state_path.exists():
            raise PlanStaleError("Saved plan is stale: the state changed since the plan was made")
        state = replace(state, lineage=saved.lineage)
    if state.lineage != saved.lineage:
        raise PlanStaleError(f"Saved plan is for another state (lineage {saved.lineage}, "
                             f"but {opts.state_path} has {state.lineage})")
    if state.serial != saved.serial:
        raise PlanStaleError("Saved plan is stale: the state changed since the plan was made")
    async with connect(opts, view) as client:
        planned, planning = await refresh_and_diff(client, stack, state, view, opts, destroy=saved.plan.destroy,
                                                   pinned=saved.placements)
        _same_actions(saved.plan, planned)
        show_plan(view, planned, stack, opts.stack_file)
        if planned.has_changes:
            await execute(client, planning, planned, opts.state_path, view, opts.parallelism)
    return EXIT_OK


def _same_actions(saved: Plan, fresh: Plan) -> None:
    before = {c.address: c.action for c in saved.actionable}
    now = {c.address: c.action for c in fresh.actionable}
    if before != now:
        moved = sorted(a for a in before.keys() | now.keys() if before.get(a) != now.get(a))
        raise PlanStaleError("Saved plan is stale: the account changed since the plan was made "
                             f"({', '.join(moved)}); make a new plan")


def refresh_only(opts: Options, view: View, *, write: bool) -> int:
    """Accept drift: bring state's record of each object up to what the account says; drop the
    objects that are gone. With ``write`` (apply --refresh-only) the state is saved."""
    stack = load(opts)
    if not write:
        return asyncio.run(_refresh_only(opts, stack, view, write))
    with StateLock(opts.state_path, "apply --refresh-only", opts.lock_timeout):
        return asyncio.run(_refresh_only(opts, stack, view, write))


async def _refresh_only(opts: Options, stack: Stack, view: View, write: bool) -> int:
    state = read_state(opts.state_path, stack)
    async with connect(opts, view) as client:
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
    if updated == state:
        view.line("No drift: the state matches the account.")
        return EXIT_OK
    if write:
        confirm(opts, view, "apply --refresh-only")
        LocalStateFile(opts.state_path).write(updated)
        view.line("Refresh complete: the state now records the account as it is; nothing in the account changed.")
    return EXIT_CHANGES if opts.detailed_exitcode else EXIT_OK


def reap(opts: Options, view: View) -> int:
    """Destroy only the instances whose ttl ran out (for a scheduled CI job); exit 0 when none did."""
    stack = load(opts)
    with StateLock(opts.state_path, "reap", opts.lock_timeout):
        return asyncio.run(_reap(opts, stack, view))


async def _reap(opts: Options, stack: Stack, view: View) -> int:
    state = read_state(opts.state_path, stack)
    async with connect(opts, view) as client:
        planned, planning = await refresh_and_diff(client, stack, state, view, opts, destroy=False)
        expired = replace(planned, changes=tuple(
            c if c.action is Action.EXPIRE else replace(c, action=Action.NOOP, dph_after=c.dph_before)
            for c in planned.changes))
        if not expired.has_changes:
            view.line("Nothing has expired.")
            return EXIT_OK
        show_plan(view, expired, stack, opts.stack_file)
        confirm(opts, view, "reap")
        await execute(client, planning, expired, opts.state_path, view, opts.parallelism)
    return EXIT_OK
