"""Walk a Graph concurrently: each node starts when its predecessors succeeded, at most
``parallelism`` at a time; a failed node's descendants are skipped and blamed on it once."""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from vastplan.apply.dag.graph import Graph

if TYPE_CHECKING:  # imported where used: the kinds import this module, and validate runs no event loop
    import asyncio

_SLOT: contextvars.ContextVar[asyncio.Semaphore | None] = contextvars.ContextVar("walk_slot", default=None)


@contextlib.asynccontextmanager
async def slot_released() -> AsyncIterator[None]:
    """Give the node's parallelism slot back while it only waits (an instance booting), so the
    bound limits work in flight, not waiting; the slot is taken again before the node goes on."""
    slots = _SLOT.get()
    if slots is None:
        yield
        return
    slots.release()
    try:
        yield
    finally:
        await slots.acquire()


@dataclass
class WalkResult:
    succeeded: list[str] = field(default_factory=list)
    failed: dict[str, BaseException] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)  # node -> the failed node it depended on


async def walk(graph: Graph, run: Callable[[str], Awaitable[None]], parallelism: int) -> WalkResult:
    """Run every node once its predecessors succeeded, those ready together in the graph's order."""
    import asyncio

    sorter = graph.sorter()  # raises CycleError before anything runs
    result = WalkResult()
    slots = asyncio.Semaphore(max(1, parallelism))
    running: dict[asyncio.Task[None], str] = {}

    async def guarded(node: str) -> None:
        async with slots:  # waiters take the slots first come, first served: in the order started
            _SLOT.set(slots)
            await run(node)

    def start_ready() -> None:
        for node in graph.ordered(sorter.get_ready()):
            running[asyncio.ensure_future(guarded(node))] = node

    start_ready()
    try:
        while running:
            done, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
            finished = {running.pop(task): task for task in done}
            for node in graph.ordered(finished):
                error = finished[node].exception()
                if error is None:
                    result.succeeded.append(node)
                    sorter.done(node)
                else:  # never marked done, so what depends on it never becomes ready
                    result.failed[node] = error
                    for blocked in graph.descendants(node):
                        result.skipped.setdefault(blocked, node)
            start_ready()
    finally:
        for task in running:
            task.cancel()
        if running:
            await asyncio.gather(*running, return_exceptions=True)
    return result
