"""The plumbing every command shares: the view chosen from argv, the common options accepted before or
after a command's name, and their merge into Options."""

from __future__ import annotations

import logging
import math
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import click

from vastplan.errors import UsageError
from vastplan.options import DEFAULT_API_URL, Options
from vastplan.render.human import HumanView
from vastplan.render.json import JsonPlanView, JsonStreamView

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


def json_option(func: F) -> F:
    return click.option(JSON_FLAG, "json_output", is_flag=True,
                        help="Machine-readable output (see docs/json-format.md).")(func)


def variable_options(func: F) -> F:
    func = click.option("--var", "variables", multiple=True, metavar="NAME=VALUE", help="Set a variable.")(func)
    return click.option("--var-file", "var_files", multiple=True, metavar="FILE",
                        help="Read variables from a YAML file.")(func)


def build_options(ctx: click.Context, **given: Any) -> Options:
    """Merge the group's common options with the command's (the command's win)."""
    session = ctx.find_object(Session) or Session()
    merged = dict(session.common)
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
        _log_to_stderr()
    colour = not merged.pop("no_color", False) and sys.stdout.isatty() and "NO_COLOR" not in os.environ
    if isinstance(session.view, HumanView):
        session.view.colour = colour
    return Options(
        stack_file=merged.pop("stack_file", None) or "vastplan.yaml",
        state_file=merged.pop("state_file", None),
        api_url=merged.pop("api_url", None) or DEFAULT_API_URL,
        api_key_file=merged.pop("api_key_file", None),
        sandbox_dir=merged.pop("sandbox_dir", None),
        variables=variables,
        var_files=tuple(merged.pop("var_files", ())),
        interactive=sys.stdin.isatty(),
        targets=tuple(merged.pop("targets", ())),
        excludes=tuple(merged.pop("excludes", ())),
        replace=tuple(merged.pop("replace", ())),
        refresh=refresh,
        **merged,
    )


def view_of(ctx: click.Context) -> AnyView:
    session = ctx.find_object(Session)
    return session.view if session is not None else HumanView()


def require_auto_approve(verb: str, flags: dict[str, Any]) -> None:
    if flags.get("json_output") and not flags.get("auto_approve"):
        raise UsageError(f"{verb} --json needs --auto-approve: JSON mode never prompts "
                         "(or save a plan with `plan --out FILE` and `apply FILE`, which needs no approval)")


def selection_options(func: F) -> F:
    """--target / --exclude / --replace / --refresh, shared by plan and apply."""
    func = click.option("--target", "targets", multiple=True, metavar="ADDR",
                        help="Only this resource (and what it depends on). Repeatable.")(func)
    func = click.option("--exclude", "excludes", multiple=True, metavar="ADDR",
                        help="Leave out this resource (and what depends on it). Repeatable.")(func)
    func = click.option("--replace", "replace", multiple=True, metavar="ADDR",
                        help="Replace this resource even if nothing changed. Repeatable.")(func)
    func = click.option("--refresh/--no-refresh", "refresh", default=True, show_default=True,
                        help="Read the account first (--refresh=false trusts the state).")(func)
    func = click.option("--refresh-only", "refresh_only", is_flag=True,
                        help="Only bring the state up to date with the account; change nothing in it.")(func)
    return lock_timeout_option(func)


class Seconds(click.ParamType):
    """A finite number of seconds from 0 to ``most``: click's FLOAT takes nan, inf and -1."""

    name = "seconds"

    def __init__(self, most: float):
        self.most = most

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> float:
        try:
            seconds = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            seconds = math.nan
        if not (math.isfinite(seconds) and 0 <= seconds <= self.most):
            self.fail(f"{value!r} is not a number of seconds from 0 to {self.most:g}", param, ctx)
        return seconds


def lock_timeout_option(func: F) -> F:
    """--lock-timeout, for every command that writes the state."""
    return click.option("--lock-timeout", "lock_timeout", type=Seconds(86400), default=0.0, show_default=True,
                        metavar="SECONDS", help="Wait this long for another command's lock on the state.")(func)


def stop_logging() -> None:
    """Undo -v (``_log_to_stderr``)."""
    logger = logging.getLogger("vastplan")
    for handler in [h for h in logger.handlers if getattr(h, "vastplan_verbose", False)]:
        logger.removeHandler(handler)
        logger.setLevel(logging.NOTSET)


def _log_to_stderr() -> None:
    """-v: vastplan's own loggers (requests, retries; never headers, so never the key) to stderr."""
    logger = logging.getLogger("vastplan")
    for handler in [h for h in logger.handlers if getattr(h, "vastplan_verbose", False)]:
        logger.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
    handler.vastplan_verbose = True  # type: ignore[attr-defined]
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
