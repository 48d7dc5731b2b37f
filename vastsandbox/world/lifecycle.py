"""How instances move between statuses over time, and what they cost while they do.

A change that takes time is a pending transition ``{"to": status, "at": epoch}`` on the record,
indexed in a heap so only due instances are touched. Transitions are applied before every
request and by a background ticker (which also opens SSH listeners as instances reach
``running``). Bills accrue per second up to each status change: GPU time while ``running``,
storage always.
"""

from __future__ import annotations

import heapq
from typing import TYPE_CHECKING

from vastsandbox.world import JSON
from vastsandbox.world.instance_logs import remember
from vastsandbox.world.sshd import SshListeners

if TYPE_CHECKING:
    from vastsandbox.world.context import Sandbox

Record = dict[str, JSON]
CREATE_PHASE = 0.2   # share of boot_seconds spent in "created" before "loading"
STOP_PHASE = 0.2     # share of boot_seconds a stop takes


def accrue(record: Record, until: float) -> None:
    """Add the cost from the last accrual to ``until`` at the rates of the current status."""
    since = float(record.get("billed_at") or until)
    if until <= since:
        return
    hours = (until - since) / 3600.0
    if record.get("actual_status") == "running":
        record["cost_gpu"] = float(record.get("cost_gpu", 0.0)) + hours * float(record.get("dph_base", 0.0))
    record["cost_storage"] = float(record.get("cost_storage", 0.0)) + hours * float(
        record.get("storage_hour", 0.0))
    record["billed_at"] = until


class Lifecycle:
    """Pending transitions of every instance, and the SSH listeners of running ones."""

    def __init__(self, listeners: SshListeners | None) -> None:
        self.listeners = listeners
        self._heap: list[tuple[float, int]] = []

    # ---- scheduling ----------------------------------------------------------------------
    def schedule(self, record: Record, to: str, at: float) -> None:
        record["transition"] = {"to": to, "at": at}
        heapq.heappush(self._heap, (at, int(record["id"])))

    def rebuild(self, records: list[Record]) -> None:
        self._heap = [(float(r["transition"]["at"]), int(r["id"])) for r in records if r.get("transition")]
        heapq.heapify(self._heap)

    def set_status(self, record: Record, status: str, at: float, msg: str | None = None) -> None:
        accrue(record, at)
        if status == "running" and record.get("actual_status") != "running":
            record["running_since"] = at
        record["actual_status"] = status
        record["status_changed_at"] = at
        record["status_msg"] = msg if msg is not None else _status_msg(status)
        remember(record, status, at)
        if status != "running" and self.listeners is not None:
            self.listeners.close(int(record["id"]))

    # ---- what callers ask for --------------------------------------------------------------
    def boot(self, record: Record, now: float, boot_seconds: float) -> None:
        """A new instance: created now, loading shortly, then running (or stopped if asked)."""
        record["actual_status"] = "created"
        record["status_changed_at"] = now
        remember(record, "created", now)
        record["status_msg"] = _status_msg("created")
        record["billed_at"] = now
        target = "stopped" if record.get("intended_status") == "stopped" else "loading"
        self.schedule(record, target, now + boot_seconds * CREATE_PHASE)

    def start(self, record: Record, now: float, boot_seconds: float) -> None:
        self._intend(record, "running")
        pending = record.get("transition") or {}
        if pending.get("to") == "stopped":
            self.schedule(record, "loading", now)  # a stop still under way is called off
            return
        if record.get("actual_status") in ("running", "loading", "created"):
            return
        self.set_status(record, "loading", now)
        self.schedule(record, "running", now + boot_seconds * (1 - CREATE_PHASE))

    def stop(self, record: Record, now: float, boot_seconds: float) -> None:
        self._intend(record, "stopped")
        if record.get("actual_status") == "stopped":
            return
        self.schedule(record, "stopped", now + boot_seconds * STOP_PHASE)

    def restart(self, record: Record, now: float, boot_seconds: float, via: str) -> None:
        """Reboot (``via`` "rebooting"), recycle ("recycling") or re-template ("loading")."""
        self._intend(record, "running")
        self.set_status(record, via, now)
        self.schedule(record, "loading", now + boot_seconds * CREATE_PHASE)

    def force(self, record: Record, status: str, now: float, msg: str | None = None) -> None:
        """Put an instance in a status at once (admin faults such as ``exited`` or ``offline``)."""
        record["transition"] = None
        self.set_status(record, status, now, msg)

    @staticmethod
    def _intend(record: Record, state: str) -> None:
        record["intended_status"] = state
        record["cur_state"] = state
        record["next_state"] = state

    # ---- moving time forward --------------------------------------------------------------
    async def advance(self, sb: Sandbox, now: float) -> bool:
        """Apply every transition due by ``now``; True if anything changed."""
        table = sb.world.tables["instances"]
        changed = False
        while self._heap and self._heap[0][0] <= now:
            at, instance_id = heapq.heappop(self._heap)
            record = table.get(instance_id)
            pending = record.get("transition") if record is not None else None
            if record is None or not pending or float(pending["at"]) != at:
                continue  # destroyed, or superseded by a later request
            record["transition"] = None
            await self._apply(sb, record, str(pending["to"]), at)
            changed = True
        return changed

    async def _apply(self, sb: Sandbox, record: Record, to: str, at: float) -> None:
        if to == "loading":
            self.set_status(record, "loading", at)
            self.schedule(record, "running", at + sb.control.boot_seconds * (1 - CREATE_PHASE))
        elif to == "running":
            if record.get("stuck"):
                return  # an admin fault: this one never finishes loading
            if record.get("fate") in ("exited", "offline"):
                self.set_status(record, str(record.pop("fate")), at)  # an admin fault: it dies while booting
                return
            await self.open_listener(record)
            self.set_status(record, "running", at)
        else:
            self.set_status(record, to, at)

    async def open_listener(self, record: Record) -> None:
        if self.listeners is not None:
            record["ssh_port"] = await self.listeners.open(int(record["id"]), int(record["ssh_port"]))

    def forget(self, record: Record) -> None:
        """The instance is gone: drop its listener (its heap entries are skipped when due)."""
        record["transition"] = None
        if self.listeners is not None:
            self.listeners.close(int(record["id"]))


def _status_msg(status: str) -> str:
    return {
        "created": "Instance created, waiting for the machine.",
        "loading": "Pulling image and starting the container.",
        "running": "success, running vastsandbox/instance",
        "stopped": "Instance stopped.",
        "rebooting": "Rebooting the container.",
        "recycling": "Recycling: pulling the image again.",
        "exited": "Error: container exited with code 1.",
        "offline": "Machine is offline.",
    }.get(status, status)
