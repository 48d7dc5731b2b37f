"""The aiohttp application: one catch-all handler that does what Vast.ai's front door does.

For each API request, in order: count it, wait the configured latency, apply the rate limit and
any injected fault, authenticate, decode the JSON body, run the route's handler, and answer with a
bare ``application/json`` body (or lose the answer when a fault says so).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING

from aiohttp import web

from vastsandbox.http import (
    admin,
    admin_container,
    admin_market,
    routes_account,
    routes_account_extra,
    routes_billing,
    routes_billing_extra,
    routes_instances,
    routes_logs,
    routes_network_volumes,
    routes_offers,
    routes_secrets,
    routes_serverless,
    routes_templates,
    routes_transfers,
    routes_volumes,
    routes_webhooks,
)
from vastsandbox.http.router import Call, Route, Router, error_response, json_response
from vastsandbox.world import container_keys
from vastsandbox.world.context import Sandbox
from vastsandbox.world.control import HUGE_BODY_BYTES, Denial
from vastsandbox.world.errors import Refusal

if TYPE_CHECKING:
    from vastsandbox.http.spec import Operation

log = logging.getLogger(__name__)

SANDBOX = web.AppKey("sandbox", Sandbox)
ADMIN_PREFIX = "/_sandbox"
# Work done before each request (e.g. moving instances through boot); set by the server.
Before = Callable[[Sandbox], Awaitable[None]]


def api_router() -> Router:
    router = Router()
    for routes in (routes_account.ROUTES, routes_templates.ROUTES, routes_offers.ROUTES,
                   routes_instances.ROUTES, routes_volumes.ROUTES, routes_billing.ROUTES):
        router.add(routes)
    for routes in EXTRA_ROUTES:
        router.add(routes)
    return router


# Routes every official CLI command for instances, volumes, templates, keys and billing uses, then
# serverless endpoints and worker groups (the CLI's and the SDK's paths), account env vars and webhooks.
EXTRA_ROUTES: tuple[list[Route], ...] = (
    routes_logs.ROUTES, routes_network_volumes.ROUTES, routes_transfers.ROUTES, routes_billing_extra.ROUTES,
    routes_account_extra.ROUTES, routes_serverless.ROUTES, routes_secrets.ROUTES, routes_webhooks.ROUTES)


def admin_router() -> Router:
    router = Router()
    router.add(admin.ROUTES)
    router.add(admin_market.ROUTES)
    router.add(admin_container.ROUTES)
    return router


def _api_key(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return request.query.get("api_key")


def denial_response(denial: Denial, now: float, request: web.Request) -> web.Response:
    """A 429 or 5xx body in one of the shapes Vast.ai is seen to send (vast-api.md section 11), or one
    of the hostile shapes ``echo`` and ``huge``."""
    headers: dict[str, str] = {}
    if denial.retry_after is not None:
        headers["Retry-After"] = f"{denial.retry_after:g}"
    limited = denial.status == 429
    threshold = f" endpoint threshold={denial.threshold:g}" if denial.threshold is not None else ""
    if denial.body == "text":
        text = "API requests too frequent" + (f":{threshold}" if threshold else "") if limited else \
            {500: "Internal Server Error", 502: "502 Bad Gateway", 503: "503 Service Unavailable",
             504: "504 Gateway Time-out"}.get(denial.status, "Server Error")
        return web.Response(body=text.encode(), status=denial.status,
                            headers={"Content-Type": "text/plain", **headers})
    if denial.body == "detail":
        detail = f"API requests too frequent{threshold}" if limited else "Server error"
        return json_response({"detail": detail}, denial.status, headers)
    if denial.body == "quota":
        reset = (int(now) // 86400 + 1) * 86400
        headers["X-RateLimit-Reset"] = str(reset)
        return json_response({"success": False, "error": "search_quota_exceeded",
                              "msg": "Daily search quota exceeded"}, denial.status, headers)
    if denial.body == "echo":
        echoed = "; ".join(f"{name}: {value}" for name, value in request.headers.items())
        return json_response({"success": False, "error": "server_error",
                              "msg": f"upstream failed for request with headers {echoed}"}, denial.status, headers)
    if denial.body == "huge":
        return json_response({"success": False, "error": "server_error", "msg": "x" * HUGE_BODY_BYTES},
                             denial.status, headers)
    error = "rate_limit_exceeded" if limited else "server_error"
    msg = "API requests too frequent" if limited else "Internal server error, please try again."
    return json_response({"success": False, "error": error, "msg": msg}, denial.status, headers)


async def _read_body(request: web.Request) -> object:
    if request.method in ("GET", "HEAD") or not request.can_read_body:
        return {}
    raw = await request.read()
    if not raw.strip():
        return {}
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise Refusal(400, "invalid_request", "Request body is not valid JSON.") from exc


def _authenticate(sb: Sandbox, route: Route, request: web.Request, now: float,
                  params: dict[str, str] | None = None) -> int | None:
    api_key = _api_key(request)
    if not route.auth:
        return None
    if not api_key:
        raise Refusal(403, "auth_error", "This action requires login.")
    container = container_keys.instance_of(sb.world, api_key)
    if container is not None:  # a container's restricted key: its own instance only
        return container_keys.authorise(sb.world, container, route.key, params or {})
    if not sb.key_allowed(api_key):
        raise Refusal(401, "auth_error", "Invalid user key")
    user = sb.world.user_for_key(api_key, now)
    return int(user["id"])


def _drop(request: web.Request) -> web.Response:
    """Close the connection without answering, like a proxy that lost the upstream reply."""
    transport = request.transport
    if transport is not None:
        transport.abort()
    raise asyncio.CancelledError


class Conformance:
    """Strict mode: a request to a route the published spec documents must conform to its request
    schema, else 400 ``invalid_args`` naming what is wrong (the validator is loaded only here)."""

    def __init__(self, sb: Sandbox) -> None:
        from vastsandbox.http.spec import vast_spec

        self.sb = sb
        self.spec = vast_spec()
        self._ops: dict[str, Operation | None] = {}

    def check(self, route: Route, query: Mapping[str, str], body: object) -> None:
        if route.key not in self._ops:
            self._ops[route.key] = self.spec.find_template(route.method, route.template)
        op = self._ops[route.key]
        if op is None:
            return
        problems = self.spec.request_problems(op, query, body)
        if problems:
            self.sb.nonconforming.append(f"{route.key}: {'; '.join(problems)}")
            raise Refusal(400, "invalid_args", f"Invalid args: the request does not conform to the Vast.ai API "
                                                  f"spec ({op.operation_id}): {'; '.join(problems[:5])}")


class Dispatcher:
    def __init__(self, sb: Sandbox, before: Before | None = None) -> None:
        self.sb = sb
        self.api = api_router()
        self.admin = admin_router()
        self.before = before
        self.conformance = Conformance(sb) if sb.options.strict else None

    async def __call__(self, request: web.Request) -> web.StreamResponse:
        if request.path == ADMIN_PREFIX or request.path.startswith(ADMIN_PREFIX + "/"):
            return await self._admin(request)
        return await self._api(request)

    async def _admin(self, request: web.Request) -> web.StreamResponse:
        route, params, known = self.admin.match(request.method, request.path)
        if route is None:
            return self._unrouted(request, known)
        return await self._run(route, request, params, user_id=None, judged=False)

    async def _api(self, request: web.Request) -> web.StreamResponse:
        sb, control = self.sb, self.sb.control
        route, params, known = self.api.match(request.method, request.path)
        key = route.key if route is not None else f"{request.method} {request.path}"
        control.count(key)
        if control.latency_ms > 0:
            await asyncio.sleep(control.latency_ms / 1000.0)
        if route is None:
            return self._finish(self._unrouted(request, known))
        now = sb.now()
        identity = _api_key(request) or (request.remote or "anonymous")
        denial = control.check_rate(identity, key, now)
        rule = control.pick_fault("status", key, now) if denial is None else None
        if rule is not None:
            denial = Denial(rule.status, rule.body, rule.retry_after)
        if denial is not None:
            return self._finish(denial_response(denial, now, request))
        if self.before is not None:
            await self.before(sb)
        try:
            user_id = _authenticate(sb, route, request, now, params)
        except Refusal as failure:
            return self._finish(error_response(failure))
        response = await self._run(route, request, params, user_id, judged=True)
        lost = control.pick_fault("lose_response", key, now) if response.status < 400 else None
        if lost is not None:
            control.count_status(0 if lost.drop else lost.status)
            if lost.drop:
                return _drop(request)
            return denial_response(Denial(lost.status, lost.body, lost.retry_after), now, request)
        if isinstance(response.body, bytes):
            control.count_bytes(key, len(response.body))
        return self._finish(response)

    async def _run(self, route: Route, request: web.Request, params: dict[str, str],
                   user_id: int | None, judged: bool) -> web.Response:
        try:
            body = await _read_body(request)
            if judged and self.conformance is not None:
                self.conformance.check(route, request.query, body)
            call = Call(self.sb, request, params, body, user_id, self.sb.now())
            reply = route.handler(call)
        except Refusal as failure:
            return error_response(failure)
        except (ValueError, TypeError) as exc:  # a malformed id or number in the request
            return json_response({"success": False, "error": "invalid_args",
                                  "msg": f"Invalid args: {exc}"}, 400)
        except ConnectionResetError:
            # The client went away mid-request (killed): nobody reads the answer; nothing to log.
            return web.Response(status=499)
        except Exception:
            log.exception("sandbox handler failed: %s", route.key)
            return json_response({"success": False, "error": "server_error",
                                  "msg": "Sandbox handler failed; see its log."}, 500)
        return json_response(reply.body, reply.status)

    def _unrouted(self, request: web.Request, path_known: bool) -> web.Response:
        if path_known:
            return json_response({"success": False, "error": "method_not_allowed",
                                  "msg": f"Method {request.method} not allowed."}, 405)
        return json_response({"success": False, "error": "not_found",
                              "msg": f"No such endpoint: {request.path}"}, 404)

    def _finish(self, response: web.Response) -> web.Response:
        self.sb.control.count_status(response.status)
        return response


def make_app(sb: Sandbox, before: Before | None = None) -> web.Application:
    """The aiohttp application serving the Vast.ai API and the admin API for one sandbox."""
    app = web.Application(client_max_size=32 * 1024 * 1024)
    app[SANDBOX] = sb
    dispatcher = Dispatcher(sb, before)

    async def handle(request: web.Request) -> web.StreamResponse:
        return await dispatcher(request)

    app.router.add_get(routes_logs.RESULTS_PATH, routes_logs.results_handler(sb))
    app.router.add_route("*", "/{tail:.*}", handle)
    return app
