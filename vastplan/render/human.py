"""The human view: Terraform-style plan text, apply progress, and one-line errors."""

from __future__ import annotations

import json
import shutil
import signal
import sys
import threading
from collections.abc import Iterable, Mapping
from typing import Any, TextIO

import click

from vastplan.addresses import Address
from vastplan.apply.events import ApplyEvent, Phase
from vastplan.apply.outcome import ApplyOutcome
from vastplan.diagnostics import Diagnostic
from vastplan.errors import VastplanError
from vastplan.kinds import KINDS
from vastplan.plan.model import Action, FieldChange, Plan, ResourceChange, is_sensitive
from vastplan.plan.outputs import shown
from vastplan.refresh.orphans import describe_age
from vastplan.render.base import event_text
from vastplan.render.text import WIDTH, fingerprint, fold, table, text_lines
from vastplan.state.model import SENSITIVE

_COLOURS = {Action.CREATE: "green", Action.UPDATE: "yellow", Action.REPLACE_DESTROY_FIRST: "magenta",
            Action.REPLACE_CREATE_FIRST: "magenta",
            Action.DELETE: "red", Action.FORGET: "red", Action.EXPIRE: "red"}


def colour_wanted(no_color_flag: bool, is_terminal: bool, environ: Mapping[str, str]) -> bool:
    """Whether to colour the output, by the conventions: ``--no-color`` and a non-empty ``NO_COLOR``
    (no-color.org: an empty one does not count) turn it off; else a non-empty ``FORCE_COLOR``
    (force-color.org) turns it on, even into a pipe; else a terminal gets colour unless ``TERM=dumb``."""
    if no_color_flag or environ.get("NO_COLOR"):
        return False
    if environ.get("FORCE_COLOR"):
        return True
    return is_terminal and environ.get("TERM") != "dumb"


def display_name(address: str) -> str:
    """``instances.server[0]`` -> ``server[0]``."""
    parsed = Address.find(address)
    return parsed.short if parsed else address


def money(dph: float) -> str:
    return f"${dph:.3f}/hr"


def show(value: Any, sensitive: bool = False) -> str:
    """A value as the plan shows it: JSON, but an SSH public key as its fingerprint (``SHA256:...``,
    unquoted, as ``ssh-keygen -l`` prints it): the key text repeated on every instance filled screens."""
    if sensitive or value == SENSITIVE:
        return SENSITIVE
    if value is None:
        return "null"
    prints: dict[str, str] = {}
    text = json.dumps(_fingerprinted(value, prints), sort_keys=True)
    for shown_print in prints:
        text = text.replace(json.dumps(shown_print), shown_print)
    return text


def _fingerprinted(value: Any, prints: dict[str, str]) -> Any:
    if isinstance(value, str):
        found = fingerprint(value)
        if found:
            prints[found] = value
        return found or value
    if isinstance(value, list):
        return [_fingerprinted(v, prints) for v in value]
    if isinstance(value, dict):
        return {k: _fingerprinted(v, prints) for k, v in value.items()}
    return value


