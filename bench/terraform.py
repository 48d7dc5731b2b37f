"""Terraform side by side: the same shape of configuration as ``common.stack_text`` made of
``terraform_data`` resources, which Terraform plans with no provider to download and no network at
all: its bare core cost (graph, state, plan, rendering), the floor any provider's plan starts from.

Used only when ``terraform`` is on PATH; every Terraform run gets its own CLI config, home and
plugin cache in the work folder, checkpoint (version check) off, no colour, no input.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from bench.common import Composition, Run, run


def terraform_bin() -> str | None:
    return shutil.which("terraform")


def version() -> str:
    found = terraform_bin()
    if found is None:
        return "not on PATH"
    home = Path(os.environ.get("TMPDIR", "/tmp")) / "vastplan-bench-tf-home"
    result = run([found, "version"], terraform_env(home), check=False)
    return result.out.splitlines()[0].strip() if result.out else f"exit {result.code}"


def terraform_env(home: Path) -> dict[str, str]:
    home.mkdir(parents=True, exist_ok=True)
    config = home / "terraformrc"
    config.write_text("")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TF_")}
    env.update({"HOME": str(home), "TF_CLI_CONFIG_FILE": str(config), "CHECKPOINT_DISABLE": "1",
                "TF_IN_AUTOMATION": "1", "TF_INPUT": "0", "NO_COLOR": "1"})
    return env


def config_text(comp: Composition) -> str:
    """N resources as ``common.stack_text`` lays them out: one key, the templates, the count groups
    (each group's input names its template's output, so the graph has the same edges)."""
    key = ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK0wmN/Cr3JXqmLW7u+g9pTh+wyqDHpSQEIQczXkVx9q")
    blocks = [f'resource "terraform_data" "k{i}" {{\n  input = {{ public_key = "{key} bench{i}@example" }}\n}}'
              for i in range(comp.keys)]
    blocks += [f'resource "terraform_data" "t{i}" {{\n  input = {{ image = "bench/image{i}", tag = "1.{i}", '
               f'env = {{ MODEL = "m{i}", TZ = "UTC" }}, ports = [8000], onstart = "echo {i}", disk_gb = 10 }}\n}}'
               for i in range(comp.templates)]
    blocks += [f'resource "terraform_data" "g{g}" {{\n  count = {count}\n  input = {{ template = '
               f'terraform_data.t{g % comp.templates}.output.image, disk_gb = 10, index = count.index }}\n}}'
               for g, count in enumerate(comp.groups)]
    return "\n\n".join(blocks) + "\n"


class Project:
    """A Terraform working directory holding N applied ``terraform_data`` resources."""

    def __init__(self, work: Path, comp: Composition, *, applied: bool = True):
        found = terraform_bin()
        if found is None:
            raise RuntimeError("terraform is not on PATH")
        self.bin = found
        self.dir = work / "tf"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.env = terraform_env(work / "tf-home")
        (self.dir / "main.tf").write_text(config_text(comp))
        run([self.bin, "init", "-input=false", "-no-color"], self.env, cwd=self.dir)
        if applied:
            run([self.bin, "apply", "-auto-approve", "-input=false", "-no-color", "-parallelism=50"], self.env,
                cwd=self.dir)

    def plan_argv(self) -> list[str]:
        return [self.bin, "plan", "-input=false", "-no-color"]

    def validate_argv(self) -> list[str]:
        return [self.bin, "validate", "-no-color"]

    def plan(self) -> Run:
        result = run(self.plan_argv(), self.env, cwd=self.dir, check=False)
        if result.code != 0 or "No changes" not in result.out:
            raise RuntimeError(f"terraform plan did not plan clean (exit {result.code}):\n{result.out[-2000:]}"
                               f"\n{result.err[-2000:]}")
        return result
