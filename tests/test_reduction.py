"""Tests for siting.reduction and siting.relaxation against brute force on small instances."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import sparse

from siting.reduction import dominated_rows, merge_identical_columns, reduce_cover
from siting.relaxation import greedy_cover, improve_by_swaps, lagrangian_cover


def _random(n_rows: int, n_cols: int, density: float, seed: int) -> sparse.csr_matrix:
    rng = np.random.default_rng(seed)
    m = sparse.random(n_rows, n_cols, density=density, random_state=rng, format="csr")
    m.data[:] = rng.uniform(1, 300, m.nnz)  # distances: values must not matter
    # duplicate some columns and rows so that merging and dominance have work to do
    dense = m.toarray()
    q = n_cols // 4
    dense[:, :q] = dense[:, q : 2 * q]
    dense[1] = np.where(dense[2] > 0, dense[2], 0) * (rng.uniform(size=n_cols) < 0.6)
    return sparse.csr_matrix(dense)


def _sets(m) -> list[frozenset[int]]:
    return [frozenset(m[:, j].nonzero()[0].tolist()) for j in range(m.shape[1])]


def _best(m, w, k) -> tuple[float, list[tuple[int, ...]]]:
    reach = [set(m[r].indices.tolist()) for r in range(m.shape[0])]
    scores = {
        combo: sum(w[j] for j in set().union(*(reach[r] for r in combo)))
        for combo in itertools.combinations(range(m.shape[0]), k)
    }
    top = max(scores.values())
    return top, [c for c, v in scores.items() if v >= top - 1e-9]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_merge_groups_exactly_the_identical_columns(seed):
    m = _random(15, 60, 0.15, seed)
    label = merge_identical_columns(m)
    sets = _sets(m)
    for i, j in itertools.combinations(range(m.shape[1]), 2):
        assert (label[i] == label[j]) == (sets[i] == sets[j]), (i, j)
    assert label.max() + 1 == len(set(sets))
    assert label[0] == 0  # labelled in order of first appearance


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_dominated_rows_by_brute_force(seed):
    m = _random(15, 40, 0.2, seed)
    rows = [frozenset(m[r].indices.tolist()) for r in range(m.shape[0])]
    expect = [
        not rows[i]
        or any(
            j != i and rows[i] <= rows[j] and (rows[i] < rows[j] or j < i) for j in range(len(rows))
        )
        for i in range(len(rows))
    ]
    assert dominated_rows(m).tolist() == expect
    assert any(expect)


@pytest.mark.parametrize("seed", [4, 5, 6])
def test_reduction_keeps_the_optimum(seed):
    m = _random(12, 50, 0.12, seed)
    w = np.random.default_rng(seed).gamma(2.0, 1.0, 50)
    w[3] = 0.0
    inst = reduce_cover(m, w, candidates=np.arange(12))
    assert inst.stats["candidates_kept"] < 12
    assert inst.stats["demand_groups"] < 50
    np.testing.assert_allclose(inst.weight.sum(), w[inst.group >= 0].sum())
    k = 3
    full, _ = _best(m, w, k)
    small, _ = _best(inst.matrix, inst.weight, min(k, inst.matrix.shape[0]))
    assert small == pytest.approx(full)


def test_greedy_cover_equals_recomputed_gains():
    m = _random(30, 200, 0.05, 7)
    w = np.random.default_rng(7).gamma(2.0, 1.0, 200)
    rows, gains = greedy_cover(m, w, k=8, tol=0.0)
    covered = np.zeros(200, dtype=bool)
    dense = m.toarray() > 0
    for r, g in zip(rows, gains, strict=True):
        fresh = (dense & ~covered) @ w
        assert r == int(np.argmax(fresh))
        assert g == pytest.approx(fresh[r])
        covered |= dense[r]


@pytest.mark.parametrize("seed", [8, 9, 10, 11])
def test_lagrangian_bound_and_fixing_are_valid(seed):
    m = _random(14, 70, 0.1, seed)
    w = np.random.default_rng(seed).integers(1, 9, 70).astype(float)
    k = 3
    top, optima = _best(m, w, k)
    start, _ = greedy_cover(m, w, k=k)
    res = lagrangian_cover(m, w, k=k, start=start, iterations=500)
    assert res.bound >= top - 1e-9
    assert res.objective <= top + 1e-9
    hit = np.zeros(70, dtype=bool)
    for r in res.rows:
        hit[m[r].indices] = True
    assert res.objective == pytest.approx(w[hit].sum())
    assert res.closed.sum() + res.opened.sum() > 0
    for combo in optima:  # no optimal solution contradicts a fixing
        assert not res.closed[list(combo)].any()
        assert set(np.flatnonzero(res.opened)) <= set(combo)


def test_swaps_reach_a_local_optimum():
    m = _random(20, 120, 0.08, 12)
    w = np.random.default_rng(12).gamma(2.0, 1.0, 120)
    start = np.array([0, 1, 2, 3])
    rows, got = improve_by_swaps(m, w, start)
    reach = [set(m[r].indices.tolist()) for r in range(20)]

    def value(sol) -> float:
        return sum(w[j] for j in set().union(*(reach[r] for r in sol)))

    assert got == pytest.approx(value(rows))
    assert got >= value(start) - 1e-9
    for i in range(4):  # no single swap improves it
        for j in set(range(20)) - set(rows.tolist()):
            trial = rows.copy()
            trial[i] = j
            assert value(trial) <= got + 1e-9
