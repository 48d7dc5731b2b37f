"""Terraform's everyday commands, through the CLI: show (the state), output -raw, apply -destroy,
taint / untaint, VASTPLAN_VAR_name, schema, completion."""

from __future__ import annotations

import json
import os
from pathlib import Path

import jsonschema
import pytest
import yaml

from tests.harness import KEY_A, Workspace, instances, state_id

STACK = f"""
version: 1
stack: everyday
variables:
  image: {{default: ubuntu}}
  gpus: {{type: number, default: 1}}
ssh_keys:
  me: {{public_key: "{KEY_A}"}}
templates:
  base:
    name: base
    image: "${{var.image}}"
    tag: "22.04"
    env: {{TOKEN: {{value: "t0ken-v4lue", sensitive: true}}}}
outputs:
  template_id: {{value: "${{templates.base.id}}"}}
  token_out: {{value: "${{templates.base.id}}-secret", sensitive: true}}
"""

BOX = """
version: 1
stack: box
instances:
  box:
    image: ubuntu
    offer: {num_gpus: 1, gpu_name: "RTX 3090"}
    count: 1
    readiness: {timeout: 20s}
outputs:
  ssh: {value: "${instances.box[*].ssh_url}"}
"""


def test_show_without_a_plan_file_shows_the_state(workspace: Workspace) -> None:
    workspace.write(STACK)
    empty = workspace.vastplan("show")
    assert empty.code == 0 and "holds nothing yet" in empty.out
    assert workspace.vastplan("apply", "-auto-approve").code == 0
    human = workspace.vastplan("show")
    assert human.code == 0, human.text
    assert "# ssh_keys.me:" in human.out and "# templates.base:" in human.out
    assert f"template_id = {state_id(workspace, 'templates.base')}\n" in human.out
    assert 'token_out = "(sensitive)"' in human.out
    assert "t0ken-v4lue" not in human.text
    doc = json.loads(workspace.vastplan("show", "-json").out)
    assert [r["address"] for r in doc["resources"]] == ["ssh_keys.me", "templates.base"]
    assert doc["resources"][1]["id"] == state_id(workspace, "templates.base")
    assert doc["outputs"]["token_out"] == {"value": "(sensitive)", "sensitive": True}
    assert "t0ken-v4lue" not in json.dumps(doc)


def test_output_raw_prints_the_bare_value(workspace: Workspace) -> None:
    workspace.write(STACK)
    assert workspace.vastplan("apply", "--auto-approve").code == 0
    template = state_id(workspace, "templates.base")
    assert workspace.vastplan("output", "template_id", "-raw").out == f"{template}\n"
    assert workspace.vastplan("output", "token_out", "--raw").out == f"{template}-secret\n"
    unnamed = workspace.vastplan("output", "-raw")
    assert unnamed.code == 1 and "--raw prints one output" in unnamed.err


def test_apply_destroy_is_destroy(workspace: Workspace) -> None:
    workspace.write(STACK)
    assert workspace.vastplan("apply", "--auto-approve").code == 0
    destroyed = workspace.vastplan("apply", "-destroy", "-auto-approve")
    assert destroyed.code == 0, destroyed.text
    assert "Destroy complete! Resources: 2 destroyed." in destroyed.out
    assert workspace.state()["resources"] == {}
    saved = workspace.vastplan("apply", "-destroy", "plan.file")
    assert saved.code == 1 and "--destroy cannot be used with a saved plan" in saved.err


