"""Fixtures for stack tests."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tests.unit.stack.support import WriteStack


@pytest.fixture
def write_stack(tmp_path: Path) -> WriteStack:
    """Write dedented stack text into tmp_path and return its path."""

    def write(text: str, name: str = "stack.yaml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    return write
