"""Templates: search with select_filters, create, edit (new hash, same id), delete."""

from __future__ import annotations

import re
from typing import Any

from conftest import Api

CLI_BODY: dict[str, Any] = {
    "name": "t1", "image": "vastai/pytorch", "tag": "latest", "href": None, "repo": None,
    "env": "-p 8080:8080 -e K=V", "onstart": "echo hi", "jup_direct": False, "ssh_direct": True,
    "use_jupyter_lab": False, "runtype": "ssh", "use_ssh": True, "jupyter_dir": None,
    "docker_login_repo": None,
    "extra_filters": {"verified": {"eq": True}, "external": {"eq": False}, "rentable": {"eq": True}},
    "recommended_disk_space": "20", "readme": None, "readme_visible": True, "desc": None, "private": True,
}


def mine(api: Api, **filters: Any) -> list[dict[str, Any]]:
    uid = api.get("/api/v0/users/current").json["id"]
    select = {"creator_id": {"eq": uid}, **{k: {"eq": v} for k, v in filters.items()}}
    answer = api.get("/api/v0/template/", query={"select_cols": ["*"], "select_filters": select})
    assert answer.status == 200
    body = answer.json
    assert body["success"] is True and body["templates_found"] == len(body["templates"])
    rows: list[dict[str, Any]] = body["templates"]
    return rows


def test_create_returns_the_template_with_id_and_hash(api: Api) -> None:
    answer = api.post("/api/v0/template/", CLI_BODY)
    assert answer.status == 200
    body = answer.json
    template = body["template"]
    assert body["msg"] == f"Template Created Successfully! New Template ID: {template['id']}"
    assert re.fullmatch(r"[0-9a-f]{32}", template["hash_id"])
    assert template["recommended_disk_space"] == 20.0
    assert template["env"] == "-p 8080:8080 -e K=V"
    assert template["creator_id"] == api.get("/api/v0/users/current").json["id"]


def test_name_is_required(api: Api) -> None:
    for name in (None, ""):
        answer = api.post("/api/v0/template/", {**CLI_BODY, "name": name})
        assert answer.status == 400
        assert answer.json == {"success": False, "error": "invalid_args", "msg": "Template name is required"}


def test_env_dict_is_stored_as_docker_flags(api: Api) -> None:
    template = api.post("/api/v0/template/", {**CLI_BODY, "env": {"-p 8000:8000": "1", "HF": "x"}}).json
    assert template["template"]["env"] == "-p 8000:8000 -e HF=x"


def test_search_filters_and_columns(api: Api) -> None:
    api.post("/api/v0/template/", CLI_BODY)
    api.post("/api/v0/template/", {**CLI_BODY, "name": "t2", "recommended_disk_space": "50"})
    assert [t["name"] for t in mine(api)] == ["t1", "t2"]
    assert [t["name"] for t in mine(api, name="t2")] == ["t2"]
    big = api.get("/api/v0/template/", query={
        "select_filters": {"recommended_disk_space": {"gt": "30"}, "name": {"in": ["t1", "t2"]}},
        "select_cols": ["id", "name", "nonexistent"]}).json["templates"]
    assert len(big) == 1
    assert set(big[0]) == {"id", "name", "nonexistent"} and big[0]["nonexistent"] is None


def test_private_templates_are_visible_only_to_their_creator(api: Api) -> None:
    api.post("/api/v0/template/", CLI_BODY)
    api.post("/api/v0/template/", {**CLI_BODY, "name": "shared", "private": False})
    other = Api(api.base, key="other-user")
    seen = {t["name"] for t in other.get("/api/v0/template/").json["templates"]}
    assert "shared" in seen and "t1" not in seen


def test_edit_keeps_id_and_changes_hash_on_both_versions(api: Api) -> None:
    created = api.post("/api/v0/template/", CLI_BODY).json["template"]
    first = api.put("/api/v1/template/", {**CLI_BODY, "id": created["id"], "hash_id": created["hash_id"],
                                          "image": "vastai/pytorch2"})
    assert first.status == 200
    edited = first.json["template"]
    assert edited["id"] == created["id"] and edited["hash_id"] != created["hash_id"]
    assert edited["image"] == "vastai/pytorch2"
    # The docs' v0 form: hash plus only the changed fields; even an unchanged value re-hashes.
    second = api.put("/api/v0/template/", {"hash_id": edited["hash_id"], "onstart": "echo hi"})
    assert second.status == 200
    again = second.json["template"]
    assert again["id"] == created["id"] and again["hash_id"] not in (created["hash_id"], edited["hash_id"])
    assert again["image"] == "vastai/pytorch2"
    assert [t["hash_id"] for t in mine(api)] == [again["hash_id"]]


def test_edit_or_delete_of_a_missing_template_is_404(api: Api) -> None:
    assert api.put("/api/v1/template/", {"id": 1, "name": "x"}).status == 404
    assert api.put("/api/v0/template/", {"hash_id": "0" * 32, "name": "x"}).status == 404
    assert api.delete("/api/v0/template/", {"template_id": 999999}).status == 404
    assert api.delete("/api/v0/template/", {"hash_id": "f" * 32}).status == 404


def test_delete_by_id_or_by_hash(api: Api) -> None:
    one = api.post("/api/v0/template/", CLI_BODY).json["template"]
    two = api.post("/api/v0/template/", {**CLI_BODY, "name": "t2"}).json["template"]
    assert api.delete("/api/v0/template/", {"template_id": one["id"]}).json["success"] is True
    assert api.delete("/api/v0/template/", {"hash_id": two["hash_id"]}).json["success"] is True
    assert mine(api) == []


def test_others_cannot_delete_my_public_template(api: Api) -> None:
    shared = api.post("/api/v0/template/", {**CLI_BODY, "private": False}).json["template"]
    other = Api(api.base, key="other-user")
    assert other.delete("/api/v0/template/", {"template_id": shared["id"]}).status == 404
    assert len(mine(api)) == 1
