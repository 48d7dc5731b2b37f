"""Instances: renting an offer (``PUT /asks/{id}/``) and the instance object clients read.

The stored record holds what the renter chose and what happened since; the wire object adds the
machine's hardware, the connection details and the bill so far.
"""

from __future__ import annotations

import hashlib
import shlex
from typing import TYPE_CHECKING

from vastsandbox.world import JSON, templates, volumes
from vastsandbox.world.envflags import env_as_dict, env_from_string, port_specs
from vastsandbox.world.errors import Refusal
from vastsandbox.world.lifecycle import accrue
from vastsandbox.world.machines import Machine
from vastsandbox.world.sshd import free_port

if TYPE_CHECKING:
    from vastsandbox.world.context import Caller

Record = dict[str, JSON]
DEFAULT_DISK = 10.0
RUNTYPES = {"ssh": "ssh_direc ssh_proxy", "jupyter": "jupyter_direc ssh_direc ssh_proxy", "args": "args"}


def _unavailable(offer_id: int, gone: bool) -> Refusal:
    if gone:
        return Refusal(410, "no_such_ask",
                       f"error 410/3907: no_such_ask Instance type {offer_id} is no longer available.",
                       ask_id=offer_id)
    return Refusal(404, "invalid_args",
                   f"error 404/3603: no_such_ask Instance type by id {offer_id} is not available.",
                   ask_id=offer_id)


def _template(call: Caller, body: Record) -> Record | None:
    hash_id, template_id = body.get("template_hash_id"), body.get("template_id")
    if hash_id:
        found = templates.find_by_hash(call, str(hash_id))
    elif template_id not in (None, ""):
        found = next((t for t in templates.visible(call) if str(t["id"]) == str(template_id)), None)
    else:
        return None
    if found is None:
        raise Refusal(404, "no_such_template", "Template not found.")
    return found


def _image_of(template: Record) -> str | None:
    image, tag = template.get("image"), template.get("tag")
    if not image:
        return None
    return f"{image}:{tag}" if tag and ":" not in str(image).rsplit("/", 1)[-1] else str(image)


def _template_runtype(template: Record) -> str:
    runtype = str(template.get("runtype") or "args")
    if runtype == "ssh" and not template.get("ssh_direct"):
        return "ssh_proxy"
    if runtype == "jupyter" and not template.get("jup_direct"):
        return "jupyter_proxy ssh_proxy"
    return RUNTYPES.get(runtype, runtype)


def launch_settings(call: Caller, body: Record) -> Record:
    """Image, env, onstart, runtype and disk from the request over its template (request wins)."""
    template = _template(call, body)
    base: Record = {}
    if template is not None:
        base = {"image": _image_of(template), "env": env_from_string(template.get("env")),
                "onstart": template.get("onstart"), "runtype": _template_runtype(template),
                "disk": template.get("recommended_disk_space"), "args": template.get("args_str")}
        template["count_created"] = int(template.get("count_created") or 0) + 1
        template["recent_create_date"] = call.now
    env = {**env_as_dict(base.get("env")), **env_as_dict(body.get("env"))}
    image = body.get("image") or base.get("image")
    if not image:
        raise Refusal(400, "invalid_args", "error 400/3467: Invalid args: image is required.")
    disk = body.get("disk") if body.get("disk") is not None else base.get("disk")
    return {
        "image": str(image), "env": env,
        "onstart": body.get("onstart") if body.get("onstart") is not None else base.get("onstart"),
        "runtype": body.get("runtype") or base.get("runtype") or "ssh",
        "args": body.get("args") if body.get("args") is not None else base.get("args"),
        "disk": float(disk) if disk is not None else DEFAULT_DISK,
        "template": template,
    }


def args_list(args: JSON) -> list[str] | None:
    """``image_args`` is a list; the CLI's ``update instance --args`` sends one string."""
    if args is None:
        return None
    if isinstance(args, list):
        return [str(a) for a in args]
    try:
        return shlex.split(str(args))
    except ValueError as exc:
        raise Refusal(400, "invalid_args", f"error 400/3467: Invalid args: args: {exc}.") from exc


def update_settings(call: Caller, record: Record, body: Record) -> Record:
    """What ``update_template`` recreates the container with (docs/sandbox.md, "In-place update").

    A field sent replaces the instance's value whole (``env`` is not merged with the old env); with a
    template, its image, env, onstart and args are used for what the request leaves out, as at create;
    without one, what the request leaves out stays as it was."""
    template = _template(call, body)
    if template is not None:
        base = launch_settings(call, body)
        base["args"] = args_list(base["args"])
        return base
    current: Record = {"image": record["image"], "env": record.get("env"), "onstart": record.get("onstart"),
                       "args": record.get("args")}
    for key in ("image", "onstart"):
        if body.get(key) is not None:
            current[key] = body[key]
    if body.get("env") is not None:
        current["env"] = env_as_dict(body["env"])
    if body.get("args") is not None:
        current["args"] = args_list(body["args"])
    if not current["image"]:
        raise Refusal(400, "invalid_args", "error 400/3467: Invalid args: image is required.")
    return {**current, "template": None, "runtype": record.get("runtype")}


