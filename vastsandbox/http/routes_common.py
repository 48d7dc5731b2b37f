"""What route modules share: the caller's instance, its files, and where results are fetched."""

from __future__ import annotations

from vastsandbox.http.router import Call
from vastsandbox.world import JSON, container_fs, netvolumes
from vastsandbox.world.errors import Refusal

Record = dict[str, JSON]


def own_instance(call: Call, instance_id: int, error: str = "no_such_instance") -> Record:
    record = call.sb.world.get("instances", instance_id, call.uid)
    if record is None:
        raise Refusal(404, error, f"Instance {instance_id} not found.")
    return record


def result_url(call: Call, name: str) -> str:
    """Where the client fetches an uploaded result: this sandbox, standing in for S3."""
    request = call.request
    return f"{request.scheme}://{request.host}/vast-results/{name}"


def instance_fs(call: Call, record: Record) -> container_fs.Fs:
    """The files an instance sees: its own layer and its volumes at their mount paths."""
    extra = call.sb.world.extra
    if f"C.{record['id']}" not in extra.get(container_fs.FILES, {}):
        container_fs.prune(extra, lambda key: _alive(call, key))  # a new tree: time to drop dead ones
    mounts = [("/", container_fs.tree_of(extra, f"C.{record['id']}", container_fs.starter_tree(record)))]
    for mount in record.get("volumes") or []:
        mounts.append((container_fs.clean(str(mount["mount_path"])),
                       container_fs.tree_of(extra, f"V.{mount['id']}")))
    return container_fs.Fs(mounts)


def _alive(call: Call, key: str) -> bool:
    kind, _, number = key.partition(".")
    tables = call.sb.world.tables
    if kind == "C":
        return int(number) in tables["instances"]
    if kind == "V":
        return int(number) in tables["volumes"] or number in netvolumes.rented(call.sb.world.extra)
    return True
