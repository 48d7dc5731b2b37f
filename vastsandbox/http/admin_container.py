"""Admin views of a container from inside: the GPU use its host reports, and what the container
starts with (its environment with ``CONTAINER_ID``/``CONTAINER_API_KEY``, and its onstart), so a
test can run the instance's own start-up script against the sandbox (see docs/sandbox.md)."""

from __future__ import annotations

from vastsandbox.http.router import Call, Reply, Route
from vastsandbox.world import container_keys
from vastsandbox.world.envflags import env_as_dict
from vastsandbox.world.errors import Refusal


def _instance(call: Call) -> dict[str, object]:
    record = call.sb.world.tables["instances"].get(call.param_int("id"))
    if record is None:
        raise Refusal(404, "not_found", "No such instance.")
    return record


def set_gpu_util(call: Call) -> Reply:
    """``{"gpu_util": percent}``: what the listing reports as the instance's GPU use from now on."""
    record = _instance(call)
    value = call.body_dict().get("gpu_util")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 100:
        raise Refusal(400, "invalid_args", "gpu_util must be a number from 0 to 100 (percent, as the CLI shows it)")
    record["gpu_util"] = float(value)
    call.sb.changed()
    return Reply({"success": True, "id": record["id"], "gpu_util": float(value)})


def container(call: Call) -> Reply:
    """The container's start: its environment and its onstart script, as Vast.ai would launch it."""
    record = _instance(call)
    env = container_keys.container_env(call.sb.world, record, env_as_dict(record.get("env")))
    return Reply({"id": record["id"], "env": env, "onstart": record.get("onstart") or ""})


ROUTES = [
    Route("POST", "/_sandbox/instances/{id}/gpu_util/", set_gpu_util, auth=False),
    Route("GET", "/_sandbox/instances/{id}/container/", container, auth=False),
]
