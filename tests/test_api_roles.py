"""The role matrix: every route × every role, no key, an unknown key and a revoked key.

hr may do everything; manager simulations, rule sets and statements; payroll runs, lines and
exports. No key, an unknown key or a revoked key is 401 (with WWW-Authenticate); a role that
may not is 403. Allowed calls are real requests and must succeed.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.store import Store
from tests.api_support import auth, shared_case

pytest_plugins = ["tests.api_fixtures"]

ALL = {"hr", "manager", "payroll"}
ANYONE = ALL | {"none", "unknown", "revoked"}
# (method, path, who may, status when allowed)
MATRIX: list[tuple[str, str, set[str], int]] = [
    ("GET", "/healthz", ANYONE, 200),
    ("GET", "/readyz", ANYONE, 200),
    ("POST", "/v1/simulations", {"hr", "manager"}, 200),
    ("POST", "/v1/periods/{period_id}/close", {"hr"}, 200),
    ("GET", "/v1/runs", {"hr", "payroll"}, 200),
    ("GET", "/v1/runs/{run_id}", {"hr", "payroll"}, 200),
    ("GET", "/v1/runs/{run_id}/input", {"hr"}, 200),
    ("GET", "/v1/runs/{run_id}/lines", {"hr", "payroll"}, 200),
    ("GET", "/v1/runs/{run_id}/people/{person_id}/statement", {"hr", "manager"}, 200),
    ("GET", "/v1/runs/{run_id}/export", {"hr", "payroll"}, 200),
    ("GET", "/v1/rulesets", {"hr", "manager"}, 200),
    ("GET", "/v1/rulesets/{ruleset_id}", {"hr", "manager"}, 404),  # no such bundled id: allowed, then 404
    ("POST", "/v1/rulesets/validate", {"hr", "manager"}, 200),
]


def test_the_matrix_covers_every_route(app: FastAPI) -> None:
    routes = {(m.upper(), path) for path, ops in app.openapi()["paths"].items() for m in ops}
    assert routes == {(m, p) for m, p, _, _ in MATRIX}


def test_role_matrix(client: TestClient, keys: dict[str, str], store: Store) -> None:
    inp, rules = shared_case("01-basic")
    body = {"input": inp, "rules": rules}
    first = client.post("/v1/periods/2026-Q3/close", json=body,
                        headers=auth(keys["hr"], **{"Idempotency-Key": "setup"}))
    assert first.status_code == 201
    run_id = first.json()["run_id"]
    revoked_info, revoked = store.create_key("hr", "soon-revoked")
    store.revoke_key(revoked_info.key_id)
    creds: dict[str, dict[str, str]] = {
        "none": {},
        "unknown": auth("inc_kdeadbeef0000_notakey"),
        "revoked": auth(revoked),
        "hr": auth(keys["hr"]),
        "manager": {"X-API-Key": keys["manager"]},  # the header form works too
        "payroll": auth(keys["payroll"]),
    }
    params = {"period_id": "2026-Q3", "run_id": run_id, "person_id": "a", "ruleset_id": "no-such-ruleset"}
    bodies: dict[str, Any] = {
        "/v1/simulations": body,
        "/v1/periods/{period_id}/close": body,  # same data, other key -> 200 with the stored run
        "/v1/rulesets/validate": {"rules": rules},
    }
    failures = []
    for method, template, allowed, ok in MATRIX:
        url = template.format(**params)
        for who, headers in creds.items():
            h = {**headers, "Idempotency-Key": f"matrix-{who}"}
            r = client.request(method, url, json=bodies.get(template), headers=h)
            if who in allowed:
                want = ok
            elif who in ("none", "unknown", "revoked"):
                want = 401
            else:
                want = 403
            if r.status_code != want:
                failures.append(f"{method} {template} as {who}: {r.status_code} (want {want}) {r.text[:200]}")
            elif want == 401:
                assert r.headers["WWW-Authenticate"].startswith("Bearer")
                assert r.json()["errors"][0]["path"] == "header.Authorization"
            elif want == 403:
                assert who in r.json()["errors"][0]["message"]
    assert not failures, "\n".join(failures)
    # refused closes are audited too, with the key when there was one
    refused = [(e["key_name"], e["status_code"]) for e in store.audit_entries()
               if e["action"] == "period.close.rejected"]
    assert sorted(refused, key=str) == sorted([(None, 401), (None, 401), (None, 401), ("test-manager", 403),
                                               ("test-payroll", 403)], key=str)
