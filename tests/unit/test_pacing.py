"""The client's per-endpoint pacing, against the sandbox's rate-limit mode over loopback."""

from __future__ import annotations

import asyncio
import json
import urllib.request

from tests.harness import CANARY_API_KEY
from vastplan.api.client import RetryPolicy, VastClient
from vastplan.api.credentials import ApiKey
from vastplan.api.pacing import Pacer, route_of
from vastsandbox.server import RunningSandbox


def test_routes_name_endpoints_not_objects() -> None:
    assert route_of("PUT", "/asks/4000529/") == "PUT /asks/{id}/"
    assert route_of("GET", "/api/v1/instances/") == "GET /api/v1/instances/"


def test_a_stated_threshold_is_learned_and_a_guess_decays() -> None:
    pacer = Pacer()
    pacer.throttled_by("PUT /asks/{id}/", None, '{"detail": "API requests too frequent endpoint threshold=1.5"}',
                       sent_at=0.0)
    assert pacer.interval["PUT /asks/{id}/"] == 1.5 * 1.05  # the stated threshold, plus a margin
    for _ in range(10):
        pacer.succeeded("PUT /asks/{id}/")
    assert pacer.interval["PUT /asks/{id}/"] == 1.5 * 1.05  # the server said so: no probing below it
    pacer.throttled_by("GET /ssh/", None, "API requests too frequent", sent_at=0.0)
    pacer.throttled_by("GET /ssh/", None, "API requests too frequent", sent_at=0.0)
    assert pacer.interval["GET /ssh/"] == 0.5  # both sent before the first guess: one lesson
    pacer.throttled_by("GET /ssh/", None, "API requests too frequent", sent_at=float("inf"))
    assert pacer.interval["GET /ssh/"] == 1.0  # sent under the guess and still refused: doubled
    for _ in range(120):
        pacer.succeeded("GET /ssh/")
    assert "GET /ssh/" not in pacer.interval


def test_concurrent_calls_under_a_rate_limit_all_succeed_with_few_429s(sandbox: RunningSandbox) -> None:
    body = json.dumps({"interval": 0.2, "routes": {}, "retry_after": False, "body": "text"}).encode()
    request = urllib.request.Request(f"{sandbox.admin_url}/rate_limit", data=body, method="PUT",
                                     headers={"Content-Type": "application/json"})
    urllib.request.urlopen(request, timeout=10).read()

    async def burst() -> tuple[int, int]:
        async with VastClient(sandbox.url, ApiKey(CANARY_API_KEY, "test"), retry=RetryPolicy(deadline=30)) as client:
            # distinct calls (identical GETs in flight would be sent once)
            await asyncio.gather(*(client.call("GET", f"/instances/{9_000_000 + i}/") for i in range(10)))
            return client.total_requests, client.pacer.throttled

    sent, throttled = asyncio.run(burst())
    assert sent - throttled == 10  # every call got through
    assert throttled <= 12  # paced after the first few 429s, not a storm of blind retries
