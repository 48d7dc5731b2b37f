"""Working on the state without touching the account: list, show, rm, mv, unprotect, output, and
import (the one that reads the account, to adopt an existing object). Every write keeps the
previous state as ``.backup``."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from typing import Any

from vastplan.addresses import Address, matching, sort_key
from vastplan.commands.session import Session
from vastplan.errors import StateError, UsageError
from vastplan.kinds import KINDS
from vastplan.kinds.base import Planning
from vastplan.plan.outputs import shown
from vastplan.state.model import ResourceState, State


def _read(session: Session) -> State:
    state = session.backend.read()
    if state is None:
        raise StateError(f"there is no state file at {session.backend.describe()}")
    return state


def _entry(session: Session, state: State, address: str) -> ResourceState:
    entry = state.resources.get(address)
    if entry is None:
        named = sorted(matching(state.resources, address), key=sort_key)  # also refuses a malformed address
        hint = f" (it has {', '.join(named)})" if named else ""
        raise UsageError(f"{address} is not in the state {session.backend.describe()}{hint}")
    return entry


def state_list(session: Session) -> int:
    state = _read(session)
    entries = sorted(state.resources.items(), key=lambda item: sort_key(item[0]))
    # A pending entry is a create that was sent but whose answer (the id) never came: the next plan
    # or apply finds the object by its marker.
    lines = [f"{address}  " + ("pending (created, id not yet known)" if entry.pending and entry.id is None
                                else f"id={entry.id}")
             + (" (tainted)" if entry.tainted else "") + (" (protected)" if entry.protected else "")
             for address, entry in entries]
    session.view.result([{"address": address, "id": entry.id, "pending": entry.pending, "tainted": entry.tainted,
                          "protected": entry.protected} for address, entry in entries], "\n".join(lines))
    return 0


def state_show(session: Session, address: str) -> int:
    state = _read(session)
    entry = _entry(session, state, address)
    session.view.result({"address": address, **entry.to_json()})
    return 0


def state_rm(session: Session, address: str) -> int:
    state = _read(session)
    entry = _entry(session, state, address)
    session.backend.write(state.with_resource(address, None))
    session.view.line(f"Removed {address} (id {entry.id}) from state; the object itself was not touched.")
    return 0


def state_mv(session: Session, source: str, target: str) -> int:
    state = _read(session)
    entry = _entry(session, state, source)
    if target in state.resources:
        raise UsageError(f"{target} is already in the state")
    if Address.parse(source).collection != Address.parse(target).collection:
        raise UsageError(f"{source} and {target} are different kinds of resource")
    moved = state.with_resource(source, None).with_resource(target, entry)
    session.backend.write(moved)
    session.view.line(f"Moved {source} to {target} (id {entry.id}); nothing is replaced.")
    return 0


def state_unprotect(session: Session, address: str) -> int:
    state = _read(session)
    entry = _entry(session, state, address)
    session.backend.write(state.with_resource(address, replace(entry, protected=False)))
    session.view.line(f"{address} is no longer protected by prevent_destroy in state.")
    return 0


def taint(session: Session, address: str, tainted: bool) -> int:
    """Mark ADDRESS for replacement by the next apply (taint), or take that mark away (untaint): an
    instance recorded as tainted after a readiness timeout that became ready after all is kept."""
    state = _read(session)
    entry = _entry(session, state, address)
    if entry.tainted == tainted:
        session.view.line(f"{address} (id {entry.id}) is {'already' if tainted else 'not'} tainted; nothing changed.")
        return 0
    session.backend.write(state.with_resource(address, replace(entry, tainted=tainted)))
    session.view.line(f"{address} (id {entry.id}) is tainted: the next apply replaces it." if tainted else
                      f"{address} (id {entry.id}) is no longer tainted: the next plan keeps it.")
    return 0


def output(session: Session, name: str | None, reveal: bool, raw: bool = False) -> int:
    """One output's value, or all of them; the view prints them as text or as JSON."""
    view, state = session.view, session.backend.read()
    outputs: dict[str, Any] = dict(state.outputs) if state else {}
    if name is not None and name not in outputs:
        raise UsageError(f"no output named {name!r}" + (f"; the outputs are {', '.join(sorted(outputs))}"
                                                         if outputs else " (apply the stack first)"))
    if raw:
        return _raw(session, name, outputs)
    values = shown(outputs, reveal)
    if name is not None:
        value = values[name]
        view.result(value, value if isinstance(value, str) else json.dumps(value))
    else:
        view.result({k: {"value": values[k], "sensitive": bool(outputs[k].get("sensitive"))} for k in sorted(outputs)},
                    "\n".join(f"{key} = {json.dumps(values[key])}" for key in sorted(values)))
    return 0


def _raw(session: Session, name: str | None, outputs: dict[str, Any]) -> int:
    """``output NAME --raw``: the bare value for a script (sensitive ones too, as Terraform's -raw does)."""
    if name is None:
        raise UsageError("--raw prints one output: name it (vastplan output NAME --raw)")
    value = shown(outputs, True)[name]
    if isinstance(value, (dict, list)) or value is None:
        what = "null" if value is None else "a map" if isinstance(value, dict) else "a list"
        raise UsageError(f"output {name!r} is {what}; --raw prints only strings, numbers and booleans "
                         "(use --json for the others)")
    session.view.result(value, json.dumps(value) if isinstance(value, bool) else str(value))
    return 0


def import_object(session: Session, address: str, object_id: str) -> int:
    from vastplan.commands.pipeline import load

    opts = session.opts
    stack = load(opts)
    spec = stack.by_address().get(address)
    if spec is None:
        raise UsageError(f"{address} is not declared in {opts.stack_file}; add it to the stack first")
    state = session.backend.read() or State.new(stack.name)
    if address in state.resources:
        raise UsageError(f"{address} is already in the state (id {state.resources[address].id})")
    kind = KINDS[spec.kind]
    wanted: Any = int(object_id) if object_id.isdigit() else object_id
    holder = next((held for held, entry in state.resources.items()
                   if entry.kind == spec.kind and str(entry.id) == str(wanted)), None)
    if holder is not None:  # two addresses for one object: each apply would change it for the other
        raise UsageError(f"{kind.noun} {object_id} is already in the state as {holder}; "
                         f"`vastplan state mv {holder} {address}` moves it instead")
    probe = {address: ResourceState(spec.kind, wanted, {})}
    live = asyncio.run(_list_one(session, spec.kind, probe))
    if wanted not in live:
        raise UsageError(f"there is no {kind.noun} with id {object_id} in the account")
    sensitive = kind.sensitive_paths(spec, Planning(stack, state, {}))
    entry = ResourceState(spec.kind, wanted, live[wanted], depends_on=spec.depends_on,
                          sensitive_paths=tuple(sorted(sensitive)), protected=spec.lifecycle.prevent_destroy)
    session.backend.write(state.with_resource(address, entry))
    session.view.line(f"Imported {kind.noun} {object_id} as {address}. Run `vastplan plan` to see how it differs.")
    return 0


async def _list_one(session: Session, kind: str, probe: dict[str, ResourceState]) -> dict[Any, dict[str, Any]]:
    async with session.client() as client:
        return await KINDS[kind].list_live(client, probe)
