"""GPU instances: rented from the cheapest matching offer, waited on until SSH answers, changed in
place where Vast.ai allows it (label, start/stop, bid, SSH keys, image/env/onstart) and replaced
where it does not (machine, disk, volumes)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from vastplan.api import instances as api
from vastplan.api.client import VastClient
from vastplan.api.logs import request_logs
from vastplan.api.offers import machine_mismatches
from vastplan.errors import ApiError
from vastplan.kinds import docker_options, watchdog
from vastplan.kinds import instance_config as cfg
from vastplan.kinds import instance_stack as stack_block
from vastplan.kinds.base import (
    ApplyContext,
    Created,
    IdleCheck,
    LiveObjects,
    Planning,
    Resolving,
    ResourceKind,
)
from vastplan.kinds.instance_ops import InstanceOps, expiry, expiry_rule
from vastplan.kinds.network_volume import mounted_network_volumes
from vastplan.kinds.ownership import strip_marker
from vastplan.kinds.placement import Placement, instance_disk, instance_search, storage_dph
from vastplan.kinds.placer import Placer, groups_of
from vastplan.kinds.volume import mounted_volumes
from vastplan.kinds.volume import to_place as volume_to_place
from vastplan.stack.model import ResourceSpec
from vastplan.stack.reader import YPath
from vastplan.state.model import ResourceState

IN_PLACE_RECREATES = frozenset({"image", "env", "onstart", "ports", "watchdog"})
LABELS_PER_QUERY = 50  # keeps the query string far below a server's request-line limit
# The columns from_api reads: listing only these makes a refresh page about a quarter of the full rows.
LIVE_COLS = ("id", "extra_env", "image_uuid", "onstart", "disk_space", "volume_info", "intended_status", "label",
             "actual_status", "start_date", "end_date", "min_bid", *cfg.MACHINE_ROW_FIELDS, "ssh_host", "ssh_port",
             "public_ipaddr", "ports", "gpu_util")


class InstanceKind(ResourceKind):
    kind: ClassVar[str] = "instance"
    collection: ClassVar[str] = "instances"
    schema_definition: ClassVar[str] = "instance"
    noun: ClassVar[str] = "instance"
    singular: ClassVar[str] = "instance"
    plural: ClassVar[str] = "instances"
    with_article: ClassVar[str] = "an instance"
    output_example: ClassVar[str] = "server.ssh_url"
    defaults: ClassVar[Mapping[str, Any]] = stack_block.DEFAULTS
    recorded_attributes: ClassVar[frozenset[str]] = frozenset({
        "id", "offer_id", "bid_dph", "expires_at", "ttl_rule", "full_label", "actual_status", "start_date",
        "end_date", "min_bid", "machine_row", "dph_total", "storage_hour", "ssh_host", "ssh_port",
        "public_ipaddr", "ports_map", "ssh_url", "idle_since"})
    charge_types: ClassVar[frozenset[str]] = frozenset({"instance"})
    has_logs: ClassVar[bool] = True
    replace_fields: ClassVar[frozenset[str]] = frozenset({"offer", "disk_gb", "volumes"})

    def resolve(self, r: Resolving, name: str, body: dict[str, Any], path: YPath) -> tuple[dict[str, Any], list[str]]:
        return stack_block.resolve(r, body, path)

    def ttl_rule(self, spec: ResourceSpec) -> Mapping[str, Any] | None:
        return expiry_rule(spec.config)

    def claimed_disk_gb(self, spec: ResourceSpec) -> float:
        return instance_disk(spec)

    def limits(self, spec: ResourceSpec, planning: Planning) -> list[str]:
        entry = planning.state.resources.get(spec.address)
        recorded = entry.attributes if entry is not None and not entry.expired else {}
        text = watchdog.limits(spec.config, recorded.get("expires_at"), recorded.get("idle_since"), planning.now)
        return [text] if text else []

    def idle_check(self, spec: ResourceSpec, entry: ResourceState, live: Mapping[str, Any] | None,
                   now: float) -> IdleCheck | None:
        """Idle: running, and the listing's ``gpu_util`` (the busiest GPU, as Vast.ai reports it)
        below the rule's threshold; an instance stopped, booting or unreported is not idle."""
        rule = watchdog.idle_rule(spec.config)
        if rule is None or live is None or entry.expired:
            return None
        util = live.get("gpu_util")
        if live.get("actual_status") != "running" or not isinstance(util, (int, float)) \
                or util >= rule["gpu_util_below"]:
            return IdleCheck(None)
        since = entry.attributes.get("idle_since")
        since = float(since) if isinstance(since, (int, float)) else now
        due = now - since >= watchdog.seconds(rule["after"])
        note = f"GPU use {util:g}% below {rule['gpu_util_below']}% since {watchdog.moment(since)}"
        return IdleCheck(since, rule["then"] if due else None, note)

    async def request_logs(self, client: VastClient, object_id: Any, tail: int | None) -> str:
        return await request_logs(client, int(object_id), tail=tail)

    async def list_live(self, client: VastClient, known: Mapping[str, ResourceState]) -> LiveObjects:
        rows = await api.instances_by_id(client, (r.id for r in known.values()), LIVE_COLS, with_tally=True)
        return {row["id"]: self.from_api(row) for row in rows if "id" in row}

    def machine_summary(self, values: Mapping[str, Any]) -> tuple[str, str, str] | None:
        return cfg.offer_parts(str(values.get("offer") or ""))

    def from_api(self, row: Mapping[str, Any]) -> dict[str, Any]:
        env, ports = docker_options.parse({str(k): v for k, v in row.get("extra_env") or []})
        onstart, rule = watchdog.split(row.get("onstart") or "")
        return {
            "offer": cfg.describe_offer(row),
            "image": row.get("image_uuid") or "",
            "env": env,
            "ports": ports,
            "onstart": onstart,
            "watchdog": rule,  # the lifecycle rule its onstart's watchdog enforces ("" for none)
            "disk_gb": int(float(row.get("disk_space") or 0)),
            "volumes": [f"{v.get('id')}:{v.get('mount_path')}" for v in row.get("volume_info") or []],
            "state": row.get("intended_status") or "",
            "label": strip_marker(row.get("label")),  # the marker is ownership, not something to diff
            "full_label": row.get("label") or "",
            # read-only, for cost, readiness, drift and outputs
            "actual_status": row.get("actual_status"),
            "start_date": row.get("start_date"),
            "end_date": row.get("end_date"),
            "min_bid": row.get("min_bid"),
            "machine_row": cfg.machine_row(row),
            "dph_total": float(row.get("dph_total") or 0),
            "storage_hour": float(row.get("storage_total_cost") or 0),
            "gpu_util": row.get("gpu_util"),
            **cfg.connection(row),
        }

    async def find_pending(self, client: VastClient, pending: Mapping[str, ResourceState],
                           listed: LiveObjects) -> dict[str, tuple[Any, dict[str, Any]]]:
        """One listing filtered on the labels the journaled creates were to carry."""
        labels = sorted({_pending_label(e) for e in pending.values()})
        rows = await api.list_instances(client, {"label": {"in": labels}}, LIVE_COLS)
        return await super().find_pending(client, pending, {r["id"]: self.from_api(r) for r in rows if "id" in r})

    async def list_owned(self, client: VastClient, marker_prefix: str, listed: LiveObjects | None) -> LiveObjects:
        """label_counts (one small page) says how many instances carry each label; rows are fetched
        only for our labels carried by more instances than refresh already saw."""
        seen: dict[str, int] = {}
        for live in (listed or {}).values():
            seen[live.get("full_label", "")] = seen.get(live.get("full_label", ""), 0) + 1
        labels = sorted(label for label, count in (await api.label_counts(client)).items()
                        if label.startswith(marker_prefix) and count > seen.get(label, 0))
        chunks = [labels[i:i + LABELS_PER_QUERY] for i in range(0, len(labels), LABELS_PER_QUERY)]
        import asyncio

        pages = await asyncio.gather(*(api.list_instances(client, {"label": {"in": c}}, LIVE_COLS) for c in chunks))
        return {row["id"]: self.from_api(row) for page in pages for row in page if "id" in row}

    def owns(self, entry: ResourceState, live: Mapping[str, Any]) -> bool:
        return bool(entry.attributes.get("marker")) and live.get("full_label") == _pending_label(entry)

    # --- planning -----------------------------------------------------------------------------------
    async def prepare(self, client: VastClient, planning: Planning) -> None:
        """Keep each existing instance's machine while it still fits; place the rest, and every new
        volume with the instances that mount it (see placer for the order and why)."""
        to_place: list[ResourceSpec] = []
        for spec in (s for s in planning.stack.resources if s.kind == self.kind):
            live = planning.live_object(spec.address)
            query, order, offer_type = instance_search(spec, _volume_machine(spec, planning))
            if live is not None and not self._needs_new_machine(spec, planning, live, query):
                planning.placements[spec.address] = Placement(cfg.recorded_machine(live), query, order, offer_type,
                                                               True)
            else:
                to_place.append(spec)
        placer = Placer(planning.shared_searcher(client), planning.claims)
        on_volume = {s.address: _volume_machine(s, planning) for s in to_place}
        pinned = [s for s in to_place if on_volume[s.address] is not None]
        for group in groups_of(pinned, on_volume):
            planning.placements.update(await placer.place_group(group))
        in_cluster = {s.address: c for s in to_place if (c := _network_cluster(s, planning)) is not None}
        for cluster in sorted(set(in_cluster.values())):
            for group in groups_of([s for s in to_place if in_cluster.get(s.address) == cluster], {}):
                group.query["cluster_id"] = {"eq": cluster}  # a network volume mounts in its cluster only
                planning.placements.update(await placer.place_group(group))
        for volume in (s for s in planning.stack.resources if s.kind == "volume"):
            if volume_to_place(volume, planning):
                mounts = [s for s in to_place if volume.address in mounted_volumes(s)]
                planning.placements.update(await placer.place_volume(volume, mounts))
        free = [s for s in to_place if s.address not in planning.placements]
        for group in groups_of(free, {}):
            planning.placements.update(await placer.place_group(group))

    def _needs_new_machine(self, spec: ResourceSpec, planning: Planning, live: Mapping[str, Any],
                           query: Mapping[str, Any]) -> bool:
        base = self._base_desired(spec, planning)
        # Without a recorded machine row (a --no-refresh plan of an older state) there is nothing to
        # compare: the state is trusted, as --no-refresh asks.
        recorded = live.get("machine_row")
        return (planning.replacing(spec.address) or bool(recorded and machine_mismatches(query, recorded))
                or base["disk_gb"] != live["disk_gb"] or base["volumes"] != live["volumes"])

    def _base_desired(self, spec: ResourceSpec, planning: Planning) -> dict[str, Any]:
        """What the block asks for, the same for each of its count indexes (they share one config):
        worked out once per block and plan, handed out as a copy each index may keep."""
        key = ("instance", id(spec.config))
        known = planning.per_block.get(key)
        if known is None or known[0] is not spec.config:
            known = planning.per_block[key] = (spec.config, self._block_desired(spec, planning))
        return {k: dict(v) if isinstance(v, dict) else list(v) if isinstance(v, list) else v
                for k, v in known[1].items()}

    def _block_desired(self, spec: ResourceSpec, planning: Planning) -> dict[str, Any]:
        stack = planning.stack
        eff = cfg.effective(spec, stack)
        bid = (spec.config.get("interruptible") or {}).get("bid_dph")
        return {
            "image": eff["image"], "env": eff["env"], "ports": eff["ports"], "onstart": eff["onstart"],
            "watchdog": watchdog.describe(spec.config),
            "disk_gb": int(spec.config.get("disk_gb") or 10),
            "volumes": cfg.volume_mounts(spec, planning),
            "state": spec.config.get("state", "running"),
            "label": spec.config.get("label") or "",
            "ssh_keys": cfg.ssh_key_texts(spec, stack),
            "bid_dph": float(bid) if bid is not None else None,
        }

    def desired(self, spec: ResourceSpec, planning: Planning) -> dict[str, Any]:
        placement = planning.placements.get(spec.address)
        offer = cfg.describe_offer(placement.offer) if placement else "(chosen at apply)"
        return {"offer": offer, **self._base_desired(spec, planning)}

    def sensitive_paths(self, spec: ResourceSpec, planning: Planning) -> frozenset[str]:
        """The instance's own sensitive env, and the sensitive env it inherits from its template."""
        return spec.sensitive_paths | cfg.sensitive_env(spec, planning.stack)

    def dph(self, live: Mapping[str, Any]) -> float:
        if live.get("state") == "stopped":
            return float(live.get("storage_hour") or 0)
        return float(live.get("dph_total") or 0)

    def planned_dph(self, spec: ResourceSpec, planning: Planning) -> float:
        placement = planning.placements.get(spec.address)
        if placement is None:
            return 0.0
        offer = placement.offer
        disk = float(spec.config.get("disk_gb") or 10)
        storage = float(offer.get("storage_total_cost") or 0) or storage_dph(offer.get("storage_cost") or 0, disk)
        if spec.config.get("state") == "stopped":
            return storage
        bid = (spec.config.get("interruptible") or {}).get("bid_dph")
        return float(bid) + storage if bid is not None else float(offer.get("dph_total") or 0)

    def warnings(self, spec: ResourceSpec, planning: Planning) -> list[str]:
        live = planning.live_object(spec.address)
        if live is None:
            return []
        notes = []
        bid = (spec.config.get("interruptible") or {}).get("bid_dph")
        floor = live.get("min_bid")
        if bid is not None and isinstance(floor, (int, float)) and float(bid) < floor:
            notes.append(f"its bid ${float(bid):.3f}/hr is below the current min_bid ${floor:.3f}/hr: "
                         "it can be outbid and stopped (its disk keeps billing)")
        ends = live.get("end_date")
        if isinstance(ends, (int, float)) and ends - planning.now < 86400:
            notes.append("its host's offer ends within a day: the price may rise or the machine leave")
        return notes

    def creation_problems(self, spec: ResourceSpec, planning: Planning) -> list[str]:
        when = spec.config.get("expires_at")
        if not when:
            return []
        try:
            moment = expiry(spec.config, planning.now).get("expires_at")
        except ValueError:  # not a time at all: the stack check reported it
            return []
        if isinstance(moment, (int, float)) and moment <= planning.now:
            return [f"expires_at {when} is in the past: the instance would be rented only to be destroyed "
                    "by the next reap; set a later time or remove expires_at"]
        return []

    def gone_note(self, entry: ResourceState) -> str:
        """Its watchdog's idle destroy leaves no trace: once destroyed, an instance is gone from every
        listing, and its restricted key could only have changed the instance itself."""
        rules = str(entry.attributes.get("watchdog") or "").split("; ")
        idle = [rule for rule in rules if rule.startswith("idle ") and rule.endswith("then destroy")]
        return f"or destroyed by its watchdog for idling ({idle[0]})" if idle else ""

    def describe_drift(self, entry: ResourceState, live: Mapping[str, Any]) -> list[str]:
        recorded = entry.attributes
        notes = []
        if live.get("actual_status") in ("offline", "exited", "unknown"):
            notes.append(f'is "{live["actual_status"]}" (host or container down); it may need replacing')
        if recorded.get("state") == "running" and live.get("state") == "stopped":
            notes.append(f"was stopped outside vastplan; its disk still bills ${self.dph(live):.3f}/hr")
        elif recorded.get("state") == "stopped" and live.get("state") == "running":
            notes.append("was started outside vastplan")
        if "label" in recorded and recorded["label"] != live.get("label"):
            notes.append(f'label was edited outside vastplan ("{recorded["label"]}" -> "{live.get("label")}")')
        return notes

    def forces_replacement(self, field: str, before: Any, after: Any) -> bool:
        # A bid can be raised or lowered in place, but an instance cannot switch between interruptible
        # and on-demand: a bid change without a price bids the winning price and stays interruptible.
        if field == "bid_dph":
            return (before is None) != (after is None)
        return super().forces_replacement(field, before, after)

    def describe_update(self, fields: frozenset[str], after: Mapping[str, Any]) -> str:
        notes = []
        if fields & IN_PLACE_RECREATES:
            notes.append("the container is recreated on the same machine")
        if "state" in fields and after.get("state") == "stopped":
            notes.append("a stopped instance keeps billing for its disk")
        return "; ".join(notes)

    # --- apply --------------------------------------------------------------------------------------
    async def create(self, client: VastClient, spec: ResourceSpec, desired: Mapping[str, Any],
                     ctx: ApplyContext) -> Created:
        return await InstanceOps(client, ctx).create(spec, desired)

    async def finish_adopted(self, client: VastClient, spec: ResourceSpec, desired: Mapping[str, Any],
                             found: tuple[Any, dict[str, Any]], ctx: ApplyContext) -> Created:
        return await InstanceOps(client, ctx).finish(spec, desired, found[0], found[1]["machine_row"], adopted=True)

    async def update(self, client: VastClient, entry: ResourceState, desired: Mapping[str, Any],
                     ctx: ApplyContext) -> Mapping[str, Any]:
        return await InstanceOps(client, ctx).update(entry, desired)

    async def delete(self, client: VastClient, entry: ResourceState, ctx: ApplyContext) -> str:
        try:
            await api.destroy_instance(client, entry.id)
        except ApiError as exc:
            if exc.status != 404:
                raise
            return "already gone"
        return "destroyed"


def _pending_label(entry: ResourceState) -> str:
    """The full label a journaled create gave its instance: its marker, then the stack's label."""
    return cfg.full_label(str(entry.attributes.get("marker") or ""), str(entry.attributes.get("label") or ""))


def _volume_machine(spec: ResourceSpec, planning: Planning) -> int | None:
    """The machine of the (existing) volume this instance mounts, which it must run on; None for a volume
    this plan makes anew, placed together with the instances that mount it."""
    for address in mounted_volumes(spec):
        live = planning.live_object(address)
        if live is not None and address not in planning.renewed:
            return int(live["machine_id"])
    return None


def _network_cluster(spec: ResourceSpec, planning: Planning) -> int | None:
    """The cluster of the network volume this instance mounts (existing, or chosen by this plan)."""
    for address in mounted_network_volumes(spec):
        placement = planning.placements.get(address)
        row = placement.offer if placement else planning.live_object(address)  # a new one is placed
        if row is not None and row.get("cluster_id") is not None:
            return int(row["cluster_id"])
    return None
