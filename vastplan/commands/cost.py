"""What a stack has cost and costs now: pure functions over the state, the account's charge rows and
the live objects (no I/O here; ``vastplan.cli.cost`` fetches them).

Per resource: the hours it was billed in the window, what it accrued (the charges for its object,
plus an estimate at its live rate for the time since its last charge row ends), its live rate, and
that rate × 24. A charge is tied to an object by the id in ``metadata`` (``instance_id`` /
``volume_id``; the sandbox and the v1 envelope) or in ``source`` (``instance-123``, as the official
CLI splits it). A charge row that straddles ``since`` counts pro rata by time.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from vastplan.kinds import KINDS
from vastplan.kinds.ownership import parse_marker
from vastplan.state.model import State

HOUR = 3600.0
DAY = 86400.0
# charge ``type`` -> the resource kinds it bills, in registry order (a kind that declares no charge
# type costs nothing; kinds whose objects share one id range may share a type, as "volume" is both
# local and network volumes)
CHARGE_KINDS: Mapping[str, tuple[str, ...]] = {
    charge: tuple(k.kind for k in KINDS.values() if charge in k.charge_types)
    for kind in KINDS.values() for charge in kind.charge_types}
BILLED_KINDS = frozenset(name for names in CHARGE_KINDS.values() for name in names)
_SOURCE_ID = re.compile(r"^(?P<type>[a-z_]+)[-:](?P<id>\d+)$", re.IGNORECASE)


@dataclass(frozen=True)
class ResourceCost:
    address: str
    kind: str
    id: Any
    status: str  # the live object's state ("running", "stopped"), "live", or "gone"
    in_state: bool
    hours: float
    billed: float
    unbilled: float  # estimated at the live rate for the time since the last charge row
    dph: float

    @property
    def accrued(self) -> float:
        return self.billed + self.unbilled

    @property
    def per_day(self) -> float:
        return self.dph * 24.0


@dataclass(frozen=True)
class CostReport:
    stack: str | None
    since: float
    until: float
    resources: tuple[ResourceCost, ...]
    other_charges: float  # the account's charges in the window that belong to no resource of this stack
    notes: tuple[str, ...] = field(default=())

    @property
    def hours(self) -> float:
        return sum(r.hours for r in self.resources)

    @property
    def billed(self) -> float:
        return sum(r.billed for r in self.resources)

    @property
    def unbilled(self) -> float:
        return sum(r.unbilled for r in self.resources)

    @property
    def accrued(self) -> float:
        return sum(r.accrued for r in self.resources)

    @property
    def dph(self) -> float:
        return sum(r.dph for r in self.resources)

    @property
    def per_day(self) -> float:
        return self.dph * 24.0


def charged_objects(row: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Each (kind, object id as text) a charge row may bill (one per kind that declares its type),
    or none for a charge no resource kind makes. The id is in ``metadata.<type>_id`` or ``source``."""
    metadata = row.get("metadata") or {}
    charge = str(row.get("type") or "").lower()
    if charge in CHARGE_KINDS and metadata.get(f"{charge}_id") is not None:
        return [(kind, str(metadata[f"{charge}_id"])) for kind in CHARGE_KINDS[charge]]
    match = _SOURCE_ID.match(str(row.get("source") or ""))
    if match and match["type"].lower() in CHARGE_KINDS:
        return [(kind, match["id"]) for kind in CHARGE_KINDS[match["type"].lower()]]
    return []


def share(row: Mapping[str, Any], since: float, now: float) -> tuple[float, float]:
    """(hours, amount) of a charge row inside ``[since, ...]``; a row still open ends ``now``."""
    start = float(row["start"])
    end = float(row["end"]) if row.get("end") is not None else max(start, now)
    amount = float(row["amount"])
    if end <= since:
        return 0.0, 0.0
    inside = end - max(start, since)
    if start >= since or end <= start:
        return inside / HOUR, amount
    return inside / HOUR, amount * inside / (end - start)


def report_start(rows: Iterable[Mapping[str, Any]], state: State, floor: float, workspace: str = "default") -> float:
    """The default ``--since``: the start of the stack's oldest charged resource, never before ``floor``."""
    known = _known(state)
    starts = [float(r["start"]) for r in rows if _owner(r, known, state.stack, workspace) is not None]
    return max(floor, min(starts)) if starts else floor


