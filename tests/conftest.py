"""Shared fixtures: a real sandbox on loopback in its own thread, and isolated dirs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from vastplan.sandbox.server import RunningSandbox, start_in_thread

# A canary key: the suite scans what it produced to prove this never leaks.
CANARY_API_KEY = "canary-key-7f3a9c2e-DO-NOT-PRINT"


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[RunningSandbox]:
    """A fresh emulated Vast.ai account that accepts only the canary key."""
    with start_in_thread(tmp_path / "sandbox-data", api_key=CANARY_API_KEY, boot_seconds=0.2) as sb:
        yield sb
