"""Template endpoints. Every edit gives a template a new ``hash_id``; its numeric ``id`` stays."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from vastplan.api.client import VastClient
from vastplan.api.errors import expect_dict
from vastplan.errors import ApiError


async def search_templates(client: VastClient, select_filters: dict[str, Any]) -> list[dict[str, Any]]:
    body = expect_dict(
        await client.call("GET", "/template/", query={"select_cols": ["*"], "select_filters": select_filters}),
        "GET",
        "/template/",
    )
    rows = body.get("templates")
    if not isinstance(rows, list):
        raise ApiError("the template listing has no 'templates' list", method="GET", path="/template/")
    return [row for row in rows if isinstance(row, dict)]


async def templates_by_id(client: VastClient, ids: Iterable[int]) -> list[dict[str, Any]]:
    wanted = sorted(set(ids))
    return await search_templates(client, {"id": {"in": wanted}}) if wanted else []


async def create_template(client: VastClient, fields: dict[str, Any]) -> dict[str, Any]:
    body = expect_dict(await client.call("POST", "/template/", body=fields, idempotent=False), "POST", "/template/")
    return expect_dict(body.get("template"), "POST", "/template/")


async def update_template(client: VastClient, template_id: int, hash_id: str, fields: dict[str, Any]) -> dict[str, Any]:
    """Send the full template with its ``id`` and current ``hash_id``, as the official CLI does."""
    payload = {**fields, "id": template_id, "hash_id": hash_id}
    body = expect_dict(await client.call("PUT", "/api/v1/template/", body=payload), "PUT", "/api/v1/template/")
    return expect_dict(body.get("template"), "PUT", "/api/v1/template/")


async def delete_template(client: VastClient, template_id: int) -> None:
    await client.call("DELETE", "/template/", body={"template_id": template_id})
