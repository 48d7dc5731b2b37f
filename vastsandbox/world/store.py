"""The sandbox's world (accounts and everything they own) and its persistence.

The world is kept in memory, indexed by id and by owner, and written to
``<data_dir>/sandbox.json`` atomically (temp file, fsync, rename). Writes are coalesced: a
mutation marks the world dirty and a write follows shortly after; stopping the server always
writes. API keys are never stored, only their SHA-256, so the data dir holds no secret.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from vastsandbox.world import JSON

FORMAT = 1
FILE_NAME = "sandbox.json"
KINDS = ("ssh_keys", "templates", "instances", "volumes")
# Vast.ai ids are large; starting each kind in its own range makes a mixed-up id fail loudly.
FIRST_IDS = {"user": 40001, "ssh_keys": 51001, "templates": 310001, "instances": 9000001,
             "volumes": 700001, "charges": 1}


def key_hash(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()


class World:
    """All accounts and their objects. Records are JSON objects shaped close to the wire."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.next_ids: dict[str, int] = dict(FIRST_IDS)
        self.users: dict[str, dict[str, JSON]] = {}
        self.users_by_id: dict[int, dict[str, JSON]] = {}
        self.tables: dict[str, dict[int, dict[str, JSON]]] = {kind: {} for kind in KINDS}
        self._owned: dict[str, dict[int, dict[int, None]]] = {kind: {} for kind in KINDS}
        self._owner: dict[str, dict[int, int]] = {kind: {} for kind in KINDS}
        # Free-form sections other modules own (market rentals by others, closed charges...).
        self.extra: dict[str, Any] = {}
        # Bumped by every insert/remove and by every API change (Sandbox.changed): derived views
        # such as an account's label tally are cached per version, so a page does not rebuild them.
        self.version = 0
        self._sorted: dict[tuple[str, int], list[int]] = {}
        self._tallies: dict[tuple[str, int, str], tuple[int, dict[str, int]]] = {}

    # ---- ids and users -------------------------------------------------------------------
    def new_id(self, kind: str) -> int:
        value = self.next_ids[kind]
        self.next_ids[kind] = value + 1
        return value

    def user_for_key(self, api_key: str, now: float) -> dict[str, JSON]:
        """The account of an API key, created on first use (each key is its own user)."""
        digest = key_hash(api_key)
        user = self.users.get(digest)
        if user is None:
            uid = self.new_id("user")
            user = {"id": uid, "key_hash": digest, "created_at": now, "credit": 100.0}
            self.users[digest] = user
            self.users_by_id[uid] = user
        return user

    # ---- objects ---------------------------------------------------------------------------
    def insert(self, kind: str, record: dict[str, JSON], owner: int) -> dict[str, JSON]:
        self.tables[kind][int(record["id"])] = record
        self._owned[kind].setdefault(owner, {})[int(record["id"])] = None
        self._owner[kind][int(record["id"])] = owner
        self._sorted.pop((kind, owner), None)
        self.version += 1
        return record

    def get(self, kind: str, obj_id: int, owner: int | None = None) -> dict[str, JSON] | None:
        """A record by id; with ``owner``, only if that user owns it."""
        record = self.tables[kind].get(obj_id)
        if record is None or (owner is not None and self._owner[kind].get(obj_id) != owner):
            return None
        return record

    def remove(self, kind: str, obj_id: int) -> dict[str, JSON] | None:
        record = self.tables[kind].pop(obj_id, None)
        owner = self._owner[kind].pop(obj_id, None)
        if owner is not None:
            self._owned[kind].get(owner, {}).pop(obj_id, None)
            self._sorted.pop((kind, owner), None)
        self.version += 1
        return record

    def owned_ids(self, kind: str, owner: int) -> list[int]:
        """A user's ids of one kind in order, sorted once per insert/remove (not per listing page)."""
        ids = self._sorted.get((kind, owner))
        if ids is None:
            ids = self._sorted[(kind, owner)] = sorted(self._owned[kind].get(owner, {}))
        return ids

    def tally(self, kind: str, owner: int, field: str) -> dict[str, int]:
        """How many of a user's records carry each value of ``field`` (null as ""), rebuilt only
        when the world changed since the last call. Callers must not modify the answer."""
        cached = self._tallies.get((kind, owner, field))
        if cached is not None and cached[0] == self.version:
            return cached[1]
        counts: dict[str, int] = {}
        for record in self.owned(kind, owner):
            value = str(record.get(field) or "")
            counts[value] = counts.get(value, 0) + 1
        self._tallies[(kind, owner, field)] = (self.version, counts)
        return counts

    def count_owned(self, kind: str, owner: int) -> int:
        return len(self._owned[kind].get(owner, {}))

    def owned(self, kind: str, owner: int) -> list[dict[str, JSON]]:
        """A user's records of one kind in id order, without scanning other users' objects."""
        table = self.tables[kind]
        return [table[i] for i in self.owned_ids(kind, owner) if i in table]

    def all(self, kind: str) -> Iterator[dict[str, JSON]]:
        return iter(self.tables[kind].values())

    def owner_of(self, kind: str, obj_id: int) -> int | None:
        return self._owner[kind].get(obj_id)

    # ---- JSON ------------------------------------------------------------------------------
    def to_json(self) -> dict[str, JSON]:
        return {
            "format": FORMAT,
            "seed": self.seed,
            "next_ids": self.next_ids,
            "users": list(self.users.values()),
            "objects": {
                kind: [{"owner": owner, "record": self.tables[kind][i]}
                       for owner, ids in sorted(self._owned[kind].items()) for i in ids
                       if i in self.tables[kind]]
                for kind in KINDS
            },
            "extra": self.extra,
        }

    @classmethod
    def from_json(cls, data: dict[str, JSON]) -> World:
        if data.get("format") != FORMAT:
            raise ValueError(f"unsupported sandbox data format {data.get('format')!r}")
        world = cls(int(data["seed"]))
        world.next_ids.update({k: int(v) for k, v in data["next_ids"].items()})
        for user in data["users"]:
            world.users[user["key_hash"]] = user
            world.users_by_id[int(user["id"])] = user
        for kind in KINDS:
            for item in data["objects"].get(kind, []):
                world.insert(kind, item["record"], int(item["owner"]))
        world.extra = dict(data.get("extra") or {})
        return world


class Store:
    """Owns the world and its file. ``data_dir`` None keeps everything in memory."""

    def __init__(self, data_dir: Path | None, seed: int) -> None:
        self.path = data_dir / FILE_NAME if data_dir is not None else None
        self.dirty = False
        self.world = self._load(seed)

    def _load(self, seed: int) -> World:
        if self.path is None or not self.path.exists():
            return World(seed)
        with self.path.open(encoding="utf-8") as handle:
            return World.from_json(json.load(handle))

    def mark_dirty(self) -> None:
        self.dirty = True

    def save(self) -> None:
        """Write the world atomically if anything changed since the last write."""
        if self.path is None or not self.dirty:
            self.dirty = False
            return
        self.dirty = False
        self.path.parent.mkdir(parents=True, exist_ok=True)
        payload = json.dumps(self.world.to_json(), separators=(",", ":")).encode()
        fd, tmp_name = tempfile.mkstemp(prefix=".sandbox-", suffix=".tmp", dir=self.path.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(payload)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp_name, self.path)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            self.dirty = True
            raise
        _fsync_dir(self.path.parent)


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
