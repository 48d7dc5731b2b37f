"""What every scenario shares: its settings, a reference apply, and "re-run until it converges, then count"."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tests.chaos.figures import Figures
from tests.chaos.harness import Sandbox, Workdir, census, excerpt
from tests.chaos.stacks import FULL, ChaosStack


def _quiet(line: str) -> None:
    pass


@dataclass
class Settings:
    root: Path
    stack: ChaosStack = FULL
    seed: int = 0
    machines: int = 200
    boot_seconds: float = 0.3
    latency_ms: float = 0.0  # each API call waits this long in the sandbox before it is carried out
    run_timeout: float = 180.0  # a vastplan run longer than this is a hang
    reruns: int = 3  # after a kill or a failure: apply again until it exits 0, at most this many times
    echo: Callable[[str], None] = field(default=_quiet)
    pg_server: str | None = None  # a PostgreSQL URL: every trial keeps its state in a fresh database there


    def sandbox(self, name: str, seed: int = 0) -> Sandbox:
        return Sandbox(self.root / name, machines=self.machines, boot_seconds=self.boot_seconds, seed=seed,
                       latency_ms=self.latency_ms, pg_server=self.pg_server)


@dataclass(frozen=True)
class Reference:
    """One undisturbed apply of the stack on a fresh sandbox: how long it takes, the state serial it
    ends on (one per state write), and the mutating calls it makes."""

    seconds: float
    serial: int
    mutations: dict[str, int]


def mutations(counters: dict[str, object]) -> dict[str, int]:
    routes = counters.get("routes") or {}
    assert isinstance(routes, dict)
    return {route: int(n) for route, n in sorted(routes.items()) if not route.startswith("GET ")}


def reference(settings: Settings, name: str = "reference") -> Reference:
    with settings.sandbox(name) as sb:
        work = Workdir(sb.root / "work", settings.stack, sb.url, sb.backend)
        run = work.apply(timeout=settings.run_timeout)
        state = work.state()
        if run.code != 0 or state is None:
            raise RuntimeError(f"the reference apply failed (exit {run.code}):\n{excerpt(run.output, 40)}")
        found = census(sb.world(), state, settings.stack)
        if found.problems():
            raise RuntimeError(f"the reference apply is already wrong: {found.problems()}")
        ref = Reference(run.seconds, int(state["serial"]), mutations(sb.counters()))
    settings.echo(f"reference: {settings.stack.size} resources applied in {ref.seconds:.2f}s "
                  f"({settings.latency_ms:g} ms latency), state serial {ref.serial}")
    return ref


def converge_and_count(figures: Figures, trial: str, sb: Sandbox, work: Workdir, settings: Settings,
                       already_done: bool = False) -> int:
    """Apply again until an apply exits 0 (at most ``settings.reruns`` times), check that a plan then shows
    no changes, and count what the sandbox holds against the state. Returns the re-runs it took."""
    reruns = 0
    done = already_done
    while not done and reruns < settings.reruns:
        reruns += 1
        run = work.apply(timeout=settings.run_timeout)
        figures.check_run(trial, run)
        done = run.code == 0
        if not done:
            figures.failed_applies += 1
            figures.notes.append(f"{trial}: re-run {reruns} exited {run.code}:\n{excerpt(run.output, 8)}")
    if not done:
        figures.unconverged += 1
        figures.problems.append(f"{trial}: no apply succeeded in {settings.reruns} re-runs")
    planned = work.run("plan", "--detailed-exitcode", timeout=settings.run_timeout)
    figures.check_run(trial, planned)
    if done and planned.code != 0:
        figures.unconverged += 1
        figures.problems.append(f"{trial}: after a successful apply, plan --detailed-exitcode exited "
                                f"{planned.code}:\n{excerpt(planned.output, 20)}")
    figures.add_census(trial, census(sb.world(), work.state(), settings.stack))
    check_sandbox_log(figures, trial, sb)
    return reruns


def check_sandbox_log(figures: Figures, trial: str, sb: Sandbox) -> None:
    vanished, others = sb.tracebacks()
    figures.sandbox_disconnect_tracebacks += len(vanished)
    figures.problems += [f"{trial}: the sandbox logged a traceback:\n{excerpt(tb, 30)}" for tb in others]
