"""Hypothesis strategies that build valid raw period inputs and rule sets (plain data).

`cases()` draws a (rules_dict, raw_input) pair that `incentive.rules.parse_ruleset` and
`incentive.model.read_input` accept: 1-4 projects, 2-8 people, 1-5 contribution records per
person-project, roles AR/SR/FR, stage windows, wins inside/before/after the period or none,
collections, scores, fte, salaries, leavers, and optional caps of every kind.

Everything money-like is a decimal string so tests can scale it exactly.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

ROLES = ("AR", "SR", "FR")
STAGE_NAMES = ("lead", "solution", "bid", "delivery")
PROJECT_TYPES = ("standard", "strategic", "renewal")
BASE = date(2026, 1, 1)

MONEY_CAP_KEYS = ("person_project_max", "person_period_max", "period_budget")


def iso(d: date) -> str:
    return d.isoformat()


def _percents(draw: st.DrawFn, m: int) -> list[int]:
    """m non-negative integers summing to 100."""
    cuts = sorted(draw(st.lists(st.integers(0, 100), min_size=m - 1, max_size=m - 1)))
    bounds = [0, *cuts, 100]
    return [bounds[k + 1] - bounds[k] for k in range(m)]


def _pct(v: int) -> str:
    return str(Decimal(v) / 100)


def _money(draw: st.DrawFn, lo_cents: int, hi_cents: int) -> str:
    return str(Decimal(draw(st.integers(lo_cents, hi_cents))) / 100)


@st.composite
def rule_sets(
    draw: st.DrawFn,
    *,
    caps: bool = True,
    vacancy: str | None = None,
    leaver: str | None = None,
    redistribute: str | None = None,
) -> dict[str, Any]:
    """A valid rule set as the TOML's tables (values as decimal text / ints)."""
    roles = dict(zip(ROLES, (_pct(v) for v in _percents(draw, 3)), strict=True))
    n_stages = draw(st.integers(1, len(STAGE_NAMES)))
    names = draw(st.permutations(STAGE_NAMES))[:n_stages]
    stages = {n: _pct(v) for n, v in zip(sorted(names, key=STAGE_NAMES.index), _percents(draw, n_stages),
                                        strict=True)}
    pool: dict[str, Any] = {
        "win_rate": draw(st.sampled_from(["0.01", "0.02", "0.035", "0.05", "0.1"])),
        "collection_rate": draw(st.sampled_from(["0", "0.01", "0.02", "0.03", "0.05"])),
    }
    if draw(st.booleans()):
        froms = sorted(draw(st.sets(st.sampled_from(["0", "0.05", "0.1", "0.15", "0.2", "0.3", "0.4", "0.5"]),
                                    min_size=1, max_size=4)), key=Decimal)
        pool["margin_table"] = [
            {"from": f, "multiplier": draw(st.sampled_from(["0", "0.5", "0.8", "1", "1.2", "1.5"]))} for f in froms
        ]
    rs: dict[str, Any] = {
        "ruleset": {"id": "prop", "version": "1", "currency": "CNY"},
        "pool": pool,
        "split": {
            "result_weight": _pct(draw(st.sampled_from([0, 25, 50, 60, 75, 100]))),
            "lookback_days": draw(st.integers(1, 120)),
            "vacancy": vacancy or draw(st.sampled_from(["redistribute", "forfeit"])),
        },
        "roles": roles,
        "stages": stages,
        "people": {"leaver": leaver or draw(st.sampled_from(["pay", "forfeit"]))},
        "rounding": {"unit": draw(st.sampled_from(["0.01", "0.01", "0.05", "0.1", "1"]))},
    }
    if draw(st.booleans()):
        rs["project_types"] = {t: draw(st.sampled_from(["0.5", "1", "1.3", "2"])) for t in PROJECT_TYPES}
    cap_table: dict[str, Any] = {"redistribute": redistribute or draw(st.sampled_from(["none", "role", "project"]))}
    if caps:
        if draw(st.booleans()):
            cap_table["person_project_max"] = str(Decimal(draw(st.integers(0, 200))) * 10)
        if draw(st.booleans()):
            cap_table["person_period_max"] = str(Decimal(draw(st.integers(0, 200))) * 20)
        if draw(st.booleans()):
            cap_table["person_period_salary_multiple"] = draw(st.sampled_from(["0", "0.001", "0.005", "0.01", "0.02"]))
        if draw(st.booleans()):
            cap_table["period_budget"] = str(Decimal(draw(st.integers(0, 200))) * 50)
    rs["caps"] = cap_table
    return rs


