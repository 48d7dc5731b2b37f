"""Run-time knobs of the sandbox: latency, injected faults, rate limiting and request counters.

Everything here is driven by the admin API (``/_sandbox/...``) and consulted by the dispatcher
for every API request. Random choices come from a generator seeded with the sandbox seed, so a
run with the same requests sees the same faults.
"""

from __future__ import annotations

import fnmatch
import random
from collections import Counter
from dataclasses import asdict, dataclass, field

from vastsandbox.world import JSON
from vastsandbox.world.errors import Refusal

# "echo" and "huge" play a hostile or broken server: one echoes the request headers (the key among
# them) into its error message, the other answers with a body far larger than any real one.
BODY_STYLES = ("text", "json", "detail", "quota", "echo", "huge")
HUGE_BODY_BYTES = 48 * 1024 * 1024
FAULT_KINDS = ("status", "lose_response")
# Example thresholds from the Vast.ai docs (seconds between calls): create, destroy, manage, volumes.
VAST_THRESHOLDS = {
    "PUT /api/v0/asks/*": 4.5,
    "DELETE /api/v0/instances/*": 3.0,
    "PUT /api/v0/instances/*": 1.0,
    "* /api/v0/volumes/*": 5.5,
}


@dataclass
class FaultRule:
    """One injected fault.

    ``kind`` "status" answers instead of the real handler; "lose_response" runs the handler
    (the object is made) and then answers ``status`` or, with ``drop``, closes the connection.
    """

    id: int
    kind: str = "status"
    status: int = 503
    rate: float = 1.0
    route: str | None = None
    count: int | None = None
    until: float | None = None
    retry_after: float | None = None
    body: str = "json"
    drop: bool = False
    hits: int = 0

    def applies(self, route_key: str, now: float) -> bool:
        if self.count is not None and self.hits >= self.count:
            return False
        if self.until is not None and now >= self.until:
            return False
        return self.route is None or route_matches(self.route, route_key)

    @property
    def spent(self) -> bool:
        return self.count is not None and self.hits >= self.count

    def to_json(self) -> dict[str, JSON]:
        return asdict(self)


def route_matches(pattern: str, route_key: str) -> bool:
    """Match ``"PUT /api/v0/asks/*"`` against ``"PUT /api/v0/asks/{id}/"``; a pattern starting
    with ``/`` ignores the method; slashes at the end do not matter."""
    method, _, template = route_key.partition(" ")
    candidates = [route_key, route_key.rstrip("/")]
    if pattern.startswith("/"):
        candidates = [template, template.rstrip("/")]
    return any(fnmatch.fnmatchcase(c, pattern) or fnmatch.fnmatchcase(c, pattern.rstrip("/"))
               for c in candidates)


@dataclass
class RateLimit:
    """Minimum interval between two calls of one endpoint by one identity (key or address)."""

    interval: float = 1.0
    routes: dict[str, float] = field(default_factory=dict)
    retry_after: bool = False
    body: str = "text"

    def interval_for(self, route_key: str) -> float:
        for pattern, seconds in self.routes.items():
            if route_matches(pattern, route_key):
                return seconds
        return self.interval


@dataclass
class Denial:
    """A fault or limit chosen for one request."""

    status: int
    body: str
    retry_after: float | None = None
    threshold: float | None = None
    drop: bool = False


