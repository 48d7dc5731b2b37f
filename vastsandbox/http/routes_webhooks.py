"""Notification webhooks (``/api/v0/webhooks/``) and the notification types they subscribe to.

The official CLI 1.9.1 has no webhook command; its API client reaches these routes as any other.
Create and rotate-secret answer the signing secret (``webhook_secret``) once; the listing never shows
it. The sandbox delivers nothing: ``/test`` says so instead of pretending (docs/sandbox.md).
"""

from __future__ import annotations

import secrets as random_secrets
from urllib.parse import urlsplit

from vastsandbox.http.router import Call, Reply, Route
from vastsandbox.world import JSON
from vastsandbox.world.errors import Refusal

SECTION = "webhooks"
FIRST_ID = 61001
MAX_WEBHOOKS = 20  # per user; the spec names no number (docs/sandbox.md)
NAME_MAX, URL_MAX = 120, 2048  # the spec's maxLength of name and webhook_url
Record = dict[str, JSON]

# (key, context, topic, display name): the types the spec's examples name, and a few more of the kind.
TYPES = (
    ("client:low_credit", "client", "billing", "Low balance notifications"),
    ("client:outbid", "client", "instances", "Instance outbid"),
    ("client:instance_stopped", "client", "instances", "Instance stopped"),
    ("client:instance_expiring", "client", "instances", "Instance contract expiring"),
    ("host:machine_offline", "host", "machines", "Machine offline"),
)
TYPE_KEYS = frozenset(t[0] for t in TYPES)


def notification_types(call: Call) -> Reply:
    return Reply({"success": True, "notification_types": [
        {"key": key, "context": context, "topic": topic, "category": topic, "display_name": name,
         "default_preferences": {"email": True, "webhooks": False}, "mandatory_email": False}
        for key, context, topic, name in TYPES]})


def _section(call: Call) -> dict[str, Record]:
    section: dict[str, dict[str, Record]] = call.sb.world.extra.setdefault(SECTION, {})
    return section.setdefault(str(call.uid), {})


def _shown(record: Record) -> Record:
    return {k: v for k, v in record.items() if k != "webhook_secret"}


def _checked(body: dict[str, JSON], partial: bool) -> Record:
    fields: Record = {}
    if "name" in body or not partial:
        name = body.get("name")
        if name is not None and (not isinstance(name, str) or len(name) > NAME_MAX):
            raise Refusal(400, "invalid_args", f"name must be text of at most {NAME_MAX} characters.")
        fields["name"] = name
    if "webhook_url" in body or not partial:
        url = body.get("webhook_url")
        parts = urlsplit(url) if isinstance(url, str) else None
        if parts is None or parts.scheme not in ("http", "https") or not parts.netloc or len(str(url)) > URL_MAX:
            raise Refusal(400, "invalid_args", "webhook_url must be an http(s) URL of at most 2048 characters.")
        fields["webhook_url"] = url
    if "event_types" in body or not partial:
        events = body.get("event_types")
        if not isinstance(events, list) or not events or not all(isinstance(e, str) for e in events):
            raise Refusal(400, "invalid_args", "event_types must be a non-empty list of notification type keys.")
        unknown = sorted(set(map(str, events)) - TYPE_KEYS)
        if unknown:
            raise Refusal(400, "invalid_args", f"Unknown notification types: {', '.join(unknown)} "
                                               "(GET /api/v0/notification-types lists them).")
        fields["event_types"] = list(dict.fromkeys(map(str, events)))
    return fields


def _own(call: Call) -> Record:
    record = _section(call).get(str(call.param_int("id")))
    if record is None:
        raise Refusal(404, "no_such_webhook", f"Webhook {call.params['id']} not found.")
    return record


def list_webhooks(call: Call) -> Reply:
    return Reply({"success": True, "webhooks": [_shown(r) for r in _section(call).values()]})


def create_webhook(call: Call) -> Reply:
    fields = _checked(call.body_dict(), partial=False)
    owned = _section(call)
    if len(owned) >= MAX_WEBHOOKS:
        raise Refusal(400, "max_webhooks", f"You can have at most {MAX_WEBHOOKS} notification webhooks.")
    next_ids = call.sb.world.next_ids
    webhook_id = next_ids.setdefault(SECTION, FIRST_ID)
    next_ids[SECTION] = webhook_id + 1
    record: Record = {"id": webhook_id, "user_id": call.uid, **fields, "created_at": call.now,
                      "updated_at": call.now, "webhook_secret": random_secrets.token_urlsafe(32)}
    owned[str(webhook_id)] = record
    call.sb.changed()
    return Reply({"success": True, "webhook": dict(record), "enabled_notification_preferences": fields["event_types"]})


def update_webhook(call: Call) -> Reply:
    record = _own(call)
    record.update(_checked(call.body_dict(), partial=True), updated_at=call.now)
    call.sb.changed()
    return Reply({"success": True, "webhook": _shown(record),
                  "enabled_notification_preferences": record["event_types"]})


def delete_webhook(call: Call) -> Reply:
    record = _own(call)
    del _section(call)[str(record["id"])]
    call.sb.changed()
    return Reply({"success": True})


def rotate_secret(call: Call) -> Reply:
    record = _own(call)
    record.update(webhook_secret=random_secrets.token_urlsafe(32), updated_at=call.now)
    call.sb.changed()
    return Reply({"success": True, "webhook": dict(record)})


def try_webhook(call: Call) -> Reply:
    _own(call)
    raise Refusal(400, "delivery_failed", "The sandbox delivers no webhooks (it reaches nothing beyond loopback).")


ROUTES = [
    Route("GET", "/api/v0/notification-types/", notification_types),
    Route("GET", "/api/v0/webhooks/", list_webhooks),
    Route("POST", "/api/v0/webhooks/", create_webhook),
    Route("PUT", "/api/v0/webhooks/{id}/", update_webhook),
    Route("DELETE", "/api/v0/webhooks/{id}/", delete_webhook),
    Route("POST", "/api/v0/webhooks/{id}/rotate-secret/", rotate_secret),
    Route("POST", "/api/v0/webhooks/{id}/test/", try_webhook),
]
