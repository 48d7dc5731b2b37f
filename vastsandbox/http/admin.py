"""The admin API under ``/_sandbox/``: settings, faults, rate limiting, counters, state dump.

No authentication and never counted. Bodies and answers are JSON; see docs/sandbox.md.
"""

from __future__ import annotations

from vastsandbox.http.router import Call, Reply, Route
from vastsandbox.world import JSON, contention
from vastsandbox.world.errors import Refusal
from vastsandbox.world.store import key_hash


def _number(body: dict[str, JSON], name: str, low: float = 0.0) -> float | None:
    if name not in body or body[name] is None:
        return None
    try:
        value = float(body[name])
    except (TypeError, ValueError) as exc:
        raise Refusal(400, "invalid_args", f"{name} must be a number") from exc
    if value < low:
        raise Refusal(400, "invalid_args", f"{name} must be >= {low}")
    return value


def get_settings(call: Call) -> Reply:
    return Reply(call.sb.control.settings())


def put_settings(call: Call) -> Reply:
    body = call.body_dict()
    control = call.sb.control
    latency = _number(body, "latency_ms")
    boot = _number(body, "boot_seconds")
    if latency is not None:
        control.latency_ms = latency
    if boot is not None:
        control.boot_seconds = boot
    if "new_instance_fate" in body:
        fate = body["new_instance_fate"]
        if fate not in (None, "loading", "exited", "offline"):
            raise Refusal(400, "invalid_args", "new_instance_fate must be null, loading, exited or offline")
        control.new_instance_fate = str(fate) if fate else None
    if "competing_bid_factor" in body:
        control.competing_bid_factor = _number(body, "competing_bid_factor", 1.0)
        contention.check_all_bids(call.sb, call.now)
        call.sb.changed()
    return Reply(control.settings())


def state(call: Call) -> Reply:
    sb = call.sb
    return Reply({"settings": sb.control.settings(), "counters": sb.control.counters(),
                  "faults": [r.to_json() for r in sb.control.faults], "now": call.now,
                  "world": sb.world.to_json()})


def list_faults(call: Call) -> Reply:
    call.sb.control.prune(call.now)
    return Reply({"faults": [r.to_json() for r in call.sb.control.faults]})


def add_fault(call: Call) -> Reply:
    rule = call.sb.control.add_fault(call.body_dict(), call.now)
    return Reply(rule.to_json())


def clear_faults(call: Call) -> Reply:
    call.sb.control.faults.clear()
    return Reply({"success": True})


def delete_fault(call: Call) -> Reply:
    fault_id = call.param_int("id")
    control = call.sb.control
    before = len(control.faults)
    control.faults = [r for r in control.faults if r.id != fault_id]
    if len(control.faults) == before:
        raise Refusal(404, "not_found", f"No fault {fault_id}.")
    return Reply({"success": True})


def get_counters(call: Call) -> Reply:
    return Reply(call.sb.control.counters())


def reset_counters(call: Call) -> Reply:
    call.sb.control.reset_counters()
    return Reply(call.sb.control.counters())


def get_rate_limit(call: Call) -> Reply:
    return Reply({"rate_limit": call.sb.control.settings()["rate_limit"]})


def put_rate_limit(call: Call) -> Reply:
    call.sb.control.set_rate_limit(call.body_dict())
    return get_rate_limit(call)


def delete_rate_limit(call: Call) -> Reply:
    call.sb.control.set_rate_limit(None)
    return get_rate_limit(call)


def add_key(call: Call) -> Reply:
    """Accept one more API key (a second account) on a sandbox started with a fixed key."""
    api_key = call.body_dict().get("api_key")
    if not isinstance(api_key, str) or not api_key:
        raise Refusal(400, "invalid_args", "api_key is required")
    if call.sb.accepted_keys:
        call.sb.accepted_keys.add(key_hash(api_key))
    user = call.sb.world.user_for_key(api_key, call.now)
    call.sb.changed()
    return Reply({"success": True, "user_id": user["id"]})


def advance_clock(call: Call) -> Reply:
    """Move the sandbox clock forward (bills accrue, boots finish) without waiting."""
    seconds = _number(call.body_dict(), "seconds")
    if seconds is None:
        raise Refusal(400, "invalid_args", "seconds is required")
    call.sb.control.clock_offset += seconds
    return Reply({"clock_offset": call.sb.control.clock_offset, "now": call.sb.now()})


def flush(call: Call) -> Reply:
    call.sb.store.mark_dirty()
    call.sb.store.save()
    return Reply({"success": True})


ROUTES = [
    Route("GET", "/_sandbox/state/", state, auth=False),
    Route("GET", "/_sandbox/settings/", get_settings, auth=False),
    Route("PUT", "/_sandbox/settings/", put_settings, auth=False),
    Route("GET", "/_sandbox/faults/", list_faults, auth=False),
    Route("POST", "/_sandbox/faults/", add_fault, auth=False),
    Route("DELETE", "/_sandbox/faults/", clear_faults, auth=False),
    Route("DELETE", "/_sandbox/faults/{id}/", delete_fault, auth=False),
    Route("GET", "/_sandbox/counters/", get_counters, auth=False),
    Route("DELETE", "/_sandbox/counters/", reset_counters, auth=False),
    Route("POST", "/_sandbox/counters/reset/", reset_counters, auth=False),
    Route("GET", "/_sandbox/rate_limit/", get_rate_limit, auth=False),
    Route("PUT", "/_sandbox/rate_limit/", put_rate_limit, auth=False),
    Route("DELETE", "/_sandbox/rate_limit/", delete_rate_limit, auth=False),
    Route("POST", "/_sandbox/keys/", add_key, auth=False),
    Route("POST", "/_sandbox/clock/", advance_clock, auth=False),
    Route("POST", "/_sandbox/flush/", flush, auth=False),
]
