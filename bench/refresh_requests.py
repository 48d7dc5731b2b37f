"""Figure 1: API requests per refresh at N resources (target: kinds + ceil(N/25)).

Counted by the sandbox (admin counters reset before each ``vastplan plan``); the plan must also say
"No changes", so every request counted is a refresh request. Wall time and peak RSS of each plan
are kept for figure 2.
"""

from __future__ import annotations

import math

from bench import fixtures
from bench.common import Composition, client_env, failure, machines_for, median, run, sandbox, workdir
from bench.report import Context, Row

COMMAND = "python -m bench --only refresh"


def measure(ctx: Context) -> list[Row]:
    rows, table = [], ["| N | keys / templates / instances | kinds | requests (by route) | target | plan wall s "
                       "| peak RSS MB |", "| --- | --- | --- | --- | --- | --- | --- |"]
    for n in ctx.sizes:
        comp = Composition.of(n)
        target = comp.kinds + math.ceil(n / 25)
        counts, seconds, rss, failed = [], [], [], []
        with workdir(f"refresh{n}") as work, sandbox(machines=machines_for(comp.instances), boot_seconds=0.05) as sb:
            fx = fixtures.build(sb, work, comp)
            env = client_env(work / "home")
            routes: dict[str, int] = {}
            for _ in range(ctx.runs):
                sb.reset_counters()
                result = run(fx.plan_argv(sb.url), env, cwd=work, check=False)
                if result.code not in (0, 2):  # a failed plan is a result (a miss), not a harness error
                    failed.append(failure(result))
                elif "No changes." not in result.out:
                    raise RuntimeError(f"the N={n} fixture does not plan clean:\n{result.out[-3000:]}")
                counters = sb.counters()
                counts.append(float(counters["total"]))
                routes = counters["routes"]
                seconds.append(result.seconds)
                rss.append(result.maxrss_mb)
        got = median(counts)
        ctx.shared[f"plan_seconds_{n}"] = seconds
        ctx.shared[f"plan_rss_{n}"] = rss
        ctx.shared[f"plan_failed_{n}"] = failed
        by_route = ", ".join(f"`{k}` {v}" for k, v in routes.items())
        broke = f"; **the plan failed** in {len(failed)}/{len(counts)} runs ({failed[-1]})" if failed else ""
        table.append(f"| {n:,} | {comp.keys} / {comp.templates} / {comp.instances} | {comp.kinds} | {got:.0f} "
                     f"({by_route}){broke} | {target} | {median(seconds):.2f} | {median(rss):.0f} |")
        measured = f"{got:.0f} requests" + (f", plan exits 1 ({len(failed)}/{len(counts)} runs)" if failed else "")
        rows.append(Row(f"1. API requests per refresh, N = {n:,}", f"<= {comp.kinds} + ceil({n}/25) = {target}",
                        measured, got <= target and not failed, COMMAND, len(counts)))
    ctx.detail("1. Requests per refresh", "A stack of N resources is 1 SSH key, max(1, N/100) templates and the "
               "rest instances (groups of `count` <= 100, each using a template). Key and templates are made by "
               "`vastplan apply`; instances are rented through the API with vastplan's own create body and "
               "recorded in state, so `vastplan plan` answers `No changes.` and every request counted by the "
               "sandbox is a refresh request (or, since 0ae88e8, an orphan-scan request: every plan also looks for "
               "objects carrying the stack's marker that state does not know). No latency; stock sandbox, which "
               "looks id-filtered instance pages up by id.\n\n" + "\n".join(table))
    return rows
