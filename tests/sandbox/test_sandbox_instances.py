"""Renting offers and the instance lifecycle (vast-api.md sections 4.1 and 6)."""

from __future__ import annotations

import json
import socket
import time
from typing import Any

from conftest import CLI_BODY, Api, cheapest, rent, show, wait_status


def test_create_boots_through_loading_to_running_with_a_real_ssh_greeting(api: Api) -> None:
    offer = cheapest(api)
    instance_id = rent(api, offer["id"])
    first = show(api, instance_id)
    assert first["actual_status"] in ("created", "loading")
    assert first["intended_status"] == "running"
    assert first["ports"] == {}
    assert first["start_date"] > 0
    assert ["KEY", "VAL"] in first["extra_env"] and ["-p 8080:8080", "1"] in first["extra_env"]
    running = wait_status(api, instance_id, "running")
    assert running["machine_id"] == offer["machine_id"] and running["gpu_name"] == offer["gpu_name"]
    assert running["label"] == "job1" and running["image_uuid"] == "pytorch/pytorch:latest"
    assert running["ssh_host"] == "127.0.0.1"
    assert running["ports"]["22/tcp"][0]["HostPort"] == str(running["ssh_port"])
    assert "8080/tcp" in running["ports"]
    with socket.create_connection(("127.0.0.1", running["ssh_port"]), timeout=2) as conn:
        assert conn.recv(64).startswith(b"SSH-2.0-OpenSSH_9.6")


def test_offer_is_gone_once_its_gpus_are_taken(api: Api) -> None:
    offer = cheapest(api, num_gpus={"eq": "8"})
    rent(api, offer["id"])
    again = api.put(f"/api/v0/asks/{offer['id']}/", CLI_BODY)
    assert again.status == 404
    assert "no_such_ask" in again.json["msg"] and again.json["ask_id"] == offer["id"]
    gone = api.put(f"/api/v0/asks/{offer['id']}/", {**CLI_BODY, "cancel_unavail": True})
    assert gone.status == 410 and gone.json["error"] == "no_such_ask"
    ids = {o["id"] for o in api.post("/api/v0/bundles/", {}).json["offers"]}
    assert offer["id"] not in ids


def test_unknown_offer_is_404_and_missing_image_400(api: Api) -> None:
    assert api.put("/api/v0/asks/12/", CLI_BODY).status == 404
    offer = cheapest(api)
    answer = api.put(f"/api/v0/asks/{offer['id']}/", {**CLI_BODY, "image": None})
    assert answer.status == 400 and answer.json["error"] == "invalid_args"


def test_env_as_docker_string_and_template_merge(api: Api) -> None:
    template = api.post("/api/v0/template/", {"name": "tpl", "image": "vllm/vllm-openai", "tag": "v0.6.0",
                                              "env": "-p 8000:8000 -e A=1 -e B=2", "onstart": "serve",
                                              "runtype": "ssh", "ssh_direct": True}).json["template"]
    instance_id = rent(api, cheapest(api)["id"], image=None, runtype=None, onstart=None,
                       env="-e B=override -e C=3", template_hash_id=template["hash_id"])
    row = show(api, instance_id)
    env = dict(row["extra_env"])
    assert env == {"-p 8000:8000": "1", "A": "1", "B": "override", "C": "3"}
    assert row["image_uuid"] == "vllm/vllm-openai:v0.6.0" and row["onstart"] == "serve"
    assert row["template_hash_id"] == template["hash_id"] and row["template_id"] == template["id"]
    by_id = rent(api, cheapest(api)["id"], image=None, template_id=template["id"])
    assert show(api, by_id)["template_name"] == "tpl"


def test_bid_price_must_reach_min_bid(api: Api) -> None:
    offer = cheapest(api)
    low = api.put(f"/api/v0/asks/{offer['id']}/", {**CLI_BODY, "price": offer["min_bid"] / 2})
    assert low.status == 400 and low.json["error"] == "invalid_price"
    instance_id = rent(api, offer["id"], price=offer["min_bid"] + 0.01)
    row = show(api, instance_id)
    assert row["is_bid"] is True and abs(row["dph_base"] - (offer["min_bid"] + 0.01)) < 1e-9
    assert api.put(f"/api/v0/instances/bid_price/{instance_id}/", {"client_id": "me", "price": None}).status == 200
    row = show(api, instance_id)  # no price: the winning bid (here the floor), still a bid
    assert row["is_bid"] is True and row["dph_base"] == offer["min_bid"]


def test_stop_start_label_reboot_destroy(api: Api) -> None:
    instance_id = rent(api, cheapest(api)["id"])
    wait_status(api, instance_id, "running")
    assert api.put(f"/api/v0/instances/{instance_id}/", {"label": "renamed"}).json == {"success": True}
    assert api.put(f"/api/v0/instances/{instance_id}/", {"state": "stopped"}).json == {"success": True}
    row = show(api, instance_id)
    assert row["label"] == "renamed" and row["intended_status"] == "stopped" and row["cur_state"] == "stopped"
    stopped = wait_status(api, instance_id, "stopped")
    assert stopped["ports"] == {}
    api.put(f"/api/v0/instances/{instance_id}/", {"state": "running"})
    assert show(api, instance_id)["actual_status"] == "loading"
    wait_status(api, instance_id, "running")
    api.put(f"/api/v0/instances/reboot/{instance_id}/", {})
    assert show(api, instance_id)["actual_status"] == "rebooting"
    wait_status(api, instance_id, "running")
    api.put(f"/api/v0/instances/recycle/{instance_id}/", {})
    assert show(api, instance_id)["actual_status"] == "recycling"
    assert api.delete(f"/api/v0/instances/{instance_id}/").json == {"success": True}
    assert show(api, instance_id) is None
    assert api.delete(f"/api/v0/instances/{instance_id}/").status == 404
    assert api.put(f"/api/v0/instances/{instance_id}/", {"state": "stopped"}).status == 404
    assert api.put(f"/api/v0/instances/{instance_id}/", {"state": "paused"}).status == 404


