"""Working on the state without touching the account: list, show, rm, mv, unprotect, output, and
import (the one that reads the account, to adopt an existing object). Every write keeps the
previous state as ``.backup``."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from typing import Any

from vastplan.addresses import Address, matching, sort_key
from vastplan.commands.steps import Options, connect
from vastplan.errors import StateError, UsageError
from vastplan.kinds import KINDS
from vastplan.kinds.base import Planning
from vastplan.plan.outputs import shown
from vastplan.render.base import View
from vastplan.state.backends.local import LocalStateFile
from vastplan.state.model import ResourceState, State


def _read(opts: Options) -> tuple[LocalStateFile, State]:
    backend = LocalStateFile(opts.state_path)
    state = backend.read()
    if state is None:
        raise StateError(f"there is no state file at {opts.state_path}")
    return backend, state


def _entry(state: State, address: str, opts: Options) -> ResourceState:
    entry = state.resources.get(address)
    if entry is None:
        named = sorted(matching(state.resources, address), key=sort_key)  # also refuses a malformed address
        hint = f" (it has {', '.join(named)})" if named else ""
        raise UsageError(f"{address} is not in the state {opts.state_path}{hint}")
    return entry


def state_list(opts: Options, view: View) -> int:
    _, state = _read(opts)
    for address, entry in sorted(state.resources.items(), key=lambda item: sort_key(item[0])):
        flags = "".join([" (tainted)" if entry.tainted else "", " (protected)" if entry.protected else ""])
        view.line(f"{address}  id={entry.id}{flags}")
    return 0


def state_show(opts: Options, view: View, address: str) -> int:
    _, state = _read(opts)
    entry = _entry(state, address, opts)
    view.line(json.dumps({"address": address, **entry.to_json()}, indent=2, sort_keys=True))
    return 0


def state_rm(opts: Options, view: View, address: str) -> int:
    backend, state = _read(opts)
    entry = _entry(state, address, opts)
    backend.write(state.with_resource(address, None))
    view.line(f"Removed {address} (id {entry.id}) from state; the object itself was not touched.")
    return 0


def state_mv(opts: Options, view: View, source: str, target: str) -> int:
    backend, state = _read(opts)
    entry = _entry(state, source, opts)
    if target in state.resources:
        raise UsageError(f"{target} is already in the state")
    if Address.parse(source).collection != Address.parse(target).collection:
        raise UsageError(f"{source} and {target} are different kinds of resource")
    moved = state.with_resource(source, None).with_resource(target, entry)
    backend.write(moved)
    view.line(f"Moved {source} to {target} (id {entry.id}); nothing is replaced.")
    return 0


def state_unprotect(opts: Options, view: View, address: str) -> int:
    backend, state = _read(opts)
    entry = _entry(state, address, opts)
    backend.write(state.with_resource(address, replace(entry, protected=False)))
    view.line(f"{address} is no longer protected by prevent_destroy in state.")
    return 0


def output(opts: Options, view: View, name: str | None, as_json: bool, reveal: bool) -> int:
    backend = LocalStateFile(opts.state_path)
    state = backend.read()
    outputs: dict[str, Any] = dict(state.outputs) if state else {}
    if name is not None and name not in outputs:
        raise UsageError(f"no output named {name!r}" + (f"; the outputs are {', '.join(sorted(outputs))}"
                                                         if outputs else " (apply the stack first)"))
    values = shown(outputs, reveal)
    if name is not None:
        value = values[name]
        view.line(json.dumps(value) if as_json or not isinstance(value, str) else value)
    elif as_json:
        view.line(json.dumps({k: {"value": values[k], "sensitive": bool(outputs[k].get("sensitive"))}
                              for k in sorted(outputs)}, indent=2))
    else:
        for key in sorted(values):
            view.line(f"{key} = {json.dumps(values[key])}")
    return 0


def import_object(opts: Options, view: View, address: str, object_id: str) -> int:
    from vastplan.commands.pipeline import load

    stack = load(opts)
    spec = stack.by_address().get(address)
    if spec is None:
        raise UsageError(f"{address} is not declared in {opts.stack_file}; add it to the stack first")
    backend = LocalStateFile(opts.state_path)
    state = backend.read() or State.new(stack.name)
    if address in state.resources:
        raise UsageError(f"{address} is already in the state (id {state.resources[address].id})")
    kind = KINDS[spec.kind]
    wanted: Any = int(object_id) if object_id.isdigit() else object_id
    probe = {address: ResourceState(spec.kind, wanted, {})}
    live = asyncio.run(_list_one(opts, spec.kind, probe))
    if wanted not in live:
        raise UsageError(f"there is no {kind.noun} with id {object_id} in the account")
    sensitive = kind.sensitive_paths(spec, Planning(stack, state, {}))
    entry = ResourceState(spec.kind, wanted, live[wanted], depends_on=spec.depends_on,
                          sensitive_paths=tuple(sorted(sensitive)), protected=spec.lifecycle.prevent_destroy)
    backend.write(state.with_resource(address, entry))
    view.line(f"Imported {kind.noun} {object_id} as {address}. Run `vastplan plan` to see how it differs.")
    return 0


async def _list_one(opts: Options, kind: str, probe: dict[str, ResourceState]) -> dict[Any, dict[str, Any]]:
    async with connect(opts) as client:
        return await KINDS[kind].list_live(client, probe)
