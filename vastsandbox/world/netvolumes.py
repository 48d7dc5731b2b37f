"""Network volumes: disk on a cluster's shared storage, rented by size, usable from its machines.

Vast.ai hosts list network disks per physical cluster (``list network-volume``); renters search
them (``POST /network_volumes/search/``), rent a size (``PUT /network_volumes/``) and see them in
``GET /volumes?type=network_volume``. Here the verified datacenter machines of one location form a
cluster with one network disk; its offer id is ``NETWORK_OFFER_BASE + cluster index``. Rented
volumes are kept in the world's ``network_volumes`` section with their owner.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from vastsandbox.world import JSON
from vastsandbox.world.errors import Refusal
from vastsandbox.world.machines import CLUSTER_ID_BASE, Machine, clusters

Record = dict[str, JSON]
NETWORK_OFFER_BASE = 8000000
SECTION = "network_volumes"
MAX_PER_USER = 64  # the sandbox's own cap (Vast.ai publishes none): a runaway loop meets a 400, not a bill
HOURS_PER_MONTH = 720.0


@dataclass(frozen=True)
class NetworkDisk:
    """One cluster's shared disk, as its host listed it."""

    index: int
    cluster_id: int
    host_id: int
    geolocation: str
    machine_ids: tuple[int, ...]
    capacity: float       # GB listed
    storage_cost: float   # $/GB/month
    min_bw: int
    avg_bw: int
    max_bw: int
    inet_up: float
    inet_down: float
    reliability: float
    duration_days: float
    listed_at: float

    @property
    def offer_id(self) -> int:
        return NETWORK_OFFER_BASE + self.index


def network_disks(seed: int, machines: list[Machine]) -> list[NetworkDisk]:
    """The clusters of a market: verified datacenter machines grouped by location."""
    disks = []
    for index, (place, members) in enumerate(clusters(machines)):
        draw = random.Random(f"{seed}/network-disk/{place}")
        avg = draw.choice((400, 800, 1200, 2000))
        disks.append(NetworkDisk(
            index=index, cluster_id=CLUSTER_ID_BASE + index, host_id=members[0].host_id, geolocation=place,
            machine_ids=tuple(m.machine_id for m in members), capacity=float(draw.choice((2000, 5000, 10000))),
            storage_cost=round(draw.uniform(0.12, 0.30), 3), min_bw=avg // 2, avg_bw=avg, max_bw=avg * 2,
            inet_up=min(m.inet_up for m in members), inet_down=min(m.inet_down for m in members),
            reliability=min(m.reliability for m in members),
            duration_days=min(m.duration_days for m in members), listed_at=min(m.listed_at for m in members)))
    return disks


def rented(extra: dict[str, JSON]) -> dict[str, Record]:
    """Rented network volumes by id (as text): ``{"owner": uid, "record": {...}}``."""
    section: dict[str, Record] = extra.setdefault(SECTION, {})
    return section


def used(extra: dict[str, JSON], disk: NetworkDisk) -> float:
    return sum(float(item["record"]["disk_space"]) for item in rented(extra).values()
               if int(item["record"]["cluster_id"]) == disk.cluster_id)


def offer(disk: NetworkDisk, free: float, now: float, storage: float) -> Record:
    """The search row of one network disk, in the fields ``search network-volumes`` prints."""
    hourly = disk.storage_cost * storage / HOURS_PER_MONTH
    return {
        "id": disk.offer_id, "ask_contract_id": disk.offer_id, "cluster_id": disk.cluster_id,
        "host_id": disk.host_id, "disk_space": round(free, 1), "storage_cost": disk.storage_cost,
        "storage_total_cost": round(hourly, 8), "dph_total": round(hourly, 8),
        "inet_up": disk.inet_up, "inet_down": disk.inet_down, "reliability": disk.reliability,
        "reliability2": disk.reliability, "geolocation": disk.geolocation, "verification": "verified",
        "verified": True, "external": False, "duration": disk.duration_days * 86400,
        "start_date": disk.listed_at, "end_date": now + disk.duration_days * 86400,
        "nw_disk_min_bw": disk.min_bw, "nw_disk_avg_bw": disk.avg_bw, "nw_disk_max_bw": disk.max_bw,
        "machine_ids": list(disk.machine_ids), "score": round(disk.reliability * 100 / disk.storage_cost, 3),
    }


def offers(extra: dict[str, JSON], disks: list[NetworkDisk], now: float, storage: float) -> list[Record]:
    return [offer(d, d.capacity - used(extra, d), now, storage) for d in disks]


