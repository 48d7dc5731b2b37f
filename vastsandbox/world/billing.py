"""Billing: what instances and volumes have cost, as charges, invoices and the user's credit.

Each instance or volume is one charge row (live ones grow every second); a destroyed instance's
final row is kept in the world. Credit starts at the signup credit and goes down by every charge.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from vastsandbox.world import JSON, netvolumes
from vastsandbox.world.lifecycle import accrue

if TYPE_CHECKING:
    from vastsandbox.world.context import Caller

Record = dict[str, JSON]
CLOSED = "closed_charges"


def accrue_now(call: Caller, record: Record) -> None:
    accrue(record, call.now)


def _span(record: Record, end: float) -> dict[str, JSON]:
    """Whole epoch seconds covering the contract (the spec's charge ``start``/``end`` are integers)."""
    return {"start": math.floor(float(record["created_at"])), "end": math.ceil(end)}


def _item(span: dict[str, JSON], kind: str, description: str, amount: float) -> Record:
    return {**span, "type": kind, "source": None, "description": description, "amount": amount,
            "metadata": {}, "items": []}


def _instance_row(call: Caller, record: Record, end: float) -> Record:
    """A charge as the CLI parses it: ``source`` ``instance-<id>`` (split into type and id for its
    table), ``amount`` in dollars rounded to 3 decimals, items typed gpu/disk (docs/sandbox.md)."""
    machine = call.sb.market.by_id[int(record["machine_id"])]
    gpu, storage = round(float(record["cost_gpu"]), 6), round(float(record["cost_storage"]), 6)
    span = _span(record, end)
    metadata: Record = {"instance_id": record["id"], "machine_id": machine.machine_id}
    for key in ("template_id", "label"):
        if record.get(key) is not None:  # the spec: keys present only when non-null
            metadata[key] = record[key]
    return {
        **span, "type": "instance", "source": f"instance-{record['id']}",
        "description": f"Instance {record['id']}: {record['num_gpus']}x {machine.gpu.name}",
        "amount": round(gpu + storage, 3), "metadata": metadata,
        "items": [_item(span, "gpu", "GPU time", gpu), _item(span, "disk", "Disk storage", storage)],
    }


def _volume_row(record: Record, end: float) -> Record:
    cost = round(float(record["cost_storage"]), 6)
    span = _span(record, end)
    return {
        **span, "type": "volume", "source": f"volume-{record['id']}",
        "description": f"Volume {record['id']} ({record['disk_space']:g} GB)", "amount": round(cost, 3),
        "metadata": {"volume_id": record["id"], "machine_id": record["machine_id"]},
        "items": [_item(span, "disk", "Volume storage", cost)],
    }


def close_instance(call: Caller, record: Record) -> None:
    """Keep the final charge of an instance that is being destroyed."""
    accrue(record, call.now)
    closed = call.sb.world.extra.setdefault(CLOSED, {})
    closed.setdefault(str(call.uid), []).append(_instance_row(call, record, call.now))


def close_volume(call: Caller, record: Record) -> None:
    accrue(record, call.now)
    closed = call.sb.world.extra.setdefault(CLOSED, {})
    closed.setdefault(str(call.uid), []).append(_volume_row(record, call.now))


def charges(call: Caller, uid: int) -> list[Record]:
    """Every charge of a user up to now, oldest first."""
    world = call.sb.world
    rows = list(world.extra.get(CLOSED, {}).get(str(uid), []))
    for record in world.owned("instances", uid):
        accrue(record, call.now)
        rows.append(_instance_row(call, record, call.now))
    for record in world.owned("volumes", uid):
        accrue(record, call.now)
        rows.append(_volume_row(record, call.now))
    rows += netvolumes.charge_rows(world.extra, uid, call.now)
    rows.sort(key=lambda r: (float(r["start"]), str(r["description"])))
    return rows


def spent(call: Caller, uid: int) -> float:
    return round(sum(float(r["amount"]) for r in charges(call, uid)), 6)
