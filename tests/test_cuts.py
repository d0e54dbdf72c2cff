"""The cap optimum's groups by maximum flows (incentive/cuts.py), where the settling order of
incentive/levels.py goes wrong.

What is pinned here: the vectorised balances equal the plain ones; the exact search (a flow
over each whole part) and the search near a guess both give answers the check proves, equal
to the LP path's; a guess that is wrong still ends in the exact answer; a person bound only
by lines raised into them; and that the reference instances really take this path."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from incentive import caps, cuts
from incentive.caps import CapProblem, by_levels, solve_caps
from incentive.cuts import _Cuts, group_balance, solve_by_cuts
from incentive.levels import (
    INF,
    _per_line,
    balance_level,
    check_levels,
    level_edges,
    person_nodes,
    solve_by_levels_cuts,
)

from .test_optimizer_reference import N_INSTANCES, N_WIDE, ROLE_NAMES, assert_same_x, make_instance, make_wide


def edges_of(p: CapProblem) -> dict[str, Any]:
    """The (person, scope) edges and nodes solve_levels works on, for a problem it covers."""
    s_group, s_rhs, _ = caps._scopes(p)
    pair = next((f.group for f in caps._families(p) if f.kind == "person_project_cap"), None)
    active = np.flatnonzero(~p.zeroed)
    found = level_edges(p.ideal, p.person, s_group, active, s_rhs.shape[0], p.pair_cap, pair)
    assert found is not None
    e_of, e_person, e_scope, a, u = found
    e_pnode, p_cap = person_nodes(e_person, p.period_cap, s_rhs.shape[0])
    return dict(a=a, u=u, e_scope=e_scope, e_pnode=e_pnode, s_rhs=s_rhs, p_cap=p_cap, e_of=e_of, active=active)


def cut_answer(p: CapProblem, approx: np.ndarray | None = None) -> tuple[str, np.ndarray]:
    """solve_by_cuts on p (exact without `approx`), checked; the check's verdict and x per line."""
    g = edges_of(p)
    rhs = np.concatenate([g["s_rhs"], g["p_cap"]])
    found = solve_by_cuts(g["a"], g["u"], g["e_scope"], g["e_pnode"], rhs, g["s_rhs"].shape[0], approx=approx)
    assert found.reason == ""
    why, _ = check_levels(g["a"], g["u"], g["e_scope"], g["e_pnode"].tolist(), g["s_rhs"], g["p_cap"],
                          found.level, found.x, found.cyclic)
    return why, _per_line(found.x, p.ideal, g["active"], g["e_of"], g["a"])


def covered(p: CapProblem) -> bool:
    """Problems the levels cover: a period cap, no budget, no person-project cap across scopes."""
    return p.budget is None and caps._coupled(p) and by_levels(p).reason != "a person-project cap spans several scopes"


def covered_states() -> list[tuple[dict[str, Any], _Cuts]]:
    """A fresh search state for every wide reference instance the levels cover."""
    out = []
    for p in [make_wide(seed) for seed in range(N_WIDE)]:
        if covered(p):
            g = edges_of(p)
            rhs = np.concatenate([g["s_rhs"], g["p_cap"]])
            out.append((g, _Cuts(g["a"], g["u"], g["e_scope"], g["e_pnode"], rhs, g["s_rhs"].shape[0])))
    return out


def test_group_balance_is_balance_level_from_zero_up() -> None:
    """Vectorised balance = the plain one, clipped at 0 (no scope is cut to pay out less)."""
    rng = np.random.default_rng(7)
    for _ in range(400):
        n_up, n_down = rng.integers(0, 5, size=2)
        up_a, down_a = rng.uniform(1, 100, n_up), rng.uniform(1, 100, n_down)
        up_u = np.where(rng.random(n_up) < 0.5, up_a * rng.uniform(0.5, 3, n_up), INF)
        down_u = np.where(rng.random(n_down) < 0.3, down_a * rng.uniform(0.2, 2, n_down), INF)
        fixed = float(rng.uniform(-100, 100))
        const = float(rng.uniform(-300, 300))
        plain = balance_level(fixed, list(zip(up_a, up_u, strict=True)), list(zip(down_a, down_u, strict=True)),
                              const, 1e-12)
        got = group_balance(fixed, const, up_a, up_u, down_a, down_u)
        if plain == INF:
            assert got == INF
        else:
            assert got == pytest.approx(max(plain, 0.0), rel=1e-9, abs=1e-9)


