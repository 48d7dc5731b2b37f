"""Bad input for the PostgreSQL backend: a clear error, exit 1, nothing lost, never the password;
and a database restarted in the middle of an apply."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest

from tests import pgserver
from tests.harness import Workspace, pulled, stack_text, templates_in_sandbox
from tests.pg_fixtures import with_database
from vastsandbox.server import RunningSandbox

CANARY_PASSWORD = "pg-canary-9d1e55-NEVER-SHOWN"


def _role(pg_url: str, name: str, *, create: bool) -> str:
    """A login role with the canary password; ``create``: may it create tables in the database. Roles
    are the server's, not the database's: the name carries the test's database, so tests stay apart."""
    parts = urlsplit(pg_url)
    db = parts.path.lstrip("/")
    name = f"{name}_{db}"
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {name} LOGIN PASSWORD '{CANARY_PASSWORD}'")
        conn.execute(f'GRANT CONNECT ON DATABASE "{db}" TO {name}')
        conn.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
        if create:
            conn.execute(f"GRANT CREATE, USAGE ON SCHEMA public TO {name}")
    return f"postgresql://{name}:{CANARY_PASSWORD}@{parts.hostname}:{parts.port}/{db}"


def _no_password(ws: Workspace, root: Path) -> None:
    for text in ws.outputs:
        assert CANARY_PASSWORD not in text, "the database password was printed"
    for path in root.rglob("*"):
        if path.is_file():
            assert CANARY_PASSWORD.encode() not in path.read_bytes(), f"the password was written to {path}"


def test_the_password_never_appears_and_a_wrong_one_is_refused(workspace: Workspace, pg_url: str,
                                                               tmp_path: Path) -> None:
    url = _role(pg_url, "alice", create=True)
    workspace.write(stack_text(1))
    applied = workspace.vastplan("apply", "--auto-approve", "--backend", url, "-v")
    assert applied.code == 0, applied.text
    other = workspace.write(stack_text(1).replace("stack: team", "stack: other"), "other.yaml")
    empty = workspace.vastplan("state", "list", "--backend", url, "-f", str(other), stack=False)
    assert empty.code == 1 and "no state file at postgresql://alice_vp_" in empty.err, empty.text
    wrong = url.replace(CANARY_PASSWORD, CANARY_PASSWORD[::-1])
    refused = workspace.vastplan("plan", "--backend", wrong)
    assert refused.code == 1
    assert "cannot connect to the state database postgresql://alice_vp_" in refused.err
    assert "password authentication failed" in refused.err and "Traceback" not in refused.text
    assert CANARY_PASSWORD[::-1] not in refused.text
    history = workspace.vastplan("state", "history", "--backend", url)
    assert history.code == 0 and "postgres" not in history.out.replace("postgresql", ""), history.text
    _no_password(workspace, tmp_path)


def test_a_role_that_may_not_create_the_tables_gets_told_so(workspace: Workspace, pg_url: str) -> None:
    url = _role(pg_url, "bob", create=False)
    workspace.write(stack_text(1))
    result = workspace.vastplan("apply", "--auto-approve", "--backend", url)
    assert result.code == 1, result.text
    assert "has no vastplan tables and this role may not create them" in result.err
    assert "permission denied for schema public" in result.err
    assert "Apply complete" not in result.out


