"""Instance endpoints, and the marketplace search that finds offers to rent."""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Sequence
from typing import Any

from vastplan.api.client import VastClient
from vastplan.api.errors import expect_dict
from vastplan.errors import ApiError

PAGE = 25  # the v1 listing's largest page
# The account-wide label_counts an unfiltered listing page gave each client (for one command's orphan scan).
# A filtered page's label_counts covers only what its filters match (docs/sandbox.md), so only an
# unfiltered page's is kept.
_LABEL_COUNTS: weakref.WeakKeyDictionary[VastClient, dict[str, Any]] = weakref.WeakKeyDictionary()


async def search_offers(client: VastClient, query: dict[str, Any], *, order: list[list[str]],
                        offer_type: str = "on-demand", limit: int | None = None) -> list[dict[str, Any]]:
    body: dict[str, Any] = {**query, "order": order, "type": offer_type}
    if limit is not None:
        body["limit"] = limit
    answer = expect_dict(await client.call("POST", "/bundles/", body=body), "POST", "/bundles/")
    offers = answer.get("offers")
    if not isinstance(offers, list):
        raise ApiError("the offer search has no 'offers' list", method="POST", path="/bundles/")
    return [o for o in offers if isinstance(o, dict)]


async def list_instances(client: VastClient, select_filters: dict[str, Any],
                         cols: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Every instance matching ``select_filters``, following ``next_token`` page by page; only the
    columns ``cols`` when given (a page then weighs a fraction of the full rows)."""
    rows: list[dict[str, Any]] = []
    token: str | None = None
    while True:
        query: dict[str, Any] = {"select_filters": select_filters,
                                 "order_by": [{"col": "id", "dir": "asc"}], "limit": PAGE}
        if cols:
            query["select_cols"] = list(cols)
        if token:
            query["after_token"] = token
        page = expect_dict(await client.call("GET", "/api/v1/instances/", query=query), "GET", "/api/v1/instances/")
        found = page.get("instances")
        if not isinstance(found, list):
            raise ApiError("the instance listing has no 'instances' list", method="GET", path="/api/v1/instances/")
        rows += [r for r in found if isinstance(r, dict)]
        if not select_filters and isinstance(page.get("label_counts"), dict):
            _LABEL_COUNTS[client] = page["label_counts"]
        token = page.get("next_token")
        if not token or not found:
            return rows


async def instances_by_id(client: VastClient, ids: Iterable[int], cols: Sequence[str] | None = None, *,
                          with_tally: bool = False) -> list[dict[str, Any]]:
    """Known instances, fetched as concurrent pages of at most 25 ids each (never one GET per id).

    ``with_tally``: the lowest 25 ids come from one unfiltered page instead, whose label_counts is
    the account's (for the orphan scan, which then needs no request of its own). In an account holding
    other instances with lower ids, the ones that page missed take one more request."""
    wanted = sorted(set(ids))
    if not wanted:
        return []
    head, rest = (wanted[:PAGE], wanted[PAGE:]) if with_tally else ([], wanted)
    chunks = [rest[i:i + PAGE] for i in range(0, len(rest), PAGE)]
    import asyncio

    first, *pages = await asyncio.gather(_first_page(client, cols) if head else _nothing(),
                                         *(list_instances(client, {"id": {"in": chunk}}, cols) for chunk in chunks))
    head_ids = set(head)
    rows = [row for row in first if row.get("id") in head_ids]
    missing = sorted(head_ids - {row.get("id") for row in rows})
    if missing:
        rows += await list_instances(client, {"id": {"in": missing}}, cols)
    return rows + [row for page in pages for row in page]


async def _nothing() -> list[dict[str, Any]]:
    return []


async def _first_page(client: VastClient, cols: Sequence[str] | None) -> list[dict[str, Any]]:
    query: dict[str, Any] = {"select_filters": {}, "order_by": [{"col": "id", "dir": "asc"}], "limit": PAGE}
    if cols:
        query["select_cols"] = list(cols)
    page = expect_dict(await client.call("GET", "/api/v1/instances/", query=query), "GET", "/api/v1/instances/")
    found = page.get("instances")
    if not isinstance(found, list):
        raise ApiError("the instance listing has no 'instances' list", method="GET", path="/api/v1/instances/")
    if isinstance(page.get("label_counts"), dict):
        _LABEL_COUNTS[client] = page["label_counts"]
    return [r for r in found if isinstance(r, dict)]


async def create_instance(client: VastClient, offer_id: int, body: dict[str, Any]) -> int:
    """Rent ``offer_id``; returns the new instance id (``new_contract``)."""
    path = f"/asks/{offer_id}/"
    answer = expect_dict(await client.call("PUT", path, body=body, idempotent=False), "PUT", path)
    contract = answer.get("new_contract")
    if not isinstance(contract, int):
        raise ApiError("the create answer has no 'new_contract' id", method="PUT", path=path)
    return contract


# What the official CLI's ``launch instance`` sends beside its query (vastai 1.9.1, api/offers.py).
LAUNCH_FIELDS = ("image", "disk", "env", "label", "extra", "onstart", "image_login", "python_utf8", "lang_utf8",
                 "use_jupyter_lab", "jupyter_dir", "cancel_unavail", "template_hash_id", "runtype", "args")


async def launch_instance(client: VastClient, query: dict[str, Any], *, order: list[list[str]],
                          body: dict[str, Any]) -> int:
    """Rent the best on-demand offer matching ``query`` in one call (Vast.ai searches and rents);
    returns the new instance id. The answer does not say which offer it rented."""
    path = "/launch_instance/"
    sent = {k: body[k] for k in LAUNCH_FIELDS if k in body}
    sent["q"] = {**query, "order": order, "type": "on-demand", "allocated_storage": body.get("disk")}
    answer = expect_dict(await client.call("PUT", path, body=sent, idempotent=False), "PUT", path)
    contract = answer.get("new_contract")
    if not isinstance(contract, int):
        raise ApiError("the launch answer has no 'new_contract' id", method="PUT", path=path)
    return contract


async def set_instance(client: VastClient, instance_id: int, fields: dict[str, Any]) -> None:
    """``{"state": "running"|"stopped"}`` or ``{"label": text}``."""
    await client.call("PUT", f"/instances/{instance_id}/", body=fields)


async def change_bid(client: VastClient, instance_id: int, price: float | None) -> None:
    await client.call("PUT", f"/instances/bid_price/{instance_id}/", body={"client_id": "me", "price": price})


async def update_template(client: VastClient, instance_id: int, fields: dict[str, Any]) -> None:
    """Recreate the container on the same machine with a new image / env / onstart."""
    await client.call("PUT", f"/instances/update_template/{instance_id}/", body={"id": instance_id, **fields})


async def attach_ssh_key(client: VastClient, instance_id: int, public_key: str) -> None:
    await client.call("POST", f"/instances/{instance_id}/ssh/", body={"ssh_key": public_key})


async def detach_ssh_key(client: VastClient, instance_id: int, key_id: int) -> None:
    await client.call("DELETE", f"/instances/{instance_id}/ssh/{key_id}/")


async def destroy_instance(client: VastClient, instance_id: int) -> None:
    await client.call("DELETE", f"/instances/{instance_id}/")


async def label_counts(client: VastClient) -> dict[str, int]:
    """How many of the account's instances carry each label. An unfiltered page of the v1 listing
    carries it for the whole account; the refresh's first page usually was one, else one small page."""
    if client in _LABEL_COUNTS:
        return {str(k): int(v) for k, v in _LABEL_COUNTS[client].items() if isinstance(v, int)}
    page = expect_dict(await client.call("GET", "/api/v1/instances/", query={"select_filters": {}, "limit": 1}),
                        "GET", "/api/v1/instances/")
    counts = page.get("label_counts")
    if not isinstance(counts, dict):
        raise ApiError("the instance listing has no 'label_counts'", method="GET", path="/api/v1/instances/")
    return {str(k): int(v) for k, v in counts.items() if isinstance(v, int)}
