"""Output for a terminal: colour by the NO_COLOR / FORCE_COLOR / TERM=dumb conventions, and every line
of a plan and of ``offers`` within 80 columns."""

from __future__ import annotations

import io
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

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


EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
OPS_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK0wmN/Cr3JXqmLW7u+g9pTh+wyqDHpSQEIQczXkVx9q ops@example"
OPS_PRINT = "SHA256:FHsTyFHNmvNpw4o7+rp+M1yqMyBF8vXSBRkZtkQ0RKY"  # what `ssh-keygen -l` prints for OPS_KEY


def _too_wide(text: str) -> list[str]:
    return [line for line in text.splitlines() if len(line) > 80]


def _summary_rows(text: str) -> dict[str, list[str]]:
    """The summary table under the plan: name -> its cells (GPU, machine, location, $/hr)."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.split() == ["name", "GPU", "machine", "location", "$/hr"])
    rows = {}
    for line in lines[start + 2:]:
        if not line.strip():
            break
        symbol, name, rest = line.split(None, 2)
        rows[name] = [symbol, *rest.split()]
    return rows


@pytest.mark.parametrize("example", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.name)
def test_every_example_plans_within_80_columns(workspace: Workspace, example: Path) -> None:
    workspace.write(example.read_text())
    planned = workspace.vastplan("plan")
    assert planned.code == 0, planned.text
    assert not _too_wide(planned.out)
    assert "ssh-ed25519 AAAA" not in planned.out  # the key's text: shown as its fingerprint
    assert "Plan: " in planned.out and _summary_rows(planned.out)


def test_a_ten_box_plan_shortens_keys_and_sums_up_in_a_table(workspace: Workspace) -> None:
    workspace.write(f"""
version: 1
stack: fleet
ssh_keys:
  ops: {{public_key: "{OPS_KEY}"}}
instances:
  worker:
    count: 10
    image: ubuntu
    ssh_keys: [ops]
    offer: {{num_gpus: 1, gpu_name: "RTX 3060"}}
    onstart: |
      echo one
      echo "a line far longer than the eighty columns of a terminal, which the plan must fold"
""")
    planned = workspace.vastplan("plan")
    assert planned.code == 0, planned.text
    assert not _too_wide(planned.out)
    assert OPS_KEY not in planned.out and planned.out.count(OPS_PRINT) == 11  # the key, and each worker's list
    assert "+ public_key = SHA256:" in planned.out and f"+ ssh_keys = [{OPS_PRINT}]" in planned.out
    assert "+ onstart = <<-EOT\n          echo one\n" in planned.out
    rows = _summary_rows(planned.out)
    assert list(rows) == [f"worker[{i}]" for i in range(10)]
    listed = json.loads(workspace.vastplan("plan", "--json").out)
    for change in listed["resource_changes"]:
        if change["address"].startswith("instances."):
            name = change["address"].removeprefix("instances.")
            machine, gpus = change["change"]["after"]["offer"].removeprefix("machine ").split(", ")[0].split(": ")
            cells = " ".join(rows[name])
            assert cells.startswith(f"+ {gpus} {machine} ") and re.search(r" \d+\.\d{3}$", cells), cells


def test_a_changed_script_shows_only_its_changed_lines(workspace: Workspace) -> None:
    script = "\n".join(f"echo step {i}" for i in range(8)) + "\n"
    stack = f"""
version: 1
stack: scripts
templates:
  base: {{image: ubuntu, onstart: {json.dumps(script)}}}
"""
    workspace.write(stack)
    assert workspace.vastplan("apply", "--auto-approve").code == 0
    workspace.write(stack.replace("echo step 5", "echo step five"))
    planned = workspace.vastplan("plan")
    assert planned.code == 0, planned.text
    lines = planned.out.split("~ onstart = <<-EOT\n", 1)[1].split("EOT", 1)[0].splitlines()
    shown = [line.strip() for line in lines if line.strip()]
    assert shown == ["# (5 unchanged lines hidden)", "- echo step 5", "+ echo step five", "echo step 6", "echo step 7"]


@pytest.mark.parametrize("bids", [False, True], ids=["on-demand", "interruptible"])
def test_offers_fit_80_columns(workspace: Workspace, bids: bool) -> None:
    listed = workspace.vastplan("offers", "{}", "--limit", "1000", *(["--interruptible"] if bids else []), stack=False)
    assert listed.code == 0, listed.text
    lines = listed.out.splitlines()
    assert len(lines) > 50 and not _too_wide(listed.out)
    assert lines[0].split() == ["offer", "GPUs", "VRAM", "location", "rel.", "CUDA", "min" if bids else "$/hr",
                                *(["bid"] if bids else []), "machine"]
