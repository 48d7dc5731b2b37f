"""``vastplan fmt``: the canonical layout of a stack file, comments kept; ``-check`` for CI lists the
files that are not canonical and exits non-zero; formatting twice changes nothing."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from vastplan.cli.root import run

ROOT = Path(__file__).resolve().parents[2]

MESSY = """\
# The team's stack. Keep this comment.
version:   1
stack: demo   # the stack's name

templates:
    base:
        name:    "base"   # shown in the console
        image: ubuntu
        ports:
        - 22
        - 8080
        env: {A: "1",   B: '2'}
        onstart: |
            echo hi
            echo there
instances:
  worker:
      template: base
      count: "${var.n}"
      offer:
          gpu_name: ["RTX 4090",   "RTX 3090"]   # either will do (a comment keeps its column)
variables:
  n: {default: 2}
"""

CANONICAL = """\
# The team's stack. Keep this comment.
version: 1
stack: demo   # the stack's name

templates:
  base:
    name: "base"          # shown in the console
    image: ubuntu
    ports:
      - 22
      - 8080
    env: {A: "1", B: '2'}
    onstart: |
      echo hi
      echo there
instances:
  worker:
    template: base
    count: "${var.n}"
    offer:
      gpu_name: ["RTX 4090", "RTX 3090"]         # either will do (a comment keeps its column)
variables:
  n: {default: 2}
"""


def vastplan(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = run(list(argv))
    shown = capsys.readouterr()
    return code, shown.out, shown.err


def test_fmt_rewrites_in_canonical_layout_keeping_comments(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    stack = tmp_path / "vastplan.yaml"
    stack.write_text(MESSY)
    stack.chmod(0o640)
    code, out, err = vastplan(capsys, "fmt")
    assert (code, err) == (0, "") and out.splitlines() == ["vastplan.yaml"]
    assert stack.read_text() == CANONICAL
    assert yaml.safe_load(stack.read_text()) == yaml.safe_load(MESSY)
    assert stack.stat().st_mode & 0o777 == 0o640
    assert vastplan(capsys, "validate")[0] == 0


def test_fmt_is_idempotent(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stack = tmp_path / "a.yaml"
    stack.write_text(MESSY)
    assert vastplan(capsys, "fmt", str(stack))[0] == 0
    once = stack.read_text()
    assert vastplan(capsys, "fmt", str(stack)) == (0, "", "")  # nothing listed: nothing changed
    assert stack.read_text() == once
    assert vastplan(capsys, "fmt", "-check", str(stack)) == (0, "", "")


def test_fmt_check_lists_what_is_not_canonical_and_changes_nothing(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "messy.yaml").write_text(MESSY)
    (tmp_path / "tidy.yaml").write_text(CANONICAL)
    (tmp_path / "ci.yml").write_text("jobs:\n    plan: {script: x}\n")  # no stack: a folder's other YAML is left
    code, out, err = vastplan(capsys, "fmt", "-check", str(tmp_path))
    assert code == 1 and out.splitlines() == [str(tmp_path / "messy.yaml")]
    assert "1 file is not in canonical layout" in err and "Traceback" not in err
    assert (tmp_path / "messy.yaml").read_text() == MESSY
    assert (tmp_path / "ci.yml").read_text() == "jobs:\n    plan: {script: x}\n"


def test_fmt_diff_shows_the_change(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stack = tmp_path / "s.yaml"
    stack.write_text(MESSY)
    code, out, _ = vastplan(capsys, "fmt", "--check", "--diff", "-f", str(stack))
    assert code == 1
    assert "-version:   1\n+version: 1\n" in out and '+    name: "base"          # shown in the console' in out
    assert stack.read_text() == MESSY


def test_fmt_refuses_a_broken_file_with_its_position(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stack = tmp_path / "s.yaml"
    stack.write_text("version: 1\nstack: [demo\n")
    code, out, err = vastplan(capsys, "fmt", str(stack))
    assert code == 1 and out == "" and f"{stack}:" in err and "Traceback" not in err
    assert stack.read_text() == "version: 1\nstack: [demo\n"
    missing = vastplan(capsys, "fmt", str(tmp_path / "nope.yaml"))
    assert missing[0] == 1 and "no such file" in missing[2]


def test_the_shipped_examples_are_canonical(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    copy = tmp_path / "examples"
    shutil.copytree(ROOT / "examples", copy)
    assert vastplan(capsys, "fmt", "-check", "-recursive", str(copy)) == (0, "", "")


def test_fmt_keeps_what_comes_before_the_document_start(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stack = tmp_path / "s.yaml"
    stack.write_text("# yaml-language-server: $schema=x.json\n\n---\n# the stack\nversion:   1\nstack: s\n...\n")
    assert vastplan(capsys, "fmt", str(stack))[0] == 0
    kept = "# yaml-language-server: $schema=x.json\n\n---\n# the stack\nversion: 1\nstack: s\n...\n"
    assert stack.read_text() == kept


def test_fmt_never_loses_a_comment(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = "version: 1\nstack:   s\ntemplates:\n  a: {image: ubuntu,   # inside a flow mapping\n      tag: x}\n"
    stack = tmp_path / "s.yaml"
    stack.write_text(text)
    code, out, err = vastplan(capsys, "fmt", str(stack))
    assert code == 1 and out == ""
    assert f"{stack}:4:24: fmt cannot lay out this file without losing the comment '# inside a flow mapping'" in err
    assert stack.read_text() == text
