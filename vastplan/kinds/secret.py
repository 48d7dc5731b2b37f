"""Account secrets: Vast.ai's account environment variables (``/api/v0/secrets/``, the CLI's env-vars).

A secret is identified by its key, which Vast.ai upper-cases; that key is its id in state. The value
comes from ``{from_env: NAME}``, ``{from_file: PATH}`` or a sensitive variable (``"${var.NAME}"``)
and is never shown, logged or stored: state
keeps an HMAC-SHA256 of it under a random salt of its own (``value_hash``, ``salt``), which is enough
to tell that the stack's value, or the account's (the listing returns values), changed. The plan
names the value ``value`` and always shows it as ``(sensitive)``. Secrets cost nothing, so they have
no orphans; they have no free-text field either, so no ownership marker: a key that already exists
in the account is imported, never taken over by a create.

Vast.ai gives every account environment variable to every instance the account starts, under its
key. A template says which ones its containers read with ``secrets: [NAME, ...]`` (see
``template.py``): that makes the dependency explicit, so a secret is created before the templates
that read it and destroyed after them.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets as random_secrets
from collections.abc import Mapping
from typing import Any, ClassVar

from vastplan.api.client import VastClient
from vastplan.api.errors import expect_dict
from vastplan.errors import ApiError
from vastplan.files import UnreadableFile, expand_home, read_regular_file
from vastplan.kinds.base import ApplyContext, Created, LiveObjects, Planning, Resolving, ResourceKind
from vastplan.stack.model import ResourceSpec
from vastplan.stack.reader import YPath
from vastplan.state.model import ResourceState

PATH = "/secrets/"
MAX_VALUE_FILE_BYTES = 64 * 1024
VALUE = re.compile(r"[a-zA-Z0-9_\-.]+")  # what the spec lets a value hold


def key_of(spec_config: Mapping[str, Any], name: str) -> str:
    """The account key a secret block makes: its ``key``, else its name, upper-cased as Vast.ai does."""
    return str(spec_config.get("key") or name).upper()


def value_hash(salt: str, value: str) -> str:
    return "hmac-sha256:" + hmac.new(bytes.fromhex(salt), value.encode(), hashlib.sha256).hexdigest()


def new_salt() -> str:
    return random_secrets.token_hex(16)


class SecretKind(ResourceKind):
    kind: ClassVar[str] = "secret"
    collection: ClassVar[str] = "secrets"
    schema_definition: ClassVar[str] = "secret"
    noun: ClassVar[str] = "secret"
    singular: ClassVar[str] = "secret"
    plural: ClassVar[str] = "secrets"
    with_article: ClassVar[str] = "a secret"
    recorded_attributes: ClassVar[frozenset[str]] = frozenset({"id", "key"})
    replace_fields: ClassVar[frozenset[str]] = frozenset({"key"})

    def resolve(self, r: Resolving, name: str, body: dict[str, Any], path: YPath) -> tuple[dict[str, Any], list[str]]:
        config = r.config(self.defaults, body, path)
        config["key"] = key_of(body, name)
        blocks = r.data.get(self.collection)
        earlier = [other for other, b in (blocks.items() if isinstance(blocks, dict) else ())
                   if isinstance(b, dict) and key_of(b, str(other)) == config["key"]]
        if earlier and earlier[0] != name:
            r.report((*path, "key") if "key" in body else path,
                     f'secrets "{earlier[0]}" and "{name}" both make the environment variable {config["key"]}')
        source = body.get("value")
        where = (*path, "value")
        value: str | None = None
        if isinstance(source, dict) and isinstance(source.get("from_env"), str):
            env_name = source["from_env"]
            value = r.environ.get(env_name)
            if value is None:
                r.report((*where, "from_env"), f'environment variable "{env_name}" is not set')
        elif isinstance(source, dict) and isinstance(source.get("from_file"), str):
            value = _read_value(r, source["from_file"], (*where, "from_file"))
        elif isinstance(source, str) and where in r.hidden:
            value = source  # "${var.NAME}" of a sensitive variable (--var, a var file, its default)
        elif isinstance(source, str):
            r.report(where, "a secret's value is never written in the stack file: give {from_env: NAME}, "
                            "{from_file: PATH} or a sensitive variable (\"${var.NAME}\")")
        if value is not None and not VALUE.fullmatch(value):
            # Never quote the value: it is the secret.
            r.report(where, "the value holds characters Vast.ai refuses in an environment variable "
                            "(it allows letters, digits, _, - and .; the value is not shown)")
            value = None
        config["value"] = value
        return config, []

    def sensitive_paths(self, spec: ResourceSpec, planning: Planning) -> frozenset[str]:
        return spec.sensitive_paths | {"value"}

    async def list_live(self, client: VastClient, known: Mapping[str, ResourceState]) -> LiveObjects:
        # Always the whole listing (one request, small): a create checks it for a key made outside.
        body = expect_dict(await client.call("GET", PATH), "GET", PATH)
        rows = body.get("secrets")
        if not isinstance(rows, dict):
            raise ApiError("the env-var listing has no 'secrets' map", method="GET", path=PATH)
        salts = {str(e.id): str(e.attributes["salt"]) for e in known.values()
                 if isinstance(e.attributes.get("salt"), str)}
        return {key: self._live(key, value, salts.get(key) or new_salt())
                for key, value in rows.items() if isinstance(key, str)}

    @staticmethod
    def _live(key: str, value: Any, salt: str) -> dict[str, Any]:
        """A listed env var with its value hashed at once; the value itself goes no further."""
        digest = value_hash(salt, str(value))
        return {"key": key, "value": digest, "value_hash": digest, "salt": salt}

    def from_api(self, row: Mapping[str, Any]) -> dict[str, Any]:
        return self._live(str(row.get("key")), row.get("value"), str(row.get("salt") or new_salt()))

    def owns(self, entry: ResourceState, live: Mapping[str, Any]) -> bool:
        return live.get("key") == entry.attributes.get("key")

    def desired(self, spec: ResourceSpec, planning: Planning) -> dict[str, Any]:
        entry = planning.state.resources.get(spec.address)
        salt = entry.attributes.get("salt") if entry else None
        return {"key": spec.config["key"],
                "value": value_hash(salt if isinstance(salt, str) else new_salt(), spec.config["value"] or "")}

    def creation_problems(self, spec: ResourceSpec, planning: Planning) -> list[str]:
        key = spec.config["key"]
        tracked = {r.id for r in planning.state.resources.values() if r.kind == self.kind}
        if key in planning.live.get(self.kind, {}) and key not in tracked:
            return [f"the account already has an environment variable {key}, made outside this stack: "
                    f"take it in with `vastplan import {spec.address} {key}`, or delete it "
                    f"(vastai delete env-var {key})"]
        return []

    def describe_drift(self, entry: ResourceState, live: Mapping[str, Any]) -> list[str]:
        recorded = entry.attributes.get("value_hash")
        if isinstance(recorded, str) and live.get("value_hash") != recorded:
            return ["had its value changed outside vastplan (the values are not shown)"]
        return []

    def _recorded(self, key: str, value: str) -> dict[str, Any]:
        salt = new_salt()
        digest = value_hash(salt, value)
        return {"key": key, "value": digest, "value_hash": digest, "salt": salt}

    async def create(self, client: VastClient, spec: ResourceSpec, desired: Mapping[str, Any],
                     ctx: ApplyContext) -> Created:
        key, value = spec.config["key"], spec.config["value"]
        await client.call("POST", PATH, body={"key": key, "value": value}, idempotent=False)
        return Created(key, self._recorded(key, value))

    async def update(self, client: VastClient, entry: ResourceState, desired: Mapping[str, Any],
                     ctx: ApplyContext) -> Mapping[str, Any]:
        spec = ctx.planning.stack.by_address()[ctx.address]
        key, value = str(entry.id), spec.config["value"]
        await client.call("PUT", PATH, body={"key": key, "value": value})
        return self._recorded(key, value)

    async def delete(self, client: VastClient, entry: ResourceState, ctx: ApplyContext) -> str:
        try:
            await client.call("DELETE", PATH, body={"key": str(entry.id)})
        except ApiError as exc:
            if exc.status != 404 and exc.code != "nonexistent_key":
                raise
            return "already gone"
        return "destroyed"

    def describe_update(self, fields: frozenset[str], after: Mapping[str, Any]) -> str:
        return "the value is replaced in place (instances started before keep the old one)" if "value" in fields else ""


def _read_value(r: Resolving, raw: str, where: YPath) -> str | None:
    try:
        path = expand_home(raw)
        data = read_regular_file(path if path.is_absolute() else r.base_dir / path, MAX_VALUE_FILE_BYTES)
    except UnreadableFile as exc:
        reason = f"it {exc.reason}" if exc.reason.startswith(("is ", "names ")) else exc.reason
        r.report(where, f'cannot read the secret file "{raw}": {reason}')
        return None
    try:
        return data.decode("utf-8").strip()
    except UnicodeDecodeError:
        r.report(where, f'the secret file "{raw}" is not UTF-8 text')
        return None
