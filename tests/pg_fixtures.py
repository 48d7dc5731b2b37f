"""PostgreSQL for the tests: one server per test run (``VASTPLAN_TEST_PG_URL`` from ``.ci/test``, else
started here the same way, once per pytest process, so plain ``pytest`` and each xdist worker work),
and a fresh database per test, so tests stay independent."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import pytest

from tests import pgserver


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, ""))


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """The URL of a PostgreSQL superuser on loopback (its password included)."""
    url = os.environ.get("VASTPLAN_TEST_PG_URL")
    if url:
        yield url
        return
    server = pgserver.start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def pg_url(pg_server: str) -> Iterator[str]:
    """A database of this test's own, dropped afterwards: the URL to give ``--backend``."""
    import psycopg

    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    name = f"vp_{worker}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield with_database(pg_server, name)
    finally:
        with psycopg.connect(pg_server, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def own_pg() -> Iterator[pgserver.Server]:
    """A server of this test's own, for a test that restarts it."""
    server = pgserver.start()
    try:
        yield server
    finally:
        server.stop()
