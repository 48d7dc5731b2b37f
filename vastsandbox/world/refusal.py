"""The one error world modules raise: a refusal the HTTP layer turns into a Vast.ai error body.

World modules (what the marketplace does) must not depend on the HTTP layer, so they raise
``Refusal`` with the status, error code and message Vast.ai answers with; the route module that
called them translates it to its own failure type in one place.
"""

from __future__ import annotations

from typing import Any

JSON = Any
"""A decoded JSON value (records stay plain dicts, shaped close to the wire)."""


class Refusal(Exception):
    """The world says no: ``status`` and ``error`` as Vast.ai answers, ``msg`` for the user."""

    def __init__(self, status: int, error: str, msg: str, **extra: JSON) -> None:
        super().__init__(f"{status} {error}: {msg}")
        self.status = status
        self.error = error
        self.msg = msg
        self.extra = extra
