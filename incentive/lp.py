"""Linear programs as arrays, and the solvers that take them.

The cap optimizer writes each LP once, as arrays (objective, bounds, and rows in CSR form
with names), and hands it to a backend:

- `pulp`: the reference formulation through PuLP, with named constraints; it solves with
  HiGHS through PuLP when highspy is installed, else with PuLP's bundled CBC.
- `highs`: the same arrays passed straight to HiGHS (highspy), skipping PuLP's
  per-expression Python work, which dominates at company scale (see shared/notes).

Both return the primal values and the row duals, read back by row.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

try:  # highspy is a dependency; CBC through PuLP is the fallback if it is missing
    import highspy

    HAVE_HIGHS = True
except ImportError:  # pragma: no cover - exercised only without highspy
    HAVE_HIGHS = False

INF = float("inf")


@dataclass(frozen=True, eq=False)
class LinearProgram:
    """minimise c.x subject to row_lo <= A x <= row_hi, lo <= x <= hi (A in CSR form)."""

    c: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    indptr: np.ndarray
    indices: np.ndarray
    data: np.ndarray
    row_lo: np.ndarray
    row_hi: np.ndarray
    row_names: list[str]
    col_names: list[str]

    @property
    def n_rows(self) -> int:
        return int(self.row_lo.shape[0])


@dataclass(frozen=True, eq=False)
class LPSolution:
    x: np.ndarray
    duals: np.ndarray
    status: str
    solver: str


class SolverError(RuntimeError):
    """The LP solver did not reach an optimum (never expected: the cap LP is always feasible)."""


@contextlib.contextmanager
def _quiet_stdout() -> Iterator[None]:
    """Silence C-level stdout (HiGHS prints a banner when created) for the block."""
    try:
        fd = os.dup(1)
    except OSError:  # pragma: no cover
        yield
        return
    try:
        with open(os.devnull, "wb") as devnull:
            os.dup2(devnull.fileno(), 1)
            try:
                yield
            finally:
                os.dup2(fd, 1)
    finally:
        os.close(fd)


# HiGHS options tried in turn. Tight tolerances first (the leximin rounds hold lines in
# bands 1e-9 wide); HiGHS's presolve has been seen to call such a round infeasible when
# it is not, so the second try turns presolve off.
OPTION_SETS: tuple[dict[str, Any], ...] = (
    {"primal_feasibility_tolerance": 1e-10, "dual_feasibility_tolerance": 1e-10},
    {"primal_feasibility_tolerance": 1e-10, "dual_feasibility_tolerance": 1e-10, "presolve": "off"},
)


def solve(lp: LinearProgram, backend: str) -> LPSolution:
    """Solve with the named backend: 'highs' (arrays to highspy) or 'pulp' (PuLP model)."""
    err: SolverError | None = None
    for options in OPTION_SETS:
        try:
            if backend == "highs" and HAVE_HIGHS:
                return _solve_highs(lp, options)
            return _solve_pulp(lp, options)
        except SolverError as exc:
            err = exc
    assert err is not None
    raise err


def pulp_solver_name() -> str:
    return "PuLP+HiGHS" if HAVE_HIGHS else "PuLP+CBC"


def _solve_highs(lp: LinearProgram, options: dict[str, Any]) -> LPSolution:
    n = lp.c.shape[0]
    m = lp.n_rows
    with _quiet_stdout():
        h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    for key, value in options.items():
        h.setOptionValue(key, value)
    model = highspy.HighsLp()
    model.num_col_ = n
    model.num_row_ = m
    model.col_cost_ = lp.c.astype(np.float64)
    model.col_lower_ = np.where(np.isinf(lp.lo), -highspy.kHighsInf, lp.lo)
    model.col_upper_ = np.where(np.isinf(lp.hi), highspy.kHighsInf, lp.hi)
    model.row_lower_ = np.where(np.isinf(lp.row_lo), -highspy.kHighsInf, lp.row_lo)
    model.row_upper_ = np.where(np.isinf(lp.row_hi), highspy.kHighsInf, lp.row_hi)
    model.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    model.a_matrix_.start_ = lp.indptr.astype(np.int32)
    model.a_matrix_.index_ = lp.indices.astype(np.int32)
    model.a_matrix_.value_ = lp.data.astype(np.float64)
    model.a_matrix_.num_col_ = n
    model.a_matrix_.num_row_ = m
    h.passModel(model)
    h.run()
    status = h.getModelStatus()
    if status != highspy.HighsModelStatus.kOptimal:
        raise SolverError(f"HiGHS stopped with status {h.modelStatusToString(status)}")
    sol = h.getSolution()
    return LPSolution(np.array(sol.col_value), np.array(sol.row_dual), "Optimal", "HiGHS")


def _solve_pulp(lp: LinearProgram, options: dict[str, Any]) -> LPSolution:
    import pulp

    prob = pulp.LpProblem("caps", pulp.LpMinimize)
    add = getattr(prob, "add_variable", None)  # PuLP >= 3.3 attaches variables to the model
    xs = []
    for k, (lo, hi) in enumerate(zip(lp.lo.tolist(), lp.hi.tolist(), strict=True)):
        lb = None if np.isinf(lo) else float(lo)
        ub = None if np.isinf(hi) else float(hi)
        xs.append(add(f"y_{k}", lb, ub) if add else pulp.LpVariable(f"y_{k}", lb, ub))
    prob.setObjective(pulp.LpAffineExpression([(xs[i], float(v)) for i, v in enumerate(lp.c.tolist()) if v]))
    rows = []
    seen: set[str] = set()
    for r in range(lp.n_rows):
        a, b = int(lp.indptr[r]), int(lp.indptr[r + 1])
        expr = pulp.LpAffineExpression(
            [(xs[k], float(v)) for k, v in zip(lp.indices[a:b].tolist(), lp.data[a:b].tolist(), strict=True)]
        )
        lo, hi = float(lp.row_lo[r]), float(lp.row_hi[r])
        if np.isinf(lo):
            con = pulp.LpConstraint(expr, pulp.LpConstraintLE, lp.row_names[r], hi)
        elif np.isinf(hi):
            con = pulp.LpConstraint(expr, pulp.LpConstraintGE, lp.row_names[r], lo)
        else:  # pragma: no cover - the cap LPs use one-sided rows only
            raise ValueError("two-sided rows are not used")
        pname = re.sub(r"[^A-Za-z0-9_,.\[\]]", "_", lp.row_names[r])
        if pname.lower() in seen:
            pname = f"{pname}_{r}"
        seen.add(pname.lower())
        prob.addConstraint(con, pname)
        rows.append(con)
    if HAVE_HIGHS:
        solver = pulp.HiGHS(msg=False, **options)
        name = "PuLP+HiGHS"
    else:  # pragma: no cover
        solver = pulp.PULP_CBC_CMD(msg=False)
        name = "PuLP+CBC"
    with _quiet_stdout():
        status = prob.solve(solver)
    if pulp.LpStatus[status] != "Optimal":
        raise SolverError(f"{name} stopped with status {pulp.LpStatus[status]}")
    x = np.array([v.value() or 0.0 for v in xs], dtype=np.float64)
    duals = np.array([con.pi or 0.0 for con in rows], dtype=np.float64)
    return LPSolution(x, duals, "Optimal", name)
