"""Tests for siting.selection.greedy_max_cover, by hand and against brute force on Karhula."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import sparse

import siting
from siting import access
from siting.selection import greedy_max_cover
from siting.study import EXISTING_CHILDCARE

# 4 candidates x 6 demand points; the values are walk distances (only presence matters)
REACH = np.array(
    [
        [50.0, 80.0, 0.0, 0.0, 0.0, 0.0],  # c0 covers d0, d1
        [0.0, 120.0, 200.0, 0.0, 0.0, 0.0],  # c1 covers d1, d2
        [0.0, 0.0, 0.0, 10.0, 20.0, 0.0],  # c2 covers d3, d4
        [1e-9, 0.0, 0.0, 0.0, 30.0, 0.0],  # c3 covers d0, d4
    ]
)
DEMAND = np.array([5.0, 1.0, 2.0, 3.0, 4.0, 100.0])  # d5 is unreachable


def _within() -> sparse.csr_matrix:
    return sparse.csr_matrix(REACH)


def test_hand_made_picks_and_gains():
    got = greedy_max_cover(_within(), DEMAND, k=3, candidates=np.arange(4))
    # step 1: gains 6, 3, 7, 9 -> c3 (d0, d4); step 2: c0 1, c1 3, c2 3 -> c1 (tie, listed first)
    # step 3: c0 0, c2 3 -> c2
    assert list(got["row"]) == [3, 1, 2]
    assert list(got["order"]) == [1, 2, 3]
    np.testing.assert_allclose(got["gain"], [9.0, 3.0, 3.0])
    np.testing.assert_allclose(got["cumulative"], [9.0, 12.0, 15.0])
    assert list(got.columns) == ["row", "order", "gain", "cumulative"]


def test_ties_follow_candidate_order():
    got = greedy_max_cover(_within(), DEMAND, k=2, candidates=np.array([3, 2, 1, 0]))
    assert list(got["row"]) == [3, 2]  # c2 now listed before c1
    got = greedy_max_cover(_within(), np.ones(6), k=1, candidates=np.array([2, 0, 1, 3]))
    assert list(got["row"]) == [2]  # all gain 2: the first listed wins


def test_existing_coverage_and_candidate_pool():
    covered = np.array([True, False, False, False, True, False])
    before = covered.copy()
    got = greedy_max_cover(_within(), DEMAND, k=4, candidates=np.array([0, 2]), covered=covered)
    # c0 gains 1 (d1), c2 gains 3 (d3): c2 first; rows 1 and 3 are not candidates
    assert list(got["row"]) == [2, 0]
    np.testing.assert_allclose(got["gain"], [3.0, 1.0])
    np.testing.assert_array_equal(covered, before)


def test_stops_when_nothing_left_to_cover():
    got = greedy_max_cover(_within(), DEMAND, k=10, candidates=np.arange(4))
    # after c3, c1, c2 every reachable point is covered; c0 would add nothing
    assert list(got["row"]) == [3, 1, 2]
    assert got["cumulative"].iloc[-1] == pytest.approx(DEMAND[:5].sum())
    none = greedy_max_cover(_within(), np.zeros(6), k=2, candidates=np.arange(4))
    assert len(none) == 0
    assert list(none.columns) == ["row", "order", "gain", "cumulative"]


def test_inputs_not_mutated():
    within = _within()
    data = within.data.copy()
    greedy_max_cover(within, DEMAND, k=2, candidates=np.arange(4))
    np.testing.assert_array_equal(within.data, data)


@pytest.mark.parametrize("k", [0, -1, 2.5, True, False, "2", None])
def test_bad_k_rejected(k):
    with pytest.raises(siting.ConfigError):
        greedy_max_cover(_within(), DEMAND, k=k, candidates=np.arange(4))


def test_numpy_integer_k_accepted():
    got = greedy_max_cover(_within(), DEMAND, k=np.int64(1), candidates=np.arange(4))
    assert list(got["row"]) == [3]


# --------------------------------------------------------------------------- Karhula study


@pytest.fixture(scope="module")
def karhula_study(karhula_layers, karhula_metric):
    """The study result plus the walking matrix and served mask rebuilt from its parts."""
    result = siting.run_study(karhula_layers, k=5)
    walk_m = result.rulebook.param("walk_m")
    net = access.network_from_edges(karhula_metric["walk_edges"])
    cand = result.candidates
    homes = result.demand
    assert cand.crs == karhula_metric["walk_edges"].crs
    sites = cand.geometry.representative_point()
    within = access.walk_distances(net, sites, homes.geometry, dist=walk_m)
    am = karhula_metric["amenities"]
    existing = am[am["amenity"].isin(EXISTING_CHILDCARE)].geometry.representative_point()
    assert len(existing) > 0
    ex = access.walk_distances(net, existing, homes.geometry, dist=walk_m)
    served = np.asarray(ex.sum(axis=0) > 0).ravel()
    reach = [set(within[i].indices.tolist()) for i in range(within.shape[0])]
    return result, within, served, reach, homes["under3"].to_numpy()


def _coverage(rows, reach, served, u3) -> float:
    hit = set().union(*(reach[r] for r in rows)) if rows else set()
    return float(sum(u3[j] for j in hit if not served[j]))


def test_first_pick_maximises_uncovered_demand(karhula_study):
    result, _, served, reach, u3 = karhula_study
    cand = result.candidates
    eligible = np.flatnonzero(cand["eligible"].to_numpy())
    gains = {int(r): _coverage([r], reach, served, u3) for r in eligible}
    best = max(gains.values())
    first = result.selected.iloc[0]
    assert first["pick_order"] == 1
    assert first["new_under3_covered"] == pytest.approx(best, rel=1e-9)
    row = int(np.flatnonzero(cand["parcel_id"].to_numpy() == first["parcel_id"])[0])
    assert gains[row] == pytest.approx(best, rel=1e-9)
    # among equal best, the better-ranked parcel is chosen
    tied = [r for r, g in gains.items() if math.isclose(g, best, rel_tol=1e-12)]
    assert cand["rank"].iloc[row] == min(cand["rank"].iloc[r] for r in tied)
    # the first gain is the parcel's unserved_under3 criterion
    assert cand["unserved_under3"].iloc[row] == pytest.approx(best, rel=1e-9)
    assert best > 0


def test_study_picks_agree_with_recomputed_coverage(karhula_study):
    result, _, served, reach, u3 = karhula_study
    cand = result.candidates
    rows = [
        int(np.flatnonzero(cand["parcel_id"].to_numpy() == pid)[0])
        for pid in result.selected["parcel_id"]
    ]
    assert len(rows) == 5
    assert len(set(rows)) == 5
    assert cand["eligible"].iloc[rows].all()
    cumulative = 0.0
    for i, gain in enumerate(result.selected["new_under3_covered"]):
        total = _coverage(rows[: i + 1], reach, served, u3)
        assert total - cumulative == pytest.approx(gain, rel=1e-9, abs=1e-9)
        cumulative = total
    gains = result.selected["new_under3_covered"].to_numpy()
    assert np.all(np.diff(gains) <= 1e-12)  # greedy gains never increase


def test_greedy_k2_against_exact_optimum(karhula_study):
    result, within, served, reach, u3 = karhula_study
    cand = result.candidates
    ranked = cand[cand["eligible"]].sort_values("rank").index.to_numpy()
    picks = greedy_max_cover(within, u3, k=2, candidates=ranked, covered=served)
    greedy_total = float(picks["cumulative"].iloc[-1])
    assert greedy_total == pytest.approx(_coverage(list(picks["row"]), reach, served, u3), rel=1e-9)
    optimum, best_pair = max(
        (_coverage([a, b], reach, served, u3), (a, b))
        for a, b in itertools.combinations(ranked.tolist(), 2)
    )
    assert greedy_total <= optimum + 1e-9
    assert greedy_total >= (1 - 1 / math.e) * optimum
    print(  # shown with -s: the real numbers behind the bound
        f"greedy k=2 covers {greedy_total:.4f} under-3s, exact optimum {optimum:.4f} "
        f"({greedy_total / optimum:.4%}) with rows {best_pair}"
    )
