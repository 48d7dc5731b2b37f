"""Account secrets (Vast.ai env vars) as desired state, through the CLI against the sandbox: plan,
apply, converge, an in-place value change, drift, import of what the official CLI made, destroy. The
values are canaries: the workspace fixture proves that none reached an output, a plan, the state or
the sandbox's files (``tests.harness.assert_no_canary``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.harness import CANARY_API_KEY, SECRET_CANARIES, Workspace, api_get
from tests.vastai_cli import run_vastai

FIRST, SECOND = SECRET_CANARIES

STACK = """
version: 1
stack: vault
secrets:
  hf_token: {value: {from_env: HF_TOKEN_FOR_TEST}}
  wandb: {key: wandb_api_key, value: {from_file: wandb.txt}}
templates:
  vllm:
    image: vllm/vllm-openai
    secrets: [hf_token]
    onstart: 'huggingface-cli login --token "$HF_TOKEN"'
"""


def vastai(ws: Workspace, tmp_path: Path, *args: str) -> str:
    done = run_vastai(ws.api_url, CANARY_API_KEY, *args, config_dir=tmp_path / "cli")
    ws.outputs += [done.stdout, done.stderr]
    assert done.returncode == 0, done.stderr
    return done.stdout


def env_var_names(ws: Workspace, tmp_path: Path) -> list[str]:
    """What the official CLI's ``show env-vars`` lists (values masked, as it prints them by default)."""
    return sorted(json.loads(vastai(ws, tmp_path, "show", "env-vars", "--raw")))


def prepared(ws: Workspace, monkeypatch: pytest.MonkeyPatch, value: str = FIRST) -> None:
    monkeypatch.setenv("HF_TOKEN_FOR_TEST", value)
    source = ws.root / "wandb.txt"
    source.write_text(SECOND + "\n")
    ws.secret_sources.add(source)
    ws.write(STACK)


