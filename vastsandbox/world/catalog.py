"""Static facts the seeded marketplace draws from: GPU models, regions, CPUs.

Prices are per GPU per hour and roughly track the Vast.ai market; VRAM is in MB as offers report it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class GpuModel:
    name: str
    vram_mb: int
    compute_cap: int
    price: float          # typical $/h per GPU
    tflops: float         # FP32 TFLOPS per GPU
    mem_bw: float         # GB/s
    max_power: int        # W
    dlperf: float         # per GPU
    weight: int           # relative frequency on the market
    counts: tuple[int, ...]  # GPU counts machines of this model come in
    datacenter: bool      # mostly found in datacenters


GPU_MODELS: tuple[GpuModel, ...] = (
    GpuModel("RTX 3060", 12288, 860, 0.06, 12.7, 360.0, 170, 6.1, 5, (1, 2, 4), False),
    GpuModel("RTX 3090", 24576, 860, 0.20, 35.6, 936.0, 350, 17.5, 10, (1, 2, 4, 8), False),
    GpuModel("RTX 4090", 24564, 890, 0.38, 82.6, 1008.0, 450, 36.0, 12, (1, 2, 4, 8), False),
    GpuModel("RTX 5090", 32607, 1200, 0.62, 104.8, 1792.0, 575, 52.0, 7, (1, 2, 4, 8), False),
    GpuModel("RTX A6000", 49140, 860, 0.45, 38.7, 768.0, 300, 22.0, 6, (1, 2, 4, 8), True),
    GpuModel("RTX 6000Ada", 49140, 890, 0.75, 91.1, 960.0, 300, 40.0, 4, (1, 2, 4, 8), True),
    GpuModel("L40S", 46068, 890, 0.68, 91.6, 864.0, 350, 41.0, 5, (1, 2, 4, 8), True),
    GpuModel("Tesla V100", 16384, 700, 0.16, 15.7, 900.0, 300, 14.0, 4, (1, 2, 4, 8), True),
    GpuModel("A100 PCIE", 40960, 800, 0.80, 19.5, 1555.0, 250, 43.0, 4, (1, 2, 4, 8), True),
    GpuModel("A100 SXM4", 81920, 800, 1.05, 19.5, 2039.0, 400, 50.0, 4, (1, 2, 4, 8), True),
    GpuModel("H100 PCIE", 81559, 900, 1.75, 51.2, 2000.0, 350, 78.0, 3, (1, 2, 4, 8), True),
    GpuModel("H100 SXM", 81559, 900, 2.10, 66.9, 3350.0, 700, 95.0, 4, (1, 2, 4, 8), True),
)

GPU_BY_NAME = {model.name: model for model in GPU_MODELS}

# (state or region, country code, share of hosts)
LOCATIONS: tuple[tuple[str, str, int], ...] = (
    ("California", "US", 10), ("Texas", "US", 7), ("Virginia", "US", 5), ("Oregon", "US", 3),
    ("New York", "US", 3), ("Quebec", "CA", 4), ("Ontario", "CA", 3), ("Bavaria", "DE", 4),
    ("Hesse", "DE", 3), ("North Holland", "NL", 3), ("Ile-de-France", "FR", 2), ("England", "GB", 3),
    ("Stockholm County", "SE", 2), ("Uusimaa", "FI", 1), ("Masovia", "PL", 2), ("Tokyo", "JP", 2),
    ("Taipei", "TW", 2), ("Seoul", "KR", 1), ("Singapore", "SG", 1), ("New South Wales", "AU", 1),
    ("Sao Paulo", "BR", 1), ("Hanoi", "VN", 1), ("Guangdong", "CN", 1),
)

CPUS: tuple[tuple[str, int], ...] = (
    ("AMD EPYC 7543 32-Core Processor", 64), ("AMD EPYC 9354 32-Core Processor", 64),
    ("AMD Ryzen 9 7950X 16-Core Processor", 32), ("Intel Xeon Gold 6338 CPU @ 2.00GHz", 64),
    ("AMD Ryzen Threadripper PRO 5975WX 32-Cores", 64), ("Intel Core i9-13900K", 32),
    ("AMD EPYC 7B13 64-Core Processor", 128),
)

MOBOS = ("ROMED8-2T", "H12SSL-i", "X570 AORUS ELITE", "PRO WS WRX80E-SAGE SE WIFI", "MZ32-AR0-00",
         "Z790 AORUS MASTER", "Supermicro X12DPG-QT6")

DRIVERS: tuple[tuple[str, float], ...] = (
    ("535.183.01", 12.2), ("545.29.06", 12.3), ("550.127.05", 12.4), ("560.35.03", 12.6),
    ("570.86.15", 12.8), ("575.57.08", 12.9),
)
