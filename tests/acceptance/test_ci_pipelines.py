"""The CI examples: the GitHub workflow passes actionlint, and the pipeline's shell steps
(examples/ci/vastplan-ci.sh) run in order in two checkout folders playing the pull-request job and
the merge job, against the sandbox with a state both share: a state file at a shared path, or a real
PostgreSQL named by VASTPLAN_BACKEND with the password in PGPASSWORD, as the workflows pass them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import CANARY_API_KEY, assert_no_canary
from tests.harness import Workspace, instances
from vastplan.state.backends.urls import password_of, redact_url

ROOT = Path(__file__).resolve().parents[2]
CI = ROOT / "examples" / "ci"
BIN = Path(sys.executable).parent

STACK = """
version: 1
stack: pipeline
instances:
  worker:
    image: ubuntu
    label: "ci-${workspace}"
    offer: {num_gpus: 1, gpu_name: "RTX 3090"}
    readiness: {timeout: 20s}
"""


def test_the_github_workflow_passes_actionlint() -> None:
    workflow = CI / "github-actions" / "vastplan.yml"
    linted = subprocess.run([str(BIN / "actionlint"), "-no-color", str(workflow)], capture_output=True, text=True,
                            timeout=120)
    assert linted.returncode == 0, linted.stdout + linted.stderr
    jobs = yaml.safe_load(workflow.read_text())["jobs"]
    assert {"plan", "apply", "reap"} <= set(jobs)
    assert any("vastplan-ci.sh apply" in str(step.get("run")) for step in jobs["apply"]["steps"])


def test_the_gitlab_pipeline_runs_the_same_steps() -> None:
    pipeline = yaml.safe_load((CI / "gitlab-ci.yml").read_text())
    for job in ("plan", "apply", "reap"):
        assert any(f"vastplan-ci.sh {job}" in line for line in pipeline[job]["script"]), job


def _job(checkout: Path, step: str, env: dict[str, str], outputs: list[str]) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(["bash", "ci/vastplan-ci.sh", step], cwd=checkout, env=env, capture_output=True,
                          text=True, timeout=300)
    outputs += [done.stdout, done.stderr]
    return done


@pytest.mark.parametrize("backend", ["file", "postgresql"])
def test_the_pipeline_steps_plan_in_one_checkout_and_apply_in_another(
        workspace: Workspace, tmp_path: Path, backend: str, request: pytest.FixtureRequest) -> None:
    checkouts = {}
    for name in ("pr-job", "merge-job"):
        root = tmp_path / name
        (root / "ci").mkdir(parents=True)
        shutil.copy(CI / "vastplan-ci.sh", root / "ci" / "vastplan-ci.sh")
        (root / "vastplan.yaml").write_text(STACK)
        checkouts[name] = root
    shared = tmp_path / "shared" / "pipeline.vpstate.json"
    env = {"PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "HOME": str(tmp_path),
           "XDG_CONFIG_HOME": str(tmp_path / "xdg-config"), "VAST_API_KEY": CANARY_API_KEY,
           "VASTPLAN_API_URL": workspace.api_url, "VASTPLAN_WORKSPACE": "prod",
           "STACK": "vastplan.yaml"}
    if backend == "file":
        env["VASTPLAN_ARGS"] = f"--state {shared}"
    else:
        url = request.getfixturevalue("pg_url")
        env.update(VASTPLAN_BACKEND=redact_url(url), PGPASSWORD=password_of(url))
    outputs: list[str] = []

    planned = _job(checkouts["pr-job"], "plan", env, outputs)
    assert planned.returncode == 0, planned.stdout + planned.stderr
    assert "Merging applies exactly this plan." in (checkouts["pr-job"] / "plan.md").read_text()
    assert instances(workspace) == {}
    shutil.copy(checkouts["pr-job"] / "plan.bin", checkouts["merge-job"] / "plan.bin")  # the artifact
    shutil.rmtree(checkouts["pr-job"])

    applied = _job(checkouts["merge-job"], "apply", env, outputs)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert [row["label"] for row in instances(workspace).values()] == ["vp:pipeline@prod/instances.worker ci-prod"]
    if backend == "file":
        assert (shared.parent / "pipeline.vpstate.json.d" / "prod" / "pipeline.vpstate.json").is_file()
    else:
        import psycopg

        with psycopg.connect(url) as conn:
            rows = conn.execute("SELECT stack, workspace, serial FROM vastplan_states").fetchall()
        assert [(stack, ws) for stack, ws, _ in rows] == [("pipeline", "prod")] and rows[0][2] > 0
        assert not list(checkouts["merge-job"].glob("*.vpstate.json*"))  # nothing kept in the checkout

    again = _job(checkouts["merge-job"], "apply", env, outputs)  # the same plan twice: refused, nothing rented
    assert again.returncode == 1 and "stale" in again.stderr
    replanned = _job(checkouts["merge-job"], "plan", env, outputs)
    assert replanned.returncode == 0 and "No changes." in (checkouts["merge-job"] / "plan.md").read_text()
    reaped = _job(checkouts["merge-job"], "reap", env, outputs)
    assert reaped.returncode == 0 and "Nothing has expired." in reaped.stdout
    assert len(instances(workspace)) == 1
    assert_no_canary(outputs, tmp_path)
