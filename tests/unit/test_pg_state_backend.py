"""The PostgreSQL backend on its own, against a real PostgreSQL: compare-and-swap by serial, lineage,
versions kept, workspaces keyed apart, the advisory lock, and a database that is gone."""

from __future__ import annotations

import pytest

from tests import pgserver
from vastplan.errors import LockError, StateError, UsageError
from vastplan.state.backends.postgres import PostgresBackend
from vastplan.state.model import ResourceState, State


def entry(n: int) -> ResourceState:
    return ResourceState("template", n, {"image": f"img{n}"})


def test_a_write_based_on_a_stale_serial_or_another_lineage_is_refused(pg_url: str) -> None:
    one, two = PostgresBackend(pg_url, "s"), PostgresBackend(pg_url, "s")
    first = one.write(State.new("s"))
    assert first.serial == 1 and two.read() == first
    two.write(first.with_resource("templates.a", entry(1)))
    with pytest.raises(StateError, match="is at serial 2, but this change was based on serial 1"):
        one.write(first.with_resource("templates.b", entry(2)))
    with pytest.raises(StateError, match="holds another state"):
        one.write(State.new("s"))
    assert set(one.read().resources) == {"templates.a"}  # type: ignore[union-attr]


def test_the_last_versions_are_kept_and_workspaces_are_apart(pg_url: str) -> None:
    backend = PostgresBackend(pg_url, "s", keep=3)
    state = State.new("s")
    for n in range(5):
        state = backend.write(state.with_resource(f"templates.t{n}", entry(n)))
    assert [v.serial for v in backend.history()] == [5, 4, 3]
    assert backend.version(4).resources.keys() == {f"templates.t{n}" for n in range(4)}  # type: ignore[union-attr]
    staging = PostgresBackend(pg_url, "s", workspace="staging")
    assert staging.read() is None
    staging.write(State.new("s"))
    assert "workspace staging" in staging.describe()
    assert backend.list_workspaces() == ["default", "staging"]
    backend.delete_workspace("staging")
    assert backend.list_workspaces() == ["default"] and staging.read() is None
    assert PostgresBackend(pg_url, "other").read() is None


def test_the_lock_is_one_per_stack_and_workspace_and_names_its_holder(pg_url: str) -> None:
    holder = PostgresBackend(pg_url, "s")
    with holder.lock("apply", 0) as info:
        with pytest.raises(LockError, match=r"locked by apply \(pid \d+ on "), \
                PostgresBackend(pg_url, "s").lock("plan", 0.3):
            pass
        with PostgresBackend(pg_url, "s", workspace="prod").lock("apply", 0):
            pass  # another workspace, another lock
        assert PostgresBackend(pg_url, "s").lock_holder() == info
        with pytest.raises(UsageError, match="not abc"):
            PostgresBackend(pg_url, "s").force_unlock("abc")
    assert holder.lock_holder() is None
    with PostgresBackend(pg_url, "s").lock("apply", 0):
        pass


def test_a_database_that_is_gone_is_an_error_and_the_state_goes_to_a_file(
        own_pg: pgserver.Server, tmp_path: object, monkeypatch: pytest.MonkeyPatch) -> None:
    import vastplan.state.backends.postgres as module

    monkeypatch.chdir(tmp_path)  # type: ignore[arg-type]
    monkeypatch.setattr(module, "RECONNECT_SECONDS", 1.0)
    backend = PostgresBackend(own_pg.url, "s")
    state = backend.write(State.new("s"))
    own_pg.stop()
    with pytest.raises(StateError, match="cannot write the state to postgresql://postgres@127.0.0.1"):
        backend.write(state.with_resource("templates.a", entry(1)))
    saved = backend.save_errored(state.with_resource("templates.a", entry(1)))
    assert saved.endswith("s.vpstate.json.errored")
    assert "vastplan state push" in backend.restore_command(saved)


def test_local_users_never_load_the_driver(tmp_path: object) -> None:
    """A command on the local file backend imports no PostgreSQL driver."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(str(tmp_path))
    (root / "s.yaml").write_text("version: 1\nstack: s\ntemplates:\n  web: {image: nginx, tag: latest}\n")
    code = ("import sys; from vastplan.cli.root import run; code = run(['state', 'list', '-f', 's.yaml']); "
            "print(code, sorted(m for m in sys.modules if m.split('.')[0] in ('psycopg', 'asyncpg')))")
    done = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=60)
    assert done.stdout.strip().splitlines()[-1] == "1 []", done.stdout + done.stderr
