"""Local volumes: disk on one machine, rented from a volume offer. Instances that mount a volume
are placed on its machine, so a new volume is placed together with them (by the instance kind's
prepare, which places every new instance and volume in one pass: see placer)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, ClassVar

from vastplan.api import volumes as api
from vastplan.api.client import VastClient
from vastplan.errors import ApiError
from vastplan.kinds.base import UNKNOWN, ApplyContext, Created, LiveObjects, Planning, ResourceKind, labelled
from vastplan.kinds.ownership import marker
from vastplan.kinds.placement import storage_dph
from vastplan.stack.model import ResourceSpec
from vastplan.state.model import ResourceState


def describe_machine(row: Mapping[str, Any]) -> str:
    return f"machine {row.get('machine_id')}, {row.get('geolocation') or 'unknown location'}"


def mounted_volumes(spec: ResourceSpec) -> list[str]:
    """The volume addresses an instance spec mounts."""
    return [f"volumes.{v['volume']}" for v in spec.config.get("volumes") or [] if "volume" in v]


def to_place(spec: ResourceSpec, planning: Planning) -> bool:
    """Whether this plan rents the volume anew (so it is placed, with the instances mounting it): it is
    missing, its size changes (Vast.ai cannot resize one), or it is tainted or named by --replace."""
    live = planning.live_object(spec.address)
    return live is None or live["size_gb"] != int(spec.config["size_gb"]) or planning.replacing(spec.address)


class VolumeKind(ResourceKind):
    kind: ClassVar[str] = "volume"
    collection: ClassVar[str] = "volumes"
    schema_definition: ClassVar[str] = "volume"
    noun: ClassVar[str] = "volume"
    singular: ClassVar[str] = "volume"
    plural: ClassVar[str] = "volumes"
    with_article: ClassVar[str] = "a volume"
    defaults: ClassVar[Mapping[str, Any]] = {"offer": {}}
    recorded_attributes: ClassVar[frozenset[str]] = frozenset(
        {"id", "machine", "machine_id", "label", "storage_cost", "instances", "start_date"})
    charge_types: ClassVar[frozenset[str]] = frozenset({"volume"})
    replace_fields: ClassVar[frozenset[str]] = frozenset({"size_gb", "machine"})

    def claimed_disk_gb(self, spec: ResourceSpec) -> float:
        return float(spec.config["size_gb"])

    async def list_live(self, client: VastClient, known: Mapping[str, ResourceState]) -> LiveObjects:
        # network volumes share the listing (and the id range): they are the network_volume kind's
        return {row["id"]: self.from_api(row) for row in await api.list_volumes(client)
                if "id" in row and row.get("type") != "network_volume"}

    def from_api(self, row: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "size_gb": int(float(row.get("disk_space") or 0)),
            "machine": describe_machine(row),
            "label": row.get("label") or "",
            "machine_id": row.get("machine_id"),
            "storage_cost": row.get("storage_cost"),
            "instances": list(row.get("instances") or []),
            "start_date": row.get("start_date"),
        }

    async def list_owned(self, client: VastClient, marker_prefix: str, listed: LiveObjects | None) -> LiveObjects:
        return labelled(listed if listed is not None else await self.list_live(client, {}), marker_prefix)

    def desired(self, spec: ResourceSpec, planning: Planning) -> dict[str, Any]:
        live = planning.live_object(spec.address)
        placement = planning.placements.get(spec.address)
        machine = describe_machine(placement.offer) if placement else (live or {}).get("machine", UNKNOWN)
        return {"size_gb": int(spec.config["size_gb"]), "machine": machine}

    def warnings(self, spec: ResourceSpec, planning: Planning) -> list[str]:
        mounted = any(spec.address in mounted_volumes(other) for other in planning.stack.resources
                      if other.kind == "instance")
        if mounted:
            return []
        return [f"no instance of the stack mounts it; it bills ${self.planned_dph(spec, planning):.3f}/hr "
                "for storage all the same"]

    def dph(self, live: Mapping[str, Any]) -> float:
        return storage_dph(live.get("storage_cost") or 0, live.get("size_gb") or 0)

    def planned_dph(self, spec: ResourceSpec, planning: Planning) -> float:
        placement = planning.placements.get(spec.address)
        offer = placement.offer if placement else planning.live_object(spec.address) or {}
        return storage_dph(offer.get("storage_cost") or 0, spec.config["size_gb"])

    async def create(self, client: VastClient, spec: ResourceSpec, desired: Mapping[str, Any],
                     ctx: ApplyContext) -> Created:
        placement = ctx.planning.placements[spec.address]
        ctx.progress(f"renting volume offer {placement.offer['id']} ({desired['machine']})")
        label = marker(ctx.stack, spec.address)
        name = await api.create_volume(client, int(placement.offer["id"]), desired["size_gb"], label)
        volume_id = await self._find_id(client, name, label)
        return Created(volume_id, {**desired, "label": label, "machine_id": placement.offer.get("machine_id"),
                                   "storage_cost": placement.offer.get("storage_cost")})

    async def _find_id(self, client: VastClient, name: str, label: str) -> int:
        match = re.fullmatch(r"V\.(\d+)", name)
        if match:
            return int(match[1])
        for row in await api.list_volumes(client):
            if row.get("label") == label:
                return int(row["id"])
        raise ApiError(f"the volume was created but not found by its label {label!r}", method="GET", path="/volumes")

    async def update(self, client: VastClient, entry: ResourceState, desired: Mapping[str, Any],
                     ctx: ApplyContext) -> Mapping[str, Any]:
        raise AssertionError("every volume field forces a replacement; there is nothing to update in place")

    async def delete(self, client: VastClient, entry: ResourceState, ctx: ApplyContext) -> str:
        try:
            await api.delete_volume(client, entry.id)
        except ApiError as exc:
            if exc.status != 404:
                raise
            return "already gone"
        return "destroyed"
