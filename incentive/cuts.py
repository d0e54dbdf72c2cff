"""Levels by cuts: the cap optimum's groups (incentive.levels) found with maximum flows.

Bound every line's deviation by t: x within [lo(t), hi(t)], lo(t) = a (1 - t) and
hi(t) = a (1 + t), both within [0, its person-project cap]. Whether every scope can then
pay out all it holds with every person within their cap is a flow question: write
x = lo(t) + y; source -> scope (what it holds less its lines' lo), scope -> person (hi - lo),
person -> sink (their cap less their lines' lo). It can iff a maximum flow fills every
source arc. Where it cannot, the scopes and people the source still reaches in the residual
graph (the minimum cut) cannot, together, stay within t.

The leximin optimum is then found top down, one group at a time, like this:

1. The top level t* of what is left is the least t at which it can (all its deviations
   at most t). Every node alone gives a lower bound (its level as a group of its own,
   every neighbour taken lower): the highest one, `top`, starts Newton's method from
   below: cut just below t, take the nodes above it as one group, t = that group's level
   (its balance); repeat until t no longer rises. That group is the top group: every
   solution at t* carries exactly hi(t*) on its lines out and lo(t*) on its lines in (a
   minimum cut is full in every maximum flow), so they are fixed; its tie lines inside are
   solved by conservation (a nested LP where they form a cycle).
2. Settle it, update its neighbours' bounds, repeat.

Before that, one flow with every line free up to its cap asks whether some scopes must keep
money; if so, the max-payout question is answered first (levels.payout_split) and that part
is placed.

This is exact, but each flow spans the top node's whole connected part of what is left. So
it is first run on a region: the nodes reached from the top node through nodes whose
approximate level (from an earlier search) is at most MARGIN (times max(1, top)) below
`top`, plus their neighbours, whose caps and holdings the flow must see (their own other
lines taken at their bounds: a relaxation, exact when the top group lies inside). Scopes and
people flagged by the caller are always searched from. A group that reaches the region's
edge grows it. A region that is one scope and its people needs no flow (`star_above`).

Flows are integral (OR-Tools' push-relabel on int64 capacities, money scaled to 2^56 over
what the flow carries) and regions are a guess, so every answer is only a candidate: the
caller proves it with levels.check_levels, like any other, and otherwise searches again
(levels.solve_by_levels_cuts: near the first answer, then over whole parts)."""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, field

import numpy as np
from ortools.graph.python import max_flow

INF = math.inf
DELTA = 1e-9  # how far below a level the cut is taken (relative to max(1, level))
REL_TOL = 1e-9
MAX_NEWTON = 50
KEEPS_MONEY = "a group that keeps money"
MARGIN = 0.05  # a region: nodes whose approximate level is at most this much (relative) below


class FlowFailed(Exception):
    """OR-Tools did not find a maximum flow."""


@dataclass
class CutLevels:
    """Per node its level (NaN: a person never bound), per edge its amount (NaN where the
    search failed), the groups whose tie lines need the nested LP, and what it did."""

    level: np.ndarray
    x: np.ndarray
    cyclic: dict[int, int]
    reason: str = ""
    stats: dict[str, int] = field(default_factory=dict)


def _hi(a: np.ndarray, u: np.ndarray, t: float) -> np.ndarray:
    """A line raised with its scope at level t >= 0: a (1 + t), at most its cap."""
    return np.minimum(u, a * (1.0 + t))


def _lo(a: np.ndarray, u: np.ndarray, t: float) -> np.ndarray:
    """A line cut with its person at level t >= 0: a (1 - t), within [0, its cap]."""
    return np.minimum(u, np.maximum(0.0, a * (1.0 - t)))


