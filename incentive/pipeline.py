"""The allocation pipeline, top to bottom: events and pools -> ideal split -> caps ->
rounding -> result. (Loading and validation happen before, in `loading` and `model`.)"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np

from .caps import CapProblem, CapSolution, solve_caps
from .events import Event, period_events, project_pools
from .model import PeriodInput, day_number
from .money import units_floor
from .problems import InputError, Problem
from .rounding import Rounded, round_amounts
from .rules import RuleSet
from .split import FORFEIT_REASONS, IdealSplit, ideal_split

StageHook = Callable[[str], None]


@dataclass(eq=False)
class Allocation:
    """Everything computed for one period input under one rule set."""

    inp: PeriodInput
    rules: RuleSet
    events: list[Event]
    pools: dict[int, Decimal]
    split: IdealSplit
    period_caps: list[Decimal | None]  # per person index
    caps: CapSolution
    rounded: Rounded
    method: str
    timings: dict[str, float] = field(default_factory=dict)

    def document(self) -> dict[str, Any]:
        from .result import build_document

        return build_document(self)


@contextmanager
def _stage(name: str, timings: dict[str, float], hook: StageHook | None) -> Iterator[None]:
    if hook:
        hook(name)
    t0 = time.perf_counter()
    yield
    timings[name] = time.perf_counter() - t0


def effective_period_caps(inp: PeriodInput, rules: RuleSet) -> list[Decimal | None]:
    """Each person's period cap: the smallest of person_period_max and salary multiple x
    annual_base_salary (people without a salary are not capped by the multiple); None if neither."""
    out: list[Decimal | None] = []
    for p in inp.people:
        caps = []
        if rules.caps.person_period_max is not None:
            caps.append(rules.caps.person_period_max)
        if rules.caps.person_period_salary_multiple is not None and p.annual_base_salary is not None:
            caps.append(rules.caps.person_period_salary_multiple * p.annual_base_salary)
        out.append(min(caps) if caps else None)
    return out


def allocate(inp: PeriodInput, rules: RuleSet, method: str = "fast", hook: StageHook | None = None) -> Allocation:
    """Compute the allocation of a validated input under a validated rule set."""
    timings: dict[str, float] = {}
    with _stage("events_pools", timings, hook):
        events = period_events(inp, rules)
        pools = project_pools(events)
    _check_pool_sizes(inp, rules, pools)
    with _stage("ideal_split", timings, hook):
        split = ideal_split(inp, rules, events)
    with _stage("caps", timings, hook):
        period_caps = effective_period_caps(inp, rules)
        leaver_forfeit = rules.people.leaver == "forfeit"
        pend = day_number(inp.period.end)
        is_leaver = np.array(
            [p.left_on is not None and day_number(p.left_on) <= pend for p in inp.people], dtype=bool
        )
        zeroed = is_leaver[split.line_person] if leaver_forfeit else np.zeros(split.line_ideal.shape[0], bool)
        problem = CapProblem(
            ideal=split.line_ideal,
            person=split.line_person,
            project=split.line_project,
            role=split.line_role,
            zeroed=zeroed,
            period_cap=np.array([np.inf if c is None else float(c) for c in period_caps], dtype=np.float64),
            pair_cap=None if rules.caps.person_project_max is None else float(rules.caps.person_project_max),
            budget=None if rules.caps.period_budget is None else float(rules.caps.period_budget),
            scope=rules.caps.redistribute,
            person_ids=[p.id for p in inp.people],
            project_ids=[p.id for p in inp.projects],
            role_names=rules.role_names,
        )
        caps = solve_caps(problem, method=method)
    with _stage("rounding", timings, hook):
        unit = rules.rounding.unit
        reasons = _forfeit_reasons(split, events, pools, caps.x, zeroed)
        person_ids = [p.id for p in inp.people]
        project_ids = [p.id for p in inp.projects]
        role_names = rules.role_names
        keys = [
            (project_ids[j], person_ids[i], role_names[r])
            for i, j, r in zip(split.line_person.tolist(), split.line_project.tolist(),
                               split.line_role.tolist(), strict=True)
        ]
        cap_units = np.array([-1 if c is None else units_floor(c, unit) for c in period_caps], dtype=np.int64)
        rounded = round_amounts(
            unit=unit,
            pools=pools,
            line_project=split.line_project,
            line_person=split.line_person,
            line_x=caps.x,
            line_sort_key=keys,
            forfeit_reasons=reasons,
            pair_cap=rules.caps.person_project_max,
            period_cap_units=cap_units,
            budget=rules.caps.period_budget,
        )
    return Allocation(inp, rules, events, pools, split, period_caps, caps, rounded, method, timings)


def _forfeit_reasons(split: IdealSplit, events: list[Event], pools: dict[int, Decimal], x: np.ndarray,
                     zeroed: np.ndarray) -> dict[int, dict[str, float]]:
    """Unrounded forfeited money per project and reason.

    From the ideal split: vacant roles/stages and events with no contributors. From the
    optimizer: what it could not place, attributed first to leavers' money (up to their
    ideal) and the rest to caps.
    """
    out: dict[int, dict[str, float]] = {j: {} for j in pools}
    ev_project = np.array([e.project_index for e in events], dtype=np.int64)
    for k, reason in enumerate(FORFEIT_REASONS):
        per = {j: float(v) for j, v in enumerate(np.bincount(ev_project, split.event_forfeit[:, k]).tolist())} \
            if events else {}
        for j in pools:
            v = per.get(j, 0.0)
            if v > 1e-9:
                out[j][reason] = v
    n_proj = int(max(pools) + 1) if pools else 0
    ideal = np.bincount(split.line_project, split.line_ideal, minlength=n_proj)
    paid = np.bincount(split.line_project, x, minlength=n_proj)
    leaver = np.bincount(split.line_project, np.where(zeroed, split.line_ideal, 0.0), minlength=n_proj)
    for j in pools:
        unplaced = max(0.0, float(ideal[j] - paid[j]))
        lv = min(unplaced, float(leaver[j]))
        if lv > 1e-9:
            out[j]["leaver"] = lv
        if unplaced - lv > 1e-9:
            out[j]["caps"] = unplaced - lv
    return out


MAX_POOL_UNITS = 10**15  # beyond this, unrounded amounts in units lose cents in binary floats


def _check_pool_sizes(inp: PeriodInput, rules: RuleSet, pools: dict[int, Decimal]) -> None:
    """Refuse pools too large to round exactly (e.g. a mistyped rate or multiplier), naming them."""
    unit = rules.rounding.unit
    bad = [Problem(f"projects[{inp.projects[j].id}]",
                   f"project {inp.projects[j].id}: pool {pool} is too large to allocate in units of {unit} "
                   "(check pool rates, multipliers and the rounding unit)")
           for j, pool in sorted(pools.items()) if abs(pool / unit) >= MAX_POOL_UNITS]
    if bad:
        raise InputError(bad)


def allocate_document(inp: PeriodInput, rules: RuleSet, method: str = "fast") -> dict[str, Any]:
    """Convenience: allocate and return the result document."""
    return allocate(inp, rules, method=method).document()
