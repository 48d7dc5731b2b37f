"""The sandbox behaves like the marketplace (issue 10): in-place updates replace what they are given,
old template hashes stay valid, other renters take GPUs and outbid, billing rows read as the official
CLI reads them, bad numbers are refused, and a listing page's tally covers what its filters match."""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

from conftest import CLI_BODY, Api, cheapest, rent, show, wait_status

from vastsandbox.server import RunningSandbox

try:
    from vastai_cli import run_vastai
except ImportError:  # tests/ became a package
    from tests.vastai_cli import run_vastai  # type: ignore[no-redef]


def update(api: Api, instance_id: int, **body: Any) -> None:
    answer = api.put(f"/api/v0/instances/update_template/{instance_id}/", {"id": instance_id, **body})
    assert answer.status == 200 and answer.json["success"] is True, answer.raw


def template(api: Api, **fields: Any) -> dict[str, Any]:
    body = {"name": "tpl", "image": "img1", "tag": "v1", "env": "-p 8080:8080 -e A=1", "onstart": "echo one",
            "runtype": "ssh", "ssh_direct": True, "use_ssh": True, **fields}
    answer = api.post("/api/v0/template/", body)
    assert answer.status == 200, answer.raw
    created: dict[str, Any] = answer.json["template"]
    return created


# ---- in-place update ----------------------------------------------------------------------------


def test_update_replaces_env_whole_and_keeps_what_it_leaves_out(api: Api) -> None:
    instance_id = rent(api, cheapest(api)["id"], env={"-p 8080:8080": "1", "-p 9090:9090": "1", "KEEP": "1",
                                                      "DROP": "1"}, args=["serve", "--fast"])
    update(api, instance_id, env={"-p 8080:8080": "1", "KEEP": "1"})
    row = show(api, instance_id)
    assert dict(row["extra_env"]) == {"-p 8080:8080": "1", "KEEP": "1"}  # a var and a port are gone
    assert row["image_uuid"] == CLI_BODY["image"] and row["onstart"] == "echo hi"
    assert row["image_args"] == ["serve", "--fast"]
    update(api, instance_id, args="python -m app --port '8 0'", onstart="")
    row = show(api, instance_id)
    assert row["image_args"] == ["python", "-m", "app", "--port", "8 0"]  # the CLI's string, stored as a list
    assert row["onstart"] == "" and dict(row["extra_env"]) == {"-p 8080:8080": "1", "KEEP": "1"}


def test_update_to_a_template_takes_its_image_env_and_onstart(api: Api) -> None:
    made = template(api, image="vllm/vllm-openai", tag="v0.6")
    instance_id = rent(api, cheapest(api)["id"])
    update(api, instance_id, template_hash_id=made["hash_id"])
    row = show(api, instance_id)
    assert row["image_uuid"] == "vllm/vllm-openai:v0.6" and row["template_id"] == made["id"]
    assert dict(row["extra_env"]) == {"-p 8080:8080": "1", "A": "1"} and row["onstart"] == "echo one"
    assert row["actual_status"] == "loading"
    wait_status(api, instance_id, "running")


# ---- templates ------------------------------------------------------------------------------------


def test_an_edited_templates_old_hash_still_launches_as_it_was(api: Api) -> None:
    old = template(api)
    edited = api.put("/api/v0/template/", {"id": old["id"], "image": "img2", "env": "-e B=2"}).json["template"]
    assert edited["hash_id"] != old["hash_id"] and edited["id"] == old["id"]
    from_old = show(api, rent(api, cheapest(api)["id"], image=None, env={}, template_hash_id=old["hash_id"]))
    from_new = show(api, rent(api, cheapest(api)["id"], image=None, env={}, template_hash_id=edited["hash_id"]))
    assert from_old["image_uuid"] == "img1:v1" and dict(from_old["extra_env"]) == {"-p 8080:8080": "1", "A": "1"}
    assert from_new["image_uuid"] == "img2:v1" and dict(from_new["extra_env"]) == {"B": "2"}
    assert from_old["template_id"] == from_new["template_id"] == old["id"]
    assert from_old["template_hash_id"] == old["hash_id"]
    listed = api.get("/api/v0/template/", query={"select_filters": {"id": {"eq": old["id"]}}}).json["templates"]
    assert [t["hash_id"] for t in listed] == [edited["hash_id"]]  # search shows the current version only
    api.delete("/api/v0/template/", {"template_id": old["id"]})
    gone = api.put(f"/api/v0/asks/{cheapest(api)['id']}/", {**CLI_BODY, "image": None,
                                                            "template_hash_id": old["hash_id"]})
    assert gone.status == 404  # deleting a template ends every version of it


