"""Selection: choose k new sites that together cover the most unserved under-3 demand.

This is the maximal covering location problem (MCLP) solved greedily: each step adds the
eligible parcel whose walking catchment covers the most demand not yet covered (by existing
facilities or by sites already chosen); ties go to the better-ranked parcel. Greedy MCLP
reaches at least 1 - 1/e (63 %) of the optimum and is usually much closer; an exact MILP
solver replaces it in a later release, with this as its warm start.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import sparse

from siting._errors import ConfigError

__all__ = ["greedy_max_cover"]


def greedy_max_cover(
    within: sparse.csr_matrix,
    demand: np.ndarray,
    *,
    k: int,
    candidates: np.ndarray,
    covered: np.ndarray | None = None,
) -> pd.DataFrame:
    """Pick up to ``k`` candidate rows of ``within`` that cover the most demand.

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
    mask = within.tocsr().copy()
    mask.data = np.ones_like(mask.data)
    done = np.zeros(mask.shape[1], dtype=bool) if covered is None else covered.copy()
    weight = np.asarray(demand, dtype=float)
    picks: list[dict[str, float]] = []
    pool = list(candidates)
    total = 0.0
    for step in range(1, k + 1):
        if not pool:
            break
        remaining = np.where(done, 0.0, weight)
        gains = np.asarray(mask[pool] @ remaining).ravel()
        best = int(np.argmax(gains))  # first maximum = best-ranked among ties
        if gains[best] <= 0:
            break
        row = pool.pop(best)
        done[mask[row].indices] = True
        total += float(gains[best])
        picks.append({"row": row, "order": step, "gain": float(gains[best]), "cumulative": total})
    return pd.DataFrame(picks, columns=["row", "order", "gain", "cumulative"]).astype(
        {"row": int, "order": int}
    )