def build_report(state: State, rows: Iterable[Mapping[str, Any]], live: Mapping[str, Mapping[Any, Mapping[str, Any]]],
                 dph: Callable[[str, Mapping[str, Any]], float], *, since: float, now: float,
                 workspace: str = "default") -> CostReport:
    """The report of every billable resource in ``state`` (plus charged objects carrying the stack's
    ownership marker that state no longer holds) over ``[since, now]``.

    ``live`` is kind -> id -> live attributes; ``dph(kind, live)`` is that kind's live rate."""
    known = _known(state)
    hours: dict[str, float] = {}
    billed: dict[str, float] = {}
    last_end: dict[str, float] = {}
    gone: dict[str, tuple[str, str]] = {}
    other = 0.0
    for row in rows:
        row_hours, amount = share(row, since, now)
        owner = _owner(row, known, state.stack, workspace)
        if owner is None:
            other += amount
            continue
        key, kind, object_id = owner
        if key not in known.values():
            gone[key] = (kind, object_id)
        hours[key] = hours.get(key, 0.0) + row_hours
        billed[key] = billed.get(key, 0.0) + amount
        end = float(row["end"]) if row.get("end") is not None else now
        last_end[key] = max(last_end.get(key, end), end)
    lines: list[ResourceCost] = []
    notes: list[str] = []
    for (kind, _object_id), address in sorted(known.items(), key=lambda item: item[1]):
        entry = state.resources[address]
        obj = live.get(kind, {}).get(entry.id)
        rate = dph(kind, obj) if obj is not None else 0.0
        gap = max(0.0, now - last_end[address]) if address in last_end else 0.0
        if obj is not None and address not in billed and rate > 0:
            notes.append(f"{address} has no charge rows yet, so its accrued cost shows as $0.")
        lines.append(ResourceCost(
            address=address, kind=kind, id=entry.id, status=_status(obj), in_state=True,
            hours=hours.get(address, 0.0) + (gap / HOUR if obj is not None else 0.0),
            billed=billed.get(address, 0.0), unbilled=rate * gap / HOUR if obj is not None else 0.0, dph=rate))
    for key, (kind, object_id) in sorted(gone.items()):
        lines.append(ResourceCost(address=key.partition("#")[0], kind=kind, id=_as_id(object_id), status="gone",
                                  in_state=False, hours=hours[key], billed=billed[key], unbilled=0.0, dph=0.0))
    if gone:
        notes.append("Resources marked 'gone' are objects of this stack no longer in the state "
                     "(found by the ownership marker in their charges).")
    notes.append("Only resources in the state (or whose charges carry this stack's marker) are counted; "
                 "objects vastplan never recorded are in the account's other charges.")
    return CostReport(stack=state.stack, since=since, until=now, resources=tuple(lines),
                      other_charges=other, notes=tuple(notes))


def _known(state: State) -> dict[tuple[str, str], str]:
    """(kind, id as text) -> address, for every billable resource state holds an id for."""
    return {(entry.kind, str(entry.id)): address for address, entry in state.resources.items()
            if entry.kind in BILLED_KINDS and entry.id is not None and not entry.pending}


def _owner(row: Mapping[str, Any], known: Mapping[tuple[str, str], str],
           stack: str | None, workspace: str) -> tuple[str, str, str] | None:
    """(report key, kind, id) of the stack resource a row bills: its address when state holds the
    object, ``address#id`` when only the row's ownership marker names it, else None."""
    candidates = charged_objects(row)
    if not candidates:
        return None
    for obj in candidates:
        if obj in known:
            return known[obj], obj[0], obj[1]
    obj = candidates[0]
    marked = parse_marker(str((row.get("metadata") or {}).get("label") or ""))
    if stack and marked is not None and (marked.stack, marked.workspace) == (stack, workspace):
        return f"{marked[1]}#{obj[1]}", obj[0], obj[1]
    return None


def _status(live: Mapping[str, Any] | None) -> str:
    if live is None:
        return "gone"
    return str(live.get("state") or "live")


def utc_text(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def _as_id(text: str) -> Any:
    return int(text) if text.isdigit() else text


def to_json(report: CostReport) -> dict[str, Any]:
    """The ``cost --json`` document (see docs/cost.md)."""
    def money(value: float) -> float:
        return round(value, 6)

    return {
        "format_version": "1.0",
        "stack": report.stack,
        "since": utc_text(report.since),
        "until": utc_text(report.until),
        "since_epoch": report.since,
        "until_epoch": report.until,
        "currency": "USD",
        "resources": [{
            "address": r.address, "kind": r.kind, "id": r.id, "status": r.status, "in_state": r.in_state,
            "hours": round(r.hours, 4), "billed": money(r.billed), "unbilled_estimate": money(r.unbilled),
            "accrued": money(r.accrued), "dph": money(r.dph), "projected_per_day": money(r.per_day),
        } for r in report.resources],
        "total": {"hours": round(report.hours, 4), "billed": money(report.billed),
                  "unbilled_estimate": money(report.unbilled), "accrued": money(report.accrued),
                  "dph": money(report.dph), "projected_per_day": money(report.per_day)},
        "other_charges": money(report.other_charges),
        "notes": list(report.notes),
    }
