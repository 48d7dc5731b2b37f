"""Plan-time placement: the machine each new instance and volume goes on.

Order matters, because GPUs are shared: first the instances that must go on an existing volume's
machine, then each new volume together with the instances that mount it, then every other instance.
So an unconstrained worker never takes the GPUs a volume's instance needs. Within that, instances
with the same offer query are placed as one group: the best-ranked machines by the stack's
``order`` are filled while they have room (several instances may share a machine), and the search
is widened only while more machines are needed, so a fleet of any ``count`` costs a few searches.
A new volume costs one volume search, one GPU search per distinct instance query (limited to the
volume offers' machines) and one capacity search: they are joined by ``machine_id`` locally.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from vastplan.api.offers import DEFAULT_FILTERS, FIELDS
from vastplan.diagnostics import Diagnostic
from vastplan.errors import StackError
from vastplan.kinds.placement import (
    BUNDLES_PER_MACHINE,
    SEARCH_LIMIT,
    WIDEN,
    MachineLedger,
    Placement,
    Searcher,
    instance_disk,
    instance_search,
    storage_dph,
    volume_search,
)
from vastplan.stack.model import ResourceSpec

MAX_BLAME_SEARCHES = 10
STACK_NAMES = {api: name for name, (api, _, _) in FIELDS.items()}
NOT_FILTERS = frozenset({"allocated_storage"})


@dataclass
class Group:
    """Instances with one offer query: placed together, best machines first."""

    specs: list[ResourceSpec]
    query: dict[str, Any]
    order: list[list[str]]
    offer_type: str


def groups_of(specs: Sequence[ResourceSpec], machines: Mapping[str, int | None]) -> list[Group]:
    """``specs`` grouped by query (in declaration order); ``machines`` pins some to a machine."""
    found: dict[str, Group] = {}
    for spec in specs:
        query, order, offer_type = instance_search(spec, machines.get(spec.address))
        key = json.dumps([query, order, offer_type], sort_keys=True)
        found.setdefault(key, Group([], query, order, offer_type)).specs.append(spec)
    return list(found.values())


class Placer:
    def __init__(self, searcher: Searcher, ledger: MachineLedger):
        self.searcher, self.ledger = searcher, ledger

    async def place_group(self, group: Group) -> dict[str, Placement]:
        """Fill the best-ranked machines with room; widen the search while instances are left."""
        placed: dict[str, Placement] = {}
        remaining = list(group.specs)
        limit = SEARCH_LIMIT
        while True:
            offers = await self.searcher.gpu_offers(group.query, group.order, group.offer_type, limit)
            await self.searcher.learn_capacity(self.ledger, offers)
            for offer in best_per_machine(offers):
                machine, gpus = int(offer["machine_id"]), int(offer.get("num_gpus") or 1)
                while remaining and self.ledger.room(machine, gpus, instance_disk(remaining[0])):
                    spec = remaining.pop(0)
                    self.ledger.claim(machine, gpus, instance_disk(spec))
                    placed[spec.address] = Placement(offer, group.query, group.order, group.offer_type)
                if not remaining:
                    return placed
            if len(offers) < limit:
                raise await self.unplaceable(group, remaining, offers)
            limit *= WIDEN

    async def place_volume(self, volume: ResourceSpec, mounts: Sequence[ResourceSpec]) -> dict[str, Placement]:
        """A new volume and its instances: the machine where all of them fit for the least per hour."""
        size = float(volume.config["size_gb"])
        volume_offers = await self.searcher.volume_offers(volume)
        if not volume_offers:
            raise await self.volume_blamed(volume)
        self.ledger.learn_disk(volume_offers)
        machines = sorted({int(o["machine_id"]) for o in volume_offers})
        groups = groups_of(mounts, {})
        per_group: list[dict[int, Mapping[str, Any]]] = []
        for group in groups:
            query = among(group.query, machines)
            offers = await self.searcher.gpu_offers(query, group.order, group.offer_type,
                                                    BUNDLES_PER_MACHINE * len(machines))
            if not offers:
                raise await self.blamed(Group(group.specs, query, group.order, group.offer_type),
                                        "no GPU offer matches the filters right now")
            per_group.append({int(o["machine_id"]): o for o in reversed(offers)})  # best one per machine wins
        await self.searcher.learn_capacity(self.ledger, [o for offers in per_group for o in offers.values()])
        best = self._cheapest_machine(volume, size, volume_offers, groups, per_group)
        if best is None:
            names = ", ".join(m.address for m in mounts)
            raise StackError([Diagnostic(f"no machine has room for this volume and free GPUs for {names}, which "
                                         "must run on the volume's machine", range=volume.range,
                                         address=volume.address)])
        return self._claim_volume(volume, size, best, groups, per_group)

    def _cheapest_machine(self, volume: ResourceSpec, size: float, volume_offers: Sequence[Mapping[str, Any]],
                          groups: Sequence[Group], per_group: Sequence[Mapping[int, Mapping[str, Any]]],
                          ) -> Mapping[str, Any] | None:
        best: tuple[float, Mapping[str, Any]] | None = None
        for offer in volume_offers:
            machine = int(offer["machine_id"])
            if any(machine not in offers for offers in per_group):
                continue
            chosen = [(offers[machine], len(g.specs)) for g, offers in zip(groups, per_group, strict=True)]
            gpus = sum(int(o.get("num_gpus") or 1) * n for o, n in chosen)
            disk = size + sum(instance_disk(s) for g in groups for s in g.specs)
            if not self.ledger.room(machine, gpus, disk):
                continue
            total = storage_dph(offer.get("storage_cost") or 0, size) + sum(
                float(o.get("dph_total") or 0) * n for o, n in chosen)
            if best is None or total < best[0]:
                best = (total, offer)
        return best[1] if best else None

    def _claim_volume(self, volume: ResourceSpec, size: float, offer: Mapping[str, Any], groups: Sequence[Group],
                      per_group: Sequence[Mapping[int, Mapping[str, Any]]]) -> dict[str, Placement]:
        machine = int(offer["machine_id"])
        self.ledger.claim(machine, 0, size)
        placed = {volume.address: Placement(offer, {"machine_id": {"eq": machine}}, [["storage_cost", "asc"]])}
        for group, offers in zip(groups, per_group, strict=True):
            chosen = offers[machine]
            for spec in group.specs:
                query, order, offer_type = instance_search(spec, machine)  # a fallback stays on the machine
                self.ledger.claim(machine, int(chosen.get("num_gpus") or 1), instance_disk(spec))
                placed[spec.address] = Placement(chosen, query, order, offer_type)
        return placed

    async def unplaceable(self, group: Group, remaining: Sequence[ResourceSpec],
                          offers: Sequence[Mapping[str, Any]]) -> StackError:
        if not offers:
            return await self.blamed(Group(list(remaining), group.query, group.order, group.offer_type),
                                     "no GPU offer matches the filters right now")
        machines = {int(o["machine_id"]) for o in offers}
        free = sum(max(0, self.ledger.gpus_left(m)) for m in machines)
        placed = len(group.specs) - len(remaining)
        spec = remaining[0]
        return StackError([Diagnostic(
            f"only {placed} of the {len(group.specs)} instances with this offer block fit: the "
            f"{len(machines)} machines matching the filters have no room left ({free} free GPUs, disk "
            "included); loosen the offer block, lower count, or try again later",
            range=spec.range, address=spec.address)])

    async def blamed(self, group: Group, what: str) -> StackError:
        """``what``, naming the filter that empties the search: the first one without which some
        offer matches (searching again once per filter, at most MAX_BLAME_SEARCHES times)."""
        spec = group.specs[0]
        culprit = None
        for name in blame_order(group.query)[:MAX_BLAME_SEARCHES]:
            loosened = {k: v for k, v in group.query.items() if k != name}
            if await self.searcher.gpu_offers(loosened, group.order, group.offer_type, 1):
                culprit = name
                break
        if culprit is None:
            hint = "no single filter is to blame: loosen several, or try again later"
        else:
            hint = f"{describe_filter(culprit, group.query[culprit])} leaves none (without it, some match); " \
                   "loosen it or try again later"
        return StackError([Diagnostic(f"{what}: {hint}", range=spec.range, address=spec.address)])


    async def volume_blamed(self, volume: ResourceSpec) -> StackError:
        query, _ = volume_search(volume)
        culprit = None
        for name in list(query)[:MAX_BLAME_SEARCHES]:
            if await self.searcher.volume_offers(volume, without=name):
                culprit = name
                break
        if culprit is None:
            hint = "no single filter is to blame: loosen several, or try again later"
        elif culprit == "disk_space":
            hint = f"no machine has {volume.config['size_gb']} GB of disk free; a smaller size_gb fits"
        else:
            hint = f"{describe_filter(culprit, query[culprit])} leaves none (without it, some match); " \
                   "loosen it or try again later"
        return StackError([Diagnostic(f"no volume offer matches the filters right now: {hint}",
                                      range=volume.range, address=volume.address)])


def among(query: Mapping[str, Any], machines: Sequence[int]) -> dict[str, Any]:
    """``query`` limited to ``machines``, keeping any machine_id filter of the stack's own (offer.raw)."""
    own = dict(query.get("machine_id") or {})
    if isinstance(own.get("in"), list):
        machines = [m for m in machines if m in {int(x) for x in own["in"]}]
    return {**query, "machine_id": {**own, "in": list(machines)}}


