"""The use cases: validate, plan, apply, destroy. They wire loader, client, refresh, diff, executor
and state together; the CLI only parses flags into Options and hands over a view."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

from vastplan.api.client import VastClient
from vastplan.api.credentials import KeySources, find_api_key
from vastplan.diagnostics import Diagnostic
from vastplan.diff import diff
from vastplan.errors import ApplyError, ConfirmationRequired, StackError, StateError
from vastplan.executor import Executor
from vastplan.plan import Plan
from vastplan.refresh import refresh
from vastplan.render.human import HumanView
from vastplan.resources import KINDS
from vastplan.resources.base import Planning
from vastplan.stack.model import Stack
from vastplan.state import LocalStateFile, State

EXIT_OK, EXIT_ERROR, EXIT_CHANGES = 0, 1, 2
DEFAULT_API_URL = "https://console.vast.ai"


@dataclass(frozen=True)
class Options:
    stack_file: str = "vastplan.yaml"
    state_file: str | None = None
    api_url: str = DEFAULT_API_URL
    api_key_file: str | None = None
    sandbox_dir: str | None = None
    variables: dict[str, str] = field(default_factory=dict)
    var_files: tuple[str, ...] = ()
    parallelism: int = 10
    auto_approve: bool = False
    detailed_exitcode: bool = False
    interactive: bool = False

    @property
    def state_path(self) -> Path:
        if self.state_file:
            return Path(self.state_file)
        stack = Path(self.stack_file)
        return stack.with_name(f"{stack.stem}.vpstate.json")


def load(opts: Options) -> Stack:
    from vastplan.stack import load_stack

    return load_stack(opts.stack_file, opts.variables, opts.var_files)


def validate(opts: Options, view: HumanView) -> int:
    stack = load(opts)
    view.line(f"{opts.stack_file}: valid ({len(stack.resources)} resources).")
    return EXIT_OK


def plan(opts: Options, view: HumanView, *, destroy: bool = False) -> int:
    stack = load(opts)
    return asyncio.run(_plan(opts, stack, view, destroy=destroy))


def apply(opts: Options, view: HumanView, *, destroy: bool = False) -> int:
    stack = load(opts)
    return asyncio.run(_apply(opts, stack, view, destroy=destroy))


async def _plan(opts: Options, stack: Stack, view: HumanView, *, destroy: bool) -> int:
    state = read_state(opts, stack)
    async with connect(opts) as client:
        planned, _ = await _refresh_and_diff(client, stack, state, view, destroy=destroy)
    view.plan(planned, opts.stack_file)
    return EXIT_CHANGES if opts.detailed_exitcode and planned.has_changes else EXIT_OK


async def _apply(opts: Options, stack: Stack, view: HumanView, *, destroy: bool) -> int:
    backend = LocalStateFile(opts.state_path)
    state = read_state(opts, stack)
    async with connect(opts) as client:
        planned, planning = await _refresh_and_diff(client, stack, state, view, destroy=destroy)
        view.plan(planned, opts.stack_file)
        if not planned.has_changes:
            return EXIT_OK
        _confirm(opts, view, "destroy" if destroy else "apply")
        executor = Executor(client, KINDS, planning, planned, backend, view)
        outcome = await executor.run(opts.parallelism)
    view.line()
    if outcome.errors:
        made = outcome.added + outcome.changed + outcome.destroyed
        raise ApplyError(
            f"{'Destroy' if destroy else 'Apply'} failed: {_plural(len(outcome.errors), 'error')}. "
            f"{_plural(made, 'change')} made {'is' if made == 1 else 'are'} saved in {backend.describe()}."
        )
    if destroy:
        view.line(f"Destroy complete! Resources: {outcome.destroyed} destroyed.")
    else:
        view.line(f"Apply complete! Resources: {outcome.added} added, {outcome.changed} changed, "
                  f"{outcome.destroyed} destroyed.")
    return EXIT_OK


async def _refresh_and_diff(client: VastClient, stack: Stack, state: State, view: HumanView, *,
                            destroy: bool) -> tuple[Plan, Planning]:
    _check_supported(stack)
    live = await refresh(client, KINDS, state, {r.kind for r in stack.resources})
    planning = Planning(stack, state, live.objects)
    if not destroy:
        for kind in KINDS.values():
            await kind.prepare(client, planning)
    planned = diff(planning, live, KINDS, destroy=destroy)
    view.refreshed(planned, _counts(state))
    return planned, planning


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _confirm(opts: Options, view: HumanView, verb: str) -> None:
    if opts.auto_approve:
        return
    if not opts.interactive:
        raise ConfirmationRequired(f"{verb} needs --auto-approve when not run from a terminal")
    view.line()
    if not view.ask_approval("Do you want to perform these actions?"):
        raise ConfirmationRequired(f"{verb.capitalize()} cancelled.")


def read_state(opts: Options, stack: Stack) -> State:
    state = LocalStateFile(opts.state_path).read()
    if state is None:
        return State.new(stack.name)
    if state.stack and state.stack != stack.name:
        raise StateError(f"{opts.state_path} belongs to stack {state.stack!r}, not {stack.name!r}; "
                         "pass --state to use another state file")
    return state


def _check_supported(stack: Stack) -> None:
    problems = [
        Diagnostic(f"{spec.kind}s are not supported yet by plan/apply (validate accepts them)",
                   range=spec.range, address=spec.address)
        for spec in stack.resources if spec.kind not in KINDS
    ]
    if problems:
        raise StackError(problems)


def _counts(state: State) -> dict[str, int]:
    """How many known objects of each kind the refresh looked for."""
    counted = Counter(entry.kind for entry in state.resources.values())
    return {kind: counted[kind] for kind in KINDS if counted[kind]}


@contextlib.asynccontextmanager
async def connect(opts: Options) -> AsyncIterator[VastClient]:
    """A client for the real API, or for the built-in sandbox started for this command only."""
    key = find_api_key(KeySources(opts.api_key_file, sandbox=opts.sandbox_dir is not None))
    with contextlib.ExitStack() as stack:
        url = opts.api_url
        if opts.sandbox_dir is not None:
            from vastplan.sandbox.server import start_in_thread

            url = stack.enter_context(start_in_thread(Path(opts.sandbox_dir))).url
        async with VastClient(url, key, concurrency=opts.parallelism) as client:
            yield client
