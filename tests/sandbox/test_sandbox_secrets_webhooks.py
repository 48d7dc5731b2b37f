"""Account env vars (``/api/v0/secrets/``) and notification webhooks (``/api/v0/webhooks/``): shapes,
errors, per-user limits, each account seeing only its own, and env var values never on disk in clear."""

from __future__ import annotations

from pathlib import Path

from conftest import OTHER_KEY, Api

from vastsandbox.server import RunningSandbox, start_in_thread

VALUE = "sealed-value.123"
HOOK = {"name": "ops", "webhook_url": "https://example.com/hook", "event_types": ["client:low_credit"]}


def test_env_vars_upper_case_keys_list_values_and_refuse_what_the_spec_refuses(api: Api) -> None:
    assert api.post("/api/v0/secrets/", {"key": "hf_token", "value": VALUE}).json == {
        "success": True, "msg": "Environment variable added successfully"}
    assert api.get("/api/v0/secrets/").json == {"success": True, "secrets": {"HF_TOKEN": VALUE}}
    again = api.post("/api/v0/secrets/", {"key": "HF_TOKEN", "value": "x"})
    assert (again.status, again.json["error"]) == (400, "existing_key")
    missing = api.post("/api/v0/secrets/", {"key": "A"})
    assert (missing.status, missing.json["error"]) == (400, "missing_input")
    bad = api.post("/api/v0/secrets/", {"key": "B", "value": "has space/slash"})
    assert (bad.status, bad.json["error"]) == (400, "invalid_characters") and "space" not in bad.json["msg"]

    assert api.put("/api/v0/secrets/", {"key": "hf_token", "value": "new.value"}).status == 200
    assert api.get("/api/v0/secrets/").json["secrets"] == {"HF_TOKEN": "new.value"}
    nope = api.put("/api/v0/secrets/", {"key": "NOPE", "value": "v"})
    assert (nope.status, nope.json["error"]) == (400, "nonexistent_key")
    assert Api(api.base, OTHER_KEY).get("/api/v0/secrets/").json["secrets"] == {}

    assert api.delete("/api/v0/secrets/", {"key": "hf_token"}).status == 200
    gone = api.delete("/api/v0/secrets/", {"key": "hf_token"})
    assert (gone.status, gone.json["error"]) == (400, "nonexistent_key")


def test_an_account_holds_at_most_100_env_vars(api: Api) -> None:
    for i in range(100):
        assert api.post("/api/v0/secrets/", {"key": f"K{i}", "value": "v"}).status == 200
    over = api.post("/api/v0/secrets/", {"key": "ONE_MORE", "value": "v"})
    assert (over.status, over.json["error"]) == (400, "max_secrets")


def test_env_var_values_are_sealed_in_the_data_file_and_survive_a_restart(tmp_path: Path) -> None:
    with start_in_thread(tmp_path / "data") as first:
        assert Api(first.url).post("/api/v0/secrets/", {"key": "T", "value": VALUE}).status == 200
    assert VALUE.encode() not in (tmp_path / "data" / "sandbox.json").read_bytes()
    with start_in_thread(tmp_path / "data") as second:
        assert Api(second.url).get("/api/v0/secrets/").json["secrets"] == {"T": VALUE}


def test_webhooks_answer_the_signing_secret_only_at_create_and_rotate(api: Api) -> None:
    made = api.post("/api/v0/webhooks/", HOOK).json
    hook = made["webhook"]
    assert made["enabled_notification_preferences"] == ["client:low_credit"]
    assert {"id", "user_id", "name", "webhook_url", "event_types", "created_at", "updated_at"} <= set(hook)
    secret = hook["webhook_secret"]
    listed = api.get("/api/v0/webhooks/").json["webhooks"]
    assert [row["id"] for row in listed] == [hook["id"]] and "webhook_secret" not in listed[0]

    changed = api.put(f"/api/v0/webhooks/{hook['id']}/", {"event_types": ["client:outbid"]}).json["webhook"]
    assert changed["event_types"] == ["client:outbid"] and changed["name"] == "ops" and "webhook_secret" not in changed
    rotated = api.post(f"/api/v0/webhooks/{hook['id']}/rotate-secret/").json["webhook"]["webhook_secret"]
    assert rotated and rotated != secret

    other = Api(api.base, OTHER_KEY)
    assert other.get("/api/v0/webhooks/").json["webhooks"] == []
    assert other.delete(f"/api/v0/webhooks/{hook['id']}/").status == 404
    assert api.delete(f"/api/v0/webhooks/{hook['id']}/").json == {"success": True}
    assert api.get("/api/v0/webhooks/").json["webhooks"] == []


def test_webhooks_refuse_bad_input_and_more_than_20(api: Api, sb: RunningSandbox) -> None:
    for body, words in (({**HOOK, "webhook_url": "ftp://x"}, "webhook_url"),
                        ({**HOOK, "event_types": []}, "event_types"),
                        ({**HOOK, "event_types": ["client:nope"]}, "client:nope"),
                        ({**HOOK, "name": "n" * 121}, "name")):
        refused = api.post("/api/v0/webhooks/", body)
        assert refused.status == 400 and words in refused.json["msg"], refused.json
    types = {t["key"] for t in api.get("/api/v0/notification-types").json["notification_types"]}
    assert {"client:low_credit", "client:outbid", "host:machine_offline"} <= types
    for _ in range(20):
        assert api.post("/api/v0/webhooks/", HOOK).status == 200
    over = api.post("/api/v0/webhooks/", HOOK)
    assert (over.status, over.json["error"]) == (400, "max_webhooks")
