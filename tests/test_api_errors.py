"""Bad requests get JSON 4xx answers naming what is wrong, never a 500; an unexpected failure
is a JSON 500 without a traceback; bodies over the limit are 413; salaries and amounts never
reach the logs."""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.exc import OperationalError

from api.store import Store
from tests.api_support import auth, shared_case

pytest_plugins = ["tests.api_fixtures"]
SQLITE_ONLY = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def _set(path: list[Any], value: Any) -> Callable[[dict[str, Any]], None]:
    def edit(body: dict[str, Any]) -> None:
        node = body
        for p in path[:-1]:
            node = node[p]
        node[path[-1]] = value
    return edit


def _drop(path: list[Any]) -> Callable[[dict[str, Any]], None]:
    def edit(body: dict[str, Any]) -> None:
        node = body
        for p in path[:-1]:
            node = node[p]
        del node[path[-1]]
    return edit


# (name, edit of a valid body, a path the errors must name)
BAD_BODIES: list[tuple[str, Callable[[dict[str, Any]], None], str]] = [
    ("input not an object", _set(["input"], [1, 2]), "input"),
    ("rules a number", _set(["rules"], 7), "rules"),
    ("no input", _drop(["input"]), "input"),
    ("unknown top-level key", _set(["extra"], 1), "extra"),
    ("period missing", _drop(["input", "period"]), "input.period"),
    ("bad date", _set(["input", "period", "end"], "2026-02-30"), "input.period.end"),
    ("people not a list", _set(["input", "people"], {"a": 1}), "input.people"),
    ("person not an object", _set(["input", "people", 0], "a"), "input.people"),
    ("salary text", _set(["input", "people", 0, "annual_base_salary"], "lots"), "input.people[a].annual_base_salary"),
    ("salary negative", _set(["input", "people", 0, "annual_base_salary"], "-5"), "input.people[a].annual_base_salary"),
    ("contract value NaN", _set(["input", "projects", 0, "contract_value"], "NaN"),
     "input.projects[J1].contract_value"),
    ("margin 7", _set(["input", "projects", 0, "margin"], 7), "input.projects[J1].margin"),
    ("fte zero", _set(["input", "contributions", 0, "fte"], 0), "input.contributions[k1].fte"),
    ("fte text", _set(["input", "contributions", 0, "fte"], "x"), "input.contributions[k1].fte"),
    ("fte bool", _set(["input", "contributions", 0, "fte"], True), "input.contributions[k1].fte"),
    ("score negative", _set(["input", "contributions", 0, "score"], -1), "input.contributions[k1].score"),
    ("unknown person", _set(["input", "contributions", 0, "person_id"], "zz"), "input.contributions[k1].person_id"),
    ("unknown role", _set(["input", "contributions", 0, "role"], "XX"), "input.contributions[k1].role"),
    ("contribution id null", _set(["input", "contributions", 0, "id"], None), "input.contributions"),
    ("duplicate person", lambda b: b["input"]["people"].append({"id": "a"}), "input.people[a]"),
    ("rules weights", _set(["rules", "roles", "AR"], 0.9), "rules.roles"),
    ("rules unknown key", _set(["rules", "caps", "max_fun"], 1), "rules.caps.max_fun"),
    ("rules negative rate", _set(["rules", "pool", "win_rate"], -1), "rules.pool.win_rate"),
    ("rules not an object", _set(["rules"], {"ruleset": 5}), "rules.ruleset"),
    ("lookback fractional", _set(["rules", "split", "lookback_days"], 2.5), "rules.split.lookback_days"),
    ("unit zero", _set(["rules", "rounding", "unit"], 0), "rules.rounding.unit"),
]


@SQLITE_ONLY
@pytest.mark.parametrize(("name", "edit", "path"), BAD_BODIES, ids=[b[0] for b in BAD_BODIES])
def test_bad_bodies_are_422_naming_the_record(name: str, edit: Callable[[dict[str, Any]], None], path: str,
                                             client: TestClient, keys: dict[str, str]) -> None:
    inp, rules = shared_case("01-basic")
    inp["people"][0]["annual_base_salary"] = "100000"
    body = copy.deepcopy({"input": inp, "rules": rules})
    edit(body)
    for url in ("/v1/simulations", "/v1/periods/2026-Q3/close"):
        r = client.post(url, json=body, headers=auth(keys["hr"], **{"Idempotency-Key": name}))
        assert r.status_code == 422, (url, r.status_code, r.text[:300])
        errors = r.json()["errors"]
        assert errors and all(set(e) == {"path", "message"} and e["message"] for e in errors)
        assert any(e["path"].startswith(path) for e in errors), errors
        assert "Traceback" not in r.text


