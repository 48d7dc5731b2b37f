"""Network volumes, volume clones, copy between containers/volumes/clouds, snapshots, bulk create."""

from __future__ import annotations

from typing import Any

from conftest import CLI_BODY, Api, cheapest, fetch, rent, running, show, volume_offers, wait_status


def network_offers(api: Api, **query: Any) -> list[dict[str, Any]]:
    body = {"verified": {"eq": True}, "disk_space": {"gte": 1}, **query, "allocated_storage": 1.0}
    offers: list[dict[str, Any]] = api.post("/api/v0/network_volumes/search/", body).json["offers"]
    return offers


def ls(api: Api, instance_id: int, path: str) -> list[str]:
    answer = api.put(f"/api/v0/instances/command/{instance_id}/", {"command": f"ls -a {path}"})
    return fetch(answer.json["result_url"])[2].split()


def test_network_volume_search_create_list_bill_delete(api: Api) -> None:
    offers = network_offers(api)
    assert offers and all(o["nw_disk_avg_bw"] and o["cluster_id"] and o["verified"] for o in offers)
    offer = offers[0]
    created = api.put("/api/v0/network_volumes/", {"id": offer["id"], "size": 100, "name": "shared"}).json
    assert created["success"] is True
    kinds = {kind: [v["label"] for v in api.get("/api/v0/volumes", query={"type": kind}).json["volumes"]]
             for kind in ("all_volume", "local_volume", "network_volume")}
    assert kinds == {"all_volume": ["shared"], "local_volume": [], "network_volume": ["shared"]}
    row = api.get("/api/v0/volumes", query={"type": "network_volume"}).json["volumes"][0]
    assert row["type"] == "network_volume" and row["cluster_id"] == offer["cluster_id"] and row["disk_space"] == 100
    after = {o["id"]: o for o in network_offers(api)}[offer["id"]]
    assert after["disk_space"] == offer["disk_space"] - 100
    charges = api.get("/api/v0/charges/").json["results"]
    assert [c["description"] for c in charges] == [f"Network volume {created['volume_id']} (100 GB)"]
    assert api.delete("/api/v0/volumes/", query={"id": created["volume_id"]}).json == {"success": True}
    assert api.get("/api/v0/volumes").json["volumes"] == []
    assert len(api.get("/api/v0/charges/").json["results"]) == 1  # the closed charge stays


def test_network_volume_refusals(api: Api) -> None:
    offer = network_offers(api)[0]
    too_big = api.put("/api/v0/network_volumes/", {"id": offer["id"], "size": offer["disk_space"] + 1})
    assert too_big.status == 400 and "does not fit" in too_big.json["msg"]
    assert api.put("/api/v0/network_volumes/", {"id": 12, "size": 10}).json["error"] == "no_such_ask"
    assert api.put("/api/v0/network_volumes/", {"size": 10}).status == 400
    assert network_offers(api, geolocation={"eq": "XX"}) == []


def test_a_network_volume_mounts_only_on_a_machine_of_its_cluster(api: Api) -> None:
    offer = network_offers(api)[0]
    volume_id = api.put("/api/v0/network_volumes/", {"id": offer["id"], "size": 20, "name": "shared"}).json["volume_id"]
    inside = cheapest(api, cluster_id={"eq": offer["cluster_id"]})
    assert inside["machine_id"] in offer["machine_ids"]
    outside = cheapest(api, cluster_id={"neq": offer["cluster_id"]})
    link = {"mount_path": "/shared", "create_new": False, "volume_id": volume_id}
    refused = api.put(f"/api/v0/asks/{outside['id']}/", {**CLI_BODY, "volume_info": link})
    assert refused.status == 400 and f"is in cluster {offer['cluster_id']}" in refused.json["msg"]
    instance_id = rent(api, inside["id"], volume_info=link)
    assert [(v["id"], v["mount_path"]) for v in show(api, instance_id)["volume_info"]] == [(volume_id, "/shared")]
    row = api.get("/api/v0/volumes", query={"type": "network_volume"}).json["volumes"][0]
    assert row["instances"] == [instance_id]
    in_use = api.delete("/api/v0/volumes/", query={"id": volume_id})
    assert in_use.status == 400 and in_use.json["error"] == "invalid_args" and str(instance_id) in in_use.json["msg"]
    assert api.delete(f"/api/v0/instances/{instance_id}/").json["success"] is True
    assert api.get("/api/v0/volumes", query={"type": "network_volume"}).json["volumes"][0]["instances"] == []
    assert api.delete("/api/v0/volumes/", query={"id": volume_id}).json == {"success": True}


