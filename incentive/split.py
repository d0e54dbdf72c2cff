"""Who gets it (SPEC §5): the ideal split of every event over the people who earned it.

Each event amount A is split into a result part alpha*A and a process part (1 - alpha)*A.

Result part: over the window W = [date - L + 1, date]. A role is present when its records
on the project have effort (fte x days) > 0 on W. The part is shared across present
roles by role share (renormalised under `redistribute`, the vacant share forfeited under
`forfeit`), then inside a role by each person's effort on W. Scores do not count here:
this rewards being there when the result happened.

Process part: for each rule-set stage the project lists with window [a, b], the stage
window for this event is [a, min(b, date)] (work after the event did not produce it). A
stage is present when some record has effort x score > 0 on it. The part is shared across
present stages by stage weight, then across the roles present in the stage by role share,
then inside (stage, role) by effort x score.

Everything is computed over (record, event) pairs as numpy arrays: no Python loop per
record. The only loop is over the rule set's stages (a handful).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .events import Event
from .model import PeriodInput, day_number
from .rules import RuleSet

FORFEIT_REASONS = ("vacant_role", "vacant_stage", "no_contributors")


@dataclass(frozen=True, eq=False)
class IdealSplit:
    """The ideal amounts and everything needed to explain them.

    Lines are (person, project, role) with ideal > 0. Groups are (line, event) pairs and
    carry the breakdown; per-event tables carry the shares a reader needs to redo the
    arithmetic.
    """

    # lines
    line_person: np.ndarray  # int person index
    line_project: np.ndarray  # int project index
    line_role: np.ndarray  # int role index
    line_ideal: np.ndarray  # float
    # (line, event) groups for the breakdown
    group_line: np.ndarray
    group_event: np.ndarray
    group_result: np.ndarray  # money from the result part
    group_result_effort: np.ndarray  # person's fte x days on W
    group_stage: np.ndarray  # [G, S] money from each process stage
    group_stage_effort: np.ndarray  # [G, S] person's fte x days x score on the stage window
    # per event
    event_result_money: np.ndarray  # [E, R] result money paid to each role
    event_role_effort: np.ndarray  # [E, R] role effort on W
    event_stage_money: np.ndarray  # [E, S] process money of each stage
    event_stage_role_money: np.ndarray  # [E, S, R]
    event_stage_role_effort: np.ndarray  # [E, S, R]
    event_forfeit: np.ndarray  # [E, 3] by FORFEIT_REASONS


def _empty_days(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """days(lo, hi) = hi - lo + 1 when hi >= lo, else 0 (inclusive calendar days)."""
    return np.maximum(hi - lo + 1, 0)


def _shares(present: np.ndarray, weights: np.ndarray, redistribute: bool) -> np.ndarray:
    """Fraction of the money each present member gets (last axis = members).

    Under `redistribute` the weights renormalise over present members; under `forfeit`
    absent members' weight is simply not paid. No member present gives all zeros.
    """
    w = np.where(present, weights, 0.0)
    if not redistribute:
        return w
    denom = w.sum(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denom > 0, w / np.where(denom > 0, denom, 1.0), 0.0)


def _safe_ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), 0.0)


def ideal_split(inp: PeriodInput, rules: RuleSet, events: list[Event]) -> IdealSplit:
    """Split every event's amount into ideal amounts per (person, project, role) line."""
    c = inp.contributions
    roles = rules.role_names
    stages = rules.stage_names
    R, S, E = len(roles), len(stages), len(events)
    J = len(inp.projects)
    alpha = float(rules.split.result_weight)
    L = int(rules.split.lookback_days)
    redistribute = rules.split.vacancy == "redistribute"
    role_w = np.array([float(rules.roles[r]) for r in roles])
    stage_w = np.array([float(rules.stages[s]) for s in stages])

    # --- index the records -----------------------------------------------------------
    person_ix = {p.id: i for i, p in enumerate(inp.people)}
    project_ix = {p.id: j for j, p in enumerate(inp.projects)}
    role_ix = {r: k for k, r in enumerate(roles)}
    rec_person = _lookup(c.person_id, person_ix)
    rec_project = _lookup(c.project_id, project_ix)
    rec_role = _lookup(c.role, role_ix)

    ev_project = np.array([e.project_index for e in events], dtype=np.int64)
    ev_day = np.array([e.day for e in events], dtype=np.int64)
    ev_amount = np.array([float(e.amount) for e in events], dtype=np.float64)

    # stage windows per project (an unlisted stage is an empty window)
    st_a = np.ones((J, S), dtype=np.int64)
    st_b = np.zeros((J, S), dtype=np.int64)
    stage_ix = {s: k for k, s in enumerate(stages)}
    for j, pj in enumerate(inp.projects):
        for name, win in pj.stages.items():
            st_a[j, stage_ix[name]] = day_number(win.start)
            st_b[j, stage_ix[name]] = day_number(win.end)

    # --- (record, event) pairs: every record of an event's project -------------------
    order = np.argsort(rec_project, kind="stable")
    counts = np.bincount(rec_project, minlength=J)
    offsets = np.concatenate(([0], np.cumsum(counts)[:-1])) if J else np.zeros(0, np.int64)
    per_event = counts[ev_project] if E else np.zeros(0, np.int64)
    n_pairs = int(per_event.sum())
    pair_ev = np.repeat(np.arange(E, dtype=np.int64), per_event)
    first = np.repeat(np.cumsum(per_event) - per_event, per_event)
    pair_rec = order[np.repeat(offsets[ev_project], per_event) + (np.arange(n_pairs) - first)]

    p_start, p_end = c.start[pair_rec], c.end[pair_rec]
    p_fte, p_score = c.fte[pair_rec], c.score[pair_rec]
    p_role = rec_role[pair_rec]
    p_day = ev_day[pair_ev]
    p_amount = ev_amount[pair_ev]

    # lines and (line, event) groups
    line_key = (rec_person * J + rec_project) * R + rec_role
    pair_line_key = line_key[pair_rec]
    g_key = pair_line_key * max(E, 1) + pair_ev
    g_uniq, pair_group = np.unique(g_key, return_inverse=True)
    G = g_uniq.shape[0]
    g_line_key = g_uniq // max(E, 1)
    g_event = g_uniq % max(E, 1)

    # --- result part -----------------------------------------------------------------
    eff_w = p_fte * _empty_days(np.maximum(p_start, p_day - L + 1), np.minimum(p_end, p_day))
    role_eff = np.bincount(pair_ev * R + p_role, eff_w, minlength=E * R).reshape(E, R)
    role_present = role_eff > 0
    role_frac = _shares(role_present, role_w, redistribute)
    result_money = (alpha * ev_amount)[:, None] * role_frac  # [E, R]
    pair_result = result_money[pair_ev, p_role] * _safe_ratio(eff_w, role_eff[pair_ev, p_role])

    forfeit = np.zeros((E, 3))
    any_role = role_present.any(axis=1)
    forfeit[:, 2] += np.where(any_role, 0.0, alpha * ev_amount)
    forfeit[:, 0] += np.where(any_role, alpha * ev_amount - result_money.sum(axis=1), 0.0)

    # --- process part ----------------------------------------------------------------
    stage_role_eff = np.zeros((E, S, R))
    pair_stage_eff = np.zeros((n_pairs, S))
    for s in range(S):
        a = st_a[ev_project, s]
        b = np.minimum(st_b[ev_project, s], ev_day)
        days = _empty_days(np.maximum(p_start, a[pair_ev]), np.minimum(p_end, b[pair_ev]))
        eff = p_fte * p_score * days
        pair_stage_eff[:, s] = eff
        stage_role_eff[:, s, :] = np.bincount(pair_ev * R + p_role, eff, minlength=E * R).reshape(E, R)
    stage_present = stage_role_eff.sum(axis=2) > 0
    stage_frac = _shares(stage_present, stage_w, redistribute)
    process = (1.0 - alpha) * ev_amount
    stage_money = process[:, None] * stage_frac  # [E, S]
    srole_frac = _shares(stage_role_eff > 0, role_w, redistribute)  # [E, S, R]
    stage_role_money = stage_money[:, :, None] * srole_frac  # [E, S, R]
    any_stage = stage_present.any(axis=1)
    forfeit[:, 2] += np.where(any_stage, 0.0, process)
    forfeit[:, 1] += np.where(any_stage, process - stage_money.sum(axis=1), 0.0)
    forfeit[:, 0] += stage_money.sum(axis=1) - stage_role_money.sum(axis=(1, 2))

    pair_stage = np.zeros((n_pairs, S))
    for s in range(S):
        denom = stage_role_eff[pair_ev, s, p_role]
        pair_stage[:, s] = stage_role_money[pair_ev, s, p_role] * _safe_ratio(pair_stage_eff[:, s], denom)
    del p_amount

    # --- aggregate to groups and lines -----------------------------------------------
    g_result = np.bincount(pair_group, pair_result, minlength=G)
    g_result_eff = np.bincount(pair_group, eff_w, minlength=G)
    g_stage = np.zeros((G, S))
    g_stage_eff = np.zeros((G, S))
    for s in range(S):
        g_stage[:, s] = np.bincount(pair_group, pair_stage[:, s], minlength=G)
        g_stage_eff[:, s] = np.bincount(pair_group, pair_stage_eff[:, s], minlength=G)
    g_total = g_result + g_stage.sum(axis=1)

    l_uniq, g_linepos = np.unique(g_line_key, return_inverse=True)
    l_ideal = np.bincount(g_linepos, g_total, minlength=l_uniq.shape[0])
    keep_line = l_ideal > 0
    new_index = np.cumsum(keep_line) - 1
    keep_group = keep_line[g_linepos] & (g_total > 0)

    l_uniq = l_uniq[keep_line]
    return IdealSplit(
        line_person=l_uniq // (J * R),
        line_project=(l_uniq // R) % J,
        line_role=l_uniq % R,
        line_ideal=l_ideal[keep_line],
        group_line=new_index[g_linepos][keep_group],
        group_event=g_event[keep_group],
        group_result=g_result[keep_group],
        group_result_effort=g_result_eff[keep_group],
        group_stage=g_stage[keep_group],
        group_stage_effort=g_stage_eff[keep_group],
        event_result_money=result_money,
        event_role_effort=role_eff,
        event_stage_money=stage_money,
        event_stage_role_money=stage_role_money,
        event_stage_role_effort=stage_role_eff,
        event_forfeit=forfeit,
    )


def _lookup(values: np.ndarray, index: dict[str, int]) -> np.ndarray:
    """Map an array of ids to integer indices (vectorised through the unique values)."""
    if values.shape[0] == 0:
        return np.zeros(0, dtype=np.int64)
    uniq, inv = np.unique(values.astype(str), return_inverse=True)
    codes = np.array([index[u] for u in uniq.tolist()], dtype=np.int64)
    return codes[inv]
