"""Placement's building blocks: what a chosen placement records, the searches behind it, and the
ledger of machine capacity that keeps a plan (and its apply) from promising one GPU twice.

An offer is a *chunk of a machine*: on Vast.ai an offer id rents once, and the machine's remaining
GPUs are then offered again under new ids. So placement reasons about machines and their free GPUs
and disk (``MachineLedger``), and an offer id only says which machine was chosen and at what price.
The plan-time algorithm is in ``placer``; the apply-time rent in ``instance_ops``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from vastplan.api import instances as instance_api
from vastplan.api import volumes as volume_api
from vastplan.api.client import VastClient
from vastplan.api.offers import offer_query, order_clause
from vastplan.stack.model import ResourceSpec

if TYPE_CHECKING:
    import asyncio

SEARCH_LIMIT = 64  # the first page of a GPU search; widened 4x at a time while more is needed
WIDEN = 4
BUNDLES_PER_MACHINE = 8  # room in a capacity search's limit for each machine's bundles (1, 2, 4, all...)
DEFAULT_DISK_GB = 10.0
HOURS_PER_MONTH = 730


@dataclass(frozen=True)
class Placement:
    """The offer chosen for one address (its machine, price and bundle size), plus how to find
    another like it if that machine is taken."""

    offer: Mapping[str, Any]
    query: Mapping[str, Any]
    order: list[list[str]]
    offer_type: str = "on-demand"
    current: bool = False  # the machine an existing object already lives on: nothing to rent

    @property
    def machine_id(self) -> int | None:
        value = self.offer.get("machine_id")
        return int(value) if value is not None else None

    @property
    def gpus(self) -> int:
        return int(self.offer.get("num_gpus") or 1)


def fallback_query(placement: Placement, gpus: int) -> dict[str, Any]:
    """What another machine than the planned one must match at apply time: the stack's filters,
    the bundle's GPU count, and, where the stack's ``offer:`` leaves them open, the planned
    machine's GPU model and country (Vast.ai filters locations by country code): a plan that showed
    New York must not rent in Seoul. An ``offer:`` that names GPU models or locations allows them."""
    query = {**placement.query, "num_gpus": {"eq": gpus}}
    gpu = placement.offer.get("gpu_name")
    if "gpu_name" not in query and gpu:
        query["gpu_name"] = {"eq": gpu}
    location = str(placement.offer.get("geolocation") or "")
    if "geolocation" not in query and location:
        query["geolocation"] = {"in": [location.rsplit(",", 1)[-1].strip()]}
    return query


def storage_dph(cost_per_gb_month: float, size_gb: float) -> float:
    return float(cost_per_gb_month) * float(size_gb) / HOURS_PER_MONTH


def instance_disk(spec: ResourceSpec) -> float:
    return float(spec.config.get("disk_gb") or DEFAULT_DISK_GB)


def instance_search(spec: ResourceSpec, machine_id: int | None = None) -> tuple[dict[str, Any], list[list[str]], str]:
    """The query, order and offer type an instance's ``offer:`` block means."""
    block = dict(spec.config.get("offer") or {})
    query = offer_query(block)
    if machine_id is not None:
        query["machine_id"] = {"eq": machine_id}
    disk = spec.config.get("disk_gb")
    if disk:
        query["allocated_storage"] = float(disk)
    bid = (spec.config.get("interruptible") or {}).get("bid_dph")
    if bid is not None:
        query["min_bid"] = {"lte": float(bid)}  # an offer whose minimum bid is higher would refuse ours
    offer_type = "bid" if bid is not None else "on-demand"
    return query, order_clause(block.get("order")), offer_type


def volume_search(spec: ResourceSpec) -> tuple[dict[str, Any], list[list[str]]]:
    """The query and order a volume's ``offer:`` block and size mean."""
    block = dict(spec.config.get("offer") or {})
    query = offer_query(block, defaults=False)
    query.setdefault("verified", {"eq": True})
    query["disk_space"] = {"gte": float(spec.config["size_gb"])}
    return query, order_clause(block.get("order") or ["storage_cost"])


def on_machine(query: Mapping[str, Any], machine_id: int, gpus: int) -> dict[str, Any]:
    """``query`` narrowed to one machine and one bundle size: how apply finds a fresh offer id there."""
    return {**query, "machine_id": {"eq": machine_id}, "num_gpus": {"eq": gpus}}


