"""The steps the use cases share: refresh + diff, show the plan, confirm, execute, settle the state.
Each takes the command's Session, and gets the view, the options and the state backend from it."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from vastplan.addresses import matching
from vastplan.api.client import VastClient
from vastplan.apply.executor import Executor
from vastplan.apply.outcome import ApplyOutcome
from vastplan.commands.session import Session
from vastplan.diagnostics import Diagnostic
from vastplan.errors import (
    ApplyError,
    Cancelled,
    ConfirmationRequired,
    ProtectedError,
    StackError,
    StateError,
    UsageError,
)
from vastplan.kinds import KINDS
from vastplan.kinds.base import LiveObjects, Planning
from vastplan.kinds.placement import Placement
from vastplan.plan.budget import check_budget
from vastplan.plan.diff import diff, mark_renewed
from vastplan.plan.model import Action, Drift, Plan
from vastplan.plan.outputs import evaluate
from vastplan.plan.targeting import narrow
from vastplan.refresh.journal import settle_pending
from vastplan.refresh.live import LiveSnapshot, refresh
from vastplan.refresh.orphans import Orphan, adopt, find_orphans, unclaimed
from vastplan.stack.model import Stack
from vastplan.state.model import ResourceState, State

__all__ = ["confirm", "execute", "plural", "refresh_and_diff", "refreshed", "refuse_unclaimed", "settle_state",
           "show_plan"]


async def refresh_and_diff(session: Session, client: VastClient, stack: Stack, state: State, *,
                           destroy: bool, pinned: Mapping[str, Placement] | None = None) -> tuple[Plan, Planning]:
    """Read the account, place new rentals (or take the placements a saved plan pinned), diff."""
    opts = session.opts
    requested = _addresses(stack, opts.replace)
    if opts.refresh:
        live = await refresh(client, KINDS, state, {r.kind for r in stack.resources})
    else:
        recorded: dict[str, LiveObjects] = {}
        for entry in state.resources.values():
            recorded.setdefault(entry.kind, {})[entry.id] = dict(entry.attributes)
        live = LiveSnapshot(recorded)  # --refresh=false: trust state, send no list request
    state, live, adopted = await settle_pending(client, KINDS, state, live)
    if opts.adopt:  # what is adopted changes the state that placement works from: search first
        orphans = await find_orphans(client, KINDS, stack.owner, state, live.objects) if opts.refresh else []
        state, orphans, taken = adopt(KINDS, lambda s: Planning(stack, s, live.objects), stack, state, orphans)
        live = _with_adopted(live, state, taken)
        adopted += taken
        planning = Planning(stack, state, live.objects, replace_requested=requested)
        await _prepare(client, planning, pinned, destroy)
    else:  # the orphan search and placement's offer searches are independent lookups: both at once
        planning = Planning(stack, state, live.objects, replace_requested=requested)
        searching = find_orphans(client, KINDS, stack.owner, state, live.objects) if opts.refresh else _none()
        orphans, _ = await asyncio.gather(searching, _prepare(client, planning, pinned, destroy))
    planned = narrow(diff(planning, live, KINDS, destroy=destroy), opts.targets, opts.excludes)
    _check_creations(planned, planning)
    if adopted:
        planned = replace(planned, drift=(*adopted, *planned.drift))
    lost = unclaimed(planned, orphans)
    planned = replace(planned, orphans=tuple(o for o in orphans if o not in lost), unclaimed=lost)
    session.view.refreshed(planned, _counts(state))
    return planned, planning


async def _prepare(client: VastClient, planning: Planning, pinned: Mapping[str, Placement] | None,
                   destroy: bool) -> None:
    """Placement: the placements a saved plan pinned, or each kind's own (registry order). After each
    kind, which of its objects the plan makes anew, for the kinds after it that pin their ids."""
    if pinned is not None:
        planning.placements.update(pinned)
        specs = planning.stack.by_address()
        for address, placement in pinned.items():
            spec = specs.get(address)
            if spec is not None:
                planning.claims.claim_placement(address, placement, KINDS[spec.kind].claimed_disk_gb(spec))
    if destroy:
        return
    for kind in KINDS.values():
        if pinned is None:
            await kind.prepare(client, planning)
        mark_renewed(planning, kind)


async def _none() -> list[Orphan]:
    return []


def _with_adopted(live: LiveSnapshot, state: State, taken: list[Drift]) -> LiveSnapshot:
    """The snapshot with the objects ``--adopt`` just recorded, as refresh would have listed them."""
    objects: dict[str, LiveObjects] = {k: dict(v) for k, v in live.objects.items()}
    for note in taken:
        entry = state.resources[note.address]
        objects.setdefault(entry.kind, {})[entry.id] = dict(entry.attributes)
    return replace(live, objects=objects)


def refuse_unclaimed(session: Session, planned: Plan) -> None:
    """The lost-state guard: never rent a second copy of an object that carries this stack's marker."""
    if not planned.unclaimed:
        return
    named = ", ".join(f"{o.address} ({KINDS[o.kind].noun} {o.id})" for o in planned.unclaimed)
    imports = "; ".join(f"vastplan import {o.address} {o.id}" for o in planned.unclaimed)
    raise StateError(
        f"{session.backend.describe()} does not know {plural(len(planned.unclaimed), 'object')} that "
        f"{'carries' if len(planned.unclaimed) == 1 else 'carry'} this stack's marker, and this apply would rent "
        f"{'its counterpart' if len(planned.unclaimed) == 1 else 'their counterparts'}: {named}. Nothing was "
        f"changed. Take them into the state with `vastplan apply --adopt`, or one by one: {imports}. "
        "(Was the state deleted, or is this the wrong --state, --backend or --workspace?)")


