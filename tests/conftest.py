"""Shared fixtures: a real sandbox on loopback in its own thread, and isolated dirs."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.harness import CANARY_API_KEY, Workspace, assert_no_canary
from tests.pg_fixtures import own_pg, pg_server, pg_url  # noqa: F401 - fixtures
from vastsandbox.server import RunningSandbox, start_in_thread


@pytest.fixture(autouse=True)
def _vastplan_logger_restored() -> Iterator[None]:
    """`-v` hangs a handler on the stderr of the moment (a test's captured stream) and turns on
    DEBUG; the CLI runs in-process here, so without this a later test in the same worker would log
    into that closed stream ("--- Logging error ---" and a traceback in its output)."""
    logger = logging.getLogger("vastplan")
    handlers, level = list(logger.handlers), logger.level
    yield
    logger.handlers[:] = handlers
    logger.setLevel(level)


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[RunningSandbox]:
    """A fresh emulated Vast.ai account that accepts only the canary key. Strict: every request that
    vastplan (or the official CLI) sends must conform to Vast.ai's published spec, else it gets a 400."""
    with start_in_thread(tmp_path / "sandbox-data", api_key=CANARY_API_KEY, boot_seconds=0.2, strict=True) as sb:
        yield sb
        # Also when a client shrugged off the 400 (a tolerant refresh, a best-effort cleanup).
        assert sb.sandbox.nonconforming == [], "requests that do not conform to the published spec"


@pytest.fixture
def workspace(
    tmp_path: Path, sandbox: RunningSandbox, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Iterator[Workspace]:
    """A scratch folder wired to a fresh sandbox with the canary key; afterwards, proves that the key
    and the secret canaries reached no output and no file (state, backups, the sandbox's own data)."""
    monkeypatch.setenv("VAST_API_KEY", CANARY_API_KEY)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    work = tmp_path / "work"
    work.mkdir()
    ws = Workspace(work, sandbox.url, capsys)
    yield ws
    assert_no_canary(ws.outputs, tmp_path, ws.secret_sources)