def test_untaint_keeps_an_instance_the_next_plan_would_replace(workspace: Workspace) -> None:
    workspace.write(BOX)
    assert workspace.vastplan("apply", "--auto-approve").code == 0
    box = state_id(workspace, "instances.box[0]")
    tainted = workspace.vastplan("taint", "instances.box[0]")
    assert tainted.code == 0 and "the next apply replaces it" in tainted.out
    assert workspace.state()["resources"]["instances.box[0]"]["tainted"] is True
    assert "must be replaced" in workspace.vastplan("plan").out
    listed = workspace.vastplan("output", "ssh", "-raw")
    assert listed.code == 1 and "is a list; --raw prints only strings" in listed.err
    untainted = workspace.vastplan("untaint", "instances.box[0]")
    assert untainted.code == 0 and "no longer tainted" in untainted.out
    assert "No changes." in workspace.vastplan("plan").out
    assert workspace.vastplan("apply", "--auto-approve").code == 0
    assert state_id(workspace, "instances.box[0]") == box and box in instances(workspace)
    unknown = workspace.vastplan("untaint", "instances.nope")
    assert unknown.code == 1 and "not in the state" in unknown.err


def test_vastplan_var_environment_variables_rank_below_var_files(
        workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    workspace.write(STACK)
    monkeypatch.setenv("VASTPLAN_VAR_image", "alpine")
    monkeypatch.setenv("VASTPLAN_VAR_undeclared", "ignored, as Terraform ignores TF_VAR_ it does not know")
    assert '"alpine"' in workspace.vastplan("plan").out
    workspace.write("image: debian\n", "vars.yaml")
    assert '"debian"' in workspace.vastplan("plan", "--var-file", "vars.yaml").out
    assert '"fedora"' in workspace.vastplan("plan", "--var-file", "vars.yaml", "--var", "image=fedora").out
    monkeypatch.setenv("VASTPLAN_VAR_gpus", "many")
    bad = workspace.vastplan("validate")
    assert bad.code == 1 and "VASTPLAN_VAR_gpus" in bad.err and "Traceback" not in bad.text


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    from vastplan.cli.root import run

    code = run(list(argv))
    return code, capsys.readouterr().out


def test_schema_prints_the_schema_and_its_path(capsys: pytest.CaptureFixture[str]) -> None:
    code, where = _run(capsys, "schema", "--path")
    path = Path(where.strip())
    assert code == 0 and path.is_file() and path.name == "stack.schema.json"
    code, text = _run(capsys, "schema")
    printed = json.loads(text)
    assert code == 0 and printed == json.loads(path.read_text())
    jsonschema.Draft202012Validator(printed).validate(yaml.safe_load(STACK))  # what an editor does with it


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_prints_clicks_script(capsys: pytest.CaptureFixture[str], shell: str) -> None:
    code, script = _run(capsys, "completion", shell)
    assert code == 0 and "_VASTPLAN_COMPLETE" in script
    code, _ = _run(capsys, "completion", "tcsh")
    assert code == 1


def _complete(workspace: Workspace, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
              words: list[str]) -> list[str]:
    """What bash would offer for the last word, through the CLI's own completion protocol."""
    monkeypatch.setenv("_VASTPLAN_COMPLETE", "bash_complete")
    monkeypatch.setenv("COMP_WORDS", " ".join(["vastplan", *words]))
    monkeypatch.setenv("COMP_CWORD", str(len(words)))
    cwd = os.getcwd()
    os.chdir(workspace.root)
    try:
        with pytest.raises(SystemExit):
            _run(capsys)
    finally:
        os.chdir(cwd)
    return [line.split(",", 1)[1] for line in capsys.readouterr().out.splitlines() if line]


def test_completion_offers_addresses_from_the_state(workspace: Workspace, monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    workspace.write(STACK)
    assert workspace.vastplan("apply", "--auto-approve").code == 0
    stack = str(workspace.stack)
    every = ["ssh_keys.me", "templates.base"]
    assert _complete(workspace, monkeypatch, capsys, ["state", "show", "-f", stack, ""]) == every
    assert _complete(workspace, monkeypatch, capsys, ["taint", "-f", stack, "tem"]) == ["templates.base"]
    assert _complete(workspace, monkeypatch, capsys, ["plan", "-f", stack, "--target", "ssh"]) == ["ssh_keys.me"]
    assert _complete(workspace, monkeypatch, capsys, ["state", "show", "-f", "missing.yaml", ""]) == []
