"""The one object every handler reaches through ``call.sb``: world, knobs, clock and the caller."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from vastsandbox.world.control import Control
from vastsandbox.world.lifecycle import Lifecycle
from vastsandbox.world.machines import MACHINE_ID_BASE
from vastsandbox.world.market import Market
from vastsandbox.world.results import ResultStore
from vastsandbox.world.sshd import SshListeners
from vastsandbox.world.store import Store, World, key_hash


@dataclass
class Options:
    """How a sandbox was started (fixed for its lifetime, except what Control changes)."""

    api_key: str | None = None
    seed: int = 0
    boot_seconds: float = 3.0
    latency_ms: float = 0.0
    machines: int = 60
    ssh_listeners: bool = True
    # Answer 400 to a request that does not conform to the published spec's request schema.
    strict: bool = False


@dataclass
class Sandbox:
    """Shared state of one running sandbox. Only the event loop thread touches it."""

    options: Options
    store: Store
    control: Control
    market: Market
    lifecycle: Lifecycle
    accepted_keys: set[str] = field(default_factory=set)
    results: ResultStore = field(default_factory=ResultStore)  # what logs/execute uploaded
    # Strict mode: "METHOD /template/: problem; ..." for each request refused as non-conforming.
    nonconforming: list[str] = field(default_factory=list)
    # Called after a mutation that should be persisted soon (set by the app).
    on_change: Callable[[], None] = lambda: None

    @classmethod
    def create(cls, options: Options, store: Store) -> Sandbox:
        world = store.world
        control = Control(world.seed, options.latency_ms, options.boot_seconds)
        keys = {key_hash(options.api_key)} if options.api_key else set()
        # Never shrink the market below the machines that instances and volumes live on.
        used = [int(r["machine_id"]) - MACHINE_ID_BASE + 1
                for kind in ("instances", "volumes") for r in world.all(kind)]
        market = Market(world.seed, max([options.machines, *used]))
        occupy(market, world)
        lifecycle = Lifecycle(SshListeners() if options.ssh_listeners else None)
        lifecycle.rebuild(list(world.all("instances")))
        return cls(options=options, store=store, control=control, market=market, lifecycle=lifecycle,
                   accepted_keys=keys)

    @property
    def world(self) -> World:
        return self.store.world

    def now(self) -> float:
        """Wall-clock time, shifted by the admin clock offset (to age bills without waiting)."""
        return time.time() + self.control.clock_offset

    def key_allowed(self, api_key: str) -> bool:
        """Any non-empty key when none was configured, else only configured or admin-added keys."""
        if not api_key:
            return False
        return not self.accepted_keys or key_hash(api_key) in self.accepted_keys

    def changed(self) -> None:
        self.world.version += 1
        self.store.mark_dirty()
        self.on_change()


class Caller(Protocol):
    """Who acts on the world, and when: what its rules need of a request (``http.router.Call`` is one)."""

    @property
    def sb(self) -> Sandbox: ...

    @property
    def uid(self) -> int: ...

    @property
    def now(self) -> float: ...


def occupy(market: Market, world: World) -> None:
    """Mark the GPUs and disk that the world's instances, volumes and admin takes hold."""
    for record in world.all("instances"):
        market.hold(int(record["machine_id"]), [int(s) for s in record["gpu_slots"]],
                    f"instance:{record['id']}")
        market.use_disk(int(record["machine_id"]), float(record["disk_space"]))
    for record in world.all("volumes"):
        market.use_disk(int(record["machine_id"]), float(record["disk_space"]))
    for machine_id, slots in world.extra.get("taken", {}).items():
        market.hold(int(machine_id), [int(s) for s in slots], "taken")
    # After the holds above, which are not new events: generations continue from the world's.
    market.bind_generations(world.extra.setdefault("offer_generations", {}))
