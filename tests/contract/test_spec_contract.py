"""Contract tests: every sandbox route that Vast.ai's published OpenAPI spec documents is called with
realistic data on a strict sandbox (so the request itself must conform), and its answer is validated
against the spec's response schema for that status.

To cover a new route, add a ``Case`` to ``CASES``: ``{name}`` in the path, a body or a query is
replaced by the id of that object in the world (see ``World.build``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.contract.world import FRESH_KEY, KEY, OTHER_PUBLIC_KEY, World, call
from vastsandbox.http.app import api_router
from vastsandbox.http.spec import vast_spec
from vastsandbox.server import start_in_thread

DAY = {"gte": "{now_minus_day}", "lte": "{now_plus_day}"}


@dataclass(frozen=True)
class Case:
    method: str
    path: str
    body: Any = None
    query: dict[str, Any] = field(default_factory=dict)
    status: int = 200
    key: str | None = KEY
    name: str = ""
    given: Callable[[World], None] | None = None  # what to do to the world first

    @property
    def id(self) -> str:
        return self.name or f"{self.method} {self.path}"


CASES = [
    # account
    Case("GET", "/api/v0/users/current/"),
    Case("GET", "/api/v0/users/current/", key=FRESH_KEY, name="show user, new account"),
    Case("GET", "/api/v0/users/current/", key="not-a-key", status=401, name="show user, refused key"),
    Case("GET", "/api/v0/ssh/", key=FRESH_KEY, name="show ssh keys, none"),
    Case("GET", "/api/v1/instances/", key=FRESH_KEY, query={"select_filters": {}, "limit": 1},
         name="show instances, none"),
    Case("GET", "/api/v0/ssh/"),
    Case("POST", "/api/v0/ssh/", body={"ssh_key": OTHER_PUBLIC_KEY}),
    Case("POST", "/api/v0/ssh/", body={"ssh_key": "/home/me/.ssh/id_ed25519.pub"}, status=400,
         name="create ssh key, not a public key"),
    Case("PUT", "/api/v0/ssh/{key}/", body={"ssh_key": OTHER_PUBLIC_KEY}),
    Case("DELETE", "/api/v0/ssh/{key}/"),
    # templates
    Case("GET", "/api/v0/template/", query={"select_filters": {"hash_id": {"eq": "{template_hash}"}},
                                             "select_cols": ["*"]}),
    Case("POST", "/api/v0/template/", body={"name": "second", "image": "nvidia/cuda", "tag": "12.4.1-base",
                                            "runtype": "args", "args_str": "python serve.py", "private": True}),
    Case("PUT", "/api/v0/template/", body={"hash_id": "{template_hash}", "name": "renamed",
                                           "image": "vastai/base-image", "desc": "edited",
                                           "recommended_disk_space": 16}),
    Case("PUT", "/api/v1/template/", body={"id": "{template_id}", "hash_id": "{template_hash}", "name": "v1 edit",
                                           "image": "vastai/base-image", "tag": "latest", "env": "-e MODE=prod",
                                           "onstart": None, "runtype": "ssh", "ssh_direct": True, "use_ssh": True,
                                           "extra_filters": {}, "recommended_disk_space": 12, "private": True}),
    Case("DELETE", "/api/v0/template/", body={"template_id": "{template_id}"}),
    Case("DELETE", "/api/v0/template/", body={"template_id": "{missing}"}, status=404,
         name="delete template, no such template"),
    # offers and renting
    Case("POST", "/api/v0/bundles/", body={"verified": {"eq": True}, "rentable": {"eq": True},
                                           "gpu_name": {"in": ["RTX 4090", "RTX 3090"]}, "num_gpus": {"gte": 1},
                                           "order": [["dph_total", "asc"]], "type": "bid", "limit": 5,
                                           "allocated_storage": 20}),
    Case("PUT", "/api/v0/asks/{offer}/", body={"image": "vastai/base-image:latest", "disk": 10.0, "label": "web",
                                               "runtype": "ssh_direct", "env": "-e A=1 -p 8000:8000",
                                               "onstart": "echo up", "target_state": "running"}),
    Case("PUT", "/api/v0/asks/{missing}/", body={"image": "vastai/base-image"}, status=404,
         name="create instance, no such offer"),
    # instances
    Case("GET", "/api/v1/instances/", query={"select_filters": {"label": {"eq": "contract-instance"}},
                                             "order_by": [{"col": "id", "dir": "asc"}], "limit": 25}),
    Case("GET", "/api/v1/instances/", query={"select_filters": {}, "limit": 25}, name="show instances, all"),
    Case("GET", "/api/v1/instances/", query={"select_filters": {"actual_status": {"eq": "stopped"}}},
         given=World.stop_instance, name="show instances, stopped"),
    Case("GET", "/api/v0/instances/{instance}/"),
    Case("GET", "/api/v0/instances/{args_instance}/", name="show instance launched with args"),
    Case("GET", "/api/v0/instances/{missing}/", name="show instance, no such instance"),
    Case("PUT", "/api/v0/instances/{instance}/", body={"label": "renamed"}),
    Case("PUT", "/api/v0/instances/{instance}/", body={"state": "stopped"}, name="stop instance"),
    Case("DELETE", "/api/v0/instances/{instance}/"),
    Case("DELETE", "/api/v0/instances/{missing}/", status=404, name="destroy instance, no such instance"),
    Case("PUT", "/api/v0/instances/reboot/{instance}/", body={}),
    Case("PUT", "/api/v0/instances/recycle/{instance}/", body={}),
    Case("PUT", "/api/v0/instances/reboot/{missing}/", body={}, status=400, name="reboot, no such instance"),
    Case("PUT", "/api/v0/instances/recycle/{missing}/", body={}, status=400, name="recycle, no such instance"),
    Case("PUT", "/api/v0/instances/bid_price/{instance}/", body={"client_id": "me", "price": 30.0}),
    Case("PUT", "/api/v0/instances/bid_price/{instance}/", body={"client_id": "me", "price": 0.001}, status=400,
         name="change bid, below the minimum bid"),
    Case("GET", "/api/v0/instances/{instance}/ssh/"),
    Case("POST", "/api/v0/instances/{instance}/ssh/", body={"ssh_key": OTHER_PUBLIC_KEY}),
    Case("DELETE", "/api/v0/instances/{instance}/ssh/{key}/"),
    # volumes
    Case("POST", "/api/v0/volumes/search/", body={"disk_space": {"gte": 5}, "order": [["storage_cost", "asc"]],
                                                  "limit": 10, "allocated_storage": 10}),
    Case("PUT", "/api/v0/volumes/", body={"id": "{volume_offer}", "size": 15}),
    Case("GET", "/api/v0/volumes/", query={"owner": "me", "type": "all_volume"}),
    Case("DELETE", "/api/v0/volumes/", query={"id": "{spare_volume}"}),
    Case("DELETE", "/api/v0/volumes/", query={"id": "{mounted_volume}"}, status=400,
         name="delete volume, in use by an instance"),
    # billing
    Case("GET", "/api/v0/charges/", query={"select_filters": {"day": DAY}, "latest_first": False, "limit": 100,
                                           "format": "table"}),
    Case("GET", "/api/v1/invoices/", query={"select_filters": {"when": DAY}, "latest_first": False,
                                            "limit": 100}),
    Case("PUT", "/api/v0/instances/prepay/{instance}/", body={"amount": 5.0}),
    Case("PUT", "/api/v0/instances/prepay/{instance}/", body={"amount": 5000.0}, status=411,
         name="prepay, more than the credit"),
    Case("GET", "/api/v0/instances/balance/{instance}/", query={"owner": "me"}, given=World.prepay),
    Case("GET", "/api/v0/instances/balance/{missing}/", query={"owner": "me"}, status=404,
         name="show deposit, no such instance"),
    # As `vastai show earnings` sends it: `me`, float days, `machid=null` without --machine_id.
    Case("GET", "/api/v0/users/me/machine-earnings", query={"owner": "me", "sday": "{today_minus_week}",
                                                            "eday": "{today}", "machid": None}),
    Case("GET", "/api/v0/users/{user}/machine-earnings/", query={"sday": 20000, "eday": 30000, "last_days": 30},
         name="show earnings, by user id"),
    # account extras
    Case("GET", "/api/v0/auth/apikeys/"),
    Case("GET", "/api/v0/machines", query={"owner": "me"}),
    Case("PUT", "/api/v0/users/", body={"fullname": "Ada Lovelace", "username": "ada",
                                        "billaddress_city": "London", "balance_threshold": "10"}),
    Case("PUT", "/api/v0/users/", body={"api_key": "a-new-key"}, status=400, name="set user, not a user field"),
    # account env vars (secrets)
    Case("GET", "/api/v0/secrets/", given=World.add_secret),
    Case("POST", "/api/v0/secrets/", body={"key": "api_token", "value": "abc123xyz"}),
    Case("POST", "/api/v0/secrets/", body={"key": "contract_token", "value": "other"}, given=World.add_secret,
         status=400, name="create env-var, existing key"),
    # PUT is the CLI's `update env-var` (api/auth.py:update_env_var), with create's body.
    Case("PUT", "/api/v0/secrets/", body={"key": "contract_token", "value": "new-value.2"}, given=World.add_secret),
    Case("DELETE", "/api/v0/secrets/", body={"key": "CONTRACT_TOKEN"}, given=World.add_secret),
    Case("DELETE", "/api/v0/secrets/", body={"key": "NO_SUCH_KEY"}, status=400, name="delete env-var, no such key"),
    # notification webhooks
    Case("GET", "/api/v0/notification-types"),
    Case("GET", "/api/v0/webhooks", given=World.add_webhook),
    Case("POST", "/api/v0/webhooks", body={"name": "Ops notifications", "webhook_url": "https://example.com/vast",
                                          "event_types": ["client:low_credit", "host:machine_offline"]}),
    Case("POST", "/api/v0/webhooks", body={"webhook_url": "https://example.com/vast", "event_types": ["nope"]},
         status=400, name="create webhook, unknown notification type"),
    Case("PUT", "/api/v0/webhooks/{webhook}", body={"event_types": ["client:outbid"]}, given=World.add_webhook),
    Case("PUT", "/api/v0/webhooks/{missing}", body={"name": "x"}, status=404, name="update webhook, no such webhook"),
    Case("DELETE", "/api/v0/webhooks/{webhook}", given=World.add_webhook),
    Case("DELETE", "/api/v0/webhooks/{missing}", status=404, name="delete webhook, no such webhook"),
    Case("POST", "/api/v0/webhooks/{webhook}/rotate-secret", given=World.add_webhook),
    Case("POST", "/api/v0/webhooks/{webhook}/test", given=World.add_webhook, status=400,
         name="test webhook, the sandbox delivers nothing"),
    # logs and commands on the running instance
    Case("PUT", "/api/v0/instances/request_logs/{instance}/", body={"tail": "100", "filter": "hello"}),
    Case("PUT", "/api/v0/instances/request_logs/{instance}/", body={"daemon_logs": "true"},
         name="logs, daemon logs"),
    Case("PUT", "/api/v0/instances/request_logs/{missing}/", body={}, status=404, name="logs, no such instance"),
    Case("PUT", "/api/v0/instances/command/{instance}/", body={"command": "du -d2 -h /root"}),
    Case("PUT", "/api/v0/instances/command/{instance}/", body={"command": "reboot"}, status=400,
         name="execute, not an allowed command"),
    # copying data
    Case("GET", "/api/v0/users/cloud_integrations/"),
    Case("PUT", "/api/v0/commands/copy_direct/", body={"client_id": "me", "src_id": "C.{instance}",
                                                       "dst_id": "V.{spare_volume}", "src_path": "/root/",
                                                       "dst_path": "/backup/"}),
    Case("PUT", "/api/v0/commands/copy_direct/", body={"client_id": "me", "src_id": "C.{instance}",
                                                       "dst_id": "V.{missing}", "src_path": "/root/",
                                                       "dst_path": "/backup/"},
         status=404, name="copy, no such volume"),
    Case("POST", "/api/v0/commands/rclone/", body={"src": "/root", "dst": "/backups", "instance_id": "{instance!s}",
                                                   "selected": "{connection!s}", "transfer": "Instance To Cloud",
                                                   "flags": ["--dry-run"]}),
    Case("POST", "/api/v0/commands/rclone/", body={"src": "/root", "dst": "/backups", "instance_id": "{instance!s}",
                                                   "selected": "{connection!s}", "transfer": "Sideways",
                                                   "flags": []}, status=400, name="cloud copy, no such transfer"),
    # serverless, as the official CLI sends it
    Case("GET", "/api/v0/endptjobs/"),
    Case("GET", "/api/v0/endptjobs/", key=FRESH_KEY, name="show endpoints, none"),
    Case("POST", "/api/v0/endptjobs/", body={"client_id": "me", "min_load": 10.0, "target_util": 0.8, "cold_mult": 2.0,
                                            "cold_workers": 1, "max_workers": 4, "endpoint_name": "second"}),
    Case("POST", "/api/v0/endptjobs/", body={"endpoint_name": "x", "target_util": 1.5}, status=400,
         name="create endpoint, target_util over 1"),
    Case("PUT", "/api/v0/endptjobs/{endpoint}/", body={"client_id": "me", "endptjob_id": "{endpoint}",
                                                      "max_workers": 8, "endpoint_name": "renamed"}),
    Case("PUT", "/api/v0/endptjobs/{missing}/", body={"max_workers": 8}, status=400,
         name="update endpoint, no such endpoint"),
    Case("DELETE", "/api/v0/endptjobs/{endpoint}/"),
    Case("DELETE", "/api/v0/endptjobs/{missing}/", status=400, name="delete endpoint, no such endpoint"),
    Case("GET", "/api/v0/workergroups/"),
    Case("POST", "/api/v0/workergroups/", body={"endpoint_id": "{endpoint}", "template_hash": "{template_hash}",
                                               "search_params": "gpu_ram>=24 num_gpus=1 verified=True",
                                               "launch_args": "--disk 64", "gpu_ram": 24, "test_workers": 1}),
    Case("POST", "/api/v0/workergroups/", body={"endpoint_name": "nowhere", "template_id": "{template_id}"},
         status=400, name="create workergroup, no such endpoint"),
    Case("PUT", "/api/v0/workergroups/{workergroup}/", body={"min_load": 5.0, "target_util": 0.7,
                                                            "launch_args": "--disk 80"}),
    Case("PUT", "/api/v0/workergroups/{missing}/", body={"min_load": 5.0}, status=400,
         name="update workergroup, no such workergroup"),
    Case("DELETE", "/api/v0/workergroups/{workergroup}/"),
    Case("DELETE", "/api/v0/workergroups/{missing}/", status=404, name="delete workergroup, no such workergroup"),
]


def fill(value: Any, ids: dict[str, Any]) -> Any:
    """Replace ``"{name}"`` by the world's id (keeping its type; ``{name!s}`` as text) in a path, body
    or query."""
    if isinstance(value, str):
        whole = re.fullmatch(r"\{(\w+)\}", value)
        if whole:
            return ids[whole.group(1)]
        return re.sub(r"\{(\w+)(?:!s)?\}", lambda m: str(ids[m.group(1)]), value)
    if isinstance(value, dict):
        return {k: fill(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [fill(v, ids) for v in value]
    return value


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    with start_in_thread(tmp_path / "data", api_key=KEY, boot_seconds=0.1, ssh_listeners=False,
                         strict=True) as sb:
        built = World(sb.url).build()
        now = built.ids["now"]
        built.ids.update(now_minus_day=now - 86400, now_plus_day=now + 86400,
                         today=now / 86400, today_minus_week=now / 86400 - 7)
        # An hour of running time, so that charges have something to show.
        assert call(sb.url, "POST", "/_sandbox/clock", body={"seconds": 3600}, key=None).status == 200
        yield built


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_the_answer_conforms_to_the_published_spec(world: World, case: Case) -> None:
    if case.given is not None:
        case.given(world)
    path = fill(case.path, world.ids)
    answer = call(world.base, case.method, path, body=fill(case.body, world.ids),
                  query=fill(case.query, world.ids) or None, key=case.key)
    assert answer.status == case.status, answer.body
    op = vast_spec().find(case.method, path)
    assert op is not None, f"{case.method} {path} is not in the spec"
    problems = vast_spec().response_problems(op, answer.status, answer.body)
    assert not problems, "\n".join(problems)


def documented_routes() -> set[str]:
    spec = vast_spec()
    return {r.key for r in api_router().routes if spec.find_template(r.method, r.template) is not None}


def test_every_documented_route_the_sandbox_serves_has_a_case() -> None:
    router = api_router()
    covered = set()
    for case in CASES:
        route, _, _ = router.match(case.method, re.sub(r"\{\w+\}", "1", case.path))
        assert route is not None, f"{case.id}: the sandbox serves no such route"
        covered.add(route.key)
    assert documented_routes() - covered == set()


def test_the_spec_documents_what_the_sandbox_is_judged_on() -> None:
    # Guards the matching itself: a spec that no longer loaded or matched would make the test above vacuous.
    assert len(documented_routes()) >= 25
    assert vast_spec().find("GET", "/api/v0/instances/12/").operation_id == "showInstance"  # type: ignore[union-attr]
    assert vast_spec().find("PUT", "/api/v0/instances/reboot/12").operation_id == "rebootInstance"  # type: ignore[union-attr]
    assert vast_spec().find("GET", "/api/v0/instances/filters/") is None


def test_a_strict_sandbox_refuses_a_request_that_breaks_the_spec(world: World) -> None:
    answer = call(world.base, "PUT", f"/api/v0/ssh/{world.ids['key']}/", body={"key": "no ssh_key field"})
    assert answer.status == 400
    assert answer.body["error"] == "invalid_args"
    assert "updateSshKey" in answer.body["msg"] and "'ssh_key' is a required property" in answer.body["msg"]
    charges = call(world.base, "GET", "/api/v0/charges/", query={"limit": "ten"})
    assert charges.status == 400
    assert "query.select_filters: required" in charges.body["msg"] and "query.limit: 'ten'" in charges.body["msg"]


def test_a_strict_sandbox_keeps_the_requests_it_refused() -> None:
    # What the suite's sandbox fixture checks on teardown, so a client that shrugs off a 400 still fails.
    with start_in_thread(None, api_key=KEY, ssh_listeners=False, strict=True) as sb:
        assert call(sb.url, "POST", "/api/v0/ssh/", body={"public_key": "ssh-ed25519 AAAA x"}).status == 400
        assert call(sb.url, "GET", "/api/v0/gpu_names/unique/").status == 200  # undocumented: not judged
        assert sb.sandbox.nonconforming == ["POST /api/v0/ssh/: body: 'ssh_key' is a required property"]
