"""Instance logs and execute: each answers with a ``result_url`` the client polls until ready.

``PUT /api/v0/instances/request_logs/{id}/`` and ``PUT /api/v0/instances/command/{id}/`` answer at
once; the text is "uploaded" to ``/vast-results/<name>`` on this server a moment later (see
``results``), which answers 404 until then, as an S3 object that is not there yet does.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable

from aiohttp import web

from vastsandbox.http.router import Call, Reply, Route
from vastsandbox.http.routes_common import instance_fs, own_instance, result_url
from vastsandbox.world import container_fs, instance_logs
from vastsandbox.world.context import Sandbox
from vastsandbox.world.errors import Refusal

RESULTS_PATH = "/vast-results/{name}"
NOT_THERE = (b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>NoSuchKey</Code>'
             b"<Message>The specified key does not exist.</Message></Error>")


def request_logs(call: Call) -> Reply:
    record = own_instance(call, call.param_int("id"), error="invalid_id")
    body = call.body_dict()
    daemon = str(body.get("daemon_logs") or "").lower() == "true"
    text = instance_logs.logs(record, body.get("tail"), body.get("filter"), daemon)
    name = call.sb.results.put(text, call.now)
    return Reply({"success": True, "result_url": result_url(call, name),
                  "msg": "Logs are being uploaded; fetch the result_url in a few seconds."})


def writeable_path(record: dict[str, object]) -> str:
    layer = hashlib.sha256(f"layer/{record['id']}".encode()).hexdigest()
    return f"/var/lib/docker/overlay2/{layer}/merged"


def execute(call: Call) -> Reply:
    record = own_instance(call, call.param_int("id"), error="invalid_container_id")
    command = call.body_dict().get("command")
    if record.get("actual_status") in ("created", "loading") and not record.get("running_since"):
        raise Refusal(400, "invalid_container", "The container does not exist yet; wait until it has started.")
    output = container_fs.execute(instance_fs(call, record), command)
    if str(command).split()[0] == "rm":
        call.sb.changed()
    name = call.sb.results.put(output, call.now)
    return Reply({"success": True, "writeable_path": writeable_path(record), "result_url": result_url(call, name),
                  "msg": "Command is executing, wait a few seconds and then view the result_url"})


def results_handler(sb: Sandbox) -> Callable[[web.Request], Awaitable[web.Response]]:
    """The aiohttp handler serving uploaded results (outside the API: no key, no counters)."""

    async def handle(request: web.Request) -> web.Response:
        text = sb.results.get(request.match_info["name"], sb.now())
        if text is None:
            return web.Response(body=NOT_THERE, status=404, content_type="application/xml")
        return web.Response(text=text, content_type="text/plain")

    return handle


ROUTES = [
    Route("PUT", "/api/v0/instances/request_logs/{id}/", request_logs),
    Route("PUT", "/api/v0/instances/command/{id}/", execute),
]
