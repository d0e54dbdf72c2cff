"""The store: API keys, immutable runs, idempotency keys and the audit log, on SQLAlchemy 2.

Everything a request reads or writes goes through `Store`. Writes happen in one transaction
each; a period close (run, lines, idempotency key, audit entry) is one transaction, so a crash
mid-close leaves nothing behind. There is no method that updates or deletes a run.
"""

from __future__ import annotations

import hashlib
import secrets
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import orjson
from sqlalchemy import Select, exists, func, insert, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from .db import WRITE_OPTION, make_engine, migrate
from .models import ApiKey, AuditEntry, IdempotencyRecord, Run, RunLine
from .settings import Settings

ROLES = ("hr", "manager", "payroll")
CLOSE_ATTEMPTS = 5


def now_iso() -> str:
    """The current UTC time as fixed-width ISO text (sorts as text)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def hash_key(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


# ---------------------------------------------------------------------------------------------
# plain records handed out by the store (never live ORM objects)


@dataclass(frozen=True)
class KeyInfo:
    key_id: str
    name: str
    role: str
    created_at: str
    revoked_at: str | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


@dataclass(frozen=True)
class RunMeta:
    run_id: str
    period_id: str
    created_at: str
    closed_by: str
    closed_by_key_id: str | None
    request_id: str | None
    input_sha256: str
    ruleset_id: str
    ruleset_version: str
    ruleset_sha256: str
    ruleset_format: str
    result_sha256: str
    currency: str
    total_pools: str
    total_paid: str
    total_forfeited: str
    line_count: int
    people_count: int
    supersedes: str | None
    supersede_reason: str | None
    superseded_by: str | None = None


@dataclass(frozen=True)
class IdempotencyInfo:
    """What a used Idempotency-Key remembers: the request's hash and the answer it got."""

    request_sha256: str
    period_id: str
    run_id: str
    status_code: int


@dataclass(frozen=True)
class NewRun:
    """What a close stores: computed outside the transaction, written inside it."""

    period_id: str
    input_sha256: str
    ruleset_id: str
    ruleset_version: str
    ruleset_sha256: str
    ruleset_format: str  # "toml" (a bundled file's text) or "json" (canonical JSON of an object)
    ruleset_text: str
    input_json: bytes  # canonical input document, JSON
    result_json: bytes  # incentive.result.dumps(doc)
    currency: str
    totals: dict[str, Any]
    lines: Sequence[dict[str, Any]]
    people_count: int


@dataclass(frozen=True)
class Actor:
    """Who made a request, for runs and the audit log."""

    key_id: str | None
    key_name: str | None
    role: str | None
    request_id: str | None = None
    method: str | None = None
    path: str | None = None


@dataclass(frozen=True)
class CloseOutcome:
    kind: Literal["created", "replay", "idempotency_mismatch", "already_closed", "conflict", "bad_supersede"]
    status: int
    run_id: str | None = None
    message: str = ""
    period_id: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


_META_COLUMNS = (
    Run.run_id, Run.period_id, Run.created_at, Run.closed_by, Run.closed_by_key_id, Run.request_id,
    Run.input_sha256, Run.ruleset_id, Run.ruleset_version, Run.ruleset_sha256, Run.ruleset_format,
    Run.result_sha256, Run.currency, Run.total_pools, Run.total_paid, Run.total_forfeited, Run.line_count,
    Run.people_count, Run.supersedes, Run.supersede_reason,
)


def _meta_query() -> Select:
    """A run's columns (not the blobs) and the run that supersedes it, if any."""
    later = aliased(Run)
    return select(*_META_COLUMNS, later.run_id.label("superseded_by")).outerjoin(
        later, later.supersedes == Run.run_id)


def _new_run_id() -> str:
    return f"run_{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}_{secrets.token_hex(4)}"


