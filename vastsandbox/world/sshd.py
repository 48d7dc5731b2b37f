"""Fake SSH endpoints: real loopback listeners that greet like OpenSSH and then hang up.

Enough for a readiness probe that connects and reads the identification line; there is no
key exchange behind it.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket

BANNER = b"SSH-2.0-OpenSSH_9.6 vastsandbox\r\n"
HOLD_SECONDS = 2.0


def free_port(host: str = "127.0.0.1") -> int:
    """A port the OS says is free now (the listener binds it later, retrying on a clash)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


async def _greet(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        writer.write(BANNER)
        await writer.drain()
        # Wait for the client's own identification (or its hang-up), then close.
        with contextlib.suppress(asyncio.TimeoutError, ConnectionError):
            await asyncio.wait_for(reader.readline(), HOLD_SECONDS)
    except (ConnectionError, OSError):
        pass
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()


class SshListeners:
    """One listener per running instance, keyed by instance id."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self._servers: dict[int, asyncio.AbstractServer] = {}

    def is_open(self, instance_id: int) -> bool:
        return instance_id in self._servers

    async def open(self, instance_id: int, port: int) -> int:
        """Listen for ``instance_id`` on ``port`` (or any free port if it is taken); return the port."""
        if instance_id in self._servers:
            self.close(instance_id)
        try:
            server = await asyncio.start_server(_greet, self.host, port)
        except OSError:
            server = await asyncio.start_server(_greet, self.host, 0)
        self._servers[instance_id] = server
        return int(server.sockets[0].getsockname()[1])

    def close(self, instance_id: int) -> None:
        server = self._servers.pop(instance_id, None)
        if server is not None:
            server.close()

    async def close_all(self) -> None:
        servers = list(self._servers.values())
        self._servers.clear()
        for server in servers:
            server.close()
        for server in servers:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), 0.5)

    def __len__(self) -> int:
        return len(self._servers)
