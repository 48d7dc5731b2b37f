"""Two applies started at once on one stack and state: exactly one proceeds, the other exits 3 naming
the winner's pid, and the state the winner leaves is whole: it parses, it was written (the number of
writes varies: changes made at the same moment share one), and it matches the sandbox."""

from __future__ import annotations

import time

from tests.chaos.common import Reference, Settings, check_sandbox_log, mutations, reference
from tests.chaos.figures import Figures
from tests.chaos.harness import LOCK_HOLDER, Workdir, census, excerpt


def run(settings: Settings, trials: int, ref: Reference | None = None) -> Figures:
    began = time.monotonic()
    figures = Figures("two concurrent applies")
    ref = ref or reference(settings)
    for number in range(1, trials + 1):
        trial = f"lock trial {number}"
        with settings.sandbox(f"lock-{number:02d}") as sb:
            work = Workdir(sb.root / "work", settings.stack, sb.url, sb.backend)
            started = [work.start("apply", "--auto-approve") for _ in range(2)]
            runs = [work.finish(proc, log, t0, settings.run_timeout) for proc, log, t0 in started]
            figures.trials += 1
            for one in runs:
                figures.check_run(trial, one)
            codes = sorted(r.code for r in runs if r.code is not None)
            winners = [r for r in runs if r.code == 0]
            losers = [r for r in runs if r.code == 3]
            if codes != [0, 3]:
                figures.failed_applies += sum(1 for r in runs if r.code not in (0, 3))
                figures.problems.append(f"{trial}: exit codes {[r.code for r in runs]}, expected one 0 and one 3\n"
                                        + "\n".join(excerpt(r.output, 10) for r in runs))
            else:
                winner, loser = winners[0], losers[0]
                named = LOCK_HOLDER.search(loser.output)
                if named is None or int(named.group(1)) != winner.pid:
                    figures.problems.append(f"{trial}: the refused apply does not name the winner (pid {winner.pid}) "
                                            f"as 'the state is locked by apply (pid N':\n{excerpt(loser.output)}")
            state = work.state()
            _check_state(figures, trial, work, state, ref)
            made = mutations(sb.counters())
            if made != ref.mutations:
                figures.problems.append(f"{trial}: the mutating calls {made} differ from one apply's {ref.mutations}")
            figures.add_census(trial, census(sb.world(), state, settings.stack))
            check_sandbox_log(figures, trial, sb)
        settings.echo(f"  {trial}: exits {[r.code for r in runs]} (pids {[r.pid for r in runs]}); state serial "
                      f"{(state or {}).get('serial')} (an undisturbed apply: {ref.serial})")
    figures.elapsed = time.monotonic() - began
    return figures


def _check_state(figures: Figures, trial: str, work: Workdir, state: dict[str, object] | None, ref: Reference) -> None:
    if state is None:
        figures.problems.append(f"{trial}: no state file was written")
        return
    serial = state.get("serial")
    if not isinstance(serial, int) or serial <= 0:
        figures.problems.append(f"{trial}: state serial {serial!r}; an undisturbed apply ends on {ref.serial}")
    # .backup is the state as it was before the command; a first apply had none, so none is left.
    backup_path = work.state_path.with_name(work.state_path.name + ".backup")
    if backup_path.exists():
        figures.problems.append(f"{trial}: a first apply left a backup of a state that did not exist")
