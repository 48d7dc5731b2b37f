"""Serverless endpoints (Vast.ai's endpoint groups, ``/endptjobs/``): the name clients send requests
to and the scaling policy its worker groups share. Every field updates in place.

No ownership marker: an endpoint's one free-text field is ``endpoint_name``, which is what clients
route by (and what a worker group may name), so it stays the user's. An endpoint is matched by that
name instead: a create whose answer was lost finds it by name, and a plan refuses to create an
endpoint whose name an endpoint the state does not know already has (it would be a second endpoint
answering to one name; ``vastplan import`` takes the existing one in). An endpoint bills nothing by
itself (its workers do, through its worker groups), so it has no orphans to look for.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from vastplan.api.client import VastClient
from vastplan.api.errors import expect_dict, expect_rows
from vastplan.errors import ApiError
from vastplan.kinds.base import ApplyContext, Created, LiveObjects, Planning, Resolving, ResourceKind
from vastplan.stack.model import ResourceSpec
from vastplan.stack.reader import YPath
from vastplan.state.model import ResourceState

PATH = "/endptjobs/"

# stack field -> (API field, default: what the official CLI sends when an option is not given, or None
# for a field vastplan leaves alone unless the stack sets it, type)
FIELDS: Mapping[str, tuple[str, Any, type]] = {
    "min_load": ("min_load", 0.0, float),
    "min_cold_load": ("min_cold_load", 0.0, float),
    "target_util": ("target_util", 0.9, float),
    "cold_mult": ("cold_mult", 2.5, float),
    "cold_workers": ("cold_workers", 5, int),
    "max_workers": ("max_workers", 20, int),
    "max_queue_time": ("max_queue_time", None, float),
    "target_queue_time": ("target_queue_time", None, float),
    "inactivity_timeout": ("inactivity_timeout", None, int),
    "state": ("endpoint_state", "active", str),
}


async def list_endpoints(client: VastClient) -> list[dict[str, Any]]:
    return expect_rows(await client.call("GET", PATH), "results", "the endpoint listing", "GET", PATH)


class EndpointKind(ResourceKind):
    kind: ClassVar[str] = "endpoint"
    collection: ClassVar[str] = "endpoints"
    schema_definition: ClassVar[str] = "endpoint"
    noun: ClassVar[str] = "endpoint"
    singular: ClassVar[str] = "endpoint"
    plural: ClassVar[str] = "endpoints"
    with_article: ClassVar[str] = "an endpoint"
    recorded_attributes: ClassVar[frozenset[str]] = frozenset({"id"})
    drift_fields: ClassVar[tuple[str, ...]] = ("name", *FIELDS)

    def resolve(self, r: Resolving, name: str, body: dict[str, Any], path: YPath) -> tuple[dict[str, Any], list[str]]:
        config = r.config(self.defaults, body, path)
        config.setdefault("name", name)
        cold, most = body.get("cold_workers"), body.get("max_workers")
        if isinstance(cold, int) and isinstance(most, int) and cold > most:
            r.report((*path, "cold_workers"), f"cold_workers ({cold}) is more than max_workers ({most})")
        return config, []

    async def list_live(self, client: VastClient, known: Mapping[str, ResourceState]) -> LiveObjects:
        # One request lists every endpoint of the account: a create checks it for its name.
        return {row["id"]: self.from_api(row) for row in await list_endpoints(client) if "id" in row}

    def from_api(self, row: Mapping[str, Any]) -> dict[str, Any]:
        live: dict[str, Any] = {"name": row.get("endpoint_name") or ""}
        for field, (api_field, _, cast) in FIELDS.items():
            value = row.get(api_field)
            live[field] = cast(value) if value is not None else None
        return live

    def desired(self, spec: ResourceSpec, planning: Planning) -> dict[str, Any]:
        c = spec.config
        wanted: dict[str, Any] = {"name": str(c.get("name") or spec.name)}
        for field, (_, default, cast) in FIELDS.items():
            value = c.get(field, default)
            if value is not None:
                wanted[field] = cast(value)
        return wanted

    def owns(self, entry: ResourceState, live: Mapping[str, Any]) -> bool:
        return bool(entry.attributes.get("name")) and live.get("name") == entry.attributes["name"]

    def creation_problems(self, spec: ResourceSpec, planning: Planning) -> list[str]:
        name = self.desired(spec, planning)["name"]
        tracked = {e.id for e in planning.state.resources.values() if e.kind == self.kind}
        taken = sorted(i for i, live in planning.live.get(self.kind, {}).items()
                       if live.get("name") == name and i not in tracked)
        if not taken:
            return []
        return [f'the account already has an endpoint named "{name}" (id {taken[0]}) that the state does not know; '
                f"take it in with `vastplan import {spec.address} {taken[0]}`, or give this one another name"]

    def _body(self, desired: Mapping[str, Any]) -> dict[str, Any]:
        body: dict[str, Any] = {"client_id": "me", "endpoint_name": desired["name"], "autoscaler_instance": "prod"}
        for field, (api_field, _, _) in FIELDS.items():
            if field in desired:
                body[api_field] = desired[field]
        return body

    async def create(self, client: VastClient, spec: ResourceSpec, desired: Mapping[str, Any],
                     ctx: ApplyContext) -> Created:
        answer = expect_dict(await client.call("POST", PATH, body=self._body(desired), idempotent=False), "POST", PATH)
        endpoint_id = answer.get("result")
        if not isinstance(endpoint_id, int):
            raise ApiError("the endpoint was created but the answer has no id", method="POST", path=PATH)
        return Created(endpoint_id, dict(desired))

    async def update(self, client: VastClient, entry: ResourceState, desired: Mapping[str, Any],
                     ctx: ApplyContext) -> Mapping[str, Any]:
        path = f"{PATH}{entry.id}/"
        await client.call("PUT", path, body={**self._body(desired), "endptjob_id": entry.id})
        return {**entry.attributes, **desired}

    async def delete(self, client: VastClient, entry: ResourceState, ctx: ApplyContext) -> str:
        path = f"{PATH}{entry.id}/"
        try:
            await client.call("DELETE", path, body={"client_id": "me", "endptjob_id": entry.id})
        except ApiError as exc:
            # Vast.ai answers 400 "Routegroup not found for user" for an endpoint that is not there.
            if exc.status != 404 and "not found" not in exc.message.lower():
                raise
            return "already gone"
        return "destroyed"
