"""Background work of a running sandbox: moving time-driven state forward."""

from __future__ import annotations

from vastplan.sandbox.context import Sandbox


class Runtime:
    """Starts and stops the sandbox's background tasks; advances state before each request."""

    def __init__(self, sb: Sandbox) -> None:
        self.sb = sb

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def before_request(self, sb: Sandbox) -> None:
        return None
