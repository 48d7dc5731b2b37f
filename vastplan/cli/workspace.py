"""`vastplan workspace list|new|select|delete|show`: several states of one stack (see commands/workspace.py)."""

from __future__ import annotations

from typing import Any

import click

from vastplan.cli.options import Group, common_options, json_option, lock_timeout_option, open_session


@click.group("workspace", cls=Group)
def workspace_group() -> None:
    """Several independent states of one stack (staging, prod), each with its own objects."""


@workspace_group.command("show")
@common_options
@click.pass_context
def workspace_show(ctx: click.Context, **flags: Any) -> None:
    """The current workspace."""
    from vastplan.commands import workspace

    ctx.exit(workspace.show(open_session(ctx, **flags)))


@workspace_group.command("list")
@common_options
@json_option("document", "As JSON.")
@click.pass_context
def workspace_list(ctx: click.Context, **flags: Any) -> None:
    """Every workspace of the stack; the current one is marked *."""
    from vastplan.commands import workspace

    ctx.exit(workspace.list_all(open_session(ctx, **flags)))


@workspace_group.command("new")
@common_options
@lock_timeout_option
@click.argument("name")
@click.pass_context
def workspace_new(ctx: click.Context, name: str, **flags: Any) -> None:
    """Make the workspace NAME (an empty state) and select it."""
    from vastplan.commands import workspace

    ctx.exit(workspace.new(open_session(ctx, **flags), name))


@workspace_group.command("select")
@common_options
@click.argument("name")
@click.pass_context
def workspace_select(ctx: click.Context, name: str, **flags: Any) -> None:
    """Work in NAME from now on, in this folder (CI passes --workspace or VASTPLAN_WORKSPACE instead)."""
    from vastplan.commands import workspace

    ctx.exit(workspace.select(open_session(ctx, **flags), name))


@workspace_group.command("delete")
@common_options
@lock_timeout_option
@click.option("--force", is_flag=True, help="Delete even though its state still holds objects (they keep billing).")
@click.argument("name")
@click.pass_context
def workspace_delete(ctx: click.Context, name: str, force: bool, **flags: Any) -> None:
    """Delete the workspace NAME; refused while its state holds objects."""
    from vastplan.commands import workspace

    ctx.exit(workspace.delete(open_session(ctx, **flags), name, force))
