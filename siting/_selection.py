"""Shared parts of the site-selection modules: the result type, input checks, read-back.

:class:`Selection` is public through :mod:`siting.selection`.
"""

from __future__ import annotations

import math
import numbers
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse

from siting import milp
from siting._errors import ConfigError, InputDataError
from siting.relaxation import greedy_cover

__all__ = ["Selection"]


@dataclass(frozen=True)
class Selection:
    """Chosen sites and how good they are.

    Attributes
    ----------
    model
        ``"max_cover"``, ``"max_cover_capacitated"``, ``"p_median"`` or ``"fewest_sites"``.
    method
        How it was solved, e.g. ``"MILP (HiGHS) after Lagrangian fixing"`` or ``"greedy +
        Lagrangian bound"``.
    status
        ``"optimal"`` (proven), ``"time limit"`` (best found, with the bound) or
        ``"bounded"`` (heuristic solution with a proven bound).
    sites
        Rows of the input matrix chosen as new sites, in order of decreasing marginal
        contribution (the first adds the most).
    objective
        Covered demand (max_cover, existing facilities' coverage included), weighted
        distance (p_median, demand x metres) or number of new sites (fewest_sites).
    bound
        Proven bound on the optimum: upper for max_cover, lower for the others.
    gap
        ``|bound - objective| / |bound|`` (0 when proven optimal).
    served
        Per demand point, the demand served (0 .. its weight).
    assigned
        Per demand point, the row of the site serving it (-1 none): the nearest open site;
        with capacities, the site carrying the largest share of it.
    site_served
        Demand served by each new site (aligned with ``sites``).
    gains
        Demand each new site adds when the sites are added in the order of ``sites``
        (max_cover and fewest_sites; NaN for p_median).
    details
        Sizes before and after reduction, times, bounds of each stage, targets.
    """

    model: str
    method: str
    status: str
    sites: np.ndarray
    objective: float
    bound: float
    gap: float
    served: np.ndarray
    assigned: np.ndarray
    site_served: np.ndarray
    gains: np.ndarray
    details: dict[str, Any] = field(default_factory=dict)

    def table(self) -> pd.DataFrame:
        """One row per new site: ``row``, ``order`` (1..), ``gain``, ``served``."""
        return pd.DataFrame(
            {
                "row": self.sites.astype(int),
                "order": np.arange(1, len(self.sites) + 1),
                "gain": self.gains,
                "served": self.site_served,
            }
        )

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready summary (no per-point arrays)."""
        return {
            "model": self.model,
            "method": self.method,
            "status": self.status,
            "sites": len(self.sites),
            "objective": rounded(self.objective),
            "bound": rounded(self.bound),
            "gap": rounded(self.gap, 6),
            **{k: v for k, v in self.details.items() if not isinstance(v, np.ndarray)},
        }


def rounded(v: float, digits: int = 4) -> float | None:
    return None if v is None or not math.isfinite(v) else round(float(v), digits)


# ----------------------------------------------------------------------------- validation


def as_csr(matrix: Any, name: str) -> sparse.csr_matrix:
    if sparse.issparse(matrix):
        out = sparse.csr_matrix(matrix)
    else:
        arr = np.asarray(matrix, dtype=float)
        if arr.ndim != 2:
            msg = f"{name} must be a sites x demand matrix, got shape {arr.shape}"
            raise InputDataError(msg)
        ok = np.isfinite(arr)
        r, c = np.nonzero(ok)
        out = sparse.csr_matrix((arr[r, c], (r, c)), shape=arr.shape)
    out.sum_duplicates()
    return out


def check_demand(demand: Any, n: int) -> np.ndarray:
    w = np.asarray(demand, dtype=float).ravel()
    if len(w) != n:
        msg = f"demand has {len(w)} values but the matrix has {n} demand columns"
        raise InputDataError(msg)
    if not np.isfinite(w).all() or (w < 0).any():
        bad = np.flatnonzero(~np.isfinite(w) | (w < 0))[:5]
        msg = f"demand must be finite and >= 0; positions {bad.tolist()} are not"
        raise InputDataError(msg)
    return w


def check_rows(rows: Any, n_sites: int, name: str) -> np.ndarray:
    arr = np.asarray([] if rows is None else rows).ravel()
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        msg = f"{name} must be row positions (integers), got dtype {arr.dtype}"
        raise InputDataError(msg)
    arr = arr.astype(np.int64)
    if arr.size and (arr.min() < 0 or arr.max() >= n_sites):
        msg = f"{name} holds rows outside 0..{n_sites - 1}"
        raise InputDataError(msg)
    if len(np.unique(arr)) != len(arr):
        msg = f"{name} lists a row more than once"
        raise InputDataError(msg)
    return arr


def check_sites(n_sites: int, candidates: Any, fixed: Any) -> tuple[np.ndarray, np.ndarray]:
    cand = check_rows(candidates, n_sites, "candidates")
    fix = check_rows(fixed, n_sites, "fixed")
    both = np.intersect1d(cand, fix)
    if len(both):
        msg = (
            f"rows {both[:5].tolist()} are both candidates and fixed (existing) sites; an "
            "existing facility is open already: list it only in fixed"
        )
        raise InputDataError(msg)
    return cand, fix


def check_k(k: Any, n_cand: int) -> int:
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
        msg = f"k (number of new sites) must be a positive integer, got {k!r}"
        raise ConfigError(msg)
    if k > n_cand:
        msg = (
            f"k = {k} new sites asked for, but only {n_cand} eligible parcel(s) exist; "
            f"choose k <= {n_cand}, or ask fewest_sites how many a target needs"
        )
        raise ConfigError(msg)
    return int(k)


def check_capacity(capacity: Any, n_sites: int, name: str = "capacity") -> np.ndarray | None:
    if capacity is None:
        return None
    cap = np.asarray(capacity, dtype=float).ravel()
    if len(cap) != n_sites:
        msg = f"{name} has {len(cap)} values but the matrix has {n_sites} site rows"
        raise InputDataError(msg)
    if not np.isfinite(cap).all() or (cap < 0).any():
        msg = f"{name} must be finite and >= 0 (slots per site)"
        raise InputDataError(msg)
    return cap


def positive(value: Any, name: str, *, upper: float | None = None) -> float:
    """Check a number >= 0 (and <= ``upper``), else :class:`ConfigError`."""
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    v = float(value) if ok else math.nan
    if not ok or not math.isfinite(v) or v < 0 or (upper is not None and v > upper):
        rng = f"from 0 to {upper:g}" if upper is not None else ">= 0"
        msg = f"{name} must be a number {rng}, got {value!r}"
        raise ConfigError(msg)
    return v


# ----------------------------------------------------------------------------- helpers


def reached_by(a: sparse.csr_matrix, rows: np.ndarray) -> np.ndarray:
    """Demand columns reached by any of ``rows``."""
    hit = np.zeros(a.shape[1], dtype=bool)
    if len(rows):
        sub = a[rows]
        hit[sub.indices] = True
    return hit


def nearest(a: sparse.csr_matrix, rows: np.ndarray) -> np.ndarray:
    """Per demand column, the row (of ``rows``) with the smallest stored value; -1 if none."""
    out = np.full(a.shape[1], -1, dtype=np.int64)
    if len(rows) == 0:
        return out
    coo = a[rows].tocoo()
    if coo.nnz == 0:
        return out
    order = np.lexsort((coo.row, coo.data, coo.col))
    col, row = coo.col[order], coo.row[order]
    first = np.r_[True, col[1:] != col[:-1]]
    out[col[first]] = rows[row[first]]
    return out


def order_by_gain(
    a: sparse.csr_matrix, w: np.ndarray, sites: np.ndarray, covered: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Order chosen sites greedily by what each adds; their marginal gains."""
    if len(sites) == 0:
        return sites, np.zeros(0)
    sub = a[sites]
    weight = np.where(covered, 0.0, w)
    order, gains = greedy_cover(sub, weight, k=len(sites))
    rest = np.setdiff1d(np.arange(len(sites)), order, assume_unique=True)  # add nothing
    return np.r_[sites[order], sites[rest]], np.r_[gains, np.zeros(len(rest))]


