"""`vastplan orphans [--destroy]`: list the objects that carry this stack's marker but are not in
state, and remove them after confirmation, checking afterwards that they are gone."""

from __future__ import annotations

import asyncio
from typing import Any

from vastplan.commands.session import Session
from vastplan.commands.steps import confirm
from vastplan.errors import ApplyError
from vastplan.kinds import KINDS
from vastplan.kinds.base import ApplyContext, Planning
from vastplan.refresh.orphans import Orphan, describe_age, find_orphans
from vastplan.stack.model import Stack
from vastplan.state.model import ResourceState


def orphans(session: Session, destroy: bool) -> int:
    from vastplan.commands.pipeline import load

    stack = load(session.opts)
    return asyncio.run(_orphans(session, stack, destroy))


async def _orphans(session: Session, stack: Stack, destroy: bool) -> int:
    stack_name, view = stack.name, session.view
    state = session.read_state(stack)
    async with session.client() as client:
        found = await find_orphans(client, KINDS, stack.owner, state, {})
        if not found:
            view.line(f"No orphans: every object marked with stack {stack_name!r} is in the state.")
            return 0
        total = sum(o.dph for o in found)
        view.result([{"kind": o.kind, "id": o.id, "label": o.label, "dph": o.dph, "age_seconds": o.age_seconds}
                     for o in found],
                    "\n".join([f"Orphans of stack {stack_name!r} ({len(found)}, ${total:.3f}/hr):"]
                              + [f'  {o.kind} {o.id} "{o.label}"  {describe_age(o.age_seconds)}  ${o.dph:.3f}/hr'
                                 for o in found]))
        if not destroy:
            view.line("Remove them with: vastplan orphans --destroy")
            return 0
        confirm(session, "orphans --destroy")
        ctx = ApplyContext("orphans", Planning(stack, state, {}), lambda: state, _nothing_to_record,
                           lambda m: None, {})
        for orphan in found:
            await KINDS[orphan.kind].delete(client, _entry(orphan), ctx)
            view.line(f"{orphan.kind} {orphan.id}: destroyed")
        left = {(o.kind, o.id) for o in await find_orphans(client, KINDS, stack.owner, state, {})}
    still = [o for o in found if (o.kind, o.id) in left]
    if still:
        raise ApplyError(f"{len(still)} orphan(s) are still there after destroy: "
                         + ", ".join(f"{o.kind} {o.id}" for o in still))
    view.line(f"Removed {len(found)} orphan(s); verified gone. Saved ${total:.3f}/hr.")
    return 0


def _entry(orphan: Orphan) -> ResourceState:
    return ResourceState(orphan.kind, orphan.id, {"label": orphan.label})


async def _nothing_to_record(*_: Any) -> None:
    """Deleting an orphan records nothing: the state never knew it."""
