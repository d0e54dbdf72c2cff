"""Examples for the OpenAPI document: a tiny period (one won project, three people) and a
rule set as an object. Response examples are computed from them by the engine when the
OpenAPI document is first built (`api.app`), so they are always real."""

from __future__ import annotations

from typing import Any

INPUT: dict[str, Any] = {
    "period": {"id": "2026-Q3", "start": "2026-07-01", "end": "2026-09-30"},
    "people": [
        {"id": "a", "name": "Ada", "cost_center": "CC-N", "annual_base_salary": "300000"},
        {"id": "b", "name": "Bo", "cost_center": "CC-S"},
        {"id": "c", "name": "Cy", "cost_center": "CC-S", "left_on": None},
    ],
    "projects": [{
        "id": "J1", "name": "Core banking", "customer": "Acme", "contract_value": "1000000", "margin": "0.3",
        "won_on": "2026-07-31",
        "stages": {"lead": {"start": "2026-06-01", "end": "2026-06-30"},
                   "bid": {"start": "2026-07-01", "end": "2026-07-31"}},
        "collections": [],
    }],
    "contributions": [
        {"id": "k1", "person_id": "a", "project_id": "J1", "role": "AR", "start": "2026-06-01", "end": "2026-07-31"},
        {"id": "k2", "person_id": "b", "project_id": "J1", "role": "SR", "start": "2026-07-01", "end": "2026-07-31"},
        {"id": "k3", "person_id": "c", "project_id": "J1", "role": "SR", "start": "2026-07-17", "end": "2026-07-31",
         "score": 2},
    ],
}

RULES: dict[str, Any] = {
    "ruleset": {"id": "example", "version": "1", "currency": "CNY"},
    "pool": {"win_rate": "0.01", "collection_rate": "0.02"},
    "split": {"result_weight": "0.5", "lookback_days": 30, "vacancy": "redistribute"},
    "roles": {"AR": "0.40", "SR": "0.35", "FR": "0.25"},
    "stages": {"lead": "0.5", "bid": "0.5"},
    "caps": {"redistribute": "project", "person_project_max": "2500"},
    "people": {"leaver": "pay"},
    "rounding": {"unit": "0.01"},
    "payroll": {"component_code": "LTC_PROJECT_BONUS"},
}

RULES_TOML = """[ruleset]
id = "example"
version = "1"
currency = "CNY"

[pool]
win_rate = 0.01
collection_rate = 0.02

[split]
result_weight = 0.5
lookback_days = 30
vacancy = "redistribute"

[roles]
AR = 0.40
SR = 0.35
FR = 0.25

[stages]
lead = 0.5
bid = 0.5
"""

SIMULATION_EXAMPLES: dict[str, Any] = {
    "with-scenario": {
        "summary": "base rules and one scenario that lifts the per-project cap",
        "value": {"input": INPUT, "rules": RULES,
                  "scenarios": [{"name": "no project cap", "rules_patch": {"caps": {"person_project_max": None}}}]},
    },
    "bundled-rules": {
        "summary": "rules by the id of a bundled rule set",
        "value": {"input": INPUT, "rules": "ltc-default"},
    },
}

CLOSE_EXAMPLES: dict[str, Any] = {
    "first-close": {"summary": "close a period", "value": {"input": INPUT, "rules": RULES}},
    "correction": {
        "summary": "a correction: a new run that supersedes the current one",
        "value": {"input": INPUT, "rules": RULES,
                  "supersede": {"run_id": "run_20261001T090000Z_1a2b3c4d", "reason": "late collection booked"}},
    },
}

VALIDATE_EXAMPLES: dict[str, Any] = {
    "object": {"summary": "a rule set as an object", "value": {"rules": RULES}},
    "toml": {"summary": "the text of a rule-set file", "value": {"toml": RULES_TOML}},
    "id": {"summary": "a bundled rule set by id", "value": {"rules": "ltc-default"}},
}