def group_balance(fixed: float, const: float, up_a: np.ndarray, up_u: np.ndarray,
                  down_a: np.ndarray, down_u: np.ndarray) -> float:
    """The level L >= 0 where fixed + sum hi(L) over `up` - sum lo(L) over `down` = const
    (levels.balance_level, vectorised): 0 if that holds already at 0 or below, +inf if no
    level is high enough. The left side is piecewise linear and never decreases in L."""

    def f(level: float) -> float:
        return float(fixed + _hi(up_a, up_u, level).sum() - _lo(down_a, down_u, level).sum() - const)

    if f(0.0) >= 0.0:
        return 0.0
    if not np.isfinite(up_u).all():
        pass
    elif f(INF if up_a.size == 0 else float(np.max(up_u / up_a)) + 1.0) < 0.0:
        return INF
    # the common case: no line at a bound
    a_up, a_down = float(up_a.sum()), float(down_a.sum())
    if a_up + a_down > 0.0:
        level = (const - fixed - a_up + a_down) / (a_up + a_down)
        if level >= 0.0 and (level <= 1.0 or down_a.size == 0) and bool(
                (up_a * (1 + level) <= up_u).all()) and bool((down_a * (1 - level) <= down_u).all()):
            return level
    points = np.unique(np.concatenate([
        [0.0, 1.0], (up_u / up_a - 1.0)[np.isfinite(up_u)], (1.0 - down_u / down_a)[np.isfinite(down_u)]]))
    points = points[points >= 0.0]
    lo_i, hi_i = 0, points.shape[0] - 1
    if f(float(points[hi_i])) < 0.0:  # beyond the last breakpoint only uncapped raised lines move
        slope = float(up_a[~np.isfinite(up_u)].sum())
        last = float(points[hi_i])
        return last - f(last) / slope if slope > 0 else INF
    while hi_i - lo_i > 1:  # f(points[lo_i]) < 0 <= f(points[hi_i])
        mid = (lo_i + hi_i) // 2
        if f(float(points[mid])) < 0.0:
            lo_i = mid
        else:
            hi_i = mid
    l0, l1 = float(points[lo_i]), float(points[hi_i])
    f0, f1 = f(l0), f(l1)
    return l0 + (0.0 - f0) * (l1 - l0) / (f1 - f0) if f1 > f0 else l1


