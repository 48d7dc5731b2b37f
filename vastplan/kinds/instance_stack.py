"""An instance's block of the stack file: its defaults, what it refers to, and the checks that run at
``validate`` time (no network): mount paths, Vast.ai's one volume per instance, times, durations,
labels."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from vastplan.kinds import watchdog
from vastplan.kinds.base import Resolving
from vastplan.kinds.ownership import PREFIX
from vastplan.stack.reader import YPath

DEFAULTS: Mapping[str, Any] = {
    "env": {},
    "ports": [],
    "offer": {},
    "ssh_keys": [],
    "volumes": [],
    "state": "running",
    "readiness": {"timeout": "10m", "ssh_probe": True},
}
# Without a template an instance needs these; with one, the template's own values apply.
IMAGE_DEFAULTS: Mapping[str, Any] = {"tag": "latest", "runtype": "ssh"}
DISK_GB = 10  # Vast.ai's own default when neither the instance nor its template says
MAX_VOLUMES = 1  # Vast.ai mounts at most one volume per instance (a create with two is refused with a 400)


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def resolve(r: Resolving, body: dict[str, Any], path: YPath) -> tuple[dict[str, Any], list[str]]:
    """The instance's config (its template's disk and the stack's ttl filled in) and references."""
    config = r.config(DEFAULTS, body, path)
    depends_on = _references(r, body, path)
    name = body.get("template")
    template = _mapping(_mapping(r.data.get("templates")).get(name)) if isinstance(name, str) else {}
    if "template" not in body:
        for key, default in IMAGE_DEFAULTS.items():
            config.setdefault(key, default)
    elif "image" in body:
        config.setdefault("tag", IMAGE_DEFAULTS["tag"])
    config.setdefault("disk_gb", template.get("disk_gb", DISK_GB))
    config["readiness"] = {**DEFAULTS["readiness"], **_mapping(config.get("readiness"))}
    life = _mapping(body.get("lifecycle"))
    _limits(r, body, life, config, path)
    if "ttl" not in config and "expires_at" not in body and isinstance(r.data.get("ttl"), str):
        config["ttl"] = r.data["ttl"]
    _check(r, body, path)
    own = config.get("onstart") if "onstart" in body else template.get("onstart")
    problem = watchdog.length_problem(own if isinstance(own, str) else "", config)
    if problem:
        r.report((*path, "onstart") if "onstart" in body else (*path, "lifecycle"), problem)
    return config, depends_on


def _limits(r: Resolving, body: dict[str, Any], life: dict[str, Any], config: dict[str, Any], path: YPath) -> None:
    """``lifecycle.ttl`` and ``lifecycle.idle`` into the config (``ttl`` beside ``lifecycle`` is the
    older spelling of ``lifecycle.ttl`` and still works; not both)."""
    where = (*path, "lifecycle")
    if "ttl" in life:
        if "ttl" in body:
            r.report((*where, "ttl"), f"ttl is given twice, here and at {'.'.join(map(str, path))}.ttl; keep one "
                                      "(lifecycle.ttl is the current spelling)")
        elif "expires_at" in body:
            r.report((*where, "ttl"), "give either lifecycle.ttl or expires_at, not both")
        config["ttl"] = life["ttl"]
        r.check_duration((*where, "ttl"))
    if isinstance(life.get("idle"), dict):
        config["idle"] = dict(life["idle"])
        r.check_duration((*where, "idle", "after"))


def _references(r: Resolving, body: dict[str, Any], path: YPath) -> list[str]:
    found = [r.reference("templates", body["template"], (*path, "template"))] if "template" in body else []
    keys = body.get("ssh_keys")
    for i, key in enumerate(keys if isinstance(keys, list) else []):
        found.append(r.reference("ssh_keys", key, (*path, "ssh_keys", i)))
    mounts = body.get("volumes")
    for i, mount in enumerate(mounts if isinstance(mounts, list) else []):
        if isinstance(mount, dict) and "volume" in mount:
            found.append(r.reference("volumes", mount["volume"], (*path, "volumes", i, "volume")))
        if isinstance(mount, dict) and "network_volume" in mount:
            where = (*path, "volumes", i, "network_volume")
            found.append(r.reference("network_volumes", mount["network_volume"], where))
    return [address for address in found if address]


def _check(r: Resolving, body: dict[str, Any], path: YPath) -> None:
    """What the schema cannot say: mount paths used twice, more volumes than Vast.ai mounts, a time
    that does not exist, a duration too long, a label that would corrupt the ownership marker."""
    _check_mounts(r, body.get("volumes"), (*path, "volumes"))
    expires = body.get("expires_at")
    if isinstance(expires, str):
        try:
            datetime.fromisoformat(expires.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            r.report((*path, "expires_at"), f'"{expires}" is not a valid time')
    for duration in (("ttl",), ("readiness", "timeout")):
        r.check_duration((*path, *duration))
    label = body.get("label")
    if isinstance(label, str):
        problem = _label_problem(label)
        if problem:
            r.report((*path, "label"), problem)


def _check_mounts(r: Resolving, mounts: Any, path: YPath) -> None:
    seen: set[str] = set()
    for i, mount in enumerate(mounts if isinstance(mounts, list) else []):
        target = _mapping(mount).get("mount")
        if isinstance(target, str) and target in seen:
            r.report((*path, i, "mount"), f'mount path "{target}" is used twice')
        seen.add(str(target))
    if isinstance(mounts, list) and len(mounts) > MAX_VOLUMES:
        r.report((*path, MAX_VOLUMES), f"Vast.ai mounts at most one volume per instance; this one lists {len(mounts)}")


def _label_problem(label: str) -> str:
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in label):
        return "a label must be one line of text: no NUL, newline or other control character"
    if re.search(r"(?:^|\s)" + re.escape(PREFIX), label):
        return (f'a label must not contain "{PREFIX}": that is how vastplan marks the objects a stack owns, '
                "and it adds its own marker in front of the label")
    return ""
