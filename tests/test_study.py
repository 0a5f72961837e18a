"""run_study wiring: invariants of the result on real OSM data."""

from __future__ import annotations

import numpy as np
import pytest

from siting import ConfigError, run_study
from siting.access import catchment_sum, network_from_edges, walk_distances


@pytest.fixture(scope="module")
def karhula_result(karhula_layers):
    return run_study(karhula_layers, k=3, study_name="karhula")


def test_inputs_not_modified(karhula_layers) -> None:
    before = {k: v.copy() for k, v in karhula_layers.items()}
    run_study(karhula_layers, k=1)
    for name, layer in karhula_layers.items():
        assert layer.equals(before[name]), name
        assert layer.crs == before[name].crs


def test_result_invariants(karhula_result) -> None:
    cand = karhula_result.candidates
    assert cand.crs.to_epsg() == 32635
    assert cand["parcel_id"].is_unique
    assert (cand["eligible"] == (cand["excluded_by"] == "")).all()
    assert cand.loc[~cand["eligible"], "score"].isna().all()
    assert cand.loc[~cand["eligible"], "rank"].isna().all()
    contrib = cand.filter(like="contrib_").sum(axis=1)
    np.testing.assert_allclose(contrib[cand["eligible"]], cand.loc[cand["eligible"], "score"])
    sel = karhula_result.selected
    assert len(sel) == 3
    assert sel["eligible"].all()
    assert (sel["planned_slots"] <= sel["capacity_slots"]).all()
    assert (np.diff(sel["new_under3_covered"].to_numpy()) <= 1e-9).all()  # greedy gains shrink


def test_walk_demand_recomputed(karhula_result, karhula_metric) -> None:
    """walk_under3 equals an independent sum over the walk matrix of the demand layer."""
    cand = karhula_result.candidates
    net = network_from_edges(karhula_metric["walk_edges"])
    within = walk_distances(
        net, cand.geometry.representative_point(), karhula_result.demand.geometry, dist=300.0
    )
    np.testing.assert_allclose(
        cand["walk_under3"], catchment_sum(within, karhula_result.demand["under3"].to_numpy())
    )
    assert cand["walk_under3"].max() > 0


def test_summary_coverage_consistent(karhula_result) -> None:
    s = karhula_result.summary
    tg = s["targets"]
    assert 0 <= tg["coverage_before"] <= tg["coverage_after"] <= 1
    covered = tg["coverage_after"] - tg["coverage_before"]
    newly = s["selection"]["under3_newly_covered"] / s["demand"]["under3_estimate"]
    assert covered == pytest.approx(newly, abs=1e-3)
    assert s["counts"]["hazards"] == {"fuel_station": 2, "power_line": 2}


def test_bad_k(karhula_layers) -> None:
    with pytest.raises(ConfigError, match="positive integer"):
        run_study(karhula_layers, k=0)
