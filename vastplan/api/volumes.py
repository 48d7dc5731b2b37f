"""Volume endpoints: search volume offers, create, list, delete."""

from __future__ import annotations

from typing import Any

from vastplan.api.client import VastClient
from vastplan.api.errors import expect_dict, expect_rows
from vastplan.errors import ApiError


async def search_volume_offers(client: VastClient, query: dict[str, Any], *,
                               order: list[list[str]]) -> list[dict[str, Any]]:
    answer = expect_dict(await client.call("POST", "/volumes/search/", body={**query, "order": order}),
                          "POST", "/volumes/search/")
    offers = answer.get("offers")
    if not isinstance(offers, list):
        raise ApiError("the volume offer search has no 'offers' list", method="POST", path="/volumes/search/")
    return [o for o in offers if isinstance(o, dict)]


async def list_volumes(client: VastClient) -> list[dict[str, Any]]:
    answer = await client.call("GET", "/volumes", query={"owner": "me", "type": "all_volume"})
    return expect_rows(answer, "volumes", "the volume listing", "GET", "/volumes")


async def create_volume(client: VastClient, offer_id: int, size_gb: int, name: str) -> str:
    answer = expect_dict(
        await client.call("PUT", "/volumes/", body={"size": size_gb, "id": offer_id, "name": name}, idempotent=False),
        "PUT", "/volumes/",
    )
    return str(answer.get("volume_name") or "")


async def delete_volume(client: VastClient, volume_id: int) -> None:
    await client.call("DELETE", "/volumes/", query={"id": volume_id})
