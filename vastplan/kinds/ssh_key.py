"""Account SSH keys. The API gives them no name or label, so a key is matched by its text."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from vastplan.api import account
from vastplan.api.client import VastClient
from vastplan.errors import ApiError
from vastplan.kinds.base import ApplyContext, Created, LiveObjects, Planning, ResourceKind
from vastplan.stack.model import ResourceSpec
from vastplan.state.model import ResourceState


def normalise_key(text: str) -> str:
    """Key text compared the way a person would: surrounding and repeated whitespace ignored."""
    return " ".join(str(text).split())


class SshKeyKind(ResourceKind):
    kind: ClassVar[str] = "ssh_key"
    noun: ClassVar[str] = "ssh_key"
    drift_fields: ClassVar[tuple[str, ...]] = ("public_key",)

    async def list_live(self, client: VastClient, known: Mapping[str, ResourceState]) -> LiveObjects:
        # Always listed: a create looks here for an identical key to adopt instead of duplicating it.
        rows = await account.list_ssh_keys(client)
        return {row["id"]: self.from_api(row) for row in rows if "id" in row}

    def from_api(self, row: Mapping[str, Any]) -> dict[str, Any]:
        return {"public_key": normalise_key(row.get("key") or row.get("public_key") or "")}

    def owns(self, entry: ResourceState, live: Mapping[str, Any]) -> bool:
        return bool(live.get("public_key")) and live.get("public_key") == entry.attributes.get("public_key")

    def desired(self, spec: ResourceSpec, planning: Planning) -> dict[str, Any]:
        return {"public_key": normalise_key(spec.config["public_key"])}

    async def create(self, client: VastClient, spec: ResourceSpec, desired: Mapping[str, Any],
                     ctx: ApplyContext) -> Created:
        tracked = {r.id for r in ctx.current_state().resources.values() if r.kind == self.kind}
        for key_id, live in ctx.live.get(self.kind, {}).items():
            if live["public_key"] == desired["public_key"] and key_id not in tracked:
                # Vast.ai would hold the same key twice; take over the existing one, and remember that
                # it predates the stack so that destroy leaves it in the account.
                return Created(key_id, {**desired, "preexisting": True}, adopted=True)
        record = await account.create_ssh_key(client, desired["public_key"])
        return Created(record["id"], {**desired, "preexisting": False})

    async def update(self, client: VastClient, entry: ResourceState, desired: Mapping[str, Any],
                     ctx: ApplyContext) -> Mapping[str, Any]:
        await account.update_ssh_key(client, entry.id, desired["public_key"])
        return {**entry.attributes, **desired}

    async def delete(self, client: VastClient, entry: ResourceState, ctx: ApplyContext) -> str:
        if entry.attributes.get("preexisting"):
            return "forgotten (it existed before this stack, so it stays in the account)"
        try:
            await account.delete_ssh_key(client, entry.id)
        except ApiError as exc:
            if exc.status != 404 and exc.code != "no_ssh_key":
                raise
            return "already gone"
        return "destroyed"

    def title(self, spec_name: str, resource_id: Any) -> str:
        ident = f" (id {resource_id})" if resource_id is not None else ""
        return f'ssh_key "{spec_name}"{ident}'
