"""ttl and idle limits enforced by the instance itself: vastplan puts a watchdog in front of the
instance's onstart, which acts with the container's own restricted key (CONTAINER_ID,
CONTAINER_API_KEY), never the account key. These tests run that very onstart, as the sandbox holds
it, against the sandbox with a fast clock; and `reap` enforcing the same rules from outside."""

from __future__ import annotations

import json
import os
import time
import urllib.error
from pathlib import Path

import pytest

from tests.harness import (
    CANARY_API_KEY,
    Workspace,
    admin,
    api_call,
    api_get,
    container,
    document,
    instances,
    start_onstart,
    state_id,
    stop_onstart,
    wait_until,
    watchdog_stack,
)


def _status(error: pytest.ExceptionInfo[urllib.error.HTTPError]) -> int:
    return error.value.code


def test_ttl_watchdog_destroys_its_own_instance_with_its_restricted_key(workspace: Workspace, tmp_path: Path) -> None:
    workspace.write(watchdog_stack("{ttl: 2m}"))
    applied = workspace.vastplan("apply", "--auto-approve")
    assert applied.code == 0, applied.text
    assert workspace.vastplan("plan", "--detailed-exitcode").code == 0  # the composed onstart converges
    box_id = state_id(workspace, "instances.box")

    box = container(workspace, box_id)
    assert box["env"]["CONTAINER_ID"] == str(box_id) and box["env"]["CONTAINER_API_KEY"]
    assert CANARY_API_KEY not in json.dumps(box)  # neither in the environment nor in the start-up script
    assert box["onstart"].startswith("# vastplan watchdog: ttl 2m, then destroy\n")
    assert box["onstart"].endswith("\necho started")  # the user's own onstart still runs

    log = tmp_path / "onstart.log"
    process = start_onstart(workspace, box_id, log, scale=60)  # 2m of rule time in about 2 s
    try:
        assert wait_until(lambda: box_id not in instances(workspace)), log.read_text()
    finally:
        stop_onstart(process)
    text = log.read_text()
    assert "started" in text and "vastplan-watchdog: ttl reached: destroy" in text
    assert CANARY_API_KEY not in text


def test_idle_watchdog_stops_its_instance_once_gpu_use_stays_low(workspace: Workspace, tmp_path: Path) -> None:
    workspace.write(watchdog_stack("{idle: {after: 2m, gpu_util_below: 10, then: stop}}"))
    assert workspace.vastplan("apply", "--auto-approve").code == 0
    box_id = state_id(workspace, "instances.box")
    admin(workspace, "POST", f"/instances/{box_id}/gpu_util/", {"gpu_util": 60})

    log = tmp_path / "onstart.log"
    process = start_onstart(workspace, box_id, log, scale=60)
    try:
        assert wait_until(lambda: "watching instance" in log.read_text(), timeout=10)
        assert not wait_until(lambda: instances(workspace)[box_id]["intended_status"] != "running", timeout=4)
        admin(workspace, "POST", f"/instances/{box_id}/gpu_util/", {"gpu_util": 3})  # the GPUs go quiet
        assert wait_until(lambda: instances(workspace)[box_id]["intended_status"] == "stopped"), log.read_text()
    finally:
        stop_onstart(process)
    assert "GPU below 10% for 120s: stop" in log.read_text()
    assert box_id in instances(workspace)  # stopped, not destroyed


def test_the_watchdog_works_with_wget_where_the_image_has_no_curl(workspace: Workspace, tmp_path: Path) -> None:
    workspace.write(watchdog_stack("{ttl: 1m}"))
    assert workspace.vastplan("apply", "--auto-approve").code == 0
    box_id = state_id(workspace, "instances.box")
    tools = tmp_path / "bin"
    tools.mkdir()
    for tool in ("sh", "date", "sleep", "tr", "sed", "cut", "sort", "tail", "wget"):
        found = next((Path(d) / tool for d in ("/usr/bin", "/bin") if (Path(d) / tool).exists()), None)
        if found is None:
            pytest.skip(f"{tool} is not installed here")
        (tools / tool).symlink_to(found)
    log = tmp_path / "onstart.log"
    process = start_onstart(workspace, box_id, log, scale=60, path=str(tools))
    try:
        assert wait_until(lambda: box_id not in instances(workspace)), log.read_text()
    finally:
        stop_onstart(process)


