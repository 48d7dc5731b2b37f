"""One Session per command: what the command was asked (Options), where it shows things (the view),
and the resources that must exist exactly once: the state backend, its lock, and the API client.

Every use case takes the Session and gets these from it; none builds its own. (A second backend in
one command would keep its own ``.backup`` and its own idea of the serial: that is how ``.backup``
once ended up holding the state *after* an apply.)
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vastplan.commands.options import Options
from vastplan.errors import StateError
from vastplan.render.base import View
from vastplan.state.model import State, StateBackend

if TYPE_CHECKING:
    from vastplan.api.client import VastClient
    from vastplan.stack.model import Stack


class Session:
    """Built by the CLI once its flags are parsed; lives as long as the command."""

    def __init__(self, opts: Options, view: View, backend: StateBackend | None = None):
        self.opts = opts
        self.view = view
        self._backend = backend
        self._client: VastClient | None = None
        self._lock_held = False

    @property
    def backend(self) -> StateBackend:
        """The state backend, built on first use (a saved plan may name the state file first)."""
        if self._backend is None:
            from vastplan.state.backends import open_backend

            self._backend = open_backend(self.opts)
        return self._backend

    def retarget(self, **changes: Any) -> None:
        """Change what the command works on (``apply PLANFILE`` takes the stack and state files from
        the plan); only before the backend or the client exist."""
        if self._backend is not None or self._client is not None:
            raise RuntimeError("a Session cannot change its options once its backend or client exist")
        self.opts = replace(self.opts, **changes)

    # --- the state ----------------------------------------------------------------------------------
    @contextlib.contextmanager
    def locked(self, operation: str) -> Iterator[None]:
        """Hold the state's lock for the rest of the block; a command takes it once."""
        if self._lock_held:
            raise RuntimeError("the state lock is already held by this command")
        if not self.opts.lock:  # --no-lock: the backend's compare-and-swap on serial still refuses a lost update
            self._lock_held = True
            try:
                yield
            finally:
                self._lock_held = False
            return
        with self.backend.lock(operation, self.opts.lock_timeout):
            self._lock_held = True
            try:
                yield
            finally:
                self._lock_held = False

    def read_state(self, stack: Stack) -> State:
        """The state of ``stack`` (a new one when there is none), refused if it belongs to another stack."""
        state = self.backend.read()
        if state is None:
            return State.new(stack.name)
        if state.stack and state.stack != stack.name:
            raise StateError(f"{self.backend.describe()} belongs to stack {state.stack!r}, not {stack.name!r}; "
                             "pass --state to use another state file")
        return state

    # --- the API ------------------------------------------------------------------------------------
    @contextlib.asynccontextmanager
    async def client(self) -> AsyncIterator[VastClient]:
        """The API client, for the real API or the built-in sandbox started for this command only.
        Entering it again while it is open gives the same client."""
        if self._client is not None:
            yield self._client
            return
        from vastplan.api.client import VastClient
        from vastplan.api.credentials import KeySources, find_api_key

        opts = self.opts
        key = find_api_key(KeySources(opts.api_key_file, sandbox=opts.sandbox_dir is not None), self.view.warning)
        with contextlib.ExitStack() as stack:
            url = opts.api_url
            if opts.sandbox_dir is not None:
                from vastsandbox.server import start_in_thread

                url = stack.enter_context(start_in_thread(Path(opts.sandbox_dir))).url
            # --parallelism bounds operations (the walk); reads such as refresh pages may go wider.
            async with VastClient(url, key, concurrency=max(32, opts.parallelism),
                                  progress=self.view.warning) as client:
                self._client = client
                try:
                    yield client
                finally:
                    self._client = None
