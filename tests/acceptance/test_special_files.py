"""Only regular files are read, up to a cap, refused before reading: a FIFO never hangs, /dev/zero is
never read; key files are checked like ssh does; a user without a home directory is no internal error."""

from __future__ import annotations

import os
import pwd
from pathlib import Path

import pytest

from tests.harness import CANARY_API_KEY, KEY_A, Result, Workspace, assert_clean_failure, skeleton_stack

# A FIFO with no writer blocks open() forever: each test here must end well inside this.
pytestmark = pytest.mark.timeout(30)


def fifo(ws: Workspace, name: str) -> Path:
    path = ws.root / name
    os.mkfifo(path)
    return path


def clean_refusal(result: Result, words: str) -> None:
    assert result.code == 1, result.text
    assert words in result.err, result.err
    assert_clean_failure(result.text)
    assert "internal error" not in result.text


def key_stack(key_file: str) -> str:
    return f"""
version: 1
stack: keys
ssh_keys:
  me: {{public_key_file: "{key_file}"}}
"""


def test_a_fifo_as_the_stack_file_is_refused_without_reading(workspace: Workspace) -> None:
    workspace.stack = fifo(workspace, "stack.yaml")
    clean_refusal(workspace.vastplan("plan"), "stack.yaml:1:1: is a FIFO (named pipe), not a regular file")


def test_a_fifo_as_a_var_file_is_refused_with_its_name(workspace: Workspace) -> None:
    workspace.write(skeleton_stack(keys=()))
    pipe = fifo(workspace, "values.vars")
    clean_refusal(workspace.vastplan("plan", "--var-file", str(pipe)),
                  f"{pipe}:1:1: is a FIFO (named pipe), not a regular file")


def test_a_fifo_as_a_public_key_file_is_refused_at_its_position(workspace: Workspace) -> None:
    fifo(workspace, "me.pub")
    workspace.write(key_stack("me.pub"))
    clean_refusal(workspace.vastplan("plan"),
                  'stack.yaml:5:25: ssh_keys.me.public_key_file: cannot read the public key file "me.pub": '
                  "it is a FIFO (named pipe), not a regular file")


@pytest.mark.parametrize("special, words", [
    ("fifo", "is a FIFO (named pipe), not a regular file"),
    ("/dev/zero", "is a character device, not a regular file"),
    ("dir", "is a directory, not a file"),
    ("big", "is larger than 4 KB; refusing to read it"),
])
def test_an_api_key_file_that_is_not_a_small_regular_file_is_refused(
        workspace: Workspace, monkeypatch: pytest.MonkeyPatch, special: str, words: str) -> None:
    monkeypatch.delenv("VAST_API_KEY")
    workspace.write(skeleton_stack(keys=()))
    path = {"fifo": lambda: fifo(workspace, "key"), "/dev/zero": lambda: Path("/dev/zero"),
            "dir": lambda: workspace.root, "big": lambda: workspace.write("k" * 5000, "key")}[special]()
    result = workspace.vastplan("plan", "--api-key-file", str(path))
    clean_refusal(result, f"cannot read the API key file {path}: it {words}")


def secret_file(factory: pytest.TempPathFactory, text: str) -> Path:
    path = factory.mktemp("secrets") / "key"  # outside the folder scanned for leaks
    path.write_text(text)
    return path


def test_a_key_file_with_a_second_line_is_refused_without_showing_it(
        workspace: Workspace, monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    monkeypatch.delenv("VAST_API_KEY")
    workspace.write(skeleton_stack(keys=()))
    key_file = secret_file(tmp_path_factory, f"{CANARY_API_KEY}\nsecond line\n")
    key_file.chmod(0o600)
    result = workspace.vastplan("plan", "--api-key-file", str(key_file))
    clean_refusal(result, f"the API key file {key_file} holds more than one line")
    assert "second line" not in result.text


def test_a_key_file_others_can_read_gets_a_warning_like_ssh_gives(
        workspace: Workspace, monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    monkeypatch.delenv("VAST_API_KEY")
    workspace.write(skeleton_stack(keys=()))
    key_file = secret_file(tmp_path_factory, CANARY_API_KEY + "\n")
    key_file.chmod(0o644)
    loose = workspace.vastplan("plan", "--api-key-file", str(key_file))
    assert loose.code == 0, loose.text
    assert f"warning: the API key file {key_file} can be read by others (mode 0644); " \
           f"restrict it with: chmod 600 {key_file}" in loose.err
    key_file.chmod(0o600)
    tight = workspace.vastplan("plan", "--api-key-file", str(key_file))
    assert tight.code == 0 and "warning" not in tight.err, tight.text


def test_a_user_without_a_home_directory_gets_clear_answers(
        workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    """HOME unset and a uid the system does not know: pathlib's Path.home() raises RuntimeError."""
    def unknown_user(uid: int) -> pwd.struct_passwd:
        raise KeyError(f"getpwuid(): uid not found: {uid}")

    for name in ("HOME", "XDG_CONFIG_HOME", "VAST_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(pwd, "getpwuid", unknown_user)
    with pytest.raises(RuntimeError):
        Path.home()  # the situation is real: this is what used to end in "internal error"
    workspace.write(skeleton_stack(keys=()))
    no_key = workspace.vastplan("plan")
    assert no_key.code == 4, no_key.text
    assert "no Vast.ai API key was found" in no_key.err and "internal error" not in no_key.text

    monkeypatch.setenv("VAST_API_KEY", CANARY_API_KEY)
    workspace.write(key_stack("~/.ssh/id_ed25519.pub"))
    clean_refusal(workspace.vastplan("plan"), 'cannot read the public key file "~/.ssh/id_ed25519.pub": '
                                              "it names a home directory (~), but this user has none")


def test_a_regular_public_key_file_still_works(workspace: Workspace) -> None:
    workspace.write(KEY_A + "\n", "me.pub")
    workspace.write(key_stack("me.pub"))
    assert workspace.vastplan("plan").code == 0
