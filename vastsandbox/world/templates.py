"""Templates as the world keeps them: editable fields, content hashes, kept versions, who sees what.

A search shows the caller's own templates plus every public one (``private: false``), including
a few seeded "recommended" templates owned by nobody, as Vast.ai's search does; every edit keeps the
old version under its hash_id, so an old hash still launches the template as it was.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING

from vastsandbox.world import JSON
from vastsandbox.world.envflags import env_to_string
from vastsandbox.world.errors import Refusal

if TYPE_CHECKING:
    from vastsandbox.world.context import Caller

# Every field a client may set; anything else in a body is ignored.
EDITABLE: dict[str, JSON] = {
    "name": None, "image": None, "tag": None, "href": None, "repo": None, "env": "", "onstart": None,
    "runtype": "args", "use_ssh": False, "ssh_direct": False, "jup_direct": False,
    "use_jupyter_lab": False, "jupyter_dir": None, "docker_login_repo": None,
    "docker_login_user": None, "docker_login_pass": None, "extra_filters": {},
    "recommended_disk_space": None, "desc": None, "readme": None, "readme_visible": True,
    "private": True, "args_str": None, "volume_info": None,
}
SYSTEM_CREATOR = 0
VERSIONS = "template_versions"  # world.extra: hash_id -> the template as it was at that hash


def _public_seed() -> list[dict[str, JSON]]:
    seeds = [
        ("PyTorch (Vast)", "vastai/pytorch", "latest", "-p 8080:8080", 32.0),
        ("vLLM", "vllm/vllm-openai", "latest", "-p 8000:8000", 64.0),
        ("NVIDIA CUDA", "nvidia/cuda", "12.4.1-devel-ubuntu22.04", "", 16.0),
    ]
    rows = []
    for offset, (name, image, tag, env, disk) in enumerate(seeds):
        row = dict(EDITABLE, name=name, image=image, tag=tag, env=env, runtype="ssh", use_ssh=True,
                   ssh_direct=True, recommended_disk_space=disk, private=False)
        row.update(id=300001 + offset, creator_id=SYSTEM_CREATOR, created_at=1700000000.0,
                   count_created=1000 * (3 - offset), default_tag=tag, recent_create_date=1700000000.0,
                   recommended=True, version=1)
        row["hash_id"] = content_hash(row)
        rows.append(row)
    return rows


def content_hash(record: dict[str, JSON]) -> str:
    """A 32-hex digest of what the template says plus its version, so every edit gets a new one."""
    content = {k: record.get(k) for k in EDITABLE}
    content["version"] = record.get("version", 1)
    return hashlib.md5(json.dumps(content, sort_keys=True).encode()).hexdigest()


def normalise(fields: dict[str, JSON]) -> dict[str, JSON]:
    if isinstance(fields.get("env"), dict):
        fields["env"] = env_to_string(fields["env"])
    disk = fields.get("recommended_disk_space")
    if isinstance(disk, str):
        try:
            fields["recommended_disk_space"] = float(disk)
        except ValueError as exc:
            raise Refusal(400, "invalid_args", "recommended_disk_space must be a number") from exc
    if fields.get("extra_filters") is None:
        fields["extra_filters"] = {}
    return fields


def public(record: dict[str, JSON]) -> dict[str, JSON]:
    """The record as the API shows it (internal bookkeeping removed)."""
    return {k: v for k, v in record.items() if k != "version"}


def visible(call: Caller) -> list[dict[str, JSON]]:
    """Templates the caller can see: their own, others' public ones, and the seeded ones."""
    world = call.sb.world
    uid = call.uid
    others = [t for t in world.all("templates")
              if not t.get("private") and t.get("creator_id") != uid]
    return _public_seed() + world.owned("templates", uid) + others


def find_by_hash(call: Caller, hash_id: str) -> dict[str, JSON] | None:
    """A template visible to the caller with this hash_id, preferring the caller's own; else an
    earlier version of one (an edit leaves the original hash valid, as it was then)."""
    found = [t for t in visible(call) if t.get("hash_id") == hash_id]
    own = [t for t in found if t.get("creator_id") == call.uid]
    best = own or found
    if best:
        return best[0]
    old = call.sb.world.extra.get(VERSIONS, {}).get(hash_id)
    if old is not None and (old.get("creator_id") == call.uid or not old.get("private")) \
            and call.sb.world.get("templates", int(old["id"])) is not None:
        return dict(old)
    return None


def keep_version(call: Caller, record: dict[str, JSON]) -> None:
    """Remember a template as it is before an edit, under its hash_id (persisted with the world)."""
    call.sb.world.extra.setdefault(VERSIONS, {})[str(record["hash_id"])] = dict(record)
