"""`vastplan cost` on the sandbox: what it reports equals what the sandbox billed, within a cent."""

from __future__ import annotations

import asyncio
import json
import re
import time
import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest

import vastplan.cli.root
from tests.harness import CANARY_API_KEY, Workspace, admin, api_get
from vastplan.api.billing import charges
from vastplan.api.client import VastClient
from vastplan.api.credentials import ApiKey
from vastplan.cli.cost import register_cost_commands
from vastplan.commands.cost import share
from vastplan.errors import ApiError

CENT = 0.01


@pytest.fixture(autouse=True)
def cost_command() -> Iterator[None]:
    register_cost_commands(vastplan.cli.root.cli)  # a no-op once cli/root.py registers it itself
    yield


def stack(*, state: str = "running", helper: bool = False) -> str:
    extra = """
  helper:
    image: ubuntu
    tag: "22.04"
    offer: {num_gpus: 1}
    readiness: {timeout: 60s}
""" if helper else ""
    return f"""
version: 1
stack: costs
volumes:
  data: {{size_gb: 20}}
instances:
  worker:
    image: ubuntu
    tag: "22.04"
    offer: {{num_gpus: 1}}
    disk_gb: 20
    state: {state}
    volumes: [{{volume: data, mount: /data}}]
    readiness: {{timeout: 60s}}
{extra}"""


def billed(ws: Workspace) -> dict[tuple[str, int], float]:
    """What the sandbox itself says each object cost: (type, id) -> amount."""
    window = urllib.parse.quote('{"day":{"gte":0,"lte":4102444800}}')  # the spec requires select_filters
    rows = api_get(ws.api_url, f"/api/v0/charges/?select_filters={window}&limit=100", CANARY_API_KEY)["results"]
    return {(r["type"], r["metadata"][f"{r['type']}_id"]): r["amount"] for r in rows}


def cost_json(ws: Workspace, *args: str) -> dict[str, Any]:
    result = ws.vastplan("cost", "--json", *args)
    assert result.code == 0, result.text
    document: dict[str, Any] = json.loads(result.out)
    return document


def by_address(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["address"]: r for r in document["resources"]}


def ids(ws: Workspace) -> tuple[int, int]:
    resources = ws.state()["resources"]
    return resources["instances.worker"]["id"], resources["volumes.data"]["id"]


def test_cost_after_two_hours_is_what_the_sandbox_billed(workspace: Workspace) -> None:
    workspace.write(stack())
    assert workspace.vastplan("apply", "--auto-approve").code == 0
    admin(workspace, "POST", "/clock", {"seconds": 2 * 3600})

    document = cost_json(workspace)
    truth = billed(workspace)
    instance_id, volume_id = ids(workspace)
    lines = by_address(document)
    assert set(lines) == {"instances.worker", "volumes.data"}
    assert lines["instances.worker"]["accrued"] == pytest.approx(truth[("instance", instance_id)], abs=CENT)
    assert lines["volumes.data"]["accrued"] == pytest.approx(truth[("volume", volume_id)], abs=CENT)
    assert document["total"]["accrued"] == pytest.approx(sum(truth.values()), abs=CENT)
    assert document["other_charges"] == 0
    for line in lines.values():
        assert line["hours"] == pytest.approx(2.0, abs=0.02)
        assert line["status"] in ("running", "live") and line["in_state"] is True
        # two hours at the live rate is what was billed (the instance ran all along)
        assert line["accrued"] == pytest.approx(2 * line["dph"], abs=CENT)
        assert line["projected_per_day"] == pytest.approx(24 * line["dph"], abs=5e-5)
    assert document["total"]["dph"] == pytest.approx(sum(r["dph"] for r in lines.values()), abs=1e-5)

    human = workspace.vastplan("cost")
    assert human.code == 0, human.text
    total = re.search(r"^Total\s+([\d.]+)\s+\$([\d.]+)\s+\$([\d.]+)\s+\$([\d.]+)$", human.out, re.M)
    assert total, human.out
    assert float(total[2]) == pytest.approx(sum(truth.values()), abs=CENT)
    assert float(total[3]) == pytest.approx(document["total"]["dph"], abs=0.001)
    assert re.search(rf"^instances\.worker\s+{instance_id}\s+running\s+2\.0\d\s+\$", human.out, re.M), human.out
    assert 'Cost of stack "costs" from ' in human.out and "(2.0 h)" in human.out


