"""The command line: click only. Flags become Options, app runs the use case, errors become exit codes."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from vastplan import __version__, app
from vastplan.errors import StackError, UsageError, VastplanError
from vastplan.render.human import HumanView
from vastplan.workflow import DEFAULT_API_URL

DEFAULT_SANDBOX_DIR = ".vastplan/sandbox"
F = TypeVar("F", bound=Callable[..., Any])

# Options every command accepts, before or after its name (`vastplan -f x.yaml plan` = `vastplan plan -f x.yaml`).
_COMMON = [
    click.option("-f", "--file", "stack_file", metavar="STACK", help="The stack file. [default: vastplan.yaml]"),
    click.option("--state", "state_file", metavar="PATH",
                 help="The state file. [default: <stack file stem>.vpstate.json beside the stack]"),
    click.option("--api-url", envvar="VASTPLAN_API_URL", help=f"The Vast.ai API. [default: {DEFAULT_API_URL}]"),
    click.option("--api-key-file", metavar="PATH", help="Read the API key from this file (after VAST_API_KEY)."),
    click.option("--sandbox", "sandbox_dir", is_flag=False, flag_value=DEFAULT_SANDBOX_DIR, default=None,
                 envvar="VASTPLAN_SANDBOX", metavar="[DIR]",
                 help=f"Run against the built-in Vast.ai emulator, its cloud kept in DIR [{DEFAULT_SANDBOX_DIR}]."),
    click.option("--no-color", is_flag=True, default=False, help="No colour in the output."),
    click.option("-v", "--verbose", is_flag=True, default=False, help="Log each API request (never the key)."),
]


def common_options(func: F) -> F:
    for option in reversed(_COMMON):
        func = option(func)
    return func


def _variables(func: F) -> F:
    func = click.option("--var", "variables", multiple=True, metavar="NAME=VALUE", help="Set a variable.")(func)
    return click.option("--var-file", "var_files", multiple=True, metavar="FILE",
                        help="Read variables from a YAML file.")(func)


def _options(ctx: click.Context, **given: Any) -> app.Options:
    """Merge the group's common options with the command's (the command's win)."""
    merged = dict(ctx.obj or {})
    merged.update({k: v for k, v in given.items() if v not in (None, False, ())})
    variables: dict[str, str] = {}
    for item in merged.pop("variables", ()):
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise UsageError(f"--var takes NAME=VALUE, got {item!r}")
        variables[name.strip()] = value
    if merged.pop("verbose", False):
        logging.basicConfig(level=logging.DEBUG, format="%(name)s: %(message)s", stream=sys.stderr)
    colour = not merged.pop("no_color", False) and sys.stdout.isatty() and "NO_COLOR" not in os.environ
    ctx.meta["view"] = HumanView(colour=colour)
    return app.Options(
        stack_file=merged.pop("stack_file", None) or "vastplan.yaml",
        state_file=merged.pop("state_file", None),
        api_url=merged.pop("api_url", None) or DEFAULT_API_URL,
        api_key_file=merged.pop("api_key_file", None),
        sandbox_dir=merged.pop("sandbox_dir", None),
        variables=variables,
        var_files=tuple(merged.pop("var_files", ())),
        interactive=sys.stdin.isatty(),
        **merged,
    )


def _view(ctx: click.Context) -> HumanView:
    view = ctx.meta.get("view")
    return view if isinstance(view, HumanView) else HumanView()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="vastplan")
@common_options
@click.pass_context
def cli(ctx: click.Context, **common: Any) -> None:
    """Desired-state plan / apply / destroy for Vast.ai GPU rentals."""
    ctx.obj = {k: v for k, v in common.items() if v not in (None, False)}


@cli.command()
@common_options
@_variables
@click.pass_context
def validate(ctx: click.Context, **flags: Any) -> None:
    """Check the stack file (schema, references, variables); no network."""
    opts = _options(ctx, **flags)
    ctx.exit(app.validate(opts, _view(ctx)))


@cli.command()
@common_options
@_variables
@click.option("--detailed-exitcode", is_flag=True, help="Exit 0 for no changes, 1 for an error, 2 for changes.")
@click.option("--destroy", is_flag=True, help="Plan the destruction of everything in state.")
@click.option("--out", "out", metavar="FILE", help="Save the plan, to apply exactly it later with `apply FILE`.")
@click.pass_context
def plan(ctx: click.Context, destroy: bool, out: str | None, **flags: Any) -> None:
    """Show what apply would change, and what it would cost."""
    opts = _options(ctx, **flags)
    ctx.exit(app.plan(opts, _view(ctx), destroy=destroy, out=out))


@cli.command()
@common_options
@_variables
@click.option("--auto-approve", is_flag=True, help="Apply without asking for 'yes'.")
@click.option("--parallelism", type=click.IntRange(1, 256), default=10, show_default=True,
              help="At most this many API operations at once.")
@click.argument("plan_file", required=False, metavar="[PLANFILE]")
@click.pass_context
def apply(ctx: click.Context, plan_file: str | None, **flags: Any) -> None:
    """Make the account match the stack (or carry out a saved PLANFILE); state is saved after every change."""
    opts = _options(ctx, **flags)
    if plan_file:
        ctx.exit(app.apply_saved(opts, _view(ctx), plan_file))
    ctx.exit(app.apply(opts, _view(ctx)))


@cli.command()
@common_options
@_variables
@click.option("--auto-approve", is_flag=True, help="Destroy without asking for 'yes'.")
@click.option("--parallelism", type=click.IntRange(1, 256), default=10, show_default=True)
@click.pass_context
def destroy(ctx: click.Context, **flags: Any) -> None:
    """Destroy everything the state knows this stack made, in reverse dependency order."""
    opts = _options(ctx, **flags)
    ctx.exit(app.apply(opts, _view(ctx), destroy=True))


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
def sandbox_serve(host: str, port: int, data_dir: str, api_key: str | None, seed: int, machines: int,
                  boot_seconds: float, latency_ms: float) -> None:
    """Serve the emulator until interrupted; the first line printed is its base URL."""
    from pathlib import Path

    from vastplan.sandbox.server import serve

    serve(host, port, Path(data_dir), api_key, seed, boot_seconds, latency_ms, machines,
          lambda text: click.echo(text))


def main(argv: list[str] | None = None) -> None:
    """Entry point: every VastplanError becomes one message and its exit code, never a traceback."""
    sys.exit(run(argv))


def run(argv: list[str] | None = None) -> int:
    ctx_view = HumanView()
    try:
        code = cli.main(args=argv, prog_name="vastplan", standalone_mode=False)
    except click.exceptions.Exit as done:
        return int(done.exit_code)
    except click.exceptions.Abort:
        ctx_view.error(VastplanError("cancelled"))
        return 1
    except click.ClickException as exc:
        # Exit 1, not click's 2: with --detailed-exitcode, 2 means "changes".
        click.echo(f"error: {exc.format_message()}", err=True)
        return 1
    except StackError as exc:
        ctx_view.diagnostics(exc.diagnostics)
        return exc.exit_code
    except VastplanError as exc:
        ctx_view.error(exc)
        return exc.exit_code
    except KeyboardInterrupt:
        click.echo("\nInterrupted; the state holds every change completed so far.", err=True)
        return 130
    except Exception as exc:  # a bug: still one line, not a traceback
        click.echo(f"error: internal error ({exc.__class__.__name__}: {exc}); please report it", err=True)
        return 1
    return code if isinstance(code, int) else 0
