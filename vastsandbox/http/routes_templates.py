"""Templates: search, create, edit (a new ``hash_id`` per edit, same ``id``) and delete.

The route handlers; what a template is and who sees it is ``vastsandbox.world.templates``.
"""

from __future__ import annotations

from vastsandbox.http.router import Call, Reply, Route
from vastsandbox.world import JSON, templates
from vastsandbox.world.errors import Refusal
from vastsandbox.world.query import matches, parse_filters, parse_order, select_columns, sort_records


def search(call: Call) -> Reply:
    filters = parse_filters(call.query_json("select_filters", {}))
    order = parse_order(call.query_json("order_by"))
    rows = [t for t in templates.visible(call) if matches(t, filters)]
    rows = [dict(r) for r in sort_records(rows, order)]
    limit = call.query_json("limit")
    if isinstance(limit, int) and limit > 0:
        rows = rows[:limit]
    cols = call.query_json("select_cols")
    shown = [select_columns(templates.public(r), cols) for r in rows]
    return Reply({"success": True, "templates_found": len(shown), "templates": shown})


def create(call: Call) -> Reply:
    body = call.body_dict()
    name = body.get("name")
    if not isinstance(name, str) or not name.strip():
        raise Refusal(400, "invalid_args", "Template name is required")
    world = call.sb.world
    fields = templates.normalise({k: body.get(k, default) for k, default in templates.EDITABLE.items()})
    record: dict[str, JSON] = dict(fields)
    record.update(id=world.new_id("templates"), creator_id=call.uid, created_at=call.now,
                  count_created=0, default_tag=fields.get("tag"), recent_create_date=None,
                  recommended=False, version=1)
    record["hash_id"] = templates.content_hash(record)
    world.insert("templates", record, call.uid)
    call.sb.changed()
    return Reply({"success": True,
                  "msg": f"Template Created Successfully! New Template ID: {record['id']}",
                  "template": templates.public(record)})


def _own_target(call: Call, body: dict[str, JSON]) -> dict[str, JSON]:
    world = call.sb.world
    template_id = body.get("template_id", body.get("id"))
    hash_id = body.get("hash_id")
    record = None
    if template_id not in (None, ""):
        try:
            record = world.get("templates", int(str(template_id)), call.uid)
        except ValueError as exc:
            raise Refusal(400, "invalid_args", "Template id must be a number") from exc
    elif isinstance(hash_id, str) and hash_id:
        record = next((t for t in world.owned("templates", call.uid) if t["hash_id"] == hash_id), None)
    else:
        raise Refusal(400, "invalid_args", "Template id or hash_id is required")
    if record is None:
        raise Refusal(404, "no_such_template", "Template not found.")
    return record


def update(call: Call) -> Reply:
    body = call.body_dict()
    record = _own_target(call, body)
    changes = templates.normalise({k: body[k] for k in templates.EDITABLE if k in body})
    if "name" in changes and not (isinstance(changes["name"], str) and changes["name"].strip()):
        raise Refusal(400, "invalid_args", "Template name is required")
    templates.keep_version(call, record)
    record.update(changes)
    record["version"] = int(record.get("version", 1)) + 1
    record["hash_id"] = templates.content_hash(record)
    call.sb.changed()
    return Reply({"success": True, "msg": "Template updated.", "template": templates.public(record)})


def delete(call: Call) -> Reply:
    body = dict(call.body_dict())
    for name in ("template_id", "hash_id", "id"):
        raw = call.query_raw(name)
        if raw and name not in body:
            body[name] = raw
    record = _own_target(call, body)
    call.sb.world.remove("templates", int(record["id"]))
    versions = call.sb.world.extra.get(templates.VERSIONS, {})
    for old in [h for h, v in versions.items() if v.get("id") == record["id"]]:
        del versions[old]
    call.sb.changed()
    return Reply({"success": True, "msg": f"Template {record['id']} deleted."})


ROUTES = [
    Route("GET", "/api/v0/template/", search),
    Route("POST", "/api/v0/template/", create),
    Route("PUT", "/api/v0/template/", update),
    Route("PUT", "/api/v1/template/", update),
    Route("DELETE", "/api/v0/template/", delete),
]
