"""``python -m tests.chaos [--trials N] [--quick] [--volume] [--seed S] [--only NAME] [--keep]``

Runs the four chaos scenarios against sandbox processes and prints each trial, then the figures
table and every problem found. Exit status 0 when every figure is clean (no untracked, duplicate or
lost object, every trial converged, no traceback or hang), else 1.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

from tests.chaos import kills, lock_race, lost_responses, storm
from tests.chaos.common import Settings
from tests.chaos.figures import Figures, table
from tests.chaos.stacks import FULL, SMALL, SMALL_VOLUME, VOLUME

SCENARIOS = ("kill", "lost", "storm", "lock")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.chaos", description=__doc__.split("\n\n")[1])
    parser.add_argument("--trials", type=int, help="SIGKILL trials (default 20, or 3 with --quick); the other "
                        "scenarios run N/5 (lost answers, at least 2), N/10 (storm), N/4 (lock race) trials")
    parser.add_argument("--quick", action="store_true", help="a 6-resource stack, a 2 s storm, few trials")
    parser.add_argument("--seed", type=int, help="seed of the kill moments and fault draws (default: random, printed)")
    parser.add_argument("--only", choices=SCENARIOS, action="append", help="run only this scenario (repeatable)")
    parser.add_argument("--volume", action="store_true", help="the stack with a volume, unconstrained workers "
                        "and instances that mount the volume (smaller with --quick)")
    parser.add_argument("--backend", metavar="URL", help="keep each trial's state in PostgreSQL: a fresh database "
                        "on the server of URL (postgresql://USER:PASSWORD@HOST:PORT/DB, USER may create databases)")
    parser.add_argument("--keep", action="store_true", help="keep the work folders (kept anyway on a problem)")
    args = parser.parse_args(argv)

    trials = args.trials if args.trials is not None else (3 if args.quick else 20)
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1, 1_000_000)
    stack = (SMALL_VOLUME if args.quick else VOLUME) if args.volume else SMALL if args.quick else FULL
    only = set(args.only or SCENARIOS)
    root = Path(tempfile.mkdtemp(prefix="vastplan-chaos-"))
    settings = Settings(root, stack=stack, seed=seed, echo=lambda line: print(line, flush=True),
                        pg_server=args.backend)
    print(f"chaos: seed {seed} (rerun with --seed {seed}), {stack.size}-resource stack "
          f"({stack.keys} ssh keys, {stack.templates} templates, {stack.instances} instances"
          + (f", a volume and {stack.mounts} instances mounting it" if stack.volume_gb else "") + f"), work in {root}"
          + (" , state in PostgreSQL" if args.backend else ""),
          flush=True)

    began = time.monotonic()
    results: list[Figures] = []
    if "kill" in only:
        results.append(kills.run(settings, trials))
    if "lost" in only:
        results.append(lost_responses.run(settings, max(2, trials // 5)))
    if "storm" in only:
        results.append(storm.run(settings, max(1, trials // 10), seconds=2.0 if args.quick else 5.0))
    if "lock" in only:
        results.append(lock_race.run(settings, max(1, trials // 4)))

    print()
    print(table(results))
    print(f"\ntotal {time.monotonic() - began:.1f}s, seed {seed}")
    problems = [(f.scenario, p) for f in results for p in f.problems]
    for scenario, problem in problems:
        print(f"\nPROBLEM [{scenario}] {problem}")
    disconnects = sum(f.sandbox_disconnect_tracebacks for f in results)
    if disconnects:
        print(f"\nnote: the sandbox logged {disconnects} traceback(s) for requests whose client was killed "
              "(ConnectionResetError reading the body); not counted as problems")
    notes = [(f.scenario, n) for f in results for n in f.notes]
    for scenario, note in notes:
        print(f"\nnote [{scenario}] {note}")
    clean = all(f.clean for f in results)
    if clean and not args.keep:
        shutil.rmtree(root, ignore_errors=True)
    else:
        print(f"\nwork folders (logs, states, sandbox data) kept in {root}")
    return 0 if clean else 1


if __name__ == "__main__":
    sys.exit(main())