def test_unreachable_database_and_unknown_scheme(workspace: Workspace, pg_url: str) -> None:
    workspace.write(stack_text(1))
    port = pgserver._free_port()
    down = workspace.vastplan("plan", "--backend", f"postgresql://x:{CANARY_PASSWORD}@127.0.0.1:{port}/db")
    assert down.code == 1 and "cannot connect to the state database postgresql://x@127.0.0.1" in down.err, down.text
    assert CANARY_PASSWORD not in down.text
    for malformed in (f"postgresql://x:{CANARY_PASSWORD}@[::1/db", f"postgresql://x:{CANARY_PASSWORD}@h:port/db",
                      f"postgresql://x@[::1/db?password={CANARY_PASSWORD}"):
        bad = workspace.vastplan("state", "list", "--backend", malformed)
        assert bad.code == 1 and "postgresql://x@" in bad.err and "Traceback" not in bad.text, bad.text
        assert CANARY_PASSWORD not in bad.text
    scheme = workspace.vastplan("plan", "--backend", "mysql://db.internal/infra")
    assert scheme.code == 1 and "unknown scheme 'mysql'" in scheme.err, scheme.text
    in_file = workspace.write(stack_text(1) + f"backend: {{url: 'postgresql://x:{CANARY_PASSWORD}@h/db'}}\n")
    validated = workspace.vastplan("validate", "-f", str(in_file), stack=False)
    assert validated.code == 1 and "without a password" in validated.out + validated.err
    assert CANARY_PASSWORD not in validated.text


def test_database_restarted_mid_apply_loses_nothing(workspace: Workspace, sandbox: RunningSandbox,
                                                    own_pg: pgserver.Server) -> None:
    with psycopg.connect(own_pg.url, autocommit=True) as conn:
        conn.execute("CREATE DATABASE infra")
    url = with_database(own_pg.url, "infra")
    workspace.write(stack_text(6))
    sandbox.sandbox.control.latency_ms = 400
    moments: dict[str, float] = {}

    def restart() -> None:
        time.sleep(1.2)
        moments["restart"] = time.monotonic()
        pgserver.restart(own_pg.data)

    restarter = threading.Thread(target=restart)
    restarter.start()
    applied = workspace.vastplan("apply", "--auto-approve", "--parallelism", "1", "--backend", url)
    moments["applied"] = time.monotonic()
    restarter.join()
    assert moments["restart"] < moments["applied"], "the restart came after the apply: this test proves nothing"
    sandbox.sandbox.control.latency_ms = 0
    assert applied.code == 0, applied.text  # the writes waited for the database and went on
    again = workspace.vastplan("apply", "--auto-approve", "--backend", url)
    assert again.code == 0 and "No changes." in again.out, again.text
    state = pulled(workspace, url)
    assert len(state["resources"]) == 6  # type: ignore[arg-type]
    _all_tracked_once(workspace, state)


def _all_tracked_once(ws: Workspace, state: dict[str, object]) -> None:

    ids = sorted(entry["id"] for entry in state["resources"].values())  # type: ignore[attr-defined]
    assert sorted(t["id"] for t in templates_in_sandbox(ws)) == ids, "untracked or duplicate objects"


def test_database_gone_for_good_mid_apply_saves_the_errored_file_and_names_it(
        workspace: Workspace, sandbox: RunningSandbox, own_pg: pgserver.Server,
        monkeypatch: pytest.MonkeyPatch) -> None:
    import vastplan.state.backends.postgres as module

    monkeypatch.setattr(module, "RECONNECT_SECONDS", 1.0)
    with psycopg.connect(own_pg.url, autocommit=True) as conn:
        conn.execute("CREATE DATABASE infra")
    url = with_database(own_pg.url, "infra")
    workspace.write(stack_text(6))
    sandbox.sandbox.control.latency_ms = 400
    halted = threading.Timer(1.2, pgserver.halt, (own_pg.data,))
    halted.start()
    failed = workspace.vastplan("apply", "--auto-approve", "--parallelism", "1", "--backend", url)
    halted.join()
    sandbox.sandbox.control.latency_ms = 0
    errored = workspace.root / "team.vpstate.json.errored"
    assert failed.code == 1, failed.text
    assert str(errored) in failed.err and errored.exists(), failed.text
    assert "Traceback" not in failed.text and "cannot write the state to postgresql://postgres@" in failed.err
    pgserver.resume(own_pg.data)
    again = workspace.vastplan("apply", "--auto-approve", "--backend", url)
    assert again.code == 0, again.text
    state = pulled(workspace, url)
    assert len(state["resources"]) == 6  # type: ignore[arg-type]
    _all_tracked_once(workspace, state)
