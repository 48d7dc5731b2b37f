"""Figure 7: the PostgreSQL state backend against the local file.

7a. ``vastplan plan`` of 1,000 unchanged templates, 50 ms per request, state in PostgreSQL vs in the
    local file (runs interleaved): <= 1.15 x.
7b. ``vastplan apply`` of 200 new templates (two state writes per create: the journal entry, then
    the id), a fresh sandbox and state per run: <= 1.3 x.
7c. The time of one state write of a 200-resource state, each backend, in-process (median of 200).

PostgreSQL 15 runs on loopback in a temporary folder, durable (fsync on), as a team's database would;
the local file is fsynced too.
"""

from __future__ import annotations

import time
from pathlib import Path

from bench.common import (
    client_env,
    failure,
    median,
    run,
    sandbox,
    vastplan_cmd,
    workdir,
)
from bench.report import Context, Row

PLAN_N, APPLY_N, LATENCY_MS = 1_000, 200, 50.0
PLAN_TARGET, APPLY_TARGET = 1.15, 1.3


def templates_stack(name: str, n: int) -> str:
    blocks = "".join(f"  t{i}: {{image: bench/web{i}, tag: latest, disk_gb: 10}}\n" for i in range(n))
    return f"version: 1\nstack: {name}\ntemplates:\n{blocks}"


def _database(server: str, name: str) -> str:
    from tests.chaos.harness import fresh_database

    return fresh_database(server, name)


def _plans(ctx: Context, server: str) -> tuple[list[float], list[float], str]:
    """1,000 templates, applied once, then planned unchanged with the state in each backend."""
    with workdir("pgplan") as work, sandbox(machines=60, boot_seconds=0.05) as sb:
        stack, state = work / "stack.yaml", work / "stack.vpstate.json"
        stack.write_text(templates_stack("benchplan", PLAN_N))
        env = client_env(work / "home")
        run([*vastplan_cmd(), "apply", "--auto-approve", "--parallelism", "20", "-f", str(stack),
             "--api-url", sb.url], env, cwd=work)
        url = _database(server, "bench_plan")
        run([*vastplan_cmd(), "state", "migrate", "-f", str(stack), "--state", str(state), "--to", url], env,
            cwd=work)
        sb.settings(latency_ms=LATENCY_MS)
        plan = [*vastplan_cmd(), "plan", "-f", str(stack), "--api-url", sb.url, "--detailed-exitcode"]
        local, remote = [], []
        for _ in range(ctx.runs):
            for argv, into in ((plan, local), ([*plan, "--backend", url], remote)):
                result = run(argv, env, cwd=work, check=False)
                if result.code != 0:
                    raise RuntimeError(f"the plan of unchanged templates did not say No changes: {failure(result)}")
                into.append(result.seconds)
    return local, remote, "vastplan plan -f stack.yaml --detailed-exitcode [--backend postgresql://...]"


def _applies(ctx: Context, server: str) -> tuple[list[float], list[float]]:
    local, remote = [], []
    for number in range(ctx.runs):
        for into, backend in ((local, False), (remote, True)):
            with workdir("pgapply") as work, sandbox(machines=60) as sb:
                stack = work / "stack.yaml"
                stack.write_text(templates_stack("benchpg", APPLY_N))
                argv = [*vastplan_cmd(), "apply", "--auto-approve", "-f", str(stack), "--api-url", sb.url]
                if backend:
                    argv += ["--backend", _database(server, f"bench_apply_{number}")]
                into.append(run(argv, client_env(work / "home"), cwd=work).seconds)
    return local, remote


def _write_times(server: str) -> tuple[float, float]:
    """Median seconds of one write of a 200-template state: (local file, PostgreSQL)."""
    from vastplan.state.backends.local import LocalStateFile
    from vastplan.state.backends.postgres import PostgresBackend
    from vastplan.state.model import ResourceState, State

    state = State.new("benchpg")
    for i in range(APPLY_N):
        state = state.with_resource(f"templates.t{i}", ResourceState(
            "template", 1000 + i, {"image": f"bench/web{i}", "tag": "latest", "disk_gb": 10, "env": {}}))
    results = []
    with workdir("pgwrite") as work:
        for backend in (LocalStateFile(Path(work) / "s.json"),
                        PostgresBackend(_database(server, "bench_write"), "benchpg")):
            current = backend.write(state)
            times = []
            with backend.lock("bench", 0):
                for _ in range(200):
                    began = time.perf_counter()
                    current = backend.write(current)
                    times.append(time.perf_counter() - began)
            results.append(median(times))
    return results[0], results[1]


def measure(ctx: Context) -> list[Row]:
    from tests import pgserver

    server = pgserver.start(durable=True)
    try:
        plan_local, plan_pg, plan_command = _plans(ctx, server.url)
        apply_local, apply_pg = _applies(ctx, server.url)
        write_local, write_pg = _write_times(server.url)
    finally:
        server.stop()
    p_ratio = median(plan_pg) / median(plan_local)

    def runs(values: list[float]) -> str:
        return ", ".join(f"{s:.2f}" for s in values)

    a_ratio = median(apply_pg) / median(apply_local)
    ctx.detail("7. State in PostgreSQL vs the local file", f"""
PostgreSQL 15 on loopback (durable: fsync on), started by `tests/pgserver.py`; the sandbox in its own process.

| run | local file, runs (s) | PostgreSQL, runs (s) |
| --- | --- | --- |
| plan of {PLAN_N:,} unchanged templates, {LATENCY_MS:.0f} ms/request | {runs(plan_local)} | {runs(plan_pg)} |
| apply of {APPLY_N} templates ({2 * APPLY_N} state writes) | {runs(apply_local)} | {runs(apply_pg)} |

One state write of a {APPLY_N}-template state (median of 200, in-process, lock held): local file
{write_local * 1000:.2f} ms (temp file, fsync, rename, fsync of the folder), PostgreSQL
{write_pg * 1000:.2f} ms (one transaction: row lock, serial check, upsert of the JSONB, a version row,
pruning to the last 20). Plan command: `{plan_command}`.
""")
    command = "python -m bench --only backend"
    return [
        Row(f"7a. plan of {PLAN_N:,} unchanged templates, PostgreSQL vs local", f"<= {PLAN_TARGET} x",
            f"{median(plan_pg):.2f} s vs {median(plan_local):.2f} s = {p_ratio:.2f} x", p_ratio <= PLAN_TARGET,
            command, len(plan_pg)),
        Row(f"7b. apply of {APPLY_N} templates, PostgreSQL vs local", f"<= {APPLY_TARGET} x",
            f"{median(apply_pg):.2f} s vs {median(apply_local):.2f} s = {a_ratio:.2f} x", a_ratio <= APPLY_TARGET,
            command, len(apply_pg)),
        Row(f"7c. one state write ({APPLY_N} resources), PostgreSQL vs local", "(shown)",
            f"{write_pg * 1000:.2f} ms vs {write_local * 1000:.2f} ms", None, command, 200),
    ]