def relative_gap(objective: float, bound: float) -> float:
    if not (math.isfinite(objective) and math.isfinite(bound)):
        return math.nan
    diff = abs(bound - objective)
    if diff <= 1e-9 * max(1.0, abs(bound)):
        return 0.0
    return diff / abs(bound) if bound else math.inf


def cover_result(
    a: sparse.csr_matrix,
    w: np.ndarray,
    *,
    chosen: np.ndarray,
    fix: np.ndarray,
    bound: float,
    status: str,
    how: str,
    model: str,
    details: dict[str, Any],
    fixed_hit: np.ndarray,
    t0: float,
) -> Selection:
    """Evaluate uncapacitated coverage of ``chosen`` + ``fix`` on the original data."""
    sites, gains = order_by_gain(a, w, np.asarray(chosen, dtype=np.int64), fixed_hit)
    adds = gains > 0
    if model == "max_cover" and not adds.all():
        details["sites_adding_nothing_dropped"] = int((~adds).sum())
        sites, gains = sites[adds], gains[adds]
    open_rows = np.r_[fix, sites]
    assigned = nearest(a, open_rows)
    served = np.where(assigned >= 0, w, 0.0)
    objective = float(served.sum())
    site_served = (
        np.array([served[assigned == s].sum() for s in sites]) if len(sites) else np.zeros(0)
    )
    bound = max(bound, objective) if model == "max_cover" else bound
    details["seconds"] = round(time.perf_counter() - t0, 4)
    return Selection(
        model=model,
        method=how,
        status=status,
        sites=sites,
        objective=objective,
        bound=bound,
        gap=relative_gap(objective, bound),
        served=served,
        assigned=assigned,
        site_served=site_served,
        gains=gains,
        details=details,
    )


