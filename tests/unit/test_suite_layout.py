"""The suite's own layout: test modules share helpers through tests/harness.py (the sandbox's tests
through tests/sandbox/conftest.py, the stack's through tests/unit/stack/support.py), never by importing
each other, so moving or deleting a test breaks no other one."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]


def test_no_test_module_imports_another_test_module() -> None:
    crossing = []
    for path in sorted(TESTS.rglob("test_*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else (
                [alias.name for alias in node.names] if isinstance(node, ast.Import) else [])
            crossing += [f"{path.relative_to(TESTS)} imports {name}" for name in names
                         if name.rpartition(".")[2].startswith("test_")]
    assert len(list(TESTS.rglob("test_*.py"))) > 30  # the walk found the suite
    assert crossing == []
