"""Current user and account SSH keys, with the shapes vast-api.md records."""

from __future__ import annotations

from conftest import Api

ED = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB3J me@host"
RSA = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQAB other@host"


def test_current_user_has_the_fields_clients_read(api: Api) -> None:
    user = api.get("/api/v0/users/current").json
    for field in ("id", "email", "balance", "credit", "username", "host_agreement_accepted", "ssh_key"):
        assert field in user
    assert user["host_agreement_accepted"] is False
    assert "api_key" not in user


def test_ssh_key_create_list_update_delete(api: Api) -> None:
    created = api.post("/api/v0/ssh/", {"ssh_key": ED})
    assert created.status == 200
    body = created.json
    assert body["success"] is True
    record = body["key"]
    assert record["public_key"] == ED and "key" not in record
    assert set(record) == {"id", "user_id", "public_key", "created_at", "deleted_at"}

    listed = api.get("/api/v0/ssh/").json
    assert isinstance(listed, list)
    assert listed == [{"id": record["id"], "user_id": record["user_id"], "key": ED,
                       "created_at": record["created_at"], "deleted_at": None}]

    updated = api.put(f"/api/v0/ssh/{record['id']}/", {"id": record["id"], "ssh_key": RSA})
    assert updated.status == 200 and updated.json["key"]["public_key"] == RSA
    assert api.get("/api/v0/ssh/").json[0]["key"] == RSA
    assert api.get("/api/v0/users/current").json["ssh_key"] == RSA

    assert api.delete(f"/api/v0/ssh/{record['id']}/").json == {"success": True}
    assert api.get("/api/v0/ssh/").json == []


def test_empty_key_is_no_ssh_key(api: Api) -> None:
    for body in ({}, {"ssh_key": ""}, {"ssh_key": "   "}):
        answer = api.post("/api/v0/ssh/", body)
        assert answer.status == 400
        assert answer.json == {"success": False, "error": "no_ssh_key", "msg": "No ssh key provided"}


def test_text_that_is_not_a_public_key_is_refused(api: Api) -> None:
    answer = api.post("/api/v0/ssh/", {"ssh_key": "/home/me/.ssh/id_ed25519.pub"})
    assert answer.status == 400 and answer.json["error"] == "no_ssh_key"
    assert answer.json["msg"] == "Invalid ssh key: expected an OpenSSH public key."


def test_deleting_a_missing_key_is_no_ssh_key(api: Api) -> None:
    answer = api.delete("/api/v0/ssh/424242/")
    assert answer.status == 400 and answer.json["error"] == "no_ssh_key"


def test_keys_of_another_account_cannot_be_touched(api: Api) -> None:
    key_id = api.post("/api/v0/ssh/", {"ssh_key": ED}).json["key"]["id"]
    other = Api(api.base, key="intruder")
    assert other.put(f"/api/v0/ssh/{key_id}/", {"ssh_key": RSA}).status == 404
    assert other.delete(f"/api/v0/ssh/{key_id}/").status == 400
    assert api.get("/api/v0/ssh/").json[0]["key"] == ED
