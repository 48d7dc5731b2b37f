"""Transient API failures are ridden out; creates are never blindly repeated."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

from tests.acceptance.test_lifecycle import keys_in_sandbox, stack, templates_in_sandbox
from tests.harness import Workspace


def admin(ws: Workspace, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"{ws.api_url}/_sandbox{path}", data=data, method=method,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def test_429_with_and_without_retry_after_and_503s_are_retried(workspace: Workspace) -> None:
    workspace.write(stack())
    admin(workspace, "POST", "/faults", {"status": 429, "count": 2, "retry_after": 0.1})
    admin(workspace, "POST", "/faults", {"status": 429, "count": 2, "body": "text"})
    admin(workspace, "POST", "/faults", {"status": 503, "count": 2, "route": "GET *"})
    applied = workspace.vastplan("apply", "--auto-approve")
    assert applied.code == 0, applied.text
    assert len(keys_in_sandbox(workspace)) == 2 and len(templates_in_sandbox(workspace)) == 1
    assert admin(workspace, "GET", "/faults")["faults"] == []  # every injected failure was met and survived


def test_a_502_on_a_create_is_not_blindly_retried(workspace: Workspace) -> None:
    workspace.write(stack(keys=()))
    admin(workspace, "POST", "/faults", {"kind": "lose_response", "status": 502, "count": 1,
                                        "route": "POST /api/v0/template/"})
    failed = workspace.vastplan("apply", "--auto-approve")
    assert failed.code == 1
    assert "templates.torch: POST /template/ failed (502" in failed.text
    assert "Apply failed: 1 error." in failed.err
    assert len(templates_in_sandbox(workspace)) == 1  # made once, not twice
