"""The front door: auth, optional trailing slash, content type, error bodies."""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path

import pytest
from conftest import KEY, Api

from vastsandbox.server import start_in_thread


def test_missing_key_is_403_with_vast_body(api: Api) -> None:
    answer = api.get("/api/v0/users/current", auth=False)
    assert answer.status == 403
    assert answer.json == {"success": False, "error": "auth_error", "msg": "This action requires login."}


def test_unknown_key_is_401_when_a_key_is_configured(tmp_path: Path) -> None:
    with start_in_thread(None, api_key="the-only-key") as sb:
        wrong = Api(sb.url, key="another-key").get("/api/v0/users/current")
        right = Api(sb.url, key="the-only-key").get("/api/v0/users/current")
    assert wrong.status == 401
    assert wrong.json == {"success": False, "error": "auth_error", "msg": "Invalid user key"}
    assert right.status == 200


def test_key_in_query_string_is_accepted(api: Api) -> None:
    answer = api.get("/api/v0/users/current", auth=False, query={"api_key": KEY})
    assert answer.status == 200
    assert isinstance(answer.json["id"], int)


def test_each_key_is_its_own_account(sb: object, api: Api) -> None:
    other = Api(api.base, key="someone-else")
    assert api.get("/api/v0/users/current").json["id"] != other.get("/api/v0/users/current").json["id"]
    api.post("/api/v0/ssh/", {"ssh_key": "ssh-ed25519 AAAAC3Nza mine"})
    assert len(api.get("/api/v0/ssh/").json) == 1
    assert other.get("/api/v0/ssh/").json == []


@pytest.mark.parametrize("path", ["/api/v0/ssh/", "/api/v0/ssh", "/api/v0/users/current",
                                  "/api/v0/users/current/", "/api/v0/gpu_names/unique",
                                  "/api/v0/template"])
def test_trailing_slash_is_optional(api: Api, path: str) -> None:
    assert api.get(path).status == 200


def test_content_type_is_bare_application_json(api: Api) -> None:
    for answer in (api.get("/api/v0/ssh/"), api.get("/api/v0/users/current", auth=False),
                   api.get("/api/v0/no/such/thing")):
        assert answer.headers["Content-Type"] == "application/json"


def test_gpu_names_needs_no_key(api: Api) -> None:
    answer = api.get("/api/v0/gpu_names/unique/", auth=False)
    assert answer.status == 200
    names = answer.json["gpu_names"]
    assert "RTX 4090" in names and "H100 SXM" in names and len(names) >= 10


def test_unknown_path_is_404_and_wrong_method_405(api: Api) -> None:
    missing = api.get("/api/v0/does-not-exist/")
    assert missing.status == 404 and missing.json["success"] is False
    assert api.call("PATCH", "/api/v0/ssh/").status == 405


def test_malformed_json_body_is_400(api: Api) -> None:
    request = urllib.request.Request(api.base + "/api/v0/ssh/", data=b"{not json", method="POST",
                                     headers={"Authorization": f"Bearer {KEY}"})
    try:
        urllib.request.urlopen(request, timeout=5)
        status = 200
    except urllib.error.HTTPError as err:
        status = err.code
        assert b"invalid_request" in err.read()
    assert status == 400