def test_official_cli_launches_from_an_edited_templates_old_hash(sb: RunningSandbox, tmp_path: Path) -> None:
    def cli(*args: str) -> str:
        done = run_vastai(sb.url, "cli-key", *args, config_dir=tmp_path / "vastai")
        assert done.returncode == 0 and "Failed with error" not in done.stdout + done.stderr, done.stderr
        return done.stdout

    made = cli("create", "template", "--name", "t1", "--image", "img1", "--image_tag", "v1", "--ssh", "--direct")
    old_hash = ast.literal_eval(made.split("New Template: ", 1)[1].strip())["hash_id"]  # a dict repr
    cli("update", "template", old_hash, "--name", "t1", "--image", "img2", "--image_tag", "v2", "--ssh", "--direct")
    offer = json.loads(cli("search", "offers", "num_gpus=1", "-o", "dph+", "--limit", "1", "--raw"))[0]
    created = json.loads(cli("create", "instance", str(offer["id"]), "--template_hash", old_hash, "--disk", "10",
                             "--raw"))
    assert created["success"] is True
    row = json.loads(cli("show", "instance", str(created["new_contract"]), "--raw"))
    assert row["image_uuid"] == "img1:v1" and row["template_hash_id"] == old_hash


# ---- other renters ----------------------------------------------------------------------------------


def test_a_stopped_instance_that_lost_its_gpus_starts_only_when_they_free_up(api: Api, admin: Api) -> None:
    whole = cheapest(api, gpu_frac={"eq": 1})  # a one-GPU machine: nothing else free once rented
    instance_id = rent(api, whole["id"])
    wait_status(api, instance_id, "running")
    api.put(f"/api/v0/instances/{instance_id}/", {"state": "stopped"})
    wait_status(api, instance_id, "stopped")
    lost = admin.post(f"/_sandbox/instances/{instance_id}/lose_gpus").json
    assert lost["gpus_lost"] == 1 and lost["machine_id"] == whole["machine_id"]

    assert api.put(f"/api/v0/instances/{instance_id}/", {"state": "running"}).json["success"] is True
    row = show(api, instance_id)
    assert (row["actual_status"], row["intended_status"]) == ("stopped", "running")
    assert "scheduling" in row["status_msg"] and "currently unavailable" in row["status_msg"]
    admin.post(f"/_sandbox/machines/{whole['machine_id']}/release")
    assert wait_status(api, instance_id, "running")["machine_id"] == whole["machine_id"]


def test_losing_gpus_needs_a_stopped_instance(api: Api, admin: Api) -> None:
    instance_id = rent(api, cheapest(api)["id"])
    assert admin.post(f"/_sandbox/instances/{instance_id}/lose_gpus").status == 400


def test_the_market_outbids_a_low_bid_and_a_bid_change_without_price_wins_it_back(api: Api, admin: Api) -> None:
    assert admin.get("/_sandbox/settings").json["competing_bid_factor"] is None  # off by default
    offer = cheapest(api)
    instance_id = rent(api, offer["id"], price=offer["min_bid"])
    wait_status(api, instance_id, "running")
    admin.put("/_sandbox/settings", {"competing_bid_factor": 1.5})
    row = show(api, instance_id)
    assert row["actual_status"] == "stopped" and row["status_msg"].startswith("outbid")
    assert row["intended_status"] == "running" and row["is_bid"] is True

    api.put(f"/api/v0/instances/bid_price/{instance_id}/", {"client_id": "me", "price": None})
    row = wait_status(api, instance_id, "running")
    assert row["is_bid"] is True and offer["min_bid"] * 1.5 < row["dph_base"] <= offer["min_bid"] * 1.5 + 0.0015


