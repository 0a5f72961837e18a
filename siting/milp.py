"""MILP: the site-selection models as HiGHS problems built from sparse matrices in bulk.

Every model is assembled as ``scipy.sparse`` blocks and passed to HiGHS (``highspy``) in one
``passModel`` call: no Python loop over variables or constraints. Notation: ``B`` is the
reduced candidates (+ fixed sites) x demand groups matrix of :mod:`siting.reduction`, ``W``
the group weights, ``x`` the open/closed candidates (binary), ``k`` the number of new sites.

Maximal covering, uncapacitated (Church & ReVelle 1974)
    max ``sum W_g y_g`` s.t. ``y_g <= sum_{j covers g} x_j``, ``sum x <= k``, ``0 <= y <= 1``.
    A group reached by a single candidate needs no ``y``: its weight goes straight onto that
    candidate's objective coefficient.
Maximal covering with capacities (Pirkul & Schilling 1991)
    ``z_jg`` = share of group *g* served by site *j* (one per stored entry of ``B``);
    max ``sum W_g z_jg`` s.t. ``sum_j z_jg <= 1``, ``sum_g W_g z_jg <= C_j x_j`` (fixed sites:
    ``<= C_j``), ``z_jg <= x_j``, ``sum x <= k``.
p-median (ReVelle & Swain 1970)
    min ``sum w_i d_ij z_ij`` s.t. ``sum_j z_ij = 1``, ``z_ij <= x_j``, ``sum x = k``
    (optionally ``sum_i w_i z_ij <= C_j x_j``).
Fewest sites
    min ``sum x`` s.t. covered weight ``>= T`` (either coverage form above) and
    ``sum s_j x_j >= S`` (slots).

Solutions are proven optimal when HiGHS reports ``Optimal`` with ``mip_rel_gap = 0``;
otherwise (time limit) the incumbent and HiGHS's dual bound are returned.

References
----------
Church, R. & ReVelle, C. (1974). The maximal covering location problem. *Papers of the
Regional Science Association* 32, 101-118.
Pirkul, H. & Schilling, D. A. (1991). The maximal covering location problem with capacities
on total workload. *Management Science* 37(2), 233-248.
ReVelle, C. S. & Swain, R. W. (1970). Central facilities location. *Geographical Analysis*
2(1), 30-42.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse

__all__ = [
    "MilpModel",
    "MilpOutcome",
    "capacitated_cover_model",
    "cover_model",
    "fewest_sites_model",
    "p_median_model",
    "solve",
]

_INF = np.inf
_QUIET: list[bool] = []


@dataclass
class MilpModel:
    """A MILP in matrix form: ``row_lower <= A x <= row_upper``, ``lower <= x <= upper``.

    ``columns`` names each block of columns (``{"x": slice, "y": slice, ...}``) so the
    solution can be read back.
    """

    cost: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    integer: np.ndarray
    matrix: sparse.csr_matrix
    row_lower: np.ndarray
    row_upper: np.ndarray
    maximise: bool
    columns: dict[str, slice] = field(default_factory=dict)
    offset: float = 0.0


@dataclass(frozen=True)
class MilpOutcome:
    """What HiGHS returned.

    Attributes
    ----------
    values
        Column values (NaN when there is no solution).
    objective, bound
        Incumbent objective and HiGHS's dual bound (model units, offset included).
    status
        ``"optimal"``, ``"time limit"``, ``"infeasible"`` or HiGHS's status text.
    seconds
        Solve time.
    nodes
        Branch-and-bound nodes.
    reduced_costs
        Column reduced costs of an LP solve (``relax=True``); empty otherwise.
    """

    values: np.ndarray
    objective: float
    bound: float
    status: str
    seconds: float
    nodes: int
    reduced_costs: np.ndarray = field(default_factory=lambda: np.zeros(0))


@contextlib.contextmanager
def _quiet_stdout() -> Iterator[None]:
    """Silence C-level stdout (highspy prints a banner when its first solver is built)."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # no real stdout (e.g. captured)
        yield
        return
    sys.stdout.flush()
    saved = os.dup(fd)
    try:
        with Path(os.devnull).open("w") as null:
            os.dup2(null.fileno(), fd)
            yield
    finally:
        os.dup2(saved, fd)
        os.close(saved)


def _new_highs() -> Any:
    import highspy

    if _QUIET:
        h = highspy.Highs()
    else:
        with _quiet_stdout():
            h = highspy.Highs()
        _QUIET.append(True)
    h.setOptionValue("output_flag", False)
    return h


