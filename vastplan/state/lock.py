"""The state lock: one writer per state file, and a message naming the holder for everyone else.

The lock is an exclusive ``fcntl.flock`` on ``<state>.lock``, held through an fd kept open for the
lock's lifetime; the holder's ``LockInfo`` (JSON, mode 0600, no secrets) is written into that file.
Where there is no ``fcntl`` (Windows), it is a ``msvcrt.locking`` lock of one byte far past the
info (a locked range cannot even be read by others there, and the info must stay readable); the
kernel drops it too when the holder dies. Windows cannot remove a file another process has open,
so there the lock file may stay behind after release, holding stale info: harmless, since the info
is read only while the lock is held, and the next holder rewrites it. Nothing here is imported
when the CLI starts (the Session imports the state backends on first use).

No stale locks: the kernel drops a flock when the last fd on it closes, even on SIGKILL, so a dead
holder leaves only its info behind and the next ``StateLock`` takes the lock and overwrites it. A
flock still held while the named pid is gone means a process that inherited the fd (a forked child)
runs on; the error says the pid is gone. Where flock is unsupported (ENOLCK, EOPNOTSUPP) we fail
with a StateError rather than run unlocked.

``force_unlock`` removes the lock file. With the flock free, the info is stale and that is safe. A
held flock cannot be broken from outside: unlinking only lets the next locker start a new file
beside the old holder, so it is refused while the holder may be alive (running on this host, or on
another host where we cannot tell) unless ``force=True``.
"""

from __future__ import annotations

import contextlib
import errno
import getpass
import importlib
import json
import os
import socket
import time
import uuid
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from types import ModuleType
from typing import Any

from vastplan.errors import LockError, StateError, UsageError


def _platform_module(name: str) -> ModuleType | None:
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


_fcntl = _platform_module("fcntl")  # POSIX
_msvcrt = None if _fcntl is not None else _platform_module("msvcrt")  # Windows
MSVCRT_LOCK_OFFSET = 1 << 30  # the byte msvcrt locks: far past any info, which stays readable
_OPEN_FLAGS = getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)


@dataclass(frozen=True)
class LockInfo:
    """Who holds a state lock: what is recorded in the lock file, and nothing secret."""

    id: str
    operation: str
    user: str
    host: str
    pid: int
    created: str  # ISO 8601, UTC
    path: str

    @classmethod
    def new(cls, state_path: Path, operation: str) -> LockInfo:
        created = datetime.now(timezone.utc).isoformat(timespec="seconds")
        return cls(uuid.uuid4().hex, operation, _current_user(), socket.gethostname(), os.getpid(), created,
                   str(state_path))

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, raw: Any) -> LockInfo:
        if not isinstance(raw, dict):
            raise ValueError("lock info is not a JSON object")
        return cls(id=str(raw["id"]), operation=str(raw["operation"]), user=str(raw["user"]),
                   host=str(raw["host"]), pid=int(raw["pid"]), created=str(raw["created"]), path=str(raw["path"]))

    def holder_alive(self) -> bool | None:
        """True or False for a holder on this host; None when it runs elsewhere and cannot be checked."""
        if self.host != socket.gethostname() or self.pid <= 0 or os.name == "nt":
            return None  # (on Windows, os.kill(pid, 0) would not probe the process but end it)
        try:
            os.kill(self.pid, 0)
        except OSError as exc:  # EPERM means it exists, under another user
            return not isinstance(exc, ProcessLookupError)
        return True

    def describe(self) -> str:
        """``apply (pid 4121 on ci-runner-3, since 12:04:51 UTC)``, or that the pid is gone."""
        gone = self.holder_alive() is False
        who = f"pid {self.pid} on this host is no longer running" if gone else f"pid {self.pid} on {self.host}"
        return f"{self.operation} ({who}, since {_format_time(self.created)})"


def lock_path(state_path: Path) -> Path:
    return state_path.with_name(state_path.name + ".lock")


