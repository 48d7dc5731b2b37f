"""Placement by machine capacity, through the real CLI against the sandbox: fleets larger than one
search page, several instances on one machine, volumes with their instances (also after an
interrupted apply), and stacks that cannot be placed naming the filter to blame."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import CANARY_API_KEY
from tests.harness import Workspace, api_call, api_get
from vastsandbox.server import start_in_thread


def fleet(count: int, name: str = "fleet", offer: str = "{num_gpus: 1, order: price}") -> str:
    return f"""version: 1
stack: {name}
instances:
  n:
    count: {count}
    image: ubuntu
    tag: "22.04"
    disk_gb: 10
    offer: {offer}
    readiness: {{timeout: 60s, ssh_probe: false}}
"""


SHARED_VOLUME = """version: 1
stack: shared
volumes:
  data: {size_gb: 50}
instances:
  worker:
    count: 2
    image: ubuntu
    tag: "22.04"
    volumes: [{volume: data, mount: /data}]
    offer: {num_gpus: 1}
    readiness: {timeout: 60s, ssh_probe: false}
"""

# An unconstrained worker declared before the instance that mounts the volume: it must not take
# the GPUs the volume's instance needs (placement puts constrained instances first).
WORKER_FIRST = """version: 1
stack: mixed
volumes:
  data: {size_gb: 50}
instances:
  worker:
    count: 3
    image: ubuntu
    tag: "22.04"
    offer: {num_gpus: 1, order: price}
    readiness: {timeout: 60s, ssh_probe: false}
  server:
    image: ubuntu
    tag: "22.04"
    volumes: [{volume: data, mount: /data}]
    offer: {num_gpus: 1, order: price}
    readiness: {timeout: 60s, ssh_probe: false}
