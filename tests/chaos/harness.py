"""Processes and counting for the chaos scenarios.

The sandbox runs as its own process (``vastplan sandbox serve``), so killing vastplan never touches
it; vastplan runs as a process in its own session, so it can be SIGKILLed at any moment. What the
sandbox holds is read through its admin API (never faulted, never counted), and compared with the
state file: that comparison is the census.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.chaos.stacks import ChaosStack

# A dummy key, accepted only by the chaos sandboxes; never a real one.
DUMMY_API_KEY = "chaos-dummy-key-not-a-secret"
VASTPLAN = [sys.executable, "-m", "vastplan"]

_WORLD_KIND = {"ssh_keys": "ssh_key", "templates": "template", "instances": "instance", "volumes": "volume"}


def _env(root: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VAST", "VASTPLAN"))}
    env.update(VAST_API_KEY=DUMMY_API_KEY, XDG_CONFIG_HOME=str(root / "xdg-config"), HOME=str(root),
               PYTHONUNBUFFERED="1", NO_COLOR="1")
    return env


class Sandbox:
    """``with Sandbox(dir) as sb:`` a ``vastplan sandbox serve`` process on a free loopback port."""

    def __init__(self, root: Path, *, machines: int = 200, boot_seconds: float = 0.3, seed: int = 0,
                 latency_ms: float = 0.0, pg_server: str | None = None):
        self.root = root
        self.pg_server = pg_server
        self.backend: str | None = None  # with a PostgreSQL server: a fresh database for this sandbox's state
        self.data = root / "sandbox-data"
        self.args = [*VASTPLAN, "sandbox", "serve", "--port", "0", "--data", str(self.data),
                     "--api-key", DUMMY_API_KEY, "--boot-seconds", str(boot_seconds),
                     "--machines", str(machines), "--seed", str(seed), "--latency-ms", str(latency_ms)]
        self.url = ""
        self._proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Sandbox:
        self.root.mkdir(parents=True, exist_ok=True)
        out, err = self.root / "sandbox.out", self.root / "sandbox.err"
        with out.open("wb") as stdout, err.open("wb") as stderr:
            self._proc = subprocess.Popen(self.args, stdout=stdout, stderr=stderr, cwd=self.root,
                                          env=_env(self.root), start_new_session=True)
        deadline = time.monotonic() + 30
        while not (text := out.read_text()).endswith("\n"):
            if self._proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the sandbox did not start: {err.read_text()[-2000:]}")
            time.sleep(0.02)
        self.url = text.splitlines()[0].strip()
        if self.pg_server:
            self.backend = fresh_database(self.pg_server, f"chaos_{os.getpid()}_{self.root.name.replace('-', '_')}")
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

    def tracebacks(self) -> tuple[list[str], list[str]]:
        """The tracebacks the sandbox logged: (those of a request whose client vanished, as a killed
        vastplan does, which the sandbox logs as a handler failure; every other one, a bug)."""
        text = (self.root / "sandbox.err").read_text(errors="replace")
        vanished: list[str] = []
        others: list[str] = []
        for match in _TRACEBACK.finditer(text):
            (vanished if match["exc"].strip() == "ConnectionResetError: Connection lost" else others).append(
                match.group(0))
        return vanished, others

    def admin(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(f"{self.url}/_sandbox{path}", data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())

    def add_fault(self, **rule: Any) -> dict[str, Any]:
        added: dict[str, Any] = self.admin("POST", "/faults", rule)
        return added

    def clear_faults(self) -> None:
        self.admin("DELETE", "/faults")

    def counters(self) -> dict[str, Any]:
        counters: dict[str, Any] = self.admin("GET", "/counters")
        return counters

    def world(self) -> dict[str, Any]:
        world: dict[str, Any] = self.admin("GET", "/state")["world"]
        return world


@dataclass
class Run:
    args: list[str]
    code: int | None  # None: it hung and was killed at the time limit
    output: str
    seconds: float
    pid: int
    killed: bool = False

    @property
    def traceback(self) -> bool:
        return "Traceback (most recent call last)" in self.output


class Workdir:
    """A folder holding one stack file and its state; runs vastplan there against ``api_url``."""

    def __init__(self, root: Path, stack: ChaosStack, api_url: str, backend: str | None = None):
        self.root, self.stack, self.api_url, self.backend = root, stack, api_url, backend
        root.mkdir(parents=True, exist_ok=True)
        self.stack_file = root / "stack.yaml"
        self.stack_file.write_text(stack.yaml())
        self.state_path = root / "stack.vpstate.json"
        self._runs = 0

    def command(self, *args: str) -> list[str]:
        backend = ["--backend", self.backend] if self.backend else []
        return [*VASTPLAN, *args, "-f", str(self.stack_file), "--api-url", self.api_url, "--no-color", *backend]

    def start(self, *args: str) -> tuple[subprocess.Popen[bytes], Path, float]:
        self._runs += 1
        log = self.root / f"run-{self._runs:02d}-{args[0]}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(self.command(*args), stdout=out, stderr=subprocess.STDOUT, cwd=self.root,
                                    env=_env(self.root), start_new_session=True)
        return proc, log, time.monotonic()

    @staticmethod
    def finish(proc: subprocess.Popen[bytes], log: Path, began: float, timeout: float,
               kill_after: float | None = None) -> Run:
        """Wait for ``proc``; SIGKILL it (and its session) ``kill_after`` seconds after ``began`` if it
        still runs then; a run past ``timeout`` is a hang: killed and reported with code None."""
        killed = False
        if kill_after is not None:
            try:
                proc.wait(max(0.0, began + kill_after - time.monotonic()))
            except subprocess.TimeoutExpired:
                _killpg(proc)
                killed = True
        try:
            code: int | None = proc.wait(max(0.0, began + timeout - time.monotonic()))
        except subprocess.TimeoutExpired:
            _killpg(proc)
            proc.wait()
            code = None
        args = [str(a) for a in proc.args] if isinstance(proc.args, list) else [str(proc.args)]
        return Run(args, code, log.read_text(errors="replace"), time.monotonic() - began, proc.pid, killed)

    def run(self, *args: str, timeout: float = 180.0, kill_after: float | None = None) -> Run:
        proc, log, began = self.start(*args)
        return self.finish(proc, log, began, timeout, kill_after)

    def apply(self, timeout: float = 180.0, kill_after: float | None = None) -> Run:
        return self.run("apply", "--auto-approve", timeout=timeout, kill_after=kill_after)

    def state(self) -> dict[str, Any] | None:
        if self.backend:
            return _pg_state(self.backend, self.stack.name)
        try:
            loaded: dict[str, Any] = json.loads(self.state_path.read_text())
        except FileNotFoundError:
            return None
        return loaded


def fresh_database(server: str, name: str) -> str:
    """A new database on ``server`` (a PostgreSQL URL with the right to create one); its URL."""
    import psycopg

    from tests.pg_fixtures import with_database

    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return with_database(server, name)


def _pg_state(url: str, stack: str) -> dict[str, Any] | None:
    """The state as the PostgreSQL backend stores it, read directly (not through vastplan)."""
    import psycopg

    with psycopg.connect(url) as conn:
        if conn.execute("SELECT to_regclass('vastplan_states')").fetchone() == (None,):
            return None
        row = conn.execute("SELECT state FROM vastplan_states WHERE stack = %s AND workspace = 'default'",
                           (stack,)).fetchone()
    return None if row is None else dict(row[0])


def _killpg(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)


@dataclass
class Census:
    """The sandbox's objects that carry this stack's ownership, against the state file."""

    live: dict[str, list[tuple[str, int]]] = field(default_factory=dict)  # address -> [(kind, id)]
    untracked: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)
    serial: int | None = None

    @property
    def objects(self) -> int:
        return sum(len(v) for v in self.live.values())

    @property
    def duplicate_objects(self) -> int:
        return sum(len(v) - 1 for v in self.live.values() if len(v) > 1)

    def problems(self) -> list[str]:
        return [*self.untracked, *self.duplicates, *self.lost]


def owned_objects(world: dict[str, Any], stack: ChaosStack) -> dict[str, list[tuple[str, int]]]:
    """Address -> the live objects marked as that address of ``stack``: instances and volumes by a label
    starting ``vp:<stack>/<address>``, templates by that ``desc``, SSH keys by the stack's key text."""
    prefix = f"vp:{stack.name}/"
    keys = {" ".join(text.split()): address for address, text in stack.key_texts().items()}
    live: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for table, rows in world.get("objects", {}).items():
        kind = _WORLD_KIND.get(table, table)
        for row in rows:
            record = row["record"]
            if kind == "ssh_key":
                address = keys.get(" ".join(str(record.get("key") or "").split()))
            else:
                text = str(record.get("desc" if kind == "template" else "label") or "")
                address = text[len(prefix):].split(" ")[0] if text.startswith(prefix) else None
            if address:
                live[address].append((kind, int(record["id"])))
    return {address: sorted(objs) for address, objs in live.items()}


