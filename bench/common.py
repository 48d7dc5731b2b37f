"""Shared pieces of the benchmarks: a sandbox in its own process, running commands as users do
(with per-child peak RSS), the admin API, generated stacks, and machine information."""

from __future__ import annotations

import asyncio
import json
import math
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BIN = Path(sys.executable).parent
DUMMY_KEY = "bench-dummy-key-not-a-real-one"
REPO = Path(__file__).resolve().parent.parent
KEY_BODY = "AAAAC3NzaC1lZDI1NTE5AAAAIK0wmN/Cr3JXqmLW7u+g9pTh+wyqDHpSQEIQczXkVx9q"


def vastplan_cmd() -> list[str]:
    script = BIN / "vastplan"
    return [str(script)] if script.exists() else [sys.executable, "-m", "vastplan"]


def vastai_cmd() -> list[str]:
    script = BIN / "vastai"
    return [str(script)] if script.exists() else [sys.executable, "-m", "vastai"]


def shown(argv: Sequence[str]) -> str:
    """A command as a person would type it (venv scripts by their bare name)."""
    return " ".join(Path(a).name if a.startswith(str(BIN)) else a for a in argv)


# --- running commands -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    seconds: float
    code: int
    out: str
    err: str
    maxrss_mb: float
    cpu: float = 0.0  # the child's user + system CPU seconds (wall minus this is waiting, or other load)


