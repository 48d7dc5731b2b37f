"""SIGKILL at a random moment of an apply, then apply again until it succeeds, then count.

Each trial starts from nothing (a fresh sandbox and state), so every kill lands in a real apply of
the whole stack. Odd trials kill at a moment uniform between 0 and the duration of an undisturbed
apply (drawn from a seeded ``random.Random``). Most of those land in start-up, refresh and readiness
waits, so even trials aim at the creates: the kill comes a random 0..2x the sandbox latency after a
randomly chosen instance says it is renting, while that create is in flight (journaled, its answer
not yet back, the object made or not). The sandbox waits ``LATENCY_MS`` before carrying out each
call, as a remote API would, which is what makes that window wide enough to hit.
"""

from __future__ import annotations

import random
import time
from dataclasses import replace

from tests.chaos.common import Reference, Settings, converge_and_count, reference
from tests.chaos.figures import Figures
from tests.chaos.harness import Workdir, census

LATENCY_MS = 25.0


def run(settings: Settings, trials: int, ref: Reference | None = None) -> Figures:
    """``ref``: an undisturbed apply on sandboxes with ``LATENCY_MS`` (made here when not given)."""
    began = time.monotonic()
    figures = Figures("sigkill during apply")
    settings = replace(settings, latency_ms=LATENCY_MS)
    ref = ref or reference(settings, "kill-reference")
    rng = random.Random(settings.seed)
    # Aimed kills hit any instance's create: a worker's, or one that mounts the stack's volume.
    targets = [a for a in settings.stack.addresses() if a.startswith("instances.")]
    settings.echo(f"sigkill: {trials} trials, seed {settings.seed}; odd: kill between 0 and {ref.seconds:.2f}s, "
                  "even: as a random instance's create is in flight")
    for number in range(1, trials + 1):
        trial = f"kill trial {number}"
        aimed = number % 2 == 0 and bool(targets)
        delay = rng.uniform(0.0, ref.seconds)
        renting = rng.choice(targets) if aimed else ""
        extra = rng.uniform(0.0, 2 * LATENCY_MS / 1000)
        with settings.sandbox(f"kill-{number:02d}") as sb:
            work = Workdir(sb.root / "work", settings.stack, sb.url, sb.backend)
            proc, log, t0 = work.start("apply", "--auto-approve")
            if aimed:  # the moment that instance's create goes out, plus a little
                line = f"{renting}: renting offer"
                while proc.poll() is None and line not in log.read_text(errors="replace"):
                    time.sleep(0.002)
                delay = time.monotonic() - t0 + extra
            first = work.finish(proc, log, t0, settings.run_timeout, kill_after=delay)
            figures.trials += 1
            figures.check_run(trial, first)
            at_kill = census(sb.world(), work.state(), settings.stack)
            if first.killed:
                figures.kills += 1
            elif first.code != 0:
                figures.failed_applies += 1
                figures.notes.append(f"{trial}: the apply exited {first.code} before the kill")
            reruns = converge_and_count(figures, trial, sb, work, settings, already_done=first.code == 0)
            after = census(sb.world(), work.state(), settings.stack)
        moment = f"{renting.removeprefix('instances.')} renting +{extra * 1000:.0f}ms = " if aimed else ""
        where = (f"killed at {moment}{delay:.2f}s: serial {at_kill.serial}, {len(at_kill.pending)} pending, "
                 f"{at_kill.objects} objects live" if first.killed
                 else f"finished (exit {first.code}) before {delay:.2f}s")
        settings.echo(f"  {trial:>14}: {where}; {reruns} re-run(s) -> {after.objects} objects, "
                      f"untracked {len(after.untracked)}, duplicates {after.duplicate_objects}, lost {len(after.lost)}")
    figures.elapsed = time.monotonic() - began
    return figures
