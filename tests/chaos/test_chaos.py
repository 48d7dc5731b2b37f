"""Small versions of the chaos scenarios (``python -m tests.chaos`` runs the full ones), plus the two
single faults the randomised runs hit by chance, made deterministic.

Everything runs as processes: a ``vastplan sandbox serve`` and ``vastplan apply`` runs, with a dummy
key and folders of their own under ``tmp_path``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from tests.chaos import kills, lock_race, lost_responses, storm
from tests.chaos.common import Settings
from tests.chaos.figures import Figures
from tests.chaos.harness import DUMMY_API_KEY, Workdir, census, excerpt
from tests.chaos.stacks import SMALL, SMALL_VOLUME, ChaosStack


@pytest.fixture
def settings(tmp_path: Path) -> Iterator[Settings]:
    """A 6-resource stack (1 ssh key, 1 template, 4 instances), a fixed seed, 60 s before a run is a hang."""
    yield Settings(tmp_path, stack=SMALL, seed=1, run_timeout=60.0)
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert DUMMY_API_KEY.encode() not in path.read_bytes(), f"the API key was written to {path}"


def assert_clean(figures: Figures) -> None:
    """The figures every scenario must show, most important first, with everything measured on failure."""
    report = figures.summary()
    assert figures.duplicates == 0, report
    assert figures.untracked == 0, report
    assert figures.lost == 0, report
    assert figures.unconverged == 0, report
    assert figures.problems == [], report


def test_sigkill_at_random_moments_then_a_rerun_converges(settings: Settings) -> None:
    figures = kills.run(settings, trials=3)
    assert figures.trials == 3 and figures.kills >= 1, figures.summary()
    assert_clean(figures)
    assert figures.failed_applies == 0, figures.summary()


def test_sigkill_with_state_in_postgresql_then_a_rerun_converges(settings: Settings, pg_server: str) -> None:
    """The same with ``--backend postgresql://...``: the journal entry of a create in flight is in the
    database when the kill comes, so the re-run adopts the object instead of renting it again."""
    figures = kills.run(replace(settings, pg_server=pg_server), trials=3)
    assert figures.trials == 3 and figures.kills >= 1, figures.summary()
    assert_clean(figures)


def test_two_concurrent_applies_with_state_in_postgresql(settings: Settings, pg_server: str) -> None:
    figures = lock_race.run(replace(settings, pg_server=pg_server), trials=1)
    assert_clean(figures)
    assert figures.failed_applies == 0, figures.summary()


def test_sigkill_on_a_stack_with_a_volume_then_a_rerun_converges(settings: Settings) -> None:
    """Workers and instances that must share a volume's machine: a kill between the volume's create and
    its instances' must not leave a stack that can never be placed again."""
    figures = kills.run(replace(settings, stack=SMALL_VOLUME), trials=2)
    assert figures.trials == 2, figures.summary()
    assert_clean(figures)


def test_lost_create_answers_never_make_a_second_object(settings: Settings) -> None:
    """30% of the creates of instances, templates and keys lose their answer: a 502, then a dropped connection."""
    figures = lost_responses.run(settings, trials=2)
    assert figures.faults > 0, figures.summary()  # answers were lost
    assert figures.failed_applies == 0, figures.summary()
    assert_clean(figures)


def test_a_429_storm_with_5xx_is_ridden_out(settings: Settings) -> None:
    """A 2 s storm from the start of an apply, then one from its first create: both applies complete."""
    figures = storm.run(settings, trials=2, seconds=2.0)
    assert figures.faults > 0, figures.summary()
    assert_clean(figures)
    assert figures.failed_applies == 0, figures.summary()


def test_two_concurrent_applies_one_proceeds_the_other_names_it(settings: Settings) -> None:
    figures = lock_race.run(settings, trials=1)
    assert_clean(figures)
    assert figures.failed_applies == 0, figures.summary()


# ---- single faults, deterministic ---------------------------------------------------------------


@pytest.mark.parametrize("drop", [False, True], ids=["502", "dropped"])
def test_a_rental_whose_answer_was_lost_is_finished_like_any_other(settings: Settings, drop: bool) -> None:
    """The lost-answer scenario's figures, one instance with an SSH key: the apply adopts the rental it
    could not see, and must still attach the key and wait for readiness, so nothing is left to do."""
    stack = ChaosStack(keys=1, templates=0, instances=1)
    with settings.sandbox("lost-once") as sb:
        work = Workdir(sb.root / "work", stack, sb.url, sb.backend)
        sb.add_fault(kind="lose_response", count=1, drop=drop, route="PUT /api/v0/asks/*")
        applied = work.apply(timeout=60)
        assert applied.code == 0, excerpt(applied.output, 30)
        assert "found and adopted" in applied.output
        found = census(sb.world(), work.state(), stack)
        assert found.problems() == [], found.problems()
        planned = work.run("plan", "--detailed-exitcode", timeout=60)
        assert planned.code == 0, "the apply said complete, but the next plan still has changes:\n" + excerpt(
            planned.output, 20)


def test_a_create_answered_5xx_twice_still_completes(settings: Settings) -> None:
    """The storm's 5xx hits a create and then its retry (1% of creates in a 10% 5xx storm): the apply
    must ride it out as it rides out a 5xx on any other call, not fail."""
    stack = ChaosStack(keys=0, templates=1, instances=0)
    with settings.sandbox("5xx-twice") as sb:
        work = Workdir(sb.root / "work", stack, sb.url, sb.backend)
        sb.add_fault(status=503, count=2, route="POST /api/v0/template/")
        applied = work.apply(timeout=60)
        found = census(sb.world(), work.state(), stack)
        assert found.duplicates == [] and found.untracked == [], found.problems()
        assert applied.code == 0, "two 503s on one create failed the apply:\n" + excerpt(applied.output, 12)
        assert found.problems() == [], found.problems()