def test_the_container_key_acts_on_its_own_instance_only(workspace: Workspace) -> None:
    workspace.write(watchdog_stack("{ttl: 8h}", names=("mine", "other")))
    assert workspace.vastplan("apply", "--auto-approve").code == 0
    mine, other = state_id(workspace, "instances.mine"), state_id(workspace, "instances.other")
    key = container(workspace, mine)["env"]["CONTAINER_API_KEY"]
    url = workspace.api_url

    for method, path, body in (("GET", f"/api/v0/instances/{other}/", None),
                               ("PUT", f"/api/v0/instances/{other}/", {"state": "stopped"}),
                               ("DELETE", f"/api/v0/instances/{other}/", None),
                               ("GET", "/api/v1/instances/", None),
                               ("GET", "/api/v0/users/current/", None),
                               ("PUT", f"/api/v0/instances/update_template/{mine}/", {"id": mine, "onstart": ""})):
        with pytest.raises(urllib.error.HTTPError) as refused:
            api_call(url, method, path, key, body)
        assert _status(refused) == 403, (method, path)
    assert instances(workspace)[other]["intended_status"] == "running"

    own = api_get(url, f"/api/v0/instances/{mine}/", key)["instances"]
    assert own["id"] == mine and isinstance(own["gpu_util"], float)
    assert api_call(url, "PUT", f"/api/v0/instances/{mine}/", key, {"state": "stopped"})["success"] is True
    assert api_call(url, "DELETE", f"/api/v0/instances/{mine}/", key)["success"] is True
    with pytest.raises(urllib.error.HTTPError) as gone:  # the key died with its instance
        api_get(url, f"/api/v0/instances/{mine}/", key)
    assert _status(gone) == 401
    assert set(instances(workspace)) == {other}


def test_the_create_answer_carries_the_container_key(workspace: Workspace) -> None:
    url = workspace.api_url
    offer = api_call(url, "POST", "/api/v0/bundles/", CANARY_API_KEY,
                     {"num_gpus": {"eq": 1}, "order": [["dph_total", "asc"]], "type": "on-demand", "limit": 1})
    answer = api_call(url, "PUT", f"/api/v0/asks/{offer['offers'][0]['id']}/", CANARY_API_KEY,
                      {"client_id": "me", "image": "ubuntu:latest", "disk": 10.0})
    assert answer["instance_api_key"] == container(workspace, answer["new_contract"])["env"]["CONTAINER_API_KEY"]
    assert answer["instance_api_key"] != CANARY_API_KEY


def test_plan_shows_each_instances_expiry_and_idle_rule(workspace: Workspace) -> None:
    workspace.write(watchdog_stack("{ttl: 8h, idle: {after: 30m, gpu_util_below: 5, then: destroy}}"))
    planned = workspace.vastplan("plan")
    assert planned.code == 0, planned.text
    assert "Limits (enforced by the objects themselves and by `vastplan reap`):" in planned.out
    assert ("instances.box: expires 8h after it is created (about " in planned.out
            and "destroyed once its GPU use stays below 5% for 30m" in planned.out)
    assert '+ watchdog = "ttl 8h, then destroy; idle 30m below 5% GPU, then destroy"' in planned.out
    assert workspace.vastplan("plan", "--out", "saved.plan").code == 0
    shown = workspace.vastplan("show", "saved.plan", stack=False)
    assert "instances.box: expires 8h after it is created" in shown.out, shown.text

    assert workspace.vastplan("apply", "--auto-approve").code == 0
    limits = document(workspace.vastplan("plan", "--json"))["limits"]
    assert limits[0]["address"] == "instances.box"
    assert limits[0]["message"].startswith("expires 20") and "(ttl 8h), then destroyed" in limits[0]["message"]


