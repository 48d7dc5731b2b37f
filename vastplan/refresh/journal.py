"""Settling the journal: entries a create wrote before it knew its object's id.

After a crash or a lost answer, the object either exists (it carries the entry's ownership marker:
adopt it, never rent again) or it does not (drop the entry, the plan creates it). Either way a
pending entry never blocks a later run.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from vastplan.api.client import VastClient
from vastplan.errors import StateError
from vastplan.kinds.base import LiveObjects, ResourceKind
from vastplan.plan.model import Drift
from vastplan.refresh.live import LiveSnapshot
from vastplan.state.model import ResourceState, State, StateBackend


async def settle_pending(client: VastClient, kinds: Mapping[str, ResourceKind], state: State,
                         live: LiveSnapshot) -> tuple[State, LiveSnapshot, list[Drift]]:
    by_kind: dict[str, dict[str, ResourceState]] = {}
    for address, entry in state.resources.items():
        if entry.pending:
            by_kind.setdefault(entry.kind, {})[address] = entry
    if not by_kind:
        return state, live, []
    objects: dict[str, LiveObjects] = {k: dict(v) for k, v in live.objects.items()}
    notes: list[Drift] = []
    before = client.total_requests
    for kind_name, pending in sorted(by_kind.items()):
        kind = kinds[kind_name]
        found = await kind.find_pending(client, pending, objects.get(kind_name, {}))
        for address, entry in sorted(pending.items()):
            if address in found:
                object_id, attributes = found[address]
                # Only what the account reports: what the create would have done next (attach keys,
                # wait for readiness) is unknown, so the diff decides it afresh.
                state = state.with_resource(address, replace(entry, id=object_id, attributes=attributes,
                                                             pending=False))
                objects.setdefault(kind_name, {})[object_id] = attributes
                notes.append(Drift(address, f"{kind.noun} {object_id} was created by an interrupted apply "
                                            "and has been adopted (no second one is rented)"))
            else:
                state = state.with_resource(address, None)
                notes.append(Drift(address, "an interrupted create left nothing behind; it will be created"))
    settled = LiveSnapshot(objects, live.requests + client.total_requests - before, live.seconds)
    return state, settled, notes


def recovery_advice(wanted: State, backend: StateBackend, saved_to: str) -> str:
    """What to do after a failed state write, matching what the next command will do with the state
    file as it is on disk. Usually nothing: an object created since the last good write is still
    journaled there (pending) and the next command adopts it by its marker; one destroyed or changed
    is read afresh from the account. Copying the errored file back is right only for what the next
    command cannot learn from the account, and only before it runs: afterwards, that copy would put
    back a state older than the one the next command wrote."""
    try:
        on_disk = backend.read()
    except StateError:
        on_disk = None
    if on_disk is None:
        lacking = [a for a, e in sorted(wanted.resources.items()) if e.id is not None]
    else:
        lacking = [a for a, e in sorted(wanted.resources.items()) if not _heals(e, on_disk.resources.get(a))]
    if not lacking:
        adopted = [f"{a} (id {e.id})" for a, e in sorted(wanted.resources.items()) if e.id is not None and on_disk
                   and (d := on_disk.resources.get(a)) is not None and d.pending]
        found = (f"the next plan or apply finds {', '.join(adopted)} by its ownership marker and records it, "
                 "so nothing is rented twice; " if adopted else "")
        return (f"The state file needs no repair: once it can be written again, {found}the next command reads "
                f"everything else from the account. Do not copy {saved_to} over it.")
    # A shared backend says how to put the file back (``state push``); the local one is a copy.
    restore = getattr(backend, "restore_command", lambda path: f"cp {path} {backend.describe()}")(saved_to)
    return (f"{backend.describe()} lacks what the account cannot tell the next command: {', '.join(lacking)}. "
            f"Once it can be written again, and before any other vastplan command, recover with: {restore}")


def _heals(wanted: ResourceState, on_disk: ResourceState | None) -> bool:
    """Whether the next command arrives at ``wanted`` by itself from ``on_disk`` and the account."""
    if on_disk is None:
        return wanted.id is None and not wanted.expired  # journaled, but the create never started
    if wanted.expired != on_disk.expired or wanted.tainted != on_disk.tainted or wanted.kind != on_disk.kind:
        return False  # an expiry tombstone or a taint exists nowhere but in state
    if on_disk.pending:
        return True  # adopted by its marker if it exists, dropped if not
    return wanted.id is None or wanted.id == on_disk.id
