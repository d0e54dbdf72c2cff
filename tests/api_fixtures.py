"""Fixtures for the storage and API tests, loaded by the test modules with
``pytest_plugins = ["tests.api_fixtures"]`` (helpers they import live in tests/api_support.py).

Every test gets a fresh database: a SQLite file in its tmp_path, or a PostgreSQL schema of
its own (``CREATE SCHEMA t_<random>``, selected through the connection's search_path and
dropped afterwards), so tests can run in parallel (pytest-xdist) without seeing each other.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from api.app import create_app
from api.settings import Settings
from api.store import Store
from tests.api_support import BACKENDS, PG_URL, require_postgres, sqlite_url


def _pg_url(url: str, schema: str | None = None) -> str:
    """The URL with the schema as search_path, and commits that do not wait for the WAL flush
    (a per-session setting: durability on power loss is not what these tests test)."""
    opts = "-csynchronous_commit=off" + (f" -csearch_path={schema}" if schema else "")
    return make_url(url).update_query_dict({"options": opts}).render_as_string(hide_password=False)


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database (not migrated) on each backend."""
    if request.param == "sqlite":
        yield sqlite_url(tmp_path)
        return
    require_postgres()
    schema = f"t_{uuid.uuid4().hex[:16]}"
    admin = create_engine(_pg_url(PG_URL))
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield _pg_url(PG_URL, schema)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    s = Store(db_url, sqlite_synchronous="NORMAL")  # no fsync per commit: durability is not tested here
    s.migrate()
    yield s
    s.dispose()


@pytest.fixture
def app(store: Store) -> FastAPI:
    return create_app(Settings(database_url=store.url, max_request_bytes=2 * 1024 * 1024), store=store)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def keys(store: Store) -> dict[str, str]:
    """One key per role: role -> secret."""
    return {role: store.create_key(role, f"test-{role}")[1] for role in ("hr", "manager", "payroll")}


