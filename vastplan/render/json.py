"""The JSON views: one plan document (``plan --json``, ``show --json``), a stream of NDJSON events
(``apply --json``, ``destroy --json``, ``validate --json``), or a query's own document (``output``,
``offers``, ``cost``, ``--json``). docs/json-format.md is their contract.

Everything goes to stdout, errors included, as ``diagnostic`` objects. Plans are rendered with
``plan_to_json``, which redacts sensitive values; no other value of the stack is printed here.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from typing import Any, TextIO

from vastplan import __version__
from vastplan.addresses import Address
from vastplan.apply.events import ApplyEvent, Phase
from vastplan.apply.outcome import ApplyOutcome
from vastplan.diagnostics import Diagnostic, Severity
from vastplan.errors import ApiError, StackError, VastplanError
from vastplan.plan.model import Action, Plan, ResourceChange, actions_json, change_to_json, plan_to_json
from vastplan.plan.outputs import shown
from vastplan.render.base import completion_detail, event_text
from vastplan.render.human import HumanView

FORMAT_VERSION = "1.0"

# A step's action -> the ``action`` word of apply_* events.
_STEP_WORDS = {Action.CREATE: "create", Action.UPDATE: "update", Action.DELETE: "delete", Action.FORGET: "forget",
               Action.EXPIRE: "expire"}


def safe_plan_json(plan: Plan) -> dict[str, Any]:
    """``plan_to_json`` with the ``ADDRESS`` placeholder of a blocked change's message filled in, as
    the human view does."""
    doc = plan_to_json(plan)
    for blocked in doc.get("blocked", []):
        blocked["message"] = blocked["message"].replace("ADDRESS", blocked["address"])
    return doc


def note_diagnostics(plan: Plan) -> list[Diagnostic]:
    """The plan's notes (e.g. that --target is in effect) as warnings."""
    return [Diagnostic(note.removeprefix("Warning: "), Severity.WARNING) for note in plan.notes]


def diagnostic_json(diag: Diagnostic) -> dict[str, Any]:
    """A diagnostic as the ``diagnostic`` object of both formats."""
    where = None
    if diag.range is not None:
        where = {"filename": diag.range.file, "start": {"line": diag.range.line, "column": diag.range.col}}
    return {"severity": diag.severity.value, "summary": diag.summary, "detail": diag.detail,
            "address": diag.address, "range": where}


def error_diagnostics(error: VastplanError) -> list[Diagnostic]:
    """An error as diagnostics: a StackError's own, else one naming the resource when known."""
    if isinstance(error, StackError):
        return list(error.diagnostics)
    address = error.address if isinstance(error, ApiError) else None
    return [Diagnostic(str(error), address=address)]


def resource_json(address: str, change: ResourceChange | None) -> dict[str, Any]:
    """``{"address", "kind", "name", "index"}`` of the resource an apply_* event is about."""
    parsed = Address.find(address)
    return {"address": address, "kind": change.kind if change else None, "name": parsed.name if parsed else address,
            "index": parsed.index if parsed else None}


