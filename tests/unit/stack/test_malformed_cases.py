"""The malformed-stack corpus: every file in tests/cases/malformed must fail to load with exactly
the diagnostics its header announces.

A case's leading comment lines carry its expectations and set-up:

    # expect: LINE:COL: TEXT           a diagnostic at LINE:COL of this file whose
                                       "ADDRESS: summary" contains TEXT
    # expect: FILE:LINE:COL: TEXT      the same, in FILE (beside the case), e.g. a var file
    # vars: NAME=VALUE ...             --var values
    # var-file: FILE                   a --var-file beside the case
    # unset-env: NAME                  make sure an environment variable is not set

Files that cannot hold comments (binary, not UTF-8) keep the same lines in a sidecar NAME.expect.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.harness import MALFORMED, Case, read_case
from vastplan.diagnostics import Diagnostic
from vastplan.errors import StackError
from vastplan.stack import load_stack

_CASE_SUFFIXES = (".yaml", ".bin", ".txt")


def _where(d: Diagnostic) -> str:
    return f"{d.range.file}:{d.range.line}:{d.range.col}" if d.range else "?"


def _text(d: Diagnostic) -> str:
    return f"{d.address}: {d.summary}" if d.address else d.summary


def match(case: Case, diags: tuple[Diagnostic, ...]) -> list[str]:
    """Problems: expectations nothing matched, and diagnostics no expectation announced."""
    left = list(diags)
    missing = []
    for file, line, col, text in case.expect:
        hit = next(
            (
                d
                for d in left
                if d.range and (d.range.file, d.range.line, d.range.col) == (file, line, col) and text in _text(d)
            ),
            None,
        )
        if hit is None:
            missing.append(f"  expected  {Path(file).name}:{line}:{col}: {text}")
        else:
            left.remove(hit)
    return missing + [f"  unexpected {Path(_where(d)).name}: {_text(d)}" for d in left]


def _cases() -> list[Path]:
    return sorted(p for p in MALFORMED.iterdir() if p.is_file() and p.suffix in _CASE_SUFFIXES)


def test_corpus_is_large_enough() -> None:
    assert len(_cases()) >= 50


@pytest.mark.parametrize("path", _cases(), ids=lambda p: p.name)
def test_malformed_case(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    case = read_case(path)
    for name in case.unset_env:
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(StackError) as caught:
        load_stack(path, case.variables, case.var_files)
    diags = caught.value.diagnostics
    problems = match(case, diags)
    actual = "\n".join(f"  {Path(_where(d)).name}: {_text(d)}" for d in diags)
    assert not problems, f"{path.name}:\n" + "\n".join(problems) + f"\nactual:\n{actual}"
    assert list(diags) == sorted(diags, key=Diagnostic.sort_key), "diagnostics are not sorted by position"
