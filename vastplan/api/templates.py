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


IDS_PER_QUERY = 200  # keeps the query string (URL-encoded JSON) far below a server's 8 KB request line


async def templates_by_id(client: VastClient, ids: Iterable[int]) -> list[dict[str, Any]]:
    """The templates with these ids, in batches of ``IDS_PER_QUERY`` sent at once (one request up to
    200 templates: 1,000 ids in one query were refused with ``400 Got more than 8190 bytes``)."""
    wanted = sorted(set(ids))
    batches = [wanted[i:i + IDS_PER_QUERY] for i in range(0, len(wanted), IDS_PER_QUERY)]
    import asyncio

    pages = await asyncio.gather(*(search_templates(client, {"id": {"in": batch}}) for batch in batches))
    return [row for page in pages for row in page]


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
