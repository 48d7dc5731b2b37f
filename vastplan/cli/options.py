"""The plumbing every command shares: the view chosen from the parsed flags, the common options
accepted before or after a command's name, their merge into Options, and the command's Session."""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import click

from vastplan.cli.completion import complete_address
from vastplan.commands.options import DEFAULT_API_URL, Options
from vastplan.errors import UsageError
from vastplan.render.human import HumanView, colour_wanted
from vastplan.render.json import JsonDocumentView, JsonPlanView, JsonReportView, JsonStreamView

if TYPE_CHECKING:
    from vastplan.commands.session import Session

DEFAULT_SANDBOX_DIR = ".vastplan/sandbox"
F = TypeVar("F", bound=Callable[..., Any])
AnyView = HumanView | JsonPlanView | JsonStreamView

JSON_FLAG = "--json"


# What ``--json`` means for a command: one plan document, an event stream, or the query's own document
# (its errors as text: "document"; as stream events: "report").
JSON_VIEWS: dict[str, Callable[[], AnyView]] = {"plan": JsonPlanView, "stream": JsonStreamView,
                                                 "document": JsonDocumentView, "report": JsonReportView}


@dataclass
class Invocation:
    """What one run of the CLI carries between click's contexts: the view (human until a command's
    parsed flags ask for JSON), the group's common options, and whether -v was given."""

    view: AnyView = field(default_factory=HumanView)
    common: dict[str, Any] = field(default_factory=dict)
    verbose: bool = False


class Command(click.Command):
    """A click command that chooses its view from its own parsed flags before it reports a flag
    error, so that ``plan --json --bogus`` answers in JSON (Terraform builds its view first too)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        invocation = ctx.find_object(Invocation)
        shape = getattr(self.callback, "json_view", None)
        if invocation is not None and shape is not None and _json_given(self, ctx, args):
            invocation.view = JSON_VIEWS[shape]()
        return super().parse_args(ctx, args)


def _json_given(command: click.Command, ctx: click.Context, args: list[str]) -> bool:
    """Whether click's parser, told to pass over unknown options, finds ``--json`` among ``args``."""
    parser = command.make_parser(ctx)
    parser.ignore_unknown_options = True
    try:
        found, _, _ = parser.parse_args(args=list(args))
    except click.UsageError:  # e.g. an option missing its value: no view can be read from this line
        return False
    return found.get("json_output") is True


class Group(click.Group):
    command_class = Command
    group_class = type


# Options every command accepts, before or after its name (`vastplan -f x.yaml plan` = `vastplan plan -f x.yaml`).
_COMMON = [
    click.option("-f", "--file", "stack_file", metavar="STACK", help="The stack file. [default: vastplan.yaml]"),
    click.option("--state", "state_file", metavar="PATH",
                 help="The state file. [default: <stack file stem>.vpstate.json beside the stack]"),
    click.option("--workspace", "workspace", envvar="VASTPLAN_WORKSPACE", metavar="NAME",
                 help="Work in this workspace. [default: the one `workspace select` chose here, else default]"),
    click.option("--backend", "backend", envvar="VASTPLAN_BACKEND", metavar="URL",
                 help="Where state lives: postgresql://USER@HOST/DB (password from PGPASSWORD or ~/.pgpass) "
                      "or a file path. [default: the stack's backend: block, else --state]"),
    click.option("--api-url", envvar="VASTPLAN_API_URL",
                 help=f"The Vast.ai API (else VAST_URL, as the official CLI reads it). [default: {DEFAULT_API_URL}]"),
    click.option("--api-key-file", metavar="PATH",
                 help="Read the API key from this file (after VAST_API_KEY; else the official CLI's "
                      "~/.config/vastai/vast_api_key or ~/.vast_api_key)."),
    click.option("--sandbox", "sandbox_dir", is_flag=False, flag_value=DEFAULT_SANDBOX_DIR, default=None,
                 envvar="VASTPLAN_SANDBOX", metavar="[DIR]",
                 help=f"Run against the built-in Vast.ai emulator, its cloud kept in DIR [{DEFAULT_SANDBOX_DIR}]."),
    click.option("--no-color", is_flag=True, default=False, help="No colour in the output."),
    click.option("--no-input", is_flag=True, default=False,
                 help="Never prompt (Terraform's -input=false): apply and destroy then need --auto-approve."),
    click.option("-v", "--verbose", is_flag=True, default=False,
                 help="Log each API request (never the key); show an internal error's traceback."),
]


def common_options(func: F) -> F:
    for option in reversed(_COMMON):
        func = option(func)
    return func


def json_option(shape: str, help_text: str = "Machine-readable output (see docs/json-format.md).") -> Callable[[F], F]:
    """``--json``, and what it means for this command (a key of JSON_VIEWS)."""
    def decorate(func: F) -> F:
        func.json_view = shape  # type: ignore[attr-defined]
        return click.option(JSON_FLAG, "json_output", is_flag=True, help=help_text)(func)

    return decorate


def variable_options(func: F) -> F:
    func = click.option("--var", "variables", multiple=True, metavar="NAME=VALUE", help="Set a variable.")(func)
    return click.option("--var-file", "var_files", multiple=True, metavar="FILE",
                        help="Read variables from a YAML file.")(func)


