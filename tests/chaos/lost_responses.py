"""30% of creates lose their answer after the object was made: a 502, or (``drop``) a closed
connection. Instances (``PUT /asks/{id}``), templates and SSH keys alike. Nothing may be rented or
made twice, and nothing may be left out of state."""

from __future__ import annotations

import time

from tests.chaos.common import Settings, converge_and_count
from tests.chaos.figures import Figures
from tests.chaos.harness import Workdir, census

CREATE_ROUTES = ("PUT /api/v0/asks/*", "POST /api/v0/template/", "POST /api/v0/ssh/")


def run(settings: Settings, trials: int, rate: float = 0.3) -> Figures:
    began = time.monotonic()
    figures = Figures(f"lost create answers ({rate:.0%})")
    for number in range(1, trials + 1):
        drop = number % 2 == 0  # alternate: a 502 after the object was made, then a dropped connection
        trial = f"lost-answer trial {number} ({'drop' if drop else '502'})"
        # The sandbox draws fault rates from its seed: a different seed per trial, reproducibly.
        with settings.sandbox(f"lost-{number:02d}", seed=settings.seed + number) as sb:
            for route in CREATE_ROUTES:
                sb.add_fault(kind="lose_response", rate=rate, route=route, drop=drop)
            work = Workdir(sb.root / "work", settings.stack, sb.url, sb.backend)
            first = work.apply(timeout=settings.run_timeout)
            figures.trials += 1
            figures.check_run(trial, first)
            if first.code != 0:
                figures.failed_applies += 1
                figures.notes.append(f"{trial}: the first apply exited {first.code}")
            reruns = converge_and_count(figures, trial, sb, work, settings, already_done=first.code == 0)
            lost_answers = int(sb.counters().get("faults_injected", 0))
            figures.faults += lost_answers
            after = census(sb.world(), work.state(), settings.stack)
            adopted = first.output.count("found and adopted")
        settings.echo(f"  {trial}: {lost_answers} answers lost, {adopted} adopted by the apply, first apply exit "
                      f"{first.code}, {reruns} re-run(s) -> {after.objects} objects, untracked {len(after.untracked)}, "
                      f"duplicates {after.duplicate_objects}, lost {len(after.lost)}")
    figures.elapsed = time.monotonic() - began
    return figures
