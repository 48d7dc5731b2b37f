"""Shell completion (click's): ``vastplan completion bash|zsh|fish`` prints the script, ``schema``
prints the stack schema, and the addresses a command takes are completed from the state."""

from __future__ import annotations

from typing import Any

import click
from click.shell_completion import CompletionItem, get_completion_class

SHELLS = ("bash", "zsh", "fish")
COMPLETE_VAR = "_VASTPLAN_COMPLETE"


def _given(ctx: click.Context | None, name: str) -> Any:
    """A common option's value as typed so far, on the command or on the group before it."""
    while ctx is not None:
        if ctx.params.get(name):
            return ctx.params[name]
        ctx = ctx.parent
    return None


def complete_address(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """The state's addresses that start with what was typed; none when there is no readable state."""
    from vastplan.commands.options import Options
    from vastplan.commands.session import Session
    from vastplan.commands.workspace import selected
    from vastplan.render.human import HumanView

    stack_file = _given(ctx, "stack_file") or "vastplan.yaml"
    try:
        opts = Options(stack_file=stack_file, state_file=_given(ctx, "state_file"),
                       workspace=_given(ctx, "workspace") or selected(stack_file))
        state = Session(opts, HumanView()).backend.read()
    except Exception:  # completion must never print an error into the user's command line
        return []
    addresses = sorted(state.resources) if state else []
    return [CompletionItem(address) for address in addresses if address.startswith(incomplete)]


@click.command("completion")
@click.argument("shell", type=click.Choice(SHELLS))
@click.pass_context
def completion_command(ctx: click.Context, shell: str) -> None:
    """Print the completion script for SHELL, e.g. `eval "$(vastplan completion bash)"` in ~/.bashrc."""
    script_class = get_completion_class(shell)
    assert script_class is not None  # click ships all three SHELLS
    click.echo(script_class(ctx.find_root().command, {}, "vastplan", COMPLETE_VAR).source())
    ctx.exit(0)


@click.command("schema")
@click.option("--path", "path_only", is_flag=True, help="Print only where the schema file is.")
@click.pass_context
def schema_command(ctx: click.Context, path_only: bool) -> None:
    """Print the stack file's JSON Schema (for an editor: `# yaml-language-server: $schema=PATH`)."""
    from vastplan.stack.schema import schema_path

    path = schema_path()
    click.echo(str(path) if path_only else path.read_text("utf-8").rstrip("\n"))
    ctx.exit(0)


def register_completion_commands(cli: click.Group) -> None:
    for command in (completion_command, schema_command):
        cli.add_command(command)
