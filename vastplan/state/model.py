"""The state: what vastplan made, by address, and the protocol of the backends that keep it.

Format 1: ``{"format", "lineage", "serial", "stack", "resources": {ADDR: {...}}, "outputs"}``.
Sensitive values never reach the file: the paths listed in an entry's ``sensitive_paths`` hold
the placeholder ``"(sensitive)"`` instead of the value.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from vastplan.errors import StateError

if TYPE_CHECKING:
    from vastplan.state.lock import LockInfo

STATE_FORMAT = 1
SENSITIVE = "(sensitive)"


@dataclass(frozen=True)
class ResourceState:
    kind: str
    id: Any
    attributes: Mapping[str, Any]
    depends_on: tuple[str, ...] = ()
    sensitive_paths: tuple[str, ...] = ()
    tainted: bool = False
    protected: bool = False
    # Journaled before a create: the object may exist without its id being known yet. The next
    # refresh finds it by its ownership marker and adopts it, or drops this entry.
    pending: bool = False
    # Destroyed when its ttl ran out: kept (id None) so that the next plan does not rent it again
    # while the stack's ttl/expires_at stays what it was.
    expired: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "id": self.id,
            "attributes": redact(self.attributes, self.sensitive_paths),
            "depends_on": list(self.depends_on),
            "sensitive_paths": list(self.sensitive_paths),
            "tainted": self.tainted,
            "protected": self.protected,
            "pending": self.pending,
            "expired": self.expired,
        }

    @cached_property
    def text(self) -> str:
        """``to_json()`` as the state file holds it (at its depth there), encoded once per entry: an
        apply writes the whole file after every change, and most entries are the same objects as
        in the write before."""
        return json.dumps(self.to_json(), indent=2).replace("\n", "\n    ")

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> ResourceState:
        return cls(
            kind=str(raw["kind"]),
            id=raw["id"],
            attributes=dict(raw.get("attributes") or {}),
            depends_on=tuple(raw.get("depends_on") or ()),
            sensitive_paths=tuple(raw.get("sensitive_paths") or ()),
            tainted=bool(raw.get("tainted", False)),
            protected=bool(raw.get("protected", False)),
            pending=bool(raw.get("pending", False)),
            expired=bool(raw.get("expired", False)),
        )


@dataclass(frozen=True)
class State:
    lineage: str
    serial: int = 0
    stack: str | None = None
    resources: Mapping[str, ResourceState] = field(default_factory=dict)
    outputs: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def new(cls, stack: str | None) -> State:
        return cls(lineage=str(uuid.uuid4()), stack=stack)

    def with_resource(self, address: str, resource: ResourceState | None) -> State:
        resources = dict(self.resources)
        if resource is None:
            resources.pop(address, None)
        else:
            resources[address] = resource
        return replace(self, resources=resources)

    def to_json(self, *, resources: bool = True) -> dict[str, Any]:
        return {
            "format": STATE_FORMAT,
            "lineage": self.lineage,
            "serial": self.serial,
            "stack": self.stack,
            "resources": {addr: r.to_json() for addr, r in sorted(self.resources.items())} if resources else {},
            "outputs": dict(self.outputs),
        }

    def to_text(self) -> str:
        """``json.dumps(self.to_json(), indent=2)``, byte for byte, with each entry's part encoded once
        (``ResourceState.text``)."""
        entries = ",\n    ".join(f"{json.dumps(address)}: {entry.text}"
                                  for address, entry in sorted(self.resources.items()))
        text = json.dumps(self.to_json(resources=False), indent=2)
        if not entries:
            return text
        return text.replace('"resources": {}', '"resources": {\n    ' + entries + "\n  }", 1)

    @classmethod
    def from_json(cls, raw: Any, source: str, kinds: Mapping[str, str], *, schema_passed: bool = False) -> State:
        """The state in ``raw`` (read from ``source``); ``kinds`` maps each collection, the first part
        of an address, to the kind it holds (the registry's, passed in: state knows no kind).
        ``schema_passed``: these very bytes passed the schema before (a backend's cache says so), so
        only the checks a schema cannot make are run again."""
        if not isinstance(raw, dict) or "lineage" not in raw or not isinstance(raw.get("resources"), dict):
            raise StateError(f"{source} is not a vastplan state file")
        if raw.get("format") != STATE_FORMAT:
            raise StateError(f"{source} has state format {raw.get('format')!r}; this vastplan reads {STATE_FORMAT}")
        problems = damage(raw, kinds, schema_passed=schema_passed)
        if problems:
            more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
            raise StateError(f"{source} is damaged: {problems[0]}{more}. Nothing was read from the account or "
                             f"changed; restore {Path(source).name}.backup (the state before the last command, "
                             "if there is one) or repair the file")
        resources = {addr: ResourceState.from_json(r) for addr, r in raw["resources"].items()}
        return cls(
            lineage=str(raw["lineage"]),
            serial=int(raw.get("serial", 0)),
            stack=raw.get("stack"),
            resources=resources,
            outputs=dict(raw.get("outputs") or {}),
        )


def damage(raw: Mapping[str, Any], kinds: Mapping[str, str], *, schema_passed: bool = False) -> list[str]:
    """What makes ``raw`` unusable as state: ``schemas/state.schema.json``, then what a schema cannot
    say (an address of one kind holding another kind, one object recorded under two addresses).
    ``kinds`` maps a collection (``instances``) to the kind its addresses hold."""
    if not schema_passed:
        from vastplan.stack.schema import strict_validator

        errors = sorted(strict_validator("state.schema.json").iter_errors(raw), key=lambda e: list(map(str, e.path)))
    else:
        errors = []
    if errors:
        example = list(kinds)[-1] if kinds else "COLLECTION"
        return [_explain(error, example) for error in errors]
    problems = []
    owners: dict[tuple[str, Any], str] = {}
    for address, entry in sorted(raw["resources"].items()):
        collection = address.split(".", 1)[0]
        if kinds.get(collection) != entry["kind"]:
            problems.append(f'resources["{address}"] has kind "{entry["kind"]}", '
                            f"but its address is one of {collection}")
        if entry["id"] is None:
            continue
        first = owners.setdefault((entry["kind"], entry["id"]), address)
        if first != address:
            problems.append(f'resources["{first}"] and resources["{address}"] both record {entry["kind"]} '
                            f"{entry['id']}; one object cannot be two resources")
    return problems


def _explain(error: Any, collection: str) -> str:
    """One schema error in words; ``collection`` is the one an example address names."""
    where = _where(list(error.absolute_path))
    shown = json.dumps(error.instance)[:60]
    if error.validator == "type":
        wanted = error.validator_value if isinstance(error.validator_value, list) else [error.validator_value]
        text = f"{shown} is not {' or '.join(_TYPE_WORDS.get(str(t), str(t)) for t in wanted)}"
    elif error.validator == "enum":
        text = f"{shown} is not one of {', '.join(map(str, error.validator_value))}"
    elif error.validator == "pattern" and "propertyNames" in error.absolute_schema_path:
        text = f"{shown} is not a resource address such as {collection}.NAME or {collection}.NAME[0]"
    else:
        text = error.message[:120]
    return f"{where}: {text}" if where else text


def _where(path: list[str | int]) -> str:
    """``["resources", "instances.a", "id"]`` -> ``resources["instances.a"].id``."""
    text = ""
    for i, part in enumerate(path):
        if isinstance(part, int):
            text += f"[{part}]"
        elif i == 1 and path[0] in ("resources", "outputs"):
            text += f'["{part}"]'
        else:
            text += f".{part}" if text else part
    return text


_TYPE_WORDS = {"integer": "an integer", "string": "a string", "null": "null", "object": "a mapping",
               "array": "a list", "boolean": "true/false", "number": "a number"}


def redact(attributes: Mapping[str, Any], paths: Iterable[str]) -> dict[str, Any]:
    """A copy of ``attributes`` with every path in ``paths`` (``env.TOKEN``, ``args[1]``) replaced by
    ``(sensitive)``."""
    result: dict[str, Any] = json.loads(json.dumps(attributes, default=str))
    for path in paths:
        *parents, leaf = path_parts(path)
        node: Any = result
        for part in parents:
            node = _child(node, part)
        _mask(node, leaf)
    return result


def _mask(node: Any, leaf: str | int) -> None:
    if isinstance(node, dict):
        if leaf in node:
            node[leaf] = SENSITIVE
    elif isinstance(node, list) and isinstance(leaf, int) and 0 <= leaf < len(node):
        node[leaf] = SENSITIVE


def path_parts(path: str) -> list[str | int]:
    """``args[1]`` -> ``["args", 1]``; ``env.TOKEN`` -> ``["env", "TOKEN"]``."""
    return [int(p[1:-1]) if p.startswith("[") else p for p in re.findall(r"\[\d+\]|[^.\[\]]+", path)]


def _child(node: Any, part: str | int) -> Any:
    if isinstance(part, int):
        return node[part] if isinstance(node, list) and 0 <= part < len(node) else None
    return node.get(part) if isinstance(node, dict) else None


@dataclass(frozen=True)
class Version:
    """One kept version of the state (``vastplan state history``)."""

    serial: int
    lineage: str
    written: str  # ISO 8601, UTC
    operation: str  # what wrote it (a file backend: which file)
    resources: int


class StateBackend(Protocol):
    """Where state lives: the local file (`backends/local.py`) or PostgreSQL (`backends/postgres.py`).

    - ``describe`` names it for messages; ``identity`` is what a saved plan records so that it is never
      applied against another backend (its kind and place, never a password).
    - ``read`` returns the latest state, or None when there is none yet.
    - ``write`` is a compare-and-swap on ``serial``: it stores ``state`` with the serial advanced by one,
      and refuses (StateError) when the stored serial is no longer the one ``state`` was based on.
      The first write of a command keeps the state as it was before the command (``.backup`` locally).
    - ``journal_create`` records, before a create, that an object is about to exist (a ``pending`` entry
      carrying its ownership marker), so neither a crash nor a lost answer leaves it unknown.
    - ``lock`` holds the one-writer lock for a command, recording who holds it (``LockInfo``);
      ``lock_holder`` reads that, ``force_unlock`` frees a lock whose holder is gone.
    - ``list_workspaces`` names every workspace of the stack that has a state (``default`` always);
      ``delete_workspace`` removes one's state (the caller checks it is empty).
    """

    def describe(self) -> str: ...

    def identity(self) -> str: ...

    def read(self) -> State | None: ...

    def write(self, state: State) -> State: ...

    def journal_create(self, state: State, address: str, entry: ResourceState) -> State: ...

    def save_errored(self, state: State) -> str: ...

    def lock(self, operation: str, timeout: float) -> AbstractContextManager[LockInfo]: ...

    def lock_holder(self) -> LockInfo | None: ...

    def force_unlock(self, lock_id: str, *, force: bool = False) -> LockInfo: ...

    # ``push`` stores a state as it is (serial kept; refused for another lineage or an older serial unless
    # ``force``); ``history`` lists the versions kept; workspaces are the (stack, workspace) keys it holds.
    def push(self, state: State, *, force: bool = False) -> State: ...

    def history(self) -> list[Version]: ...

    def list_workspaces(self) -> list[str]: ...

    def delete_workspace(self, name: str) -> None: ...
