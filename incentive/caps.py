"""Caps (SPEC §6): the optimizer that enforces every cap and places what a cap cuts off.

Variables: the final amount x_l >= 0 of each line with ideal x*_l > 0 (leavers under
`people.leaver = "forfeit"` are held at 0). Constraints: person-project cap, person period
cap, period budget, and conservation by `caps.redistribute` ("none": x_l <= x*_l; "role"
/ "project": each scope pays at most what its lines' ideals add up to, leavers' included).

Objective, in strict priority: (1) pay out as much as the caps allow; (2) among those,
make the sorted (largest first) vector of relative deviations |x_l - x*_l| / x*_l as
small as possible (leximin). So what a cap cuts off is spread over the other lines of its
scope in proportion to their ideals, and nobody deviates further than some cap forces.

How it is solved, fast and exactly:

L. Levels (incentive.levels, method "fast"). Without a binding budget the optimum is a set
   of levels: an uplift level per scope, a cut level per person whose period cap binds,
   and each line raised with its scope or cut with its person, whichever level is higher.
   They are found directly, top down, and the answer is checked against that shape, which
   proves it optimal. Where the settling order goes wrong, the top groups are found with
   maximum flows instead (incentive.cuts), checked the same way. Where the check still
   fails (or the budget binds, or a person-project cap spans scopes), steps 0-3 solve the
   problem (method "decompose" goes there directly).
0. Pre-cut. A person whose ideal, after their person-project caps, exceeds their period
   cap is cut up front by their own leximin: every project gets the same ratio of its
   ideal unless its person-project cap stops it lower, summing to the cap (level mu = the
   relative cut). Those lines are then held, and steps 1-3 place the rest. The pre-cut is
   kept only where it is provably the optimum: every part that holds a scope of the
   person's pays out all it holds, and no line there (other than lines pinned evenly at a
   cap of their own) deviates more than mu. Then leximin, working down from the largest
   deviation, meets the person's lines before anything they could trade with. People who
   fail the check are given back to the optimizer (their lines join their scopes' parts).
1. Decomposition. Lines start in parts, one per scope (a project, a (project, role), or
   the line itself under "none"). Each part is solved with only the constraints that lie
   wholly inside it. If a constraint that spans parts is then violated, those parts merge
   and are solved again; when none is violated the union of the parts' optima is the
   optimum of the whole problem (it is optimal for a relaxation and feasible for the
   whole). Parts where nothing binds keep x = x* and need no solver.
2. Closed form. A part that is one scope is a water-filling: each person's lines share
   one cap; everyone gets the same ratio w of their ideal unless their cap stops them,
   with w set so the part pays out the most it can.
3. LP. Parts that span several scopes (people coupled by a binding period cap, a person
   in two roles under "role", a binding budget) go to an LP, all such parts batched in
   one model: first maximise the payout, then leximin by rounds of min-max, each round
   holding the lines whose deviation row has a non-zero dual at their values (they
   cannot do better in any optimum).

`method="pulp"` skips 1-2 and solves the whole problem as one PuLP model: the reference
the fast path is tested against.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import lp as lpmod
from .levels import LevelResult, solve_levels

TOL = 1e-9
_DEBUG = bool(os.environ.get("INCENTIVE_DEBUG_CAPS"))


@dataclass(frozen=True, eq=False)
class CapProblem:
    """The cap problem over lines (person, project, role) with their ideal amounts."""

    ideal: np.ndarray
    person: np.ndarray
    project: np.ndarray
    role: np.ndarray
    zeroed: np.ndarray  # bool: held at 0 (leaver under "forfeit")
    period_cap: np.ndarray  # per person index; inf where none applies
    pair_cap: float | None
    budget: float | None
    scope: str  # "none" | "role" | "project"
    person_ids: list[str]
    project_ids: list[str]
    role_names: list[str]

    @property
    def n(self) -> int:
        return int(self.ideal.shape[0])

    def scope_group(self) -> np.ndarray:
        """Scope of each line: the project, the (project, role), or the line itself."""
        if self.scope == "project":
            return self.project.astype(np.int64)
        if self.scope == "role":
            return self.project.astype(np.int64) * len(self.role_names) + self.role
        return np.arange(self.n, dtype=np.int64)

    def scope_name(self, line: int) -> str:
        j = self.project_ids[int(self.project[line])]
        if self.scope == "project":
            return f"scope[{j}]"
        if self.scope == "role":
            return f"scope[{j},{self.role_names[int(self.role[line])]}]"
        return f"ideal[{self.person_ids[int(self.person[line])]},{j},{self.role_names[int(self.role[line])]}]"


@dataclass
class CapSolution:
    x: np.ndarray
    binding: list[list[str]]
    solver: str
    status: str
    stats: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, eq=False)
class _Family:
    """One kind of cap constraint: a group per line and a right-hand side per group."""

    kind: str
    group: np.ndarray  # per line (all lines), dense group ids
    rhs: np.ndarray  # per group
    first_line: np.ndarray  # a line of each group (for naming)


def _families(p: CapProblem) -> list[_Family]:
    fams: list[_Family] = []
    if p.pair_cap is not None:
        key = p.person.astype(np.int64) * max(len(p.project_ids), 1) + p.project
        uniq, g, first = _dense(key)
        fams.append(_Family("person_project_cap", g, np.full(uniq.shape[0], p.pair_cap), first))
    caps = p.period_cap[p.person] if p.n else np.zeros(0)
    if np.isfinite(caps).any():
        uniq, g, first = _dense(p.person.astype(np.int64))
        fams.append(_Family("person_period_cap", g, p.period_cap[uniq], first))
    if p.budget is not None:
        fams.append(_Family("budget", np.zeros(p.n, dtype=np.int64), np.array([p.budget]),
                            np.zeros(1, dtype=np.int64)))
    return fams


def _dense(key: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    uniq, first, inv = np.unique(key, return_index=True, return_inverse=True)
    return uniq, inv.astype(np.int64), first


def _name(p: CapProblem, fam: _Family, g: int) -> str:
    if fam.kind == "budget":
        return "budget"
    line = int(fam.first_line[g])
    i = p.person_ids[int(p.person[line])]
    if fam.kind == "person_period_cap":
        return f"person_period_cap[{i}]"
    return f"person_project_cap[{i},{p.project_ids[int(p.project[line])]}]"


def solve_caps(p: CapProblem, method: str = "fast") -> CapSolution:
    """Final amounts per line. `method`: "fast" (levels, else steps 0-3), "decompose" (steps
    0-3 only: decomposed, closed form, HiGHS arrays) or "pulp" (the reference)."""
    x = np.where(p.zeroed, 0.0, p.ideal).astype(np.float64)
    fams = _families(p)
    s_group, s_rhs, s_first = _scopes(p)
    active = np.flatnonzero(~p.zeroed)
    stats = {"lines": p.n, "parts_solved": 0, "closed_form_parts": 0, "lp_parts": 0, "lp_lines": 0,
             "lp_solves": 0, "merge_rounds": 0}
    lp_used: list[str] = []
    ctx = _Ctx(p, fams, s_group, s_rhs, s_first, stats, lp_used)

    if method == "pulp":
        part = np.zeros(p.n, dtype=np.int64)
        ctx.solve_lp_parts(x, part, [0], active, backend="pulp")
    elif method == "fast" and _coupled(p) and (leveled := _solve_by_levels(p, fams, s_group, s_rhs, stats)) is not None:
        assert leveled.x is not None
        x = leveled.x
        lp_used.extend(["levels", "HiGHS"] if leveled.lp else ["levels"])
    elif method in ("fast", "decompose"):
        _solve_fast(ctx, x, active)
    else:
        raise ValueError(f"unknown cap method {method!r}")
    binding = _binding(p, fams, x, s_group, s_rhs)
    solver = "closed-form" if not lp_used else ("+".join(sorted(set(lp_used))))
    return CapSolution(x, binding, solver, "Optimal", stats)


def _coupled(p: CapProblem) -> bool:
    """Whether anyone has a period cap, so caps may couple projects. Without one, steps 0-3
    are closed form per scope (no LP) and faster than the levels."""
    return bool(np.isfinite(p.period_cap[p.person[~p.zeroed]]).any())


def _scopes(p: CapProblem) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each line's scope (dense id), what each scope holds (leavers' ideal included), and a
    line of each scope (for naming)."""
    s_uniq, s_group, s_first = _dense(p.scope_group())
    return s_group, np.bincount(s_group, p.ideal, minlength=s_uniq.shape[0]), s_first


