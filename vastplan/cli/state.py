"""Commands that work on the state: state list/show/rm/mv/unprotect, import, output, force-unlock."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import TYPE_CHECKING, Any

import click

from vastplan.cli.completion import complete_address
from vastplan.cli.options import (
    Command,
    Group,
    common_options,
    json_option,
    lock_timeout_option,
    open_session,
    variable_options,
)

if TYPE_CHECKING:
    from vastplan.commands.session import Session


def _commands() -> ModuleType:
    """Imported when a command runs, so that `vastplan --version` stays instant."""
    from vastplan.commands import state as state_commands

    return state_commands


def _locked(session: Session, operation: str, run: Callable[[], int]) -> int:
    with session.locked(operation):
        return run()


@click.group("state", cls=Group)
def state_group() -> None:
    """Inspect and edit the state without touching the account (each edit keeps a .backup)."""


@state_group.command("list")
@common_options
@click.pass_context
def state_list(ctx: click.Context, **flags: Any) -> None:
    """Every address in the state, with its id."""
    ctx.exit(_commands().state_list(open_session(ctx, **flags)))


@state_group.command("show")
@common_options
@click.argument("address", shell_complete=complete_address)
@click.pass_context
def state_show(ctx: click.Context, address: str, **flags: Any) -> None:
    """One resource as the state records it (sensitive values redacted)."""
    ctx.exit(_commands().state_show(open_session(ctx, **flags), address))


@state_group.command("rm")
@common_options
@lock_timeout_option
@click.argument("address", shell_complete=complete_address)
@click.pass_context
def state_rm(ctx: click.Context, address: str, **flags: Any) -> None:
    """Forget ADDRESS: vastplan stops managing it; the object stays in the account."""
    session = open_session(ctx, **flags)
    ctx.exit(_locked(session, "state rm", lambda: _commands().state_rm(session, address)))


@state_group.command("mv")
@common_options
@lock_timeout_option
@click.argument("source", shell_complete=complete_address)
@click.argument("target")
@click.pass_context
def state_mv(ctx: click.Context, source: str, target: str, **flags: Any) -> None:
    """Rename SOURCE to TARGET in state, so that renaming it in the stack does not replace it."""
    session = open_session(ctx, **flags)
    ctx.exit(_locked(session, "state mv", lambda: _commands().state_mv(session, source, target)))


@state_group.command("unprotect")
@common_options
@lock_timeout_option
@click.argument("address", shell_complete=complete_address)
@click.pass_context
def state_unprotect(ctx: click.Context, address: str, **flags: Any) -> None:
    """Drop the prevent_destroy protection state keeps for ADDRESS."""
    session = open_session(ctx, **flags)
    ctx.exit(_locked(session, "state unprotect", lambda: _commands().state_unprotect(session, address)))


@click.command("import", cls=Command)
@common_options
@variable_options
@lock_timeout_option
@click.argument("address")
@click.argument("object_id", metavar="ID")
@click.pass_context
def import_command(ctx: click.Context, address: str, object_id: str, **flags: Any) -> None:
    """Adopt the existing Vast.ai object ID as ADDRESS (which the stack must declare)."""
    session = open_session(ctx, **flags)
    ctx.exit(_locked(session, "import", lambda: _commands().import_object(session, address, object_id)))


@click.command("output", cls=Command)
@common_options
@json_option("document", "As JSON.")
@click.option("--show-sensitive", is_flag=True, help="Print sensitive outputs too.")
@click.option("--raw", is_flag=True, help="NAME's value alone, unquoted, for a script (sensitive ones too).")
@click.argument("name", required=False)
@click.pass_context
def output_command(ctx: click.Context, name: str | None, show_sensitive: bool, raw: bool, **flags: Any) -> None:
    """The stack's outputs as of the last apply (e.g. SSH commands); sensitive ones hidden unless asked."""
    ctx.exit(_commands().output(open_session(ctx, **flags), name, show_sensitive, raw))


