"""Network volumes: storage on a cluster's shared disk, rented by size from a network-volume offer
(the official CLI's ``search network-volumes`` / ``create network-volume``), listed and deleted
with the account's volumes (``show volumes -t network``, ``delete volume``). An instance mounts one
with ``volumes: [{network_volume: NAME, mount: PATH}]`` and must run on a machine of the volume's
cluster, so the instance kind adds ``cluster_id`` to its search. Vast.ai changes nothing of a network
volume in place (no rename, no resize): a new size or offer is a new volume. The volume is deleted
after the instances that mount it, which depend on it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from vastplan.api.client import VastClient
from vastplan.api.errors import expect_dict, expect_rows
from vastplan.api.offers import offer_query, order_clause
from vastplan.api.volumes import list_volumes
from vastplan.diagnostics import Diagnostic
from vastplan.errors import ApiError, StackError
from vastplan.kinds.base import UNKNOWN, ApplyContext, Created, LiveObjects, Planning, ResourceKind, labelled
from vastplan.kinds.ownership import marker
from vastplan.kinds.placement import Placement, Searcher, instance_search, storage_dph
from vastplan.stack.model import ResourceSpec
from vastplan.state.model import ResourceState

SEARCH = "/network_volumes/search/"


def mounted_network_volumes(spec: ResourceSpec) -> list[str]:
    """The network volume addresses an instance spec mounts."""
    return [f"network_volumes.{v['network_volume']}" for v in spec.config.get("volumes") or []
            if "network_volume" in v]


def describe_cluster(row: Mapping[str, Any]) -> str:
    return f"cluster {row.get('cluster_id')}, {row.get('geolocation') or 'unknown location'}"


def network_volume_search(spec: ResourceSpec) -> tuple[dict[str, Any], list[list[str]]]:
    """The query and order a network volume's ``offer:`` block and size mean (the CLI's defaults:
    verified, not external, with room for the size)."""
    block = dict(spec.config.get("offer") or {})
    query = offer_query(block, defaults=False)
    query.setdefault("verified", {"eq": True})
    query.setdefault("external", {"eq": False})
    query["disk_space"] = {"gte": float(spec.config["size_gb"])}
    return query, order_clause(block.get("order") or ["storage_cost"])


async def search_offers(client: VastClient, query: Mapping[str, Any], order: list[list[str]],
                        size_gb: float) -> list[dict[str, Any]]:
    body = {**query, "order": order, "allocated_storage": float(size_gb)}
    return expect_rows(await client.call("POST", SEARCH, body=body), "offers", "the network volume offer search",
                       "POST", SEARCH)


async def list_network_volumes(client: VastClient) -> list[dict[str, Any]]:
    """The account's network volumes (``vastai show volumes -t network``), from the same listing the
    volume kind reads (``type=all_volume``), so that refresh and the orphan scan send one request
    for both kinds (the client joins identical GETs in flight)."""
    return [r for r in await list_volumes(client) if r.get("type") == "network_volume"]


class NetworkVolumeKind(ResourceKind):
    kind: ClassVar[str] = "network_volume"
    collection: ClassVar[str] = "network_volumes"
    schema_definition: ClassVar[str] = "networkVolume"
    noun: ClassVar[str] = "network volume"
    singular: ClassVar[str] = "network volume"
    plural: ClassVar[str] = "network volumes"
    with_article: ClassVar[str] = "a network volume"
    defaults: ClassVar[Mapping[str, Any]] = {"offer": {}}
    recorded_attributes: ClassVar[frozenset[str]] = frozenset(
        {"id", "label", "cluster_id", "geolocation", "storage_cost", "instances", "start_date"})
    charge_types: ClassVar[frozenset[str]] = frozenset({"volume"})  # billed as volumes, ids from one range
    # Vast.ai can neither resize nor rename a network volume, nor move it to another cluster.
    replace_fields: ClassVar[frozenset[str]] = frozenset({"size_gb", "cluster"})

    async def list_live(self, client: VastClient, known: Mapping[str, ResourceState]) -> LiveObjects:
        return {row["id"]: self.from_api(row) for row in await list_network_volumes(client) if "id" in row}

    def from_api(self, row: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "size_gb": int(float(row.get("disk_space") or 0)),
            "cluster": describe_cluster(row),
            "label": row.get("label") or "",
            "cluster_id": row.get("cluster_id"),
            "geolocation": row.get("geolocation"),
            "storage_cost": row.get("storage_cost"),
            "instances": list(row.get("instances") or []),
            "start_date": row.get("start_date"),
        }

    async def list_owned(self, client: VastClient, marker_prefix: str, listed: LiveObjects | None) -> LiveObjects:
        return labelled(listed if listed is not None else await self.list_live(client, {}), marker_prefix)

    # --- planning -----------------------------------------------------------------------------------
    async def prepare(self, client: VastClient, planning: Planning) -> None:
        """Choose an offer for each new network volume: the cheapest whose cluster also has a GPU
        offer for every instance that mounts it (one GPU search per mounting instance)."""
        for spec in (s for s in planning.stack.resources if s.kind == self.kind):
            live = planning.live_object(spec.address)
            if live is None or live["size_gb"] != int(spec.config["size_gb"]) or planning.replacing(spec.address):
                planning.placements[spec.address] = await self._choose(client, planning, spec)

    async def _choose(self, client: VastClient, planning: Planning, spec: ResourceSpec) -> Placement:
        query, order = network_volume_search(spec)
        offers = await search_offers(client, query, order, spec.config["size_gb"])
        if not offers:
            raise _unplaceable(spec, f"no network volume offer has {spec.config['size_gb']} GB free and "
                                     "matches the filters right now; loosen offer: or try again later")
        mounts = [s for s in planning.stack.resources
                  if s.kind == "instance" and spec.address in mounted_network_volumes(s)]
        chosen = await _with_gpus(planning.shared_searcher(client), spec, offers, mounts)
        return Placement(chosen, query, order)

    def desired(self, spec: ResourceSpec, planning: Planning) -> dict[str, Any]:
        live = planning.live_object(spec.address)
        placement = planning.placements.get(spec.address)
        cluster = describe_cluster(placement.offer) if placement else (live or {}).get("cluster", UNKNOWN)
        return {"size_gb": int(spec.config["size_gb"]), "cluster": cluster}

    def warnings(self, spec: ResourceSpec, planning: Planning) -> list[str]:
        if any(spec.address in mounted_network_volumes(other) for other in planning.stack.resources
               if other.kind == "instance"):
            return []
        return [f"no instance of the stack mounts it; it bills ${self.planned_dph(spec, planning):.3f}/hr "
                "for storage all the same"]

    def dph(self, live: Mapping[str, Any]) -> float:
        return storage_dph(live.get("storage_cost") or 0, live.get("size_gb") or 0)

    def planned_dph(self, spec: ResourceSpec, planning: Planning) -> float:
        placement = planning.placements.get(spec.address)
        offer = placement.offer if placement else planning.live_object(spec.address) or {}
        return storage_dph(offer.get("storage_cost") or 0, spec.config["size_gb"])

    # --- apply --------------------------------------------------------------------------------------
    async def create(self, client: VastClient, spec: ResourceSpec, desired: Mapping[str, Any],
                     ctx: ApplyContext) -> Created:
        offer = ctx.planning.placements[spec.address].offer
        ctx.progress(f"renting network volume offer {offer['id']} ({desired['cluster']})")
        label = marker(ctx.stack, spec.address)
        body = {"id": int(offer["id"]), "size": int(desired["size_gb"]), "name": label}
        answer = expect_dict(await client.call("PUT", "/network_volumes/", body=body, idempotent=False),
                             "PUT", "/network_volumes/")
        volume_id = answer.get("volume_id")
        if not isinstance(volume_id, int):
            volume_id = await self._find_id(client, label)
        return Created(volume_id, {**desired, "label": label, "cluster_id": offer.get("cluster_id"),
                                   "geolocation": offer.get("geolocation"),
                                   "storage_cost": offer.get("storage_cost")})

    async def _find_id(self, client: VastClient, label: str) -> int:
        for row in await list_network_volumes(client):
            if row.get("label") == label:
                return int(row["id"])
        raise ApiError(f"the network volume was created but not found by its name {label!r}",
                       method="GET", path="/volumes")

    async def update(self, client: VastClient, entry: ResourceState, desired: Mapping[str, Any],
                     ctx: ApplyContext) -> Mapping[str, Any]:
        raise AssertionError("every network volume field forces a replacement; nothing is updated in place")

    async def delete(self, client: VastClient, entry: ResourceState, ctx: ApplyContext) -> str:
        try:
            await client.call("DELETE", "/volumes/", query={"id": entry.id})
        except ApiError as exc:
            if exc.status != 404:
                raise
            return "already gone"
        return "destroyed"


async def _with_gpus(searcher: Searcher, spec: ResourceSpec, offers: list[dict[str, Any]],
                     mounts: list[ResourceSpec]) -> dict[str, Any]:
    """The cheapest offer (storage plus the mounting instances' cheapest GPUs per hour) whose cluster
    has a GPU offer matching each instance that mounts the volume."""
    clusters = sorted({int(o["cluster_id"]) for o in offers if o.get("cluster_id") is not None})
    cheapest: list[dict[int, float]] = []
    for mount in mounts:
        query, order, offer_type = instance_search(mount)
        query["cluster_id"] = {"in": clusters}
        found: dict[int, float] = {}
        for gpu in await searcher.gpu_offers(query, order, offer_type):
            cluster = gpu.get("cluster_id")
            if cluster is not None:
                found[int(cluster)] = min(found.get(int(cluster), float("inf")), float(gpu.get("dph_total") or 0))
        cheapest.append(found)
    size = float(spec.config["size_gb"])
    best: tuple[float, dict[str, Any]] | None = None
    for offer in offers:
        cluster = offer.get("cluster_id")
        if any(cluster not in found for found in cheapest):
            continue
        total = storage_dph(offer.get("storage_cost") or 0, size) + sum(f[int(str(cluster))] for f in cheapest)
        if best is None or total < best[0]:
            best = (total, offer)
    if best is None:
        names = ", ".join(m.address for m in mounts)
        raise _unplaceable(spec, f"no cluster offering this network volume has a GPU offer matching {names}, "
                                 "which must run in the volume's cluster; loosen the offer blocks or try again later")
    return best[1]


def _unplaceable(spec: ResourceSpec, summary: str) -> StackError:
    return StackError([Diagnostic(summary, range=spec.range, address=spec.address)])
