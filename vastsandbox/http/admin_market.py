"""Admin faults on the market and on instances: take an offer away, make an instance stick in
``loading``, put it in ``exited``/``offline``, or let another renter take its GPUs (see docs/sandbox.md)."""

from __future__ import annotations

from vastsandbox.http.router import Call, Reply, Route
from vastsandbox.world import contention
from vastsandbox.world.errors import Refusal

FORCEABLE = ("exited", "offline", "unknown", "running", "stopped", "loading")


def take_offer(call: Call) -> Reply:
    """Another tenant rents every free GPU of the offer's machine: the offer is gone until released."""
    sb = call.sb
    found = sb.market.resolve_offer(call.param_int("id"), stale=True)
    if found is None:
        raise Refusal(404, "not_found", "No such offer.")
    machine, _ = found
    slots = sb.market.take(machine, machine.num_gpus, "taken")
    taken = sb.world.extra.setdefault("taken", {})
    taken[str(machine.machine_id)] = sorted(set(taken.get(str(machine.machine_id), [])) | set(slots))
    sb.changed()
    return Reply({"success": True, "machine_id": machine.machine_id, "gpus_taken": len(slots)})


def release_machine(call: Call) -> Reply:
    """Give back the GPUs that ``take`` took on a machine."""
    sb = call.sb
    machine_id = call.param_int("id")
    slots = sb.world.extra.get("taken", {}).pop(str(machine_id), [])
    sb.market.release(machine_id, [int(s) for s in slots])
    contention.resume_waiting(sb, machine_id, call.now)
    sb.changed()
    return Reply({"success": True, "machine_id": machine_id, "gpus_released": len(slots)})


def _instance(call: Call) -> dict[str, object]:
    record = call.sb.world.tables["instances"].get(call.param_int("id"))
    if record is None:
        raise Refusal(404, "not_found", "No such instance.")
    return record


def stick(call: Call) -> Reply:
    """``{"stuck": true}``: the instance never leaves ``loading``; false lets it finish booting."""
    record = _instance(call)
    stuck = bool(call.body_dict().get("stuck", True))
    record["stuck"] = stuck
    lifecycle = call.sb.lifecycle
    if not stuck and record.get("actual_status") == "loading" and not record.get("transition"):
        lifecycle.schedule(record, "running", call.now)
    call.sb.changed()
    return Reply({"success": True, "id": record["id"], "stuck": stuck})


def force_status(call: Call) -> Reply:
    """``{"actual_status": "exited"|"offline"|..., "msg"?}``: the instance is in that status now."""
    record = _instance(call)
    body = call.body_dict()
    status = body.get("actual_status")
    if status not in FORCEABLE:
        raise Refusal(400, "invalid_args", f"actual_status must be one of {', '.join(FORCEABLE)}")
    msg = body.get("msg")
    if status == "running":
        # Through the normal transition, so the SSH listener opens as for any boot.
        record["stuck"] = False
        call.sb.lifecycle.schedule(record, "running", call.now)
    else:
        call.sb.lifecycle.force(record, str(status), call.now, str(msg) if msg else None)
    call.sb.changed()
    return Reply({"success": True, "id": record["id"], "actual_status": status})


def lose_gpus(call: Call) -> Reply:
    """``POST /_sandbox/instances/{id}/lose_gpus``: another renter takes a stopped instance's GPUs."""
    record = call.sb.world.tables["instances"].get(call.param_int("id"))
    if record is None:
        raise Refusal(404, "not_found", "No such instance.")
    if record.get("actual_status") != "stopped":
        raise Refusal(400, "invalid_args", "Only a stopped instance can lose its GPUs.")
    lost = contention.lose_gpus(call.sb, record)
    call.sb.changed()
    return Reply({"success": True, "id": record["id"], "machine_id": record["machine_id"], "gpus_lost": lost})


ROUTES = [
    Route("POST", "/_sandbox/offers/{id}/take/", take_offer, auth=False),
    Route("POST", "/_sandbox/machines/{id}/release/", release_machine, auth=False),
    Route("POST", "/_sandbox/instances/{id}/stick/", stick, auth=False),
    Route("POST", "/_sandbox/instances/{id}/status/", force_status, auth=False),
    Route("POST", "/_sandbox/instances/{id}/lose_gpus/", lose_gpus, auth=False),
]
