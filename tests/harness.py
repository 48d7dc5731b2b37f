"""Run the real vastplan command line in-process against a sandbox, in a scratch folder."""

from __future__ import annotations

import json
import os
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from vastplan.cli.root import run


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        return self.out + self.err


class Workspace:
    """A folder holding one stack file and its state, and the sandbox it talks to."""

    def __init__(self, root: Path, api_url: str, capsys: pytest.CaptureFixture[str]):
        self.root = root
        self.api_url = api_url
        self._capsys = capsys
        self.stack = root / "stack.yaml"
        self.state_path = root / "stack.vpstate.json"
        self.outputs: list[str] = []

    def write(self, text: str, name: str = "stack.yaml") -> Path:
        path = self.root / name
        path.write_text(text)
        return path

    def vastplan(self, *args: str, stack: bool = True) -> Result:
        argv = list(args)
        if stack:
            argv += ["-f", str(self.stack)]
        argv += ["--api-url", self.api_url]
        self._capsys.readouterr()
        cwd = os.getcwd()
        os.chdir(self.root)
        try:
            code = run(argv)
        finally:
            os.chdir(cwd)
        captured = self._capsys.readouterr()
        self.outputs += [captured.out, captured.err]
        return Result(code, captured.out, captured.err)

    def state(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.state_path.read_text())
        return loaded


def api_call(url: str, method: str, path: str, key: str, body: dict[str, Any] | None = None) -> Any:
    """Talk to the sandbox the way any API client would (not through vastplan)."""
    data = None if body is None else json.dumps(body).encode()
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    request = urllib.request.Request(url + path, data=data, method=method, headers=headers)
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def api_get(url: str, path: str, key: str) -> Any:
    return api_call(url, "GET", path, key)


def api_post(url: str, path: str, key: str, body: dict[str, Any]) -> Any:
    return api_call(url, "POST", path, key, body)


def api_delete(url: str, path: str, key: str, body: dict[str, Any]) -> Any:
    return api_call(url, "DELETE", path, key, body)
