"""Output for a terminal: colour by the NO_COLOR / FORCE_COLOR / TERM=dumb conventions, and every line
of a plan and of ``offers`` within 80 columns."""

from __future__ import annotations

import io
import sys
from dataclasses import dataclass

import pytest

from tests.harness import KEY_A, Workspace

STACK = f"""
version: 1
stack: colours
ssh_keys:
  me: {{public_key: "{KEY_A}"}}
"""

ESC = "\x1b["


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@dataclass(frozen=True)
class Colour:
    env: dict[str, str]
    terminal: bool
    coloured: bool
    flag: bool = False


COLOURS = [
    Colour({}, terminal=True, coloured=True),
    Colour({}, terminal=False, coloured=False),
    Colour({"NO_COLOR": ""}, terminal=True, coloured=True),  # only a non-empty NO_COLOR counts
    Colour({"NO_COLOR": "1"}, terminal=True, coloured=False),
    Colour({"NO_COLOR": "0"}, terminal=True, coloured=False),  # any non-empty value
    Colour({}, terminal=True, coloured=False, flag=True),  # --no-color
    Colour({"TERM": "dumb"}, terminal=True, coloured=False),
    Colour({"TERM": "xterm-256color"}, terminal=True, coloured=True),
    Colour({"FORCE_COLOR": "1"}, terminal=False, coloured=True),  # into a pipe, when forced
    Colour({"FORCE_COLOR": "1", "TERM": "dumb"}, terminal=True, coloured=True),
    Colour({"FORCE_COLOR": ""}, terminal=False, coloured=False),
    Colour({"FORCE_COLOR": "1", "NO_COLOR": "1"}, terminal=True, coloured=False),  # the off switch wins
    Colour({"FORCE_COLOR": "1"}, terminal=True, coloured=False, flag=True),
]


@pytest.mark.parametrize("case", COLOURS, ids=[f"{c.env}-{'tty' if c.terminal else 'pipe'}"
                                               f"{'-no-color' if c.flag else ''}" for c in COLOURS])
def test_colour_follows_the_conventions(workspace: Workspace, monkeypatch: pytest.MonkeyPatch, case: Colour) -> None:
    workspace.write(STACK)
    for name in ("NO_COLOR", "FORCE_COLOR", "TERM"):
        monkeypatch.delenv(name, raising=False)
    for name, value in case.env.items():
        monkeypatch.setenv(name, value)
    screen = _Terminal() if case.terminal else io.StringIO()
    monkeypatch.setattr(sys, "stdout", screen)
    result = workspace.vastplan("plan", *(["-no-color"] if case.flag else []))
    assert result.code == 0, result.text
    assert "Plan: 1 to add" in screen.getvalue()
    assert (ESC in screen.getvalue()) is case.coloured
