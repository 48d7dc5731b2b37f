"""vastplan in a real terminal of 80 columns (a pty, as a user's shell gives it): a long readiness
wait says so every 10 s, nothing wraps, and Ctrl-C at the approval prompt ends the command at once."""

from __future__ import annotations

import os
import re
import select
import struct
import sys
import time
from dataclasses import dataclass

import pytest

from tests.harness import CANARY_API_KEY, Workspace, admin, instances

pty = pytest.importorskip("pty")  # POSIX only: there is no pty on Windows
termios = pytest.importorskip("termios")
fcntl = pytest.importorskip("fcntl")

COLUMNS = 80
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
SLOW_BOX = """
version: 1
stack: slow
instances:
  box:
    image: pytorch/pytorch
    offer: {num_gpus: 1, gpu_name: "RTX 4090"}
    readiness: {timeout: 120s}
outputs:
  ssh: {value: "${instances.box.ssh_url}"}
"""


@dataclass
class Terminal:
    """A command running on its own pty, as the foreground job of a shell would."""

    pid: int
    fd: int
    seen: str = ""
    code: int | None = None

    def read(self, until: float) -> None:
        """Collect output until the command ends or ``until`` (a monotonic time) passes."""
        while self.code is None and time.monotonic() < until:
            ready, _, _ = select.select([self.fd], [], [], 0.1)
            if ready:
                try:
                    data = os.read(self.fd, 65536)
                except OSError:  # EIO: the command closed the terminal
                    data = b""
                self.seen += data.decode("utf-8", "replace")
                if data:
                    continue
            done, status = os.waitpid(self.pid, os.WNOHANG)
            if done:
                self.code = os.waitstatus_to_exitcode(status)

    def wait_for(self, text: str, seconds: float) -> None:
        until = time.monotonic() + seconds
        while text not in self.seen and self.code is None and time.monotonic() < until:
            self.read(min(until, time.monotonic() + 0.2))
        assert text in self.seen, f"never saw {text!r} in:\n{self.seen}"

    def lines(self) -> list[str]:
        return [ANSI.sub("", line).rstrip("\r") for line in self.seen.split("\n")]


def run_in_terminal(workspace: Workspace, *args: str) -> Terminal:
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR", "COLUMNS", "LINES")}
    env.update({"VAST_API_KEY": CANARY_API_KEY, "TERM": "xterm-256color"})
    argv = [sys.executable, "-m", "vastplan", *args, "-f", str(workspace.stack), "--api-url", workspace.api_url]
    pid, fd = pty.fork()
    if pid == 0:  # the child: an 80x24 terminal, then vastplan
        try:
            fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 24, COLUMNS, 0, 0))
            os.chdir(workspace.root)
            os.execve(sys.executable, argv, env)
        finally:
            os._exit(127)
    return Terminal(pid, fd)


def too_wide(lines: list[str]) -> list[str]:
    return [line for line in lines if len(line) > COLUMNS]


def test_a_25s_readiness_wait_says_so_every_10s_within_80_columns(workspace: Workspace) -> None:
    workspace.write(SLOW_BOX)
    admin(workspace, "PUT", "/settings", {"boot_seconds": 25})
    term = run_in_terminal(workspace, "apply", "-auto-approve")
    try:
        term.read(time.monotonic() + 120)
    finally:
        workspace.outputs.append(term.seen)
    assert term.code == 0, term.seen
    lines = term.lines()
    still = [line for line in lines if line.startswith("instances.box: Still creating... [")]
    assert len(still) >= 2, term.seen
    assert "instances.box: Still creating... [10s elapsed, status loading" in term.seen, term.seen
    assert "Apply complete! Resources: 1 added" in term.seen
    assert too_wide(lines) == [], term.seen


def test_ctrl_c_at_the_prompt_exits_130_at_once(workspace: Workspace) -> None:
    workspace.write(SLOW_BOX)
    term = run_in_terminal(workspace, "apply")
    try:
        term.wait_for("Enter a value: ", 60)
        asked = time.monotonic()
        os.write(term.fd, b"\x03")  # Ctrl-C, through the terminal's line discipline: SIGINT to the job
        term.read(asked + 20)
        took = time.monotonic() - asked
    finally:
        if term.code is None:
            os.kill(term.pid, 9)
        workspace.outputs.append(term.seen)
    assert term.code == 130, term.seen
    assert took < 5, f"Ctrl-C took {took:.1f}s to end the command"
    assert "Traceback" not in term.seen
    assert instances(workspace) == {} and not workspace.state_path.exists()  # nothing was changed
    assert too_wide(term.lines()) == [], term.seen