class HumanView:
    def __init__(self, out: TextIO | None = None, err: TextIO | None = None, colour: bool = False):
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self.colour = colour

    def _columns(self) -> int | None:
        """The terminal's width when the output is one (progress lines are cut to it, so a status
        message never wraps a 80-column terminal); None for a file or a pipe, which keep it all."""
        isatty = getattr(self.out, "isatty", None)
        return shutil.get_terminal_size().columns if isatty is not None and isatty() else None

    def _style(self, text: str, **kwargs: Any) -> str:
        return click.style(text, **kwargs) if self.colour else text

    def line(self, text: str = "") -> None:
        # color=True keeps forced colour (FORCE_COLOR) that click would strip from a pipe.
        click.echo(text, file=self.out, color=True if self.colour else None)

    def _folded(self, text: str) -> None:
        """A line of a plan's changes (a value, a script line), a warning or a limit: folded to fit 80
        columns. Drift and notes are left whole, for the terminal to wrap and for a search to find."""
        for piece in fold(text):
            self.line(piece)

    def result(self, document: Any, text: str | None = None) -> None:
        if text != "":  # an empty answer (no outputs) prints nothing
            click.echo(json.dumps(document, indent=2, sort_keys=True) if text is None else text, file=self.out)

    def close(self) -> None:
        pass  # every line is already written

    # --- errors -------------------------------------------------------------------------------------
    def diagnostics(self, diags: Iterable[Diagnostic]) -> None:
        items = list(diags)
        for diag in items:
            click.echo(diag.format(), file=self.err)
        errors = sum(1 for d in items if d.severity.value == "error")
        click.echo(f"{errors} error{'s' if errors != 1 else ''}.", file=self.err)

    def error(self, error: VastplanError) -> None:
        click.echo(self._style("error: ", fg="red", bold=True) + str(error), file=self.err,
                   color=True if self.colour else None)

    def warning(self, text: str) -> None:
        click.echo(self._style("warning: ", fg="yellow", bold=True) + text, file=self.err,
                   color=True if self.colour else None)

    # --- plan ---------------------------------------------------------------------------------------
    def refreshed(self, plan: Plan, counts: Mapping[str, int]) -> None:
        parts = [f"{n} {KINDS[k].plural if n != 1 else KINDS[k].singular}" for k, n in counts.items() if n]
        what = ", ".join(parts) or "nothing in state yet"
        requests = f"{plan.refresh_requests} request{'s' if plan.refresh_requests != 1 else ''}"
        self.line(f"Refreshing: {what} ({requests}, {plan.refresh_seconds:.2f}s)")

    def plan(self, plan: Plan, stack_file: str, budget: float | None = None) -> None:
        if plan.drift:
            self.line()
            self.line("Objects changed outside vastplan:")
            for drift in plan.drift:
                self.line(f"  ~ {drift.address}: {drift.message}")
        self._unclaimed(plan)
        self._orphans(plan)
        if plan.warnings:
            self.line()
            self.line("Warnings:")
            for warning in plan.warnings:
                self._folded(f"  ! {warning.address}: {warning.message}")
        if plan.limits:
            self.line()
            self.line("Limits (enforced by the objects themselves and by `vastplan reap`):")
            for limit in plan.limits:
                self._folded(f"  {limit.address}: {limit.message}")
        if not plan.has_changes:
            self.line()
            running = f" ({money(plan.dph_after)} running)" if plan.dph_after else ""
            self.line(f"No changes. The account matches {stack_file}{running}.")
            return
        self.line()
        self.line("vastplan will perform these actions")
        self.line("(+ create, ~ update in place, -/+ replace, - destroy):")
        for change in plan.actionable:
            self.line()
            self._change(change)
        self.line()
        self._summary(plan)
        for blocked in plan.blocked:
            self.line(self._style(f"Blocked: {blocked.address} cannot be destroyed: ", fg="red")
                      + blocked.message.replace("ADDRESS", blocked.address))
        self.line(f"Plan: {plan.to_add} to add, {plan.to_change} to change, {plan.to_destroy} to destroy.")
        for note in plan.notes:
            self.line(note)
        if plan.dph_before or plan.dph_after:
            delta = plan.dph_after - plan.dph_before
            sign = "+" if delta >= 0 else "-"
            cap = f"; budget ${budget:.2f}/hr" if budget is not None else ""
            self.line(f"Cost: {money(plan.dph_before)} -> {money(plan.dph_after)} "
                      f"({sign}{money(abs(delta))}, {sign}${abs(delta) * 24:.2f}/day){cap}")

    def _unclaimed(self, plan: Plan) -> None:
        if not plan.unclaimed:
            return
        self.line()
        self.line("Objects of this stack that the state does not know (lost or wrong state?); "
                  "apply will refuse to rent them again:")
        for o in plan.unclaimed:
            self.line(f'  {o.address}: {o.kind} {o.id} "{o.label}"  {describe_age(o.age_seconds)}  {money(o.dph)}')
        self.line("  Take them into the state with `vastplan apply --adopt` (or `vastplan import ADDRESS ID`).")

    def _orphans(self, plan: Plan) -> None:
        if not plan.orphans:
            return
        self.line()
        self.line("Orphans (carry this stack's label, not in state — `vastplan orphans --destroy` to remove):")
        for o in plan.orphans:
            self.line(f'  {o.kind} {o.id} "{o.label}"  {describe_age(o.age_seconds)}  {money(o.dph)}')

    def _change(self, change: ResourceChange) -> None:
        header = f"  # {change.address} {change.action.verb}"
        if not change.reason.self_evident or change.reason_note:
            header += f" ({change.explanation})"
        price = f"   {self._price(change)}" if self._price(change) else ""
        symbol = change.action.symbol
        noun = KINDS[change.kind].noun
        ident = f" (id {change.resource_id})" if change.resource_id is not None and change.action is not \
            Action.CREATE else ""
        title = f"{symbol:>3} {noun} \"{display_name(change.address)}\"{ident}"
        if len(header + price) > WIDTH:  # the price goes beside the object instead
            title, price = title + price, ""
        self.line(header + price)  # a sentence, left whole like the drift notes
        self.line(self._style(title, fg=_COLOURS.get(change.action)))
        for text in self._field_lines(change):
            self._folded("      " + text)

    def _price(self, change: ResourceChange) -> str:
        if not (change.dph_before or change.dph_after):
            return ""
        if change.action is Action.CREATE:
            return money(change.dph_after)
        if change.action in (Action.DELETE, Action.FORGET, Action.EXPIRE):
            return money(change.dph_before)
        if abs(change.dph_before - change.dph_after) < 1e-9:
            return money(change.dph_after)
        return f"{money(change.dph_before)} -> {money(change.dph_after)}"

    def _field_lines(self, change: ResourceChange) -> list[str]:
        if change.action is Action.CREATE and change.after is not None:
            lines: list[str] = []
            for path, value in _flatten(change.after):
                if value not in (None, "", [], {}):
                    lines += _value_lines("+", path, None, value, is_sensitive(path, change.sensitive_paths))
            return lines
        if change.action in (Action.DELETE, Action.FORGET, Action.EXPIRE):
            return []
        lines = [text for f in change.fields for text in self._field_line(f)]
        hidden = len(change.after or {}) - len({f.path.split(".")[0] for f in change.fields})
        if hidden > 0:
            lines.append(f"# ({hidden} unchanged field{'s' if hidden != 1 else ''} hidden)")
        return lines

    def _field_line(self, f: FieldChange) -> list[str]:
        force = "  # forces replacement" if f.forces_replacement else ""
        sign = "+" if f.before is None else "-" if f.after is None else "~"
        return _value_lines(sign, f.path, f.before, f.after, f.sensitive, force)

    def _summary(self, plan: Plan) -> None:
        """A table of the machines the plan's changes are about: one row per placed object the plan
        shows (its kind says what its machine is), with its action and price."""
        rows = []
        for change in plan.actionable:
            values = change.before if change.action in (Action.DELETE, Action.FORGET, Action.EXPIRE) \
                else change.after
            placed = KINDS[change.kind].machine_summary(values or {})
            if placed is not None:
                dph = change.dph_before if values is change.before else change.dph_after
                rows.append([change.action.symbol.strip(), display_name(change.address), *placed,
                             f"{dph:.3f}"])
        if not rows:
            return
        self.line(table(["", "name", "GPU", "machine", "location", "$/hr"], rows, narrow=4, indent="  ",
                        right=(3, 5)))
        self.line()

    # --- apply --------------------------------------------------------------------------------------
    def apply_event(self, event: ApplyEvent) -> None:
        text = f"{event.address}: {event_text(event)}"
        if event.phase is Phase.PROGRESS:
            text = _fitted(text, self._columns())
        if event.phase is Phase.ERRORED:
            text = self._style(text + ": ", fg="red") + str(event.error)
        self.line(text)

    def apply_complete(self, outcome: ApplyOutcome, destroy: bool, running_dph: float) -> None:
        self.line()
        if destroy:
            self.line(f"Destroy complete! Resources: {outcome.destroyed} destroyed.")
            return
        self.line(f"Apply complete! Resources: {outcome.added} added, {outcome.changed} changed, "
                  f"{outcome.destroyed} destroyed.")
        self.line(f"Now running: {money(running_dph)}.")  # on a line of its own: together they wrap 80 columns

    def outputs(self, outputs: Mapping[str, Mapping[str, Any]]) -> None:
        if not outputs:
            return
        self.line()
        self.line("Outputs:")
        for name, value in shown(outputs).items():
            self.line(f"{name} = {json.dumps(value)}")

    def validated(self, stack_file: str, resources: int) -> None:
        self.line(f"{stack_file}: valid ({resources} resources).")

    def plan_saved(self, path: str) -> None:
        self.line()
        self.line(f"Saved the plan to {path}. Apply exactly these changes with: vastplan apply {path}")

    def ask_approval(self, question: str) -> bool:
        self.line()
        self.line(question)
        self.line("  Only 'yes' will be accepted to approve.")
        return read_answer("  Enter a value: ", self.out).strip() == "yes"


