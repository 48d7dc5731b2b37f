"""The docs point only at what the repository holds, and list every exit code the product uses."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from vastplan import errors

ROOT = Path(__file__).resolve().parents[2]
PAGES = sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.md")])
_LINK = re.compile(r"\]\((?P<target>[^)#\s]+)(?:#[^)]*)?\)")
_RELATIVE = re.compile(r"`(?P<target>\.\./[^`\s]+)`")


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_pointer_to_a_file_resolves_in_the_repository(page: Path) -> None:
    text = page.read_text()
    targets = [m["target"] for m in _LINK.finditer(text) if "://" not in m["target"]]
    targets += [m["target"] for m in _RELATIVE.finditer(text)]
    missing = [t for t in targets if not (page.parent / t).exists()]
    assert not missing, f"{page.name} points at files the repository does not hold: {missing}"


def _exit_codes() -> set[int]:
    raised = {cls.exit_code for cls in vars(errors).values()
              if isinstance(cls, type) and issubclass(cls, errors.VastplanError)}
    return raised | {0, 2, 130}  # success, --detailed-exitcode's changes, Ctrl-C


@pytest.mark.parametrize("page", ["docs/json-format.md", "docs/design.md"])
def test_the_exit_code_table_lists_every_code(page: str) -> None:
    section = (ROOT / page).read_text().split("## Exit codes", 1)[1].split("\n## ", 1)[0]
    listed = {int(m) for m in re.findall(r"^\| (\d+) \|", section, re.MULTILINE)}
    assert listed == _exit_codes()
