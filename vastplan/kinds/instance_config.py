"""What an instance spec means once its template and references are resolved: the effective image,
env, ports and onstart (the template's, overridden by the instance's own), the SSH keys to attach,
the volume to mount, and the body of the create call."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from vastplan.kinds import docker_options, watchdog
from vastplan.kinds.ownership import marker
from vastplan.kinds.ssh_key import normalise_key
from vastplan.stack.model import ResourceSpec, Stack

if TYPE_CHECKING:
    from vastplan.kinds.base import Planning

_RUNTYPES = {"ssh": "ssh_direc ssh_proxy", "jupyter": "jupyter_direc ssh_direc ssh_proxy", "args": "args"}


def template_spec(spec: ResourceSpec, stack: Stack) -> ResourceSpec | None:
    name = spec.config.get("template")
    return stack.by_address().get(f"templates.{name}") if name else None


def effective(spec: ResourceSpec, stack: Stack) -> dict[str, Any]:
    """image (``repo:tag``), env, ports, onstart, args and runtype after applying the template."""
    template = template_spec(spec, stack)
    base = dict(template.config) if template is not None else {}
    own = spec.config
    if own.get("image"):
        image, tag = own["image"], own.get("tag") or "latest"
    else:
        image, tag = base.get("image", ""), base.get("tag") or "latest"
    env = {**{k: str(v) for k, v in (base.get("env") or {}).items()},
           **{k: str(v) for k, v in (own.get("env") or {}).items()}}
    return {
        "image": f"{image}:{tag}" if tag and ":" not in image.rpartition("/")[2] else image,
        "env": env,
        "ports": docker_options.normalise_ports([*(base.get("ports") or []), *(own.get("ports") or [])]),
        "onstart": own.get("onstart") or base.get("onstart") or "",
        "args": list(own.get("args") or base.get("args") or []),
        "runtype": own.get("runtype") or base.get("runtype") or "ssh",
    }


def sensitive_env(spec: ResourceSpec, stack: Stack) -> frozenset[str]:
    """``env.X`` paths that are sensitive in the instance or in the template it inherits from."""
    template = template_spec(spec, stack)
    inherited = template.sensitive_paths if template else frozenset()
    return frozenset(p for p in spec.sensitive_paths | inherited if p.startswith("env."))


def ssh_key_texts(spec: ResourceSpec, stack: Stack) -> list[str]:
    keys = stack.by_address()
    return sorted(normalise_key(keys[f"ssh_keys.{name}"].config["public_key"])
                  for name in spec.config.get("ssh_keys") or [] if f"ssh_keys.{name}" in keys)


def volume_mounts(spec: ResourceSpec, planning: Planning) -> list[str]:
    """``<volume id>:<mount>``, or ``<address>:<mount>`` while the volume does not exist yet or this
    plan makes it anew (the instance must then mount the new one, and is replaced with it)."""
    mounts = []
    for item in spec.config.get("volumes") or []:
        address = mount_address(item)
        kept = planning.id_after(address)
        mounts.append(f"{address if kept is None else kept}:{item['mount']}")
    return mounts


def mount_address(item: Mapping[str, Any]) -> str:
    """The address a ``volumes:`` item mounts: a volume, or a network volume."""
    return f"network_volumes.{item['network_volume']}" if "network_volume" in item else f"volumes.{item['volume']}"


def label_for(spec: ResourceSpec, stack: Stack) -> str:
    """The label an instance carries: the ownership marker, then the stack's own label if any."""
    return full_label(marker(stack.owner, spec.address), spec.config.get("label") or "")


def full_label(owner_marker: str, own: str) -> str:
    return owner_marker + (f" {own}" if own else "")


def create_body(desired: Mapping[str, Any], config: Mapping[str, Any], runtype: str, label: str,
                template_hash: str | None, volume_info: dict[str, Any] | None) -> dict[str, Any]:
    """The ``PUT /asks/{id}/`` body, with every key the official CLI sends."""
    body: dict[str, Any] = {
        "client_id": "me", "image": desired["image"], "env": env_with_ports(desired["env"], desired["ports"]),
        "price": desired["bid_dph"],
        "disk": float(desired["disk_gb"]), "label": label, "extra": None,
        "onstart": watchdog.compose(desired["onstart"], config) or None,
        "image_login": None, "python_utf8": False, "lang_utf8": False,
        "use_jupyter_lab": False, "jupyter_dir": None, "force": False, "cancel_unavail": True,
        "template_hash_id": template_hash, "user": None,
        "target_state": desired["state"],
    }
    if template_hash is None:
        body["runtype"] = _RUNTYPES.get(runtype, runtype)
    if config.get("args"):
        body["args"] = list(config["args"])
    if volume_info:
        body["volume_info"] = volume_info
    return body


def describe_offer(row: Mapping[str, Any]) -> str:
    """``machine 4711: 1x RTX 4090, California, US`` for an offer or a rented instance."""
    return (f"machine {row.get('machine_id')}: {row.get('num_gpus')}x {row.get('gpu_name')}, "
            f"{row.get('geolocation') or 'unknown location'}")


_DESCRIBED = re.compile(r"machine (?P<machine>[^:]+): (?P<gpus>[^,]+), (?P<location>.+)")


def offer_parts(described: str) -> tuple[str, str, str]:
    """``describe_offer``'s text back as (GPUs, machine, location); ``?`` for what it does not say
    (an offer chosen only at apply)."""
    match = _DESCRIBED.fullmatch(described or "")
    if not match:
        return "?", "?", described or "?"
    return match["gpus"], match["machine"], match["location"]


def recorded_machine(recorded: Mapping[str, Any]) -> dict[str, Any]:
    """The machine row of an instance as state recorded it; rebuilt from its ``offer`` description and
    price when the state has none (a state written before the row was kept, read with ``--no-refresh``),
    so that the plan keeps the instance where it is rather than stopping."""
    row = recorded.get("machine_row")
    if isinstance(row, Mapping) and row:
        return dict(row)
    gpus, machine, location = offer_parts(str(recorded.get("offer") or ""))
    count, _, name = gpus.partition("x ")
    return {"machine_id": machine, "num_gpus": count, "gpu_name": name, "geolocation": location,
            "dph_total": recorded.get("dph_total"), "storage_total_cost": recorded.get("storage_hour")}


def connection(row: Mapping[str, Any]) -> dict[str, Any]:
    """How to reach a running instance: what outputs such as ``ssh_url`` are made of."""
    host, port = row.get("ssh_host"), row.get("ssh_port")
    return {
        "ssh_host": host, "ssh_port": port, "public_ipaddr": row.get("public_ipaddr"),
        "ports_map": row.get("ports") or {},
        "ssh_url": f"ssh -p {port} root@{host}" if host and port else None,
    }


def env_with_ports(env: Mapping[str, str], ports: list[str]) -> dict[str, str]:
    """The env dict of the create and update calls, carrying ports as ``-p N:N`` keys."""
    result = dict(env)
    for port in ports:
        number, _, proto = port.partition("/")
        result[f"-p {number}:{number}" + (f"/{proto}" if proto else "")] = "1"
    return result


MACHINE_ROW_FIELDS = ("machine_id", "num_gpus", "gpu_name", "gpu_ram", "geolocation", "cuda_max_good", "compute_cap",
                      "dph_total", "storage_cost", "storage_total_cost")


def machine_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """The part of an offer or instance row that says which machine it is and what it costs."""
    return {k: row.get(k) for k in MACHINE_ROW_FIELDS}
