"""Whatever the input, load_stack either returns a Stack or raises StackError with positions."""

from __future__ import annotations

import contextlib
import copy
import functools
import operator
import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.unit.stack.support import CASES
from vastplan.errors import StackError
from vastplan.stack import load_stack

FUZZ = settings(max_examples=200, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
VALID = (CASES / "valid" / "full.yaml").read_text(encoding="utf-8")
_LINES = VALID.splitlines(keepends=True)


def _load_bytes(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "stack.yaml"
        path.write_bytes(data)
        try:
            load_stack(path, {}, ())
        except StackError as exc:
            assert exc.diagnostics
            for diag in exc.diagnostics:
                assert diag.range is not None and diag.range.line >= 1 and diag.range.col >= 1
                assert "internal error" not in diag.summary, diag.format()


@FUZZ
@given(st.binary(max_size=400))
def test_random_bytes(data: bytes) -> None:
    _load_bytes(data)


@FUZZ
@given(st.text(alphabet=st.sampled_from(list("version:1stack-{}[]&*!|>'\"#\t\n -?,<%@`$")), max_size=200))
def test_random_yamlish_text(text: str) -> None:
    _load_bytes(text.encode("utf-8"))


@FUZZ
@given(st.lists(st.tuples(st.integers(0, len(_LINES) - 1), st.integers(0, 80), st.text(max_size=8)), max_size=6))
def test_mutated_valid_stack(edits: list[tuple[int, int, str]]) -> None:
    lines = list(_LINES)
    for line, col, insert in edits:
        lines[line] = lines[line][:col] + insert + lines[line][col:]
    _load_bytes("".join(lines).encode("utf-8"))


_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-5, 300), st.floats(-2, 2), st.text(max_size=6))
_NAMES = st.sampled_from(["image", "count", "env", "offer", "gpu_ram_gb", "template", "ssh_keys", "x", "a", "value"])
_DATA = st.recursive(_SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_NAMES, inner, max_size=3))


def _paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path]
    if isinstance(value, dict):
        found += [p for k, v in value.items() for p in _paths(v, (*path, k))]
    elif isinstance(value, list):
        found += [p for i, v in enumerate(value) for p in _paths(v, (*path, i))]
    return found


_VALID_DATA = yaml.safe_load(VALID)
_VALID_PATHS = _paths(_VALID_DATA)[1:]


@FUZZ
@given(st.lists(st.tuples(st.sampled_from(_VALID_PATHS), _DATA), min_size=1, max_size=3))
def test_wrong_shapes_in_a_valid_stack(replacements: list[tuple[tuple[Any, ...], object]]) -> None:
    data = copy.deepcopy(_VALID_DATA)
    for path, value in replacements:
        with contextlib.suppress(KeyError, IndexError, TypeError):  # an earlier replacement removed this path
            functools.reduce(operator.getitem, path[:-1], data)[path[-1]] = value
    _load_bytes(yaml.safe_dump(data).encode("utf-8"))
