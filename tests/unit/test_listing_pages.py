"""Refresh pages carry small tallies: known instances are listed by id, and the account's label tally
comes from the one unfiltered page the refresh starts with, so the orphan scan costs no request and
no page grows with the account. Against the real sandbox over loopback; counts only, no timing."""

from __future__ import annotations

import asyncio
import json
import urllib.request
from pathlib import Path
from typing import Any

from vastplan.api import instances as instance_api
from vastplan.api.client import VastClient
from vastplan.api.credentials import ApiKey
from vastsandbox.server import start_in_thread

KEY = "listing-pages-test-key"
BODY = {"client_id": "me", "image": "img:1", "env": {}, "disk": 10.0, "runtype": "ssh"}


def counters(url: str) -> Any:
    with urllib.request.urlopen(f"{url}/_sandbox/counters", timeout=30) as response:
        return json.loads(response.read())


async def rent(client: VastClient, labels: list[str]) -> list[int]:
    ids = []
    for label in labels:
        query = {"rentable": {"eq": True}, "num_gpus": {"eq": 1}}
        offer = (await instance_api.search_offers(client, query, order=[["dph_total", "asc"]], limit=1))[0]
        ids.append(await instance_api.create_instance(client, int(offer["id"]), {**BODY, "label": label}))
    return ids


async def scenario(url: str) -> tuple[list[dict[str, Any]], dict[str, int], list[int], int]:
    async with VastClient(url, ApiKey(KEY, "test")) as client:
        # Instances the state does not know, with lower ids than the known ones: the first,
        # unfiltered page is all theirs, so the known ones it missed need one request more.
        await rent(client, [f"other-{i}" for i in range(27)])
        known = await rent(client, [f"vp:s/instances.w[{i}]" for i in range(30)])
    async with VastClient(url, ApiKey(KEY, "test")) as client:
        before = client.total_requests
        rows = await instance_api.instances_by_id(client, known, ["id", "label"], with_tally=True)
        sent = client.total_requests - before
        tally = await instance_api.label_counts(client)  # answered from the first page: no request
        assert client.total_requests - before == sent
    return rows, tally, known, sent


def test_refresh_pages_find_every_known_instance_and_the_account_tally(tmp_path: Path) -> None:
    with start_in_thread(tmp_path / "sb", api_key=KEY, boot_seconds=0.05, ssh_listeners=False, machines=120) as sb:
        rows, tally, known, sent = asyncio.run(scenario(sb.url))
        listing = counters(sb.url)
    assert sorted(r["id"] for r in rows) == sorted(known) and all(set(r) == {"id", "label"} for r in rows)
    assert len(tally) == 57 and tally["other-0"] == 1 and tally["vp:s/instances.w[29]"] == 1
    # 1 unfiltered page + 1 page of the 5 ids past the first 25 + 1 for the 25 the first page missed
    assert sent == 3 and listing["routes"]["GET /api/v1/instances/"] >= 3


def test_a_filtered_pages_tally_is_only_what_it_matched(tmp_path: Path) -> None:
    async def run(url: str) -> list[dict[str, Any]]:
        async with VastClient(url, ApiKey(KEY, "test")) as client:
            ids = await rent(client, [f"l{i}" for i in range(3)])
            return [await client.call("GET", "/api/v1/instances/",
                                      query={"select_filters": {"id": {"in": ids[:1]}}, "limit": 25})]

    with start_in_thread(tmp_path / "sb", api_key=KEY, boot_seconds=0.05, ssh_listeners=False) as sb:
        page = asyncio.run(run(sb.url))[0]
    assert page["label_counts"] == {"l0": 1} and len(page["instances"]) == 1
