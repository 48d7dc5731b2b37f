"""Narrowing a plan: ``--target ADDR`` keeps ADDR and what it depends on (in a destroy plan, what
depends on it: a target is destroyed with its dependents, never its dependencies, as Terraform's
``destroy -target``); ``--exclude ADDR`` drops ADDR and what depends on it (in a destroy plan, what it
depends on, which must outlive it). An address without an index (``instances.server``) means every index.
Everything left out becomes a no-op, and the plan carries a note that the result may be incomplete."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace

from vastplan.addresses import matching
from vastplan.errors import UsageError
from vastplan.plan.model import Action, ActionReason, Plan, ResourceChange


def _dependency_map(changes: Iterable[ResourceChange]) -> dict[str, set[str]]:
    return {c.address: set(c.depends_on) for c in changes}


def _closure(start: set[str], edges: Mapping[str, set[str]]) -> set[str]:
    seen, todo = set(start), list(start)
    while todo:
        for nxt in edges.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def narrow(plan: Plan, targets: Iterable[str] = (), excludes: Iterable[str] = ()) -> Plan:
    targets, excludes = list(targets), list(excludes)
    if not targets and not excludes:
        return plan
    addresses = [c.address for c in plan.changes]
    named = {pattern: set(matching(addresses, pattern)) for pattern in targets + excludes}
    for pattern, found in named.items():
        if not found:
            raise UsageError(f"{pattern} is not an address of this stack or its state")
    depends = _dependency_map(plan.changes)
    dependents: dict[str, set[str]] = {}
    for address, deps in depends.items():
        for dep in deps:
            dependents.setdefault(dep, set()).add(address)
    # What a target needs along, and what an exclusion takes along: creates and updates need their
    # dependencies first; a destroy takes the dependents first.
    needed, taken = (dependents, depends) if plan.destroy else (depends, dependents)
    keep = set(addresses)
    if targets:
        keep = _closure(set().union(*(named[t] for t in targets)), needed)
    if excludes:
        keep -= _closure(set().union(*(named[x] for x in excludes)), taken)
    changes = tuple(c if c.address in keep else
                    replace(c, action=Action.NOOP, reason=ActionReason.NOT_TARGETED, reason_note="",
                            dph_after=c.dph_before)
                    for c in plan.changes)
    note = ("Warning: --target/--exclude is in effect; the result may be incomplete. Run a full plan "
            "afterwards to confirm the account matches the stack.")
    return replace(plan, changes=changes, notes=(*plan.notes, note))
