"""A Terraform user's spellings work: every long option vastplan shares with Terraform, with one dash,
``-name=value`` and Terraform's ``-name=true|false`` booleans; bare ``vastplan`` is help."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.harness import KEY_A, Workspace
from vastplan import __version__
from vastplan.cli.root import run
from vastplan.state.lock import StateLock

STACK = f"""
version: 1
stack: habits
variables:
  image: {{default: ubuntu}}
ssh_keys:
  me: {{public_key: "{KEY_A}"}}
templates:
  base: {{name: "base", image: "${{var.image}}", tag: "22.04"}}
"""


@dataclass(frozen=True)
class Spelling:
    argv: tuple[str, ...]
    code: int
    says: str  # in stdout
    applied_first: bool = False  # run against a state that already holds the stack
    stack: bool = True


SPELLINGS = [
    Spelling(("-version",), 0, __version__, stack=False),
    Spelling(("apply", "-auto-approve"), 0, "Apply complete! Resources: 2 added"),
    Spelling(("plan", "-target=templates.base"), 0, "Plan: 1 to add, 0 to change, 0 to destroy."),
    Spelling(("plan", "-target", "templates.base"), 0, "Plan: 1 to add, 0 to change, 0 to destroy."),
    Spelling(("plan", "-var", "image=alpine"), 0, '"alpine"'),
    Spelling(("plan", "-var=image=alpine"), 0, '"alpine"'),
    Spelling(("plan", "-var-file=vars.yaml"), 0, '"debian"'),
    Spelling(("plan", "-var-file", "vars.yaml"), 0, '"debian"'),
    Spelling(("plan", "-out=saved.plan"), 0, "saved.plan"),
    Spelling(("plan", "-out", "saved.plan"), 0, "saved.plan"),
    Spelling(("plan", "-detailed-exitcode"), 2, "Plan: 2 to add"),
    Spelling(("apply", "-auto-approve", "-lock-timeout=5s"), 0, "Apply complete!"),
    Spelling(("apply", "-auto-approve", "-lock-timeout", "1m"), 0, "Apply complete!"),
    Spelling(("apply", "-auto-approve", "-parallelism=1"), 0, "Apply complete!"),
    Spelling(("apply", "-auto-approve", "-parallelism", "1"), 0, "Apply complete!"),
    Spelling(("plan", "-refresh-only"), 0, "No drift: the state matches the account.", applied_first=True),
    Spelling(("plan", "-json"), 0, '"format_version"'),
    Spelling(("plan", "-no-color"), 0, "Plan: 2 to add"),
    Spelling(("plan", "-refresh=false"), 0, "No changes.", applied_first=True),
    Spelling(("plan", "--refresh=false"), 0, "No changes.", applied_first=True),
    Spelling(("plan", "-refresh=true"), 0, "Refreshing: 1 ssh key, 1 template", applied_first=True),
    Spelling(("apply", "-auto-approve", "-lock=false"), 0, "Apply complete!"),
    Spelling(("apply", "-auto-approve", "-lock=true", "-input=false"), 0, "Apply complete!"),
    Spelling(("destroy", "-auto-approve"), 0, "Destroy complete!", applied_first=True),
    Spelling(("apply", "-auto-approve=false", "-input=false"), 1, ""),
    Spelling(("plan", "-help"), 0, "Usage: vastplan plan"),
    Spelling(("-help",), 0, "Usage: vastplan", stack=False),
]


@pytest.mark.parametrize("spelling", SPELLINGS, ids=[" ".join(s.argv) for s in SPELLINGS])
def test_terraform_spelling_is_accepted(workspace: Workspace, spelling: Spelling) -> None:
    workspace.write(STACK)
    workspace.write("image: debian\n", "vars.yaml")
    if spelling.applied_first:
        assert workspace.vastplan("apply", "--auto-approve").code == 0
    result = workspace.vastplan(*spelling.argv, stack=spelling.stack)
    assert result.code == spelling.code, result.text
    assert spelling.says in result.out
    assert "No such option" not in result.err and "Traceback" not in result.text
    assert "\x1b[" not in result.text


def test_refresh_false_reads_nothing_from_the_account(workspace: Workspace) -> None:
    workspace.write(STACK)
    assert workspace.vastplan("apply", "--auto-approve").code == 0
    assert "(0 requests" not in workspace.vastplan("plan").out
    assert "(0 requests" in workspace.vastplan("plan", "-refresh=false").out


def test_saved_plan_and_json_spellings_do_what_their_long_forms_do(workspace: Workspace) -> None:
    workspace.write(STACK)
    assert workspace.vastplan("plan", "-out=saved.plan").code == 0
    assert json.loads(workspace.vastplan("show", "saved.plan", "-json").out)["resource_changes"]
    assert workspace.vastplan("apply", "saved.plan").code == 0
    assert set(workspace.state()["resources"]) == {"ssh_keys.me", "templates.base"}


def test_a_value_that_starts_with_a_dash_is_left_alone(workspace: Workspace) -> None:
    workspace.write(STACK)
    result = workspace.vastplan("plan", "-out", "-json")  # a plan file named "-json", not JSON output
    assert result.code == 0, result.text
    assert (workspace.root / "-json").is_file()
    assert result.out.lstrip().startswith("Refreshing")


def test_short_options_and_unknown_single_dash_options_keep_their_meaning(workspace: Workspace) -> None:
    workspace.write(STACK)
    verbose = workspace.vastplan("-v", "plan")  # -v is --verbose, never a Terraform spelling
    assert verbose.code == 0 and "vastplan.api" in verbose.err
    unknown = workspace.vastplan("plan", "-bogus")
    assert unknown.code == 1 and "No such option" in unknown.err and "Traceback" not in unknown.text
    not_here = workspace.vastplan("validate", "-auto-approve")  # validate has no --auto-approve
    assert not_here.code == 1 and "No such option '--auto-approve'" in not_here.err
    no_lock_here = workspace.vastplan("validate", "-lock=false")  # nor a lock: named as typed, not as -l
    assert no_lock_here.code == 1 and "No such option '--lock'" in no_lock_here.err


def test_lock_false_runs_while_another_process_holds_the_lock(workspace: Workspace) -> None:
    workspace.write(STACK)
    with StateLock(Path(workspace.state_path), "test holder", 0):
        locked = workspace.vastplan("apply", "-auto-approve")
        assert locked.code == 3, locked.text
        unlocked = workspace.vastplan("apply", "-auto-approve", "-lock=false")
    assert unlocked.code == 0, unlocked.text
    assert set(workspace.state()["resources"]) == {"ssh_keys.me", "templates.base"}


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_input_false_never_prompts(workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    workspace.write(STACK)
    monkeypatch.setattr("sys.stdin", _Terminal("yes\n"))
    refused = workspace.vastplan("apply", "-input=false")
    assert refused.code == 1 and "needs --auto-approve" in refused.err
    assert not workspace.state_path.exists()
    asked = workspace.vastplan("apply")
    assert asked.code == 0 and "Enter a value" in asked.out, asked.text


def test_bare_vastplan_prints_help_and_succeeds(capsys: pytest.CaptureFixture[str]) -> None:
    assert run([]) == 0
    shown = capsys.readouterr()
    assert shown.out.startswith("Usage: vastplan") and "  plan " in shown.out and shown.err == ""
