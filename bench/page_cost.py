"""Figure 6: a plan of 10,000 unchanged instances with no latency: its wall time, the sandbox's own CPU
during it (read from /proc, so the two are told apart on a shared machine), and the bytes of the
instance-listing pages the plan downloads (counted by the sandbox per route)."""

from __future__ import annotations

import os
from pathlib import Path

from bench import fixtures
from bench.common import Composition, client_env, failure, machines_for, median, run, sandbox, shown, workdir
from bench.report import Context, Row

N = 10_000
WALL_TARGET = 4.0
LISTING = "GET /api/v1/instances/"
COMMAND = "python -m bench --only pages"


def cpu_seconds(pid: int) -> float:
    """User + system CPU a process has used so far (its threads included)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(ctx: Context) -> list[Row]:
    n = N if N in ctx.sizes or not ctx.quick else max(ctx.sizes)
    comp = Composition.of(n)
    walls, cpus, page_bytes, pages, failed = [], [], [], [], []
    largest = 0
    with workdir(f"pages{n}") as work, sandbox(machines=machines_for(comp.instances), boot_seconds=0.05) as sb:
        fx = fixtures.build(sb, work, comp)
        env = client_env(work / "home")
        for _ in range(ctx.runs):
            sb.reset_counters()
            before = cpu_seconds(sb.proc.pid)
            result = run(fx.plan_argv(sb.url), env, cwd=work, check=False)
            cpus.append(cpu_seconds(sb.proc.pid) - before)
            walls.append(result.seconds)
            if result.code not in (0, 2):
                failed.append(failure(result))
            elif "No changes." not in result.out:
                raise RuntimeError(f"the N={n} fixture does not plan clean:\n{result.out[-3000:]}")
            counters = sb.counters()
            count = int(counters["routes"].get(LISTING, 0))
            total = int(counters.get("bytes", {}).get(LISTING, 0))
            pages.append(count)
            page_bytes.append(total / count if count else 0.0)
            largest = max(largest, total)
        command = shown(fx.plan_argv("URL"))
    wall, cpu, per_page = median(walls), median(cpus), median(page_bytes)
    ctx.detail(f"6. Plan of {n:,} unchanged instances, no latency", f"""
Stack of figure 1 at N = {n:,} ({comp.instances:,} instances); `{command}`, a fresh count per run.
Plan wall (s): {', '.join(f'{s:.2f}' for s in walls)}; sandbox CPU during each plan (s, from
`/proc/PID/stat` of the sandbox process): {', '.join(f'{c:.2f}' for c in cpus)}; listing pages per plan:
{', '.join(str(p) for p in pages)}; mean bytes per listing page: {', '.join(f'{b:,.0f}' for b in page_bytes)}.
Every page is filtered by 25 ids (its `label_counts` covers those 25), except the first: an unfiltered page
whose `label_counts` is the whole account's (one entry per instance here, since each has its own label),
which the orphan scan reads instead of making a request of its own.
""" + (f"\n**Failed plans**: {len(failed)}, e.g. `{failed[-1]}`.\n" if failed else ""))
    return [
        Row(f"6a. plan wall time, N = {n:,} unchanged instances, 0 ms/request", f"<= {WALL_TARGET} s",
            f"{wall:.2f} s (sandbox CPU {cpu:.2f} s)" + (f", {len(failed)} failed" if failed else ""),
            (wall <= WALL_TARGET and not failed) if n == N else None, COMMAND, len(walls)),
        Row(f"6b. bytes per instance-listing page vastplan downloads, N = {n:,}", "independent of N",
            f"{per_page:,.0f} B mean over {median(pages):.0f} pages", None, COMMAND, len(walls)),
    ]