@st.composite
def period_inputs(draw: st.DrawFn, rules: dict[str, Any], *, no_result: bool = False) -> dict[str, Any]:
    """A valid raw period input for `rules` (a dict as drawn by `rule_sets`).

    `no_result=True`: no project has a win or a collection inside the period.
    """
    start = BASE + timedelta(days=draw(st.integers(90, 120)))
    end = start + timedelta(days=draw(st.integers(0, 91)))
    lo, hi = start - timedelta(days=150), end + timedelta(days=60)
    span = (hi - lo).days

    def a_date() -> date:
        return lo + timedelta(days=draw(st.integers(0, span)))

    def near(anchor: date | None) -> date:
        """A date, often shortly before `anchor` (a win date), so that work meets results."""
        if anchor is None or draw(st.booleans()):
            return a_date()
        return anchor - timedelta(days=draw(st.integers(0, 90)))

    stage_names = list(rules["stages"])
    types = list(rules.get("project_types") or ["standard"])
    has_margin_table = "margin_table" in rules["pool"]

    projects = []
    n_proj = draw(st.integers(1, 4))
    coll_no = 0
    for k in range(n_proj):
        kinds = ["none", "before", "after"] if no_result else ["inside", "inside", "inside", "none", "before", "after"]
        kind = draw(st.sampled_from(kinds))
        won: date | None
        if kind == "none":
            won = None
        elif kind == "inside":
            won = start + timedelta(days=draw(st.integers(0, (end - start).days)))
        elif kind == "before":
            won = start - timedelta(days=draw(st.integers(1, 120)))
        else:
            won = end + timedelta(days=draw(st.integers(1, 40)))
        pj: dict[str, Any] = {"id": f"P{k + 1}", "type": draw(st.sampled_from(types))}
        if won is not None or draw(st.booleans()):
            pj["contract_value"] = _money(draw, 100_000, 50_000_000)
        if (won is not None and has_margin_table) or draw(st.booleans()):
            pj["margin"] = _pct(draw(st.integers(0, 100)))
        pj["won_on"] = None if won is None else iso(won)
        stages = {}
        for s in draw(st.lists(st.sampled_from(stage_names), unique=True, max_size=len(stage_names))):
            a = near(won)
            stages[s] = {"start": iso(a), "end": iso(a + timedelta(days=draw(st.integers(0, 90))))}
        pj["stages"] = stages
        collections = []
        if won is not None:
            for _ in range(draw(st.integers(0, 3))):
                d = won + timedelta(days=draw(st.integers(0, 200)))
                if no_result and start <= d <= end:
                    d = end + timedelta(days=1 + draw(st.integers(0, 30)))
                coll_no += 1
                collections.append({"id": f"C{coll_no}", "date": iso(d), "amount": _money(draw, 0, 20_000_000)})
        pj["collections"] = collections
        projects.append(pj)

    people = []
    n_people = draw(st.integers(2, 8))
    for i in range(n_people):
        p: dict[str, Any] = {"id": f"p{i + 1}"}
        if draw(st.booleans()):
            p["annual_base_salary"] = str(Decimal(draw(st.integers(20, 300))) * 1000)
        left = draw(st.sampled_from([None, None, None, "x"]))
        p["left_on"] = None if left is None else iso(start + timedelta(days=draw(st.integers(-30, (end - start).days
                                                                                               + 30))))
        people.append(p)

    contributions = []
    rec_no = 0
    for p in people:
        mine = draw(st.lists(st.sampled_from([pj["id"] for pj in projects]), unique=True, min_size=1,
                             max_size=len(projects)))
        for pid in mine:
            won_on = next(pj["won_on"] for pj in projects if pj["id"] == pid)
            for _ in range(draw(st.integers(1, 5))):
                a = near(None if won_on is None else date.fromisoformat(won_on))
                rec_no += 1
                contributions.append({
                    "id": f"k{rec_no}",
                    "person_id": p["id"],
                    "project_id": pid,
                    "role": draw(st.sampled_from(ROLES)),
                    "start": iso(a),
                    "end": iso(a + timedelta(days=draw(st.integers(0, 120)))),
                    "fte": draw(st.sampled_from([0.1, 0.25, 0.5, 0.8, 1.0])),
                    "score": draw(st.sampled_from([0.0, 0.5, 1.0, 1.0, 1.2, 2.0])),
                })
    return {
        "period": {"id": "prop-period", "start": iso(start), "end": iso(end)},
        "people": people,
        "projects": projects,
        "contributions": contributions,
    }


@st.composite
def cases(draw: st.DrawFn, *, no_result: bool = False, **rule_options: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """A (rules_dict, raw_input) pair; keyword options go to `rule_sets`."""
    rules = draw(rule_sets(**rule_options))
    raw = draw(period_inputs(rules, no_result=no_result))
    return rules, raw
