"""Placement: which marketplace offer each new instance and volume rents, chosen at plan time.

Rules: the cheapest match by the stack's ``order``; never the same offer twice in one plan; an
instance that mounts a volume goes on the volume's machine, so a new volume and the instances
that mount it are placed together on the machine where all of them fit at the lowest total price.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from vastplan.api import instances as instance_api
from vastplan.api import volumes as volume_api
from vastplan.api.client import VastClient
from vastplan.api.offers import offer_query, order_clause
from vastplan.diagnostics import Diagnostic
from vastplan.errors import StackError
from vastplan.stack.model import ResourceSpec

SEARCH_LIMIT = 64


@dataclass(frozen=True)
class Placement:
    """The offer chosen for one address, plus how to find another like it if it is taken."""

    offer: Mapping[str, Any]
    query: Mapping[str, Any]
    order: list[list[str]]
    offer_type: str = "on-demand"
    current: bool = False  # the machine an existing object already lives on: nothing to rent


HOURS_PER_MONTH = 730


def storage_dph(cost_per_gb_month: float, size_gb: float) -> float:
    return float(cost_per_gb_month) * float(size_gb) / HOURS_PER_MONTH


@dataclass
class OfferClaims:
    """Offers already spoken for in this plan or apply, so no two resources rent the same one.
    GPU and volume offers are numbered separately, so a claim is (market, id)."""

    taken: set[tuple[str, int]] = field(default_factory=set)

    def first_free(self, market: str, offers: Sequence[Mapping[str, Any]]) -> Mapping[str, Any] | None:
        return next((o for o in offers if (market, o.get("id")) not in self.taken), None)

    def claim(self, market: str, offer: Mapping[str, Any]) -> None:
        self.taken.add((market, int(offer["id"])))

    def release(self, market: str, offer: Mapping[str, Any]) -> None:
        self.taken.discard((market, int(offer["id"])))


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


class Searcher:
    """Runs marketplace searches for a plan, each distinct query once."""

    def __init__(self, client: VastClient):
        self._client = client
        self._cache: dict[str, list[dict[str, Any]]] = {}

    async def gpu_offers(self, query: Mapping[str, Any], order: list[list[str]],
                         offer_type: str) -> list[dict[str, Any]]:
        key = json.dumps(["gpu", query, order, offer_type], sort_keys=True)
        if key not in self._cache:
            self._cache[key] = await instance_api.search_offers(
                self._client, dict(query), order=order, offer_type=offer_type, limit=SEARCH_LIMIT)
        return self._cache[key]

    async def volume_offers(self, spec: ResourceSpec) -> list[dict[str, Any]]:
        block = dict(spec.config.get("offer") or {})
        query = offer_query(block, defaults=False)
        query.setdefault("verified", {"eq": True})
        query["disk_space"] = {"gte": float(spec.config["size_gb"])}
        order = order_clause(block.get("order") or ["storage_cost"])
        key = json.dumps(["volume", query, order], sort_keys=True)
        if key not in self._cache:
            self._cache[key] = await volume_api.search_volume_offers(self._client, query, order=order)
        return self._cache[key]


def no_offer(spec: ResourceSpec, what: str) -> StackError:
    return StackError([Diagnostic(f"no {what} offer matches the filters right now; loosen the offer block "
                                  "or try again later", range=spec.range, address=spec.address)])


async def place_instances(searcher: Searcher, specs: Sequence[ResourceSpec], claims: OfferClaims,
                          machine_id: int | None = None) -> dict[str, Placement]:
    """Cheapest distinct offers for ``specs`` (optionally all on ``machine_id``); raises when one has none."""
    placed: dict[str, Placement] = {}
    for spec in specs:
        query, order, offer_type = instance_search(spec, machine_id)
        offers = await searcher.gpu_offers(query, order, offer_type)
        chosen = claims.first_free("gpu", offers)
        if chosen is None:
            for done in placed.values():
                claims.release("gpu", done.offer)
            raise no_offer(spec, "GPU")
        claims.claim("gpu", chosen)
        placed[spec.address] = Placement(chosen, query, order, offer_type)
    return placed


async def place_volume_with_instances(searcher: Searcher, volume: ResourceSpec, mounts: Sequence[ResourceSpec],
                                      claims: OfferClaims) -> dict[str, Placement]:
    """A new volume and its instances: the machine where all of them fit for the least per hour."""
    for spec in mounts:
        query, order, offer_type = instance_search(spec)
        if not await searcher.gpu_offers(query, order, offer_type):
            raise no_offer(spec, "GPU")
    volume_offers = await searcher.volume_offers(volume)
    if not volume_offers:
        raise no_offer(volume, "volume")
    best: tuple[float, dict[str, Placement]] | None = None
    for offer in volume_offers:
        if ("volume", offer.get("id")) in claims.taken:
            continue
        machine = int(offer["machine_id"])
        try:
            placed = await place_instances(searcher, mounts, claims, machine_id=machine)
        except StackError:
            continue
        for done in placed.values():
            claims.release("gpu", done.offer)
        total = storage_dph(offer.get("storage_cost") or 0, volume.config["size_gb"]) + sum(
            float(p.offer.get("dph_total") or 0) for p in placed.values())
        if best is None or total < best[0]:
            query = {"machine_id": {"eq": machine}}
            best = (total, {**placed, volume.address: Placement(offer, query, [["storage_cost", "asc"]])})
    if best is None:
        names = ", ".join(m.address for m in mounts)
        raise StackError([Diagnostic(f"no machine offers both this volume and free GPUs matching {names}, "
                                     "which must run on the volume's machine", range=volume.range,
                                     address=volume.address)])
    for address, placement in best[1].items():
        claims.claim("volume" if address == volume.address else "gpu", placement.offer)
    return best[1]
