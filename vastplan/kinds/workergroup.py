"""Serverless worker groups: which template and which offers an endpoint's workers are launched
from, and how many. Vast.ai's autoscaler rents the workers; they bill as the account's instances.

The offer filters are the stack's own ``offer:`` language (as instances use it), sent as the JSON
query the API reads from ``search_params``, beside the official CLI's defaults (verified, rentable,
not rented). ``cold_workers`` and ``max_workers`` cannot be changed in place (the update takes
neither, per the spec and the official CLI), so changing one replaces the group; everything else
updates in place. The plan prices the group's workers at today's cheapest matching offers, from
``cold_workers`` to ``max_workers`` of them (``warnings``): the group itself costs nothing.

No ownership marker: a worker group has no free-text field (``launch_args`` are the workers' own
create arguments: a ``--label`` there would mark the workers, which the autoscaler owns). So there
is no orphan scan either; a group left behind lives on an endpoint, and deleting the endpoint
deletes it with its workers (the spec's ``delete endpoint``). A create whose answer was lost is
found as the group on its endpoint with exactly the settings it was sent.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, ClassVar

from vastplan.api.client import VastClient
from vastplan.api.errors import expect_dict, expect_rows
from vastplan.api.offers import offer_query, order_clause
from vastplan.errors import ApiError
from vastplan.kinds.base import UNKNOWN, ApplyContext, Created, LiveObjects, Planning, Resolving, ResourceKind
from vastplan.kinds.template import TemplateKind
from vastplan.stack.model import ResourceSpec
from vastplan.stack.reader import YPath
from vastplan.state.model import ResourceState

# The official CLI's path (``vastai show/create/update/delete workergroup``); the spec and the SDK
# name the same collection /workergroups/ (docs/sandbox.md).
PATH = "/autojobs/"
# What the official CLI adds to every search_params unless told --no-default.
CLI_DEFAULT_FILTERS: Mapping[str, dict[str, Any]] = {
    "verified": {"eq": True}, "rentable": {"eq": True}, "rented": {"eq": False}}
# stack field -> (API field, the spec's default at create, type)
LIMITS: Mapping[str, tuple[str, Any, type]] = {
    "min_load": ("min_load", 1.0, float),
    "target_util": ("target_util", 0.9, float),
    "cold_mult": ("cold_mult", 3.0, float),
    "cold_workers": ("cold_workers", 3, int),
    "max_workers": ("max_workers", 20, int),
    "test_workers": ("test_workers", 3, int),
    "gpu_ram_gb": ("gpu_ram", 24.0, float),
}
PRICED_OFFERS_MAX = 256  # the most workers the plan prices one by one


def search_query(block: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON query an ``offer:`` block means for a worker group."""
    return {**{k: dict(v) for k, v in CLI_DEFAULT_FILTERS.items()}, **offer_query(block, defaults=False)}


def _known(object_id: Any) -> Any:
    return UNKNOWN if object_id is None else object_id


def _template_hash(planning: Planning, address: str) -> Any:
    """The hash the template will have after this plan: its live one unless the plan changes it (every
    edit gives a template a new hash, which the group must be sent to launch the edited template)."""
    spec, live = planning.stack.by_address().get(address), planning.live_object(address)
    entry = planning.state.resources.get(address)
    if spec is None or live is None or entry is None or planning.id_after(address) is None:
        return UNKNOWN
    ignored = set(spec.lifecycle.ignore_changes)
    known = {**entry.attributes, **live}  # what the API does not report (the secrets read), state recorded
    for field, value in TemplateKind().desired(spec, planning).items():
        seen = known.get(field)
        if field not in ignored and seen != value and not (seen is None and value in ([], {}, "")):
            return UNKNOWN
    return live.get("hash_id") or UNKNOWN