def example_responses() -> dict[tuple[str, str, int, str], Any]:
    """(path, method, status, media type) → an example body, computed by the engine."""
    import orjson

    from incentive.explain import statement_data, statement_text
    from incentive.payroll import payroll_csv
    from incentive.result import dumps

    from .render import render_statement
    from .service import (
        compute,
        payroll_json,
        read_period_input,
        resolve_rules,
        ruleset_summary,
        run_body,
        run_summary,
        simulate,
    )
    from .store import RunMeta

    resolved = resolve_rules(RULES)
    inp = read_period_input(INPUT, resolved.rules)
    doc = compute(inp, resolved.rules)
    sim = simulate(INPUT, RULES, [("no project cap", {"caps": {"person_project_max": None}})])
    run_id = "run_20261001T090000Z_1a2b3c4d"
    meta = RunMeta(
        run_id=run_id, period_id=inp.period.id, created_at="2026-10-01T09:00:00.000000Z", closed_by="hr-close",
        closed_by_key_id="k1a2b3c4d5e6f", request_id="8c1f0f3e9b2a4d6e8f0a1b2c3d4e5f60", input_sha256=inp.sha256,
        ruleset_id=resolved.rules.ruleset.id, ruleset_version=resolved.rules.ruleset.version,
        ruleset_sha256=resolved.rules.sha256, ruleset_format="json",
        result_sha256="0" * 64, currency=resolved.rules.ruleset.currency, total_pools=doc["totals"]["pools"],
        total_paid=doc["totals"]["paid"], total_forfeited=doc["totals"]["forfeited"],
        line_count=len(doc["lines"]), people_count=len(doc["people"]), supersedes=None, supersede_reason=None)
    run = orjson.loads(run_body(meta, dumps(doc), None))
    st = statement_data(doc, "a")
    pay = payroll_json(doc, run_id)
    errors_422 = {"errors": [
        {"path": "input.contributions[k9].person_id", "message": "contribution k9: person_id 'zz' is not in people"},
        {"path": "input.projects[J1].won_on", "message": "'2026-13-01' is not a valid calendar date"}]}
    conflict = {"errors": [{"path": "period_id", "message": f"period 2026-Q3 is already closed as run {run_id} with "
                                                            "different data; to correct it, close again with "
                                                            f'"supersede": {{"run_id": "{run_id}", "reason": ...}}'}]}
    j = "application/json"
    summary = ruleset_summary(resolved.rules)
    return {
        ("/healthz", "get", 200, j): {"status": "ok"},
        ("/readyz", "get", 200, j): {"status": "ready", "database": "postgresql", "schema_revision": "0001"},
        ("/v1/simulations", "post", 200, j): sim,
        ("/v1/simulations", "post", 422, j): errors_422,
        ("/v1/periods/{period_id}/close", "post", 201, j): run,
        ("/v1/periods/{period_id}/close", "post", 409, j): conflict,
        ("/v1/periods/{period_id}/close", "post", 422, j): errors_422,
        ("/v1/runs", "get", 200, j): {"runs": [run_summary(meta)]},
        ("/v1/runs/{run_id}", "get", 200, j): run,
        ("/v1/runs/{run_id}/input", "get", 200, j): inp.to_document(),
        ("/v1/runs/{run_id}/lines", "get", 200, j): {"run_id": run_id, "total": len(doc["lines"]), "limit": 100,
                                                      "offset": 0, "next_offset": None, "items": doc["lines"]},
        ("/v1/runs/{run_id}/people/{person_id}/statement", "get", 200, j): {"run_id": run_id, **st},
        ("/v1/runs/{run_id}/people/{person_id}/statement", "get", 200, "text/plain"): statement_text(doc, "a"),
        ("/v1/runs/{run_id}/people/{person_id}/statement", "get", 200, "text/html"): render_statement(st, run_id),
        ("/v1/runs/{run_id}/export", "get", 200, j): pay,
        ("/v1/runs/{run_id}/export", "get", 200, "text/csv"): payroll_csv(doc, run_id),
        ("/v1/rulesets", "get", 200, j): {"rulesets": [summary], "invalid": []},
        ("/v1/rulesets/{ruleset_id}", "get", 200, j): {**summary, "pay_component": "LTC_PROJECT_BONUS",
                                                       "canonical": resolved.rules.canonical(), "toml": RULES_TOML},
        ("/v1/rulesets/validate", "post", 200, j): {**summary, "valid": True,
                                                    "canonical": resolved.rules.canonical()},
        ("/v1/rulesets/validate", "post", 422, j): {"errors": [
            {"path": "rules.roles", "message": "roles weights sum to 0.95, not 1"}]},
    }
