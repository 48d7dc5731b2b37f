"""Serverless: endpoint groups (``/endptjobs/``) and the worker groups (``/workergroups/``, the
official CLI's ``/autojobs/``) that serve them.

An endpoint is the name clients route requests to and its scaling policy; a worker group says which
template and which offers its workers are launched from. Both are kept in the world's ``extra``
sections ``endptjobs`` and ``autojobs`` as ``{id: {"owner": uid, "record": {...}}}``. The autoscaler
that would rent workers is not emulated: a group holds no workers here, so deleting one deletes none
(``deleted_workers: []``), and neither bills. Deleting an endpoint deletes its worker groups, as the
spec says.

``search_params`` is what the official CLI sends: its query language (``gpu_ram>=23 num_gpus=2
verified=True``, parsed as ``vastai search offers`` parses it, GB scaled to MB) or a JSON object; the
listing shows the parsed form as ``search_query``.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from vastsandbox.world import JSON, templates
from vastsandbox.world.errors import Refusal

if TYPE_CHECKING:
    from vastsandbox.world.context import Caller

Record = dict[str, JSON]
ENDPOINTS = "endptjobs"
GROUPS = "autojobs"
FIRST_IDS = {ENDPOINTS: 61001, GROUPS: 72001}
ENDPOINT_STATES = ("active", "suspended", "stopped")

# Field -> (default at create, how a value is read); the spec's and the official CLI's defaults.
ENDPOINT_FIELDS: dict[str, tuple[JSON, Callable[[str, JSON], JSON]]] = {}
GROUP_FIELDS: dict[str, tuple[JSON, Callable[[str, JSON], JSON]]] = {}


def _number(name: str, value: JSON) -> JSON:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise Refusal(400, "invalid_args", f"{name} must be a number")
    try:
        number = float(value)
    except ValueError as exc:
        raise Refusal(400, "invalid_args", f"{name} must be a number") from exc
    if number < 0 or number != number:
        raise Refusal(400, "invalid_args", f"{name} must not be negative")
    return number


def _count(name: str, value: JSON) -> JSON:
    number = _number(name, value)
    if not float(str(number)).is_integer():
        raise Refusal(400, "invalid_args", f"{name} must be a whole number")
    return int(float(str(number)))


def _fraction(name: str, value: JSON) -> JSON:
    number = float(str(_number(name, value)))
    if not 0 < number <= 1:
        raise Refusal(400, "invalid_args", f"{name} must be a fraction greater than 0 and at most 1.0")
    return number


def _text(name: str, value: JSON) -> JSON:
    if not isinstance(value, str):
        raise Refusal(400, "invalid_args", f"{name} must be a string")
    return value


def _state(name: str, value: JSON) -> JSON:
    if value not in ENDPOINT_STATES:
        raise Refusal(400, "invalid_args", f"{name} must be one of {', '.join(ENDPOINT_STATES)}")
    return value


ENDPOINT_FIELDS.update({
    "endpoint_name": ("default-endpoint", _text), "min_load": (0.0, _number), "min_cold_load": (0.0, _number),
    "target_util": (0.9, _fraction), "cold_mult": (2.5, _number), "cold_workers": (5, _count),
    "max_workers": (20, _count), "max_queue_time": (30.0, _number), "target_queue_time": (10.0, _number),
    "inactivity_timeout": (None, _count), "endpoint_state": ("active", _state),
    "autoscaler_instance": ("prod", _text),
})
GROUP_FIELDS.update({
    "min_load": (1.0, _number), "min_cold_load": (0.0, _number), "target_util": (0.9, _fraction),
    "cold_mult": (3.0, _number), "cold_workers": (3, _count), "max_workers": (20, _count),
    "test_workers": (3, _count), "gpu_ram": (24.0, _number), "launch_args": ("", _text),
    "autoscaler_instance": ("prod", _text),
})
FIXED_AFTER_CREATE = frozenset({"cold_workers", "max_workers", "min_cold_load", "autoscaler_instance"})


def _section(call: Caller, name: str) -> dict[str, Record]:
    section: dict[str, Record] = call.sb.world.extra.setdefault(name, {})
    return section


def _moment(epoch: float) -> str:
    """``created_at`` as the spec documents it: a date-time string."""
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _new_id(call: Caller, name: str) -> int:
    ids = call.sb.world.next_ids
    value = int(ids.setdefault(name, FIRST_IDS[name]))
    ids[name] = value + 1
    return value


def owned(call: Caller, name: str) -> list[Record]:
    """The caller's records of one section, in id order."""
    items = _section(call, name).values()
    return [item["record"] for item in sorted(items, key=lambda i: int(i["record"]["id"]))
            if item["owner"] == call.uid]


def find(call: Caller, name: str, obj_id: int) -> Record | None:
    item = _section(call, name).get(str(obj_id))
    return item["record"] if item is not None and item["owner"] == call.uid else None


