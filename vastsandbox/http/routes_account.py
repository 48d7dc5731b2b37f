"""The account: current user, GPU names, and account SSH keys (``/api/v0/ssh/``)."""

from __future__ import annotations

from datetime import datetime, timezone

from vastsandbox.http.router import Call, Reply, Route
from vastsandbox.world import JSON, billing, prepay
from vastsandbox.world.catalog import GPU_MODELS
from vastsandbox.world.errors import Refusal

KEY_TYPES = ("ssh-", "ecdsa-sha2-", "sk-ssh-", "sk-ecdsa-")


def current_user(call: Call) -> Reply:
    user = call.sb.world.users_by_id[call.uid]
    uid = int(user["id"])
    spent = billing.spent(call, uid)
    keys = call.sb.world.owned("ssh_keys", uid)
    locked = prepay.locked(call.sb.world.owned("instances", uid), call.now)  # held in instance deposits
    credit = round(float(user.get("credit", 0.0)) - spent - locked, 6)
    return Reply({
        "id": uid, "key_id": uid, "sid": f"sandbox-{uid}", "user": f"user{uid}",
        "username": f"user{uid}", "fullname": f"Sandbox User {uid}", "email": f"user{uid}@sandbox.invalid",
        "email_verified": True, "balance": 0.0, "credit": credit,
        "balance_threshold": 0.0, "balance_threshold_enabled": False,
        "billaddress_city": None, "billaddress_country": None, "billaddress_line1": None,
        "billaddress_line2": None, "billaddress_zip": None, "billed_expected": 0.0, "billed_verified": 0.0,
        "billing_creditonly": False, "can_pay": True, "has_billing": True, "has_payout": False,
        "got_signup_credit": True, "last4": None, "paid_expected": 0.0, "paid_verified": 0.0,
        "password_resettable": False, "host_agreement_accepted": False, "is_test": True,
        "ssh_key": keys[-1]["key"] if keys else None, "created_at": user.get("created_at"),
        **(user.get("profile") or {}),  # what `set user` changed
    })


def gpu_names(call: Call) -> Reply:
    return Reply({"gpu_names": sorted(model.name for model in GPU_MODELS)})


def _key_text(body: dict[str, JSON]) -> str:
    text = body.get("ssh_key")
    if not isinstance(text, str) or not text.strip():
        raise Refusal(400, "no_ssh_key", "No ssh key provided")
    text = text.strip()
    parts = text.split()
    if len(parts) < 2 or not parts[0].startswith(KEY_TYPES):
        # The spec's only 400 code here is no_ssh_key.
        raise Refusal(400, "no_ssh_key", "Invalid ssh key: expected an OpenSSH public key.")
    return text


def _timestamp(value: JSON) -> JSON:
    """The spec's ``date-time`` text for a stored epoch time."""
    if not isinstance(value, (int, float)):
        return value
    return datetime.fromtimestamp(value, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _listed(record: dict[str, JSON]) -> dict[str, JSON]:
    return {"id": record["id"], "user_id": record["user_id"], "key": record["key"],
            "created_at": _timestamp(record["created_at"]), "deleted_at": _timestamp(record["deleted_at"])}


def _created(record: dict[str, JSON]) -> dict[str, JSON]:
    return {"id": record["id"], "user_id": record["user_id"], "public_key": record["key"],
            "created_at": _timestamp(record["created_at"]), "deleted_at": _timestamp(record["deleted_at"])}


def list_keys(call: Call) -> Reply:
    return Reply([_listed(r) for r in call.sb.world.owned("ssh_keys", call.uid)])


def add_key(call: Call) -> Reply:
    text = _key_text(call.body_dict())
    world = call.sb.world
    record: dict[str, JSON] = {"id": world.new_id("ssh_keys"), "user_id": call.uid, "key": text,
                               "created_at": call.now, "deleted_at": None}
    world.insert("ssh_keys", record, call.uid)
    # The docs: a key added to the account is pushed to every current instance too.
    for instance in world.owned("instances", call.uid):
        instance["ssh_keys"].append({"id": record["id"], "public_key": text})
    call.sb.changed()
    return Reply({"success": True, "key": _created(record)})


def update_key(call: Call) -> Reply:
    record = call.sb.world.get("ssh_keys", call.param_int("id"), call.uid)
    if record is None:
        raise Refusal(404, "no_such_ssh_key", "SSH key not found.")
    record["key"] = _key_text(call.body_dict())
    call.sb.changed()
    return Reply({"success": True, "key": _created(record)})


def delete_key(call: Call) -> Reply:
    key_id = call.param_int("id")
    if call.sb.world.get("ssh_keys", key_id, call.uid) is None:
        raise Refusal(400, "no_ssh_key", "No ssh key provided")
    call.sb.world.remove("ssh_keys", key_id)
    call.sb.changed()
    return Reply({"success": True})


ROUTES = [
    Route("GET", "/api/v0/users/current/", current_user),
    Route("GET", "/api/v0/gpu_names/unique/", gpu_names, auth=False),
    Route("GET", "/api/v0/ssh/", list_keys),
    Route("POST", "/api/v0/ssh/", add_key),
    Route("PUT", "/api/v0/ssh/{id}/", update_key),
    Route("DELETE", "/api/v0/ssh/{id}/", delete_key),
]