def check_price(price: JSON, min_bid: float) -> float | None:
    if price is None:
        return None
    try:
        value = float(price)
    except (TypeError, ValueError) as exc:
        raise Refusal(400, "invalid_price", "error 400/3467: Invalid args: price must be a number.") from exc
    if not 0.001 <= value <= 128:
        raise Refusal(400, "invalid_price", "error 400/3467: Invalid args: price must be 0.001-128.")
    if value < min_bid:
        raise Refusal(400, "invalid_price",
                      f"error 400/3467: Invalid args: bid {value:g} is below the minimum bid {min_bid:g}.")
    return value


def rent(call: Caller, offer_id: int, body: Record) -> Record:
    """Create an instance on an offer with the settings in ``body``, or fail as Vast.ai does when the
    offer is gone."""
    sb = call.sb
    market, world = sb.market, sb.world
    found = market.resolve_offer(offer_id)
    if found is None or not market.available(*found):
        # An id once offered (rented since, or its machine changed) is "no longer available".
        issued = found is not None or market.resolve_offer(offer_id, stale=True) is not None
        raise _unavailable(offer_id, issued and bool(body.get("cancel_unavail")))
    machine, size = found
    label = body.get("label")
    if label is not None and (not isinstance(label, str) or len(label) > 1024):
        raise Refusal(400, "invalid_args", "error 400/3467: Invalid args: label must be text of at most 1024.")
    settings = launch_settings(call, body)
    disk = settings["disk"]
    if disk < 1 or disk > market.free_disk(machine):
        raise Refusal(400, "invalid_args",
                      f"error 400/3467: Invalid args: disk {disk:g} GB does not fit (free "
                      f"{market.free_disk(machine):.0f} GB).")
    prices = market.prices(machine, size, disk)
    bid = check_price(body.get("price"), prices["min_bid"])
    instance_id = world.new_id("instances")
    mounts = volumes.mounts_for_new_instance(call, body.get("volume_info"), machine, instance_id)
    template = settings["template"]
    record: Record = {
        "id": instance_id, "machine_id": machine.machine_id, "offer_id": offer_id,
        "gpu_slots": market.take(machine, size, f"instance:{instance_id}"), "num_gpus": size,
        "disk_space": disk, "image": settings["image"], "env": settings["env"],
        "onstart": settings["onstart"], "args": args_list(settings["args"]), "runtype": settings["runtype"],
        "label": label, "template_id": template["id"] if template else None,
        "template_hash_id": template["hash_id"] if template else None,
        "template_name": template["name"] if template else None,
        "is_bid": bid is not None, "bid_price": bid,
        "dph_base": bid if bid is not None else prices["dph_base"], "storage_hour": prices["storage_hour"],
        "storage_cost": machine.storage_cost,
        "intended_status": "stopped" if body.get("target_state") == "stopped" else "running",
        "created_at": call.now, "ssh_port": free_port() if sb.options.ssh_listeners else
        20000 + instance_id % 40000, "ssh_keys": [{"id": k["id"], "public_key": k["key"]}
                                                 for k in world.owned("ssh_keys", call.uid)],
        "volumes": mounts, "cost_gpu": 0.0, "cost_storage": 0.0,
        "stuck": sb.control.new_instance_fate == "loading", "fate": sb.control.new_instance_fate,
        "jupyter_token": hashlib.sha256(f"{world.seed}/{instance_id}".encode()).hexdigest(),
    }
    record["cur_state"] = record["next_state"] = record["intended_status"]
    market.use_disk(machine.machine_id, disk)
    world.insert("instances", record, call.uid)
    sb.lifecycle.boot(record, call.now, sb.control.boot_seconds)
    sb.changed()
    return record


def _ports(record: Record, machine: Machine) -> dict[str, JSON]:
    if record.get("actual_status") != "running":
        return {}
    ports: dict[str, JSON] = {"22/tcp": [{"HostIp": "0.0.0.0", "HostPort": str(record["ssh_port"])}]}
    for offset, spec in enumerate(port_specs(env_as_dict(record.get("env")))):
        if spec != "22/tcp":
            host_port = machine.direct_port_start + 1 + offset
            ports[spec] = [{"HostIp": "0.0.0.0", "HostPort": str(host_port)}]
    return ports


