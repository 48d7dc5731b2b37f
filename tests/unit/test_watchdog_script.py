"""The watchdog vastplan puts in an instance's onstart: the user's script and the rule read back
from a listing unchanged, and a script every POSIX sh parses (it runs inside `sh -c '...'`)."""

from __future__ import annotations

import subprocess

import pytest

from vastplan.kinds import watchdog

RULES = [
    {"ttl": "8h"},
    {"expires_at": "2026-12-01T00:00:00Z"},
    {"idle": {"after": "30m"}},
    {"ttl": "2d", "idle": {"after": "1h", "gpu_util_below": 20, "then": "destroy"}},
]
OWN = ["", "echo hi", "#!/bin/bash\nset -e\npython serve.py", "# vastplan watchdog end\necho tricky",
       "line one\n\nline three\n"]


@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("own", OWN)
def test_the_users_onstart_and_the_rule_come_back_from_the_composed_script(own: str, rule: dict[str, object]) -> None:
    composed = watchdog.compose(own, rule)
    assert watchdog.split(composed) == (own, watchdog.describe(rule))
    if own.startswith("#!"):
        assert composed.startswith("#!/bin/bash\n# vastplan watchdog: ")  # the interpreter line stays first


@pytest.mark.parametrize("own", OWN)
def test_without_a_rule_the_onstart_is_the_users_own(own: str) -> None:
    assert watchdog.compose(own, {}) == own and watchdog.split(own) == (own, "")


def test_the_script_parses_as_posix_sh_and_holds_no_single_quote() -> None:
    assert "'" not in watchdog.SCRIPT
    for shell in ("sh", "dash", "bash"):
        found = subprocess.run(["sh", "-c", f"command -v {shell}"], capture_output=True, text=True)
        if found.returncode == 0:
            checked = subprocess.run([shell, "-n", "-c", watchdog.compose("echo hi", RULES[3])],
                                     capture_output=True, text=True)
            assert checked.returncode == 0, (shell, checked.stderr)


def test_an_onstart_that_would_not_fit_with_the_watchdog_says_by_how_much() -> None:
    room = watchdog.ONSTART_LIMIT - len(watchdog.compose("", {"ttl": "8h"})) - 1
    assert watchdog.length_problem("x" * room, {"ttl": "8h"}) == ""
    problem = watchdog.length_problem("x" * (room + 10), {"ttl": "8h"})
    assert "over Vast.ai's limit of 4048" in problem and f"at most {room} characters" in problem
