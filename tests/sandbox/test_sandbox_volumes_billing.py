"""Volumes (one machine, refused deletion while mounted), billing, and the market/instance faults."""

from __future__ import annotations

import contextlib
import socket
import time
from pathlib import Path

import pytest
from conftest import CLI_BODY, Api, cheapest, rent, show, volume_offers, wait_status

from vastsandbox.server import start_in_thread


def test_volume_create_list_delete(api: Api) -> None:
    offers = volume_offers(api, geolocation={"in": ["US"]})
    assert offers and all(o["geolocation"].endswith(", US") for o in offers)
    offer = offers[0]
    created = api.put("/api/v0/volumes/", {"size": 30, "id": offer["id"], "name": "models"}).json
    assert created["success"] is True and created["volume_name"].startswith("V.")
    volumes = api.get("/api/v0/volumes", query={"owner": "me", "type": "all_volume"}).json["volumes"]
    assert len(volumes) == 1
    volume = volumes[0]
    assert volume["label"] == "models" and volume["disk_space"] == 30 and volume["start_date"] > 0
    assert volume["machine_id"] == offer["machine_id"]
    after = {o["id"]: o for o in volume_offers(api)}[offer["id"]]
    assert after["disk_space"] == offer["disk_space"] - 30
    assert api.delete("/api/v0/volumes/", query={"id": volume["id"]}).json == {"success": True}
    assert api.get("/api/v0/volumes").json["volumes"] == []
    assert api.delete("/api/v0/volumes/", query={"id": volume["id"]}).json["error"] == "no_such_volume"
    assert api.delete("/api/v0/volumes/").json["msg"] == "Please provide a valid volume ID."


def test_volume_delete_by_body_id(api: Api) -> None:
    offer = volume_offers(api)[0]
    api.put("/api/v0/volumes/", {"size": 10, "id": offer["id"]})
    volume_id = api.get("/api/v0/volumes").json["volumes"][0]["id"]
    assert api.delete("/api/v0/volumes/", {"id": volume_id}).json == {"success": True}


def test_instance_with_new_and_linked_volume_on_the_same_machine(api: Api) -> None:
    offer = cheapest(api)
    machine_offers = [o for o in volume_offers(api) if o["machine_id"] == offer["machine_id"]]
    assert machine_offers, "every machine with disk offers a volume"
    info = {"mount_path": "/data", "create_new": True, "volume_id": machine_offers[0]["id"], "name": "v1",
            "size": 30}
    first = rent(api, offer["id"], volume_info=info)
    row = show(api, first)
    assert row["volume_info"][0]["mount_path"] == "/data" and row["volume_info"][0]["name"] == "v1"
    volume = api.get("/api/v0/volumes").json["volumes"][0]
    assert volume["instances"] == [first] and volume["machine_id"] == offer["machine_id"]
    refused = api.delete("/api/v0/volumes/", query={"id": volume["id"]})
    assert refused.status == 400 and str(first) in refused.json["msg"]
    # Linking from another machine is refused; from the same machine it works.
    elsewhere = next(o for o in api.post("/api/v0/bundles/", {}).json["offers"]
                     if o["machine_id"] != offer["machine_id"])
    link = {"mount_path": "/m", "create_new": False, "volume_id": volume["id"]}
    wrong = api.put(f"/api/v0/asks/{elsewhere['id']}/", {**CLI_BODY, "volume_info": link})
    assert wrong.status == 400 and "machine" in wrong.json["msg"]
    api.delete(f"/api/v0/instances/{first}/")
    assert api.get("/api/v0/volumes").json["volumes"][0]["instances"] == []
    assert api.delete("/api/v0/volumes/", query={"id": volume["id"]}).json == {"success": True}


def test_billing_accrues_running_then_storage_only(api: Api, admin: Api) -> None:
    offer = cheapest(api)
    instance_id = rent(api, offer["id"], disk=100.0)
    row = wait_status(api, instance_id, "running")
    credit_before = api.get("/api/v0/users/current").json["credit"]
    admin.post("/_sandbox/clock", {"seconds": 3600})
    charges = api.get("/api/v0/charges/").json
    assert charges["success"] is True and charges["count"] == 1
    charge = charges["results"][0]
    assert charge["type"] == "instance" and charge["metadata"]["instance_id"] == instance_id
    hour_gpu = {i["type"]: i["amount"] for i in charge["items"]}["gpu"]
    assert abs(hour_gpu - row["dph_base"]) < 0.01 * row["dph_base"] + 1e-4
    assert api.get("/api/v0/users/current").json["credit"] < credit_before - 0.99 * row["dph_base"]
    api.put(f"/api/v0/instances/{instance_id}/", {"state": "stopped"})
    wait_status(api, instance_id, "stopped")
    gpu_at_stop = {i["type"]: i["amount"] for i in api.get("/api/v0/charges/").json["results"][0]["items"]}
    admin.post("/_sandbox/clock", {"seconds": 3600})
    after = {i["type"]: i["amount"] for i in api.get("/api/v0/charges/").json["results"][0]["items"]}
    assert after["gpu"] == gpu_at_stop["gpu"]                   # stopped: no GPU time
    assert after["disk"] > gpu_at_stop["disk"]                  # but storage still accrues
    api.delete(f"/api/v0/instances/{instance_id}/")
    final = api.get("/api/v0/charges/").json
    assert final["count"] == 1 and final["total"] == 1  # total counts rows (the spec), not dollars
    invoices = api.get("/api/v1/invoices/").json
    assert invoices["results"][0]["metadata"]["service"] == "credit"


