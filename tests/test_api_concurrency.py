"""Idempotency under concurrency: 8 parallel closes with one Idempotency-Key store one run and
all get the same response; parallel closes of one period with other data and other keys store
one run and the rest get 409."""

from __future__ import annotations

import copy
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from fastapi.testclient import TestClient

from api.store import Store
from tests.api_support import auth, shared_case

pytest_plugins = ["tests.api_fixtures"]
N = 8


def parallel(client: TestClient, api_key: str, calls: list[tuple[dict[str, Any], str]]) -> list[Any]:
    """POST the closes at once (released together by a barrier); the responses in call order."""
    barrier = threading.Barrier(len(calls))

    def one(call: tuple[dict[str, Any], str]) -> Any:
        body, idem = call
        barrier.wait()
        return client.post("/v1/periods/2026-Q3/close", json=body, headers=auth(api_key, **{"Idempotency-Key": idem}))

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(one, calls))


def test_eight_parallel_closes_with_one_key_store_one_run(client: TestClient, keys: dict[str, str],
                                                          store: Store) -> None:
    inp, rules = shared_case("gen-0005")
    responses = parallel(client, keys["hr"], [({"input": inp, "rules": rules}, "one-key")] * N)
    assert [r.status_code for r in responses] == [201] * N, [r.text[:200] for r in responses]
    assert len({r.content for r in responses}) == 1  # byte-identical bodies
    assert sum(1 for r in responses if r.headers.get("Idempotent-Replayed") != "true") == 1
    runs = store.list_runs()
    assert len(runs) == 1 and runs[0].run_id == responses[0].json()["run_id"]
    actions = sorted(e["action"] for e in store.audit_entries() if e["action"].startswith("period"))
    assert actions == ["period.close"] + ["period.close.replay"] * (N - 1)


def test_parallel_closes_of_one_period_with_different_data(client: TestClient, keys: dict[str, str],
                                                           store: Store) -> None:
    inp, rules = shared_case("01-basic")
    calls = []
    for k in range(4):
        changed = copy.deepcopy(inp)
        changed["projects"][0]["contract_value"] = str(1_000_000 + 1000 * k)
        calls.append(({"input": changed, "rules": rules}, f"key-{k}"))
    responses = parallel(client, keys["hr"], calls)
    assert sorted(r.status_code for r in responses) == [201, 409, 409, 409], [r.text[:200] for r in responses]
    run_id = next(r.json()["run_id"] for r in responses if r.status_code == 201)
    assert all(run_id in r.text for r in responses if r.status_code == 409)
    assert [m.run_id for m in store.list_runs()] == [run_id]
