"""The command line: click only. Flags become Options, commands/ runs the use case, errors become exit codes."""

from __future__ import annotations

import sys
from typing import Any

import click

from vastplan import __version__
from vastplan.cli.completion import complete_address, register_completion_commands
from vastplan.cli.cost import register_cost_commands
from vastplan.cli.explore import register_explore_commands
from vastplan.cli.fmt import fmt_command
from vastplan.cli.habits import terraform_spellings
from vastplan.cli.logs import register_logs_commands
from vastplan.cli.options import (
    DEFAULT_SANDBOX_DIR,
    JSON_VIEWS,
    Group,
    Invocation,
    build_options,
    common_options,
    json_option,
    lock_timeout_option,
    open_session,
    require_auto_approve,
    selection_options,
    stop_logging,
    variable_options,
    view_of,
)
from vastplan.cli.state import register_state_commands
from vastplan.cli.workspace import workspace_group
from vastplan.errors import StackError, UsageError, VastplanError


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="vastplan")
@common_options
@click.pass_context
def cli(ctx: click.Context, **common: Any) -> None:
    """Desired-state plan / apply / destroy for Vast.ai GPU rentals."""
    ctx.ensure_object(Invocation).common = {k: v for k, v in common.items() if v not in (None, False)}


@cli.command()
@common_options
@variable_options
@json_option("stream")
@click.pass_context
def validate(ctx: click.Context, **flags: Any) -> None:
    """Check the stack file (schema, references, variables); no network."""
    from vastplan.stack import load_stack  # not commands.pipeline: validate needs no HTTP client (start-up time)

    opts = build_options(ctx, **flags)
    stack = load_stack(opts.stack_file, opts.variables, opts.var_files, opts.workspace, opts.environ,
                      opts.schema_cache)
    view_of(ctx).validated(opts.stack_file, len(stack.resources))
    ctx.exit(0)


@cli.command()
@common_options
@variable_options
@click.option("--detailed-exitcode", is_flag=True, help="Exit 0 for no changes, 1 for an error, 2 for changes.")
@click.option("--destroy", is_flag=True, help="Plan the destruction of everything in state.")
@click.option("--out", "out", metavar="FILE", help="Save the plan, to apply exactly it later with `apply FILE`.")
@selection_options
@json_option("plan")
@click.pass_context
def plan(ctx: click.Context, destroy: bool, out: str | None, **flags: Any) -> None:
    """Show what apply would change, and what it would cost."""
    from vastplan.commands import pipeline as app

    session = open_session(ctx, **flags)
    if session.opts.refresh_only:
        ctx.exit(app.refresh_only(session, write=False))
    ctx.exit(app.plan(session, destroy=destroy, out=out))


@cli.command()
@common_options
@variable_options
@click.option("--auto-approve", is_flag=True, help="Apply without asking for 'yes'.")
@click.option("--parallelism", type=click.IntRange(1, 256), default=10, show_default=True,
              help="At most this many API operations at once.")
@click.option("--adopt", is_flag=True,
              help="First take into state the objects that carry this stack's marker but that the state lacks.")
@click.option("--destroy", is_flag=True, help="Destroy everything the state knows (the same as `vastplan destroy`).")
@click.argument("plan_file", required=False, metavar="[PLANFILE]")
@selection_options
@json_option("stream")
@click.pass_context
def apply(ctx: click.Context, plan_file: str | None, **flags: Any) -> None:
    """Make the account match the stack (or carry out a saved PLANFILE); state is saved after every change."""
    from vastplan.commands import pipeline as app

    destroy = flags.pop("destroy", False)
    if plan_file and (flags.get("adopt") or destroy):
        raise UsageError(f"--{'adopt' if flags.get('adopt') else 'destroy'} cannot be used with a saved plan "
                         "(a saved plan already says what it does)")
    if flags.get("adopt") and flags.get("refresh") is False:
        raise UsageError("--adopt finds the objects in the account: it cannot be used with --no-refresh")
    if not plan_file:
        require_auto_approve("apply", flags)
    session = open_session(ctx, **flags)
    if plan_file:
        ctx.exit(app.apply_saved(session, plan_file))
    if session.opts.refresh_only:
        ctx.exit(app.refresh_only(session, write=True))
    ctx.exit(app.apply(session, destroy=destroy))


@cli.command()
@common_options
@variable_options
@click.option("--auto-approve", is_flag=True, help="Destroy without asking for 'yes'.")
@click.option("--parallelism", type=click.IntRange(1, 256), default=10, show_default=True)
@lock_timeout_option
@click.option("--target", "targets", multiple=True, metavar="ADDR", shell_complete=complete_address,
              help="Only destroy this (and its dependents).")
@json_option("stream")
@click.pass_context
def destroy(ctx: click.Context, **flags: Any) -> None:
    """Destroy everything the state knows this stack made, in reverse dependency order."""
    from vastplan.commands import pipeline as app

    require_auto_approve("destroy", flags)
    ctx.exit(app.apply(open_session(ctx, **flags), destroy=True))


