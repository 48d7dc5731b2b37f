"""The routes added for the official CLI answer in the shapes the published spec documents, where it
documents them (network volumes, clones, bulk create, snapshots and the older invoice views are not
in it; docs/sandbox.md lists what the CLI expects of those)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from conftest import Api, running

# Vast.ai's published spec: in the repository if it was copied there, else in the shared folder.
SPEC = next(p for p in (Path(__file__).resolve().parents[2] / "reference" / "vast-openapi.yaml",
                        Path("/work/shared/reference/vast-openapi.yaml")) if p.exists())


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(SPEC.read_text())
    return loaded


def check(spec: dict[str, Any], path: str, method: str, status: int, body: Any) -> None:
    schema = spec["paths"][path][method]["responses"][str(status)]["content"]["application/json"]["schema"]
    validator = jsonschema.Draft202012Validator({**schema, "components": spec["components"]})
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(body)]
    assert not errors, (method, path, status, errors)


Call = Callable[[Api, int], Any]
CASES: list[tuple[str, str, int, Call]] = [
    ("/api/v0/instances/request_logs/{id}", "put", 200,
     lambda api, i: api.put(f"/api/v0/instances/request_logs/{i}/", {"tail": "10"})),
    ("/api/v0/instances/request_logs/{id}", "put", 404, lambda api, i: api.put("/api/v0/instances/request_logs/1/")),
    ("/api/v0/instances/command/{id}", "put", 200, lambda api, i: api.put(f"/api/v0/instances/command/{i}/",
                                                                         {"command": "du -s /root"})),
    ("/api/v0/instances/command/{id}", "put", 400, lambda api, i: api.put(f"/api/v0/instances/command/{i}/",
                                                                         {"command": "reboot"})),
    ("/api/v0/instances/prepay/{id}", "put", 200, lambda api, i: api.put(f"/api/v0/instances/prepay/{i}/",
                                                                        {"amount": 5.0})),
    ("/api/v0/instances/prepay/{id}", "put", 411, lambda api, i: api.put(f"/api/v0/instances/prepay/{i}/",
                                                                        {"amount": 5000.0})),
    ("/api/v0/instances/balance/{id}", "get", 200, lambda api, i: api.get(f"/api/v0/instances/balance/{i}/")),
    ("/api/v0/users/{user_id}/machine-earnings", "get", 200,
     lambda api, i: api.get("/api/v0/users/me/machine-earnings/", query={"sday": 0, "eday": 30000})),
    ("/api/v0/machines", "get", 200, lambda api, i: api.get("/api/v0/machines/", query={"owner": "me"})),
    ("/api/v0/auth/apikeys", "get", 200, lambda api, i: api.get("/api/v0/auth/apikeys/")),
    ("/api/v0/users", "put", 200, lambda api, i: api.put("/api/v0/users/", {"fullname": "Ada"})),
    ("/api/v0/users", "put", 400, lambda api, i: api.put("/api/v0/users/", {"api_key": "new"})),
    ("/api/v0/users/cloud_integrations", "get", 200, lambda api, i: api.get("/api/v0/users/cloud_integrations/")),
    ("/api/v0/commands/copy_direct", "put", 200, lambda api, i: api.put(
        "/api/v0/commands/copy_direct/", {"src_id": str(i), "dst_id": f"C.{i}", "src_path": "/root",
                                          "dst_path": "/copy"})),
    ("/api/v0/commands/rclone", "post", 200, lambda api, i: api.post(
        "/api/v0/commands/rclone/", {"instance_id": str(i), "src": "/root", "dst": "/b",
                                     "transfer": "Instance To Cloud",
                                     "selected": str(api.get("/api/v0/users/cloud_integrations/").json[0]["id"])})),
]


def test_answers_match_the_spec(api: Api, spec: dict[str, Any]) -> None:
    instance_id = running(api)
    for path, method, status, send in CASES:
        answer = send(api, instance_id)
        assert answer.status == status, (method, path, answer.raw)
        check(spec, path, method, status, answer.json)
