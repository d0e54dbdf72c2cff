"""A synthetic company: a realistic period input of any size, and a rule set for it.

    incentive synth --people 10000 --projects 5000 --records-per-project 200 --seed 1 --out DIR

writes ``DIR/input.json`` (the period input, SPEC §2) and ``DIR/rules.toml`` (a rule set
whose caps bind for roughly 5-10% of the people). The same arguments give the same bytes.

The company, quarter 2026-Q3:

- People in three cost centers (sales, presales, delivery), sized to the demand for AR,
  SR and FR team places; salaries by cost center; about 3% leave during or shortly
  before the quarter (their records stop on the day they leave).
- Projects with an iron-triangle team of 3-15 (larger teams for more records per
  project): one or two ARs, presales engineers behind the SR, a delivery team behind the
  FR. About 35% were won before the quarter (delivery running, cash collected in it),
  45% are won in it, 20% are not won. Stage windows (lead, opportunity, solution, bid,
  contract, delivery) follow each other; milestone collections follow the win.
- Contribution records are consecutive two-week records across each person's stint on a
  project: the AR from lead to today, SR through solution and bid, the FR lead from the
  bid, the delivery team from the win. fte changes at the signature and is scaled so that
  nobody is booked far above full time across their projects; scores vary by person and
  record.
- People are drawn for team places with uneven weights, so some are on many projects:
  they are the ones the caps hold.

Everything is generated as numpy columns (no Python loop per record) and the JSON is
written with orjson in chunks, so a million records take seconds and little memory.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import orjson

PERIOD_ID = "2026-Q3"
PERIOD_START = date(2026, 7, 1)
PERIOD_END = date(2026, 9, 30)
SLOT = 14  # days per contribution record
LOOKBACK = 90

ROLES = ("AR", "SR", "FR")
ROLE_SHARE = np.array([0.40, 0.35, 0.25])
COST_CENTERS = ("sales", "presales", "delivery")  # one per role, same order
SALARY_MEDIAN = np.array([330_000.0, 290_000.0, 220_000.0])
STAGES = ("lead", "opportunity", "solution", "bid", "contract", "delivery")
STAGE_SPLIT = np.array([0.15, 0.20, 0.25, 0.25, 0.15])  # of the time before signature
TYPES = ("standard", "strategic", "new_logo", "renewal", "framework")
TYPE_P = np.array([0.50, 0.12, 0.13, 0.15, 0.10])
TYPE_MULT = np.array([1.0, 1.3, 1.2, 0.7, 0.5])
WIN_RATE, COLLECTION_RATE = 0.004, 0.012
MARGIN_TABLE = ((0.10, 0.5), (0.20, 0.8), (0.30, 1.0), (0.40, 1.2))
CHUNK = 50_000


def _day(d: date) -> int:
    return (d - date(1970, 1, 1)).days


Q0, Q1 = _day(PERIOD_START), _day(PERIOD_END)


@dataclass
class Company:
    """The synthetic company as columns (what the JSON is written from)."""

    people: list[dict[str, Any]]
    projects: list[dict[str, Any]]
    # contribution records, one entry per record
    rec_person: np.ndarray  # int index into people
    rec_project: np.ndarray  # int index into projects
    rec_role: np.ndarray  # int index into ROLES
    rec_start: np.ndarray  # int day numbers
    rec_end: np.ndarray
    rec_fte_tenths: np.ndarray  # fte x 10 (int, 1..10)
    rec_score_tenths: np.ndarray  # score x 10 (int)
    # estimates for choosing caps
    pair_person: np.ndarray
    pair_estimate: np.ndarray
    person_estimate: np.ndarray
    salary: np.ndarray  # per person (nan: none)

    @property
    def n_records(self) -> int:
        return int(self.rec_person.shape[0])


# ----------------------------------------------------------------------------------------
# generation


def _generate(people: int, projects: int, records_per_project: int, seed: int) -> Company:
    if people < 3 or projects < 1 or records_per_project < 1:
        raise ValueError("need at least 3 people, 1 project and 1 record per project")
    rng = np.random.default_rng(seed)
    M, R = projects, float(records_per_project)

    # --- projects: status, size, timeline ---------------------------------------------
    u = rng.random(M)
    won_before, not_won = u < 0.35, u >= 0.80
    won = ~not_won
    center = float(np.clip(R / 14.0, 4.0, 12.0))
    n_team = np.clip(np.rint(center + rng.normal(0.0, 2.0, M)), 3, 15).astype(np.int64)
    n_ar = 1 + (rng.random(M) < (n_team - 3) / 20.0).astype(np.int64)
    n_sr = np.maximum(1, np.rint(n_team * 0.25)).astype(np.int64)
    n_fr = np.maximum(1, n_team - n_ar - n_sr)
    n_fr = np.where(not_won, 1, n_fr)  # only the FR lead is on a project not (yet) won
    R_j = R * rng.uniform(0.6, 1.4, M)
    c_pre = 0.95 + 0.55 * (n_ar - 1) + 0.75 + 0.45 * (n_sr - 1) + 0.35
    c_post = n_ar + 1.0 + 0.8 * (n_fr - 1)
    D = np.where(won_before, rng.integers(7, 21, M), rng.integers(0, 6, M))
    D = np.where(not_won, 0, D)
    P = np.clip(np.rint((R_j - D * c_post) / c_pre), 3, 80).astype(np.int64)
    jitter = rng.integers(0, SLOT, M)
    w = Q1 - SLOT * D - jitter  # the signature (for a project not won: where its grid ends)
    w = np.where(not_won, Q1, w)
    S = w - SLOT * P + 1  # first day of the first slot
    T = P + D

    # --- team places and stints (in slots of the project's grid) --------------------------
    counts = np.stack([n_ar, n_sr, n_fr], axis=1)  # [M, 3]
    per_project = counts.sum(axis=1)
    mem_project = np.repeat(np.arange(M), per_project)
    mem_role = _roles_of(counts)
    mem_rank = _rank_within(mem_project * 3 + mem_role)  # 0 = the role's lead
    n_mem = mem_project.shape[0]
    Pm, Dm, Tm = P[mem_project], D[mem_project], T[mem_project]
    r = rng.random((n_mem, 3))
    lead = mem_rank == 0
    s0 = np.zeros(n_mem, dtype=np.int64)
    s1 = Tm.copy()
    ar, sr, fr = mem_role == 0, mem_role == 1, mem_role == 2
    # AR: the lead from the start to today, others join during the opportunity
    s0 = np.where(ar & lead, np.floor(r[:, 0] * 0.1 * Pm), s0)
    s0 = np.where(ar & ~lead, np.floor((0.3 + 0.3 * r[:, 0]) * Pm), s0)
    # SR: through solution and bid; the lead stays a few weeks into delivery
    s0 = np.where(sr & lead, np.floor((0.15 + 0.2 * r[:, 0]) * Pm), s0)
    s1 = np.where(sr & lead, Pm + np.minimum(Dm, 1 + np.floor(r[:, 1] * 3)), s1)
    s0 = np.where(sr & ~lead, np.floor((0.35 + 0.25 * r[:, 0]) * Pm), s0)
    s1 = np.where(sr & ~lead, Pm - np.floor(r[:, 1] * 0.15 * Pm), s1)
    # FR: the lead from the bid on; the delivery team from the win, some roll off early
    s0 = np.where(fr & lead, np.floor((0.55 + 0.2 * r[:, 0]) * Pm), s0)
    s0 = np.where(fr & ~lead, Pm + np.floor(r[:, 0] * 0.3 * Dm), s0)
    early = fr & ~lead & (r[:, 2] < 0.25)
    s1 = np.where(early, s0 + np.ceil((0.3 + 0.5 * r[:, 1]) * (Tm - s0)), s1)
    s0 = s0.astype(np.int64)
    s1 = np.maximum(np.minimum(s1.astype(np.int64), Tm), s0)

    # fte before / after the signature, by role; a score per person on the project
    fte_pre = np.select([ar, sr & lead, sr, fr & lead], [rng.integers(2, 6, n_mem), rng.integers(4, 8, n_mem),
                        rng.integers(3, 7, n_mem), rng.integers(2, 4, n_mem)], rng.integers(4, 9, n_mem))
    fte_post = np.select([ar, sr, fr & lead], [rng.integers(1, 3, n_mem), np.ones(n_mem, np.int64),
                         rng.integers(5, 9, n_mem)], rng.integers(4, 11, n_mem))
    score = rng.choice(np.array([8, 9, 10, 10, 10, 11, 12]), n_mem)

    # --- people -------------------------------------------------------------------------
    demand = np.array([int((mem_role == k).sum()) for k in range(3)], dtype=np.float64)
    n_cc = np.maximum(1, np.floor(people * demand / max(demand.sum(), 1.0))).astype(np.int64)
    n_cc[2] = people - n_cc[0] - n_cc[1]
    if n_cc[2] < 1:
        n_cc = np.array([1, 1, people - 2])
    cc_of = np.repeat(np.arange(3), n_cc)
    cc_first = np.concatenate([[0], np.cumsum(n_cc)[:-1]])
    salary = np.rint(SALARY_MEDIAN[cc_of] * np.exp(rng.normal(0.0, 0.22, people)) / 1000.0) * 1000.0
    salary = np.where(rng.random(people) < 0.01, np.nan, salary)  # contractors: no salary
    # uneven appetite for projects: a few people are on many
    appetite = np.exp(rng.normal(0.0, 0.6, people))
    mem_person = np.empty(n_mem, dtype=np.int64)
    for k in range(3):
        idx = np.flatnonzero(mem_role == k)
        wts = appetite[cc_first[k]:cc_first[k] + n_cc[k]]
        cum = np.cumsum(wts / wts.sum())
        mem_person[idx] = cc_first[k] + np.minimum(np.searchsorted(cum, rng.random(idx.shape[0])), n_cc[k] - 1)
    # one place per person per project: redraw duplicates a few times, then drop them
    keep = np.ones(n_mem, dtype=bool)
    for _ in range(6):
        dup = _duplicates(mem_project * people + mem_person)
        if not dup.any():
            break
        k_of = mem_role[dup]
        mem_person[dup] = cc_first[k_of] + np.floor(rng.random(int(dup.sum())) * n_cc[k_of]).astype(np.int64)
    keep &= ~_duplicates(mem_project * people + mem_person)
    leaver = rng.random(people) < 0.03
    left_on = np.where(leaver, rng.integers(Q0 - 45, Q1 - 6, people), np.iinfo(np.int64).max)

    # --- records: one per slot of each stint ---------------------------------------------
    n_slots = np.where(keep, s1 - s0, 0)
    total = int(n_slots.sum())
    rec_mem = np.repeat(np.arange(n_mem), n_slots)
    first = np.cumsum(n_slots) - n_slots
    g = s0[rec_mem] + (np.arange(total) - first[rec_mem])
    rp = mem_project[rec_mem]
    start = S[rp] + SLOT * g
    end = start + SLOT - 1
    person = mem_person[rec_mem]
    stop = np.minimum(Q1, left_on[person])
    ok = start <= stop
    rec_mem, g, rp, start, end, person = rec_mem[ok], g[ok], rp[ok], start[ok], end[ok], person[ok]
    end = np.minimum(end, np.minimum(Q1, left_on[person]))
    post = g >= P[rp]
    fte = np.where(post, fte_post[rec_mem], fte_pre[rec_mem]).astype(np.float64)
    # nobody far above full time: scale by each person's load in the record's fortnight
    bucket = (start - start.min()) // SLOT if start.size else start
    nb = int(bucket.max()) + 1 if start.size else 1
    load = np.bincount(person * nb + bucket, weights=fte, minlength=people * nb)
    fte = np.clip(np.rint(fte / np.maximum(1.0, load[person * nb + bucket] / 10.0)), 1, 10)
    sc = score[rec_mem] + rng.choice(np.array([-1, 0, 0, 0, 0, 0, 0, 0, 1, 2]), rec_mem.shape[0])
    sc = np.clip(sc, 5, 15)

    # --- project attributes, stages, collections -----------------------------------------
    types = rng.choice(len(TYPES), M, p=TYPE_P)
    cv = np.clip(np.rint(3_000_000 * np.exp(rng.normal(0.0, 0.8, M)) / 1000.0) * 1000.0, 200_000, 80_000_000)
    margin = np.clip(np.rint(rng.normal(30.0, 9.0, M)), 2, 60).astype(np.int64)  # percent
    adv = rng.integers(20, 51, M)
    mid = rng.integers(90, 151, M)
    fin = rng.integers(200, 331, M)
    share_adv = rng.integers(20, 31, M)
    share_mid = rng.integers(30, 41, M)
    planned = rng.integers(5, 31, M)
    not_won_ahead = rng.integers(1, 7, M)
    iso = _IsoDays(int(min(S.min(), Q0 - LOOKBACK)), int(max(Q1, (w + SLOT * (D + planned)).max())) + 400)
    proj_docs: list[dict[str, Any]] = []
    pools = np.zeros(M)
    for j in range(M):
        pid = f"J{j + 1:06d}"
        cvj = int(cv[j])
        if won[j]:
            sign = int(w[j])
            bounds = S[j] + np.rint(np.cumsum(np.concatenate([[0.0], STAGE_SPLIT])) * (sign - S[j] + 1)).astype(int)
        else:
            sign = -1
            horizon = Q1 + SLOT * int(not_won_ahead[j])
            bounds = S[j] + np.rint(np.cumsum(np.concatenate([[0.0], STAGE_SPLIT])) * (horizon - S[j] + 1)).astype(int)
        stages: dict[str, dict[str, str]] = {}
        for k in range(5):
            a, b = int(bounds[k]), int(bounds[k + 1]) - 1
            if a > Q1 or b < a:
                continue
            stages[STAGES[k]] = {"start": iso(a), "end": iso(b)}
        colls: list[dict[str, str]] = []
        if won[j]:
            stages["delivery"] = {"start": iso(sign + 1), "end": iso(sign + SLOT * int(D[j] + planned[j]))}
            a1 = cvj * int(share_adv[j]) // 100_000 * 1000
            a2 = cvj * int(share_mid[j]) // 100_000 * 1000
            amounts = (a1, a2, cvj - a1 - a2)
            for k, (off, amt) in enumerate(zip((adv[j], mid[j], fin[j]), amounts, strict=True)):
                day = sign + int(off)
                if day > Q1:
                    break
                colls.append({"id": f"{pid}-C{k + 1}", "date": iso(day), "amount": str(amt)})
            pools[j] = _pool_estimate(sign, cvj, colls, int(margin[j]), TYPE_MULT[types[j]])
        proj_docs.append({
            "id": pid,
            "customer": f"Customer {int(rng.integers(1, max(2, M // 3) + 1)):05d}",
            "type": TYPES[types[j]],
            "contract_value": str(cvj),
            "margin": _pct(int(margin[j])),
            "won_on": iso(sign) if won[j] else None,
            "stages": stages,
            "collections": colls,
        })

    people_docs = [
        {
            "id": f"E{i + 1:06d}",
            "cost_center": COST_CENTERS[int(cc_of[i])],
            "annual_base_salary": None if np.isnan(salary[i]) else str(int(salary[i])),
            "left_on": iso(int(left_on[i])) if leaver[i] else None,
        }
        for i in range(people)
    ]

    # --- estimates of who gets how much (to choose caps that bind for a few) -------------
    recent = np.clip(np.minimum(end, Q1) - np.maximum(start, Q0 - LOOKBACK) + 1, 0, None) * fte
    role_key = rp * 3 + mem_role[rec_mem]
    role_eff = np.bincount(role_key, weights=recent, minlength=M * 3)
    pair_key = rec_mem  # member = (project, role, person)
    mem_eff = np.bincount(pair_key, weights=recent, minlength=n_mem)
    mem_key = mem_project * 3 + mem_role
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(role_eff[mem_key] > 0, mem_eff / np.where(role_eff > 0, role_eff, 1.0)[mem_key], 0.0)
    present = (role_eff.reshape(M, 3) > 0)
    role_w = np.where(present, ROLE_SHARE, 0.0)
    role_w = role_w / np.maximum(role_w.sum(axis=1, keepdims=True), 1e-12)
    mem_est = pools[mem_project] * role_w[mem_project, mem_role] * share
    person_est = np.bincount(mem_person, weights=mem_est, minlength=people)

    order = np.lexsort((start, mem_role[rec_mem], mem_person[rec_mem], rp))
    return Company(
        people=people_docs, projects=proj_docs,
        rec_person=person[order], rec_project=rp[order], rec_role=mem_role[rec_mem][order],
        rec_start=start[order], rec_end=end[order],
        rec_fte_tenths=fte.astype(np.int64)[order], rec_score_tenths=sc.astype(np.int64)[order],
        pair_person=mem_person[keep], pair_estimate=mem_est[keep], person_estimate=person_est, salary=salary,
    )


def _roles_of(counts: np.ndarray) -> np.ndarray:
    """Role index of every team place: per project, its ARs, then SRs, then FRs."""
    flat = counts.reshape(-1)
    return np.repeat(np.tile(np.arange(3), counts.shape[0]), flat)


def _rank_within(key: np.ndarray) -> np.ndarray:
    """0, 1, 2, ... within each run of equal keys (keys come in runs)."""
    n = key.shape[0]
    if n == 0:
        return key
    starts = np.flatnonzero(np.concatenate([[True], key[1:] != key[:-1]]))
    run_first = np.repeat(starts, np.diff(np.concatenate([starts, [n]])))
    return np.arange(n) - run_first


def _duplicates(key: np.ndarray) -> np.ndarray:
    """True for every occurrence of a key after its first."""
    _, first = np.unique(key, return_index=True)
    dup = np.ones(key.shape[0], dtype=bool)
    dup[first] = False
    return dup


def _pct(p: int) -> str:
    return f"0.{p:02d}".rstrip("0").rstrip(".") if p < 100 else "1"


def _margin_mult(pct: int) -> float:
    m = 0.0
    for frm, mult in MARGIN_TABLE:
        if pct / 100.0 >= frm:
            m = mult
    return m


def _pool_estimate(sign: int, cv: int, colls: list[dict[str, str]], margin_pct: int, type_mult: float) -> float:
    base = WIN_RATE * cv if Q0 <= sign <= Q1 else 0.0
    for c in colls:
        if Q0 <= _day(date.fromisoformat(c["date"])) <= Q1:
            base += COLLECTION_RATE * int(c["amount"])
    return base * _margin_mult(margin_pct) * type_mult


class _IsoDays:
    """Day number -> ISO date text, through a table over the range in use."""

    def __init__(self, lo: int, hi: int) -> None:
        self.lo = lo
        self.table = np.arange(lo, hi + 1).astype("datetime64[D]").astype(str).astype(object)

    def __call__(self, day: int) -> str:
        return str(self.table[day - self.lo])

    def many(self, days: np.ndarray) -> list[str]:
        return list(self.table[days - self.lo].tolist())


# ----------------------------------------------------------------------------------------
# the rule set


def _round_sig(x: float, digits: int = 2) -> float:
    if x <= 0 or not np.isfinite(x):
        return 0.0
    e = int(np.floor(np.log10(x))) - digits + 1
    return float(round(x / 10**e) * 10**e)


def _fmt(x: float) -> str:
    text = f"{x:.6f}".rstrip("0").rstrip(".")
    return text or "0"


def choose_caps(c: Company) -> tuple[float, float]:
    """(person_project_max, person_period_salary_multiple) such that each binds for a few
    percent of the people, judged on the estimated ideal amounts."""
    n = len(c.people)
    pair = c.pair_estimate[c.pair_estimate > 0]
    if pair.size == 0:
        return 10_000.0, 0.15
    # the pair cap: about as many (person, project) amounts above it as 2% of the people
    k_pair = max(1, round(0.02 * n))
    top = np.sort(pair)[::-1]
    pair_cap = _round_sig(float(top[min(k_pair, top.size - 1)]))
    # the salary multiple: ~3% of the people above it (after the pair cap)
    est = np.bincount(c.pair_person, weights=np.minimum(c.pair_estimate, pair_cap), minlength=n)
    ratio = np.where(np.isnan(c.salary), 0.0, est / np.where(np.isnan(c.salary), 1.0, c.salary))
    ratio = ratio[ratio > 0]
    k_period = max(1, round(0.03 * n))
    top_r = np.sort(ratio)[::-1] if ratio.size else np.array([0.15])
    multiple = _round_sig(float(top_r[min(k_period, top_r.size - 1)]))
    return pair_cap, max(multiple, 0.001)


def ruleset_text(pair_cap: float, multiple: float, seed: int) -> str:
    """The rule set written with the synthetic input: ltc-default's weights, caps set so
    they bind for a few percent of the people, cap money redistributed in the project."""
    margin_rows = ",\n".join(f"  {{ from = {frm:.2f}, multiplier = {m} }}" for frm, m in MARGIN_TABLE)
    types = "\n".join(f"{t} = {m}" for t, m in zip(TYPES, TYPE_MULT.tolist(), strict=True))
    roles = "\n".join(f"{r} = {s:.2f}" for r, s in zip(ROLES, ROLE_SHARE.tolist(), strict=True))
    return f"""# Rule set for a synthetic company (incentive synth, seed {seed}).
