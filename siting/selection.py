"""Selection: choose new sites that cover the most demand, or the fewest that meet a target.

Three questions, each on a sites x demand matrix (a stored entry = the site reaches the
demand point within the walk; its value is the distance, metres):

- :func:`max_cover` — the best ``k`` new sites: maximal covering (MCLP), optionally with
  site capacities (slots) so that a site serves at most its capacity; existing facilities
  are ``fixed`` rows, open anyway.
- :func:`p_median` (:mod:`siting.median`) — the ``k`` new sites that minimise the
  demand-weighted distance to the nearest open site (optionally capacitated).
- :func:`fewest_sites` (:mod:`siting.targets`) — the fewest new sites that reach a coverage
  share and/or a number of slots per 1,000 residents.

Each returns a :class:`Selection`: the chosen rows, the objective, a proven bound on the
optimum, the gap between them and the solve status, plus which site serves each demand
point. The models are solved exactly with HiGHS (:mod:`siting.milp`) after exact reductions
(:mod:`siting.reduction`: identical demand points merged, dominated candidates dropped), a
greedy warm start and Lagrangian variable fixing (:mod:`siting.relaxation`), which settle
most candidates before the MILP sees them. Instances too large to prove optimal within the
limits are solved greedily and bounded by the Lagrangian relaxation, and say so (``status``
``"bounded"``, with the gap).

:func:`greedy_max_cover` (the plain greedy) is kept for callers of the first release.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse

from siting import milp
from siting._errors import ConfigError
from siting._selection import (
    Selection,
    as_csr,
    check_capacity,
    check_demand,
    check_k,
    check_sites,
    cover_result,
    reached_by,
    relative_gap,
    split_result,
)
from siting.median import p_median
from siting.reduction import reduce_cover
from siting.relaxation import greedy_cover, improve_by_swaps, lagrangian_cover
from siting.targets import fewest_sites

__all__ = [
    "EXACT_NONZEROS",
    "Selection",
    "fewest_sites",
    "greedy_max_cover",
    "max_cover",
    "p_median",
]

log = logging.getLogger(__name__)

#: Largest reduced covering matrix (nonzeros) that ``method="auto"`` solves exactly; larger
#: instances get the greedy solution with its Lagrangian bound.
EXACT_NONZEROS = 5_000_000
#: Largest ``sum(deg^2)`` over demand groups for which dominated candidates are looked for
#: (the cost of ``B @ B.T``).
_DOMINANCE_WORK = 100_000_000
#: Largest candidates x k for which the greedy solution is improved by swaps (each round
#: holds a dense candidates x k matrix).
_SWAP_WORK = 5_000_000


# ----------------------------------------------------------------------------- greedy


def greedy_max_cover(
    within: sparse.csr_matrix,
    demand: np.ndarray,
    *,
    k: int,
    candidates: np.ndarray,
    covered: np.ndarray | None = None,
) -> pd.DataFrame:
    """Pick up to ``k`` candidate rows of ``within`` that cover the most demand, greedily.

    Each step adds the candidate whose row covers the most demand not yet covered (ties:
    the first in ``candidates``), until ``k`` are picked or nothing adds coverage. At least
    1 - 1/e (63 %) of the optimum; :func:`max_cover` gives the optimum.

    Parameters
    ----------
    within
        Candidates x demand points; a stored entry means "reachable" (e.g. a 300 m walk).
    demand
        Weight of each demand point (e.g. under-3 children).
    k
        Number of sites to pick (stops early when no candidate adds coverage).
    candidates
        Row positions allowed, in tie-break order (best rank first).
    covered
        Boolean mask of demand points already covered by existing facilities.

    Returns
    -------
    DataFrame
        One row per pick, in order: ``row`` (position in ``within``), ``order`` (1..k),
        ``gain`` (newly covered demand), ``cumulative`` (covered by the picks so far).

    Raises
    ------
    ConfigError
        If ``k`` is not a positive integer.
    """
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
        msg = f"k (number of sites) must be a positive integer, got {k!r}"
        raise ConfigError(msg)
    a = as_csr(within, "within")
    cand = np.asarray(candidates, dtype=np.int64)
    w = np.asarray(demand, dtype=float)
    if covered is not None:
        w = np.where(np.asarray(covered, dtype=bool), 0.0, w)
    rows, gains = greedy_cover(a[cand], w, k=int(k), tol=0.0)
    return pd.DataFrame(
        {
            "row": cand[rows].astype(int),
            "order": np.arange(1, len(rows) + 1, dtype=int),
            "gain": gains,
            "cumulative": np.cumsum(gains),
        },
        columns=["row", "order", "gain", "cumulative"],
    )


# ----------------------------------------------------------------------------- max cover


def max_cover(
    within: Any,
    demand: Any,
    *,
    k: int,
    candidates: Any,
    fixed: Any = None,
    capacity: Any = None,
    method: str = "auto",
    time_limit: float | None = None,
    exact_limit: int = EXACT_NONZEROS,
) -> Selection:
    """Choose the ``k`` new sites covering the most demand (maximal covering location problem).

    Parameters
    ----------
    within
        Sites x demand points (scipy sparse, or dense with ``inf``/NaN = unreachable); a
        stored entry = the site reaches the point, its value the distance (used only to
        say which open site serves a point: the nearest).
    demand
        Weight of each demand point (e.g. under-3 children, or unmet under-3s).
    k
        Number of new sites (at most the number of candidates).
    candidates
        Rows that may become new sites, best-ranked first (ties go to the first).
    fixed
        Rows of existing facilities, open anyway (their coverage counts in the objective).
    capacity
        Slots per row (new and fixed): with it, a site serves at most its capacity and a
        demand point may be split between sites (capacitated MCLP). Without it, any site
        within reach covers a point fully.
    method
        ``"auto"`` (exact unless the reduced instance exceeds ``exact_limit`` nonzeros),
        ``"exact"`` or ``"greedy"`` (greedy + Lagrangian bound; uncapacitated only).
    time_limit
        Seconds for the MILP; when reached, the best solution and HiGHS's bound are
        returned with ``status="time limit"``.
    exact_limit
        See ``method``.

    Returns
    -------
    Selection
        ``objective`` = demand covered by the new and fixed sites together; ``bound`` an
        upper bound on the optimum. Sites that add nothing are left out (fewer than ``k``
        when the demand runs out).

    Raises
    ------
    ConfigError
        If ``k`` is not 1..number of candidates, or ``method`` is unknown.
    InputDataError
        On mismatched sizes, negative demand or capacity, or bad rows.
    """
    t0 = time.perf_counter()
    if method not in ("auto", "exact", "greedy"):
        msg = f"method must be 'auto', 'exact' or 'greedy', got {method!r}"
        raise ConfigError(msg)
    a = as_csr(within, "within")
    w = check_demand(demand, a.shape[1])
    cand, fix = check_sites(a.shape[0], candidates, fixed)
    k = check_k(k, len(cand))
    cap = check_capacity(capacity, a.shape[0])
    if cap is not None:
        if method == "greedy":
            msg = "method='greedy' is for the uncapacitated model; use 'auto' or 'exact'"
            raise ConfigError(msg)
        return _capacitated_cover(
            a, w, k=k, cand=cand, fix=fix, cap=cap, time_limit=time_limit, t0=t0
        )
    fixed_hit = reached_by(a, fix)
    base = float(w[fixed_hit].sum())
    rest = np.where(fixed_hit, 0.0, w)
    work = _dominance_work(a, cand, rest)
    inst = reduce_cover(a, rest, candidates=cand, drop_dominated=work <= _DOMINANCE_WORK)
    details: dict[str, Any] = {
        "k": k,
        "fixed_sites": len(fix),
        "covered_by_fixed": round(base, 4),
        "total_demand": round(float(w.sum()), 4),
        **{f"reduction_{key}": v for key, v in inst.stats.items()},
    }
    b, gw = inst.matrix, inst.weight
    t_g = time.perf_counter()
    g_rows, g_gains = greedy_cover(b, gw, k=k)
    details["greedy_objective"] = round(base + float(g_gains.sum()), 4)
    if b.shape[0] * max(k, 1) <= _SWAP_WORK:
        g_rows, got = improve_by_swaps(b, gw, g_rows)
        details["swaps_objective"] = round(base + got, 4)
    details["greedy_seconds"] = round(time.perf_counter() - t_g, 4)
    exact = method == "exact" or (method == "auto" and b.nnz <= exact_limit)
    lag = lagrangian_cover(b, gw, k=k, start=g_rows, time_limit=time_limit)
    details["lagrangian_bound"] = round(base + lag.bound, 4)
    details["lagrangian_objective"] = round(base + lag.objective, 4)
    details["lagrangian_iterations"] = lag.iterations
    details["lagrangian_seconds"] = round(lag.seconds, 4)
    details["candidates_closed_by_fixing"] = int(lag.closed.sum())
    details["candidates_opened_by_fixing"] = int(lag.opened.sum())
    rows, bound = lag.rows, lag.bound
    status, how = "bounded", "greedy + Lagrangian bound"
    if relative_gap(lag.objective, lag.bound) == 0 or (
        bool(np.all(gw == np.round(gw))) and lag.bound < lag.objective + 1.0 - 1e-6
    ):
        status, how = "optimal", "greedy + Lagrangian bound (gap closed)"
        bound = lag.objective
    elif exact:
        rows, bound, status = _exact_cover(
            b, gw, k=k, lag=lag, time_limit=time_limit, details=details, offset=base
        )
        how = "MILP (HiGHS) after Lagrangian fixing"
    chosen = inst.rows[np.asarray(rows, dtype=np.int64)]
    return cover_result(
        a, w, chosen=chosen, fix=fix, bound=base + bound, status=status, how=how,
        model="max_cover", details=details, fixed_hit=fixed_hit, t0=t0,
    )  # fmt: skip


def _dominance_work(a: sparse.csr_matrix, cand: np.ndarray, w: np.ndarray) -> float:
    deg = np.asarray(a[cand].astype(bool).sum(axis=0)).ravel()
    deg = deg[w > 0]
    return float((deg.astype(float) ** 2).sum())


def _exact_cover(
    b: sparse.csr_matrix,
    gw: np.ndarray,
    *,
    k: int,
    lag: Any,
    time_limit: float | None,
    details: dict[str, Any],
    offset: float,
) -> tuple[np.ndarray, float, str]:
    """Prove the covering optimum: LP bound and reduced-cost fixing, then a small MILP.

    Candidates Lagrangian fixing settled are dropped (closed) or taken (opened); the LP
    relaxation of the rest (primal simplex) gives the LP bound, and its reduced costs fix
    more candidates (forcing a candidate off its bound costs at least its reduced cost, so
    when the LP bound minus that falls below the best solution known the candidate stays
    where it is). The MILP then sees only the candidates still free.
    """
    closed, opened = lag.closed.copy(), lag.opened.copy()
    best_rows, best_obj, bound = lag.rows, lag.objective, lag.bound
    integral = bool(np.all(gw == np.round(gw)))
    margin = 1e-7 * max(1.0, best_obj)

    def proven(ub: float) -> bool:
        tol = 1e-7 * max(1.0, best_obj)
        return ub - best_obj <= tol or (integral and ub < best_obj + 1.0 - 1e-6)

    for stage in ("lp", "milp"):
        hit = reached_by(b, np.flatnonzero(opened))
        base = float(gw[hit].sum())
        k_free = k - int(opened.sum())
        free = np.flatnonzero(~closed & ~opened)
        if k_free <= 0 or len(free) == 0:
            return np.flatnonzero(opened), min(bound, base), "optimal"
        sub = reduce_cover(b, np.where(hit, 0.0, gw), candidates=free, drop_dominated=True)
        k_sub = min(k_free, sub.matrix.shape[0])
        model = milp.cover_model(sub.matrix, sub.weight, k=k_sub)
        details[f"{stage}_candidates"] = int(sub.matrix.shape[0])
        details[f"{stage}_groups"] = int(sub.matrix.shape[1])
        details[f"{stage}_nonzeros"] = int(sub.matrix.nnz)
        if stage == "lp":
            out = milp.solve(model, time_limit=time_limit, relax=True)
            details["lp_seconds"] = round(out.seconds, 4)
            if not np.isfinite(out.objective):
                break
            bound = min(bound, base + out.objective)
            details["lp_bound"] = round(offset + base + out.objective, 4)
            # better solutions from the LP: its k largest values, and greedy on its support,
            # each improved by swaps
            x = out.values[: sub.matrix.shape[0]]
            top = np.argsort(-x, kind="stable")[:k_sub]
            support = np.flatnonzero(x > 1e-9)
            picked, _ = greedy_cover(sub.matrix[support], sub.weight, k=k_sub)
            for start in (top, support[picked]):
                cand_rows, got = improve_by_swaps(sub.matrix, sub.weight, start)
                if base + got > best_obj:
                    best_obj = base + got
                    best_rows = np.r_[np.flatnonzero(opened), sub.rows[cand_rows]]
            details["lp_rounding_objective"] = round(offset + best_obj, 4)
            if proven(bound):
                return best_rows, best_obj, "optimal"
            margin = 1e-7 * max(1.0, best_obj)
            # reduced-cost fixing of the candidates at a bound in the LP optimum
            x = out.values[: sub.matrix.shape[0]]
            rc = np.abs(out.reduced_costs[: sub.matrix.shape[0]])
            worse = base + out.objective - rc < best_obj - margin
            at_zero, at_one = worse & (x <= 1e-9), worse & (x >= 1.0 - 1e-9)
            # candidates outside this subproblem were closed by its own reduction
            dropped = np.setdiff1d(free, sub.rows)
            closed[dropped] = True
            closed[sub.rows[at_zero]] = True
            opened[sub.rows[at_one]] = True
            details["candidates_closed_by_lp"] = int(at_zero.sum() + len(dropped))
            details["candidates_opened_by_lp"] = int(at_one.sum())
            continue
        pos = np.full(b.shape[0], -1)
        pos[sub.rows] = np.arange(len(sub.rows))
        x0 = np.zeros(sub.matrix.shape[0])
        take = pos[best_rows]
        x0[take[take >= 0][:k_sub]] = 1.0
        ycov = np.minimum(1.0, np.asarray(sub.matrix.T @ x0).ravel())
        _, multi = milp.split_single_groups(sub.matrix, sub.matrix.shape[0])
        out = milp.solve(model, time_limit=time_limit, start=np.r_[x0, ycov[multi]])
        details["milp_seconds"] = round(out.seconds, 4)
        details["milp_nodes"] = out.nodes
        details["milp_status"] = out.status
        if not np.isfinite(out.objective):
            break
        rows = np.r_[np.flatnonzero(opened), sub.rows[out.values[: sub.matrix.shape[0]] > 0.5]]
        return rows, min(bound, base + out.bound), out.status
    return best_rows, bound, "bounded"


def _capacitated_cover(
    a: sparse.csr_matrix,
    w: np.ndarray,
    *,
    k: int,
    cand: np.ndarray,
    fix: np.ndarray,
    cap: np.ndarray,
    time_limit: float | None,
    t0: float,
) -> Selection:
    inst = reduce_cover(a, w, candidates=cand, fixed=fix, drop_dominated=False)
    n_c = len(inst.rows) - len(fix)
    model = milp.capacitated_cover_model(
        inst.matrix, inst.weight, cap[inst.rows], n_cand=n_c, k=k, strong=True
    )
    out = milp.solve(model, time_limit=time_limit)
    details: dict[str, Any] = {
        "k": k,
        "fixed_sites": len(fix),
        "total_demand": round(float(w.sum()), 4),
        **{f"reduction_{key}": v for key, v in inst.stats.items()},
        "milp_seconds": round(out.seconds, 4),
        "milp_nodes": out.nodes,
        "milp_status": out.status,
    }
    if not np.isfinite(out.objective):
        msg = f"HiGHS found no solution to the capacitated covering model ({out.status})"
        raise ConfigError(msg)
    return split_result(
        a, w, inst=inst, model=model, out=out, n_c=n_c, name="max_cover_capacitated",
        details=details, t0=t0, maximise=True,
    )  # fmt: skip
