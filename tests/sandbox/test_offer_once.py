"""An offer id rents once ("Each offer ID can only be used to create one instance", the official
CLI's ``create instance`` help); the machine's remaining GPUs come back under new ids."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import CLI_BODY, Api, cheapest, rent, show

from vastsandbox.server import RunningSandbox, start_in_thread

try:
    from vastai_cli import run_vastai
except ImportError:  # tests/ became a package
    from tests.vastai_cli import run_vastai  # type: ignore[no-redef]

def machine_offers(api: Api, machine_id: int) -> list[dict[str, Any]]:
    body = {"machine_id": {"eq": machine_id}, "order": [["num_gpus", "asc"]]}
    offers: list[dict[str, Any]] = api.post("/api/v0/bundles/", body).json["offers"]
    return offers


def big_machine_offer(api: Api) -> dict[str, Any]:
    """The cheapest one-GPU offer of a machine with at least four GPUs free."""
    fours = api.post("/api/v0/bundles/", {"num_gpus": {"eq": 4}, "rentable": {"eq": True},
                                         "order": [["dph_total", "asc"]]}).json["offers"]
    return cheapest(api, machine_id={"eq": fours[0]["machine_id"]}, verified={"in": [True, False]})


def test_second_rent_of_one_offer_id_is_refused(api: Api) -> None:
    offer = big_machine_offer(api)
    rent(api, offer["id"])
    again = api.put(f"/api/v0/asks/{offer['id']}/", CLI_BODY)
    assert again.status == 404, again.raw
    assert again.json == {"success": False, "error": "invalid_args", "ask_id": offer["id"],
                          "msg": f"error 404/3603: no_such_ask Instance type by id {offer['id']} is not available."}
    cancel = api.put(f"/api/v0/asks/{offer['id']}/", {**CLI_BODY, "cancel_unavail": True})
    assert cancel.status == 410 and cancel.json["error"] == "no_such_ask"
    assert cancel.json["msg"] == f"error 410/3907: no_such_ask Instance type {offer['id']} is no longer available."


def test_remaining_gpus_are_offered_again_under_new_ids(api: Api) -> None:
    offer = big_machine_offer(api)
    before = machine_offers(api, offer["machine_id"])
    assert [o["id"] for o in before] == [o["id"] for o in machine_offers(api, offer["machine_id"])]
    rent(api, offer["id"])
    after = machine_offers(api, offer["machine_id"])
    assert after and not {o["id"] for o in after} & {o["id"] for o in before}
    assert max(o["num_gpus"] for o in after) == max(o["num_gpus"] for o in before) - 1
    one = next(o for o in after if o["num_gpus"] == 1)
    rent(api, one["id"])  # the new id rents


def test_destroy_gives_the_gpus_back_under_new_ids(api: Api) -> None:
    offer = big_machine_offer(api)
    instance = rent(api, offer["id"])
    during = machine_offers(api, offer["machine_id"])
    assert api.delete(f"/api/v0/instances/{instance}/").status == 200
    after = machine_offers(api, offer["machine_id"])
    assert max(o["num_gpus"] for o in after) == max(o["num_gpus"] for o in during) + 1
    assert not {o["id"] for o in after} & ({o["id"] for o in during} | {offer["id"]})


def test_a_rented_id_stays_rented_after_a_restart(tmp_path: Path) -> None:
    with start_in_thread(tmp_path / "data", boot_seconds=0.2, ssh_listeners=False) as first:
        api = Api(first.url)
        offer = big_machine_offer(api)
        rent(api, offer["id"])
    with start_in_thread(tmp_path / "data", boot_seconds=0.2, ssh_listeners=False) as second:
        again = Api(second.url).put(f"/api/v0/asks/{offer['id']}/", CLI_BODY)
        assert again.status == 404 and "no_such_ask" in again.json["msg"]


def test_official_cli_refuses_a_second_rent_of_one_offer(sandbox: RunningSandbox, tmp_path: Path) -> None:
    pytest.importorskip("vastai")
    key = "canary-key-7f3a9c2e-DO-NOT-PRINT"

    def vastai(*args: str) -> str:
        done = run_vastai(sandbox.url, key, *args, config_dir=tmp_path / "vastai")
        assert "Traceback" not in done.stderr, done.stderr
        return done.stdout + done.stderr

    api = Api(sandbox.url, key=key)
    offer = big_machine_offer(api)
    first = vastai("create", "instance", str(offer["id"]), "--image", "pytorch/pytorch:latest", "--raw")
    assert "new_contract" in first
    second = vastai("create", "instance", str(offer["id"]), "--image", "pytorch/pytorch:latest", "--raw")
    assert "new_contract" not in second
    assert f"no_such_ask Instance type by id {offer['id']} is not available" in second, second
    # The same machine's next GPU is on offer again under a new id, which the CLI rents.
    fresh = cheapest(api, machine_id={"eq": offer["machine_id"]}, verified={"in": [True, False]})
    assert fresh["id"] != offer["id"]
    assert "new_contract" in vastai("create", "instance", str(fresh["id"]), "--image", "ubuntu:22.04", "--raw")
    rows = api.get("/api/v1/instances/", query={"select_filters": {}}).json["instances"]
    assert sorted(r["machine_id"] for r in rows) == [offer["machine_id"]] * 2


def test_launches_narrowed_to_a_machine_each_rent_one_of_its_gpus_until_none_is_left(api: Api) -> None:
    """``launch instance`` searches and rents in one step: no fresh id is needed for the next GPU."""
    offer = big_machine_offer(api)
    machine = offer["machine_id"]
    free = max(o["num_gpus"] for o in machine_offers(api, machine))
    launch = {**CLI_BODY, "q": {"machine_id": {"eq": machine}, "num_gpus": {"eq": 1}, "verified": {"in": [True, False]},
                                "order": [["dph_total", "asc"]], "type": "on-demand", "allocated_storage": 20.0}}
    (priced,) = api.post("/api/v0/bundles/", {k: v for k, v in launch["q"].items() if k != "order"}).json["offers"]
    made = [api.put("/api/v0/launch_instance/", launch) for _ in range(free)]
    assert all(m.status == 200 and m.json["success"] for m in made), [m.raw for m in made]
    rows = [show(api, m.json["new_contract"]) for m in made]
    assert {r["machine_id"] for r in rows} == {machine} and {r["dph_total"] for r in rows} == {priced["dph_total"]}
    full = api.put("/api/v0/launch_instance/", launch)
    assert full.status == 404 and full.json["error"] == "no_such_ask", full.raw