def test_lifecycle_ttl_and_the_older_top_level_ttl_mean_the_same(workspace: Workspace) -> None:
    workspace.write(watchdog_stack("{ttl: 8h}"))
    assert workspace.vastplan("apply", "--auto-approve").code == 0
    older = watchdog_stack("{prevent_destroy: false}").replace("    lifecycle:", "    ttl: 8h\n    lifecycle:")
    workspace.write(older)
    assert workspace.vastplan("plan", "--detailed-exitcode").code == 0

    both = watchdog_stack("{ttl: 2h}").replace("    lifecycle:", "    ttl: 8h\n    lifecycle:")
    workspace.write(both)
    result = workspace.vastplan("validate")
    assert result.code == 1 and "stack.yaml:" in result.err and "ttl is given twice" in result.err


def test_reap_stops_an_idle_instance_from_outside_across_two_runs(workspace: Workspace) -> None:
    workspace.write(watchdog_stack("{idle: {after: 1s, gpu_util_below: 5}}"))
    assert workspace.vastplan("apply", "--auto-approve").code == 0
    box_id = state_id(workspace, "instances.box")
    admin(workspace, "POST", f"/instances/{box_id}/gpu_util/", {"gpu_util": 2})

    first = workspace.vastplan("reap", "--auto-approve")
    assert first.code == 0 and "Nothing has expired." in first.out, first.text
    seen = workspace.state()["resources"]["instances.box"]["attributes"]["idle_since"]
    assert isinstance(seen, float)
    assert instances(workspace)[box_id]["intended_status"] == "running"

    time.sleep(1.1)  # the rule's 1s of idleness, measured by reap's own clock
    second = workspace.vastplan("reap", "--auto-approve")
    assert second.code == 0, second.text
    assert "# instances.box will be updated in place (idle: GPU use 2% below 5% since" in second.out
    assert '~ state = "running" -> "stopped"' in second.out
    assert instances(workspace)[box_id]["intended_status"] == "stopped"


def test_reap_destroys_an_instance_idle_too_long_and_it_stays_gone(workspace: Workspace) -> None:
    workspace.write(watchdog_stack("{idle: {after: 1s, gpu_util_below: 5, then: destroy}}"))
    assert workspace.vastplan("apply", "--auto-approve").code == 0
    box_id = state_id(workspace, "instances.box")

    assert "Nothing has expired." in workspace.vastplan("reap", "--auto-approve").out  # first seen idle
    admin(workspace, "POST", f"/instances/{box_id}/gpu_util/", {"gpu_util": 80})  # busy again: the clock resets
    assert "Nothing has expired." in workspace.vastplan("reap", "--auto-approve").out
    assert "idle_since" not in workspace.state()["resources"]["instances.box"]["attributes"]

    admin(workspace, "POST", f"/instances/{box_id}/gpu_util/", {"gpu_util": 0})
    assert "Nothing has expired." in workspace.vastplan("reap", "--auto-approve").out
    time.sleep(1.1)
    reaped = workspace.vastplan("reap", "--auto-approve")
    assert reaped.code == 0, reaped.text
    assert "instances.box will be destroyed (idle: GPU use 0% below 5% since" in reaped.out
    assert box_id not in instances(workspace)
    assert workspace.state()["resources"]["instances.box"]["expired"] is True
    assert workspace.vastplan("plan", "--detailed-exitcode").code == 0  # not rented again


def test_an_onstart_too_long_for_the_watchdog_is_refused_at_its_line(workspace: Workspace) -> None:
    workspace.write(watchdog_stack("{ttl: 8h}", onstart="echo " + "x" * 3000))
    result = workspace.vastplan("validate")
    assert result.code == 1
    assert "stack.yaml:6:14:" in result.err
    assert "over Vast.ai's limit of 4048" in result.err and "Traceback" not in result.text

    workspace.write(watchdog_stack("{prevent_destroy: false}", onstart="x" * 4049))
    plain = workspace.vastplan("validate")
    assert plain.code == 1 and "stack.yaml:6:14:" in plain.err


