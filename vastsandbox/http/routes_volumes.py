"""Volumes: search volume offers, create, list and delete (refused while an instance uses it)."""

from __future__ import annotations

from vastsandbox.http import routes_network_volumes
from vastsandbox.http.router import Call, Reply, Route
from vastsandbox.world import billing, netvolumes, volumes
from vastsandbox.world.errors import Refusal
from vastsandbox.world.query import parse_filters, parse_order


def search(call: Call) -> Reply:
    body = call.body_dict()
    try:
        storage = float(body.get("allocated_storage") or 1.0)
        limit = int(body["limit"]) if body.get("limit") not in (None, "") else None
    except (TypeError, ValueError) as exc:
        raise Refusal(400, "invalid_args", "allocated_storage and limit must be numbers.") from exc
    offers = call.sb.market.volume_offers(parse_filters(body, what="query"), parse_order(body.get("order")),
                                          limit, call.now, storage)
    return Reply({"offers": offers})


def create(call: Call) -> Reply:
    body = call.body_dict()
    if body.get("id") in (None, ""):
        raise Refusal(400, "invalid_args", "Please provide a volume offer id.")
    record = volumes.create(call, body.get("id"), body.get("size"), body.get("name"))
    return Reply({"success": True, "volume_name": f"V.{record['id']}", "volume_id": record["id"]})


def list_volumes(call: Call) -> Reply:
    kind = call.query_raw("type") or "all_volume"
    owned = call.sb.world.owned("volumes", call.uid)
    local = [] if kind == "network_volume" else [volumes.render(call, r) for r in owned]
    return Reply({"volumes": local + ([] if kind == "local_volume" else routes_network_volumes.listed(call))})


def delete(call: Call) -> Reply:
    raw = call.query_raw("id") or call.body_dict().get("id")
    try:
        volume_id = int(str(raw))
    except ValueError as exc:
        raise Refusal(400, "invalid_args", "Please provide a valid volume ID.") from exc
    record = call.sb.world.get("volumes", volume_id, call.uid)
    if record is None and netvolumes.find(call.sb.world.extra, volume_id, call.uid) is not None:
        return routes_network_volumes.delete(call, volume_id)
    if record is None:
        raise Refusal(404, "no_such_volume", "Volume with that ID does not exist.")
    users = record["instances"]
    if users:
        raise Refusal(400, "invalid_args", f"Volume {volume_id} is in use by instance(s) "
                                               f"{', '.join(str(i) for i in users)}; destroy them first.")
    billing.close_volume(call, record)
    call.sb.market.use_disk(int(record["machine_id"]), -float(record["disk_space"]))
    call.sb.world.remove("volumes", volume_id)
    call.sb.changed()
    return Reply({"success": True})


ROUTES = [
    Route("POST", "/api/v0/volumes/search/", search),
    Route("PUT", "/api/v0/volumes/", create),
    Route("GET", "/api/v0/volumes/", list_volumes),
    Route("DELETE", "/api/v0/volumes/", delete),
]