"""


def instances(ws: Workspace) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    token = None
    while True:
        query = "select_filters=%7B%7D&limit=25" + (f"&after_token={token}" if token else "")
        page = api_get(ws.api_url, f"/api/v1/instances/?{query}", CANARY_API_KEY)
        rows += page["instances"]
        token = page.get("next_token")
        if not token:
            return rows


def volumes(ws: Workspace) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = api_get(ws.api_url, "/api/v0/volumes?owner=me&type=all_volume",
                                          CANARY_API_KEY)["volumes"]
    return found


def search_count(ws: Workspace) -> int:
    counters = api_call(ws.api_url, "GET", "/_sandbox/counters", CANARY_API_KEY)["routes"]
    return sum(n for route, n in counters.items() if route in ("POST /api/v0/bundles/", "POST /api/v0/volumes/search/"))


def reset_counters(ws: Workspace) -> None:
    api_call(ws.api_url, "DELETE", "/_sandbox/counters", CANARY_API_KEY)


def json_plan(ws: Workspace) -> dict[str, Any]:
    result = ws.vastplan("plan", "--json")
    assert result.code == 0, result.text
    plan: dict[str, Any] = json.loads(result.out)
    return plan


def planned_machines(plan: dict[str, Any]) -> dict[str, str]:
    """address -> the machine the plan names for it ("machine 11033: 1x RTX 4090, Texas, US")."""
    return {c["address"]: c["change"]["after"]["offer"] for c in plan["resource_changes"]
            if c["kind"] == "instance" and c["change"]["after"]}


def machine_of(text: str) -> str:
    return text.split(":")[0]


def test_a_fleet_of_120_plans_applies_converges_and_destroys(workspace: Workspace) -> None:
    workspace.write(fleet(120))
    plan = json_plan(workspace)
    machines = Counter(machine_of(m) for m in planned_machines(plan).values())
    assert sum(machines.values()) == 120
    assert max(machines.values()) > 1  # instances share machines: there are only 60
    human = workspace.vastplan("plan")
    assert "machine 1" in human.out and "Plan: 120 to add" in human.out, human.text

    applied = workspace.vastplan("apply", "--auto-approve", "--parallelism", "20")
    assert applied.code == 0, applied.text[-3000:]
    live = instances(workspace)
    assert len(live) == 120 and all(r["num_gpus"] == 1 for r in live)
    again = workspace.vastplan("plan", "--detailed-exitcode")
    assert again.code == 0, again.text[-2000:]

    gone = workspace.vastplan("destroy", "--auto-approve", "--parallelism", "20")
    assert gone.code == 0, gone.text[-2000:]
    assert instances(workspace) == []


@pytest.fixture
def big_market(tmp_path: Path, capsys: pytest.CaptureFixture[str],
               monkeypatch: pytest.MonkeyPatch) -> Iterator[Workspace]:
    monkeypatch.setenv("VAST_API_KEY", CANARY_API_KEY)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    with start_in_thread(tmp_path / "big", api_key=CANARY_API_KEY, machines=2000, ssh_listeners=False) as sb:
        work = tmp_path / "work"
        work.mkdir()
        yield Workspace(work, sb.url, capsys)


def test_a_fleet_of_1000_plans_on_a_2000_machine_market(big_market: Workspace) -> None:
    big_market.write(fleet(1000))
    reset_counters(big_market)
    plan = json_plan(big_market)
    assert plan["summary"]["add"] == 1000
    placed = planned_machines(plan)
    assert len(placed) == 1000 and "instances.n[999]" in placed
    assert search_count(big_market) <= 4  # 64 then 256 offers, each with a capacity search (not one per instance)


def test_two_instances_share_a_new_volume_s_machine(workspace: Workspace) -> None:
    workspace.write(SHARED_VOLUME)
    plan = json_plan(workspace)
    volume = next(c for c in plan["resource_changes"] if c["address"] == "volumes.data")
    on = {machine_of(m) for m in planned_machines(plan).values()}
    assert on == {volume["change"]["after"]["machine"].split(",")[0]}

    applied = workspace.vastplan("apply", "--auto-approve")
    assert applied.code == 0, applied.text[-3000:]
    (made,) = volumes(workspace)
    live = instances(workspace)
    assert len(live) == 2 and {r["machine_id"] for r in live} == {made["machine_id"]}
    assert sorted(made["instances"]) == sorted(r["id"] for r in live)
    assert all(r["actual_status"] == "running" for r in live)
    assert workspace.vastplan("plan", "--detailed-exitcode").code == 0

    assert workspace.vastplan("destroy", "--auto-approve").code == 0
    assert instances(workspace) == [] and volumes(workspace) == []


def test_after_an_interrupted_apply_the_instance_goes_on_its_volume_s_machine(workspace: Workspace) -> None:
    workspace.write(WORKER_FIRST)
    made = workspace.vastplan("apply", "--auto-approve", "--target", "volumes.data")
    assert made.code == 0, made.text
    (volume,) = volumes(workspace)
    home = volume["machine_id"]
    fill_machine_but(workspace, home, keep=1)
    # The workers, declared first, would rank the volume's machine first: its one free GPU is the
    # server's all the same, and the workers share the next machine.
    other = next_machine_with_room(workspace, after=home, gpus=3)
    pinned = f"offer: {{num_gpus: 1, order: price, raw: {{machine_id: {{in: [{home}, {other}]}}}}}}"
    workspace.write(WORKER_FIRST.replace("offer: {num_gpus: 1, order: price}", pinned, 1))  # the worker's

    plan = planned_machines(json_plan(workspace))
    assert machine_of(plan["instances.server"]) == f"machine {home}"
    assert {machine_of(plan[f"instances.worker[{i}]"]) for i in range(3)} == {f"machine {other}"}
    applied = workspace.vastplan("apply", "--auto-approve")
    assert applied.code == 0, applied.text[-3000:]
    live = {r["label"].split()[0]: r["machine_id"] for r in instances(workspace)}
    assert live == {"vp:mixed/instances.server": home, **{f"vp:mixed/instances.worker[{i}]": other for i in range(3)}}
    assert workspace.vastplan("plan", "--detailed-exitcode").code == 0
    assert workspace.vastplan("destroy", "--auto-approve").code == 0


def next_machine_with_room(ws: Workspace, after: int, gpus: int) -> int:
    """A machine ranked after ``after`` by one-GPU price, with ``gpus`` GPUs free."""
    defaults = {"verified": {"eq": True}, "external": {"eq": False}, "rentable": {"eq": True}}
    ones = api_call(ws.api_url, "POST", "/api/v0/bundles/", CANARY_API_KEY,
                    {**defaults, "num_gpus": {"eq": 1}, "order": [["dph_total", "asc"]]})["offers"]
    ranked = [o["machine_id"] for o in ones]
    big = {o["machine_id"] for o in api_call(ws.api_url, "POST", "/api/v0/bundles/", CANARY_API_KEY,
                                             {**defaults, "num_gpus": {"gte": gpus}})["offers"]}
    assert after in ranked
    return next(m for m in ranked[ranked.index(after) + 1:] if m in big)


def fill_machine_but(ws: Workspace, machine_id: int, keep: int) -> None:
    """Another tenant rents the machine's free GPUs but ``keep`` of them (with the same API)."""
    other = "other-tenant-key"
    api_call(ws.api_url, "POST", "/_sandbox/keys", CANARY_API_KEY, {"api_key": other})
    while True:
        offers = api_call(ws.api_url, "POST", "/api/v0/bundles/", other,
                          {"machine_id": {"eq": machine_id}, "order": [["num_gpus", "desc"]]})["offers"]
        free = max((o["num_gpus"] for o in offers), default=0)
        if free <= keep:
            return
        one = next(o for o in offers if o["num_gpus"] == 1)
        api_call(ws.api_url, "PUT", f"/api/v0/asks/{one['id']}/", other, {"image": "ubuntu", "disk": 10})


