"""The cap optimizer (incentive.caps.solve_caps) against an independent formulation.

The reference is written here with scipy.optimize.linprog and shares nothing with the
engine: no decomposition, no closed form, no duals. It solves SPEC §6 directly on random
small instances (lines with ideals, people, projects, roles, leavers, caps of each kind,
each redistribution scope):

1. maximise the payout sum(x);
2. leximin of the relative deviations |x - x*| / x*, by sequential min-max rounds. After a
   round with optimum t, a line is fixed at t only if an extra LP shows that its deviation
   cannot go below t while every other free line stays <= t (slow but dual-free).

Compared: the payout (1e-6 relative), the largest deviation (1e-6) and the whole sorted
deviation vector (1e-5); the engine's x must also satisfy every constraint, and the
"fast" and "pulp" methods must give the same x.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
from scipy.optimize import linprog

from incentive.caps import CapProblem, solve_caps

N_INSTANCES = 160
ROLE_NAMES = ["AR", "SR", "FR"]
# presolve off: with tolerances this tight, HiGHS presolve has called feasible rounds infeasible
LP_OPTIONS = {"presolve": False, "primal_feasibility_tolerance": 1e-10, "dual_feasibility_tolerance": 1e-10}


def make_instance(seed: int) -> CapProblem:
    """A random small cap problem whose caps often bind, sometimes several at once."""
    rng = np.random.default_rng(seed)
    n_people = int(rng.integers(2, 6))
    n_projects = int(rng.integers(1, 4))
    cells = [(i, j, r) for i in range(n_people) for j in range(n_projects) for r in range(3)]
    n_lines = int(rng.integers(2, min(len(cells), 14) + 1))
    pick = sorted(rng.choice(len(cells), size=n_lines, replace=False).tolist())
    person = np.array([cells[k][0] for k in pick], dtype=np.int64)
    project = np.array([cells[k][1] for k in pick], dtype=np.int64)
    role = np.array([cells[k][2] for k in pick], dtype=np.int64)
    # ideals over three orders of magnitude, some equal (ties)
    ideal = np.round(np.exp(rng.uniform(np.log(1.0), np.log(2000.0), n_lines)), 2)
    if n_lines > 2 and rng.random() < 0.3:
        ideal[1] = ideal[0]
    leaver = rng.random(n_people) < 0.15
    zeroed = leaver[person] if rng.random() < 0.5 else np.zeros(n_lines, dtype=bool)
    per_person = np.bincount(person, ideal, minlength=n_people)
    period_cap = np.full(n_people, np.inf)
    if rng.random() < 0.6:
        capped = rng.random(n_people) < 0.6
        period_cap[capped] = np.round(per_person[capped] * rng.uniform(0.0, 1.3, capped.sum()), 2)
        if rng.random() < 0.15:
            period_cap[int(rng.integers(n_people))] = 0.0
    pair_cap = None
    if rng.random() < 0.4:
        pair_sums = np.bincount(person * n_projects + project, ideal)
        pair_cap = float(np.round(np.median(pair_sums[pair_sums > 0]) * rng.uniform(0.3, 1.5), 2))
    budget = None
    if rng.random() < 0.35:
        budget = float(np.round(ideal.sum() * rng.uniform(0.3, 1.1), 2))
    return CapProblem(
        ideal=ideal, person=person, project=project, role=role, zeroed=zeroed,
        period_cap=period_cap, pair_cap=pair_cap, budget=budget,
        scope=str(rng.choice(["none", "role", "project"])),
        person_ids=[f"p{i}" for i in range(n_people)],
        project_ids=[f"J{j}" for j in range(n_projects)],
        role_names=ROLE_NAMES,
    )


# ---------------------------------------------------------------------------------------
# the independent reference


@dataclass
class Constraints:
    """A x <= b over the active lines (x in money, one column per active line)."""

    A: np.ndarray
    b: np.ndarray
    active: np.ndarray  # line indices that are variables
    ideal: np.ndarray  # x* of the active lines


def constraints(p: CapProblem) -> Constraints:
    act = np.flatnonzero(~p.zeroed)
    rows: list[np.ndarray] = []
    rhs: list[float] = []

    def add(mask: np.ndarray, bound: float) -> None:
        if mask.any():
            rows.append(mask.astype(np.float64))
            rhs.append(bound)

    per, proj, rol = p.person[act], p.project[act], p.role[act]
    if p.pair_cap is not None:
        for i, j in {(int(a), int(b)) for a, b in zip(per, proj, strict=True)}:
            add((per == i) & (proj == j), p.pair_cap)
    for i in set(per.tolist()):
        if np.isfinite(p.period_cap[i]):
            add(per == i, float(p.period_cap[i]))
    if p.budget is not None:
        add(np.ones(act.shape[0], dtype=bool), p.budget)
    if p.scope == "none":
        for k in range(act.shape[0]):
            add(np.arange(act.shape[0]) == k, float(p.ideal[act[k]]))
    elif p.scope == "role":
        for j, r in {(int(a), int(b)) for a, b in zip(proj, rol, strict=True)}:
            everyone = (p.project == j) & (p.role == r)  # leavers' ideal included
            add((proj == j) & (rol == r), float(p.ideal[everyone].sum()))
    else:
        for j in set(proj.tolist()):
            add(proj == j, float(p.ideal[p.project == j].sum()))
    A = np.array(rows) if rows else np.zeros((0, act.shape[0]))
    return Constraints(A, np.array(rhs), act, p.ideal[act])


def _lp(c: np.ndarray, A: np.ndarray, b: np.ndarray) -> np.ndarray:
    """min c.v subject to A v <= b, v >= 0."""
    res = linprog(c, A_ub=A if A.shape[0] else None, b_ub=b if A.shape[0] else None,
                  bounds=[(0.0, None)] * c.shape[0], method="highs", options=LP_OPTIONS)
    assert res.status == 0, res.message
    return np.asarray(res.x)


EPS = 1e-9  # money: slack of the bands that hold fixed lines (kept tiny so little leaks)
BLOCKED = 1e-7  # a line is blocked at t if it cannot get below t - BLOCKED


def reference(p: CapProblem) -> tuple[float, np.ndarray]:
    """(optimal payout, deviation per active line) by the textbook sequential leximin."""
    con = constraints(p)
    n = con.active.shape[0]
    if n == 0:
        return 0.0, np.zeros(0)
    xs = con.ideal
    payout = float(_lp(-np.ones(n), con.A, con.b).sum())
    # variables v = (x_1..x_n, t); the objective is always "minimise t"
    c = np.zeros(n + 1)
    c[n] = 1.0
    fixed = np.full(n, np.nan)

    def row(k: int, coef_x: float, coef_t: float) -> np.ndarray:
        r = np.zeros(n + 1)
        r[k] = coef_x
        r[n] = coef_t
        return r

    def program(limits: dict[int, float], with_t: list[int]) -> tuple[np.ndarray, np.ndarray]:
        """Caps; payout >= optimum; |x_k - x*_k| <= t x*_k for k in with_t, <= limit x*_k + EPS else."""
        A = [np.hstack([con.A, np.zeros((con.A.shape[0], 1))]), -np.concatenate([np.ones(n), [0.0]])[None, :]]
        b = [con.b, np.array([-(payout - 1e-8 - 1e-12 * payout)])]
        for k in with_t:
            A += [row(k, 1.0, -xs[k])[None, :], row(k, -1.0, -xs[k])[None, :]]
            b += [np.array([xs[k]]), np.array([-xs[k]])]
        for k, lim in limits.items():
            A += [row(k, 1.0, 0.0)[None, :], row(k, -1.0, 0.0)[None, :]]
            b += [np.array([xs[k] * (1 + lim) + EPS]), np.array([-(xs[k] * (1 - lim) - EPS)])]
        return np.vstack(A), np.concatenate(b)

    while np.isnan(fixed).any():
        free = np.flatnonzero(np.isnan(fixed)).tolist()
        held = {k: float(fixed[k]) for k in range(n) if not np.isnan(fixed[k])}
        sol = _lp(c, *program(held, free))
        t = max(float(sol[n]), 0.0)
        if t <= 1e-9:
            fixed[free] = 0.0
            break
        dev = np.abs(sol[:n] - xs) / xs
        newly = []
        for k in [k for k in free if dev[k] >= t - BLOCKED]:
            # can line k's deviation go below t while every other free line stays <= t?
            others = {**held, **{q: t for q in free if q != k}}
            s = _lp(c, *program(others, [k]))
            if s[n] >= t - BLOCKED:
                newly.append(k)
        assert newly, "a min-max round must block at least one line"
        fixed[newly] = t
    return payout, fixed


def engine_deviation(p: CapProblem, x: np.ndarray) -> np.ndarray:
    act = np.flatnonzero(~p.zeroed)
    return np.abs(x[act] - p.ideal[act]) / p.ideal[act]


def check_feasible(p: CapProblem, x: np.ndarray) -> None:
    con = constraints(p)
    tol = 1e-6 * max(1.0, float(p.ideal.max()))
    assert (x >= -tol).all()
    assert (x[p.zeroed] == 0).all(), "leavers under forfeit must get 0"
    if con.A.shape[0]:
        slack = con.A @ x[con.active] - con.b
        assert (slack <= tol).all(), slack


def assert_matches_reference(p: CapProblem, x: np.ndarray) -> None:
    """x is feasible, pays out the most, and has the reference's sorted deviation vector."""
    check_feasible(p, x)
    payout, ref_dev = reference(p)
    got_payout = float(x.sum())
    assert got_payout == pytest.approx(payout, rel=1e-6, abs=1e-6), "not the largest payout the caps allow"
    dev = engine_deviation(p, x)
    if dev.shape[0]:
        assert dev.max() == pytest.approx(ref_dev.max(), rel=1e-6, abs=1e-6), "largest deviation"
    np.testing.assert_allclose(np.sort(dev)[::-1], np.sort(ref_dev)[::-1], rtol=1e-5, atol=1e-5,
                               err_msg="sorted deviation vector (leximin) differs")


