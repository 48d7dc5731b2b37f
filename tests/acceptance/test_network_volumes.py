"""Network volumes as desired state: searched, rented, mounted by an instance in their cluster,
converged, replaced on a size change (Vast.ai changes nothing of one in place), imported from the
official CLI, found as orphans, and deleted only after the instances that mount them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.harness import CANARY_API_KEY, Workspace, api_get, instances
from tests.vastai_cli import run_vastai

MOUNTED = """
version: 1
stack: nv
network_volumes:
  shared: {size_gb: SIZE}
instances:
  box:
    image: pytorch/pytorch
    volumes: [{network_volume: shared, mount: /shared}]
    offer: {num_gpus: 1}
    readiness: {timeout: 20s}
"""

ALONE = """
version: 1
stack: nv
network_volumes:
  shared: {size_gb: SIZE}
"""


def network_volumes(ws: Workspace) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = api_get(ws.api_url, "/api/v0/volumes?owner=me&type=network_volume",
                                         CANARY_API_KEY)["volumes"]
    return rows


def vastai(ws: Workspace, tmp_path: Path, *args: str) -> Any:
    done = run_vastai(ws.api_url, CANARY_API_KEY, *args, "--raw", config_dir=tmp_path / "cli")
    assert done.returncode == 0, done.stderr
    ws.outputs += [done.stdout, done.stderr]
    return json.loads(done.stdout)


def test_plan_apply_converge_and_destroy_the_instance_before_its_network_volume(workspace: Workspace,
                                                                                tmp_path: Path) -> None:
    workspace.write(MOUNTED.replace("SIZE", "40"))
    planned = workspace.vastplan("plan", "--detailed-exitcode")
    assert planned.code == 2, planned.text
    assert "# network_volumes.shared will be created   $0.0" in planned.out  # storage $/hr, like a volume
    assert '+ network volume "shared"' in planned.out and "+ size_gb = 40" in planned.out
    assert '+ volumes = ["network_volumes.shared:/shared"]' in planned.out

    applied = workspace.vastplan("apply", "--auto-approve")
    assert applied.code == 0, applied.text
    state = workspace.state()["resources"]
    volume_id, box_id = state["network_volumes.shared"]["id"], state["instances.box"]["id"]
    (volume,) = network_volumes(workspace)
    assert volume["id"] == volume_id and volume["label"] == "vp:nv/network_volumes.shared"
    assert volume["disk_space"] == 40 and volume["instances"] == [box_id]
    box = instances(workspace)[box_id]
    assert [(m["id"], m["mount_path"]) for m in box["volume_info"]] == [(volume_id, "/shared")]
    offers = vastai(workspace, tmp_path, "search", "network-volumes", f"cluster_id={volume['cluster_id']}")
    assert box["machine_id"] in offers[0]["machine_ids"], "the instance runs in the volume's cluster"

    again = workspace.vastplan("plan", "--detailed-exitcode")
    assert again.code == 0, again.text
    assert "Refreshing: 1 network volume, 1 instance (2 requests" in again.out, "one list request per kind"
    cost = workspace.vastplan("cost")
    assert cost.code == 0, cost.text
    (line,) = [li for li in cost.out.splitlines() if li.startswith("network_volumes.shared ")]
    assert str(volume_id) in line and "live" in line, "its charges are counted as its own, not another kind's"
    shown = vastai(workspace, tmp_path, "show", "volumes", "-t", "network")
    assert [(v["id"], v["label"], v["instances"]) for v in shown] == [(volume_id, volume["label"], [box_id])]

    destroyed = workspace.vastplan("destroy", "--auto-approve")
    assert destroyed.code == 0, destroyed.text
    out = destroyed.out
    assert out.index("instances.box: Destruction complete") < out.index("network_volumes.shared: Destroying")
    assert network_volumes(workspace) == [] and instances(workspace) == {}
    assert workspace.state()["resources"] == {}
    assert vastai(workspace, tmp_path, "show", "volumes", "-t", "network") == []


def test_a_new_size_plans_a_replacement_because_vastai_cannot_resize_one(workspace: Workspace) -> None:
    workspace.write(ALONE.replace("SIZE", "10"))
    applied = workspace.vastplan("apply", "--auto-approve")
    assert applied.code == 0, applied.text
    assert "no instance of the stack mounts it; it bills $" in " ".join(applied.out.split())  # folded at 80 columns
    old = workspace.state()["resources"]["network_volumes.shared"]["id"]

    workspace.write(ALONE.replace("SIZE", "20"))
    planned = workspace.vastplan("plan", "--detailed-exitcode")
    assert planned.code == 2, planned.text
    assert "# network_volumes.shared must be replaced (a field that cannot change in place changed)" in planned.out
    assert "~ size_gb = 10 -> 20  # forces replacement" in planned.out
    assert "Plan: 1 to add, 0 to change, 1 to destroy." in planned.out

    replaced = workspace.vastplan("apply", "--auto-approve")
    assert replaced.code == 0, replaced.text
    new = workspace.state()["resources"]["network_volumes.shared"]["id"]
    assert new != old and [(v["id"], v["disk_space"]) for v in network_volumes(workspace)] == [(new, 20)]
    assert workspace.vastplan("plan", "--detailed-exitcode").code == 0


def test_import_of_a_network_volume_the_official_cli_made(workspace: Workspace, tmp_path: Path) -> None:
    offer = vastai(workspace, tmp_path, "search", "network-volumes", "disk_space>=30")[0]
    made = vastai(workspace, tmp_path, "create", "network-volume", str(offer["id"]), "-s", "30", "-n", "by-hand")
    assert made["success"] is True
    (volume,) = network_volumes(workspace)
    workspace.write(ALONE.replace("SIZE", "30"))

    missing = workspace.vastplan("import", "network_volumes.shared", "999999")
    assert missing.code == 1 and "there is no network volume with id 999999" in missing.err
    imported = workspace.vastplan("import", "network_volumes.shared", str(volume["id"]))
    assert imported.code == 0, imported.text
    assert f"Imported network volume {volume['id']} as network_volumes.shared" in imported.out
    planned = workspace.vastplan("plan", "--detailed-exitcode")
    assert planned.code == 0, planned.text

    assert workspace.vastplan("destroy", "--auto-approve").code == 0
    assert network_volumes(workspace) == []


def test_a_lost_state_finds_the_network_volume_instead_of_renting_another(workspace: Workspace) -> None:
    workspace.write(ALONE.replace("SIZE", "10"))
    assert workspace.vastplan("apply", "--auto-approve").code == 0
    volume_id = workspace.state()["resources"]["network_volumes.shared"]["id"]
    for leftover in workspace.root.glob("stack.vpstate.json*"):
        leftover.unlink()

    orphans = workspace.vastplan("orphans")
    assert orphans.code == 0, orphans.text
    assert str(volume_id) in orphans.out and "network_volumes.shared" in orphans.out and "/hr" in orphans.out
    refused = workspace.vastplan("apply", "--auto-approve")
    assert refused.code == 1, refused.text
    assert f"vastplan import network_volumes.shared {volume_id}" in refused.err
    assert [v["id"] for v in network_volumes(workspace)] == [volume_id]

    adopted = workspace.vastplan("apply", "--adopt", "--auto-approve")
    assert adopted.code == 0, adopted.text
    assert workspace.state()["resources"]["network_volumes.shared"]["id"] == volume_id
    assert workspace.vastplan("plan", "--detailed-exitcode").code == 0
    assert [v["id"] for v in network_volumes(workspace)] == [volume_id]


def test_a_mount_names_one_declared_volume(workspace: Workspace) -> None:
    both = MOUNTED.replace("SIZE", "10").replace("{network_volume: shared,", "{network_volume: shared, volume: x,")
    workspace.write(both)
    checked = workspace.vastplan("validate")
    assert checked.code == 1 and "stack.yaml:9:" in checked.err
    assert "a mount names exactly one of volume: and network_volume:" in checked.err
    workspace.write(MOUNTED.replace("SIZE", "10").replace("network_volume: shared", "network_volume: sahred"))
    unknown = workspace.vastplan("validate")
    assert unknown.code == 1 and "stack.yaml:9:" in unknown.err and "sahred" in unknown.err, unknown.err


def test_replacing_a_mounted_network_volume_replaces_the_instance_that_mounts_it(workspace: Workspace) -> None:
    workspace.write(MOUNTED.replace("SIZE", "10"))
    assert workspace.vastplan("apply", "--auto-approve").code == 0
    workspace.write(MOUNTED.replace("SIZE", "20"))
    planned = workspace.vastplan("plan")
    assert planned.code == 0, planned.text
    assert '~ volumes = ["' in planned.out and '"] -> ["network_volumes.shared:/shared"]' in planned.out
    assert "  #\n" not in planned.out  # a folded line keeps its note whole
    assert "Plan: 2 to add, 0 to change, 2 to destroy." in planned.out

    applied = workspace.vastplan("apply", "--auto-approve")
    assert applied.code == 0, applied.text
    state = workspace.state()["resources"]
    (volume,) = network_volumes(workspace)
    assert volume["id"] == state["network_volumes.shared"]["id"] and volume["disk_space"] == 20
    assert volume["instances"] == [state["instances.box"]["id"]]
    assert workspace.vastplan("plan", "--detailed-exitcode").code == 0


def test_an_instance_no_cluster_can_run_is_refused_at_plan_time(workspace: Workspace) -> None:
    # Clusters are verified datacenter machines: no machine outside a datacenter can mount the volume.
    workspace.write(MOUNTED.replace("SIZE", "10").replace("offer: {num_gpus: 1}", "offer: {datacenter: false}"))
    planned = workspace.vastplan("plan")
    assert planned.code == 1, planned.text
    assert "stack.yaml:5:" in planned.err and "network_volumes.shared" in planned.err
    assert "no cluster offering this network volume has a GPU offer matching instances.box" in planned.err
    assert network_volumes(workspace) == [] and instances(workspace) == {}


def test_volumes_and_network_volumes_cost_one_listing_between_them(workspace: Workspace) -> None:
    # Both kinds read Vast.ai's one volume listing; the client joins the two identical GETs in flight.
    workspace.write(ALONE.replace("SIZE", "20") + "volumes:\n  data: {size_gb: 10}\n")
    assert workspace.vastplan("apply", "--auto-approve").code == 0
    again = workspace.vastplan("plan", "--detailed-exitcode")
    assert again.code == 0, again.text
    assert "Refreshing: 1 volume, 1 network volume (1 request," in again.out, again.out
    local, network = (workspace.state()["resources"][a]["id"] for a in ("volumes.data", "network_volumes.shared"))
    assert local != network, "each kind still sees only its own objects"
