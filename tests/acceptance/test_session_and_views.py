"""One Session per command, and one view chosen from click's parsed flags (issue 11): the backup
holds the state from before the command, `--sandbox DIR plan --json` is one document, apply events
carry the executor's resource id, flag errors answer in the requested format, -v shows a bug's traceback."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.harness import Workspace, document, events, skeleton_stack

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def serial(path: Path) -> int:
    loaded: dict[str, Any] = json.loads(path.read_text())
    return int(loaded["serial"])


def test_backup_holds_the_state_from_before_the_second_apply(workspace: Workspace) -> None:
    quickstart = (EXAMPLES / "quickstart.yaml").read_text()
    workspace.write(quickstart)
    assert workspace.vastplan("apply", "--auto-approve").code == 0
    before = workspace.state_path.read_text()
    # A new template disk replaces the instance: its ssh output changes, so the apply writes the
    # outputs after its changes (the write that once went through a second backend).
    workspace.write(quickstart.replace("disk_gb: 20", "disk_gb: 24"))
    second = workspace.vastplan("apply", "--auto-approve")
    assert second.code == 0, second.text
    assert "1 added" in second.out
    backup = workspace.state_path.with_name(workspace.state_path.name + ".backup")
    assert serial(workspace.state_path) > serial(backup)
    assert serial(backup) == json.loads(before)["serial"]
    assert json.loads(backup.read_text()) == json.loads(before)


def test_sandbox_flag_before_the_command_still_gives_one_plan_document(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    from vastplan.cli.root import run

    monkeypatch.delenv("VASTPLAN_API_URL", raising=False)
    stack_file = tmp_path / "stack.yaml"
    stack_file.write_text(skeleton_stack())
    capsys.readouterr()
    code = run(["--sandbox", str(tmp_path / "cloud"), "plan", "--json", "-f", str(stack_file)])
    out = capsys.readouterr().out
    assert code == 0, out
    doc = json.loads(out)  # exactly one JSON document: json.loads refuses anything after it
    assert doc["summary"] == {"add": 3, "change": 0, "destroy": 0}
    assert doc["errors"] == 0


def test_apply_events_carry_the_executors_resource_id(workspace: Workspace) -> None:
    workspace.write(skeleton_stack())
    applied = workspace.vastplan("apply", "--json", "--auto-approve")
    assert applied.code == 0, applied.text
    ids = {address: entry["id"] for address, entry in workspace.state()["resources"].items()}
    complete = {e["resource"]["address"]: e for e in events(applied) if e["type"] == "apply_complete"}
    assert {a: e["resource_id"] for a, e in complete.items()} == ids
    starts = [e for e in events(applied) if e["type"] == "apply_start"]
    assert starts and all(e["resource_id"] is None for e in starts)  # nothing existed yet

    destroyed = events(workspace.vastplan("destroy", "--json", "--auto-approve"))
    gone = {e["resource"]["address"]: e["resource_id"] for e in destroyed if e["type"] == "apply_start"}
    assert gone == ids


def test_flag_errors_answer_in_the_format_the_parsed_flags_ask_for(workspace: Workspace) -> None:
    workspace.write(skeleton_stack())
    before = workspace.vastplan("plan", "--bogus", "--json")  # --json after the bad flag counts too
    assert before.code == 1 and before.err == ""
    assert "--bogus" in document(before)["diagnostics"][0]["summary"]

    streamed = workspace.vastplan("destroy", "--auto-approve", "--parallelism", "0", "--json")
    assert streamed.code == 1 and streamed.err == ""
    assert [e["type"] for e in events(streamed)] == ["version", "diagnostic"]

    as_value = workspace.vastplan("plan", "--var", "--json")  # here "--json" is the value of --var
    assert as_value.code == 1 and as_value.out == "" and "--var takes NAME=VALUE, got '--json'" in as_value.err

    text = workspace.vastplan("plan", "--bogus")
    assert text.code == 1 and text.out == "" and "--bogus" in text.err


def test_query_commands_print_their_json_through_the_view(workspace: Workspace) -> None:
    workspace.write(skeleton_stack())
    assert workspace.vastplan("apply", "--auto-approve").code == 0
    shown = workspace.vastplan("output", "--json")
    assert shown.code == 0 and json.loads(shown.out) == {}
    assert workspace.vastplan("output").out == ""
    missing = workspace.vastplan("output", "nope", "--json")
    assert missing.code == 1 and missing.out == "" and "no output named 'nope'" in missing.err


def test_an_internal_error_is_one_line_and_its_traceback_only_with_verbose(
        workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    import vastplan.stack

    def broken(*_: object, **__: object) -> None:
        raise RuntimeError("a bug in the loader")

    monkeypatch.setattr(vastplan.stack, "load_stack", broken)
    workspace.write(skeleton_stack())
    quiet = workspace.vastplan("validate")
    assert quiet.code == 1
    assert quiet.err.strip().splitlines() == [
        "error: internal error (RuntimeError: a bug in the loader); please report it"]
    loud = workspace.vastplan("validate", "-v")
    assert loud.code == 1
    assert "Traceback (most recent call last)" in loud.err and 'raise RuntimeError("a bug in the loader")' in loud.err
    assert loud.err.rstrip().endswith("error: internal error (RuntimeError: a bug in the loader); please report it")


def test_an_apply_builds_one_state_backend_and_one_client(workspace: Workspace,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from vastplan.api.client import VastClient
    from vastplan.state.backends.local import LocalStateFile

    built: list[str] = []
    for cls in (LocalStateFile, VastClient):
        original = cls.__init__

        def counting(self: Any, *args: Any, _original: Any = original, **kwargs: Any) -> None:
            built.append(type(self).__name__)
            _original(self, *args, **kwargs)

        monkeypatch.setattr(cls, "__init__", counting)
    workspace.write(skeleton_stack())
    assert workspace.vastplan("apply", "--auto-approve").code == 0
    assert sorted(built) == ["LocalStateFile", "VastClient"]
