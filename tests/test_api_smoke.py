"""Real HTTP: `incentive serve` as a subprocess on a free port with a temporary SQLite database.

Walks HR close -> manager simulation and statement -> payroll export, then stops the server,
starts it again (two workers) and checks the run is byte-identical; 8 parallel closes with one
Idempotency-Key against the two worker processes store one run; a key revoked with the CLI
while the server runs is refused at once. (The CLI's other paths: tests/test_api_cli.py.)
"""

from __future__ import annotations

import csv
import io
import os
import threading
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from incentive.cli import main as cli_main
from tests.api_support import run_cli, serving, shared_case

pytestmark = pytest.mark.slow


def h(key: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", **extra}


def test_hr_manager_payroll_flow_over_real_http_and_restart(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    db = f"sqlite:///{tmp_path / 'service.db'}"
    env = {**os.environ, "INCENTIVE_DATABASE_URL": db, "INCENTIVE_LOG_LEVEL": "info",
           "INCENTIVE_SQLITE_SYNCHRONOUS": "NORMAL"}
    env.pop("INCENTIVE_AUTO_MIGRATE", None)
    made = run_cli(env, tmp_path, "keys", "create", "--role", "hr", "--name", "smoke-hr")  # the real entry point
    assert made.returncode == 0, made.stderr
    keys = {"hr": made.stdout.strip().splitlines()[-1].split()[-1]}
    monkeypatch.setenv("INCENTIVE_DATABASE_URL", db)
    for role in ("manager", "payroll"):
        assert cli_main(["keys", "create", "--role", role]) == 0
        keys[role] = capsys.readouterr().out.strip().splitlines()[-1].split()[-1]

    inp, rules = shared_case("gen-0005")
    body = orjson.dumps({"input": inp, "rules": rules})
    log = tmp_path / "serve.log"
    with serving(env, tmp_path, log) as base, httpx.Client(base_url=base, timeout=60) as c:
        # HR closes the period
        r = c.post("/v1/periods/2026-Q3/close", content=body,
                   headers=h(keys["hr"], **{"Idempotency-Key": "smoke-1", "Content-Type": "application/json"}))
        assert r.status_code == 201, r.text
        run_id = r.json()["run_id"]
        person = r.json()["result"]["people"][0]
        # a manager simulates a change and reads a statement
        sim = c.post("/v1/simulations", json={"input": inp, "rules": rules, "scenarios": [
            {"name": "no pair cap", "rules_patch": {"caps": {"person_project_max": None}}}]},
            headers=h(keys["manager"]))
        assert sim.status_code == 200 and sim.json()["result"]["totals"] == r.json()["result"]["totals"]
        st = c.get(f"/v1/runs/{run_id}/people/{person['person_id']}/statement",
                   headers=h(keys["manager"], Accept="text/html"))
        assert st.status_code == 200 and person["total"] in st.text
        assert c.get(f"/v1/runs/{run_id}/export", headers=h(keys["manager"])).status_code == 403
        # payroll takes the numbers
        runs = c.get("/v1/runs", headers=h(keys["payroll"])).json()["runs"]
        assert [x["run_id"] for x in runs] == [run_id]
        export = c.get(f"/v1/runs/{run_id}/export", params={"format": "csv"}, headers=h(keys["payroll"]))
        assert export.status_code == 200
        lines = [ln for ln in export.text.splitlines() if not ln.startswith("#")]
        rows = list(csv.DictReader(io.StringIO("\n".join(lines))))
        total = sum((Decimal(x["amount"]) for x in rows), Decimal(0))
        assert total == Decimal(export.headers["X-Control-Amount-Sum"]) == Decimal(r.json()["totals"]["paid"])
        before = c.get(f"/v1/runs/{run_id}", headers=h(keys["payroll"])).content
        assert c.get("/nope").status_code == 404

    # restart with two workers: the run is byte-identical
    with serving(env, tmp_path, log, workers=2) as base, httpx.Client(base_url=base, timeout=60) as c:
        after = c.get(f"/v1/runs/{run_id}", headers=h(keys["payroll"])).content
        assert after == before
        export2 = c.get(f"/v1/runs/{run_id}/export", params={"format": "csv"}, headers=h(keys["payroll"]))
        assert export2.content == export.content
        # 8 parallel closes with one key across two worker processes: one run, one response
        inp2, rules2 = shared_case("01-basic")
        inp2["period"]["id"] = "2026-Q4-smoke"
        body2 = orjson.dumps({"input": inp2, "rules": rules2})
        results: list[Any] = [None] * 8
        barrier = threading.Barrier(8)

        def close(k: int) -> None:
            with httpx.Client(base_url=base, timeout=60) as own:
                barrier.wait()
                results[k] = own.post("/v1/periods/2026-Q4-smoke/close", content=body2, headers=h(
                    keys["hr"], **{"Idempotency-Key": "smoke-par", "Content-Type": "application/json"}))

        threads = [threading.Thread(target=close, args=(k,)) for k in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert [x.status_code for x in results] == [201] * 8, [x.text[:200] for x in results]
        assert len({x.content for x in results}) == 1
        listed_runs = c.get("/v1/runs", params={"period_id": "2026-Q4-smoke"}, headers=h(keys["hr"])).json()
        assert len(listed_runs["runs"]) == 1
        # revoking a key with the CLI takes effect at once
        assert c.get("/v1/runs", headers=h(keys["payroll"])).status_code == 200
        assert cli_main(["keys", "revoke", keys["payroll"].split("_")[1]]) == 0
        assert c.get("/v1/runs", headers=h(keys["payroll"])).status_code == 401

    server_log = log.read_text()
    assert "Traceback" not in server_log
    salaries = {p["annual_base_salary"] for p in inp["people"] if p.get("annual_base_salary")}
    amounts = {x["amount"] for x in rows} | {person["total"]}
    assert not [x for x in salaries | amounts if x in server_log]
