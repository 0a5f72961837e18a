"""Median: the k new sites that bring demand closest to a site (p-median).

The p-median problem (ReVelle & Swain 1970; model in :mod:`siting.milp`) minimises the sum of
demand x distance to the serving site, with existing facilities fixed open and, optionally,
site capacities. Solved exactly with HiGHS.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from scipy import sparse

from siting import milp
from siting._errors import ConfigError, InputDataError
from siting._selection import (
    Selection,
    as_csr,
    check_capacity,
    check_demand,
    check_k,
    check_sites,
    nearest,
    reached_by,
    relative_gap,
)

__all__ = ["p_median"]


def p_median(
    cost: Any,
    demand: Any,
    *,
    k: int,
    candidates: Any,
    fixed: Any = None,
    capacity: Any = None,
    time_limit: float | None = None,
) -> Selection:
    """Choose the ``k`` new sites minimising the demand-weighted distance to a serving site.

    Parameters
    ----------
    cost
        Sites x demand distances, metres: dense (``inf``/NaN = not allowed) or scipy
        sparse (stored entries are the allowed assignments, explicit zeros = 0 m).
    demand
        Weight of each demand point.
    k
        Number of new sites.
    candidates, fixed, capacity, time_limit
        As in :func:`max_cover`. Fixed sites are open and serve demand too; ``k`` counts
        new sites only.

    Returns
    -------
    Selection
        ``objective`` = sum of weight x distance to the serving site (demand x metres);
        ``bound`` a lower bound. Demand points with zero weight or no allowed site are left
        out (counted in ``details``).

    Raises
    ------
    ConfigError
        If ``k`` is out of range, or no ``k`` sites can serve every demand point (the
        message says how many are needed).
    InputDataError
        On mismatched sizes, negative values or bad rows.
    """
    t0 = time.perf_counter()
    d = as_csr(cost, "cost")
    w = check_demand(demand, d.shape[1])
    cand, fix = check_sites(d.shape[0], candidates, fixed)
    k = check_k(k, len(cand))
    cap = check_capacity(capacity, d.shape[0])
    if d.nnz and (~np.isfinite(d.data) | (d.data < 0)).any():
        msg = "cost must hold finite distances >= 0 in its stored entries"
        raise InputDataError(msg)
    rows = np.r_[cand, fix]
    sub = d[rows]
    reach = np.diff(sub.tocsc().indptr)  # stored entries per demand point
    keep = np.flatnonzero((reach > 0) & (w > 0))
    details: dict[str, Any] = {
        "k": k,
        "fixed_sites": len(fix),
        "demand_points": int(d.shape[1]),
        "demand_points_unreachable": int(((reach == 0) & (w > 0)).sum()),
        "demand_unreachable": round(float(w[(reach == 0)].sum()), 4),
        "nonzeros": int(sub[:, keep].nnz),
    }
    model = milp.p_median_model(
        sub[:, keep].tocsr(),
        w[keep],
        n_cand=len(cand),
        k=k,
        capacity=None if cap is None else cap[rows],
    )
    out = milp.solve(model, time_limit=time_limit)
    details.update(milp_seconds=round(out.seconds, 4), milp_nodes=out.nodes, milp_status=out.status)
    if not np.isfinite(out.objective):
        needed = _fewest_to_reach_all(sub[:, keep], len(cand))
        extra = "" if cap is None else " within the capacities"
        msg = (
            f"no {k} new site(s) can serve every reachable demand point{extra}: "
            f"{needed} are needed to reach them all (HiGHS: {out.status}); raise k, allow "
            "longer assignments, or drop the demand points no site reaches"
        )
        raise ConfigError(msg)
    x = out.values[model.columns["x"]]
    z = out.values[model.columns["z"]]
    coo = sub[:, keep].tocoo()
    order = np.lexsort((coo.col, coo.row))
    site, dem, dist = coo.row[order], coo.col[order], coo.data[order]
    # each point to the site carrying its largest share (all of it when uncapacitated)
    srt = np.lexsort((-z, dem))
    first = np.r_[True, dem[srt][1:] != dem[srt][:-1]] if len(srt) else np.zeros(0, dtype=bool)
    pick = srt[first]
    assigned = np.full(d.shape[1], -1, dtype=np.int64)
    assigned[keep[dem[pick]]] = rows[site[pick]]
    sites = rows[: len(cand)][x[: len(cand)] > 0.5]
    if cap is None:  # uncapacitated: every reachable point (zero weight too) to its nearest
        assigned = nearest(d, np.r_[sites, fix])
        objective = float(np.dot(w, _assigned_distance(d, assigned)))
    else:
        objective = float((w[keep][dem] * dist * z).sum())
    served = np.where(assigned >= 0, w, 0.0)
    load = np.bincount(site, weights=z * w[keep][dem], minlength=len(rows))
    site_served = np.array([load[np.flatnonzero(rows == s)[0]] for s in sites])
    order_s = np.argsort(-site_served, kind="stable")
    details["seconds"] = round(time.perf_counter() - t0, 4)
    details["mean_distance_m"] = round(objective / max(float(w[keep].sum()), 1e-300), 3)
    return Selection(
        model="p_median",
        method="MILP (HiGHS)",
        status=out.status,
        sites=sites[order_s],
        objective=objective,
        bound=min(out.bound, objective),
        gap=relative_gap(objective, min(out.bound, objective)),
        served=served,
        assigned=assigned,
        site_served=site_served[order_s],
        gains=np.full(len(sites), np.nan),
        details=details,
    )


def _assigned_distance(d: sparse.csr_matrix, assigned: np.ndarray) -> np.ndarray:
    """Distance from each demand point to its assigned row (0 where unassigned)."""
    out = np.zeros(d.shape[1])
    cols = np.flatnonzero(assigned >= 0)
    if len(cols):
        out[cols] = np.asarray(d[assigned[cols], cols]).ravel()
    return out


def _fewest_to_reach_all(sub: sparse.csr_matrix, n_cand: int) -> int:
    """Fewest candidates (rows < n_cand) that, with the fixed rows, reach every column."""
    b = sub.astype(bool).astype(float).tocsr()
    fixed_hit = reached_by(b, np.arange(n_cand, b.shape[0]))
    w = np.where(fixed_hit, 0.0, 1.0)
    model = milp.cover_model(b[:n_cand], w, k=None, fold=False)
    few = milp.fewest_sites_model(
        model, n_cand=n_cand, covered_target=float(w.sum()), slots=None, slots_target=None
    )
    out = milp.solve(few, time_limit=60.0)
    return round(out.objective) if np.isfinite(out.objective) else n_cand
