"""Happy paths of load_stack: the full format, defaults, count, variables, secrets, key files."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.stack.support import CASES, PUBLIC_KEY, WriteStack
from vastplan.errors import StackError
from vastplan.stack import load_stack
from vastplan.stack.model import Lifecycle

MINIMAL = """
version: 1
stack: demo
"""


def test_full_example_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_TOKEN", "hf-secret")
    stack = load_stack(CASES / "valid" / "full.yaml")
    assert stack.name == "llm-serving"
    assert stack.budget.max_dph_total == 3.0
    assert stack.ttl == "8h"
    assert [r.address for r in stack.resources] == [
        "ssh_keys.laptop",
        "templates.vllm",
        "volumes.models",
        "instances.server[0]",
        "instances.server[1]",
    ]
    server = stack.by_address()["instances.server[1]"]
    assert server.kind == "instance" and server.name == "server" and server.index == 1
    assert server.depends_on == ("templates.vllm", "ssh_keys.laptop", "volumes.models")
    assert server.config["offer"]["gpu_name"] == "RTX 4090"
    assert server.config["offer"]["num_gpus"] == 2  # "${var.n}" keeps the variable's type
    assert server.lifecycle == Lifecycle(ignore_changes=("label",))
    assert "count" not in server.config and "lifecycle" not in server.config
    template = stack.by_address()["templates.vllm"]
    assert template.config["env"] == {"HF_TOKEN": "hf-secret", "MODEL": "x", "PLAIN": "y"}
    assert template.sensitive_paths == {"env.HF_TOKEN", "env.PLAIN"}
    assert stack.outputs[0].value == "${instances.server[*].ssh_url}"
    assert stack.by_address()["volumes.models"].lifecycle.prevent_destroy


def test_minimal_stack_has_no_resources(write_stack: WriteStack) -> None:
    stack = load_stack(write_stack(MINIMAL))
    assert stack.name == "demo" and stack.resources == () and stack.outputs == ()
    assert stack.budget.max_dph_total is None and stack.ttl is None


def test_defaults_are_filled(write_stack: WriteStack) -> None:
    path = write_stack(
        MINIMAL
        + """
ttl: 2h
templates:
  base: {image: pytorch/pytorch, disk_gb: 32}
volumes:
  data: {size_gb: 10}
instances:
  plain: {image: ubuntu}
  templated: {template: base}
"""
    )
    specs = load_stack(path).by_address()
    assert specs["templates.base"].config == {
        "image": "pytorch/pytorch",
        "disk_gb": 32,
        "name": "base",
        "tag": "latest",
        "env": {},
        "ports": [],
        "runtype": "ssh",
        "ssh_direct": True,
        "jupyter_direct": False,
        "private": True,
    }
    assert specs["volumes.data"].config == {"size_gb": 10, "offer": {}}
    plain = specs["instances.plain"].config
    assert plain["tag"] == "latest" and plain["runtype"] == "ssh" and plain["disk_gb"] == 10
    assert plain["state"] == "running" and plain["ttl"] == "2h"
    assert plain["readiness"] == {"timeout": "10m", "ssh_probe": True}
    assert (plain["offer"], plain["ssh_keys"], plain["volumes"], plain["env"]) == ({}, [], [], {})
    templated = specs["instances.templated"].config
    assert "runtype" not in templated and "tag" not in templated  # the template's own apply
    assert templated["disk_gb"] == 32
    assert specs["instances.templated"].depends_on == ("templates.base",)


def test_count_expands_and_zero_removes(write_stack: WriteStack) -> None:
    path = write_stack(
        MINIMAL
        + """
instances:
  one: {image: ubuntu}
  three: {image: ubuntu, count: 3}
  none: {image: ubuntu, count: 0}
"""
    )
    specs = load_stack(path).resources
    assert [(s.address, s.index) for s in specs] == [
        ("instances.one", None),
        ("instances.three[0]", 0),
        ("instances.three[1]", 1),
        ("instances.three[2]", 2),
    ]
    assert specs[1].config == specs[2].config == specs[3].config  # one block, one config


VARS = (
    MINIMAL
    + """
variables:
  gpu: {default: "RTX 3090"}
  gpus: {default: 1}
  spot: {type: bool, default: false}
instances:
  box:
    image: ubuntu
    label: "gpu ${var.gpu} x${var.gpus} spot=${var.spot}"
    offer: {gpu_name: "${var.gpu}", num_gpus: "${var.gpus}"}
    env: {SPOT: "${var.spot}"}
