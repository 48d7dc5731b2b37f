"""Serverless endpoints and worker groups on the sandbox, driven by the official `vastai` CLI (its
``/endptjobs/`` and ``/autojobs/`` paths) and by plain HTTP at the spec's and the SDK's
``/workergroups/``: shapes, defaults, errors, and an endpoint's deletion taking its groups along."""

from __future__ import annotations

import json
import re
import urllib.error
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.harness import api_call, api_get
from tests.vastai_cli import run_vastai
from vastsandbox.server import RunningSandbox, start_in_thread

pytest.importorskip("vastai")
KEY = "canary-key-7f3a9c2e-DO-NOT-PRINT"
OTHER = "serverless-other-account"


@pytest.fixture
def sb(tmp_path: Path) -> Iterator[RunningSandbox]:
    with start_in_thread(None, boot_seconds=0.2, strict=True, ssh_listeners=False) as running:
        yield running


def cli(sb: RunningSandbox, tmp_path: Path, *args: str, key: str = KEY) -> str:
    done = run_vastai(sb.url, key, *args, config_dir=tmp_path / "cli")
    assert done.returncode == 0, done.stderr
    return done.stdout


def template(sb: RunningSandbox, key: str = KEY) -> dict[str, Any]:
    made: dict[str, Any] = api_call(sb.url, "POST", "/api/v0/template/", key,
                                    {"name": "vllm", "image": "vllm/vllm-openai", "tag": "latest"})["template"]
    return made


def refused(sb: RunningSandbox, method: str, path: str, body: dict[str, Any] | None = None,
            key: str = KEY) -> tuple[int, dict[str, Any]]:
    with pytest.raises(urllib.error.HTTPError) as caught:
        api_call(sb.url, method, path, key, body)
    return caught.value.code, json.loads(caught.value.read())


def test_the_cli_creates_shows_updates_and_deletes_an_endpoint(sb: RunningSandbox, tmp_path: Path) -> None:
    out = cli(sb, tmp_path, "create", "endpoint", "--endpoint_name", "llama", "--cold_workers", "1")
    endpoint_id = int(re.fullmatch(r"create endpoint \{'success': True, 'result': (\d+)\}\n", out)[1])  # type: ignore[index]
    (row,) = json.loads(cli(sb, tmp_path, "show", "endpoints", "--raw"))
    # The official CLI's defaults for what it was not told; the endpoint's own key is not printed.
    assert row["id"] == endpoint_id and "api_key" not in row
    assert {k: row[k] for k in ("endpoint_name", "min_load", "target_util", "cold_mult", "cold_workers",
                                "max_workers", "endpoint_state")} == {
        "endpoint_name": "llama", "min_load": 0.0, "target_util": 0.9, "cold_mult": 2.5, "cold_workers": 1,
        "max_workers": 20, "endpoint_state": "active"}

    assert "'success': True" in cli(sb, tmp_path, "update", "endpoint", str(endpoint_id), "--max_workers", "6",
                                    "--endpoint_state", "suspended")
    (row,) = api_get(sb.url, "/api/v0/endptjobs/", KEY)["results"]
    assert (row["max_workers"], row["endpoint_state"], row["cold_workers"]) == (6, "suspended", 1)
    assert isinstance(row["api_key"], str) and row["api_key"] != KEY  # its own key, never the account's
    assert api_get(sb.url, f"/api/v0/endptjobs/{endpoint_id}/", KEY)["result"]["id"] == endpoint_id  # the SDK's

    assert "'success': True" in cli(sb, tmp_path, "delete", "endpoint", str(endpoint_id))
    assert json.loads(cli(sb, tmp_path, "show", "endpoints", "--raw")) == []
    assert refused(sb, "PUT", f"/api/v0/endptjobs/{endpoint_id}/", {"max_workers": 2}) == (
        400, {"success": False, "error": "invalid_args", "msg": "Endpointgroup not found for user"})
    assert refused(sb, "DELETE", f"/api/v0/endptjobs/{endpoint_id}/") == (
        400, {"success": False, "error": "invalid_args", "msg": "Routegroup not found for user"})


def test_an_endpoint_refuses_values_vast_ai_refuses(sb: RunningSandbox) -> None:
    status, body = refused(sb, "POST", "/api/v0/endptjobs/", {"endpoint_name": "x", "target_util": 1.5})
    assert status == 400 and body["error"] == "invalid_args" and "target_util" in body["msg"]
    status, body = refused(sb, "POST", "/api/v0/endptjobs/", {"endpoint_name": "x", "cold_workers": -1})
    assert status == 400 and "cold_workers" in body["msg"]
    assert api_get(sb.url, "/api/v0/endptjobs/", KEY) == {"success": True, "results": []}


