"""The change model: one action per resource from a closed set, with before/after for display."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


class Action(enum.Enum):
    """What happens to one resource. The values are the symbols the plan prints."""

    NOOP = " "
    CREATE = "+"
    UPDATE = "~"
    REPLACE = "-/+"
    DELETE = "-"
    FORGET = "x"  # the object is already gone; only the state entry is dropped

    @property
    def verb(self) -> str:
        return _VERBS[self]


_VERBS = {
    Action.NOOP: "no change",
    Action.CREATE: "will be created",
    Action.UPDATE: "will be updated in place",
    Action.REPLACE: "must be replaced",
    Action.DELETE: "will be destroyed",
    Action.FORGET: "will be removed from state",
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
    counts_by_kind: Mapping[str, int] = field(default_factory=dict)

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
        return self.count(Action.DELETE, Action.REPLACE)

    @property
    def dph_before(self) -> float:
        return sum(c.dph_before for c in self.changes)

    @property
    def dph_after(self) -> float:
        return sum(c.dph_after for c in self.changes)