def best_per_machine(offers: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The best-ranked offer of each machine, in rank order."""
    seen: set[int] = set()
    kept = []
    for offer in offers:
        machine = int(offer["machine_id"])
        if machine not in seen:
            seen.add(machine)
            kept.append(offer)
    return kept


def blame_order(query: Mapping[str, Any]) -> list[str]:
    """The stack's own filters first, then vastplan's defaults."""
    names = [k for k in query if k not in NOT_FILTERS]
    return [k for k in names if k not in DEFAULT_FILTERS] + [k for k in names if k in DEFAULT_FILTERS]


def describe_filter(name: str, condition: Any) -> str:
    if name == "machine_id":
        if isinstance(condition, Mapping) and "eq" in condition:
            return f"running on machine {condition['eq']}, where its volume is,"
        return "running on a machine that offers its volume"
    if name == "cluster_id" and isinstance(condition, Mapping) and "eq" in condition:
        return f"running in cluster {condition['eq']}, where its network volume is,"
    if name == "min_bid":
        return f"interruptible.bid_dph ({spell(condition)})"
    if name in DEFAULT_FILTERS:
        return f"the default filter {name} ({spell(condition)}; offer.raw can change it)"
    return f"offer.{STACK_NAMES.get(name, name)} ({spell(condition)})"


def spell(condition: Any) -> str:
    """``{"in": ["US", "CA"]}`` -> ``in [US, CA]``."""
    if not isinstance(condition, Mapping):
        return str(condition)
    return ", ".join(f"{op} [{', '.join(map(str, v))}]" if isinstance(v, list) else f"{op} {v}"
                     for op, v in condition.items())
