"""Outputs: the stack's ``outputs:`` evaluated against state after apply, e.g. SSH commands.

``${instances.server[*].ssh_url}`` is a list over every index, ``${instances.server[0].ssh_url}`` and
``${templates.vllm.id}`` single values. A value that is exactly one reference keeps its type; one
with text around references becomes a string. An attribute not known yet is null.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from vastplan.addresses import Address, matching, sort_key
from vastplan.stack.model import OutputSpec
from vastplan.stack.refs import EXPR, Reference, parse_reference, references
from vastplan.state.model import SENSITIVE, ResourceState, State


def evaluate(outputs: tuple[OutputSpec, ...], state: State) -> dict[str, dict[str, Any]]:
    """``{name: {"value": ..., "sensitive": bool}}`` for every output. An output that names an attribute
    its object keeps at a sensitive path is sensitive; once that attribute reads back from the state
    file as ``(sensitive)`` (the value was known only in memory, e.g. a secret a create answered once),
    the output keeps the value it recorded then."""
    evaluated = {}
    for o in outputs:
        value, hidden = _value(o.value, state), _names_sensitive(o.value, state)
        earlier = state.outputs.get(o.name)
        if hidden and value == SENSITIVE and isinstance(earlier, Mapping) and "value" in earlier:
            value = earlier["value"]
        evaluated[o.name] = {"value": value, "sensitive": o.sensitive or hidden}
    return evaluated


def _names_sensitive(text: str, state: State) -> bool:
    for ref in references(text):
        for address, entry in state.resources.items():
            if (address == ref.base or address.startswith(f"{ref.base}[")) and ref.attr in entry.sensitive_paths:
                return True
    return False


def _value(text: str, state: State) -> Any:
    whole = EXPR.fullmatch(text.strip())
    if whole and whole.group(1) is not None:
        ref = parse_reference(whole.group(1))
        if ref is not None:
            return resolve(ref, state)

    def substitute(match: re.Match[str]) -> str:
        if match.group(1) is None:
            return "${"  # the $${ escape
        ref = parse_reference(match.group(1))
        value = resolve(ref, state) if ref else None
        return "" if value is None else " ".join(map(str, value)) if isinstance(value, list) else str(value)

    return EXPR.sub(substitute, text)


def resolve(ref: Reference, state: State) -> Any:
    if ref.index == "*":
        members = sorted(matching(state.resources, ref.base), key=sort_key)
        return [_attribute(state.resources[address], ref.attr) for address in members
                if (found := Address.find(address)) and found.index is not None and not found.deposed]
    address = ref.base if ref.index is None else f"{ref.base}[{ref.index}]"
    entry = state.resources.get(address)
    return _attribute(entry, ref.attr) if entry else None


def _attribute(entry: ResourceState, attr: str) -> Any:
    return entry.id if attr == "id" else entry.attributes.get(attr)


def shown(outputs: Mapping[str, Mapping[str, Any]], reveal: bool = False) -> dict[str, Any]:
    """Values for display: sensitive ones as ``(sensitive)`` unless ``reveal``."""
    return {name: (o["value"] if reveal or not o.get("sensitive") else "(sensitive)") for name, o in outputs.items()}
