"""Apply a Plan: creates/updates in dependency order, deletes in reverse, state saved after each one.

Each change becomes one or two graph nodes, ``ADDR:apply`` (create or update) and ``ADDR:destroy``;
a replacement has both, in the order its action names (REPLACE_DESTROY_FIRST or REPLACE_CREATE_FIRST).
The walk runs independent nodes concurrently and skips the dependents of a failure. The observer
hears typed ``ApplyEvent``s.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from typing import Any

from vastplan.addresses import DEPOSED, sort_key
from vastplan.api.client import VastClient
from vastplan.apply.dag.graph import Graph
from vastplan.apply.dag.walk import walk
from vastplan.apply.events import HEARTBEAT, ApplyEvent, ApplyObserver, Phase
from vastplan.apply.outcome import ApplyOutcome
from vastplan.errors import ApiError, StateError, StateWriteFailed, VastplanError
from vastplan.kinds.base import ApplyContext, Created, Planning, ResourceKind
from vastplan.kinds.ownership import marker
from vastplan.plan.model import Action, Plan, ResourceChange
from vastplan.refresh.journal import recovery_advice
from vastplan.state.model import ResourceState, State, StateBackend

APPLY, DESTROY = "apply", "destroy"
RECONCILE_ROUNDS = 4  # lost answers in a row before a create gives up

# (change's action, node) -> the step's own action; a replacement is a delete and a create
_STEPS = {
    (Action.CREATE, APPLY): Action.CREATE,
    (Action.REPLACE_DESTROY_FIRST, APPLY): Action.CREATE,
    (Action.REPLACE_CREATE_FIRST, APPLY): Action.CREATE,
    (Action.UPDATE, APPLY): Action.UPDATE,
    (Action.DELETE, DESTROY): Action.DELETE,
    (Action.REPLACE_DESTROY_FIRST, DESTROY): Action.DELETE,
    (Action.REPLACE_CREATE_FIRST, DESTROY): Action.DELETE,
    (Action.FORGET, DESTROY): Action.FORGET,
    (Action.EXPIRE, DESTROY): Action.EXPIRE,
}


def build_graph(plan: Plan, state: State) -> Graph:
    changes = {c.address: c for c in plan.actionable}
    graph = Graph(key=_node_order(changes))
    for change in changes.values():
        for phase in _phases(change):
            graph.add_node(f"{change.address}:{phase}")
        if change.action is Action.REPLACE_CREATE_FIRST:
            graph.add_edge(f"{change.address}:{APPLY}", f"{change.address}:{DESTROY}")
        elif change.action is Action.REPLACE_DESTROY_FIRST:
            graph.add_edge(f"{change.address}:{DESTROY}", f"{change.address}:{APPLY}")
        for dep in change.depends_on:
            if dep in changes and APPLY in _phases(changes[dep]) and APPLY in _phases(change):
                graph.add_edge(f"{dep}:{APPLY}", f"{change.address}:{APPLY}")
    for address, entry in state.resources.items():
        # Whatever depended on an object must let go of it (be destroyed or updated) before it goes;
        # except an update to the object that replaces it destroying first, which can only follow
        # the new one's create (as Terraform orders it).
        for dep in entry.depends_on:
            if dep in changes and DESTROY in _phases(changes[dep]) and address in changes:
                phase = DESTROY if DESTROY in _phases(changes[address]) else APPLY
                if phase == APPLY and changes[dep].action is Action.REPLACE_DESTROY_FIRST:
                    continue
                graph.add_edge(f"{address}:{phase}", f"{dep}:{DESTROY}")
    return graph


def _node_order(addresses: Iterable[str]) -> Callable[[str], tuple[int, int]]:
    """Of the nodes ready together, destroys go first, last address first (``[11]`` before ``[10]``
    before ``[1]``), then creates and updates in natural order."""
    rank = {address: i for i, address in enumerate(sorted(addresses, key=sort_key))}

    def key(node: str) -> tuple[int, int]:
        address, _, phase = node.rpartition(":")
        return (0, -rank[address]) if phase == DESTROY else (1, rank[address])

    return key


def _tombstone(entry: ResourceState) -> ResourceState:
    """What state keeps of an expired object: when, and under which ttl rule (see diff.expiry_action)."""
    return ResourceState(entry.kind, None, {"expired_at": time.time(), "ttl_rule": entry.attributes.get("ttl_rule")},
                         depends_on=entry.depends_on, expired=True)


def deposed(address: str) -> str:
    """Where state keeps an object being replaced create-before-destroy until it is gone. No stack
    declares this address, so should apply stop half-way, the next plan destroys it."""
    return address + DEPOSED


def _phases(change: ResourceChange) -> tuple[str, ...]:
    return tuple(phase for (action, phase) in _STEPS if action is change.action)


class Executor:
    def __init__(self, client: VastClient, kinds: Mapping[str, ResourceKind], planning: Planning, plan: Plan,
                 backend: StateBackend, observer: ApplyObserver):
        self._client, self._kinds, self._planning, self._plan = client, kinds, planning, plan
        self._backend, self._observer = backend, observer
        self._changes = {c.address: c for c in plan.actionable}
        self._specs = planning.stack.by_address()
        self._shared: dict[str, Any] = {}
        self._began: dict[str, float] = {}
        self._step_now: dict[str, Action] = {}
        self._waiting_for: dict[str, str] = {}
        self.outcome = ApplyOutcome(planning.state)
        self._write: asyncio.Future[None] | None = None  # the write the changes recorded since the last one await
        self._batch: list[tuple[str, ResourceState | None, bool]] = []

    async def run(self, parallelism: int) -> ApplyOutcome:
        graph = build_graph(self._plan, self.outcome.state)
        result = await walk(graph, self._run_node, parallelism)
        for node, error in result.failed.items():
            address = node.rpartition(":")[0]
            self.outcome.errors[address] = (
                error if isinstance(error, VastplanError) else VastplanError(f"{address}: internal error: {error!r}")
            )
        steps: dict[str, Action] = {}
        for node, blocker in result.skipped.items():
            address, _, phase = node.rpartition(":")
            self.outcome.skipped.setdefault(address, blocker.rpartition(":")[0])
            steps.setdefault(address, _STEPS[(self._changes[address].action, phase)])
        for address, because in self.outcome.skipped.items():
            self._observer.apply_event(ApplyEvent(address, steps[address], Phase.SKIPPED, detail=because))
        return self.outcome

    def _emit(self, address: str, step: Action, phase: Phase, **fields: Any) -> None:
        elapsed = time.monotonic() - self._began[address] if phase is not Phase.START else 0.0
        self._observer.apply_event(ApplyEvent(address, step, phase, elapsed=elapsed, **fields))

    async def _run_node(self, node: str) -> None:
        if self.outcome.state_write_failed is not None:
            raise VastplanError("not started: the state can no longer be written")
        address, _, phase = node.rpartition(":")
        change = self._changes[address]
        step = _STEPS[(change.action, phase)]
        old_key = deposed(address) if phase == DESTROY and change.action is Action.REPLACE_CREATE_FIRST else address
        entry = self.outcome.state.resources.get(old_key)
        existing = entry is not None and (phase == DESTROY or change.action is Action.UPDATE)
        self._began[address], self._step_now[address] = time.monotonic(), step
        self._emit(address, step, Phase.START, resource_id=entry.id if entry is not None and existing else None)
        self._waiting_for.pop(address, None)
        beat = asyncio.ensure_future(self._heartbeat(address, step))
        try:
            if phase == DESTROY:
                resource_id, note = await self._destroy(change)
                adopted = False
            else:
                resource_id, adopted = await self._apply(change)
                note = "an identical object already existed; adopted" if adopted else ""
        except Exception as exc:  # a bug still names its resource and cause, once
            if isinstance(exc, StateWriteFailed):
                self.outcome.state_write_failed = exc
            error = exc if isinstance(exc, VastplanError) else VastplanError(f"internal error: {exc!r}")
            if isinstance(error, ApiError) and not error.address:
                error = error.for_address(address)
            self._emit(address, step, Phase.ERRORED, error=error)
            raise error from exc
        finally:
            beat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beat
        self._emit(address, step, Phase.COMPLETE, resource_id=resource_id, detail=note, adopted=adopted)

    async def _heartbeat(self, address: str, step: Action) -> None:
        """Every HEARTBEAT seconds of a running step, say so (and what it waits for, when known):
        a readiness wait of minutes is never silent."""
        beats = 0
        while True:
            beats += 1
            await asyncio.sleep(max(0.0, self._began[address] + beats * HEARTBEAT - time.monotonic()))
            self._emit(address, step, Phase.PROGRESS, detail=self._waiting_for.get(address, ""), heartbeat=True)

    def _context(self, address: str) -> ApplyContext:
        async def checkpoint(resource_id: Any, attributes: Mapping[str, Any], tainted: bool) -> None:
            # A copy: the kind goes on filling in its dict, and an entry is encoded once (State.to_text).
            await self._record(address, self._entry(address, resource_id, dict(attributes), tainted))

        def waiting_for(note: str) -> None:
            self._waiting_for[address] = note

        return ApplyContext(address, self._planning, lambda: self.outcome.state, checkpoint,
                            lambda message: self._progress(address, message), self._shared, waiting_for)

    def _progress(self, address: str, message: str) -> None:
        self._emit(address, self._step_now[address], Phase.PROGRESS, detail=message)

    def _entry(self, address: str, resource_id: Any, attributes: Mapping[str, Any], tainted: bool) -> ResourceState:
        spec = self._specs[address]
        return ResourceState(
            kind=spec.kind, id=resource_id, attributes=attributes, depends_on=spec.depends_on,
            sensitive_paths=tuple(sorted(self._kinds[spec.kind].sensitive_paths(spec, self._planning))),
            tainted=tainted,
            protected=spec.lifecycle.prevent_destroy,
        )

    async def _apply(self, change: ResourceChange) -> tuple[Any, bool]:
        """Create or update; returns the object's id and whether an identical one was adopted."""
        spec = self._specs[change.address]
        kind = self._kinds[spec.kind]
        assert change.after is not None
        ctx = self._context(change.address)
        if change.action is Action.UPDATE:
            entry = self.outcome.state.resources[change.address]
            attributes = await kind.update(self._client, entry, change.after, ctx)
            resource_id, adopted = entry.id, False
        else:
            if change.action is Action.REPLACE_CREATE_FIRST and change.address in self.outcome.state.resources:
                # The old object stays until the new one is up; state knows it as deposed meanwhile.
                old = self.outcome.state.resources[change.address]
                await self._record(deposed(change.address), old)
            await self._journal(change)
            try:
                try:
                    created = await kind.create(self._client, spec, change.after, ctx)
                except ApiError as exc:
                    created = await self._reconcile(change, exc)
            except VastplanError as exc:
                await self._unjournal(change.address, exc)
                raise
            attributes, resource_id, adopted = created.attributes, created.id, created.adopted
        await self._record(change.address, self._entry(change.address, resource_id, attributes, False))
        if change.action is Action.UPDATE:
            self.outcome.changed += 1
        else:
            self.outcome.added += 1
        return resource_id, adopted

    async def _journal(self, change: ResourceChange) -> None:
        """Before a create: note in state that an object is about to exist, with the marker it will
        carry, so neither a crash nor a lost response can leave it unknown."""
        assert change.after is not None
        pending = replace(self._entry(change.address, None, {**change.after, "marker": marker(
            self._planning.stack.owner, change.address)}, False), pending=True)
        await self._record(change.address, pending, journal=True)

    async def _unjournal(self, address: str, error: VastplanError) -> None:
        """A create that surely made nothing (a refusal, not a lost answer) leaves no pending entry."""
        entry = self.outcome.state.resources.get(address)
        if entry is not None and entry.pending and not (isinstance(error, ApiError) and error.uncertain):
            await self._record(address, None)

    async def _reconcile(self, change: ResourceChange, error: ApiError) -> Created:
        """A create whose outcome is unknown (no answer, or a 5xx): look for the object by its
        marker before trying again, so a lost response never rents twice; up to a few rounds."""
        assert change.after is not None
        spec, ctx = self._specs[change.address], self._context(change.address)
        for _ in range(RECONCILE_ROUNDS):
            entry = self.outcome.state.resources.get(change.address)
            if not (error.uncertain and entry is not None and entry.pending):
                raise error
            kind = self._kinds[entry.kind]
            listed = await kind.list_live(self._client, {})
            found = (await kind.find_pending(self._client, {change.address: entry}, listed)).get(change.address)
            if found is not None:
                self._progress(change.address, f"the create's answer was lost; found and adopted id {found[0]}")
                return await kind.finish_adopted(self._client, spec, change.after, found, ctx)
            self._progress(change.address, "the create's answer was lost and nothing was made; trying again")
            try:
                return await kind.create(self._client, spec, change.after, ctx)
            except ApiError as again:
                error = again
        raise error

    async def _destroy(self, change: ResourceChange) -> tuple[Any, str]:
        """Delete (or forget, or expire); returns the id of the object gone and the kind's note."""
        key = deposed(change.address) if change.action is Action.REPLACE_CREATE_FIRST else change.address
        entry = self.outcome.state.resources.get(key)
        note = "removed from state"
        if entry is not None and change.action is not Action.FORGET:
            note = await self._kinds[entry.kind].delete(self._client, entry, self._context(change.address))
        await self._record(key, _tombstone(entry) if entry is not None and change.action is Action.EXPIRE else None)
        if change.action is not Action.FORGET:
            self.outcome.destroyed += 1
        return (entry.id if entry is not None else None), (note if note != "destroyed" else "")

    async def _record(self, address: str, resource: ResourceState | None, *, journal: bool = False) -> None:
        """Persist before going on: once this returns, a crash cannot lose the object. Changes
        recorded while a write is due share it (group commit: ten rents answered together make one
        write, not ten, and the event loop every rent in flight shares is held up once). If the
        state cannot be written, everything it should say goes to an errored state file instead and
        apply stops."""
        self.outcome.state = self.outcome.state.with_resource(address, resource)
        self._batch.append((address, resource, journal))
        if self._write is None:
            self._write = asyncio.get_running_loop().create_future()
            self._write.add_done_callback(_read_outcome)
            asyncio.get_running_loop().call_soon(self._flush)
        await asyncio.shield(self._write)  # a node cancelled while it waits must not cancel the others' write

    def _flush(self) -> None:
        """Write the state with every change recorded since the last write (one create's journal
        entry alone goes through ``journal_create``, as a backend may journal apart)."""
        done, batch, wanted = self._write, self._batch, self.outcome.state
        assert done is not None
        self._write, self._batch = None, []
        try:
            (address, entry, journal), *others = batch
            if journal and entry is not None and not others:
                written = self._backend.journal_create(wanted, address, entry)
            else:
                written = self._backend.write(wanted)
        except StateError as exc:
            saved_to = self._backend.save_errored(wanted)
            advice = recovery_advice(wanted, self._backend, saved_to)
            done.set_exception(StateWriteFailed(exc, saved_to, wanted, advice))
            return
        self.outcome.state = written
        done.set_result(None)


def _read_outcome(write: asyncio.Future[None]) -> None:
    """Every waiter hears a failed write; this keeps asyncio from calling its error unread."""
    if not write.cancelled():
        write.exception()