def solve(
    model: MilpModel,
    *,
    time_limit: float | None = None,
    mip_rel_gap: float = 0.0,
    start: np.ndarray | None = None,
    relax: bool = False,
) -> MilpOutcome:
    """Solve ``model`` with HiGHS.

    Parameters
    ----------
    model
        The problem.
    time_limit
        Seconds; None = no limit.
    mip_rel_gap
        Relative gap at which branch-and-bound stops (0 = prove optimality).
    start
        A feasible solution to start from (all columns).
    relax
        Solve the LP relaxation (integrality dropped) with the primal simplex method (on
        covering LPs many times faster than HiGHS's default dual simplex) and return the
        reduced costs too.

    Returns
    -------
    MilpOutcome
    """
    import highspy

    t0 = time.perf_counter()
    h = _new_highs()
    h.setOptionValue("mip_rel_gap", float(mip_rel_gap))
    h.setOptionValue("mip_abs_gap", 1e-9)
    if time_limit is not None:
        h.setOptionValue("time_limit", float(time_limit))
    if relax:
        h.setOptionValue("simplex_strategy", 4)  # primal simplex
    n_col, n_row = len(model.cost), len(model.row_lower)
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = n_col, n_row
    lp.col_cost_ = np.ascontiguousarray(model.cost, dtype=float)
    lp.col_lower_ = np.ascontiguousarray(model.lower, dtype=float)
    lp.col_upper_ = np.ascontiguousarray(model.upper, dtype=float)
    lp.row_lower_ = np.ascontiguousarray(model.row_lower, dtype=float)
    lp.row_upper_ = np.ascontiguousarray(model.row_upper, dtype=float)
    lp.offset_ = float(model.offset)
    lp.sense_ = highspy.ObjSense.kMaximize if model.maximise else highspy.ObjSense.kMinimize
    a = sparse.csc_matrix(model.matrix)
    a.sort_indices()
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.num_col_, lp.a_matrix_.num_row_ = n_col, n_row
    lp.a_matrix_.start_ = a.indptr.astype(np.int32)
    lp.a_matrix_.index_ = a.indices.astype(np.int32)
    lp.a_matrix_.value_ = a.data.astype(float)
    h.passModel(lp)
    ints = np.flatnonzero(model.integer).astype(np.int32)
    if len(ints) and not relax:
        h.changeColsIntegrality(len(ints), ints, np.ones(len(ints), dtype=np.uint8))
    if start is not None and not relax:
        sol = highspy.HighsSolution()
        sol.col_value = np.asarray(start, dtype=float).tolist()
        sol.value_valid = True
        h.setSolution(sol)
    h.run()
    status = h.getModelStatus()
    info = h.getInfo()
    text = h.modelStatusToString(status)
    names = {
        highspy.HighsModelStatus.kOptimal: "optimal",
        highspy.HighsModelStatus.kTimeLimit: "time limit",
        highspy.HighsModelStatus.kInfeasible: "infeasible",
    }
    has_solution = info.primal_solution_status >= 2  # feasible
    values = np.asarray(h.getSolution().col_value) if has_solution else np.full(n_col, np.nan)
    objective = float(info.objective_function_value) if has_solution else np.nan
    if len(ints) and not relax:
        bound = float(info.mip_dual_bound)
        nodes = int(info.mip_node_count)
    else:
        bound, nodes = objective, 0
    reduced = np.asarray(h.getSolution().col_dual) if relax and has_solution else np.zeros(0)
    return MilpOutcome(
        values=values,
        objective=objective,
        bound=bound,
        status=names.get(status, text),
        seconds=time.perf_counter() - t0,
        nodes=nodes,
        reduced_costs=reduced,
    )


def split_single_groups(b: sparse.csr_matrix, n_cand: int) -> tuple[np.ndarray, np.ndarray]:
    """Split groups: those reached by exactly one site, a candidate; and the others."""
    csc = b.tocsc()
    deg = np.diff(csc.indptr)
    first = np.where(deg > 0, csc.indices[np.minimum(csc.indptr[:-1], len(csc.indices) - 1)], -1)
    single = (deg == 1) & (first < n_cand) & (first >= 0)
    return np.flatnonzero(single), np.flatnonzero(~single)


def _link_rows(entries: np.ndarray, site: np.ndarray, n_cand: int, n_col: int) -> sparse.csr_matrix:
    """Rows ``z_e - x_site(e) <= 0`` for the given entries (``z`` columns start at n_cand)."""
    r = np.arange(len(entries))
    vals = np.r_[np.ones(len(entries)), -np.ones(len(entries))]
    cols = np.r_[n_cand + entries, site[entries]]
    return sparse.csr_matrix((vals, (np.r_[r, r], cols)), shape=(len(entries), n_col))


