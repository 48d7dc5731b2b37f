"""Billing routes beyond charges: deposits and prepay, the older invoice views, earnings, machines.

A sandbox account only rents; it hosts no machines, so earnings are zero and the machine list is
empty, in the shapes the spec gives. Invoices are the signup credit plus every prepay deposit.
"""

from __future__ import annotations

from vastsandbox.http.router import Call, Reply, Route
from vastsandbox.http.routes_common import own_instance
from vastsandbox.world import JSON, billing, prepay
from vastsandbox.world.errors import Refusal
from vastsandbox.world.query import matches, parse_filters

Record = dict[str, JSON]
INVOICES = "invoices"


def _me(call: Call) -> int:
    """``users/{who}/...``: ``me`` or the caller's own id; anyone else's is not yours to read."""
    who = call.params["who"]
    if who not in ("me", str(call.uid)):
        raise Refusal(403, "not_authorized", "You can only read your own account.")
    return call.uid


def deposit(call: Call) -> Reply:
    record = own_instance(call, call.param_int("id"))
    return Reply(prepay.balance(record, call.now))


def spendable(call: Call) -> float:
    user = call.sb.world.users_by_id[call.uid]
    live = call.sb.world.owned("instances", call.uid)
    return float(user.get("credit", 0.0)) - billing.spent(call, call.uid) - prepay.locked(live, call.now)


def prepay_instance(call: Call) -> Reply:
    record = own_instance(call, call.param_int("id"))
    amount = call.body_dict().get("amount")
    answer = prepay.prepay(record, amount, spendable(call), call.now)
    cents = int(round(float(str(amount)) * 100))
    _invoices(call).append(_invoice(call, cents, "instance_prepay", f"Prepay for instance {record['id']}"))
    call.sb.changed()
    return Reply(answer)


def _invoices(call: Call) -> list[Record]:
    found: list[Record] = call.sb.world.extra.setdefault(INVOICES, {}).setdefault(str(call.uid), [])
    return found


def _invoice(call: Call, cents: int, service: str, description: str) -> Record:
    uid = call.uid
    return {"id": uid * 1000 + len(_invoices(call)) + 1, "user_id": uid, "when": call.now, "paid_on": call.now,
            "payment_expected": call.now, "amount_cents": cents, "is_credit": service == "credit",
            "is_delayed": False, "balance_before": None, "balance_after": None, "original_amount": cents,
            "event_id": None, "cut_amount": 0, "cut_percent": 0.0, "extra": {"description": description},
            "service": service, "stripe_charge": None, "stripe_refund": None, "stripe_payout": None,
            "error": None, "paypal_email": None, "transfer_group": None, "failed": False, "refunded": False,
            "is_check": False}


def _signup(call: Call) -> Record:
    user = call.sb.world.users_by_id[call.uid]
    created = float(user.get("created_at") or 0.0)
    cents = int(round(float(user.get("credit", 0.0)) * 100))
    return {**_invoice(call, cents, "credit", "Sandbox signup credit"), "id": call.uid * 1000,
            "when": created, "paid_on": created, "payment_expected": created, "balance_before": 0.0,
            "balance_after": cents / 100}


def search_invoices(call: Call) -> Reply:
    """``GET /invoices?select_filters=...``: the account's invoice records (a list, as the CLI reads)."""
    filters = parse_filters(call.query_json("select_filters", {}))
    rows = [_signup(call), *_invoices(call)]
    return Reply([r for r in rows if matches(r, filters)])


def _charge_item(row: Record) -> Record:
    hours = max((float(row["end"]) - float(row["start"])) / 3600.0, 1e-9)
    meta = row.get("metadata") or {}
    return {"id": meta.get("instance_id") or meta.get("volume_id"), "type": "charge",
            "description": row["description"], "quantity": round(hours, 4),
            "rate": round(float(row["amount"]) / hours, 6), "amount": row["amount"], "timestamp": row["end"],
            "instance_id": meta.get("instance_id")}


def invoices_v0(call: Call) -> Reply:
    """``GET /users/me/invoices`` (deprecated): charges and payments within ``sdate``..``edate``."""
    _me(call)
    try:
        low = float(call.query_json("sdate", 0.0))
        high = float(call.query_json("edate", call.now))
    except (TypeError, ValueError) as exc:
        raise Refusal(400, "invalid_args", "sdate and edate must be epoch seconds.") from exc
    charges = billing.charges(call, call.uid)
    rows: list[Record] = []
    if str(call.query_json("inc_charges", True)).lower() != "false":
        rows += [_charge_item(r) for r in charges if float(r["end"]) >= low and float(r["start"]) <= high]
    for invoice in [_signup(call), *_invoices(call)]:
        if low <= float(invoice["when"]) <= high:
            rows.append({"id": invoice["id"], "type": "payment", "description": invoice["extra"]["description"],
                         "quantity": 1, "rate": invoice["amount_cents"] / 100,
                         "amount": -invoice["amount_cents"] / 100, "timestamp": invoice["when"],
                         "instance_id": None})
    total = round(sum(float(r["amount"]) for r in charges), 6)
    return Reply({"invoices": sorted(rows, key=lambda r: float(r["timestamp"])),
                  "current": {"charges": total, "service_fee": 0.0, "total": total,
                              "credit": round(spendable(call), 6)}})


def earnings(call: Call) -> Reply:
    """``GET /users/me/machine-earnings``: a renter-only account has earned nothing."""
    _me(call)
    user = call.sb.world.users_by_id[call.uid]
    zero = {"total_gpu": 0.0, "total_stor": 0.0, "total_bwu": 0.0, "total_bwd": 0.0}
    profile = user.get("profile") or {}
    return Reply({"summary": zero, "username": profile.get("username", f"user{call.uid}"),
                  "email": profile.get("email", f"user{call.uid}@sandbox.invalid"),
                  "fullname": profile.get("fullname", f"Sandbox User {call.uid}"),
                  # The spec types the address as strings: an unset one is "", not null.
                  "address1": str(profile.get("billaddress_line1", "")),
                  "address2": str(profile.get("billaddress_line2", "")),
                  "city": str(profile.get("billaddress_city", "")), "zip": str(profile.get("billaddress_zip", "")),
                  "country": str(profile.get("billaddress_country", "")),
                  "taxinfo": str(profile.get("billaddress_taxinfo", "")),
                  "current": {"balance": 0.0, "service_fee": 0.0, "total": 0.0, "credit": 0.0},
                  "per_machine": [], "per_day": []})


def machines(call: Call) -> Reply:
    """``GET /machines?owner=me``: the machines this account hosts (none)."""
    return Reply({"machines": []})


ROUTES = [
    Route("GET", "/api/v0/instances/balance/{id}/", deposit),
    Route("PUT", "/api/v0/instances/prepay/{id}/", prepay_instance),
    Route("GET", "/api/v0/invoices/", search_invoices),
    Route("GET", "/api/v0/users/{who}/invoices/", invoices_v0),
    Route("GET", "/api/v0/users/{who}/machine-earnings/", earnings),
    Route("GET", "/api/v0/machines/", machines),
]
