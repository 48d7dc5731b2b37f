"""VastClient: one aiohttp session to the Vast.ai API, with retries, a deadline and bounded concurrency.

The wire conventions follow the official CLI: paths get an ``/api/v0`` prefix unless they name a
version, query values are ``quote_plus(v if str else json.dumps(v))``, and every POST/PUT/DELETE
carries a JSON body (``{}`` by default). The key travels only in the ``Authorization`` header.
"""

from __future__ import annotations

import contextlib
import copy
import json
import math
import os
import re
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote_plus

from vastplan import __version__
from vastplan.api.credentials import ApiKey
from vastplan.api.errors import error_from_exception, error_from_response, never_sent
from vastplan.api.pacing import Pacer, route_of
from vastplan.api.waiting import Waits
from vastplan.errors import ApiError, UsageError

if TYPE_CHECKING:
    import asyncio

    import aiohttp
    from yarl import URL

# aiohttp and yarl (and asyncio, random, logging) are imported where a session is opened, a URL built or
# a call made, not here: importing them costs more than the rest of a small command together, and
# validate, state list, output, graph and --help import this module (through the kinds) without ever
# calling the API.

# Statuses worth another try. A 500 may have done half the work, so only calls that are safe to
# repeat (reads, deletes, updates) retry it; a create retries only what provably had no effect.
RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})
MAX_BODY_BYTES = 32 * 1024 * 1024  # far above any real page; a larger answer is refused, not buffered
SCRUBBED = "(redacted)"


@dataclass(frozen=True)
class RetryPolicy:
    """Jittered exponential backoff under an overall deadline per call."""

    attempts: int = 8
    base_delay: float = 0.25
    max_delay: float = 10.0
    deadline: float = 120.0
    max_retry_after: float = 60.0
    request_timeout: float = 60.0

    @classmethod
    def from_env(cls) -> RetryPolicy:
        """The default policy, with ``VASTPLAN_RETRY_DEADLINE`` (seconds) when set: a CI job that
        would rather fail fast than wait out an outage sets it low."""
        raw = os.environ.get("VASTPLAN_RETRY_DEADLINE", "").strip()
        if not raw:
            return cls()
        try:
            deadline = float(raw)
        except ValueError:
            deadline = math.nan
        if not math.isfinite(deadline) or not 0 <= deadline <= 3600:
            raise UsageError(f"VASTPLAN_RETRY_DEADLINE must be a number of seconds from 0 to 3600, not {raw!r}")
        return cls(deadline=deadline)

    def backoff(self, attempt: int) -> float:
        ceiling = min(self.max_delay, self.base_delay * (2 ** (attempt - 1)))
        import random

        return random.uniform(ceiling / 2, ceiling)


@dataclass(frozen=True)
class _Outcome:
    """One try's result: a decoded body, or an error and how long to wait before retrying (None: don't)."""

    body: Any = None
    error: ApiError | None = None
    retry_in: float | None = None


@dataclass(frozen=True)
class _Response:
    status: int
    text: str
    retry_after: float | None
    sent_at: float
    truncated: bool = False


