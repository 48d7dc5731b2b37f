"""Figure 6: a plan of 10,000 unchanged resources with no latency: its wall time, the plan's and the
sandbox's CPU during it (told apart on a shared machine), and the bytes of the instance-listing pages
a plan downloads (counted by the sandbox per route), at 1,000 and 10,000 to show they do not grow."""

from __future__ import annotations

import json
import os
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from bench import fixtures
from bench.common import (
    DUMMY_KEY,
    Composition,
    Sandbox,
    client_env,
    failure,
    machines_for,
    median,
    run,
    sandbox,
    shown,
    workdir,
)
from bench.report import Context, Row

N = 10_000
SMALLER = 1_000
WALL_TARGET = 4.0
LISTING = "GET /api/v1/instances/"
COMMAND = "python -m bench --only pages"


def cpu_seconds(pid: int) -> float:
    """User + system CPU a process has used so far (its threads included)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def first_page_bytes(sb: Sandbox) -> int:
    """The unfiltered page a refresh starts with (it carries the account's label tally)."""
    from vastplan.kinds.instance import LIVE_COLS

    query = {"select_filters": "{}", "order_by": json.dumps([{"col": "id", "dir": "asc"}]), "limit": "25",
             "select_cols": json.dumps(list(LIVE_COLS))}
    request = urllib.request.Request(f"{sb.url}/api/v1/instances/?{urllib.parse.urlencode(query)}",
                                     headers={"Authorization": f"Bearer {DUMMY_KEY}"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return len(response.read())


@dataclass
class Plans:
    n: int
    walls: list[float]
    plan_cpus: list[float]
    sandbox_cpus: list[float]
    pages: int
    first_page: int
    other_pages_mean: float
    failed: list[str]
    command: str


def plans(n: int, runs: int) -> Plans:
    comp = Composition.of(n)
    walls, plan_cpus, sandbox_cpus, failed = [], [], [], []
    with workdir(f"pages{n}") as work, sandbox(machines=machines_for(comp.instances), boot_seconds=0.05) as sb:
        fx = fixtures.build(sb, work, comp)
        env = client_env(work / "home")
        for _ in range(runs):
            sb.reset_counters()
            before = cpu_seconds(sb.proc.pid)
            result = run(fx.plan_argv(sb.url), env, cwd=work, check=False)
            sandbox_cpus.append(cpu_seconds(sb.proc.pid) - before)
            walls.append(result.seconds)
            plan_cpus.append(result.cpu)
            if result.code not in (0, 2):
                failed.append(failure(result))
            elif "No changes." not in result.out:
                raise RuntimeError(f"the N={n} fixture does not plan clean:\n{result.out[-3000:]}")
        counters = sb.counters()
        pages = int(counters["routes"].get(LISTING, 0))
        total = int(counters.get("bytes", {}).get(LISTING, 0))
        first = first_page_bytes(sb)
        command = shown(fx.plan_argv("URL"))
    others = (total - first) / (pages - 1) if pages > 1 else 0.0
    return Plans(n, walls, plan_cpus, sandbox_cpus, pages, first, others, failed, command)


def measure(ctx: Context) -> list[Row]:
    sizes = [n for n in (SMALLER, N) if n in ctx.sizes] or [max(ctx.sizes)]
    measured = {n: plans(n, ctx.runs) for n in sizes}
    big = measured[max(measured)]
    load = os.getloadavg()[0]
    table = ["| N | instance pages per plan | bytes, first (unfiltered) page | bytes per other page (mean) |",
             "| --- | --- | --- | --- |"]
    table += [f"| {p.n:,} | {p.pages} | {p.first_page:,} | {p.other_pages_mean:,.0f} |" for p in measured.values()]
    ctx.detail(f"6. Plan of {big.n:,} unchanged resources, no latency", f"""
Stack of figure 1 at N = {big.n:,}; `{big.command}`. Plan wall (s):
{', '.join(f'{s:.2f}' for s in big.walls)}; the plan process's own CPU (s, user + system from `wait4`):
{', '.join(f'{c:.2f}' for c in big.plan_cpus)}; the sandbox's CPU during each plan (s, `/proc/PID/stat` of
its process): {', '.join(f'{c:.2f}' for c in big.sandbox_cpus)}. 1-minute load average at the end:
{load:.2f} on {os.cpu_count()} cores: other work on the machine stretches the wall time, not the CPU figures.

Bytes of the instance-listing pages of the last plan (the sandbox's `bytes` counter per route). Every
page but the first is filtered by 25 ids, asks for the columns vastplan reads, and carries a
`label_counts` of those 25; the first is unfiltered and carries the account's tally (one entry per
instance here, each having its own label), which the orphan scan reads instead of a request of its own.

{chr(10).join(table)}
""" + "".join(f"\n**Failed plans** at N = {p.n:,}: {len(p.failed)}, e.g. `{p.failed[-1]}`.\n"
              for p in measured.values() if p.failed))
    wall = median(big.walls)
    rows = [Row(f"6a. plan wall time, N = {big.n:,} unchanged, 0 ms/request", f"<= {WALL_TARGET} s",
                f"{wall:.2f} s (plan CPU {median(big.plan_cpus):.2f} s, sandbox CPU {median(big.sandbox_cpus):.2f} s)"
                + (f", {len(big.failed)} failed" if big.failed else ""),
                (wall <= WALL_TARGET and not big.failed) if big.n == N else None, COMMAND, len(big.walls))]
    rows += [Row(f"6b. bytes per filtered instance page vastplan downloads, N = {p.n:,}", "independent of N",
                 f"{p.other_pages_mean:,.0f} B (first, unfiltered page: {p.first_page:,} B)", None, COMMAND, 1)
             for p in measured.values()]
    return rows