class WorkergroupKind(ResourceKind):
    kind: ClassVar[str] = "workergroup"
    collection: ClassVar[str] = "workergroups"
    schema_definition: ClassVar[str] = "workergroup"
    noun: ClassVar[str] = "workergroup"
    singular: ClassVar[str] = "worker group"
    plural: ClassVar[str] = "worker groups"
    with_article: ClassVar[str] = "a worker group"
    defaults: ClassVar[Mapping[str, Any]] = {"offer": {}, "launch_args": ""}
    recorded_attributes: ClassVar[frozenset[str]] = frozenset({"id", "template_hash"})
    replace_fields: ClassVar[frozenset[str]] = frozenset({"cold_workers", "max_workers"})

    def forces_replacement(self, field: str, before: Any, after: Any) -> bool:
        # A group moves to another existing endpoint in place, but deleting an endpoint deletes its
        # groups (the spec's ``delete endpoint``): a group whose endpoint's id is known only after
        # apply (this plan replaces the endpoint, or makes it new) is made anew with it.
        if field == "endpoint_id":
            return after == UNKNOWN
        return super().forces_replacement(field, before, after)
    drift_fields: ClassVar[tuple[str, ...]] = ("endpoint_id", "template_id", "offer", "launch_args", *LIMITS)

    def __init__(self) -> None:
        self._prices: tuple[int, dict[str, list[float]]] = (0, {})

    def resolve(self, r: Resolving, name: str, body: dict[str, Any], path: YPath) -> tuple[dict[str, Any], list[str]]:
        config = r.config(self.defaults, body, path)
        found = [r.reference("endpoints", body.get("endpoint"), (*path, "endpoint")),
                 r.reference("templates", body.get("template"), (*path, "template"))]
        cold, most = body.get("cold_workers"), body.get("max_workers")
        if isinstance(cold, int) and isinstance(most, int) and cold > most:
            r.report((*path, "cold_workers"), f"cold_workers ({cold}) is more than max_workers ({most})")
        return config, [address for address in found if address]

    async def list_live(self, client: VastClient, known: Mapping[str, ResourceState]) -> LiveObjects:
        rows = expect_rows(await client.call("GET", PATH), "results", "the worker group listing", "GET", PATH)
        return {row["id"]: self.from_api(row) for row in rows if "id" in row}

    def from_api(self, row: Mapping[str, Any]) -> dict[str, Any]:
        live: dict[str, Any] = {
            "endpoint_id": row.get("endpoint_id"),
            "template_id": row.get("template_id"),
            "template_hash": row.get("template_hash"),
            "offer": row.get("search_query") if isinstance(row.get("search_query"), dict) else {},
            "launch_args": row.get("launch_args") or "",
        }
        for field, (api_field, _, cast) in LIMITS.items():
            value = row.get(api_field)
            live[field] = cast(value) if value is not None else None
        live["endpoint_name"] = row.get("endpoint_name")
        return live

    def desired(self, spec: ResourceSpec, planning: Planning) -> dict[str, Any]:
        c = spec.config
        wanted: dict[str, Any] = {
            "endpoint_id": _known(planning.id_after(f"endpoints.{c['endpoint']}")),
            "template_id": _known(planning.id_after(f"templates.{c['template']}")),
            "template_hash": _template_hash(planning, f"templates.{c['template']}"),
            "offer": search_query(c.get("offer") or {}),
            "launch_args": str(c.get("launch_args") or ""),
        }
        for field, (_, default, cast) in LIMITS.items():
            wanted[field] = cast(c.get(field, default))
        return wanted

    def owns(self, entry: ResourceState, live: Mapping[str, Any]) -> bool:
        sent = {k: v for k, v in entry.attributes.items() if k in live and v != UNKNOWN}
        return bool(sent) and all(live[k] == v for k, v in sent.items())

    # --- the plan's price range ----------------------------------------------------------------------
    async def prepare(self, client: VastClient, planning: Planning) -> None:
        """One search per distinct offer query: today's cheapest matching offers, one worker each."""
        prices: dict[str, list[float]] = {}
        searcher = planning.shared_searcher(client)
        for spec in (s for s in planning.stack.resources if s.kind == self.kind):
            wanted = self.desired(spec, planning)
            limit = max(1, min(PRICED_OFFERS_MAX, wanted["max_workers"]))
            order = order_clause((spec.config.get("offer") or {}).get("order"))
            offers = await searcher.gpu_offers(wanted["offer"], order, "on-demand", limit)
            prices[spec.address] = sorted(float(o.get("dph_total") or 0) for o in offers)
        self._prices = (id(planning), prices)

    def warnings(self, spec: ResourceSpec, planning: Planning) -> list[str]:
        plan_id, prices = self._prices
        if plan_id != id(planning) or spec.address not in prices:
            return []
        found, wanted = prices[spec.address], self.desired(spec, planning)
        cold, most = wanted["cold_workers"], wanted["max_workers"]
        if not found:
            return ["no offer matches its filters today: Vast.ai can start no worker for it"]
        low, high = sum(found[:cold]), sum(found[:most])
        text = (f"its workers bill as the account's instances: ${low:.3f}/hr with {cold} (cold_workers) to "
                f"${high:.3f}/hr with {min(most, len(found))} (max_workers {most}) at today's cheapest matching offers")
        if len(found) < most:
            text += f"; only {len(found)} offers match today"
        return [text]

    # --- the account ---------------------------------------------------------------------------------
    def _body(self, desired: Mapping[str, Any], ctx: ApplyContext, *, create: bool) -> dict[str, Any]:
        spec = ctx.planning.stack.by_address()[ctx.address]
        state = ctx.current_state()
        endpoint = state.resources.get(f"endpoints.{spec.config['endpoint']}")
        template = state.resources.get(f"templates.{spec.config['template']}")
        if endpoint is None or endpoint.id is None or template is None or template.id is None:
            raise ApiError("its endpoint or template does not exist yet", address=ctx.address)
        body: dict[str, Any] = {
            "client_id": "me", "endpoint_id": endpoint.id, "template_id": template.id,
            "template_hash": template.attributes.get("hash_id"), "search_params": json.dumps(desired["offer"]),
            "launch_args": desired["launch_args"],
        }
        for field, (api_field, _, _) in LIMITS.items():
            if create or field not in self.replace_fields:
                body[api_field] = desired[field]
        if create:
            body["autoscaler_instance"] = "prod"
        return body

    def _recorded(self, desired: Mapping[str, Any], body: Mapping[str, Any]) -> dict[str, Any]:
        return {**desired, "endpoint_id": body["endpoint_id"], "template_id": body["template_id"],
                "template_hash": body["template_hash"]}

    async def create(self, client: VastClient, spec: ResourceSpec, desired: Mapping[str, Any],
                     ctx: ApplyContext) -> Created:
        body = self._body(desired, ctx, create=True)
        answer = expect_dict(await client.call("POST", PATH, body=body, idempotent=False), "POST", PATH)
        group_id = answer.get("id")
        if not isinstance(group_id, int):
            raise ApiError("the worker group was created but the answer has no id", method="POST", path=PATH)
        return Created(group_id, self._recorded(desired, body))

    async def update(self, client: VastClient, entry: ResourceState, desired: Mapping[str, Any],
                     ctx: ApplyContext) -> Mapping[str, Any]:
        body = {**self._body(desired, ctx, create=False), "autojob_id": entry.id}
        await client.call("PUT", f"{PATH}{entry.id}/", body=body)
        return {**entry.attributes, **self._recorded(desired, body)}

    async def delete(self, client: VastClient, entry: ResourceState, ctx: ApplyContext) -> str:
        try:
            await client.call("DELETE", f"{PATH}{entry.id}/", body={"client_id": "me", "autojob_id": entry.id})
        except ApiError as exc:
            if exc.status != 404:
                raise
            return "already gone"
        return "destroyed"
