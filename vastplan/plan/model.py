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
    """What happens to one resource, from a closed set; a replacement's order is part of its action.
    The values are the symbols the plan prints."""

    NOOP = " "
    CREATE = "+"
    UPDATE = "~"
    REPLACE_DESTROY_FIRST = "-/+"
    REPLACE_CREATE_FIRST = "+/-"  # lifecycle.create_before_destroy: the old object goes once the new one runs
    DELETE = "-"
    FORGET = "x"  # the object is already gone; only the state entry is dropped
    EXPIRE = "-!"  # past its ttl: destroyed, and not rented again while the ttl stays the same

    @classmethod
    def replacement(cls, create_first: bool) -> Action:
        return cls.REPLACE_CREATE_FIRST if create_first else cls.REPLACE_DESTROY_FIRST

    @property
    def replaces(self) -> bool:
        return self in (Action.REPLACE_DESTROY_FIRST, Action.REPLACE_CREATE_FIRST)

    @property
    def destroys(self) -> bool:
        """It destroys an object that exists (a replacement's old one included)."""
        return self.replaces or self in (Action.DELETE, Action.EXPIRE)

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
    Action.REPLACE_DESTROY_FIRST: "must be replaced",
    Action.REPLACE_CREATE_FIRST: "must be replaced",
    Action.DELETE: "will be destroyed",
    Action.FORGET: "will be removed from state",
    Action.EXPIRE: "will be destroyed",
}


class ActionReason(enum.Enum):
    """Why a change has its action, from a closed set; the values are the JSON ``action_reason_code``.
    It only explains the action (``decide_action`` chose it). ``{note}`` in a text is filled from the
    change's ``reason_note``."""

    MATCHES = "matches"
    NOT_IN_STATE = "not_in_state"
    DELETED_OUTSIDE = "deleted_outside"
    TAINTED = "tainted"
    REPLACE_REQUESTED = "replace_requested"
    CANNOT_UPDATE_IN_PLACE = "cannot_update_in_place"
    FIELDS_DIFFER = "fields_differ"
    TTL_EXPIRED = "ttl_expired"
    STAYS_EXPIRED = "stays_expired"
    EXPIRED_EARLIER = "expired_earlier"
    ALREADY_DELETED = "already_deleted"
    NOT_IN_STACK = "not_in_stack"
    NOT_TARGETED = "not_targeted"
    IDLE = "idle"

    def text(self, note: str = "") -> str:
        """The reason in words; a note replaces a text without ``{note}`` (an update's consequence)."""
        words = _REASON_TEXT[self]
        if "{note}" in words:
            return words.format(note=note)
        return note or words

    @property
    def self_evident(self) -> bool:
        """The usual reason for its action, which a plan need not repeat."""
        return self in (ActionReason.MATCHES, ActionReason.NOT_IN_STATE, ActionReason.FIELDS_DIFFER,
                        ActionReason.NOT_IN_STACK, ActionReason.NOT_TARGETED)