def _fitted(text: str, columns: int | None) -> str:
    """``text`` cut to ``columns`` characters, its end shown as "..." (a heartbeat keeps its "]")."""
    if columns is None or len(text) <= columns or columns < 40:
        return text
    closing = "]" if text.endswith("]") else ""
    return text[:columns - 3 - len(closing)] + "..." + closing


def read_answer(prompt: str, out: TextIO) -> str:
    """One line from stdin ("" at its end). Ctrl-C raises KeyboardInterrupt at once: the prompt is
    read inside ``asyncio.run``, whose SIGINT handler only cancels the main task, which a blocking
    read never notices (the prompt used to sit there until Enter). So for as long as the read
    lasts, SIGINT gets Python's default handler back."""
    click.echo(prompt, file=out, nl=False)
    out.flush()
    main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, signal.default_int_handler) if main else None
    try:
        answer = sys.stdin.readline()  # on Ctrl-C, click ends the ^C line as it turns it into Abort
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
    if not answer.endswith("\n"):
        click.echo(file=out)  # the input ended (Ctrl-D) without a line
    return answer


def _value_lines(sign: str, path: str, before: Any, after: Any, sensitive: bool, note: str = "") -> list[str]:
    """One field's lines: ``+ path = value``, ``~ path = before -> after``, or, for text of several lines
    (an onstart script), a heredoc of its lines (the changed ones only, for a change)."""
    multi = [v for v in (before, after) if isinstance(v, str) and "\n" in v]
    if multi and not sensitive and all(v is None or isinstance(v, str) for v in (before, after)):
        body = text_lines(before if sign != "+" else None, after if sign != "-" else None)
        return [f"{sign} {path} = <<-EOT{note}", *(f"    {line}" for line in body), "  EOT"]
    if sign == "+":
        return [f"+ {path} = {show(after, sensitive)}{note}"]
    if sign == "-":
        return [f"- {path} = {show(before, sensitive)}{note}"]
    return [f"~ {path} = {show(before, sensitive)} -> {show(after, sensitive)}{note}"]


def _flatten(values: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """One level of mappings expanded to dotted paths, so each env var gets its own line."""
    flat: list[tuple[str, Any]] = []
    for key, value in values.items():
        if isinstance(value, Mapping) and value:
            flat.extend((f"{key}.{sub}", v) for sub, v in value.items())
        else:
            flat.append((key, value))
    return flat
