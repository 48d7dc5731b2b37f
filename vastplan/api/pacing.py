"""Per-endpoint pacing: Vast.ai limits each endpoint to one call per interval per key and answers
a faster call with 429, usually without Retry-After. A 429 teaches the pacer that endpoint's
interval; from then on calls to it leave in FIFO order, one per interval, instead of every caller
retrying blind and losing again."""

from __future__ import annotations

import re
import time

# "endpoint threshold=4.5" in the 429 body is the interval in seconds (vast-api.md section 11).
_THRESHOLD = re.compile(r"threshold\s*=\s*([0-9]*\.?[0-9]+)")
_ID_SEGMENT = re.compile(r"/\d+(?=/|$)")
FIRST_GUESS, LONGEST = 0.5, 30.0
LONGEST_GUESS = 4.0  # without a stated threshold, random 429s (an overload) must not stall a run


def route_of(method: str, path: str) -> str:
    """``PUT /asks/4000529/`` -> ``PUT /asks/{id}/``: one limit per endpoint, not per object."""
    return f"{method} {_ID_SEGMENT.sub('/{id}', path)}"


class Pacer:
    def __init__(self) -> None:
        self.interval: dict[str, float] = {}
        self._floor: dict[str, float] = {}  # what the server said its threshold is
        self._next: dict[str, float] = {}
        self._changed: dict[str, float] = {}  # when the interval was last raised
        self._streak: dict[str, int] = {}  # successes since the last 429
        self.throttled = 0  # 429s seen, for reports and tests

    async def wait_turn(self, route: str) -> None:
        """Sleep until this call's slot on ``route`` (no wait for an endpoint never throttled)."""
        delay = self.reserve(route)
        if delay > 0:
            import asyncio

            await asyncio.sleep(delay)

    def reserve(self, route: str) -> float:
        """Take this call's slot on ``route``; returns the seconds until it (0 when it is now)."""
        interval = self.interval.get(route)
        if interval is None:
            return 0.0
        now = time.monotonic()
        slot = max(now, self._next.get(route, now))
        self._next[route] = slot + interval
        return slot - now

    def reason(self, route: str) -> str:
        """Why calls to ``route`` are held back, in a user's words."""
        source = "as the API asked" if route in self._floor else "after the API refused faster ones (429)"
        return f"one call every {self.interval.get(route, 0.0):.1f}s to this endpoint, {source}"

    def throttled_by(self, route: str, retry_after: float | None, body: str, sent_at: float) -> None:
        """Learn from a 429: the server's hint when it gives one, else double the current guess, but
        only for a call sent under the current guess (a burst sent before it says nothing new)."""
        self.throttled += 1
        self._streak[route] = 0
        hint = retry_after
        if hint is None and (match := _THRESHOLD.search(body)):
            hint = float(match.group(1))
        current = self.interval.get(route)
        if hint is not None:
            hint *= 1.05  # our clock and the server's differ a little: stay just outside the limit
            self._floor[route] = hint
        stale = current is not None and sent_at < self._changed.get(route, 0.0)
        learned = hint if hint is not None else current if stale and current else (
            current * 2 if current else FIRST_GUESS)
        interval = min(LONGEST if hint is not None or route in self._floor else LONGEST_GUESS,
                       max(learned, current or 0.0))
        if interval != current:
            self._changed[route] = time.monotonic()
        self.interval[route] = interval
        self._next[route] = max(self._next.get(route, 0.0), time.monotonic() + interval)

    def succeeded(self, route: str) -> None:
        """A guessed interval shrinks again with every success (a stated threshold stays), so a
        passing burst of 429s does not slow the rest of the run down."""
        current = self.interval.get(route)
        if current is None or route in self._floor:
            return
        self._streak[route] = self._streak.get(route, 0) + 1
        if self._streak[route] % 2:
            return  # probe for a shorter interval only after a run of successes
        shrunk = current * 0.8
        if shrunk < 0.05:
            del self.interval[route]
        else:
            self.interval[route] = shrunk
