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


PAIRS_PER_CHUNK = 1 << 17  # (record, event) pairs held in memory at a time


def ideal_split(inp: PeriodInput, rules: RuleSet, events: list[Event]) -> IdealSplit:
    """Split every event's amount into ideal amounts per (person, project, role) line.

    Works over (record, event) pairs: every record of an event's project, events in order,
    records in input order within a project. Pairs are handled in chunks of whole events
    (so memory stays bounded), and every sum adds its terms in that same order, so the
    result does not depend on the chunk size.
    """
    c = inp.contributions
    roles = rules.role_names
    stages = rules.stage_names
    R, S, E = len(roles), len(stages), len(events)
    P, J = len(inp.people), len(inp.projects)
    alpha = float(rules.split.result_weight)
    L = int(rules.split.lookback_days)
    redistribute = rules.split.vacancy == "redistribute"
    role_w = np.array([float(rules.roles[r]) for r in roles])
    stage_w = np.array([float(rules.stages[s]) for s in stages])

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

    # --- records of projects with events, by project (input order within a project) ---
    has_event = np.zeros(J, dtype=bool)
    has_event[ev_project] = True
    rel = np.flatnonzero(has_event[c.project_index])
    rec_project = c.project_index[rel]
    order = rel[np.argsort(rec_project, kind="stable")]
    del rel, rec_project
    rec_project = c.project_index[order]
    rec_person = c.person_index[order]
    rec_role = c.role_index[order]
    r_start, r_end, r_fte, r_score = c.start[order], c.end[order], c.fte[order], c.score[order]
    counts = np.bincount(rec_project, minlength=J)
    offsets = np.concatenate(([0], np.cumsum(counts)[:-1])).astype(np.int64) if J else np.zeros(0, np.int64)

    # --- lines (person, project, role): dense ids ordered by (project, person, role), so a
    # project's lines are one contiguous range [line_lo, line_lo + n_lines) -------------
    local_key = (rec_project * max(P, 1) + rec_person) * R + rec_role
    line_local_key, rec_line = np.unique(local_key, return_inverse=True)
    del local_key
    n_lines = np.bincount(line_local_key // (max(P, 1) * R), minlength=J)
    line_lo = np.concatenate(([0], np.cumsum(n_lines)[:-1])).astype(np.int64) if J else np.zeros(0, np.int64)
    rec_local = rec_line - line_lo[rec_project]
    dl_project = line_local_key // (max(P, 1) * R)
    dl_person = (line_local_key // R) % max(P, 1)
    dl_role = line_local_key % R
    del line_local_key

    # --- (line, event) groups: for each event, every line of its project ---------------
    g_per_event = n_lines[ev_project] if E else np.zeros(0, np.int64)
    g_off = np.concatenate(([0], np.cumsum(g_per_event))).astype(np.int64)
    G0 = int(g_off[-1])
    g_event0 = np.repeat(np.arange(E, dtype=np.int64), g_per_event)
    g_dline0 = np.repeat(line_lo[ev_project], g_per_event) + (np.arange(G0) - np.repeat(g_off[:-1], g_per_event))

    # windows per event: W = [day - L + 1, day]; stage s = [a_s, min(b_s, day)]
    w_lo = ev_day - L + 1
    s_lo = [st_a[ev_project, s] for s in range(S)]
    s_hi = [np.minimum(st_b[ev_project, s], ev_day) for s in range(S)]
    # a record outside [earliest window start, day] has no effort for the event: its pairs
    # only add exact zeros to every sum, so they are left out (when all amounts are finite)
    earliest = w_lo.copy()
    for s in range(S):
        np.minimum(earliest, np.where(st_b[ev_project, s] >= st_a[ev_project, s], s_lo[s], earliest), out=earliest)
    prune = bool(np.isfinite(ev_amount).all())

    per_event = counts[ev_project] if E else np.zeros(0, np.int64)
    role_eff_flat = np.zeros(E * R)
    stage_role_eff = np.zeros((E, S, R))
    flat_sre = stage_role_eff.reshape(-1)
    cached: list[tuple[int, int, np.ndarray, np.ndarray, np.ndarray, list[np.ndarray]]] = []

    # --- pass 1: each pair's effort on W and in each stage window; sums per event and role
    for e0, e1 in _event_chunks(per_event):
        pe = per_event[e0:e1]
        n = int(pe.sum())
        pair_ev = np.repeat(np.arange(e0, e1, dtype=np.int64), pe)
        pair_rec = np.repeat(offsets[ev_project[e0:e1]] - (np.cumsum(pe) - pe), pe) + np.arange(n)
        p_start, p_end = r_start[pair_rec], r_end[pair_rec]
        p_day = ev_day[pair_ev]
        if prune:
            keep = np.flatnonzero((p_start <= p_day) & (p_end >= earliest[pair_ev]))
            pair_ev, pair_rec, p_start, p_end, p_day = (
                pair_ev[keep], pair_rec[keep], p_start[keep], p_end[keep], p_day[keep])
        p_role = rec_role[pair_rec]
        p_fte = r_fte[pair_rec]
        key = pair_ev * R + p_role  # (event, role)
        eff_w = p_fte * _empty_days(np.maximum(p_start, w_lo[pair_ev]), np.minimum(p_end, p_day))
        role_eff_flat[e0 * R:e1 * R] = np.bincount(key - e0 * R, eff_w, minlength=(e1 - e0) * R)
        p_fs = p_fte * r_score[pair_rec]
        effs = []
        for s in range(S):
            eff = p_fs * _empty_days(np.maximum(p_start, s_lo[s][pair_ev]), np.minimum(p_end, s_hi[s][pair_ev]))
            stage_role_eff[e0:e1, s, :] = np.bincount(key - e0 * R, eff, minlength=(e1 - e0) * R).reshape(e1 - e0, R)
            effs.append(eff)
        pair_group = g_off[pair_ev] + rec_local[pair_rec]
        cached.append((e0, e1, key, pair_group, eff_w, effs))
    del r_start, r_end, r_fte, r_score
    role_eff = role_eff_flat.reshape(E, R)

    # --- result part: shares per event -------------------------------------------------
    role_present = role_eff > 0
    role_frac = _shares(role_present, role_w, redistribute)
    result_money = (alpha * ev_amount)[:, None] * role_frac  # [E, R]

    forfeit = np.zeros((E, 3))
    any_role = role_present.any(axis=1)
    forfeit[:, 2] += np.where(any_role, 0.0, alpha * ev_amount)
    forfeit[:, 0] += np.where(any_role, alpha * ev_amount - result_money.sum(axis=1), 0.0)

    # --- process part: shares per event --------------------------------------------------
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

    # --- pass 2: each pair's money, summed per (line, event) group ------------------------
    g_result = np.zeros(G0)
    g_result_eff = np.zeros(G0)
    g_stage = np.zeros((G0, S))
    g_stage_eff = np.zeros((G0, S))
    flat_rm = result_money.reshape(-1)
    flat_re = role_eff.reshape(-1)
    flat_srm = stage_role_money.reshape(-1)
    while cached:
        e0, e1, key, pair_group, eff_w, effs = cached.pop(0)
        lo, hi = int(g_off[e0]), int(g_off[e1])
        pair_group -= lo
        pair_result = flat_rm[key] * _safe_ratio(eff_w, flat_re[key])
        g_result[lo:hi] = np.bincount(pair_group, pair_result, minlength=hi - lo)
        g_result_eff[lo:hi] = np.bincount(pair_group, eff_w, minlength=hi - lo)
        sr_key = (key // R) * (S * R) + key % R  # (event, stage 0, role) in [E, S, R]
        for s, eff in enumerate(effs):
            money = flat_srm[sr_key] * _safe_ratio(eff, flat_sre[sr_key])
            g_stage[lo:hi, s] = np.bincount(pair_group, money, minlength=hi - lo)
            g_stage_eff[lo:hi, s] = np.bincount(pair_group, eff, minlength=hi - lo)
            sr_key += R
    g_total = g_result + g_stage.sum(axis=1)

    # --- groups in (line, event) order with lines ordered by (person, project, role) ----
    dl_key = (dl_person * J + dl_project) * R + dl_role
    line_rank = np.empty(dl_key.shape[0], dtype=np.int64)
    line_rank[np.argsort(dl_key, kind="stable")] = np.arange(dl_key.shape[0])
    g_linepos = line_rank[g_dline0]
    perm = np.lexsort((g_event0, g_linepos))
    g_linepos = g_linepos[perm]
    g_event = g_event0[perm]
    g_total = g_total[perm]

    l_ideal = np.bincount(g_linepos, g_total, minlength=dl_key.shape[0])
    keep_line = l_ideal > 0
    new_index = np.cumsum(keep_line) - 1
    keep_group = keep_line[g_linepos] & (g_total > 0)
    kept = perm[keep_group]

    l_sorted = np.sort(dl_key)[keep_line]
    return IdealSplit(
        line_person=l_sorted // (J * R),
        line_project=(l_sorted // R) % J,
        line_role=l_sorted % R,
        line_ideal=l_ideal[keep_line],
        group_line=new_index[g_linepos][keep_group],
        group_event=g_event[keep_group],
        group_result=g_result[kept],
        group_result_effort=g_result_eff[kept],
        group_stage=g_stage[kept],
        group_stage_effort=g_stage_eff[kept],
        event_result_money=result_money,
        event_role_effort=role_eff,
        event_stage_money=stage_money,
        event_stage_role_money=stage_role_money,
        event_stage_role_effort=stage_role_eff,
        event_forfeit=forfeit,
    )


def _event_chunks(per_event: np.ndarray, limit: int = PAIRS_PER_CHUNK) -> list[tuple[int, int]]:
    """Consecutive ranges of events with about `limit` pairs each (at least one event)."""
    out: list[tuple[int, int]] = []
    E = per_event.shape[0]
    ends = np.cumsum(per_event)
    e0 = 0
    while e0 < E:
        base = int(ends[e0 - 1]) if e0 else 0
        e1 = max(int(np.searchsorted(ends, base + limit, side="right")), e0 + 1)
        out.append((e0, min(e1, E)))
        e0 = min(e1, E)
    return out