def test_an_instance_its_watchdog_destroyed_at_expiry_is_recorded_as_expired(workspace: Workspace) -> None:
    workspace.write(watchdog_stack("{ttl: 5m}"))
    assert workspace.vastplan("apply", "--auto-approve").code == 0
    box_id = state_id(workspace, "instances.box")
    key = container(workspace, box_id)["env"]["CONTAINER_API_KEY"]
    api_call(workspace.api_url, "DELETE", f"/api/v0/instances/{box_id}/", key)  # what its watchdog does

    planned = workspace.vastplan("plan")
    assert "# instances.box will be destroyed (expired: its ttl ran out at" in planned.out, planned.text
    assert "Plan: 0 to add, 0 to change, 1 to destroy." in planned.out
    reaped = workspace.vastplan("reap", "--auto-approve")
    assert reaped.code == 0, reaped.text
    assert workspace.state()["resources"]["instances.box"]["expired"] is True
    assert workspace.vastplan("plan", "--detailed-exitcode").code == 0  # not rented again


def test_a_count_group_shares_one_limits_line(workspace: Workspace) -> None:
    workspace.write(watchdog_stack("{idle: {after: 30m}}").replace("  box:\n", "  box:\n    count: 3\n"))
    planned = workspace.vastplan("plan")
    assert planned.code == 0, planned.text
    assert "  instances.box[*] (3 of them): stopped once its GPU use stays below 5% for 30m" in planned.out


def test_a_changed_rule_reaches_the_instance_and_moves_its_expiry(workspace: Workspace) -> None:
    workspace.write(watchdog_stack("{ttl: 8h}"))
    assert workspace.vastplan("apply", "--auto-approve").code == 0
    box_id = state_id(workspace, "instances.box")
    started = instances(workspace)[box_id]["start_date"]

    workspace.write(watchdog_stack("{ttl: 4h, idle: {after: 1h}}"))
    planned = workspace.vastplan("plan")
    assert "the container is recreated on the same machine" in planned.out, planned.text
    assert ('~ watchdog = "ttl 8h, then destroy" -> "ttl 4h, then destroy; idle 1h below 5% GPU, then stop"'
            in " ".join(planned.out.split()))  # the plan folds it at 80 columns
    assert workspace.vastplan("apply", "--auto-approve").code == 0
    assert container(workspace, box_id)["onstart"].startswith(
        "# vastplan watchdog: ttl 4h, then destroy; idle 1h below 5% GPU, then stop\n")
    assert abs(workspace.state()["resources"]["instances.box"]["attributes"]["expires_at"] - (started + 4 * 3600)) < 5
    assert workspace.vastplan("plan", "--detailed-exitcode").code == 0

    workspace.write(watchdog_stack("{prevent_destroy: false}"))  # no rule: the watchdog goes
    assert workspace.vastplan("apply", "--auto-approve").code == 0
    assert container(workspace, box_id)["onstart"] == "echo started"
    assert "expires_at" not in workspace.state()["resources"]["instances.box"]["attributes"]


def test_the_watchdog_reads_gpu_use_from_nvidia_smi_where_the_image_has_it(workspace: Workspace,
                                                                          tmp_path: Path) -> None:
    workspace.write(watchdog_stack("{idle: {after: 1m, gpu_util_below: 10, then: destroy}}"))
    assert workspace.vastplan("apply", "--auto-approve").code == 0
    box_id = state_id(workspace, "instances.box")
    admin(workspace, "POST", f"/instances/{box_id}/gpu_util/", {"gpu_util": 90})  # the API says busy
    tools = tmp_path / "gpu-bin"
    tools.mkdir()
    smi = tools / "nvidia-smi"  # two GPUs, the busiest at 7%: idle by nvidia-smi's reading
    smi.write_text("#!/bin/sh\nprintf '  3\\n  7\\n'\n")
    smi.chmod(0o755)
    log = tmp_path / "onstart.log"
    process = start_onstart(workspace, box_id, log, scale=60, path=f"{tools}:{os.environ['PATH']}")
    try:
        assert wait_until(lambda: box_id not in instances(workspace)), log.read_text()
    finally:
        stop_onstart(process)
    assert "GPU below 10% for 60s: destroy" in log.read_text()
