"""Billing: what instances and volumes have cost, as charges, invoices and the user's credit.

Each instance or volume is one charge row (live ones grow every second); a destroyed instance's
final row is kept in the world. Credit starts at the signup credit and goes down by every charge.
"""

from __future__ import annotations

import math

from vastsandbox.http.router import Call, Reply, Route
from vastsandbox.world import JSON, netvolumes
from vastsandbox.world.errors import Refusal
from vastsandbox.world.lifecycle import accrue

Record = dict[str, JSON]
CLOSED = "closed_charges"


def accrue_now(call: Call, record: Record) -> None:
    accrue(record, call.now)


def _span(record: Record, end: float) -> dict[str, JSON]:
    """Whole epoch seconds covering the contract (the spec's charge ``start``/``end`` are integers)."""
    return {"start": math.floor(float(record["created_at"])), "end": math.ceil(end)}


def _item(span: dict[str, JSON], kind: str, description: str, amount: float) -> Record:
    return {**span, "type": kind, "source": None, "description": description, "amount": amount,
            "metadata": {}, "items": []}


def _instance_row(call: Call, record: Record, end: float) -> Record:
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


def close_instance(call: Call, record: Record) -> None:
    """Keep the final charge of an instance that is being destroyed."""
    accrue(record, call.now)
    closed = call.sb.world.extra.setdefault(CLOSED, {})
    closed.setdefault(str(call.uid), []).append(_instance_row(call, record, call.now))


def close_volume(call: Call, record: Record) -> None:
    accrue(record, call.now)
    closed = call.sb.world.extra.setdefault(CLOSED, {})
    closed.setdefault(str(call.uid), []).append(_volume_row(record, call.now))


def charges(call: Call, uid: int) -> list[Record]:
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


def spent(call: Call, uid: int) -> float:
    return round(sum(float(r["amount"]) for r in charges(call, uid)), 6)


def _window(filters: JSON, field: str) -> tuple[float, float]:
    if filters in (None, ""):
        return (float("-inf"), float("inf"))
    if not isinstance(filters, dict):
        raise Refusal(400, "invalid_request", "select_filters must be a JSON object.")
    terms = filters.get(field) or {}
    try:
        low = float(terms.get("gte", terms.get("gt", float("-inf"))))
        high = float(terms.get("lte", terms.get("lt", float("inf"))))
    except (TypeError, ValueError, AttributeError) as exc:
        raise Refusal(400, "invalid_request", f"{field} bounds must be epoch numbers.") from exc
    return low, high


def _page(call: Call, rows: list[Record]) -> Reply:
    if str(call.query_json("latest_first", False)).lower() == "true":
        rows = rows[::-1]
    limit = call.query_json("limit", 20)
    limit = int(limit) if isinstance(limit, (int, float)) and limit > 0 else 20
    token = call.query_raw("after_token")
    try:
        start = int(token) if token else 0
    except ValueError as exc:
        raise Refusal(400, "invalid_token", "Invalid after_token.") from exc
    page = rows[start:start + limit]
    more = start + limit < len(rows)
    return Reply({"success": True, "count": len(page), "total": len(rows),
                  "next_token": str(start + limit) if more else None, "results": page})


def list_charges(call: Call) -> Reply:
    filters = call.query_json("select_filters", {})
    low, high = _window(filters, "day")
    kinds = (filters.get("type") or {}).get("in") if isinstance(filters, dict) else None
    rows = [r for r in charges(call, call.uid)
            if float(r["end"]) >= low and float(r["start"]) <= high and (not kinds or r["type"] in kinds)]
    return _page(call, rows)


def list_invoices(call: Call) -> Reply:
    user = call.sb.world.users_by_id[call.uid]
    low, high = _window(call.query_json("select_filters", {}), "when")
    created = float(user.get("created_at") or 0.0)
    # Credits are negative on the wire: the CLI negates every invoice but transfers and payouts for
    # display (and the spec's example credit is -25.0), so a credit shows as +$100.00.
    rows: list[Record] = [{"start": created, "end": created, "type": "credit", "source": "signup",
             "description": "Sandbox signup credit", "amount": -float(user.get("credit", 0.0)),
             "metadata": {"invoice_id": int(user["id"]) * 10, "service": "credit"}, "items": []}]
    return _page(call, [r for r in rows if low <= float(r["start"]) <= high])


ROUTES = [
    Route("GET", "/api/v0/charges/", list_charges),
    Route("GET", "/api/v1/invoices/", list_invoices),
]
