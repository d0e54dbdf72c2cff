"""The cap optimum has the level shape of tests/level_structure.py (SPEC §6, leximin).

Checked on every reference instance without a budget (the small and the wide families of
test_optimizer_reference) and, in test_synth, on synthetic company S. The check is shown
to fail on a feasible, fully paid but unfair solution: the even cut of a person whose thin
project cannot absorb it."""

from __future__ import annotations

import numpy as np
import pytest

from incentive.caps import CapProblem, solve_caps

from .level_structure import level_violations
from .test_optimizer_reference import N_INSTANCES, N_WIDE, ROLE_NAMES, make_instance, make_wide


@pytest.mark.parametrize("seed", range(N_WIDE))
def test_wide_optimum_has_the_level_shape(seed: int) -> None:
    p = make_wide(seed)
    assert level_violations(p, solve_caps(p, method="fast").x) == []


def test_small_optima_have_the_level_shape() -> None:
    checked = 0
    for seed in range(N_INSTANCES):
        p = make_instance(seed)
        if p.budget is None:
            checked += 1
            assert level_violations(p, solve_caps(p, method="fast").x) == [], seed
    assert checked > 50


def _thin_project() -> CapProblem:
    """p0 (cap 800) has 600 in J0, where p1..p3 hold 3000, and 400 in J1, whose only other
    member p4 holds 10 (test_precut_is_given_back_where_a_scope_cannot_absorb_evenly)."""
    return CapProblem(ideal=np.array([600.0, 1000.0, 1000.0, 1000.0, 400.0, 10.0]),
                      person=np.array([0, 1, 2, 3, 0, 4]), project=np.array([0, 0, 0, 0, 1, 1]),
                      role=np.zeros(6, dtype=np.int64), zeroed=np.zeros(6, dtype=bool),
                      period_cap=np.array([800.0, 5000.0, 5000.0, 5000.0, 5000.0]), pair_cap=None,
                      budget=None, scope="project", person_ids=[f"p{i}" for i in range(5)],
                      project_ids=["J0", "J1"], role_names=ROLE_NAMES)


def test_an_even_cut_a_thin_project_cannot_absorb_breaks_the_shape() -> None:
    p = _thin_project()
    # p0 cut evenly by 20%: J0 passes 120 to p1..p3 (+4%), J1 passes 80 to p4 (+800%)
    even = np.array([480.0, 1040.0, 1040.0, 1040.0, 320.0, 90.0])
    assert even.sum() == pytest.approx(p.ideal.sum())
    # p0 holds back in J1 (J1 lifts p4 by 800%), so p0's cut level is 8; yet p0 is cut only
    # 20% in J0, whose level is 4%: not tied, and not cut to p0's level
    problems = level_violations(p, even)
    assert problems == ["line 0 (p0 in scope[J0]): deviates -0.2 between its person's cut 8 "
                        "and its scope's level 0.04, which are not tied"]
    # the optimum ties p0 with J1: J1's level equals p0's cut, and p0's J1 line sits between
    x = solve_caps(p, method="fast").x
    assert level_violations(p, x) == []
    cut = 1 - x[0] / 600.0
    assert x[5] / 10.0 - 1 == pytest.approx(cut, rel=1e-9)
    assert -cut < x[4] / 400.0 - 1 < cut


def test_free_members_of_one_scope_at_different_ratios_break_the_shape() -> None:
    p = _thin_project()
    x = solve_caps(p, method="fast").x.copy()
    x[1] += 5.0
    x[2] -= 5.0  # same payout, same caps, but p1 and p2 no longer share J0's level
    assert any("J0" in msg and "not one level" in msg for msg in level_violations(p, x))
