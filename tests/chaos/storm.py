"""A 429 storm (half of all requests, plain-text body, no Retry-After) plus 10% 503s, for a few
seconds from the start of an apply (odd trials) or from its first create (even trials). The apply
must complete, with nothing lost or made twice: a 503 on a create is an uncertain outcome the
executor reconciles."""

from __future__ import annotations

import time

from tests.chaos.common import Settings, converge_and_count
from tests.chaos.figures import Figures
from tests.chaos.harness import Sandbox, Workdir, census


def run(settings: Settings, trials: int, seconds: float = 5.0) -> Figures:
    began = time.monotonic()
    figures = Figures(f"429 storm {seconds:g}s + 5xx")
    for number in range(1, trials + 1):
        trial = f"storm trial {number} ({'from the first create' if number % 2 == 0 else 'from the start'})"
        with settings.sandbox(f"storm-{number:02d}", seed=settings.seed + number) as sb:
            work = Workdir(sb.root / "work", settings.stack, sb.url, sb.backend)
            at_creates = number % 2 == 0
            if not at_creates:
                _storm(sb, seconds)
            proc, log, t0 = work.start("apply", "--auto-approve")
            if at_creates:  # the refresh and plan pass; the storm breaks as the creates begin
                while proc.poll() is None and "Creating..." not in log.read_text(errors="replace"):
                    time.sleep(0.005)
                _storm(sb, seconds)
            first = work.finish(proc, log, t0, settings.run_timeout)
            figures.trials += 1
            figures.check_run(trial, first)
            if first.code != 0:
                figures.failed_applies += 1
                figures.problems.append(f"{trial}: the apply under the storm exited {first.code}:\n"
                                        + "\n".join("    | " + line for line in first.output.splitlines()
                                                    if "rror" in line or "failed" in line.lower()))
            counters = sb.counters()
            statuses = counters.get("statuses", {})
            figures.faults += int(counters.get("faults_injected", 0))
            reruns = converge_and_count(figures, trial, sb, work, settings, already_done=first.code == 0)
            after = census(sb.world(), work.state(), settings.stack)
        settings.echo(f"  {trial}: apply exit {first.code} after {first.seconds:.1f}s; answers {dict(statuses)}; "
                      f"{reruns} re-run(s) -> {after.objects} objects, untracked {len(after.untracked)}, "
                      f"duplicates {after.duplicate_objects}, lost {len(after.lost)}")
    figures.elapsed = time.monotonic() - began
    return figures


def _storm(sb: Sandbox, seconds: float) -> None:
    sb.add_fault(status=429, rate=0.5, duration=seconds, body="text")
    sb.add_fault(status=503, rate=0.1, duration=seconds)
