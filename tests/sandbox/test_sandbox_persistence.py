"""The world survives a restart on the same data dir, and the file holds no API key."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import KEY, Api

from vastsandbox.server import start_in_thread


def test_two_successive_sandboxes_share_the_world(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with start_in_thread(data) as first:
        api = Api(first.url)
        key_id = api.post("/api/v0/ssh/", {"ssh_key": "ssh-ed25519 AAAAC3 a@b"}).json["key"]["id"]
        template = api.post("/api/v0/template/", {"name": "kept", "image": "img"}).json["template"]
        user_id = api.get("/api/v0/users/current").json["id"]
    with start_in_thread(data) as second:
        api = Api(second.url)
        assert api.get("/api/v0/users/current").json["id"] == user_id
        assert [k["id"] for k in api.get("/api/v0/ssh/").json] == [key_id]
        rows = api.get("/api/v0/template/", query={"select_filters": {"id": {"eq": template["id"]}}})
        assert rows.json["templates"][0]["hash_id"] == template["hash_id"]
        # New ids continue after the old ones instead of reusing them.
        again = api.post("/api/v0/ssh/", {"ssh_key": "ssh-ed25519 AAAAC3 c@d"}).json["key"]["id"]
        assert again > key_id


def test_the_file_is_json_and_never_contains_the_key(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with start_in_thread(data) as sb:
        Api(sb.url).post("/api/v0/ssh/", {"ssh_key": "ssh-ed25519 AAAAC3 a@b"})
    text = (data / "sandbox.json").read_text()
    assert KEY not in text
    assert json.loads(text)["format"] == 1
    assert [p.name for p in data.iterdir()] == ["sandbox.json"]  # no temp file left behind


def test_in_memory_sandbox_writes_nothing(tmp_path: Path) -> None:
    with start_in_thread(None) as sb:
        Api(sb.url).post("/api/v0/ssh/", {"ssh_key": "ssh-ed25519 AAAAC3 a@b"})
    assert list(tmp_path.iterdir()) == []


def test_writes_happen_while_running_not_only_at_stop(tmp_path: Path) -> None:
    import time

    data = tmp_path / "data"
    with start_in_thread(data) as sb:
        Api(sb.url).post("/api/v0/ssh/", {"ssh_key": "ssh-ed25519 AAAAC3 a@b"})
        deadline = time.monotonic() + 5
        while not (data / "sandbox.json").exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        saved = json.loads((data / "sandbox.json").read_text())
        assert len(saved["objects"]["ssh_keys"]) == 1
