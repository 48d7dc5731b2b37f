"""The API work behind an instance's create and update: renting with fallback to the next matching
offer, attaching SSH keys, and waiting for readiness. State is checkpointed as soon as the instance
exists, so a failure or a crash later on can never lose it."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Mapping
from datetime import datetime
from typing import Any

from vastplan.api import instances as api
from vastplan.api.client import VastClient
from vastplan.apply.dag.walk import slot_released
from vastplan.errors import ApiError
from vastplan.kinds import instance_config as cfg
from vastplan.kinds import watchdog
from vastplan.kinds.base import ApplyContext, Created
from vastplan.kinds.ownership import marker
from vastplan.kinds.placement import (
    SEARCH_LIMIT,
    MachineLedger,
    Placement,
    Searcher,
    fallback_query,
    instance_disk,
    on_machine,
)
from vastplan.kinds.readiness import NotReady, ReadinessPolicy, ReadinessPoller
from vastplan.kinds.ssh_key import normalise_key
from vastplan.stack.model import ResourceSpec
from vastplan.state.model import ResourceState

DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def offer_taken(error: ApiError) -> bool:
    return error.status in (404, 410) and "no_such_ask" in f"{error.code} {error.message}"


def launchable(body: Mapping[str, Any]) -> bool:
    """Whether a rent can be one ``launch_instance`` call: on-demand, running, no volume, as the
    official CLI's ``launch instance`` sends it (a bid, a volume or a stopped start take an offer id)."""
    return body.get("price") is None and not body.get("volume_info") and body.get("target_state") in (None, "running")


def seconds(text: Any, default: float) -> float:
    if text is None:
        return default
    if isinstance(text, (int, float)):
        return float(text)
    value, unit = str(text)[:-1], str(text)[-1]
    return float(value) * DURATION_UNITS[unit] if unit in DURATION_UNITS else float(text)


def expiry_rule(config: Mapping[str, Any]) -> dict[str, Any]:
    """An instance's ttl rule: its ``ttl`` and ``expires_at`` as the stack gives them, and its
    ``idle`` rule when it has one (absent otherwise, so rules recorded before idle existed still match)."""
    rule = {"ttl": config.get("ttl"), "expires_at": config.get("expires_at")}
    idle = watchdog.idle_rule(config)
    if idle is not None:
        rule["idle"] = idle
    return rule


def expiry(config: Mapping[str, Any], now: float) -> dict[str, Any]:
    """When an instance created ``now`` expires (its ``ttl`` or ``expires_at``), and the rule itself,
    so that a later plan can tell whether the rule changed."""
    rule = expiry_rule(config)
    if rule["ttl"]:
        return {"expires_at": now + seconds(rule["ttl"], 0.0), "ttl_rule": rule}
    if rule["expires_at"]:
        moment = datetime.fromisoformat(str(rule["expires_at"]).replace("Z", "+00:00"))
        return {"expires_at": moment.timestamp(), "ttl_rule": rule}
    return {"ttl_rule": rule} if "idle" in rule else {}


def readiness_policy(spec: ResourceSpec) -> ReadinessPolicy:
    block = spec.config.get("readiness") or {}
    return ReadinessPolicy(timeout=seconds(block.get("timeout"), 600.0), ssh_probe=bool(block.get("ssh_probe", True)))