def create(extra: dict[str, JSON], disks: list[NetworkDisk], offer_id: JSON, size: float, name: JSON,
           new_id: int, owner: int, now: float) -> Record:
    """Rent ``size`` GB (checked by the caller) of a network disk; refused when the offer is unknown
    or too small, or when the owner already rents ``MAX_PER_USER`` network volumes."""
    try:
        index = int(str(offer_id)) - NETWORK_OFFER_BASE
    except ValueError:
        index = -1
    if not 0 <= index < len(disks):
        raise Refusal(404, "no_such_ask", f"Network volume offer {offer_id} is not available.")
    disk = disks[index]
    if name is not None and not isinstance(name, str):
        raise Refusal(400, "invalid_args", "The network volume name must be text.")
    if len(owned(extra, owner)) >= MAX_PER_USER:
        raise Refusal(400, "invalid_args", f"You already rent {MAX_PER_USER} network volumes, the most one "
                                           "account may; delete one first.")
    free = disk.capacity - used(extra, disk)
    if size > free:
        raise Refusal(400, "invalid_args", f"Network volume of {size:g} GB does not fit on offer {offer_id} "
                                           f"({free:.0f} GB free).")
    record: Record = {
        "id": new_id, "label": str(name) if name else f"V.{new_id}", "offer_id": disk.offer_id,
        "cluster_id": disk.cluster_id, "host_id": disk.host_id, "geolocation": disk.geolocation,
        "disk_space": size, "created_at": now, "billed_at": now, "cost_storage": 0.0,
        "storage_cost": disk.storage_cost, "storage_hour": disk.storage_cost * size / HOURS_PER_MONTH,
        "instances": [],
    }
    rented(extra)[str(new_id)] = {"owner": owner, "record": record}
    return record


def accrue(record: Record, now: float) -> None:
    since = float(record.get("billed_at") or now)
    if now > since:
        record["cost_storage"] = float(record["cost_storage"]) + (now - since) / 3600 * float(record["storage_hour"])
        record["billed_at"] = now


def owned(extra: dict[str, JSON], owner: int) -> list[Record]:
    return [item["record"] for _, item in sorted(rented(extra).items(), key=lambda kv: int(kv[0]))
            if int(item["owner"]) == owner]


def find(extra: dict[str, JSON], volume_id: int, owner: int) -> Record | None:
    item = rented(extra).get(str(volume_id))
    return item["record"] if item is not None and int(item["owner"]) == owner else None


def delete(extra: dict[str, JSON], volume_id: int, owner: int, now: float) -> Record:
    record = find(extra, volume_id, owner)
    if record is None:
        raise Refusal(404, "no_such_volume", "Volume with that ID does not exist.")
    accrue(record, now)
    del rented(extra)[str(volume_id)]
    return record


def link(extra: dict[str, JSON], volume_id: int, owner: int, machine_id: int, cluster_of: dict[int, int],
         instance_id: int) -> Record | None:
    """Mount the owner's network volume ``volume_id`` into a new instance on ``machine_id``: only a
    machine of the volume's cluster reaches its disk. None when the owner has no such network volume."""
    record = find(extra, volume_id, owner)
    if record is None:
        return None
    if cluster_of.get(machine_id) != record["cluster_id"]:
        raise Refusal(400, "invalid_args", f"Network volume {volume_id} is in cluster {record['cluster_id']}; "
                                           f"machine {machine_id} of this offer is not in it.")
    instances = record["instances"]
    assert isinstance(instances, list)
    instances.append(instance_id)
    return record


def by_id(extra: dict[str, JSON], volume_id: int) -> Record | None:
    """A rented network volume, whoever owns it (an instance's mount names it by id)."""
    item = rented(extra).get(str(volume_id))
    return item["record"] if item is not None else None


def render(record: Record, now: float) -> Record:
    """The row ``GET /volumes`` lists for a network volume."""
    accrue(record, now)
    return {
        "id": record["id"], "label": record["label"], "name": record["label"], "status": "online",
        "type": "network_volume", "disk_space": record["disk_space"], "disk_name": "network",
        "start_date": record["created_at"], "duration": now - float(record["created_at"]),
        "machine_id": None, "host_id": record["host_id"], "cluster_id": record["cluster_id"],
        "instances": list(record["instances"]), "geolocation": record["geolocation"],
        "verification": "verified", "driver_version": None, "inet_up": None, "inet_down": None,
        "reliability2": None, "storage_cost": record["storage_cost"],
        "storage_total_cost": round(float(record["storage_hour"]), 8),
        "total_cost": round(float(record["cost_storage"]), 6),
    }


def charge_row(record: Record, now: float) -> Record:
    """The charge row of a network volume, shaped like a local volume's (billing.py): whole-second
    span, ``source`` ``volume-<id>``, the amount in dollars to 3 decimals, one ``disk`` item."""
    accrue(record, now)
    cost = float(record["cost_storage"])
    span = {"start": math.floor(float(record["created_at"])), "end": math.ceil(now)}
    return {
        **span, "type": "volume", "source": f"volume-{record['id']}",
        "description": f"Network volume {record['id']} ({float(record['disk_space']):g} GB)",
        "amount": round(cost, 3), "metadata": {"volume_id": record["id"], "cluster_id": record["cluster_id"]},
        "items": [{**span, "type": "disk", "source": None, "description": "Network volume storage",
                   "amount": cost, "metadata": {}, "items": []}],
    }


def charge_rows(extra: dict[str, JSON], owner: int, now: float) -> list[Record]:
    return [charge_row(r, now) for r in owned(extra, owner)]
