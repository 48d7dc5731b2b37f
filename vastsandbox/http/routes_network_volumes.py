"""Network volumes (search, create; listed and deleted with local volumes) and volume cloning."""

from __future__ import annotations

from vastsandbox.http.router import Call, Reply, Route
from vastsandbox.world import JSON, billing, container_fs, netvolumes, volumes
from vastsandbox.world.errors import Refusal
from vastsandbox.world.query import matches, parse_filters, parse_order, sort_records

Record = dict[str, JSON]
_DISKS: dict[tuple[int, int], list[netvolumes.NetworkDisk]] = {}


def disks(call: Call) -> list[netvolumes.NetworkDisk]:
    """The market's network disks (derived from its machines, so computed once per market)."""
    market = call.sb.market
    key = (call.sb.world.seed, len(market.machines))
    if key not in _DISKS:
        _DISKS[key] = netvolumes.network_disks(call.sb.world.seed, market.machines)
    return _DISKS[key]


def _numbers(body: dict[str, JSON]) -> tuple[float, int | None]:
    try:
        storage = float(body.get("allocated_storage") or 1.0)
        limit = int(body["limit"]) if body.get("limit") not in (None, "") else None
    except (TypeError, ValueError) as exc:
        raise Refusal(400, "invalid_args", "allocated_storage and limit must be numbers.") from exc
    return storage, limit


def search(call: Call) -> Reply:
    body = call.body_dict()
    storage, limit = _numbers(body)
    filters = parse_filters(body, what="query")
    found = [o for o in netvolumes.offers(call.sb.world.extra, disks(call), call.now, storage)
             if float(o["disk_space"]) >= 1 and matches(o, filters)]
    ranked = [dict(o) for o in sort_records(found, parse_order(body.get("order")) or [("score", True)])]
    return Reply({"offers": ranked[:limit] if limit else ranked})


def create(call: Call) -> Reply:
    body = call.body_dict()
    if body.get("id") in (None, ""):
        raise Refusal(400, "invalid_args", "Please provide a network volume offer id.")
    world = call.sb.world
    record = netvolumes.create(world.extra, disks(call), body.get("id"), volumes.checked_size(body.get("size")),
                               body.get("name"), world.new_id("volumes"), call.uid, call.now)
    call.sb.changed()
    return Reply({"success": True, "volume_name": f"V.{record['id']}", "volume_id": record["id"]})


def listed(call: Call) -> list[Record]:
    """The caller's network volumes as ``GET /volumes`` rows."""
    return [netvolumes.render(r, call.now) for r in netvolumes.owned(call.sb.world.extra, call.uid)]


def delete(call: Call, volume_id: int) -> Reply:
    """Delete a network volume (``DELETE /volumes/?id=`` names both kinds); its charge is kept."""
    extra = call.sb.world.extra
    found = netvolumes.find(extra, volume_id, call.uid)
    if found is not None and found["instances"]:
        raise Refusal(400, "invalid_args", f"Volume {volume_id} is in use by instance(s) "
                                           f"{', '.join(str(i) for i in found['instances'])}; destroy them first.")
    record = netvolumes.delete(extra, volume_id, call.uid, call.now)
    extra.setdefault(billing.CLOSED, {}).setdefault(str(call.uid), []).append(netvolumes.charge_row(record, call.now))
    container_fs.forget(extra, f"V.{volume_id}")
    call.sb.changed()
    return Reply({"success": True})


def clone(call: Call) -> Reply:
    """``POST /volumes/copy/``: a new local volume on the offer's machine with the source's files."""
    body = call.body_dict()
    try:
        source_id, offer_id = int(str(body.get("src_id"))), int(str(body.get("dst_id")))
    except ValueError as exc:
        raise Refusal(400, "invalid_args", "src_id (a volume) and dst_id (a volume offer) are required.") from exc
    source = call.sb.world.get("volumes", source_id, call.uid)
    if source is None:
        raise Refusal(404, "no_such_volume", "Volume with that ID does not exist.")
    size = body.get("size") if body.get("size") is not None else source["disk_space"]
    try:
        too_small = float(str(size)) < float(source["disk_space"])
    except ValueError as exc:
        raise Refusal(400, "invalid_args", "Volume size must be a number.") from exc
    if too_small:
        raise Refusal(400, "invalid_args", f"The clone must be at least as large as volume {source_id} "
                                              f"({float(source['disk_space']):g} GB).")
    copy = volumes.create(call, offer_id, size, f"{source['label']}-clone")
    extra = call.sb.world.extra
    extra.setdefault(container_fs.FILES, {})[f"V.{copy['id']}"] = dict(container_fs.tree_of(extra, f"V.{source_id}"))
    copy["cloned_from"] = source_id
    call.sb.changed()
    return Reply({"success": True, "volume_name": f"V.{copy['id']}", "volume_id": copy["id"], "src_id": source_id})


ROUTES = [
    Route("POST", "/api/v0/network_volumes/search/", search),
    Route("PUT", "/api/v0/network_volumes/", create),
    Route("POST", "/api/v0/volumes/copy/", clone),
]
