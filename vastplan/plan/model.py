"""The change model: one action per resource from a closed set, with before/after for display."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from vastplan.addresses import Address
from vastplan.state.model import SENSITIVE, redact


def is_sensitive(path: str, sensitive: frozenset[str]) -> bool:
    """Whether showing ``path`` would show a sensitive value: it is one, or holds one (``args`` holds
    ``args[1]``), or lies inside one."""
    return any(p == path or p.startswith((path + ".", path + "[")) or path.startswith((p + ".", p + "["))
               for p in sensitive)


class Action(enum.Enum):
    """What happens to one resource. The values are the symbols the plan prints."""

    NOOP = " "
    CREATE = "+"
    UPDATE = "~"
    REPLACE = "-/+"
    DELETE = "-"
    FORGET = "x"  # the object is already gone; only the state entry is dropped
    EXPIRE = "-!"  # past its ttl: destroyed, and not rented again while the ttl stays the same

    @property
    def verb(self) -> str:
        return _VERBS[self]

    @property
    def symbol(self) -> str:
        return "-" if self is Action.EXPIRE else self.value


_VERBS = {
    Action.NOOP: "no change",
    Action.CREATE: "will be created",
    Action.UPDATE: "will be updated in place",
    Action.REPLACE: "must be replaced",
    Action.DELETE: "will be destroyed",
    Action.FORGET: "will be removed from state",
    Action.EXPIRE: "will be destroyed",
}


@dataclass(frozen=True)
class FieldChange:
    """One changed field, for display: ``path`` is dotted (``env.HF_TOKEN``)."""

    path: str
    before: Any
    after: Any
    sensitive: bool = False
    forces_replacement: bool = False


@dataclass(frozen=True)
class ResourceChange:
    address: str
    kind: str
    action: Action
    reason: str = ""
    resource_id: Any = None
    before: Mapping[str, Any] | None = None
    after: Mapping[str, Any] | None = None
    fields: tuple[FieldChange, ...] = ()
    replace_paths: tuple[str, ...] = ()
    sensitive_paths: frozenset[str] = frozenset()
    depends_on: tuple[str, ...] = ()
    dph_before: float = 0.0
    dph_after: float = 0.0
    create_before_destroy: bool = False


@dataclass(frozen=True)
class Drift:
    """Something that changed outside vastplan, worded for a Vast.ai user."""

    address: str
    message: str


@dataclass(frozen=True)
class Plan:
    changes: tuple[ResourceChange, ...]
    drift: tuple[Drift, ...] = ()
    stack_name: str | None = None
    destroy: bool = False
    refresh_requests: int = 0
    refresh_seconds: float = 0.0
    blocked: tuple[Drift, ...] = ()  # changes refused by lifecycle.prevent_destroy
    notes: tuple[str, ...] = ()
    orphans: tuple[Any, ...] = ()  # vastplan.refresh.orphans.Orphan: carry this stack's marker, not in state
    warnings: tuple[Drift, ...] = ()  # what will cost money unexpectedly

    @property
    def actionable(self) -> tuple[ResourceChange, ...]:
        return tuple(c for c in self.changes if c.action is not Action.NOOP)

    @property
    def has_changes(self) -> bool:
        return bool(self.actionable)

    def count(self, *actions: Action) -> int:
        return sum(1 for c in self.changes if c.action in actions)

    @property
    def to_add(self) -> int:
        return self.count(Action.CREATE, Action.REPLACE)

    @property
    def to_change(self) -> int:
        return self.count(Action.UPDATE)

    @property
    def to_destroy(self) -> int:
        return self.count(Action.DELETE, Action.REPLACE, Action.EXPIRE)

    @property
    def dph_before(self) -> float:
        return sum(c.dph_before for c in self.changes)

    @property
    def dph_after(self) -> float:
        return sum(c.dph_after for c in self.changes)


# --- JSON: the machine-readable plan (docs/json-format.md); sensitive values are redacted ---------

_ACTIONS_JSON = {
    Action.NOOP: ["no-op"], Action.CREATE: ["create"], Action.UPDATE: ["update"],
    Action.REPLACE: ["delete", "create"], Action.DELETE: ["delete"], Action.FORGET: ["forget"],
    Action.EXPIRE: ["delete", "expire"],
}


def actions_json(action: Action) -> list[str]:
    return list(_ACTIONS_JSON[action])


def action_from_json(actions: list[str]) -> Action:
    for action, spelled in _ACTIONS_JSON.items():
        if spelled == list(actions) or (action is Action.REPLACE and sorted(actions) == ["create", "delete"]):
            return action
    raise ValueError(f"unknown actions {actions!r}")


def change_to_json(change: ResourceChange) -> dict[str, Any]:
    address = Address.find(change.address)
    return {
        "address": change.address,
        "kind": change.kind,
        "name": address.name if address else change.address,
        "index": address.index if address else None,
        "resource_id": change.resource_id,
        "change": {
            "actions": actions_json(change.action),
            "before": redact(change.before, change.sensitive_paths) if change.before is not None else None,
            "after": redact(change.after, change.sensitive_paths) if change.after is not None else None,
            "fields": [_field_json(f, f.sensitive or is_sensitive(f.path, change.sensitive_paths))
                       for f in change.fields],
        },
        "action_reason": change.reason,
        "replace_paths": list(change.replace_paths),
        "sensitive_paths": sorted(change.sensitive_paths),
        "depends_on": list(change.depends_on),
        "dph_before": round(change.dph_before, 6),
        "dph_after": round(change.dph_after, 6),
        "create_before_destroy": change.create_before_destroy,
    }


def _field_json(field: FieldChange, hidden: bool) -> dict[str, Any]:
    return {"path": field.path, "before": SENSITIVE if hidden else field.before,
            "after": SENSITIVE if hidden else field.after, "sensitive": hidden,
            "forces_replacement": field.forces_replacement}


def change_from_json(raw: Mapping[str, Any]) -> ResourceChange:
    body = raw["change"]
    return ResourceChange(
        address=raw["address"], kind=raw["kind"], action=action_from_json(body["actions"]),
        reason=raw.get("action_reason", ""), resource_id=raw.get("resource_id"),
        before=body.get("before"), after=body.get("after"),
        fields=tuple(FieldChange(f["path"], f["before"], f["after"], f["sensitive"], f["forces_replacement"])
                     for f in body.get("fields", [])),
        replace_paths=tuple(raw.get("replace_paths", [])),
        sensitive_paths=frozenset(raw.get("sensitive_paths", [])),
        depends_on=tuple(raw.get("depends_on", [])),
        dph_before=float(raw.get("dph_before", 0)), dph_after=float(raw.get("dph_after", 0)),
        create_before_destroy=bool(raw.get("create_before_destroy", False)),
    )


def plan_to_json(plan: Plan) -> dict[str, Any]:
    return {
        "resource_changes": [change_to_json(c) for c in plan.changes],
        "resource_drift": [{"address": d.address, "message": d.message} for d in plan.drift],
        "blocked": [{"address": d.address, "message": d.message} for d in plan.blocked],
        "warnings": [{"address": d.address, "message": d.message} for d in plan.warnings],
        "orphans": [{"kind": o.kind, "id": o.id, "label": o.label, "dph": round(o.dph, 6),
                     "age_seconds": o.age_seconds} for o in plan.orphans],
        "summary": {"add": plan.to_add, "change": plan.to_change, "destroy": plan.to_destroy},
        "cost": {"dph_before": round(plan.dph_before, 6), "dph_after": round(plan.dph_after, 6)},
        "stack": plan.stack_name,
        "destroy": plan.destroy,
    }


def plan_from_json(raw: Mapping[str, Any]) -> Plan:
    return Plan(
        changes=tuple(change_from_json(c) for c in raw["resource_changes"]),
        drift=tuple(Drift(d["address"], d["message"]) for d in raw.get("resource_drift", [])),
        blocked=tuple(Drift(d["address"], d["message"]) for d in raw.get("blocked", [])),
        stack_name=raw.get("stack"), destroy=bool(raw.get("destroy", False)),
    )