class Store:
    """Access to the service's database."""

    def __init__(self, url: str, sqlite_busy_timeout_s: float = 60.0, sqlite_synchronous: str = "FULL") -> None:
        self.url = url
        self.engine = make_engine(url, sqlite_busy_timeout_s, sqlite_synchronous)

    @classmethod
    def from_settings(cls, settings: Settings) -> Store:
        return cls(settings.database_url, settings.sqlite_busy_timeout_s, settings.sqlite_synchronous)

    # --- plumbing -------------------------------------------------------------------------
    def migrate(self) -> None:
        migrate(self.engine)

    def ping(self) -> None:
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    def dispose(self) -> None:
        self.engine.dispose()

    @contextmanager
    def session(self, write: bool = False) -> Iterator[Session]:
        """A session in one transaction: committed on success, rolled back on any exception."""
        with self.engine.connect() as conn:
            if write:
                conn.execution_options(**{WRITE_OPTION: True})
            with Session(bind=conn, expire_on_commit=False) as s, s.begin():
                yield s

    # --- API keys -------------------------------------------------------------------------
    def create_key(self, role: str, name: str | None = None, actor: Actor | None = None) -> tuple[KeyInfo, str]:
        """A new key; returns its record and the secret (the only time it exists in the clear)."""
        if role not in ROLES:
            raise ValueError(f"role must be one of {', '.join(ROLES)}")
        key_id = "k" + secrets.token_hex(6)
        secret = f"inc_{key_id}_{secrets.token_urlsafe(32)}"
        row = ApiKey(key_id=key_id, name=name or f"{role}-{key_id}", role=role, key_hash=hash_key(secret),
                     created_at=now_iso(), revoked_at=None)
        with self.session(write=True) as s:
            s.add(row)
            self._audit(s, actor or Actor(None, "cli", None), "key.create", detail=f"{key_id} role={role}")
        return _key_info(row), secret

    def list_keys(self) -> list[KeyInfo]:
        with self.session() as s:
            return [_key_info(k) for k in s.scalars(select(ApiKey).order_by(ApiKey.created_at, ApiKey.key_id))]

    def revoke_key(self, key_id: str, actor: Actor | None = None) -> KeyInfo | None:
        """Revoke a key (idempotent); None if there is no such key."""
        with self.session(write=True) as s:
            row = s.get(ApiKey, key_id)
            if row is None:
                return None
            if row.revoked_at is None:
                row.revoked_at = now_iso()
                self._audit(s, actor or Actor(None, "cli", None), "key.revoke", detail=key_id)
            return _key_info(row)

    def authenticate(self, secret: str) -> KeyInfo | None:
        """The active key whose secret this is, else None."""
        with self.session() as s:
            row = s.scalars(select(ApiKey).where(ApiKey.key_hash == hash_key(secret))).first()
            if row is None or row.revoked_at is not None:
                return None
            return _key_info(row)

    # --- audit ----------------------------------------------------------------------------
    def audit(self, actor: Actor, action: str, *, status_code: int | None = None, period_id: str | None = None,
              run_id: str | None = None, detail: str | None = None) -> None:
        with self.session(write=True) as s:
            self._audit(s, actor, action, status_code=status_code, period_id=period_id, run_id=run_id, detail=detail)

    @staticmethod
    def _audit(s: Session, actor: Actor, action: str, *, status_code: int | None = None,
               period_id: str | None = None, run_id: str | None = None, detail: str | None = None) -> None:
        def clean(v: str | None) -> str | None:  # an audit row is written whatever the request held
            return None if v is None else v.replace("\x00", "\\x00")

        s.add(AuditEntry(at=now_iso(), request_id=actor.request_id, key_id=actor.key_id, key_name=clean(actor.key_name),
                         role=actor.role, action=action, method=actor.method, path=clean(actor.path),
                         status_code=status_code, period_id=clean(period_id), run_id=clean(run_id),
                         detail=clean(detail)))

    def audit_entries(self, limit: int = 1000) -> list[dict[str, Any]]:
        with self.session() as s:
            rows = s.scalars(select(AuditEntry).order_by(AuditEntry.id).limit(limit))
            return [{c.key: getattr(r, c.key) for c in AuditEntry.__table__.columns} for r in rows]

    # --- runs: reading ----------------------------------------------------------------------
    def list_runs(self, period_id: str | None = None) -> list[RunMeta]:
        q = _meta_query().order_by(Run.created_at, Run.run_id)
        if period_id is not None:
            q = q.where(Run.period_id == period_id)
        with self.session() as s:
            return [RunMeta(**r._asdict()) for r in s.execute(q)]

    def get_run(self, run_id: str) -> RunMeta | None:
        with self.session() as s:
            return self._meta(s, run_id)

    @staticmethod
    def _meta(s: Session, run_id: str) -> RunMeta | None:
        row = s.execute(_meta_query().where(Run.run_id == run_id)).first()
        return None if row is None else RunMeta(**row._asdict())

    def result_bytes(self, run_id: str) -> bytes | None:
        """The stored result document, exactly the bytes `incentive.result.dumps` gave at close."""
        with self.session() as s:
            blob = s.scalar(select(Run.result_json).where(Run.run_id == run_id))
        return None if blob is None else zlib.decompress(blob)

    def input_bytes(self, run_id: str) -> bytes | None:
        with self.session() as s:
            blob = s.scalar(select(Run.input_json).where(Run.run_id == run_id))
        return None if blob is None else zlib.decompress(blob)

    def ruleset_source(self, run_id: str) -> tuple[str, str] | None:
        """(format, text) of the rule set a run was computed with."""
        with self.session() as s:
            row = s.execute(select(Run.ruleset_format, Run.ruleset_text).where(Run.run_id == run_id)).first()
        return None if row is None else (row[0], row[1])

    def lines(self, run_id: str, *, person_id: str | None = None, project_id: str | None = None,
              limit: int = 100, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
        """A page of a run's lines (in result order) and how many match in all."""
        cond = [RunLine.run_id == run_id]
        if person_id is not None:
            cond.append(RunLine.person_id == person_id)
        if project_id is not None:
            cond.append(RunLine.project_id == project_id)
        with self.session() as s:
            total = s.scalar(select(func.count()).select_from(RunLine).where(*cond)) or 0
            rows = s.scalars(select(RunLine.line_json).where(*cond).order_by(RunLine.seq).limit(limit).offset(offset))
            return [orjson.loads(r) for r in rows], int(total)

    def head_run(self, period_id: str) -> RunMeta | None:
        """The period's current run: the one no other run supersedes."""
        with self.session() as s:
            rid = self._head_id(s, period_id)
            return None if rid is None else self._meta(s, rid)

    @staticmethod
    def _head_id(s: Session, period_id: str) -> str | None:
        later = aliased(Run)
        return s.scalar(select(Run.run_id).where(
            Run.period_id == period_id, ~exists().where(later.supersedes == Run.run_id)))

    def idempotency(self, idem_key: str) -> IdempotencyInfo | None:
        with self.session() as s:
            rec = s.get(IdempotencyRecord, idem_key)
            return None if rec is None else IdempotencyInfo(rec.request_sha256, rec.period_id, rec.run_id,
                                                            rec.status_code)

    # --- runs: the close ---------------------------------------------------------------------
    def close_period(self, new: NewRun, *, idem_key: str, request_sha256: str,
                     supersede: tuple[str, str] | None, actor: Actor) -> CloseOutcome:
        """Store a new run of `new.period_id` unless the idempotency key or the period's state says
        otherwise. Decisions are taken inside the write transaction; a lost race (a unique
        constraint hit by a concurrent close) is retried against the committed state."""
        for _ in range(CLOSE_ATTEMPTS):
            try:
                with self.session(write=True) as s:
                    return self._close_tx(s, new, idem_key, request_sha256, supersede, actor)
            except IntegrityError:
                continue
        raise RuntimeError("period close kept colliding with concurrent closes; try again")

    def _close_tx(self, s: Session, new: NewRun, idem_key: str, request_sha256: str,
                  supersede: tuple[str, str] | None, actor: Actor) -> CloseOutcome:
        period = new.period_id
        rec = s.get(IdempotencyRecord, idem_key)
        if rec is not None:
            if rec.request_sha256 == request_sha256:
                return CloseOutcome("replay", rec.status_code, rec.run_id, period_id=period)
            return CloseOutcome("idempotency_mismatch", 422, rec.run_id, period_id=period,
                                message=f"Idempotency-Key {idem_key!r} was already used with a different request "
                                        f"(it closed period {rec.period_id} as run {rec.run_id})")
        head = self._head_id(s, period)
        supersedes: str | None = None
        reason: str | None = None
        if supersede is None:
            if head is not None:
                h = s.execute(select(Run.input_sha256, Run.ruleset_sha256).where(Run.run_id == head)).one()
                if (h.input_sha256, h.ruleset_sha256) == (new.input_sha256, new.ruleset_sha256):
                    self._remember(s, idem_key, request_sha256, period, head, 200, actor)
                    return CloseOutcome("already_closed", 200, head, period_id=period)
                return CloseOutcome("conflict", 409, head, period_id=period,
                                    message=f"period {period} is already closed as run {head} with different data; "
                                            f"to correct it, close again with "
                                            f'"supersede": {{"run_id": "{head}", "reason": ...}}')
        else:
            target, reason = supersede
            owner = s.scalar(select(Run.period_id).where(Run.run_id == target))
            if owner != period:
                what = "does not exist" if owner is None else f"belongs to period {owner}"
                return CloseOutcome("bad_supersede", 422, None, period_id=period,
                                    message=f"run {target} {what}; only a run of period {period} can be superseded")
            if head != target:
                return CloseOutcome("conflict", 409, head, period_id=period,
                                    message=f"run {target} is already superseded; the current run of period "
                                            f"{period} is {head}: supersede that one")
            supersedes = target
        run_id = _new_run_id()
        t = new.totals
        s.add(Run(
            run_id=run_id, period_id=period, created_at=now_iso(), closed_by_key_id=actor.key_id,
            closed_by=actor.key_name or "(unknown)", request_id=actor.request_id, input_sha256=new.input_sha256,
            ruleset_id=new.ruleset_id, ruleset_version=new.ruleset_version, ruleset_sha256=new.ruleset_sha256,
            ruleset_format=new.ruleset_format, ruleset_text=new.ruleset_text,
            input_json=zlib.compress(new.input_json, 6), result_json=zlib.compress(new.result_json, 6),
            result_sha256=hashlib.sha256(new.result_json).hexdigest(), currency=new.currency,
            total_pools=str(t["pools"]), total_paid=str(t["paid"]), total_forfeited=str(t["forfeited"]),
            line_count=len(new.lines), people_count=new.people_count, supersedes=supersedes,
            supersede_reason=reason,
        ))
        s.flush()
        self._insert_lines(s, run_id, new.lines)
        self._remember(s, idem_key, request_sha256, period, run_id, 201, actor)
        self._audit(s, actor, "period.close", status_code=201, period_id=period, run_id=run_id,
                    detail=None if supersedes is None else f"supersedes {supersedes}")
        s.flush()
        return CloseOutcome("created", 201, run_id, period_id=period)

    @staticmethod
    def _insert_lines(s: Session, run_id: str, lines: Sequence[dict[str, Any]]) -> None:
        batch = 5000
        for start in range(0, len(lines), batch):
            rows = [
                {"run_id": run_id, "seq": start + k, "line_id": ln.get("line_id") or "", "person_id": ln["person_id"],
                 "project_id": ln["project_id"], "role": ln["role"], "amount": ln["amount"],
                 "line_json": orjson.dumps(ln).decode()}
                for k, ln in enumerate(lines[start:start + batch])
            ]
            s.execute(insert(RunLine), rows)

    @staticmethod
    def _remember(s: Session, idem_key: str, request_sha256: str, period: str, run_id: str, status: int,
                  actor: Actor) -> None:
        s.add(IdempotencyRecord(idem_key=idem_key, request_sha256=request_sha256, period_id=period, run_id=run_id,
                                status_code=status, key_id=actor.key_id, created_at=now_iso()))
        s.flush()


def _key_info(row: ApiKey) -> KeyInfo:
    return KeyInfo(key_id=row.key_id, name=row.name, role=row.role, created_at=row.created_at,
                   revoked_at=row.revoked_at)