_REASON_TEXT = {
    ActionReason.MATCHES: "matches the stack",
    ActionReason.NOT_IN_STATE: "not in state",
    ActionReason.DELETED_OUTSIDE: "deleted outside vastplan",
    ActionReason.TAINTED: "tainted: by vastplan taint, or it never became ready",
    ActionReason.REPLACE_REQUESTED: "requested with --replace",
    ActionReason.CANNOT_UPDATE_IN_PLACE: "a field that cannot change in place changed",
    ActionReason.FIELDS_DIFFER: "fields differ",
    ActionReason.TTL_EXPIRED: "expired: its ttl ran out at {note}",
    ActionReason.STAYS_EXPIRED: "expired at {note}; not rented again until its ttl or expires_at changes",
    ActionReason.EXPIRED_EARLIER: "expired earlier; no longer in the stack",
    ActionReason.ALREADY_DELETED: "already deleted outside vastplan",
    ActionReason.NOT_IN_STACK: "no longer in the stack",
    ActionReason.NOT_TARGETED: "left out by --target/--exclude",
    ActionReason.IDLE: "idle: {note}",
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
    reason: ActionReason = ActionReason.MATCHES
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
    reason_note: str = ""  # what ActionReason.text fills in: a time, or what an in-place update does

    @property
    def explanation(self) -> str:
        return self.reason.text(self.reason_note)


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
    limits: tuple[Drift, ...] = ()  # when objects expire or stop on their own (ttl, idle rules)
    # Orphans whose marker names an address this plan creates: the state lost them; apply refuses
    unclaimed: tuple[Any, ...] = ()

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
        return self.count(Action.CREATE, Action.REPLACE_DESTROY_FIRST, Action.REPLACE_CREATE_FIRST)

    @property
    def to_change(self) -> int:
        return self.count(Action.UPDATE)

    @property
    def to_destroy(self) -> int:
        return sum(1 for c in self.changes if c.action.destroys)

    @property
    def dph_before(self) -> float:
        return sum(c.dph_before for c in self.changes)

    @property
    def dph_after(self) -> float:
        return sum(c.dph_after for c in self.changes)


# --- JSON: the machine-readable plan (docs/json-format.md); sensitive values are redacted ---------

_ACTIONS_JSON = {
    Action.NOOP: ["no-op"], Action.CREATE: ["create"], Action.UPDATE: ["update"],
    Action.REPLACE_DESTROY_FIRST: ["delete", "create"], Action.REPLACE_CREATE_FIRST: ["delete", "create"],
    Action.DELETE: ["delete"], Action.FORGET: ["forget"],
    Action.EXPIRE: ["delete", "expire"],
}


def actions_json(action: Action) -> list[str]:
    return list(_ACTIONS_JSON[action])


def action_from_json(actions: list[str], create_before_destroy: bool = False) -> Action:
    if sorted(actions) == ["create", "delete"]:
        return Action.replacement(create_before_destroy)
    for action, spelled in _ACTIONS_JSON.items():
        if spelled == list(actions):
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
        "action_reason": change.explanation,
        "action_reason_code": change.reason.value,
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
        address=raw["address"], kind=raw["kind"],
        action=action_from_json(body["actions"], bool(raw.get("create_before_destroy", False))),
        reason=ActionReason(raw.get("action_reason_code", ActionReason.MATCHES.value)),
        reason_note=_note(raw), resource_id=raw.get("resource_id"),
        before=body.get("before"), after=body.get("after"),
        fields=tuple(FieldChange(f["path"], f["before"], f["after"], f["sensitive"], f["forces_replacement"])
                     for f in body.get("fields", [])),
        replace_paths=tuple(raw.get("replace_paths", [])),
        sensitive_paths=frozenset(raw.get("sensitive_paths", [])),
        depends_on=tuple(raw.get("depends_on", [])),
        dph_before=float(raw.get("dph_before", 0)), dph_after=float(raw.get("dph_after", 0)),
        create_before_destroy=bool(raw.get("create_before_destroy", False)),
    )


def _note(raw: Mapping[str, Any]) -> str:
    """The note inside a saved ``action_reason``: the text is the reason's words with the note filled in."""
    reason = ActionReason(raw.get("action_reason_code", ActionReason.MATCHES.value))
    text, words = str(raw.get("action_reason", "")), _REASON_TEXT[reason]
    if "{note}" not in words:
        return "" if text == words else text
    head, _, tail = words.partition("{note}")
    return text.removeprefix(head).removesuffix(tail)


def plan_to_json(plan: Plan) -> dict[str, Any]:
    return {
        "resource_changes": [change_to_json(c) for c in plan.changes],
        "resource_drift": [{"address": d.address, "message": d.message} for d in plan.drift],
        "blocked": [{"address": d.address, "message": d.message} for d in plan.blocked],
        "warnings": [{"address": d.address, "message": d.message} for d in plan.warnings],
        "limits": [{"address": d.address, "message": d.message} for d in plan.limits],
        "orphans": [{"kind": o.kind, "id": o.id, "label": o.label, "dph": round(o.dph, 6),
                     "age_seconds": o.age_seconds} for o in plan.orphans],
        "unclaimed": [{"address": o.address, "kind": o.kind, "id": o.id, "label": o.label, "dph": round(o.dph, 6),
                       "age_seconds": o.age_seconds} for o in plan.unclaimed],
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
        limits=tuple(Drift(d["address"], d["message"]) for d in raw.get("limits", [])),
        stack_name=raw.get("stack"), destroy=bool(raw.get("destroy", False)),
    )
