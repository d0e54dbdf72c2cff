"""The tables of the store (SQLAlchemy 2 declarative). The schema itself is created and changed
only by the Alembic migrations under ``api/migrations``; these classes must match them
(``tests/test_storage.py`` checks that they do).

Runs and their lines are immutable: no code path updates or deletes one, and database
triggers (see the initial migration) refuse an UPDATE or DELETE on them.
"""

from __future__ import annotations

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String, Text, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class ApiKey(Base):
    """An API key: only the sha256 of the secret is kept."""

    __tablename__ = "api_keys"

    key_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[str] = mapped_column(String(32))
    revoked_at: Mapped[str | None] = mapped_column(String(32), nullable=True)


class Run(Base):
    """A closed period: canonical input, rule set (text and hash), result, who and when."""

    __tablename__ = "runs"

    run_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    period_id: Mapped[str] = mapped_column(Text, index=True)
    created_at: Mapped[str] = mapped_column(String(32))
    closed_by_key_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    closed_by: Mapped[str] = mapped_column(Text)
    request_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    input_sha256: Mapped[str] = mapped_column(String(64))
    ruleset_id: Mapped[str] = mapped_column(Text)
    ruleset_version: Mapped[str] = mapped_column(Text)
    ruleset_sha256: Mapped[str] = mapped_column(String(64))
    ruleset_format: Mapped[str] = mapped_column(String(8))
    ruleset_text: Mapped[str] = mapped_column(Text)
    input_json: Mapped[bytes] = mapped_column(LargeBinary)  # zlib of the canonical input JSON
    result_json: Mapped[bytes] = mapped_column(LargeBinary)  # zlib of incentive.result.dumps(doc)
    result_sha256: Mapped[str] = mapped_column(String(64))
    currency: Mapped[str] = mapped_column(Text)
    total_pools: Mapped[str] = mapped_column(Text)
    total_paid: Mapped[str] = mapped_column(Text)
    total_forfeited: Mapped[str] = mapped_column(Text)
    line_count: Mapped[int] = mapped_column(Integer)
    people_count: Mapped[int] = mapped_column(Integer)
    supersedes: Mapped[str | None] = mapped_column(String(40), ForeignKey("runs.run_id"), unique=True,
                                                   nullable=True)
    supersede_reason: Mapped[str | None] = mapped_column(Text, nullable=True)

    __table_args__ = (
        # one first run per period; every later one supersedes exactly one run (unique above),
        # so a period's runs form a single chain
        Index("uq_runs_period_first", "period_id", unique=True,
              sqlite_where=text("supersedes IS NULL"), postgresql_where=text("supersedes IS NULL")),
    )


class RunLine(Base):
    """One line of a run's result (for paging and filtering without loading the document)."""

    __tablename__ = "run_lines"

    run_id: Mapped[str] = mapped_column(String(40), ForeignKey("runs.run_id"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    line_id: Mapped[str] = mapped_column(Text)
    person_id: Mapped[str] = mapped_column(Text)
    project_id: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(Text)
    amount: Mapped[str] = mapped_column(Text)
    line_json: Mapped[str] = mapped_column(Text)

    __table_args__ = (
        Index("ix_run_lines_person", "run_id", "person_id"),
        Index("ix_run_lines_project", "run_id", "project_id"),
    )


class IdempotencyRecord(Base):
    """An Idempotency-Key seen on a close, the hash of the request it came with, and its run."""

    __tablename__ = "idempotency_keys"

    idem_key: Mapped[str] = mapped_column(String(255), primary_key=True)
    request_sha256: Mapped[str] = mapped_column(String(64))
    period_id: Mapped[str] = mapped_column(Text)
    run_id: Mapped[str] = mapped_column(String(40), ForeignKey("runs.run_id"))
    status_code: Mapped[int] = mapped_column(Integer)
    key_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    created_at: Mapped[str] = mapped_column(String(32))


class AuditEntry(Base):
    """One state-changing request (or key change): who, what, which run, when. Never amounts."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[str] = mapped_column(String(32))
    request_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    key_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    key_name: Mapped[str | None] = mapped_column(Text, nullable=True)
    role: Mapped[str | None] = mapped_column(String(16), nullable=True)
    action: Mapped[str] = mapped_column(String(64))
    method: Mapped[str | None] = mapped_column(String(8), nullable=True)
    path: Mapped[str | None] = mapped_column(Text, nullable=True)
    status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    period_id: Mapped[str | None] = mapped_column(Text, nullable=True)
    run_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    detail: Mapped[str | None] = mapped_column(Text, nullable=True)
