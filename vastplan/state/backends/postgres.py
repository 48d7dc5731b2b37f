"""The PostgreSQL state backend, for a team and its CI: one row per (stack, workspace) holding the
state as JSONB with its serial and lineage, the last versions kept, and a lock that names its holder.

- Every write is one transaction that locks the row, refuses a stale serial or another lineage,
  stores the new version and its copy in ``vastplan_state_versions`` (the last ``keep`` are kept).
- The lock is ``pg_try_advisory_lock`` on a connection of its own, held for the whole command; the
  server drops it when that connection ends, so a killed holder leaves no stale lock. Who holds it
  (``LockInfo``: host, pid, operation, since) is a row of ``vastplan_locks``.
- A create's journal entry (a ``pending`` resource) is a write like any other: it is in the database
  before the create is sent, so the next job on another machine finds an uncertain rental.
- When the database goes away mid-command (a restart), a write reconnects, takes the advisory lock
  back if this command had it, and retries for ``RECONNECT_SECONDS``; after that the state goes to a
  local ``.errored`` file as with the local backend.

psycopg (3) is imported here only, so a local-file user never loads it. The password never reaches
a message: ``describe`` and every error show the URL without it.
"""

from __future__ import annotations

import contextlib
import time
import zlib
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from vastplan.errors import LockError, StateError, UsageError
from vastplan.kinds import COLLECTION_KINDS
from vastplan.state.backends.local import save_first_writable
from vastplan.state.backends.urls import password_of, redact_url
from vastplan.state.lock import LockInfo
from vastplan.state.model import ResourceState, State, Version

RECONNECT_SECONDS = 30.0
CONNECT_TIMEOUT = 10
LOCK_POLL = 0.2
_LOCK_CLASS = 0x7670  # "vp": the first half of every vastplan advisory-lock key

SCHEMA_SQL = """
CREATE TABLE IF NOT EXISTS vastplan_states (
    stack text NOT NULL, workspace text NOT NULL, lineage text NOT NULL, serial bigint NOT NULL,
    state jsonb NOT NULL, written timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (stack, workspace));
CREATE TABLE IF NOT EXISTS vastplan_state_versions (
    stack text NOT NULL, workspace text NOT NULL, serial bigint NOT NULL, lineage text NOT NULL,
    state jsonb NOT NULL, written timestamptz NOT NULL DEFAULT now(), operation text NOT NULL DEFAULT '',
    PRIMARY KEY (stack, workspace, lineage, serial));
CREATE TABLE IF NOT EXISTS vastplan_locks (
    stack text NOT NULL, workspace text NOT NULL, id text NOT NULL, operation text NOT NULL,
    who text NOT NULL, host text NOT NULL, pid integer NOT NULL, since text NOT NULL,
    db_pid integer NOT NULL, PRIMARY KEY (stack, workspace));
"""


