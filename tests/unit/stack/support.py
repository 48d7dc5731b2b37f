"""Shared constants for the stack tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

CASES = Path(__file__).resolve().parents[2] / "cases"
PUBLIC_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGx0ZXN0a2V5 me@laptop"

# write_stack(text, name="stack.yaml") -> path of the dedented text in a temporary folder
WriteStack = Callable[..., Path]
