"""Account SSH keys. The API gives them no name or label, so a key is matched by its text."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from vastplan.api import account
from vastplan.api.client import VastClient
from vastplan.errors import ApiError
from vastplan.files import UnreadableFile, expand_home, read_regular_file
from vastplan.kinds.base import ApplyContext, Created, LiveObjects, Planning, Resolving, ResourceKind
from vastplan.stack.model import ResourceSpec
from vastplan.stack.reader import YPath
from vastplan.state.model import ResourceState

MAX_KEY_FILE_BYTES = 64 * 1024


def normalise_key(text: str) -> str:
    """Key text compared the way a person would: surrounding and repeated whitespace ignored."""
    return " ".join(str(text).split())


class SshKeyKind(ResourceKind):
    kind: ClassVar[str] = "ssh_key"
    collection: ClassVar[str] = "ssh_keys"
    schema_definition: ClassVar[str] = "sshKey"
    noun: ClassVar[str] = "ssh_key"
    singular: ClassVar[str] = "ssh key"
    plural: ClassVar[str] = "ssh keys"
    with_article: ClassVar[str] = "an SSH key"
    recorded_attributes: ClassVar[frozenset[str]] = frozenset({"id", "preexisting"})
    drift_fields: ClassVar[tuple[str, ...]] = ("public_key",)

    def resolve(self, r: Resolving, name: str, body: dict[str, Any], path: YPath) -> tuple[dict[str, Any], list[str]]:
        config = r.config(self.defaults, body, path)
        key_file = body.get("public_key_file")
        if isinstance(key_file, str) and key_file:
            text = _read_public_key(r, key_file, (*path, "public_key_file"))
            if text is not None:
                config["public_key"] = text
        elif isinstance(body.get("public_key"), str):
            config["public_key"] = body["public_key"].strip()
        return config, []

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


def _read_public_key(r: Resolving, raw: str, where: YPath) -> str | None:
    try:
        path = expand_home(raw)
        data = read_regular_file(path if path.is_absolute() else r.base_dir / path, MAX_KEY_FILE_BYTES)
    except UnreadableFile as exc:
        reason = f"it {exc.reason}" if exc.reason.startswith(("is ", "names ")) else exc.reason
        r.report(where, f'cannot read the public key file "{raw}": {reason}')
        return None
    text = data.decode("utf-8", errors="replace").strip()
    if "PRIVATE KEY" in text:
        r.report(where, f'"{raw}" looks like a private key; give the public key (usually the .pub file)')
    elif not text.startswith(("ssh-", "ecdsa-", "sk-")):
        r.report(where, f'"{raw}" is not an SSH public key (it should start with ssh-, ecdsa- or sk-)')
    else:
        return text
    return None
