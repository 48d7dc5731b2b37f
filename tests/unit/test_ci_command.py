"""`.ci/run` runs exactly the README's test command, and that command runs the suite through
`.ci/test`, which starts and stops the PostgreSQL the tests use."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_ci_runs_the_readme_command_which_starts_postgresql() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Test", 1)[1]
    command = re.search(r"```bash\n(.+?)\n```", section, re.S).group(1).strip()  # type: ignore[union-attr]
    run_lines = [ln for ln in (ROOT / ".ci" / "run").read_text().splitlines() if ln and not ln.startswith(("#", "set ",
                                                                                                           "cd "))]
    assert run_lines == [command]
    assert command.endswith(".ci/test")
    test_script = (ROOT / ".ci" / "test").read_text()
    assert "tests.pgserver start" in test_script and "trap" in test_script
    assert "ruff check . && mypy && pytest" in test_script
