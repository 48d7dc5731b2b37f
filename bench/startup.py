"""Figure 5: start-up, side by side with the official CLI and with Terraform in one run (interleaved,
so all see the same machine load): ``vastplan --version`` <= 0.25 x ``vastai --help`` and <= 1.5 x
``terraform version``; ``vastplan validate`` of a 1,000-resource stack <= 0.6 x ``vastai --help`` and
<= 2.5 x ``terraform validate`` of the same 1,000 resources as ``terraform_data``."""

from __future__ import annotations

from bench import terraform
from bench.common import Composition, client_env, median, run, shown, stack_text, vastai_cmd, vastplan_cmd, workdir
from bench.report import Context, Row

VERSION_FACTOR, VALIDATE_FACTOR, N = 0.25, 0.6, 1_000
TF_VERSION_FACTOR, TF_VALIDATE_FACTOR = 1.5, 2.5
COMMAND = "python -m bench --only startup"


def measure(ctx: Context) -> list[Row]:
    with workdir("startup") as work:
        env = client_env(work / "home")
        stack = work / "stack1000.yaml"
        comp = Composition.of(N)
        stack.write_text(stack_text("bench", comp))
        commands = {
            "vastai": ([*vastai_cmd(), "--help"], env, work),
            "version": ([*vastplan_cmd(), "--version"], env, work),
            "validate": ([*vastplan_cmd(), "validate", "-f", str(stack)], env, work),
        }
        project = terraform.Project(work, comp, applied=False) if terraform.terraform_bin() else None
        if project is not None:
            commands["tf version"] = ([project.bin, "version"], project.env, project.dir)
            commands["tf validate"] = (project.validate_argv(), project.env, project.dir)
        for argv, cmd_env, cwd in commands.values():  # warm .pyc files, the schema cache, the page cache
            run(argv, cmd_env, cwd=cwd)
        times: dict[str, list[float]] = {k: [] for k in commands}
        for _ in range(max(ctx.runs, 7)):
            for name, (argv, cmd_env, cwd) in commands.items():
                times[name].append(run(argv, cmd_env, cwd=cwd).seconds)
        shown_as = {k: shown(argv).replace(str(work) + "/", "").replace(project.bin if project else "\0", "terraform")
                    for k, (argv, _, _) in commands.items()}
    m = {k: median(v) for k, v in times.items()}
    ctx.detail("5. Start-up", """
Interleaved runs, after one warm-up each (s). `terraform validate` checks the 1,000 resources of the
same stack written as `terraform_data` (bench/terraform.py), in its own initialised folder.

| command | median | runs |
| --- | --- | --- |
""" + "\n".join(f"| `{shown_as[k]}` | {m[k]:.3f} | {', '.join(f'{t:.3f}' for t in times[k])} |" for k in commands))
    v, ver, val = m["vastai"], m["version"], m["validate"]
    rows = [
        Row("5a. `vastplan --version` vs `vastai --help`",
            f"<= {VERSION_FACTOR} x {v:.3f} s = {VERSION_FACTOR * v:.3f} s",
            f"{ver:.3f} s ({ver / v:.2f} x)", ver <= VERSION_FACTOR * v, COMMAND, len(times["version"])),
        Row(f"5b. `vastplan validate` ({N:,} resources) vs `vastai --help`",
            f"<= {VALIDATE_FACTOR} x {v:.3f} s = {VALIDATE_FACTOR * v:.3f} s", f"{val:.3f} s ({val / v:.2f} x)",
            val <= VALIDATE_FACTOR * v, COMMAND, len(times["validate"])),
    ]
    if project is None:
        return rows + [Row(f"5{c}. vs Terraform", "", "terraform not on PATH", None, COMMAND, 0) for c in "cd"]
    tv, tval = m["tf version"], m["tf validate"]
    return rows + [
        Row("5c. `vastplan --version` vs `terraform version`", f"<= {TF_VERSION_FACTOR} x",
            f"{ver:.3f} s vs {tv:.3f} s = {ver / tv:.2f} x", ver <= TF_VERSION_FACTOR * tv, COMMAND,
            len(times["version"])),
        Row(f"5d. `vastplan validate` vs `terraform validate` ({N:,} resources)", f"<= {TF_VALIDATE_FACTOR} x",
            f"{val:.3f} s vs {tval:.3f} s = {val / tval:.2f} x", val <= TF_VALIDATE_FACTOR * tval, COMMAND,
            len(times["validate"])),
    ]