def test_the_cli_creates_a_worker_group_from_its_query_language(sb: RunningSandbox, tmp_path: Path) -> None:
    made = template(sb)
    cli(sb, tmp_path, "create", "endpoint", "--endpoint_name", "llama")
    out = cli(sb, tmp_path, "create", "workergroup", "--template_hash", made["hash_id"], "--endpoint_name", "llama",
              "--search_params", "gpu_ram>=23 num_gpus=2 gpu_name=RTX_4090 inet_down>200", "--gpu_ram", "32",
              "--launch_args", "--disk 64")
    group_id = int(re.search(r"'id': (\d+)", out)[1])  # type: ignore[index]
    (row,) = json.loads(cli(sb, tmp_path, "show", "workergroups", "--raw"))
    assert row["id"] == group_id and (row["template_id"], row["template_hash"]) == (made["id"], made["hash_id"])
    assert row["endpoint_name"] == "llama" and row["launch_args"] == "--disk 64" and row["gpu_ram"] == 32.0
    # Parsed as `vastai search offers` parses a query: GB to MB, _ to a space, the CLI's defaults added.
    assert row["search_query"] == {"gpu_ram": {"gte": 23000.0}, "num_gpus": {"eq": 2}, "gpu_name": {"eq": "RTX 4090"},
                                   "inet_down": {"gt": 200}, "verified": {"eq": True}, "rentable": {"eq": True},
                                   "rented": {"eq": False}}
    # The spec's defaults for what the CLI does not send.
    assert (row["min_load"], row["target_util"], row["cold_mult"], row["cold_workers"], row["max_workers"],
            row["test_workers"]) == (1.0, 0.9, 3.0, 3, 20, 3)
    # The same group at the spec's (and the SDK's) path.
    assert [g["id"] for g in api_get(sb.url, "/api/v0/workergroups/", KEY)["results"]] == [group_id]

    cli(sb, tmp_path, "update", "workergroup", str(group_id), "--launch_args", "--disk 80", "--search_params",
        "num_gpus=1")
    (row,) = api_get(sb.url, "/api/v0/workergroups/", KEY)["results"]
    assert row["launch_args"] == "--disk 80" and row["search_query"]["num_gpus"] == {"eq": 1}
    assert "gpu_ram" not in row["search_query"], "an update's search_params replace the old ones"

    assert "'success': True" in cli(sb, tmp_path, "delete", "workergroup", str(group_id))
    done = run_vastai(sb.url, KEY, "delete", "workergroup", str(group_id), config_dir=tmp_path / "cli")
    assert "Failed with error 404: No workergroup by that id is available." in done.stdout + done.stderr


def test_a_json_query_is_kept_as_sent_and_the_update_keeps_worker_limits(sb: RunningSandbox) -> None:
    made = template(sb)
    endpoint = api_call(sb.url, "POST", "/api/v0/endptjobs/", KEY, {"endpoint_name": "e"})["result"]
    query = {"gpu_name": {"in": ["RTX 4090", "RTX 5090"]}, "dph_total": {"lte": 0.8}}
    group = api_call(sb.url, "POST", "/api/v0/workergroups/", KEY, {
        "endpoint_id": endpoint, "template_id": made["id"], "search_params": json.dumps(query), "max_workers": 4})["id"]
    api_call(sb.url, "PUT", f"/api/v0/workergroups/{group}/", KEY, {"max_workers": 9, "min_load": 5.0})
    (row,) = api_get(sb.url, "/api/v0/workergroups/", KEY)["results"]
    assert row["search_query"] == query and row["template_hash"] == made["hash_id"]
    # The spec's update takes no cold_workers or max_workers.
    assert (row["max_workers"], row["min_load"]) == (4, 5.0)


def test_a_worker_group_needs_an_endpoint_and_a_template_of_the_caller(sb: RunningSandbox, tmp_path: Path) -> None:
    made = template(sb)
    assert refused(sb, "POST", "/api/v0/workergroups/", {"template_id": made["id"], "endpoint_name": "nope"}) == (
        400, {"success": False, "error": "invalid_args",
              "msg": "Please assign your workergroup to a valid endpoint identifier"})
    theirs = api_call(sb.url, "POST", "/api/v0/endptjobs/", OTHER, {"endpoint_name": "theirs"})["result"]
    status, _ = refused(sb, "POST", "/api/v0/autojobs/", {"template_id": made["id"], "endpoint_id": theirs})
    assert status == 400, "another account's endpoint is not the caller's"
    mine = api_call(sb.url, "POST", "/api/v0/endptjobs/", KEY, {"endpoint_name": "mine"})["result"]
    status, body = refused(sb, "POST", "/api/v0/workergroups/", {"endpoint_id": mine})
    assert status == 400 and "template" in body["msg"]
    status, body = refused(sb, "POST", "/api/v0/workergroups/", {"endpoint_id": mine, "template_id": made["id"],
                                                                 "search_params": "gpu_ram>>"})
    assert status == 400 and "search_params" in body["msg"]
    assert api_get(sb.url, "/api/v0/workergroups/", OTHER)["results"] == []
    assert api_get(sb.url, "/api/v0/workergroups/", KEY)["results"] == []


def test_deleting_an_endpoint_deletes_its_worker_groups(sb: RunningSandbox, tmp_path: Path) -> None:
    made = template(sb)
    first = api_call(sb.url, "POST", "/api/v0/endptjobs/", KEY, {"endpoint_name": "a"})["result"]
    second = api_call(sb.url, "POST", "/api/v0/endptjobs/", KEY, {"endpoint_name": "b"})["result"]
    for endpoint in (first, first, second):
        api_call(sb.url, "POST", "/api/v0/workergroups/", KEY, {"endpoint_id": endpoint, "template_id": made["id"]})
    cli(sb, tmp_path, "delete", "endpoint", str(first))
    assert [g["endpoint_id"] for g in json.loads(cli(sb, tmp_path, "show", "workergroups", "--raw"))] == [second]
