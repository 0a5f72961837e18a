"""Tests for siting.scoring.score_parcels."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import siting
from siting.scoring import CRITERIA, DEFAULT_WEIGHTS, score_parcels

CONTRIB = [f"contrib_{c}" for c in DEFAULT_WEIGHTS]


def _criteria() -> pd.DataFrame:
    """Five parcels; parcel E is excluded and has extreme values that must not matter."""
    return pd.DataFrame(
        {
            "unserved_under3": [4.0, 2.0, 0.0, 1.0, 100.0],
            "walk_under3": [6.0, 6.0, 2.0, 4.0, 100.0],
            "dist_public_m": [100.0, 300.0, 500.0, 2000.0, 0.0],
            "dist_stop_m": [50.0, 250.0, 850.0, 1500.0, 0.0],
            "arterial_only_frontage": [0.0, 1.0, 0.0, 0.0, 1.0],
            "hazard_margin_m": [math.inf, 50.0, 0.0, 250.0, -10.0],
            "area_m2": [1000.0, 3000.0, 9000.0, 5000.0, 1e6],
        },
        index=pd.Index([10, 11, 12, 13, 14]),
    )


def _ids() -> pd.Series:
    return pd.Series(["A", "B", "C", "D", "E"], index=[10, 11, 12, 13, 14])


def _eligible() -> pd.Series:
    return pd.Series([True, True, True, True, False], index=[10, 11, 12, 13, 14])


def test_hand_computed_scores():
    got = score_parcels(_criteria(), eligible=_eligible(), parcel_id=_ids())
    # normalised by hand over A-D (caps: dist 1000 m, margin 200 m, area 5000 m2)
    norms = {
        "unserved_under3": [1.0, 0.5, 0.0, 0.25],
        "walk_under3": [1.0, 1.0, 0.0, 0.5],
        "dist_public_m": [1.0, 7 / 9, 5 / 9, 0.0],  # cost: 100 best, 2000 -> 1000 worst
        "dist_stop_m": [1.0, 15 / 19, 3 / 19, 0.0],  # cost: 50 best, 1500 -> 1000 worst
        "arterial_only_frontage": [1.0, 0.0, 1.0, 1.0],  # cost: flagged parcel B gets 0
        "hazard_margin_m": [1.0, 0.25, 0.0, 1.0],  # inf and 250 capped to 200
        "area_m2": [0.0, 0.5, 1.0, 1.0],  # 9000 capped to 5000
    }
    expected = sum(np.array(v) * DEFAULT_WEIGHTS[c] * 100 for c, v in norms.items())
    np.testing.assert_allclose(got["score"].iloc[:4], expected, rtol=1e-12)
    for c, v in norms.items():
        np.testing.assert_allclose(got[f"norm_{c}"].iloc[:4], v, rtol=1e-12, err_msg=c)
    order = np.argsort(-expected, kind="stable")
    assert list(got["rank"].iloc[:4]) == list(np.argsort(order) + 1)


def test_score_equals_sum_of_contributions():
    got = score_parcels(_criteria(), eligible=_eligible(), parcel_id=_ids())
    ok = _eligible().to_numpy()
    np.testing.assert_allclose(got.loc[ok, CONTRIB].sum(axis=1), got.loc[ok, "score"], rtol=1e-12)
    assert got["score"][ok].between(0, 100).all()
    # the contributions are not all equal shares: the check above is not trivially true
    assert got.loc[ok, CONTRIB].nunique(axis=1).gt(1).all()


def test_excluded_parcels_get_no_score_and_no_rank():
    got = score_parcels(_criteria(), eligible=_eligible(), parcel_id=_ids())
    assert list(got.index) == [10, 11, 12, 13, 14]
    assert math.isnan(got.loc[14, "score"])
    assert got.loc[14, "rank"] is pd.NA
    assert got.loc[[14], CONTRIB].isna().all().all()
    assert str(got["rank"].dtype) == "Int64"
    assert sorted(got["rank"].dropna().tolist()) == [1, 2, 3, 4]


def test_excluded_values_do_not_shift_normalisation():
    base = score_parcels(_criteria(), eligible=_eligible(), parcel_id=_ids())
    crit = _criteria()
    crit.loc[14] = [-5.0, 1e9, 1e9, 1e9, 1.0, 1e9, 0.0]
    moved = score_parcels(crit, eligible=_eligible(), parcel_id=_ids())
    pd.testing.assert_series_equal(base["score"], moved["score"])


def test_ranks_cover_eligible_only_and_order_by_score():
    rng = np.random.default_rng(1)
    n = 40
    crit = pd.DataFrame({c: rng.uniform(0, 500, n) for c in CRITERIA})
    eligible = pd.Series(rng.uniform(size=n) > 0.3)
    ids = pd.Series([f"P{i:03d}" for i in range(n)])
    got = score_parcels(crit, eligible=eligible, parcel_id=ids)
    ranked = got[eligible]
    assert sorted(ranked["rank"]) == list(range(1, int(eligible.sum()) + 1))
    assert got.loc[~eligible, "rank"].isna().all()
    assert got.loc[~eligible, "score"].isna().all()
    by_rank = ranked.sort_values("rank")["score"].to_numpy()
    assert np.all(np.diff(by_rank) <= 0)


def test_ties_broken_by_parcel_id():
    crit = pd.DataFrame({c: [5.0, 5.0, 5.0, 1.0] for c in DEFAULT_WEIGHTS})
    crit.loc[3, "dist_public_m"] = 9.0  # the last parcel scores lowest
    ids = pd.Series(["P3", "P1", "P2", "P0"])
    eligible = pd.Series([True] * 4)
    got = score_parcels(crit, eligible=eligible, parcel_id=ids)
    assert got["score"].iloc[0] == got["score"].iloc[1] == got["score"].iloc[2]
    assert list(got["rank"]) == [3, 1, 2, 4]
    # same answer whatever the row order
    again = score_parcels(crit.iloc[::-1], eligible=eligible.iloc[::-1], parcel_id=ids.iloc[::-1])
    pd.testing.assert_series_equal(again["rank"].sort_index(), got["rank"])


def test_cost_criterion_reversed():
    crit = pd.DataFrame({"dist_public_m": [100.0, 400.0, 700.0]})
    got = score_parcels(
        crit,
        eligible=pd.Series([True] * 3),
        parcel_id=pd.Series(["a", "b", "c"]),
        weights={"dist_public_m": 1.0},
    )
    np.testing.assert_allclose(got["norm_dist_public_m"], [1.0, 0.5, 0.0])
    np.testing.assert_allclose(got["score"], [100.0, 50.0, 0.0])
    assert list(got["rank"]) == [1, 2, 3]
    benefit = score_parcels(
        crit.rename(columns={"dist_public_m": "area_m2"}),
        eligible=pd.Series([True] * 3),
        parcel_id=pd.Series(["a", "b", "c"]),
        weights={"area_m2": 1.0},
    )
    assert list(benefit["rank"]) == [3, 2, 1]


def test_cap_applied():
    crit = pd.DataFrame({"area_m2": [1000.0, 5000.0, 20000.0]})
    got = score_parcels(
        crit,
        eligible=pd.Series([True] * 3),
        parcel_id=pd.Series(["a", "b", "c"]),
        weights={"area_m2": 1.0},
    )
    # 20000 counts as 5000: ties with b, so not 1.0 vs 0.21
    np.testing.assert_allclose(got["norm_area_m2"], [0.0, 1.0, 1.0])
    assert list(got["rank"]) == [3, 1, 2]
    margin = score_parcels(
        pd.DataFrame({"hazard_margin_m": [0.0, 100.0, math.inf]}),
        eligible=pd.Series([True] * 3),
        parcel_id=pd.Series(["a", "b", "c"]),
        weights={"hazard_margin_m": 1.0},
    )
    np.testing.assert_allclose(margin["norm_hazard_margin_m"], [0.0, 0.5, 1.0])


def test_weights_are_normalised():
    crit, ids, ok = _criteria(), _ids(), _eligible()
    w = {"unserved_under3": 1.0, "area_m2": 3.0}
    a = score_parcels(crit, eligible=ok, parcel_id=ids, weights=w)
    b = score_parcels(crit, eligible=ok, parcel_id=ids, weights={k: 10 * v for k, v in w.items()})
    pd.testing.assert_frame_equal(a, b)
    np.testing.assert_allclose(a["contrib_area_m2"].iloc[:4], a["norm_area_m2"].iloc[:4] * 75.0)


def test_all_equal_criterion_gives_full_marks():
    crit = pd.DataFrame({"dist_public_m": [300.0, 300.0]})
    got = score_parcels(
        crit,
        eligible=pd.Series([True, True]),
        parcel_id=pd.Series(["b", "a"]),
        weights={"dist_public_m": 1.0},
    )
    np.testing.assert_allclose(got["score"], [100.0, 100.0])
    assert list(got["rank"]) == [2, 1]


def test_nothing_eligible():
    got = score_parcels(
        _criteria(), eligible=pd.Series([False] * 5, index=_ids().index), parcel_id=_ids()
    )
    assert got["score"].isna().all()
    assert got["rank"].isna().all()


@pytest.mark.parametrize(
    "weights",
    [
        {"unknown": 1.0},
        {"area_m2": 1.0, "parking": 0.5},
        {"area_m2": -0.1, "walk_under3": 1.0},
        {"area_m2": 0.0, "walk_under3": 0.0},
        {},
        {"area_m2": "1"},
        {"area_m2": None},
        {"area_m2": True},
        {"area_m2": math.nan},
        {"area_m2": math.inf},
    ],
)
def test_bad_weights_rejected(weights):
    with pytest.raises(siting.ConfigError):
        score_parcels(_criteria(), eligible=_eligible(), parcel_id=_ids(), weights=weights)


def test_missing_criterion_column_rejected():
    crit = _criteria().drop(columns="area_m2")
    with pytest.raises(siting.InputDataError, match="area_m2"):
        score_parcels(crit, eligible=_eligible(), parcel_id=_ids())
    # a criterion that is not weighted need not be present
    got = score_parcels(crit, eligible=_eligible(), parcel_id=_ids(), weights={"walk_under3": 1.0})
    assert "contrib_area_m2" not in got.columns


def test_inputs_not_mutated():
    crit, ok, ids = _criteria(), _eligible(), _ids()
    before = crit.copy()
    weights = dict(DEFAULT_WEIGHTS)
    score_parcels(crit, eligible=ok, parcel_id=ids, weights=weights)
    pd.testing.assert_frame_equal(crit, before)
    assert weights == DEFAULT_WEIGHTS


def test_penalties_take_points_off_without_diluting_weights():
    crit = _criteria()
    crit["penalty_gas_10"] = [0.0, 0.5, 0.0, 1.0, 0.0]
    base = score_parcels(_criteria(), eligible=_eligible(), parcel_id=_ids())
    got = score_parcels(
        crit, eligible=_eligible(), parcel_id=_ids(), penalties={"penalty_gas_10": 0.05}
    )
    ok = _eligible().to_numpy()
    # criterion contributions unchanged; the penalty subtracts weight x penalty x 100
    for c in DEFAULT_WEIGHTS:
        np.testing.assert_allclose(got.loc[ok, f"contrib_{c}"], base.loc[ok, f"contrib_{c}"])
    np.testing.assert_allclose(got.loc[ok, "contrib_penalty_gas_10"], [0.0, -2.5, 0.0, -5.0])
    np.testing.assert_allclose(
        got.loc[ok, "score"], base.loc[ok, "score"] - np.array([0.0, 2.5, 0.0, 5.0])
    )
    with pytest.raises(siting.ConfigError):
        score_parcels(
            crit, eligible=_eligible(), parcel_id=_ids(), penalties={"penalty_gas_10": -1}
        )


# --------------------------------------------------------------------------- TOPSIS, AHP, config


@pytest.fixture(scope="module")
def karhula_scored(karhula_layers):
    """Real criteria of the Karhula demo parcels (run_study), to score again here."""
    result = siting.run_study(karhula_layers, k=5)
    cand = result.candidates
    crit = cand[[*DEFAULT_WEIGHTS]].copy()
    return crit, cand["eligible"], cand["parcel_id"]


def test_topsis_matches_pymcdm_on_real_parcels(karhula_scored):
    from pymcdm.methods import TOPSIS

    crit, ok, ids = karhula_scored
    got = score_parcels(crit, eligible=ok, parcel_id=ids, method="topsis")
    capped = np.column_stack(
        [np.minimum(crit[c].to_numpy(dtype=float), CRITERIA[c].cap) for c in DEFAULT_WEIGHTS]
    )[ok.to_numpy()]
    types = np.array([1 if CRITERIA[c].direction == "benefit" else -1 for c in DEFAULT_WEIGHTS])
    weights = np.array(list(DEFAULT_WEIGHTS.values()))
    peer = TOPSIS()(capped, weights / weights.sum(), types)  # min-max normalisation, as ours
    np.testing.assert_allclose(got.loc[ok, "score"], 100 * peer, rtol=1e-10, atol=1e-10)
    assert ok.sum() > 20
    assert got.loc[ok, "score"].nunique() > 10


def test_topsis_contributions_sum_to_the_score_and_follow_the_definition(karhula_scored):
    crit, ok, ids = karhula_scored
    crit = crit.copy()
    crit["penalty_gas_10"] = np.where(np.arange(len(crit)) % 3 == 0, 0.5, 0.0)
    got = score_parcels(
        crit, eligible=ok, parcel_id=ids, method="topsis", penalties={"penalty_gas_10": 0.05}
    )
    contrib = got.loc[ok, [c for c in got.columns if c.startswith("contrib_")]]
    np.testing.assert_allclose(contrib.sum(axis=1), got.loc[ok, "score"], rtol=1e-12, atol=1e-9)
    # by the definition: score x (v_c - v_c^-)^2 / (S-)^2, computed from the norm_ columns
    w = pd.Series(DEFAULT_WEIGHTS) / sum(DEFAULT_WEIGHTS.values())
    v = got.loc[ok, [f"norm_{c}" for c in w.index]].to_numpy() * w.to_numpy()
    sq = (v - v.min(axis=0)) ** 2
    s_minus = np.sqrt(sq.sum(axis=1))
    s_plus = np.sqrt(((v - v.max(axis=0)) ** 2).sum(axis=1))
    np.testing.assert_allclose(got.loc[ok, "topsis_s_minus"], s_minus, rtol=1e-12)
    closeness = s_minus / (s_plus + s_minus)
    pen = got.loc[ok, "contrib_penalty_gas_10"].to_numpy()
    np.testing.assert_allclose(got.loc[ok, "score"] - pen, 100 * closeness, rtol=1e-12)
    for col, name in enumerate(w.index):
        expect = 100 * closeness * sq[:, col] / sq.sum(axis=1)
        np.testing.assert_allclose(got.loc[ok, f"contrib_{name}"], expect, rtol=1e-10, atol=1e-12)


def test_topsis_with_fuzzy_normalisation_matches_pymcdm(karhula_scored):
    from pymcdm.methods import TOPSIS

    crit, ok, ids = karhula_scored
    config = {
        "dist_stop_m": {"kind": "fuzzy", "shape": "decreasing", "points": [200, 600]},
        "dist_public_m": {"kind": "threshold", "breaks": [300, 500], "scores": [1, 0.6, 0]},
    }
    got = score_parcels(crit, eligible=ok, parcel_id=ids, method="topsis", normalisation=config)
    stop = crit.loc[ok, "dist_stop_m"].to_numpy()
    np.testing.assert_allclose(
        got.loc[ok, "norm_dist_stop_m"], np.interp(stop, [200, 600], [1, 0]), atol=1e-12
    )
    norm = got.loc[ok, [f"norm_{c}" for c in DEFAULT_WEIGHTS]].to_numpy()
    weights = np.array(list(DEFAULT_WEIGHTS.values()))
    peer = TOPSIS(normalization_function=lambda x, cost: x)(
        norm, weights / weights.sum(), np.ones(len(weights), dtype=int)
    )
    np.testing.assert_allclose(got.loc[ok, "score"], 100 * peer, rtol=1e-10)


def test_wlc_with_ahp_weights_and_thresholds(karhula_scored):
    from siting.weights import ahp_weights, pairwise_matrix

    crit, ok, ids = karhula_scored
    names = ["unserved_under3", "dist_stop_m", "area_m2"]
    ahp = ahp_weights(
        pairwise_matrix(
            {("unserved_under3", "dist_stop_m"): 3, ("unserved_under3", "area_m2"): 5,
             ("dist_stop_m", "area_m2"): 2},
            names,
        ),
        names,
    )  # fmt: skip
    spec = {"dist_stop_m": {"kind": "threshold", "breaks": [300], "scores": [1, 0]}}
    got = score_parcels(crit, eligible=ok, parcel_id=ids, weights=ahp, normalisation=spec)
    stop = np.where(crit.loc[ok, "dist_stop_m"] < 300, 1.0, 0.0)
    u = crit.loc[ok, "unserved_under3"].to_numpy()
    a = np.minimum(crit.loc[ok, "area_m2"].to_numpy(), 5000.0)
    expect = 100 * (
        ahp.weights["unserved_under3"] * (u - u.min()) / (u.max() - u.min())
        + ahp.weights["dist_stop_m"] * stop
        + ahp.weights["area_m2"] * (a - a.min()) / (a.max() - a.min())
    )
    np.testing.assert_allclose(got.loc[ok, "score"], expect, rtol=1e-12)


def test_custom_criterion_and_bad_options(karhula_scored):
    from siting.scoring import Criterion

    crit, ok, ids = karhula_scored
    crit = crit.assign(in_land_price=np.linspace(100, 200, len(crit)))
    info = {
        **CRITERIA,
        "in_land_price": Criterion("in_land_price", "cost", math.inf, "地价", "Land price"),
    }
    got = score_parcels(
        crit, eligible=ok, parcel_id=ids, weights={"in_land_price": 1.0}, criteria_info=info
    )
    assert got.loc[ok, "norm_in_land_price"].iloc[0] == pytest.approx(1.0)
    with pytest.raises(siting.ConfigError, match="method"):
        score_parcels(crit, eligible=ok, parcel_id=ids, method="electre")
    with pytest.raises(
        siting.ConfigError, match=r"normalisation given for unknown criteria \['x'\]"
    ):
        score_parcels(crit, eligible=ok, parcel_id=ids, normalisation={"x": {}})
    with pytest.raises(siting.ConfigError, match="kind must be one of"):
        score_parcels(crit, eligible=ok, parcel_id=ids, normalisation={"area_m2": {"kind": "z"}})
    with pytest.raises(siting.ConfigError, match="mapping"):
        score_parcels(crit, eligible=ok, parcel_id=ids, weights=[0.5, 0.5])


def test_topsis_all_alike_scores_full_marks():
    crit = pd.DataFrame({"dist_public_m": [300.0, 300.0], "area_m2": [800.0, 800.0]})
    got = score_parcels(
        crit,
        eligible=pd.Series([True, True]),
        parcel_id=pd.Series(["b", "a"]),
        weights={"dist_public_m": 1.0, "area_m2": 3.0},
        method="topsis",
    )
    np.testing.assert_allclose(got["score"], [100.0, 100.0])
    np.testing.assert_allclose(got["contrib_area_m2"], [75.0, 75.0])
    assert list(got["rank"]) == [2, 1]


def test_scoring_config_table():
    import tomllib

    from siting.scoring import scoring_config

    cfg = scoring_config(
        tomllib.loads(
            """
            method = "topsis"
            [ahp]
            criteria = ["unserved_under3", "walk_under3", "dist_stop_m"]
            matrix = [[1, 2, 5], [0.5, 1, 3], [0.2, 0.333, 1]]
            [normalisation.dist_stop_m]
            kind = "fuzzy"
            shape = "decreasing"
            points = [300, 800]
            [stability]
            spread = 0.3
            draws = 500
            seed = 4
            """
        )
    )
    assert cfg.method == "topsis"
    assert cfg.weights == pytest.approx(cfg.ahp.weights)
    assert cfg.weights["unserved_under3"] > cfg.weights["walk_under3"] > cfg.weights["dist_stop_m"]
    assert cfg.normalisation["dist_stop_m"].points == (300.0, 800.0)
    assert (cfg.spread, cfg.draws, cfg.seed) == (0.3, 500, 4)
    assert cfg.as_dict()["ahp"]["consistency_ratio"] < 0.1
    assert scoring_config(None).weights == pytest.approx(
        {k: v / sum(DEFAULT_WEIGHTS.values()) for k, v in DEFAULT_WEIGHTS.items()}
    )


@pytest.mark.parametrize(
    ("table", "match"),
    [
        ({"colour": 1}, r"unknown key\(s\) \['colour'\]"),
        ({"method": "vikor"}, "method must be one of"),
        ({"weights": {"a": 1}, "ahp": {}}, "both weights and ahp"),
        ({"weights": {"parking": 1}}, r"unknown criterion weight\(s\) \['parking'\]"),
        ({"ahp": {"criteria": ["area_m2"]}}, "needs exactly criteria"),
        (
            {"ahp": {"criteria": ["area_m2", "parking"], "matrix": [[1, 2], [0.5, 1]]}},
            r"unknown criterion weight\(s\) \['parking'\]",
        ),
        (
            {"ahp": {"criteria": ["area_m2", "walk_under3"], "matrix": [[1, 2], [2, 1]]}},
            "not reciprocal",
        ),
        ({"normalisation": {"area_m2": {"kind": "fuzzy"}}}, "needs 2 ascending"),
        ({"stability": {"spread": 2}}, "spread"),
        ({"stability": {"runs": 2}}, "takes only"),
        ({"stability": {"seed": 1.5}}, "seed must be an integer"),
    ],
)
def test_scoring_config_errors(table, match):
    from siting.scoring import scoring_config

    with pytest.raises(siting.ConfigError, match=match):
        scoring_config(table)
