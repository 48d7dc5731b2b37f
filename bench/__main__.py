"""``python -m bench [--quick] [--only FIGURE ...]``: run the benchmarks, write bench/RESULTS.md
(a ``--quick`` run writes bench/RESULTS.quick.md, which git ignores, unless ``--out`` says otherwise)."""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from bench import (
    apply_fleet,
    page_cost,
    plan_time,
    rate_limit,
    refresh_requests,
    startup,
    state_backend,
    terraform,
    versus_terraform,
)
from bench.common import REPO, machine_info
from bench.report import HERE, Context, Row, verdict, write

RESULTS, QUICK_RESULTS = HERE / "RESULTS.md", HERE / "RESULTS.quick.md"

FIGURES: dict[str, Callable[[Context], list[Row]]] = {
    "refresh": refresh_requests.measure,
    "plan": plan_time.measure,
    "apply": apply_fleet.measure,
    "ratelimit": rate_limit.measure,
    "startup": startup.measure,
    "pages": page_cost.measure,
    "backend": state_backend.measure,
    "terraform": versus_terraform.measure,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true",
                        help="a few minutes: N up to 1,000, 3 runs, one vastai script run")
    parser.add_argument("--only", nargs="+", choices=list(FIGURES), default=list(FIGURES), metavar="FIGURE",
                        help=f"figures to run: {', '.join(FIGURES)} (default: all)")
    parser.add_argument("--runs", type=int, default=None, help="runs per measurement (default 5, quick 3)")
    parser.add_argument("--rate-scale", type=float, default=0.1,
                        help="multiplier of Vast.ai's rate-limit thresholds in figure 4 (1.0 = real)")
    parser.add_argument("--out", type=Path, default=None,
                        help="the report (default bench/RESULTS.md; with --quick bench/RESULTS.quick.md, untracked)")
    args = parser.parse_args(argv)
    ctx = Context(
        quick=args.quick,
        runs=args.runs or (3 if args.quick else 5),
        sizes=(10, 100, 1_000) if args.quick else (10, 100, 1_000, 10_000),
        rate_scale=args.rate_scale,
        vastai_runs=1 if args.quick else 5,
    )
    out = args.out or (QUICK_RESULTS if args.quick else RESULTS)
    began = time.perf_counter()
    info = machine_info()
    info["terraform"] = terraform.version()
    rows: list[Row] = []
    for name in args.only:
        started = time.perf_counter()
        print(f"[bench] {name} ...", file=sys.stderr, flush=True)
        got = FIGURES[name](ctx)
        for row in got:
            print(f"[bench]   {row.figure}: {row.measured} (target {row.target}) {verdict(row.ok)}",
                  file=sys.stderr, flush=True)
        print(f"[bench] {name} took {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
        rows += got
    if not args.quick and args.only == list(FIGURES):
        rows.append(quick_stays_untracked())
    command = "python -m bench" + (" --quick" if args.quick else "") + \
        (f" --only {' '.join(args.only)}" if args.only != list(FIGURES) else "") + \
        (f" --runs {args.runs}" if args.runs else "") + \
        (f" --rate-scale {args.rate_scale}" if args.rate_scale != 0.1 else "")
    write(out, info, command, rows, ctx, time.perf_counter() - began)
    print(f"[bench] wrote {out}", file=sys.stderr)
    return 0


def quick_stays_untracked() -> Row:
    """A quick run must leave a checkout as it found it: its report is a file git ignores."""
    relative = QUICK_RESULTS.relative_to(REPO)
    if not (REPO / ".git").exists():
        return Row("9. `python -m bench --quick` leaves `git status` clean", f"`{relative}` ignored by git",
                   "not a git checkout", None, "git check-ignore", 1)
    ignored = subprocess.run(["git", "check-ignore", "-q", str(relative)], cwd=REPO, check=False).returncode == 0
    tracked = subprocess.run(["git", "ls-files", "--error-unmatch", str(relative)], cwd=REPO, capture_output=True,
                             check=False).returncode == 0
    return Row("9. `python -m bench --quick` leaves `git status` clean", f"its report, `{relative}`, ignored by git",
               "ignored, untracked" if ignored and not tracked else f"ignored: {ignored}, tracked: {tracked}",
               ignored and not tracked, f"git check-ignore {relative}", 1)


if __name__ == "__main__":
    sys.exit(main())
