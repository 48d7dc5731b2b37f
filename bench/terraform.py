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
from typing import Any

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


# Terraform's own apply of 10,000 terraform_data took over a quarter of an hour on 2 cores; above this
# many resources the state is written the way that apply writes it (see Project._state_as_applied),
# and the plan that follows must still say "No changes." or the figure fails.
APPLY_UP_TO = 1_000


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
        if applied and comp.n <= APPLY_UP_TO:
            run([self.bin, "apply", "-auto-approve", "-input=false", "-no-color", "-parallelism=50"], self.env,
                cwd=self.dir)
        elif applied:
            self._state_as_applied(work, comp)

    def _state_as_applied(self, work: Path, comp: Composition) -> None:
        """The state ``terraform apply`` would leave for ``comp``: a small stack of the same shapes is
        applied for real, and its entries (their value types, provider, layout) are repeated with
        each resource's own values."""
        import json
        import uuid

        proto_dir = work / "tf-prototype"
        proto_dir.mkdir(parents=True, exist_ok=True)
        (proto_dir / "main.tf").write_text(config_text(Composition(6, 1, 2, (2, 1))))
        run([self.bin, "init", "-input=false", "-no-color"], self.env, cwd=proto_dir)
        run([self.bin, "apply", "-auto-approve", "-input=false", "-no-color"], self.env, cwd=proto_dir)
        proto = json.loads((proto_dir / "terraform.tfstate").read_text())
        blocks = {r["name"]: r for r in proto["resources"]}
        key = blocks["k0"]["instances"][0]["attributes"]["input"]["value"]["public_key"].rsplit(" ", 1)[0]

        def entry(block: str, value: dict[str, Any], index: int | None = None) -> dict[str, Any]:
            model = json.loads(json.dumps(blocks[block]["instances"][0]))
            if index is None:
                model.pop("index_key", None)
            else:
                model["index_key"] = index
            model["attributes"]["id"] = str(uuid.uuid4())
            model["attributes"]["input"]["value"] = value
            model["attributes"]["output"]["value"] = value
            return model

        def resource(name: str, like: str, instances: list[dict[str, Any]],
                     depends: list[str] | None = None) -> dict[str, Any]:
            if depends is not None:
                for instance in instances:
                    instance["dependencies"] = depends
            return {**{k: v for k, v in blocks[like].items() if k != "instances"}, "name": name,
                    "instances": instances}

        resources = [resource(f"k{i}", "k0", [entry("k0", {"public_key": f"{key} bench{i}@example"})])
                     for i in range(comp.keys)]
        resources += [resource(f"t{i}", "t0", [entry("t0", {
            "disk_gb": 10, "env": {"MODEL": f"m{i}", "TZ": "UTC"}, "image": f"bench/image{i}",
            "onstart": f"echo {i}", "ports": [8000], "tag": f"1.{i}"})]) for i in range(comp.templates)]
        resources += [resource(f"g{g}", "g0", [entry("g0", {"disk_gb": 10, "index": i,
                                                            "template": f"bench/image{g % comp.templates}"}, i)
                                               for i in range(count)], [f"terraform_data.t{g % comp.templates}"])
                      for g, count in enumerate(comp.groups)]
        state = {**proto, "serial": 1, "lineage": str(uuid.uuid4()),
                 "resources": sorted(resources, key=lambda r: r["name"])}
        (self.dir / "terraform.tfstate").write_text(json.dumps(state, indent=2))

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
