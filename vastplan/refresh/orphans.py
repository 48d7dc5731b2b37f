"""Orphans: objects in the account that carry this stack's ownership marker but that the state
does not know (a create whose answer was lost before journaling existed, a state file deleted or
rolled back, an instance made by hand with the stack's label). They bill like any other."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from vastplan.kinds.ownership import marker
from vastplan.state.model import State

if TYPE_CHECKING:  # the human view imports describe_age; keep aiohttp out of `vastplan --version`
    from vastplan.api.client import VastClient
    from vastplan.kinds.base import LiveObjects, ResourceKind


@dataclass(frozen=True)
class Orphan:
    kind: str
    id: Any
    label: str
    dph: float
    age_seconds: float | None


async def find_orphans(client: VastClient, kinds: Mapping[str, ResourceKind], stack_name: str, state: State,
                       listed: Mapping[str, LiveObjects]) -> list[Orphan]:
    prefix = marker(stack_name, "")
    known = {(entry.kind, entry.id) for entry in state.resources.values()}
    found: list[Orphan] = []
    for name, kind in kinds.items():
        owned = await kind.list_owned(client, prefix, listed.get(name))
        for object_id, live in sorted(owned.items(), key=lambda item: str(item[0])):
            if (name, object_id) in known:
                continue
            start = live.get("start_date")
            age = time.time() - float(start) if isinstance(start, (int, float)) else None
            label = live.get("full_label") or live.get("label") or ""
            found.append(Orphan(name, object_id, str(label), kind.dph(live), age))
    return found


def describe_age(seconds: float | None) -> str:
    if seconds is None:
        return "age unknown"
    days, rest = divmod(int(max(0.0, seconds)), 86400)
    hours, rest = divmod(rest, 3600)
    return f"{days}d {hours}h" if days else f"{hours}h {rest // 60}m"
