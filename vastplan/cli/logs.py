"""``vastplan logs ADDR [--tail N]``: an instance's container logs, fetched through the API."""

from __future__ import annotations

from typing import Any

import click

from vastplan.cli.completion import complete_address
from vastplan.cli.options import common_options, open_session


@click.command("logs")
@common_options
@click.argument("address", metavar="ADDR", shell_complete=complete_address)
@click.option("--tail", type=click.IntRange(0, 100_000), default=None,
              help="Only the last N lines. [default: the last 1000, as Vast.ai keeps]")
@click.pass_context
def logs_command(ctx: click.Context, address: str, tail: int | None, **flags: Any) -> None:
    """The container logs of the instance at ADDR (e.g. instances.web[0]), as Vast.ai has them."""
    from vastplan.commands.logs import object_logs

    session = open_session(ctx, **flags)
    import asyncio

    lines = asyncio.run(object_logs(session, address, tail))
    for line in lines:
        session.view.line(line)
    if not lines:
        session.view.warning(f"{address} has no log lines yet (its container may not have started).")
    ctx.exit(0)


def register_logs_commands(cli: click.Group) -> None:
    cli.add_command(logs_command)
