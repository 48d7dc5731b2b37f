"""Billing endpoints: the account's charges (what instances and volumes cost) and its invoices.

The queries are the ones ``vastai show invoices-v1`` (1.9.1) sends: ``select_filters`` on ``day``
(charges) or ``when`` (invoices) as ``{"gte": t0, "lte": t1}`` in whole epoch seconds,
``latest_first=false``, a ``limit`` (at most 100), ``format=table`` for charges, and ``after_token``
set to the previous page's ``next_token`` until it is null. Every page is checked: a body that is not
the documented envelope, or a charge row without numeric ``start``/``end``/``amount``, is an ApiError
rather than a silently wrong total.
"""

from __future__ import annotations

import math
from typing import Any

from vastplan.api.client import VastClient
from vastplan.errors import ApiError

CHARGES_PATH = "/api/v0/charges/"
INVOICES_PATH = "/api/v1/invoices/"
PAGE_LIMIT = 100  # the official CLI's maximum
MAX_PAGES = 1000  # a server that never stops paging is a fault, not a long report


async def charges(client: VastClient, since: float, until: float, *,
                  types: list[str] | None = None, limit: int = PAGE_LIMIT) -> list[dict[str, Any]]:
    """Every charge row overlapping ``[since, until]`` (epoch seconds), oldest first.

    Rows are ``{start, end, type, source, description, amount, metadata, items}``; ``end`` may be
    null for a charge still running (callers treat it as "now")."""
    window: dict[str, Any] = {"day": {"gte": math.floor(since), "lte": math.ceil(until)}}
    if types:
        window["type"] = {"in": list(types)}
    query = {"select_filters": window, "latest_first": False, "limit": min(limit, PAGE_LIMIT), "format": "table"}
    rows = await _all_pages(client, CHARGES_PATH, query)
    return [_checked_charge(row) for row in rows]


async def invoices(client: VastClient, since: float, until: float, *,
                   limit: int = PAGE_LIMIT) -> list[dict[str, Any]]:
    """Every invoice (credits, payments, transfers) dated in ``[since, until]``, oldest first."""
    window = {"when": {"gte": math.floor(since), "lte": math.ceil(until)}}
    query = {"select_filters": window, "latest_first": False, "limit": min(limit, PAGE_LIMIT)}
    rows = await _all_pages(client, INVOICES_PATH, query)
    for row in rows:
        _number(row, "amount", INVOICES_PATH)
    return rows


async def _all_pages(client: VastClient, path: str, query: dict[str, Any]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    token: str | None = None
    for _ in range(MAX_PAGES):
        page_query = dict(query) if token is None else {**query, "after_token": token}
        body = await client.call("GET", path, query=page_query)
        if not isinstance(body, dict) or not isinstance(body.get("results"), list):
            raise _malformed(path, "has no 'results' list")
        if not all(isinstance(row, dict) for row in body["results"]):
            raise _malformed(path, "has a result that is not an object")
        rows.extend(body["results"])
        token = body.get("next_token")
        if token in (None, ""):
            return rows
        if not isinstance(token, (str, int)) or str(token) in seen:
            raise _malformed(path, f"has a next_token that does not advance ({token!r})")
        token = str(token)
        seen.add(token)
    raise _malformed(path, f"still had more pages after {MAX_PAGES}")


def _checked_charge(row: dict[str, Any]) -> dict[str, Any]:
    start = _number(row, "start", CHARGES_PATH)
    end = row.get("end")
    if end is not None:
        end = _number(row, "end", CHARGES_PATH)
        if end < start:
            raise _malformed(CHARGES_PATH, f"has a charge that ends before it starts ({row!r:.120})")
    metadata = row.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        raise _malformed(CHARGES_PATH, "has a charge whose 'metadata' is not an object")
    return {**row, "start": start, "end": end, "amount": _number(row, "amount", CHARGES_PATH),
            "metadata": metadata or {}}


def _number(row: dict[str, Any], name: str, path: str) -> float:
    value = row.get(name)
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise _malformed(path, f"has a row whose {name!r} is not a number ({value!r})")
    try:
        number = float(value)
    except ValueError:
        raise _malformed(path, f"has a row whose {name!r} is not a number ({value!r})") from None
    if not math.isfinite(number):
        raise _malformed(path, f"has a row whose {name!r} is not finite")
    return number


def _malformed(path: str, what: str) -> ApiError:
    return ApiError(f"the billing answer {what}", method="GET", path=path)
