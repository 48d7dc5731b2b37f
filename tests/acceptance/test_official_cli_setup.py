"""A user of the official ``vastai`` CLI keeps its setup: the key in its key files, the API URL in
VAST_URL (its test-server habit). vastplan's own flags and variables still win, and a missing key
names every place that was looked at."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.harness import CANARY_API_KEY, Workspace, skeleton_stack


def vastplan_alone(*args: str, home: Path, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """vastplan in a process whose environment holds nothing vastplan or the CLI reads but ``env``,
    with HOME pointed at ``home``: what a user's shell gives it."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("VAST", "XDG_"))}
    clean.update({"HOME": str(home), "NO_COLOR": "1", **env})
    return subprocess.run([sys.executable, "-m", "vastplan", *args], env=clean, cwd=cwd, text=True,
                          capture_output=True, stdin=subprocess.DEVNULL, timeout=120)


def test_the_legacy_key_file_and_vast_url_reach_the_sandbox(
        workspace: Workspace, tmp_path_factory: pytest.TempPathFactory) -> None:
    home = tmp_path_factory.mktemp("home")  # outside the folder scanned for leaks: it holds the key
    (home / ".vast_api_key").write_text(CANARY_API_KEY + "\n")
    (home / ".vast_api_key").chmod(0o600)
    workspace.write(skeleton_stack())
    planned = vastplan_alone("plan", "-f", str(workspace.stack), home=home, cwd=workspace.root,
                             VAST_URL=workspace.api_url)
    workspace.outputs += [planned.stdout, planned.stderr]
    # Only the sandbox accepts this key, and only VAST_URL names the sandbox: a plan means both were used.
    assert planned.returncode == 0, planned.stderr
    assert "Plan: 3 to add" in planned.stdout
    assert "warning" not in planned.stderr


def test_the_xdg_key_file_comes_before_the_legacy_one_as_in_the_cli(
        workspace: Workspace, tmp_path_factory: pytest.TempPathFactory) -> None:
    home = tmp_path_factory.mktemp("home")
    config = tmp_path_factory.mktemp("config")
    (home / ".vast_api_key").write_text("an-old-key-the-sandbox-refuses\n")
    (config / "vastai").mkdir()
    (config / "vastai" / "vast_api_key").write_text(CANARY_API_KEY)
    for path in (home / ".vast_api_key", config / "vastai" / "vast_api_key"):
        path.chmod(0o600)
    workspace.write(skeleton_stack())
    planned = vastplan_alone("plan", "-f", str(workspace.stack), home=home, cwd=workspace.root,
                             VAST_URL=workspace.api_url, XDG_CONFIG_HOME=str(config))
    workspace.outputs += [planned.stdout, planned.stderr]
    assert planned.returncode == 0, planned.stderr

    # A relative XDG_CONFIG_HOME is ignored (the xdg package the CLI uses does so): ~/.config, then ~.
    relative = vastplan_alone("plan", "-f", str(workspace.stack), home=home, cwd=workspace.root,
                              VAST_URL=workspace.api_url, XDG_CONFIG_HOME="relative/config")
    assert relative.returncode == 4, relative.stderr
    assert "rejected the key (401" in relative.stderr


def test_vastplans_own_url_wins_over_vast_url(workspace: Workspace, tmp_path_factory: pytest.TempPathFactory) -> None:
    home = tmp_path_factory.mktemp("home")
    workspace.write(skeleton_stack())
    unreachable = "http://127.0.0.1:9"  # the discard port: nothing answers there
    for given in (["--api-url", workspace.api_url], []):
        env = {"VAST_URL": unreachable, "VAST_API_KEY": CANARY_API_KEY}
        if not given:
            env["VASTPLAN_API_URL"] = workspace.api_url
        planned = vastplan_alone("plan", "-f", str(workspace.stack), *given, home=home, cwd=workspace.root, **env)
        workspace.outputs += [planned.stdout, planned.stderr]
        assert planned.returncode == 0, planned.stderr


def test_no_key_names_every_place_it_looked(workspace: Workspace, tmp_path_factory: pytest.TempPathFactory) -> None:
    home = tmp_path_factory.mktemp("home")
    config = tmp_path_factory.mktemp("config")
    workspace.write(skeleton_stack())
    planned = vastplan_alone("plan", "-f", str(workspace.stack), home=home, cwd=workspace.root,
                             VAST_URL=workspace.api_url, XDG_CONFIG_HOME=str(config))
    assert planned.returncode == 4
    assert planned.stderr.strip() == (
        f"error: no Vast.ai API key was found (looked at VAST_API_KEY, --api-key-file, "
        f"{config}/vastai/vast_api_key, {home}/.vast_api_key). Set VAST_API_KEY, pass --api-key-file FILE, "
        "or save it with the official CLI: vastai set api-key KEY")
    assert "rejected" not in planned.stderr
