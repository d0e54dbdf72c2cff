"""Caps by levels: the cap optimum (SPEC §6) found as levels, mostly without an LP.

Without a binding budget, the leximin optimum has a simple shape. Each redistribution scope
s has an uplift level lambda_s; each person i whose period cap binds has a cut level nu_i
(people whose cap does not bind: nu_i = -inf). Each (person, scope) amount then follows from
the two levels, within its bounds [0, person-project cap]:

- lambda_s > nu_i: the line is raised with its scope, x = a (1 + lambda_s);
- lambda_s < nu_i: the line is cut with its person, x = a (1 - nu_i);
- lambda_s = nu_i (a tie): anything in between; the person gives up there just enough to
  hold the scope at the person's own level.

A scope that cannot pay out all it holds (its lines at their caps, or its people at theirs)
stands at level +inf.

Why this is the optimum. Every scope pays out all it holds, or cannot pay more, so the
payout is the most the caps allow. Any change that keeps every cap and the payout moves
money around a cycle of lines, alternately through scopes and people (or between scopes
that keep money: they are joined through what they keep). Take the line on the cycle whose
deviation the change would reduce the most, at |d| = M. Following the cycle from it, the
rule above shows the next line either gets worse at a deviation >= M (then the change is
no better in leximin) or is a tie line at the same level, and so on. A cycle made of tie
lines alone is impossible where the tie lines form a forest; where they form cycles, a
small LP places them (the leximin of their own deviations, the rest held). So a solution of
this shape is the leximin optimum, which is unique.

How the levels are found. A group K of scopes and people sharing one level L (joined by
tie lines) must balance: what K's scopes hold, less what K's people may take, equals what
K's scopes pass to people outside K less what K's people take from scopes outside K. Lines
to lower neighbours depend only on L; lines to higher ones are fixed by those. So levels
are settled top down, like Dijkstra's algorithm: a heap holds each unsettled group's level,
computed as if every unsettled neighbour were lower. The highest group is settled unless a
neighbour, given it settled at its level, would rise to that level or above: then the two
tie and merge. Settling fixes the lines to lower neighbours and solves the tie lines by
conservation, leaf by leaf; a tie line outside [a (1 - L), a (1 + L)] splits the group.

Two groups can also tie although neither would rise alone; the heap then settles one of
them too early, and the check below finds a line neither raised nor cut as its levels say.
The next pass starts with that scope and person tied (at most MAX_PASSES passes). Groups at
level +inf are settled as one (their scopes trade what they keep through the payout). Where
the check finds money kept wrongly placed, the max-payout question is answered first
(`payout_split`: which scopes keep money in every maximum payout, and whom they hold at
their caps), that part is placed by a small LP, and the passes start again on the rest.

Every answer is checked against the shape (caps, payout, the rule on every line, ties in a
forest, scopes that keep money placed together), and only a passing answer is returned.
Where the passes end without one, the groups are found with maximum flows instead
(incentive.cuts, through `solve_by_levels_cuts`), near the levels the passes found, then
exactly; checked the same way. Otherwise, or outside what this covers (a person-project cap
over lines of several scopes), `solve_levels` returns no amounts and the caller solves by LP
(incentive.caps, steps 0-3).
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from . import lp as lpmod

INF = math.inf
MAX_PASSES = 8
TIGHT = 0.5  # a scope that needs more than this share of its lines' caps to pay out
REL_TOL = 1e-9  # money: relative to the amounts in a balance; levels: absolute


@dataclass
class LevelResult:
    """Amounts per line (None if no proven answer), why not, and what the search did."""

    x: np.ndarray | None
    reason: str = ""
    stats: dict[str, int] = field(default_factory=dict)
    lp: bool = False  # whether HiGHS placed part of the answer (a tie cycle, the payout split)


def _up(a: float, u: float, level: float) -> float:
    """A line raised with its scope at `level`: a (1 + level), within [0, u]."""
    return min(max(a * (1.0 + level), 0.0), u) if level != INF else u


def _down(a: float, u: float, level: float) -> float:
    """A line cut with its person at `level`: a (1 - level), within [0, u]."""
    return min(max(a * (1.0 - level), 0.0), u) if level != -INF else u


def balance_level(fixed: float, up: list[tuple[float, float]], down: list[tuple[float, float]],
                  const: float, tol: float) -> float:
    """The level L where  fixed + sum up(a, u, L) - sum down(a, u, L) = const.

    The left side never decreases in L. +inf: no level is high enough: even with every
    raised line at its cap the group cannot pay out (its scopes keep money), or the lines
    fixed by higher neighbours already take a person over their cap (the person must tie
    with one of them). -inf: no level is low enough: the group has room whatever its level
    (a person whose cap does not bind), or nothing of it is left free."""
    lo_val = fixed - sum(u for _, u in down) - const  # f(-inf)
    hi_val = fixed + sum(u for _, u in up) - const  # f(+inf)
    if lo_val > tol:
        return -INF
    if hi_val < -tol:
        return INF
    if not up and not down:
        return -INF  # balanced by lines fixed by higher neighbours: no level of its own
    # the common case first: no line at a bound (raised lines need L >= -1, cut ones L <= 1)
    a_up = sum(a for a, _ in up)
    a_down = sum(a for a, _ in down)
    level = (const - fixed - a_up + a_down) / (a_up + a_down)
    if (level >= -1.0 or not up) and (level <= 1.0 or not down) and all(
            a * (1 + level) <= u for a, u in up) and all(a * (1 - level) <= u for a, u in down):
        return level
    # general case: f is linear between these breakpoints; below the first, only uncapped
    # cut lines still move (slope: their ideals); above the last, only uncapped raised lines
    points = sorted({-1.0, 1.0, *(u / a - 1.0 for a, u in up if u < INF), *(1.0 - u / a for a, u in down if u < INF)})

    def f(level: float) -> float:
        return fixed + sum(_up(a, u, level) for a, u in up) - sum(_down(a, u, level) for a, u in down) - const

    prev_l, prev_f = points[0], f(points[0])
    if prev_f >= 0.0:
        slope = sum(a for a, u in down if u == INF)
        return prev_l - prev_f / slope if slope > 0 else prev_l
    for point in points[1:]:
        val = f(point)
        if val >= 0.0:
            return prev_l + (0.0 - prev_f) * (point - prev_l) / (val - prev_f)
        prev_l, prev_f = point, val
    slope = sum(a for a, u in up if u == INF)
    return prev_l - prev_f / slope if slope > 0 else prev_l


class _Levels:
    """The state of the top-down settling (module docstring)."""

    def __init__(self, a: np.ndarray, u: np.ndarray, e_scope: np.ndarray, e_person: np.ndarray,
                 s_rhs: np.ndarray, cap: np.ndarray, tied: set[tuple[int, int]],
                 preset: tuple[dict[int, float], list[int]] | None = None) -> None:
        self.n_scopes = s_rhs.shape[0]
        self.a = a.tolist()
        self.u = u.tolist()
        # nodes: scopes 0..n_scopes-1, then one per person with a finite cap; -1: no node
        # (a person without a cap is never bound: always below its scopes)
        self.e_scope = e_scope.tolist()
        e_pnode, p_cap = person_nodes(e_person, cap, self.n_scopes)
        self.e_pnode = e_pnode.tolist()
        n_nodes = self.n_scopes + p_cap.shape[0]
        self.rhs = s_rhs.tolist() + p_cap.tolist()  # what a scope holds / a person may take
        self.is_scope = [True] * self.n_scopes + [False] * p_cap.shape[0]
        ends = np.concatenate([e_scope, e_pnode])
        edge_ids = np.concatenate([np.arange(a.shape[0]), np.arange(a.shape[0])])
        keep = ends >= 0
        order = np.argsort(ends[keep], kind="stable")
        starts = np.searchsorted(ends[keep][order], np.arange(n_nodes + 1))
        flat = edge_ids[keep][order].tolist()
        self.edges = [flat[starts[v]:starts[v + 1]] for v in range(n_nodes)]
        self.n_nodes = n_nodes
        self.group_of = list(range(n_nodes))  # the root (a member) of each node's group
        self.members: list[list[int]] = [[v] for v in range(n_nodes)]
        self.settled = [False] * n_nodes
        self.level = [math.nan] * n_nodes
        self.version = [0] * n_nodes  # the tick of each group's live heap entry
        self.tick = 0
        self.heap: list[tuple[float, int, int]] = []  # (-level, tick, group)
        self.x: list[float | None] = [None] * a.shape[0]
        self.stats = {"level_groups": 0, "level_merges": 0, "level_ties": 0}
        self.split_before: set[frozenset[int]] = set()
        self.cyclic: dict[int, int] = {}  # node -> group, for groups whose tie lines form cycles
        if preset is not None:  # the part that keeps money, placed before (payout_split)
            fixed, top = preset
            for e, xe in fixed.items():
                self.x[e] = xe
            for v in top:
                self.settled[v] = True
                self.level[v] = INF
                self.cyclic[v] = top[0]
        for one, two in sorted(tied):  # ties learnt by an earlier pass
            if self.group_of[one] != self.group_of[two]:
                self.union(self.group_of[one], self.group_of[two])

    def _set_group(self, root: int, nodes: list[int]) -> None:
        self.members[root] = nodes
        for v in nodes:
            self.group_of[v] = root

    def other(self, e: int, v: int) -> int:
        return self.e_pnode[e] if self.is_scope[v] else self.e_scope[e]

    def group_level(self, root: int, above: int = -1, above_level: float = math.nan) -> float:
        """The level of the unsettled group `root`, every unsettled neighbour taken as lower,
        except group `above` (if given), taken as settled at `above_level`."""
        fixed = 0.0
        const = 0.0
        up: list[tuple[float, float]] = []
        down: list[tuple[float, float]] = []
        scale = 1.0
        for v in self.members[root]:
            scope = self.is_scope[v]
            const += self.rhs[v] if scope else -self.rhs[v]
            scale = max(scale, abs(self.rhs[v]))
            taken = 0.0  # a person's lines fixed by higher neighbours
            for e in self.edges[v]:
                w = self.other(e, v)
                xe = self.x[e]
                if xe is None and w >= 0 and not self.settled[w]:
                    rw = self.group_of[w]
                    if rw == root:
                        continue  # a tie line inside the group
                    if rw == above:
                        # the other side settled higher at above_level: it fixes this line
                        a, u = self.a[e], self.u[e]
                        xe = _down(a, u, above_level) if scope else _up(a, u, above_level)
                if xe is not None:
                    fixed += xe if scope else -xe
                    taken += xe
                elif scope:
                    up.append((self.a[e], self.u[e]))
                else:
                    down.append((self.a[e], self.u[e]))
            if not scope and taken > self.rhs[v] + REL_TOL * max(1.0, self.rhs[v]):
                return INF  # higher neighbours already take this person over their cap
        return balance_level(fixed, up, down, const, REL_TOL * scale)

    def neighbours(self, root: int) -> set[int]:
        out: set[int] = set()
        for v in self.members[root]:
            for e in self.edges[v]:
                w = self.other(e, v)
                if w >= 0 and not self.settled[w] and self.x[e] is None:
                    rw = self.group_of[w]
                    if rw != root:
                        out.add(rw)
        return out

    def union(self, r: int, s: int) -> int:
        if len(self.members[r]) < len(self.members[s]):
            r, s = s, r
        moved = self.members[s]
        self._set_group(s, [])
        self._set_group(r, self.members[r] + moved)
        self.stats["level_merges"] += 1
        return r

    def run(self) -> str:
        """Settle every group; '' on success, else why not."""
        heap = self.heap
        for v in range(self.n_nodes):
            if self.edges[v]:
                self.push(v, self.group_level(v))
        while heap:
            neg, ver, r = heapq.heappop(heap)
            if self.settled[r] or ver != self.version[r] or self.group_of[r] != r:
                continue
            level = -neg
            if level == INF:
                # groups whose scopes cannot pay out all they hold are one group: money one
                # of them lets go, another may take on, at no cost to the payout
                while heap and heap[0][0] == -INF:
                    _, ver2, r2 = heapq.heappop(heap)
                    if not self.settled[r2] and ver2 == self.version[r2] and self.group_of[r2] == r2 and r2 != r:
                        r = self.union(r, r2)
            if level < 0 and len(self.members[r]) > 1 and any(self.is_scope[v] for v in self.members[r]):
                # a scope pays out at least its ideals (lambda >= 0 without a budget): a tie
                # that puts one below that is not one; the group falls apart
                inner = [e for v in self.members[r] if self.is_scope[v] for e in self.edges[v]
                         if self.e_pnode[e] >= 0 and self.x[e] is None and self.group_of[self.e_pnode[e]] == r]
                self.split(r, inner, set(inner))
                continue
            if level == -INF:  # a scope overfilled by lines fixed above it: the check refuses it
                why = self.settle(r, level)
                if why and why != "split":
                    return why
                continue
            # would a neighbour, given this group settled at `level`, rise to it or above?
            pending: list[tuple[int, float]] = []
            merged = False
            for w in self.neighbours(r):
                lw = self.group_level(w, above=r, above_level=level)
                if lw >= level or lw >= level - REL_TOL * max(1.0, abs(level)):
                    r = self.union(r, w)
                    merged = True
                else:
                    pending.append((w, lw))
            if merged:
                self.push(r, self.group_level(r))
                continue
            if self.stats["level_merges"] + self.stats.get("level_splits", 0) > 2 * self.n_nodes + 100:
                return "groups keep merging and splitting"
            why = self.settle(r, level)
            if why == "split":
                continue
            if why:
                return why
            for w, lw in pending:  # their level given this group settled: just computed
                self.push(w, lw)
        if any(self.is_scope[v] and not self.settled[v] and self.edges[v] for v in range(self.n_scopes)):
            return "a scope left without a level"
        return ""

    def push(self, r: int, level: float) -> None:
        self.tick += 1
        self.version[r] = self.tick
        if level == -INF and not any(self.is_scope[v] for v in self.members[r]):
            return  # people with room: below every scope; their lines follow them
        heapq.heappush(self.heap, (-level, self.tick, r))

    def settle(self, r: int, level: float) -> str:
        """Settle group r at `level`: fix its lines to lower neighbours, solve its tie lines
        by conservation, leaf by leaf. '' when done; 'split' when a tie line falls outside
        [a (1 - level), a (1 + level)]: the group was split there and both parts went back
        to the heap; else why it failed."""
        nodes = self.members[r]
        residual: dict[int, float] = {}
        boundary: dict[int, float] = {}
        inner: list[int] = []
        for v in nodes:
            scope = self.is_scope[v]
            res = self.rhs[v]
            for e in self.edges[v]:
                w = self.other(e, v)
                xe = self.x[e]
                if xe is None and w >= 0 and not self.settled[w] and self.group_of[w] == r:
                    if scope:
                        inner.append(e)
                    continue
                if xe is None:  # a lower neighbour
                    xe = _up(self.a[e], self.u[e], level) if scope else _down(self.a[e], self.u[e], level)
                    boundary[e] = xe
                res -= xe
            residual[v] = res
        residual_in = dict(residual)
        cyclic = False
        tie = leaf_ties(inner, self.e_scope, self.e_pnode, self.n_scopes, residual)
        if len(tie) != len(inner) or (level == INF and inner):
            # tie lines in a cycle: money can go round it at no cost to the level, so their
            # amounts are the leximin of their own deviations (a small LP)
            solved = _nested_leximin([self.a[e] for e in inner], [self.u[e] for e in inner],
                                     [self.e_scope[e] for e in inner], [self.e_pnode[e] for e in inner],
                                     {v: residual_in[v] for v in nodes}, can_keep=level == INF)
            if solved is None:
                # no placement: nodes that the lines fixed so far already overfill do not
                # belong at this level; they leave the group
                wrong = {e for e in inner if residual_in[self.e_scope[e]] < 0 or residual_in[self.e_pnode[e]] < 0}
                self.split(r, inner, wrong or set(inner))
                return "split"
            tie = dict(zip(inner, solved, strict=True))
            cyclic = True
        for e in inner:
            lo = _down(self.a[e], self.u[e], level)
            hi = _up(self.a[e], self.u[e], level)
            slack = REL_TOL * max(1.0, hi)
            if not lo - slack <= tie[e] <= hi + slack:
                self.split(r, inner, {e})
                return "split"
            tie[e] = min(max(tie[e], lo), hi)
        self.stats["level_groups"] += 1
        self.stats["level_ties"] += len(inner)
        for e, xe in (boundary | tie).items():
            self.x[e] = xe
        for v in nodes:
            self.settled[v] = True
            self.level[v] = level
        if cyclic:
            self.stats["level_cycles"] = self.stats.get("level_cycles", 0) + 1
            self.cyclic.update({v: r for v in nodes})
        return ""

    def split(self, r: int, inner: list[int], cut: set[int]) -> None:
        """Split group r into the connected parts of its tie lines other than `cut`, each
        back on the heap at its own level."""
        self.stats["level_splits"] = self.stats.get("level_splits", 0) + 1
        nodes = self.members[r]
        key = frozenset(nodes)
        if key in self.split_before:
            cut = set(inner)  # split this way before and it came back together: all apart
        self.split_before.add(key)
        adj: dict[int, list[int]] = {v: [] for v in nodes}
        for e in inner:
            if e not in cut:
                s_node, p_node = self.e_scope[e], self.e_pnode[e]
                adj[s_node].append(p_node)
                adj[p_node].append(s_node)
        seen: set[int] = set()
        roots: list[int] = []
        parts: list[list[int]] = []
        for start in nodes:
            if start in seen:
                continue
            seen.add(start)
            part = [start]
            for v in part:
                for w in adj[v]:
                    if w not in seen:
                        seen.add(w)
                        part.append(w)
            roots.append(start)
            parts.append(part)
        if r not in roots:
            self._set_group(r, [])
        for start, part in zip(roots, parts, strict=True):
            self._set_group(start, part)
        for start in roots:
            self.push(start, self.group_level(start))


def leaf_ties(inner: list[int], e_scope: Sequence[int] | np.ndarray, e_pnode: Sequence[int] | np.ndarray, n_scopes: int,
              residual: dict[int, float]) -> dict[int, float]:
    """Tie lines by conservation, leaf by leaf: a node (scope < n_scopes, else person) with
    one open tie line left puts on it what it has left (`residual`, of every node the lines
    touch; updated in place). Where the tie lines form a cycle, its lines stay open: the
    answer then lacks them."""
    degree: dict[int, int] = {v: 0 for v in residual}
    incident: dict[int, list[int]] = {v: [] for v in residual}
    for e in inner:
        for v in (int(e_scope[e]), int(e_pnode[e])):
            degree[v] += 1
            incident[v].append(e)
    leaves = [v for v, d in degree.items() if d == 1]
    tie: dict[int, float] = {}
    while leaves:
        v = leaves.pop()
        if degree[v] != 1:
            continue
        e = next(e for e in incident[v] if e not in tie)
        tie[e] = residual[v]  # what v has left for its one open tie line
        degree[v] = 0
        w = int(e_pnode[e]) if v < n_scopes else int(e_scope[e])
        residual[w] -= tie[e]
        degree[w] -= 1
        if degree[w] == 1:
            leaves.append(w)
    return tie


def _nested_leximin(a: list[float], u: list[float], scope: list[int], pnode: list[int],
                    residual: dict[int, float], can_keep: bool) -> list[float] | None:
    """Amounts of a group's tie lines where they form cycles (money can go round a cycle at
    no cost to the group's level): each node of the group takes exactly its residual over
    them (at most, if `can_keep`: a group at level +inf, whose scopes cannot pay out all
    they hold; then the payout comes first), each line within [0, its cap]; then the sorted
    deviations |x/a - 1| as small as possible (leximin: min-max rounds, each holding the
    lines whose deviation row has a non-zero dual). None if HiGHS fails."""
    n = len(a)
    av = np.asarray(a, dtype=np.float64)
    nodes = sorted(residual)
    row_of = {v: k for k, v in enumerate(nodes)}
    # columns: y_k = x_k / a_k, then t. Rows: one balance per node (scaled to a right-hand
    # side of about 1), the payout, and two deviation rows per line: -t <= y_k - 1 <= t
    idx: list[np.ndarray] = []
    val: list[np.ndarray] = []
    members: list[list[int]] = [[] for _ in nodes]
    for k in range(n):
        members[row_of[scope[k]]].append(k)
        members[row_of[pnode[k]]].append(k)
    scale = np.array([1.0 / max(1.0, abs(residual[v])) for v in nodes])
    for m, f in zip(members, scale.tolist(), strict=True):
        idx.append(np.array(m, dtype=np.int64))
        val.append(av[m] * f)
    pay_scale = 1.0 / max(1.0, float(av.sum()))
    idx.append(np.arange(n))
    val.append(av * pay_scale)
    for k in range(n):
        idx += [np.array([k, n]), np.array([k, n])]
        val += [np.array([1.0, -1.0]), np.array([1.0, 1.0])]
    lens = np.array([i.shape[0] for i in idx], dtype=np.int64)
    indptr = np.concatenate(([0], np.cumsum(lens)))
    indices = np.concatenate(idx)
    data = np.concatenate(val)
    rhs = np.array([residual[v] for v in nodes]) * scale
    row_lo = np.concatenate([np.full(len(nodes), -INF) if can_keep else rhs, [-INF], np.full(2 * n, -INF)])
    row_hi = np.concatenate([rhs, [INF], np.full(2 * n, INF)])
    lo = np.zeros(n + 1)
    hi = np.concatenate([np.asarray(u) / av, [INF]])
    names = [f"r{k}" for k in range(row_lo.shape[0])], [f"c{k}" for k in range(n + 1)]

    def solve(c: np.ndarray) -> lpmod.LPSolution | None:
        prog = lpmod.LinearProgram(c=c, lo=lo, hi=hi, indptr=indptr, indices=indices, data=data,
                                   row_lo=row_lo, row_hi=row_hi, row_names=names[0], col_names=names[1])
        try:
            return lpmod.solve(prog, "highs")
        except lpmod.SolverError:
            return None

    if can_keep:  # the most the group can pay out first
        sol = solve(np.concatenate([-av, [0.0]]))
        if sol is None:
            return None
        row_lo[len(nodes)] = float(av @ np.clip(sol.x[:n], lo[:n], hi[:n])) * pay_scale * (1 - 1e-12)
    dev_hi = len(nodes) + 1 + 2 * np.arange(n)
    row_hi[dev_hi] = 1.0
    row_lo[dev_hi + 1] = 1.0
    free = np.ones(n, dtype=bool)
    cost = np.concatenate([np.zeros(n), [1.0]])
    while True:
        sol = solve(cost)
        if sol is None:
            return None
        y = np.clip(sol.x[:n], lo[:n], hi[:n])
        if not free.any():
            return (y * av).tolist()
        dev = np.flatnonzero(free)
        duals = np.abs(sol.duals[dev_hi[dev]]) + np.abs(sol.duals[dev_hi[dev] + 1])
        hit = dev[duals > 1e-9]
        if hit.shape[0] == 0:  # degenerate: hold the line furthest out
            hit = dev[[int(np.argmax(np.abs(y[dev] - 1.0)))]]
        lo[hit] = hi[hit] = y[hit]
        row_hi[dev_hi[hit]] = INF
        row_lo[dev_hi[hit] + 1] = -INF
        free[hit] = False


def level_edges(ideal: np.ndarray, person: np.ndarray, scope: np.ndarray, active: np.ndarray, n_scopes: int,
                pair_cap: float | None, pair: np.ndarray | None
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
    """One edge per (person, scope) among the `active` lines: its lines share a deviation
    (they trade freely). Per active line its edge; per edge its person, scope, ideal and
    cap (the person-project cap; inf without one). None if a person-project cap spans
    several scopes (two roles under "role"): that is not an edge's cap."""
    key = person[active].astype(np.int64) * n_scopes + scope[active]
    ukey, e_of = np.unique(key, return_inverse=True)
    e_person = (ukey // n_scopes).astype(np.int64)
    e_scope = (ukey % n_scopes).astype(np.int64)
    a = np.bincount(e_of, ideal[active], minlength=ukey.shape[0])
    u = np.full(ukey.shape[0], INF)
    if pair_cap is not None:
        assert pair is not None, "a person-project cap needs the (person, project) pairs"
        e_pair = np.zeros(ukey.shape[0], dtype=np.int64)
        e_pair[e_of] = pair[active]
        if np.unique(e_pair).shape[0] != ukey.shape[0]:
            return None
        u[:] = pair_cap
    return e_of, e_person, e_scope, a, u


def person_nodes(e_person: np.ndarray, period_cap: np.ndarray, n_scopes: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes for people with a cap, after the scopes: each edge's person node (-1: no cap,
    never bound) and each node's cap."""
    node_of_person = np.full(period_cap.shape[0], -1, dtype=np.int64)
    finite = np.flatnonzero(np.isfinite(period_cap))
    node_of_person[finite] = n_scopes + np.arange(finite.shape[0])
    return node_of_person[e_person], period_cap[finite]


def solve_levels(ideal: np.ndarray, person: np.ndarray, scope: np.ndarray, active: np.ndarray,
                 s_rhs: np.ndarray, period_cap: np.ndarray, pair_cap: float | None,
                 pair: np.ndarray | None) -> LevelResult:
    """The cap optimum by levels, or None with the reason (then solve by LP).

    `scope` and `pair` are dense ids per line (the redistribution scope, the (person,
    project) pair, needed only with a `pair_cap`); `active` the lines that take part (not
    held at 0); `s_rhs` what each scope holds. No period budget: the caller handles that case."""
    lines = active
    n_scopes = s_rhs.shape[0]
    edges = level_edges(ideal, person, scope, active, n_scopes, pair_cap, pair)
    if edges is None:
        return LevelResult(None, "a person-project cap spans several scopes")
    e_of, e_person, e_scope, a, u = edges
    # A pass settles groups top down. Where a group, grown by later ties, ends above a
    # neighbour settled before it, the line between them breaks the rule; where scopes that
    # keep money were settled apart, they are not placed together. The next pass starts with
    # those tied.
    tied: set[tuple[int, int]] = set()
    stats: dict[str, int] = {}
    preset: tuple[dict[int, float], list[int]] | None = None
    why = ""
    state: _Levels | None = None
    to_tie: set[tuple[int, int]] = set()
    for passes in range(1, MAX_PASSES + 1):
        state = _Levels(a, u, e_scope, e_person, s_rhs, period_cap, tied, preset)
        why = state.run()
        stats = {**state.stats, "level_passes": passes}
        if preset is not None:
            stats["level_payout_split"] = len(preset[1])
        if why:
            break
        xe = np.array([np.nan if v is None else v for v in state.x], dtype=np.float64)
        level = np.array(state.level, dtype=np.float64)
        why, to_tie = check_levels(a, u, e_scope, state.e_pnode, s_rhs, np.array(state.rhs[n_scopes:]),
                                   level, xe, state.cyclic)
        if not why:
            return LevelResult(_per_line(xe, ideal, lines, e_of, a), "", stats, lp=bool(state.cyclic))
        if "money" in why and preset is not None:
            break  # answered already: more passes only move the ties around (the cuts go on)
        if preset is None and "money" in why:
            # scopes keep money: which ones, and who they hold, is the max-payout question;
            # answer it first (payout_split) and find the levels of the rest
            preset = payout_split(a, u, e_scope, state.e_pnode, s_rhs, np.array(state.rhs[n_scopes:]))
            if preset is None:
                why += " (and no payout split)"
                break
            tied = set()
            continue
        new = to_tie - tied
        if not new:
            break
        tied |= new
    else:
        why = f"still out of order after {MAX_PASSES} passes"
    # the settling order went wrong somewhere: find the groups by minimum cuts instead,
    # near what the passes found (incentive.cuts), then exactly
    assert state is not None
    approx = np.array(state.level, dtype=np.float64)
    cut = solve_by_levels_cuts(a, u, e_scope, np.asarray(state.e_pnode, dtype=np.int64), s_rhs,
                               np.array(state.rhs[n_scopes:]), approx, to_tie, preset)
    stats.update(cut.stats)
    if cut.x is None:
        return LevelResult(None, f"{why}; by cuts: {cut.reason}", stats)
    return LevelResult(_per_line(cut.x, ideal, lines, e_of, a), "", stats, lp=cut.lp)


def _per_line(xe: np.ndarray, ideal: np.ndarray, lines: np.ndarray, e_of: np.ndarray, a: np.ndarray) -> np.ndarray:
    """Amounts per line from amounts per (person, scope) edge: an edge's lines share it in
    proportion to their ideals (they share one deviation)."""
    x = np.zeros(ideal.shape[0])
    x[lines] = xe[e_of] * ideal[lines] / a[e_of]
    return x


def solve_by_levels_cuts(a: np.ndarray, u: np.ndarray, e_scope: np.ndarray, e_pnode: np.ndarray,
                         s_rhs: np.ndarray, p_cap: np.ndarray, approx: np.ndarray,
                         suspects: set[tuple[int, int]],
                         preset: tuple[dict[int, float], list[int]] | None) -> LevelResult:
    """Edge amounts by minimum cuts (incentive.cuts), each answer proven by `check_levels`:
    first near the approximate levels `approx` (the nodes of `suspects` searched from
    always), then near the levels that run found, then over whole components."""
    from .cuts import solve_by_cuts

    n_scopes = s_rhs.shape[0]
    rhs = np.concatenate([s_rhs, p_cap])
    pnode = e_pnode.tolist()
    stats: dict[str, int] = {}
    reason = ""
    # scopes whose person-project caps leave little room to pay out: they hold their people
    # at every level, so the search always looks at them
    room = np.bincount(e_scope, np.minimum(u, 1e300), minlength=n_scopes)
    tight = s_rhs > TIGHT * room
    for attempt in (1, 2, 3):
        near = None
        if attempt < 3:
            near = np.where(np.isnan(approx), -INF, approx)
            for s, p in suspects:  # a scope and a person (-1: one without a cap), or two scopes
                near[s] = INF
                if p >= 0:
                    near[p] = INF
            near[:n_scopes][tight] = INF
        found = solve_by_cuts(a, u, e_scope, e_pnode, rhs, n_scopes, preset, near)
        stats = {**found.stats, "cut_rounds": attempt}
        if found.reason:
            reason = found.reason
        else:
            reason, suspects = check_levels(a, u, e_scope, pnode, s_rhs, p_cap, found.level, found.x, found.cyclic)
            if not reason:
                # nodes placed by a nested LP or the payout split are the `cyclic` ones
                return LevelResult(found.x, "", stats, lp=bool(found.cyclic))
        approx = found.level
    return LevelResult(None, reason, stats)


def payout_split(a: np.ndarray, u: np.ndarray, e_scope: np.ndarray, e_pnode: list[int], s_rhs: np.ndarray,
                 p_cap: np.ndarray) -> tuple[dict[int, float], list[int]] | None:
    """The part of the problem that keeps money, placed: (amounts of every line touching it,
    its nodes), or None if there is no such part or HiGHS fails.

    A maximum payout is a maximum flow: source -> scope (what it holds) -> line (its
    person-project cap) -> person (their cap) -> sink. The scopes and people the source still
    reaches in the residual graph are the same for every maximum flow; every line from them
    to the rest is at its cap and every line into them at 0 in every maximum payout (else
    the payout could grow). Inside, people are at their caps and scopes keep what is left:
    `_nested_leximin` places those lines (the payout first, then the leximin)."""
    n_scopes = s_rhs.shape[0]
    n = a.shape[0]
    pnode = np.asarray(e_pnode, dtype=np.int64)
    has_cap = pnode >= 0
    rows_idx: list[np.ndarray] = []
    rows_hi: list[float] = []
    order = np.argsort(e_scope, kind="stable")
    for grp in np.split(order, np.flatnonzero(np.diff(e_scope[order])) + 1):
        if grp.shape[0]:
            rows_idx.append(grp)
            rows_hi.append(float(s_rhs[e_scope[grp[0]]]))
    capped = np.flatnonzero(has_cap)
    order = capped[np.argsort(pnode[capped], kind="stable")]
    for grp in np.split(order, np.flatnonzero(np.diff(pnode[order])) + 1):
        if grp.shape[0]:
            rows_idx.append(grp)
            rows_hi.append(float(p_cap[pnode[grp[0]] - n_scopes]))
    scale = 1.0 / np.maximum(1.0, np.array(rows_hi))
    lens = np.array([r.shape[0] for r in rows_idx], dtype=np.int64)
    prog = lpmod.LinearProgram(
        c=-np.ones(n), lo=np.zeros(n), hi=u.astype(np.float64), indptr=np.concatenate(([0], np.cumsum(lens))),
        indices=np.concatenate(rows_idx), data=np.repeat(scale, lens), row_lo=np.full(len(rows_hi), -INF),
        row_hi=np.array(rows_hi) * scale, row_names=[f"r{k}" for k in range(len(rows_hi))],
        col_names=[f"x{k}" for k in range(n)])
    try:
        x = np.clip(lpmod.solve(prog, "highs").x, 0.0, u)
    except lpmod.SolverError:
        return None
    tol = 1e-7 * np.maximum(1.0, a)
    paid = np.bincount(e_scope, x, minlength=n_scopes)
    # breadth first from the scopes that keep money, over lines with room (scope -> person)
    # and lines with money (person -> scope)
    n_nodes = n_scopes + p_cap.shape[0]
    reached = np.zeros(n_nodes, dtype=bool)
    keep = np.flatnonzero(paid < s_rhs - 1e-7 * np.maximum(1.0, s_rhs))
    keep = keep[np.isin(keep, e_scope)]
    if keep.shape[0] == 0:
        return None
    reached[keep] = True
    frontier = keep
    room = (x < u - tol) & has_cap
    money = (x > tol) & has_cap
    while frontier.shape[0]:
        hit = np.zeros(n_nodes, dtype=bool)
        from_scope = np.isin(e_scope, frontier) & room
        hit[pnode[from_scope]] = True
        from_person = np.isin(pnode, frontier) & money
        hit[e_scope[from_person]] = True
        if (np.isin(e_scope, frontier) & (x < u - tol) & ~has_cap).any():
            return None  # a person without a cap could take more: not a maximum
        frontier = np.flatnonzero(hit & ~reached)
        reached[frontier] = True
    inside_s = reached[e_scope]
    inside_p = np.where(has_cap, reached[np.maximum(pnode, 0)], False)
    fixed: dict[int, float] = {}
    for e in np.flatnonzero(inside_s & ~inside_p).tolist():
        fixed[e] = float(u[e])  # out of the part: at its cap
    for e in np.flatnonzero(~inside_s & inside_p).tolist():
        fixed[e] = 0.0  # into the part: nothing
    inner = np.flatnonzero(inside_s & inside_p)
    nodes = np.flatnonzero(reached).tolist()
    residual = {v: float(s_rhs[v]) if v < n_scopes else float(p_cap[v - n_scopes]) for v in nodes}
    for e, xe in fixed.items():
        if inside_s[e]:
            residual[int(e_scope[e])] -= xe
    if inner.shape[0]:
        placed = _nested_leximin(a[inner].tolist(), u[inner].tolist(), e_scope[inner].tolist(),
                                 pnode[inner].tolist(), residual, can_keep=True)
        if placed is None:
            return None
        fixed.update(zip(inner.tolist(), placed, strict=True))
    return fixed, nodes


def check_levels(a: np.ndarray, u: np.ndarray, e_scope: np.ndarray, e_pnode: list[int], s_rhs: np.ndarray,
                 p_cap: np.ndarray, level: np.ndarray, xe: np.ndarray,
                 cyclic: dict[int, int] | None = None) -> tuple[str, set[tuple[int, int]]]:
    """('', {}) if the edge amounts `xe` have the optimum's shape under `level` (module
    docstring), else what fails and the pairs of nodes a next pass should start tied: the
    two ends of each line that breaks the raise/cut rule, or the scopes that keep money.
    Levels: per node (scopes, then people with a cap); NaN for a person never bound.
    `cyclic`: node -> group for groups whose tie lines form cycles, placed by the nested
    LP; their tie lines are not held to the forest rule.

    Scopes that keep money are joined through the money they keep (one with room can take
    on what another lets go, at no cost to the payout): more than one of them with room is
    only right when the nested LP placed them together."""
    cyclic = cyclic or {}
    none: set[tuple[int, int]] = set()
    n_scopes = s_rhs.shape[0]
    if not np.isfinite(xe).all():
        return "a line left without an amount", none
    tol = REL_TOL * np.maximum(1.0, a)
    if (xe < -tol).any() or (xe > u + tol).any():
        return "a line outside [0, its person-project cap]", none
    pnode = np.asarray(e_pnode, dtype=np.int64)
    level = np.where(np.isnan(level), -INF, level)
    lam = level[e_scope]
    nu = np.where(pnode >= 0, level[np.maximum(pnode, 0)], -INF)
    # scopes: pay out all they hold, or keep money only where no line has room (lines of a
    # person at level +inf do not count: at their cap, with nothing anywhere else)
    paid = np.bincount(e_scope, xe, minlength=n_scopes)
    has = np.bincount(e_scope, minlength=n_scopes) > 0
    s_tol = REL_TOL * np.maximum(1.0, s_rhs)
    if (has & (paid > s_rhs + s_tol)).any():
        return "a scope pays out more than it holds", none
    room = np.bincount(e_scope, np.where(nu < INF, u - xe, 0.0), minlength=n_scopes)
    if (has & (paid < s_rhs - s_tol) & (room > s_tol)).any():
        return "a scope keeps money while a line has room", none
    # a scope that keeps money and has room on a line (of a person at level +inf) could take
    # on what another lets go; all such scopes must have been placed together
    spare = np.bincount(e_scope, np.where(nu == INF, u - xe, 0.0), minlength=n_scopes)
    keeping = np.flatnonzero(has & (paid < s_rhs - s_tol) & (spare > s_tol)).tolist()
    if len(keeping) > 1 and (any(k not in cyclic for k in keeping) or len({cyclic[k] for k in keeping}) > 1):
        return "scopes that keep money, not placed together", {(keeping[0], k) for k in keeping[1:]}
    # people: within their cap; exactly at it where they have a level
    with_node = pnode >= 0
    n_p = p_cap.shape[0]
    got = np.bincount(pnode[with_node] - n_scopes, xe[with_node], minlength=n_p)
    p_level = level[n_scopes:]
    p_tol = REL_TOL * np.maximum(1.0, np.where(np.isfinite(p_cap), p_cap, 1.0))
    if (got > p_cap + p_tol).any():
        return "a person over their period cap", none
    if ((p_level > -INF) & (np.abs(got - p_cap) > p_tol)).any():
        return "a person with a cut level not at their cap", none
    # the rule on every line
    raised = np.minimum(np.maximum(a * (1 + lam), 0.0), u)
    cut = np.minimum(np.maximum(a * (1 - nu), 0.0), u)
    lvl_tol = REL_TOL * np.maximum(1.0, np.abs(np.where(np.isfinite(lam), lam, 0.0)))
    above = lam > nu + lvl_tol
    below = lam < nu - lvl_tol
    tie = ~above & ~below
    wrong = (above & (np.abs(xe - raised) > tol)) | (below & (np.abs(xe - cut) > tol))
    if wrong.any():
        return "a line neither raised with its scope nor cut with its person", {
            (int(e_scope[e]), int(pnode[e])) for e in np.flatnonzero(wrong).tolist()}
    lo = np.minimum(cut, raised)
    if (tie & ((xe < lo - tol) | (xe > raised + tol))).any():
        return "a tie line outside its levels", none
    # tie lines form a forest
    ties = np.flatnonzero(tie & with_node)
    parent = list(range(level.shape[0]))

    def find(v: int) -> int:
        while parent[v] != v:
            parent[v] = parent[parent[v]]
            v = parent[v]
        return v

    for e in ties.tolist():
        g = cyclic.get(int(e_scope[e]))
        if g is not None and g == cyclic.get(int(pnode[e])):
            continue
        r1, r2 = find(int(e_scope[e])), find(int(pnode[e]))
        if r1 == r2:
            return "tie lines in a cycle", none
        parent[r1] = r2
    return "", none
