"""Diff: (Stack, State, LiveSnapshot) -> Plan. Pure: no network, no disk.

``decide_action`` is the single place an action is chosen; reasons and replace paths only explain it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timezone
from typing import Any

from vastplan.kinds.base import Planning, ResourceKind
from vastplan.plan.model import Action, ActionReason, Drift, FieldChange, Plan, ResourceChange, is_sensitive
from vastplan.refresh.live import LiveSnapshot
from vastplan.stack.model import ResourceSpec
from vastplan.state.model import ResourceState, State


def diff(planning: Planning, live: LiveSnapshot, kinds: Mapping[str, ResourceKind], *,
         destroy: bool = False) -> Plan:
    stack, state = planning.stack, planning.state
    changes: list[ResourceChange] = []
    drift: list[Drift] = []
    wanted = {} if destroy else stack.by_address()
    for spec in wanted.values():
        kind = kinds[spec.kind]
        entry = state.resources.get(spec.address)
        observed = live.get(spec.kind, entry.id) if entry else None
        if entry is not None:
            drift += _drift(spec.address, kind, entry, observed)
        change = _change(spec, kind, planning, entry, observed)
        changes.append(replace(change, dph_after=kind.planned_dph(spec, planning),
                               create_before_destroy=spec.lifecycle.create_before_destroy))
    for address, entry in state.resources.items():
        if address in wanted:
            continue
        observed = live.get(entry.kind, entry.id)
        drift += _drift(address, kinds[entry.kind], entry, observed)
        changes.append(_removal(address, entry, observed, kinds[entry.kind]))
    blocked = tuple(Drift(c.address, PROTECTED) for c in changes
                    if c.action.destroys
                    and _protected(c.address, wanted, state))
    warnings = tuple(Drift(spec.address, text) for spec in wanted.values()
                     for text in kinds[spec.kind].warnings(spec, planning))
    limits = _grouped_limits([(spec, text) for spec in wanted.values()
                              for text in kinds[spec.kind].limits(spec, planning)])
    return Plan(tuple(changes), tuple(drift), stack_name=stack.name, destroy=destroy,
                refresh_requests=live.requests, refresh_seconds=live.seconds, blocked=blocked, warnings=warnings,
                limits=limits)


def _change(spec: ResourceSpec, kind: ResourceKind, planning: Planning, entry: ResourceState | None,
            observed: Mapping[str, Any] | None) -> ResourceChange:
    force = spec.address in planning.replace_requested
    return expiry_action(spec, entry, observed, kind, planning.now, force) or \
        decide_action(spec, kind, kind.desired(spec, planning), None if entry and entry.expired else entry,
                      observed, kind.sensitive_paths(spec, planning), force)


def mark_renewed(planning: Planning, kind: ResourceKind) -> None:
    """Record in ``planning.renewed`` which objects of ``kind`` that other resources depend on the plan
    makes anew (replaced, or created again once gone), as the diff will decide: run after the kind's
    ``prepare`` and before the next kind's, so that a dependent pinning their id (an instance's
    volume, a worker group's endpoint) is planned against the new object, and replaced with it
    where its kind cannot move it over in place."""
    needed = {address for spec in planning.stack.resources for address in spec.depends_on}
    for spec in planning.stack.resources:
        if spec.kind != kind.kind or spec.address not in needed:
            continue
        entry = planning.state.resources.get(spec.address)
        if entry is None or entry.id is None:
            continue
        change = _change(spec, kind, planning, entry, planning.live_object(spec.address))
        if change.action.replaces or change.action is Action.CREATE:
            planning.renewed.add(spec.address)


GONE_AT_EXPIRY_SLACK = 600.0  # seconds: how long before its recorded expiry a vanished object counts as expired

PROTECTED = ("lifecycle.prevent_destroy protects it (recorded in state); remove the protection with "
             "`vastplan state unprotect ADDRESS` to destroy it")


def _protected(address: str, wanted: Mapping[str, ResourceSpec], state: State) -> bool:
    """The stack decides while it declares the resource; once its block is gone, state does."""
    if address in wanted:
        return wanted[address].lifecycle.prevent_destroy
    entry = state.resources.get(address)
    return bool(entry and entry.protected)


def expiry_action(spec: ResourceSpec, entry: ResourceState | None, observed: Mapping[str, Any] | None,
                  kind: ResourceKind, now: float, force: bool) -> ResourceChange | None:
    """The ttl rules: an object past ``expires_at`` is destroyed (EXPIRE); once expired it is not
    rented again while its ttl/expires_at rule is unchanged. None when the ttl has nothing to say
    (or the kind has no ttl)."""
    rule = kind.ttl_rule(spec)
    if entry is None or rule is None:
        return None
    if entry.expired:
        if force or entry.attributes.get("ttl_rule") != rule:
            return None  # a new rule (or --replace): plan it like any missing object
        when = _moment(entry.attributes.get("expired_at"))
        return ResourceChange(spec.address, spec.kind, Action.NOOP, depends_on=spec.depends_on,
                              reason=ActionReason.STAYS_EXPIRED, reason_note=when)
    expires = entry.attributes.get("expires_at")
    # Gone at (about) its expiry: its own watchdog destroyed it, a little before the time recorded
    # after the create returned. Recorded as expired, not rented again.
    slack = GONE_AT_EXPIRY_SLACK if observed is None else 0.0
    if entry.id is None or not isinstance(expires, (int, float)) or expires > now + slack:
        return None
    return ResourceChange(spec.address, spec.kind, Action.EXPIRE, resource_id=entry.id,
                          reason=ActionReason.TTL_EXPIRED, reason_note=_moment(expires),
                          before=dict(observed if observed is not None else entry.attributes),
                          depends_on=spec.depends_on, dph_before=kind.dph(observed) if observed else 0.0)


def _grouped_limits(found: list[tuple[ResourceSpec, str]]) -> tuple[Drift, ...]:
    """One line per limit, the copies of a ``count`` group that share it as one (``worker[*]``)."""
    groups: dict[tuple[str, str], list[str]] = {}
    for spec, text in found:
        base = spec.address.rsplit("[", 1)[0] if spec.index is not None else spec.address
        groups.setdefault((base, text), []).append(spec.address)
    return tuple(Drift(addresses[0] if len(addresses) == 1 else f"{base}[*] ({len(addresses)} of them)", text)
                 for (base, text), addresses in groups.items())


def idle_plan(planning: Planning, plan: Plan, kinds: Mapping[str, ResourceKind]) -> tuple[State, Plan]:
    """``reap``'s idle rules, from the listing: the state with each object's first-seen-idle time
    (``idle_since``, kept across runs), and ``plan`` with a stop (an update of ``state``) or an
    expiry for each object idle for longer than its rule allows."""
    state, specs = planning.state, planning.stack.by_address()
    changes = []
    for change in plan.changes:
        spec, entry = specs.get(change.address), state.resources.get(change.address)
        live = planning.live_object(change.address)
        check = kinds[change.kind].idle_check(spec, entry, live, planning.now) if spec and entry else None
        if check is None or entry is None or live is None:
            changes.append(change)
            continue
        if entry.attributes.get("idle_since") != check.since:
            kept = {k: v for k, v in entry.attributes.items() if k != "idle_since"}
            entry = replace(entry, attributes=kept if check.since is None else {**kept, "idle_since": check.since})
            state = state.with_resource(change.address, entry)
        if check.then is None or change.action is not Action.NOOP or change.reason is ActionReason.NOT_TARGETED:
            changes.append(change)
        elif check.then == "destroy":
            changes.append(replace(change, action=Action.EXPIRE, resource_id=entry.id, reason=ActionReason.IDLE,
                                   reason_note=check.note, before=dict(live), after=None, fields=(),
                                   dph_after=0.0))
        else:
            current = {**entry.attributes, **live}
            after = {**{k: current.get(k) for k in change.after or {}}, "state": "stopped"}
            changes.append(replace(change, action=Action.UPDATE, resource_id=entry.id, reason=ActionReason.IDLE,
                                   reason_note=check.note, after=after,
                                   fields=(FieldChange("state", live.get("state"), "stopped"),),
                                   dph_after=kinds[change.kind].dph({**live, "state": "stopped"})))
    return state, replace(plan, changes=tuple(changes))


def _moment(epoch: Any) -> str:
    if not isinstance(epoch, (int, float)):
        return "an unknown time"
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def _drift(address: str, kind: ResourceKind, entry: ResourceState,
           observed: Mapping[str, Any] | None) -> list[Drift]:
    if entry.id is None:
        return []  # journaled or expired: nothing in the account to compare
    if observed is None:
        if entry.tainted:
            return []
        other = kind.gone_note(entry)
        return [Drift(address, f"{kind.noun} {entry.id} was deleted outside vastplan"
                               + (f" {other} (the API does not say which)" if other else ""))]
    return [Drift(address, f"{kind.noun} {entry.id} {text}") for text in kind.describe_drift(entry, observed)]


def decide_action(
    spec: ResourceSpec,
    kind: ResourceKind,
    desired: Mapping[str, Any],
    entry: ResourceState | None,
    observed: Mapping[str, Any] | None,
    sensitive: frozenset[str] = frozenset(),
    force_replace: bool = False,
) -> ResourceChange:
    """The one function that chooses what happens to a resource the stack declares."""
    common: dict[str, Any] = {
        "address": spec.address,
        "kind": spec.kind,
        "after": desired,
        "sensitive_paths": sensitive,
        "depends_on": spec.depends_on,
    }
    if entry is None:
        return ResourceChange(action=Action.CREATE, reason=ActionReason.NOT_IN_STATE, **common)
    if observed is None and not entry.tainted:
        other = kind.gone_note(entry)
        note = (f"deleted outside vastplan {other}: rented again, as the stack declares it; remove it from "
                "the stack to keep it gone") if other else ""
        return ResourceChange(action=Action.CREATE, reason=ActionReason.DELETED_OUTSIDE, reason_note=note, **common)
    # What the API does not report is compared with what state recorded.
    before = _comparable({**entry.attributes, **(observed or {})}, desired, spec.lifecycle.ignore_changes)
    common.update(resource_id=entry.id, before=before, dph_before=kind.dph(observed) if observed else 0.0)
    fields = field_changes(before, {k: desired[k] for k in before}, sensitive, kind.forces_replacement)
    replacement = Action.replacement(spec.lifecycle.create_before_destroy)
    if entry.tainted:
        return ResourceChange(action=replacement, reason=ActionReason.TAINTED, fields=fields, **common)
    if force_replace:
        return ResourceChange(action=replacement, reason=ActionReason.REPLACE_REQUESTED, fields=fields, **common)
    if not fields:
        return ResourceChange(action=Action.NOOP, reason=ActionReason.MATCHES, **common)
    forcing = tuple(f.path for f in fields if f.forces_replacement)
    if forcing:
        return ResourceChange(action=replacement, reason=ActionReason.CANNOT_UPDATE_IN_PLACE,
                              fields=fields, replace_paths=forcing, **common)
    note = kind.describe_update(frozenset(f.path.split(".")[0] for f in fields), desired)
    return ResourceChange(action=Action.UPDATE, reason=ActionReason.FIELDS_DIFFER, reason_note=note, fields=fields,
                          **common)


def _removal(address: str, entry: ResourceState, observed: Mapping[str, Any] | None,
             kind: ResourceKind) -> ResourceChange:
    if entry.expired:
        return ResourceChange(address, entry.kind, Action.FORGET, reason=ActionReason.EXPIRED_EARLIER)
    if observed is None:
        return ResourceChange(address, entry.kind, Action.FORGET, reason=ActionReason.ALREADY_DELETED,
                              resource_id=entry.id, before=entry.attributes, depends_on=entry.depends_on)
    return ResourceChange(address, entry.kind, Action.DELETE, reason=ActionReason.NOT_IN_STACK,
                          resource_id=entry.id, before=dict(observed), depends_on=entry.depends_on,
                          sensitive_paths=frozenset(entry.sensitive_paths), dph_before=kind.dph(observed))


def _comparable(observed: Mapping[str, Any], desired: Mapping[str, Any], ignore: Sequence[str]) -> dict[str, Any]:
    """The live attributes the stack manages: the desired keys, less ``ignore_changes``. An absent or
    null value equals an empty one (the API reports "none" either way)."""
    return {k: desired[k] if observed.get(k) is None and desired[k] in ([], {}, "") else observed.get(k)
            for k in desired if k not in ignore}


def field_changes(before: Mapping[str, Any], after: Mapping[str, Any], sensitive: frozenset[str],
                  forces: Callable[[str, Any, Any], bool]) -> tuple[FieldChange, ...]:
    """Changed fields, one per top-level key, or per key inside a mapping field (``env.TOKEN``).

    A plain comparison: values are JSON data (numbers compare across int and float, as ``==`` does),
    so nothing beyond ``==`` per key is needed to name what differs."""
    if before == after:
        return ()  # the common case
    paths: dict[str, tuple[str, ...]] = {}
    for top in [*before, *(k for k in after if k not in before)]:
        old, new = before.get(top), after.get(top)
        if top in before and top in after and old == new:
            continue
        if isinstance(old, dict) and isinstance(new, dict):
            for sub in [*old, *(k for k in new if k not in old)]:
                if sub not in old or sub not in new or old[sub] != new[sub]:
                    paths[f"{top}.{sub}"] = (str(top), str(sub))
        else:
            paths[str(top)] = (str(top),)
    return tuple(
        FieldChange(
            path=dotted,
            before=_lookup(before, key),
            after=_lookup(after, key),
            sensitive=is_sensitive(dotted, sensitive),
            forces_replacement=forces(key[0], before.get(key[0]), after.get(key[0])),
        )
        for dotted, key in sorted(paths.items())
    )


def _lookup(data: Mapping[str, Any], key: tuple[str, ...]) -> Any:
    node: Any = data
    for part in key:
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node
