"""Readiness: an instance is ready when it runs, has its port map, and its SSH endpoint greets.

One poller per apply lists every instance being waited on in one listing (never one GET per
instance). Each waiter has its own schedule, counted from the moment it starts waiting (a first look
after ``FIRST_INTERVAL``, then each gap 1.5 times the last, up to ``MAX_INTERVAL``). A listing is
sent when some waiter's look is due, and it is the look of every waiter due by then; the others see
it early, as a bonus that leaves their own look where it was. (Counting an early look as a waiter's
own made its next look up to two gaps away, so the last instance of a large apply often came in a
whole gap after it was ready.) Listings are at least ``SPACING`` of the shortest waiter's gap apart
(and ``MIN_GAP``): a look is at most that late, and waiters that have waited 15 s cost at most four
listings per ``MAX_INTERVAL`` (the official CLI's users poll ``show instances`` every second). Each
waiter has its own deadline and fails fast on a status that never reaches ``running``.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from vastplan.api import instances as api
from vastplan.api.client import VastClient
from vastplan.errors import NotReady, VastplanError

if TYPE_CHECKING:  # imported where used: validate and --help import this module and run no event loop
    import asyncio

DEAD_STATUSES = frozenset({"exited", "offline", "unknown"})
FIRST_INTERVAL, MAX_INTERVAL = 0.25, 5.0
GROWTH = 1.5
SPACING = 0.25  # listings are at least this share of the shortest waiter's gap apart
MIN_GAP = 0.2  # seconds between two listings at least, however many waiters are due


@dataclass(frozen=True)
class ReadinessPolicy:
    timeout: float = 600.0
    ssh_probe: bool = True


def ssh_endpoint(row: dict[str, Any]) -> tuple[str, int] | None:
    host, port = row.get("ssh_host"), row.get("ssh_port")
    return (str(host), int(port)) if host and port else None


def verdict(row: dict[str, Any] | None) -> str | None:
    """``"ready"``, a reason it never will be, or None to keep waiting."""
    if row is None:
        return None
    status = row.get("actual_status")
    message = str(row.get("status_msg") or "")
    if status in DEAD_STATUSES:
        return f'it is "{status}"' + (f" (status_msg: {message!r})" if message else "")
    if "error" in message.lower():
        return f"status_msg reports an error: {message!r}"
    if status == "running" and row.get("ports") and ssh_endpoint(row):
        return "ready"
    return None


class ReadinessPoller:
    def __init__(self, client: VastClient):
        import asyncio

        self._client = client
        self._waiting: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._on_status: dict[int, Callable[[str], None]] = {}
        self.last_seen: dict[int, dict[str, Any]] = {}
        self._task: asyncio.Task[None] | None = None
        self._looks: dict[int, tuple[float, float]] = {}  # id -> (when its next look is due, its gap)
        self._wake = asyncio.Event()

    async def wait(self, instance_id: int, policy: ReadinessPolicy,
                   on_status: Callable[[str], None] = lambda _: None) -> dict[str, Any]:
        """The instance's row once ready; raises NotReady at the deadline or on a dead status."""
        import asyncio

        deadline = time.monotonic() + policy.timeout
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[instance_id] = future
        self._on_status[instance_id] = on_status
        self._schedule(instance_id)
        if self._task is None or self._task.done():
            self._task = asyncio.ensure_future(self._poll())
        try:
            row = await asyncio.wait_for(future, max(0.0, deadline - time.monotonic()))
        except asyncio.TimeoutError:
            raise NotReady(self._timeout_message(instance_id, policy.timeout)) from None
        finally:
            self._waiting.pop(instance_id, None)
        if policy.ssh_probe:
            await self._probe_until(row, deadline, instance_id, policy.timeout)
        return row

    def _timeout_message(self, instance_id: int, timeout: float) -> str:
        row = self.last_seen.get(instance_id) or {}
        status = row.get("actual_status") or "not yet listed"
        message = f' (status_msg: "{row["status_msg"]}")' if row.get("status_msg") else ""
        return f'still "{status}" at the readiness deadline of {timeout:.0f}s{message}'

    def _schedule(self, instance_id: int) -> None:
        """Its own schedule starts now: the first look ``FIRST_INTERVAL`` from the moment it waits."""
        self._looks[instance_id] = (time.monotonic() + FIRST_INTERVAL, FIRST_INTERVAL)
        self._wake.set()  # the poller may be asleep until a later look

    async def _poll(self) -> None:
        import asyncio

        last_sent = -float("inf")
        while self._waiting:
            now = time.monotonic()
            looks = [self._looks[i] for i in self._waiting if i in self._looks]
            due = min((look for look, _ in looks), default=now)
            shortest = min((gap for _, gap in looks), default=FIRST_INTERVAL)
            due = max(due, last_sent + max(MIN_GAP, SPACING * shortest))
            if due > now:
                self._wake.clear()
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), due - now)
                continue
            last_sent = now
            ids = list(self._waiting)
            self._advance(ids, now)
            try:
                rows = {row["id"]: row for row in await api.instances_by_id(self._client, ids)}
            except VastplanError as exc:
                for instance_id in ids:
                    self._settle(instance_id, error=exc)
                continue
            for instance_id in ids:
                row = rows.get(instance_id)
                if row is not None:
                    self._report(instance_id, row)
                    self.last_seen[instance_id] = row
                outcome = verdict(row)
                if outcome == "ready":
                    self._settle(instance_id, row=row)
                elif outcome is not None:
                    self._settle(instance_id, error=NotReady(f"it will never become ready: {outcome}"))

    def _advance(self, ids: list[int], now: float) -> None:
        """The listing sent at ``now`` is the look of every waiter due by then: each of those moves on
        to its next look, one growing gap later on its own schedule."""
        for instance_id in ids:
            due, gap = self._looks.get(instance_id, (now, FIRST_INTERVAL))
            if due > now:
                continue  # its own look comes later; this listing was a bonus
            gap = min(MAX_INTERVAL, gap * GROWTH)
            self._looks[instance_id] = (due + gap, gap)  # from when it was due: a late look delays no other
        for gone in [i for i in self._looks if i not in self._waiting]:
            del self._looks[gone]

    def _report(self, instance_id: int, row: dict[str, Any]) -> None:
        """Tell the waiter when the status (or its message) changes, not on every poll."""
        before = self.last_seen.get(instance_id) or {}
        status, message = row.get("actual_status"), row.get("status_msg")
        if (status, message) != (before.get("actual_status"), before.get("status_msg")):
            callback = self._on_status.get(instance_id)
            if callback is not None:
                callback(f"status {status or 'provisioning'}" + (f": {message}" if message else ""))

    def _settle(self, instance_id: int, *, row: dict[str, Any] | None = None,
                error: BaseException | None = None) -> None:
        future = self._waiting.pop(instance_id, None)
        if future is None or future.done():
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(row or {})

    async def _probe_until(self, row: dict[str, Any], deadline: float, instance_id: int, timeout: float) -> None:
        import asyncio

        endpoint = ssh_endpoint(row)
        assert endpoint is not None
        while True:
            if await ssh_greets(*endpoint):
                return
            if time.monotonic() >= deadline:
                raise NotReady(f"running, but SSH at {endpoint[0]}:{endpoint[1]} did not answer within "
                               f"the readiness deadline of {timeout:.0f}s")
            await asyncio.sleep(min(1.0, max(0.0, deadline - time.monotonic())))


async def ssh_greets(host: str, port: int, timeout: float = 3.0) -> bool:
    """A real TCP connect that reads the server's ``SSH-2.0-...`` banner."""
    import asyncio

    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    except (OSError, asyncio.TimeoutError):
        return False
    try:
        banner = await asyncio.wait_for(reader.readline(), timeout)
        return banner.startswith(b"SSH-")
    except (OSError, asyncio.TimeoutError):
        return False
    finally:
        writer.close()