def test_secrets_plan_apply_converge_change_and_destroy(workspace: Workspace, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    prepared(workspace, monkeypatch)
    planned = workspace.vastplan("plan", "-v", "--out", "saved.plan")
    assert planned.code == 0, planned.text
    assert "secrets.hf_token" in planned.out and "(sensitive)" in planned.out
    # The secret is made before the template that reads it.
    applied = workspace.vastplan("apply", "saved.plan", "-v")  # the value is read again, not saved
    assert applied.code == 0, applied.text
    assert applied.out.index("secrets.hf_token: Creation complete") < applied.out.index("templates.vllm: Creat")
    assert env_var_names(workspace, tmp_path) == ["HF_TOKEN", "WANDB_API_KEY"]

    state = workspace.state()["resources"]
    assert state["secrets.hf_token"]["id"] == "HF_TOKEN"
    assert state["secrets.hf_token"]["attributes"]["value"] == "(sensitive)"
    assert state["secrets.hf_token"]["attributes"]["value_hash"].startswith("hmac-sha256:")
    assert state["templates.vllm"]["depends_on"] == ["secrets.hf_token"]
    assert state["templates.vllm"]["attributes"]["secrets"] == ["HF_TOKEN"]
    assert workspace.vastplan("plan", "--detailed-exitcode").code == 0

    # A new value is an in-place update, shown without either value.
    monkeypatch.setenv("HF_TOKEN_FOR_TEST", SECOND)
    changed = workspace.vastplan("plan", "--detailed-exitcode")
    assert changed.code == 2, changed.text
    assert "~ value = (sensitive) -> (sensitive)" in changed.out
    assert "Plan: 0 to add, 1 to change, 0 to destroy." in changed.out
    assert workspace.vastplan("apply", "--auto-approve").code == 0
    assert workspace.vastplan("plan", "--detailed-exitcode").code == 0
    assert api_get(workspace.api_url, "/api/v0/secrets/", CANARY_API_KEY)["secrets"]["HF_TOKEN"] == SECOND

    # The template stops reading it: an in-place template update; the secret stays.
    workspace.write(STACK.replace("    secrets: [hf_token]\n", ""))
    dropped = workspace.vastplan("plan", "--detailed-exitcode")
    assert dropped.code == 2 and '~ secrets = ["HF_TOKEN"] -> []' in dropped.out, dropped.text
    assert "Plan: 0 to add, 1 to change, 0 to destroy." in dropped.out
    assert workspace.vastplan("apply", "--auto-approve").code == 0
    assert workspace.vastplan("plan", "--detailed-exitcode").code == 0
    workspace.write(STACK)
    assert workspace.vastplan("apply", "--auto-approve").code == 0

    destroyed = workspace.vastplan("destroy", "--auto-approve")
    assert destroyed.code == 0, destroyed.text
    assert destroyed.out.index("templates.vllm: Destruction complete") < \
        destroyed.out.index("secrets.hf_token: Destruction complete")
    assert env_var_names(workspace, tmp_path) == []


def test_a_value_changed_or_deleted_outside_is_drift_and_apply_puts_the_stack_value_back(
        workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    prepared(workspace, monkeypatch)
    assert workspace.vastplan("apply", "--auto-approve").code == 0
    vastai(workspace, tmp_path, "update", "env-var", "HF_TOKEN", SECOND)
    drifted = workspace.vastplan("plan", "--detailed-exitcode")
    assert drifted.code == 2, drifted.text
    assert "secret HF_TOKEN had its value changed outside vastplan" in drifted.text
    assert "# secrets.hf_token will be updated in place" in drifted.out
    assert workspace.vastplan("apply", "--auto-approve").code == 0
    assert api_get(workspace.api_url, "/api/v0/secrets/", CANARY_API_KEY)["secrets"]["HF_TOKEN"] == FIRST
    assert workspace.vastplan("plan", "--detailed-exitcode").code == 0

    vastai(workspace, tmp_path, "delete", "env-var", "HF_TOKEN")
    gone = workspace.vastplan("plan", "--detailed-exitcode")
    assert gone.code == 2 and "secret HF_TOKEN was deleted outside vastplan" in gone.text, gone.text
    assert "# secrets.hf_token will be created" in gone.out
    assert workspace.vastplan("apply", "--auto-approve").code == 0
    assert env_var_names(workspace, tmp_path) == ["HF_TOKEN", "WANDB_API_KEY"]


def test_an_env_var_made_by_the_official_cli_is_imported_not_created_again(
        workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    vastai(workspace, tmp_path, "create", "env-var", "hf_token", FIRST)
    prepared(workspace, monkeypatch)
    refused = workspace.vastplan("plan")
    assert refused.code == 1
    assert "already has an environment variable HF_TOKEN" in refused.text
    assert "vastplan import secrets.hf_token HF_TOKEN" in refused.text

    imported = workspace.vastplan("import", "secrets.hf_token", "HF_TOKEN")
    assert imported.code == 0, imported.text
    # Same value: nothing to change for it (the template and the other secret are still to create).
    plan = workspace.vastplan("plan", "-json")
    changes = {c["address"]: c["change"]["actions"] for c in json.loads(plan.out)["resource_changes"]}
    assert changes["secrets.hf_token"] == ["no-op"], plan.out
    assert workspace.vastplan("apply", "--auto-approve").code == 0
    assert workspace.vastplan("plan", "--detailed-exitcode").code == 0
    assert workspace.vastplan("destroy", "--auto-approve").code == 0
    assert env_var_names(workspace, tmp_path) == []


def test_a_secret_without_its_source_is_refused_at_its_line(workspace: Workspace, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HF_TOKEN_FOR_TEST", raising=False)
    workspace.write("version: 1\nstack: vault\nsecrets:\n  hf_token: {value: {from_env: HF_TOKEN_FOR_TEST}}\n"
                    "  inline: {value: plain-text}\n  again: {key: Hf_Token, value: {from_file: t.txt}}\n")
    (workspace.root / "t.txt").write_text("x")
    found = workspace.vastplan("validate")
    assert found.code == 1
    assert 'stack.yaml:4:' in found.text and 'environment variable "HF_TOKEN_FOR_TEST" is not set' in found.text
    assert "stack.yaml:5:" in found.text and "is never written in the stack file" in found.text
    assert 'stack.yaml:6:' in found.text and 'secrets "hf_token" and "again" both make' in found.text
    assert "Traceback" not in found.text


def test_a_sensitive_variable_may_give_the_value_and_a_plain_one_may_not(workspace: Workspace) -> None:
    stack = ("version: 1\nstack: vault\nvariables:\n  tok: {default: not-a-real-token, sensitive: %s}\n"
             "secrets:\n  hf_token: {value: \"${var.tok}\"}\n")
    workspace.write(stack % "false")
    plain = workspace.vastplan("validate")
    assert plain.code == 1 and "stack.yaml:6:" in plain.text and "sensitive variable" in plain.text
    assert "not-a-real-token" not in plain.text
    workspace.write(stack % "true")
    assert workspace.vastplan("validate").code == 0
