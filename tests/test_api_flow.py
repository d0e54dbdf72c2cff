"""The v1 API end to end through FastAPI's TestClient, on SQLite and PostgreSQL: simulations,
the close and its corrections, runs, lines, statements, exports and rule sets."""

from __future__ import annotations

import copy
import csv
import io
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from api.app import create_app
from api.settings import Settings
from api.store import Store
from incentive.model import read_input
from incentive.pipeline import allocate
from incentive.rules import parse_ruleset
from tests.api_support import SHARED_CASES, auth, expected, shared_case

pytest_plugins = ["tests.api_fixtures"]

CASES_WITH_EXPECTED = sorted(p.name for p in SHARED_CASES.glob("*") if (p / "expected.json").exists())
ERROR_CASES = sorted(p.name for p in SHARED_CASES.glob("*") if (p / "error.json").exists())
SQLITE_ONLY = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def close(client: TestClient, key: str, body: dict[str, Any], idem: str, period: str = "2026-Q3") -> Any:
    return client.post(f"/v1/periods/{period}/close", json=body, headers=auth(key, **{"Idempotency-Key": idem}))


def engine_doc(inp: dict[str, Any], rules: dict[str, Any]) -> dict[str, Any]:
    rs = parse_ruleset(copy.deepcopy(rules))
    return allocate(read_input(inp, rs), rs).document()


# --- simulations -----------------------------------------------------------------------------


def test_simulation_matches_the_engine_and_reports_scenario_deltas(client: TestClient, keys: dict[str, str],
                                                                   store: Store) -> None:
    inp, rules = shared_case("gen-0005")
    body = {"input": inp, "rules": rules, "scenarios": [
        {"name": "no pair cap", "rules_patch": {"caps": {"person_project_max": None}}},
        {"name": "more result credit", "rules_patch": {"split": {"result_weight": 0.8}}},
    ]}
    r = client.post("/v1/simulations", json=body, headers=auth(keys["manager"]))
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["result"] == json.loads(json.dumps(engine_doc(inp, rules)))
    assert [s["name"] for s in out["scenarios"]] == ["no pair cap", "more result credit"]
    for sc in out["scenarios"]:
        d = sc["deltas"]
        base = {p["person_id"]: Decimal(p["total"]) for p in out["result"]["people"]}
        new = {p["person_id"]: Decimal(p["total"]) for p in sc["result"]["people"]}
        for row in d["people"]:
            pid = row["person_id"]
            assert Decimal(row["old"]) == base.get(pid, 0) and Decimal(row["new"]) == new.get(pid, 0)
            assert Decimal(row["difference"]) == Decimal(row["new"]) - Decimal(row["old"]) != 0
        assert d["unchanged_people"] + len(d["people"]) == len(set(base) | set(new))
        assert Decimal(d["totals"]["difference"]) == sum((Decimal(x["difference"]) for x in d["people"]), Decimal(0))
    # lifting the pair cap pays out what the cap forfeited
    lifted = out["scenarios"][0]["deltas"]["totals"]
    assert Decimal(lifted["difference"]) > 0
    assert store.list_runs() == []  # nothing stored


@SQLITE_ONLY
@pytest.mark.parametrize("case", CASES_WITH_EXPECTED)
def test_worked_cases_through_the_api(case: str, client: TestClient, keys: dict[str, str]) -> None:
    inp, rules = shared_case(case)
    r = client.post("/v1/simulations", json={"input": inp, "rules": rules}, headers=auth(keys["hr"]))
    assert r.status_code == 200, r.text
    doc = r.json()["result"]
    exp = expected(case)
    got = {(ln["person_id"], ln["project_id"], ln["role"]): ln["amount"] for ln in doc["lines"]}
    for ln in exp["lines"]:
        key = (ln["person_id"], ln["project_id"], ln["role"])
        assert Decimal(got.get(key, "0")) == Decimal(ln["amount"]), key
    totals = {p["person_id"]: p["total"] for p in doc["people"]}
    for p in exp["people"]:
        assert Decimal(totals.get(p["person_id"], "0")) == Decimal(p["total"]), p["person_id"]


@SQLITE_ONLY
@pytest.mark.parametrize("case", ERROR_CASES)
def test_refused_cases_are_422_naming_what_is_wrong(case: str, client: TestClient, keys: dict[str, str]) -> None:
    inp, rules = shared_case(case)
    must = json.loads((SHARED_CASES / case / "error.json").read_text())["must_mention"]
    for path, body in (("/v1/simulations", {"input": inp, "rules": rules}),
                       ("/v1/periods/2026-Q3/close", {"input": inp, "rules": rules})):
        r = client.post(path, json=body, headers=auth(keys["hr"], **{"Idempotency-Key": f"e-{case}"}))
        assert r.status_code == 422, r.text
        errors = r.json()["errors"]
        assert errors and all(set(e) == {"path", "message"} for e in errors)
        text = json.dumps(errors)
        for word in must:
            assert word in text, (word, errors)


