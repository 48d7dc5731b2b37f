"""Account routes beyond the user and SSH keys: API keys (read) and ``set user``."""

from __future__ import annotations

from vastsandbox.http.router import Call, Reply, Route
from vastsandbox.world import JSON, profile
from vastsandbox.world.errors import Refusal


def _key_row(call: Call) -> dict[str, JSON]:
    """Each sandbox account is one API key; its row never carries the key itself. The account is in
    no team, so ``team_id``/``team_name`` are left out (the spec types them integer and string)."""
    user = call.sb.world.users_by_id[call.uid]
    return {"id": call.uid, "user_id": call.uid, "key_name": "sandbox key", "rights": "all",
            "created_at": user.get("created_at")}


def list_keys(call: Call) -> Reply:
    return Reply({"apikeys": [_key_row(call)]})


def show_key(call: Call) -> Reply:
    if call.param_int("id") != call.uid:
        raise Refusal(404, "no_such_key", "API key not found.")
    return Reply(_key_row(call))


def set_user(call: Call) -> Reply:
    user = call.sb.world.users_by_id[call.uid]
    changed = profile.update(user, call.body_dict())
    call.sb.changed()
    return Reply({"success": True, "msg": f"Updated {', '.join(sorted(changed))}."})


ROUTES = [
    Route("GET", "/api/v0/auth/apikeys/", list_keys),
    Route("GET", "/api/v0/auth/apikeys/{id}/", show_key),
    Route("PUT", "/api/v0/users/", set_user),
]
