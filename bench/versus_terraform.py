"""Figure 8: ``vastplan plan`` of N unchanged resources (figure 1's stack and account, no latency)
side by side with ``terraform plan`` of N unchanged ``terraform_data`` resources laid out the same
way (Terraform's core cost, with no provider and no network), at N = 100, 1,000 and 10,000. Runs are
interleaved (vastplan, terraform, vastplan, ...) after one warm-up each, so both see the same load.
"""

from __future__ import annotations

from bench import fixtures, terraform
from bench.common import RSS_MEASURED_BY, Composition, client_env, machines_for, median, run, sandbox, shown, workdir
from bench.report import Context, Row

SIZES = (100, 1_000, 10_000)
TARGETS = {100: 2.0, 10_000: 0.3}  # vastplan's plan at most this many times Terraform's
COMMAND = "python -m bench --only terraform"


def _pair(n: int, runs: int) -> tuple[list[float], list[float], list[float], list[float], str]:
    comp = Composition.of(n)
    with workdir(f"versus{n}") as work, sandbox(machines=machines_for(comp.instances), boot_seconds=0.05) as sb:
        fx = fixtures.build(sb, work, comp)
        project = terraform.Project(work, comp)
        env = client_env(work / "home")
        argv = fx.plan_argv(sb.url)

        def ours() -> tuple[float, float]:
            result = run(argv, env, cwd=work, check=False)
            if result.code not in (0, 2) or "No changes." not in result.out:
                raise RuntimeError(f"vastplan plan of {n} did not plan clean (exit {result.code}):\n"
                                   f"{result.out[-2000:]}\n{result.err[-2000:]}")
            return result.seconds, result.maxrss_mb

        ours()
        project.plan()  # warm-up: .pyc files, the schema cache, the page cache
        vp, vp_rss, tf, tf_rss = [], [], [], []
        for _ in range(runs):
            seconds, rss = ours()
            vp.append(seconds)
            vp_rss.append(rss)
            theirs = project.plan()
            tf.append(theirs.seconds)
            tf_rss.append(theirs.maxrss_mb)
        command = shown(fx.plan_argv("URL")).replace(str(work) + "/", "")
    return vp, tf, vp_rss, tf_rss, command


def measure(ctx: Context) -> list[Row]:
    sizes = [n for n in SIZES if n in ctx.sizes]
    if terraform.terraform_bin() is None:
        ctx.detail("8. Plan side by side with Terraform", "`terraform` is not on PATH: not measured.")
        return [Row(f"8. plan of {n:,} unchanged vs `terraform plan`", "", "terraform not on PATH", None, COMMAND, 0)
                for n in sizes]
    table = ["| N | vastplan plan, median s | terraform plan, median s | ratio | vastplan runs (s) "
             "| terraform runs (s) | peak RSS MB, vastplan / terraform |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    rows, command = [], ""
    for n in sizes:
        vp, tf, vp_rss, tf_rss, command = _pair(n, ctx.runs)
        v, t = median(vp), median(tf)
        table.append(f"| {n:,} | {v:.3f} | {t:.3f} | {v / t:.2f} x | {', '.join(f'{s:.2f}' for s in vp)} | "
                     f"{', '.join(f'{s:.2f}' for s in tf)} | {median(vp_rss):.0f} / {median(tf_rss):.0f} |")
        factor = TARGETS.get(n)
        rows.append(Row(f"8. plan of {n:,} unchanged resources vs `terraform plan` of {n:,} `terraform_data`",
                        f"<= {factor} x" if factor else "(shown)", f"{v:.3f} s vs {t:.3f} s = {v / t:.2f} x",
                        v <= factor * t if factor else None, COMMAND, len(vp)))
    ctx.detail("8. Plan side by side with Terraform", f"""
{terraform.version()}, planning `terraform_data` resources laid out as figure 1's stack (1 key, N/100
templates, the rest in `count` groups of 100 whose input names their template's output), all applied,
so the plan says "No changes." (`terraform plan -input=false -no-color` in its own folder, with an
empty CLI config and checkpoint off: no network). vastplan plans figure 1's stack against the sandbox
with no latency (`{command}`); the sandbox's CPU shares the machine's cores with the plan.
Interleaved, after one warm-up of each. Peak RSS of each process by {RSS_MEASURED_BY}.

{chr(10).join(table)}
""")
    return rows

