"""Helpers for driving a sandbox over loopback with plain HTTP, as any client would."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from vastsandbox.server import RunningSandbox, start_in_thread

KEY = "sandbox-test-key-1"
OTHER_KEY = "sandbox-test-key-2"


@dataclass
class Answer:
    status: int
    headers: Mapping[str, str]
    raw: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.raw)


class Api:
    """A tiny synchronous client: JSON in, Answer out, never raises on HTTP errors."""

    def __init__(self, base: str, key: str | None = KEY) -> None:
        self.base = base
        self.key = key

    def call(self, method: str, path: str, body: Any = None, query: Mapping[str, Any] | None = None,
             headers: Mapping[str, str] | None = None, auth: bool = True) -> Answer:
        url = self.base + path
        if query:
            url += "?" + "&".join(
                f"{k}={urllib.parse.quote_plus(v if isinstance(v, str) else json.dumps(v))}"
                for k, v in query.items())
        data = None if body is None and method == "GET" else json.dumps(body or {}).encode()
        all_headers = {"Content-Type": "application/json"} if data is not None else {}
        if auth and self.key:
            all_headers["Authorization"] = f"Bearer {self.key}"
        all_headers.update(headers or {})
        request = urllib.request.Request(url, data=data, method=method, headers=all_headers)
        try:
            with urllib.request.urlopen(request, timeout=10) as resp:
                return Answer(resp.status, dict(resp.headers), resp.read())
        except urllib.error.HTTPError as err:
            return Answer(err.code, dict(err.headers), err.read())

    def get(self, path: str, **kw: Any) -> Answer:
        return self.call("GET", path, **kw)

    def post(self, path: str, body: Any = None, **kw: Any) -> Answer:
        return self.call("POST", path, body, **kw)

    def put(self, path: str, body: Any = None, **kw: Any) -> Answer:
        return self.call("PUT", path, body, **kw)

    def delete(self, path: str, body: Any = None, **kw: Any) -> Answer:
        return self.call("DELETE", path, body, **kw)


@pytest.fixture
def sb(tmp_path: Path) -> Iterator[RunningSandbox]:
    """A sandbox accepting any key (each key its own account), persisting under tmp_path."""
    with start_in_thread(tmp_path / "data", boot_seconds=0.2) as running:
        yield running


@pytest.fixture
def api(sb: RunningSandbox) -> Api:
    return Api(sb.url)


@pytest.fixture
def admin(sb: RunningSandbox) -> Api:
    return Api(sb.url, key=None)


# --- renting, as the official CLI does it (vast-api.md 4.1) ---------------------------------------------

DEFAULTS: dict[str, Any] = {"verified": {"eq": True}, "external": {"eq": False}, "rentable": {"eq": True}}
CLI_BODY: dict[str, Any] = {
    "client_id": "me", "image": "pytorch/pytorch:latest", "env": {"-p 8080:8080": "1", "KEY": "VAL"},
    "price": None, "disk": 20.0, "label": "job1", "extra": None, "onstart": "echo hi", "image_login": None,
    "python_utf8": False, "lang_utf8": False, "use_jupyter_lab": False, "jupyter_dir": None, "force": False,
    "cancel_unavail": False, "template_hash_id": None, "user": None, "runtype": "ssh_direc ssh_proxy",
}


def cheapest(api: Api, **query: Any) -> dict[str, Any]:
    body = {**DEFAULTS, "num_gpus": {"eq": "1"}, **query, "order": [["dph_total", "asc"]], "limit": 1}
    offers: list[dict[str, Any]] = api.post("/api/v0/bundles/", body).json["offers"]
    return offers[0]


def rent(api: Api, offer_id: int, **body: Any) -> int:
    answer = api.put(f"/api/v0/asks/{offer_id}/", {**CLI_BODY, **body})
    assert answer.status == 200, answer.raw
    assert answer.json["success"] is True
    instance_id: int = answer.json["new_contract"]
    return instance_id


def show(api: Api, instance_id: int) -> Any:
    return api.get(f"/api/v0/instances/{instance_id}/", query={"owner": "me"}).json["instances"]


def wait_status(api: Api, instance_id: int, status: str, timeout: float = 5.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        row = show(api, instance_id)
        seen.append(row["actual_status"])
        if row["actual_status"] == status:
            return dict(row)
        time.sleep(0.03)
    raise AssertionError(f"never reached {status}: {seen[-5:]}")


def fetch(url: str, timeout: float = 5.0) -> tuple[int, str, str]:
    """Poll a result URL without any key until it answers 200; (status, content type, text)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as resp:
                return resp.status, resp.headers["Content-Type"], resp.read().decode()
        except urllib.error.HTTPError as err:
            assert err.code == 404 and b"NoSuchKey" in err.read()
        assert time.monotonic() < deadline, f"{url} never became ready"
        time.sleep(0.05)


def running(api: Api, **body: object) -> int:
    """Rent the cheapest offer and wait until the instance runs."""
    instance_id = rent(api, cheapest(api)["id"], **body)
    wait_status(api, instance_id, "running")
    return instance_id


# --- storage ----------------------------------------------------------------------------------------

VOLUME_DEFAULTS: dict[str, Any] = {"verified": {"eq": True}, "external": {"eq": False}, "disk_space": {"gte": 1}}


def volume_offers(api: Api, **query: Any) -> list[dict[str, Any]]:
    body = {**VOLUME_DEFAULTS, **query, "order": [["score", "desc"]], "allocated_storage": 1.0}
    offers: list[dict[str, Any]] = api.post("/api/v0/volumes/search/", body).json["offers"]
    return offers