class JsonPlanView:
    """Collects one plan (or the errors that prevented it) and prints a single document on close()."""

    def __init__(self, out: TextIO | None = None):
        self.out = out or sys.stdout
        self._plan: dict[str, Any] | None = None
        self._diagnostics: list[dict[str, Any]] = []

    def document(self) -> dict[str, Any]:
        errors = sum(1 for d in self._diagnostics if d["severity"] == Severity.ERROR.value)
        return {"format_version": FORMAT_VERSION, "vastplan_version": __version__, **(self._plan or {}),
                "diagnostics": list(self._diagnostics), "errors": errors}

    def close(self) -> None:
        """Print the document, unless nothing at all happened (``--help``)."""
        if self._plan is not None or self._diagnostics:
            self.out.write(json.dumps(self.document(), indent=2) + "\n")
            self.out.flush()

    # --- errors and warnings ------------------------------------------------------------------------
    def diagnostics(self, diags: Iterable[Diagnostic]) -> None:
        self._diagnostics += [diagnostic_json(d) for d in diags]

    def error(self, error: VastplanError) -> None:
        self.diagnostics(error_diagnostics(error))

    def warning(self, text: str) -> None:
        self.diagnostics([Diagnostic(text, Severity.WARNING)])

    # --- validate and plan --------------------------------------------------------------------------
    def validated(self, stack_file: str, resources: int) -> None:
        pass

    def refreshed(self, plan: Plan, counts: Mapping[str, int]) -> None:
        pass

    def plan(self, plan: Plan, stack_file: str, budget: float | None = None) -> None:
        self._plan = {**safe_plan_json(plan), "budget": {"max_dph_total": budget}, "output_changes": {}}
        self.diagnostics(note_diagnostics(plan))

    def plan_saved(self, path: str) -> None:
        pass

    def ask_approval(self, question: str) -> bool:
        return False  # JSON mode never prompts

    # --- apply progress: a plan document has none but its errors ------------------------------------
    def apply_event(self, event: ApplyEvent) -> None:
        if event.phase is Phase.ERRORED and event.error is not None:
            self.error(event.error)

    def apply_complete(self, outcome: ApplyOutcome, destroy: bool, running_dph: float) -> None:
        pass

    def outputs(self, outputs: Mapping[str, Mapping[str, Any]]) -> None:
        pass

    def result(self, document: Any, text: str | None = None) -> None:
        pass

    def line(self, text: str = "") -> None:
        pass


