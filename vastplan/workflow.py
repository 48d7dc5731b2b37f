"""The steps the use cases share: connect, read state, refresh + diff, execute, confirm."""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import AsyncIterator, Mapping
from dataclasses import replace
from pathlib import Path

from vastplan.api.client import VastClient
from vastplan.api.credentials import KeySources, find_api_key
from vastplan.budget import check_budget
from vastplan.diagnostics import Diagnostic
from vastplan.diff import diff
from vastplan.errors import (
    ApplyError,
    Cancelled,
    ConfirmationRequired,
    ProtectedError,
    StackError,
    StateError,
    UsageError,
)
from vastplan.executor import Executor
from vastplan.journal import settle_pending
from vastplan.options import Options
from vastplan.orphans import find_orphans
from vastplan.outcome import ApplyOutcome
from vastplan.outputs import evaluate
from vastplan.plan import Action, Plan
from vastplan.refresh import LiveSnapshot, refresh
from vastplan.render.base import View
from vastplan.resources import KINDS
from vastplan.resources.base import LiveObjects, Planning
from vastplan.resources.placement import Placement
from vastplan.stack.model import Stack
from vastplan.state import LocalStateFile, State
from vastplan.targeting import narrow


def read_state(path: Path, stack: Stack) -> State:
    state = LocalStateFile(path).read()
    if state is None:
        return State.new(stack.name)
    if state.stack and state.stack != stack.name:
        raise StateError(f"{path} belongs to stack {state.stack!r}, not {stack.name!r}; "
                         "pass --state to use another state file")
    return state


@contextlib.asynccontextmanager
async def connect(opts: Options, view: View | None = None) -> AsyncIterator[VastClient]:
    """A client for the real API, or for the built-in sandbox started for this command only; ``view``
    hears the warnings (a key file others can read) and what calls held up by the API wait for."""
    warn = view.warning if view is not None else _ignore
    key = find_api_key(KeySources(opts.api_key_file, sandbox=opts.sandbox_dir is not None), warn)
    with contextlib.ExitStack() as stack:
        url = opts.api_url
        if opts.sandbox_dir is not None:
            from vastsandbox.server import start_in_thread

            url = stack.enter_context(start_in_thread(Path(opts.sandbox_dir))).url
        # --parallelism bounds operations (the walk); reads such as refresh pages may go wider.
        async with VastClient(url, key, concurrency=max(32, opts.parallelism), progress=warn) as client:
            yield client


def _ignore(text: str) -> None:
    pass


async def refresh_and_diff(client: VastClient, stack: Stack, state: State, view: View, opts: Options, *,
                           destroy: bool, pinned: Mapping[str, Placement] | None = None) -> tuple[Plan, Planning]:
    """Read the account, place new rentals (or take the placements a saved plan pinned), diff."""
    if opts.refresh:
        live = await refresh(client, KINDS, state, {r.kind for r in stack.resources})
    else:
        recorded: dict[str, LiveObjects] = {}
        for entry in state.resources.values():
            recorded.setdefault(entry.kind, {})[entry.id] = dict(entry.attributes)
        live = LiveSnapshot(recorded)  # --refresh=false: trust state, send no list request
    state, live, adopted = await settle_pending(client, KINDS, state, live)
    planning = Planning(stack, state, live.objects)
    if pinned is not None:
        planning.placements.update(pinned)
        for address, placement in pinned.items():
            if not placement.current:
                planning.claims.claim("volume" if address.startswith("volumes.") else "gpu", placement.offer)
    elif not destroy:
        for kind in KINDS.values():
            await kind.prepare(client, planning)
    planned = narrow(diff(planning, live, KINDS, destroy=destroy, force_replace=_addresses(stack, opts.replace)),
                     opts.targets, opts.excludes)
    _check_creations(planned, planning)
    if adopted:
        planned = replace(planned, drift=(*adopted, *planned.drift))
    if opts.refresh:
        orphans = await find_orphans(client, KINDS, stack.name, state, live.objects)
        planned = replace(planned, orphans=tuple(orphans))
    view.refreshed(planned, _counts(state))
    return planned, planning