def split_result(
    a: sparse.csr_matrix,
    w: np.ndarray,
    *,
    inst: Any,
    model: milp.MilpModel,
    out: milp.MilpOutcome,
    n_c: int,
    name: str,
    details: dict[str, Any],
    t0: float,
    maximise: bool,
) -> Selection:
    """Read a capacitated solution (shares ``z`` per stored entry) back onto demand points."""
    x = out.values[model.columns["x"]]
    z = np.clip(out.values[model.columns["z"]], 0.0, 1.0)
    coo = inst.matrix.tocoo()
    order = np.lexsort((coo.col, coo.row))
    site, grp = coo.row[order], coo.col[order]
    share = np.bincount(grp, weights=z, minlength=inst.matrix.shape[1])
    load = np.bincount(site, weights=z * inst.weight[grp], minlength=inst.matrix.shape[0])
    # the site carrying the largest share of each group
    best = np.full(inst.matrix.shape[1], -1, dtype=np.int64)
    if len(z):
        srt = np.lexsort((-z, grp))
        first = np.r_[True, grp[srt][1:] != grp[srt][:-1]]
        pick = srt[first]
        pick = pick[z[pick] > 1e-9]
        best[grp[pick]] = inst.rows[site[pick]]
    g = inst.group
    served = np.where(g >= 0, w * share[np.maximum(g, 0)], 0.0)
    assigned = np.where(g >= 0, best[np.maximum(g, 0)], -1)
    open_pos = np.flatnonzero(x[:n_c] > 0.5)
    sites = inst.rows[open_pos]
    site_served = load[open_pos]
    keep = site_served > 1e-9 if name != "fewest_sites" else np.ones(len(sites), dtype=bool)
    if not keep.all():
        details["sites_adding_nothing_dropped"] = int((~keep).sum())
    sites, site_served = sites[keep], site_served[keep]
    order_s = np.argsort(-site_served, kind="stable")
    objective = float(served.sum()) if maximise else float(len(sites))
    bound = max(out.bound, objective) if maximise else out.bound
    details["seconds"] = round(time.perf_counter() - t0, 4)
    return Selection(
        model=name,
        method="MILP (HiGHS)",
        status=out.status,
        sites=sites[order_s],
        objective=objective,
        bound=bound,
        gap=relative_gap(objective, bound),
        served=served,
        assigned=assigned,
        site_served=site_served[order_s],
        gains=site_served[order_s],
        details=details,
    )
