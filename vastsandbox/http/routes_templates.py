"""Templates: search, create, edit (a new ``hash_id`` per edit, same ``id``) and delete.

A search shows the caller's own templates plus every public one (``private: false``), including
a few seeded "recommended" templates owned by nobody, as Vast.ai's search does; callers that want
only their own filter on ``creator_id``.
"""

from __future__ import annotations

import hashlib
import json

from vastsandbox.http.router import Call, Reply, Route
from vastsandbox.world import JSON
from vastsandbox.world.envflags import env_to_string
from vastsandbox.world.errors import Refusal
from vastsandbox.world.query import matches, parse_filters, parse_order, select_columns, sort_records

# Every field a client may set; anything else in a body is ignored.
EDITABLE: dict[str, JSON] = {
    "name": None, "image": None, "tag": None, "href": None, "repo": None, "env": "", "onstart": None,
    "runtype": "args", "use_ssh": False, "ssh_direct": False, "jup_direct": False,
    "use_jupyter_lab": False, "jupyter_dir": None, "docker_login_repo": None,
    "docker_login_user": None, "docker_login_pass": None, "extra_filters": {},
    "recommended_disk_space": None, "desc": None, "readme": None, "readme_visible": True,
    "private": True, "args_str": None, "volume_info": None,
}
SYSTEM_CREATOR = 0
VERSIONS = "template_versions"  # world.extra: hash_id -> the template as it was at that hash


def _public_seed() -> list[dict[str, JSON]]:
    seeds = [
        ("PyTorch (Vast)", "vastai/pytorch", "latest", "-p 8080:8080", 32.0),
        ("vLLM", "vllm/vllm-openai", "latest", "-p 8000:8000", 64.0),
        ("NVIDIA CUDA", "nvidia/cuda", "12.4.1-devel-ubuntu22.04", "", 16.0),
    ]
    rows = []
    for offset, (name, image, tag, env, disk) in enumerate(seeds):
        row = dict(EDITABLE, name=name, image=image, tag=tag, env=env, runtype="ssh", use_ssh=True,
                   ssh_direct=True, recommended_disk_space=disk, private=False)
        row.update(id=300001 + offset, creator_id=SYSTEM_CREATOR, created_at=1700000000.0,
                   count_created=1000 * (3 - offset), default_tag=tag, recent_create_date=1700000000.0,
                   recommended=True, version=1)
        row["hash_id"] = content_hash(row)
        rows.append(row)
    return rows


def content_hash(record: dict[str, JSON]) -> str:
    """A 32-hex digest of what the template says plus its version, so every edit gets a new one."""
    content = {k: record.get(k) for k in EDITABLE}
    content["version"] = record.get("version", 1)
    return hashlib.md5(json.dumps(content, sort_keys=True).encode()).hexdigest()


def _normalise(fields: dict[str, JSON]) -> dict[str, JSON]:
    if isinstance(fields.get("env"), dict):
        fields["env"] = env_to_string(fields["env"])
    disk = fields.get("recommended_disk_space")
    if isinstance(disk, str):
        try:
            fields["recommended_disk_space"] = float(disk)
        except ValueError as exc:
            raise Refusal(400, "invalid_args", "recommended_disk_space must be a number") from exc
    if fields.get("extra_filters") is None:
        fields["extra_filters"] = {}
    return fields


def public(record: dict[str, JSON]) -> dict[str, JSON]:
    """The record as the API shows it (internal bookkeeping removed)."""
    return {k: v for k, v in record.items() if k != "version"}


def visible(call: Call) -> list[dict[str, JSON]]:
    """Templates the caller can see: their own, others' public ones, and the seeded ones."""
    world = call.sb.world
    uid = call.uid
    others = [t for t in world.all("templates")
              if not t.get("private") and t.get("creator_id") != uid]
    return _public_seed() + world.owned("templates", uid) + others


def find_by_hash(call: Call, hash_id: str) -> dict[str, JSON] | None:
    """A template visible to the caller with this hash_id, preferring the caller's own; else an
    earlier version of one (an edit leaves the original hash valid, as it was then)."""
    found = [t for t in visible(call) if t.get("hash_id") == hash_id]
    own = [t for t in found if t.get("creator_id") == call.uid]
    best = own or found
    if best:
        return best[0]
    old = call.sb.world.extra.get(VERSIONS, {}).get(hash_id)
    if old is not None and (old.get("creator_id") == call.uid or not old.get("private")) \
            and call.sb.world.get("templates", int(old["id"])) is not None:
        return dict(old)
    return None


def _keep_version(call: Call, record: dict[str, JSON]) -> None:
    """Remember a template as it is before an edit, under its hash_id (persisted with the world)."""
    call.sb.world.extra.setdefault(VERSIONS, {})[str(record["hash_id"])] = dict(record)


def search(call: Call) -> Reply:
    filters = parse_filters(call.query_json("select_filters", {}))
    order = parse_order(call.query_json("order_by"))
    rows = [t for t in visible(call) if matches(t, filters)]
    rows = [dict(r) for r in sort_records(rows, order)]
    limit = call.query_json("limit")
    if isinstance(limit, int) and limit > 0:
        rows = rows[:limit]
    cols = call.query_json("select_cols")
    shown = [select_columns(public(r), cols) for r in rows]
    return Reply({"success": True, "templates_found": len(shown), "templates": shown})


def create(call: Call) -> Reply:
    body = call.body_dict()
    name = body.get("name")
    if not isinstance(name, str) or not name.strip():
        raise Refusal(400, "invalid_args", "Template name is required")
    world = call.sb.world
    fields = _normalise({k: body.get(k, default) for k, default in EDITABLE.items()})
    record: dict[str, JSON] = dict(fields)
    record.update(id=world.new_id("templates"), creator_id=call.uid, created_at=call.now,
                  count_created=0, default_tag=fields.get("tag"), recent_create_date=None,
                  recommended=False, version=1)
    record["hash_id"] = content_hash(record)
    world.insert("templates", record, call.uid)
    call.sb.changed()
    return Reply({"success": True,
                  "msg": f"Template Created Successfully! New Template ID: {record['id']}",
                  "template": public(record)})


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
    changes = _normalise({k: body[k] for k in EDITABLE if k in body})
    if "name" in changes and not (isinstance(changes["name"], str) and changes["name"].strip()):
        raise Refusal(400, "invalid_args", "Template name is required")
    _keep_version(call, record)
    record.update(changes)
    record["version"] = int(record.get("version", 1)) + 1
    record["hash_id"] = content_hash(record)
    call.sb.changed()
    return Reply({"success": True, "msg": "Template updated.", "template": public(record)})


def delete(call: Call) -> Reply:
    body = dict(call.body_dict())
    for name in ("template_id", "hash_id", "id"):
        raw = call.query_raw(name)
        if raw and name not in body:
            body[name] = raw
    record = _own_target(call, body)
    call.sb.world.remove("templates", int(record["id"]))
    versions = call.sb.world.extra.get(VERSIONS, {})
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
