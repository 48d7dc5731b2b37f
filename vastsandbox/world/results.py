"""Result files: what ``logs`` and ``execute`` leave for the client to fetch from a result URL.

On Vast.ai both routes answer at once with a ``result_url`` on S3; the text appears there a moment
later, after the machine has uploaded it, and the client polls until it is readable. Results are
kept in memory only (like short-lived S3 objects) and expire after ``KEEP_SECONDS``.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

UPLOAD_SECONDS = 0.4   # how long the machine takes to upload, so a client must poll at least once
KEEP_SECONDS = 600.0   # after this the object is gone, like an expired presigned URL
MAX_RESULTS = 256


@dataclass
class Result:
    text: str
    ready_at: float
    expires_at: float


@dataclass
class ResultStore:
    """Texts by random name; a name is readable from ``ready_at`` until it expires."""

    upload_seconds: float = UPLOAD_SECONDS
    _items: dict[str, Result] = field(default_factory=dict)

    def put(self, text: str, now: float) -> str:
        """Store ``text`` and return the object name (``<hex>.log``) to put in the URL."""
        self._prune(now)
        name = secrets.token_hex(16) + ".log"
        self._items[name] = Result(text, now + self.upload_seconds, now + KEEP_SECONDS)
        return name

    def get(self, name: str, now: float) -> str | None:
        """The text once uploaded; None while not yet there, expired, or never made."""
        item = self._items.get(name)
        if item is None or now < item.ready_at or now >= item.expires_at:
            return None
        return item.text

    def _prune(self, now: float) -> None:
        for name in [n for n, item in self._items.items() if item.expires_at <= now]:
            del self._items[name]
        while len(self._items) >= MAX_RESULTS:
            del self._items[next(iter(self._items))]