def cover_model(
    b: sparse.csr_matrix, weight: np.ndarray, *, k: int | None, fold: bool = True
) -> MilpModel:
    """Uncapacitated maximal covering on candidates ``b`` (rows) x demand groups (columns).

    With ``k=None`` the cardinality row is left out (for :func:`fewest_sites_model`).
    Columns: ``x`` (candidates), ``y`` (groups reached by two or more candidates; with
    ``fold=False`` every group).
    """
    n_c, n_g = b.shape
    w = np.asarray(weight, dtype=float)
    if fold:
        single, multi = split_single_groups(b, n_c)
    else:
        single, multi = np.zeros(0, dtype=np.int64), np.arange(n_g)
    csc = b.tocsc()
    fold_w = np.zeros(n_c)
    if len(single):
        np.add.at(fold_w, csc.indices[csc.indptr[single]], w[single])
    bm = csc[:, multi]
    n_y = len(multi)
    link = sparse.hstack([-bm.T, sparse.identity(n_y, format="csr")], format="csr")
    rows = [link]
    lo = [np.full(n_y, -_INF)]
    hi = [np.zeros(n_y)]
    if k is not None:
        rows.append(sparse.csr_matrix(np.r_[np.ones(n_c), np.zeros(n_y)][None, :]))
        lo.append(np.array([-_INF]))
        hi.append(np.array([float(k)]))
    return MilpModel(
        cost=np.r_[fold_w, w[multi]],
        lower=np.zeros(n_c + n_y),
        upper=np.ones(n_c + n_y),
        integer=np.r_[np.ones(n_c, dtype=bool), np.zeros(n_y, dtype=bool)],
        matrix=sparse.vstack(rows, format="csr"),
        row_lower=np.concatenate(lo),
        row_upper=np.concatenate(hi),
        maximise=True,
        columns={"x": slice(0, n_c), "y": slice(n_c, n_c + n_y)},
    )


def capacitated_cover_model(
    b: sparse.csr_matrix,
    weight: np.ndarray,
    capacity: np.ndarray,
    *,
    n_cand: int,
    k: int | None,
    strong: bool = True,
) -> MilpModel:
    """Maximal covering with site capacities; rows of ``b`` past ``n_cand`` are fixed sites.

    Columns: ``x`` (candidates), ``z`` (one per stored entry of ``b``, row-major: the share of
    the group served by the site). ``strong`` adds ``z <= x`` per candidate entry (a much
    tighter LP).
    """
    n_s, n_g = b.shape
    w = np.asarray(weight, dtype=float)
    cap = np.asarray(capacity, dtype=float)
    coo = b.tocoo()
    order = np.lexsort((coo.col, coo.row))
    site, grp = coo.row[order], coo.col[order]
    n_z = len(site)
    e = np.arange(n_z)
    blocks, lo, hi = [], [], []
    # each group served at most once
    blocks.append(sparse.csr_matrix((np.ones(n_z), (grp, n_cand + e)), shape=(n_g, n_cand + n_z)))
    lo.append(np.full(n_g, -_INF))
    hi.append(np.ones(n_g))
    # site workload within capacity (a candidate only when open)
    rows = np.r_[site, np.arange(n_cand)]
    cols = np.r_[n_cand + e, np.arange(n_cand)]
    vals = np.r_[w[grp], -cap[:n_cand]]
    blocks.append(sparse.csr_matrix((vals, (rows, cols)), shape=(n_s, n_cand + n_z)))
    lo.append(np.full(n_s, -_INF))
    hi.append(np.r_[np.zeros(n_cand), cap[n_cand:]])
    if strong:
        ce = np.flatnonzero(site < n_cand)
        r = np.arange(len(ce))
        blocks.append(
            sparse.csr_matrix(
                (
                    np.r_[np.ones(len(ce)), -np.ones(len(ce))],
                    (np.r_[r, r], np.r_[n_cand + ce, site[ce]]),
                ),
                shape=(len(ce), n_cand + n_z),
            )
        )
        lo.append(np.full(len(ce), -_INF))
        hi.append(np.zeros(len(ce)))
    if k is not None:
        blocks.append(sparse.csr_matrix(np.r_[np.ones(n_cand), np.zeros(n_z)][None, :]))
        lo.append(np.array([-_INF]))
        hi.append(np.array([float(k)]))
    return MilpModel(
        cost=np.r_[np.zeros(n_cand), w[grp]],
        lower=np.zeros(n_cand + n_z),
        upper=np.ones(n_cand + n_z),
        integer=np.r_[np.ones(n_cand, dtype=bool), np.zeros(n_z, dtype=bool)],
        matrix=sparse.vstack(blocks, format="csr"),
        row_lower=np.concatenate(lo),
        row_upper=np.concatenate(hi),
        maximise=True,
        columns={"x": slice(0, n_cand), "z": slice(n_cand, n_cand + n_z)},
    )


