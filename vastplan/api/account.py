"""Account-level endpoints: the current user and the account's SSH keys."""

from __future__ import annotations

from typing import Any

from vastplan.api.client import VastClient
from vastplan.api.errors import expect_dict
from vastplan.errors import ApiError


async def current_user(client: VastClient) -> dict[str, Any]:
    body = await client.call("GET", "/users/current")
    return expect_dict(body, "GET", "/users/current")


async def list_ssh_keys(client: VastClient) -> list[dict[str, Any]]:
    """The account's keys; each row has ``id`` and the key text in ``key``."""
    body = await client.call("GET", "/ssh/")
    if isinstance(body, dict) and isinstance(body.get("ssh_keys"), list):
        body = body["ssh_keys"]  # an envelope the CLI's live tests also accept
    if not isinstance(body, list):
        raise ApiError("the SSH key listing is not a list", method="GET", path="/ssh/")
    return [row for row in body if isinstance(row, dict) and not row.get("deleted_at")]


async def create_ssh_key(client: VastClient, public_key: str) -> dict[str, Any]:
    """Add a key; returns the record (the text is in ``public_key`` here, not ``key``)."""
    body = await client.call("POST", "/ssh/", body={"ssh_key": public_key}, idempotent=False)
    return expect_dict(expect_dict(body, "POST", "/ssh/").get("key"), "POST", "/ssh/")


async def update_ssh_key(client: VastClient, key_id: int, public_key: str) -> None:
    await client.call("PUT", f"/ssh/{key_id}/", body={"id": key_id, "ssh_key": public_key})


async def delete_ssh_key(client: VastClient, key_id: int) -> None:
    await client.call("DELETE", f"/ssh/{key_id}/")