ODD_BUT_MAYBE_VALID: list[tuple[str, Callable[[dict[str, Any]], None]]] = [
    ("salary with a huge exponent", _set(["input", "people", 0, "annual_base_salary"], "1e999999")),
    ("contract value tiny", _set(["input", "projects", 0, "contract_value"], "1e-30")),
    ("contract value huge", _set(["input", "projects", 0, "contract_value"], "9" * 60)),
    ("unit odd", _set(["rules", "rounding", "unit"], "0.07")),
    ("fte tiny", _set(["input", "contributions", 0, "fte"], 1e-300)),
    ("score huge", _set(["input", "contributions", 0, "score"], 1e300)),
    ("period of one day", _set(["input", "period", "end"], "2026-07-01")),
    ("unicode ids", _set(["input", "people", 0, "name"], "Zoë \u0000 <b>")),
    ("lookback huge", _set(["rules", "split", "lookback_days"], 10**12)),
    ("cap zero", _set(["rules", "caps", "person_period_max"], 0)),
    ("budget zero", _set(["rules", "caps", "period_budget"], "0")),
]


@SQLITE_ONLY
@pytest.mark.parametrize(("name", "edit"), ODD_BUT_MAYBE_VALID, ids=[b[0] for b in ODD_BUT_MAYBE_VALID])
def test_odd_inputs_are_answered_not_crashed_on(name: str, edit: Callable[[dict[str, Any]], None],
                                               client: TestClient, keys: dict[str, str]) -> None:
    inp, rules = shared_case("01-basic")
    body = copy.deepcopy({"input": inp, "rules": rules})
    edit(body)
    r = client.post("/v1/simulations", json=body, headers=auth(keys["hr"]))
    assert r.status_code in (200, 422), (name, r.status_code, r.text[:300])


@SQLITE_ONLY
@pytest.mark.parametrize("raw", [b"", b"{", b"[]", b"null", b'"x"', b"\xff\xfe", b'{"input": NaN, "rules": "x"}',
                                 b"[" * 100_000])
def test_malformed_bodies_are_4xx(raw: bytes, client: TestClient, keys: dict[str, str]) -> None:
    for url in ("/v1/simulations", "/v1/periods/2026-Q3/close", "/v1/rulesets/validate"):
        r = client.post(url, content=raw, headers=auth(keys["hr"], **{"Content-Type": "application/json",
                                                                     "Idempotency-Key": "m"}))
        assert 400 <= r.status_code < 500, (url, raw[:20], r.status_code, r.text[:200])
        assert r.json()["errors"]


@SQLITE_ONLY
def test_wrong_content_type_and_unknown_routes(client: TestClient, keys: dict[str, str]) -> None:
    r = client.post("/v1/simulations", content=b"input=1", headers=auth(keys["hr"], **{"Content-Type": "text/plain"}))
    assert r.status_code == 422 and r.json()["errors"]
    r = client.get("/v1/nothing-here", headers=auth(keys["hr"]))
    assert r.status_code == 404 and r.json() == {"errors": [{"path": "", "message": "Not Found"}]}
    r = client.delete("/v1/runs", headers=auth(keys["hr"]))
    assert r.status_code == 405 and r.json()["errors"]


@SQLITE_ONLY
def test_request_size_limit_is_413(client: TestClient, keys: dict[str, str]) -> None:
    big = b'{"input": {"period": {"id": "' + b"x" * (3 * 1024 * 1024) + b'"}}, "rules": "x"}'
    h = auth(keys["hr"], **{"Content-Type": "application/json", "Idempotency-Key": "big"})
    r = client.post("/v1/simulations", content=big, headers=h)
    assert r.status_code == 413
    assert r.json()["errors"][0]["path"] == "body" and "INCENTIVE_MAX_REQUEST_BYTES" in r.text

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit is enforced while reading
        for _ in range(40):
            yield b" " * 100_000

    r = client.post("/v1/periods/2026-Q3/close", content=chunks(), headers=h)
    assert r.status_code == 413 and r.json()["errors"][0]["path"] == "body"


