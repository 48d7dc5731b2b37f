"""Local volumes: disk rented on one machine, mounted by instances on that same machine."""

from __future__ import annotations

from typing import TYPE_CHECKING

from vastsandbox.world import JSON, netvolumes
from vastsandbox.world.errors import Refusal
from vastsandbox.world.lifecycle import accrue
from vastsandbox.world.machines import Machine
from vastsandbox.world.market import HOURS_PER_MONTH

if TYPE_CHECKING:
    from vastsandbox.world.context import Caller

Record = dict[str, JSON]
DEFAULT_SIZE = 15.0


def checked_size(value: JSON) -> float:
    """A requested volume size in GB (local or network), or the 400 Vast.ai gives."""
    try:
        size = float(value if value is not None else DEFAULT_SIZE)
    except (TypeError, ValueError) as exc:
        raise Refusal(400, "invalid_args", "Volume size must be a number.") from exc
    if size < 1:
        raise Refusal(400, "invalid_args", "Volume size must be at least 1 GB.")
    return size


def create(call: Caller, offer_id: JSON, size_value: JSON, name: JSON) -> Record:
    """Rent ``size`` GB of a volume offer's machine."""
    sb = call.sb
    try:
        machine = sb.market.resolve_volume_offer(int(str(offer_id)))
    except ValueError:
        machine = None
    if machine is None or not machine.rentable:
        raise Refusal(404, "no_such_ask", f"Volume offer {offer_id} is not available.")
    size = checked_size(size_value)
    if size > sb.market.free_disk(machine):
        raise Refusal(400, "invalid_args", f"Volume of {size:g} GB does not fit on machine "
                                              f"{machine.machine_id} ({sb.market.free_disk(machine):.0f} GB free).")
    world = sb.world
    volume_id = world.new_id("volumes")
    record: Record = {
        "id": volume_id, "label": str(name) if name else f"V.{volume_id}", "machine_id": machine.machine_id,
        "disk_space": size, "created_at": call.now, "billed_at": call.now, "cost_storage": 0.0,
        "storage_cost": machine.storage_cost, "storage_hour": machine.storage_cost * size / HOURS_PER_MONTH,
        "instances": [], "offer_id": int(str(offer_id)),
    }
    sb.market.use_disk(machine.machine_id, size)
    world.insert("volumes", record, call.uid)
    sb.changed()
    return record


def mounts_for_new_instance(call: Caller, info: JSON, machine: Machine, instance_id: int) -> list[Record]:
    """Create or link the volume a create-instance request asks for; it must be on ``machine``."""
    if not info:
        return []
    if not isinstance(info, dict):
        raise Refusal(400, "invalid_args", "volume_info must be an object.")
    mount_path = info.get("mount_path")
    if not isinstance(mount_path, str) or not mount_path.startswith("/"):
        raise Refusal(400, "invalid_args", "volume_info.mount_path must be an absolute path.")
    volume: Record | None
    if info.get("create_new"):
        target = call.sb.market.resolve_volume_offer(int(str(info.get("volume_id"))))
        if target is None or target.machine_id != machine.machine_id:
            raise Refusal(400, "invalid_args", f"Volume offer {info.get('volume_id')} is not on machine "
                                                  f"{machine.machine_id} of this offer.")
        volume = create(call, info.get("volume_id"), info.get("size"), info.get("name"))
    else:
        try:
            volume_id = int(str(info.get("volume_id")))
        except ValueError as exc:
            raise Refusal(400, "invalid_args", "volume_info.volume_id must be a volume id.") from exc
        volume = call.sb.world.get("volumes", volume_id, call.uid)
        if volume is None:
            volume = netvolumes.link(call.sb.world.extra, volume_id, call.uid, machine.machine_id,
                                     call.sb.market.cluster_of, instance_id)
            if volume is not None:
                return [{"id": volume["id"], "mount_path": mount_path}]
        if volume is None:
            raise Refusal(404, "no_such_volume", "Volume with that ID does not exist.")
        if int(volume["machine_id"]) != machine.machine_id:
            raise Refusal(400, "invalid_args", f"Volume {volume['id']} is on machine {volume['machine_id']}; "
                                                  f"the offer is on machine {machine.machine_id}.")
    instances = volume["instances"]
    assert isinstance(instances, list)
    instances.append(instance_id)
    return [{"id": volume["id"], "mount_path": mount_path}]


def volume_info_of(call: Caller, instance: Record) -> list[Record]:
    rows = []
    for mount in instance.get("volumes") or []:
        volume = _mounted(call, int(mount["id"]))
        if volume is not None:
            rows.append({"id": volume["id"], "name": volume["label"], "mount_path": mount["mount_path"],
                         "avail_space": volume["disk_space"], "total_space": volume["disk_space"]})
    return rows


def release_instance(call: Caller, instance: Record) -> None:
    """The instance is gone: it no longer holds its volumes."""
    for mount in instance.get("volumes") or []:
        volume = _mounted(call, int(mount["id"]))
        if volume is not None:
            volume["instances"] = [i for i in volume["instances"] if i != instance["id"]]


def _mounted(call: Caller, volume_id: int) -> Record | None:
    """The local or network volume an instance mounts (local and network ids share one range)."""
    return call.sb.world.tables["volumes"].get(volume_id) or netvolumes.by_id(call.sb.world.extra, volume_id)


def render(call: Caller, record: Record) -> Record:
    machine = call.sb.market.by_id[int(record["machine_id"])]
    accrue(record, call.now)
    return {
        "id": record["id"], "label": record["label"], "name": record["label"], "status": "online",
        "type": "local_volume", "disk_space": record["disk_space"], "disk_name": machine.disk_name,
        "start_date": record["created_at"], "duration": call.now - float(record["created_at"]),
        "machine_id": machine.machine_id, "host_id": machine.host_id, "instances": list(record["instances"]),
        "cluster_id": None, "driver_version": machine.driver_version, "inet_up": machine.inet_up,
        "inet_down": machine.inet_down, "reliability2": machine.reliability,
        "verification": machine.verification, "geolocation": machine.geolocation,
        "public_ipaddr": "127.0.0.1", "os_version": "22.04", "storage_cost": record["storage_cost"],
        "storage_total_cost": round(float(record["storage_hour"]), 8),
        "total_cost": round(float(record["cost_storage"]), 6),
    }