def test_json_document_shape(workspace: Workspace) -> None:
    workspace.write(stack())
    assert workspace.vastplan("apply", "--auto-approve").code == 0
    document = cost_json(workspace, "--since", "2020-01-01")
    assert set(document) == {"format_version", "stack", "since", "until", "since_epoch", "until_epoch",
                             "currency", "resources", "total", "other_charges", "notes"}
    assert document["format_version"] == "1.0" and document["stack"] == "costs" and document["currency"] == "USD"
    assert document["since"] == "2020-01-01T00:00:00Z"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", document["until"])
    fields = {"address", "kind", "id", "status", "in_state", "hours", "billed", "unbilled_estimate", "accrued",
              "dph", "projected_per_day"}
    assert all(set(r) == fields for r in document["resources"])
    assert set(document["total"]) == fields - {"address", "kind", "id", "status", "in_state"}
    assert [r["kind"] for r in document["resources"]] == ["instance", "volume"]


def stopped(ws: Workspace, instance_id: int) -> dict[str, Any]:
    """The instance's row once the sandbox has finished stopping it (a fraction of boot_seconds)."""
    deadline = time.monotonic() + 10
    while True:
        row: dict[str, Any] = api_get(ws.api_url, f"/api/v0/instances/{instance_id}/?owner=me",
                                      CANARY_API_KEY)["instances"]
        if row["actual_status"] == "stopped" or time.monotonic() > deadline:
            assert row["actual_status"] == "stopped"
            return row
        time.sleep(0.05)


def test_a_stopped_instance_costs_its_storage_rate(workspace: Workspace) -> None:
    workspace.write(stack())
    assert workspace.vastplan("apply", "--auto-approve").code == 0
    workspace.write(stack(state="stopped"))
    assert workspace.vastplan("apply", "--auto-approve").code == 0
    instance_id, _ = ids(workspace)
    row = stopped(workspace, instance_id)
    storage_rate = row["storage_total_cost"]
    assert 0 < storage_rate < row["dph_total"]

    before = by_address(cost_json(workspace))["instances.worker"]
    assert before["status"] == "stopped"
    assert before["dph"] == pytest.approx(storage_rate, abs=1e-6)
    assert before["projected_per_day"] == pytest.approx(24 * storage_rate, abs=1e-5)
    admin(workspace, "POST", "/clock", {"seconds": 3600})
    after = by_address(cost_json(workspace))["instances.worker"]
    assert after["accrued"] - before["accrued"] == pytest.approx(storage_rate, abs=0.001)
    assert after["accrued"] == pytest.approx(billed(workspace)[("instance", instance_id)], abs=CENT)


def test_an_object_destroyed_since_is_still_counted_by_its_marker(workspace: Workspace) -> None:
    workspace.write(stack(helper=True))
    assert workspace.vastplan("apply", "--auto-approve").code == 0
    helper_id = workspace.state()["resources"]["instances.helper"]["id"]
    admin(workspace, "POST", "/clock", {"seconds": 3600})
    workspace.write(stack())
    assert workspace.vastplan("apply", "--auto-approve").code == 0
    assert "instances.helper" not in workspace.state()["resources"]

    document = cost_json(workspace)
    gone = [r for r in document["resources"] if not r["in_state"]]
    assert [(r["address"], r["id"], r["status"], r["dph"]) for r in gone] == [
        ("instances.helper", helper_id, "gone", 0)]
    assert gone[0]["accrued"] == pytest.approx(billed(workspace)[("instance", helper_id)], abs=CENT)
    assert gone[0]["hours"] == pytest.approx(1.0, abs=0.02)
    assert document["total"]["accrued"] == pytest.approx(sum(billed(workspace).values()), abs=CENT)
    human = workspace.vastplan("cost")
    assert re.search(rf"^instances\.helper \(not in state\)\s+{helper_id}\s+gone\s", human.out, re.M), human.out


def test_cost_without_state_says_so_and_fails(workspace: Workspace) -> None:
    result = workspace.vastplan("cost")
    assert result.code == 1
    assert result.out == ""
    assert result.err.startswith("error: there is no state at ") and "stack.vpstate.json" in result.err
    assert "apply the stack first" in result.err

    as_json = workspace.vastplan("cost", "--json")
    assert as_json.code == 1
    events = [json.loads(line) for line in as_json.out.splitlines()]
    assert events[-1]["type"] == "diagnostic" and "no state" in events[-1]["@message"]


