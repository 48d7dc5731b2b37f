"""Logs and execute over plain HTTP: a result URL that is 404 until uploaded, the log told from
the instance's history, and the constrained command set."""

from __future__ import annotations

import urllib.error
import urllib.request

from conftest import OTHER_KEY, Api, cheapest, fetch, rent, running


def test_logs_url_is_missing_at_first_then_holds_the_container_log(api: Api) -> None:
    instance_id = running(api, onstart="echo one; echo 'two words'\npip install x")
    answer = api.put(f"/api/v0/instances/request_logs/{instance_id}/", {})
    assert answer.status == 200 and answer.json["success"] is True
    url = answer.json["result_url"]
    assert url.startswith(api.base + "/vast-results/") and url.endswith(".log")
    try:
        urllib.request.urlopen(url, timeout=5)
        raise AssertionError("the result was there before it was uploaded")
    except urllib.error.HTTPError as err:
        assert err.code == 404
    status, content_type, text = fetch(url)
    assert status == 200 and content_type.startswith("text/plain")
    lines = text.splitlines()
    assert lines[-4:] == ["+ bash /root/onstart.sh", "one", "two words", "+ pip install x"]
    assert "== pytorch/pytorch:latest ==" in lines and "Environment: KEY" in lines
    assert "VAL" not in text  # env values stay out of the log


def test_logs_tail_filter_and_daemon_logs(api: Api) -> None:
    instance_id = running(api)
    path = f"/api/v0/instances/request_logs/{instance_id}/"
    tail = fetch(api.put(path, {"tail": "2"}).json["result_url"])[2]
    assert tail.splitlines() == ["+ bash /root/onstart.sh", "hi"]
    grep = fetch(api.put(path, {"filter": "^Server"}).json["result_url"])[2]
    assert grep == "Server listening on 0.0.0.0 port 22.\n"
    daemon = fetch(api.put(path, {"daemon_logs": "true"}).json["result_url"])[2].splitlines()
    assert [line.split("] ", 1)[1].split(": ", 1)[1].split(" ")[0] for line in daemon] == \
        ["contract", "pulling", "container"]
    assert all(line.startswith("[20") and "Z] C." in line for line in daemon)
    assert api.put(path, {"tail": "many"}).status == 400
    assert api.put(path, {"filter": "("}).json["error"] == "invalid_args"


def test_logs_of_someone_elses_or_unknown_instance_are_404(api: Api) -> None:
    instance_id = running(api)
    other = Api(api.base, OTHER_KEY)
    refused = other.put(f"/api/v0/instances/request_logs/{instance_id}/", {})
    assert refused.status == 404 and refused.json["error"] == "invalid_id"
    assert api.put("/api/v0/instances/request_logs/9999999/", {}).status == 404


def test_execute_runs_ls_du_rm_on_the_container(api: Api) -> None:
    instance_id = running(api)
    path = f"/api/v0/instances/command/{instance_id}/"
    listed = api.put(path, {"command": "ls -a /root"}).json
    assert listed["writeable_path"].startswith("/var/lib/docker/overlay2/")
    assert fetch(listed["result_url"])[2].split() == [".", "..", ".bashrc", ".profile", "onstart.sh"]
    assert fetch(api.put(path, {"command": "rm root/onstart.sh"}).json["result_url"])[2] == ""
    assert "onstart.sh" not in fetch(api.put(path, {"command": "ls /root"}).json["result_url"])[2]
    usage = fetch(api.put(path, {"command": "du -s -h /var"}).json["result_url"])[2]
    assert usage == "40K\t/var\n"  # 28K + 4K of files, 4K per directory
    missing = fetch(api.put(path, {"command": "rm /nope"}).json["result_url"])[2]
    assert missing == "rm: cannot remove '/nope': No such file or directory\n"


def test_execute_refuses_other_commands_and_shell_tricks(api: Api) -> None:
    instance_id = running(api)
    path = f"/api/v0/instances/command/{instance_id}/"
    for command in ("cat /etc/passwd", "ls; rm -rf /", "ls $(whoami)", "ls | head", ""):
        answer = api.put(path, {"command": command})
        assert answer.status == 400 and answer.json["error"] == "invalid_args", command
        assert answer.json["msg"].startswith("Invalid command given")


def test_execute_before_the_container_exists(api: Api, admin: Api) -> None:
    admin.put("/_sandbox/settings", {"new_instance_fate": "loading"})
    instance_id = rent(api, cheapest(api)["id"])
    answer = api.put(f"/api/v0/instances/command/{instance_id}/", {"command": "ls"})
    assert answer.status == 400 and answer.json["error"] == "invalid_container"
