"""Database engine and migrations.

SQLite (the embedded default) gets WAL journaling, a busy timeout and ``BEGIN IMMEDIATE`` for
write transactions, so that concurrent writers queue on the database lock instead of failing
with "database is locked"; PostgreSQL is used as it comes (READ COMMITTED).
Migrations are Alembic's (``api/migrations``), applied by `migrate` under a lock so that
several processes starting at once do not race.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
WRITE_OPTION = "incentive_write"
_PG_MIGRATION_LOCK = 0x1CE47  # pg_advisory_lock key for migrations


def make_engine(url: str, sqlite_busy_timeout_s: float = 60.0, sqlite_synchronous: str = "FULL") -> Engine:
    """A SQLAlchemy engine for `url`, set up for this service's transaction pattern."""
    u = make_url(url)
    kwargs: dict[str, Any] = {"pool_pre_ping": True}
    if u.get_backend_name() == "sqlite":
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": sqlite_busy_timeout_s}
        if u.database and u.database != ":memory:":
            Path(u.database).expanduser().resolve().parent.mkdir(parents=True, exist_ok=True)
    elif u.get_backend_name() == "postgresql":
        kwargs["connect_args"] = {"connect_timeout": 10}
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        _sqlite_setup(engine, sqlite_busy_timeout_s, sqlite_synchronous)
    return engine


def _sqlite_setup(engine: Engine, busy_timeout_s: float, synchronous: str) -> None:
    if synchronous.upper() not in ("FULL", "NORMAL", "OFF", "EXTRA"):
        raise ValueError(f"sqlite synchronous must be FULL, NORMAL, OFF or EXTRA, not {synchronous!r}")

    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves (below)
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {int(busy_timeout_s * 1000)}")
        cur.execute("PRAGMA journal_mode = WAL")
        cur.execute(f"PRAGMA synchronous = {synchronous.upper()}")
        cur.execute("PRAGMA foreign_keys = ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        # a writer takes the write lock up front: no lock upgrade later, so no SQLITE_BUSY deadlock
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(WRITE_OPTION) else "BEGIN")


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


@contextlib.contextmanager
def _migration_lock(conn: Connection) -> Iterator[None]:
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _PG_MIGRATION_LOCK})
        conn.commit()
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _PG_MIGRATION_LOCK})
            conn.commit()
    else:
        yield


def migrate(engine: Engine) -> None:
    """Bring the database schema up to the newest migration (a no-op when it is there)."""
    if current_revision(engine) == head_revision():
        return
    cfg = alembic_config()
    with engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            conn.execution_options(**{WRITE_OPTION: True})  # one migrating process at a time
        with _migration_lock(conn):
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
            conn.commit()


def database_label(url: str) -> str:
    """The URL with any password hidden, for messages."""
    return make_url(url).render_as_string(hide_password=True)
