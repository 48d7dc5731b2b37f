"""Serverless endpoints (``/endptjobs/``) and worker groups, at both of the paths clients use for
them: the spec's and the SDK's ``/workergroups/``, and the official CLI's ``/autojobs/`` (see
docs/sandbox.md). The rules are ``vastsandbox.world.serverless``."""

from __future__ import annotations

from vastsandbox.http.router import Call, Reply, Route
from vastsandbox.world import serverless
from vastsandbox.world.serverless import ENDPOINTS, GROUPS


def _shown_endpoint(record: serverless.Record) -> serverless.Record:
    return dict(record)


def list_endpoints(call: Call) -> Reply:
    return Reply({"success": True, "results": [_shown_endpoint(r) for r in serverless.owned(call, ENDPOINTS)]})


def show_endpoint(call: Call) -> Reply:
    record = serverless.find(call, ENDPOINTS, call.param_int("id"))
    if record is None:
        return Reply({"success": False, "error": "invalid_args", "msg": "Endpointgroup not found for user"}, 400)
    return Reply({"success": True, "result": _shown_endpoint(record)})


def create_endpoint(call: Call) -> Reply:
    record = serverless.create_endpoint(call, call.body_dict())
    call.sb.changed()
    return Reply({"success": True, "result": record["id"]})


def update_endpoint(call: Call) -> Reply:
    serverless.update_endpoint(call, call.param_int("id"), call.body_dict())
    call.sb.changed()
    return Reply({"success": True})


def delete_endpoint(call: Call) -> Reply:
    groups = serverless.delete_endpoint(call, call.param_int("id"))
    call.sb.changed()
    return Reply({"success": True, "deleted_workers": [], "failed_workers": [],
                  "msg": f"Deleted endpoint job, {len(groups)} workergroups and 0 workers"})


def list_groups(call: Call) -> Reply:
    return Reply({"success": True, "results": [serverless.show_group(call, r) for r in serverless.owned(call, GROUPS)]})


def create_group(call: Call) -> Reply:
    record = serverless.create_group(call, call.body_dict())
    call.sb.changed()
    return Reply({"success": True, "id": record["id"]})


def update_group(call: Call) -> Reply:
    serverless.update_group(call, call.param_int("id"), call.body_dict())
    call.sb.changed()
    return Reply({"success": True})


def delete_group(call: Call) -> Reply:
    serverless.delete_group(call, call.param_int("id"))
    call.sb.changed()
    return Reply({"success": True, "deleted_workers": [], "failed_workers": [],
                  "msg": "Deleted workergroup and 0 workers"})


ROUTES = [
    Route("GET", "/api/v0/endptjobs/", list_endpoints),
    Route("POST", "/api/v0/endptjobs/", create_endpoint),
    Route("GET", "/api/v0/endptjobs/{id}/", show_endpoint),
    Route("PUT", "/api/v0/endptjobs/{id}/", update_endpoint),
    Route("DELETE", "/api/v0/endptjobs/{id}/", delete_endpoint),
]
for _path in ("/api/v0/workergroups/", "/api/v0/autojobs/"):
    ROUTES += [
        Route("GET", _path, list_groups),
        Route("POST", _path, create_group),
        Route("PUT", _path + "{id}/", update_group),
        Route("DELETE", _path + "{id}/", delete_group),
    ]
