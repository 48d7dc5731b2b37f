"""Moving data: copy between instances/volumes/clouds, cloud copy, snapshots, and bulk create."""

from __future__ import annotations

from vastsandbox.http.router import Call, Reply, Route, error_body
from vastsandbox.http.routes_common import instance_fs, own_instance
from vastsandbox.world import JSON, container_fs, instance_logs, instances, netvolumes, transfers
from vastsandbox.world.errors import Refusal

Record = dict[str, JSON]
REMOTE_MSG = "Remote to Remote copy initiated - check instance status bar for progress updates (~30 seconds delayed)."


def _started(record: Record) -> Record:
    if record.get("running_since") is None:
        raise Refusal(400, "invalid_args", f"Instance {record['id']} has not started yet; its disk is not there.")
    return record


def _fs(call: Call, location: transfers.Location) -> container_fs.Fs:
    if location.kind == "instance":
        return instance_fs(call, _started(own_instance(call, int(location.ident or 0))))
    if location.kind == "volume":
        volume_id = int(location.ident or 0)
        if (call.sb.world.get("volumes", volume_id, call.uid) is None
                and netvolumes.find(call.sb.world.extra, volume_id, call.uid) is None):
            raise Refusal(404, "no_such_volume", f"Volume {volume_id} not found.")
    key = transfers.tree_key(location, call.uid)
    return container_fs.Fs([("/", container_fs.tree_of(call.sb.world.extra, key))])


def copy_direct(call: Call) -> Reply:
    """``PUT /commands/copy_direct/``: remote to remote, done at once."""
    body = call.body_dict()
    source, target = transfers.parse(body.get("src_id")), transfers.parse(body.get("dst_id"))
    if "local" in (source.kind, target.kind):
        raise Refusal(400, "invalid_args", "A local side goes through /commands/rsync/.")
    if source.kind == "volume" and target.kind == "local":
        raise Refusal(400, "invalid_args", "Volume copy to local is not supported.")
    count = container_fs.copy_tree(_fs(call, source), str(body.get("src_path") or "/"),
                                   _fs(call, target), str(body.get("dst_path") or "/"))
    call.sb.changed()
    return Reply({"success": True, "msg": REMOTE_MSG, "files": count})


def rsync(call: Call) -> Reply:
    """``PUT /commands/rsync/``: one side local; the answer names the remote side's rsync endpoint."""
    body = call.body_dict()
    source, target = transfers.parse(body.get("src_id")), transfers.parse(body.get("dst_id"))
    remote, side = (target, "dst") if source.kind == "local" else (source, "src")
    if remote.kind != "instance":
        raise Refusal(400, "invalid_args", "Only an instance can be copied to or from local.")
    record = _started(own_instance(call, int(remote.ident or 0)))
    return Reply({"success": True, f"{side}_addr": "127.0.0.1", f"{side}_port": record["ssh_port"]})


def cloud_copy(call: Call) -> Reply:
    """``POST /commands/rclone/``: between an instance and a cloud connection."""
    body = call.body_dict()
    try:
        instance_id = int(str(body.get("instance_id")))
    except ValueError as exc:
        raise Refusal(400, "invalid_args", "instance_id is required.") from exc
    conn = transfers.connection(call.uid, body.get("selected"))
    cloud = transfers.Location("cloud", int(str(conn["id"])), str(conn["cloud_type"]))
    instance = transfers.Location("instance", instance_id)
    direction = str(body.get("transfer") or "").lower()
    if direction not in ("instance to cloud", "cloud to instance"):
        raise Refusal(400, "invalid_args", "transfer must be 'Instance To Cloud' or 'Cloud To Instance'.")
    source, target = (instance, cloud) if direction == "instance to cloud" else (cloud, instance)
    source_fs, target_fs = _fs(call, source), _fs(call, target)
    flags = body.get("flags") or []
    if "--dry-run" in flags:
        target_fs = container_fs.Fs([("/", {})])
    count = container_fs.copy_tree(source_fs, str(body.get("src") or "/"), target_fs, str(body.get("dst") or "/"))
    call.sb.changed()
    return Reply({"success": True, "msg": f"Cloud Copy Operation Finished ({count} files).", "files": count})


def cloud_integrations(call: Call) -> Reply:
    return Reply(transfers.connections(call.uid))


def take_snapshot(call: Call) -> Reply:
    """``POST /instances/take_snapshot/{id}/``: commit the container and push it to the repo."""
    record = own_instance(call, call.param_int("id"))
    body = call.body_dict()
    repo = body.get("personal_repo")
    if not repo:
        raise Refusal(400, "invalid_args", "personal_repo is required.")
    if record.get("actual_status") != "running":
        raise Refusal(400, "invalid_args", f"Instance {record['id']} is not running.")
    registry = str(body.get("container_registry") or "docker.io")
    image = f"{registry}/{repo}:snapshot-{record['id']}"
    record.setdefault("snapshots", []).append({"image": image, "at": call.now, "paused": body.get("pause")})
    instance_logs.note(record, f"snapshot pushed to {image}", call.now)
    call.sb.changed()
    return Reply({"success": True, "msg": f"Snapshot of instance {record['id']} is being pushed to {image}."})


def create_bulk(call: Call) -> Reply:
    """``POST /asks/bulk/``: rent each offer in ``ids`` with the same settings, each on its own."""
    ids = call.body_dict().get("ids")
    if not isinstance(ids, list) or not ids or len(ids) > 64:
        raise Refusal(400, "invalid_args", "ids must be a list of 1 to 64 offer ids.")
    results: list[Record] = []
    for raw in ids:
        try:
            record = instances.rent(call, int(str(raw)), call.body_dict())
        except Refusal as failure:
            results.append({"ask_id": raw, **error_body(failure)})
        except ValueError:
            results.append({"ask_id": raw, "success": False, "error": "invalid_args", "msg": "Invalid offer id."})
        else:
            results.append({"ask_id": raw, "success": True, "new_contract": record["id"]})
    made = [r["new_contract"] for r in results if r.get("success")]
    return Reply({"success": bool(made), "new_contracts": made, "results": results})


ROUTES = [
    Route("PUT", "/api/v0/commands/copy_direct/", copy_direct),
    Route("PUT", "/api/v0/commands/rsync/", rsync),
    Route("POST", "/api/v0/commands/rclone/", cloud_copy),
    Route("GET", "/api/v0/users/cloud_integrations/", cloud_integrations),
    Route("POST", "/api/v0/instances/take_snapshot/{id}/", take_snapshot),
    Route("POST", "/api/v0/asks/bulk/", create_bulk),
]
