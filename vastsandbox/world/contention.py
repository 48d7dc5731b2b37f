"""Other renters: the market competing for an instance's GPUs (docs/sandbox.md, "Other renters").

- A stopped instance may lose its GPUs to someone else (admin ``lose_gpus``). Starting it then
  waits, still ``stopped`` with the "scheduling" message the official CLI describes, until its
  machine has that many GPUs free again; then it boots as any start does.
- With a competing bid level set (admin settings ``competing_bid_factor``, off by default), every
  machine has a bid of ``factor x min_bid`` on it. A bid instance below that is outbid: it stops
  (storage keeps billing) until its bid is raised above; ``change bid`` without a price bids the
  winning price, as the CLI's help says.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from vastsandbox.world import JSON

if TYPE_CHECKING:
    from vastsandbox.world.context import Sandbox

Record = dict[str, JSON]
TAKEN = "taken"  # world.extra: machine id -> GPU slots another renter holds (see admin_market)
WAITERS = "gpu_waiters"  # world.extra: machine id -> ids of instances whose start waits for GPUs there
SCHEDULING_MSG = ("scheduling: the required resources on the machine to run your instance are currently "
                  "unavailable")
OUTBID_MSG = "outbid: a higher bid is running on this machine's GPUs; raise your bid to resume"


# ---- GPUs lost while stopped -----------------------------------------------------------------------
def lose_gpus(sb: Sandbox, record: Record) -> int:
    """Hand a stopped instance's GPUs to another renter; how many it lost."""
    slots = [int(s) for s in record.get("gpu_slots") or []]
    machine_id = int(record["machine_id"])
    sb.market.release(machine_id, slots)
    sb.market.hold(machine_id, slots, TAKEN)
    taken = sb.world.extra.setdefault(TAKEN, {})
    taken[str(machine_id)] = sorted(set(taken.get(str(machine_id), [])) | set(slots))
    record["gpu_slots"] = []
    return len(slots)


def start(sb: Sandbox, record: Record, now: float) -> None:
    """``state: running``: boot, or wait for GPUs if another renter holds them."""
    if record.get("outbid"):
        _intend_running(record)
        return
    if len(record.get("gpu_slots") or []) < int(record["num_gpus"]):
        machine = sb.market.by_id[int(record["machine_id"])]
        if len(sb.market.free_slots(machine)) < int(record["num_gpus"]):
            _intend_running(record)
            record["waiting_gpus"] = True
            record["status_msg"] = SCHEDULING_MSG
            waiting = sb.world.extra.setdefault(WAITERS, {}).setdefault(str(machine.machine_id), [])
            if int(record["id"]) not in waiting:
                waiting.append(int(record["id"]))
            return
        record["gpu_slots"] = sb.market.take(machine, int(record["num_gpus"]), f"instance:{record['id']}")
    record["waiting_gpus"] = False
    sb.lifecycle.start(record, now, sb.control.boot_seconds)


def resume_waiting(sb: Sandbox, machine_id: int, now: float) -> None:
    """GPUs came free on a machine: start the instances that were waiting for them, oldest first
    (those still short of GPUs stay in the list)."""
    waiters = sb.world.extra.get(WAITERS, {})
    ids = waiters.pop(str(machine_id), [])
    for instance_id in sorted(ids):
        record = sb.world.tables["instances"].get(instance_id)
        if record is not None and record.get("waiting_gpus"):
            start(sb, record, now)


def _intend_running(record: Record) -> None:
    record["transition"] = None
    for key in ("intended_status", "cur_state", "next_state"):
        record[key] = "running"


# ---- bids ----------------------------------------------------------------------------------------------
def competing_bid(sb: Sandbox, record: Record) -> float | None:
    """The market's bid on this instance's GPUs, or None while no one competes."""
    factor = sb.control.competing_bid_factor
    if factor is None:
        return None
    machine = sb.market.by_id[int(record["machine_id"])]
    prices = sb.market.prices(machine, int(record["num_gpus"]), float(record["disk_space"]))
    return round(prices["min_bid"] * factor, 4)


def winning_bid(sb: Sandbox, record: Record, min_bid: float) -> float:
    """What ``change bid`` without a price bids: just above the competition, at least the floor."""
    rival = competing_bid(sb, record)
    return min_bid if rival is None else max(min_bid, math.ceil((rival + 0.0005) * 1000) / 1000)


def check_bid(sb: Sandbox, record: Record, now: float) -> None:
    """Stop a bid instance the market outbids; resume one whose bid wins again."""
    rival = competing_bid(sb, record)
    losing = bool(record.get("is_bid")) and rival is not None and float(record["bid_price"] or 0) < rival
    if losing and not record.get("outbid"):
        record["outbid"] = True
        sb.lifecycle.force(record, "stopped", now, OUTBID_MSG)
    elif not losing and record.get("outbid"):
        record["outbid"] = False
        if record.get("intended_status") == "running":
            start(sb, record, now)


def check_all_bids(sb: Sandbox, now: float) -> None:
    for record in list(sb.world.all("instances")):
        if record.get("is_bid") or record.get("outbid"):
            check_bid(sb, record, now)