def test_placing_llm_server_costs_a_handful_of_searches(workspace: Workspace) -> None:
    workspace.stack.write_text((Path(__file__).parents[2] / "examples" / "llm-server.yaml").read_text())
    reset_counters(workspace)
    assert workspace.vastplan("plan").code == 0
    assert search_count(workspace) <= 3  # a volume search, a GPU search, a capacity search (was 77)


def test_an_unplaceable_stack_names_the_filter_that_empties_the_search(workspace: Workspace) -> None:
    workspace.write(fleet(1).replace("{num_gpus: 1, order: price}",
                                     "{num_gpus: 1, gpu_name: H100 SXM, geolocation: [VN], order: price}"))
    result = workspace.vastplan("plan")
    assert result.code == 1
    assert "instances.n[0]" in result.err and "offer.geolocation (in [VN])" in result.err, result.err


def test_a_fleet_larger_than_the_market_says_how_many_fit(workspace: Workspace) -> None:
    workspace.write(fleet(1000))
    result = workspace.vastplan("plan")
    assert result.code == 1
    assert "of the 1000 instances with this offer block fit" in result.err, result.err


def test_a_shared_machine_taken_in_part_after_planning_sends_the_rest_elsewhere(workspace: Workspace) -> None:
    # The fallback keeps the planned GPU model, and the planned country unless offer: names others.
    workspace.write(fleet(4, offer="{num_gpus: 1, order: price, geolocation: [CA, DE]}"))
    assert workspace.vastplan("plan", "--out", "fleet.plan").code == 0
    saved = json.loads((workspace.root / "fleet.plan").read_text())
    on = Counter(machine_of(c["change"]["after"]["offer"]) for c in saved["resource_changes"])
    machine, planned = on.most_common(1)[0]
    assert planned >= 3, on  # the cheapest machine takes several of them
    machine_id = int(machine.split()[1])
    fill_machine_but(workspace, machine_id, keep=planned - 2)  # another tenant takes two of "our" GPUs

    applied = workspace.vastplan("apply", "fleet.plan", stack=False)
    assert applied.code == 0, applied.text[-3000:]
    assert f"machine {machine_id} has no 1-GPU offer left; trying the next match" in applied.out
    live = instances(workspace)
    assert len(live) == 4
    assert sum(r["machine_id"] == machine_id for r in live) == planned - 2
    assert len({r["gpu_name"] for r in live}) == 1, live
    assert workspace.vastplan("plan", "--detailed-exitcode").code == 0


@pytest.mark.parametrize(("volume", "blamed"), [
    ("{size_gb: 10, offer: {geolocation: [ZZ]}}", "offer.geolocation (in [ZZ]) leaves none"),
    ("{size_gb: 90000}", "no machine has 90000 GB of disk free"),
])
def test_an_unplaceable_volume_names_what_empties_its_search(workspace: Workspace, volume: str, blamed: str) -> None:
    workspace.write(SHARED_VOLUME.replace("data: {size_gb: 50}", f"data: {volume}"))
    result = workspace.vastplan("plan")
    assert result.code == 1
    assert f"volumes.data: no volume offer matches the filters right now: {blamed}" in result.err, result.err


def routes(ws: Workspace) -> Counter[str]:
    counted: dict[str, int] = api_call(ws.api_url, "GET", "/_sandbox/counters", CANARY_API_KEY)["routes"]
    return Counter(counted)


def by_address(ws: Workspace) -> dict[str, dict[str, Any]]:
    """The account's instances by the address their ownership marker names."""
    rows = instances(ws)
    found = {r["label"].split()[0].split("/", 1)[1]: r for r in rows}
    assert len(found) == len(rows), "two instances carry one address"
    return found


