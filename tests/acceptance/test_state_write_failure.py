"""After a failed state write, the advice printed matches what the next command will do: nothing to
repair when the next run heals by itself (and copying the errored file back would then restore a
stale state), a copy made first when the account cannot tell the next run what state knew."""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from tests.harness import Result, Workspace, admin, instances, one_box, ttl_stack


@contextmanager
def state_writes_fail_once(ws: Workspace, when: Callable[[str], bool]) -> Iterator[None]:
    """Every write of the state fails (its temp file's name is taken by a folder) from the moment
    ``when(state text)`` holds; writes work again after the block."""
    blocker = ws.state_path.with_name(f".{ws.state_path.name}.{os.getpid()}.tmp")
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            try:
                if when(ws.state_path.read_text()):
                    blocker.mkdir()
                    return
            except OSError:
                pass
            time.sleep(0.001)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        yield
    finally:
        stop.set()
        watcher.join()
        if blocker.is_dir():
            blocker.rmdir()


def failed_write(result: Result) -> str:
    assert result.code == 1, result.text
    assert "cannot write the state file" in result.err and "Traceback" not in result.text
    return result.err


def test_a_create_still_journaled_on_disk_heals_by_itself_so_no_copy_is_advised(workspace: Workspace) -> None:
    workspace.write(one_box())
    admin(workspace, "PUT", "/settings", {"latency_ms": 150})  # the rental's answer comes after the block
    with state_writes_fail_once(workspace, lambda text: '"pending": true' in text):
        err = failed_write(workspace.vastplan("apply", "--auto-approve"))
    rented = list(instances(workspace))
    assert len(rented) == 1
    assert f"the next plan or apply finds instances.box (id {rented[0]}) by its ownership marker" in err
    assert "cp " not in err and "Do not copy" in err
    errored_serial = re.search(r'"serial": (\d+)', workspace.state_path.with_name(
        workspace.state_path.name + ".errored").read_text())

    healed = workspace.vastplan("apply", "--auto-approve")  # what the advice says the next command does
    assert healed.code == 0, healed.text
    assert "was created by an interrupted apply and has been adopted" in healed.text
    assert list(instances(workspace)) == rented  # nothing rented twice
    assert workspace.state()["resources"]["instances.box"]["id"] == rented[0]
    assert errored_serial and workspace.state()["serial"] > int(errored_serial.group(1))  # a copy now would be stale


def test_an_expiry_only_state_knew_is_advised_to_be_copied_back_first(workspace: Workspace) -> None:
    workspace.write(ttl_stack())
    assert workspace.vastplan("apply", "--auto-approve").code == 0
    time.sleep(1.5)
    with state_writes_fail_once(workspace, lambda text: True):
        err = failed_write(workspace.vastplan("reap", "--auto-approve"))
    errored = workspace.state_path.with_name(workspace.state_path.name + ".errored")
    assert "lacks what the account cannot tell the next command: instances.short" in err
    assert f"before any other vastplan command, recover with: cp {errored} {workspace.state_path}" in err

    errored.replace(workspace.state_path)  # following the advice
    planned = workspace.vastplan("plan", "--detailed-exitcode")
    assert planned.code == 0, planned.text  # the expired instance is not rented again
