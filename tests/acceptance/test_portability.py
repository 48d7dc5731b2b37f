"""Where POSIX-only modules are missing (Windows): the CLI still imports and runs, and the state lock
works through msvcrt instead of fcntl.

The commands run in a subprocess whose import system refuses fcntl, termios, pwd, grp, resource,
tty and pty (a sitecustomize adds a meta-path blocker). Linux has no msvcrt, so a stand-in with the
same interface (``locking(fd, LK_NBLCK|LK_UNLCK, nbytes)`` on the range at the file position,
EACCES when it is taken) answers to that name, built on POSIX record locks: vastplan's msvcrt code
path runs for real, between real processes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

BLOCKER = '''
import sys

BLOCKED = {"fcntl", "termios", "pwd", "grp", "resource", "tty", "pty"}


class Blocker:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {name!r} (this test's Windows)", name=name)
        return None


sys.meta_path.insert(0, Blocker())
for name in BLOCKED:
    sys.modules.pop(name, None)

# The stand-in answers to the name msvcrt only once subprocess has looked for it: subprocess takes
# a module of that name for a sign of Windows, and would then want Windows' _winapi.
import subprocess  # noqa: E402,F401
import msvcrt_standin  # noqa: E402

sys.modules["msvcrt"] = msvcrt_standin
'''

MSVCRT = '''
"""Windows' msvcrt.locking, as far as vastplan uses it, on POSIX record locks (os.lockf)."""
import errno
import os

LK_UNLCK, LK_LOCK, LK_NBLCK, LK_RLCK, LK_NBRLCK = 0, 1, 2, 3, 4


def locking(fd, mode, nbytes):
    try:
        os.lockf(fd, os.F_ULOCK if mode == LK_UNLCK else os.F_TLOCK, nbytes)
    except (BlockingIOError, PermissionError):
        raise PermissionError(errno.EACCES, "Permission denied") from None
'''

STACK = """
version: 1
stack: portable
templates:
  base: {image: ubuntu, tag: "22.04"}
"""

HOLD = """
import sys
from pathlib import Path
from vastplan.state.lock import StateLock
with StateLock(Path(sys.argv[1]), "apply by the test"):
    print("held", flush=True)
    sys.stdin.readline()
"""


@pytest.fixture
def windowsish(tmp_path: Path) -> dict[str, str]:
    """The environment of a Python without POSIX-only modules, msvcrt stand-in on its path."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(BLOCKER)
    (site / "msvcrt_standin.py").write_text(MSVCRT)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VAST", "PYTHON"))}
    env.update({"PYTHONPATH": str(site), "NO_COLOR": "1"})
    return env


def vastplan(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "vastplan", *args], env=env, cwd=cwd, text=True,
                          capture_output=True, stdin=subprocess.DEVNULL, timeout=120)


def test_the_blocker_is_real(windowsish: dict[str, str], tmp_path: Path) -> None:
    probe = subprocess.run([sys.executable, "-c", "import fcntl"], env=windowsish, capture_output=True, text=True)
    assert probe.returncode == 1 and "this test's Windows" in probe.stderr


def test_the_cli_imports_validates_and_locks_without_fcntl(windowsish: dict[str, str], tmp_path: Path) -> None:
    (tmp_path / "stack.yaml").write_text(STACK)
    helped = vastplan(windowsish, tmp_path, "--help")
    assert helped.returncode == 0 and "Usage: vastplan" in helped.stdout, helped.stderr
    validated = vastplan(windowsish, tmp_path, "validate", "-f", "stack.yaml")
    assert validated.returncode == 0, validated.stderr
    assert "stack.yaml: valid (1 resources)." in validated.stdout

    # apply takes the state lock (through msvcrt here) and writes the state
    applied = vastplan(windowsish, tmp_path, "apply", "-f", "stack.yaml", "--sandbox", "cloud", "-auto-approve")
    assert applied.returncode == 0, applied.stderr
    assert "Apply complete! Resources: 1 added" in applied.stdout
    assert "templates.base" in (tmp_path / "stack.vpstate.json").read_text()


def test_the_msvcrt_lock_keeps_a_second_process_out(windowsish: dict[str, str], tmp_path: Path) -> None:
    (tmp_path / "stack.yaml").write_text(STACK)
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(tmp_path / "stack.vpstate.json")], env=windowsish,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n", holder.stderr
        refused = vastplan(windowsish, tmp_path, "apply", "-f", "stack.yaml", "--sandbox", "cloud", "-auto-approve")
        assert refused.returncode == 3, refused.stderr
        assert f"the state is locked by apply by the test (pid {holder.pid} on " in refused.stderr
        assert not (tmp_path / "stack.vpstate.json").exists()
    finally:
        holder.communicate("\n", timeout=30)
    assert holder.returncode == 0, holder.stderr
    applied = vastplan(windowsish, tmp_path, "apply", "-f", "stack.yaml", "--sandbox", "cloud", "-auto-approve")
    assert applied.returncode == 0, applied.stderr