def test_a_network_volume_outlives_its_instance_and_shows_its_files_on_another_machine(api: Api) -> None:
    offer = next(o for o in network_offers(api) if len(o["machine_ids"]) > 1)
    volume_id = api.put("/api/v0/network_volumes/", {"id": offer["id"], "size": 10}).json["volume_id"]
    link = {"mount_path": "/shared", "create_new": False, "volume_id": volume_id}
    first = cheapest(api, cluster_id={"eq": offer["cluster_id"]})
    writer = rent(api, first["id"], volume_info=link)
    wait_status(api, writer, "running")
    api.put("/api/v0/commands/copy_direct/", {"src_id": writer, "dst_id": f"V.{volume_id}",
                                              "src_path": "/etc/hostname", "dst_path": "/conf"})
    assert api.delete(f"/api/v0/instances/{writer}/").json["success"] is True
    second = cheapest(api, cluster_id={"eq": offer["cluster_id"]}, machine_id={"neq": first["machine_id"]})
    reader = rent(api, second["id"], volume_info={**link, "mount_path": "/data"})
    wait_status(api, reader, "running")
    assert ls(api, reader, "/data/conf") == [".", "..", "hostname"]


def test_an_account_rents_at_most_64_network_volumes(api: Api) -> None:
    offer = network_offers(api)[0]
    for _ in range(64):
        assert api.put("/api/v0/network_volumes/", {"id": offer["id"], "size": 1}).status == 200
    over = api.put("/api/v0/network_volumes/", {"id": offer["id"], "size": 1})
    assert over.status == 400 and over.json["error"] == "invalid_args"
    assert "64 network volumes" in over.json["msg"]
    assert api.put("/api/v0/network_volumes/", {"id": offer["id"], "size": 1, "name": 7}).status == 400


def test_copy_between_instance_volume_and_clone(api: Api) -> None:
    source = running(api)
    local = volume_offers(api)
    volume_id = api.put("/api/v0/volumes/", {"id": local[0]["id"], "size": 20, "name": "data"}).json["volume_id"]
    copied = api.put("/api/v0/commands/copy_direct/", {"src_id": f"C.{source}", "dst_id": f"V.{volume_id}",
                                                       "src_path": "/root/", "dst_path": "/backup/"}).json
    assert copied["success"] is True and copied["files"] == 3
    small = api.post("/api/v0/volumes/copy/", {"src_id": volume_id, "dst_id": local[1]["id"], "size": 10})
    assert small.status == 400 and "at least as large" in small.json["msg"]
    clone = api.post("/api/v0/volumes/copy/", {"src_id": volume_id, "dst_id": local[1]["id"]}).json
    assert clone["success"] is True
    volumes = {v["id"]: v for v in api.get("/api/v0/volumes").json["volumes"]}
    assert volumes[clone["volume_id"]]["label"] == "data-clone"
    assert volumes[clone["volume_id"]]["machine_id"] == local[1]["machine_id"]
    target = running(api)
    assert api.put("/api/v0/commands/copy_direct/", {"src_id": f"V.{clone['volume_id']}", "dst_id": str(target),
                                                     "src_path": "/backup", "dst_path": "/restore"}).json["success"]
    assert ls(api, target, "/restore/backup") == [".", "..", ".bashrc", ".profile", "onstart.sh"]
    missing = api.put("/api/v0/commands/copy_direct/", {"src_id": f"C.{source}", "dst_id": "V.1",
                                                        "src_path": "/root", "dst_path": "/x"})
    assert missing.status == 404