def _read(fields: dict[str, tuple[JSON, Callable[[str, JSON], JSON]]], body: dict[str, JSON],
          fill: bool) -> Record:
    """The fields ``body`` sets (a null leaves a field as it is, as the CLI sends every option), with
    the defaults filled in when ``fill``."""
    found: Record = {}
    for name, (default, read) in fields.items():
        value = body.get(name)
        if value is not None:
            found[name] = read(name, value)
        elif fill:
            found[name] = default
    return found


# --- endpoints ---------------------------------------------------------------------------------------

def create_endpoint(call: Caller, body: dict[str, JSON]) -> Record:
    fields = _read(ENDPOINT_FIELDS, body, fill=True)
    endpoint_id = _new_id(call, ENDPOINTS)
    token = hashlib.sha256(f"{call.sb.world.seed}/endpoint/{endpoint_id}".encode()).hexdigest()
    record: Record = {"id": endpoint_id, **fields, "api_key": token, "user_id": call.uid,
                      "created_at": _moment(call.now), "auto_delete_in_seconds": None, "auto_delete_due_24h": False}
    _section(call, ENDPOINTS)[str(endpoint_id)] = {"owner": call.uid, "record": record}
    return record


def update_endpoint(call: Caller, endpoint_id: int, body: dict[str, JSON]) -> Record:
    record = find(call, ENDPOINTS, endpoint_id)
    if record is None:
        raise Refusal(400, "invalid_args", "Endpointgroup not found for user")
    record.update(_read(ENDPOINT_FIELDS, body, fill=False))
    return record


def delete_endpoint(call: Caller, endpoint_id: int) -> list[int]:
    """Delete an endpoint and its worker groups; returns the worker groups' ids."""
    if find(call, ENDPOINTS, endpoint_id) is None:
        raise Refusal(400, "invalid_args", "Routegroup not found for user")
    del _section(call, ENDPOINTS)[str(endpoint_id)]
    groups = [int(g["id"]) for g in owned(call, GROUPS) if g.get("endpoint_id") == endpoint_id]
    for group_id in groups:
        del _section(call, GROUPS)[str(group_id)]
    return groups


# --- worker groups -----------------------------------------------------------------------------------

def _endpoint_of(call: Caller, body: dict[str, JSON]) -> Record:
    endpoint_id, name = body.get("endpoint_id"), body.get("endpoint_name")
    found = None
    if endpoint_id not in (None, ""):
        try:
            found = find(call, ENDPOINTS, int(str(endpoint_id)))
        except ValueError:
            found = None
    elif isinstance(name, str) and name:
        found = next((e for e in owned(call, ENDPOINTS) if e["endpoint_name"] == name), None)
    if found is None:
        raise Refusal(400, "invalid_args", "Please assign your workergroup to a valid endpoint identifier")
    return found


def _template_of(call: Caller, body: dict[str, JSON]) -> tuple[int, str]:
    """(template_id, template_hash) of the template ``body`` names by id or hash."""
    template_id, template_hash = body.get("template_id"), body.get("template_hash")
    found = None
    if isinstance(template_hash, str) and template_hash:
        found = templates.find_by_hash(call, template_hash)
    elif template_id not in (None, ""):
        try:
            wanted = int(str(template_id))
        except ValueError:
            wanted = -1
        found = next((t for t in templates.visible(call) if t.get("id") == wanted), None)
    else:
        raise Refusal(400, "invalid_args", "Please provide a template_hash or template_id for the workergroup")
    if found is None:
        raise Refusal(400, "invalid_args", "No template by that template_hash or template_id is available")
    hash_id = template_hash if isinstance(template_hash, str) and template_hash else found["hash_id"]
    return int(found["id"]), str(hash_id)


def create_group(call: Caller, body: dict[str, JSON]) -> Record:
    endpoint = _endpoint_of(call, body)
    template_id, template_hash = _template_of(call, body)
    fields = _read(GROUP_FIELDS, body, fill=True)
    raw = body.get("search_params")
    params, query = parse_search(raw if raw is not None else "verified=true rentable=true rented=false")
    group_id = _new_id(call, GROUPS)
    record: Record = {"id": group_id, **fields, "template_id": template_id, "template_hash": template_hash,
                      "search_params": params, "search_query": query, "endpoint_id": endpoint["id"],
                      "user_id": call.uid, "created_at": _moment(call.now)}
    _section(call, GROUPS)[str(group_id)] = {"owner": call.uid, "record": record}
    return record


def update_group(call: Caller, group_id: int, body: dict[str, JSON]) -> Record:
    record = find(call, GROUPS, group_id)
    if record is None:
        raise Refusal(400, "invalid_args", "Workgroup not found for user")
    # The update takes what the spec's PUT lists: not cold_workers nor max_workers (ignored, as unknown
    # fields are).
    changes = _read({k: v for k, v in GROUP_FIELDS.items() if k not in FIXED_AFTER_CREATE}, body, fill=False)
    if body.get("endpoint_id") not in (None, "") or body.get("endpoint_name") not in (None, ""):
        changes["endpoint_id"] = _endpoint_of(call, body)["id"]
    if body.get("template_id") not in (None, "") or body.get("template_hash") not in (None, ""):
        changes["template_id"], changes["template_hash"] = _template_of(call, body)
    if body.get("search_params") is not None:
        changes["search_params"], changes["search_query"] = parse_search(body["search_params"])
    record.update(changes)
    return record


