"""Marketplace search (``/bundles/``, ``/search/asks/``) and renting (``/asks/{id}/``, launch)."""

from __future__ import annotations

from vastsandbox.http.router import Call, Reply, Route
from vastsandbox.world import JSON, container_keys, contention, instances
from vastsandbox.world.errors import Refusal
from vastsandbox.world.query import parse_filters, parse_order

OFFER_TYPES = {"on-demand": "on-demand", "ondemand": "on-demand", "bid": "bid", "interruptible": "bid",
               "reserved": "reserved"}


def _search(call: Call, query: JSON) -> list[dict[str, JSON]]:
    if not isinstance(query, dict):
        raise Refusal(400, "invalid_request", "The search query must be a JSON object.")
    kind = OFFER_TYPES.get(str(query.get("type") or "on-demand"))
    if kind is None:
        raise Refusal(400, "invalid_args", f"Unknown offer type {query.get('type')!r}.")
    try:
        storage = float(query.get("allocated_storage") or 5.0)
        limit = int(query["limit"]) if query.get("limit") not in (None, "") else None
    except (TypeError, ValueError) as exc:
        raise Refusal(400, "invalid_args", "allocated_storage and limit must be numbers.") from exc
    filters = parse_filters(query, what="query")
    return call.sb.market.search(filters, parse_order(query.get("order")), limit, call.now, storage, kind)


def bundles(call: Call) -> Reply:
    body = call.body_dict()
    if not body and call.query_raw("q"):
        body = call.query_json("q")  # legacy GET /bundles?q=<json>
    return Reply({"offers": _search(call, body)})


def search_asks(call: Call) -> Reply:
    body = call.body_dict()
    return Reply({"offers": _search(call, body.get("q", {}))})


def create_instance(call: Call) -> Reply:
    record = instances.rent(call, call.param_int("id"), call.body_dict())
    contention.check_bid(call.sb, record, call.now)
    return Reply({"success": True, "new_contract": record["id"],
                  "instance_api_key": container_keys.key_for(call.sb.world, record)})


def launch_instance(call: Call) -> Reply:
    """Search with ``q`` and rent the first offer that matches."""
    body = call.body_dict()
    offers = _search(call, body.get("q") or {})
    for offer in offers:
        machine, size = call.sb.market.resolve_offer(int(offer["id"])) or (None, 0)
        if machine is not None and call.sb.market.available(machine, size):
            record = instances.rent(call, int(offer["id"]), body)
            return Reply({"success": True, "new_contract": record["id"],
                          "instance_api_key": container_keys.key_for(call.sb.world, record)})
    raise Refusal(404, "no_such_ask", "No offer matches the launch query.")


ROUTES = [
    Route("POST", "/api/v0/bundles/", bundles),
    Route("GET", "/api/v0/bundles/", bundles),
    Route("PUT", "/api/v0/search/asks/", search_asks),
    Route("PUT", "/api/v0/asks/{id}/", create_instance),
    Route("PUT", "/api/v0/launch_instance/", launch_instance),
]