def _arg_list(args: JSON) -> list[str]:
    """A template's ``args_str`` is one text; the instance object lists the arguments (spec: array)."""
    if isinstance(args, str):
        try:
            return shlex.split(args)
        except ValueError:  # an unbalanced quote: the words as typed
            return args.split()
    return [str(a) for a in args or []]


def render(call: Caller, record: Record) -> Record:
    """The instance object of ``GET /instances/...`` (vast-api.md section 6)."""
    sb, now = call.sb, call.now
    machine = sb.market.by_id[int(record["machine_id"])]
    accrue(record, now)
    size, gpu = int(record["num_gpus"]), machine.gpu
    frac = size / machine.num_gpus
    status = record.get("actual_status")
    running_since = record.get("running_since") if status == "running" else None
    dph_total = float(record["dph_base"]) + float(record["storage_hour"])
    env = env_as_dict(record.get("env"))
    return {
        "id": record["id"], "machine_id": machine.machine_id, "host_id": machine.host_id,
        "bundle_id": record["offer_id"], "ask_contract_id": record["offer_id"],
        "actual_status": status, "intended_status": record["intended_status"],
        "cur_state": record["cur_state"], "next_state": record["next_state"],
        "status_msg": record.get("status_msg"), "label": record.get("label"),
        "template_id": record.get("template_id"), "template_hash_id": record.get("template_hash_id"),
        "template_name": record.get("template_name"), "image_uuid": record["image"],
        "image_args": _arg_list(record.get("args")), "image_runtype": record.get("runtype"),
        "extra_env": [[k, v] for k, v in env.items()], "onstart": record.get("onstart"),
        "jupyter_token": record.get("jupyter_token"),
        "ssh_host": "127.0.0.1", "ssh_port": record["ssh_port"], "ssh_idx": "0",
        "machine_dir_ssh_port": record["ssh_port"], "public_ipaddr": "127.0.0.1",
        "local_ipaddrs": "127.0.0.1 ", "direct_port_start": machine.direct_port_start,
        "direct_port_end": machine.direct_port_start + max(1, int(machine.direct_port_count * frac)) - 1,
        "direct_port_count": max(1, int(machine.direct_port_count * frac)),
        "ports": _ports(record, machine),
        "start_date": record["created_at"], "end_date": now + machine.duration_days * 86400,
        "duration": now - float(record["created_at"]),
        "uptime_mins": round((now - float(running_since)) / 60, 2) if running_since else None,
        "num_gpus": size, "gpu_name": gpu.name, "gpu_ram": gpu.vram_mb, "gpu_totalram": gpu.vram_mb * size,
        # percent, as the official CLI shows it ("Util. %"); settable through the admin API
        "gpu_util": float(record.get("gpu_util") or 0.0) if status == "running" else None,
        "gpu_temp": 35.0 if status == "running" else None, "gpu_arch": "nvidia",
        "gpu_frac": round(frac, 4), "compute_cap": gpu.compute_cap, "cpu_name": machine.cpu_name,
        "cpu_cores": machine.cpu_cores, "cpu_cores_effective": round(machine.cpu_cores * frac, 1),
        "cpu_ram": int(machine.cpu_ram * frac), "cpu_util": 0.0, "mem_usage": 0.0,
        "mem_limit": round(machine.cpu_ram * frac / 1024, 2), "vmem_usage": 0.0,
        "disk_space": record["disk_space"], "disk_usage": 0.0, "disk_util": 0.0,
        "disk_name": machine.disk_name, "disk_bw": machine.disk_bw, "cuda_max_good": machine.cuda_max_good,
        "driver_version": machine.driver_version, "inet_up": machine.inet_up, "inet_down": machine.inet_down,
        "dph_base": record["dph_base"], "dph_total": round(dph_total, 6),
        "min_bid": sb.market.prices(machine, size, float(record["disk_space"]))["min_bid"],
        "is_bid": record["is_bid"], "storage_cost": record["storage_cost"],
        "storage_total_cost": round(float(record["storage_hour"]), 6),
        "search": {"gpuCostPerHour": record["dph_base"], "diskHour": record["storage_hour"],
                   "totalHour": round(dph_total, 6)},
        "instance": {"gpuCostPerHour": record["dph_base"], "diskHour": record["storage_hour"],
                     "totalHour": round(dph_total, 6)},
        "reliability2": machine.reliability, "verification": machine.verification,
        "geolocation": machine.geolocation, "static_ip": machine.static_ip, "rentable": machine.rentable,
        "external": machine.external, "hosting_type": 1 if machine.datacenter else 0,
        "volume_info": volumes.volume_info_of(call, record), "time_remaining": "",
        "credit_balance": None, "credit_discount": None, "credit_discount_max": 0.0,
        "total_cost": round(float(record["cost_gpu"]) + float(record["cost_storage"]), 6),
        "os_version": "22.04", "mobo_name": machine.mobo_name, "pci_gen": machine.pci_gen,
    }