def test_a_bad_since_is_a_usage_error(workspace: Workspace) -> None:
    workspace.write(stack())
    assert workspace.vastplan("apply", "--auto-approve").code == 0
    for bad, says in (("yesterday", "not a date"), ("2999-01-01", "in the future")):
        result = workspace.vastplan("cost", "--since", bad)
        assert result.code == 1 and says in result.err, result.text


def test_a_charge_straddling_since_counts_pro_rata() -> None:
    row = {"start": 1000.0, "end": 1000.0 + 4 * 3600, "amount": 4.0}
    assert share(row, 1000.0 + 3600, 0) == (3.0, 3.0)
    assert share(row, 0.0, 0) == (4.0, 4.0)
    assert share(row, 1000.0 + 5 * 3600, 0) == (0.0, 0.0)
    assert share({"start": 1000.0, "end": None, "amount": 1.0}, 0.0, 1000.0 + 1800) == (0.5, 1.0)


class FakeClient(VastClient):
    """Answers billing pages from a list, recording every query."""

    def __init__(self, pages: list[Any]):
        super().__init__("http://127.0.0.1:9", ApiKey("k", "test"))
        self.pages = pages
        self.sent: list[tuple[str, str, dict[str, Any]]] = []

    async def call(self, method: str, path: str, *, query: dict[str, Any] | None = None,
                   body: dict[str, Any] | None = None, idempotent: bool = True) -> Any:
        self.sent.append((method, path, dict(query or {})))
        return self.pages.pop(0)


ROW = {"start": 10, "end": 20, "type": "instance", "source": "instance", "description": "", "amount": 0.5,
       "metadata": {"instance_id": 1}, "items": []}


def test_charges_sends_the_official_query_and_follows_next_token() -> None:
    client = FakeClient([{"success": True, "results": [ROW], "next_token": "1"},
                         {"success": True, "results": [{**ROW, "amount": "0.25"}], "next_token": None}])
    rows = asyncio.run(charges(client, 100.4, 200.2))
    assert [r["amount"] for r in rows] == [0.5, 0.25]
    first, second = client.sent
    assert first == ("GET", "/api/v0/charges/", {"select_filters": {"day": {"gte": 100, "lte": 201}},
                                                 "latest_first": False, "limit": 100, "format": "table"})
    assert second[2] == {**first[2], "after_token": "1"}
    assert str(client.url_for(first[1], first[2])).endswith(
        "/api/v0/charges/?select_filters=%7B%22day%22%3A+%7B%22gte%22%3A+100%2C+%22lte%22%3A+201%7D%7D"
        "&latest_first=false&limit=100&format=table")


@pytest.mark.parametrize("page", [
    [ROW],
    {"success": True},
    {"results": ["x"]},
    {"results": [{**ROW, "amount": None}]},
    {"results": [{**ROW, "start": "soon"}]},
    {"results": [{**ROW, "end": 5}]},
    {"results": [{**ROW, "metadata": "x"}]},
    {"results": [ROW], "next_token": {"a": 1}},
])
def test_malformed_billing_answers_fail_closed(page: Any) -> None:
    client = FakeClient([page, page])
    with pytest.raises(ApiError, match="billing answer"):
        asyncio.run(charges(client, 0, 1))


def test_a_next_token_that_does_not_advance_fails_closed() -> None:
    client = FakeClient([{"results": [ROW], "next_token": "7"}, {"results": [ROW], "next_token": "7"}])
    with pytest.raises(ApiError, match="does not advance"):
        asyncio.run(charges(client, 0, 1))


def test_charges_pages_through_the_sandbox(workspace: Workspace) -> None:
    workspace.write(stack(helper=True))
    assert workspace.vastplan("apply", "--auto-approve").code == 0

    async def read() -> list[dict[str, Any]]:
        async with VastClient(workspace.api_url, ApiKey(CANARY_API_KEY, "test")) as client:
            return await charges(client, 0, 4e9, limit=1)

    rows = asyncio.run(read())
    assert sorted(r["type"] for r in rows) == ["instance", "instance", "volume"]
    counters = admin(workspace, "GET", "/counters")
    assert counters["routes"]["GET /api/v0/charges/"] == 3
