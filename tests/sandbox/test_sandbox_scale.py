"""A large market hosts hundreds of instances, and listing them stays page-by-page cheap."""

from __future__ import annotations

import time
from pathlib import Path

from conftest import Api

from vastsandbox.server import start_in_thread

BODY = {"client_id": "me", "image": "img:1", "env": {}, "disk": 10, "label": "bulk", "runtype": "ssh"}


def test_hundreds_of_instances_on_a_large_market(tmp_path: Path) -> None:
    with start_in_thread(tmp_path / "d", boot_seconds=0.05, machines=1500, ssh_listeners=False) as sb:
        api = Api(sb.url)
        offers = api.post("/api/v0/bundles/", {"rentable": {"eq": True}, "num_gpus": {"eq": "1"}}).json["offers"]
        assert len(offers) > 1000
        started = time.monotonic()
        made = [api.put(f"/api/v0/asks/{o['id']}/", BODY).json["new_contract"] for o in offers[:400]]
        token, seen = None, []
        while True:
            page = api.get("/api/v1/instances/", query={"limit": 25, **({"after_token": token} if token else {})}).json
            seen += [r["id"] for r in page["instances"]]
            token = page["next_token"]
            if not token:
                break
        elapsed = time.monotonic() - started
    assert seen == sorted(made) and len(seen) == 400
    assert elapsed < 20, f"400 creates and 16 pages took {elapsed:.1f}s"
