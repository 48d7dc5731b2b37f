"""An instance's logs told from its history: the record in, the lines out."""

from __future__ import annotations

from typing import Any

import pytest

from vastsandbox.world.errors import Refusal
from vastsandbox.world.instance_logs import container_log, daemon_log, logs, remember


def record(**fields: Any) -> dict[str, Any]:
    base = {"id": 9000001, "image": "img:1", "runtype": "ssh_proxy", "env": {"TOKEN": "s3cret", "-p 80:80": "1"},
            "onstart": "echo 'a b'  # note\nexport X=1; echo -n done", "created_at": 100.0, "num_gpus": 1,
            "ssh_port": 40022}
    return {**base, **fields}


def test_each_start_runs_the_onstart_script_and_each_stop_is_logged() -> None:
    instance = record()
    for at, status in ((100, "created"), (101, "loading"), (103, "running"), (200, "stopped"), (300, "loading"),
                       (302, "running")):
        remember(instance, status, at)
    lines = container_log(instance)
    script = ["+ bash /root/onstart.sh", "a b", "+ export X=1", "done"]
    assert lines[-len(script):] == script
    assert lines.count("Environment: TOKEN") == 2 and "s3cret" not in "\n".join(lines)
    assert "Received SIGTERM, shutting down." in lines


def test_records_made_before_events_were_kept_still_have_a_log() -> None:
    instance = record(running_since=103.0, actual_status="stopped", status_changed_at=200.0)
    assert [line.split("] ")[1] for line in daemon_log(instance)] == [
        "C.9000001: contract accepted, 1 GPU(s) reserved", "C.9000001: pulling image img:1",
        "C.9000001: container started, ssh on port 40022", "C.9000001: container stopped"]


def test_args_runtype_runs_its_command_not_the_onstart_script() -> None:
    instance = record(runtype="args", args=["python", "serve.py"])
    remember(instance, "running", 1.0)
    assert container_log(instance)[-1] == "+ exec python serve.py"


@pytest.mark.parametrize(("tail", "pattern", "expected"), [
    ("2", None, "+ export X=1\ndone\n"),
    ("0", None, ""),
    (None, "^a", "a b\n"),
])
def test_tail_and_filter(tail: str | None, pattern: str | None, expected: str) -> None:
    instance = record()
    remember(instance, "running", 1.0)
    assert logs(instance, tail, pattern) == expected


@pytest.mark.parametrize(("tail", "pattern"), [("-1", None), ("x", None), (None, "(")])
def test_bad_tail_or_filter_is_refused(tail: str | None, pattern: str | None) -> None:
    with pytest.raises(Refusal):
        logs(record(), tail, pattern)