def test_a_new_bid_under_the_competition_never_runs(api: Api, admin: Api) -> None:
    admin.put("/_sandbox/settings", {"competing_bid_factor": 3})
    offer = cheapest(api)
    instance_id = rent(api, offer["id"], price=offer["min_bid"] * 2)
    assert show(api, instance_id)["actual_status"] == "stopped"
    api.put(f"/api/v0/instances/bid_price/{instance_id}/", {"client_id": "me", "price": offer["min_bid"] * 4})
    wait_status(api, instance_id, "running")


# ---- billing ---------------------------------------------------------------------------------------


def test_charge_and_invoice_rows_as_the_spec_and_cli_read_them(api: Api, admin: Api) -> None:
    instance_id = rent(api, cheapest(api)["id"])
    wait_status(api, instance_id, "running")
    admin.post("/_sandbox/clock", {"seconds": 3600})
    charges = api.get("/api/v0/charges/").json
    assert charges["total"] == 1 and isinstance(charges["total"], int)
    row = charges["results"][0]
    assert row["type"] == "instance" and row["source"] == f"instance-{instance_id}"
    assert isinstance(row["start"], int) and isinstance(row["end"], int) and row["end"] >= row["start"] + 3600
    assert row["amount"] == round(row["amount"], 3) and row["amount"] > 0
    assert {i["type"] for i in row["items"]} == {"gpu", "disk"}
    assert row["metadata"]["label"] == "job1" and "template_id" not in row["metadata"]  # null keys left out
    credit = api.get("/api/v1/invoices/").json["results"][0]
    assert credit["type"] == "credit" and credit["amount"] == -100.0  # the CLI shows it negated: $100.00


def test_official_cli_shows_charges_by_instance_id_and_the_credit_as_positive(sb: RunningSandbox,
                                                                             tmp_path: Path) -> None:
    api = Api(sb.url, key="cli-key")
    instance_id = rent(api, cheapest(api)["id"])
    wait_status(api, instance_id, "running")
    Api(sb.url, key=None).post("/_sandbox/clock", {"seconds": 3600})

    def cli(*args: str) -> str:
        done = run_vastai(sb.url, "cli-key", *args, "--no-color", config_dir=tmp_path / "vastai")
        assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
        return done.stdout

    table = cli("show", "invoices-v1", "--charges")
    line = next(ln for ln in table.splitlines() if str(instance_id) in ln)
    assert "Instance" in line and "Showing 1 of 1 results" in table
    invoices = cli("show", "invoices-v1", "--invoices")
    assert "$100.00" in invoices and "-$100.00" not in invoices


# ---- offer queries and listing pages --------------------------------------------------------------------


def test_a_pages_label_counts_cover_what_its_filters_match(api: Api) -> None:
    ids = [rent(api, cheapest(api)["id"], label=f"job-{i}") for i in range(4)]
    everything = api.get("/api/v1/instances/", query={"limit": 1}).json
    assert everything["label_counts"] == {"job-0": 1, "job-1": 1, "job-2": 1, "job-3": 1}
    some = api.get("/api/v1/instances/", query={"select_filters": {"id": {"in": ids[:2]}}}).json
    assert some["label_counts"] == {"job-0": 1, "job-1": 1}
    api.put(f"/api/v0/instances/{ids[3]}/", {"label": "job-0"})
    assert api.get("/api/v1/instances/", query={"limit": 1}).json["label_counts"] == {"job-0": 2, "job-1": 1,
                                                                                     "job-2": 1}