class VastClient:
    """Use as ``async with VastClient(url, key) as client: await client.call("GET", "/ssh/")``."""

    def __init__(
        self,
        base_url: str,
        key: ApiKey,
        *,
        concurrency: int = 10,
        retry: RetryPolicy | None = None,
        progress: Callable[[str], None] | None = None,
    ):
        """``progress`` hears, at least every 10 s while calls are held up, what they wait for and why."""
        import asyncio

        self.base_url = checked_base_url(base_url)
        self._key = key
        self._retry = retry or RetryPolicy.from_env()
        self._slots = asyncio.Semaphore(concurrency)
        self._session: aiohttp.ClientSession | None = None
        self.requests_sent: Counter[str] = Counter()
        self.pacer = Pacer()
        self.waits = Waits(progress or _quiet)
        self._ticker: asyncio.Task[None] | None = None
        self._progress = progress
        # Identical GETs in flight at once share one request (two kinds listing one route, say).
        self._in_flight: dict[str, asyncio.Future[Any]] = {}
        self._joined: Counter[str] = Counter()

    def __repr__(self) -> str:
        return f"VastClient({self.base_url!r})"

    async def __aenter__(self) -> VastClient:
        import asyncio

        import aiohttp

        timeout = aiohttp.ClientTimeout(total=self._retry.request_timeout)
        self._session = aiohttp.ClientSession(
            timeout=timeout,
            headers={
                "Authorization": f"Bearer {self._key.reveal()}",
                "User-Agent": f"vastplan/{__version__}",
            },
        )
        # aiohttp silently re-sends a PUT or DELETE once when the server drops the connection. Vast.ai
        # creates instances with a PUT, so that retry can rent twice; every retry must go through
        # this client's policy instead, which reconciles an uncertain create first. aiohttp offers no
        # public switch for it (3.14).
        if hasattr(self._session, "_retry_connection"):
            self._session._retry_connection = False
        if self._progress is not None:
            self._ticker = asyncio.create_task(self.waits.run())
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        import asyncio

        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
            self._ticker = None
        if self._session is not None:
            await self._session.close()
            self._session = None

    @property
    def total_requests(self) -> int:
        return sum(self.requests_sent.values())

    def url_for(self, path: str, query: dict[str, Any] | None = None) -> URL:
        from yarl import URL

        if not re.match(r"^/api/v\d+/", path):
            path = "/api/v0" + path
        url = self.base_url + path
        if query:
            url += "?" + "&".join(
                f"{k}={quote_plus(v if isinstance(v, str) else json.dumps(v))}" for k, v in query.items()
            )
        return URL(url, encoded=True)

    async def call(
        self,
        method: str,
        path: str,
        *,
        query: dict[str, Any] | None = None,
        body: dict[str, Any] | None = None,
        idempotent: bool = True,
    ) -> Any:
        """Send one API call and return its decoded JSON body.

        A non-idempotent call (a create) is retried only when it provably had no effect: a 429, or a
        connection that was refused before anything was sent. Everything else is retried on
        429/502/503/504 and transport errors, until ``attempts`` or the deadline runs out.
        """
        import asyncio

        url = self.url_for(path, query)
        if method != "GET" or body is not None:
            return await self._call(method, url, path, body, idempotent)
        key = str(url)
        shared = self._in_flight.get(key)
        if shared is not None:
            self._joined[key] += 1
            # Each caller gets its own copy: a decoded body is a tree of dicts a caller may change.
            return copy.deepcopy(await asyncio.shield(shared))
        first = asyncio.ensure_future(self._call(method, url, path, body, idempotent))
        self._in_flight[key] = first
        try:
            answer = await asyncio.shield(first)
        finally:
            del self._in_flight[key]
            joined = self._joined.pop(key, 0)
        return copy.deepcopy(answer) if joined else answer

    async def _call(self, method: str, url: URL, path: str, body: dict[str, Any] | None, idempotent: bool) -> Any:
        import asyncio

        started = time.monotonic()
        attempt = 0
        while True:
            attempt += 1
            outcome = await self._attempt(method, url, path, body, idempotent, attempt)
            if outcome.error is None:
                return outcome.body
            if outcome.error.status == 429 and outcome.retry_in is not None:
                attempt -= 1  # a 429 is the pacer's business: it does not use up an attempt
            delay = outcome.retry_in
            if delay is None or time.monotonic() - started + delay > self._retry.deadline:
                raise outcome.error
            _debug("%s %s: %s; retrying in %.2fs", method, path, outcome.error.message, delay)
            if delay > 0:
                with self.waits.waiting(f"{method} {path}", _why(outcome.error, attempt, self._retry), delay):
                    await asyncio.sleep(delay)

    async def _attempt(
        self, method: str, url: URL, path: str, body: dict[str, Any] | None, idempotent: bool, attempt: int
    ) -> _Outcome:
        import asyncio

        import aiohttp

        retries_left = attempt < self._retry.attempts
        try:
            response = await self._send(method, url, path, body)
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            error = error_from_exception(exc, method, path)
            retry = retries_left and (idempotent or never_sent(exc))
            return _Outcome(error=error, retry_in=self._retry.backoff(attempt) if retry else None)
        if response.truncated:
            error = ApiError(f"the API answered with more than {MAX_BODY_BYTES // 2**20} MiB; not reading further",
                             status=response.status, method=method, path=path)
            return _Outcome(error=error)
        if response.status < 400:
            self.pacer.succeeded(route_of(method, path))
            return self._decode(response, method, path)
        error = error_from_response(response.status, response.text, method, path)
        retry = (
            retries_left
            and response.status in RETRYABLE_STATUS
            and (idempotent or response.status == 429)
            and error.code != "search_quota_exceeded"
        )
        if not retry:
            return _Outcome(error=error)
        wait = response.retry_after
        if wait is not None and wait > self._retry.max_retry_after:
            return _Outcome(error=error)
        if response.status == 429:
            self.pacer.throttled_by(route_of(method, path), wait, response.text, response.sent_at)
            return _Outcome(error=error, retry_in=0.0)  # the pacer holds the next call back
        return _Outcome(error=error, retry_in=wait if wait is not None else self._retry.backoff(attempt))

    def _decode(self, response: _Response, method: str, path: str) -> _Outcome:
        try:
            decoded = json.loads(response.text) if response.text.strip() else {}
        except ValueError:
            snippet = response.text.strip()[:120]
            error = ApiError(f"the API answered with a body that is not JSON: {snippet!r}",
                             status=response.status, method=method, path=path)
            return _Outcome(error=error)
        if isinstance(decoded, dict) and decoded.get("success") is False:
            return _Outcome(error=error_from_response(response.status, response.text, method, path))
        return _Outcome(body=decoded)

    async def _send(self, method: str, url: URL, path: str, body: dict[str, Any] | None) -> _Response:
        import asyncio

        if self._session is None:
            raise RuntimeError("VastClient used outside 'async with'")
        payload = None if method == "GET" else json.dumps(body if body is not None else {})
        headers = {} if payload is None else {"Content-Type": "application/json"}
        route = route_of(method, path)
        turn = self.pacer.reserve(route)
        if turn > 0:
            with self.waits.waiting(f"{method} {path}", self.pacer.reason(route), turn):
                await asyncio.sleep(turn)
        async with self._slots:
            self.requests_sent[f"{method} {path}"] += 1
            began = time.monotonic()
            with self.waits.waiting(f"{method} {path}"):
                async with self._session.request(method, url, data=payload, headers=headers) as resp:
                    raw = await _read_capped(resp.content, MAX_BODY_BYTES + 1)
                    status, charset, retry_after = resp.status, resp.charset, resp.headers.get("Retry-After")
        _debug("%s %s -> %d (%.0f ms)", method, path, status, (time.monotonic() - began) * 1e3)
        text = self._scrub(raw[:MAX_BODY_BYTES].decode(charset or "utf-8", errors="replace"))
        return _Response(status, text, _retry_after(retry_after), began, truncated=len(raw) > MAX_BODY_BYTES)

    def _scrub(self, text: str) -> str:
        """The answer with the key taken out: a server (or a proxy) that echoes the request back
        must not get the key into an error message, a label or anything printed from it."""
        key = self._key.reveal()
        return text.replace(key, SCRUBBED) if key and key in text else text