def test_a_mounted_volume_is_seen_inside_the_instance(api: Api) -> None:
    offer = cheapest(api)
    here = [o for o in volume_offers(api) if o["machine_id"] == offer["machine_id"]][0]
    instance_id = rent(api, offer["id"], volume_info={"mount_path": "/data", "create_new": True,
                                                      "volume_id": here["id"], "size": 20})
    wait_status(api, instance_id, "running")
    volume_id = show(api, instance_id)["volume_info"][0]["id"]
    api.put("/api/v0/commands/copy_direct/", {"src_id": instance_id, "dst_id": f"V.{volume_id}",
                                              "src_path": "/etc/hostname", "dst_path": "/conf"})
    assert ls(api, instance_id, "/data/conf") == [".", "..", "hostname"]


def test_cloud_copy_round_trip_and_dry_run(api: Api) -> None:
    instance_id = running(api)
    connections = api.get("/api/v0/users/cloud_integrations/").json
    assert connections == [{"id": connections[0]["id"], "name": "sandbox-drive", "cloud_type": "drive"}]
    conn = str(connections[0]["id"])
    body = {"instance_id": str(instance_id), "selected": conn, "flags": []}
    dry = api.post("/api/v0/commands/rclone/", {**body, "src": "/root", "dst": "/b", "transfer": "Instance To Cloud",
                                                "flags": ["--dry-run"]}).json
    assert dry["success"] is True and dry["files"] == 3
    back = api.post("/api/v0/commands/rclone/", {**body, "src": "/b", "dst": "/w", "transfer": "Cloud To Instance"})
    assert back.status == 400 and "does not exist" in back.json["msg"]  # the dry run wrote nothing
    api.post("/api/v0/commands/rclone/", {**body, "src": "/root", "dst": "/b", "transfer": "Instance To Cloud"})
    api.post("/api/v0/commands/rclone/", {**body, "src": "/b/root/", "dst": "/w", "transfer": "Cloud To Instance"})
    assert ls(api, instance_id, "/w") == [".", "..", ".bashrc", ".profile", "onstart.sh"]
    wrong = api.post("/api/v0/commands/rclone/", {**body, "selected": "1", "src": "/", "dst": "/",
                                                  "transfer": "Instance To Cloud"})
    assert wrong.status == 400 and "No such cloud connection" in wrong.json["msg"]


def test_snapshot_of_a_running_instance_shows_in_its_daemon_log(api: Api) -> None:
    instance_id = running(api)
    path = f"/api/v0/instances/take_snapshot/{instance_id}/"
    assert api.post(path, {"container_registry": "docker.io"}).status == 400
    taken = api.post(path, {"personal_repo": "me/snap", "container_registry": "docker.io", "pause": "true"}).json
    assert taken["success"] is True
    log = fetch(api.put(f"/api/v0/instances/request_logs/{instance_id}/", {"daemon_logs": "true"})
                .json["result_url"])[2]
    pushed = f"C.{instance_id}: snapshot pushed to docker.io/me/snap:snapshot-{instance_id}"
    assert log.splitlines()[-1].endswith(pushed)


def test_bulk_create_rents_each_offer_and_reports_each_failure(api: Api) -> None:
    offers = api.post("/api/v0/bundles/", {"num_gpus": {"eq": 1}, "rentable": {"eq": True}, "limit": 64}).json["offers"]
    first, second = list({o["machine_id"]: o["id"] for o in offers}.values())[:2]
    answer = api.post("/api/v0/asks/bulk/", {"ids": [first, 12, second], "image": "img", "label": "bulk"}).json
    assert answer["success"] is True and len(answer["new_contracts"]) == 2
    assert [r["success"] for r in answer["results"]] == [True, False, True]
    assert answer["results"][1]["ask_id"] == 12 and "no_such_ask" in answer["results"][1]["msg"]
    assert sorted(show(api, i)["label"] for i in answer["new_contracts"]) == ["bulk", "bulk"]
    assert api.post("/api/v0/asks/bulk/", {"ids": [], "image": "img"}).status == 400
