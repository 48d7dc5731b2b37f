"""A refresh costs at most one request per kind plus one per 25 objects (the instance page size).

Counted twice, by the client (``VastClient.requests_sent``) and by the sandbox's own counters, so a
request the client forgot to count would still show. Request counts only: no timing here.
"""

from __future__ import annotations

import asyncio
import json
import math
import urllib.request
from pathlib import Path
from typing import Any

from vastplan.api import account, templates
from vastplan.api import instances as instance_api
from vastplan.api.client import VastClient
from vastplan.api.credentials import ApiKey
from vastplan.kinds import KINDS
from vastplan.refresh.live import LiveSnapshot, refresh
from vastplan.state.model import ResourceState, State
from vastsandbox.server import start_in_thread

KEY = "refresh-count-test-key"
INSTANCES, TEMPLATES, SSH_KEYS = 60, 3, 2
PUBKEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK0wmN/Cr3JXqmLW7u+g9pTh+wyqDHpSQEIQczXkVx9q count{}@example"


def admin(url: str, method: str, path: str) -> Any:
    request = urllib.request.Request(f"{url}/_sandbox/{path}", method=method)
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


async def populate(client: VastClient) -> State:
    """Keys, templates and single-GPU instances made through the API, and a state that knows them."""
    resources: dict[str, ResourceState] = {}
    for i in range(SSH_KEYS):
        made = await account.create_ssh_key(client, PUBKEY.format(i))
        resources[f"ssh_keys.k{i}"] = ResourceState("ssh_key", made["id"], {})
    for i in range(TEMPLATES):
        row = await templates.create_template(client, {"name": f"t{i}", "image": "img", "tag": f"{i}",
                                                       "runtype": "ssh", "private": True})
        resources[f"templates.t{i}"] = ResourceState("template", row["id"], {})
    query = {"verified": {"eq": True}, "rentable": {"eq": True}, "num_gpus": {"eq": 1}}
    offers = await instance_api.search_offers(client, query, order=[["dph_total", "asc"]])
    assert len(offers) >= INSTANCES, "the market is too small for the test"
    body = {"client_id": "me", "image": "img:1", "env": {}, "disk": 10.0, "runtype": "ssh"}
    for i, offer in enumerate(offers[:INSTANCES]):
        instance_id = await instance_api.create_instance(client, int(offer["id"]), {**body, "label": f"i{i}"})
        resources[f"instances.w[{i}]"] = ResourceState("instance", instance_id, {})
    return State(lineage="refresh-count", stack="count", resources=resources)


async def refresh_counted(url: str) -> tuple[LiveSnapshot, int]:
    async with VastClient(url, ApiKey(KEY, "test")) as client:
        state = await populate(client)
        before = client.total_requests
        admin(url, "DELETE", "counters")
        live = await refresh(client, KINDS, state, {"ssh_key", "template", "instance"})
        return live, client.total_requests - before


def test_refresh_requests_stay_within_kinds_plus_one_per_25(tmp_path: Path) -> None:
    with start_in_thread(tmp_path / "sandbox", api_key=KEY, boot_seconds=0.05, machines=150,
                         ssh_listeners=False) as sb:
        live, sent = asyncio.run(refresh_counted(sb.url))
        counted = admin(sb.url, "GET", "counters")

    n = INSTANCES + TEMPLATES + SSH_KEYS
    bound = 3 + math.ceil(n / 25)
    assert len(live.objects["instance"]) == INSTANCES
    assert len(live.objects["template"]) == TEMPLATES
    assert len(live.objects["ssh_key"]) == SSH_KEYS
    assert sent == live.requests == counted["total"], counted
    assert counted["total"] <= bound, counted["routes"]
    assert counted["routes"].get("GET /api/v1/instances/") == math.ceil(INSTANCES / 25), counted["routes"]


async def _templates_refreshed(url: str, count: int) -> tuple[int, int]:
    async with VastClient(url, ApiKey(KEY, "test")) as client:
        made = await asyncio.gather(*(templates.create_template(
            client, {"name": f"t{i}", "image": "img", "tag": "1", "runtype": "ssh", "private": True})
            for i in range(count)))
        state = State(lineage="templates", stack="count", resources={
            f"templates.t{i}": ResourceState("template", row["id"], {}) for i, row in enumerate(made)})
        admin(url, "DELETE", "counters")
        live = await refresh(client, KINDS, state, {"template"})
        return len(live.objects["template"]), admin(url, "GET", "counters")["routes"].get("GET /api/v0/template/", 0)


def test_a_thousand_templates_refresh_in_batches_that_fit_a_request_line(tmp_path: Path) -> None:
    """One query with 1,000 ids was a URL the server refused (400, more than 8190 bytes)."""
    with start_in_thread(tmp_path / "sandbox", api_key=KEY, boot_seconds=0.05, ssh_listeners=False) as sb:
        found, requests = asyncio.run(_templates_refreshed(sb.url, 1000))
    assert found == 1000
    assert requests == math.ceil(1000 / templates.IDS_PER_QUERY)