def assert_same_x(p: CapProblem, fast: np.ndarray, ref: np.ndarray) -> None:
    # to 1e-6 relative, and 1e-6 of the instance's largest ideal in absolute terms: LP noise
    # (tolerances ~1e-9 of the amounts in a row) is relative to the money in play, so a
    # small line sharing a cap with a large one carries the large one's noise
    np.testing.assert_allclose(fast, ref, rtol=1e-6, atol=1e-6 * float(p.ideal.max()))


# "fast" solves by levels where it can (and falls back to steps 0-3); "decompose" always
# takes steps 0-3, which stay the fallback and must stay right on their own
METHODS = ("fast", "decompose")


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("seed", range(N_INSTANCES))
def test_optimizer_matches_independent_leximin(seed: int, method: str) -> None:
    p = make_instance(seed)
    assert_matches_reference(p, solve_caps(p, method=method).x)


def assert_methods_match_pulp(p: CapProblem) -> list[np.ndarray]:
    """PuLP's x is feasible and every method in METHODS gives it; their x, in that order."""
    ref = solve_caps(p, method="pulp")
    check_feasible(p, ref.x)
    got = [solve_caps(p, method=method).x for method in METHODS]
    for x in got:
        assert_same_x(p, x, ref.x)
    return got


@pytest.mark.parametrize("seed", range(N_INSTANCES))
def test_fast_and_pulp_give_the_same_x(seed: int) -> None:
    assert_methods_match_pulp(make_instance(seed))


