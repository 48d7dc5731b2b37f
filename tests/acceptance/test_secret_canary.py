"""The canary scan (``tests.harness.assert_no_canary``, run after every test that uses the workspace
fixture) would catch a secret value that leaked: here one is put, on purpose, where vastplan shows
and stores values (a template's plain env value), and the scan must fail on both the output and the
state file, while a file the test wrote the value into is exempt."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.harness import CANARY_API_KEY, SECRET_CANARIES, Workspace, assert_no_canary
from vastsandbox.server import RunningSandbox

LEAKY = f"""
version: 1
stack: leaky
templates:
  torch:
    image: pytorch/pytorch
    env: {{HF_TOKEN: "{SECRET_CANARIES[0]}"}}
"""


def test_the_scan_fails_on_a_secret_value_printed_or_written(sandbox: RunningSandbox, tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str],
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VAST_API_KEY", CANARY_API_KEY)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    (tmp_path / "work").mkdir()
    ws = Workspace(tmp_path / "work", sandbox.url, capsys)
    ws.write(LEAKY)
    applied = ws.vastplan("apply", "--auto-approve")
    assert applied.code == 0, applied.text

    with pytest.raises(AssertionError, match="a secret was printed"):
        assert_no_canary(ws.outputs, tmp_path)
    with pytest.raises(AssertionError, match=r"a secret value was written to .*stack\.vpstate\.json"):
        assert_no_canary([], tmp_path / "work", {ws.stack})  # the stack file holds it on purpose
    assert ws.vastplan("destroy", "--auto-approve").code == 0


def test_the_scan_skips_only_the_files_a_test_wrote_a_secret_into(tmp_path: Path) -> None:
    source = tmp_path / "token.txt"
    source.write_text(SECRET_CANARIES[1])
    assert_no_canary([], tmp_path, {source})
    (tmp_path / "copy.json").write_text('{"v": "' + SECRET_CANARIES[1] + '"}')
    with pytest.raises(AssertionError, match="copy.json"):
        assert_no_canary([], tmp_path, {source})
