"""Each container's ``CONTAINER_ID`` and restricted ``CONTAINER_API_KEY``.

Vast.ai starts every container with these two variables; the key (returned by the create as
``instance_api_key``) may read, stop and destroy its own instance and nothing else. The key is
derived from the world's seed and the instance (as ``jupyter_token`` is), so the data dir keeps
only its SHA-256, never the key. A key of an instance since destroyed is refused as unknown."""

from __future__ import annotations

import hashlib

from vastsandbox.world import JSON
from vastsandbox.world.errors import Refusal
from vastsandbox.world.store import World, key_hash

TABLE = "container_keys"  # world.extra: SHA-256 of the key -> instance id
# What the key may do, on its own instance only: read it, stop/start it, destroy it.
ALLOWED = frozenset({"GET /api/v0/instances/{id}/", "PUT /api/v0/instances/{id}/",
                     "DELETE /api/v0/instances/{id}/"})


def key_for(world: World, record: dict[str, JSON]) -> str:
    """The instance's key, the same every time it is asked for; remembered by its hash."""
    key = hashlib.sha256(f"{world.seed}/container/{record['id']}/{record['created_at']}".encode()).hexdigest()
    world.extra.setdefault(TABLE, {})[key_hash(key)] = int(str(record["id"]))
    return key


def instance_of(world: World, api_key: str) -> int | None:
    """The instance an API key is the container key of (None: not a container key)."""
    found = world.extra.get(TABLE, {}).get(key_hash(api_key))
    return int(found) if found is not None else None


def authorise(world: World, instance_id: int, route_key: str, params: dict[str, str]) -> int:
    """The owner's user id when the container key of ``instance_id`` may call ``route_key``; else
    401 once the instance is gone (the key died with it), 403 for anything outside its scope."""
    owner = world.owner_of("instances", instance_id) if instance_id in world.tables["instances"] else None
    if owner is None:
        raise Refusal(401, "auth_error", "Invalid user key")
    if route_key not in ALLOWED or params.get("id") != str(instance_id):
        raise Refusal(403, "auth_error", f"This key is restricted to instance {instance_id}: it may only read, "
                                         "stop, start and destroy that instance.")
    return int(owner)


def container_env(world: World, record: dict[str, JSON], env: dict[str, str]) -> dict[str, str]:
    """The environment the container starts with: the instance's env (less ``-p`` port options)
    and Vast.ai's own variables."""
    own = {k: v for k, v in env.items() if not k.startswith("-")}
    return {**own, "CONTAINER_ID": str(record["id"]), "CONTAINER_API_KEY": key_for(world, record),
            "VAST_CONTAINERLABEL": f"C.{record['id']}"}
