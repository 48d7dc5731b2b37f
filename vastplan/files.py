"""Reading a file the user named (a stack, a var file, an API key file, a public key file): only a
regular file, and only up to a size cap, decided before a byte is read.

A FIFO named as a stack blocked forever on open; ``--api-key-file /dev/zero`` read until the
process held 23 GB. Opening without blocking and asking the open file what it is closes both.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from vastplan.errors import UnreadableFile

_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def size_text(limit: int) -> str:
    """``5 * 2**20`` -> ``5 MB``; ``64 * 1024`` -> ``64 KB``."""
    if limit % 2**20 == 0:
        return f"{limit // 2**20} MB"
    return f"{limit // 1024} KB" if limit % 1024 == 0 else f"{limit} bytes"


# O_NONBLOCK (a FIFO must not block the open) and O_CLOEXEC are POSIX's; Windows has O_BINARY instead.
_PORTABLE_READ_FLAGS = getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)


def read_regular_file(path: Path, limit: int) -> bytes:
    """The bytes of ``path`` (a regular file, symlinks followed) when it holds at most ``limit`` of
    them; ``UnreadableFile`` otherwise, without blocking on a pipe or reading a device."""
    try:
        fd = os.open(path, os.O_RDONLY | _PORTABLE_READ_FLAGS)
    except FileNotFoundError as exc:
        raise UnreadableFile("no such file") from exc
    except PermissionError as exc:
        raise UnreadableFile("permission denied") from exc
    except (OSError, ValueError) as exc:  # ValueError: a NUL byte in the name
        raise UnreadableFile(f"cannot be read ({getattr(exc, 'strerror', None) or exc})") from exc
    try:
        status = os.fstat(fd)
        if not stat.S_ISREG(status.st_mode):
            raise UnreadableFile(_not_regular(status.st_mode))
        if status.st_size > limit:
            raise UnreadableFile(f"is larger than {size_text(limit)}; refusing to read it")
        data = _read_upto(fd, limit + 1)
    except OSError as exc:
        raise UnreadableFile(f"cannot be read ({exc.strerror or exc})") from exc
    finally:
        os.close(fd)
    if len(data) > limit:
        raise UnreadableFile(f"is larger than {size_text(limit)}; refusing to read it")
    return data


def _read_upto(fd: int, size: int) -> bytes:
    chunks: list[bytes] = []
    left = size
    while left > 0:
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _not_regular(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "is a directory, not a file"
    kind = next((name for test, name in _KINDS if test(mode)), "a special file")
    return f"is {kind}, not a regular file"


def expand_home(raw: str) -> Path:
    """``~/x`` with the home directory; ``UnreadableFile`` when there is none (HOME unset and the
    user unknown to the system), rather than pathlib's RuntimeError."""
    expanded = os.path.expanduser(raw)
    if expanded.startswith("~"):
        raise UnreadableFile("names a home directory (~), but this user has none (HOME is not set)")
    return Path(expanded)
