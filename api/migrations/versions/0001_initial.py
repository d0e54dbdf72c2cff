"""Initial schema: API keys, immutable runs and their lines, idempotency keys, audit log.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

IMMUTABLE = ("runs", "run_lines")


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("key_id", sa.String(32), primary_key=True),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("revoked_at", sa.String(32), nullable=True),
    )
    op.create_table(
        "runs",
        sa.Column("run_id", sa.String(40), primary_key=True),
        sa.Column("period_id", sa.Text(), nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("closed_by_key_id", sa.String(32), nullable=True),
        sa.Column("closed_by", sa.Text(), nullable=False),
        sa.Column("request_id", sa.String(64), nullable=True),
        sa.Column("input_sha256", sa.String(64), nullable=False),
        sa.Column("ruleset_id", sa.Text(), nullable=False),
        sa.Column("ruleset_version", sa.Text(), nullable=False),
        sa.Column("ruleset_sha256", sa.String(64), nullable=False),
        sa.Column("ruleset_format", sa.String(8), nullable=False),
        sa.Column("ruleset_text", sa.Text(), nullable=False),
        sa.Column("input_json", sa.LargeBinary(), nullable=False),
        sa.Column("result_json", sa.LargeBinary(), nullable=False),
        sa.Column("result_sha256", sa.String(64), nullable=False),
        sa.Column("currency", sa.Text(), nullable=False),
        sa.Column("total_pools", sa.Text(), nullable=False),
        sa.Column("total_paid", sa.Text(), nullable=False),
        sa.Column("total_forfeited", sa.Text(), nullable=False),
        sa.Column("line_count", sa.Integer(), nullable=False),
        sa.Column("people_count", sa.Integer(), nullable=False),
        sa.Column("supersedes", sa.String(40), sa.ForeignKey("runs.run_id"), nullable=True, unique=True),
        sa.Column("supersede_reason", sa.Text(), nullable=True),
    )
    op.create_index("ix_runs_period_id", "runs", ["period_id"])
    op.create_index("uq_runs_period_first", "runs", ["period_id"], unique=True,
                    sqlite_where=sa.text("supersedes IS NULL"), postgresql_where=sa.text("supersedes IS NULL"))
    op.create_table(
        "run_lines",
        sa.Column("run_id", sa.String(40), sa.ForeignKey("runs.run_id"), primary_key=True),
        sa.Column("seq", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("line_id", sa.Text(), nullable=False),
        sa.Column("person_id", sa.Text(), nullable=False),
        sa.Column("project_id", sa.Text(), nullable=False),
        sa.Column("role", sa.Text(), nullable=False),
        sa.Column("amount", sa.Text(), nullable=False),
        sa.Column("line_json", sa.Text(), nullable=False),
    )
    op.create_index("ix_run_lines_person", "run_lines", ["run_id", "person_id"])
    op.create_index("ix_run_lines_project", "run_lines", ["run_id", "project_id"])
    op.create_table(
        "idempotency_keys",
        sa.Column("idem_key", sa.String(255), primary_key=True),
        sa.Column("request_sha256", sa.String(64), nullable=False),
        sa.Column("period_id", sa.Text(), nullable=False),
        sa.Column("run_id", sa.String(40), sa.ForeignKey("runs.run_id"), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("key_id", sa.String(32), nullable=True),
        sa.Column("created_at", sa.String(32), nullable=False),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("at", sa.String(32), nullable=False),
        sa.Column("request_id", sa.String(64), nullable=True),
        sa.Column("key_id", sa.String(32), nullable=True),
        sa.Column("key_name", sa.Text(), nullable=True),
        sa.Column("role", sa.String(16), nullable=True),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("method", sa.String(8), nullable=True),
        sa.Column("path", sa.Text(), nullable=True),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("period_id", sa.Text(), nullable=True),
        sa.Column("run_id", sa.String(40), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
    )
    _immutable_triggers()


def _immutable_triggers() -> None:
    """Refuse UPDATE and DELETE on runs and run lines in the database itself."""
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute(
            "CREATE FUNCTION incentive_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION 'closed runs are immutable: % on % refused', TG_OP, TG_TABLE_NAME; END $$"
        )
        for table in IMMUTABLE:
            op.execute(f"CREATE TRIGGER {table}_immutable BEFORE UPDATE OR DELETE ON {table} "
                       "FOR EACH ROW EXECUTE FUNCTION incentive_refuse_change()")
    elif dialect == "sqlite":
        for table in IMMUTABLE:
            for what in ("UPDATE", "DELETE"):
                op.execute(f"CREATE TRIGGER {table}_no_{what.lower()} BEFORE {what} ON {table} "
                           f"BEGIN SELECT RAISE(ABORT, 'closed runs are immutable: {what} on {table} refused'); END")


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for table in IMMUTABLE:
        if dialect == "postgresql":
            op.execute(f"DROP TRIGGER IF EXISTS {table}_immutable ON {table}")
        elif dialect == "sqlite":
            for what in ("update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{what}")
    if dialect == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS incentive_refuse_change()")
    op.drop_table("audit_log")
    op.drop_table("idempotency_keys")
    op.drop_index("ix_run_lines_project", "run_lines")
    op.drop_index("ix_run_lines_person", "run_lines")
    op.drop_table("run_lines")
    op.drop_index("uq_runs_period_first", "runs")
    op.drop_index("ix_runs_period_id", "runs")
    op.drop_table("runs")
    op.drop_table("api_keys")
