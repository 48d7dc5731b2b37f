"""The command line: click only. Flags become Options, app runs the use case, errors become exit codes."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import click

from vastplan import __version__, app
from vastplan.errors import StackError, UsageError, VastplanError
from vastplan.render.human import HumanView
from vastplan.render.json import JsonPlanView, JsonStreamView
from vastplan.show import show_saved
from vastplan.workflow import DEFAULT_API_URL

DEFAULT_SANDBOX_DIR = ".vastplan/sandbox"
F = TypeVar("F", bound=Callable[..., Any])
AnyView = HumanView | JsonPlanView | JsonStreamView

JSON_FLAG = "--json"
_DOCUMENT_COMMANDS = frozenset({"plan", "show"})  # one JSON document
_OWN_JSON_COMMANDS = frozenset({"output", "offers", "state", "graph", "sandbox"})  # print their own JSON or none
_VALUE_OPTIONS = frozenset({"-f", "--file", "--state", "--api-url", "--api-key-file"})


def view_for(argv: Sequence[str]) -> AnyView:
    """The view the command line asks for, chosen before click parses anything, so that even a flag
    error comes out as JSON when ``--json`` is anywhere on the line."""
    args = list(argv[: argv.index("--")] if "--" in argv else argv)
    if JSON_FLAG not in args:
        return HumanView()
    command = next((a for i, a in enumerate(args)
                    if not a.startswith("-") and (i == 0 or args[i - 1] not in _VALUE_OPTIONS)), None)
    if command in _OWN_JSON_COMMANDS:
        return HumanView()
    # validate, apply, destroy, and anything unknown (its error comes out as a diagnostic event)
    return JsonPlanView() if command in _DOCUMENT_COMMANDS else JsonStreamView()


@dataclass
class Session:
    """What one invocation carries between click's contexts: its view and the group's common options."""

    view: AnyView = field(default_factory=HumanView)
    common: dict[str, Any] = field(default_factory=dict)

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


def _json(func: F) -> F:
    return click.option(JSON_FLAG, "json_output", is_flag=True,
                        help="Machine-readable output (see docs/json-format.md).")(func)


def _variables(func: F) -> F:
    func = click.option("--var", "variables", multiple=True, metavar="NAME=VALUE", help="Set a variable.")(func)
    return click.option("--var-file", "var_files", multiple=True, metavar="FILE",
                        help="Read variables from a YAML file.")(func)


def _options(ctx: click.Context, **given: Any) -> app.Options:
    """Merge the group's common options with the command's (the command's win)."""
    session = ctx.find_object(Session) or Session()
    merged = dict(session.common)
    merged.pop("json_output", None)
    given.pop("json_output", None)
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
    if isinstance(session.view, HumanView):
        session.view.colour = colour
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


def _view(ctx: click.Context) -> AnyView:
    session = ctx.find_object(Session)
    return session.view if session is not None else HumanView()


def _needs_auto_approve(verb: str, flags: dict[str, Any]) -> None:
    if flags.get("json_output") and not flags.get("auto_approve"):
        raise UsageError(f"{verb} --json needs --auto-approve: JSON mode never prompts "
                         "(or save a plan with `plan --out FILE` and `apply FILE`, which needs no approval)")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="vastplan")
@common_options
@click.pass_context
def cli(ctx: click.Context, **common: Any) -> None:
    """Desired-state plan / apply / destroy for Vast.ai GPU rentals."""
    ctx.ensure_object(Session).common = {k: v for k, v in common.items() if v not in (None, False)}


@cli.command()
@common_options
@_variables
@_json
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
@_json
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
@_json
@click.pass_context
def apply(ctx: click.Context, plan_file: str | None, **flags: Any) -> None:
    """Make the account match the stack (or carry out a saved PLANFILE); state is saved after every change."""
    if not plan_file:
        _needs_auto_approve("apply", flags)
    opts = _options(ctx, **flags)
    if plan_file:
        ctx.exit(app.apply_saved(opts, _view(ctx), plan_file))
    ctx.exit(app.apply(opts, _view(ctx)))


@cli.command()
@common_options
@_variables
@click.option("--auto-approve", is_flag=True, help="Destroy without asking for 'yes'.")
@click.option("--parallelism", type=click.IntRange(1, 256), default=10, show_default=True)
@_json
@click.pass_context
def destroy(ctx: click.Context, **flags: Any) -> None:
    """Destroy everything the state knows this stack made, in reverse dependency order."""
    _needs_auto_approve("destroy", flags)
    opts = _options(ctx, **flags)
    ctx.exit(app.apply(opts, _view(ctx), destroy=True))


@cli.command()
@common_options
@_json
@click.argument("plan_file", required=False, metavar="PLANFILE")
@click.pass_context
def show(ctx: click.Context, plan_file: str | None, **flags: Any) -> None:
    """Show a saved PLANFILE: the plan as text, or with --json the same document `plan --json` prints."""
    _options(ctx, **flags)
    if not plan_file:
        raise UsageError("show needs a PLANFILE (made with `vastplan plan --out PLANFILE`)")
    ctx.exit(show_saved(plan_file, _view(ctx)))


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
    args = list(sys.argv[1:] if argv is None else argv)
    view = view_for(args)
    try:
        return _run(args, view)
    finally:
        if not isinstance(view, HumanView):
            view.close()  # a plan document is printed once, at the end, errors included


def _run(args: list[str], view: AnyView) -> int:
    try:
        code = cli.main(args=args, prog_name="vastplan", standalone_mode=False, obj=Session(view))
    except click.exceptions.Exit as done:
        return int(done.exit_code)
    except click.exceptions.Abort:
        view.error(VastplanError("cancelled"))
        return 1
    except click.ClickException as exc:
        # Exit 1, not click's 2: with --detailed-exitcode, 2 means "changes".
        view.error(UsageError(exc.format_message()))
        return 1
    except StackError as exc:
        view.diagnostics(exc.diagnostics)
        return exc.exit_code
    except VastplanError as exc:
        view.error(exc)
        return exc.exit_code
    except KeyboardInterrupt:
        view.error(VastplanError("interrupted; the state holds every change completed so far"))
        return 130
    except Exception as exc:  # a bug: still one line, not a traceback
        view.error(VastplanError(f"internal error ({exc.__class__.__name__}: {exc}); please report it"))
        return 1
    return code if isinstance(code, int) else 0
