"""The admin API: latency, injected 429/5xx, lost responses, rate limiting, counters."""

from __future__ import annotations

import http.client
import time
import urllib.parse

import pytest
from conftest import Api


def test_counters_count_per_route_template_and_reset(api: Api, admin: Api) -> None:
    api.get("/api/v0/ssh/")
    api.get("/api/v0/ssh")
    api.delete("/api/v0/ssh/12/")
    counters = admin.get("/_sandbox/counters").json
    assert counters["total"] == 3
    assert counters["routes"] == {"GET /api/v0/ssh/": 2, "DELETE /api/v0/ssh/{id}/": 1}
    assert counters["statuses"] == {"200": 2, "400": 1}
    assert admin.delete("/_sandbox/counters").json["total"] == 0
    assert admin.get("/_sandbox/counters").json["routes"] == {}


def test_admin_calls_need_no_key_and_are_not_counted(admin: Api) -> None:
    assert admin.get("/_sandbox/state").status == 200
    assert admin.get("/_sandbox/counters").json["total"] == 0


def test_latency_setting_delays_api_calls(api: Api, admin: Api) -> None:
    assert admin.put("/_sandbox/settings", {"latency_ms": 150}).json["latency_ms"] == 150
    started = time.monotonic()
    api.get("/api/v0/ssh/")
    assert time.monotonic() - started >= 0.15
    admin.put("/_sandbox/settings", {"latency_ms": 0})
    started = time.monotonic()
    api.get("/api/v0/ssh/")
    assert time.monotonic() - started < 0.15


def test_429_burst_with_retry_after_then_recovery(api: Api, admin: Api) -> None:
    rule = admin.post("/_sandbox/faults", {"status": 429, "count": 2, "retry_after": 0.5,
                                           "route": "GET /api/v0/ssh/*", "body": "json"}).json
    assert rule["id"] >= 1
    for _ in range(2):
        answer = api.get("/api/v0/ssh/")
        assert answer.status == 429
        assert answer.headers["Retry-After"] == "0.5"
        assert answer.json["msg"] == "API requests too frequent"
    assert api.get("/api/v0/ssh/").status == 200
    assert api.get("/api/v0/users/current").status == 200


def test_429_plain_text_without_retry_after(api: Api, admin: Api) -> None:
    admin.post("/_sandbox/faults", {"status": 429, "count": 1, "body": "text"})
    answer = api.get("/api/v0/ssh/")
    assert answer.status == 429
    assert "Retry-After" not in answer.headers
    assert answer.raw == b"API requests too frequent"
    assert answer.headers["Content-Type"].startswith("text/plain")


def test_detail_and_quota_bodies(api: Api, admin: Api) -> None:
    admin.post("/_sandbox/faults", {"status": 429, "count": 1, "body": "detail"})
    assert "API requests too frequent" in api.get("/api/v0/ssh/").json["detail"]
    admin.post("/_sandbox/faults", {"status": 429, "count": 1, "body": "quota"})
    quota = api.get("/api/v0/ssh/")
    assert quota.json["error"] == "search_quota_exceeded"
    assert int(quota.headers["X-RateLimit-Reset"]) > time.time()


@pytest.mark.parametrize("status", [500, 502, 503])
def test_5xx_faults(api: Api, admin: Api, status: int) -> None:
    admin.post("/_sandbox/faults", {"status": status, "count": 1})
    assert api.get("/api/v0/ssh/").status == status
    assert api.get("/api/v0/ssh/").status == 200


def test_fault_rate_is_deterministic_for_a_seed(api: Api, admin: Api) -> None:
    admin.post("/_sandbox/faults", {"status": 503, "rate": 0.5})
    first = [api.get("/api/v0/ssh/").status for _ in range(40)]
    assert 5 < first.count(503) < 35  # roughly half, never all or none
    admin.delete("/_sandbox/faults")
    assert admin.get("/_sandbox/faults").json == {"faults": []}
    assert api.get("/api/v0/ssh/").status == 200