class Control:
    """Mutable run-time settings shared by the dispatcher and the admin API."""

    def __init__(self, seed: int, latency_ms: float, boot_seconds: float) -> None:
        self.latency_ms = latency_ms
        self.boot_seconds = boot_seconds
        # A fault for readiness tests: what becomes of instances created from now on instead of running:
        # None (they run), "loading" (they never leave it), "exited" or "offline" (they die while booting).
        self.new_instance_fate: str | None = None
        # Other renters' bid on every machine, as a multiple of its min_bid (None: no competition).
        self.competing_bid_factor: float | None = None
        self.clock_offset = 0.0
        self.rng = random.Random(seed)
        self.faults: list[FaultRule] = []
        self._next_fault = 1
        self.rate_limit: RateLimit | None = None
        self._last_call: dict[tuple[str, str], float] = {}
        self.total = 0
        self.by_route: Counter[str] = Counter()
        self.by_status: Counter[str] = Counter()
        self.bytes_by_route: Counter[str] = Counter()
        self.injected = 0

    # ---- faults ------------------------------------------------------------------------------
    def add_fault(self, spec: dict[str, JSON], now: float) -> FaultRule:
        kind = str(spec.get("kind", "status"))
        if kind not in FAULT_KINDS:
            raise Refusal(400, "invalid_args", f"kind must be one of {', '.join(FAULT_KINDS)}")
        body = str(spec.get("body", "json"))
        if body not in BODY_STYLES:
            raise Refusal(400, "invalid_args", f"body must be one of {', '.join(BODY_STYLES)}")
        rate = float(spec.get("rate", 1.0))
        if not 0.0 <= rate <= 1.0:
            raise Refusal(400, "invalid_args", "rate must be between 0 and 1")
        status = int(spec.get("status", 502 if kind == "lose_response" else 503))
        if not 400 <= status <= 599:
            raise Refusal(400, "invalid_args", "status must be a 4xx or 5xx code")
        duration = spec.get("duration")
        rule = FaultRule(
            id=self._next_fault, kind=kind, status=status, rate=rate,
            route=str(spec["route"]) if spec.get("route") else None,
            count=int(spec["count"]) if spec.get("count") is not None else None,
            until=now + float(duration) if duration is not None else None,
            retry_after=float(spec["retry_after"]) if spec.get("retry_after") is not None else None,
            body=body, drop=bool(spec.get("drop", False)),
        )
        self._next_fault += 1
        self.faults.append(rule)
        return rule

    def pick_fault(self, kind: str, route_key: str, now: float) -> FaultRule | None:
        """The first live rule of ``kind`` for this route that fires (by its rate) now."""
        for rule in self.faults:
            if rule.kind != kind or not rule.applies(route_key, now):
                continue
            if rule.rate >= 1.0 or self.rng.random() < rule.rate:
                rule.hits += 1
                self.injected += 1
                return rule
        return None

    def prune(self, now: float) -> None:
        self.faults = [r for r in self.faults if not r.spent and (r.until is None or now < r.until)]

    # ---- rate limiting -----------------------------------------------------------------------
    def check_rate(self, identity: str, route_key: str, now: float) -> Denial | None:
        limit = self.rate_limit
        if limit is None:
            return None
        interval = limit.interval_for(route_key)
        last = self._last_call.get((identity, route_key))
        if last is not None and now - last < interval:
            self.injected += 1
            wait = round(interval - (now - last), 3)
            return Denial(429, limit.body, retry_after=wait if limit.retry_after else None,
                          threshold=interval)
        self._last_call[(identity, route_key)] = now
        return None

    def set_rate_limit(self, spec: dict[str, JSON] | None) -> None:
        self._last_call.clear()
        if spec is None:
            self.rate_limit = None
            return
        body = str(spec.get("body", "text"))
        if body not in BODY_STYLES:
            raise Refusal(400, "invalid_args", f"body must be one of {', '.join(BODY_STYLES)}")
        routes = spec.get("routes") or (dict(VAST_THRESHOLDS) if spec.get("preset") == "vast" else {})
        if not isinstance(routes, dict):
            raise Refusal(400, "invalid_args", "routes must map a route pattern to seconds")
        self.rate_limit = RateLimit(
            interval=float(spec.get("interval", 0.0 if spec.get("preset") == "vast" else 1.0)),
            routes={str(k): float(v) for k, v in routes.items()},
            retry_after=bool(spec.get("retry_after", False)), body=body)

    # ---- counters ----------------------------------------------------------------------------
    def count(self, route_key: str) -> None:
        self.total += 1
        self.by_route[route_key] += 1

    def count_status(self, status: int) -> None:
        self.by_status[str(status)] += 1

    def count_bytes(self, route_key: str, size: int) -> None:
        self.bytes_by_route[route_key] += size

    def counters(self) -> dict[str, JSON]:
        return {"total": self.total, "routes": dict(sorted(self.by_route.items())),
                "statuses": dict(sorted(self.by_status.items())), "faults_injected": self.injected,
                "bytes": dict(sorted(self.bytes_by_route.items()))}

    def reset_counters(self) -> None:
        self.total = 0
        self.by_route.clear()
        self.by_status.clear()
        self.bytes_by_route.clear()
        self.injected = 0

    def settings(self) -> dict[str, JSON]:
        return {"latency_ms": self.latency_ms, "boot_seconds": self.boot_seconds,
                "new_instance_fate": self.new_instance_fate, "clock_offset": self.clock_offset,
                "competing_bid_factor": self.competing_bid_factor,
                "rate_limit": asdict(self.rate_limit) if self.rate_limit else None}
