"""The progress rule of the API client's waits, on a simulated clock: what is said, and that a run
riding out a heavy mix of faults is never silent for more than 10 s (no real time passes)."""

from __future__ import annotations

import random
from contextlib import ExitStack

from vastplan.api.waiting import Waits


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def watched() -> tuple[Waits, Clock, list[tuple[float, str]]]:
    clock = Clock()
    said: list[tuple[float, str]] = []
    return Waits(lambda text: said.append((clock.now, text)), clock), clock, said


def test_a_short_blip_stays_quiet_and_a_long_wait_is_announced_with_its_reason() -> None:
    waits, clock, said = watched()
    with waits.waiting("GET /instances/", "it answered 502; retry 1 of 7", 0.4):
        clock.now += 0.4
    clock.now += 20
    waits.tick()
    assert said == []
    with waits.waiting("GET /instances/", "one call every 12.6s to this endpoint, as the API asked", 12.6):
        assert said == [(20.4, "waiting for GET /instances/: one call every 12.6s to this endpoint, "
                               "as the API asked; next try in 13s")]
        clock.now += 9
        waits.tick()
    assert said[-1] == (29.4, "waiting for GET /instances/: one call every 12.6s to this endpoint, "
                              "as the API asked; next try in 4s")


def test_a_request_without_an_answer_is_reported_once_it_has_waited_long() -> None:
    waits, clock, said = watched()
    with waits.waiting("PUT /asks/4000529/"):
        for _ in range(30):
            clock.now += 1
            waits.tick()
    assert [t for t, _ in said] == [7, 14, 21, 28]
    assert said[0][1] == "waiting for PUT /asks/4000529/: sent 7s ago, no answer yet"


def test_under_a_heavy_fault_mix_no_10_seconds_pass_without_a_line() -> None:
    """429s, 502s and lost answers for ten minutes: short backoffs, paced turns, requests that hang."""
    waits, clock, said = watched()
    rng = random.Random(16)
    with ExitStack() as open_waits:
        closing: list[tuple[float, ExitStack]] = []
        step = 0.25
        while clock.now < 600:
            if rng.random() < 0.3:
                why, seconds = rng.choice([("it answered 502; retry 2 of 7", rng.uniform(0.1, 3)),
                                           ("one call every 4.0s to this endpoint", rng.uniform(0, 4)),
                                           ("", rng.uniform(0.05, 60))])
                wait = ExitStack()
                wait.enter_context(waits.waiting("GET /instances/", why, seconds if why else None))
                closing.append((clock.now + seconds, wait))
            for end, wait in [c for c in closing if c[0] <= clock.now]:
                wait.close()
                closing.remove((end, wait))
            clock.now += step
            if clock.now % 0.5 == 0:
                waits.tick()
        for _, wait in closing:
            open_waits.push(wait)
    times = [0.0] + [t for t, _ in said]
    assert max(b - a for a, b in zip(times, times[1:], strict=False)) <= 10.0
    assert all(text.startswith(("waiting for GET /instances/", "still retrying")) for _, text in said)