def test_every_node_alone_at_once_is_each_node_alone() -> None:
    """`alone` (all nodes in one pass) = `balance` of each node, with lines fixed at random."""
    rng = np.random.default_rng(3)
    for g, st in covered_states():
        fix = rng.random(g["a"].shape[0]) < 0.4
        st.x[fix] = g["a"][fix] * rng.uniform(0.0, 2.5, int(fix.sum()))
        nodes = np.flatnonzero(st.degree > 0)
        one = np.array([st.balance(st.view(np.array([v]))) for v in nodes])
        np.testing.assert_allclose(st.alone(nodes), one, rtol=1e-12, atol=1e-12)


def test_a_scope_and_its_people_need_no_flow() -> None:
    """`star_above` (one scope and its own people, by arithmetic) = `above` (a maximum flow),
    at levels below, just below, just above and above each scope's level alone, with some
    people settled and their lines fixed at random."""
    rng = np.random.default_rng(11)
    compared = 0
    for g, st in covered_states():
        st.solved[st.n_scopes:] = rng.random(st.n_nodes - st.n_scopes) < 0.2
        settled_person = (st.e_pnode >= 0) & st.solved[np.maximum(st.e_pnode, 0)]
        st.x[settled_person] = g["a"][settled_person] * rng.uniform(0.0, 2.0, int(settled_person.sum()))
        for scope in range(st.n_scopes):
            people = np.unique(st.e_pnode[(st.e_scope == scope) & (st.e_pnode >= 0)])
            people = people[~st.solved[people]]
            nodes = np.concatenate([[scope], people]).astype(np.int64)
            alone = float(st.alone(np.array([scope]))[0])
            # (not at the level itself: there the scope balances exactly, and only rounding
            # decides which side the flow puts it on)
            for t in {0.0, 0.5 * alone, alone * (1 - 1e-6), alone * (1 + 1e-6) + 1e-9, 2.0 * alone + 0.1} - {INF}:
                view = st.view(nodes)
                assert sorted(st.star_above(view, t).tolist()) == sorted(st.above(view, t).tolist()), (scope, t)
                compared += 1
    assert compared >= 200


@pytest.mark.parametrize(("maker", "n"), [(make_instance, N_INSTANCES), (make_wide, N_WIDE)])
def test_the_exact_search_is_proven_and_equals_the_lp_path(maker: Any, n: int) -> None:
    """A flow over each whole part: every answer passes the check and equals steps 0-3; and
    searched again near that answer (regions), the same."""
    solved = 0
    for seed in range(n):
        p = maker(seed)
        if not covered(p):
            continue
        why, x = cut_answer(p)
        assert why == "", (maker.__name__, seed, why)
        assert_same_x(p, x, solve_caps(p, method="decompose").x)
        g = edges_of(p)
        rhs = np.concatenate([g["s_rhs"], g["p_cap"]])
        exact = solve_by_cuts(g["a"], g["u"], g["e_scope"], g["e_pnode"], rhs, g["s_rhs"].shape[0])
        why_near, x_near = cut_answer(p, approx=np.where(np.isnan(exact.level), -INF, exact.level))
        assert why_near == ""
        np.testing.assert_allclose(x_near, x, rtol=1e-9, atol=1e-9 * float(p.ideal.max()))
        solved += 1
    assert solved >= 15