def read_lock_info(state_path: Path) -> LockInfo | None:
    """The info in the state's lock file; None when there is no file, or it is empty or unreadable."""
    try:
        text = lock_path(state_path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise StateError(f"cannot read the lock file {lock_path(state_path)}: {exc}") from exc
    return _parse_info(text)


class StateLock:
    """``with StateLock(path, "apply", timeout=30) as lock:`` holds the state's lock until the block ends.

    Tries every ``poll`` seconds for up to ``timeout`` (0: once), then raises LockError naming the holder.
    ``lock.info`` is what this process wrote. Not reentrant: a second StateLock on one state waits too.
    """

    def __init__(self, state_path: Path, operation: str, timeout: float = 0.0, poll: float = 0.2):
        self.state_path = Path(state_path)
        self.path = lock_path(self.state_path)
        self.operation = operation
        self.timeout = timeout
        self.poll = poll
        self.info: LockInfo | None = None
        self._fd: int | None = None

    def __enter__(self) -> StateLock:
        self.acquire()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()

    def acquire(self) -> LockInfo:
        deadline = time.monotonic() + max(self.timeout, 0.0)
        named_by = deadline + 1.0  # a holder writes its info just after its flock; allow 1s more to read it
        while (fd := _try_flock(self.path)) is None:
            now = time.monotonic()
            if now >= deadline and ((holder := read_lock_info(self.state_path)) or now >= named_by):
                if holder is None:
                    raise LockError(f"the state is locked by another process ({self.path.name} names no holder). "
                                    "Wait, or retry with a longer --lock-timeout.")
                raise LockError(f"the state is locked by {holder.describe()}. Wait, or run vastplan "
                                f"force-unlock {holder.id} if that process is gone.", info=holder)
            time.sleep(min(self.poll, max(deadline - now, 0.01)))
        info = LockInfo.new(self.state_path, self.operation)
        try:
            if hasattr(os, "fchmod"):  # not on Windows, where the file's ACL is the folder's
                os.fchmod(fd, 0o600)
            os.ftruncate(fd, 0)
            os.lseek(fd, 0, os.SEEK_SET)
            os.write(fd, (json.dumps(info.to_json(), indent=2) + "\n").encode("utf-8"))
            os.fsync(fd)
        except OSError as exc:
            _unlink_if_same(self.path, fd)
            _close(fd)
            raise StateError(f"cannot write the lock file {self.path}: {exc.strerror or exc}") from exc
        self._fd, self.info = fd, info
        return info

    def release(self) -> None:
        """Remove the lock file (unless force-unlock already replaced it) and drop the flock."""
        if self._fd is not None:
            fd, self._fd = self._fd, None
            try:
                _unlink_if_same(self.path, fd)
            finally:
                _close(fd)


def force_unlock(state_path: Path, lock_id: str, *, force: bool = False) -> LockInfo:
    """Remove the state's lock if its id is ``lock_id``; returns the info removed.

    Refuses (UsageError) when there is no lock or the id differs. Refuses (LockError) when another
    process still holds the flock and may be alive, unless ``force``: see the module docstring.
    """
    path = lock_path(Path(state_path))
    try:
        fd = os.open(path, os.O_RDWR | _OPEN_FLAGS)
    except FileNotFoundError:
        raise UsageError(f"the state {state_path} is not locked (there is no {path.name}); nothing to unlock") from None
    except OSError as exc:
        raise StateError(f"cannot open the lock file {path}: {exc.strerror or exc}") from exc
    held_elsewhere = not _flock_nb(fd, path)
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        info = _parse_info(os.read(fd, 1 << 16).decode("utf-8", "replace"))
        if info is None:
            raise UsageError(f"the lock file {path} holds no lock details; nothing matches {lock_id}")
        if info.id != lock_id:
            raise UsageError(f"the state is locked with id {info.id}, not {lock_id}; nothing was unlocked")
        if held_elsewhere and info.holder_alive() is not False and not force:
            raise LockError(f"the lock {info.id} is still held by {info.describe()}; removing it would let another "
                            "command write the state beside it. Stop that process, or force-unlock with --force.",
                            info=info)
        _unlink_if_same(path, fd)
        return info
    finally:
        _close(fd)


def _try_flock(path: Path) -> int | None:
    """An fd holding the flock on ``path``, or None while another open file holds it."""
    while True:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_RDWR | os.O_CREAT | _OPEN_FLAGS, 0o600)
        except OSError as exc:
            raise StateError(f"cannot open the lock file {path}: {exc.strerror or exc}") from exc
        # Start over when we locked a file that the previous holder unlinked as it released.
        if (locked := _flock_nb(fd, path)) and _same_file(path, fd):
            return fd
        _close(fd)
        if not locked:
            return None


