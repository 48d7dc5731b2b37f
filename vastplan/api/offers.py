"""The offer query language: a stack's ``offer:`` block -> the JSON body Vast.ai's search takes.

A bare number means the natural comparison for the field (``num_gpus: 2`` is eq, ``dph_total: 0.6``
is a cap, ``gpu_ram_gb: 24`` is a floor); an operator mapping (``{gte: 24}``) says it outright;
a list means ``in``. ``raw:`` passes any other API field through untouched.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

OPERATORS = frozenset({"eq", "neq", "gt", "gte", "lt", "lte", "in", "notin"})

# stack field -> (API field, operator a bare value means, multiplier to API units)
FIELDS: Mapping[str, tuple[str, str, float]] = {
    "gpu_name": ("gpu_name", "eq", 1),
    "num_gpus": ("num_gpus", "eq", 1),
    "gpu_ram_gb": ("gpu_ram", "gte", 1000),  # the API counts MB, as the official CLI converts
    "dph_total": ("dph_total", "lte", 1),
    "reliability": ("reliability", "gte", 1),
    "geolocation": ("geolocation", "in", 1),
    "cuda_max_good": ("cuda_max_good", "gte", 1),
    "compute_cap": ("compute_cap", "gte", 1),
    "verified": ("verified", "eq", 1),
    "datacenter": ("datacenter", "eq", 1),
    "disk_space": ("disk_space", "gte", 1),
    "inet_down": ("inet_down", "gte", 1),
    "inet_up": ("inet_up", "gte", 1),
    "direct_port_count": ("direct_port_count", "gte", 1),
    "cpu_ram_gb": ("cpu_ram", "gte", 1000),
    "cpu_cores": ("cpu_cores", "gte", 1),
}

# What the official CLI and SDK send unless told otherwise.
DEFAULT_FILTERS: Mapping[str, dict[str, Any]] = {
    "verified": {"eq": True},
    "external": {"eq": False},
    "rentable": {"eq": True},
    "rented": {"eq": False},
}

ORDER_ALIASES = {"price": "dph_total", "dph": "dph_total"}


def offer_query(block: Mapping[str, Any], *, defaults: bool = True) -> dict[str, Any]:
    """The search body for ``block`` (filters only; ``order``/``type``/``limit`` are added by callers)."""
    query: dict[str, Any] = {k: dict(v) for k, v in DEFAULT_FILTERS.items()} if defaults else {}
    for name, value in block.items():
        if name in ("order", "raw"):
            continue
        api_field, bare_op, multiplier = FIELDS.get(name, (name, "eq", 1))
        query[api_field] = _condition(value, bare_op, multiplier)
    for api_field, condition in (block.get("raw") or {}).items():
        query[api_field] = condition if isinstance(condition, dict) else {"eq": condition}
    return query


def _condition(value: Any, bare_op: str, multiplier: float) -> dict[str, Any]:
    if isinstance(value, Mapping):
        return {op: _scale(v, multiplier) for op, v in value.items()}
    if isinstance(value, (list, tuple)):
        return {"in": [_scale(v, multiplier) for v in value]}
    op = "in" if bare_op == "in" else bare_op
    return {op: [value] if op == "in" else _scale(value, multiplier)}


def _scale(value: Any, multiplier: float) -> Any:
    if multiplier != 1 and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value) * multiplier
    if isinstance(value, list):
        return [_scale(v, multiplier) for v in value]
    return value


def order_clause(order: str | list[str] | None) -> list[list[str]]:
    """``price`` -> ``[["dph_total", "asc"]]``; a leading ``-`` sorts descending."""
    terms = [order] if isinstance(order, str) else list(order or ["price"])
    clause = []
    for term in terms:
        descending = term.startswith("-")
        name = term.lstrip("-+")
        clause.append([ORDER_ALIASES.get(name, name), "desc" if descending else "asc"])
    return clause


# Fields that describe the machine itself; live prices and reliability drift and never force a new rental.
MACHINE_FIELDS = frozenset({"gpu_name", "num_gpus", "gpu_ram", "geolocation", "cuda_max_good", "compute_cap"})


def machine_mismatches(query: Mapping[str, Any], row: Mapping[str, Any]) -> list[str]:
    """The machine fields of ``query`` that ``row`` (an offer or a rented instance) fails."""
    return [f for f, cond in query.items()
            if f in MACHINE_FIELDS and f in row and isinstance(cond, Mapping) and not holds(row[f], cond, f)]


def holds(value: Any, condition: Mapping[str, Any], field: str = "") -> bool:
    """Whether ``value`` satisfies every operator of ``condition`` (``{"gte": 24000}``)."""
    return all(_holds(value, op, target, field) for op, target in condition.items())


def _holds(value: Any, op: str, target: Any, field: str) -> bool:
    if field == "geolocation":
        return _location_holds(str(value or ""), op, target)
    if op in ("in", "notin"):
        inside = value in (target if isinstance(target, list) else [target])
        return inside if op == "in" else not inside
    if value is None:
        return False
    try:
        if op in ("gt", "gte", "lt", "lte"):
            a, b = float(value), float(target)
            return {"gt": a > b, "gte": a >= b, "lt": a < b, "lte": a <= b}[op]
    except (TypeError, ValueError):
        return False
    return bool(value == target) if op == "eq" else bool(value != target) if op == "neq" else True


def _location_holds(location: str, op: str, target: Any) -> bool:
    """``"California, US"`` is in ``["US"]`` and in ``["California"]``."""
    parts = {p.strip().lower() for p in location.split(",")} | {location.strip().lower()}
    targets = {str(t).strip().lower() for t in (target if isinstance(target, list) else [target])}
    inside = bool(parts & targets)
    return not inside if op in ("notin", "neq") else inside