def _check_creations(planned: Plan, planning: Planning) -> None:
    """Refuse, before anything is rented, a create the stack allows in general but not today."""
    specs = planning.stack.by_address()
    diags = [Diagnostic(problem, range=spec.range, address=spec.address)
             for change in planned.changes if change.action in (Action.CREATE, Action.REPLACE)
             if (spec := specs.get(change.address)) is not None
             for problem in KINDS[spec.kind].creation_problems(spec, planning)]
    if diags:
        raise StackError(diags)


def _addresses(stack: Stack, patterns: tuple[str, ...]) -> frozenset[str]:
    """``--replace instances.server`` names every index of it."""
    found = {a for a in stack.by_address() for p in patterns if a == p or a.startswith(p + "[")}
    missing = [p for p in patterns if not any(a == p or a.startswith(p + "[") for a in found)]
    if missing:
        raise UsageError(f"--replace {missing[0]}: no such resource in the stack")
    return frozenset(found)


def show_plan(view: View, planned: Plan, stack: Stack, stack_file: str) -> None:
    """Print the plan, then refuse it if it breaks the budget (so the user sees what it would cost)."""
    view.plan(planned, stack_file, stack.budget.max_dph_total)
    check_budget(stack, planned)
    if planned.blocked:
        names = ", ".join(b.address for b in planned.blocked)
        raise ProtectedError(f"the plan would destroy {names}, protected by lifecycle.prevent_destroy; "
                             "nothing was changed")


def _counts(state: State) -> dict[str, int]:
    """How many known objects of each kind the refresh looked for."""
    counted = Counter(entry.kind for entry in state.resources.values())
    return {kind: counted[kind] for kind in KINDS if counted[kind]}


def confirm(opts: Options, view: View, verb: str) -> None:
    if opts.auto_approve:
        return
    if not opts.interactive:
        raise ConfirmationRequired(f"{verb} needs --auto-approve when not run from a terminal")
    if not view.ask_approval("Do you want to perform these actions?"):
        raise Cancelled(f"{verb.capitalize()} cancelled; nothing was changed.")


async def execute(client: VastClient, planning: Planning, planned: Plan, state_path: Path, view: View,
                  parallelism: int) -> ApplyOutcome:
    """Carry the plan out; raises ApplyError naming how many changes failed and where state is."""
    backend = LocalStateFile(state_path)
    outcome = await Executor(client, KINDS, planning, planned, backend, view).run(parallelism)
    verb = "Destroy" if planned.destroy else "Apply"
    if outcome.state_write_failed is not None:
        raise outcome.state_write_failed
    if outcome.errors:
        made = outcome.added + outcome.changed + outcome.destroyed
        raise ApplyError(
            f"{verb} failed: {plural(len(outcome.errors), 'error')}. "
            f"{plural(made, 'change')} made {'is' if made == 1 else 'are'} saved in {backend.describe()}."
        )
    final = settle_state(state_path, outcome.state, planning.stack)
    running = sum(KINDS[e.kind].dph(e.attributes) for e in final.resources.values())
    view.apply_complete(outcome, planned.destroy, running)
    if final.outputs and not planned.destroy:
        view.outputs(final.outputs)
    return outcome


def settle_state(state_path: Path, state: State, stack: Stack, written: State | None = None) -> State:
    """After an apply: record each declared resource's prevent_destroy in state (so deleting its block
    later cannot silently drop the protection) and the outputs. Writes only when something differs."""
    specs = stack.by_address()
    updated = state
    for address, entry in state.resources.items():
        spec = specs.get(address)
        if spec is not None and entry.protected != spec.lifecycle.prevent_destroy:
            updated = updated.with_resource(address, replace(entry, protected=spec.lifecycle.prevent_destroy))
    outputs = evaluate(stack.outputs, updated)
    if outputs != dict(updated.outputs):
        updated = replace(updated, outputs=outputs)
    on_disk = state if written is None else written
    return LocalStateFile(state_path).write(updated) if updated != on_disk else state


def plural(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"
