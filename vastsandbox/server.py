"""Running the sandbox: in a background thread (tests, ``--sandbox``) or in the foreground
(``vastplan sandbox serve``). Either way it listens on loopback and writes its world on stop."""

from __future__ import annotations

import asyncio
import signal
import threading
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from aiohttp import web

from vastsandbox.http.app import make_app
from vastsandbox.world.context import Options, Sandbox
from vastsandbox.world.runtime import Runtime
from vastsandbox.world.store import Store

SAVE_DELAY = 0.05  # seconds: coalesce the writes of a burst of mutations into one


class _Service:
    """The server and its background work, living on one event loop."""

    def __init__(self, data_dir: Path | None, options: Options) -> None:
        self.sb = Sandbox.create(options, Store(data_dir, options.seed))
        self.runtime = Runtime(self.sb)
        self.runner: web.AppRunner | None = None
        self.url = ""
        self._save_handle: asyncio.TimerHandle | None = None

    async def start(self, host: str, port: int) -> str:
        loop = asyncio.get_running_loop()

        def schedule_save() -> None:
            if self._save_handle is None:
                self._save_handle = loop.call_later(SAVE_DELAY, self._save)

        self.sb.on_change = schedule_save
        await self.runtime.start()
        app = make_app(self.sb, self.runtime.before_request)
        self.runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self.runner.setup()
        site = web.TCPSite(self.runner, host, port, reuse_address=True)
        await site.start()
        addresses = self.runner.addresses
        bound = int(addresses[0][1]) if addresses else port
        shown_host = f"[{host}]" if ":" in host else host
        self.url = f"http://{shown_host}:{bound}"
        return self.url

    def _save(self) -> None:
        self._save_handle = None
        self.sb.store.save()

    async def stop(self) -> None:
        if self._save_handle is not None:
            self._save_handle.cancel()
            self._save_handle = None
        await self.runtime.stop()
        if self.runner is not None:
            await self.runner.cleanup()
        self.sb.store.save()


class RunningSandbox:
    """A sandbox serving from a background thread; ``stop()`` (or leaving ``with``) shuts it down."""

    def __init__(self, url: str, loop: asyncio.AbstractEventLoop, thread: threading.Thread,
                 service: _Service) -> None:
        self.url = url
        self.admin_url = f"{url}/_sandbox"
        self._loop = loop
        self._thread = thread
        self._service = service
        self._stopped = False

    @property
    def sandbox(self) -> Sandbox:
        """The live state (touch only from tests that know it belongs to another thread)."""
        return self._service.sb

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        future = asyncio.run_coroutine_threadsafe(self._service.stop(), self._loop)
        try:
            future.result(timeout=30)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=30)

    def __enter__(self) -> RunningSandbox:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


def start_in_thread(data_dir: Path | None, *, api_key: str | None = None, seed: int = 0,
                    boot_seconds: float = 3.0, latency_ms: float = 0.0, host: str = "127.0.0.1",
                    port: int = 0, machines: int = 60, ssh_listeners: bool = True,
                    strict: bool = False) -> RunningSandbox:
    """Start a sandbox on its own thread and event loop; return once it is listening. With
    ``strict``, a request that does not conform to Vast.ai's published spec gets a 400."""
    options = Options(api_key=api_key, seed=seed, boot_seconds=boot_seconds, latency_ms=latency_ms,
                      machines=machines, ssh_listeners=ssh_listeners, strict=strict)
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    outcome: dict[str, object] = {}

    def run() -> None:
        asyncio.set_event_loop(loop)
        try:
            service = _Service(data_dir, options)
            outcome["url"] = loop.run_until_complete(service.start(host, port))
            outcome["service"] = service
        except BaseException as exc:  # reported to the caller's thread below
            outcome["error"] = exc
            ready.set()
            loop.close()
            return
        ready.set()
        try:
            loop.run_forever()
        finally:
            loop.close()

    thread = threading.Thread(target=run, name="vastplan-sandbox", daemon=True)
    thread.start()
    ready.wait()
    error = outcome.get("error")
    if isinstance(error, BaseException):
        thread.join()
        raise error
    service = outcome["service"]
    assert isinstance(service, _Service)
    return RunningSandbox(str(outcome["url"]), loop, thread, service)


def serve(host: str, port: int, data_dir: Path | None, api_key: str | None, seed: int,
          boot_seconds: float, latency_ms: float, machines: int, echo: Callable[[str], None],
          strict: bool = False) -> None:
    """Serve in the foreground until SIGINT or SIGTERM; ``echo(url)`` is the first output line."""
    options = Options(api_key=api_key, seed=seed, boot_seconds=boot_seconds, latency_ms=latency_ms,
                      machines=machines, strict=strict)

    async def main() -> None:
        service = _Service(data_dir, options)
        url = await service.start(host, port)
        echo(url)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            await stop.wait()
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)
            await service.stop()

    asyncio.run(main())
