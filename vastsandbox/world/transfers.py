"""Where ``copy`` and ``cloud copy`` read and write: containers, volumes and cloud connections.

A location is what the CLI parses from ``ID:path``: an instance (``123`` or ``C.123``), a volume
(``V.123``), a cloud connection (``drive``, ``s3.101``), or local (``None``/``"local"``). Each
account comes with one cloud connection, a Google Drive named ``sandbox-drive``, whose files live
in the world like a volume's.
"""

from __future__ import annotations

from dataclasses import dataclass

from vastsandbox.world import JSON
from vastsandbox.world.errors import Refusal

CONNECTION_BASE = 1000


@dataclass(frozen=True)
class Location:
    kind: str          # "instance", "volume", "cloud" or "local"
    ident: int | None  # instance or volume id, connection id for "cloud" (None: the service's first)
    service: str | None = None


def connections(uid: int) -> list[dict[str, JSON]]:
    """The account's cloud connections (``GET /users/cloud_integrations/``)."""
    return [{"id": CONNECTION_BASE + uid, "name": "sandbox-drive", "cloud_type": "drive"}]


def connection(uid: int, selected: JSON, service: str | None = None) -> dict[str, JSON]:
    for item in connections(uid):
        if str(item["id"]) == str(selected) or (selected is None and item["cloud_type"] == service):
            return item
    what = f"connection {selected}" if selected is not None else f"{service} connection"
    raise Refusal(400, "invalid_args", f"No such cloud {what} on your account (see show connections).")


def parse(location: JSON) -> Location:
    """A CLI location id as the server reads it."""
    if location in (None, "local"):
        return Location("local", None)
    text = str(location)
    if text.isdigit():
        return Location("instance", int(text))
    prefix, _, rest = text.partition(".")
    if prefix in ("C", "V") and rest.isdigit():
        return Location("instance" if prefix == "C" else "volume", int(rest))
    if prefix.isalpha() and (not rest or rest.isdigit()):
        return Location("cloud", int(rest) if rest else None, prefix)
    raise Refusal(400, "invalid_args", f"Invalid location {text!r}.")


def tree_key(location: Location, uid: int) -> str:
    """The world's file-tree key of a volume or cloud location."""
    if location.kind == "volume":
        return f"V.{location.ident}"
    return f"cloud.{connection(uid, location.ident, location.service)['id']}"
