"""Templates: tracked by numeric id (every edit gives a new ``hash_id``); all fields update in place."""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from typing import Any, ClassVar

from vastplan.api import templates as api
from vastplan.api.client import VastClient
from vastplan.api.offers import offer_query
from vastplan.errors import ApiError
from vastplan.kinds import docker_options
from vastplan.kinds.base import ApplyContext, Created, LiveObjects, Planning, Resolving, ResourceKind
from vastplan.kinds.ownership import marker
from vastplan.stack.model import ResourceSpec
from vastplan.stack.reader import YPath
from vastplan.state.model import ResourceState


class TemplateKind(ResourceKind):
    kind: ClassVar[str] = "template"
    collection: ClassVar[str] = "templates"
    schema_definition: ClassVar[str] = "template"
    noun: ClassVar[str] = "template"
    singular: ClassVar[str] = "template"
    plural: ClassVar[str] = "templates"
    with_article: ClassVar[str] = "a template"
    defaults: ClassVar[Mapping[str, Any]] = {
        "tag": "latest", "env": {}, "ports": [], "runtype": "ssh", "ssh_direct": True, "jupyter_direct": False,
        "private": True,
    }
    recorded_attributes: ClassVar[frozenset[str]] = frozenset({"id", "hash_id", "desc"})
    drift_fields: ClassVar[tuple[str, ...]] = ("name", "image", "tag", "onstart", "runtype", "disk_gb")

    def resolve(self, r: Resolving, name: str, body: dict[str, Any], path: YPath) -> tuple[dict[str, Any], list[str]]:
        config = r.config(self.defaults, body, path)
        config.setdefault("name", name)
        # The account secrets its containers read (Vast.ai gives each instance every account env var):
        # named so that each is made before the template and destroyed after it.
        if not isinstance(body.get("secrets"), list):
            return config, []
        found = [r.reference("secrets", secret, (*path, "secrets", i)) for i, secret in enumerate(body["secrets"])]
        config["secrets"] = [address for address in found if address]
        return config, list(config["secrets"])

    async def list_live(self, client: VastClient, known: Mapping[str, ResourceState]) -> LiveObjects:
        rows = await api.templates_by_id(client, (r.id for r in known.values()))
        return {row["id"]: self.from_api(row) for row in rows if "id" in row}

    async def find_pending(self, client: VastClient, pending: Mapping[str, ResourceState],
                           listed: LiveObjects) -> dict[str, tuple[Any, dict[str, Any]]]:
        names = sorted({str(e.attributes.get("name")) for e in pending.values()})
        rows = await api.search_templates(client, {"name": {"in": names}})
        return await super().find_pending(client, pending, {r["id"]: self.from_api(r) for r in rows if "id" in r})

    def owns(self, entry: ResourceState, live: Mapping[str, Any]) -> bool:
        return bool(entry.attributes.get("marker")) and live.get("desc") == entry.attributes["marker"]

    def desired(self, spec: ResourceSpec, planning: Planning) -> dict[str, Any]:
        c = spec.config
        return {
            "name": str(c.get("name") or spec.name),
            "image": c["image"],
            "tag": str(c.get("tag", "latest")),
            "env": {k: str(v) for k, v in (c.get("env") or {}).items()},
            "ports": docker_options.normalise_ports(c.get("ports") or []),
            "onstart": c.get("onstart") or "",
            "runtype": c.get("runtype", "ssh"),
            "ssh_direct": bool(c.get("ssh_direct", True)),
            "jupyter_direct": bool(c.get("jupyter_direct", False)),
            "disk_gb": c.get("disk_gb"),
            "args": list(c.get("args") or []),
            "extra_filters": offer_query(c["extra_filters"]) if c.get("extra_filters") else {},
            "readme": c.get("readme") or "",
            "private": bool(c.get("private", True)),
            **self._secret_keys(spec, planning),
        }

    @staticmethod
    def _secret_keys(spec: ResourceSpec, planning: Planning) -> dict[str, list[str]]:
        """``secrets``: the env var keys of the secrets the template reads (Vast.ai does not report them:
        state does); left out while the template reads none and never did, so such plans stay as they were."""
        specs = planning.stack.by_address()
        keys = sorted({str(specs[a].config.get("key")) for a in spec.config.get("secrets") or () if a in specs})
        entry = planning.state.resources.get(spec.address)
        return {"secrets": keys} if keys or (entry and entry.attributes.get("secrets")) else {}

    def from_api(self, row: Mapping[str, Any]) -> dict[str, Any]:
        env, ports = docker_options.parse(row.get("env"))
        disk = row.get("recommended_disk_space")
        return {
            "name": row.get("name") or "",
            "image": row.get("image") or "",
            "tag": row.get("tag") or "",
            "env": env,
            "ports": ports,
            "onstart": row.get("onstart") or "",
            "runtype": row.get("runtype") or "args",
            "ssh_direct": bool(row.get("ssh_direct")),
            "jupyter_direct": bool(row.get("jup_direct")),
            "disk_gb": int(float(disk)) if disk not in (None, "") else None,
            "args": shlex.split(row.get("args_str") or ""),
            "extra_filters": row.get("extra_filters") or {},
            "readme": row.get("readme") or "",
            "private": bool(row.get("private", True)),
            "desc": row.get("desc") or "",
            "hash_id": row.get("hash_id"),
        }

    def _to_api(self, desired: Mapping[str, Any], owner: str) -> dict[str, Any]:
        runtype = desired["runtype"]
        return {
            "name": desired["name"],
            "image": desired["image"],
            "tag": desired["tag"],
            "href": None,
            "repo": None,
            "env": docker_options.build(desired["env"], desired["ports"]),
            "onstart": desired["onstart"],
            "jup_direct": desired["jupyter_direct"],
            "ssh_direct": desired["ssh_direct"],
            "use_jupyter_lab": False,
            "runtype": runtype,
            "use_ssh": runtype in ("ssh", "jupyter"),
            "jupyter_dir": None,
            "docker_login_repo": None,
            "extra_filters": desired["extra_filters"],
            "recommended_disk_space": desired["disk_gb"],
            "args_str": shlex.join(desired["args"]),
            "readme": desired["readme"],
            "readme_visible": True,
            "desc": owner,  # the ownership marker: not diffed, so `state mv` changes nothing
            "private": desired["private"],
        }

    async def create(self, client: VastClient, spec: ResourceSpec, desired: Mapping[str, Any],
                     ctx: ApplyContext) -> Created:
        row = await api.create_template(client, self._to_api(desired, marker(ctx.stack, spec.address)))
        return Created(row["id"], {**desired, "hash_id": row.get("hash_id")})

    async def update(self, client: VastClient, entry: ResourceState, desired: Mapping[str, Any],
                     ctx: ApplyContext) -> Mapping[str, Any]:
        live = ctx.live.get(self.kind, {}).get(entry.id) or {}
        hash_id = live.get("hash_id") or entry.attributes.get("hash_id") or ""
        fields = self._to_api(desired, marker(ctx.stack, ctx.address))
        row = await api.update_template(client, entry.id, str(hash_id), fields)
        return {**desired, "hash_id": row.get("hash_id")}

    async def delete(self, client: VastClient, entry: ResourceState, ctx: ApplyContext) -> str:
        try:
            await api.delete_template(client, entry.id)
        except ApiError as exc:
            if exc.status != 404:
                raise
            return "already gone"
        return "destroyed"
