"""The StateBackend seam, as the local file implements it: compare-and-swap by serial, the journal of
pending creates, the lock with its holder, and .backup kept once per backend (one per command)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vastplan.errors import LockError, StateError
from vastplan.state.backends.local import LocalStateFile
from vastplan.state.model import ResourceState, State, StateBackend

ENTRY = ResourceState("template", 7, {"image": "ubuntu"})


def test_a_write_based_on_an_old_serial_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.vpstate.json"
    LocalStateFile(path).write(State.new("demo"))
    mine, theirs = LocalStateFile(path), LocalStateFile(path)
    read, other = mine.read(), theirs.read()
    assert read is not None and other is not None and read.serial == other.serial == 1
    theirs.write(other.with_resource("templates.a", ENTRY))  # serial 2, behind mine's back
    with pytest.raises(StateError, match="is at serial 2, but this change was based on serial 1"):
        mine.write(read.with_resource("templates.b", ENTRY))
    on_disk = mine.read()
    assert on_disk is not None and set(on_disk.resources) == {"templates.a"}
    assert mine.write(on_disk.with_resource("templates.b", ENTRY)).serial == 3  # based on what is there


def test_the_journal_records_a_pending_create_at_once(tmp_path: Path) -> None:
    backend: StateBackend = LocalStateFile(tmp_path / "s.vpstate.json")
    pending = ResourceState("instance", None, {"marker": "vp:demo/instances.a"}, pending=True)
    journaled = backend.journal_create(State.new("demo"), "instances.a", pending)
    assert journaled.serial == 1
    on_disk = backend.read()
    assert on_disk is not None and on_disk.resources["instances.a"].pending


def test_the_lock_names_its_holder_and_refuses_a_second_taker(tmp_path: Path) -> None:
    backend = LocalStateFile(tmp_path / "s.vpstate.json")
    with backend.lock("apply", 0) as info:
        assert backend.lock_holder() == info and info.operation == "apply"
        with pytest.raises(LockError, match="locked by apply"), LocalStateFile(backend.path).lock("plan", 0):
            pass
    assert backend.lock_holder() is None


def test_one_backend_keeps_the_state_from_before_its_first_write_as_backup(tmp_path: Path) -> None:
    path = tmp_path / "s.vpstate.json"
    LocalStateFile(path).write(State.new("demo"))
    backend = LocalStateFile(path)
    state = backend.read()
    assert state is not None
    for name in ("a", "b", "c"):
        state = backend.write(state.with_resource(f"templates.{name}", ENTRY))
    assert json.loads(backend.backup_path.read_text())["serial"] == 1
