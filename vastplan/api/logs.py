"""Instance logs: ask for them (``PUT /instances/request_logs/{id}/``), then fetch the result URL.

Vast.ai answers the request at once with a ``result_url`` (an S3 object); the text appears there
a few seconds later, after the machine has uploaded it. Until then the URL answers 404 (or 403),
so the fetch polls, as the official CLI does (every 0.3 s, about 9 s in all). The result URL is
another host: it is fetched without the API key, which must never leave for anywhere but the API.
"""

from __future__ import annotations

import time

from vastplan.api.client import VastClient
from vastplan.api.errors import error_from_exception, expect_dict
from vastplan.errors import ApiError

NOT_YET = frozenset({403, 404})   # what S3 answers for an object not uploaded yet
POLL_SECONDS = 0.3
WAIT_SECONDS = 15.0


async def request_logs(client: VastClient, instance_id: int, *, tail: int | None = None) -> str:
    """Ask for an instance's container logs (the last ``tail`` lines); returns the result URL."""
    path = f"/instances/request_logs/{instance_id}/"
    body = {"tail": str(tail)} if tail is not None else {}
    answer = expect_dict(await client.call("PUT", path, body=body), "PUT", path)
    url = answer.get("result_url")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise ApiError("the logs answer has no result_url", method="PUT", path=path)
    return url


async def fetch_result(url: str, *, wait: float = WAIT_SECONDS, poll: float = POLL_SECONDS) -> str:
    """The text at a result URL, polling while it is not there yet; ApiError when it never comes."""
    import asyncio

    import aiohttp  # here: a command that fetches no logs never imports it

    deadline = time.monotonic() + wait
    last = "nothing was uploaded"
    timeout = aiohttp.ClientTimeout(total=max(poll * 10, 10.0))
    async with aiohttp.ClientSession(timeout=timeout) as session:  # no API key on this host
        while True:
            try:
                async with session.get(url) as response:
                    if response.status == 200:
                        return await response.text()
                    if response.status not in NOT_YET:
                        raise ApiError(f"the result URL answered {response.status}", status=response.status,
                                       method="GET", path="result_url")
                    last = f"it still answered {response.status}"
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                last = error_from_exception(exc, "GET", "result_url").message
            if time.monotonic() + poll > deadline:
                raise ApiError(f"the logs were not ready after {wait:g} s ({last}); try again",
                               method="GET", path="result_url")
            await asyncio.sleep(poll)
