"""Seeded generation of the marketplace's machines.

Machine ``i`` is drawn from its own generator seeded by ``(seed, i)``, so growing ``--machines``
adds machines without changing the existing ones, and the same seed always gives the same market.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from vastsandbox.world.catalog import CPUS, DRIVERS, GPU_MODELS, LOCATIONS, MOBOS, GpuModel

MACHINE_ID_BASE = 11000
HOST_ID_BASE = 52000
# How many GPUs machines have (weights): most hosts list 4- or 8-GPU boxes.
GPU_COUNTS = ((1, 4), (2, 6), (3, 3), (4, 17), (5, 3), (6, 6), (7, 4), (8, 57))
LISTED_AT = 1735689600.0  # 2025-01-01: when the seeded hosts listed their machines


@dataclass(frozen=True)
class Machine:
    """A host's machine: fixed hardware, location and prices."""

    index: int
    machine_id: int
    host_id: int
    gpu: GpuModel
    num_gpus: int
    gpu_price: float        # $/h per GPU, on demand
    bid_floor: float        # min bid as a fraction of the on-demand price
    storage_cost: float     # $/GB/month
    disk_space: float       # GB on the machine
    disk_bw: float
    disk_name: str
    geolocation: str
    geolocode: int
    verification: str
    datacenter: bool
    rentable: bool
    external: bool
    static_ip: bool
    reliability: float
    cpu_name: str
    cpu_cores: int
    cpu_ram: int            # MB
    cpu_ghz: float
    mobo_name: str
    pci_gen: float
    pcie_bw: float
    inet_up: float
    inet_down: float
    inet_up_cost: float
    inet_down_cost: float
    driver_version: str
    cuda_max_good: float
    direct_port_count: int
    direct_port_start: int
    duration_days: float
    listed_at: float
    pre_rented: int         # GPUs already rented by other tenants when the world starts

    @property
    def country(self) -> str:
        return self.geolocation.rsplit(",", 1)[-1].strip()


def _weighted(rng: random.Random, items: list[tuple[object, int]]) -> object:
    return rng.choices([item for item, _ in items], weights=[w for _, w in items], k=1)[0]


def make_machine(seed: int, index: int) -> Machine:
    """Machine number ``index`` of the market seeded with ``seed``."""
    rng = random.Random(f"vastplan-sandbox/{seed}/{index}")
    gpu = GPU_MODELS[index % len(GPU_MODELS)] if index < len(GPU_MODELS) else \
        rng.choices(GPU_MODELS, weights=[m.weight for m in GPU_MODELS], k=1)[0]
    num_gpus = int(str(_weighted(rng, [(c, w) for c, w in GPU_COUNTS])))
    datacenter = gpu.datacenter if rng.random() < 0.85 else not gpu.datacenter
    state, country, _ = rng.choices(LOCATIONS, weights=[w for _, _, w in LOCATIONS], k=1)[0]
    cpu_name, cores = rng.choice(CPUS)
    driver, cuda = rng.choice(DRIVERS)
    verified = rng.random() < 0.8
    reliability = round(rng.uniform(0.985, 0.9995) if verified else rng.uniform(0.90, 0.995), 4)
    up = round(rng.choice([100.0, 250.0, 500.0, 800.0, 1000.0, 2500.0, 5000.0]) * rng.uniform(0.8, 1.1), 1)
    return Machine(
        index=index, machine_id=MACHINE_ID_BASE + index, host_id=HOST_ID_BASE + index // 2 * 7,
        gpu=gpu, num_gpus=num_gpus,
        gpu_price=round(gpu.price * rng.uniform(0.8, 1.35), 3),
        bid_floor=round(rng.uniform(0.35, 0.6), 3),
        storage_cost=round(rng.choice([0.1, 0.12, 0.15, 0.2, 0.25]), 3),
        disk_space=float(rng.choice([500, 1000, 1800, 2000, 3500, 4000]) * max(1, num_gpus // 4)),
        disk_bw=round(rng.uniform(1500.0, 7000.0), 1),
        disk_name=rng.choice(["Samsung SSD 990 PRO 2TB", "WD_BLACK SN850X", "KIOXIA KCD8XPUG3T84",
                              "Micron 7450 MTFDKCC3T8TFR"]),
        geolocation=f"{state}, {country}", geolocode=rng.randrange(100000, 999999),
        verification="verified" if verified else "unverified", datacenter=datacenter,
        rentable=rng.random() < 0.95, external=rng.random() < 0.05, static_ip=rng.random() < 0.7,
        reliability=reliability, cpu_name=cpu_name, cpu_cores=cores,
        cpu_ram=int(rng.choice([64, 128, 256, 512, 1024]) * 1024 * max(1, num_gpus // 4)),
        cpu_ghz=round(rng.uniform(2.0, 5.0), 1), mobo_name=rng.choice(MOBOS),
        pci_gen=float(rng.choice([3, 4, 4, 5])), pcie_bw=round(rng.uniform(10.0, 52.0), 1),
        inet_up=up, inet_down=round(up * rng.uniform(0.9, 1.6), 1),
        inet_up_cost=round(rng.choice([0.0, 0.001, 0.002, 0.005]), 4),
        inet_down_cost=round(rng.choice([0.0, 0.001, 0.002, 0.005]), 4),
        driver_version=driver, cuda_max_good=cuda,
        direct_port_count=rng.choice([20, 50, 100, 200, 500]),
        direct_port_start=rng.randrange(10000, 60000, 100),
        duration_days=round(rng.uniform(7.0, 180.0), 2),
        listed_at=LISTED_AT + rng.uniform(0, 300 * 86400),
        pre_rented=rng.choice([0, 0, 0, 0, 1, 2]) if num_gpus > 2 else 0,
    )


def make_machines(seed: int, count: int) -> list[Machine]:
    return [make_machine(seed, i) for i in range(count)]


CLUSTER_ID_BASE = 900  # cluster i of ``clusters`` is cluster_id 900 + i


def clusters(machines: list[Machine]) -> list[tuple[str, list[Machine]]]:
    """The physical clusters of a market, in a fixed order: its verified datacenter machines grouped
    by location. Each has one network disk (``netvolumes``), and its GPU offers carry its
    ``cluster_id``; a network volume mounts only on its cluster's machines."""
    groups: dict[str, list[Machine]] = {}
    for machine in machines:
        if machine.datacenter and machine.verification == "verified":
            groups.setdefault(machine.geolocation, []).append(machine)
    return sorted(groups.items())


def cluster_ids(machines: list[Machine]) -> dict[int, int]:
    """machine_id -> the cluster_id of the cluster it belongs to (machines in none are left out)."""
    return {m.machine_id: CLUSTER_ID_BASE + index
            for index, (_, members) in enumerate(clusters(machines)) for m in members}