def by_levels(p: CapProblem) -> LevelResult:
    """Step L of the module docstring: the optimum by levels (incentive.levels), without
    the budget; no amounts where that does not apply or the answer fails its check."""
    s_group, s_rhs, _ = _scopes(p)
    return _levels(p, _families(p), s_group, s_rhs)


def _levels(p: CapProblem, fams: list[_Family], s_group: np.ndarray, s_rhs: np.ndarray) -> LevelResult:
    active = np.flatnonzero(~p.zeroed)
    if active.shape[0] == 0 or (p.ideal[active] <= 0).any():
        return LevelResult(None, "no line to place, or a line without an ideal")
    pair = next((fam.group for fam in fams if fam.kind == "person_project_cap"), None)
    return solve_levels(p.ideal, p.person, s_group, active, s_rhs, p.period_cap, p.pair_cap, pair)


def _solve_by_levels(p: CapProblem, fams: list[_Family], s_group: np.ndarray, s_rhs: np.ndarray,
                     stats: dict[str, int]) -> LevelResult | None:
    """The answer by levels where it is the optimum with the budget too (it does not bind:
    the optimum without it is then the optimum with it), else None."""
    found = _levels(p, fams, s_group, s_rhs)
    stats.update(found.stats)
    if found.x is not None and (p.budget is None or float(found.x.sum()) <= p.budget):
        stats["levels"] = 1
        return found
    stats["levels_fallback"] = 1
    if _DEBUG:
        print("levels: fall back to the LP path:", found.reason or "the budget binds", file=sys.stderr)
    return None


def _solve_fast(ctx: _Ctx, x: np.ndarray, active: np.ndarray) -> None:
    """Steps 0-3 of the module docstring: pre-cut, then decompose, closed form and LP."""
    p, stats, s_group, held = ctx.p, ctx.stats, ctx.s_group, ctx.held
    part = s_group.copy()  # part label per line (zeroed and held lines keep stale labels; unused)
    pre = _precut(p, ctx.fams, active, ctx.s_rhs_full)
    if pre is not None:
        x[pre.lines] = pre.x
        held[pre.lines] = True
    ctx.refresh(x)
    rest = active[~held[active]]
    dirty = set(np.unique(part[rest]).tolist())
    early = pre is not None  # first pass: scopes alone, closed form only, to give back early
    while True:
        while True:
            ctx.solve_parts(x, part, dirty, rest)
            if early:
                break
            merges = ctx.violated_merges(x, part, rest)
            if not merges:
                break
            stats["merge_rounds"] += 1
            dirty = _merge(part, merges, rest)
        if pre is None:
            break
        release = ctx.precut_violations(x, part, rest, pre)
        if release.shape[0] == 0:
            if early:
                # nobody fails on the scopes alone: now enforce what spans them, and check again
                early = False
                dirty = set()
                merges = ctx.violated_merges(x, part, rest)
                if merges:
                    stats["merge_rounds"] += 1
                    dirty = _merge(part, merges, rest)
                continue
            break
        # give these people back to the optimizer: their lines join the parts of their scopes
        stats["precut_released"] = stats.get("precut_released", 0) + release.shape[0]
        lines = np.flatnonzero(held & np.isin(p.person, release))
        part[lines] = ctx.scope_parts(part, rest)[s_group[lines]]
        held[lines] = False
        x[lines] = p.ideal[lines]
        ctx.refresh(x)
        rest = active[~held[active]]
        dirty = set(np.unique(part[lines]).tolist())
    stats["precut_persons"] = int(np.unique(p.person[held]).shape[0])