def client_env(home: Path, url: str | None = None) -> dict[str, str]:
    """The environment of a measured client: a dummy key, isolated config dirs, no colour.

    ``PYTHONDONTWRITEBYTECODE`` is dropped: an installed package runs from its ``.pyc`` files (pip
    writes them at install time), and a client that recompiles every module on every run measures
    the compiler, not the tool (the warm-up run of each figure writes them)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VAST", "XDG_")) and k != "PYTHONDONTWRITEBYTECODE"}
    env.update({
        "VAST_API_KEY": DUMMY_KEY,
        "VASTAI_NO_UPDATE_CHECK": "1",
        "NO_COLOR": "1",
        "COLUMNS": "200",
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_CACHE_HOME": str(home / "cache"),
        "XDG_STATE_HOME": str(home / "state"),
        "XDG_DATA_HOME": str(home / "data"),
    })
    if url is not None:
        env["VAST_URL"] = url
    home.mkdir(parents=True, exist_ok=True)
    return env


# GNU time runs the measured command as a child of its own small process: the peak RSS it reports
# is the command's. wait4's ru_maxrss of a child this harness starts directly is not: the kernel
# carries a process's peak over exec, and a child forked from this (large) harness starts with the
# harness's peak (233 MB reported for a plan whose own peak was 178 MB).
GNU_TIME = "/usr/bin/time"
RSS_MEASURED_BY = "GNU time (`/usr/bin/time -f %M`)" if Path(GNU_TIME).exists() else \
    "wait4 of a direct child (an upper bound: it includes the harness's own peak; install GNU time)"


def run(argv: Sequence[str], env: dict[str, str], cwd: Path | None = None, check: bool = True) -> Run:
    """Run a command to completion; wall time, and the child's own peak RSS and CPU (GNU time's)."""
    timed = Path(GNU_TIME).exists()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
            tempfile.NamedTemporaryFile("r", suffix=".rusage") as usage_file:
        command = [GNU_TIME, "-q", "-f", "%M %U %S", "-o", usage_file.name, *argv] if timed else list(argv)
        began = time.perf_counter()
        proc = subprocess.Popen(command, env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - began
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        maxrss_mb, cpu = usage.ru_maxrss / 1024.0, usage.ru_utime + usage.ru_stime
        if timed:
            fields = usage_file.read().split()
            if len(fields) >= 3:  # the last line (GNU time may first say how the command ended)
                kb, user, system = fields[-3:]
                maxrss_mb, cpu = int(kb) / 1024.0, float(user) + float(system)
        result = Run(seconds, proc.returncode, out.read().decode(errors="replace"),
                     err.read().decode(errors="replace"), maxrss_mb, cpu)
    if check and result.code not in (0, 2):
        raise RuntimeError(f"{shown(argv)} exited {result.code}:\n{result.out[-2000:]}\n{result.err[-2000:]}")
    return result


def failure(result: Run) -> str:
    """The last line a failed command printed (its error), for the report."""
    lines = [ln.strip() for ln in (result.out + "\n" + result.err).splitlines() if ln.strip()]
    text = next((ln for ln in reversed(lines) if ln.startswith("error")), lines[-1] if lines else "")
    return f"exit {result.code}: {text[:300]}"


def median(values: Iterable[float]) -> float:
    return float(statistics.median(list(values)))


# --- the sandbox ---------------------------------------------------------------------------------------


class Sandbox:
    """A sandbox in a child process (``bench.sandbox_proc``), plus its admin API."""

    def __init__(self, *, machines: int = 60, boot_seconds: float = 0.2, latency_ms: float = 0.0,
                 ssh: bool = False, data: Path | None = None):
        argv = [sys.executable, "-m", "bench.sandbox_proc", "--machines", str(machines),
                "--boot-seconds", str(boot_seconds), "--latency-ms", str(latency_ms)]
        if not ssh:
            argv.append("--no-ssh")
        if data is not None:
            argv += ["--data", str(data)]
        self.proc = subprocess.Popen(argv, cwd=REPO, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().strip()
        if not line.startswith("http"):
            self.stop()
            raise RuntimeError(f"the sandbox did not start (first line {line!r})")
        self.url = line

    def admin(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(f"{self.url}/_sandbox/{path.lstrip('/')}", data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=120) as response:
            return json.loads(response.read() or b"null")

    def counters(self) -> dict[str, Any]:
        answer = self.admin("GET", "counters")
        assert isinstance(answer, dict)
        return answer

    def reset_counters(self) -> None:
        self.admin("DELETE", "counters")

    def settings(self, **values: float) -> None:
        self.admin("PUT", "settings", values)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()


@contextmanager
def sandbox(**options: Any) -> Iterator[Sandbox]:
    sb = Sandbox(**options)
    try:
        yield sb
    finally:
        sb.stop()


@contextmanager
def workdir(prefix: str) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix=f"vastplan-bench-{prefix}-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


# --- talking to the API directly (to build large fixtures quickly) -----------------------------------


async def api_calls(url: str, calls: Sequence[tuple[str, str, Any]], concurrency: int = 16) -> list[Any]:
    """Send ``(method, path, body)`` calls with a dummy key, ``concurrency`` at a time; decoded bodies."""
    import aiohttp

    slots = asyncio.Semaphore(concurrency)
    headers = {"Authorization": f"Bearer {DUMMY_KEY}", "Content-Type": "application/json"}
    async with aiohttp.ClientSession(headers=headers) as session:

        async def one(method: str, path: str, body: Any) -> Any:
            async with slots, session.request(method, url + path, data=json.dumps(body or {})) as resp:
                text = await resp.text()
                if resp.status >= 400:
                    raise RuntimeError(f"{method} {path} -> {resp.status}: {text[:300]}")
                return json.loads(text)

        return list(await asyncio.gather(*(one(m, p, b) for m, p, b in calls)))


def api(url: str, calls: Sequence[tuple[str, str, Any]], concurrency: int = 16) -> list[Any]:
    return asyncio.run(api_calls(url, calls, concurrency))


def free_single_gpu_machines(url: str, wanted: int) -> list[int]:
    """``wanted`` machine ids with a free GPU under the default filters, a machine repeated as many
    times as it has free GPUs (an offer id rents once, so each rent launches on the machine afresh)."""
    query = {"verified": {"eq": True}, "external": {"eq": False}, "rentable": {"eq": True},
             "rented": {"eq": False}, "order": [["dph_total", "asc"]], "type": "on-demand"}
    offers = api(url, [("POST", "/api/v0/bundles/", query)])[0]["offers"]
    free: dict[int, int] = {}
    for offer in offers:
        machine = int(offer["machine_id"])
        free[machine] = max(free.get(machine, 0), int(offer["num_gpus"]))
    ids = [m for m in free for _ in range(free[m])]
    if len(ids) < wanted:
        raise RuntimeError(f"the market has {len(ids)} free single GPUs, {wanted} wanted; raise --machines")
    return ids[:wanted]


def machines_for(instances: int) -> int:
    """A market large enough for ``instances`` single-GPU rentals (about 2 usable GPUs per machine)."""
    return max(120, math.ceil(instances / 1.5) + 100)


# --- stacks ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Composition:
    """N resources as a team would have them: one SSH key, a template per hundred, the rest instances
    in groups of ``count`` <= 100 (the schema's maximum)."""

    n: int
    keys: int
    templates: int
    groups: tuple[int, ...]

    @classmethod
    def of(cls, n: int) -> Composition:
        templates = max(1, n // 100)
        left = n - 1 - templates
        groups = tuple(min(100, left - i) for i in range(0, left, 100))
        return cls(n, 1, templates, groups)

    @property
    def instances(self) -> int:
        return sum(self.groups)

    @property
    def kinds(self) -> int:
        return (self.keys > 0) + (self.templates > 0) + (self.instances > 0)


def stack_text(name: str, comp: Composition, *, with_instances: bool = True) -> str:
    lines = ["version: 1", f"stack: {name}", "ssh_keys:"]
    lines += [f"  k{i}: {{public_key: \"ssh-ed25519 {KEY_BODY} bench{i}@example\"}}" for i in range(comp.keys)]
    lines.append("templates:")
    lines += [f"  t{i}: {{image: bench/image{i}, tag: \"1.{i}\", env: {{MODEL: m{i}, TZ: UTC}}, ports: [8000], "
              f"onstart: \"echo {i}\", disk_gb: 10}}" for i in range(comp.templates)]
    if with_instances and comp.groups:
        lines.append("instances:")
        lines += [f"  g{g}: {{count: {count}, template: t{g % comp.templates}, disk_gb: 10, "
                  f"readiness: {{ssh_probe: false}}}}" for g, count in enumerate(comp.groups)]
    return "\n".join(lines) + "\n"


def instances_stack_text(name: str, count: int, *, ssh_probe: bool = True) -> str:
    """``count`` independent single-GPU instances (groups of <= 100), no template, no key."""
    lines = ["version: 1", f"stack: {name}", "instances:"]
    for g, start in enumerate(range(0, count, 100)):
        lines.append(f"  w{g}: {{count: {min(100, count - start)}, image: bench/worker, tag: \"1.0\", "
                     f"disk_gb: 10, offer: {{num_gpus: 1}}, readiness: {{ssh_probe: {str(ssh_probe).lower()}}}}}")
    return "\n".join(lines) + "\n"


# --- the machine ------------------------------------------------------------------------------------------


def machine_info() -> dict[str, str]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    vastai = run([*vastai_cmd(), "--version"], client_env(Path(tempfile.gettempdir()) / "vastplan-bench-home"),
                 check=False)
    vastplan = run([*vastplan_cmd(), "--version"], client_env(Path(tempfile.gettempdir()) / "vastplan-bench-home"),
                   check=False)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True,
                            check=False).stdout.strip() if (REPO / ".git").exists() else ""
    snapshot = os.environ.get("BENCH_COMMIT", "")  # set by the snapshot recipe in README.md
    source = f" (commit {commit})" if commit else f" (snapshot of commit {snapshot})" if snapshot else ""
    return {
        "cpu": f"{cpu}, {os.cpu_count()} logical cores",
        "memory": memory,
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "vastplan": (vastplan.out.strip() or vastplan.err.strip()) + source,
        "vastai": (vastai.out.strip() or vastai.err.strip())[:60],
    }
