"""The local state backend: a JSON file written atomically after every change, mode 0600, the
previous version kept as ``.backup``, guarded by the flock of ``state.lock``."""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from vastplan.errors import StateError
from vastplan.kinds import COLLECTION_KINDS
from vastplan.state.lock import LockInfo, StateLock, force_unlock, read_lock_info
from vastplan.state.model import ResourceState, State, Version

DEFAULT_WORKSPACE = "default"


class LocalStateFile:
    """State in a local JSON file: mode 0600, atomic replace, the previous version kept as .backup.

    One instance per command (the Session builds it): it keeps ``.backup`` as the state before the
    command. ``write`` compares the serial it is given with the file's: the serial this backend last
    read or wrote while the file is unchanged since (one stat), else the one in the file."""

    def __init__(self, path: Path, workspace: str = DEFAULT_WORKSPACE):
        self.base = path  # the default workspace's file: every workspace's state is found from it
        self.workspace = workspace
        self.path = workspace_path(path, workspace)
        self._backed_up = False
        self._known: tuple[int, int] | None = None  # (serial, file signature) as last read or written

    def describe(self) -> str:
        return str(self.path)

    def identity(self) -> str:
        """What a saved plan records: the kind of backend (a local file's path differs between
        checkouts; the plan's lineage and serial pin the state itself)."""
        return "local"

    @property
    def backup_path(self) -> Path:
        return self.path.with_name(self.path.name + ".backup")

    def read(self) -> State | None:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as exc:
            raise StateError(f"cannot read the state file {self.path}: {exc}") from exc
        try:
            raw = json.loads(text)
        except ValueError as exc:
            raise StateError(f"{self.path} is not valid JSON (line {getattr(exc, 'lineno', '?')}); "
                             f"the previous version may be in {self.backup_path.name}") from exc
        state = self._checked(text, raw)
        self._remember(state.serial)
        return state

    @property
    def schema_cache(self) -> Path:
        return schema_cache_of(self.path)

    def _checked(self, text: str, raw: Any) -> State:
        """The state, its schema check skipped when these very bytes passed it before: a plan of
        10,000 unchanged instances spent most of its time re-checking a file nobody had changed."""
        from vastplan.stack.schema import passed_before, record_pass, schema_digest
        from vastplan.state import model

        digest = schema_digest("state.schema.json", text.encode("utf-8"), Path(model.__file__))
        known = passed_before(self.schema_cache, digest)
        state = State.from_json(raw, str(self.path), COLLECTION_KINDS, schema_passed=known)
        if not known:
            record_pass(self.schema_cache, digest)
        return state

    def _remember(self, serial: int) -> None:
        with contextlib.suppress(OSError):
            self._known = (serial, _signature(self.path))

    def _stored_serial(self) -> int | None:
        """The serial in the file now; None when there is no file (or it is unreadable: read says why)."""
        try:
            signature = _signature(self.path)
        except OSError:
            return None
        if self._known is not None and self._known[1] == signature:
            return self._known[0]
        try:
            return int(json.loads(self.path.read_text(encoding="utf-8")).get("serial", 0))
        except (OSError, ValueError, AttributeError, TypeError):
            return None

    def save_errored(self, state: State) -> str:
        """Save ``state`` where it can be saved, for recovery; returns the path (or why none worked)."""
        return save_first_writable(state, errored_path_candidates(self.path))

    def write(self, state: State) -> State:
        """Write ``state`` with the serial advanced by one; returns what was written. Refused when
        ``state`` is not based on the serial this backend last read or wrote."""
        stored = self._stored_serial()
        if stored is not None and state.serial != stored:
            raise StateError(f"the state {self.path} is at serial {stored}, but this change was based on serial "
                             f"{state.serial} (another command wrote it meanwhile); nothing was written")
        return self._put(replace(state, serial=state.serial + 1))

    def _put(self, written: State) -> State:
        text = written.to_text() + "\n"
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if not self._backed_up:
                # Once per command, like Terraform: .backup is the state as it was before this run.
                if self.path.exists():
                    atomic_write(self.backup_path, self.path.read_bytes())
                self._backed_up = True
            atomic_write(self.path, text.encode("utf-8"))
        except OSError as exc:
            raise StateError(f"cannot write the state file {self.path}: {exc.strerror or exc}") from exc
        self._remember(written.serial)
        return written

    def push(self, state: State, *, force: bool = False) -> State:
        """Replace the file with ``state`` as it is (serial kept): refused when the file holds another
        lineage or a newer serial, unless ``force``."""
        stored = self.read() if self.path.exists() else None
        if stored is not None and not force:
            if stored.lineage != state.lineage:
                raise StateError(f"{self.path} holds another state (lineage {stored.lineage}, not {state.lineage}); "
                                 "nothing was written (--force replaces it anyway)")
            if stored.serial > state.serial:
                raise StateError(f"{self.path} is at serial {stored.serial}, newer than the pushed serial "
                                 f"{state.serial}; nothing was written (--force replaces it anyway)")
        return self._put(state)

    def history(self) -> list[Version]:
        """A file keeps two versions: itself and ``.backup``."""
        versions = []
        for path in (self.path, self.backup_path):
            with contextlib.suppress(StateError, OSError):
                state = LocalStateFile(path).read()
                if state is not None:
                    written = datetime.fromtimestamp(path.stat().st_mtime, timezone.utc).isoformat(timespec="seconds")
                    versions.append(Version(state.serial, state.lineage, written, path.name, len(state.resources)))
        return versions

    def journal_create(self, state: State, address: str, entry: ResourceState) -> State:
        """Locally the journal is the state file itself: a ``pending`` entry, written at once."""
        return self.write(state.with_resource(address, entry))

    @contextlib.contextmanager
    def lock(self, operation: str, timeout: float) -> Iterator[LockInfo]:
        with StateLock(self.path, operation, timeout) as held:
            assert held.info is not None
            yield held.info

    def lock_holder(self) -> LockInfo | None:
        return read_lock_info(self.path)

    def force_unlock(self, lock_id: str, *, force: bool = False) -> LockInfo:
        return force_unlock(self.path, lock_id, force=force)

    # --- workspaces ---------------------------------------------------------------------------------
    def list_workspaces(self) -> list[str]:
        """``default`` and every workspace that has a folder under ``<state>.d/``."""
        folder = workspaces_dir(self.base)
        named = sorted(p.name for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []
        return [DEFAULT_WORKSPACE, *(n for n in named if n != DEFAULT_WORKSPACE)]

    def delete_workspace(self, name: str) -> None:
        """Remove a workspace's state file, its backup and lock, and its folder. The caller checks
        first that the state holds nothing (the objects would go on billing, unknown)."""
        path = workspace_path(self.base, name)
        try:
            cache = schema_cache_of(path)
            for leftover in (path, path.with_name(path.name + ".backup"), path.with_name(path.name + ".lock"), cache):
                leftover.unlink(missing_ok=True)
            with contextlib.suppress(OSError):  # anything else the user put there stays
                cache.parent.rmdir()
                path.parent.rmdir()
        except OSError as exc:
            raise StateError(f"cannot delete the workspace {name}: {exc.strerror or exc}") from exc


def schema_cache_of(path: Path) -> Path:
    """The digest of a state file's last schema pass, in ``.vastplan/`` beside it (safe to delete)."""
    return path.parent / ".vastplan" / f"{path.name}.schema-ok"


def workspaces_dir(base: Path) -> Path:
    """Named workspaces' states: ``<state>.d/NAME/<state name>``, as Terraform keeps
    ``terraform.tfstate.d/NAME/terraform.tfstate``; the default workspace keeps ``<state>`` itself."""
    return base.with_name(base.name + ".d")


def workspace_path(base: Path, workspace: str) -> Path:
    return base if workspace == DEFAULT_WORKSPACE else workspaces_dir(base) / workspace / base.name


def _signature(path: Path) -> int:
    """Changes whenever the file is replaced or rewritten (atomic writes give it a new inode)."""
    st = os.stat(path)
    return hash((st.st_ino, st.st_size, st.st_mtime_ns))


def errored_path_candidates(path: Path) -> list[Path]:
    """Where to save a state that could not be written: beside it, else here, else the temp dir."""
    import tempfile

    name = f"{path.name}.errored"
    return [path.with_name(name), Path.cwd() / name, Path(tempfile.gettempdir()) / name]


def save_first_writable(state: State, candidates: Iterable[Path]) -> str:
    """Write ``state`` to the first of ``candidates`` that can be written; its path, or why none was."""
    text = (state.to_text() + "\n").encode("utf-8")
    for candidate in candidates:
        try:
            atomic_write(candidate, text)
            return str(candidate)
        except OSError:
            continue
    return "nowhere (no folder could be written either)"


def atomic_write(path: Path, data: bytes) -> None:
    """Write to a temp file beside ``path`` (mode 0600), fsync, rename over, fsync the folder."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0), 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    if os.name == "nt":  # a folder cannot be opened to fsync there; NTFS journals the rename itself
        return
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