@dataclass(frozen=True, eq=False)
class _Precut:
    """People over their period cap, cut up front (module docstring, step 0)."""

    lines: np.ndarray  # their active lines
    x: np.ndarray  # the amounts of those lines
    level: np.ndarray  # per person: the relative cut mu of their unpinned lines; nan if not cut


def _precut(p: CapProblem, fams: list[_Family], active: np.ndarray, s_rhs: np.ndarray) -> _Precut | None:
    """Cut each person whose ideal, after their person-project caps, exceeds their period cap.

    The cut is the person's own leximin: every project pair gets the same ratio w of its
    ideal (1 - w is the person's level mu) unless its person-project cap stops it lower,
    with w set so the person's lines add up to the period cap exactly. Returns None where
    this step does not apply: no period caps, redistribution "none" (nothing is passed on,
    so a cut person's scopes cannot be full), or a budget that could bind.
    """
    period = next((f for f in fams if f.kind == "person_period_cap"), None)
    if period is None or p.scope == "none" or active.shape[0] == 0:
        return None
    if p.budget is not None and float(s_rhs.sum()) > p.budget * (1 - 1e-12):
        return None
    per = p.person[active]
    n_people = len(p.person_ids)
    key = per.astype(np.int64) * max(len(p.project_ids), 1) + p.project[active]
    uniq, pair_of, _ = _dense(key)
    pair_ideal = np.bincount(pair_of, p.ideal[active], minlength=uniq.shape[0])
    pair_person = (uniq // max(len(p.project_ids), 1)).astype(np.int64)
    pair_cap = np.full(uniq.shape[0], np.inf) if p.pair_cap is None else np.full(uniq.shape[0], p.pair_cap)
    after_pairs = np.bincount(pair_person, np.minimum(pair_ideal, pair_cap), minlength=n_people)
    cap = p.period_cap
    over = np.isfinite(cap) & (after_pairs > cap * (1 + 1e-12) + 1e-9)
    if not over.any():
        return None
    level = np.full(n_people, np.nan)
    ratio = np.ones(uniq.shape[0])
    order = np.argsort(pair_person, kind="stable")
    bounds = np.searchsorted(pair_person[order], np.arange(n_people + 1))
    for i in np.flatnonzero(over).tolist():
        pairs = order[bounds[i]:bounds[i + 1]]
        limit = pair_cap[pairs] / pair_ideal[pairs]
        w = _water_level(pair_ideal[pairs], limit, float(cap[i]))
        ratio[pairs] = np.minimum(w, limit)
        level[i] = 1.0 - w
    sel = over[per]
    lines = active[sel]
    return _Precut(lines, p.ideal[lines] * ratio[pair_of[sel]], level)


def _merge(part: np.ndarray, merges: list[set[int]], active: np.ndarray) -> set[int]:
    """Union the part labels in each set; relabel lines; return the new (dirty) labels."""
    parent: dict[int, int] = {}

    def find(a: int) -> int:
        while parent.get(a, a) != a:
            a = parent[a]
        return a

    for group in merges:
        items = sorted(group)
        root = find(items[0])
        for other in items[1:]:
            r = find(other)
            if r != root:
                lo, hi = min(root, r), max(root, r)
                parent[hi] = lo
                root = lo
    touched = {a: find(a) for a in parent}
    if not touched:
        return set()
    labels = part[active]
    mapping_from = np.array(list(touched), dtype=np.int64)
    mapping_to = np.array([touched[a] for a in mapping_from.tolist()], dtype=np.int64)
    order = np.argsort(mapping_from)
    mapping_from, mapping_to = mapping_from[order], mapping_to[order]
    pos = np.searchsorted(mapping_from, labels)
    pos = np.clip(pos, 0, mapping_from.shape[0] - 1)
    hit = mapping_from[pos] == labels
    labels = np.where(hit, mapping_to[pos], labels)
    part[active] = labels
    return set(mapping_to.tolist())


class _Ctx:
    def __init__(self, p: CapProblem, fams: list[_Family], s_group: np.ndarray, s_rhs: np.ndarray,
                 s_first: np.ndarray, stats: dict[str, int], lp_used: list[str]) -> None:
        self.p, self.fams, self.s_group, self.s_first = p, fams, s_group, s_first
        self.stats, self.lp_used = stats, lp_used
        # lines whose amount is decided up front (the pre-cut); the rows the optimizer works
        # with are what remains of each cap and scope beside them
        self.held = np.zeros(p.n, dtype=bool)
        self.s_rhs_full = s_rhs
        self.s_rhs = s_rhs.copy()
        self.fam_rhs = [fam.rhs.copy() for fam in fams]

    def refresh(self, x: np.ndarray) -> None:
        """Recompute what each row leaves for the free lines, given the held ones."""
        hx = np.where(self.held, x, 0.0)
        taken = np.bincount(self.s_group, hx, minlength=self.s_rhs_full.shape[0])
        self.s_rhs = np.maximum(self.s_rhs_full - taken, 0.0)
        self.fam_rhs = [
            np.where(np.isfinite(fam.rhs),
                     np.maximum(fam.rhs - np.bincount(fam.group, hx, minlength=fam.rhs.shape[0]), 0.0), fam.rhs)
            for fam in self.fams
        ]

    # ---- which constraints lie inside one part -----------------------------------------
    def _internal(self, fam: _Family, part: np.ndarray, active: np.ndarray) -> np.ndarray:
        """Per group of `fam`: the part it lies wholly inside, or -1 if it spans parts."""
        n_groups = fam.rhs.shape[0]
        g = fam.group[active]
        pt = part[active]
        lo = np.full(n_groups, np.iinfo(np.int64).max, dtype=np.int64)
        hi = np.full(n_groups, -1, dtype=np.int64)
        np.minimum.at(lo, g, pt)
        np.maximum.at(hi, g, pt)
        return np.where((lo == hi) & (hi >= 0), hi, -1)

    def violated_merges(self, x: np.ndarray, part: np.ndarray, active: np.ndarray) -> list[set[int]]:
        merges: list[set[int]] = []
        for fam in self.fams:
            load = np.bincount(fam.group, x, minlength=fam.rhs.shape[0])
            over = load > fam.rhs + TOL * np.maximum(1.0, fam.rhs) + 1e-7
            if not over.any():
                continue
            inside = self._internal(fam, part, active)
            bad = np.flatnonzero(over & (inside < 0))
            if bad.shape[0] == 0:
                continue
            sel = active[np.isin(fam.group[active], bad)]
            pairs = np.unique(np.stack([fam.group[sel], part[sel]], axis=1), axis=0)
            splits = np.flatnonzero(np.diff(pairs[:, 0])) + 1
            for chunk in np.split(pairs[:, 1], splits):
                merges.append(set(chunk.tolist()))
        return merges

    def scope_parts(self, part: np.ndarray, rest: np.ndarray) -> np.ndarray:
        """Per scope: the part its free lines are in (a scope with none keeps its own id)."""
        scope_part = np.arange(self.s_rhs_full.shape[0], dtype=np.int64)
        scope_part[self.s_group[rest]] = part[rest]
        return scope_part

    def precut_violations(self, x: np.ndarray, part: np.ndarray, rest: np.ndarray, pre: _Precut) -> np.ndarray:
        """The pre-cut people whose cut is not proven optimal; empty when all are.

        A held person k is right where, in every part Q that holds a scope of k's: (a) every
        scope of Q pays out all it holds (so moving k's money between scopes cannot raise
        the payout), and (b) no line of Q deviates more than k's level mu_k, except lines
        pinned by a cap of their own (a person or person-project row cut evenly to its cap,
        which forces that deviation whatever else happens). Then leximin, working down from
        the largest deviation, meets k's lines before anything k could trade with.
        """
        p, s_rhs = self.p, self.s_rhs_full
        active_all = np.flatnonzero(~p.zeroed)
        paid = np.bincount(self.s_group[active_all], x[active_all], minlength=s_rhs.shape[0])
        full = paid >= s_rhs * (1 - 1e-9) - 1e-7
        # part of each scope, as dense ids
        labels, scope_q = np.unique(self.scope_parts(part, rest), return_inverse=True)
        n_q = labels.shape[0]
        part_full = np.ones(n_q, dtype=bool)
        np.logical_and.at(part_full, scope_q, full)
        # largest unpinned deviation per part
        ratio = x[rest] / p.ideal[rest]
        pinned = np.zeros(rest.shape[0], dtype=bool)
        for fam in self.fams:
            if fam.kind == "budget":
                continue
            g = fam.group[rest]
            ideal_sum = np.bincount(g, p.ideal[rest], minlength=fam.rhs.shape[0])
            with np.errstate(divide="ignore", invalid="ignore"):
                even = np.where(ideal_sum > 0, fam.rhs / ideal_sum, np.inf)
            off = np.zeros(fam.rhs.shape[0])
            np.maximum.at(off, g, np.abs(ratio - even[g]))
            pinned |= (even[g] < 1 - 1e-12) & (off[g] <= 1e-9)
        worst = np.zeros(n_q)
        dev = np.where(pinned, 0.0, np.abs(ratio - 1.0))
        np.maximum.at(worst, scope_q[self.s_group[rest]], dev)
        # per held person: the parts their scopes are in
        hl = np.flatnonzero(self.held)
        q_of = scope_q[self.s_group[hl]]
        mu = pre.level[p.person[hl]]
        bad = (~part_full[q_of]) | (worst[q_of] > mu + 1e-9)
        return np.unique(p.person[hl[bad]])

    # ---- solving parts ------------------------------------------------------------------
    def solve_parts(self, x: np.ndarray, part: np.ndarray, dirty: set[int], active: np.ndarray) -> None:
        if not dirty:
            return
        dirty_arr = np.array(sorted(dirty), dtype=np.int64)
        lines = active[np.isin(part[active], dirty_arr)]
        # how many scopes each dirty part spans
        pairs = np.unique(np.stack([part[lines], self.s_group[lines]], axis=1), axis=0)
        labels, n_scopes = np.unique(pairs[:, 0], return_counts=True)
        multi = set(labels[n_scopes > 1].tolist())
        single_lines = lines[~np.isin(part[lines], np.array(sorted(multi), dtype=np.int64))]
        if single_lines.shape[0]:
            self._closed_form(x, part, single_lines, active)
        if multi:
            if lpmod.HAVE_HIGHS:
                self.solve_lp_parts_incremental(x, part, sorted(multi), active)
            else:  # pragma: no cover - without highspy, the PuLP formulation does it all
                self.solve_lp_parts(x, part, sorted(multi), active, backend="pulp")

    def _closed_form(self, x: np.ndarray, part: np.ndarray, lines: np.ndarray, active: np.ndarray) -> None:
        """Water-filling for parts that are one scope each (see module docstring, step 2)."""
        p = self.p
        ideal = p.ideal
        x[lines] = ideal[lines]
        # each person's effective cap inside their part (internal constraints only)
        person_cap = np.full(lines.shape[0], np.inf)
        budget = np.inf
        for fam, rhs in zip(self.fams, self.fam_rhs, strict=True):
            inside = self._internal(fam, part, active)
            g = fam.group[lines]
            ok = inside[g] == part[lines]
            if fam.kind == "budget":
                if ok.any():
                    budget = float(rhs[0])
                continue
            person_cap = np.where(ok, np.minimum(person_cap, rhs[g]), person_cap)
        # parts whose ideal already fits and that hold no leaver money stay at the ideal
        s = self.s_group[lines]
        part_of = part[lines]
        order = np.lexsort((p.person[lines], part_of))
        lines, person_cap, s, part_of = lines[order], person_cap[order], s[order], part_of[order]
        cuts = np.flatnonzero(np.diff(part_of)) + 1
        starts = np.concatenate(([0], cuts))
        ends = np.concatenate((cuts, [lines.shape[0]]))
        for a, b in zip(starts.tolist(), ends.tolist(), strict=True):
            ls = lines[a:b]
            persons = p.person[ls]
            # per person in part: ideal sum and cap
            pu, pinv = np.unique(persons, return_inverse=True)
            I = np.bincount(pinv, ideal[ls], minlength=pu.shape[0])
            C = np.full(pu.shape[0], np.inf)
            np.minimum.at(C, pinv, person_cap[a:b])
            S = float(self.s_rhs[s[a]])
            total = float(I.sum())
            if np.all(I <= C + 1e-12) and total <= budget and total * (1 + 1e-12) >= S:
                continue  # nothing binds, no leaver money to place: x = x*
            self.stats["closed_form_parts"] += 1
            target = min(S, budget, float(np.minimum(C, np.inf).sum()))
            w = _water_level(I, C / I, target)
            ratio = np.minimum(w, C / I)
            x[ls] = ideal[ls] * ratio[pinv]

    def _lp_lines(self, part: np.ndarray, labels: list[int], active: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
        """The active lines of the given parts, sorted by part, as LP columns: (labels, lines,
        column of each line (-1 elsewhere), part ids, part position of each column)."""
        lab = np.array(labels, dtype=np.int64)
        lines = active[np.isin(part[active], lab)]
        lines = lines[np.argsort(part[lines], kind="stable")]
        if lines.shape[0] == 0:
            return None
        self.stats["lp_parts"] += len(labels)
        self.stats["lp_lines"] += lines.shape[0]
        col = np.full(self.p.n, -1, dtype=np.int64)
        col[lines] = np.arange(lines.shape[0])
        part_ids, part_pos = np.unique(part[lines], return_inverse=True)
        return lab, lines, col, part_ids, part_pos

    def solve_lp_parts(self, x: np.ndarray, part: np.ndarray, labels: list[int], active: np.ndarray,
                       backend: str) -> None:
        """Max payout, then leximin rounds, for several parts batched in one LP per round."""
        p = self.p
        picked = self._lp_lines(part, labels, active)
        if picked is None:
            return
        lab, lines, col, part_ids, part_pos = picked
        n, K = lines.shape[0], part_ids.shape[0]
        xs = p.ideal[lines]

        # constant rows: internal caps and scopes (under "none" a line's own ideal), as member lists
        row_members, row_rhs, row_names = self._constant_rows(part, lab, lines, active)

        def base_rows() -> tuple[list[np.ndarray], list[np.ndarray], list[float], list[float], list[str]]:
            idx = [col[m] for m in row_members]
            coef = [p.ideal[m] for m in row_members]
            return idx, coef, [-np.inf] * len(idx), list(row_rhs), list(row_names)

        # phase 1: maximise the payout
        idx, coef, rlo, rhi, names = base_rows()
        prog = _program(-xs, np.zeros(n), np.full(n, np.inf), idx, coef, rlo, rhi, names, n)
        sol = self._solve(prog, backend)
        y = np.clip(sol.x[:n], 0.0, None)
        payout = np.bincount(part_pos, xs * y, minlength=K)

        # phase 2: leximin rounds
        free = np.ones(n, dtype=bool)
        dev = np.zeros(n)
        fixval = np.ones(n)  # a fixed line is held at its value in the round that fixed it
        done = np.zeros(K, dtype=bool)
        final_y = y.copy()
        while not done.all():
            live_parts = np.flatnonzero(~done)
            live = np.isin(part_pos, live_parts)
            cols = np.flatnonzero(live)
            m = cols.shape[0]
            remap = np.full(n, -1, dtype=np.int64)
            remap[cols] = np.arange(m)
            tpos = np.full(K, -1, dtype=np.int64)
            tpos[live_parts] = m + np.arange(live_parts.shape[0])
            nv = m + live_parts.shape[0]
            lo = np.zeros(nv)
            hi = np.full(nv, np.inf)
            fixed = live & ~free
            lo[remap[fixed]] = fixval[fixed]
            hi[remap[fixed]] = fixval[fixed]
            lo[m:] = 0.0
            idx, coef, rlo, rhi, names = [], [], [], [], []
            for members, rhs, name in zip(row_members, row_rhs, row_names, strict=True):
                c_ = remap[col[members]]
                if c_[0] < 0:
                    continue
                idx.append(c_)
                coef.append(p.ideal[members])
                rlo.append(-np.inf)
                rhi.append(rhs)
                names.append(name)
            for k in live_parts.tolist():
                sel = np.flatnonzero(part_pos == k)
                idx.append(remap[sel])
                coef.append(xs[sel])
                rlo.append(float(payout[k]) * (1 - 1e-12))
                rhi.append(np.inf)
                names.append(f"payout[part{int(part_ids[k])}]")
            n_base = len(idx)
            free_cols = np.flatnonzero(live & free)
            for sign, tag in ((1.0, "dev_hi"), (-1.0, "dev_lo")):
                for j in free_cols.tolist():
                    idx.append(np.array([remap[j], tpos[part_pos[j]]]))
                    coef.append(np.array([sign, -1.0]))
                    rlo.append(-np.inf)
                    rhi.append(sign * 1.0)
                    names.append(f"{tag}[{j}]")
            obj = np.zeros(nv)
            obj[m:] = 1.0
            prog = _program(obj, lo, hi, idx, coef, rlo, rhi, names, nv)
            sol = self._solve(prog, backend)
            t = sol.x[m:]
            yv = np.clip(sol.x[:m], 0.0, None)
            nf = free_cols.shape[0]
            duals = np.abs(sol.duals[n_base:n_base + nf]) + np.abs(sol.duals[n_base + nf:n_base + 2 * nf])
            for kk, k in enumerate(live_parts.tolist()):
                in_k = part_pos[free_cols] == k
                fc = free_cols[in_k]
                tk = max(float(t[kk]), 0.0)
                if tk <= 1e-9:
                    hit = np.ones(fc.shape[0], dtype=bool)
                else:
                    dk = duals[in_k]
                    hit = dk > 1e-9
                    if not hit.any():
                        hit = dk == dk.max()
                free[fc[hit]] = False
                dev[fc[hit]] = tk
                fixval[fc[hit]] = yv[remap[fc[hit]]]
                if not free[part_pos == k].any():
                    done[k] = True
                    sel = np.flatnonzero(part_pos == k)
                    final_y[sel] = yv[remap[sel]]
        x[lines] = xs * final_y

    def _constant_rows(self, part: np.ndarray, lab: np.ndarray, lines: np.ndarray, active: np.ndarray
                       ) -> tuple[list[np.ndarray], list[float], list[str]]:
        """The rows that lie inside the given parts: caps (finite) and scopes, as member lists."""
        p = self.p
        members_out: list[np.ndarray] = []
        rhs_out: list[float] = []
        names_out: list[str] = []
        for fam, fam_rhs in zip(self.fams, self.fam_rhs, strict=True):
            inside = self._internal(fam, part, active)
            keep = np.flatnonzero(np.isin(inside, lab) & np.isfinite(fam.rhs))
            if keep.shape[0] == 0:
                continue
            members = lines[np.isin(fam.group[lines], keep)]
            groups = fam.group[members]
            order = np.argsort(groups, kind="stable")
            members, groups = members[order], groups[order]
            cuts = np.flatnonzero(np.diff(groups)) + 1
            for chunk in np.split(members, cuts):
                g = int(fam.group[chunk[0]])
                members_out.append(chunk)
                rhs_out.append(float(fam_rhs[g]))
                names_out.append(_name(p, fam, g))
        groups = self.s_group[lines]
        order = np.argsort(groups, kind="stable")
        cuts = np.flatnonzero(np.diff(groups[order])) + 1
        for chunk in np.split(lines[order], cuts):
            members_out.append(chunk)
            rhs_out.append(float(self.s_rhs[self.s_group[chunk[0]]]))
            names_out.append(p.scope_name(int(chunk[0])))
        return members_out, rhs_out, names_out

    def solve_lp_parts_incremental(self, x: np.ndarray, part: np.ndarray, labels: list[int],
                                   active: np.ndarray) -> None:
        """Max payout then leximin for parts that span scopes, in ONE HiGHS model kept warm.

        Columns: y_l = x_l / x*_l for each line, and one level t_k per part. Rows: the caps
        and scopes inside the parts; a payout row per part (off in phase 1); and two
        deviation rows per line, -t_k <= y_l - 1 <= t_k (off in phase 1). Phase 1 maximises
        the payout. Each leximin round minimises sum t_k, then fixes every line whose
        deviation row has a non-zero dual at its current value (its deviation is t_k in every
        optimum) and switches its deviation rows off; the next round starts from the last
        basis, so a round costs a few simplex iterations, not a new model.
        """
        import highspy

        p = self.p
        picked = self._lp_lines(part, labels, active)
        if picked is None:
            return
        lab, lines, col, part_ids, pp = picked
        n, K = lines.shape[0], part_ids.shape[0]
        a = p.ideal[lines]
        inf = highspy.kHighsInf

        members, rhs, _names = self._constant_rows(part, lab, lines, active)
        # rows: constant | payout per part | dev_hi per line | dev_lo per line
        # rows are scaled to a right-hand side of about 1, so HiGHS's absolute tolerances
        # act as relative ones on money rows of any size
        idx = [col[m] for m in members]
        scale = [1.0 / max(1.0, abs(r)) for r in rhs]
        val = [p.ideal[m] * f for m, f in zip(members, scale, strict=True)]
        order = np.argsort(pp, kind="stable")
        cuts = np.flatnonzero(np.diff(pp[order])) + 1
        part_ideal = np.bincount(pp, a, minlength=K)
        pay_scale = 1.0 / np.maximum(1.0, part_ideal)
        for chunk in np.split(order, cuts):
            idx.append(chunk)
            val.append(a[chunk] * pay_scale[pp[chunk[0]]])
        tcol = n + pp  # t column of each line's part
        dev_idx = np.stack([np.arange(n), tcol], axis=1)
        n_const = len(members)
        lens = np.array([len(i) for i in idx] + [2] * (2 * n), dtype=np.int64)
        indptr = np.concatenate(([0], np.cumsum(lens)))
        indices = np.concatenate([*idx, dev_idx.ravel(), dev_idx.ravel()]).astype(np.int32)
        data = np.concatenate([*val, np.tile([1.0, -1.0], n), np.tile([1.0, 1.0], n)])
        m = n_const + K + 2 * n
        row_lo = np.full(m, -inf)
        row_hi = np.full(m, inf)
        row_hi[:n_const] = np.array(rhs) * np.array(scale)
        with lpmod._quiet_stdout():
            h: Any = highspy.Highs()  # the stubs lack the incremental methods used below
        h.setOptionValue("output_flag", False)
        for key, value in lpmod.OPTION_SETS[0].items():
            h.setOptionValue(key, value)
        model = highspy.HighsLp()
        model.num_col_ = n + K
        model.num_row_ = m
        model.col_cost_ = np.concatenate([-a, np.zeros(K)])
        model.col_lower_ = np.zeros(n + K)
        model.col_upper_ = np.full(n + K, inf)
        model.row_lower_ = row_lo
        model.row_upper_ = row_hi
        model.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
        model.a_matrix_.start_ = indptr.astype(np.int32)
        model.a_matrix_.index_ = indices
        model.a_matrix_.value_ = data.astype(np.float64)
        model.a_matrix_.num_col_ = n + K
        model.a_matrix_.num_row_ = m
        h.passModel(model)

        band_lo = np.zeros(n + K)
        band_hi = np.full(n + K, inf)
        held = np.zeros(n + K, dtype=bool)
        pay_rows = np.arange(n_const, n_const + K, dtype=np.int32)
        pay_floor: np.ndarray | None = None  # the payout rows' lower bounds, once phase 1 set them

        def run() -> tuple[np.ndarray, np.ndarray]:
            ok = highspy.HighsModelStatus.kOptimal
            h.run()
            self.stats["lp_solves"] += 1
            # at tolerances this tight HiGHS now and then calls a model infeasible that the
            # last round's point satisfies (up to those tolerances). Retry cold (presolve on,
            # off, then IPM); then hold the fixed lines to their bands widened by 1e-7 (and the
            # payout rows by 1e-10); last, HiGHS's default tolerances.
            ladder: list[tuple[str, dict[str, Any]]] = [
                ("cold", {"presolve": "on"}), ("cold", {"presolve": "off"}),
                ("cold", {"presolve": "off", "solver": "ipm"}),
                ("widen", {"presolve": "on"}), ("widen", {"presolve": "off", "solver": "ipm"}),
                ("loose", {"presolve": "on"}),
            ]
            for step, options in ladder:
                if h.getModelStatus() == ok:
                    break
                if _DEBUG:
                    print("status", h.modelStatusToString(h.getModelStatus()), "retry", step, options, file=sys.stderr)
                self.stats["lp_retries"] = self.stats.get("lp_retries", 0) + 1
                if step == "widen":
                    # held lines to their bands, a little wider, and the payout rows too
                    cols = np.flatnonzero(held).astype(np.int32)
                    band_lo[cols] = np.maximum(band_lo[cols] - 1e-7, 0.0)
                    band_hi[cols] = band_hi[cols] + 1e-7
                    h.changeColsBounds(cols.shape[0], cols, band_lo[cols], band_hi[cols])
                    if pay_floor is not None:
                        pay_floor[:] = pay_floor * (1 - 1e-10)
                        h.changeRowsBounds(K, pay_rows, pay_floor, np.full(K, inf))
                if step == "loose":  # HiGHS's default tolerances (1e-7) as the last resort
                    h.setOptionValue("primal_feasibility_tolerance", 1e-7)
                    h.setOptionValue("dual_feasibility_tolerance", 1e-7)
                for key, value in options.items():
                    h.setOptionValue(key, value)
                h.clearSolver()
                h.run()
                for key, value in {**lpmod.OPTION_SETS[0], "solver": "simplex", "presolve": "on"}.items():
                    h.setOptionValue(key, value)
            if h.getModelStatus() != ok:
                raise lpmod.SolverError(f"HiGHS stopped with status {h.modelStatusToString(h.getModelStatus())}")
            sol = h.getSolution()
            return np.asarray(sol.col_value), np.asarray(sol.row_dual)

        # phase 1: the most the caps allow
        xv, _ = run()
        if _DEBUG:
            print(f"LP parts {K}, lines {n}, rows {m}", file=sys.stderr)
        y = np.clip(xv[:n], 0.0, None)
        payout = np.bincount(pp, a * y, minlength=K)
        # phase 2: leximin rounds
        # keep the phase-1 payout (to HiGHS's 1e-10 on the scaled row): leaking even 1e-9 of a
        # large pool can move a cent in rounding
        pay_floor = payout * pay_scale * (1 - 1e-12)
        h.changeRowsBounds(K, pay_rows, pay_floor, np.full(K, inf))
        hi_rows = n_const + K + np.arange(n, dtype=np.int32)
        lo_rows = hi_rows + n
        h.changeRowsBounds(n, hi_rows, np.full(n, -inf), np.ones(n))
        h.changeRowsBounds(n, lo_rows, np.ones(n), np.full(n, inf))
        h.changeColsCost(n + K, np.arange(n + K, dtype=np.int32), np.concatenate([np.zeros(n), np.ones(K)]))
        free = np.ones(n, dtype=bool)
        rounds = 0
        while free.any():
            rounds += 1
            xv, dual = run()
            y = np.clip(xv[:n], 0.0, None)
            t = np.maximum(xv[n:], 0.0)
            d = np.abs(dual[hi_rows]) + np.abs(dual[lo_rows])
            hit = free & ((d > 1e-9) | (t[pp] <= 1e-9))
            # a live part where no dual shows (degenerate): fix its largest-dual line
            live = np.zeros(K, dtype=bool)
            live[pp[free]] = True
            got = np.zeros(K, dtype=bool)
            got[pp[hit]] = True
            for k in np.flatnonzero(live & ~got).tolist():
                cand = np.flatnonzero(free & (pp == k))
                hit[cand[np.argmax(d[cand])]] = True
            fix = np.flatnonzero(hit).astype(np.int32)
            # a blocked line is held at its value. Its deviation is t_k in every optimum of
            # the round (and on the same side: those optima form a convex set), so the band
            # [1 - t_k, 1 + t_k] holds it just as well; that band always contains the last
            # point, which makes it the fallback when tolerances leave held values a hair
            # infeasible together (see run)
            tk = t[pp[fix]] + 1e-9
            band_lo[fix], band_hi[fix] = np.maximum(1.0 - tk, 0.0), 1.0 + tk
            held[fix] = True
            h.changeColsBounds(fix.shape[0], fix, y[fix], y[fix])
            h.changeRowsBounds(fix.shape[0], hi_rows[fix], np.full(fix.shape[0], -inf), np.full(fix.shape[0], inf))
            h.changeRowsBounds(fix.shape[0], lo_rows[fix], np.full(fix.shape[0], -inf), np.full(fix.shape[0], inf))
            free[fix] = False
            if _DEBUG:
                iters = h.getInfoValue("simplex_iteration_count")[1]
                print(f"round {rounds}: fixed {fix.shape[0]}, free {int(free.sum())}, t max {t.max():.6f}, "
                      f"iters {iters} time {h.getRunTime():.3f}", file=sys.stderr)
        self.stats["leximin_rounds"] = self.stats.get("leximin_rounds", 0) + rounds
        self.lp_used.append("HiGHS")
        x[lines] = a * y

    def _solve(self, prog: lpmod.LinearProgram, backend: str) -> lpmod.LPSolution:
        try:
            sol = lpmod.solve(prog, backend)
        except lpmod.SolverError:
            # the bands around fixed lines are 1e-9 wide; solver tolerances can make the
            # previous round's point fall just outside. Widen them slightly and retry.
            sol = lpmod.solve(_widen(prog), backend)
            self.stats["lp_retries"] = self.stats.get("lp_retries", 0) + 1
        self.stats["lp_solves"] += 1
        self.lp_used.append(sol.solver)
        return sol


def _widen(prog: lpmod.LinearProgram, eps: float = 1e-7) -> lpmod.LinearProgram:
    """The same LP with bounds and one-sided row limits loosened by `eps` (relative)."""
    lo = np.where(np.isfinite(prog.lo) & (prog.lo > 0), prog.lo - eps, prog.lo)
    hi = np.where(np.isfinite(prog.hi), prog.hi + eps, prog.hi)
    row_hi = np.where(np.isfinite(prog.row_hi), prog.row_hi + eps * np.maximum(1.0, np.abs(prog.row_hi)), prog.row_hi)
    row_lo = np.where(np.isfinite(prog.row_lo), prog.row_lo - eps * np.maximum(1.0, np.abs(prog.row_lo)), prog.row_lo)
    return lpmod.LinearProgram(prog.c, np.maximum(lo, 0.0), hi, prog.indptr, prog.indices, prog.data,
                               row_lo, row_hi, prog.row_names, prog.col_names)


def _program(c: np.ndarray, lo: np.ndarray, hi: np.ndarray, idx: list[np.ndarray], coef: list[np.ndarray],
             rlo: list[float], rhi: list[float], names: list[str], n: int) -> lpmod.LinearProgram:
    # scale each row to bounds of about 1 so the solver's absolute tolerances act as relative ones
    scale = [1.0 / max(1.0, abs(b if np.isfinite(b) else 0.0), abs(a if np.isfinite(a) else 0.0))
             for a, b in zip(rlo, rhi, strict=True)]
    coef = [cf * f for cf, f in zip(coef, scale, strict=True)]
    rlo = [a * f for a, f in zip(rlo, scale, strict=True)]
    rhi = [b * f for b, f in zip(rhi, scale, strict=True)]
    lens = np.array([a.shape[0] for a in idx], dtype=np.int64)
    indptr = np.concatenate(([0], np.cumsum(lens))).astype(np.int64)
    indices = np.concatenate(idx).astype(np.int64) if idx else np.zeros(0, np.int64)
    data = np.concatenate(coef).astype(np.float64) if coef else np.zeros(0)
    return lpmod.LinearProgram(
        c=c, lo=lo, hi=hi, indptr=indptr, indices=indices, data=data,
        row_lo=np.array(rlo, dtype=np.float64), row_hi=np.array(rhi, dtype=np.float64),
        row_names=names, col_names=[f"y{k}" for k in range(n)],
    )


def _water_level(weights: np.ndarray, caps: np.ndarray, target: float) -> float:
    """The level w with sum(weights * min(w, caps)) == target (weights > 0, caps may be inf)."""
    order = np.argsort(caps, kind="stable")
    wgt, cap = weights[order], caps[order]
    below = np.concatenate(([0.0], np.cumsum(wgt * np.where(np.isfinite(cap), cap, 0.0))))
    rest = np.concatenate((np.cumsum(wgt[::-1])[::-1], [0.0]))
    for k in range(cap.shape[0]):
        # level in [cap[k-1], cap[k]]: lines < k are at their caps
        level = (target - below[k]) / rest[k]
        if level <= cap[k]:
            return float(level)
    return float(cap[-1])


def _binding(p: CapProblem, fams: list[_Family], x: np.ndarray, s_group: np.ndarray,
             s_rhs: np.ndarray) -> list[list[str]]:
    """For each line: the caps that are tight at the final amounts and hold the line, and the
    scope it was uplifted in (where it received money a cap cut off elsewhere)."""
    out: list[list[str]] = [[] for _ in range(p.n)]
    for fam in fams:
        load = np.bincount(fam.group, x, minlength=fam.rhs.shape[0])
        finite = np.isfinite(fam.rhs)
        rhs = np.where(finite, fam.rhs, 0.0)
        tight = finite & (load >= rhs - 1e-6 * np.maximum(1.0, np.abs(rhs)))
        for line in np.flatnonzero(tight[fam.group]).tolist():
            out[line].append(_name(p, fam, int(fam.group[line])))
    for line in np.flatnonzero(p.zeroed).tolist():
        out[line].append("leaver")
    if p.scope != "none":
        up = np.flatnonzero(x > p.ideal * (1 + 1e-9) + 1e-7)
        for line in up.tolist():
            out[line].append(p.scope_name(line))
    return out