def _taint_command(name: str, tainted: bool, doc: str) -> click.Command:
    @click.command(name, cls=Command, help=doc)
    @common_options
    @lock_timeout_option
    @click.argument("address", shell_complete=complete_address)
    @click.pass_context
    def command(ctx: click.Context, address: str, **flags: Any) -> None:
        session = open_session(ctx, **flags)
        ctx.exit(_locked(session, name, lambda: _commands().taint(session, address, tainted)))

    return command


taint_command = _taint_command("taint", True, "Mark ADDRESS to be replaced by the next apply (state only).")
untaint_command = _taint_command("untaint", False, "Keep ADDRESS after all: the next plan no longer replaces it.")


@click.command("force-unlock", cls=Command)
@common_options
@click.option("--force", is_flag=True, help="Remove the lock even if its holder still runs.")
@click.argument("lock_id", metavar="ID")
@click.pass_context
def force_unlock_command(ctx: click.Context, lock_id: str, force: bool, **flags: Any) -> None:
    """Remove the state lock ID left by a process that is gone."""
    session = open_session(ctx, **flags)
    info = session.backend.force_unlock(lock_id, force=force)
    session.view.line(f"Removed the lock {info.id} ({info.describe()}).")
    ctx.exit(0)


@click.command("orphans", cls=Command)
@common_options
@variable_options
@click.option("--destroy", is_flag=True, help="Destroy them (after confirmation) and check they are gone.")
@click.option("--auto-approve", is_flag=True, help="Destroy without asking for 'yes'.")
@click.pass_context
def orphans_command(ctx: click.Context, destroy: bool, **flags: Any) -> None:
    """Objects carrying this stack's marker that the state does not know; they bill all the same."""
    from vastplan.commands.orphans import orphans

    ctx.exit(orphans(open_session(ctx, **flags), destroy))


def register_state_commands(cli: click.Group) -> None:
    for command in (state_group, import_command, output_command, force_unlock_command, orphans_command,
                    taint_command, untaint_command):
        cli.add_command(command)


def _backend_commands() -> ModuleType:
    from vastplan.commands import backend

    return backend


@state_group.command("pull")
@common_options
@json_option("document", "As JSON (the same document).")
@click.pass_context
def state_pull(ctx: click.Context, **flags: Any) -> None:
    """Print the whole state from its backend (sensitive values are stored redacted)."""
    ctx.exit(_backend_commands().pull(open_session(ctx, **flags)))


@state_group.command("push")
@common_options
@lock_timeout_option
@click.option("--force", is_flag=True, help="Replace it even with another lineage or an older serial.")
@click.argument("path", metavar="FILE")
@click.pass_context
def state_push(ctx: click.Context, path: str, force: bool, **flags: Any) -> None:
    """Replace the backend's state with FILE (its lineage and serial kept, checked as Terraform does)."""
    session = open_session(ctx, **flags)
    ctx.exit(_locked(session, "state push", lambda: _backend_commands().push(session, path, force=force)))


@state_group.command("history")
@common_options
@json_option("document", "As JSON.")
@click.pass_context
def state_history(ctx: click.Context, **flags: Any) -> None:
    """The versions of the state the backend keeps, newest first."""
    ctx.exit(_backend_commands().history(open_session(ctx, **flags)))


@state_group.command("migrate")
@common_options
@lock_timeout_option
@click.option("--to", "target", required=True, metavar="URL",
              help="The backend to copy the state to: postgresql://USER@HOST/DB or a file path.")
@click.pass_context
def state_migrate(ctx: click.Context, target: str, **flags: Any) -> None:
    """Copy the state to another backend, lineage and serial kept."""
    session = open_session(ctx, **flags)
    timeout = session.opts.lock_timeout
    ctx.exit(_locked(session, "state migrate",
                     lambda: _backend_commands().migrate(session, target, lock_timeout=timeout)))