def test_bad_state_is_400(api: Api) -> None:
    instance_id = rent(api, cheapest(api)["id"])
    assert api.put(f"/api/v0/instances/{instance_id}/", {"state": "paused"}).status == 400


def test_v1_list_pages_of_25_with_tokens_filters_and_columns(api: Api) -> None:
    offers = api.post("/api/v0/bundles/", {"order": [["dph_total", "asc"]]}).json["offers"]
    made = []
    for offer in offers:
        answer = api.put(f"/api/v0/asks/{offer['id']}/", {**CLI_BODY, "label": f"n{len(made) % 3}"})
        if answer.status == 200:
            made.append(answer.json["new_contract"])
        if len(made) == 30:
            break
    query: dict[str, Any] = {"select_filters": {}, "order_by": [{"col": "id", "dir": "asc"}], "limit": 25}
    first = api.get("/api/v1/instances/", query=query).json
    assert first["success"] is True and len(first["instances"]) == 25
    assert first["total_instances"] == 30 and first["instances_found"] == 30
    assert first["label_counts"] == {"n0": 10, "n1": 10, "n2": 10}
    second = api.get("/api/v1/instances/", query={**query, "after_token": first["next_token"]}).json
    assert second["next_token"] is None
    assert [r["id"] for r in first["instances"] + second["instances"]] == sorted(made)
    labelled = api.get("/api/v1/instances/", query={**query, "select_filters": {"label": {"in": ["n1"]}},
                                                    "select_cols": ["id", "label", "nope"]}).json
    assert len(labelled["instances"]) == 10
    assert all(set(r) == {"id", "label", "nope"} and r["nope"] is None for r in labelled["instances"])
    assert api.get("/api/v1/instances/", query={**query, "after_token": "garbage!"}).json["error"] == "invalid_token"
    computed = api.get("/api/v1/instances/", query={**query, "select_filters": {"dph_total": {"lt": 1}}})
    assert computed.status == 400 and computed.json["error"] == "invalid_request"
    legacy = api.get("/api/v0/instances", query={"owner": "me"}).json["instances"]
    assert len(legacy) == 30


def test_instances_are_private_to_their_owner(api: Api) -> None:
    instance_id = rent(api, cheapest(api)["id"])
    other = Api(api.base, key="another")
    assert other.get(f"/api/v0/instances/{instance_id}/").json == {"instances": None}
    assert other.delete(f"/api/v0/instances/{instance_id}/").status == 404
    assert other.get("/api/v1/instances/").json["instances"] == []


def test_instance_ssh_keys_attach_list_detach(api: Api) -> None:
    account_key = api.post("/api/v0/ssh/", {"ssh_key": "ssh-ed25519 AAAAC3 acct@host"}).json["key"]
    instance_id = rent(api, cheapest(api)["id"])
    listed = json.loads(api.get(f"/api/v0/instances/{instance_id}/ssh/").json["ssh_keys"])
    assert [k["id"] for k in listed] == [account_key["id"]]
    attached = api.post(f"/api/v0/instances/{instance_id}/ssh/", {"ssh_key": "ssh-rsa AAAAB3 extra@host"})
    assert attached.json == {"success": True, "msg": "SSH key attached successfully"}
    listed = json.loads(api.get(f"/api/v0/instances/{instance_id}/ssh/").json["ssh_keys"])
    assert len(listed) == 2
    removed = api.delete(f"/api/v0/instances/{instance_id}/ssh/{account_key['id']}/")
    assert removed.json == {"success": True, "msg": "SSH key removed from instance."}
    assert api.delete(f"/api/v0/instances/{instance_id}/ssh/{account_key['id']}/").status == 404
    # A key added to the account later reaches the instance too.
    later = api.post("/api/v0/ssh/", {"ssh_key": "ssh-ed25519 AAAAC3 later@host"}).json["key"]
    listed = json.loads(api.get(f"/api/v0/instances/{instance_id}/ssh/").json["ssh_keys"])
    assert later["id"] in [k["id"] for k in listed]


def test_update_template_recreates_the_container(api: Api) -> None:
    instance_id = rent(api, cheapest(api)["id"])
    wait_status(api, instance_id, "running")
    answer = api.put(f"/api/v0/instances/update_template/{instance_id}/",
                     {"id": instance_id, "image": "nginx:latest", "env": {"X": "1"}})
    assert answer.json["success"] is True
    row = show(api, instance_id)
    assert row["image_uuid"] == "nginx:latest" and row["extra_env"] == [["X", "1"]]  # replaced, not merged
    assert row["onstart"] == "echo hi"  # left out: kept
    assert row["actual_status"] == "loading"
    wait_status(api, instance_id, "running")


def test_start_right_after_stop_ends_running(api: Api) -> None:
    instance_id = rent(api, cheapest(api)["id"])
    wait_status(api, instance_id, "running")
    api.put(f"/api/v0/instances/{instance_id}/", {"state": "stopped"})
    api.put(f"/api/v0/instances/{instance_id}/", {"state": "running"})
    time.sleep(0.3)
    assert wait_status(api, instance_id, "running")["intended_status"] == "running"
