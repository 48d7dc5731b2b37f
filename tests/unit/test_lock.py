"""The state lock across real processes: holders are python subprocesses, never mocks."""

from __future__ import annotations

import fcntl
import json
import os
import re
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import fields
from pathlib import Path

import pytest

from vastplan.errors import LockError, UsageError, VastplanError
from vastplan.state.lock import LockInfo, StateLock, force_unlock, lock_path, read_lock_info

# Takes the lock, prints its id, and holds it until a line arrives on stdin.
HOLDER = """
import sys
from pathlib import Path
from vastplan.state.lock import StateLock
with StateLock(Path(sys.argv[1]), sys.argv[2]) as lock:
    print(lock.info.id, flush=True)
    sys.stdin.readline()
"""

Holder = Callable[..., "tuple[subprocess.Popen[str], str]"]


@pytest.fixture
def state(tmp_path: Path) -> Path:
    return tmp_path / "llm.vpstate.json"


@pytest.fixture
def hold(state: Path) -> Iterator[Holder]:
    """Start a process holding the lock on ``state``; returns it and the lock id. Killed afterwards."""
    started: list[subprocess.Popen[str]] = []

    def start(operation: str = "apply", script: str = HOLDER) -> tuple[subprocess.Popen[str], str]:
        proc = subprocess.Popen([sys.executable, "-c", script, str(state), operation],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        started.append(proc)
        assert proc.stdout is not None
        return proc, proc.stdout.readline().strip()

    yield start
    for proc in started:
        proc.kill()
        proc.wait()


def release(proc: subprocess.Popen[str]) -> None:
    assert proc.stdin is not None
    proc.stdin.write("\n")
    proc.stdin.flush()


def test_lock_writes_its_info_with_mode_0600_and_removes_it_on_release(state: Path) -> None:
    with StateLock(state, "apply") as lock:
        assert lock.info is not None
        on_disk = json.loads(lock_path(state).read_text())
        assert set(on_disk) == {f.name for f in fields(LockInfo)}
        assert stat.S_IMODE(lock_path(state).stat().st_mode) == 0o600
        assert read_lock_info(state) == lock.info == LockInfo.from_json(on_disk)
        assert (lock.info.operation, lock.info.pid, lock.info.host) == ("apply", os.getpid(), socket.gethostname())
        assert re.fullmatch(r"[0-9a-f]{32}", lock.info.id)
    assert not lock_path(state).exists()
    assert read_lock_info(state) is None


def test_a_second_process_is_refused_naming_the_holder(state: Path, hold: Holder) -> None:
    proc, lock_id = hold("apply")
    started = time.monotonic()
    with pytest.raises(LockError) as caught, StateLock(state, "plan", timeout=0.5):
        pass
    assert 0.4 <= time.monotonic() - started < 10
    assert re.fullmatch(
        rf"the state is locked by apply \(pid {proc.pid} on {re.escape(socket.gethostname())}, since "
        rf"\d\d:\d\d:\d\d UTC\)\. Wait, or run vastplan force-unlock {lock_id} if that process is gone\.",
        str(caught.value),
    )
    assert caught.value.info is not None and caught.value.info.pid == proc.pid
    assert caught.value.exit_code == 3


def test_a_waiting_lock_is_taken_when_the_holder_releases(state: Path, hold: Holder) -> None:
    proc, lock_id = hold()
    threading.Timer(0.3, release, [proc]).start()
    with StateLock(state, "destroy", timeout=30, poll=0.05) as lock:
        assert lock.info is not None and lock.info.id != lock_id
        assert read_lock_info(state) == lock.info
    assert proc.wait(timeout=30) == 0


def test_sigkill_of_the_holder_frees_the_lock_and_its_stale_info_is_replaced(state: Path, hold: Holder) -> None:
    proc, lock_id = hold()
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    stale = read_lock_info(state)
    assert stale is not None and stale.id == lock_id  # the info outlives the process; the flock does not
    with StateLock(state, "apply") as lock:
        assert read_lock_info(state) == lock.info
        assert lock.info is not None and lock.info.pid == os.getpid()


def test_force_unlock_needs_the_right_id(state: Path, hold: Holder) -> None:
    with pytest.raises(UsageError, match="is not locked"):
        force_unlock(state, "0" * 32)
    proc, lock_id = hold()
    proc.kill()
    proc.wait(timeout=30)
    with pytest.raises(UsageError, match=f"locked with id {lock_id}, not abc; nothing was unlocked"):
        force_unlock(state, "abc")
    assert lock_path(state).exists()
    removed = force_unlock(state, lock_id)
    assert (removed.id, removed.pid) == (lock_id, proc.pid)
    assert not lock_path(state).exists()


def test_force_unlock_refuses_a_running_holder_unless_forced(state: Path, hold: Holder) -> None:
    proc, lock_id = hold()
    with pytest.raises(LockError, match=rf"the lock {lock_id} is still held by apply \(pid {proc.pid} on "):
        force_unlock(state, lock_id)
    assert force_unlock(state, lock_id, force=True).id == lock_id
    with StateLock(state, "apply") as lock:
        # The old holder still runs; its release must not delete the new lock file.
        release(proc)
        assert proc.wait(timeout=30) == 0
        assert read_lock_info(state) == lock.info


FORKING_HOLDER = """
import os, sys, time
from pathlib import Path
from vastplan.state.lock import StateLock
lock = StateLock(Path(sys.argv[1]), sys.argv[2])
lock.acquire()
child = os.fork()
if child == 0:
    time.sleep(120)
    os._exit(0)
print(child, flush=True)
os._exit(0)
"""


def test_a_holder_whose_pid_is_gone_is_reported_as_such(state: Path, hold: Holder) -> None:
    proc, child = hold("apply", FORKING_HOLDER)
    try:
        proc.wait(timeout=30)  # its forked child still holds the flock through the inherited fd
        with pytest.raises(LockError, match=rf"locked by apply \(pid {proc.pid} on this host is no longer running, "):
            StateLock(state, "plan").acquire()
        holder = read_lock_info(state)
        assert holder is not None
        assert force_unlock(state, holder.id).pid == proc.pid
        with StateLock(state, "plan"):
            pass
    finally:
        os.kill(int(child), signal.SIGKILL)


CONTENDER = """
import sys, time
from pathlib import Path
from vastplan.errors import LockError
from vastplan.state.lock import StateLock
from vastplan.state.backends.local import LocalStateFile
from vastplan.state.model import State
backend = LocalStateFile(Path(sys.argv[1]))
try:
    with StateLock(backend.path, "apply", timeout=float(sys.argv[2]), poll=0.01):
        for _ in range(int(sys.argv[3])):
            backend.write(backend.read() or State.new("demo"))
        time.sleep(float(sys.argv[4]))
except LockError as exc:
    print(exc)
    sys.exit(exc.exit_code)
"""


def contend(state: Path, timeout: float, writes: int, hold: float) -> subprocess.Popen[str]:
    args = [str(state), str(timeout), str(writes), str(hold)]
    return subprocess.Popen([sys.executable, "-c", CONTENDER, *args], stdout=subprocess.PIPE, text=True)


def test_two_concurrent_applies_one_proceeds_the_other_names_the_holder(state: Path) -> None:
    procs = [contend(state, 0, 1, 3.0) for _ in range(2)]
    results = sorted((p.wait(timeout=60), p.communicate()[0], p.pid) for p in procs)
    (ok, _, winner), (refused, message, _) = results
    assert (ok, refused) == (0, 3)
    assert message.startswith(f"the state is locked by apply (pid {winner} on ")
    assert json.loads(state.read_text())["serial"] == 1


def test_waiting_writers_never_lose_a_serial(state: Path) -> None:
    procs = [contend(state, 60, 5, 0) for _ in range(4)]
    assert [p.wait(timeout=90) for p in procs] == [0, 0, 0, 0]
    assert json.loads(state.read_text())["serial"] == 20


def test_an_empty_or_foreign_lock_file_names_no_holder_and_is_taken_over(state: Path) -> None:
    for content in ("", "not json", '{"id": 1}'):
        lock_path(state).write_text(content)
        assert read_lock_info(state) is None
        with StateLock(state, "apply") as lock:
            assert read_lock_info(state) == lock.info


def test_describe_names_a_remote_holder_and_the_date_of_an_old_lock() -> None:
    info = LockInfo("6f1c", "apply", "ci", "ci-runner-3", 4121, "2020-01-02T03:04:05+00:00", "s.json")
    assert LockInfo.from_json(json.loads(json.dumps(info.to_json()))) == info
    assert info.describe() == "apply (pid 4121 on ci-runner-3, since 2020-01-02 03:04:05 UTC)"


def test_lock_error_is_a_vastplan_error_with_its_own_exit_code() -> None:
    assert issubclass(LockError, VastplanError)
    assert LockError("x").exit_code == 3 and VastplanError("x").exit_code == 1
    assert LockError("x").info is None


def test_a_held_lock_without_info_is_reported_after_a_grace_for_the_holder_to_write(state: Path) -> None:
    with open(lock_path(state), "w") as other:  # another open file, as a holder that has not written yet
        fcntl.flock(other, fcntl.LOCK_EX)
        with pytest.raises(LockError, match=r"locked by another process \(llm\.vpstate\.json\.lock names no holder\)"):
            StateLock(state, "apply").acquire()
