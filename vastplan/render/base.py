"""The View protocol: everything a use case shows, as calls a human or JSON view renders, and the
wording of apply events that both views share."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from vastplan.apply.events import ApplyEvent, Phase
from vastplan.apply.outcome import ApplyOutcome
from vastplan.diagnostics import Diagnostic
from vastplan.errors import VastplanError
from vastplan.plan.model import Action, Plan


class View(Protocol):
    # errors and warnings
    def diagnostics(self, diags: Iterable[Diagnostic]) -> None: ...
    def error(self, error: VastplanError) -> None: ...
    def warning(self, text: str) -> None: ...

    # validate and plan
    def validated(self, stack_file: str, resources: int) -> None: ...
    def refreshed(self, plan: Plan, counts: Mapping[str, int]) -> None: ...
    def plan(self, plan: Plan, stack_file: str, budget: float | None = None) -> None: ...
    def plan_saved(self, path: str) -> None: ...
    def ask_approval(self, question: str) -> bool: ...

    # apply progress (the executor's ApplyObserver)
    def apply_event(self, event: ApplyEvent) -> None: ...
    def apply_complete(self, outcome: ApplyOutcome, destroy: bool, running_dph: float) -> None: ...
    def outputs(self, outputs: Mapping[str, Mapping[str, Any]]) -> None:
        """The stack's outputs after an apply, as ``outputs.evaluate`` gives them: ``{name: {"value",
        "sensitive"}}``; the view shows a sensitive value as ``(sensitive)``."""
        ...

    # a query's answer (state show, output, offers, cost, graph): the human view prints ``text`` (or
    # the document as JSON when there is no text form), a JSON view the document
    def result(self, document: Any, text: str | None = None) -> None: ...

    # a note for people about what a command did, which has no machine form
    def line(self, text: str = "") -> None: ...

    # the end of the command: a view that collects (the plan document) prints now
    def close(self) -> None: ...


# (step, phase) -> what the text says: "Creating...", "Creation complete after 3s"
_PARTICIPLE = {Action.CREATE: "Creating", Action.UPDATE: "Modifying", Action.DELETE: "Destroying",
               Action.FORGET: "Removing from state", Action.EXPIRE: "Destroying (ttl expired)"}
_NOUN = {Action.CREATE: "Creation", Action.UPDATE: "Modifications", Action.DELETE: "Destruction",
         Action.FORGET: "Removal", Action.EXPIRE: "Destruction"}


_STILL = {Action.CREATE: "creating", Action.UPDATE: "modifying", Action.DELETE: "destroying",
          Action.FORGET: "removing from state", Action.EXPIRE: "destroying"}


def event_text(event: ApplyEvent) -> str:
    """An apply event in words, without its address: ``Creation complete after 3s [id=9000001]``."""
    if event.phase is Phase.START:
        ident = f" [id={event.resource_id}]" if event.resource_id is not None else ""
        return f"{_PARTICIPLE[event.action]}...{ident}"
    if event.phase is Phase.COMPLETE:
        detail = completion_detail(event)
        return f"{_NOUN[event.action]} complete after {event.elapsed:.0f}s" + (f" {detail}" if detail else "")
    if event.phase is Phase.ERRORED:
        return f"{_NOUN[event.action]} failed after {event.elapsed:.0f}s"  # the view adds ": {error}"
    if event.phase is Phase.SKIPPED:
        return f"skipped (depends on {event.detail})"
    if event.heartbeat:  # Terraform's words: "Still creating... [10s elapsed]"
        note = f", {event.detail}" if event.detail else ""
        return f"Still {_STILL[event.action]}... [{event.elapsed:.0f}s elapsed{note}]"
    return event.detail


def completion_detail(event: ApplyEvent) -> str:
    """``[id=9000001]`` for an object created or updated (with a note when an identical one was
    adopted); the kind's note for the others."""
    if event.action in (Action.CREATE, Action.UPDATE):
        return f"[id={event.resource_id}]" + (f" ({event.detail})" if event.detail else "")
    return event.detail