"""
)


def test_variable_defaults_and_types(write_stack: WriteStack) -> None:
    config = load_stack(write_stack(VARS)).resources[0].config
    assert config["label"] == "gpu RTX 3090 x1 spot=false"
    assert config["offer"] == {"gpu_name": "RTX 3090", "num_gpus": 1}
    assert config["env"] == {"SPOT": "false"}


def test_variable_precedence(write_stack: WriteStack, tmp_path: Path) -> None:
    first = tmp_path / "a.yaml"
    first.write_text("gpu: A100\ngpus: 2\n")
    second = tmp_path / "b.yaml"
    second.write_text("gpus: 4\n")
    stack = load_stack(write_stack(VARS), var_files=[first, second])
    assert stack.resources[0].config["offer"] == {"gpu_name": "A100", "num_gpus": 4}
    stack = load_stack(write_stack(VARS), {"gpus": "8", "spot": "TRUE"}, [first, second])
    config = stack.resources[0].config
    assert config["offer"] == {"gpu_name": "A100", "num_gpus": 8}
    assert config["env"] == {"SPOT": "true"}


def test_sensitive_variable_marks_its_paths(write_stack: WriteStack) -> None:
    path = write_stack(
        MINIMAL
        + """
variables:
  token: {sensitive: true}
instances:
  box:
    image: ubuntu
    onstart: "login ${var.token}"
    env: {TOKEN: "${var.token}", OTHER: {value: "${var.token}"}}
"""
    )
    spec = load_stack(path, {"token": "s3cret"}).resources[0]
    assert spec.config["onstart"] == "login s3cret"
    assert spec.sensitive_paths == {"onstart", "env.TOKEN", "env.OTHER"}


def test_from_env_is_sensitive_by_default(write_stack: WriteStack, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VP_TEST_A", "a")
    monkeypatch.setenv("VP_TEST_B", "b")
    path = write_stack(
        MINIMAL
        + """
instances:
  box:
    image: ubuntu
    env: {A: {from_env: VP_TEST_A}, B: {from_env: VP_TEST_B, sensitive: false}, C: 3, D: true}
"""
    )
    spec = load_stack(path).resources[0]
    assert spec.config["env"] == {"A": "a", "B": "b", "C": "3", "D": "true"}
    assert spec.sensitive_paths == {"env.A"}


def test_public_key_file_is_read_relative_to_the_stack(write_stack: WriteStack, tmp_path: Path) -> None:
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "me.pub").write_text(PUBLIC_KEY + "\n\n")
    path = write_stack(MINIMAL + "ssh_keys:\n  me: {public_key_file: keys/me.pub}\n")
    spec = load_stack(path).resources[0]
    assert spec.address == "ssh_keys.me"
    assert spec.config == {"public_key_file": "keys/me.pub", "public_key": PUBLIC_KEY}


def test_public_key_file_expands_home(write_stack: WriteStack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "id.pub").write_text(PUBLIC_KEY)
    path = write_stack(MINIMAL + "ssh_keys:\n  me: {public_key_file: ~/id.pub}\n")
    assert load_stack(path).resources[0].config["public_key"] == PUBLIC_KEY


def test_shell_expansions_and_escapes_are_left_alone(write_stack: WriteStack) -> None:
    path = write_stack(
        MINIMAL
        + """
instances:
  box: {image: ubuntu, onstart: "echo ${HOME} ${MODEL:-x} $${var.gpu}"}
"""
    )
    assert load_stack(path).resources[0].config["onstart"] == "echo ${HOME} ${MODEL:-x} ${var.gpu}"


def test_yaml_12_scalars(write_stack: WriteStack) -> None:
    path = write_stack(
        MINIMAL
        + """
instances:
  box: {image: ubuntu, offer: {geolocation: [NO, SE]}, label: 22:22, expires_at: 2026-12-01T00:00:00Z}
"""
    )
    config = load_stack(path).resources[0].config
    assert config["offer"]["geolocation"] == ["NO", "SE"]
    assert config["label"] == "22:22"
    assert config["expires_at"] == "2026-12-01T00:00:00Z"


def test_merge_keys_share_settings(write_stack: WriteStack) -> None:
    path = write_stack(
        MINIMAL
        + """
instances:
  a: &base {image: ubuntu, disk_gb: 20}
  b:
    <<: *base
    disk_gb: 30
"""
    )
    specs = load_stack(path).by_address()
    assert specs["instances.b"].config["disk_gb"] == 30
    assert specs["instances.b"].config["image"] == "ubuntu"


@pytest.mark.parametrize("path", sorted((CASES / "valid").glob("*.yaml")), ids=lambda p: p.stem)
def test_valid_cases_load(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_TOKEN", "hf-secret")
    try:
        load_stack(path)
    except StackError as exc:
        pytest.fail(f"{path.name} should load:\n{exc}")


def test_outputs_substitute_variables_and_keep_references(write_stack: WriteStack) -> None:
    path = write_stack(
        MINIMAL
        + """
variables:
  port: {default: 8000}
  key: {default: k, sensitive: true}
instances:
  web: {image: nginx, count: 2}
outputs:
  port: {value: "${var.port}"}
  url: {value: "http://${instances.web[0].public_ipaddr}:${var.port}", description: first}
  key: {value: "${var.key}"}
"""
    )
    outputs = {o.name: o for o in load_stack(path).outputs}
    assert outputs["port"].value == "8000"
    assert outputs["url"].value == "http://${instances.web[0].public_ipaddr}:8000"
    assert outputs["url"].description == "first" and not outputs["url"].sensitive
    assert outputs["key"].sensitive