def _check_creations(planned: Plan, planning: Planning) -> None:
    """Refuse, before anything is rented, a create the stack allows in general but not today."""
    specs = planning.stack.by_address()
    diags = [Diagnostic(problem, range=spec.range, address=spec.address)
             for change in planned.changes if (change.action is Action.CREATE or change.action.replaces)
             if (spec := specs.get(change.address)) is not None
             for problem in KINDS[spec.kind].creation_problems(spec, planning)]
    if diags:
        raise StackError(diags)


def _addresses(stack: Stack, patterns: tuple[str, ...]) -> frozenset[str]:
    """``--replace instances.server`` names every index of it."""
    found: set[str] = set()
    for pattern in patterns:
        named = matching(stack.by_address(), pattern)
        if not named:
            raise UsageError(f"--replace {pattern}: no such resource in the stack")
        found.update(named)
    return frozenset(found)


def show_plan(session: Session, planned: Plan, stack: Stack) -> None:
    """Print the plan, then refuse it if it breaks the budget (so the user sees what it would cost)."""
    session.view.plan(planned, session.opts.stack_file, stack.budget.max_dph_total)
    check_budget(stack, planned)
    if planned.blocked:
        names = ", ".join(b.address for b in planned.blocked)
        raise ProtectedError(f"the plan would destroy {names}, protected by lifecycle.prevent_destroy; "
                             "nothing was changed")


def _counts(state: State) -> dict[str, int]:
    """How many known objects of each kind the refresh looked for."""
    counted = Counter(entry.kind for entry in state.resources.values())
    return {kind: counted[kind] for kind in KINDS if counted[kind]}


def confirm(session: Session, verb: str) -> None:
    if session.opts.auto_approve:
        return
    if not session.opts.interactive:
        raise ConfirmationRequired(f"{verb} needs --auto-approve when not run from a terminal or with --no-input")
    if not session.view.ask_approval("Do you want to perform these actions?"):
        raise Cancelled(f"{verb.capitalize()} cancelled; nothing was changed.")


async def execute(session: Session, client: VastClient, planning: Planning, planned: Plan) -> ApplyOutcome:
    """Carry the plan out; raises ApplyError naming how many changes failed and where state is."""
    backend, view = session.backend, session.view
    outcome = await Executor(client, KINDS, planning, planned, backend, view).run(session.opts.parallelism)
    verb = "Destroy" if planned.destroy else "Apply"
    if outcome.state_write_failed is not None:
        raise outcome.state_write_failed
    if outcome.errors:
        made = outcome.added + outcome.changed + outcome.destroyed
        raise ApplyError(
            f"{verb} failed: {plural(len(outcome.errors), 'error')}. "
            f"{plural(made, 'change')} made {'is' if made == 1 else 'are'} saved in {backend.describe()}."
        )
    final = settle_state(session, outcome.state, planning.stack, live=planning.live,
                         touched=frozenset(c.address for c in planned.actionable))
    running = sum(KINDS[e.kind].dph(e.attributes) for e in final.resources.values())
    view.apply_complete(outcome, planned.destroy, running)
    if final.outputs and not planned.destroy:
        view.outputs(final.outputs)
    return outcome


def settle_state(session: Session, state: State, stack: Stack, written: State | None = None,
                 live: Mapping[str, LiveObjects] | None = None, touched: frozenset[str] = frozenset()) -> State:
    """After an apply: record each declared resource's prevent_destroy in state (so deleting its block
    later cannot silently drop the protection), what refresh read of the objects this apply did not
    touch (``live``), and the outputs. Writes only when something differs.

    The refresh matters after an interrupted apply: an instance recorded before its readiness wait
    ended has no SSH address in state, and the next apply, which has nothing to change, must still
    fill it in, or the outputs made of it stay null for good."""
    specs = stack.by_address()
    updated = state
    for address, entry in state.resources.items():
        spec = specs.get(address)
        if spec is not None and entry.protected != spec.lifecycle.prevent_destroy:
            entry = replace(entry, protected=spec.lifecycle.prevent_destroy)
        observed = (live or {}).get(entry.kind, {}).get(entry.id) if address not in touched else None
        if observed is not None:
            entry = replace(entry, attributes=refreshed(entry, observed))
        if entry != state.resources[address]:
            updated = updated.with_resource(address, entry)
    outputs = evaluate(stack.outputs, updated)
    if outputs != dict(updated.outputs):
        updated = replace(updated, outputs=outputs)
    on_disk = state if written is None else written
    return session.backend.write(updated) if updated != on_disk else state


def refreshed(entry: ResourceState, observed: Mapping[str, Any]) -> dict[str, Any]:
    """The entry's attributes with what refresh read of those its kind records beside the stack's
    fields (connection details, status, price), where state records them: the stack's own fields
    stay as applied."""
    recorded = KINDS[entry.kind].recorded_attributes
    return {**entry.attributes, **{k: v for k, v in observed.items() if k in recorded and k in entry.attributes}}


def plural(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"
