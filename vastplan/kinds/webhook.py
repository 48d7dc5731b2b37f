"""Notification webhooks (``/api/v0/webhooks/``): where Vast.ai posts the account's notifications.

A webhook is a URL, the notification types it receives (``GET /api/v0/notification-types`` lists
them, e.g. ``client:low_credit``) and an optional name; all three change in place. Its free-text
``name`` carries the ownership marker, followed by the stack's own ``name:`` if any. The create's
answer holds the signing secret (``webhook_secret``, for ``X-Vast-Signature-256``) once and no
listing shows it again: it is recorded as ``signing_secret``, a sensitive attribute an output can
name (``${webhooks.NAME.signing_secret}``, which makes that output sensitive). Webhooks cost
nothing; the orphan scan still sees them when the stack has webhooks (refresh listed them), so a
lost state does not subscribe the URL twice, and costs no request when it has none.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from vastplan.api.client import VastClient
from vastplan.api.errors import expect_dict, expect_rows
from vastplan.errors import ApiError
from vastplan.kinds.base import ApplyContext, Created, LiveObjects, Planning, ResourceKind, labelled
from vastplan.kinds.ownership import marker, strip_marker
from vastplan.stack.model import ResourceSpec
from vastplan.state.model import ResourceState

PATH = "/api/v0/webhooks/"
NAME_MAX = 120  # the API's limit on the name, marker included


def _webhook(body: Any, method: str, path: str) -> dict[str, Any]:
    return expect_dict(expect_dict(body, method, path).get("webhook"), method, path)


class WebhookKind(ResourceKind):
    kind: ClassVar[str] = "webhook"
    collection: ClassVar[str] = "webhooks"
    schema_definition: ClassVar[str] = "webhook"
    noun: ClassVar[str] = "webhook"
    singular: ClassVar[str] = "webhook"
    plural: ClassVar[str] = "webhooks"
    with_article: ClassVar[str] = "a webhook"
    defaults: ClassVar[Mapping[str, Any]] = {"name": ""}
    recorded_attributes: ClassVar[frozenset[str]] = frozenset({"id", "signing_secret", "label"})
    drift_fields: ClassVar[tuple[str, ...]] = ("url", "events", "name")

    async def list_live(self, client: VastClient, known: Mapping[str, ResourceState]) -> LiveObjects:
        rows = expect_rows(await client.call("GET", PATH), "webhooks", "the webhook listing", "GET", PATH)
        return {row["id"]: self.from_api(row) for row in rows if "id" in row}

    def from_api(self, row: Mapping[str, Any]) -> dict[str, Any]:
        label = str(row.get("name") or "")
        return {"name": strip_marker(label), "url": str(row.get("webhook_url") or ""),
                "events": sorted(str(e) for e in row.get("event_types") or []), "label": label}

    async def list_owned(self, client: VastClient, marker_prefix: str, listed: LiveObjects | None) -> LiveObjects:
        if listed is None:
            return {}  # not listed: the stack and state hold no webhook, so no plan could make one twice
        return labelled(listed, marker_prefix)

    def owns(self, entry: ResourceState, live: Mapping[str, Any]) -> bool:
        mark = entry.attributes.get("marker")
        label = str(live.get("label") or "")
        return bool(mark) and (label == mark or label.startswith(f"{mark} "))

    def desired(self, spec: ResourceSpec, planning: Planning) -> dict[str, Any]:
        c = spec.config
        return {"name": str(c.get("name") or ""), "url": str(c["url"]), "events": sorted(set(map(str, c["events"])))}

    def sensitive_paths(self, spec: ResourceSpec, planning: Planning) -> frozenset[str]:
        return spec.sensitive_paths | {"signing_secret"}

    def creation_problems(self, spec: ResourceSpec, planning: Planning) -> list[str]:
        label = self._label(planning.stack.owner, spec.address, str(spec.config.get("name") or ""))
        if len(label) > NAME_MAX:
            return [f"its name with the ownership marker is {len(label)} characters; Vast.ai allows "
                    f"{NAME_MAX} (shorten name:)"]
        return []

    @staticmethod
    def _label(owner: str, address: str, name: str) -> str:
        mark = marker(owner, address)
        return f"{mark} {name}" if name else mark

    def _body(self, desired: Mapping[str, Any], ctx: ApplyContext) -> dict[str, Any]:
        return {"name": self._label(ctx.stack, ctx.address, desired["name"]), "webhook_url": desired["url"],
                "event_types": list(desired["events"])}

    async def create(self, client: VastClient, spec: ResourceSpec, desired: Mapping[str, Any],
                     ctx: ApplyContext) -> Created:
        row = _webhook(await client.call("POST", PATH, body=self._body(desired, ctx), idempotent=False), "POST", PATH)
        live = self.from_api(row)
        return Created(row["id"], {**live, "signing_secret": str(row.get("webhook_secret") or "")})

    async def update(self, client: VastClient, entry: ResourceState, desired: Mapping[str, Any],
                     ctx: ApplyContext) -> Mapping[str, Any]:
        path = f"{PATH}{entry.id}/"
        row = _webhook(await client.call("PUT", path, body=self._body(desired, ctx)), "PUT", path)
        kept = {"signing_secret": entry.attributes["signing_secret"]} if "signing_secret" in entry.attributes else {}
        return {**self.from_api(row), **kept}

    async def delete(self, client: VastClient, entry: ResourceState, ctx: ApplyContext) -> str:
        try:
            await client.call("DELETE", f"{PATH}{entry.id}/")
        except ApiError as exc:
            if exc.status != 404:
                raise
            return "already gone"
        return "destroyed"
