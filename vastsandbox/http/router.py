"""Route table of the sandbox: path templates, the per-call context, and Vast.ai error bodies.

Routes are matched by our own small router rather than aiohttp's so that a trailing slash is
optional everywhere, counters and faults can name a route by its template
("GET /api/v0/ssh/{id}/"), and unknown paths still get a Vast-style JSON error body.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from aiohttp import web

from vastsandbox.world import JSON
from vastsandbox.world.errors import Refusal

if TYPE_CHECKING:
    from vastsandbox.world.context import Sandbox


@dataclass
class Reply:
    """A handler's answer: a JSON body and a status."""

    body: JSON
    status: int = 200


@dataclass
class Call:
    """What a handler sees: path parameters, decoded query and body, the caller and the clock."""

    sb: Sandbox
    request: web.Request
    params: dict[str, str]
    body: JSON
    user_id: int | None
    now: float

    def query_raw(self, name: str) -> str | None:
        """A query value exactly as sent (after URL decoding)."""
        return self.request.query.get(name)

    def query_json(self, name: str, default: JSON = None) -> JSON:
        """A query value JSON-decoded, as the client JSON-encodes every non-string value."""
        raw = self.request.query.get(name)
        if raw is None or raw == "":
            return default
        try:
            return json.loads(raw)
        except ValueError:
            return raw

    def body_dict(self) -> dict[str, JSON]:
        """The JSON body as an object, or 400 when it is something else."""
        if self.body is None:
            return {}
        if not isinstance(self.body, dict):
            raise Refusal(400, "invalid_request", "Request body must be a JSON object.")
        return self.body

    def param_int(self, name: str) -> int:
        return int(self.params[name])

    @property
    def uid(self) -> int:
        """The authenticated caller's user id (only for routes that require auth)."""
        if self.user_id is None:
            raise Refusal(403, "auth_error", "This action requires login.")
        return self.user_id


Handler = Callable[[Call], Reply]


@dataclass(frozen=True)
class Route:
    """One method on one path template. ``{name}`` matches a path segment (``{id}`` digits only)."""

    method: str
    template: str
    handler: Handler
    auth: bool = True
    pattern: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "pattern", compile_template(self.template))

    @property
    def key(self) -> str:
        """The name counters and faults use, e.g. ``"GET /api/v0/ssh/{id}/"``."""
        return f"{self.method} {self.template}"


def compile_template(template: str) -> re.Pattern[str]:
    """Compile ``/api/v0/ssh/{id}/`` into a regex where the trailing slash is optional."""
    parts = []
    for piece in re.split(r"(\{\w+\})", template.rstrip("/")):
        if piece.startswith("{") and piece.endswith("}"):
            name = piece[1:-1]
            parts.append(rf"(?P<{name}>\d+)" if name.endswith("id") else rf"(?P<{name}>[^/]+)")
        else:
            parts.append(re.escape(piece))
    return re.compile("^" + "".join(parts) + "/?$")


class Router:
    """Finds the route for a method and path; keeps registration order (first match wins)."""

    def __init__(self) -> None:
        self._routes: list[Route] = []

    def add(self, routes: list[Route]) -> None:
        self._routes.extend(routes)

    def match(self, method: str, path: str) -> tuple[Route | None, dict[str, str], bool]:
        """Return (route, params, path_known). ``path_known`` tells 405 apart from 404."""
        path_known = False
        for route in self._routes:
            found = route.pattern.match(path)
            if found is None:
                continue
            path_known = True
            if route.method == method:
                return route, found.groupdict(), True
        return None, {}, path_known

    @property
    def routes(self) -> list[Route]:
        return list(self._routes)


def json_bytes(body: JSON) -> bytes:
    return json.dumps(body, separators=(",", ":")).encode()


def json_response(body: JSON, status: int = 200, headers: Mapping[str, str] | None = None) -> web.Response:
    """A response with exactly ``Content-Type: application/json`` (the CLI compares it verbatim)."""
    all_headers = {"Content-Type": "application/json"}
    if headers:
        all_headers.update(headers)
    return web.Response(body=json_bytes(body), status=status, headers=all_headers)


def error_body(refusal: Refusal) -> dict[str, JSON]:
    """The one place a ``Refusal`` becomes Vast.ai's error body ``{"success": false, ...}``."""
    return {"success": False, "error": refusal.error, "msg": refusal.msg, **refusal.extra}


def error_response(refusal: Refusal) -> web.Response:
    return json_response(error_body(refusal), refusal.status)
