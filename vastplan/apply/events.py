"""What the executor tells its observer (the view) as it works: typed events, never sentences.

A step is one graph node: a create, an update, a delete, a removal from state or a ttl expiry. A
replacement is two steps (a delete and a create, in the order its action names). Views turn events
into text or JSON; they decide nothing and parse nothing.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, Protocol

from vastplan.errors import VastplanError
from vastplan.plan.model import Action

HEARTBEAT = 10.0  # seconds between "Still creating..." lines, as Terraform prints them


class Phase(enum.Enum):
    """Where a step is: the values are the suffixes of the ``apply_*`` JSON events."""

    START = "start"
    PROGRESS = "progress"
    COMPLETE = "complete"
    ERRORED = "errored"
    SKIPPED = "skipped"  # never started: something it depends on failed


@dataclass(frozen=True)
class ApplyEvent:
    """One thing that happened to one step.

    ``action`` is the step's own action (CREATE or DELETE for the halves of a replacement; never a
    REPLACE_*). ``resource_id`` is the object the step is about: the existing one at START of an
    update or delete, the new one at COMPLETE of a create. ``detail`` is a progress message, a note
    on completion (``adopted`` says the create found an identical object), or for SKIPPED the
    address that failed. ``elapsed`` counts seconds since the step's START."""

    address: str
    action: Action
    phase: Phase
    resource_id: Any = None
    elapsed: float = 0.0
    detail: str = ""
    error: VastplanError | None = None
    adopted: bool = False
    heartbeat: bool = False


class ApplyObserver(Protocol):
    def apply_event(self, event: ApplyEvent) -> None: ...
