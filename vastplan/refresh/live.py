"""Refresh: read the live account with one list request per kind, all kinds concurrently."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from vastplan.api.client import VastClient
from vastplan.kinds.base import LiveObjects, ResourceKind
from vastplan.state.model import State


@dataclass(frozen=True)
class LiveSnapshot:
    """What the account holds, by kind then id. A listing that failed raised instead: fail closed."""

    objects: Mapping[str, LiveObjects] = field(default_factory=dict)
    requests: int = 0
    seconds: float = 0.0

    def get(self, kind: str, resource_id: Any) -> dict[str, Any] | None:
        return self.objects.get(kind, {}).get(resource_id)


async def refresh(
    client: VastClient, kinds: Mapping[str, ResourceKind], state: State, wanted: Iterable[str]
) -> LiveSnapshot:
    """List every kind the state or the stack (``wanted``) involves."""
    involved = sorted(set(wanted) | {r.kind for r in state.resources.values()})
    started, before = time.monotonic(), client.total_requests

    async def one(kind: str) -> tuple[str, LiveObjects]:
        # A journaled create has no id yet; journal.settle_pending looks for it by its marker.
        known = {addr: r for addr, r in state.resources.items()
                 if r.kind == kind and not r.pending and r.id is not None}
        return kind, await kinds[kind].list_live(client, known)

    listed = await asyncio.gather(*(one(k) for k in involved if k in kinds))
    return LiveSnapshot(dict(listed), client.total_requests - before, time.monotonic() - started)
