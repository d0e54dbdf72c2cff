"""The bundled example company, the input templates and the rule sets under rules/."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import tomllib
from datetime import date
from pathlib import Path

import pytest

from incentive.cli import main
from incentive.loading import load
from incentive.pipeline import allocate
from incentive.rules import list_bundled, load_ruleset
from incentive.tables import read_xlsx

ROOT = Path(__file__).resolve().parent.parent
COMPANY = ROOT / "examples" / "company"
RULE_FILES = sorted((ROOT / "rules").glob("*.toml"))

SPEC_KEYS = {
    "ruleset": {"id", "version", "currency"},
    "pool": {"win_rate", "collection_rate", "margin_table"},
    "project_types": None,
    "split": {"result_weight", "lookback_days", "vacancy"},
    "roles": None,
    "stages": None,
    "caps": {"person_project_max", "person_period_max", "person_period_salary_multiple", "redistribute",
             "period_budget"},
    "people": {"leaver"},
    "rounding": {"unit"},
    "payroll": {"component_code"},
}


@pytest.fixture(scope="module")
def demo_doc():
    inp, rules = load(COMPANY / "input.json", ROOT / "rules" / "ltc-default.toml")
    return allocate(inp, rules).document()


# ----------------------------------------------------------------------------------------
# rule sets


def test_the_three_rule_sets_are_bundled():
    names = {p.stem for p in RULE_FILES}
    assert {"ltc-default", "ltc-delivery-heavy", "ltc-new-logo"} <= names
    assert [p.stem for p in list_bundled()] == [p.stem for p in RULE_FILES]


@pytest.mark.parametrize("path", RULE_FILES, ids=lambda p: p.stem)
def test_rule_set_validates_and_its_id_is_its_file_name(path):
    rules = load_ruleset(path)
    assert rules.ruleset.id == path.stem
    assert load_ruleset(path.stem).sha256 == rules.sha256  # by id from rules/


@pytest.mark.parametrize("path", RULE_FILES, ids=lambda p: p.stem)
def test_rule_set_writes_every_key_of_the_spec(path):
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    for table, keys in SPEC_KEYS.items():
        assert table in data, f"{path.name}: [{table}] missing"
        if keys is not None:
            assert keys <= set(data[table]), f"{path.name}: [{table}] lacks {keys - set(data[table])}"
    assert set(data["roles"]) == {"AR", "SR", "FR"}
    assert set(data["stages"]) == {"lead", "opportunity", "solution", "bid", "contract", "delivery"}


def test_default_rule_set_documents_itself():
    text = (ROOT / "rules" / "ltc-default.toml").read_text(encoding="utf-8")
    comments = [line for line in text.splitlines() if line.lstrip().startswith("#")]
    assert len(comments) > 100
    for word in ("result_weight", "lookback_days", "margin_table", "person_project_max", "redistribute",
                 "leaver", "gate"):
        assert word in text.lower()


def test_variants_differ_as_documented():
    default, delivery, hunting = (load_ruleset(n) for n in ("ltc-default", "ltc-delivery-heavy", "ltc-new-logo"))
    assert delivery.roles["FR"] > default.roles["FR"]
    assert delivery.stages["delivery"] > default.stages["delivery"]
    assert delivery.pool.collection_rate > default.pool.collection_rate
    assert hunting.split.result_weight > default.split.result_weight
    assert hunting.roles["AR"] > default.roles["AR"]
    assert hunting.pool.win_rate > default.pool.win_rate


# ----------------------------------------------------------------------------------------
# the example company


@pytest.mark.parametrize("path", RULE_FILES, ids=lambda p: p.stem)
def test_example_input_validates_and_reconciles_under_every_rule_set(path):
    inp, rules = load(COMPANY / "input.json", path)
    doc = allocate(inp, rules).document()
    assert doc["totals"]["reconciles"] is True
    assert all(p["reconciles"] for p in doc["projects"])


def test_example_company_has_what_the_demo_needs():
    data = json.loads((COMPANY / "input.json").read_text(encoding="utf-8"))
    people, projects, recs = data["people"], data["projects"], data["contributions"]
    assert data["period"] == {"id": "2026-Q3", "start": "2026-07-01", "end": "2026-09-30"}
    assert 35 <= len(people) <= 45 and 10 <= len(projects) <= 14
    assert {p["cost_center"] for p in people} == {"sales", "presales", "delivery"}
    assert any(p["left_on"] for p in people)
    assert len({p["type"] for p in projects}) >= 4
    assert any(p["won_on"] is None for p in projects)
    assert any(p["won_on"] and p["won_on"] < "2026-07-01" and any(c["date"] >= "2026-07-01" for c in p["collections"])
               for p in projects)
    assert any(p["won_on"] and p["won_on"] >= "2026-07-01" for p in projects)
    roles_by_project = {p["id"]: {r["role"] for r in recs if r["project_id"] == p["id"]} for p in projects}
    assert any(p["won_on"] and len(roles_by_project[p["id"]]) < 3 for p in projects)  # a vacant role
    # time-phased: several records of two to four weeks per person on a project
    lengths = [(date.fromisoformat(r["end"]) - date.fromisoformat(r["start"])).days + 1 for r in recs]
    assert max(lengths) <= 28 and sum(1 for n in lengths if n >= 14) > 0.8 * len(lengths)
    per_pair: dict[tuple[str, str], int] = {}
    for r in recs:
        per_pair[(r["person_id"], r["project_id"])] = per_pair.get((r["person_id"], r["project_id"]), 0) + 1
    assert sorted(per_pair.values())[len(per_pair) // 2] >= 3


def test_caps_bind_in_the_demo(demo_doc):
    binding = [b for line in demo_doc["lines"] for b in line["binding"]]
    assert any(b.startswith("person_project_cap") for b in binding)
    assert any(b.startswith("person_period_cap") for b in binding)
    # what a cap cuts off goes to others: some line is paid above its ideal
    assert any(float(line["amount"]) > float(line["ideal"]) + 1 for line in demo_doc["lines"])
    assert demo_doc["totals"]["reconciles"] is True


def test_demo_shows_the_leaver_and_the_margin_gate(demo_doc):
    leavers = [p for p in demo_doc["people"] if p["leaver"]]
    assert leavers and all(p["total"] == "0.00" for p in leavers)  # ltc-default: leaver = forfeit
    gated = [p for p in demo_doc["projects"] if p["won_on"] and p["pool"] == "0.00"]
    assert gated  # won, but under the 10% margin gate


def test_csv_xlsx_and_json_give_byte_identical_results(tmp_path):
    outs = []
    for name, source in (("json", COMPANY / "input.json"), ("csv", COMPANY / "csv"),
                         ("xlsx", COMPANY / "input.xlsx")):
        out = tmp_path / f"{name}.json"
        assert main(["allocate", str(source), "--rules", "ltc-default", "--out", str(out), "--quiet"]) == 0
        outs.append(out.read_bytes())
    assert outs[0] == outs[1] == outs[2]


def test_demo_command_exits_0_and_writes_the_result(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "incentive.cli", "demo", "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads((tmp_path / "demo-result.json").read_text(encoding="utf-8"))
    assert doc["ruleset"]["id"] == "ltc-default"
    assert doc["totals"]["reconciles"] is True
    assert "held by a cap" in proc.stdout


# ----------------------------------------------------------------------------------------
# the generator script


def _make_example_module():
    spec = importlib.util.spec_from_file_location("make_example", ROOT / "examples" / "make_example.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_committed_examples_are_what_the_script_generates(tmp_path, capsys):
    mod = _make_example_module()
    mod.main(tmp_path)
    assert (tmp_path / "company" / "input.json").read_bytes() == (COMPANY / "input.json").read_bytes()
    for name in ("period", "people", "projects", "stages", "collections", "contributions"):
        assert (tmp_path / "company" / "csv" / f"{name}.csv").read_bytes() == \
            (COMPANY / "csv" / f"{name}.csv").read_bytes(), name
        assert (tmp_path / "templates" / f"{name}.csv").read_bytes() == \
            (ROOT / "examples" / "templates" / f"{name}.csv").read_bytes(), name
    # workbooks: the same content (bytes can differ between openpyxl versions)
    assert read_xlsx(tmp_path / "company" / "input.xlsx") == read_xlsx(COMPANY / "input.xlsx")
    assert read_xlsx(tmp_path / "templates" / "input.xlsx") == \
        read_xlsx(ROOT / "examples" / "templates" / "input.xlsx")
    # and reruns give the same workbook bytes
    again = tmp_path / "again"
    mod.main(again)
    assert (again / "company" / "input.xlsx").read_bytes() == (tmp_path / "company" / "input.xlsx").read_bytes()

