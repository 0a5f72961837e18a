"""Reduction: shrink a covering instance without changing its optimum.

A covering instance is a boolean sites x demand matrix (a stored entry = the site reaches the
demand point), demand weights and the rows that may be opened. Three exact reductions:

1. **Demand points that cannot matter are dropped**: weight 0, or reached by no candidate.
2. **Demand points with identical coverage sets are merged** into one group whose weight is
   their sum (the model cannot tell them apart). Columns are grouped by two independent
   64-bit hashes of their row sets and the grouping is then checked index by index, so a
   hash collision can never merge different sets.
3. **Dominated candidates are dropped** (pure coverage only): a candidate whose coverage set is
   a subset of another candidate's can always be swapped for that one, or left out, without
   loss. Among candidates with identical sets the first in the caller's order (best rank) is
   kept. Not with capacities or slots: there a candidate and its superset can be worth
   opening together. Subsets are found from the overlap counts
   ``B @ B.T``: row *j* is inside row *j'* when their overlap equals the size of *j*.

Dropping candidates can make more demand columns identical, so merging is repeated once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse

__all__ = ["CoverInstance", "dominated_rows", "merge_identical_columns", "reduce_cover"]

_SEED = 0x5EED


@dataclass(frozen=True)
class CoverInstance:
    """A reduced covering instance.

    Attributes
    ----------
    matrix
        Candidates x demand groups, CSR of ones (rows in the caller's candidate order).
    weight
        Weight of each demand group (sum of its points' weights).
    rows
        Row of the original matrix of each kept candidate.
    group
        For each original demand point, its group (-1 when dropped).
    stats
        Sizes before and after each reduction.
    """

    matrix: sparse.csr_matrix
    weight: np.ndarray
    rows: np.ndarray
    group: np.ndarray
    stats: dict[str, int]


def _ones(m: sparse.spmatrix) -> sparse.csr_matrix:
    out = sparse.csr_matrix(m, dtype=np.float64, copy=True)
    out.sum_duplicates()
    out.data[:] = 1.0
    out.sort_indices()
    return out


def merge_identical_columns(matrix: sparse.spmatrix) -> np.ndarray:
    """Label the columns of ``matrix`` so that columns with the same row set share a label.

    Parameters
    ----------
    matrix
        Any sparse matrix; stored entries count, their values do not.

    Returns
    -------
    numpy.ndarray
        One label per column, 0..g-1 in order of first appearance.

    Examples
    --------
    >>> m = sparse.csr_matrix(np.array([[1, 0, 1, 1], [0, 1, 0, 1]]))
    >>> merge_identical_columns(m).tolist()
    [0, 1, 0, 2]
    """
    csc = sparse.csc_matrix(matrix, copy=True)
    csc.sum_duplicates()
    csc.sort_indices()
    n_cols = csc.shape[1]
    if n_cols == 0:
        return np.zeros(0, dtype=np.int64)
    rng = np.random.default_rng(_SEED)
    keys = rng.integers(0, np.iinfo(np.int64).max, size=(2, csc.shape[0]), dtype=np.int64)
    counts = np.diff(csc.indptr)
    col = np.repeat(np.arange(n_cols), counts)
    h = np.zeros((2, n_cols), dtype=np.uint64)
    for r in range(2):  # wrapping sums of random keys: equal sets give equal hashes
        np.add.at(h[r], col, keys[r][csc.indices].astype(np.uint64))
    _, first, label = np.unique(
        np.stack([h[0], h[1], counts.astype(np.uint64)], axis=1),
        axis=0,
        return_index=True,
        return_inverse=True,
    )
    label = label.ravel()
    # verify index by index against each group's first column
    rep = first[label]
    offsets = np.arange(len(csc.indices)) - np.repeat(csc.indptr[:-1], counts)
    same = csc.indices == csc.indices[np.repeat(csc.indptr[rep], counts) + offsets]
    if not same.all():  # a hash collision: give the columns that differ their own labels
        bad = np.unique(col[~same])
        label = label.copy()
        label[bad] = label.max() + 1 + np.arange(len(bad))
    # relabel in order of first appearance
    _, first_seen, inverse = np.unique(label, return_index=True, return_inverse=True)
    order = np.argsort(first_seen, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return rank[inverse.ravel()]


def dominated_rows(matrix: sparse.spmatrix) -> np.ndarray:
    """Rows whose column set is inside another row's (the first of equal rows is kept).

    Only valid for pure coverage (no capacities, no slots): with capacities, opening a row
    and its superset together can beat any other pair.

    Parameters
    ----------
    matrix
        Candidates x demand, rows in preference order.

    Returns
    -------
    numpy.ndarray
        Boolean mask of dominated rows (rows covering nothing included).

    Examples
    --------
    >>> m = sparse.csr_matrix(np.array([[1, 1, 0], [1, 0, 0], [1, 1, 0], [0, 0, 1]]))
    >>> dominated_rows(m).tolist()
    [False, True, True, False]
    """
    b = _ones(matrix)
    size = np.diff(b.indptr).astype(np.int64)
    overlap = (b @ b.T).tocoo()
    i, j = overlap.row, overlap.col
    inside = (i != j) & (np.rint(overlap.data).astype(np.int64) == size[i])
    i, j = i[inside], j[inside]
    # j holds a strict superset, or the same set and comes first
    beaten = (size[j] > size[i]) | (j < i)
    out = np.zeros(b.shape[0], dtype=bool)
    out[i[beaten]] = True
    out[size == 0] = True
    return out


def reduce_cover(
    within: sparse.spmatrix,
    weight: np.ndarray,
    *,
    candidates: np.ndarray,
    fixed: np.ndarray | None = None,
    drop_dominated: bool = True,
) -> CoverInstance:
    """Merge identical demand points and drop dominated candidates.

    Parameters
    ----------
    within
        Sites x demand points; stored entries = reachable.
    weight
        Weight of each demand point (>= 0).
    candidates
        Rows that may be opened, in preference order (best first).
    fixed
        Rows that are open anyway (existing facilities): kept as the last rows of the
        reduced matrix, never dropped and never dominating a candidate (a candidate adds its
        capacity to theirs).
    drop_dominated
        Apply reduction 3. Only for pure coverage: not with capacities or slots (see
        :func:`dominated_rows`); it needs ``B @ B.T``, so skip it for very large instances.

    Returns
    -------
    CoverInstance
        ``rows`` lists the kept candidates, then the fixed rows.
    """
    cand = np.asarray(candidates, dtype=np.int64)
    fix = np.zeros(0, dtype=np.int64) if fixed is None else np.asarray(fixed, dtype=np.int64)
    csr = sparse.csr_matrix(within)
    b = _ones(csr[cand])
    bf = _ones(csr[fix])
    w = np.asarray(weight, dtype=float)
    n_points = b.shape[1]
    reached = (np.asarray(b.sum(axis=0)).ravel() + np.asarray(bf.sum(axis=0)).ravel()) > 0
    useful = np.flatnonzero(reached & (w > 0))
    stats = {
        "candidates": len(cand),
        "fixed": len(fix),
        "demand_points": int(n_points),
        "demand_points_useful": len(useful),
    }
    group = np.full(n_points, -1, dtype=np.int64)
    b, bf = b[:, useful], bf[:, useful]
    label = merge_identical_columns(sparse.vstack([b, bf]))
    keep = np.arange(len(cand))
    if drop_dominated and b.shape[0] > 1:
        keep = np.flatnonzero(~dominated_rows(_merge(b, label)))
        b = b[keep]
        label = merge_identical_columns(sparse.vstack([b, bf]))
    stats["demand_groups"] = int(label.max() + 1) if len(label) else 0
    stats["candidates_kept"] = len(keep)
    matrix = _merge(sparse.vstack([b, bf]).tocsr(), label)
    group[useful] = label
    w_group = np.bincount(label, weights=w[useful], minlength=stats["demand_groups"])
    stats["nonzeros"] = int(matrix.nnz)
    return CoverInstance(matrix, w_group, np.concatenate([cand[keep], fix]), group, stats)


def _merge(b: sparse.csr_matrix, label: np.ndarray) -> sparse.csr_matrix:
    """Columns of ``b`` merged by label (ones)."""
    n_groups = int(label.max() + 1) if len(label) else 0
    agg = sparse.csr_matrix(
        (np.ones(len(label)), (np.arange(len(label)), label)), shape=(len(label), n_groups)
    )
    return _ones(b @ agg)
