"""Billing routes: the caller's charges (``/api/v0/charges/``) and invoices (``/api/v1/invoices/``),
paged and filtered as the official CLI asks for them; what is charged is ``vastsandbox.world.billing``."""

from __future__ import annotations

from vastsandbox.http.router import Call, Reply, Route
from vastsandbox.world import JSON, billing
from vastsandbox.world.errors import Refusal

Record = dict[str, JSON]


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
    rows = [r for r in billing.charges(call, call.uid)
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
