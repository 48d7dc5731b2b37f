"""Property: for random valid stacks, apply then plan shows no changes, and destroy leaves the
sandbox with none of the stack's objects."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import assert_no_canary
from tests.harness import CANARY_API_KEY, api_get
from vastplan.cli.root import run
from vastsandbox.server import start_in_thread

NAMES = st.text(alphabet="abcdefghij", min_size=1, max_size=6).map(lambda s: "r" + s)
GPUS = st.sampled_from(["RTX 3090", "RTX 3060", "RTX 4090", "RTX A6000"])


@st.composite
def stacks(draw: st.DrawFn) -> str:
    keys = draw(st.lists(NAMES, max_size=2, unique=True))
    templates = draw(st.lists(NAMES, max_size=2, unique=True))
    instances = draw(st.lists(NAMES, max_size=3, unique=True))
    lines = ["version: 1", "stack: prop"]
    if keys:
        lines.append("ssh_keys:")
        lines += [f'  {k}: {{public_key: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIProperty{i}Key{k} {k}@t"}}'
                  for i, k in enumerate(keys)]
    if templates:
        lines.append("templates:")
        for t in templates:
            env = draw(st.dictionaries(st.sampled_from(["A", "B", "TZ"]), st.sampled_from(["1", "x y", "UTC"]),
                                       max_size=2))
            ports = draw(st.lists(st.sampled_from([22, 8080, 8888]), unique=True, max_size=2))
            lines.append(f"  {t}: {{image: ubuntu, tag: '22.04', env: {env!r}, ports: {ports!r}}}")
    if instances:
        lines.append("instances:")
        for name in instances:
            lines.append(f"  {name}:")
            if templates and draw(st.booleans()):
                lines.append(f"    template: {draw(st.sampled_from(templates))}")
            else:
                lines.append("    image: ubuntu")
            lines.append(f"    offer: {{num_gpus: 1, gpu_name: {draw(GPUS)!r}}}")
            lines.append(f"    count: {draw(st.integers(1, 2))}")
            lines.append(f"    disk_gb: {draw(st.sampled_from([10, 20]))}")
            lines.append(f"    state: {draw(st.sampled_from(['running', 'stopped']))}")
            if keys:
                lines.append(f"    ssh_keys: [{draw(st.sampled_from(keys))}]")
            lines.append("    readiness: {timeout: 20s}")
    return "\n".join(lines) + "\n"


def vastplan(*args: str) -> int:
    return run(list(args))


@settings(max_examples=20, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture],
          database=None)
@given(stack=stacks())
def test_apply_converges_and_destroy_leaves_nothing(stack: str, capsys: object, monkeypatch: object) -> None:
    import pytest

    assert isinstance(monkeypatch, pytest.MonkeyPatch) and isinstance(capsys, pytest.CaptureFixture)
    monkeypatch.setenv("VAST_API_KEY", CANARY_API_KEY)
    root = Path(tempfile.mkdtemp(prefix="vastplan-prop-"))
    try:
        path = root / "stack.yaml"
        path.write_text(stack)
        with start_in_thread(root / "sandbox", api_key=CANARY_API_KEY, boot_seconds=0.1) as sb:
            common = ["-f", str(path), "--api-url", sb.url]
            assert vastplan("apply", "--auto-approve", *common) == 0, capsys.readouterr()
            assert vastplan("plan", "--detailed-exitcode", *common) == 0, capsys.readouterr()
            assert vastplan("destroy", "--auto-approve", *common) == 0, capsys.readouterr()
            assert api_get(sb.url, "/api/v1/instances/", CANARY_API_KEY)["instances"] == []
            me = api_get(sb.url, "/api/v0/users/current", CANARY_API_KEY)["id"]
            mine = [t for t in api_get(sb.url, "/api/v0/template/", CANARY_API_KEY)["templates"]
                    if t.get("creator_id") == me]
            assert mine == [] and api_get(sb.url, "/api/v0/ssh/", CANARY_API_KEY) == []
        captured = capsys.readouterr()
        assert_no_canary([captured.out, captured.err], root)
    finally:
        shutil.rmtree(root, ignore_errors=True)
