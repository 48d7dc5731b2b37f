"""What the tests share: the real vastplan command line run in-process against a sandbox in a scratch
folder, talking to the sandbox directly, the stacks several test modules use, and the reader of the
malformed-stack corpus. Test modules import from here, never from each other."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from vastplan.cli.root import run

# A canary key: the suite scans what it produced to prove this never leaks.
CANARY_API_KEY = "canary-key-7f3a9c2e-DO-NOT-PRINT"
# Canary secret values (account env vars): no output, log, plan, state or sandbox file may hold one.
# Only characters Vast.ai allows in a value (letters, digits, _ - .).
SECRET_CANARIES = ("canary-secret-5b1d9e.DO-NOT-STORE", "canary-secret-c40a77.DO-NOT-STORE")
CASES = Path(__file__).resolve().parent / "cases"


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        return self.out + self.err


class Workspace:
    """A folder holding one stack file and its state, and the sandbox it talks to."""

    def __init__(self, root: Path, api_url: str, capsys: pytest.CaptureFixture[str]):
        self.root = root
        self.api_url = api_url
        self._capsys = capsys
        self.stack = root / "stack.yaml"
        self.state_path = root / "stack.vpstate.json"
        self.outputs: list[str] = []
        # Files the test itself wrote a secret value into (a stack's {from_file: PATH}): the scan skips them.
        self.secret_sources: set[Path] = set()

    def write(self, text: str, name: str = "stack.yaml") -> Path:
        path = self.root / name
        path.write_text(text)
        return path

    def vastplan(self, *args: str, stack: bool = True) -> Result:
        argv = list(args)
        if stack:
            argv += ["-f", str(self.stack)]
        argv += ["--api-url", self.api_url]
        self._capsys.readouterr()
        cwd = os.getcwd()
        os.chdir(self.root)
        try:
            code = run(argv)
        finally:
            os.chdir(cwd)
        captured = self._capsys.readouterr()
        self.outputs += [captured.out, captured.err]
        return Result(code, captured.out, captured.err)

    def state(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.state_path.read_text())
        return loaded


def assert_no_canary(outputs: list[str], root: Path, exempt: set[Path] | frozenset[Path] = frozenset()) -> None:
    """The API key and every secret canary reached none of ``outputs`` and no file under ``root``
    (state, backups, plans, logs, the sandbox's own data), except the ``exempt`` files the test wrote
    a secret into on purpose."""
    canaries = (CANARY_API_KEY, *SECRET_CANARIES)
    for text in outputs:
        for canary in canaries:
            assert canary not in text, "the API key was printed" if canary == CANARY_API_KEY else "a secret was printed"
    skipped = {p.resolve() for p in exempt}
    for path in root.rglob("*"):
        if path.resolve() in skipped:
            continue
        try:
            data = path.read_bytes() if path.is_file() else b""
        except FileNotFoundError:  # a temp file the sandbox renamed meanwhile
            continue
        for canary in canaries:
            what = "the API key" if canary == CANARY_API_KEY else "a secret value"
            assert canary.encode() not in data, f"{what} was written to {path}"


def api_call(url: str, method: str, path: str, key: str, body: dict[str, Any] | None = None) -> Any:
    """Talk to the sandbox the way any API client would (not through vastplan)."""
    data = None if body is None else json.dumps(body).encode()
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    request = urllib.request.Request(url + path, data=data, method=method, headers=headers)
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def api_get(url: str, path: str, key: str) -> Any:
    return api_call(url, "GET", path, key)


def api_post(url: str, path: str, key: str, body: dict[str, Any]) -> Any:
    return api_call(url, "POST", path, key, body)


def api_delete(url: str, path: str, key: str, body: dict[str, Any]) -> Any:
    return api_call(url, "DELETE", path, key, body)


def admin(ws: Workspace, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    """The sandbox's admin API (faults, settings), which needs no key."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"{ws.api_url}/_sandbox{path}", data=data, method=method,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


# --- account contents, seen through the API ---------------------------------------------------------


def templates_in_sandbox(ws: Workspace) -> list[dict[str, object]]:
    """The account's own templates (the search also returns public ones)."""
    me = api_get(ws.api_url, "/api/v0/users/current", CANARY_API_KEY)["id"]
    rows: list[dict[str, object]] = api_get(ws.api_url, "/api/v0/template/", CANARY_API_KEY)["templates"]
    return [row for row in rows if row.get("creator_id") == me]


def keys_in_sandbox(ws: Workspace) -> list[str]:
    return [row["key"] for row in api_get(ws.api_url, "/api/v0/ssh/", CANARY_API_KEY)]


def instances(ws: Workspace) -> dict[int, dict[str, Any]]:
    rows = api_get(ws.api_url, "/api/v1/instances/?limit=25", CANARY_API_KEY)["instances"]
    return {row["id"]: row for row in rows}


def state_id(ws: Workspace, address: str) -> Any:
    return ws.state()["resources"][address]["id"]


# --- stacks several test modules use ------------------------------------------------------------------

# Two public keys the sandbox accepts (fake, but of the right shape).
KEY_A = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyNumberOneForTestsOnly0000000000000 a@test"
KEY_B = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyNumberTwoForTestsOnly0000000000000 b@test"


def skeleton_stack(image: str = "pytorch/pytorch", keys: tuple[str, ...] = ("laptop", "ci"),
                   secret: str = "s3cr3t-v4lue") -> str:
    """SSH keys and a template with a sensitive env value: no rental, so it applies in a moment."""
    key_text = {"laptop": KEY_A, "ci": KEY_B}
    key_block = "".join(f'  {name}: {{public_key: "{key_text[name]}"}}\n' for name in keys)
    return f"""
version: 1
stack: skeleton
ssh_keys:
{key_block if keys else "  {}"}
templates:
  torch:
    image: {image}
    tag: latest
    env:
      TOKEN: {{value: "{secret}", sensitive: true}}
      TZ: UTC
    ports: [8888]
    onstart: "echo hi"
    disk_gb: 40
"""


def gpu_stack(*, label: str = "", disk: int = 40, state: str = "running", timeout: str = "60s") -> str:
    """Every kind: a key, a template, a volume, an instance mounting it and one more instance."""
    return f"""
version: 1
stack: gpus
ssh_keys:
  me: {{public_key: "{KEY_A}"}}
templates:
  torch: {{image: pytorch/pytorch, tag: latest, env: {{TZ: UTC}}, ports: [8888]}}
volumes:
  data: {{size_gb: 20, offer: {{geolocation: [US, CA]}}}}
instances:
  worker:
    template: torch
    offer: {{gpu_name: "RTX 4090", num_gpus: 1, dph_total: {{lte: 2.0}}}}
    disk_gb: {disk}
    ssh_keys: [me]
    volumes: [{{volume: data, mount: /data}}]
    readiness: {{timeout: {timeout}}}
  helper:
    image: ubuntu
    tag: "22.04"
    offer: {{num_gpus: 1, gpu_ram_gb: {{gte: 8}}}}
    state: {state}
    readiness: {{timeout: {timeout}}}
    {f'label: "{label}"' if label else ""}
"""


def small_stack(*, image: str = "ubuntu", keys: str = "[me, ci]", bid: float | None = None) -> str:
    """One instance with two SSH keys, optionally on a bid."""
    interruptible = f"interruptible: {{bid_dph: {bid}}}" if bid is not None else ""
    return f"""
version: 1
stack: small
ssh_keys:
  me: {{public_key: "{KEY_A}"}}
  ci: {{public_key: "{KEY_A.replace('One', 'Six')}"}}
instances:
  box:
    image: {image}
    offer: {{num_gpus: 1, gpu_name: "RTX 3090"}}
    ssh_keys: {keys}
    readiness: {{timeout: 20s}}
    {interruptible}
"""


def one_box(offer: str = '{gpu_name: "RTX 4090", num_gpus: 1}', secret: str = "pl4n-s3cret") -> str:
    """One instance with a sensitive env value, on the given offer filters."""
    return f"""
version: 1
stack: saved
instances:
  box:
    image: pytorch/pytorch
    env: {{TOKEN: {{value: "{secret}", sensitive: true}}}}
    offer: {offer}
    readiness: {{timeout: 30s}}
"""


def ttl_stack(ttl: str = "1s") -> str:
    """Two instances, one with a ttl."""
    return f"""
version: 1
stack: ttl
instances:
  short:
    image: ubuntu
    ttl: {ttl}
    offer: {{num_gpus: 1, gpu_name: "RTX 3090"}}
    readiness: {{timeout: 20s}}
  long:
    image: ubuntu
    offer: {{num_gpus: 1, gpu_name: "RTX 3060"}}
    readiness: {{timeout: 20s}}
"""


def assert_clean_failure(result_text: str) -> None:
    """A failure says something, and not as a traceback."""
    assert "Traceback" not in result_text
    assert result_text.strip(), "a failure must say something"


# --- machine output (docs/json-format.md) ---------------------------------------------------------------


def document(result: Result) -> dict[str, Any]:
    """The one JSON document a plan view prints, and nothing else on stdout."""
    doc: dict[str, Any] = json.loads(result.out)
    assert doc["format_version"] == "1.0" and doc["vastplan_version"]
    return doc


def events(result: Result) -> list[dict[str, Any]]:
    """Every stdout line is one JSON event with the common fields; the first is `version`."""
    lines = [json.loads(line) for line in result.out.splitlines()]
    for event in lines:
        assert {"@level", "@message", "@timestamp", "type"} <= event.keys(), event
    assert lines and lines[0]["type"] == "version" and lines[0]["format_version"] == "1.0"
    return lines


# --- the malformed-stack corpus (tests/cases/malformed; format in tests/unit/stack/test_malformed_cases.py) --

MALFORMED = CASES / "malformed"
_EXPECT = re.compile(r"(?:(?P<file>[^:\s]+):)?(?P<line>\d+):(?P<col>\d+): (?P<text>.+)")


@dataclass
class Case:
    path: Path
    expect: list[tuple[str, int, int, str]] = field(default_factory=list)
    variables: dict[str, str] = field(default_factory=dict)
    var_files: list[Path] = field(default_factory=list)
    unset_env: list[str] = field(default_factory=list)


def read_case(path: Path) -> Case:
    sidecar = path.with_suffix(".expect")
    source = sidecar if sidecar.exists() else path
    case = Case(path)
    for line in source.read_bytes().decode("utf-8", errors="replace").splitlines():
        if not line.startswith("# "):
            break
        key, _, rest = line[2:].partition(": ")
        if key == "expect":
            m = _EXPECT.fullmatch(rest.strip())
            assert m, f"{source.name}: bad expectation {rest!r}"
            file = str(MALFORMED / m["file"]) if m["file"] else str(path)
            case.expect.append((file, int(m["line"]), int(m["col"]), m["text"]))
        elif key == "vars":
            case.variables.update(item.split("=", 1) for item in rest.split())  # type: ignore[misc]
        elif key == "var-file":
            case.var_files.append(MALFORMED / rest.strip())
        elif key == "unset-env":
            case.unset_env.append(rest.strip())
    assert case.expect, f"{source.name} announces no expectation"
    return case


TEAM_STACK = """
version: 1
stack: team
templates:
{blocks}
"""


def stack_text(n: int = 3, image: str = "nginx") -> str:
    """A stack of ``n`` templates (no GPU), for tests of the state backends."""
    blocks = "".join(f"  web{i}: {{image: {image}, tag: latest, disk_gb: 10}}\n" for i in range(n))
    return TEAM_STACK.format(blocks=blocks)


def pulled(ws: Workspace, url: str) -> dict[str, object]:
    result = ws.vastplan("state", "pull", "--backend", url)
    assert result.code == 0, result.text
    doc: dict[str, object] = json.loads(result.out)
    return doc


# --- an instance's own watchdog ---------------------------------------------------------------------


def watchdog_stack(lifecycle: str, *, onstart: str = "echo started", names: tuple[str, ...] = ("box",)) -> str:
    """Instances whose ``lifecycle`` (ttl, idle rule) their start-up watchdog enforces."""
    blocks = "".join(f"""  {name}:
    image: ubuntu
    onstart: {json.dumps(onstart)}
    offer: {{num_gpus: 1}}
    readiness: {{timeout: 20s}}
    lifecycle: {lifecycle}
""" for name in names)
    return f"version: 1\nstack: watched\ninstances:\n{blocks}"


def container(ws: Workspace, instance_id: int) -> dict[str, Any]:
    """What the instance's container starts with: its env (CONTAINER_ID, CONTAINER_API_KEY) and onstart."""
    found: dict[str, Any] = admin(ws, "GET", f"/instances/{instance_id}/container/")
    return found


def start_onstart(ws: Workspace, instance_id: int, log: Path, *, scale: int, tick: int = 1,
                  path: str | None = None) -> subprocess.Popen[bytes]:
    """Run the instance's start-up script exactly as the sandbox holds it, in the container's env,
    with the API pointed at the sandbox and a fast clock (``scale`` rule seconds per real second).
    Its own session, so ``stop_onstart`` can end the watchdog it leaves running in the background."""
    box = container(ws, instance_id)
    env = {"PATH": path or os.environ["PATH"], "HOME": str(log.parent), **box["env"],
           "VAST_API_URL": ws.api_url, "VASTPLAN_WATCHDOG_SCALE": str(scale), "VASTPLAN_WATCHDOG_TICK": str(tick)}
    with log.open("wb") as out:
        return subprocess.Popen(["sh", "-c", box["onstart"]], stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, env=env, cwd=log.parent, start_new_session=True)


def stop_onstart(process: subprocess.Popen[bytes]) -> None:
    """End what the start-up script left running (its process group), if anything still is."""
    process.wait(timeout=10)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)


def wait_until(check: Callable[[], bool], timeout: float = 30.0) -> bool:
    """Poll ``check`` (a look at the sandbox) until it holds; False when it never did."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return check()
