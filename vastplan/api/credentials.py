"""Where the API key comes from, and a wrapper that keeps it out of every repr and log line."""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from vastplan.errors import MissingKey, UnreadableFile, UsageError
from vastplan.files import expand_home, read_regular_file

MAX_KEY_FILE_BYTES = 4096  # a Vast.ai key is 64 characters; /dev/zero or a log file is not a key


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


def official_cli_key_files() -> list[Path]:
    """The key files the official ``vastai`` CLI reads, in its order (``vastai/_base.py``,
    ``vastai/cli/util.py`` of vastai 1.9): ``$XDG_CONFIG_HOME/vastai/vast_api_key`` (the xdg
    package ignores an empty or relative XDG_CONFIG_HOME and uses ``~/.config``), then the legacy
    ``~/.vast_api_key``. A user without a home directory has only the first, if XDG_CONFIG_HOME
    names one."""
    files: list[Path] = []
    config_home = os.environ.get("XDG_CONFIG_HOME", "")
    if not os.path.isabs(config_home):
        try:
            config_home = str(expand_home("~/.config"))
        except UnreadableFile:
            config_home = ""
    if config_home:
        files.append(Path(config_home) / "vastai" / "vast_api_key")
    with contextlib.suppress(UnreadableFile):
        files.append(expand_home("~/.vast_api_key"))
    return files


@dataclass(frozen=True)
class KeySources:
    api_key_file: str | None = None
    # With the built-in sandbox, a missing key is replaced by this placeholder, and the official
    # CLI's key files are not read, so a real key is never sent to (or stored by) the emulator.
    sandbox: bool = False


SANDBOX_PLACEHOLDER_KEY = "sandbox-local-key"


def find_api_key(sources: KeySources, warn: Callable[[str], None] = lambda text: None) -> ApiKey:
    """VAST_API_KEY, else --api-key-file, else the official CLI's key files. ``warn`` hears about a
    key file that others can read."""
    env = os.environ.get("VAST_API_KEY", "").strip()
    if env:
        return ApiKey(_checked_key(env, "VAST_API_KEY"), "VAST_API_KEY")
    if sources.api_key_file:
        return ApiKey(_read_key_file(sources.api_key_file, warn), "--api-key-file")
    if sources.sandbox:
        return ApiKey(SANDBOX_PLACEHOLDER_KEY, "sandbox")
    official = official_cli_key_files()
    for path in official:
        if path.is_file():
            return ApiKey(_read_key_file(str(path), warn), str(path))
    raise MissingKey(["VAST_API_KEY", "--api-key-file", *map(str, official)])


def _read_key_file(raw: str, warn: Callable[[str], None]) -> str:
    try:
        path = expand_home(raw)
        data = read_regular_file(path, MAX_KEY_FILE_BYTES)
    except UnreadableFile as exc:
        raise UsageError(f"cannot read the API key file {raw}: it {exc.reason}"
                         if exc.reason.startswith(("is ", "names ")) else
                         f"cannot read the API key file {raw}: {exc.reason}") from exc
    try:
        value = data.decode("utf-8").strip()
    except UnicodeDecodeError as exc:
        raise UsageError(f"the API key file {raw} is not UTF-8 text") from exc
    if not value:
        raise UsageError(f"the API key file {raw} is empty")
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        warn(f"the API key file {raw} can be read by others (mode {stat.S_IMODE(mode):04o}); "
             f"restrict it with: chmod 600 {raw}")
    return _checked_key(value, f"the API key file {raw}")


def _checked_key(value: str, source: str) -> str:
    """A key is one token: a newline or a control character inside would be sent as part of an HTTP
    header (aiohttp refuses it deep inside a request), so say so here, without showing the key."""
    if any(c in value for c in "\r\n"):
        raise UsageError(f"{source} holds more than one line; it must hold the API key alone, on one line")
    if any(ord(c) < 0x20 or ord(c) == 0x7F or c.isspace() for c in value):
        raise UsageError(f"{source} holds a space or a control character inside the key; "
                         "it must hold the API key alone")
    return value
