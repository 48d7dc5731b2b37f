"""Bad keys, unreachable APIs, missing approval, broken state: one clear line, exit 1, state untouched."""

from __future__ import annotations

import socket
import stat
from pathlib import Path

import pytest

from tests.harness import CANARY_API_KEY, Workspace, assert_clean_failure, one_box, skeleton_stack


def test_a_rejected_key_is_one_line_naming_the_api_message(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    workspace.write(skeleton_stack())
    monkeypatch.setenv("VAST_API_KEY", "not-the-right-key")
    result = workspace.vastplan("apply", "--auto-approve")
    assert result.code == 4
    assert "the Vast.ai API rejected the key (401 Invalid user key). Set VAST_API_KEY or --api-key-file." in result.err
    assert_clean_failure(result.text)
    assert not workspace.state_path.exists()


def test_no_key_anywhere_says_where_to_put_one(workspace: Workspace, monkeypatch: pytest.MonkeyPatch,
                                               tmp_path: Path) -> None:
    workspace.write(skeleton_stack())
    monkeypatch.delenv("VAST_API_KEY")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # no ~/.vast_api_key of the machine's user
    result = workspace.vastplan("plan")
    assert result.code == 4
    assert "no Vast.ai API key was found" in result.err and "VAST_API_KEY" in result.err


def test_api_key_file_is_read(workspace: Workspace, monkeypatch: pytest.MonkeyPatch,
                              tmp_path_factory: pytest.TempPathFactory) -> None:
    workspace.write(skeleton_stack())
    monkeypatch.delenv("VAST_API_KEY")
    key_file = tmp_path_factory.mktemp("secrets") / "key.txt"  # outside the folder scanned for leaks
    key_file.write_text(CANARY_API_KEY + "\n")
    assert workspace.vastplan("plan", "--api-key-file", str(key_file)).code == 0


def test_an_unreachable_api_is_a_clear_error(workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VASTPLAN_RETRY_DEADLINE", "0.5")  # the retries are real, only shorter
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    workspace.api_url = f"http://127.0.0.1:{closed_port}"
    workspace.write(skeleton_stack())
    result = workspace.vastplan("plan")
    assert result.code == 1
    assert f"cannot connect to 127.0.0.1:{closed_port}" in result.err
    assert_clean_failure(result.text)


def test_apply_without_a_terminal_needs_auto_approve(workspace: Workspace) -> None:
    workspace.write(skeleton_stack())
    result = workspace.vastplan("apply")
    assert result.code == 1
    assert "apply needs --auto-approve when not run from a terminal" in result.err
    assert not workspace.state_path.exists()


def test_a_corrupted_state_file_is_reported_not_overwritten(workspace: Workspace) -> None:
    workspace.write(skeleton_stack())
    workspace.state_path.write_text("{ this is not json")
    result = workspace.vastplan("apply", "--auto-approve")
    assert result.code == 1
    assert "is not valid JSON" in result.err
    assert workspace.state_path.read_text() == "{ this is not json"


def test_a_state_file_of_another_stack_is_refused(workspace: Workspace) -> None:
    workspace.write(skeleton_stack())
    assert workspace.vastplan("apply", "--auto-approve").code == 0
    before = workspace.state_path.read_text()
    workspace.write(skeleton_stack().replace("stack: skeleton", "stack: other"))
    result = workspace.vastplan("plan")
    assert result.code == 1
    assert "belongs to stack 'skeleton', not 'other'" in result.err
    assert workspace.state_path.read_text() == before


def test_bad_flags_exit_1_not_2(workspace: Workspace) -> None:
    workspace.write(skeleton_stack())
    result = workspace.vastplan("plan", "--no-such-flag")
    assert result.code == 1  # 2 would read as "changes" under --detailed-exitcode
    assert "No such option '--no-such-flag'" in result.err
    bad_var = workspace.vastplan("plan", "--var", "novalue")
    assert bad_var.code == 1 and "--var takes NAME=VALUE" in bad_var.err


def test_answering_anything_but_yes_at_the_prompt_cancels_with_exit_5(workspace: Workspace) -> None:
    """A real terminal (a pseudo-terminal) so that apply asks, as it does for a person."""
    import os
    import pty
    import subprocess
    import sys

    workspace.write(skeleton_stack())
    master, slave = pty.openpty()
    env = {**os.environ, "VAST_API_KEY": CANARY_API_KEY, "NO_COLOR": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "vastplan", "apply", "-f", str(workspace.stack),
                             "--api-url", workspace.api_url], stdin=slave, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env, text=True)
    os.close(slave)
    os.write(master, b"no\n")
    out, err = proc.communicate(timeout=60)
    os.close(master)
    workspace.outputs += [out, err]
    assert proc.returncode == 5, err
    assert "Only 'yes' will be accepted to approve." in out
    assert "Apply cancelled; nothing was changed." in err
    assert not workspace.state_path.exists()


def test_a_state_that_cannot_be_written_is_saved_beside_it_and_apply_stops(workspace: Workspace) -> None:
    """The state's temp file name is taken by a folder, so no write of the state can succeed."""
    import os
    import threading
    import time

    workspace.write(one_box())
    blocker = workspace.state_path.with_name(f".{workspace.state_path.name}.{os.getpid()}.tmp")
    stop = threading.Event()

    def block_once_an_instance_is_recorded() -> None:
        while not stop.is_set():
            try:
                if '"id": 9' in workspace.state_path.read_text():
                    blocker.mkdir()
                    return
            except OSError:
                pass
            time.sleep(0.002)

    watcher = threading.Thread(target=block_once_an_instance_is_recorded)
    watcher.start()
    try:
        result = workspace.vastplan("apply", "--auto-approve")
    finally:
        stop.set()
        watcher.join()
    assert result.code == 1, result.text
    errored = workspace.state_path.with_name(workspace.state_path.name + ".errored")
    assert f"The state as it should be was written to {errored}" in result.err
    assert "objects in it: instances.box (id 9" in result.err
    # instance 9 was recorded before the failed write: the account tells the next command the rest
    assert "The state file needs no repair" in result.err and "cp " not in result.err
    assert "Traceback" not in result.text
    saved = errored.read_text()
    assert '"instances.box"' in saved and stat.S_IMODE(errored.stat().st_mode) == 0o600


def test_sandbox_serve_on_a_busy_port_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from vastplan.cli.root import run

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code = run(["sandbox", "serve", "--port", str(port), "--data", str(tmp_path / "cloud")])
    err = capsys.readouterr().err
    assert code == 1
    assert f"cannot serve the sandbox on 127.0.0.1:{port}: " in err
    assert_clean_failure(err)
    assert "internal error" not in err
