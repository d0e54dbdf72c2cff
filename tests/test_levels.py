"""The cap optimum by levels (incentive/levels.py): its pieces, its check, and where it applies.

Its answers are compared with the independent leximin and with PuLP on every reference
instance in test_optimizer_reference (method "fast" takes this path where it can); these
tests pin the parts: the balance of one group, the check that proves an answer optimal
(and refuses a wrong one), and that the reference instances really drive it through merges,
tie cycles, splits and second passes."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest

from incentive.caps import by_levels, solve_caps
from incentive.levels import INF, balance_level, check_levels

from .test_optimizer_reference import N_INSTANCES, N_WIDE, ROLE_NAMES, make_instance, make_wide


def test_a_scope_alone_shares_what_it_holds_in_proportion() -> None:
    # 480 over ideals 100 and 300: everyone +20%
    assert balance_level(0.0, [(100.0, INF), (300.0, INF)], [], 480.0, 1e-9) == pytest.approx(0.2)


def test_a_line_at_its_person_project_cap_passes_the_rest_on() -> None:
    # the 100 line stops at 110 (+10%); 480 - 110 = 370 over the 300 line: +23.3%
    level = balance_level(0.0, [(100.0, 110.0), (300.0, INF)], [], 480.0, 1e-9)
    assert level == pytest.approx(370.0 / 300.0 - 1.0)


def test_a_person_alone_is_cut_evenly_to_their_cap() -> None:
    # ideals 600 and 400, cap 800: both cut by 20% (a person's balance holds minus their cap)
    assert balance_level(0.0, [], [(600.0, INF), (400.0, INF)], -800.0, 1e-9) == pytest.approx(0.2)


def test_a_person_over_their_cap_on_one_line_is_cut_to_zero_elsewhere() -> None:
    # 500 fixed by a higher scope, cap 500: the other line goes to 0 (any level >= 1)
    level = balance_level(-500.0, [], [(300.0, INF)], -500.0, 1e-9)
    assert level >= 1.0
    assert max(0.0, 300.0 * (1 - level)) == 0.0


def test_no_level_is_high_or_low_enough() -> None:
    # a scope whose lines are all capped below what it holds: +inf (it keeps money)
    assert balance_level(0.0, [(100.0, 150.0), (100.0, 150.0)], [], 400.0, 1e-9) == INF
    # a person whose capped lines fit under their cap whatever the level: -inf (room)
    assert balance_level(0.0, [], [(100.0, 150.0)], -400.0, 1e-9) == -INF
    # a person already over their cap through lines fixed by higher scopes: +inf (must tie)
    assert balance_level(-900.0, [], [(100.0, INF)], -800.0, 1e-9) == INF


def _solved_wide() -> list[int]:
    return [seed for seed in range(N_WIDE) if by_levels(make_wide(seed)).x is not None]


def test_the_check_refuses_an_answer_moved_off_the_optimum() -> None:
    """Move money between two lines of one scope (same payout, same caps): the check, which
    proves an answer optimal, must refuse it."""
    from incentive import levels

    seen: dict[str, object] = {}
    real = levels.check_levels

    def spy(*args, **kwargs):
        seen["args"], seen["kwargs"] = args, kwargs
        return real(*args, **kwargs)

    refused = 0
    for seed in _solved_wide()[:12]:
        levels.check_levels = spy
        try:
            assert by_levels(make_wide(seed)).x is not None
        finally:
            levels.check_levels = real
        a, u, e_scope, e_pnode, s_rhs, p_cap, level, xe, cyclic = seen["args"]  # type: ignore[misc]
        assert check_levels(a, u, e_scope, e_pnode, s_rhs, p_cap, level, xe, cyclic)[0] == ""
        # two lines of one scope, both with money: shift 1% of the smaller from one to the other
        for scope in np.unique(e_scope):
            lines = np.flatnonzero((e_scope == scope) & (xe > 1.0))
            if lines.shape[0] >= 2:
                moved = xe.copy()
                delta = 0.01 * min(moved[lines[0]], moved[lines[1]])
                moved[lines[0]] += delta
                moved[lines[1]] -= delta
                why, _ = check_levels(a, u, e_scope, e_pnode, s_rhs, p_cap, level, moved, cyclic)
                assert why != "", (seed, scope)
                refused += 1
                break
    assert refused >= 5


def test_scopes_keeping_money_apart_are_refused() -> None:
    """Two scopes that keep money, joined only through what they keep, placed apart: the
    check cannot prove that and must refuse (the LP path then places them together)."""
    a = np.array([100.0, 100.0])
    u = np.array([INF, INF])
    e_scope = np.array([0, 1])
    e_pnode = [2, 2]  # one person (node 2) in both scopes, cap 120, at level +inf
    s_rhs = np.array([200.0, 200.0])
    level = np.array([INF, INF, INF])
    xe = np.array([60.0, 60.0])
    why, _ = check_levels(a, u, e_scope, e_pnode, s_rhs, np.array([120.0]), level, xe, {})
    assert why == "scopes that keep money, not placed together"
    # placed together by the nested LP (one group): accepted
    assert check_levels(a, u, e_scope, e_pnode, s_rhs, np.array([120.0]), level, xe, {0: 0, 1: 0, 2: 0})[0] == ""


def test_the_reference_instances_drive_every_branch() -> None:
    """The reference comparisons only test this path if it is taken, through merges, tie
    cycles (the nested LP), splits, second passes and the max-payout split."""
    seen: Counter[str] = Counter()
    for maker, n in ((make_instance, N_INSTANCES), (make_wide, N_WIDE)):
        for seed in range(n):
            stats = solve_caps(maker(seed), method="fast").stats
            if stats.get("levels"):
                seen["solved"] += 1
                for key in ("level_merges", "level_cycles", "level_splits", "level_payout_split"):
                    seen[key] += int(bool(stats.get(key)))
                seen["passes>1"] += int(stats.get("level_passes", 1) > 1)
            else:
                seen["other"] += 1  # no period cap (steps 0-3 are closed form), or no proof
    assert seen["solved"] >= 60 and seen["other"] >= 20, seen
    assert seen["level_merges"] >= 20 and seen["level_cycles"] >= 10, seen
    assert seen["passes>1"] >= 2 and seen["level_splits"] >= 1, seen
    assert seen["level_payout_split"] >= 5, seen  # scopes that keep money, placed first


def test_a_binding_budget_or_a_cap_across_scopes_goes_to_the_lp_path() -> None:
    """Outside the shape: the budget binds, or a person-project cap spans two scopes (two
    roles under "role"). The fast method still answers, by steps 0-3, and says so."""
    from incentive.caps import CapProblem

    base = dict(ideal=np.array([600.0, 400.0, 1000.0]), person=np.array([0, 0, 1]),
                project=np.array([0, 0, 0]), role=np.array([0, 1, 0]), zeroed=np.zeros(3, dtype=bool),
                period_cap=np.array([800.0, INF]), person_ids=["p0", "p1"], project_ids=["J0"],
                role_names=ROLE_NAMES)
    budget = CapProblem(**base, pair_cap=None, budget=1500.0, scope="project")  # type: ignore[arg-type]
    spans = CapProblem(**base, pair_cap=900.0, budget=None, scope="role")  # type: ignore[arg-type]
    for p in (budget, spans):
        sol = solve_caps(p, method="fast")
        assert sol.stats.get("levels_fallback") == 1 and not sol.stats.get("levels")
        ref = solve_caps(p, method="pulp")
        np.testing.assert_allclose(sol.x, ref.x, rtol=1e-9, atol=1e-6)
    assert by_levels(spans).reason == "a person-project cap spans several scopes"
    assert math.isclose(float(solve_caps(budget).x.sum()), 1500.0, rel_tol=1e-12)


def test_a_capped_person_is_cut_only_where_others_absorb_it() -> None:
    """p0 (cap 900, ideals 500 in J0 and 800 in J1) is J1's only member: what p0 gave up in
    J1 nobody could take, so it would be lost, while in J0 p1 absorbs it. The payout comes
    first: p0 is paid J1 in full and cut in J0 only (not evenly by 31% in both)."""
    from incentive.caps import CapProblem

    p = CapProblem(ideal=np.array([500.0, 1000.0, 800.0]), person=np.array([0, 1, 0]),
                   project=np.array([0, 0, 1]), role=np.zeros(3, dtype=np.int64), zeroed=np.zeros(3, dtype=bool),
                   period_cap=np.array([900.0, INF]), pair_cap=None, budget=None, scope="project",
                   person_ids=["p0", "p1"], project_ids=["J0", "J1"], role_names=ROLE_NAMES)
    sol = solve_caps(p, method="fast")
    assert sol.stats.get("levels") == 1, sol.stats
    # p0: 800 in J1, 100 in J0; p1 absorbs the 400 p0 gives up in J0
    np.testing.assert_allclose(sol.x, [100.0, 1400.0, 800.0], rtol=1e-9)
    np.testing.assert_allclose(solve_caps(p, method="pulp").x, sol.x, rtol=1e-9, atol=1e-6)