def test_admin_take_offer_between_plan_and_apply(api: Api, admin: Api) -> None:
    offer = cheapest(api)
    taken = admin.post(f"/_sandbox/offers/{offer['id']}/take").json
    assert taken["machine_id"] == offer["machine_id"]
    answer = api.put(f"/api/v0/asks/{offer['id']}/", CLI_BODY)
    assert answer.status == 404 and "no_such_ask" in answer.json["msg"]
    admin.post(f"/_sandbox/machines/{offer['machine_id']}/release")
    # The GPUs are back on the market under a new id; the old one stays gone.
    again = cheapest(api, machine_id={"eq": offer["machine_id"]})
    assert again["id"] != offer["id"]
    assert api.put(f"/api/v0/asks/{offer['id']}/", CLI_BODY).status == 404
    rent(api, again["id"])


def test_admin_stuck_loading_and_forced_exit(api: Api, admin: Api) -> None:
    stuck = rent(api, cheapest(api)["id"])
    admin.post(f"/_sandbox/instances/{stuck}/stick", {"stuck": True})
    admin.post("/_sandbox/clock", {"seconds": 60})
    time.sleep(0.1)
    assert show(api, stuck)["actual_status"] in ("created", "loading")
    wait_status(api, stuck, "loading")
    admin.post(f"/_sandbox/instances/{stuck}/stick", {"stuck": False})
    running = wait_status(api, stuck, "running")
    admin.post(f"/_sandbox/instances/{stuck}/status", {"actual_status": "exited"})
    exited = show(api, stuck)
    assert exited["actual_status"] == "exited" and exited["intended_status"] == "running"
    assert exited["ports"] == {}
    try:
        with socket.create_connection(("127.0.0.1", running["ssh_port"]), timeout=1) as conn:
            assert conn.recv(64) == b""
    except ConnectionError:
        pass  # refused: the listener is gone
    admin.post(f"/_sandbox/instances/{stuck}/status", {"actual_status": "offline"})
    assert show(api, stuck)["actual_status"] == "offline"


def test_lost_create_response_still_makes_the_instance(api: Api, admin: Api) -> None:
    admin.post("/_sandbox/faults", {"kind": "lose_response", "route": "PUT /api/v0/asks/*", "count": 1})
    lost = api.put(f"/api/v0/asks/{cheapest(api)['id']}/", {**CLI_BODY, "label": "stack/web"})
    assert lost.status == 502
    rows = api.get("/api/v1/instances/").json["instances"]
    assert [r["label"] for r in rows] == ["stack/web"]


@pytest.mark.parametrize("taken", [False, True], ids=["port-free", "port-taken"])
def test_instances_and_listeners_survive_a_restart(tmp_path: Path, taken: bool) -> None:
    """The listener comes back on its port, or on a new one (reported) if something else took it."""
    data = tmp_path / "d"
    with start_in_thread(data, boot_seconds=0.1) as first:
        api = Api(first.url)
        instance_id = rent(api, cheapest(api)["id"])
        port = wait_status(api, instance_id, "running")["ssh_port"]
        offer_count = len(api.post("/api/v0/bundles/", {}).json["offers"])
    with contextlib.ExitStack() as held:
        if taken:
            squatter = held.enter_context(socket.socket())
            squatter.bind(("127.0.0.1", port))
            squatter.listen()
        with start_in_thread(data, boot_seconds=0.1) as second:
            api = Api(second.url)
            row = show(api, instance_id)
            assert row["actual_status"] == "running"
            assert len(api.post("/api/v0/bundles/", {}).json["offers"]) == offer_count
            with socket.create_connection(("127.0.0.1", row["ssh_port"]), timeout=2) as conn:
                assert conn.recv(64).startswith(b"SSH-2.0-")
            assert (row["ssh_port"] != port) if taken else (row["ssh_port"] == port)


def test_without_listeners_ports_are_still_reported(tmp_path: Path) -> None:
    with start_in_thread(None, boot_seconds=0.05, ssh_listeners=False) as sb:
        api = Api(sb.url)
        instance_id = rent(api, cheapest(api)["id"])
        row = wait_status(api, instance_id, "running")
        assert row["ports"]["22/tcp"][0]["HostPort"] == str(row["ssh_port"])