def test_bad_scenarios_are_422_naming_the_scenario(client: TestClient, keys: dict[str, str]) -> None:
    inp, rules = shared_case("01-basic")
    body = {"input": inp, "rules": rules, "scenarios": [
        {"name": "a", "rules_patch": {"roles": {"AR": 0.5, "SR": 0.6, "FR": 0.1}}},
        {"name": "a", "rules_patch": {}},
        {"name": "drop SR", "rules_patch": {"roles": {"AR": 0.5, "FR": 0.5}}},
    ]}
    r = client.post("/v1/simulations", json=body, headers=auth(keys["manager"]))
    assert r.status_code == 422
    paths = [e["path"] for e in r.json()["errors"]]
    assert "scenarios[0].rules_patch.roles" in paths and "scenarios[1].name" in paths
    # a patch that makes the input invalid (a role it uses is gone) names the record
    del body["scenarios"][:2]
    r = client.post("/v1/simulations", json=body, headers=auth(keys["manager"]))
    assert r.status_code == 422
    assert any("drop SR" in e["message"] for e in r.json()["errors"])


def test_money_given_as_json_numbers_keeps_its_decimal_text(client: TestClient, keys: dict[str, str]) -> None:
    inp, rules = shared_case("01-basic")
    inp["projects"][0]["contract_value"] = "__CV__"
    raw = json.dumps({"input": inp, "rules": rules}).replace('"__CV__"', "1000000.005")
    r = client.post("/v1/simulations", content=raw, headers=auth(keys["hr"], **{"Content-Type": "application/json"}))
    assert r.status_code == 200, r.text
    events = r.json()["result"]["projects"][0]["events"]
    assert events[0]["base"] == "10000.00005"  # 0.01 x 1000000.005, exact


# --- the close -------------------------------------------------------------------------------


def test_close_replay_conflict_and_correction(client: TestClient, keys: dict[str, str], store: Store) -> None:
    inp, rules = shared_case("gen-0005")
    body = {"input": inp, "rules": rules}
    r = close(client, keys["hr"], body, "idem-1")
    assert r.status_code == 201, r.text
    run = r.json()
    run_id = run["run_id"]
    assert run["status"] == "current" and run["closed_by"] == "test-hr" and run["delta"] is None
    assert run["result"] == json.loads(json.dumps(engine_doc(inp, rules)))
    assert run["totals"]["paid"] == run["result"]["totals"]["paid"]

    again = close(client, keys["hr"], body, "idem-1")
    assert again.status_code == 201 and again.content == r.content
    assert again.headers["Idempotent-Replayed"] == "true"

    changed = copy.deepcopy(inp)
    changed["projects"][2]["collections"][0]["amount"] = "1000000"  # P02: uncapped, so amounts move
    changed_body = {"input": changed, "rules": rules}
    mismatch = close(client, keys["hr"], changed_body, "idem-1")
    assert mismatch.status_code == 422 and mismatch.json()["errors"][0]["path"] == "header.Idempotency-Key"

    same_data = close(client, keys["hr"], body, "idem-2")
    assert same_data.status_code == 200 and same_data.json()["run_id"] == run_id

    conflict = close(client, keys["hr"], changed_body, "idem-3")
    assert conflict.status_code == 409
    assert run_id in conflict.json()["errors"][0]["message"]

    no_reason = close(client, keys["hr"], {**changed_body, "supersede": {"run_id": run_id}}, "idem-4")
    assert no_reason.status_code == 422 and no_reason.json()["errors"][0]["path"] == "supersede.reason"
    unknown = close(client, keys["hr"], {**changed_body, "supersede": {"run_id": "run_x", "reason": "r"}}, "idem-5")
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["path"] == "supersede.run_id"

    fix = close(client, keys["hr"], {**changed_body, "supersede": {"run_id": run_id, "reason": "late booking"}},
                "idem-6")
    assert fix.status_code == 201, fix.text
    new = fix.json()
    assert new["supersedes"] == run_id and new["supersede_reason"] == "late booking"
    delta = new["delta"]
    assert delta["base_run_id"] == run_id and delta["people"] and delta["lines"]
    old_lines = {ln["line_id"]: Decimal(ln["amount"]) for ln in run["result"]["lines"]}
    new_lines = {ln["line_id"]: Decimal(ln["amount"]) for ln in new["result"]["lines"]}
    for d in delta["lines"]:
        assert Decimal(d["old"]) == old_lines.get(d["line_id"], 0)
        assert Decimal(d["new"]) == new_lines.get(d["line_id"], 0)
        assert Decimal(d["difference"]) == Decimal(d["new"]) - Decimal(d["old"])
    assert Decimal(delta["totals"]["difference"]) == Decimal(new["totals"]["paid"]) - Decimal(run["totals"]["paid"])

    # superseding the old run again is refused, naming the current one
    stale = close(client, keys["hr"], {"input": inp, "rules": rules,
                                       "supersede": {"run_id": run_id, "reason": "again"}}, "idem-7")
    assert stale.status_code == 409 and new["run_id"] in stale.text

    runs = client.get("/v1/runs", params={"period_id": "2026-Q3"}, headers=auth(keys["payroll"])).json()["runs"]
    assert [(x["run_id"], x["status"]) for x in runs] == [(run_id, "superseded"), (new["run_id"], "current")]
    assert runs[0]["superseded_by"] == new["run_id"]
    got = client.get(f"/v1/runs/{new['run_id']}", headers=auth(keys["payroll"]))
    assert got.status_code == 200 and got.content == fix.content
    old = client.get(f"/v1/runs/{run_id}", headers=auth(keys["payroll"])).json()
    assert old["status"] == "superseded" and old["result"] == run["result"]
    # the stored input is the canonical one
    stored_input = client.get(f"/v1/runs/{run_id}/input", headers=auth(keys["hr"])).json()
    assert stored_input["period"] == inp["period"] and len(stored_input["contributions"]) == len(inp["contributions"])

    audit = [(e["action"], e["status_code"]) for e in store.audit_entries() if e["action"].startswith("period")]
    assert audit == [("period.close", 201), ("period.close.replay", 201), ("period.close.rejected", 422),
                     ("period.close.already_closed", 200), ("period.close.rejected", 409),
                     ("period.close.rejected", 422), ("period.close.rejected", 422), ("period.close", 201),
                     ("period.close.rejected", 409)]


