"""A small, real account in a strict sandbox for the contract tests: an SSH key, a template, a volume
and a running instance that mounts a second volume, all made through the API as a client would."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Any

KEY = "contract-test-key"
FRESH_KEY = "contract-test-key-new-account"  # a second account that owns nothing
PUBLIC_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKq8contract0key0one contract@test"
OTHER_PUBLIC_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKq8contract0key0two contract@test"


@dataclass
class Answer:
    status: int
    body: Any


def call(base: str, method: str, path: str, *, body: Any = None, query: dict[str, Any] | None = None,
         key: str | None = KEY) -> Answer:
    """One request as the official CLI sends it: query values JSON-encoded unless they are text,
    a JSON body when there is one, the key as a bearer token."""
    url = base + path
    if query:
        url += "?" + "&".join(f"{k}={urllib.parse.quote_plus(v if isinstance(v, str) else json.dumps(v))}"
                              for k, v in query.items())
    data = None if body is None else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"} if data is not None else {}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return Answer(resp.status, json.loads(resp.read()))
    except urllib.error.HTTPError as err:
        return Answer(err.code, json.loads(err.read()))


@dataclass
class World:
    """Ids of the objects a case may name as ``{placeholder}``."""

    base: str
    ids: dict[str, Any] = field(default_factory=dict)

    def ok(self, method: str, path: str, **kw: Any) -> Any:
        answer = call(self.base, method, path, **kw)
        assert answer.status == 200, (method, path, answer.status, answer.body)
        return answer.body

    def build(self) -> World:
        self.ok("POST", "/_sandbox/keys", body={"api_key": FRESH_KEY}, key=None)
        user = self.ok("GET", "/api/v0/users/current/")
        key = self.ok("POST", "/api/v0/ssh/", body={"ssh_key": PUBLIC_KEY})["key"]
        template = self.ok("POST", "/api/v0/template/", body={
            "name": "contract-template", "image": "vastai/base-image", "tag": "latest",
            "env": "-e MODE=test -p 8080:8080", "onstart": "echo hello", "runtype": "ssh", "ssh_direct": True,
            "use_ssh": True, "recommended_disk_space": 12, "private": True, "desc": "contract tests"})["template"]
        offers = self.ok("POST", "/api/v0/bundles/", body={
            "verified": {"eq": True}, "rentable": {"eq": True}, "rented": {"eq": False},
            "num_gpus": {"eq": 1}, "order": [["dph_total", "asc"]], "type": "ondemand", "limit": 10,
            "allocated_storage": 12})["offers"]
        serving = self.ok("POST", "/api/v0/template/", body={
            "name": "contract-args", "image": "vllm/vllm-openai", "tag": "latest", "runtype": "args",
            "args_str": "--model facebook/opt-125m --port 8000", "env": "-p 8000:8000", "private": True})["template"]
        first, second, third = offers[0], offers[-1], offers[-2]
        volume_offer = first["avail_vol_ask_id"]
        spare = self.ok("PUT", "/api/v0/volumes/", body={"id": volume_offer, "size": 5, "name": "spare"})
        instance = self.ok("PUT", f"/api/v0/asks/{first['id']}/", body={
            "client_id": "me", "template_hash_id": template["hash_id"], "label": "contract-instance",
            "disk": 12.0, "env": "-e EXTRA=1", "cancel_unavail": True, "target_state": "running",
            "volume_info": {"create_new": True, "volume_id": volume_offer, "size": 10, "mount_path": "/data"}})
        with_args = self.ok("PUT", f"/api/v0/asks/{third['id']}/", body={
            "client_id": "me", "template_hash_id": serving["hash_id"], "label": "contract-args"})
        self.ids.update(args_instance=with_args["new_contract"], user=user["id"], key=key["id"],
                        template_id=template["id"],
                        template_hash=template["hash_id"], instance=instance["new_contract"],
                        volume_offer=volume_offer, spare_volume=spare["volume_id"], offer=second["id"],
                        machine=first["machine_id"], now=int(time.time()), missing=999999,
                        connection=self.ok("GET", "/api/v0/users/cloud_integrations/")[0]["id"])
        endpoint = self.ok("POST", "/api/v0/endptjobs/", body={"endpoint_name": "contract-endpoint"})["result"]
        workergroup = self.ok("POST", "/api/v0/workergroups/", body={
            "endpoint_id": endpoint, "template_id": template["id"], "search_params": "num_gpus=1"})["id"]
        self.ids.update(endpoint=endpoint, workergroup=workergroup)
        self._wait_running()
        return self

    def _wait_running(self) -> None:
        shown = self._wait_for("running")
        self.ids["mounted_volume"] = shown["volume_info"][0]["id"]

    def prepay(self) -> None:
        self.ok("PUT", f"/api/v0/instances/prepay/{self.ids['instance']}/", body={"amount": 20.0})
        assert call(self.base, "POST", "/_sandbox/clock", body={"seconds": 3600}, key=None).status == 200

    def add_secret(self) -> None:
        self.ok("POST", "/api/v0/secrets/", body={"key": "contract_token", "value": "abc123xyz"})

    def add_webhook(self) -> None:
        made = self.ok("POST", "/api/v0/webhooks/", body={"name": "contract", "webhook_url": "https://example.com/h",
                                                          "event_types": ["client:low_credit"]})
        self.ids["webhook"] = made["webhook"]["id"]

    def stop_instance(self) -> None:
        self.ok("PUT", f"/api/v0/instances/{self.ids['instance']}/", body={"state": "stopped"})
        self._wait_for("stopped")

    def _wait_for(self, status: str) -> Any:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            shown = self.ok("GET", f"/api/v0/instances/{self.ids['instance']}/")["instances"]
            if shown["actual_status"] == status:
                return shown
            time.sleep(0.05)
        raise AssertionError(f"the contract instance never reached {status}")