class _Cuts:
    """The state of the search: amounts fixed so far, levels of settled nodes."""

    def __init__(self, a: np.ndarray, u: np.ndarray, e_scope: np.ndarray, e_pnode: np.ndarray,
                 rhs: np.ndarray, n_scopes: int) -> None:
        self.a, self.u, self.e_scope, self.e_pnode, self.rhs = a, u, e_scope, e_pnode, rhs
        self.n_scopes = n_scopes
        n_nodes = rhs.shape[0]
        self.n_nodes = n_nodes
        # each node's lines: by scope, and by person (people with a cap)
        order = np.argsort(e_scope, kind="stable")
        self.s_ptr = np.searchsorted(e_scope[order], np.arange(n_scopes + 1))
        self.s_edges = order
        capped = np.flatnonzero(e_pnode >= 0)
        order = capped[np.argsort(e_pnode[capped], kind="stable")]
        self.p_ptr = np.searchsorted(e_pnode[order], np.arange(n_scopes, n_nodes + 1))
        self.p_edges = order
        self.degree = np.concatenate([np.diff(self.s_ptr), np.diff(self.p_ptr)])
        self.x = np.full(a.shape[0], np.nan)
        self.level = np.full(n_nodes, np.nan)
        self.solved = np.zeros(n_nodes, dtype=bool)
        self.in_v = np.zeros(n_nodes, dtype=bool)
        self.local = np.zeros(n_nodes, dtype=np.int64)
        self.seen = np.zeros(n_nodes, dtype=bool)
        self.cyclic: dict[int, int] = {}
        self.stats = {"cut_flows": 0, "cut_groups": 0, "cut_ties": 0}

    def lines_of(self, node: int) -> np.ndarray:
        if node < self.n_scopes:
            return self.s_edges[self.s_ptr[node]:self.s_ptr[node + 1]]
        k = node - self.n_scopes
        return self.p_edges[self.p_ptr[k]:self.p_ptr[k + 1]]

    def edges(self, nodes: np.ndarray) -> np.ndarray:
        """The lines of `nodes`, each once (`in_v` must mark `nodes`)."""
        is_s = nodes < self.n_scopes
        by_scope = _gather(self.s_ptr, self.s_edges, nodes[is_s])
        by_person = _gather(self.p_ptr, self.p_edges, nodes[~is_s] - self.n_scopes)
        return np.concatenate([by_scope, by_person[~self.in_v[self.e_scope[by_person]]]])

    def view(self, nodes: np.ndarray) -> _View:
        self.in_v[:] = False
        self.in_v[nodes] = True
        e = self.edges(nodes)
        ks, kp = self.e_scope[e], self.e_pnode[e]
        s_in = self.in_v[ks]
        p_in = (kp >= 0) & self.in_v[np.maximum(kp, 0)]
        return _View(nodes, e, s_in, p_in, ~np.isnan(self.x[e]))

    def neighbours(self, nodes: np.ndarray) -> np.ndarray:
        """The unsettled nodes joined to `nodes` by a line, outside `nodes`."""
        return self.unseen_neighbours(nodes, self.in_v)

    def unseen_neighbours(self, nodes: np.ndarray, seen: np.ndarray) -> np.ndarray:
        """The unsettled nodes joined to `nodes` by a line and not marked in `seen` (which
        may be `in_v`: then outside `nodes`), each once."""
        self.in_v[:] = False
        self.in_v[nodes] = True
        e = self.edges(nodes)
        ends = np.concatenate([self.e_scope[e], self.e_pnode[e]])
        ends = np.unique(ends[ends >= 0])
        return ends[~self.solved[ends] & ~seen[ends]]

    def region(self, start: np.ndarray, floor: float, approx: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """The unsettled nodes reached from `start` through unsettled nodes: all of them
        (`approx` None), or through `start` and nodes whose approximate level is at least
        `floor` (+inf: always); with the nodes next to those, whose caps or holdings the
        flow must see. Also which of them were searched from (their every neighbour is in)."""
        seen = self.seen
        seen[:] = False
        seen[start] = True
        parts = [start]
        grown = [start]
        frontier = start
        ring = start[:0]
        while frontier.shape[0]:
            ends = self.unseen_neighbours(frontier, seen)
            seen[ends] = True
            parts.append(ends)
            if approx is None:
                frontier = ends
            else:
                high = approx[ends] >= floor
                frontier = ends[high]
                ring = np.concatenate([ring, ends[~high]])
                if frontier.shape[0] == 0 and ring.shape[0]:
                    # past the edge, only nodes always searched from
                    more = self.unseen_neighbours(ring, seen)
                    frontier = more[approx[more] == INF]
                    seen[frontier] = True
                    parts.append(frontier)
                    ring = ring[:0]
            grown.append(frontier)
        return np.sort(np.concatenate(parts)), np.concatenate(grown)

    def balance(self, v: _View) -> float:
        """The level of v's nodes as one group (every unsettled neighbour lower)."""
        x = self.x[v.e]
        fixed = float(x[v.known & v.s_in].sum() - x[v.known & v.p_in].sum())
        is_s = v.nodes < self.n_scopes
        const = float(self.rhs[v.nodes[is_s]].sum() - self.rhs[v.nodes[~is_s]].sum())
        up = ~v.known & v.s_in & ~v.p_in
        down = ~v.known & ~v.s_in & v.p_in
        e = v.e
        return group_balance(fixed, const, self.a[e[up]], self.u[e[up]], self.a[e[down]], self.u[e[down]])

    def alone(self, nodes: np.ndarray) -> np.ndarray:
        """The level of each node as a group of its own (`balance`, vectorised): the
        closed form where no line of it reaches a bound, `balance` for the rest."""
        is_s = nodes < self.n_scopes
        k = nodes.shape[0]
        lens = self.degree[nodes]
        e = np.concatenate([_gather(self.s_ptr, self.s_edges, nodes[is_s]),
                            _gather(self.p_ptr, self.p_edges, nodes[~is_s] - self.n_scopes)])
        owner = np.concatenate([np.repeat(np.flatnonzero(is_s), lens[is_s]),
                                np.repeat(np.flatnonzero(~is_s), lens[~is_s])])
        sign = np.where(is_s, 1.0, -1.0)
        x = self.x[e]
        known = ~np.isnan(x)
        a, u = self.a[e], self.u[e]
        fixed = np.bincount(owner[known], x[known], minlength=k) * sign
        const = self.rhs[nodes] * sign
        free_a = np.bincount(owner[~known], a[~known], minlength=k)
        at_ideal = np.bincount(owner[~known], np.minimum(a, u)[~known], minlength=k)
        at_most = np.bincount(owner[~known], np.where(is_s[owner], u, 0.0)[~known], minlength=k)
        f0 = fixed + sign * at_ideal - const  # scopes raise, people cut: f never decreases
        f_inf = fixed + at_most - const
        with np.errstate(divide="ignore", invalid="ignore"):
            level = (const - fixed) / free_a * sign - sign  # scopes: A/a - 1; people: 1 - C/a
        own = level[owner]
        over = ~known & np.where(is_s[owner], a * (1 + own) > u, a * (1 - own) > u)
        bad = np.bincount(owner[over], minlength=k) > 0
        out = np.where(f0 >= 0.0, 0.0, np.where(f_inf < 0.0, INF, level))
        fallback = (f0 < 0.0) & (f_inf >= 0.0) & (bad | ~np.isfinite(level) | (~is_s & (level > 1.0)))
        for i in np.flatnonzero(fallback).tolist():
            out[i] = self.balance(self.view(nodes[i:i + 1]))
        return out

    def above(self, v: _View, t: float) -> np.ndarray:
        """The nodes of v whose level is above t: those the source reaches in the residual
        graph of a maximum flow with every deviation bounded by t."""
        self.stats["cut_flows"] += 1
        e, nodes = v.e, v.nodes
        k = nodes.shape[0]
        local = self.local
        local[nodes] = np.arange(k)
        src, snk = k, k + 1
        a, u = self.a[e], self.u[e]
        lo = np.where(v.known, self.x[e], _lo(a, u, t))
        hi = np.where(v.known, self.x[e], _hi(a, u, t))
        ks, kp = self.e_scope[e], self.e_pnode[e]
        # what each node of v must pass on: scopes their holding, people (negative) their room
        need = np.where(nodes < self.n_scopes, self.rhs[nodes], -self.rhs[nodes])
        need -= np.bincount(local[ks[v.s_in]], lo[v.s_in], minlength=k)
        need += np.bincount(local[kp[v.p_in]], lo[v.p_in], minlength=k)
        free = ~v.known
        inner = free & v.s_in & v.p_in
        out = free & v.s_in & ~v.p_in
        give = need > 0
        supply = float(need[give].sum())
        if supply <= 0.0:
            return nodes[:0]
        # (the last arc, empty, only makes sure the solver knows the sink: without any arc
        # into it, OR-Tools reports an empty cut)
        tails = np.concatenate([np.full(int(give.sum()), src), np.flatnonzero(~give),
                                local[ks[inner]], local[ks[out]], [src]])
        heads = np.concatenate([np.flatnonzero(give), np.full(int((~give).sum()), snk),
                                local[kp[inner]], np.full(int(out.sum()), snk), [snk]])
        caps = np.concatenate([need[give], -need[~give], (hi - lo)[inner], (hi - lo)[out], [0.0]])
        scale = 2.0 ** 56 / supply  # room to spare below 2^63 for sums inside the solver
        ints = np.rint(np.minimum(np.maximum(caps, 0.0), supply) * scale).astype(np.int64)
        flow = max_flow.SimpleMaxFlow()
        flow.add_arcs_with_capacity(tails.astype(np.int32), heads.astype(np.int32), ints)
        if flow.solve(src, snk) != flow.OPTIMAL:
            raise FlowFailed("OR-Tools found no maximum flow")
        reach = np.asarray(flow.get_source_side_min_cut(), dtype=np.int64)
        return nodes[reach[reach < k]]

    def star_above(self, v: _View, t: float) -> np.ndarray:
        """`above` where v is one scope (its first node) and people of its own, none of them
        joined to another: no flow needed. People already over their cap at lo(t) are above
        t on their own. The scope is above t if it cannot pass on what it must with every
        line out at hi(t) and each person taking what room they have; then each person joins
        whose room is less than what the scope's line to them could carry (the flow would
        fill them, and the scope reaches them through that line)."""
        e, nodes = v.e, v.nodes
        scope = int(nodes[0])
        a, u = self.a[e], self.u[e]
        lo = np.where(v.known, self.x[e], _lo(a, u, t))
        hi = np.where(v.known, self.x[e], _hi(a, u, t))
        k = nodes.shape[0]
        local = self.local
        local[nodes] = np.arange(k)
        kp = self.e_pnode[e]
        person_side = v.p_in
        room = np.where(nodes < self.n_scopes, 0.0, self.rhs[nodes])
        room -= np.bincount(local[kp[person_side]], lo[person_side], minlength=k)
        mine = v.s_in & ~v.known  # the scope's open lines (all of them: nothing of it is fixed yet)
        carry = (hi - lo)[mine]
        to = np.where(v.p_in[mine], local[np.maximum(kp[mine], 0)], -1)
        takes = np.where(to >= 0, np.minimum(carry, np.maximum(room[np.maximum(to, 0)], 0.0)), carry)
        supply = float(self.rhs[scope] - lo[v.s_in].sum())
        over = nodes[1:][room[1:] < 0.0]  # people over their cap already: above t on their own
        if supply <= float(takes.sum()):
            return over
        full = (to >= 0) & (carry > room[np.maximum(to, 0)])
        return np.union1d(np.concatenate([[scope], nodes[to[full]]]), over).astype(np.int64)

    def settle(self, v: _View, level: float) -> None:
        """Settle v's nodes as one group at `level`: lines to lower nodes raised with its
        scopes or cut with its people, tie lines inside by conservation."""
        e = v.e
        free = ~v.known
        out = free & v.s_in & ~v.p_in
        into = free & ~v.s_in & v.p_in
        inner = free & v.s_in & v.p_in
        is_s = v.nodes < self.n_scopes
        self.solved[v.nodes] = True
        self.stats["cut_groups"] += 1
        if level == 0.0:
            # nobody here is bound: scopes at their ideals, people (level NaN) below them
            self.level[v.nodes[is_s]] = 0.0
            sel = out | inner
            self.x[e[sel]] = _hi(self.a[e[sel]], self.u[e[sel]], 0.0)
            return
        self.level[v.nodes] = level
        self.x[e[out]] = _hi(self.a[e[out]], self.u[e[out]], level)
        self.x[e[into]] = _lo(self.a[e[into]], self.u[e[into]], level)
        ties = e[inner]
        if ties.shape[0] == 0:
            return
        self.stats["cut_ties"] += int(ties.shape[0])
        self._ties(v.nodes, ties, level)

    def _ties(self, nodes: np.ndarray, ties: np.ndarray, level: float) -> None:
        """Tie lines by conservation, leaf by leaf; where they form a cycle, the nested LP."""
        from .levels import _nested_leximin, leaf_ties

        residual: dict[int, float] = {}
        for node in nodes.tolist():
            inc = self.lines_of(node)
            known = inc[~np.isnan(self.x[inc])]
            residual[node] = float(self.rhs[node] - self.x[known].sum())
        residual_in = dict(residual)
        tie_list = ties.tolist()
        done = leaf_ties(tie_list, self.e_scope, self.e_pnode, self.n_scopes, residual)
        if len(done) != len(tie_list):
            touched = {int(v) for v in np.concatenate([self.e_scope[ties], self.e_pnode[ties]]).tolist()}
            solved = _nested_leximin(self.a[ties].tolist(), self.u[ties].tolist(), self.e_scope[ties].tolist(),
                                     self.e_pnode[ties].tolist(),
                                     {v: residual_in[v] for v in touched}, can_keep=False)
            if solved is None:
                return  # left NaN: the check refuses the answer
            done = dict(zip(tie_list, solved, strict=True))
            root = int(nodes[0])
            self.cyclic.update({int(v): root for v in nodes.tolist()})
            self.stats["cut_cycles"] = self.stats.get("cut_cycles", 0) + 1
        vals = np.array([done[t] for t in tie_list])
        a, u = self.a[ties], self.u[ties]
        lo, hi = _lo(a, u, level), _hi(a, u, level)
        slack = REL_TOL * np.maximum(1.0, hi)
        inside = (vals >= lo - slack) & (vals <= hi + slack)
        self.x[ties] = np.where(inside, np.clip(vals, lo, hi), vals)


def _gather(ptr: np.ndarray, items: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """items[ptr[i]:ptr[i + 1]] for every i in idx, concatenated."""
    starts = ptr[idx]
    lens = ptr[idx + 1] - starts
    total = int(lens.sum())
    if total == 0:
        return items[:0]
    offs = np.repeat(starts - np.cumsum(lens) + lens, lens) + np.arange(total)
    return items[offs]


@dataclass(frozen=True)
class _View:
    """A set of nodes and the edges incident to it: which ends lie in the set, which amounts
    are fixed already (by higher nodes)."""

    nodes: np.ndarray
    e: np.ndarray
    s_in: np.ndarray
    p_in: np.ndarray
    known: np.ndarray


def solve_by_cuts(a: np.ndarray, u: np.ndarray, e_scope: np.ndarray, e_pnode: np.ndarray, rhs: np.ndarray,
                  n_scopes: int, preset: tuple[dict[int, float], list[int]] | None = None,
                  approx: np.ndarray | None = None, margin: float = MARGIN) -> CutLevels:
    """Levels and edge amounts by minimum cuts, top group first (module docstring). Nodes:
    scopes 0..n_scopes-1, then people with a cap; `rhs` what each holds or may take;
    `e_pnode` -1 for a person without a cap. `preset`: the part that keeps money, placed
    already (levels.payout_split): its lines fixed, its nodes at +inf."""
    st = _Cuts(a, u, e_scope, e_pnode, rhs, n_scopes)
    try:
        return _peel(st, preset, approx, margin)
    except FlowFailed as failed:
        return CutLevels(st.level, st.x, st.cyclic, str(failed), st.stats)


def _peel(st: _Cuts, preset: tuple[dict[int, float], list[int]] | None, approx: np.ndarray | None,
          margin: float) -> CutLevels:
    """Settle top groups one by one (module docstring, steps 1-2)."""
    if preset is not None:
        _preset(st, preset)
    lb = np.full(st.n_nodes, np.nan)  # each unsettled node's level alone: a lower bound of the top
    heap: list[tuple[float, int]] = []

    def push(nodes: np.ndarray) -> None:
        nodes = nodes[~st.solved[nodes]]
        lb[nodes] = st.alone(nodes)
        for w, level in zip(nodes.tolist(), lb[nodes].tolist(), strict=True):
            heapq.heappush(heap, (-level, w))

    if preset is None:
        # does any scope keep money (even with every line free up to its cap)? one flow
        everyone = np.flatnonzero(st.degree > 0)
        if everyone.shape[0] and st.above(st.view(everyone), INF).shape[0]:
            why = _keep_money(st)
            if why:
                return CutLevels(st.level, st.x, st.cyclic, why, st.stats)
    push(np.flatnonzero(st.degree > 0))
    while heap:
        neg, v = heapq.heappop(heap)
        if st.solved[v] or -neg != lb[v]:
            continue
        if neg == -INF:  # money kept: answered above, so this is a wrong turn
            return CutLevels(st.level, st.x, st.cyclic, KEEPS_MONEY, st.stats)
        top = -neg
        start = np.array([v])
        while True:
            nodes, grown = st.region(start, top - margin * max(1.0, top), approx)
            # one scope and its people, searched from the scope only: no flow needed
            star = grown.shape[0] == 1 and int(grown[0]) < st.n_scopes
            if star:
                nodes = np.concatenate([grown, nodes[nodes != grown[0]]])
            found = _top_group(st, nodes, top, star)
            if isinstance(found, str):
                return CutLevels(st.level, st.x, st.cyclic, found, st.stats)
            group, level = found
            # the group's every line must have been in the flow: search on from its nodes
            # at the edge of the region
            edge = np.setdiff1d(group.nodes, grown)
            if edge.shape[0] == 0:
                break
            start = np.union1d(start, edge)
            st.stats["cut_regrown"] = st.stats.get("cut_regrown", 0) + 1
        st.settle(group, level)
        push(st.neighbours(group.nodes))
    return CutLevels(st.level, st.x, st.cyclic, "", st.stats)


def _keep_money(st: _Cuts) -> str:
    """Scopes that cannot pay out all they hold: which ones, and whom they hold at their
    caps, is the max-payout question (levels.payout_split), answered before any group is
    settled (it places its part; the rest is searched as before). '' or why not."""
    from .levels import payout_split

    pnode = st.e_pnode.tolist()
    found = payout_split(st.a, st.u, st.e_scope, pnode, st.rhs[:st.n_scopes], st.rhs[st.n_scopes:])
    if found is None:
        return KEEPS_MONEY + ", and no payout split"
    st.stats["cut_payout_split"] = len(found[1])
    _preset(st, found)
    return ""


def _top_group(st: _Cuts, nodes: np.ndarray, top: float, star: bool = False) -> tuple[_View, float] | str:
    """The top group among `nodes` (as a view of its lines) and its level, by Newton's method
    from below, starting at `top` (a level some node cannot stay under): the nodes above t (a
    maximum flow), then t = their level as one group, until it no longer rises. Or why not."""
    t = top if top > DELTA else 0.0  # below that, rounding: nobody is bound
    around = st.view(nodes)  # nothing is fixed meanwhile: one view serves every step
    for _ in range(MAX_NEWTON):
        pivot = t - DELTA * max(1.0, t) if t > 0.0 else 0.0
        high = st.star_above(around, pivot) if star and t > 0.0 else st.above(around, pivot)
        if high.shape[0] == 0:
            if t == 0.0:
                return around, 0.0  # nobody here is above 0: nobody is bound
            return "no node above a level some node cannot stay under"
        group = st.view(high)
        level = st.balance(group)
        if level == INF:
            return KEEPS_MONEY
        if level <= t + REL_TOL * max(1.0, t):
            return group, (max(level, t) if t > 0.0 else level)
        t = level
    return "no top level found"


def _preset(st: _Cuts, preset: tuple[dict[int, float], list[int]]) -> None:
    """The part that keeps money, placed already: its lines fixed, its nodes at +inf."""
    fixed, top = preset
    st.x[list(fixed)] = list(fixed.values())
    st.solved[top] = True
    st.level[top] = INF
    st.cyclic.update({v: top[0] for v in top})
