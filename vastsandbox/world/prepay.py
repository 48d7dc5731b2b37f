"""Reserved prepay: credit deposited into an instance buys a discount on its GPU time.

``PUT /instances/prepay/{id}/`` moves credit into the instance; the discount grows with the months
the deposit covers at the instance's price (the CLI: 0.2 for 1 month, 0.3 for 3; the spec: at
most 0.4). GPU time since the prepay is paid from the deposit at the discounted rate;
``GET /instances/balance/{id}/`` reports what is left, the discount so far and the months.
The locked deposit is not spendable credit (``credit`` in ``/users/current`` leaves it out).
"""

from __future__ import annotations

from collections.abc import Iterable

from vastsandbox.world import JSON
from vastsandbox.world.errors import Refusal
from vastsandbox.world.lifecycle import accrue

Record = dict[str, JSON]
HOURS_PER_MONTH = 720.0
MAX_DISCOUNT = 0.4


def discount_rate(months: float) -> float:
    """0.2 at one month, 0.3 at three, up to 0.4 at six and beyond (linear in between)."""
    points = ((0.0, 0.0), (1.0, 0.2), (3.0, 0.3), (6.0, MAX_DISCOUNT))
    for (m0, r0), (m1, r1) in zip(points, points[1:], strict=False):
        if months <= m1:
            return r0 + (r1 - r0) * (months - m0) / (m1 - m0)
    return MAX_DISCOUNT


def prepay(record: Record, amount_value: JSON, available: float, now: float) -> Record:
    """Deposit ``amount`` into the instance; refused for a bad amount or not enough credit."""
    try:
        amount = float(str(amount_value))
    except ValueError as exc:
        raise Refusal(400, "invalid_args", "amount must be a number of dollars.") from exc
    if not 0 < amount < 1e7:
        raise Refusal(400, "invalid_args", "amount must be a positive number of dollars.")
    if amount > available:
        raise Refusal(411, "insufficient_credit", "Insufficient credit")
    accrue(record, now)
    current = dict(record.get("prepay") or {"amount": 0.0, "gpu_cost_at": float(record["cost_gpu"]), "at": now})
    current["amount"] = float(current["amount"]) + amount
    hourly = max(float(record["dph_base"]), 1e-6)
    timescale = current["amount"] / (hourly * HOURS_PER_MONTH)
    current["timescale"] = timescale
    current["discount_rate"] = round(discount_rate(timescale), 4)
    record["prepay"] = current
    return {"success": True, "timescale": timescale, "discount_rate": current["discount_rate"]}


def balance(record: Record, now: float) -> Record:
    """What the deposit still holds, the discount it has given, and the months it buys."""
    current = record.get("prepay")
    if not current:
        return {"success": True, "refundable_deposit": 0.0, "total_discount": 0.0, "discount_months": 0}
    accrue(record, now)
    gpu_time = max(0.0, float(record["cost_gpu"]) - float(current["gpu_cost_at"]))
    rate = float(current["discount_rate"])
    left = max(0.0, float(current["amount"]) - gpu_time * (1 - rate))
    return {"success": True, "refundable_deposit": round(left, 6), "total_discount": round(gpu_time * rate, 6),
            "discount_months": int(float(current["timescale"]))}


def locked(records: Iterable[Record], now: float) -> float:
    """Credit held in the deposits of these instances."""
    return round(sum(float(balance(r, now)["refundable_deposit"]) for r in records if r.get("prepay")), 6)
