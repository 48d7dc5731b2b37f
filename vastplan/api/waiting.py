"""Saying what the client waits for, so that a run riding out 429s, 5xx answers and lost responses is
never silent for long: under a heavy fault mix an apply once printed nothing for 400 s.

The client registers every wait (a retry's backoff, a paced endpoint's turn, a request in flight);
a ticker says, every ``EVERY`` seconds at most, what the longest wait is for and why, or what the
latest of a run of short retries was. A single short blip stays quiet.
"""

from __future__ import annotations

import contextlib
import itertools
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

EVERY = 7.0  # seconds between lines at most: with a 0.5 s tick and a slow loop, still under 10 s


@dataclass(frozen=True)
class Wait:
    what: str  # "GET /api/v0/instances/"
    why: str  # "it answered 502; retry 2 of 8" or "" for a request in flight
    since: float
    seconds: float | None = None  # how long it will last, when known

    def describe(self, now: float) -> str:
        if not self.why:
            return f"waiting for {self.what}: sent {now - self.since:.0f}s ago, no answer yet"
        if self.seconds is None:
            return f"waiting for {self.what}: {self.why}"
        left = max(0.0, self.since + self.seconds - now)
        return f"waiting for {self.what}: {self.why}; next try in {left:.0f}s"


class Waits:
    """The client's open waits, and the rule for when to say something about them."""

    def __init__(self, say: Callable[[str], None], clock: Callable[[], float] = time.monotonic):
        self._say = say
        self._clock = clock
        self._open: dict[int, Wait] = {}
        self._ids = itertools.count()
        self._last_said = -float("inf")
        self._stretch_began: float | None = None  # a run of retries with gaps shorter than EVERY
        self._latest_trouble: Wait | None = None

    @contextlib.contextmanager
    def waiting(self, what: str, why: str = "", seconds: float | None = None) -> Iterator[None]:
        """Register a wait for its duration; ``why`` empty means a request in flight (not trouble yet)."""
        now = self._clock()
        wait = Wait(what, why, now, seconds)
        token = next(self._ids)
        self._open[token] = wait
        if why:
            self._trouble(wait, now)
        try:
            yield
        finally:
            del self._open[token]

    def _trouble(self, wait: Wait, now: float) -> None:
        latest = self._latest_trouble
        if latest is None or now - latest.since > EVERY:
            self._stretch_began = now
        self._latest_trouble = wait
        if wait.seconds is not None and wait.seconds >= EVERY and now - self._last_said >= 1.0:
            self._tell(wait.describe(now), now)  # a long wait is announced as it begins

    def tick(self) -> None:
        """Say something if a wait (or a run of retries) has gone on for EVERY seconds unannounced."""
        now = self._clock()
        if now - self._last_said < EVERY:
            return
        lasting = [w for w in self._open.values() if now - w.since >= EVERY]
        if lasting:
            self._tell(min(lasting, key=lambda w: w.since).describe(now), now)
            return
        latest, began = self._latest_trouble, self._stretch_began
        if latest is not None and began is not None and now - began >= EVERY and now - latest.since < EVERY:
            self._tell(f"still retrying (for {now - began:.0f}s): {latest.describe(now)}", now)

    def _tell(self, text: str, now: float) -> None:
        self._last_said = now
        self._say(text)

    async def run(self) -> None:
        """Tick twice a second until cancelled (the client runs this while it is open)."""
        import asyncio

        while True:
            await asyncio.sleep(0.5)
            self.tick()
