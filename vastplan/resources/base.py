"""The ResourceKind protocol: everything diff, refresh and apply need to know about one kind.

A kind turns a ResourceSpec into *desired attributes*, turns API rows into *live attributes* with
the same keys, and performs create / update / delete. Diff compares the two dicts key by key; a
changed key listed in ``replace_fields`` forces a replacement. Nothing outside this package
branches on a kind: behaviour is registered in ``vastplan.resources.KINDS``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from vastplan.api.client import VastClient
from vastplan.stack.model import ResourceSpec
from vastplan.state import ResourceState, State

LiveObjects = dict[Any, dict[str, Any]]


@dataclass(frozen=True)
class Created:
    """What a create returns: the object's id and its attributes as recorded in state."""

    id: Any
    attributes: Mapping[str, Any]
    adopted: bool = False  # an identical object already existed and was taken over, not made


@dataclass(frozen=True)
class ApplyContext:
    """What a create/update/delete may consult: the stack's name, the live objects seen at refresh,
    the state as it is right now (to resolve references) and a progress callback."""

    stack: str
    address: str
    live: Mapping[str, LiveObjects]
    current_state: Callable[[], State]
    progress: Callable[[str], None]


class ResourceKind(ABC):
    kind: ClassVar[str]
    noun: ClassVar[str]
    replace_fields: ClassVar[frozenset[str]] = frozenset()

    @abstractmethod
    async def list_live(self, client: VastClient, known: Mapping[str, ResourceState]) -> LiveObjects:
        """One list request (or none when there is nothing to look for): id -> live attributes."""

    @abstractmethod
    def from_api(self, row: Mapping[str, Any]) -> dict[str, Any]:
        """One API row as live attributes (the same keys ``desired`` produces, plus read-only extras)."""

    @abstractmethod
    def desired(self, spec: ResourceSpec, stack: str) -> dict[str, Any]:
        """The attributes the stack asks for, keyed exactly as ``list_live`` keys them."""

    @abstractmethod
    async def create(self, client: VastClient, spec: ResourceSpec, desired: Mapping[str, Any],
                     ctx: ApplyContext) -> Created: ...

    @abstractmethod
    async def update(self, client: VastClient, entry: ResourceState, desired: Mapping[str, Any],
                     ctx: ApplyContext) -> Mapping[str, Any]:
        """Change the object in place; returns its new attributes for state."""

    @abstractmethod
    async def delete(self, client: VastClient, entry: ResourceState, ctx: ApplyContext) -> str:
        """Remove the object (an already-missing object counts as removed); returns a past-tense note."""

    def dph(self, attributes: Mapping[str, Any]) -> float:
        """What the object costs per hour while it exists as described."""
        return 0.0

    def title(self, spec_name: str, resource_id: Any) -> str:
        ident = f" (id {resource_id})" if resource_id is not None else ""
        return f'{self.noun} "{spec_name}"{ident}'