def census(world: dict[str, Any], state: dict[str, Any] | None, stack: ChaosStack) -> Census:
    """Untracked: a marked object whose id the state does not hold. Duplicates: more than one live
    object for one address. Lost: an address of the stack with no live object recorded in state."""
    live = owned_objects(world, stack)
    resources: dict[str, Any] = (state or {}).get("resources", {})
    tracked = {(r["kind"], r["id"]) for r in resources.values() if r.get("id") is not None}
    result = Census(live=live, serial=(state or {}).get("serial"))
    result.pending = sorted(a for a, r in resources.items() if r.get("pending"))
    for address, objects in sorted(live.items()):
        for kind, object_id in objects:
            if (kind, object_id) not in tracked:
                result.untracked.append(f"untracked {kind} {object_id} marked {address}")
        if len(objects) > 1:
            result.duplicates.append(f"{len(objects)} live objects for {address}: {[i for _, i in objects]}")
    live_ids = {obj for objects in live.values() for obj in objects}
    for address in stack.addresses():
        entry = resources.get(address)
        if entry is None or entry.get("pending") or entry.get("id") is None:
            result.lost.append(f"{address}: {'pending' if entry else 'not'} in state")
        elif (entry["kind"], entry["id"]) not in live_ids:
            result.lost.append(f"{address}: state holds {entry['kind']} {entry['id']}, which the sandbox lacks")
    return result


_TRACEBACK = re.compile(r"(?:^.*\n)?Traceback \(most recent call last\):\n(?:[ \t].*\n)*(?P<exc>\S.*)", re.M)
LOCK_HOLDER = re.compile(r"the state (?:\S+ \(stack \S+\) )?is locked by apply \(pid (\d+)")


def excerpt(text: str, lines: int = 12) -> str:
    return "\n".join("    | " + line for line in text.rstrip().splitlines()[-lines:])
