"""The store on SQLite and PostgreSQL: migrations, immutable runs, the close transaction,
idempotency, keys, lines and the audit log."""

from __future__ import annotations

import copy
import threading
from typing import Any

import orjson
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError

from api.db import current_revision, head_revision
from api.models import Base
from api.service import compute, new_run, read_period_input, resolve_rules
from api.store import Actor, NewRun, Store
from tests.api_support import shared_case

pytest_plugins = ["tests.api_fixtures"]

ACTOR = Actor(key_id="kTEST", key_name="storage-test", role="hr", request_id="req-1", method="POST", path="/x")


def make_run(case: str = "01-basic", contract_value: str | None = None) -> NewRun:
    raw, rules_obj = shared_case(case)
    if contract_value is not None:
        raw = copy.deepcopy(raw)
        raw["projects"][0]["contract_value"] = contract_value
    resolved = resolve_rules(rules_obj)
    inp = read_period_input(raw, resolved.rules)
    return new_run(inp, resolved, compute(inp, resolved.rules))


def close(store: Store, run: NewRun, key: str, sha: str = "s1", supersede: tuple[str, str] | None = None) -> Any:
    return store.close_period(run, idem_key=key, request_sha256=sha, supersede=supersede, actor=ACTOR)


def test_migrations_reach_head_and_match_the_models(store: Store) -> None:
    assert current_revision(store.engine) == head_revision() == "0001"
    with store.engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        tables = set(inspect(conn).get_table_names())
    assert {"api_keys", "runs", "run_lines", "idempotency_keys", "audit_log", "alembic_version"} <= tables
    assert diffs == []


def test_migrate_twice_is_a_no_op(store: Store) -> None:
    store.migrate()
    store.migrate()
    assert current_revision(store.engine) == head_revision()


def test_close_stores_everything_a_run_needs(store: Store) -> None:
    run = make_run()
    out = close(store, run, "k1")
    assert out.kind == "created" and out.status == 201
    meta = store.get_run(out.run_id)
    assert meta is not None
    assert meta.period_id == "2026-Q3" and meta.closed_by == "storage-test" and meta.closed_by_key_id == "kTEST"
    assert meta.input_sha256 == run.input_sha256 and meta.ruleset_sha256 == run.ruleset_sha256
    assert meta.created_at.endswith("Z") and meta.superseded_by is None and meta.supersedes is None
    assert store.result_bytes(out.run_id) == run.result_json
    assert orjson.loads(store.input_bytes(out.run_id) or b"") == orjson.loads(run.input_json)
    fmt, rules_text = store.ruleset_source(out.run_id) or ("", "")
    assert fmt == "json" and orjson.loads(rules_text)["ruleset"]["id"] == "case-basic"
    assert meta.line_count == len(run.lines) and meta.total_paid == run.totals["paid"]
    items, total = store.lines(out.run_id)
    assert total == len(run.lines) and [i["line_id"] for i in items] == [ln["line_id"] for ln in run.lines]


def test_runs_are_immutable_in_the_database(store: Store) -> None:
    out = close(store, make_run(), "k1")
    for stmt in ("UPDATE runs SET closed_by = 'mallory'", "DELETE FROM runs",
                 "UPDATE run_lines SET amount = '0.00'", "DELETE FROM run_lines"):
        with pytest.raises(DBAPIError, match="immutable"), store.session(write=True) as s:
            s.execute(text(stmt))
    meta = store.get_run(out.run_id)
    assert meta is not None and meta.closed_by == "storage-test"
    assert store.lines(out.run_id)[1] == len(make_run().lines)


def test_close_outcomes(store: Store) -> None:
    first = close(store, make_run(), "k1", "sha-a")
    assert first.kind == "created"
    assert close(store, make_run(), "k1", "sha-a").kind == "replay"
    mismatch = close(store, make_run(), "k1", "sha-b")
    assert mismatch.kind == "idempotency_mismatch" and mismatch.status == 422
    same = close(store, make_run(), "k2", "sha-c")
    assert (same.kind, same.status, same.run_id) == ("already_closed", 200, first.run_id)
    other = make_run(contract_value="2000000")
    conflict = close(store, other, "k3", "sha-d")
    assert (conflict.kind, conflict.status, conflict.run_id) == ("conflict", 409, first.run_id)
    assert first.run_id in conflict.message
    bad = close(store, other, "k4", "sha-e", supersede=("run_nope", "typo"))
    assert (bad.kind, bad.status) == ("bad_supersede", 422)
    fix = close(store, other, "k5", "sha-f", supersede=(first.run_id, "contract value corrected"))
    assert fix.kind == "created"
    meta = store.get_run(fix.run_id)
    assert meta is not None and meta.supersedes == first.run_id and meta.supersede_reason == "contract value corrected"
    old = store.get_run(first.run_id)
    assert old is not None and old.superseded_by == fix.run_id
    # the superseded run can't be superseded again: the chain stays linear
    again = close(store, make_run(contract_value="3000000"), "k6", "sha-g", supersede=(first.run_id, "again"))
    assert (again.kind, again.status, again.run_id) == ("conflict", 409, fix.run_id)
    head = store.head_run("2026-Q3")
    assert head is not None and head.run_id == fix.run_id
    assert [m.run_id for m in store.list_runs("2026-Q3")] == [first.run_id, fix.run_id]
    assert store.list_runs("no-such-period") == []


