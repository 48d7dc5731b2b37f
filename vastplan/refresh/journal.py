"""Settling the journal: entries a create wrote before it knew its object's id.

After a crash or a lost answer, the object either exists (it carries the entry's ownership marker:
adopt it, never rent again) or it does not (drop the entry, the plan creates it). Either way a
pending entry never blocks a later run.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from vastplan.api.client import VastClient
from vastplan.kinds.base import LiveObjects, ResourceKind
from vastplan.plan.model import Drift
from vastplan.refresh.live import LiveSnapshot
from vastplan.state.model import ResourceState, State


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
