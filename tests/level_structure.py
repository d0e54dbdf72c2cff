"""The shape every cap optimum has (SPEC §6), stated as a check on a solution.

Without a period budget, the leximin optimum is made of levels (measured on synthetic
companies and the reference instances; written up in BENCHMARKS.md, "Next"):

- each redistribution scope s has an uplift level lambda_s: every line of a person whose
  period cap does not bind, and that no person-project cap pins, deviates by exactly
  lambda_s (what the scope's capped members give up is shared in proportion to ideals);
- each person i whose period cap binds has a cut level nu_i; each of their lines is
  * cut to -nu_i (or to 0) where its scope's level is lower: lambda_s <= nu_i,
  * raised with its scope, to lambda_s, where the scope's level is higher: lambda_s >= nu_i,
  * or in between, -nu_i <= d <= lambda_s, only where the two levels are equal (a "tie":
    the person gives up there just enough to hold the scope at their own level).

So a capped person is never cut more where a project would have to lift its other members
further than the person is cut, and never cut less than elsewhere where it would not.
This check states those necessary conditions; a solution that spreads a cut evenly where a
thin project cannot absorb it, or that leaves a scope's free members at different ratios,
fails it. The next cap algorithm (one that finds these levels directly rather than by one
LP round per level) must produce exactly this shape.
"""

from __future__ import annotations

import numpy as np

from incentive.caps import CapProblem


def level_violations(p: CapProblem, x: np.ndarray, tol: float = 1e-6) -> list[str]:
    """Every place where `x` departs from the level shape above (empty: it has the shape).

    Lines held at 0 (leavers under forfeit) and lines of a (person, project) pair at its
    person-project cap are left out (a cap of their own pins them); scopes without a free
    line have no observable level and their lines are not checked. Needs no budget."""
    assert p.budget is None, "the level shape is stated without a period budget"
    a = p.ideal
    act = ~p.zeroed & (a > 0)
    d = np.zeros_like(a)
    d[act] = x[act] / a[act] - 1.0
    money_tol = 1e-6 * np.maximum(1.0, a.max(initial=1.0))

    pinned = np.zeros(p.n, dtype=bool)
    if p.pair_cap is not None:
        key = p.person.astype(np.int64) * max(len(p.project_ids), 1) + p.project
        _, pair = np.unique(key, return_inverse=True)
        pair_sum = np.bincount(pair, weights=x)
        pinned = pair_sum[pair] >= p.pair_cap - money_tol
    n_people = len(p.person_ids)
    total = np.bincount(p.person, weights=x, minlength=n_people)
    binding = total >= p.period_cap - money_tol  # inf caps never bind

    scope = p.scope_group()
    _, s = np.unique(scope, return_inverse=True)
    n_scopes = int(s.max()) + 1 if s.size else 0
    problems: list[str] = []

    free = act & ~pinned & ~binding[p.person]
    lo = np.full(n_scopes, np.inf)
    hi = np.full(n_scopes, -np.inf)
    np.minimum.at(lo, s[free], d[free])
    np.maximum.at(hi, s[free], d[free])
    known = np.isfinite(lo)
    for k in np.flatnonzero(known & (hi - lo > tol)).tolist():
        line = int(np.flatnonzero(free & (s == k))[0])
        problems.append(f"{p.scope_name(line)}: free lines deviate by {lo[k]:.6g} to {hi[k]:.6g}, not one level")
    lam = np.where(known, hi, np.nan)

    capped = act & ~pinned & binding[p.person] & known[s]
    # nu_i: at least the cut of every line (-d), and at least the level of every scope where
    # the person's line is not raised all the way with the scope (cut there, or tied)
    nu = np.full(n_people, -np.inf)
    np.maximum.at(nu, p.person[capped], -d[capped])
    held_back = capped & (d < lam[s] - tol)
    np.maximum.at(nu, p.person[held_back], lam[s][held_back])
    for line in np.flatnonzero(capped).tolist():
        level, cut, dev = float(lam[s[line]]), float(nu[p.person[line]]), float(d[line])
        where = f"line {line} ({p.person_ids[int(p.person[line])]} in {p.scope_name(line)})"
        if dev > level + tol:
            problems.append(f"{where}: a capped person's line deviates {dev:.6g}, above its scope's level {level:.6g}")
        elif abs(dev - level) <= tol:
            if level < cut - tol:
                problems.append(f"{where}: raised with its scope to {level:.6g} though the person is cut by {cut:.6g}")
        elif abs(dev + cut) <= tol or (x[line] <= money_tol and cut >= 1.0 - tol):
            if level > cut + tol:
                problems.append(f"{where}: cut by {cut:.6g} where its scope lifts others by {level:.6g}")
        elif abs(level - cut) > tol or dev < -cut - tol:
            problems.append(f"{where}: deviates {dev:.6g} between its person's cut {cut:.6g} "
                            f"and its scope's level {level:.6g}, which are not tied")
    return problems