def fewest_sites_model(
    coverage: MilpModel | None,
    *,
    n_cand: int,
    covered_target: float | None,
    slots: np.ndarray | None,
    slots_target: float | None,
) -> MilpModel:
    """Fewest candidates meeting a covered-weight target and/or a slots target.

    ``coverage`` is a covering model built with ``k=None`` (its objective becomes the
    covered-weight row); None when only slots count.
    """
    if coverage is None:
        n_col = n_cand
        base = sparse.csr_matrix((0, n_col))
        lo_b, hi_b = np.zeros(0), np.zeros(0)
        lower, upper = np.zeros(n_col), np.ones(n_col)
        integer = np.ones(n_col, dtype=bool)
        columns = {"x": slice(0, n_cand)}
        cover_row = None
    else:
        n_col = len(coverage.cost)
        base = coverage.matrix
        lo_b, hi_b = coverage.row_lower, coverage.row_upper
        lower, upper, integer = coverage.lower, coverage.upper, coverage.integer
        columns = dict(coverage.columns)
        cover_row = coverage.cost
    blocks, lo, hi = [base], [lo_b], [hi_b]
    if covered_target is not None and cover_row is not None:
        blocks.append(sparse.csr_matrix(cover_row[None, :]))
        lo.append(np.array([float(covered_target)]))
        hi.append(np.array([_INF]))
    if slots_target is not None and slots is not None:
        row = np.zeros(n_col)
        row[:n_cand] = slots
        blocks.append(sparse.csr_matrix(row[None, :]))
        lo.append(np.array([float(slots_target)]))
        hi.append(np.array([_INF]))
    cost = np.zeros(n_col)
    cost[:n_cand] = 1.0
    return MilpModel(
        cost=cost,
        lower=lower,
        upper=upper,
        integer=integer,
        matrix=sparse.vstack(blocks, format="csr"),
        row_lower=np.concatenate(lo),
        row_upper=np.concatenate(hi),
        maximise=False,
        columns=columns,
    )


def p_median_model(
    dist: sparse.csr_matrix,
    weight: np.ndarray,
    *,
    n_cand: int,
    k: int,
    capacity: np.ndarray | None = None,
) -> MilpModel:
    """p-median on sites (rows; past ``n_cand`` fixed open) x demand (columns, all reachable).

    ``dist`` stores the allowed assignments (explicit zeros count as 0 m). Columns: ``x``
    (candidates), ``z`` (one per stored entry, row-major).
    """
    n_s, n_d = dist.shape
    w = np.asarray(weight, dtype=float)
    coo = dist.tocoo()
    order = np.lexsort((coo.col, coo.row))
    site, dem, d = coo.row[order], coo.col[order], coo.data[order]
    n_z = len(site)
    e = np.arange(n_z)
    n_col = n_cand + n_z
    blocks, lo, hi = [], [], []
    blocks.append(sparse.csr_matrix((np.ones(n_z), (dem, n_cand + e)), shape=(n_d, n_col)))
    lo.append(np.ones(n_d))
    hi.append(np.ones(n_d))
    ce = np.flatnonzero(site < n_cand)
    r = np.arange(len(ce))
    blocks.append(
        sparse.csr_matrix(
            (
                np.r_[np.ones(len(ce)), -np.ones(len(ce))],
                (np.r_[r, r], np.r_[n_cand + ce, site[ce]]),
            ),
            shape=(len(ce), n_col),
        )
    )
    lo.append(np.full(len(ce), -_INF))
    hi.append(np.zeros(len(ce)))
    blocks.append(sparse.csr_matrix(np.r_[np.ones(n_cand), np.zeros(n_z)][None, :]))
    lo.append(np.array([float(k)]))
    hi.append(np.array([float(k)]))
    if capacity is not None:
        cap = np.asarray(capacity, dtype=float)
        rows = np.r_[site, np.arange(n_cand)]
        cols = np.r_[n_cand + e, np.arange(n_cand)]
        vals = np.r_[w[dem], -cap[:n_cand]]
        blocks.append(sparse.csr_matrix((vals, (rows, cols)), shape=(n_s, n_col)))
        lo.append(np.full(n_s, -_INF))
        hi.append(np.r_[np.zeros(n_cand), cap[n_cand:]])
    return MilpModel(
        cost=np.r_[np.zeros(n_cand), w[dem] * d],
        lower=np.zeros(n_col),
        upper=np.ones(n_col),
        integer=np.r_[np.ones(n_cand, dtype=bool), np.zeros(n_z, dtype=bool)],
        matrix=sparse.vstack(blocks, format="csr"),
        row_lower=np.concatenate(lo),
        row_upper=np.concatenate(hi),
        maximise=False,
        columns={"x": slice(0, n_cand), "z": slice(n_cand, n_col)},
    )