# ---------------------------------------------------------------------------------------
# wider instances: teams of 2-8 per project, several projects per person, some people over
# their period cap from the start and others close to it. These reach the pre-cut (step 0
# of incentive.caps: kept, or given back when a scope is too thin to absorb the cut) and LP
# parts coupled through it, which the small instances above rarely do.

N_WIDE = 48


def make_wide(seed: int) -> CapProblem:
    rng = np.random.default_rng(10_000 + seed)
    n_people = int(rng.integers(4, 10))
    n_projects = int(rng.integers(2, 5))
    person: list[int] = []
    project: list[int] = []
    role: list[int] = []
    for j in range(n_projects):
        team = rng.choice(n_people, size=int(rng.integers(2, min(n_people, 7) + 1)), replace=False)
        for i in team.tolist():
            for r in sorted(rng.choice(3, size=int(rng.integers(1, 3)), replace=False).tolist()):
                person.append(i)
                project.append(j)
                role.append(r)
    per = np.array(person, dtype=np.int64)
    n = per.shape[0]
    ideal = np.round(np.exp(rng.uniform(np.log(5.0), np.log(5000.0), n)), 2)
    zeroed = (rng.random(n_people) < 0.1)[per] if rng.random() < 0.4 else np.zeros(n, dtype=bool)
    per_person = np.bincount(per, ideal, minlength=n_people)
    period_cap = np.full(n_people, np.inf)
    over = rng.random(n_people) < rng.uniform(0.1, 0.5)
    period_cap[over] = np.round(per_person[over] * rng.uniform(0.3, 1.0, over.sum()), 2)
    near = ~over & (rng.random(n_people) < 0.5)
    period_cap[near] = np.round(per_person[near] * rng.uniform(1.0, 1.5, near.sum()), 2)
    pair_cap = None
    if rng.random() < 0.3:
        sums = np.bincount(per * n_projects + np.array(project), ideal)
        pair_cap = float(np.round(np.quantile(sums[sums > 0], 0.9) * rng.uniform(0.8, 1.2), 2))
    return CapProblem(
        ideal=ideal, person=per, project=np.array(project, dtype=np.int64), role=np.array(role, dtype=np.int64),
        zeroed=zeroed, period_cap=period_cap, pair_cap=pair_cap, budget=None,
        scope=str(rng.choice(["role", "project", "project"])),
        person_ids=[f"p{i}" for i in range(n_people)],
        project_ids=[f"J{j}" for j in range(n_projects)],
        role_names=ROLE_NAMES,
    )


