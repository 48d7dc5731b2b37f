"""``vastplan logs ADDR [--tail N]``: an instance's container logs, fetched through the API."""

from __future__ import annotations

import asyncio
from typing import Any

import click

from vastplan.cli.options import build_options, common_options, view_of


@click.command("logs")
@common_options
@click.argument("address", metavar="ADDR")
@click.option("--tail", type=click.IntRange(0, 100_000), default=None,
              help="Only the last N lines. [default: the last 1000, as Vast.ai keeps]")
@click.pass_context
def logs_command(ctx: click.Context, address: str, tail: int | None, **flags: Any) -> None:
    """The container logs of the instance at ADDR (e.g. instances.web[0]), as Vast.ai has them."""
    from vastplan.commands.logs import instance_logs

    lines = asyncio.run(instance_logs(build_options(ctx, **flags), address, tail))
    view = view_of(ctx)
    for line in lines:
        view.line(line)
    if not lines:
        click.echo(f"{address} has no log lines yet (its container may not have started).", err=True)
    ctx.exit(0)


def register_logs_commands(cli: click.Group) -> None:
    cli.add_command(logs_command)
