"""The PostgreSQL state backend through the real CLI, a real PostgreSQL and the sandbox: two checkouts
sharing one state, the lock between concurrent applies, history/pull/push, migration both ways."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import CANARY_API_KEY
from tests.harness import Workspace, pulled, stack_text, templates_in_sandbox
from vastplan.state.backends.postgres import PostgresBackend
from vastsandbox.server import RunningSandbox


def checkout(workspace: Workspace, name: str, text: str) -> Workspace:
    """A second folder with the same stack file: another clone of the repository, another CI job."""
    root = workspace.root.parent / name
    root.mkdir()
    other = Workspace(root, workspace.api_url, workspace._capsys)
    other.write(text)
    other.outputs = workspace.outputs  # one list, so the canary check covers both
    return other


def test_apply_in_one_checkout_plan_in_another_sees_no_changes(workspace: Workspace, pg_url: str) -> None:
    text = stack_text()
    workspace.write(text)
    other = checkout(workspace, "checkout-b", text)
    applied = workspace.vastplan("apply", "--auto-approve", "--backend", pg_url)
    assert applied.code == 0, applied.text
    assert not workspace.state_path.exists(), "the state went to a local file"
    plan = other.vastplan("plan", "--detailed-exitcode", "--backend", pg_url)
    assert plan.code == 0, plan.text
    assert "No changes." in plan.out
    state = pulled(other, pg_url)
    # Two changes per create, its journal entry before the request and its id after: a write each,
    # or one shared by changes made at the same moment (the three journal entries, say).
    serial = state["serial"]
    assert 2 <= serial <= 6 and len(state["resources"]) == 3
    history = other.vastplan("state", "history", "--backend", pg_url)
    assert history.code == 0, history.text
    assert [line.split()[1] for line in history.out.splitlines()] == [str(n) for n in range(serial, 0, -1)]


def test_backend_from_env_and_from_the_stack_file(workspace: Workspace, pg_url: str,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VASTPLAN_BACKEND", pg_url)
    workspace.write(stack_text(1))
    assert workspace.vastplan("apply", "--auto-approve").code == 0
    monkeypatch.delenv("VASTPLAN_BACKEND")
    monkeypatch.setenv("TEAM_STATE_URL", pg_url)
    workspace.write(stack_text(1) + "backend: {url_from_env: TEAM_STATE_URL}\n")
    plan = workspace.vastplan("plan", "--detailed-exitcode")
    assert plan.code == 0, plan.text
    assert not workspace.state_path.exists()


def _holder(url: str) -> str | None:
    info = PostgresBackend(url, "team").lock_holder()
    return None if info is None else info.operation


def test_two_applies_at_once_one_waits_or_is_refused_naming_the_holder(
        workspace: Workspace, sandbox: RunningSandbox, pg_url: str, tmp_path: Path) -> None:
    text = stack_text(4)
    workspace.write(text)
    other = checkout(workspace, "checkout-b", text)
    sandbox.sandbox.control.latency_ms = 700  # the first apply holds the lock for seconds
    env = {**os.environ, "VAST_API_KEY": CANARY_API_KEY, "XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    first = subprocess.Popen([sys.executable, "-m", "vastplan", "apply", "--auto-approve", "-f", str(workspace.stack),
                              "--api-url", workspace.api_url, "--backend", pg_url],
                             env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for _ in range(200):
            if _holder(pg_url) is not None or first.poll() is not None:
                break
            time.sleep(0.05)
        refused = other.vastplan("apply", "--auto-approve", "--backend", pg_url)
        assert refused.code == 3, refused.text
        assert f"locked by apply (pid {first.pid} on {socket.gethostname()}, since" in refused.err
        waited = other.vastplan("apply", "--auto-approve", "--backend", pg_url, "--lock-timeout", "120")
        assert waited.code == 0, waited.text
        assert "No changes." in waited.out  # it waited for the first, then found everything made
    finally:
        out, err = first.communicate(timeout=120)
    assert first.returncode == 0, out + err
    workspace.outputs += [out, err]
    state = pulled(other, pg_url)
    assert 2 <= state["serial"] <= 8 and len(state["resources"]) == 4
    assert _holder(pg_url) is None


def test_force_unlock_refuses_a_live_holder_and_frees_a_dead_one(workspace: Workspace, pg_url: str) -> None:
    workspace.write(stack_text(1))
    holder = PostgresBackend(pg_url, "team")
    with holder.lock("apply", 0) as info:
        live = workspace.vastplan("force-unlock", info.id, "--backend", pg_url)
        assert live.code == 3 and "still held by apply" in live.err, live.text
        forced = workspace.vastplan("force-unlock", info.id, "--force", "--backend", pg_url)
        assert forced.code == 0, forced.text
    assert workspace.vastplan("apply", "--auto-approve", "--backend", pg_url).code == 0


def test_push_pull_and_migrate_keep_lineage_and_serial(workspace: Workspace, pg_url: str) -> None:
    workspace.write(stack_text(2))
    assert workspace.vastplan("apply", "--auto-approve").code == 0
    local = workspace.state()
    moved = workspace.vastplan("state", "migrate", "--to", pg_url)
    assert moved.code == 0, moved.text
    remote = pulled(workspace, pg_url)
    assert (remote["lineage"], remote["serial"]) == (local["lineage"], local["serial"])
    assert workspace.vastplan("plan", "--detailed-exitcode", "--backend", pg_url).code == 0

    other = checkout(workspace, "other-stack-state", stack_text(2))
    assert other.vastplan("apply", "--auto-approve", "--state", str(other.root / "b.json"),
                          "--backend", str(other.root / "b.json")).code == 0
    refused = other.vastplan("state", "migrate", "--to", pg_url, "--backend", str(other.root / "b.json"))
    assert refused.code == 1 and "already holds another state" in refused.err, refused.text
    pushed = other.vastplan("state", "push", str(other.root / "b.json"), "--backend", pg_url)
    assert pushed.code == 1 and "another state" in pushed.err, pushed.text
    assert pulled(workspace, pg_url)["lineage"] == local["lineage"]

    back = workspace.root / "back.vpstate.json"
    home = workspace.vastplan("state", "migrate", "--to", str(back), "--backend", pg_url)
    assert home.code == 0, home.text
    returned = json.loads(back.read_text())
    assert (returned["lineage"], returned["serial"]) == (local["lineage"], local["serial"])


def _pending(url: str) -> list[str]:
    state = PostgresBackend(url, "team").read()
    return [] if state is None else [a for a, e in state.resources.items() if e.pending]


def test_a_job_killed_mid_apply_leaves_its_rentals_for_the_next_job_elsewhere(
        workspace: Workspace, sandbox: RunningSandbox, pg_url: str, tmp_path: Path) -> None:
    """A CI job SIGKILLed while its creates are in flight; the next job runs in another checkout (another
    machine: nothing local is shared) and finds them through the journal in the database."""
    import signal

    text = stack_text(6)
    workspace.write(text)
    sandbox.sandbox.control.latency_ms = 600
    env = {**os.environ, "VAST_API_KEY": CANARY_API_KEY, "XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    job = subprocess.Popen([sys.executable, "-m", "vastplan", "apply", "--auto-approve", "-f", str(workspace.stack),
                            "--api-url", workspace.api_url, "--backend", pg_url],
                           env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(600):
        if _pending(pg_url) or job.poll() is not None:
            break
        time.sleep(0.02)
    job.send_signal(signal.SIGKILL)
    job.wait()
    journaled = _pending(pg_url)
    assert journaled, "the job ended before any create was journaled: this test proves nothing"
    time.sleep(0.7)  # the creates already sent are carried out by the account
    sandbox.sandbox.control.latency_ms = 0
    next_job = checkout(workspace, "next-job", text)
    applied = next_job.vastplan("apply", "--auto-approve", "--backend", pg_url)
    assert applied.code == 0, applied.text
    state = pulled(next_job, pg_url)
    ids = [entry["id"] for entry in state["resources"].values()]  # type: ignore[attr-defined]
    assert len(ids) == 6 and None not in ids

    made = templates_in_sandbox(next_job)
    assert sorted(t["id"] for t in made) == sorted(ids), "a template was rented twice or left untracked"