@dataclass
class MachineLedger:
    """What is known of each machine's free GPUs and disk (from searches), and what this plan or
    apply has promised on it but not rented yet. Also the GPU offer ids this apply already used:
    an id rents once, so the next instance for the same machine searches it for a fresh one."""

    free_gpus: dict[int, int] = field(default_factory=dict)
    free_disk: dict[int, float] = field(default_factory=dict)
    planned_gpus: dict[int, int] = field(default_factory=dict)
    planned_disk: dict[int, float] = field(default_factory=dict)
    used_offers: set[int] = field(default_factory=set)
    _locks: dict[int, asyncio.Lock] = field(default_factory=dict)

    def learn(self, offers: Iterable[Mapping[str, Any]]) -> None:
        """A machine has at least the GPUs of its biggest bundle free, and its offers' disk."""
        for offer in offers:
            machine = int(offer["machine_id"])
            self.free_gpus[machine] = max(self.free_gpus.get(machine, 0), int(offer.get("num_gpus") or 0))
            if offer.get("disk_space") is not None:
                self.free_disk[machine] = float(offer["disk_space"])

    def learn_disk(self, volume_offers: Iterable[Mapping[str, Any]]) -> None:
        """A volume offer's disk_space is its machine's free disk."""
        for offer in volume_offers:
            if offer.get("disk_space") is not None:
                self.free_disk[int(offer["machine_id"])] = float(offer["disk_space"])

    def room(self, machine: int, gpus: int, disk: float) -> bool:
        gpus_left = self.free_gpus.get(machine, 0) - self.planned_gpus.get(machine, 0)
        disk_left = self.free_disk.get(machine, float("inf")) - self.planned_disk.get(machine, 0.0)
        return gpus_left >= gpus and disk_left >= disk

    def gpus_left(self, machine: int) -> int:
        return self.free_gpus.get(machine, 0) - self.planned_gpus.get(machine, 0)

    def claim(self, machine: int, gpus: int, disk: float) -> None:
        self.planned_gpus[machine] = self.planned_gpus.get(machine, 0) + gpus
        self.planned_disk[machine] = self.planned_disk.get(machine, 0.0) + disk

    def release(self, machine: int, gpus: int, disk: float) -> None:
        """The promise is off (rented, so searches now show it as taken; or moved elsewhere)."""
        self.planned_gpus[machine] = max(0, self.planned_gpus.get(machine, 0) - gpus)
        self.planned_disk[machine] = max(0.0, self.planned_disk.get(machine, 0.0) - disk)

    def claim_placement(self, address: str, placement: Placement, disk: float) -> None:
        """Re-promise what a saved plan chose (apply of a plan file does not search again)."""
        machine = placement.machine_id
        if placement.current or machine is None:
            return
        self.claim(machine, 0 if address.startswith("volumes.") else placement.gpus, disk)

    def lock(self, machine: int) -> asyncio.Lock:
        """One rent at a time per machine: each takes the id the previous one's rent made fresh."""
        import asyncio

        return self._locks.setdefault(machine, asyncio.Lock())


class Searcher:
    """Runs marketplace searches for a plan, each distinct query once, and counts them."""

    def __init__(self, client: VastClient):
        self._client = client
        self._cache: dict[str, list[dict[str, Any]]] = {}
        self._capacity_known: set[int] = set()

    async def gpu_offers(self, query: Mapping[str, Any], order: list[list[str]], offer_type: str,
                         limit: int | None = SEARCH_LIMIT) -> list[dict[str, Any]]:
        key = json.dumps(["gpu", query, order, offer_type, limit], sort_keys=True)
        if key not in self._cache:
            self._cache[key] = await instance_api.search_offers(
                self._client, dict(query), order=order, offer_type=offer_type, limit=limit)
        return self._cache[key]

    async def volume_offers(self, spec: ResourceSpec, without: str | None = None) -> list[dict[str, Any]]:
        """The volume offers for ``spec`` (``without`` one of its filters: to find the one to blame)."""
        query, order = volume_search(spec)
        query.pop(without or "", None)
        key = json.dumps(["volume", query, order], sort_keys=True)
        if key not in self._cache:
            self._cache[key] = await volume_api.search_volume_offers(self._client, query, order=order)
        return self._cache[key]

    async def learn_capacity(self, ledger: MachineLedger, offers: Iterable[Mapping[str, Any]]) -> None:
        """One search for every bundle of the machines ``offers`` name that the ledger does not know
        yet: a machine's biggest bundle is all of its free GPUs. (A search for ``num_gpus: 1`` shows
        one bundle per machine, which says nothing about how many more fit there.)"""
        offers = list(offers)
        ledger.learn(offers)
        unknown = sorted({int(o["machine_id"]) for o in offers} - set(self._capacity_known))
        if not unknown:
            return
        self._capacity_known.update(unknown)
        bundles = await instance_api.search_offers(
            self._client, {"machine_id": {"in": unknown}}, order=[["num_gpus", "desc"]],
            limit=BUNDLES_PER_MACHINE * len(unknown))
        ledger.learn(bundles)
