"""The synthetic company generator (incentive/synth.py, `incentive synth`)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from itertools import pairwise

import orjson
import pytest

from incentive import pipeline, synth
from incentive.caps import solve_caps
from incentive.cli import main
from incentive.model import read_input
from incentive.pipeline import allocate
from incentive.rules import parse_ruleset_text
from incentive.synth import STAGES, synth_company

from .level_structure import level_violations

SMALL = dict(people=120, projects=50, records_per_project=40, seed=7)
PERIOD_START, PERIOD_END = "2026-07-01", "2026-09-30"


@pytest.fixture(scope="module")
def small():
    return synth_company(**SMALL)


@pytest.fixture(scope="module")
def allocated(small):
    data, text = small
    rules = parse_ruleset_text(text)
    inp = read_input(data, rules)
    return inp, rules, allocate(inp, rules).document()


def _d(s: str) -> date:
    return date.fromisoformat(s)


def test_small_synth_validates_and_allocates(allocated):
    inp, _, doc = allocated
    assert len(inp.people) == SMALL["people"] and len(inp.projects) == SMALL["projects"]
    assert doc["totals"]["reconciles"] is True
    assert float(doc["totals"]["paid"]) > 0


def test_record_count_follows_records_per_project(small):
    data, _ = small
    n = len(data["contributions"])
    target = SMALL["projects"] * SMALL["records_per_project"]
    assert 0.6 * target <= n <= 1.6 * target


def test_caps_bind_for_some_people():
    data, text = synth_company(people=300, projects=150, records_per_project=40, seed=3)
    rules = parse_ruleset_text(text)
    assert rules.caps.redistribute == "project"
    assert rules.caps.person_project_max is not None and rules.caps.person_period_salary_multiple is not None
    doc = allocate(read_input(data, rules), rules).document()
    pair, period = set(), set()
    for line in doc["lines"]:
        for b in line["binding"]:
            if b.startswith("person_project_cap"):
                pair.add(line["person_id"])
            elif b.startswith("person_period_cap"):
                period.add(line["person_id"])
    assert pair and period
    share = len(pair | period) / len(data["people"])
    assert 0.02 <= share <= 0.15, share


def test_the_company_is_realistic(small):
    data, _ = small
    people = {p["id"]: p for p in data["people"]}
    projects = {p["id"]: p for p in data["projects"]}
    recs = data["contributions"]
    assert {p["cost_center"] for p in people.values()} == {"sales", "presales", "delivery"}
    assert all(p["annual_base_salary"] is None or int(p["annual_base_salary"]) > 50_000 for p in people.values())
    # wins before, in and after the quarter; collections in the quarter after an earlier win
    won = [p for p in projects.values() if p["won_on"]]
    assert any(p["won_on"] < PERIOD_START for p in won)
    assert any(PERIOD_START <= p["won_on"] <= PERIOD_END for p in won)
    assert any(p["won_on"] is None for p in projects.values())
    assert any(p["won_on"] < PERIOD_START and any(c["date"] >= PERIOD_START for c in p["collections"]) for p in won)
    for p in projects.values():
        assert not p["collections"] or p["won_on"]
        assert all(p["won_on"] <= c["date"] <= PERIOD_END for c in p["collections"])
        # stage windows follow each other
        windows = list(p["stages"].values())
        for a, b in pairwise(windows):
            assert (_d(b["start"]) - _d(a["end"])).days == 1
        assert all(w["start"] <= w["end"] for w in windows)
        assert list(p["stages"]) == list(STAGES[:len(windows)])
    # teams of 3-15 with the three roles; people on several projects
    team: dict[str, set] = defaultdict(set)
    on: dict[str, set] = defaultdict(set)
    for r in recs:
        team[r["project_id"]].add((r["person_id"], r["role"]))
        on[r["person_id"]].add(r["project_id"])
    assert max(len(t) for t in team.values()) <= 15
    assert sum(1 for t in team.values() if {role for _, role in t} == {"AR", "SR", "FR"}) > 0.7 * len(team)
    assert sum(1 for s in on.values() if len(s) >= 3) > 0.2 * len(on)
    # consecutive two-week records; none after the period or after the person left
    by_stint: dict[tuple, list] = defaultdict(list)
    for r in recs:
        days = (_d(r["end"]) - _d(r["start"])).days + 1
        assert 1 <= days <= 14
        assert r["end"] <= PERIOD_END
        assert 0 < r["fte"] <= 1 and r["score"] >= 0
        left = people[r["person_id"]]["left_on"]
        assert left is None or r["end"] <= left
        by_stint[(r["person_id"], r["project_id"], r["role"])].append(r)
    for rs in by_stint.values():
        rs.sort(key=lambda r: r["start"])
        for a, b in pairwise(rs):
            assert (_d(b["start"]) - _d(a["end"])).days == 1
    assert sum(1 for rs in by_stint.values() if len(rs) >= 3) > 0.5 * len(by_stint)
    assert any(p["left_on"] for p in people.values())


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path, capsys):
    args = ["synth", "--people", "80", "--projects", "30", "--records-per-project", "25"]
    for name, seed in (("a", "5"), ("b", "5"), ("c", "6")):
        assert main([*args, "--seed", seed, "--out", str(tmp_path / name)]) == 0
    out = capsys.readouterr().out
    assert "80 people, 30 projects" in out and "wrote" in out
    a, b, c = ((tmp_path / n / "input.json").read_bytes() for n in "abc")
    assert a == b != c
    assert (tmp_path / "a" / "rules.toml").read_bytes() == (tmp_path / "b" / "rules.toml").read_bytes()


def test_streamed_file_is_the_plain_data(tmp_path, monkeypatch):
    monkeypatch.setattr(synth, "CHUNK", 97)  # many chunks
    assert main(["synth", "--people", "60", "--projects", "25", "--records-per-project", "30", "--seed", "2",
                 "--out", str(tmp_path)]) == 0
    data, text = synth_company(60, 25, 30, 2)
    assert (tmp_path / "input.json").read_bytes() == orjson.dumps(data)
    assert (tmp_path / "rules.toml").read_text(encoding="utf-8") == text


def test_cli_output_allocates(tmp_path):
    assert main(["synth", "--people", "60", "--projects", "20", "--records-per-project", "30", "--seed", "1",
                 "--out", str(tmp_path)]) == 0
    out = tmp_path / "result.json"
    assert main(["allocate", str(tmp_path / "input.json"), "--rules", str(tmp_path / "rules.toml"),
                 "--out", str(out), "--quiet"]) == 0
    doc = orjson.loads(out.read_bytes())
    assert doc["ruleset"]["id"] == "synth" and doc["totals"]["reconciles"] is True


def test_cli_refuses_impossible_sizes(tmp_path, capsys):
    assert main(["synth", "--people", "2", "--projects", "5", "--out", str(tmp_path)]) == 2
    assert "at least 3 people" in capsys.readouterr().err


@pytest.mark.slow
def test_size_s_fast_path_and_plain_pulp_give_the_same_amounts(monkeypatch):
    """Issue 4: at size S (1k people, 500 projects, ~50k records, caps binding for 5-10% of
    people and coupling projects) the fast path and the plain PuLP formulation agree to the
    cent on every line. PuLP's side takes about a minute: it is the point of the fast path.
    The fast path solves S by levels (incentive/levels.py); the decomposition it falls back
    to must agree as well, and it shows the caps couple projects (it needs LP parts). The
    fast optimum also has the level shape (tests/level_structure.py) on all its lines."""
    data, text = synth_company(people=1000, projects=500, records_per_project=100, seed=1)
    rules = parse_ruleset_text(text)
    inp = read_input(data, rules)
    seen = []

    def solve_and_keep(problem, method="fast"):
        sol = solve_caps(problem, method=method)
        seen.append((problem, sol))
        return sol

    monkeypatch.setattr(pipeline, "solve_caps", solve_and_keep)
    fast = allocate(inp, rules, method="fast")
    decomposed = allocate(inp, rules, method="decompose")
    (problem, sol), _ = seen
    monkeypatch.undo()
    assert problem.budget is None and bool((problem.period_cap < float("inf")).any())
    assert level_violations(problem, sol.x) == []
    assert fast.caps.stats.get("levels") == 1 and fast.caps.stats["lp_parts"] == 0, fast.caps.stats
    assert decomposed.caps.stats["lp_parts"] > 0, "the caps must couple projects here"
    ref = allocate(inp, rules, method="pulp")

    def amounts(doc):
        return {(ln["person_id"], ln["project_id"], ln["role"]): ln["amount"] for ln in doc["lines"]}

    want = amounts(ref.document())
    assert len(want) > 2000
    for result in (fast, decomposed):
        got = amounts(result.document())
        assert got == want, {k: (got[k], want.get(k)) for k in got if got[k] != want.get(k)}