class JsonStreamView:
    """One JSON object per line, written as things happen; the first is always a ``version`` event."""

    def __init__(self, out: TextIO | None = None):
        self.out = out or sys.stdout
        self._versioned = False
        self._changes: dict[str, ResourceChange] = {}
        self._dph_before = 0.0

    def emit(self, type_: str, text: str, level: str = "info", /, **fields: Any) -> None:
        """Write one event: ``@level``, ``@message`` (``text``), ``@timestamp``, ``type``, then ``fields``."""
        if not self._versioned:
            self._versioned = True
            self.emit("version", f"vastplan {__version__}", vastplan=__version__, format_version=FORMAT_VERSION)
        event = {"@level": level, "@message": text,
                 "@timestamp": datetime.now(timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z"),
                 "type": type_, **fields}
        self.out.write(json.dumps(event) + "\n")
        self.out.flush()

    def close(self) -> None:
        pass  # every event is already written

    # --- errors and warnings ------------------------------------------------------------------------
    def diagnostics(self, diags: Iterable[Diagnostic]) -> None:
        for diag in diags:
            word, level = ("Error", "error") if diag.severity is Severity.ERROR else ("Warning", "warn")
            about = f"{diag.address}: " if diag.address and not diag.summary.startswith(diag.address) else ""
            self.emit("diagnostic", f"{word}: {about}{diag.summary}", level, diagnostic=diagnostic_json(diag))

    def error(self, error: VastplanError) -> None:
        self.diagnostics(error_diagnostics(error))

    def warning(self, text: str) -> None:
        self.diagnostics([Diagnostic(text, Severity.WARNING)])

    # --- validate and plan --------------------------------------------------------------------------
    def validated(self, stack_file: str, resources: int) -> None:
        self.emit("log", f"{stack_file}: valid ({resources} resources).", valid=True, resources=resources)

    def refreshed(self, plan: Plan, counts: Mapping[str, int]) -> None:
        known = sum(counts.values())
        self.emit("log", f"Refreshed {known} known objects ({plan.refresh_requests} requests, "
                         f"{plan.refresh_seconds:.2f}s)")

    def plan(self, plan: Plan, stack_file: str, budget: float | None = None) -> None:
        self._dph_before = plan.dph_before
        for drift in plan.drift:
            self.emit("resource_drift", f"{drift.address}: {drift.message}",
                      drift={"address": drift.address, "message": drift.message})
        for change in plan.actionable:
            self._changes[change.address] = change
            self.emit("planned_change", f"{change.address}: Plan to {'/'.join(actions_json(change.action))}",
                      change=change_to_json(change))
        self.diagnostics(note_diagnostics(plan))
        self._summary("plan", plan.to_add, plan.to_change, plan.to_destroy, plan.dph_before, plan.dph_after,
                      f"Plan: {plan.to_add} to add, {plan.to_change} to change, {plan.to_destroy} to destroy.")

    def plan_saved(self, path: str) -> None:
        self.emit("log", f"Saved the plan to {path}.")

    def ask_approval(self, question: str) -> bool:
        return False  # JSON mode never prompts; the CLI asks for --auto-approve instead

    # --- apply progress -----------------------------------------------------------------------------
    def _hook(self, address: str, action: str, **fields: Any) -> dict[str, Any]:
        return {"resource": resource_json(address, self._changes.get(address)), "action": action, **fields}

    def apply_event(self, event: ApplyEvent) -> None:
        """One ``apply_*`` event; ``resource_id`` is the executor's, as it gave it."""
        address, text = event.address, f"{event.address}: {event_text(event)}"
        if event.phase is Phase.SKIPPED:
            self.diagnostics([Diagnostic(f"skipped (depends on {event.detail}, which failed)", Severity.WARNING,
                                         address=address)])
            return
        common = self._hook(address, _STEP_WORDS[event.action], resource_id=event.resource_id)
        elapsed = round(event.elapsed, 3)
        if event.phase is Phase.START:
            self.emit("apply_start", text, **common, id=event.resource_id)
        elif event.phase is Phase.PROGRESS:
            self.emit("apply_progress", text, **common, message=event.detail, elapsed_seconds=elapsed)
        elif event.phase is Phase.COMPLETE:
            made = event.resource_id if event.action in (Action.CREATE, Action.UPDATE) else None
            self.emit("apply_complete", text, **common, id=made, elapsed_seconds=elapsed,
                      detail=completion_detail(event))
        else:
            self.emit("apply_errored", f"{text}: {event.error}", "error", **common, elapsed_seconds=elapsed,
                      error=str(event.error))
            self.diagnostics([Diagnostic(str(event.error), address=address)])

    def apply_complete(self, outcome: ApplyOutcome, destroy: bool, running_dph: float) -> None:
        if destroy:
            text = f"Destroy complete! Resources: {outcome.destroyed} destroyed."
        else:
            text = (f"Apply complete! Resources: {outcome.added} added, {outcome.changed} changed, "
                    f"{outcome.destroyed} destroyed.  Now running: ${running_dph:.3f}/hr.")
        self._summary("destroy" if destroy else "apply", outcome.added, outcome.changed, outcome.destroyed,
                      self._dph_before, running_dph, text)

    def _summary(self, operation: str, add: int, change: int, destroy: int, before: float, after: float,
                 text: str) -> None:
        self.emit("change_summary", text,
                  changes={"add": add, "change": change, "destroy": destroy, "operation": operation},
                  cost={"dph_before": round(before, 6), "dph_after": round(after, 6)})

    def outputs(self, outputs: Mapping[str, Mapping[str, Any]]) -> None:
        values = shown(outputs)
        self.emit("outputs", f"Outputs: {len(values)}", outputs={
            name: {"value": values[name], "sensitive": bool(outputs[name].get("sensitive"))} for name in values})

    def result(self, document: Any, text: str | None = None) -> None:
        self.emit("log", text or json.dumps(document))

    def line(self, text: str = "") -> None:
        if text:
            self.emit("log", text)


class JsonDocumentView(HumanView):
    """A query's answer as its own JSON document (``output --json``, ``offers --json``);
    everything else, errors included, as the human view shows it."""

    def result(self, document: Any, text: str | None = None) -> None:
        self.out.write(json.dumps(document, indent=2) + "\n")
        self.out.flush()


class JsonReportView(JsonStreamView):
    """A report as its own JSON document (``cost --json``, docs/cost.md); its errors, like every
    stream's, as a ``version`` and ``diagnostic`` events."""

    def result(self, document: Any, text: str | None = None) -> None:
        self.out.write(json.dumps(document, indent=2) + "\n")
        self.out.flush()
