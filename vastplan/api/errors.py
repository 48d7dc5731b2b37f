"""The single place where HTTP responses and aiohttp exceptions become ApiError.

aiohttp is imported only when a transport failure is translated: a command that never calls the API
(validate, state list, output, graph, --help) never pays for importing it."""

from __future__ import annotations

import json
from typing import Any

from vastplan.errors import ApiError, AuthError


def error_from_response(status: int, text: str, method: str, path: str) -> ApiError:
    """An ApiError carrying the API's own ``error`` code and ``msg`` (or whatever it sent)."""
    code, message = _parse_error_body(text)
    if not message:
        message = f"HTTP {status}"
    kind = AuthError if status in (401, 403) and (code == "auth_error" or "key" in message.lower()) else ApiError
    return kind(message, status=status, code=code, method=method, path=path)


def _parse_error_body(text: str) -> tuple[str | None, str]:
    try:
        body: Any = json.loads(text)
    except ValueError:
        return None, text.strip()[:300]
    if not isinstance(body, dict):
        return None, text.strip()[:300]
    code = body.get("error")
    message = body.get("msg") or body.get("message") or body.get("detail") or ""
    return (str(code) if code else None), str(message)


def error_from_exception(exc: BaseException, method: str, path: str) -> ApiError:
    """Translate a transport failure; the original stays as ``__cause__``."""
    import asyncio

    import aiohttp

    if isinstance(exc, asyncio.TimeoutError):
        message = "the request timed out"
    elif isinstance(exc, aiohttp.ClientConnectorError):
        message = f"cannot connect to {exc.host}:{exc.port} ({exc.os_error.strerror or exc.os_error})"
    elif isinstance(exc, aiohttp.ClientError):
        message = f"connection failed ({exc.__class__.__name__}: {exc})"
    else:
        message = f"{exc.__class__.__name__}: {exc}"
    error = ApiError(message, method=method, path=path)
    error.__cause__ = exc
    return error


def never_sent(exc: BaseException) -> bool:
    """True when the request provably never reached the server (safe to retry even a create)."""
    import aiohttp

    return isinstance(exc, aiohttp.ClientConnectorError)


def expect_dict(body: Any, method: str, path: str) -> dict[str, Any]:
    """``body`` if the API answered with a JSON object; anything else fails closed."""
    if not isinstance(body, dict):
        raise ApiError("the API answered with an unexpected body shape", method=method, path=path)
    return body


def expect_rows(body: Any, key: str, what: str, method: str, path: str) -> list[dict[str, Any]]:
    """The objects listed under ``key`` of a JSON object answer (``what`` names the listing in the
    error, "the webhook listing"); an answer without that list fails closed, odd entries are skipped."""
    rows = expect_dict(body, method, path).get(key)
    if not isinstance(rows, list):
        raise ApiError(f"{what} has no '{key}' list", method=method, path=path)
    return [row for row in rows if isinstance(row, dict)]
