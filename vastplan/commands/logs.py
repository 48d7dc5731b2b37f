"""``vastplan logs ADDR``: the container logs of an object the state knows (of a kind that has logs:
an instance), by its address.

Only the state is needed to find the object's id; the stack file, when it loads, tells an
address the stack never declared from one it declares but has not applied yet.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from vastplan.commands.options import Options
from vastplan.commands.session import Session
from vastplan.errors import ApiError, StackError, StateError, UsageError
from vastplan.kinds import BY_COLLECTION, KINDS
from vastplan.kinds.base import ResourceKind
from vastplan.state.model import ResourceState, State

ADDRESS = re.compile(r"^(?P<section>[a-z_]+)\.(?P<name>[A-Za-z0-9_-]+)(?P<index>\[\d+\])?$")
LOGGED: tuple[ResourceKind, ...] = tuple(k for k in KINDS.values() if k.has_logs)


def _logged_words() -> tuple[str, str]:
    """("an instance", "instances") for the kinds that have logs, as messages name them."""
    return " or ".join(k.with_article for k in LOGGED), " and ".join(k.plural for k in LOGGED)


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
    """The state entry of the object at ``address``, or a UsageError saying what is wrong."""
    one, many = _logged_words()
    found = ADDRESS.match(address)
    if found is None:
        forms = " or ".join(f"{k.collection}.NAME or {k.collection}.NAME[INDEX]" for k in LOGGED)
        raise UsageError(f"{address!r} is not a resource address; {one} is {forms}")
    kind = BY_COLLECTION.get(found["section"])
    if kind is None:
        raise UsageError(f"{address} is not an address: there is no resource type {found['section']!r}")
    if not kind.has_logs:
        raise UsageError(f"{address} is {kind.with_article}, not {one}; only {many} have logs")
    state = _state(session)
    entry = state.resources.get(address)
    if entry is None:
        raise UsageError(_missing(session.opts, state, address))
    if entry.kind != kind.kind:
        raise UsageError(f"{address} is a {entry.kind} in the state, not {one}")
    if entry.pending:
        raise UsageError(f"{address} is still being created (its id is not known yet); run `vastplan apply` "
                         "to settle it")
    if entry.expired or entry.id is None:
        raise UsageError(f"{address} was destroyed when its ttl ran out; it has no logs any more")
    return entry


def _missing(opts: Options, state: State, address: str) -> str:
    indexed = sorted(a for a in state.resources if a.startswith(address + "["))
    if indexed:
        return f"{address} has {len(indexed)} {_logged_words()[1]}; name one, e.g. {indexed[0]}"
    declared = _declared(opts)
    if declared is not None and address not in declared and not any(a.startswith(address + "[") for a in declared):
        return f"{address} is not an address of the stack {opts.stack_file}"
    return f"{address} is not in the state {opts.state_path}: it has not been applied yet (run `vastplan apply`)"


async def object_logs(session: Session, address: str, tail: int | None) -> list[str]:
    """The object's log lines, oldest first (the last ``tail`` of them)."""
    from vastplan.api.logs import fetch_result

    entry = resolve(session, address)
    kind = KINDS[entry.kind]
    async with session.client() as client:
        try:
            url = await kind.request_logs(client, entry.id, tail)
        except ApiError as exc:
            gone = exc.status == 404
            message = (f"{kind.noun} {entry.id} no longer exists in the account; `vastplan plan` shows what to do"
                       if gone else exc.message)
            raise ApiError(message, status=exc.status, code=None if gone else exc.code, method=exc.method,
                           path=exc.path, address=address) from exc
        text = await fetch_result(url)  # inside: with --sandbox, the URL is served by that sandbox
    return [line for line in text.splitlines() if line.strip()]