@SQLITE_ONLY
def test_an_unexpected_error_is_a_json_500_without_traceback_or_data(
        client: TestClient, keys: dict[str, str], monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    def boom(*_a: Any, **_k: Any) -> Any:
        raise ZeroDivisionError("salary 987654.32 divided by zero")

    monkeypatch.setattr("api.routers.simulations.simulate", boom)
    inp, rules = shared_case("01-basic")
    with caplog.at_level(logging.DEBUG):
        r = client.post("/v1/simulations", json={"input": inp, "rules": rules},
                        headers=auth(keys["hr"], **{"X-Request-ID": "req-boom"}))
    assert r.status_code == 500
    assert r.json() == {"errors": [{"path": "", "message": "internal error (request req-boom); it has been logged"}]}
    assert "Traceback" not in r.text and "987654.32" not in r.text
    assert "ZeroDivisionError" in caplog.text and "req-boom" in caplog.text
    assert "987654.32" not in caplog.text


@SQLITE_ONLY
def test_database_outage_is_503(client: TestClient, keys: dict[str, str], store: Store,
                                monkeypatch: pytest.MonkeyPatch) -> None:
    def down(*_a: Any, **_k: Any) -> Any:
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    monkeypatch.setattr(store, "authenticate", down)
    r = client.get("/v1/runs", headers=auth(keys["hr"]))
    assert r.status_code == 503 and "database" in r.json()["errors"][0]["message"]
    monkeypatch.setattr("api.routers.health.current_revision", down)
    assert client.get("/readyz").status_code == 503
    assert client.get("/healthz").status_code == 200


def test_salaries_and_amounts_never_reach_the_logs(client: TestClient, keys: dict[str, str],
                                                  caplog: pytest.LogCaptureFixture) -> None:
    inp, rules = shared_case("gen-0005")
    salaries = {p["annual_base_salary"] for p in inp["people"] if p.get("annual_base_salary")}
    with caplog.at_level(logging.DEBUG):
        sim = client.post("/v1/simulations", json={"input": inp, "rules": rules}, headers=auth(keys["manager"]))
        run = client.post("/v1/periods/2026-Q3/close", json={"input": inp, "rules": rules},
                          headers=auth(keys["hr"], **{"Idempotency-Key": "log"}))
        run_id = run.json()["run_id"]
        person = run.json()["result"]["people"][0]["person_id"]
        for url in (f"/v1/runs/{run_id}", f"/v1/runs/{run_id}/export", f"/v1/runs/{run_id}/lines",
                    f"/v1/runs/{run_id}/people/{person}/statement"):
            assert client.get(url, headers=auth(keys["hr"])).status_code == 200
        bad = copy.deepcopy(inp)
        bad["projects"][0]["collections"][0]["amount"] = "-4242.42"
        assert client.post("/v1/simulations", json={"input": bad, "rules": rules},
                           headers=auth(keys["hr"])).status_code == 422
    doc = sim.json()["result"]
    amounts = {ln["amount"] for ln in doc["lines"]} | {p["total"] for p in doc["people"]} | \
        {p["pool"] for p in doc["projects"]} | {"4242.42"}
    amounts.discard("0.00")
    logged = caplog.text
    assert "closed as run" in logged  # the close itself is logged (who, which run) ...
    leaked = sorted(x for x in salaries | amounts if x in logged)
    assert not leaked, leaked  # ... but no money


def test_openapi_document_has_examples_for_every_route(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    for path, ops in schema["paths"].items():
        for method, op in ops.items():
            ok = [c for code, resp in op["responses"].items() if code.startswith("2")
                  for c in resp.get("content", {}).values()]
            assert any("example" in c or "examples" in c for c in ok), (method, path)
            if "requestBody" in op:
                content = op["requestBody"]["content"]["application/json"]
                assert content.get("examples") or content.get("example"), (method, path)
            assert "422" in op["responses"] or path in ("/healthz", "/readyz")
    assert json.dumps(schema)  # serialisable


def test_nul_characters_are_refused_not_crashed_on(client: TestClient, keys: dict[str, str]) -> None:
    """PostgreSQL text cannot hold NUL: ids with one are a 4xx on both databases."""
    h = auth(keys["hr"], **{"Idempotency-Key": "nul"})
    assert client.get("/v1/runs/run%00x", headers=h).status_code == 400
    assert client.get("/v1/runs", params={"period_id": "a\x00b"}, headers=h).status_code == 400
    inp, rules = shared_case("01-basic")
    for edit in (lambda i: i["people"][0].update(id="a\x00"),
                 lambda i: [c.update(person_id="a\x00") for c in i["contributions"] if c["person_id"] == "a"]):
        bad = copy.deepcopy(inp)
        edit(bad)
        r = client.post("/v1/periods/2026-Q3/close", json={"input": bad, "rules": rules}, headers=h)
        assert r.status_code == 422, r.text
    bad = copy.deepcopy(inp)
    bad["people"][0]["id"] = "a\x00"
    for c in bad["contributions"]:
        if c["person_id"] == "a":
            c["person_id"] = "a\x00"
    r = client.post("/v1/periods/2026-Q3/close", json={"input": bad, "rules": rules}, headers=h)
    assert r.status_code == 422 and "NUL" in r.text
    bad_rules = copy.deepcopy(rules)
    bad_rules["ruleset"]["currency"] = "CN\x00Y"
    r = client.post("/v1/periods/2026-Q3/close", json={"input": inp, "rules": bad_rules}, headers=h)
    assert r.status_code == 422 and r.json()["errors"][0]["path"] == "rules.ruleset.currency"
    period = copy.deepcopy(inp)
    period["period"]["id"] = "2026-Q3\x00"
    r = client.post("/v1/periods/2026-Q3%00/close", json={"input": period, "rules": rules}, headers=h)
    assert r.status_code == 400
