"""The ResourceKind protocol: everything refresh, diff and apply need to know about one kind.

A kind is one plugin. It declares its part of the stack file (collection, schema definition,
defaults, references and validate-time checks in ``resolve``), turns a ResourceSpec into *desired
attributes*, turns API rows into *live attributes* with
the same keys, and performs create / update / delete. Diff compares the two dicts key by key; a
changed key listed in ``replace_fields`` forces a replacement. Attributes the API does not report
(``from_api`` leaves them out) are compared with what state recorded instead. Nothing outside this
package branches on a kind or names one: behaviour is registered in ``vastplan.kinds.KINDS``
(``tests/unit/test_architecture.py`` checks that).
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol

from vastplan.api.client import VastClient
from vastplan.kinds.placement import MachineLedger, Placement, Searcher
from vastplan.stack.model import ResourceSpec, Stack
from vastplan.stack.reader import YPath
from vastplan.state.model import ResourceState, State

LiveObjects = dict[Any, dict[str, Any]]
UNKNOWN = "(known after apply)"


def labelled(rows: LiveObjects, marker_prefix: str) -> LiveObjects:
    """The objects among ``rows`` whose ``label`` (where a kind keeps its ownership marker) starts
    with ``marker_prefix``: ``list_owned`` for kinds that carry the marker in a free-text field."""
    return {oid: live for oid, live in rows.items() if str(live.get("label") or "").startswith(marker_prefix)}


@dataclass
class Planning:
    """What a plan is made from besides the stack: the state, the live objects, and the offers
    chosen for new rentals (filled by each kind's ``prepare`` in registry order)."""

    stack: Stack
    state: State
    live: Mapping[str, LiveObjects]
    placements: dict[str, Placement] = field(default_factory=dict)
    claims: MachineLedger = field(default_factory=MachineLedger)
    now: float = field(default_factory=time.time)  # one clock for the whole plan (ttl expiry)
    # what a kind works out once per count block rather than once per index (keyed by the kind)
    per_block: dict[Any, Any] = field(default_factory=dict)
    replace_requested: frozenset[str] = frozenset()  # the addresses ``--replace`` names
    # Objects in state that this plan destroys and makes again (replaced, or re-created once gone):
    # their id changes, so what pins it must follow (filled kind by kind, before the next one prepares).
    renewed: set[str] = field(default_factory=set)
    _searcher: Searcher | None = None

    def shared_searcher(self, client: VastClient) -> Searcher:
        """One Searcher per plan, so each distinct marketplace query is sent once."""
        if self._searcher is None:
            self._searcher = Searcher(client)
        return self._searcher

    def live_object(self, address: str) -> dict[str, Any] | None:
        entry = self.state.resources.get(address)
        return self.live.get(entry.kind, {}).get(entry.id) if entry else None

    def replacing(self, address: str) -> bool:
        """Whether the plan must replace the object whatever its fields say: tainted, or ``--replace``."""
        entry = self.state.resources.get(address)
        return address in self.replace_requested or bool(entry and entry.tainted)

    def id_after(self, address: str) -> Any:
        """The id the object at ``address`` keeps through this plan; None while it does not exist yet
        (not in state, its create unconfirmed) or when the plan makes it anew (its new id is known
        only after apply)."""
        entry = self.state.resources.get(address)
        if entry is None or entry.id is None or entry.pending or address in self.renewed:
            return None
        return entry.id


@dataclass(frozen=True)
class IdleCheck:
    """An object's idle rule as ``reap`` reads it from the listing: ``since`` is when it was first seen
    idle (None: busy or not running now), ``then`` is "stop" or "destroy" once it has been idle for
    long enough (None before that), ``note`` says why, for the plan."""

    since: float | None
    then: str | None = None
    note: str = ""


@dataclass(frozen=True)
class Created:
    """What a create returns: the object's id and its attributes as recorded in state."""

    id: Any
    attributes: Mapping[str, Any]
    adopted: bool = False  # an identical object already existed and was taken over, not made


@dataclass(frozen=True)
class ApplyContext:
    """What a create/update/delete may consult: the plan's inputs, the state as it is right now
    (to resolve references), ``checkpoint`` to save progress mid-operation, ``progress`` to say
    something now, ``waiting_for`` to say what the next heartbeat line reports, and ``shared`` for
    per-apply helpers a kind keeps (pollers, claims)."""

    address: str
    planning: Planning
    current_state: Callable[[], State]
    checkpoint: Callable[[Any, Mapping[str, Any], bool], Awaitable[None]]  # done once on disk
    progress: Callable[[str], None]
    shared: dict[str, Any]
    # what the operation waits for now ("status loading: pulling image"): said every 10 s while it runs
    waiting_for: Callable[[str], None] = lambda note: None

    @property
    def stack(self) -> str:
        """The owner its ownership markers name: the stack, with its workspace unless the default."""
        return self.planning.stack.owner

    @property
    def live(self) -> Mapping[str, LiveObjects]:
        return self.planning.live


class Resolving(Protocol):
    """What a kind's ``resolve`` may use of the stack being resolved (``stack/resolve.py`` provides it)."""

    @property
    def data(self) -> dict[str, Any]:
        """The whole stack document, as loaded (it may hold what the schema rejected)."""

    @property
    def base_dir(self) -> Path:
        """The folder files named in the stack are read relative to."""

    @property
    def environ(self) -> Mapping[str, str]:
        """The environment ``{from_env: NAME}`` values are read from."""

    @property
    def hidden(self) -> frozenset[YPath]:
        """The document paths that received a sensitive variable's value."""

    def config(self, defaults: Mapping[str, Any], body: dict[str, Any], path: YPath) -> dict[str, Any]:
        """The body minus count and lifecycle, env flattened, ``defaults`` filled in."""

    def reference(self, collection: str, name: Any, path: YPath) -> str | None:
        """The address ``name`` refers to in ``collection``; reported if there is no such resource."""

    def report(self, path: YPath, summary: str) -> None:
        """A problem at ``path`` of the stack file, reported at its FILE:LINE:COL."""

    def check_duration(self, path: YPath) -> None:
        """Report a duration at ``path`` that the schema let through but the clock cannot add."""


class ResourceKind(ABC):
    kind: ClassVar[str]  # the name in state and plans ("instance")
    collection: ClassVar[str]  # the stack file's top-level key, the first part of an address ("instances")
    schema_definition: ClassVar[str]  # its block's ``$defs`` entry in schemas/stack.schema.json
    noun: ClassVar[str]  # how plans, drift notes and imports name one ("instance")
    singular: ClassVar[str]  # in sentences: "no ssh key named ...", "1 ssh key"
    plural: ClassVar[str]  # "ssh keys"
    with_article: ClassVar[str]  # "an SSH key"
    output_example: ClassVar[str] = ""  # NAME.ATTRIBUTE as messages show a reference to one ("server.ssh_url")
    defaults: ClassVar[Mapping[str, Any]] = {}  # fields every block has when the stack leaves them out
    # Beyond the stack's own fields, what refresh and apply record: what outputs may name.
    recorded_attributes: ClassVar[frozenset[str]] = frozenset({"id"})
    charge_types: ClassVar[frozenset[str]] = frozenset()  # the billing ``type`` of its charges; empty: free
    has_logs: ClassVar[bool] = False  # whether ``vastplan logs`` can read its container logs
    replace_fields: ClassVar[frozenset[str]] = frozenset()

    def forces_replacement(self, field: str, before: Any, after: Any) -> bool:
        """Whether changing ``field`` from ``before`` to ``after`` needs a new object; by name, unless a
        kind knows that only some changes of a field cannot be made in place."""
        return field in self.replace_fields

    def resolve(self, r: Resolving, name: str, body: dict[str, Any], path: YPath) -> tuple[dict[str, Any], list[str]]:
        """One block of the stack file as config, with the addresses it refers to; every problem the
        schema cannot see (references, files, values that must agree) is reported through ``r``
        (validate time: no network)."""
        return r.config(self.defaults, body, path), []

    def ttl_rule(self, spec: ResourceSpec) -> Mapping[str, Any] | None:
        """What decides when the object expires (recorded in state as ``ttl_rule`` with its
        ``expires_at``), so a plan can destroy it then and not rent it again while the rule stands;
        None for a kind that never expires."""
        return None

    def limits(self, spec: ResourceSpec, planning: Planning) -> list[str]:
        """What ends or pauses the object on its own, for the plan: its expiry time, its idle rule
        (enforced by the object itself and by ``reap``); [] for none."""
        return []

    def idle_check(self, spec: ResourceSpec, entry: ResourceState, live: Mapping[str, Any] | None,
                   now: float) -> IdleCheck | None:
        """``reap``'s idle rule from outside: whether the object is idle now, since when (kept in state
        across runs as ``idle_since``), and what to do once it has been idle long enough; None for an
        object without an idle rule."""
        return None

    def claimed_disk_gb(self, spec: ResourceSpec) -> float:
        """The disk a placement of this resource takes on its machine (nothing for unplaced kinds)."""
        return 0.0

    async def request_logs(self, client: VastClient, object_id: Any, tail: int | None) -> str:
        """Ask for the object's logs (only when ``has_logs``); returns the URL they appear at."""
        raise NotImplementedError(f"{self.plural} have no logs")

    @abstractmethod
    async def list_live(self, client: VastClient, known: Mapping[str, ResourceState]) -> LiveObjects:
        """One list request (or none when there is nothing to look for): id -> live attributes."""

    @abstractmethod
    def from_api(self, row: Mapping[str, Any]) -> dict[str, Any]:
        """One API row as live attributes (the keys ``desired`` produces that the API reports)."""

    async def prepare(self, client: VastClient, planning: Planning) -> None:
        """Before diffing: look up what desired attributes need beyond the stack (offers to rent)."""
        return None

    @abstractmethod
    def desired(self, spec: ResourceSpec, planning: Planning) -> dict[str, Any]:
        """The attributes the stack asks for, keyed as ``from_api`` keys them."""

    async def find_pending(self, client: VastClient, pending: Mapping[str, ResourceState],
                           listed: LiveObjects) -> dict[str, tuple[Any, dict[str, Any]]]:
        """Objects whose create was journaled but never confirmed, found by their ownership marker
        (``attributes["marker"]``): address -> (id, live attributes). ``listed`` is what refresh saw."""
        found: dict[str, tuple[Any, dict[str, Any]]] = {}
        for address, entry in pending.items():
            for object_id, live in listed.items():
                if self.owns(entry, live):
                    found[address] = (object_id, live)
                    break
        return found

    async def list_owned(self, client: VastClient, marker_prefix: str, listed: LiveObjects | None) -> LiveObjects:
        """Every object of this kind in the account whose ownership marker starts with
        ``marker_prefix`` (to find orphans). ``listed`` is what refresh saw, None if it did not list."""
        return {}

    def owns(self, entry: ResourceState, live: Mapping[str, Any]) -> bool:
        """Whether a live object is the one a journaled create made."""
        return bool(entry.attributes.get("marker")) and live.get("label") == entry.attributes["marker"]

    def sensitive_paths(self, spec: ResourceSpec, planning: Planning) -> frozenset[str]:
        """Dotted paths of ``desired`` whose values are never shown or stored."""
        return spec.sensitive_paths

    @abstractmethod
    async def create(self, client: VastClient, spec: ResourceSpec, desired: Mapping[str, Any],
                     ctx: ApplyContext) -> Created: ...

    async def finish_adopted(self, client: VastClient, spec: ResourceSpec, desired: Mapping[str, Any],
                             found: tuple[Any, dict[str, Any]], ctx: ApplyContext) -> Created:
        """A create's answer was lost but its object was found: do what the create would have done
        after it (by default nothing: the object is complete as made)."""
        return Created(found[0], found[1], adopted=True)

    @abstractmethod
    async def update(self, client: VastClient, entry: ResourceState, desired: Mapping[str, Any],
                     ctx: ApplyContext) -> Mapping[str, Any]:
        """Change the object in place; returns its new attributes for state."""

    @abstractmethod
    async def delete(self, client: VastClient, entry: ResourceState, ctx: ApplyContext) -> str:
        """Remove the object (an already-missing object counts as removed); returns a past-tense note."""

    def dph(self, live: Mapping[str, Any]) -> float:
        """What the live object costs per hour as it is now."""
        return 0.0

    def planned_dph(self, spec: ResourceSpec, planning: Planning) -> float:
        """What the object will cost per hour once the stack is applied."""
        return 0.0

    def machine_summary(self, values: Mapping[str, Any]) -> tuple[str, str, str] | None:
        """(GPUs, machine, location) of an object that runs on a machine, from its plan values, for the
        plan's summary table; None for an object that runs on none."""
        return None

    def warnings(self, spec: ResourceSpec, planning: Planning) -> list[str]:
        """Things about this resource that will cost money unexpectedly (shown with the plan)."""
        return []

    def creation_problems(self, spec: ResourceSpec, planning: Planning) -> list[str]:
        """Why this resource cannot be created as the stack says *now* (the stack itself was valid
        when written, e.g. an expiry time that has passed); checked only when the plan creates it."""
        return []

    def gone_note(self, entry: ResourceState) -> str:
        """What besides a delete outside vastplan may have removed the object from the account, which
        the API does not tell apart (``or destroyed by ...``, said beside "deleted outside
        vastplan"); "" for nothing else."""
        return ""

    def describe_drift(self, entry: ResourceState, live: Mapping[str, Any]) -> list[str]:
        """How the live object changed outside vastplan since state recorded it, in a user's words."""
        return [f"{name} was changed outside vastplan ({entry.attributes[name]!r} -> {live[name]!r})"
                for name in self.drift_fields if name in live and name in entry.attributes
                and entry.attributes[name] != live[name]]

    drift_fields: ClassVar[tuple[str, ...]] = ()

    def describe_update(self, fields: frozenset[str], after: Mapping[str, Any]) -> str:
        """A note for the plan about what an in-place update of these fields does."""
        return ""
