"""Instances: list (v1 pages and legacy), show, start/stop/label, destroy, reboot, recycle,
bid price, re-template, and per-instance SSH keys."""

from __future__ import annotations

import base64
import binascii
import json

from vastsandbox.http.router import Call, Reply, Route
from vastsandbox.world import JSON, billing, contention, instances, volumes
from vastsandbox.world.errors import Refusal
from vastsandbox.world.query import matches, parse_filters, parse_order, select_columns, sort_records

Record = dict[str, JSON]
PAGE = 25
COMPUTED = frozenset({"dph_total", "duration", "uptime_mins", "time_remaining", "total_cost"})


def _own(call: Call, instance_id: int) -> Record:
    record = call.sb.world.get("instances", instance_id, call.uid)
    if record is None:
        raise Refusal(404, "no_such_instance", f"Instance {instance_id} not found.")
    return record


def _rows(call: Call, filters: JSON, order: JSON) -> list[Record]:
    parsed = parse_filters(filters)
    bad = sorted(COMPUTED & set(parsed))
    if bad:
        raise Refusal(400, "invalid_request", f"Cannot filter on computed field(s): {', '.join(bad)}.")
    candidates, used = _candidates(call, parsed)
    if used is not None:  # the id lookup already applied that term: do not test it again per row
        parsed = {**parsed, "id": {op: v for op, v in parsed["id"].items() if op != used}}
    rest = {name: terms for name, terms in parsed.items() if terms}
    rows = [instances.render(call, r) for r in candidates]
    matching = [r for r in rows if matches(r, rest)] if rest else rows
    terms = parse_order(order)
    if terms in ([], [("id", False)]):  # the usual order: no need for the general sort key
        return sorted(matching, key=lambda r: int(r["id"]))
    return [dict(r) for r in sort_records(matching, terms)]


def _candidates(call: Call, parsed: dict[str, dict[str, JSON]]) -> tuple[list[Record], str | None]:
    """The caller's instances a filter can match, and the id term that chose them: looked up by id
    when the filter names ids (a refresh of known instances), so that rendering is not paid for every
    instance in the account."""
    world, wanted = call.sb.world, parsed.get("id", {})
    used = "in" if isinstance(wanted.get("in"), list) else "eq" if "eq" in wanted else None
    if used is None:
        return world.owned("instances", call.uid), None
    ids = wanted["in"] if used == "in" else [wanted["eq"]]
    table = world.tables["instances"]
    found: dict[int, Record] = {}
    for raw in ids if isinstance(ids, list) else []:
        try:
            key = int(str(raw))
        except ValueError:
            continue
        if key in table and world.owner_of("instances", key) == call.uid:
            found[key] = table[key]
    return list(found.values()), used


