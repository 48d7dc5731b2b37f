"""`vastplan orphans [--destroy]`: list the objects that carry this stack's marker but are not in
state, and remove them after confirmation, checking afterwards that they are gone."""

from __future__ import annotations

import asyncio

from vastplan.errors import ApplyError
from vastplan.orphans import Orphan, describe_age, find_orphans
from vastplan.render.base import View
from vastplan.resources import KINDS
from vastplan.resources.base import ApplyContext, Planning
from vastplan.stack.model import Stack
from vastplan.state import ResourceState
from vastplan.workflow import Options, confirm, connect, read_state


def orphans(opts: Options, view: View, destroy: bool) -> int:
    from vastplan.app import load

    stack = load(opts)
    return asyncio.run(_orphans(opts, stack, view, destroy))


async def _orphans(opts: Options, stack: Stack, view: View, destroy: bool) -> int:
    stack_name = stack.name
    state = read_state(opts.state_path, stack)
    async with connect(opts, view) as client:
        found = await find_orphans(client, KINDS, stack_name, state, {})
        if not found:
            view.line(f"No orphans: every object marked with stack {stack_name!r} is in the state.")
            return 0
        total = sum(o.dph for o in found)
        view.line(f"Orphans of stack {stack_name!r} ({len(found)}, ${total:.3f}/hr):")
        for o in found:
            view.line(f'  {o.kind} {o.id} "{o.label}"  {describe_age(o.age_seconds)}  ${o.dph:.3f}/hr')
        if not destroy:
            view.line("Remove them with: vastplan orphans --destroy")
            return 0
        confirm(opts, view, "orphans --destroy")
        ctx = ApplyContext("orphans", Planning(stack, state, {}), lambda: state, lambda *a: None,
                           lambda m: None, {})
        for orphan in found:
            await KINDS[orphan.kind].delete(client, _entry(orphan), ctx)
            view.line(f"{orphan.kind} {orphan.id}: destroyed")
        left = {(o.kind, o.id) for o in await find_orphans(client, KINDS, stack_name, state, {})}
    still = [o for o in found if (o.kind, o.id) in left]
    if still:
        raise ApplyError(f"{len(still)} orphan(s) are still there after destroy: "
                         + ", ".join(f"{o.kind} {o.id}" for o in still))
    view.line(f"Removed {len(found)} orphan(s); verified gone. Saved ${total:.3f}/hr.")
    return 0


def _entry(orphan: Orphan) -> ResourceState:
    return ResourceState(orphan.kind, orphan.id, {"label": orphan.label})
