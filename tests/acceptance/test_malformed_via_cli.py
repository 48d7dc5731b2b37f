"""Every malformed stack in tests/cases/malformed, run through `vastplan plan` and `apply`: each
problem as FILE:LINE:COL: message, exit 1, no traceback, and the state file byte-for-byte untouched."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.harness import MALFORMED, Workspace, read_case

CASE_FILES = sorted(p for p in MALFORMED.iterdir() if p.suffix in (".yaml", ".bin", ".txt"))
POSITIONED = re.compile(r"^(?P<file>.+?):(?P<line>\d+):(?P<col>\d+): \S")


@pytest.mark.parametrize("case_file", CASE_FILES, ids=[p.name for p in CASE_FILES])
@pytest.mark.parametrize("command", ["plan", "apply"])
def test_malformed_stack_through_the_cli(case_file: Path, command: str, workspace: Workspace,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    case = read_case(case_file)
    for name in case.unset_env:
        monkeypatch.delenv(name, raising=False)
    workspace.state_path = workspace.root / "kept.vpstate.json"
    workspace.state_path.write_text('{"format": 1, "lineage": "l", "serial": 4, "stack": "demo", "resources": {}}')
    before = workspace.state_path.read_bytes()
    args = [command, "--state", str(workspace.state_path)]
    for name, value in case.variables.items():
        args += ["--var", f"{name}={value}"]
    for var_file in case.var_files:
        args += ["--var-file", str(var_file)]
    if command == "apply":
        args.append("--auto-approve")
    workspace.stack = case_file

    result = workspace.vastplan(*args)

    assert result.code == 1, result.text
    assert "Traceback" not in result.text
    lines = result.err.strip().splitlines()
    assert re.fullmatch(r"\d+ errors?\.", lines[-1]), result.err
    found = {(m["file"], int(m["line"]), int(m["col"])) for m in map(POSITIONED.match, lines) if m}
    for file, line, col, _text in case.expect:
        assert (file, line, col) in found, f"expected {file}:{line}:{col} in:\n{result.err}"
    assert workspace.state_path.read_bytes() == before