def test_a_person_bound_only_by_a_line_raised_into_them() -> None:
    """p1 is cut from 100 to 40, so J0 raises its other lines; p0 (cap 25) then reaches their
    cap only through J0's raise and gives up part of their J1 line for it. At a level below
    that, p0's cap is not binding at all: splitting the search at such a level (instead of
    taking the top group first) gets this wrong."""
    p = CapProblem(ideal=np.array([20.0, 100.0, 80.0, 5.0, 50.0]), person=np.array([0, 1, 2, 0, 2]),
                   project=np.array([0, 0, 0, 1, 1]), role=np.zeros(5, dtype=np.int64),
                   zeroed=np.zeros(5, dtype=bool), period_cap=np.array([25.0, 40.0, INF]), pair_cap=None,
                   budget=None, scope="project", person_ids=["p0", "p1", "p2"], project_ids=["J0", "J1"],
                   role_names=ROLE_NAMES)
    why, x = cut_answer(p)
    assert why == ""
    ref = solve_caps(p, method="pulp").x
    np.testing.assert_allclose(x, ref, rtol=1e-7, atol=1e-7)
    # J0 rises to 60/85 = +70.6%; p0 at their cap of 25, their J1 line cut by as much
    level = 60.0 / 85.0
    assert x[0] + x[3] == pytest.approx(25.0)
    assert x[3] == pytest.approx(5.0 * (1 - level))
    assert x[2] == pytest.approx(80.0 * (1 + level))


def test_a_wrong_guess_still_ends_in_the_exact_answer() -> None:
    """Guess every level at -inf (regions of one node and its neighbours): the near searches
    may fail their check, the exact one does not."""
    for seed in (4, 20, 90, 146):
        p = make_wide(seed)
        g = edges_of(p)
        found = solve_by_levels_cuts(g["a"], g["u"], g["e_scope"], g["e_pnode"], g["s_rhs"], g["p_cap"],
                                     np.full(g["s_rhs"].shape[0] + g["p_cap"].shape[0], -INF), set(), None)
        assert found.x is not None, found.reason
        x = _per_line(found.x, p.ideal, g["active"], g["e_of"], g["a"])
        assert_same_x(p, x, solve_caps(p, method="decompose").x)


def test_where_the_settling_order_fails_the_cuts_answer() -> None:
    """The reference instances (and a few more wide ones found by bench/levels_soak.py) take
    this path: the passes of levels.py give up, the cuts answer, proven, equal to steps 0-3;
    some only at the second search, some after answering the max-payout question inside."""
    extra = [make_wide(seed) for seed in (86, 90, 146, 177, 260)]
    reference = [make_instance(seed) for seed in range(N_INSTANCES)] + [make_wide(seed) for seed in range(N_WIDE)]
    taken: list[dict[str, int]] = []
    for p in reference + extra:
        fast = solve_caps(p, method="fast")
        if fast.stats.get("cut_rounds"):
            assert fast.stats.get("levels") == 1
            assert_same_x(p, fast.x, solve_caps(p, method="decompose").x)
            taken.append(fast.stats)
    assert len(taken) >= 8, taken
    assert any(stats["cut_rounds"] >= 2 for stats in taken), taken
    assert any(stats.get("cut_payout_split") for stats in taken), taken


def test_a_failed_flow_is_a_reason_not_a_crash(monkeypatch: pytest.MonkeyPatch) -> None:
    class NoFlow:
        OPTIMAL = 0

        def add_arcs_with_capacity(self, *args: object) -> None:
            pass

        def solve(self, *args: object) -> int:
            return 3  # not OPTIMAL

    monkeypatch.setattr(cuts.max_flow, "SimpleMaxFlow", NoFlow)
    p = make_wide(4)
    g = edges_of(p)
    found = solve_by_cuts(g["a"], g["u"], g["e_scope"], g["e_pnode"], np.concatenate([g["s_rhs"], g["p_cap"]]),
                          g["s_rhs"].shape[0])
    assert found.reason == "OR-Tools found no maximum flow"
    # and the engine still answers (by steps 0-3)
    sol = solve_caps(p, method="fast")
    assert_same_x(p, sol.x, solve_caps(p, method="decompose").x)