class PostgresBackend:
    """State in PostgreSQL, keyed by (stack, workspace); see the module docstring."""

    def __init__(self, url: str, stack: str, workspace: str = "default", keep: int = 20):
        self.url, self.stack, self.workspace, self.keep = url, stack, workspace, max(1, keep)
        self.shown_url = redact_url(url)
        self._conn: Any = None
        self._lock_conn: Any = None
        self._lock_info: LockInfo | None = None
        self._lock_key = zlib.crc32(f"{stack}\0{workspace}".encode()) - (1 << 31)
        self._password = password_of(url)
        self.operation = ""
        self._suspect_lock = False  # a connection was lost: the lock connection may be gone too

    def identity(self) -> str:
        """What a saved plan records: this database (no user or password); the stack and workspace
        are checked by the plan's own fields."""
        return "postgresql:" + self.shown_url.split("@")[-1].split("://")[-1]

    def describe(self) -> str:
        suffix = "" if self.workspace == "default" else f", workspace {self.workspace}"
        return f"{self.shown_url} (stack {self.stack}{suffix})"

    # --- connections ---------------------------------------------------------------------------------
    def _connect(self) -> Any:
        import psycopg

        try:
            conn = psycopg.connect(self.url, autocommit=True, connect_timeout=CONNECT_TIMEOUT,
                                   application_name="vastplan")
        except psycopg.OperationalError as exc:
            raise _Unreachable(f"cannot connect to the state database {self.shown_url}: {self._clean(exc)}") from None
        except Exception as exc:  # a malformed URL is a ProgrammingError or ValueError depending on the part
            raise StateError(f"cannot use the backend URL {self.shown_url}: {self._clean(exc)}") from None
        try:
            missing = conn.execute("SELECT to_regclass('vastplan_states') IS NULL OR "
                                   "to_regclass('vastplan_state_versions') IS NULL OR "
                                   "to_regclass('vastplan_locks') IS NULL").fetchone()[0]  # type: ignore[index]
            if missing:
                _create_tables(conn)
        except psycopg.OperationalError as exc:
            conn.close()
            raise _Unreachable(f"the state database {self.shown_url} failed: {self._clean(exc)}") from None
        except psycopg.errors.InsufficientPrivilege as exc:
            conn.close()
            raise StateError(f"the state database {self.shown_url} has no vastplan tables and this role may not "
                             f"create them ({self._clean(exc)}); ask its administrator to run the SQL in "
                             "docs/state-backends.md, or to grant CREATE on the schema") from None
        except psycopg.Error as exc:
            conn.close()
            raise StateError(f"cannot prepare the vastplan tables in {self.shown_url}: {self._clean(exc)}") from None
        return conn

    def _db(self) -> Any:
        if self._conn is None or self._conn.closed:
            self._conn = self._connect()
        return self._conn

    def _clean(self, exc: BaseException) -> str:
        text = " ".join(str(exc).split()) or type(exc).__name__
        return text.replace(self._password, "***") if self._password else text

    def _query(self, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        """One statement outside a write; a broken connection is reopened once."""
        import psycopg

        for attempt in (1, 2):
            try:
                return list(self._db().execute(sql, params).fetchall())
            except psycopg.OperationalError as exc:
                self._drop()
                if attempt == 2:
                    raise StateError(f"the state database {self.shown_url} failed: {self._clean(exc)}") from None
            except psycopg.Error as exc:
                raise StateError(f"the state database {self.shown_url} refused a query: {self._clean(exc)}") from None
        raise AssertionError("unreachable")

    def _drop(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.close()
        self._conn = None

    def close(self) -> None:
        self._drop()
        self._release_lock()

    # --- reading and writing -------------------------------------------------------------------------
    def read(self) -> State | None:
        rows = self._query("SELECT state FROM vastplan_states WHERE stack = %s AND workspace = %s",
                           (self.stack, self.workspace))
        if not rows:
            return None
        return State.from_json(rows[0][0], self.describe(), COLLECTION_KINDS)

    def write(self, state: State) -> State:
        """Store ``state`` with the serial advanced by one, as one transaction; refused when the stored
        serial or lineage is not the one ``state`` was based on."""
        return self._store(replace(state, serial=state.serial + 1), expect=state.serial)

    def journal_create(self, state: State, address: str, entry: ResourceState) -> State:
        return self.write(state.with_resource(address, entry))

    def push(self, state: State, *, force: bool = False) -> State:
        """Store ``state`` exactly (serial kept), refused as Terraform refuses: another lineage, or a
        stored serial higher than the pushed one, unless ``force``."""
        return self._store(state, expect=None, force=force)

    def _store(self, written: State, *, expect: int | None, force: bool = False) -> State:
        import psycopg

        deadline = time.monotonic() + RECONNECT_SECONDS
        while True:
            try:
                self._ensure_lock()
                with self._db().transaction():
                    if not self._check(written, expect, force):
                        self._put(written)
                return written
            except (psycopg.OperationalError, _Unreachable) as exc:
                self._drop()
                self._suspect_lock = True
                if time.monotonic() >= deadline:
                    raise StateError(f"cannot write the state to {self.shown_url}: {self._clean(exc)}") from None
                time.sleep(0.5)
            except psycopg.Error as exc:
                raise StateError(f"the state database {self.shown_url} refused the write: {self._clean(exc)}") from None

    def _check(self, written: State, expect: int | None, force: bool) -> bool:
        """Refuses a stale write; True when ``written`` is already stored (the answer to its commit was
        lost with the connection, and the retry finds it done)."""
        row = self._conn.execute("SELECT serial, lineage, state FROM vastplan_states WHERE stack = %s AND "
                                 "workspace = %s FOR UPDATE", (self.stack, self.workspace)).fetchone()
        if row is None or force:
            return False
        serial, lineage = int(row[0]), str(row[1])
        if serial == written.serial and lineage == written.lineage and row[2] == written.to_json():
            return True
        if lineage != written.lineage:
            raise StateError(f"{self.describe()} holds another state (lineage {lineage}, not {written.lineage}); "
                             "nothing was written")
        if expect is not None and serial != expect:
            raise StateError(f"{self.describe()} is at serial {serial}, but this change was based on serial "
                             f"{expect} (another command wrote it meanwhile); nothing was written")
        if expect is None and serial > written.serial:
            raise StateError(f"{self.describe()} is at serial {serial}, newer than the pushed serial "
                             f"{written.serial}; nothing was written (--force replaces it anyway)")
        return False

    def _put(self, state: State) -> None:
        from psycopg.types.json import Jsonb

        doc = Jsonb(state.to_json())
        key = (self.stack, self.workspace)
        self._conn.execute(
            "INSERT INTO vastplan_states (stack, workspace, lineage, serial, state) VALUES (%s, %s, %s, %s, %s) "
            "ON CONFLICT (stack, workspace) DO UPDATE SET lineage = EXCLUDED.lineage, serial = EXCLUDED.serial, "
            "state = EXCLUDED.state, written = now()", (*key, state.lineage, state.serial, doc))
        self._conn.execute(
            "INSERT INTO vastplan_state_versions (stack, workspace, serial, lineage, state, operation) "
            "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (stack, workspace, lineage, serial) DO UPDATE "
            "SET state = EXCLUDED.state, written = now(), operation = EXCLUDED.operation",
            (*key, state.serial, state.lineage, doc, self.operation))
        self._conn.execute(
            "DELETE FROM vastplan_state_versions WHERE stack = %s AND workspace = %s AND (serial, written) NOT IN "
            "(SELECT serial, written FROM vastplan_state_versions WHERE stack = %s AND workspace = %s "
            "ORDER BY written DESC, serial DESC LIMIT %s)", (*key, *key, self.keep))

    def history(self) -> list[Version]:
        rows = self._query(
            "SELECT serial, lineage, written, operation, (SELECT count(*) FROM jsonb_object_keys(state->'resources')) "
            "FROM vastplan_state_versions WHERE stack = %s AND workspace = %s ORDER BY written DESC, serial DESC",
            (self.stack, self.workspace))
        return [Version(int(r[0]), str(r[1]), r[2].isoformat(timespec="seconds"), str(r[3]), int(r[4])) for r in rows]

    def version(self, serial: int) -> State | None:
        rows = self._query("SELECT state FROM vastplan_state_versions WHERE stack = %s AND workspace = %s "
                           "AND serial = %s ORDER BY written DESC LIMIT 1", (self.stack, self.workspace, serial))
        return State.from_json(rows[0][0], f"{self.describe()} serial {serial}", COLLECTION_KINDS) if rows else None

    def save_errored(self, state: State) -> str:
        """The database is gone: the state goes to a local file for recovery, named after the stack."""
        import tempfile

        name = f"{self.stack}{'' if self.workspace == 'default' else '-' + self.workspace}.vpstate.json.errored"
        return save_first_writable(state, (Path.cwd() / name, Path(tempfile.gettempdir()) / name))

    def restore_command(self, path: str) -> str:
        return f"vastplan state push {path} --backend {self.shown_url}"

    # --- workspaces ----------------------------------------------------------------------------------
    def list_workspaces(self) -> list[str]:
        rows = self._query("SELECT workspace FROM vastplan_states WHERE stack = %s ORDER BY workspace", (self.stack,))
        return [str(r[0]) for r in rows]

    def delete_workspace(self, name: str) -> None:
        """Forget workspace ``name``'s state and versions (the caller checks that it is empty)."""
        if name == self.workspace and self._lock_info is not None:
            raise UsageError(f"workspace {name} is the one this command works on; select another first")
        for table in ("vastplan_states", "vastplan_state_versions"):
            self._query(f"DELETE FROM {table} WHERE stack = %s AND workspace = %s RETURNING 1", (self.stack, name))

    # --- the lock ------------------------------------------------------------------------------------
    @contextlib.contextmanager
    def lock(self, operation: str, timeout: float) -> Iterator[LockInfo]:
        self.operation = operation
        deadline = time.monotonic() + max(timeout, 0.0)
        while not self._try_lock():
            if time.monotonic() >= deadline:
                holder = self.lock_holder()
                self._release_lock()
                if holder is None:
                    raise LockError(f"the state {self.describe()} is locked by another process (it names no "
                                    "holder). Wait, or retry with a longer --lock-timeout.")
                raise LockError(f"the state {self.describe()} is locked by {holder.describe()}. Wait, or run "
                                f"vastplan force-unlock {holder.id} if that process is gone.", info=holder)
            time.sleep(LOCK_POLL)
        info = replace(LockInfo.new(Path("."), operation), path=self.describe())
        self._lock_info = info
        try:
            self._record_holder(info)
            yield info
        finally:
            self._release_lock()

    def _lock_db(self) -> Any:
        if self._lock_conn is None or self._lock_conn.closed:
            self._lock_conn = self._connect()
        return self._lock_conn

    def _try_lock(self, *, raw: bool = False) -> bool:
        """Take the advisory lock without waiting. ``raw``: let a lost connection through, to be retried."""
        import psycopg

        try:
            row = self._lock_db().execute("SELECT pg_try_advisory_lock(%s, %s)",
                                          (_LOCK_CLASS, self._lock_key)).fetchone()
        except psycopg.Error as exc:
            self._lock_conn = None
            if raw and isinstance(exc, psycopg.OperationalError):
                raise
            raise StateError(f"cannot lock the state in {self.shown_url}: {self._clean(exc)}") from None
        return bool(row[0])

    def _record_holder(self, info: LockInfo) -> None:
        db_pid = self._lock_db().info.backend_pid
        self._query("INSERT INTO vastplan_locks VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) "
                    "ON CONFLICT (stack, workspace) DO UPDATE SET id = EXCLUDED.id, operation = EXCLUDED.operation, "
                    "who = EXCLUDED.who, host = EXCLUDED.host, pid = EXCLUDED.pid, since = EXCLUDED.since, "
                    "db_pid = EXCLUDED.db_pid RETURNING 1",
                    (self.stack, self.workspace, info.id, info.operation, info.user, info.host, info.pid,
                     info.created, db_pid))

    def _ensure_lock(self) -> None:
        """After a database restart the advisory lock went with the old connection: take it back, or
        refuse to write when another command took it meanwhile."""
        import psycopg

        if self._lock_info is None or not self._suspect_lock:
            return
        with contextlib.suppress(psycopg.Error, AttributeError):
            self._lock_conn.execute("SELECT 1")
            self._suspect_lock = False
            return
        self._lock_conn = None
        if not self._try_lock(raw=True):
            raise StateError(f"the lock on {self.describe()} was lost while the database was away, and another "
                             "command holds it now; nothing more was written")
        self._suspect_lock = False
        self._record_holder(self._lock_info)

    def _release_lock(self) -> None:
        info, self._lock_info = self._lock_info, None
        if info is not None:
            with contextlib.suppress(Exception):
                self._query("DELETE FROM vastplan_locks WHERE stack = %s AND workspace = %s AND id = %s RETURNING 1",
                            (self.stack, self.workspace, info.id))
        if self._lock_conn is not None:
            with contextlib.suppress(Exception):
                self._lock_conn.close()  # ends the session, which frees its advisory lock
            self._lock_conn = None

    def lock_holder(self) -> LockInfo | None:
        row = self._holder_row()
        return row[0] if row else None

    def _holder_row(self) -> tuple[LockInfo, int] | None:
        rows = self._query("SELECT id, operation, who, host, pid, since, db_pid FROM vastplan_locks "
                           "WHERE stack = %s AND workspace = %s", (self.stack, self.workspace))
        if not rows:
            return None
        r = rows[0]
        return LockInfo(str(r[0]), str(r[1]), str(r[2]), str(r[3]), int(r[4]), str(r[5]), self.describe()), int(r[6])

    def force_unlock(self, lock_id: str, *, force: bool = False) -> LockInfo:
        """Remove the lock ``lock_id``. While its holder's database session still holds the advisory
        lock and may be alive, refused unless ``force``, which ends that session."""
        found = self._holder_row()
        if found is None:
            raise UsageError(f"the state {self.describe()} is not locked; nothing to unlock")
        info, db_pid = found
        if info.id != lock_id:
            raise UsageError(f"the state is locked with id {info.id}, not {lock_id}; nothing was unlocked")
        held = self._query("SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted AND pid = %s "
                           "AND classid = %s AND objid = %s::oid",
                           (db_pid, _LOCK_CLASS, self._lock_key & 0xFFFFFFFF))
        if held and info.holder_alive() is not False and not force:
            raise LockError(f"the lock {info.id} is still held by {info.describe()}; removing it would let another "
                            "command write the state beside it. Stop that process, or force-unlock with --force.",
                            info=info)
        if held:
            self._query("SELECT pg_terminate_backend(%s)", (db_pid,))
        self._query("DELETE FROM vastplan_locks WHERE stack = %s AND workspace = %s AND id = %s RETURNING 1",
                    (self.stack, self.workspace, lock_id))
        return info


class _Unreachable(StateError):
    """The database cannot be reached (down, restarting, wrong host or password)."""


def _create_tables(conn: Any) -> None:
    import psycopg

    for attempt in (1, 2):  # two first commands at once: one's CREATE may trip on the other's
        try:
            with conn.transaction():
                conn.execute(SCHEMA_SQL)
            return
        except psycopg.errors.UniqueViolation:
            if attempt == 2:
                raise
