"""Figure 5: start-up, side by side with the official CLI in one run (interleaved, so both see the
same machine load): ``vastplan --version`` <= 0.25 x ``vastai --help``, and ``vastplan validate`` of a
1,000-resource stack <= 0.6 x ``vastai --help``."""

from __future__ import annotations

from bench.common import Composition, client_env, median, run, shown, stack_text, vastai_cmd, vastplan_cmd, workdir
from bench.report import Context, Row

VERSION_FACTOR, VALIDATE_FACTOR, N = 0.25, 0.6, 1_000


def measure(ctx: Context) -> list[Row]:
    with workdir("startup") as work:
        env = client_env(work / "home")
        stack = work / "stack1000.yaml"
        stack.write_text(stack_text("bench", Composition.of(N)))
        commands = {
            "vastai": [*vastai_cmd(), "--help"],
            "version": [*vastplan_cmd(), "--version"],
            "validate": [*vastplan_cmd(), "validate", "-f", str(stack)],
        }
        for argv in commands.values():  # warm the page cache and .pyc files once
            run(argv, env, cwd=work)
        times: dict[str, list[float]] = {k: [] for k in commands}
        for _ in range(max(ctx.runs, 7)):
            for name, argv in commands.items():
                times[name].append(run(argv, env, cwd=work).seconds)
    v, ver, val = (median(times[k]) for k in ("vastai", "version", "validate"))
    ctx.detail("5. Start-up", """
Interleaved runs, after one warm-up each (s):

| command | median | runs |
| --- | --- | --- |
""" + "\n".join(f"| `{shown(argv).replace(str(work) + '/', '')}` | {median(times[k]):.3f} | "
                f"{', '.join(f'{t:.3f}' for t in times[k])} |" for k, argv in commands.items()))
    cmd = "python -m bench --only startup"
    return [
        Row("5a. `vastplan --version` vs `vastai --help`",
            f"<= {VERSION_FACTOR} x {v:.3f} s = {VERSION_FACTOR * v:.3f} s",
            f"{ver:.3f} s ({ver / v:.2f} x)", ver <= VERSION_FACTOR * v, cmd, len(times["version"])),
        Row(f"5b. `vastplan validate` ({N:,} resources) vs `vastai --help`",
            f"<= {VALIDATE_FACTOR} x {v:.3f} s = {VALIDATE_FACTOR * v:.3f} s", f"{val:.3f} s ({val / v:.2f} x)",
            val <= VALIDATE_FACTOR * v, cmd, len(times["validate"])),
    ]
