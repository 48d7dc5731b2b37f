"""`vastplan cost`: what the stack's resources have cost since a date, and what they cost now.

Reads the state (no stack file, no lock), the account's charges since the date and one listing of
the live objects per billed kind; see docs/cost.md for the columns and the JSON document.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import click

from vastplan.cli.options import Command, common_options, json_option, open_session
from vastplan.errors import StateError, UsageError

if TYPE_CHECKING:
    from vastplan.commands.cost import CostReport
    from vastplan.commands.session import Session
    from vastplan.state.model import State

DEFAULT_DAYS = 30


def parse_since(text: str, now: float) -> float:
    """An ISO date (``2026-08-01``, midnight UTC), an ISO date-time (UTC unless it names a zone) or
    epoch seconds, as epoch seconds; never in the future."""
    value = text.strip()
    try:
        if value.replace(".", "", 1).isdigit():
            epoch = float(value)
        else:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
            epoch = (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).timestamp()
    except ValueError:
        raise UsageError(f"--since {text!r}: not a date; use e.g. 2026-08-01 or 2026-08-01T13:00 "
                         "(UTC unless a zone is given)") from None
    if epoch > now:
        raise UsageError(f"--since {text!r} is in the future")
    return epoch


def cost(session: Session, since_text: str | None) -> int:
    from vastplan.commands.cost import build_report, report_start, to_json
    from vastplan.kinds import KINDS

    state = session.backend.read()
    if state is None:
        raise StateError(f"there is no state at {session.backend.describe()}, so there is nothing to report: cost only "
                         "knows the resources vastplan recorded (apply the stack first, or pass --state)")
    clock = time.time()
    floor = parse_since(since_text, clock) if since_text else clock - DEFAULT_DAYS * 86400
    import asyncio  # here, not at the top: `vastplan --version` imports this module

    rows, live = asyncio.run(_fetch(session, state, floor, clock))
    # The server's clock decides what has been billed: a live row ends at the server's "now".
    now = max([clock, *(float(r["end"]) for r in rows if r.get("end") is not None)])
    since = floor if since_text else report_start(rows, state, floor, session.opts.workspace)
    report = build_report(state, rows, live, lambda kind, obj: KINDS[kind].dph(obj), since=since, now=now,
                          workspace=session.opts.workspace)
    session.view.result(to_json(report), render(report))
    return 0


async def _fetch(session: Session, state: State, since: float,
                 now: float) -> tuple[list[dict[str, Any]], dict[str, dict[Any, dict[str, Any]]]]:
    """The charges since ``since`` and one listing per billed kind that state holds objects of."""
    from vastplan.api.billing import charges
    from vastplan.commands.cost import BILLED_KINDS
    from vastplan.kinds import KINDS

    wanted: dict[str, dict[str, Any]] = {}
    for address, entry in state.resources.items():
        if entry.kind in BILLED_KINDS and entry.id is not None and not entry.pending:
            wanted.setdefault(entry.kind, {})[address] = entry
    async with session.client() as client:
        # A day past now, so that a server whose clock runs ahead still shows what it started lately.
        billing = charges(client, since, now + 86400)
        kinds = sorted(wanted)
        import asyncio

        found = await asyncio.gather(billing, *(KINDS[k].list_live(client, wanted[k]) for k in kinds))
    rows: list[dict[str, Any]] = found[0]
    return rows, {kind: dict(objects) for kind, objects in zip(kinds, found[1:], strict=True)}


def render(report: CostReport) -> str:
    """The human table: one row per resource, a total row, then the notes."""
    from tabulate import SEPARATING_LINE, tabulate

    from vastplan.commands.cost import utc_text

    span = (report.until - report.since) / 3600
    head = (f'Cost of stack "{report.stack}" from {_when(utc_text(report.since))} '
            f"to {_when(utc_text(report.until))} ({span:.1f} h), from the account's charges:")
    if not report.resources:
        from vastplan.commands.cost import BILLED_KINDS
        from vastplan.kinds import KINDS

        # dearest first, as the registry lists them last
        billed = " or ".join(k.plural for k in reversed(list(KINDS.values())) if k.kind in BILLED_KINDS)
        return (f"{head}\n\nThe state holds no {billed}: nothing of this stack bills.\n"
                f"Other charges in the account over the same period: ${report.other_charges:.3f}.")
    table: list[Any] = []
    for r in report.resources:
        name = r.address if r.in_state else f"{r.address} (not in state)"
        star = "*" if r.unbilled >= 0.0005 else ""
        table.append([name, r.id, r.status, f"{r.hours:.2f}", f"${r.accrued:.3f}{star}",
                      f"${r.dph:.3f}", f"${r.per_day:.2f}"])
    table += [SEPARATING_LINE, ["Total", "", "", f"{report.hours:.2f}", f"${report.accrued:.3f}",
                                f"${report.dph:.3f}", f"${report.per_day:.2f}"]]
    lines = [head, "", tabulate(table, headers=["Resource", "ID", "Status", "Hours", "Accrued", "$/hr", "$/day"],
                                colalign=("left", "left", "left", "right", "right", "right", "right"),
                                disable_numparse=True), ""]
    if any(r.unbilled >= 0.0005 for r in report.resources):
        lines.append(f"* includes ${report.unbilled:.3f} estimated at the live rate for time the charges "
                     "do not cover yet.")
    lines.append(f"Projected: ${report.per_day:.2f}/day at the current ${report.dph:.3f}/hr.")
    lines.append(f"Other charges in the account over the same period: ${report.other_charges:.3f}.")
    lines += [f"Note: {note}" for note in report.notes]
    return "\n".join(lines)


def _when(iso: str) -> str:
    return iso.replace("T", " ").replace("Z", " UTC")


@click.command("cost", cls=Command)
@common_options
@click.option("--since", "since", metavar="DATE",
              help="Report from this ISO date or date-time (UTC unless a zone is given). "
                   f"[default: the start of the stack's oldest resource, at most {DEFAULT_DAYS} days ago]")
@json_option("report", "As one JSON document (see docs/cost.md).")
@click.pass_context
def cost_command(ctx: click.Context, since: str | None, **flags: Any) -> None:
    """Hours, accrued cost and projected cost per day of each resource in the state, and in total."""
    ctx.exit(cost(open_session(ctx, **flags), since))


def register_cost_commands(cli: click.Group) -> None:
    if "cost" not in cli.commands:
        cli.add_command(cost_command)