def test_a_failed_close_leaves_nothing(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    real = Store._insert_lines

    def crash(s: Any, run_id: str, lines: Any) -> None:
        real(s, run_id, lines)  # the lines are written, then the process "dies"
        raise RuntimeError("simulated crash mid-close")

    monkeypatch.setattr(Store, "_insert_lines", staticmethod(crash))
    with pytest.raises(RuntimeError, match="simulated crash"):
        close(store, make_run(), "k1")
    with store.session() as s:
        for table in ("runs", "run_lines", "idempotency_keys"):
            assert s.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar() == 0, table
    monkeypatch.undo()
    assert close(store, make_run(), "k1").kind == "created"


def test_the_database_refuses_a_second_first_run(store: Store) -> None:
    """The partial unique index: one run per period that supersedes nothing."""
    first = close(store, make_run(), "k1")
    with pytest.raises(DBAPIError), store.session(write=True) as s:
        cols = "run_id, period_id, created_at, closed_by, input_sha256, ruleset_id, ruleset_version, " \
               "ruleset_sha256, ruleset_format, ruleset_text, input_json, result_json, result_sha256, currency, " \
               "total_pools, total_paid, total_forfeited, line_count, people_count"
        s.execute(text(f"INSERT INTO runs ({cols}) SELECT 'run_dup', {cols.split(', ', 1)[1]} FROM runs "
                       "WHERE run_id = :r"), {"r": first.run_id})


def test_concurrent_closes_with_one_key_store_one_run(store: Store) -> None:
    run = make_run()
    outcomes: list[Any] = []
    barrier = threading.Barrier(8)

    def worker() -> None:
        barrier.wait()
        outcomes.append(close(store, run, "same-key", "same-sha"))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(o.kind for o in outcomes) == ["created"] + ["replay"] * 7
    assert len({o.run_id for o in outcomes}) == 1
    assert len(store.list_runs()) == 1


def test_concurrent_first_closes_of_one_period_with_other_data_conflict(store: Store) -> None:
    runs = [make_run(contract_value=str(1_000_000 + k)) for k in range(4)]
    outcomes: list[Any] = []
    barrier = threading.Barrier(len(runs))

    def worker(k: int) -> None:
        barrier.wait()
        outcomes.append(close(store, runs[k], f"key-{k}", f"sha-{k}"))

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(len(runs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    kinds = sorted(o.kind for o in outcomes)
    assert kinds == ["conflict"] * 3 + ["created"]
    assert len(store.list_runs()) == 1


def test_keys_store_only_a_hash_and_can_be_revoked(store: Store) -> None:
    info, secret = store.create_key("payroll", "pay-1")
    assert secret.startswith(f"inc_{info.key_id}_") and len(secret) > 40
    assert store.authenticate(secret) == info
    assert store.authenticate(secret + "x") is None
    with store.session() as s:
        row = s.execute(text("SELECT * FROM api_keys")).mappings().one()
    assert secret not in {str(v) for v in row.values()} and len(row["key_hash"]) == 64
    with pytest.raises(ValueError):
        store.create_key("admin")
    revoked = store.revoke_key(info.key_id)
    assert revoked is not None and revoked.revoked_at is not None
    assert store.authenticate(secret) is None
    assert store.revoke_key("k-missing") is None
    assert [k.key_id for k in store.list_keys()] == [info.key_id]
    actions = [e["action"] for e in store.audit_entries()]
    assert actions == ["key.create", "key.revoke"]


def test_lines_page_and_filter(store: Store) -> None:
    run = make_run("gen-0005")
    out = close(store, run, "k1")
    items, total = store.lines(out.run_id, limit=5, offset=0)
    assert total == len(run.lines) and len(items) == 5
    rest, _ = store.lines(out.run_id, limit=1000, offset=5)
    assert [i["line_id"] for i in items + rest] == [ln["line_id"] for ln in run.lines]
    person = run.lines[0]["person_id"]
    mine, n = store.lines(out.run_id, person_id=person)
    assert n == sum(1 for ln in run.lines if ln["person_id"] == person) and all(i["person_id"] == person for i in mine)
    project = run.lines[0]["project_id"]
    both, n2 = store.lines(out.run_id, person_id=person, project_id=project)
    assert n2 == len(both) >= 1
    assert store.lines(out.run_id, person_id="nobody") == ([], 0)


def test_audit_records_the_close_without_amounts(store: Store) -> None:
    run = make_run()
    out = close(store, run, "k1")
    entries = store.audit_entries()
    assert [(e["action"], e["run_id"], e["key_name"], e["request_id"]) for e in entries] == \
        [("period.close", out.run_id, "storage-test", "req-1")]
    amounts = {ln["amount"] for ln in run.lines}
    assert not any(a in str(e) for e in entries for a in amounts)
