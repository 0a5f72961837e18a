"""run_study wiring: invariants of the result on real OSM data."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from siting import ConfigError, landuse, parcel_shape, run_study
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


def test_summary_coverage_consistent(karhula_result, karhula_metric) -> None:
    s = karhula_result.summary
    tg = s["targets"]
    assert 0 <= tg["coverage_before"] <= tg["coverage_after"] <= 1
    # community coverage recomputed: residential polygons reached by a facility within 300 m
    land = karhula_metric["landuse"]
    comm = land[land["landuse"] == "residential"].geometry.representative_point()
    net = network_from_edges(karhula_metric["walk_edges"])
    am = karhula_metric["amenities"]
    existing = am[am["amenity"].isin(["childcare", "kindergarten"])].geometry
    new = karhula_result.selected.geometry
    for key, sites in (("coverage_before", [existing]), ("coverage_after", [existing, new])):
        pts = gpd.GeoSeries(pd.concat(sites).representative_point().to_numpy(), crs=land.crs)
        w = walk_distances(net, pts, comm, dist=300.0)
        reached = np.asarray((w > 0).sum(axis=0)).ravel() > 0
        assert tg[key] == pytest.approx(reached.mean(), abs=1e-4), key
    assert tg["communities"] == len(comm)
    residents = s["demand"]["residents_estimate"]
    slots = tg["existing_slots"] + tg["new_slots"]
    assert tg["slots_per_1000_after"] == pytest.approx(slots / residents * 1000, abs=0.01)
    assert tg["new_slots"] == int(karhula_result.selected["planned_slots"].sum())
    assert (karhula_result.selected["planned_slots"] % 5 == 0).all()  # whole classes
    industrial = int((karhula_metric["landuse"]["landuse"] == "industrial").sum())
    assert industrial > 0
    assert s["counts"]["hazards"] == {
        "fuel_station": 2, "power_line": 2, "industrial": industrial,
    }  # fmt: skip


def test_summary_counts_per_rule(karhula_result) -> None:
    cand = karhula_result.candidates
    s = karhula_result.summary
    rb = karhula_result.rulebook
    hard = [r.id for r in rb.active_rules if r.hard]
    # then the exclusions that come from the parcels themselves (land use, size and shape)
    own = [*landuse.EXCLUSIONS, *parcel_shape.EXCLUSIONS]
    assert list(s["excluded_by_rule"]) == hard + own
    for rule_id, n in s["excluded_by_rule"].items():
        assert n == sum(rule_id in ids.split(";") for ids in cand["excluded_by"]), rule_id
    assert s["excluded_by_rule"]["GAS-10"] > 0
    assert s["excluded_by_rule"]["SITE-01"] > 0
    soft = [r for r in rb.active_rules if r.has_soft_band]
    assert set(s["penalised_by_rule"]) == {r.id for r in soft}
    for r in soft:
        column = "penalty_" + r.id.lower().replace("-", "_")
        assert s["penalised_by_rule"][r.id] == int((cand[column] > 0).sum())
    assert s["penalised_by_rule"]["POL-06"] > 0  # industrial land in Karhula
    assert s["counts"]["eligible"] == int(cand["eligible"].sum())


def _applies(rule, cls: str, subtypes: str, kv: float) -> bool:
    """Written out from docs/rulebook-format.md: class, then subtypes, then min_kv."""
    if cls not in rule.hazard_classes:
        return False
    if rule.subtypes is not None and not set(rule.subtypes) & set(subtypes.split(";")):
        return False
    power = cls in ("power_line", "power_cable")
    return not (rule.min_kv is not None and power and kv < rule.min_kv)


def test_card_of_every_parcel(karhula_result) -> None:
    """One row per active geometric rule; result agrees with excluded_by; exact distances."""
    res = karhula_result
    cand, hz, rb = res.candidates, res.hazards, res.rulebook
    active = [r.id for r in rb.active_rules]
    feats = list(
        zip(hz["hazard_class"], hz["subtypes"], hz["voltage_kv"], hz.geometry, strict=True)
    )
    n_checked = 0
    for pid, poly, excluded in zip(
        cand["parcel_id"], cand.geometry, cand["excluded_by"], strict=True
    ):
        full = res.card(pid)
        assert "parcel_id" not in full.columns
        ids = excluded.split(";") if excluded else []
        assert sorted(full.loc[full["result"] == "fail", "rule_id"]) == sorted(ids)
        # the rulebook's rows, in order, then the parcel's own size and shape rows
        card = full[full["rule_id"].isin(active)]
        assert list(card["rule_id"]) == active
        assert set(full["rule_id"]) - set(active) <= set(parcel_shape.EXCLUSIONS)
        for _, row in card.iterrows():
            rule = rb.rule(row["rule_id"])
            nearest = min(
                (poly.distance(g) for c, st, kv, g in feats if _applies(rule, c, st, kv)),
                default=math.inf,
            )
            if math.isfinite(row["measured_m"]):
                assert row["measured_m"] == pytest.approx(nearest, abs=1e-6), (pid, rule.id)
                n_checked += 1
            else:
                assert row["result"] == "no feature"
                assert nearest > row["screening_m"], (pid, rule.id)
            if row["result"] == "fail":
                assert rule.hard
            assert row["clause"] == rule.clause
            assert row["source"] == rule.source
            assert row["confidence"] == rule.confidence
    assert n_checked >= 20  # Karhula: fuel stations, power lines, industrial land
    with pytest.raises(KeyError):
        res.card("no-such-parcel")


def test_bad_k(karhula_layers) -> None:
    with pytest.raises(ConfigError, match="positive integer"):
        run_study(karhula_layers, k=0)


def test_radius_under3_is_straight_line_sum(karhula_result) -> None:
    cand = karhula_result.candidates
    homes = karhula_result.demand
    sites = cand.geometry.representative_point()
    dist = shapely.distance(sites.to_numpy()[:, None], homes.geometry.to_numpy()[None, :])
    expected = (np.where(dist <= 300.0, homes["under3"].to_numpy()[None, :], 0.0)).sum(axis=1)
    np.testing.assert_allclose(cand["radius_under3"], expected, rtol=1e-9)
    assert (cand["radius_under3"] >= 0).all() and cand["radius_under3"].max() > 0


def test_no_residential_landuse_gives_no_coverage_not_a_crash(karhula_layers) -> None:
    layers = {k: v.copy() for k, v in karhula_layers.items()}
    land = layers["landuse"]
    land.loc[land["landuse"] == "residential", "landuse"] = "mixed"
    result = run_study(layers, k=1)
    tg = result.summary["targets"]
    assert tg["coverage_before"] is None and tg["coverage_after"] is None
    assert tg["coverage_met"] is False and "not computed" in tg["coverage_note"]


@pytest.mark.parametrize("k", [0, -1, 2.5, True])
def test_bad_k_refused_before_any_work(karhula_layers, k) -> None:
    with pytest.raises(ConfigError, match="positive integer"):
        run_study({}, k=k)  # no layers needed: refused first


def test_reuse_candidates_and_new_residential_areas(karhula_layers) -> None:
    """Existing facilities as reuse candidates beside the blocks; new areas assessed."""
    from siting.newareas import new_area_demand

    lay = karhula_layers["landuse"]
    res_land = lay[lay["landuse"] == "residential"].iloc[:2]
    areas = gpd.GeoDataFrame(
        {"名称": ["新区一", "新区二"], "规划人口": [3000, 800]},
        geometry=[*res_land.geometry.to_numpy()],
        crs=lay.crs,
    )
    need = new_area_demand(areas, population="规划人口", name_column="名称")
    plain = run_study(karhula_layers, k=1)
    res = run_study(karhula_layers, k=1, reuse_facilities=True, new_residential=need)
    cand = res.candidates
    reused = cand[cand["parcel_source"] == "reuse"]
    assert len(reused) > 0
    assert len(cand) == len(plain.candidates) + len(reused)
    # the blocks are scored the same way; reuse rows carry the JGJ 39 3.2.2 card rows
    card = res.card(reused["parcel_id"].iloc[0])
    assert card["rule_id"].str.startswith("BLDG-").any()
    assert res.new_areas is not None and len(res.new_areas) == 2
    assert res.summary["new_residential"]["areas"] == 2
    assert list(res.new_areas["required_slots"]) == list(need["required_slots"])
