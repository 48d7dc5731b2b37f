"""A live account and a matching state of N resources, built quickly.

The SSH key and the templates are applied by ``vastplan apply`` itself; the instances (up to ~10,000)
are rented through the API directly, with exactly the create body vastplan would send, and recorded
in the state file through vastplan's own state module, so the next ``plan`` finds nothing to change.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from bench.common import Composition, Sandbox, api, client_env, free_single_gpu_machines, run, stack_text, vastplan_cmd

STACK_NAME = "bench"


@dataclass(frozen=True)
class Fixture:
    stack: Path
    state: Path
    comp: Composition

    def plan_argv(self, url: str) -> list[str]:
        return [*vastplan_cmd(), "plan", "-f", str(self.stack), "--state", str(self.state), "--api-url", url]


def build(sb: Sandbox, work: Path, comp: Composition) -> Fixture:
    from vastplan.kinds import KINDS
    from vastplan.kinds import instance_config as cfg
    from vastplan.kinds.base import Planning
    from vastplan.stack import load_stack
    from vastplan.state.backends.local import LocalStateFile
    from vastplan.state.model import ResourceState

    env = client_env(work / "home")
    state_path = work / "stack.vpstate.json"
    base = work / "base.yaml"
    base.write_text(stack_text(STACK_NAME, comp, with_instances=False))
    run([*vastplan_cmd(), "apply", "-f", str(base), "--state", str(state_path), "--auto-approve",
         "--api-url", sb.url], env, cwd=work)
    stack_path = work / "stack.yaml"
    stack_path.write_text(stack_text(STACK_NAME, comp))
    if not comp.instances:
        return Fixture(stack_path, state_path, comp)

    backend = LocalStateFile(state_path)
    state = backend.read()
    assert state is not None
    stack = load_stack(stack_path)
    planning = Planning(stack, state, {})
    kind = KINDS["instance"]
    specs = [s for s in stack.resources if s.kind == "instance"]
    machines = free_single_gpu_machines(sb.url, len(specs))
    calls, desired_of = [], []
    for spec, machine in zip(specs, machines, strict=True):
        desired = kind.desired(spec, planning)
        template = cfg.template_spec(spec, stack)
        assert template is not None
        template_hash = state.resources[template.address].attributes.get("hash_id")
        eff = cfg.effective(spec, stack)
        body = cfg.create_body(desired, spec.config, eff["runtype"], cfg.label_for(spec, stack), template_hash, None)
        body["q"] = {"machine_id": {"eq": machine}, "num_gpus": {"eq": 1}, "order": [["dph_total", "asc"]]}
        calls.append(("PUT", "/api/v0/launch_instance/", body))
        desired_of.append(desired)
    answers = api(sb.url, calls, concurrency=8)
    resources = dict(state.resources)
    for spec, desired, answer in zip(specs, desired_of, answers, strict=True):
        attributes = {**desired, "ssh_keys": []}
        resources[spec.address] = ResourceState(kind="instance", id=int(answer["new_contract"]),
                                                attributes=attributes, depends_on=spec.depends_on)
    backend.write(replace(state, resources=resources))
    return Fixture(stack_path, state_path, comp)