def build_options(ctx: click.Context, **given: Any) -> Options:
    """Merge the group's common options with the command's (the command's win)."""
    invocation = ctx.find_object(Invocation) or Invocation()
    merged = dict(invocation.common)
    merged.pop("json_output", None)
    given.pop("json_output", None)
    if given.get("refresh") is False:
        given["refresh_off"] = True  # False is otherwise dropped as "not given"
    merged.update({k: v for k, v in given.items() if v not in (None, False, ())})
    merged.pop("refresh", None)
    refresh = not merged.pop("refresh_off", False)
    variables: dict[str, str] = {}
    for item in merged.pop("variables", ()):
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise UsageError(f"--var takes NAME=VALUE, got {item!r}")
        variables[name.strip()] = value
    if merged.pop("verbose", False):
        invocation.verbose = True
        _log_to_stderr()
    interactive = not merged.pop("no_input", False) and sys.stdin.isatty()
    colour = colour_wanted(merged.pop("no_color", False), sys.stdout.isatty(), os.environ)
    if isinstance(invocation.view, HumanView):
        invocation.view.colour = colour
    stack_file = merged.pop("stack_file", None) or "vastplan.yaml"
    return Options(
        stack_file=stack_file,
        workspace=_workspace(merged.pop("workspace", None), stack_file),
        state_file=merged.pop("state_file", None),
        # vastplan's own --api-url / VASTPLAN_API_URL win; then the official CLI's VAST_URL (an empty one
        # counts as unset there too: `os.getenv("VAST_URL") or default` in vastai/api/client.py).
        api_url=merged.pop("api_url", None) or os.environ.get("VAST_URL") or DEFAULT_API_URL,
        api_key_file=merged.pop("api_key_file", None),
        sandbox_dir=merged.pop("sandbox_dir", None),
        variables=variables,
        var_files=tuple(merged.pop("var_files", ())),
        environ={k: v for k, v in os.environ.items() if k.startswith("VASTPLAN_VAR_")},
        interactive=interactive,
        lock=not merged.pop("no_lock", False),
        targets=tuple(merged.pop("targets", ())),
        excludes=tuple(merged.pop("excludes", ())),
        replace=tuple(merged.pop("replace", ())),
        refresh=refresh,
        **merged,
    )


def _workspace(given: str | None, stack_file: str) -> str:
    from vastplan.commands.workspace import check_name, selected

    return check_name(given) if given else selected(stack_file)


def view_of(ctx: click.Context) -> AnyView:
    invocation = ctx.find_object(Invocation)
    return invocation.view if invocation is not None else HumanView()


def open_session(ctx: click.Context, **flags: Any) -> Session:
    """The command's one Session: its Options merged from the flags, and the view they chose."""
    from vastplan.commands.session import Session

    opts = build_options(ctx, **flags)
    return Session(opts, view_of(ctx))


def require_auto_approve(verb: str, flags: dict[str, Any]) -> None:
    if flags.get("json_output") and not flags.get("auto_approve"):
        raise UsageError(f"{verb} --json needs --auto-approve: JSON mode never prompts "
                         "(or save a plan with `plan --out FILE` and `apply FILE`, which needs no approval)")


def selection_options(func: F) -> F:
    """--target / --exclude / --replace / --refresh, shared by plan and apply."""
    func = click.option("--target", "targets", multiple=True, metavar="ADDR", shell_complete=complete_address,
                        help="Only this resource (and what it depends on). Repeatable.")(func)
    func = click.option("--exclude", "excludes", multiple=True, metavar="ADDR", shell_complete=complete_address,
                        help="Leave out this resource (and what depends on it). Repeatable.")(func)
    func = click.option("--replace", "replace", multiple=True, metavar="ADDR", shell_complete=complete_address,
                        help="Replace this resource even if nothing changed. Repeatable.")(func)
    func = click.option("--refresh/--no-refresh", "refresh", default=True, show_default=True,
                        help="Read the account first (--no-refresh, or -refresh=false, trusts the state).")(func)
    func = click.option("--refresh-only", "refresh_only", is_flag=True,
                        help="Only bring the state up to date with the account; change nothing in it.")(func)
    return lock_timeout_option(func)


class Seconds(click.ParamType):
    """A finite number of seconds from 0 to ``most``, bare or as Terraform writes it (``30s``, ``5m``):
    click's FLOAT takes nan, inf and -1."""

    name = "seconds"

    def __init__(self, most: float):
        self.most = most

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> float:
        text = str(value).strip().lower()
        scale = {"s": 1, "m": 60, "h": 3600}.get(text[-1:], 0)
        try:
            seconds = float(text[:-1] if scale else text) * (scale or 1)
        except (TypeError, ValueError):
            seconds = math.nan
        if not (math.isfinite(seconds) and 0 <= seconds <= self.most):
            self.fail(f"{value!r} is not a number of seconds from 0 to {self.most:g}", param, ctx)
        return seconds


def lock_timeout_option(func: F) -> F:
    """--lock-timeout and --no-lock, for every command that writes the state."""
    func = click.option("--no-lock", "no_lock", is_flag=True,
                        help="Do not take the state lock (Terraform's -lock=false); a write still refuses to "
                             "replace a newer state.")(func)
    return click.option("--lock-timeout", "lock_timeout", type=Seconds(86400), default=0.0, show_default=True,
                        metavar="SECONDS", help="Wait this long for another command's lock on the state.")(func)


def stop_logging() -> None:
    """Undo -v (``_log_to_stderr``)."""
    import logging

    logger = logging.getLogger("vastplan")
    for handler in [h for h in logger.handlers if getattr(h, "vastplan_verbose", False)]:
        logger.removeHandler(handler)
        logger.setLevel(logging.NOTSET)


def _log_to_stderr() -> None:
    """-v: vastplan's own loggers (requests, retries; never headers, so never the key) to stderr."""
    import logging

    stop_logging()
    logger = logging.getLogger("vastplan")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
    handler.vastplan_verbose = True  # type: ignore[attr-defined]
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)