@pytest.mark.parametrize("seed", range(N_WIDE))
def test_wide_instances_match_independent_leximin_and_pulp(seed: int) -> None:
    p = make_wide(seed)
    for x in assert_methods_match_pulp(p):
        assert_matches_reference(p, x)


def test_wide_instances_reach_every_step() -> None:
    """The family above is only worth its time if it drives the fast path through the
    pre-cut (kept and given back) and coupled LP parts."""
    seen: dict[str, int] = {}
    for seed in range(N_WIDE):
        stats = solve_caps(make_wide(seed), method="decompose").stats
        for key in ("precut_persons", "precut_released", "lp_parts"):
            seen[key] = seen.get(key, 0) + int(bool(stats.get(key)))
    assert all(count >= 2 for count in seen.values()), seen


def test_precut_is_kept_where_scopes_absorb_the_cut() -> None:
    """A person over their period cap in two large projects: cut evenly to the cap (the
    pre-cut is proven optimal and nothing reaches an LP), and each project passes what it
    cut on to its other members in proportion to their ideals.

    p0: 600 in J0 + 400 in J1 = 1000, cap 800 -> ratio 0.8: 480 and 320. J0 releases 120
    over p1..p3's 3000 (x 1.04), J1 releases 80 over p4..p5's 4000 (x 1.02). Each raised
    line deviates 4% or 2%, under p0's 20%, so no trade with p0 could help."""
    ideal = np.array([600.0, 1000.0, 1000.0, 1000.0, 400.0, 2000.0, 2000.0])
    person = np.array([0, 1, 2, 3, 0, 4, 5])
    project = np.array([0, 0, 0, 0, 1, 1, 1])
    period_cap = np.array([800.0, 5000.0, 5000.0, 5000.0, 5000.0, 5000.0])
    p = CapProblem(ideal=ideal, person=person, project=project, role=np.zeros(7, dtype=np.int64),
                   zeroed=np.zeros(7, dtype=bool), period_cap=period_cap, pair_cap=None, budget=None,
                   scope="project", person_ids=[f"p{i}" for i in range(6)], project_ids=["J0", "J1"],
                   role_names=ROLE_NAMES)
    sol = solve_caps(p, method="decompose")
    np.testing.assert_allclose(sol.x, [480.0, 1040.0, 1040.0, 1040.0, 320.0, 2040.0, 2040.0], rtol=1e-12)
    assert sol.stats["precut_persons"] == 1 and sol.stats["lp_parts"] == 0 and sol.solver == "closed-form"
    np.testing.assert_allclose(solve_caps(p, method="pulp").x, sol.x, rtol=1e-9)


def test_precut_is_given_back_where_a_scope_cannot_absorb_evenly() -> None:
    """The same person, but J1's only other member is tiny: cutting p0 by 20% there would
    raise that member by 80/10 = 800%. Leximin moves p0's cut towards J0 instead, so the
    pre-cut must be given back (and the answer is the reference's, not the even cut)."""
    ideal = np.array([600.0, 1000.0, 1000.0, 1000.0, 400.0, 10.0])
    person = np.array([0, 1, 2, 3, 0, 4])
    project = np.array([0, 0, 0, 0, 1, 1])
    period_cap = np.array([800.0, 5000.0, 5000.0, 5000.0, 5000.0])
    p = CapProblem(ideal=ideal, person=person, project=project, role=np.zeros(6, dtype=np.int64),
                   zeroed=np.zeros(6, dtype=bool), period_cap=period_cap, pair_cap=None, budget=None,
                   scope="project", person_ids=[f"p{i}" for i in range(5)], project_ids=["J0", "J1"],
                   role_names=ROLE_NAMES)
    sol = solve_caps(p, method="decompose")
    assert sol.stats.get("precut_released") == 1 and sol.stats["precut_persons"] == 0
    assert sol.x[4] > 320.0 + 1.0, "p0 must keep more than the even cut in J1"
    payout, ref_dev = reference(p)
    assert float(sol.x.sum()) == pytest.approx(payout, rel=1e-9)
    np.testing.assert_allclose(np.sort(engine_deviation(p, sol.x))[::-1], np.sort(ref_dev)[::-1], rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(solve_caps(p, method="pulp").x, sol.x, rtol=1e-6, atol=1e-6)