class InstanceOps:
    def __init__(self, client: VastClient, ctx: ApplyContext):
        self.client, self.ctx = client, ctx

    @property
    def poller(self) -> ReadinessPoller:
        poller = self.ctx.shared.get("readiness")
        if not isinstance(poller, ReadinessPoller):
            poller = self.ctx.shared["readiness"] = ReadinessPoller(self.client)
        return poller

    async def create(self, spec: ResourceSpec, desired: Mapping[str, Any]) -> Created:
        placement = self.ctx.planning.placements[spec.address]
        template = cfg.template_spec(spec, self.ctx.planning.stack)
        template_hash = None
        if template is not None:
            entry = self.ctx.current_state().resources.get(template.address)
            template_hash = entry.attributes.get("hash_id") if entry else None
        eff = cfg.effective(spec, self.ctx.planning.stack)
        label = cfg.label_for(spec, self.ctx.planning.stack)
        body = cfg.create_body(desired, spec.config, eff["runtype"], label, template_hash, self._volume_info(spec))
        offer, instance_id = await self._rent(body, placement, instance_disk(spec))
        return await self.finish(spec, desired, instance_id, offer)

    async def finish(self, spec: ResourceSpec, desired: Mapping[str, Any], instance_id: int,
                     offer: Mapping[str, Any], adopted: bool = False) -> Created:
        """What follows the rental, also for an instance adopted after a lost answer: record it at
        once, attach its SSH keys, wait until it is ready."""
        attributes = {**desired, **expiry(spec.config, time.time()),
                      "offer": cfg.describe_offer(offer), "offer_id": offer.get("id"),
                      "dph_total": offer.get("dph_total"), "ssh_keys": [],
                      "machine_row": cfg.machine_row(offer), "storage_hour": offer.get("storage_total_cost"),
                      # unknown until it is ready; recorded as such, so that a later refresh fills them
                      # in should this apply be interrupted while it waits (outputs are made of them)
                      **cfg.connection({})}
        await self.ctx.checkpoint(instance_id, attributes, False)
        if desired["ssh_keys"]:
            attributes["ssh_keys"] = await self._sync_keys(instance_id, [], desired["ssh_keys"])
            await self.ctx.checkpoint(instance_id, attributes, False)
        if desired["state"] == "running":
            attributes.update(await self._ready(spec, instance_id, attributes))
        return Created(instance_id, attributes, adopted=adopted)

    async def _rent(self, body: dict[str, Any], placement: Placement, disk: float) -> tuple[Mapping[str, Any], int]:
        """Rent on the planned machine (its pinned offer, or another of its GPUs: an id rents once);
        when the machine has no room left, on the next machine matching the same filters."""
        ledger = self.ctx.planning.claims
        gpus = placement.gpus
        # A replacement of an instance that keeps its machine has no machine to pin: search afresh.
        offer = None if placement.current else placement.offer
        full: set[int] = set()
        while True:
            if offer is None:
                offer = await self._another_machine(placement, gpus, disk, full)
                ledger.claim(int(offer["machine_id"]), gpus, disk)
            machine = int(offer["machine_id"])
            if launchable(body):  # Vast.ai picks the machine's offer itself: no turn to wait for
                rented = await self._rent_on(body, placement, offer, gpus)
            else:
                async with _machine_turn(ledger, machine):
                    rented = await self._rent_on(body, placement, offer, gpus)
            ledger.release(machine, gpus, disk)  # rented (the market shows it taken from now on) or moving on
            if rented is not None:
                return rented
            full.add(machine)
            self.ctx.progress(f"machine {machine} has no {gpus}-GPU offer left; trying the next match")
            offer = None

    async def _rent_on(self, body: dict[str, Any], placement: Placement, known: Mapping[str, Any],
                       gpus: int) -> tuple[Mapping[str, Any], int] | None:
        """Rent ``gpus`` GPUs of ``known``'s machine: its offer id while nobody rented it, else another
        offer of that machine; None when it has no such offer (any more)."""
        ledger = self.ctx.planning.claims
        machine = int(known["machine_id"])
        query = on_machine(placement.query, machine, gpus)
        for _ in range(3):  # an offer taken under our hands: the machine may still have room
            offer: Mapping[str, Any] | None
            if "id" in known and int(known["id"]) not in ledger.used_offers:
                offer = known
            elif launchable(body):
                return await self._launch_on(body, placement, known, query)
            else:
                fresh = await api.search_offers(self.client, query, order=placement.order,
                                                offer_type=placement.offer_type, limit=1)
                offer = fresh[0] if fresh else None
            if offer is None:
                return None
            ledger.used_offers.add(int(offer["id"]))
            price = f"bid ${body['price']:.3f}/hr" if body.get("price") is not None else \
                f"${float(offer.get('dph_total') or 0):.3f}/hr"
            self.ctx.progress(f"renting offer {offer['id']} ({cfg.describe_offer(offer)}, {price})")
            try:
                return offer, await api.create_instance(self.client, int(offer["id"]), body)
            except ApiError as exc:
                if not offer_taken(exc):
                    raise
            then = "renting another of its offers" if launchable(body) else "searching it for another"
            self.ctx.progress(f"offer {offer['id']} was taken; machine {machine} may still have room: {then}")
        return None

    async def _launch_on(self, body: dict[str, Any], placement: Placement, known: Mapping[str, Any],
                         query: dict[str, Any]) -> tuple[Mapping[str, Any], int] | None:
        """Rent one of the machine's matching offers in one call; None when it has none left. The
        answer names no offer: the machine's bundle of that size is ``known``'s, at its price."""
        self.ctx.progress(f"renting on {cfg.describe_offer(known)} "
                          f"(${float(known.get('dph_total') or 0):.3f}/hr)")
        try:
            instance_id = await api.launch_instance(self.client, query, order=placement.order, body=body)
        except ApiError as exc:
            if offer_taken(exc):
                return None
            raise
        return {**known, "id": None}, instance_id

    async def _another_machine(self, placement: Placement, gpus: int, disk: float,
                               full: set[int]) -> Mapping[str, Any]:
        """The offer of the best machine matching the placement's filters with room for ``gpus`` GPUs
        beside what this apply still has to rent there (fresh searches: the plan's picture is out of date)."""
        ledger = self.ctx.planning.claims
        fresh_ledger = MachineLedger(planned_gpus=ledger.planned_gpus, planned_disk=ledger.planned_disk)
        query = {**placement.query, "num_gpus": {"eq": gpus}} if placement.current else fallback_query(placement, gpus)
        offers = await api.search_offers(self.client, query, order=placement.order,
                                         offer_type=placement.offer_type, limit=SEARCH_LIMIT)
        await Searcher(self.client).learn_capacity(fresh_ledger, offers)
        for offer in offers:
            machine = int(offer["machine_id"])
            if machine not in full and fresh_ledger.room(machine, gpus, disk):
                return offer
        planned = None if placement.current else placement.machine_id
        where = f"machine {planned} was taken and no other" if planned is not None else "no"
        kept = "" if placement.current else _kept(placement.query, query)
        raise ApiError(f"{where} machine matches the filters{kept} with room; nothing was rented", status=410,
                       code="no_such_ask", method="POST", path="/bundles/")

    def _volume_info(self, spec: ResourceSpec) -> dict[str, Any] | None:
        for item in spec.config.get("volumes") or []:
            entry = self.ctx.current_state().resources.get(cfg.mount_address(item))
            if entry is not None:
                return {"mount_path": item["mount"], "create_new": False, "volume_id": entry.id}
        return None

    async def _ready(self, spec: ResourceSpec, instance_id: int, attributes: dict[str, Any]) -> dict[str, Any]:
        policy = readiness_policy(spec)
        awaited = "to run and answer SSH" if policy.ssh_probe else "to run"
        self.ctx.progress(f"waiting up to {policy.timeout:.0f}s for it {awaited}")
        self.ctx.waiting_for("not listed yet")

        def still(status: str) -> None:
            """Said when the status changes; the heartbeat repeats it (and what is still awaited)."""
            self.ctx.progress(status)
            running = policy.ssh_probe and status.startswith("status running")
            self.ctx.waiting_for("running, SSH not answering yet" if running else status)

        try:
            async with slot_released():
                row = await self.poller.wait(instance_id, policy, still)
        except NotReady as exc:
            await self.ctx.checkpoint(instance_id, attributes, True)
            raise NotReady(f"{exc}. Recorded as tainted [id={instance_id}]; the next plan replaces it "
                           f"(should it run after all: vastplan untaint {self.ctx.address})") from None
        return cfg.connection(row)

    async def _sync_keys(self, instance_id: int, attached: list[str], wanted: list[str]) -> list[str]:
        """Attach missing keys and detach extra ones; returns the keys now attached."""
        for text in sorted(set(wanted) - set(attached)):
            await api.attach_ssh_key(self.client, instance_id, text)
        for text in sorted(set(attached) - set(wanted)):
            key_id = self._account_key_id(text)
            if key_id is not None:
                await api.detach_ssh_key(self.client, instance_id, key_id)
        return sorted(wanted)

    def _account_key_id(self, text: str) -> int | None:
        for key_id, live in self.ctx.live.get("ssh_key", {}).items():
            if live.get("public_key") == normalise_key(text):
                return int(key_id)
        for entry in self.ctx.current_state().resources.values():
            if entry.kind == "ssh_key" and entry.attributes.get("public_key") == normalise_key(text):
                return int(entry.id)
        return None

    async def update(self, entry: ResourceState, desired: Mapping[str, Any]) -> Mapping[str, Any]:
        live = self.ctx.planning.live_object(self.ctx.address) or {}
        current = {**entry.attributes, **live}
        changed = {k for k in desired if desired[k] != current.get(k)}
        attributes = {**current, **desired}
        instance_id = entry.id
        if "label" in changed:
            owner = marker(self.ctx.stack, self.ctx.address)
            await api.set_instance(self.client, instance_id, {"label": cfg.full_label(owner, desired["label"])})
        if "bid_dph" in changed:
            await api.change_bid(self.client, instance_id, desired["bid_dph"])
        if "ssh_keys" in changed:
            await self._sync_keys(instance_id, list(current.get("ssh_keys") or []), desired["ssh_keys"])
        recreate = changed & {"image", "env", "onstart", "ports", "watchdog"}
        if recreate:
            env = cfg.env_with_ports(desired["env"], desired["ports"])
            spec = self.ctx.planning.stack.by_address()[self.ctx.address]
            onstart = watchdog.compose(desired["onstart"], spec.config)
            await api.update_template(self.client, instance_id,
                                      {"image": desired["image"], "env": env, "onstart": onstart})
            if "watchdog" in changed:  # a new rule: its expiry counts from the rental's start, as the watchdog's
                for key in ("expires_at", "ttl_rule"):
                    attributes.pop(key, None)
                start = current.get("start_date")
                attributes.update(expiry(spec.config, float(start) if isinstance(start, (int, float)) else time.time()))
        if "state" in changed:
            await api.set_instance(self.client, instance_id, {"state": desired["state"]})
        if desired["state"] == "running" and (recreate or "state" in changed):
            spec = self.ctx.planning.stack.by_address()[self.ctx.address]
            attributes.update(await self._ready(spec, instance_id, attributes))
        return attributes


def _kept(stack_query: Mapping[str, Any], query: Mapping[str, Any]) -> str:
    """What the fallback kept of the plan beside the stack's filters: " (RTX 4090 in US, as planned)",
    " (in US, as planned)" when the stack names the GPU model."""
    gpu = query["gpu_name"]["eq"] if "gpu_name" not in stack_query and "gpu_name" in query else None
    country = query["geolocation"]["in"][0] if "geolocation" not in stack_query and "geolocation" in query else None
    if gpu is None and country is None:
        return ""
    what = f"{gpu or ''} in {country}".strip() if country is not None else str(gpu)
    return f" ({what}, as planned)"


@contextlib.asynccontextmanager
async def _machine_turn(ledger: MachineLedger, machine: int) -> AsyncIterator[None]:
    """This apply's turn to rent on ``machine`` (one rent at a time per machine: an offer id rents
    once). Waiting for the turn gives the parallelism slot back, as a boot wait does: ten instances
    queued on one machine no longer hold every slot while the other machines sit idle."""
    lock = ledger.lock(machine)
    if lock.locked():
        async with slot_released():
            await lock.acquire()
    else:
        await lock.acquire()
    try:
        yield
    finally:
        lock.release()
