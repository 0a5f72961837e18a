"""Tests for siting.stability: Monte Carlo top-k probabilities against a plain loop."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import siting
from siting.scoring import CRITERIA, DEFAULT_WEIGHTS, score_parcels
from siting.stability import rank_stability, weight_draws


def _random_parcels(n: int, seed: int) -> tuple[pd.DataFrame, pd.Series, pd.Series]:
    rng = np.random.default_rng(seed)
    crit = pd.DataFrame({c: rng.gamma(2.0, 100.0, n) for c in CRITERIA})
    crit["arterial_only_frontage"] = rng.uniform(size=n) < 0.2
    crit["penalty_gas_10"] = np.where(rng.uniform(size=n) < 0.3, rng.uniform(size=n), 0.0)
    ok = pd.Series(rng.uniform(size=n) > 0.15)
    ids = pd.Series([f"P{i:05d}" for i in rng.permutation(n)])
    return crit, ok, ids


def _loop(crit, ok, ids, *, k, spread, draws, seed, method):
    """The obvious way: rescore with each drawn weight vector and read the ranks."""
    w = weight_draws(DEFAULT_WEIGHTS, spread=spread, draws=draws, seed=seed)
    hits = pd.Series(0, index=crit.index)
    for _, row in w.iterrows():
        got = score_parcels(
            crit, eligible=ok, parcel_id=ids, weights=row.to_dict(), method=method,
            penalties={"penalty_gas_10": 0.05},
        )  # fmt: skip
        hits += (got["rank"] <= k).fillna(False).astype(int)
    return (hits / draws).where(ok)


@pytest.mark.parametrize("method", ["wlc", "topsis"])
def test_matches_rescoring_each_draw(method):
    crit, ok, ids = _random_parcels(300, seed=3)
    scored = score_parcels(
        crit, eligible=ok, parcel_id=ids, method=method, penalties={"penalty_gas_10": 0.05}
    )
    got = rank_stability(
        scored, weights=DEFAULT_WEIGHTS, k=10, parcel_id=ids, spread=0.3, draws=200, seed=7,
        method=method,
    )  # fmt: skip
    expect = _loop(crit, ok, ids, k=10, spread=0.3, draws=200, seed=7, method=method)
    pd.testing.assert_series_equal(got, expect.rename("p_top_k"), check_exact=False, atol=1e-12)
    assert got[ok].sum() == pytest.approx(10.0)  # k places in every draw
    assert got[~ok].isna().all()
    # the weights really move the ranking: some parcels are neither sure nor out
    assert ((got > 0) & (got < 1)).sum() >= 3


def test_zero_spread_is_the_base_ranking_and_ties_go_to_lower_ids():
    crit, ok, ids = _random_parcels(200, seed=5)
    sixth = score_parcels(crit, eligible=ok, parcel_id=ids)["rank"].eq(6).idxmax()
    copies = crit.index[ok & (crit.index != sixth)][-3:]
    crit.loc[copies] = crit.loc[sixth].to_numpy()  # four parcels tied at places 6-9
    scored = score_parcels(crit, eligible=ok, parcel_id=ids)
    tied = scored.loc[[sixth, *copies]]
    assert tied["score"].nunique() == 1
    assert sorted(tied["rank"]) == [6, 7, 8, 9]
    top = scored["rank"] <= 7
    got = rank_stability(scored, weights=DEFAULT_WEIGHTS, k=7, parcel_id=ids, spread=0.0, draws=5)
    pd.testing.assert_series_equal(got[ok], top[ok].astype(float).rename("p_top_k"))
    # of the four tied, the two with the lower parcel ids are in
    in_ids = sorted(ids[tied.index].astype(str))[:2]
    assert set(ids[got[tied.index][got[tied.index] == 1].index]) == set(in_ids)


def test_same_seed_same_answer_and_draws_sum_to_one():
    w1 = weight_draws(DEFAULT_WEIGHTS, spread=0.25, draws=50, seed=11)
    w2 = weight_draws(DEFAULT_WEIGHTS, spread=0.25, draws=50, seed=11)
    pd.testing.assert_frame_equal(w1, w2)
    np.testing.assert_allclose(w1.sum(axis=1), 1.0)
    base = pd.Series(DEFAULT_WEIGHTS) / sum(DEFAULT_WEIGHTS.values())
    ratio = w1 / base  # before rescaling every factor is within 1 +- 0.25
    assert (ratio.max(axis=1) / ratio.min(axis=1) <= 1.25 / 0.75 + 1e-12).all()
    assert not w1.equals(weight_draws(DEFAULT_WEIGHTS, spread=0.25, draws=50, seed=12))


def test_bad_input():
    crit, ok, ids = _random_parcels(30, seed=1)
    scored = score_parcels(crit, eligible=ok, parcel_id=ids)
    n_ok = int(ok.sum())
    with pytest.raises(siting.ConfigError, match=f"from 1 to the {n_ok} eligible parcels"):
        rank_stability(scored, weights=DEFAULT_WEIGHTS, k=n_ok + 1, parcel_id=ids)
    with pytest.raises(siting.ConfigError, match="spread"):
        rank_stability(scored, weights=DEFAULT_WEIGHTS, k=3, parcel_id=ids, spread=1.5)
    with pytest.raises(siting.ConfigError, match="draws"):
        rank_stability(scored, weights=DEFAULT_WEIGHTS, k=3, parcel_id=ids, draws=0)
    with pytest.raises(siting.ConfigError, match="method"):
        rank_stability(scored, weights=DEFAULT_WEIGHTS, k=3, parcel_id=ids, method="x")
    with pytest.raises(siting.InputDataError, match="norm_parking"):
        rank_stability(scored, weights={"parking": 1.0}, k=3, parcel_id=ids)