def _token(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode().rstrip("=")


def _offset(token: JSON) -> int:
    if token in (None, ""):
        return 0
    try:
        text = str(token)
        data = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        offset = int(data["offset"])
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise Refusal(400, "invalid_token", "Invalid after_token.") from exc
    if offset < 0:
        raise Refusal(400, "invalid_token", "Invalid after_token.")
    return offset


def _by_id_only(filters: JSON, order: JSON) -> bool:
    """No filter and id order: pages can be cut before rendering (fast with thousands)."""
    return not filters and parse_order(order) in ([], [("id", False)])


def _label_counts(rows: list[Record]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for row in rows:
        label = str(row.get("label") or "")
        counts[label] = counts.get(label, 0) + 1
    return counts


def list_v1(call: Call) -> Reply:
    """One page. ``label_counts`` tallies the instances the filters match, as ``total_instances``
    counts them (docs/sandbox.md): a page filtered by ids carries a tally of those ids only, and
    the unfiltered tally is cached per world version, so a page costs the same in any account."""
    filters, order = call.query_json("select_filters", {}), call.query_json("order_by")
    limit = call.query_json("limit", PAGE)
    limit = max(1, min(int(limit), PAGE)) if isinstance(limit, (int, float, str)) and str(limit).isdigit() \
        else PAGE
    start = _offset(call.query_raw("after_token"))
    world = call.sb.world
    if _by_id_only(filters, order):
        ids = world.owned_ids("instances", call.uid)
        found = len(ids)
        table = world.tables["instances"]
        page = [instances.render(call, table[i]) for i in ids[start:start + limit]]
        labels = world.tally("instances", call.uid, "label")
    else:
        rows = _rows(call, filters, order)
        found = len(rows)
        page = rows[start:start + limit]
        labels = _label_counts(rows)
    more = start + limit < found
    cols = call.query_json("select_cols")
    return Reply({"success": True, "instances": [select_columns(r, cols) for r in page],
                  "instances_found": found, "total_instances": world.count_owned("instances", call.uid),
                  "label_counts": labels, "next_token": _token(start + limit) if more else None})


def list_legacy(call: Call) -> Reply:
    return Reply({"instances": _rows(call, {}, None)})


def show(call: Call) -> Reply:
    record = call.sb.world.get("instances", call.param_int("id"), call.uid)
    return Reply({"instances": instances.render(call, record) if record is not None else None})


def filters(call: Call) -> Reply:
    seen: dict[str, Record] = {}
    for row in _rows(call, {}, None):
        combo = {k: row.get(k) for k in ("actual_status", "verification", "gpu_name", "label")}
        seen.setdefault(json.dumps(combo, sort_keys=True), combo)
    return Reply({"success": True, "filters": list(seen.values())})


def _manage(call: Call, record: Record, body: Record) -> None:
    sb, boot = call.sb, call.sb.control.boot_seconds
    if "label" in body:
        label = body["label"]
        if label is not None and (not isinstance(label, str) or len(label) > 1024):
            raise Refusal(400, "invalid_args", "label must be text of at most 1024 characters.")
        record["label"] = label
    state = body.get("state")
    if state == "running":
        contention.start(sb, record, call.now)
    elif state == "stopped":
        record["waiting_gpus"] = False
        sb.lifecycle.stop(record, call.now, boot)
    elif state is not None:
        raise Refusal(400, "invalid_args", f"state must be running or stopped, not {state!r}.")
    sb.changed()


def manage(call: Call) -> Reply:
    body = call.body_dict()
    _manage(call, _own(call, call.param_int("id")), body)
    return Reply({"success": True})


def manage_many(call: Call) -> Reply:
    body = call.body_dict()
    ids = body.get("ids") or []
    if not isinstance(ids, list):
        raise Refusal(400, "invalid_args", "ids must be a list.")
    for record in [_own(call, int(i)) for i in ids]:
        _manage(call, record, body)
    return Reply({"success": True})


def _destroy(call: Call, record: Record) -> None:
    sb = call.sb
    billing.close_instance(call, record)
    sb.lifecycle.forget(record)
    volumes.release_instance(call, record)
    sb.market.release(int(record["machine_id"]), [int(s) for s in record["gpu_slots"]])
    sb.market.use_disk(int(record["machine_id"]), -float(record["disk_space"]))
    sb.world.remove("instances", int(record["id"]))
    contention.resume_waiting(sb, int(record["machine_id"]), call.now)
    sb.changed()


def destroy(call: Call) -> Reply:
    _destroy(call, _own(call, call.param_int("id")))
    return Reply({"success": True})


def destroy_many(call: Call) -> Reply:
    ids = call.body_dict().get("instance_ids") or []
    if not isinstance(ids, list):
        raise Refusal(400, "invalid_args", "instance_ids must be a list.")
    for record in [_own(call, int(i)) for i in ids]:
        _destroy(call, record)
    return Reply({"success": True})


def _own_or_400(call: Call, error: str, msg: str) -> Record:
    """Reboot and recycle answer a missing instance with a 400 (the spec documents no 404 there)."""
    record = call.sb.world.get("instances", call.param_int("id"), call.uid)
    if record is None:
        raise Refusal(400, error, msg)
    return record


def reboot(call: Call) -> Reply:
    call.sb.lifecycle.restart(_own_or_400(call, "invalid_args", "invalid instance_id"), call.now,
                              call.sb.control.boot_seconds, "rebooting")
    call.sb.changed()
    return Reply({"success": True})


def recycle(call: Call) -> Reply:
    call.sb.lifecycle.restart(_own_or_400(call, "invalid_id", "Invalid instance id."), call.now,
                              call.sb.control.boot_seconds, "recycling")
    call.sb.changed()
    return Reply({"success": True})


def bid_price(call: Call) -> Reply:
    record = _own(call, call.param_int("id"))
    price = call.body_dict().get("price")
    machine = call.sb.market.by_id[int(record["machine_id"])]
    prices = call.sb.market.prices(machine, int(record["num_gpus"]), float(record["disk_space"]))
    # No price: the winning bid (the CLI's help), never a switch to on-demand.
    try:
        new = instances.check_price(price, prices["min_bid"]) if price is not None else \
            contention.winning_bid(call.sb, record, prices["min_bid"])
    except Refusal as failure:  # the spec gives this route's 400 the code invalid_args
        raise Refusal(400, "invalid_args", failure.msg) from failure
    billing.accrue_now(call, record)
    record["is_bid"], record["bid_price"], record["dph_base"] = True, new, new
    contention.check_bid(call.sb, record, call.now)
    call.sb.changed()
    return Reply({"success": True})


def update_template(call: Call) -> Reply:
    record = _own(call, call.param_int("id"))
    settings = instances.update_settings(call, record, call.body_dict())
    for key in ("image", "env", "onstart", "args"):
        record[key] = settings[key]
    template = settings["template"]
    if template is not None:
        record.update(template_id=template["id"], template_hash_id=template["hash_id"],
                      template_name=template["name"], runtype=settings["runtype"])
    call.sb.lifecycle.restart(record, call.now, call.sb.control.boot_seconds, "loading")
    call.sb.changed()
    return Reply({"success": True})


def list_keys(call: Call) -> Reply:
    record = _own(call, call.param_int("id"))
    keys = [{"id": k["id"], "name": None, "public_key": k["public_key"]} for k in record["ssh_keys"]]
    return Reply({"success": True, "ssh_keys": json.dumps(keys)})


def attach_key(call: Call) -> Reply:
    record = _own(call, call.param_int("id"))
    text = call.body_dict().get("ssh_key")
    if not isinstance(text, str) or not text.strip():
        raise Refusal(400, "no_ssh_key", "No ssh key provided")
    text = text.strip()
    known = next((k for k in call.sb.world.owned("ssh_keys", call.uid) if k["key"] == text), None)
    key_id = known["id"] if known is not None else call.sb.world.new_id("ssh_keys")
    if all(k["public_key"] != text for k in record["ssh_keys"]):
        record["ssh_keys"].append({"id": key_id, "public_key": text})
    call.sb.changed()
    return Reply({"success": True, "msg": "SSH key attached successfully"})


def detach_key(call: Call) -> Reply:
    record = _own(call, call.param_int("id"))
    key_id = call.param_int("ssh_key_id")
    kept = [k for k in record["ssh_keys"] if int(k["id"]) != key_id]
    if len(kept) == len(record["ssh_keys"]):
        raise Refusal(404, "no_such_ssh_key", f"SSH key {key_id} is not attached to this instance.")
    record["ssh_keys"] = kept
    call.sb.changed()
    return Reply({"success": True, "msg": "SSH key removed from instance."})


ROUTES = [
    Route("GET", "/api/v1/instances/", list_v1),
    Route("GET", "/api/v0/instances/", list_legacy),
    Route("PUT", "/api/v0/instances/", manage_many),
    Route("DELETE", "/api/v0/instances/", destroy_many),
    Route("GET", "/api/v0/instances/filters/", filters),
    Route("PUT", "/api/v0/instances/reboot/{id}/", reboot),
    Route("PUT", "/api/v0/instances/recycle/{id}/", recycle),
    Route("PUT", "/api/v0/instances/bid_price/{id}/", bid_price),
    Route("PUT", "/api/v0/instances/update_template/{id}/", update_template),
    Route("GET", "/api/v0/instances/{id}/ssh/", list_keys),
    Route("POST", "/api/v0/instances/{id}/ssh/", attach_key),
    Route("DELETE", "/api/v0/instances/{id}/ssh/{ssh_key_id}/", detach_key),
    Route("GET", "/api/v0/instances/{id}/", show),
    Route("PUT", "/api/v0/instances/{id}/", manage),
    Route("DELETE", "/api/v0/instances/{id}/", destroy),
]
