"""Rounding (SPEC §7): from unrounded amounts to payable units, reconciled exactly.

Normative, so that two correct implementations agree to the cent:

1. Per project: pool = round_half_even(B_j / u) units. Its items are its lines
   (x_l / u) and one forfeit item (B_j / u - sum x_l / u, at least 0). Floor every item
   (adding 1e-6 first, to absorb solver noise); give the leftover units one each to the
   items with the largest fractional parts, lines before the forfeit item on a tie, then
   by (person_id, role); fractional parts are compared to 1e-6 of a unit, finer
   differences being solver noise. A line gets no extra unit if that would take its person's total
   on the project above the person-project cap.
2. If a person's rounded total now exceeds their period cap, or the period's total
   exceeds the budget, take extra units back from the lines that received one, smallest
   fractional part first (ties: project id, person id, role), and give each to its
   project's forfeit item.
3. The forfeit item is itemised by reason with the same largest-remainder rule.

Everything here is integer units; floats only enter as the unrounded amounts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from .money import units_floor, units_half_even

NOISE = 1e-6


@dataclass(frozen=True, eq=False)
class Rounded:
    line_units: np.ndarray  # int64 per line
    line_extra: np.ndarray  # int8: +1 got a leftover unit, -1 had it taken back, 0 neither
    pool_units: dict[int, int]  # per project index
    forfeit_units: dict[int, dict[str, int]]  # per project index: reason -> units


TIE_DECIMALS = 6


def _rank(frac: float) -> float:
    """A fractional part as compared for the leftover units: to 1e-6 of a unit.

    Finer differences are solver noise (two identical contributors can come out of an LP
    3e-9 apart); comparing at 1e-6 makes them tie, and the tie rule of SPEC §7 decides.
    """
    return round(frac, TIE_DECIMALS)


def _floor_frac(v: float) -> tuple[int, float]:
    b = v + NOISE
    f = math.floor(b)
    return int(f), b - f


def round_amounts(
    *,
    unit: Decimal,
    pools: dict[int, Decimal],
    line_project: np.ndarray,
    line_person: np.ndarray,
    line_x: np.ndarray,
    line_sort_key: list[tuple[str, str, str]],  # (project_id, person_id, role) per line
    forfeit_reasons: dict[int, dict[str, float]],  # unrounded money per reason, per project
    pair_cap: Decimal | None,
    period_cap_units: np.ndarray,  # per person index; -1 = no cap
    budget: Decimal | None,
) -> Rounded:
    """Round every line and forfeit item per SPEC §7; lines + forfeit = pool exactly, per project."""
    u = float(unit)
    n = line_x.shape[0]
    pair_units = units_floor(pair_cap, unit) if pair_cap is not None else None
    pool_units: dict[int, int] = {}
    forfeit_total: dict[int, int] = {}

    # per line, as plain Python numbers (the same floats the per-line formulas give)
    vals_all = (np.asarray(line_x, dtype=np.float64) / u).tolist()
    shifted = np.asarray(vals_all, dtype=np.float64) + NOISE
    floored = np.floor(shifted)
    units_l: list[int] = [int(f) for f in floored.tolist()]
    frac: list[float] = (shifted - floored).tolist()
    del shifted, floored
    extra_l = [0] * n
    person_l: list[int] = np.asarray(line_person).tolist()
    project_l: list[int] = np.asarray(line_project).tolist()

    by_project: dict[int, list[int]] = {}
    for line in np.argsort(line_project, kind="stable").tolist():
        by_project.setdefault(project_l[line], []).append(line)

    for j in sorted(pools):
        lines = by_project.get(j, [])
        pool = units_half_even(pools[j], unit)
        pool_units[j] = pool
        forfeit_v = max(0.0, float(pools[j] / unit) - sum([vals_all[k] for k in lines]))
        f_forfeit, fr_forfeit = _floor_frac(forfeit_v)
        leftover = pool - sum([units_l[k] for k in lines]) - f_forfeit
        # candidates: (-frac, is_forfeit, person_id, role)
        cands = sorted(
            [(-_rank(frac[k]), 0, line_sort_key[k][1], line_sort_key[k][2], k) for k in lines]
            + [(-_rank(fr_forfeit), 1, "", "", -1)]
        )
        person_on_project: dict[int, int] = {}
        for k in lines:
            person_on_project[person_l[k]] = person_on_project.get(person_l[k], 0) + units_l[k]
        forfeit_units = f_forfeit
        if leftover < 0:  # solver noise pushed floors over the pool: take back from the smallest
            for _, is_f, _, _, k in reversed(cands):
                if leftover == 0:
                    break
                if is_f and forfeit_units > 0:
                    forfeit_units -= 1
                    leftover += 1
                elif not is_f and units_l[k] > 0:
                    units_l[k] -= 1
                    person_on_project[person_l[k]] -= 1
                    leftover += 1
        for _, is_f, _, _, k in cands:
            if leftover <= 0:
                break
            if is_f:
                forfeit_units += 1
                leftover -= 1
                continue
            i = person_l[k]
            if pair_units is not None and person_on_project[i] + 1 > pair_units:
                continue
            units_l[k] += 1
            extra_l[k] = 1
            person_on_project[i] += 1
            leftover -= 1
        forfeit_units += max(leftover, 0)  # no eligible item left: the rest is not paid
        forfeit_total[j] = forfeit_units

    # step 2: period caps, then the budget
    def take_back(candidates: list[int], excess: int) -> None:
        order = sorted(candidates, key=lambda k: (_rank(frac[k]), line_sort_key[k]))
        for k in order[:excess]:
            units_l[k] -= 1
            extra_l[k] = -1
            forfeit_total[project_l[k]] += 1

    if (period_cap_units >= 0).any():
        totals = np.bincount(line_person, np.array(units_l, dtype=np.int64), minlength=period_cap_units.shape[0])
        over = np.flatnonzero((period_cap_units >= 0) & (totals > period_cap_units))
        if over.shape[0]:
            lines_of: dict[int, list[int]] = {}
            for k in np.argsort(line_person, kind="stable").tolist():
                lines_of.setdefault(person_l[k], []).append(k)
            for i in over.tolist():
                mine = [k for k in lines_of[i] if extra_l[k] == 1]
                take_back(mine, int(totals[i] - period_cap_units[i]))
    if budget is not None:
        cap = units_floor(budget, unit)
        total = sum(units_l)
        if total > cap:
            take_back([k for k in range(n) if extra_l[k] == 1], total - cap)
    units = np.array(units_l, dtype=np.int64)
    extra = np.array(extra_l, dtype=np.int8)

    # step 3: itemise each forfeit item by reason
    forfeit_units_by_reason = {
        j: _itemise(forfeit_total[j], forfeit_reasons.get(j, {}), u) for j in sorted(pools)
    }
    return Rounded(units, extra, pool_units, forfeit_units_by_reason)


REASON_ORDER = ("vacant_role", "vacant_stage", "no_contributors", "leaver", "caps")


def _itemise(total: int, reasons: dict[str, float], u: float) -> dict[str, int]:
    """Split `total` forfeit units over reasons by largest remainder (ties in REASON_ORDER)."""
    names = [r for r in REASON_ORDER if reasons.get(r, 0.0) > 0] + sorted(
        r for r in reasons if r not in REASON_ORDER and reasons[r] > 0
    )
    if total == 0:
        return {}
    if not names:
        return {"caps": total}
    out: dict[str, int] = {}
    fracs: list[tuple[float, int, str]] = []
    for pos, r in enumerate(names):
        f, fr = _floor_frac(reasons[r] / u)
        out[r] = f
        fracs.append((-_rank(fr), pos, r))
    left = total - sum(out.values())
    fracs.sort()
    if left >= 0:
        for i in range(left):
            out[fracs[i % len(fracs)][2]] += 1
    else:
        for _, _, r in reversed(fracs):
            while left < 0 and out[r] > 0:
                out[r] -= 1
                left += 1
    return {r: v for r, v in out.items() if v > 0}