# The weights are those of rules/ltc-default.toml; the caps are chosen from the
# generated data so that they bind for roughly 5-10% of the people.

[ruleset]
id = "synth"
version = "1"
currency = "CNY"

[pool]
win_rate = {WIN_RATE}
collection_rate = {COLLECTION_RATE}
margin_table = [
{margin_rows},
]

[project_types]
{types}

[split]
result_weight = 0.6
lookback_days = {LOOKBACK}
vacancy = "redistribute"

[roles]
{roles}

[stages]
lead = 0.10
opportunity = 0.15
solution = 0.20
bid = 0.15
contract = 0.10
delivery = 0.30

[caps]
person_project_max = {_fmt(pair_cap)}
person_period_salary_multiple = {_fmt(multiple)}
redistribute = "project"

[people]
leaver = "forfeit"

[rounding]
unit = 0.01
"""


# ----------------------------------------------------------------------------------------
# output


def _header(c: Company) -> dict[str, Any]:
    return {
        "period": {"id": PERIOD_ID, "start": PERIOD_START.isoformat(), "end": PERIOD_END.isoformat()},
        "people": c.people,
        "projects": c.projects,
    }


def _record_chunks(c: Company) -> Any:
    """The contribution records as lists of dicts, CHUNK at a time, in order."""
    lo = int(min(c.rec_start.min(initial=Q0), Q0))
    iso = _IsoDays(lo, Q1 + 1)
    person_ids = np.array([p["id"] for p in c.people], dtype=object)
    project_ids = np.array([p["id"] for p in c.projects], dtype=object)
    roles = np.array(ROLES, dtype=object)
    tenths = [k / 10 for k in range(0, 31)]
    for a in range(0, c.n_records, CHUNK):
        b = min(a + CHUNK, c.n_records)
        yield [
            {"id": f"K{k:07d}", "person_id": p, "project_id": j, "role": r, "start": s, "end": e,
             "fte": tenths[f], "score": tenths[sc]}
            for k, p, j, r, s, e, f, sc in zip(
                range(a + 1, b + 1),
                person_ids[c.rec_person[a:b]].tolist(), project_ids[c.rec_project[a:b]].tolist(),
                roles[c.rec_role[a:b]].tolist(), iso.many(c.rec_start[a:b]), iso.many(c.rec_end[a:b]),
                c.rec_fte_tenths[a:b].tolist(), c.rec_score_tenths[a:b].tolist(), strict=True,
            )
        ]


def synth_company(people: int, projects: int, records_per_project: int, seed: int) -> tuple[dict[str, Any], str]:
    """A synthetic period input (plain data: money and dates as text) and its rule set (TOML)."""
    c = _generate(people, projects, records_per_project, seed)
    data = _header(c)
    data["contributions"] = [r for chunk in _record_chunks(c) for r in chunk]
    return data, ruleset_text(*choose_caps(c), seed=seed)


def write_company(c: Company, path: Path) -> int:
    """Write the input JSON (the bytes of orjson.dumps of the whole input), streaming the
    records in chunks. Returns the number of bytes written."""
    head = orjson.dumps(_header(c))
    assert head.endswith(b"}")
    size = 0
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("wb") as fh:
        size += fh.write(head[:-1] + b',"contributions":[')
        sep = b""
        for chunk in _record_chunks(c):
            body = orjson.dumps(chunk)
            size += fh.write(sep + body[1:-1])
            sep = b","
        size += fh.write(b"]}")
    tmp.replace(path)
    return size


def cmd_synth(args: argparse.Namespace) -> int:
    t0 = time.perf_counter()
    try:
        c = _generate(args.people, args.projects, args.records_per_project, args.seed)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    size = write_company(c, out / "input.json")
    pair_cap, multiple = choose_caps(c)
    (out / "rules.toml").write_text(ruleset_text(pair_cap, multiple, args.seed), encoding="utf-8")
    elapsed = time.perf_counter() - t0
    print(f"synth: {len(c.people)} people, {len(c.projects)} projects, {c.n_records} contribution records "
          f"(seed {args.seed}); caps: person_project_max {_fmt(pair_cap)}, salary multiple {_fmt(multiple)}; "
          f"wrote {out / 'input.json'} ({size / 1e6:.1f} MB) and {out / 'rules.toml'} in {elapsed:.1f} s")
    return 0
