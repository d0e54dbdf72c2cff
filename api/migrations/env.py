"""Alembic environment: migrations run on a connection handed in by `api.db.migrate`
(``config.attributes["connection"]``), or, from the alembic command line, on
``INCENTIVE_DATABASE_URL``."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine

from api.models import Base

config = context.config
target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    from api.settings import Settings

    engine = create_engine(Settings().database_url)
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (SQL script) migrations are not supported; run against a database")
run_migrations_online()
