"""What each scenario measured, and the table the runner prints."""

from __future__ import annotations

from dataclasses import dataclass, field

from tests.chaos.harness import Census, Run, excerpt


@dataclass
class Figures:
    scenario: str
    trials: int = 0
    kills: int = 0
    untracked: int = 0
    duplicates: int = 0
    lost: int = 0
    failed_applies: int = 0  # apply runs that exited non-zero other than by our SIGKILL or a lock refusal
    unconverged: int = 0  # trials whose final plan still showed changes, or never reached exit 0
    faults: int = 0  # faults the sandbox injected (429s, 5xx, lost answers)
    elapsed: float = 0.0
    # The sandbox logs a traceback ("sandbox handler failed") when a client vanishes mid-request, as a
    # SIGKILLed vastplan does: noise in the sandbox's log, not a wrong answer, so counted, not a problem.
    sandbox_disconnect_tracebacks: int = 0
    notes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # anything that should not happen: a bug

    @property
    def clean(self) -> bool:
        return not (self.untracked or self.duplicates or self.lost or self.unconverged or self.problems)

    def add_census(self, trial: str, found: Census) -> None:
        self.untracked += len(found.untracked)
        self.duplicates += found.duplicate_objects
        self.lost += len(found.lost)
        self.problems += [f"{trial}: {p}" for p in found.problems()]
        if found.pending:
            self.problems.append(f"{trial}: the final state still has pending entries {found.pending}")

    def check_run(self, trial: str, run: Run) -> None:
        """A traceback or a hang is a bug whatever the exit code."""
        if run.code is None:
            self.problems.append(f"{trial}: `{' '.join(run.args[2:4])}` hung (killed after {run.seconds:.0f}s)\n"
                                 + excerpt(run.output))
        if run.traceback:
            self.problems.append(f"{trial}: `{' '.join(run.args[2:4])}` printed a traceback\n"
                                 + excerpt(run.output, 30))

    def summary(self) -> str:
        return (f"{self.scenario}: trials={self.trials} kills={self.kills} untracked={self.untracked} "
                f"duplicates={self.duplicates} lost={self.lost} failed_applies={self.failed_applies} "
                f"unconverged={self.unconverged} faults={self.faults} elapsed={self.elapsed:.1f}s"
                + "".join(f"\n  problem: {p}" for p in self.problems))


COLUMNS = ("scenario", "trials", "kills", "untracked", "duplicates", "lost", "failed applies", "unconverged",
           "faults injected", "elapsed")


def table(rows: list[Figures]) -> str:
    cells = [COLUMNS] + [(f.scenario, str(f.trials), str(f.kills), str(f.untracked), str(f.duplicates), str(f.lost),
                          str(f.failed_applies), str(f.unconverged), str(f.faults), f"{f.elapsed:.1f}s")
                         for f in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(COLUMNS))]

    def line(row: tuple[str, ...]) -> str:
        pairs = enumerate(zip(row, widths, strict=True))
        padded = (cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in pairs)
        return "  ".join(padded)

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(cells[0]), rule, *(line(r) for r in cells[1:])])
