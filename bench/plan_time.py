"""Figure 2: ``vastplan plan`` wall time at N = 1,000 with 50 ms per request, and peak RSS at N = 10,000."""

from __future__ import annotations

from bench import fixtures
from bench.common import (
    RSS_MEASURED_BY,
    Composition,
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

LATENCY_MS = 50.0
TIME_N, RSS_N = 1_000, 10_000
TIME_TARGET, RSS_TARGET = 0.8, 150.0


def _plans(n: int, runs: int, latency_ms: float) -> tuple[list[float], list[float], str, list[str]]:
    comp = Composition.of(n)
    with workdir(f"plan{n}") as work, sandbox(machines=machines_for(comp.instances), boot_seconds=0.05) as sb:
        fx = fixtures.build(sb, work, comp)
        sb.settings(latency_ms=latency_ms)
        env = client_env(work / "home")
        results = [run(fx.plan_argv(sb.url), env, cwd=work, check=False) for _ in range(runs)]
        refresh_line = next((ln for ln in results[-1].out.splitlines() if ln.startswith("Refreshing")), "")
        command = shown(fx.plan_argv("URL"))
    failed = [failure(r) for r in results if r.code not in (0, 2)]
    return [r.seconds for r in results], [r.maxrss_mb for r in results], f"{command}  # {refresh_line}", failed


def measure(ctx: Context) -> list[Row]:
    seconds, _, line, failed = _plans(TIME_N, ctx.runs, LATENCY_MS)
    rss_n = RSS_N if RSS_N in ctx.sizes or not ctx.quick else max(ctx.sizes)
    rss = ctx.shared.get(f"plan_rss_{rss_n}")
    rss_seconds = ctx.shared.get(f"plan_seconds_{rss_n}")
    rss_failed = ctx.shared.get(f"plan_failed_{rss_n}", [])
    if rss is None:
        rss_seconds, rss, _, rss_failed = _plans(rss_n, ctx.runs, 0.0)
    t, m = median(seconds), median(rss)
    ctx.detail("2. Plan wall time and memory", f"""
Wall time of the whole `vastplan plan` process (start-up, stack load, state read, refresh, diff, render)
at N = {TIME_N:,} with the sandbox answering every request after {LATENCY_MS:.0f} ms; runs (s):
{', '.join(f'{s:.2f}' for s in seconds)}. Last run: `{line}`.

Peak RSS of the plan process itself (by {RSS_MEASURED_BY}) at N = {rss_n:,}, no latency; runs (MB):
{', '.join(f'{x:.0f}' for x in rss)}; wall time of those plans (s): {', '.join(f'{s:.1f}' for s in rss_seconds or [])}.
""" + "".join(f"\n**Failed plans** at N = {k:,}: {len(f)} of the runs, e.g. `{f[-1]}`.\n"
              for k, f in ((TIME_N, failed), (rss_n, rss_failed)) if f))
    broke = ", plan exits 1 ({}/{} runs)"
    return [
        Row(f"2a. plan wall time, N = {TIME_N:,}, {LATENCY_MS:.0f} ms/request", f"<= {TIME_TARGET} s",
            f"{t:.2f} s" + (broke.format(len(failed), len(seconds)) if failed else ""),
            t <= TIME_TARGET and not failed, "python -m bench --only plan", len(seconds)),
        Row(f"2b. plan peak RSS, N = {rss_n:,}", f"<= {RSS_TARGET:.0f} MB",
            f"{m:.0f} MB" + (broke.format(len(rss_failed), len(rss)) if rss_failed else ""),
            (m <= RSS_TARGET and not rss_failed) if rss_n == RSS_N else None, "python -m bench --only plan", len(rss)),
    ]
