"""Orphans: objects in the account that carry this stack's ownership marker but that the state
does not know (a create whose answer was lost before journaling existed, a state file deleted or
rolled back, an instance made by hand with the stack's label). They bill like any other.

The lost-state guard builds on them: an orphan whose marker names an address the plan would create
is *unclaimed*, the very object the create would rent a second time. ``plan`` shows those in their
own section, ``apply`` refuses (steps.refuse_unclaimed), and ``apply --adopt`` takes them into the
state first (``adopt``). SSH keys carry no marker and need no guard: their create already adopts a
key with the same text that is in the account."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from vastplan.kinds.ownership import marker, parse_marker
from vastplan.plan.model import Action, Drift, Plan
from vastplan.state.model import ResourceState, State

if TYPE_CHECKING:  # the human view imports describe_age; keep aiohttp out of `vastplan --version`
    from vastplan.api.client import VastClient
    from vastplan.kinds.base import LiveObjects, ResourceKind
    from vastplan.stack.model import Stack


@dataclass(frozen=True)
class Orphan:
    kind: str
    id: Any
    label: str
    dph: float
    age_seconds: float | None
    attributes: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)  # as refresh reads it

    @property
    def address(self) -> str | None:
        """The address its marker names."""
        found = parse_marker(self.label)
        return found.address if found else None


async def find_orphans(client: VastClient, kinds: Mapping[str, ResourceKind], owner: str, state: State,
                       listed: Mapping[str, LiveObjects]) -> list[Orphan]:
    """``owner`` is ``Stack.owner``: the stack, with its workspace unless the default."""
    prefix = marker(owner, "")
    known = {(entry.kind, entry.id) for entry in state.resources.values()}
    found: list[Orphan] = []
    import asyncio  # here: the human view imports this module, and `vastplan --help` needs no event loop

    # every kind's search at once: they are independent lookups, and an apply waits for them
    searched = await asyncio.gather(*(kind.list_owned(client, prefix, listed.get(n)) for n, kind in kinds.items()))
    for (name, kind), owned in zip(kinds.items(), searched, strict=True):
        for object_id, live in sorted(owned.items(), key=lambda item: str(item[0])):
            if (name, object_id) in known:
                continue
            start = live.get("start_date")
            age = time.time() - float(start) if isinstance(start, (int, float)) else None
            label = live.get("full_label") or live.get("label") or ""
            found.append(Orphan(name, object_id, str(label), kind.dph(live), age, live))
    return found


def unclaimed(planned: Plan, orphans: list[Orphan]) -> tuple[Orphan, ...]:
    """The orphans whose marker names an address the plan would create: it would rent them again."""
    creates = {c.address for c in planned.changes if c.action is Action.CREATE}
    return tuple(o for o in orphans if o.address in creates)


def adopt(kinds: Mapping[str, ResourceKind], planning_of: Any, stack: Stack, state: State,
          orphans: list[Orphan]) -> tuple[State, list[Orphan], list[Drift]]:
    """``apply --adopt``: record in state, at the address its marker names, each orphan the stack
    declares and the state lacks (the oldest one when several carry one marker); the rest stay
    orphans. ``planning_of(state)`` gives the Planning a kind's ``sensitive_paths`` reads."""
    specs = stack.by_address()
    left: list[Orphan] = []
    notes: list[Drift] = []
    for orphan in sorted(orphans, key=lambda o: (o.age_seconds is None, -(o.age_seconds or 0), str(o.id))):
        spec = specs.get(orphan.address or "")
        entry = state.resources.get(orphan.address or "")
        if spec is None or spec.kind != orphan.kind or (entry is not None and entry.id is not None):
            left.append(orphan)
            continue
        sensitive = kinds[orphan.kind].sensitive_paths(spec, planning_of(state))
        state = state.with_resource(spec.address, ResourceState(
            orphan.kind, orphan.id, dict(orphan.attributes), depends_on=spec.depends_on,
            sensitive_paths=tuple(sorted(sensitive)), protected=spec.lifecycle.prevent_destroy))
        notes.append(Drift(spec.address, f"{kinds[orphan.kind].noun} {orphan.id} carries this stack's marker; "
                                         "adopted into the state (--adopt), nothing is rented for it"))
    return state, left, notes


def describe_age(seconds: float | None) -> str:
    if seconds is None:
        return "age unknown"
    days, rest = divmod(int(max(0.0, seconds)), 86400)
    hours, rest = divmod(rest, 3600)
    return f"{days}d {hours}h" if days else f"{hours}h {rest // 60}m"