def test_a_fleet_sharing_machines_rents_each_instance_in_one_request_where_and_at_the_price_planned(
        workspace: Workspace) -> None:
    """An offer id rents once, so the second instance on a machine used to search the machine for a
    fresh id first; now it is one launch on that machine (Vast.ai picks the offer), so instances
    sharing a machine no longer rent one after another."""
    workspace.write(fleet(12))
    plan = json_plan(workspace)
    planned = planned_machines(plan)
    per_machine = Counter(machine_of(m) for m in planned.values())
    assert max(per_machine.values()) > 1, per_machine

    reset_counters(workspace)
    applied = workspace.vastplan("apply", "--auto-approve", "--parallelism", "12")
    assert applied.code == 0, applied.text[-3000:]
    sent = routes(workspace)
    lost = applied.out.count(" was taken; ")  # a launch that landed before its machine's pinned rent
    assert sent["PUT /api/v0/asks/{id}/"] + sent["PUT /api/v0/launch_instance/"] == 12 + lost, sent
    assert sent["PUT /api/v0/launch_instance/"] >= 12 - len(per_machine), sent
    assert sent["POST /api/v0/bundles/"] == 2, sent  # the apply's plan (GPU search, capacity); none per rent

    live = by_address(workspace)
    assert {a: f"machine {r['machine_id']}" for a, r in live.items()} == \
           {a: machine_of(m) for a, m in planned.items()}
    assert sum(r["dph_total"] for r in live.values()) == pytest.approx(plan["cost"]["dph_after"], abs=1e-4)
    assert workspace.vastplan("plan", "--detailed-exitcode").code == 0


def test_an_offer_another_tenant_rented_after_planning_is_replaced_on_its_machine_never_twice(
        workspace: Workspace) -> None:
    workspace.write(fleet(1))
    cheapest = int(machine_of(planned_machines(json_plan(workspace))["instances.n[0]"]).split()[1])
    free = max(o["num_gpus"] for o in api_call(
        workspace.api_url, "POST", "/api/v0/bundles/", CANARY_API_KEY,
        {"machine_id": {"eq": cheapest}, "order": [["num_gpus", "desc"]]})["offers"])
    count = free - 1
    assert count >= 2, free
    workspace.write(fleet(count))
    assert workspace.vastplan("plan", "--out", "fleet.plan").code == 0
    pinned = json.loads((workspace.root / "fleet.plan").read_text())["pinned"]["placements"]
    assert {p["offer"]["machine_id"] for p in pinned.values()} == {cheapest}
    (taken,) = {p["offer"]["id"] for p in pinned.values()}
    fill_machine_but(workspace, cheapest, keep=count)  # another tenant's rent: the planned id is gone, our room is not

    reset_counters(workspace)
    applied = workspace.vastplan("apply", "fleet.plan", stack=False)
    assert applied.code == 0, applied.text[-3000:]
    assert f"offer {taken} was taken; machine {cheapest} may still have room: renting another of its " \
           "offers" in applied.out
    live = by_address(workspace)
    assert sorted(live) == sorted(pinned) and {r["machine_id"] for r in live.values()} == {cheapest}
    sent = routes(workspace)
    assert sent["PUT /api/v0/asks/{id}/"] == 1 and sent["PUT /api/v0/launch_instance/"] == count, sent
    assert workspace.vastplan("plan", "--detailed-exitcode").code == 0


def test_bids_sharing_a_machine_each_rent_a_fresh_offer_id(workspace: Workspace) -> None:
    """A launch carries no bid (the official CLI's `launch instance` is on-demand only), so an
    interruptible instance after the first on a machine searches the machine for a fresh id."""
    workspace.write(fleet(3).replace("    disk_gb: 10\n", "    disk_gb: 10\n    interruptible: {bid_dph: 5}\n"))
    plan = json_plan(workspace)
    per_machine = Counter(machine_of(m) for m in planned_machines(plan).values())
    reset_counters(workspace)
    applied = workspace.vastplan("apply", "--auto-approve")
    assert applied.code == 0, applied.text[-3000:]
    sent = routes(workspace)
    assert sent["PUT /api/v0/launch_instance/"] == 0 and sent["PUT /api/v0/asks/{id}/"] == 3, sent
    assert sent["POST /api/v0/bundles/"] == 2 + 3 - len(per_machine), sent
    assert all(r["is_bid"] for r in by_address(workspace).values())
