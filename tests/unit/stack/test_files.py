"""Files that are not stacks at all, made by the tests (too big, or too odd, to commit)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.stack.support import WriteStack
from vastplan.errors import StackError
from vastplan.stack import load_stack
from vastplan.stack.reader import MAX_BYTES


def _only_diagnostic(path: Path) -> str:
    with pytest.raises(StackError) as caught:
        load_stack(path)
    (diag,) = caught.value.diagnostics
    return diag.format()


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    assert _only_diagnostic(path) == f"{path}:1:1: no such file"


def test_directory(tmp_path: Path) -> None:
    assert _only_diagnostic(tmp_path) == f"{tmp_path}:1:1: is a directory, not a file"


def test_huge_file_is_refused_without_parsing(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    path.write_bytes(b"version: 1\nstack: demo\n" + b"# padding\n" * (MAX_BYTES // 10 + 1))
    assert _only_diagnostic(path) == f"{path}:1:1: is larger than 5 MB; refusing to read it"


def test_nesting_deeper_than_the_parser_can_go(write_stack: WriteStack) -> None:
    path = write_stack("version: 1\nstack: demo\nx: " + "[" * 20000 + "]" * 20000 + "\n")
    message = _only_diagnostic(path)
    assert "nesting is" in message and "deep" in message


def test_format_matches_the_ux(write_stack: WriteStack) -> None:
    path = write_stack(
        """
        version: 1
        stack: demo
        templates:
          vllm: {image: vllm/vllm-openai}
        instances:
          server:
            template: vlm
            offer: {gpu_ram_gb: -4}
        outputs:
          server_ssh: {value: "${instances.srv[*].ssh_url}"}
        """
    )
    with pytest.raises(StackError) as caught:
        load_stack(path)
    assert str(caught.value).splitlines() == [
        f'{path}:7:15: instances.server.template: no template named "vlm" (did you mean "vllm"?)',
        f"{path}:8:25: instances.server.offer.gpu_ram_gb: -4 is less than the minimum of 1",
        f"{path}:10:23: outputs.server_ssh: unknown reference ${{instances.srv[*].ssh_url}}: "
        'no instance named "srv" (did you mean "server"?)',
    ]


def test_sensitive_values_are_not_quoted_in_errors(write_stack: WriteStack) -> None:
    path = write_stack(
        """
        version: 1
        stack: demo
        variables:
          secret: {sensitive: true}
        instances:
          a: {image: ubuntu, ttl: "${var.secret}"}
        """
    )
    with pytest.raises(StackError) as caught:
        load_stack(path, {"secret": "hunter2"})
    assert "hunter2" not in str(caught.value)
    assert "(sensitive value)" in str(caught.value)


def test_too_many_values_stop_the_parser_early(write_stack: WriteStack) -> None:
    path = write_stack("version: 1\nstack: demo\nx: [" + ", ".join(["1"] * 60_000) + "]\n")
    message = _only_diagnostic(path)
    assert message.startswith(f"{path}:3:") and message.endswith("the document has more than 50000 values")
