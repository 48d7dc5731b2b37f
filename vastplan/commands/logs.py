"""``vastplan logs ADDR``: the container logs of an instance the state knows, by its address.

Only the state is needed to find the instance's id; the stack file, when it loads, tells an
address the stack never declared from one it declares but has not applied yet.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from vastplan.commands.options import Options
from vastplan.commands.session import Session
from vastplan.errors import ApiError, StackError, StateError, UsageError
from vastplan.state.model import ResourceState, State

ADDRESS = re.compile(r"^(?P<section>[a-z_]+)\.(?P<name>[A-Za-z0-9_-]+)(?P<index>\[\d+\])?$")
NOT_INSTANCES = {"ssh_keys": "an SSH key", "templates": "a template", "volumes": "a volume"}


def _state(session: Session) -> State:
    state = session.backend.read()
    if state is None:
        raise StateError(f"there is no state at {session.backend.describe()}; apply the stack first")
    return state


def _declared(opts: Options) -> Sequence[str] | None:
    """The stack's addresses, or None when the stack file is absent or does not load."""
    from pathlib import Path

    if not Path(opts.stack_file).exists():
        return None
    from vastplan.commands.pipeline import load

    try:
        return [spec.address for spec in load(opts).resources]
    except StackError:
        return None


def resolve(session: Session, address: str) -> ResourceState:
    """The state entry of the instance at ``address``, or a UsageError saying what is wrong."""
    found = ADDRESS.match(address)
    if found is None:
        raise UsageError(f"{address!r} is not a resource address; an instance is instances.NAME or "
                         "instances.NAME[INDEX]")
    section = found["section"]
    if section != "instances":
        what = NOT_INSTANCES.get(section)
        if what is None:
            raise UsageError(f"{address} is not an address: there is no resource type {section!r}")
        raise UsageError(f"{address} is {what}, not an instance; only instances have logs")
    state = _state(session)
    entry = state.resources.get(address)
    if entry is None:
        raise UsageError(_missing(session.opts, state, address))
    if entry.kind != "instance":
        raise UsageError(f"{address} is a {entry.kind} in the state, not an instance")
    if entry.pending:
        raise UsageError(f"{address} is still being created (its id is not known yet); run `vastplan apply` "
                         "to settle it")
    if entry.expired or entry.id is None:
        raise UsageError(f"{address} was destroyed when its ttl ran out; it has no logs any more")
    return entry


def _missing(opts: Options, state: State, address: str) -> str:
    indexed = sorted(a for a in state.resources if a.startswith(address + "["))
    if indexed:
        return f"{address} has {len(indexed)} instances; name one, e.g. {indexed[0]}"
    declared = _declared(opts)
    if declared is not None and address not in declared and not any(a.startswith(address + "[") for a in declared):
        return f"{address} is not an address of the stack {opts.stack_file}"
    return f"{address} is not in the state {opts.state_path}: it has not been applied yet (run `vastplan apply`)"


async def instance_logs(session: Session, address: str, tail: int | None) -> list[str]:
    """The instance's log lines, oldest first (the last ``tail`` of them)."""
    from vastplan.api.logs import fetch_result, request_logs

    entry = resolve(session, address)
    async with session.client() as client:
        try:
            url = await request_logs(client, int(entry.id), tail=tail)
        except ApiError as exc:
            gone = exc.status == 404
            message = (f"instance {entry.id} no longer exists in the account; `vastplan plan` shows what to do"
                       if gone else exc.message)
            raise ApiError(message, status=exc.status, code=None if gone else exc.code, method=exc.method,
                           path=exc.path, address=address) from exc
        text = await fetch_result(url)  # inside: with --sandbox, the URL is served by that sandbox
    return [line for line in text.splitlines() if line.strip()]