def test_close_checks_the_url_period_and_the_idempotency_header(client: TestClient, keys: dict[str, str]) -> None:
    inp, rules = shared_case("01-basic")
    r = close(client, keys["hr"], {"input": inp, "rules": rules}, "k", period="2026-Q4")
    assert r.status_code == 422 and r.json()["errors"][0]["path"] == "input.period.id"
    r = client.post("/v1/periods/2026-Q3/close", json={"input": inp, "rules": rules}, headers=auth(keys["hr"]))
    assert r.status_code == 422 and r.json()["errors"][0]["path"] == "header.Idempotency-Key"


# --- reading runs ----------------------------------------------------------------------------


@pytest.fixture
def closed(client: TestClient, keys: dict[str, str]) -> dict[str, Any]:
    inp, rules = shared_case("gen-0005")
    r = close(client, keys["hr"], {"input": inp, "rules": rules}, "idem-closed")
    assert r.status_code == 201, r.text
    out: dict[str, Any] = r.json()
    return out


def test_lines_are_paged_and_filtered(client: TestClient, keys: dict[str, str], closed: dict[str, Any]) -> None:
    run_id, lines = closed["run_id"], closed["result"]["lines"]
    h = auth(keys["payroll"])
    seen, offset = [], 0
    while offset is not None:
        page = client.get(f"/v1/runs/{run_id}/lines", params={"limit": 4, "offset": offset}, headers=h).json()
        assert page["total"] == len(lines) and len(page["items"]) <= 4
        seen += page["items"]
        offset = page["next_offset"]
    assert seen == lines
    person = lines[0]["person_id"]
    page = client.get(f"/v1/runs/{run_id}/lines", params={"person_id": person}, headers=h).json()
    assert page["items"] == [ln for ln in lines if ln["person_id"] == person]
    project = lines[-1]["project_id"]
    page = client.get(f"/v1/runs/{run_id}/lines", params={"project_id": project, "person_id": lines[-1]["person_id"]},
                      headers=h).json()
    assert page["items"] == [ln for ln in lines if ln["project_id"] == project
                             and ln["person_id"] == lines[-1]["person_id"]]
    assert client.get(f"/v1/runs/{run_id}/lines", params={"limit": 0}, headers=h).status_code == 422
    assert client.get(f"/v1/runs/{run_id}/lines", params={"limit": 5000}, headers=h).status_code == 422
    assert client.get("/v1/runs/run_missing/lines", headers=h).status_code == 404