def checked_base_url(base_url: str) -> str:
    """``base_url`` without a trailing slash, refused before any request unless it is http(s) with a host."""
    from yarl import URL

    shown = base_url if len(base_url) <= 80 else base_url[:77] + "..."
    try:
        url = URL(base_url.strip())
        host = url.host
    except (ValueError, TypeError) as exc:
        raise UsageError(f"the API URL {shown!r} is not a valid URL ({exc})") from exc
    if url.scheme not in ("http", "https") or not host:
        raise UsageError(f"the API URL {shown!r} must be http:// or https:// followed by a host name")
    if url.user or url.password:
        raise UsageError("the API URL must not carry a user name or password; the key goes in VAST_API_KEY")
    return str(url).rstrip("/")


async def _read_capped(stream: aiohttp.StreamReader, limit: int) -> bytes:
    """At most ``limit`` bytes of a body (the rest is left unread and dropped with the connection)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in stream.iter_chunked(1 << 16):
        chunks.append(chunk)
        size += len(chunk)
        if size >= limit:
            break
    return b"".join(chunks)[:limit]


def _why(error: ApiError, attempt: int, policy: RetryPolicy) -> str:
    """Why a call is being retried, for the progress line."""
    cause = f"it answered {error.status}" if error.status else f"no answer ({error.message[:80]})"
    return f"{cause}; retry {attempt} of {policy.attempts - 1}"


def _debug(message: str, *args: object) -> None:
    """vastplan.api's debug log (``-v`` shows it)."""
    import logging

    logging.getLogger("vastplan.api").debug(message, *args)


def _quiet(text: str) -> None:
    pass


def _retry_after(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return max(0.0, seconds)
