"""The resolved stack: what the stack file asks for, with variables, defaults, count and
references already worked out. Plain frozen data; nothing here reads files or the network."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from vastplan.diagnostics import SourceRange


def make_address(collection: str, name: str, index: int | None = None) -> str:
    """``instances.server[2]`` for collection ``instances``, name ``server``, index 2."""
    base = f"{collection}.{name}"
    return base if index is None else f"{base}[{index}]"


@dataclass(frozen=True)
class Lifecycle:
    prevent_destroy: bool = False
    ignore_changes: tuple[str, ...] = ()
    create_before_destroy: bool = False


@dataclass(frozen=True)
class ResourceSpec:
    """One desired object.

    ``config`` holds the resolved fields exactly as the schema names them (plain JSON-like values;
    a sensitive value is its real string here and is listed in ``sensitive_paths`` as a dotted path
    such as ``env.HF_TOKEN``). References to other resources stay as names in ``config`` (for
    example ``template: vllm``); ``depends_on`` lists the addresses they point to. The indexes of
    one ``count`` block share one ``config`` object: read it, never change it.
    """

    kind: str
    name: str
    address: str
    config: Mapping[str, Any]
    index: int | None = None
    depends_on: tuple[str, ...] = ()
    sensitive_paths: frozenset[str] = frozenset()
    lifecycle: Lifecycle = field(default_factory=Lifecycle)
    range: SourceRange | None = None


@dataclass(frozen=True)
class OutputSpec:
    """``value`` is the expression text as written, e.g. ``${instances.server[*].ssh_url}``."""

    name: str
    value: str
    sensitive: bool = False
    description: str = ""
    range: SourceRange | None = None


@dataclass(frozen=True)
class Budget:
    max_dph_total: float | None = None


@dataclass(frozen=True)
class Stack:
    path: str
    name: str
    resources: tuple[ResourceSpec, ...]
    outputs: tuple[OutputSpec, ...] = ()
    budget: Budget = field(default_factory=Budget)
    ttl: str | None = None
    sensitive_variables: frozenset[str] = frozenset()
    workspace: str = "default"

    @property
    def owner(self) -> str:
        """Who its ownership markers name (kinds/ownership.py): the stack, ``<stack>@<workspace>``
        outside the default workspace."""
        return self.name if self.workspace == "default" else f"{self.name}@{self.workspace}"

    def by_address(self) -> Mapping[str, ResourceSpec]:
        """Address -> spec, built once per stack (callers look resources up per instance)."""
        cached: Mapping[str, ResourceSpec] | None = self.__dict__.get("_by_address")
        if cached is None:
            cached = MappingProxyType({r.address: r for r in self.resources})
            object.__setattr__(self, "_by_address", cached)
        return cached
