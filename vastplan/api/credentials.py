"""Where the API key comes from, and a wrapper that keeps it out of every repr and log line."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from vastplan.errors import AuthError, UsageError


class ApiKey:
    """An API key. ``str()`` and ``repr()`` never show it; only ``reveal()`` does."""

    __slots__ = ("_value", "source")

    def __init__(self, value: str, source: str):
        self._value = value
        self.source = source

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return f"ApiKey(<redacted>, source={self.source!r})"

    __str__ = __repr__


def official_cli_key_file() -> Path:
    """The key file the official `vastai` CLI writes (``vastai set api-key``)."""
    config_home = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config_home) / "vastai" / "vast_api_key"


@dataclass(frozen=True)
class KeySources:
    api_key_file: str | None = None
    # With the built-in sandbox, a missing key is replaced by this placeholder, and the official
    # CLI's key file is not read, so a real key is never sent to (or stored by) the emulator.
    sandbox: bool = False


SANDBOX_PLACEHOLDER_KEY = "sandbox-local-key"


def find_api_key(sources: KeySources) -> ApiKey:
    """VAST_API_KEY, else --api-key-file, else the official CLI's key file."""
    env = os.environ.get("VAST_API_KEY", "").strip()
    if env:
        return ApiKey(env, "VAST_API_KEY")
    if sources.api_key_file:
        return ApiKey(_read_key_file(Path(sources.api_key_file)), "--api-key-file")
    if sources.sandbox:
        return ApiKey(SANDBOX_PLACEHOLDER_KEY, "sandbox")
    official = official_cli_key_file()
    if official.is_file():
        return ApiKey(_read_key_file(official), str(official))
    raise AuthError("no API key was given")


def _read_key_file(path: Path) -> str:
    try:
        value = path.expanduser().read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read the API key file {path}: {exc.__class__.__name__}") from exc
    if not value:
        raise UsageError(f"the API key file {path} is empty")
    return value
