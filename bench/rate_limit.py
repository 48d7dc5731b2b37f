"""Figure 4: the same apply of 50 with the sandbox's rate-limit mode on: within 1.2x of the floor
the limits impose, 0 failed operations.

The limits are Vast.ai's documented example thresholds (the sandbox's ``vast`` preset: create 4.5 s,
destroy 3 s, manage 1 s, volumes 5.5 s between two calls of one endpoint), multiplied by
``--rate-scale`` (default 0.1 so five runs fit in minutes; 1.0 is the real thresholds).
"""

from __future__ import annotations

from bench.apply_fleet import apply_once
from bench.common import median
from bench.report import Context, Row

FACTOR = 1.2
CREATE = "PUT /api/v0/asks/*"


def measure(ctx: Context) -> list[Row]:
    from vastsandbox.world.control import VAST_THRESHOLDS

    n = ctx.apply_count
    routes = {k: round(v * ctx.rate_scale, 4) for k, v in VAST_THRESHOLDS.items()}
    limit = {"interval": 0.0, "routes": routes, "retry_after": False, "body": "text"}
    critical = ctx.shared.get("critical_path")
    if critical is None:
        critical = median(apply_once(1, None).seconds for _ in range(ctx.runs))
    floor = critical + (n - 1) * routes[CREATE]
    applied = [apply_once(n, None, limit, strict=False) for _ in range(ctx.runs)]
    t = median(a.seconds for a in applied)
    limited = [int(a.counters["statuses"].get("429", 0)) for a in applied]
    failed = sum(a.failed for a in applied)
    outcome = "; ".join(f"exit {a.run.code}, {a.instances}/{n} made" for a in applied)
    errors = "\n".join(dict.fromkeys(
        line.strip()[:400] for a in applied for line in (a.run.out + a.run.err).splitlines()
        if "rror" in line or "failed" in line))
    ctx.detail("4. Apply of 50 under rate limits", f"""
Limits (seconds between two calls of one endpoint by one key; 429 with a plain-text body and no
`Retry-After`, as Vast.ai answers): {routes} (the `vast` preset x {ctx.rate_scale}); no limit elsewhere.

Floor: the {n} creates must be {routes[CREATE]} s apart, so the last one cannot start before
(n - 1) x {routes[CREATE]} = {(n - 1) * routes[CREATE]:.2f} s after the first; add the unlimited critical path of one
instance ({critical:.2f} s, figure 3): floor = {floor:.2f} s.

Runs (s): {', '.join(f'{a.seconds:.1f}' for a in applied)}; 429 answers per run: {limited};
outcome per run: {outcome}.
Requests by route (last run): {applied[-1].counters['routes']}; statuses: {applied[-1].counters['statuses']}.
Command: `{applied[-1].command}` with `PUT /_sandbox/rate_limit {limit}`.
""" + (f"\nErrors reported by the failing runs:\n\n```\n{errors.strip()}\n```\n" if errors else ""))
    return [Row(f"4. apply {n} under rate limits (vast preset x {ctx.rate_scale})",
                f"<= {FACTOR} x floor {floor:.1f} s = {FACTOR * floor:.1f} s; 0 failed",
                f"{t:.1f} s ({t / floor:.2f} x floor), {failed} failed", t <= FACTOR * floor and failed == 0,
                f"python -m bench --only ratelimit --rate-scale {ctx.rate_scale}", len(applied))]