def test_fault_limited_by_duration(api: Api, admin: Api) -> None:
    admin.post("/_sandbox/faults", {"status": 500, "duration": 0.3})
    assert api.get("/api/v0/ssh/").status == 500
    time.sleep(0.35)
    assert api.get("/api/v0/ssh/").status == 200


def test_lost_response_still_makes_the_object(api: Api, admin: Api) -> None:
    admin.post("/_sandbox/faults", {"kind": "lose_response", "route": "POST /api/v0/template/",
                                    "status": 502, "count": 1})
    lost = api.post("/api/v0/template/", {"name": "made-anyway", "image": "img"})
    assert lost.status == 502
    names = [t["name"] for t in api.get("/api/v0/template/").json["templates"]]
    assert "made-anyway" in names


def test_dropped_connection_still_makes_the_object(api: Api, admin: Api) -> None:
    admin.post("/_sandbox/faults", {"kind": "lose_response", "route": "/api/v0/ssh/", "drop": True,
                                    "count": 1})
    parts = urllib.parse.urlsplit(api.base)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=5)
    conn.request("POST", "/api/v0/ssh/", body=b'{"ssh_key": "ssh-ed25519 AAAAC3 lost@host"}',
                 headers={"Authorization": "Bearer k", "Content-Type": "application/json"})
    with pytest.raises((ConnectionError, http.client.RemoteDisconnected)):
        conn.getresponse()
    conn.close()
    keys = Api(api.base, key="k").get("/api/v0/ssh/").json
    assert [k["key"] for k in keys] == ["ssh-ed25519 AAAAC3 lost@host"]


def test_rate_limit_mode_per_endpoint_and_key(api: Api, admin: Api) -> None:
    admin.put("/_sandbox/rate_limit", {"interval": 10, "retry_after": True, "body": "detail",
                                       "routes": {"GET /api/v0/users/current/": 0}})
    assert api.get("/api/v0/ssh/").status == 200
    limited = api.get("/api/v0/ssh/")
    assert limited.status == 429
    assert limited.json == {"detail": "API requests too frequent endpoint threshold=10"}
    assert 0 < float(limited.headers["Retry-After"]) <= 10
    assert api.get("/api/v0/template/").status == 200          # another endpoint
    assert Api(api.base, key="other").get("/api/v0/ssh/").status == 200  # another identity
    assert api.get("/api/v0/users/current").status == 200
    assert api.get("/api/v0/users/current").status == 200       # its own interval is 0
    admin.delete("/_sandbox/rate_limit")
    assert api.get("/api/v0/ssh/").status == 200


def test_bad_fault_specs_are_refused(admin: Api) -> None:
    assert admin.post("/_sandbox/faults", {"status": 200}).status == 400
    assert admin.post("/_sandbox/faults", {"rate": 2}).status == 400
    assert admin.post("/_sandbox/faults", {"kind": "explode"}).status == 400


def test_state_dump_shows_the_world(api: Api, admin: Api) -> None:
    api.post("/api/v0/ssh/", {"ssh_key": "ssh-ed25519 AAAAC3 a@b"})
    state = admin.get("/_sandbox/state").json
    assert set(state) >= {"settings", "counters", "faults", "world"}
    assert len(state["world"]["objects"]["ssh_keys"]) == 1


def test_vast_preset_limits_only_the_documented_endpoints(api: Api, admin: Api) -> None:
    limit = admin.put("/_sandbox/rate_limit", {"preset": "vast"}).json["rate_limit"]
    assert limit["routes"]["PUT /api/v0/asks/*"] == 4.5 and limit["interval"] == 0
    assert [api.get("/api/v0/ssh/").status for _ in range(3)] == [200, 200, 200]
    first = api.put("/api/v0/asks/1/", {})
    assert first.status == 404  # allowed through (and the offer does not exist)
    second = api.put("/api/v0/asks/1/", {})
    assert second.status == 429 and second.raw.startswith(b"API requests too frequent")


def test_malformed_numbers_are_400_not_500(api: Api) -> None:
    answer = api.put("/api/v0/instances/", {"state": "stopped", "ids": ["not-a-number"]})
    assert answer.status == 400 and answer.json["error"] == "invalid_args"
