"""What an apply did: the state it left, counts, and the errors and skips per address."""

from __future__ import annotations

from dataclasses import dataclass, field

from vastplan.errors import StateWriteFailed, VastplanError
from vastplan.state.model import State


@dataclass
class ApplyOutcome:
    state: State
    added: int = 0
    changed: int = 0
    destroyed: int = 0
    errors: dict[str, VastplanError] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    state_write_failed: StateWriteFailed | None = None
