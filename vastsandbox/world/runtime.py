"""Background work of a running sandbox: moving instances through their statuses on time."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from vastsandbox.world.context import Sandbox

TICK_SECONDS = 0.05
log = logging.getLogger(__name__)


class Runtime:
    """Reopens SSH listeners of running instances at start, then advances transitions both
    before every request and on a ticker, so listeners open even when nobody asks."""

    def __init__(self, sb: Sandbox) -> None:
        self.sb = sb
        self._ticker: asyncio.Task[None] | None = None

    async def start(self) -> None:
        for record in self.sb.world.all("instances"):
            if record.get("actual_status") == "running":
                await self.sb.lifecycle.open_listener(record)
        await self.before_request(self.sb)
        self._ticker = asyncio.create_task(self._tick(), name="vastplan-sandbox-ticker")

    async def stop(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
            self._ticker = None
        listeners = self.sb.lifecycle.listeners
        if listeners is not None:
            await listeners.close_all()

    async def before_request(self, sb: Sandbox) -> None:
        if await sb.lifecycle.advance(sb, sb.now()):
            sb.changed()

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(TICK_SECONDS)
            try:
                await self.before_request(self.sb)
            except Exception:  # a bad record must not stop time for every other instance
                log.exception("sandbox ticker failed")
