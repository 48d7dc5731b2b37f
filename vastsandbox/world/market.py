"""The marketplace: which GPUs and disk of each machine are free, and the offers derived from them.

Like Vast.ai, a machine's free GPUs are offered as bundles: every power of two up to the number
free, plus all of them (8 free -> 1, 2, 4, 8; 6 free -> 1, 2, 4, 6). An offer id names a machine,
a bundle size and the machine's *generation*, which moves on whenever the machine's GPUs are
taken or given back: so an id rents once, the remaining GPUs are offered again under new ids,
and ids stay the same between two searches while nothing happened on the machine.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from vastsandbox.world import JSON
from vastsandbox.world.machines import Machine, cluster_ids, make_machines
from vastsandbox.world.query import matches, sort_records

# Offer fields that are the same for every bundle of a machine: a filter on them that fails for
# one bundle fails for all, so search can skip the rest of the machine.
MACHINE_FIELDS = frozenset({
    "gpu_name", "gpu_ram", "compute_cap", "cuda_max_good", "driver_version", "verification", "verified",
    "rentable", "external", "geolocation", "datacenter", "reliability", "reliability2", "machine_id",
    "host_id", "static_ip", "inet_up", "inet_down", "storage_cost", "cpu_arch", "gpu_arch", "has_avx",
    "pci_gen", "disk_bw", "hosting_type", "cluster_id", "duration",
})
OFFER_BASE = 4_000_000
MACHINE_SLOTS = 1 << 17  # more than the largest market (--machines 100000)
VOLUME_OFFER_BASE = 6_000_000
HOURS_PER_MONTH = 30 * 24


def bundle_sizes(free: int) -> list[int]:
    sizes = [size for size in (1, 2, 4, 8) if size <= free]
    if free > 0 and free not in sizes:
        sizes.append(free)
    return sizes


def driver_number(version: str) -> int:
    major, minor, patch = (version.split(".") + ["0", "0"])[:3]
    return int(major.zfill(3) + minor.zfill(3) + patch.zfill(3))


class Market:
    """Machines plus their occupancy. Occupancy is rebuilt from the world, never persisted twice."""

    def __init__(self, seed: int, count: int) -> None:
        self.machines = make_machines(seed, count)
        self.by_id = {m.machine_id: m for m in self.machines}
        self.cluster_of = cluster_ids(self.machines)  # machine id -> cluster_id (network volumes mount there)
        self.slots: dict[int, dict[int, str]] = {}   # machine -> GPU slot -> holder
        self.disk_used: dict[int, float] = {}
        # machine id (as text, so it persists as JSON) -> generation; see bind_generations.
        self.generations: dict[str, int] = {}
        # Offer objects keyed by (machine index, size, storage, kind); only the fields that
        # move with occupancy or time are refreshed per search (see _fresh).
        self._cache: dict[tuple[int, int, float, str], dict[str, JSON]] = {}
        for machine in self.machines:
            self.slots[machine.machine_id] = {i: "others" for i in range(machine.pre_rented)}

    # ---- occupancy ---------------------------------------------------------------------------
    def free_slots(self, machine: Machine) -> list[int]:
        held = self.slots[machine.machine_id]
        return [i for i in range(machine.num_gpus) if i not in held]

    def free_disk(self, machine: Machine) -> float:
        return max(0.0, machine.disk_space - self.disk_used.get(machine.machine_id, 0.0))

    def hold(self, machine_id: int, slots: list[int], holder: str) -> None:
        for slot in slots:
            self.slots[machine_id][slot] = holder
        self._next_generation(machine_id, bool(slots))

    def release(self, machine_id: int, slots: list[int]) -> None:
        held = self.slots.get(machine_id, {})
        for slot in slots:
            held.pop(slot, None)
        self._next_generation(machine_id, bool(slots))

    def bind_generations(self, generations: dict[str, int]) -> None:
        """Keep generations in ``generations`` (the world's, so that they survive a restart: an id
        rented before a restart must not become rentable again after it)."""
        self.generations = generations

    def generation(self, machine_id: int) -> int:
        return self.generations.get(str(machine_id), 0)

    def _next_generation(self, machine_id: int, moved: bool) -> None:
        if moved:
            self.generations[str(machine_id)] = self.generation(machine_id) + 1

    def use_disk(self, machine_id: int, gb: float) -> None:
        self.disk_used[machine_id] = max(0.0, self.disk_used.get(machine_id, 0.0) + gb)

    def take(self, machine: Machine, count: int, holder: str) -> list[int]:
        """Hold ``count`` free GPUs of ``machine`` (caller checked they are free)."""
        chosen = self.free_slots(machine)[:count]
        self.hold(machine.machine_id, chosen, holder)
        return chosen

    # ---- offers ------------------------------------------------------------------------------
    def offer_id(self, machine: Machine, size: int) -> int:
        generation = self.generation(machine.machine_id)
        return OFFER_BASE + (generation * MACHINE_SLOTS + machine.index) * 16 + size

    def resolve_offer(self, offer_id: int, *, stale: bool = False) -> tuple[Machine, int] | None:
        """The machine and bundle size an offer id names while the id is current (else None: rented
        already, or the machine's GPUs changed hands since). ``stale``: any id ever issued."""
        rest, size = divmod(offer_id - OFFER_BASE, 16)
        generation, index = divmod(rest, MACHINE_SLOTS)
        if offer_id < OFFER_BASE or not 0 <= index < len(self.machines) or not 1 <= size <= 8:
            return None
        machine = self.machines[index]
        current = self.generation(machine.machine_id)
        if size > machine.num_gpus or generation > current or (generation < current and not stale):
            return None
        return machine, size

    def available(self, machine: Machine, size: int) -> bool:
        return machine.rentable and size in bundle_sizes(len(self.free_slots(machine)))

    def offers(self, now: float, storage: float, kind: str,
               machines: Iterable[Machine] | None = None) -> Iterator[dict[str, JSON]]:
        """Every current offer (of ``machines``, default all). The dicts are shared: copy one before
        handing it out."""
        if len(self._cache) > 500_000:
            self._cache.clear()
        for machine in self.machines if machines is None else machines:
            free = self.free_slots(machine)
            for size in bundle_sizes(len(free)):
                key = (machine.index, size, storage, kind)
                offer = self._cache.get(key)
                if offer is None:
                    offer = self._cache[key] = self.offer(machine, size, now, storage, kind)
                self._fresh(offer, machine, free[:size], now)
                yield offer

    def _fresh(self, offer: dict[str, JSON], machine: Machine, slots: list[int], now: float) -> None:
        free_disk = round(self.free_disk(machine), 1)
        offer["id"] = offer["ask_contract_id"] = offer["bundle_id"] = self.offer_id(machine, len(slots))
        offer["gpu_ids"] = slots
        offer["disk_space"] = free_disk
        offer["avail_vol_size"] = free_disk
        offer["end_date"] = now + machine.duration_days * 86400

    def search(self, filters: dict[str, dict[str, JSON]], order: list[tuple[str, bool]],
               limit: int | None, now: float, storage: float, kind: str) -> list[dict[str, JSON]]:
        per_machine = {k: v for k, v in filters.items() if k in MACHINE_FIELDS}
        found: list[dict[str, JSON]] = []
        skip_machine = -1
        for offer in self.offers(now, storage, kind, self._named_machines(filters.get("machine_id"))):
            machine_id = int(offer["machine_id"])
            if machine_id == skip_machine:
                continue
            if per_machine and not matches(offer, per_machine):
                skip_machine = machine_id
                continue
            if matches(offer, filters):
                found.append(dict(offer))
        ranked = [dict(o) for o in sort_records(found, order or [("score", True)])]
        return ranked[:limit] if limit else ranked

    def _named_machines(self, terms: dict[str, JSON] | None) -> list[Machine] | None:
        """The machines a ``machine_id`` eq/in filter names, so a search of one machine costs the same
        in any market (apply searches each shared machine again after every rent); None: all."""
        if not terms or not ({"eq", "in"} & terms.keys()):
            return None
        wanted = [terms["eq"]] if "eq" in terms else terms["in"]
        if not isinstance(wanted, list):
            return None
        ids = {int(w) for w in wanted if isinstance(w, (int, float)) and not isinstance(w, bool)}
        if len(ids) != len(wanted):
            return None  # a value matches() will judge (text, null): no shortcut
        return sorted((self.by_id[i] for i in ids if i in self.by_id), key=lambda m: m.index)

    def prices(self, machine: Machine, size: int, storage: float) -> dict[str, float]:
        """On-demand and bid prices of a bundle with ``storage`` GB allocated."""
        base = round(machine.gpu_price * size, 4)
        storage_hour = machine.storage_cost * storage / HOURS_PER_MONTH
        min_bid = round(base * machine.bid_floor, 4)
        return {"dph_base": base, "storage_hour": storage_hour, "min_bid": min_bid,
                "dph_total": round(base + storage_hour, 6)}

    def offer(self, machine: Machine, size: int, now: float, storage: float, kind: str) -> dict[str, JSON]:
        """One offer object with every field of vast-api.md section 5."""
        gpu, frac = machine.gpu, size / machine.num_gpus
        price = self.prices(machine, size, storage)
        bid = kind in ("bid", "interruptible")
        dph_total = round(price["min_bid"] + price["storage_hour"], 6) if bid else price["dph_total"]
        dlperf = round(gpu.dlperf * size * (0.92 if size > 1 else 1.0), 3)
        total_flops = round(gpu.tflops * size, 2)
        search = {"gpuCostPerHour": price["min_bid"] if bid else price["dph_base"],
                  "diskHour": round(price["storage_hour"], 6), "totalHour": dph_total,
                  "discountTotalHour": 0.0, "discountedTotalPerHour": dph_total}
        offer_id = self.offer_id(machine, size)
        return {
            "id": offer_id, "ask_contract_id": offer_id, "bundle_id": offer_id, "bundled_results": 0,
            "machine_id": machine.machine_id, "host_id": machine.host_id,
            "num_gpus": size, "gpu_name": gpu.name, "gpu_ram": gpu.vram_mb, "gpu_total_ram": gpu.vram_mb * size,
            "gpu_frac": round(frac, 4), "gpu_arch": "nvidia", "gpu_lanes": 16, "gpu_mem_bw": gpu.mem_bw,
            "gpu_max_power": float(gpu.max_power), "gpu_max_temp": 83.0, "gpu_display_active": False,
            "gpu_ids": self.free_slots(machine)[:size], "compute_cap": gpu.compute_cap,
            "cuda_max_good": machine.cuda_max_good, "driver_version": machine.driver_version,
            "driver_vers": driver_number(machine.driver_version),
            "bw_nvlink": 600.0 if "SXM" in gpu.name else 0.0,
            "cpu_name": machine.cpu_name, "cpu_cores": machine.cpu_cores,
            "cpu_cores_effective": round(machine.cpu_cores * frac, 1), "cpu_ghz": machine.cpu_ghz,
            "cpu_ram": int(machine.cpu_ram * frac), "cpu_arch": "amd64", "mobo_name": machine.mobo_name,
            "os_version": "22.04", "ubuntu_version": "22.04", "pci_gen": machine.pci_gen,
            "pcie_bw": machine.pcie_bw, "has_avx": 1,
            "disk_space": round(self.free_disk(machine), 1), "disk_bw": machine.disk_bw,
            "disk_name": machine.disk_name, "inet_up": machine.inet_up, "inet_down": machine.inet_down,
            "inet_up_cost": machine.inet_up_cost, "inet_down_cost": machine.inet_down_cost,
            "direct_port_count": max(1, int(machine.direct_port_count * frac)),
            "public_ipaddr": "127.0.0.1", "static_ip": machine.static_ip,
            "dph_base": price["dph_base"], "dph_total": dph_total, "min_bid": price["min_bid"],
            "storage_cost": machine.storage_cost, "storage_total_cost": round(price["storage_hour"], 6),
            "vram_costperhour": round(price["dph_base"] / (gpu.vram_mb * size / 1024), 6),
            "credit_discount_max": 0.0, "discounted_dph_total": round(dph_total * 0.75, 6)
            if kind == "reserved" else dph_total, "discount_rate": 0.25 if kind == "reserved" else 0.0,
            "search": search, "instance": dict(search), "platform_fee": 0.0,
            "dlperf": dlperf, "dlperf_per_dphtotal": round(dlperf / dph_total, 3) if dph_total else 0.0,
            "total_flops": total_flops,
            "flops_per_dphtotal": round(total_flops / dph_total, 3) if dph_total else 0.0,
            "score": round(dlperf / dph_total * machine.reliability, 4) if dph_total else 0.0,
            "rentable": machine.rentable, "rented": False, "is_bid": bid, "external": machine.external,
            "hosting_type": 1 if machine.datacenter else 0, "datacenter": machine.datacenter,
            "verification": machine.verification, "verified": machine.verification == "verified",
            "vericode": 0 if machine.verification == "verified" else 1,
            "reliability": machine.reliability, "reliability2": machine.reliability,
            "reliability_mult": round(machine.reliability ** 2, 4),
            "expected_reliability": machine.reliability, "vms_enabled": False, "is_vm_deverified": False,
            "resource_type": "gpu", "geolocation": machine.geolocation, "geolocode": machine.geolocode,
            "start_date": machine.listed_at, "end_date": now + machine.duration_days * 86400,
            "duration": machine.duration_days * 86400, "cluster_id": self.cluster_of.get(machine.machine_id),
            "avail_vol_ask_id": VOLUME_OFFER_BASE + machine.index,
            "avail_vol_dph": round(machine.storage_cost / HOURS_PER_MONTH, 8),
            "avail_vol_size": round(self.free_disk(machine), 1),
            "nw_disk_min_bw": None, "nw_disk_avg_bw": None, "nw_disk_max_bw": None,
        }

    # ---- volume offers -----------------------------------------------------------------------
    def resolve_volume_offer(self, offer_id: int) -> Machine | None:
        index = offer_id - VOLUME_OFFER_BASE
        return self.machines[index] if 0 <= index < len(self.machines) else None

    def volume_offer(self, machine: Machine, now: float, storage: float) -> dict[str, JSON]:
        offer_id = VOLUME_OFFER_BASE + machine.index
        hourly = machine.storage_cost * storage / HOURS_PER_MONTH
        return {
            "id": offer_id, "ask_contract_id": offer_id, "bundle_id": offer_id,
            "machine_id": machine.machine_id, "host_id": machine.host_id,
            "disk_space": round(self.free_disk(machine), 1), "disk_bw": machine.disk_bw,
            "disk_name": machine.disk_name, "storage_cost": machine.storage_cost,
            "storage_total_cost": round(hourly, 8), "dph_total": round(hourly, 8),
            "inet_up": machine.inet_up, "inet_down": machine.inet_down,
            "reliability": machine.reliability, "reliability2": machine.reliability,
            "geolocation": machine.geolocation, "verification": machine.verification,
            "verified": machine.verification == "verified", "external": machine.external,
            "static_ip": machine.static_ip, "cpu_arch": "amd64", "gpu_arch": "nvidia",
            "cuda_max_good": machine.cuda_max_good, "cuda_vers": machine.cuda_max_good,
            "driver_version": machine.driver_version, "datacenter": machine.datacenter,
            "pci_gen": machine.pci_gen, "pcie_bw": machine.pcie_bw, "has_avx": 1,
            "total_flops": round(machine.gpu.tflops * machine.num_gpus, 2), "ubuntu_version": "22.04",
            "duration": machine.duration_days * 86400, "start_date": machine.listed_at,
            "end_date": now + machine.duration_days * 86400, "cluster_id": None,
            "nw_disk_min_bw": None, "nw_disk_avg_bw": None, "nw_disk_max_bw": None,
            "score": round(machine.reliability * 100 / machine.storage_cost, 3),
        }

    def volume_offers(self, filters: dict[str, dict[str, JSON]], order: list[tuple[str, bool]],
                      limit: int | None, now: float, storage: float) -> list[dict[str, JSON]]:
        found = [o for m in self.machines if m.rentable and self.free_disk(m) >= 1
                 for o in [self.volume_offer(m, now, storage)] if matches(o, filters)]
        ranked = [dict(o) for o in sort_records(found, order or [("score", True)])]
        return ranked[:limit] if limit else ranked
