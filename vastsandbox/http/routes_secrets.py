"""Account environment variables (``/api/v0/secrets/``; the CLI's ``create/show/update/delete env-var``).

Vast.ai upper-cases each key and encrypts each value before storing it; the listing returns the
values (the CLI masks them itself unless ``show env-vars -s``). Here a value is kept XORed with a
keystream from a random per-world key, so the sandbox's data file never holds one in clear (the test
suite scans every file it wrote for its secret canaries). ``update env-var`` is ``PUT`` with create's
body; its documented errors (``invalid_characters``, ``nonexistent_key``) serve the other verbs too.
"""

from __future__ import annotations

import hashlib
import re
import secrets as random_secrets

from vastsandbox.http.router import Call, Reply, Route
from vastsandbox.world import JSON
from vastsandbox.world.errors import Refusal

SECTION = "secrets"
KEY_SECTION = "secrets_key"
MAX_SECRETS = 100  # "There is a limit on the total number of environment variables per user" (spec)
VALUE = re.compile(r"^[a-zA-Z0-9_\-\.]+$")  # the spec's pattern for a value
KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _stream(call: Call, key: str, length: int) -> bytes:
    world_key = call.sb.world.extra.get(KEY_SECTION)
    if not isinstance(world_key, str):
        world_key = call.sb.world.extra[KEY_SECTION] = random_secrets.token_hex(32)
    out = b""
    counter = 0
    while len(out) < length:
        out += hashlib.sha256(f"{world_key}\0{call.uid}\0{key}\0{counter}".encode()).digest()
        counter += 1
    return out[:length]


def _seal(call: Call, key: str, value: str) -> str:
    data = value.encode()
    return bytes(a ^ b for a, b in zip(data, _stream(call, key, len(data)), strict=True)).hex()


def _open(call: Call, key: str, sealed: str) -> str:
    data = bytes.fromhex(sealed)
    return bytes(a ^ b for a, b in zip(data, _stream(call, key, len(data)), strict=True)).decode()


def _owned(call: Call) -> dict[str, JSON]:
    section: dict[str, dict[str, JSON]] = call.sb.world.extra.setdefault(SECTION, {})
    return section.setdefault(str(call.uid), {})


def _input(call: Call, need_value: bool = True) -> tuple[str, str]:
    body = call.body_dict()
    key, value = body.get("key"), body.get("value")
    if not isinstance(key, str) or not key.strip() or (need_value and (not isinstance(value, str) or value == "")):
        raise Refusal(400, "missing_input", "Both 'key' and 'value' are required." if need_value
                      else "'key' is required.")
    key = key.strip().upper()
    if not KEY.match(key):
        raise Refusal(400, "invalid_characters", f"Invalid key {key!r}: use letters, digits and _, "
                                           "not starting with a digit.")
    if need_value and not VALUE.match(str(value)):
        # Never echo the value: it is a secret.
        raise Refusal(400, "invalid_characters", "Invalid value: use only letters, digits, '_', '-' and '.'.")
    return key, str(value) if need_value else ""


def list_secrets(call: Call) -> Reply:
    owned = _owned(call)
    return Reply({"success": True,
                  "secrets": {key: _open(call, key, str(rec["sealed"]))
                              for key, rec in sorted(owned.items()) if isinstance(rec, dict)}})


def create_secret(call: Call) -> Reply:
    key, value = _input(call)
    owned = _owned(call)
    if key in owned:
        raise Refusal(400, "existing_key", f"Environment variable {key} already exists; update it instead.")
    if len(owned) >= MAX_SECRETS:
        raise Refusal(400, "max_secrets", f"You can have at most {MAX_SECRETS} environment variables.")
    owned[key] = {"sealed": _seal(call, key, value), "created_at": call.now, "updated_at": call.now}
    call.sb.changed()
    return Reply({"success": True, "msg": "Environment variable added successfully"})


def update_secret(call: Call) -> Reply:
    key, value = _input(call)
    owned = _owned(call)
    record = owned.get(key)
    if not isinstance(record, dict):
        raise Refusal(400, "nonexistent_key", f"Environment variable {key} does not exist.")
    record.update({"sealed": _seal(call, key, value), "updated_at": call.now})
    call.sb.changed()
    return Reply({"success": True, "msg": "Environment variable updated successfully"})


def delete_secret(call: Call) -> Reply:
    key, _ = _input(call, need_value=False)
    owned = _owned(call)
    if key not in owned:
        raise Refusal(400, "nonexistent_key", f"Environment variable {key} does not exist.")
    del owned[key]
    call.sb.changed()
    return Reply({"success": True, "msg": "Environment variable deleted successfully"})


ROUTES = [
    Route("GET", "/api/v0/secrets/", list_secrets),
    Route("POST", "/api/v0/secrets/", create_secret),
    Route("PUT", "/api/v0/secrets/", update_secret),
    Route("DELETE", "/api/v0/secrets/", delete_secret),
]