def _flock_nb(fd: int, path: Path) -> bool:
    """Take the lock without waiting; False while another open file holds it. Closes ``fd`` on error."""
    try:
        if _fcntl is not None:
            _fcntl.flock(fd, _fcntl.LOCK_EX | _fcntl.LOCK_NB)
        elif _msvcrt is not None:
            os.lseek(fd, MSVCRT_LOCK_OFFSET, os.SEEK_SET)
            _msvcrt.locking(fd, _msvcrt.LK_NBLCK, 1)
        else:
            os.close(fd)
            raise StateError(f"cannot lock {path}: this system has neither fcntl nor msvcrt file locks; "
                             "run with --no-lock, or keep the state in PostgreSQL (--backend)")
    except (BlockingIOError, PermissionError):  # msvcrt says EACCES when another holds it
        return False
    except OSError as exc:
        if exc.errno == getattr(errno, "EDEADLOCK", errno.EDEADLK) and _msvcrt is not None:
            return False  # msvcrt's LK_NBLCK on a held range, on some Windows versions
        os.close(fd)
        unsupported = " (the filesystem has no locks)" if exc.errno in (errno.ENOLCK, errno.EOPNOTSUPP) else ""
        raise StateError(f"cannot lock {path}: {exc.strerror or exc}{unsupported}") from exc
    return True


def _close(fd: int) -> None:
    """Close a lock file's fd, dropping its lock (msvcrt asks for the unlock first)."""
    if _fcntl is None and _msvcrt is not None:
        with contextlib.suppress(OSError):  # not locked by this fd: nothing to undo
            os.lseek(fd, MSVCRT_LOCK_OFFSET, os.SEEK_SET)
            _msvcrt.locking(fd, _msvcrt.LK_UNLCK, 1)
    os.close(fd)


def _same_file(path: Path, fd: int) -> bool:
    with contextlib.suppress(FileNotFoundError):
        return os.path.samestat(os.stat(path), os.fstat(fd))
    return False


def _unlink_if_same(path: Path, fd: int) -> None:
    if _same_file(path, fd):
        # PermissionError: Windows removes no file that is open (see the module docstring)
        with contextlib.suppress(FileNotFoundError, PermissionError):
            path.unlink()


def _parse_info(text: str) -> LockInfo | None:
    # Empty between a locker's flock and its write; garbage if left by something else. Either way: no holder known.
    try:
        return LockInfo.from_json(json.loads(text))
    except (ValueError, KeyError, TypeError):
        return None


def _format_time(created: str) -> str:
    try:
        moment = datetime.fromisoformat(created).astimezone(timezone.utc)
    except ValueError:
        return created
    today = moment.date() == datetime.now(timezone.utc).date()
    return moment.strftime("%H:%M:%S UTC" if today else "%Y-%m-%d %H:%M:%S UTC")


def _current_user() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError, ImportError):  # no login name and no passwd entry (or no pwd module)
        return str(os.getuid()) if hasattr(os, "getuid") else "unknown"