def delete_group(call: Caller, group_id: int) -> None:
    if find(call, GROUPS, group_id) is None:
        raise Refusal(404, "no_such_workergroup", "No workergroup by that id is available.", id=group_id)
    del _section(call, GROUPS)[str(group_id)]


def show_group(call: Caller, record: Record) -> Record:
    """A worker group as the listing shows it: its endpoint's current name beside its id."""
    endpoint = find(call, ENDPOINTS, int(record["endpoint_id"]))
    return {**record, "endpoint_name": endpoint["endpoint_name"] if endpoint else None,
            "api_key": endpoint["api_key"] if endpoint else None}


# --- search_params -----------------------------------------------------------------------------------

# As the official CLI's ``search offers`` reads a query: these aliases, and GB (days) scaled to the
# API's MB (seconds).
ALIASES = {"cuda_vers": "cuda_max_good", "display_active": "gpu_display_active", "dlperf_usd": "dlperf_per_dphtotal",
           "dph": "dph_total", "flops_usd": "flops_per_dphtotal"}
MULTIPLIERS = {"cpu_ram": 1000.0, "gpu_ram": 1000.0, "gpu_total_ram": 1000.0, "duration": 86400.0}
OPERATORS = {">=": "gte", ">": "gt", "gt": "gt", "gte": "gte", "<=": "lte", "<": "lt", "lt": "lt", "lte": "lte",
             "!=": "neq", "==": "eq", "=": "eq", "eq": "eq", "neq": "neq", "noteq": "neq", "not eq": "neq",
             "notin": "notin", "not in": "notin", "nin": "notin", "in": "in"}
_TERM = re.compile(r"([a-zA-Z0-9_]+)( *[=><!]+| +(?:[lg]te?|nin|neq|eq|not ?eq|not ?in|in) )?( *)"
                   r"(\[[^\]]+\]|\"[^\"]+\"|[^ ]+)?( *)")
API_OPERATORS = frozenset({"eq", "neq", "gt", "gte", "lt", "lte", "in", "notin"})


def parse_search(raw: JSON) -> tuple[str, Record]:
    """(search_params as stored, search_query): a JSON object (as text or as an object) or the CLI's
    query language."""
    if isinstance(raw, dict):
        return json.dumps(raw, sort_keys=True), _checked_json(raw)
    if not isinstance(raw, str):
        raise Refusal(400, "invalid_args", "search_params must be a string")
    text = raw.strip()
    if text.startswith("{"):
        try:
            decoded = json.loads(text)
        except ValueError as exc:
            raise Refusal(400, "invalid_args", f"Invalid search_params: not valid JSON ({exc})") from exc
        if not isinstance(decoded, dict):
            raise Refusal(400, "invalid_args", "Invalid search_params: not a JSON object")
        return raw, _checked_json(decoded)
    return raw, _parse_query(text)


def _checked_json(query: dict[str, JSON]) -> Record:
    for name, condition in query.items():
        if not isinstance(condition, dict) or not set(condition) <= API_OPERATORS:
            raise Refusal(400, "invalid_args", f"Invalid search_params: {name} needs operators such as "
                                                 '{"gte": 24}')
    return dict(query)


def _parse_query(text: str) -> Record:
    terms = _TERM.findall(text)
    if "".join("".join(t) for t in terms) != text:
        raise Refusal(400, "invalid_args", f"Invalid search_params: cannot read {text!r}")
    query: Record = {}
    for name, op, _, value, _ in terms:
        field, op_name = ALIASES.get(name, name), OPERATORS.get(op.strip())
        if op_name is None or not value.strip(",[]"):
            raise Refusal(400, "invalid_args",
                          f"Invalid search_params: {name}{op}{value} needs an operator and a value")
        condition = query.setdefault(field, {})
        assert isinstance(condition, dict)
        condition[op_name] = _value(field, op_name, value.strip(",[]"))
    return query


def _value(field: str, op_name: str, text: str) -> JSON:
    if op_name in ("in", "notin"):
        return [_scalar(field, x.strip()) for x in text.split(",") if x.strip()]
    return _scalar(field, text)


def _scalar(field: str, text: str) -> JSON:
    text = text.replace("_", " ").strip('"')
    if text in ("true", "True"):
        return True
    if text in ("false", "False"):
        return False
    if text in ("None", "null"):
        return None
    try:
        number = float(text)
    except ValueError:
        return text
    number *= MULTIPLIERS.get(field, 1.0)
    return int(number) if number.is_integer() and field not in MULTIPLIERS else number