def test_statement_by_content_negotiation(client: TestClient, keys: dict[str, str], closed: dict[str, Any]) -> None:
    run_id = closed["run_id"]
    person = closed["result"]["people"][0]
    url = f"/v1/runs/{run_id}/people/{person['person_id']}/statement"
    h = auth(keys["manager"])
    js = client.get(url, headers=h)
    assert js.status_code == 200 and js.headers["content-type"].startswith("application/json")
    data = js.json()
    assert data["run_id"] == run_id and data["person"]["total"] == person["total"]
    assert sum(Decimal(ln["amount"]) for ln in data["lines"]) == Decimal(person["total"])
    html = client.get(url, headers={**h, "Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    assert "<html" in html.text and person["total"] in html.text and person["person_id"] in html.text
    txt = client.get(url, headers={**h, "Accept": "text/plain"})
    assert txt.headers["content-type"].startswith("text/plain") and f"TOTAL: {person['total']}" in txt.text
    prefer_json = client.get(url, headers={**h, "Accept": "text/html;q=0.5, application/json"})
    assert prefer_json.headers["content-type"].startswith("application/json")
    missing = client.get(f"/v1/runs/{run_id}/people/nobody/statement", headers=h)
    assert missing.status_code == 404 and missing.json()["errors"][0]["path"] == "path.person_id"


def test_html_statement_escapes_names(client: TestClient, keys: dict[str, str]) -> None:
    inp, rules = shared_case("01-basic")
    inp["people"][0]["name"] = "<script>alert(1)</script>"
    r = close(client, keys["hr"], {"input": inp, "rules": rules}, "esc")
    url = f"/v1/runs/{r.json()['run_id']}/people/{inp['people'][0]['id']}/statement"
    html = client.get(url, headers=auth(keys["hr"], Accept="text/html")).text
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_payroll_exports_carry_control_totals(client: TestClient, keys: dict[str, str],
                                              closed: dict[str, Any]) -> None:
    run_id, doc = closed["run_id"], closed["result"]
    h = auth(keys["payroll"])
    paid = [ln for ln in doc["lines"] if Decimal(ln["amount"]) != 0]
    want_sum = sum((Decimal(ln["amount"]) for ln in paid), Decimal(0))
    assert want_sum == Decimal(doc["totals"]["paid"])
    cost_center = {p["person_id"]: p["cost_center"] for p in doc["people"]}

    r = client.get(f"/v1/runs/{run_id}/export", params={"format": "csv"}, headers=h)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert r.headers["X-Control-Line-Count"] == str(len(paid))
    assert Decimal(r.headers["X-Control-Amount-Sum"]) == want_sum
    assert f"payroll-{run_id}.csv" in r.headers["content-disposition"]
    body, trailer = r.text.rstrip("\n").rsplit("\n", 1)
    rows = list(csv.DictReader(io.StringIO(body)))
    assert list(rows[0]) == ["employee_id", "pay_component", "amount", "currency", "period_id", "cost_center",
                             "run_id", "line_ref"]
    assert len(rows) == len(paid)
    assert trailer == f"# control totals: line_count={len(paid)} amount_sum={want_sum}"
    for row in rows:
        assert row["pay_component"] == doc["ruleset"]["pay_component"] and row["currency"] == "CNY"
        assert row["run_id"] == run_id and row["period_id"] == "2026-Q3"
        assert row["cost_center"] == cost_center[row["employee_id"]]

    js = client.get(f"/v1/runs/{run_id}/export", params={"format": "json"}, headers=h).json()
    assert js["control_totals"] == {"line_count": len(paid), "amount_sum": str(want_sum)}
    assert js["rows"] == rows

    x = client.get(f"/v1/runs/{run_id}/export", params={"format": "xlsx"}, headers=h)
    assert x.status_code == 200 and x.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    wb = load_workbook(io.BytesIO(x.content))
    sheet = list(wb["payroll"].iter_rows(values_only=True))
    assert list(sheet[0]) == list(rows[0])
    assert sum(Decimal(str(r[2])) for r in sheet[1:]) == want_sum
    control = {r[0]: r[1] for r in wb["control"].iter_rows(values_only=True)}
    assert control["line_count"] == len(paid) and Decimal(str(control["amount_sum"])) == want_sum
    assert control["run_id"] == run_id

    bad = client.get(f"/v1/runs/{run_id}/export", params={"format": "pdf"}, headers=h)
    assert bad.status_code == 422 and bad.json()["errors"][0]["path"] == "query.format"


# --- rule sets -------------------------------------------------------------------------------


@pytest.fixture
def bundled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """rules/ replaced by a folder with the basic case's rules and one broken file."""
    folder = tmp_path / "rules"
    folder.mkdir()
    (folder / "case-basic.toml").write_text((SHARED_CASES / "01-basic" / "rules.toml").read_text())
    (folder / "broken.toml").write_text((SHARED_CASES / "e01-role-shares-not-one" / "rules.toml").read_text())
    monkeypatch.setattr("api.service.list_bundled", lambda: sorted(folder.glob("*.toml")))
    return folder


@SQLITE_ONLY
def test_rulesets_list_get_and_validate(client: TestClient, keys: dict[str, str], bundled: Path) -> None:
    h = auth(keys["manager"])
    listing = client.get("/v1/rulesets", headers=h).json()
    assert [r["id"] for r in listing["rulesets"]] == ["case-basic"]
    assert listing["invalid"][0]["id"] == "broken" and listing["invalid"][0]["errors"][0]["path"] == "roles"
    one = client.get("/v1/rulesets/case-basic", headers=h).json()
    assert one["toml"] == (bundled / "case-basic.toml").read_text()
    assert one["canonical"]["ruleset"]["id"] == "case-basic"
    assert client.get("/v1/rulesets/nope", headers=h).status_code == 404
    assert client.get("/v1/rulesets/..%2F..%2Fpyproject", headers=h).status_code == 404

    by_id = client.post("/v1/rulesets/validate", json={"rules": "case-basic"}, headers=h).json()
    assert by_id["valid"] is True and by_id["sha256"] == one["sha256"]
    by_toml = client.post("/v1/rulesets/validate", json={"toml": one["toml"]}, headers=h).json()
    by_obj = client.post("/v1/rulesets/validate", json={"rules": one["canonical"]}, headers=h).json()
    assert by_toml["sha256"] == by_obj["sha256"] == one["sha256"]
    bad = client.post("/v1/rulesets/validate", json={"toml": (bundled / "broken.toml").read_text()}, headers=h)
    assert bad.status_code == 422 and bad.json()["errors"][0]["path"] == "toml.roles"
    bad = client.post("/v1/rulesets/validate", json={"rules": {**one["canonical"], "extra": 1}}, headers=h)
    assert bad.status_code == 422 and bad.json()["errors"][0] == {"path": "rules.extra", "message": "unknown key"}
    assert client.post("/v1/rulesets/validate", json={}, headers=h).status_code == 422
    assert client.post("/v1/rulesets/validate", json={"toml": "x = ["}, headers=h).status_code == 422

    # a bundled id works in a simulation and a close, and the run keeps the file's text
    inp, _ = shared_case("01-basic")
    assert client.post("/v1/simulations", json={"input": inp, "rules": "case-basic"}, headers=h).status_code == 200
    r = close(client, keys["hr"], {"input": inp, "rules": "case-basic"}, "by-id")
    assert r.status_code == 201 and r.json()["ruleset"]["format"] == "toml"
    assert client.post("/v1/simulations", json={"input": inp, "rules": "../../pyproject"},
                       headers=h).status_code == 422


def test_health_and_readiness_need_no_key(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz").json()
    assert ready["status"] == "ready" and ready["schema_revision"] == "0001"
    assert client.get("/healthz").headers["x-request-id"]
    assert client.get("/healthz", headers={"X-Request-ID": "abc-123"}).headers["x-request-id"] == "abc-123"


def test_a_restarted_app_serves_the_same_bytes(client: TestClient, keys: dict[str, str], store: Store,
                                               closed: dict[str, Any]) -> None:
    """Restart persistence on both databases (the subprocess smoke test does it over HTTP on SQLite)."""
    run_id = closed["run_id"]
    urls = [f"/v1/runs/{run_id}", f"/v1/runs/{run_id}/export?format=csv", f"/v1/runs/{run_id}/lines?limit=3",
            f"/v1/runs/{run_id}/people/{closed['result']['people'][0]['person_id']}/statement"]
    before = [client.get(u, headers=auth(keys["hr"])).content for u in urls]
    again = Store(store.url)
    try:
        with TestClient(create_app(Settings(database_url=store.url), store=again)) as fresh:
            after = [fresh.get(u, headers=auth(keys["hr"])).content for u in urls]
    finally:
        again.dispose()
    assert after == before
    assert json.loads(before[0])["result"] == closed["result"]