@cli.command()
@common_options
@variable_options
@click.option("--auto-approve", is_flag=True, help="Destroy without asking for 'yes'.")
@lock_timeout_option
@click.pass_context
def reap(ctx: click.Context, **flags: Any) -> None:
    """Destroy only the instances whose ttl ran out (for a scheduled job); exit 0 when none did."""
    from vastplan.commands import pipeline as app

    ctx.exit(app.reap(open_session(ctx, **flags)))


@cli.command()
@common_options
@json_option("plan")
@click.argument("plan_file", required=False, metavar="PLANFILE")
@click.pass_context
def show(ctx: click.Context, plan_file: str | None, **flags: Any) -> None:
    """Show the state (every object and output), or a saved PLANFILE; --json as a document
    (for a plan, the one `plan --json` prints)."""
    from vastplan.commands.show import show_saved, show_state

    if not plan_file:
        if flags.get("json_output"):  # the state's own document, not a plan's
            ctx.ensure_object(Invocation).view = JSON_VIEWS["document"]()
        ctx.exit(show_state(open_session(ctx, **flags)))
    ctx.exit(show_saved(open_session(ctx, **flags), plan_file))


@cli.group()
def sandbox() -> None:
    """The built-in Vast.ai emulator."""


@sandbox.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=0, show_default=True, help="0 picks a free port.")
@click.option("--data", "data_dir", default=DEFAULT_SANDBOX_DIR, show_default=True,
              help="Where the emulated cloud is kept.")
@click.option("--api-key", default=None, help="Accept only this key. [default: any non-empty key]")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the marketplace.")
@click.option("--machines", type=click.IntRange(1, 100_000), default=60, show_default=True)
@click.option("--boot-seconds", type=float, default=3.0, show_default=True)
@click.option("--latency-ms", type=float, default=0.0, show_default=True)
@click.option("--strict", is_flag=True, help="Answer 400 to requests that break Vast.ai's published API spec.")
@click.pass_context
def sandbox_serve(ctx: click.Context, host: str, port: int, data_dir: str, api_key: str | None, seed: int,
                  machines: int, boot_seconds: float, latency_ms: float, strict: bool) -> None:
    """Serve the emulator until interrupted; the first line printed is its base URL."""
    from pathlib import Path

    from vastsandbox.server import serve

    try:
        serve(host, port, Path(data_dir), api_key, seed, boot_seconds, latency_ms, machines,
              lambda text: view_of(ctx).line(text), strict=strict)
    except OSError as exc:  # the port is taken, the host is not ours, the data dir cannot be written
        raise UsageError(f"cannot serve the sandbox on {host}:{port}: {exc.strerror or exc}") from exc


register_state_commands(cli)
register_cost_commands(cli)
register_explore_commands(cli)
register_logs_commands(cli)
register_completion_commands(cli)
cli.add_command(workspace_group)
cli.add_command(fmt_command)


def main(argv: list[str] | None = None) -> None:
    """Entry point: every VastplanError becomes one message and its exit code, never a traceback."""
    sys.exit(run(argv))


def run(argv: list[str] | None = None) -> int:
    # Bare `vastplan` is a request for help (exit 0), not a usage error; Terraform's -option spellings too.
    args = terraform_spellings(cli, list(sys.argv[1:] if argv is None else argv)) or ["--help"]
    invocation = Invocation()
    try:
        return _run(args, invocation)
    finally:
        invocation.view.close()  # a plan document is printed once, at the end, errors included
        if invocation.verbose:
            stop_logging()


def _run(args: list[str], invocation: Invocation) -> int:
    # invocation.view is read only once something is to be shown: the command's flags may have chosen JSON.
    try:
        code = cli.main(args=args, prog_name="vastplan", standalone_mode=False, obj=invocation)
    except click.exceptions.Exit as done:
        return int(done.exit_code)
    except click.exceptions.Abort as abort:
        if isinstance(abort.__cause__ or abort.__context__, KeyboardInterrupt):  # click turns Ctrl-C into Abort
            invocation.view.error(VastplanError("interrupted; the state holds every change completed so far"))
            return 130
        invocation.view.error(VastplanError("cancelled"))
        return 1
    except click.ClickException as exc:
        # Exit 1, not click's 2: with --detailed-exitcode, 2 means "changes".
        invocation.view.error(UsageError(exc.format_message()))
        return 1
    except StackError as exc:
        invocation.view.diagnostics(exc.diagnostics)
        return exc.exit_code
    except VastplanError as exc:
        invocation.view.error(exc)
        return exc.exit_code
    except KeyboardInterrupt:
        invocation.view.error(VastplanError("interrupted; the state holds every change completed so far"))
        return 130
    except Exception as exc:  # a bug: one line; -v adds its traceback on stderr
        if invocation.verbose:
            import traceback

            traceback.print_exception(exc, file=sys.stderr)
        invocation.view.error(VastplanError(f"internal error ({exc.__class__.__name__}: {exc}); please report it"))
        return 1
    return code if isinstance(code, int) else 0
