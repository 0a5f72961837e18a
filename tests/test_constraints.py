"""Tests for siting.constraints: setbacks, crossing bans, eligibility, setback zones.

Real-data checks recompute every rule with plain shapely loops and the setbacks written out
here from the Fuxin 2020 rulebook (not read from it), so a wiring or table error shows up.
"""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import LineString, Point, box

import siting
from siting.constraints import apply_constraints, margin_column, setback_zones, setbacks_for
from siting.hazards import hazards_from_layers
from siting.parcels import parcels_from_blocks
from siting.rulebook import default_rulebook

CRS = "EPSG:32651"

# Fuxin 2020 rulebook, written out independently of the TOML file.
FUEL_M = 50.0
PIPE_M = 5.0
CABLE_M = 0.75
PWR_TABLE = [
    (1.0, 1.0),
    (10.0, 5.0),
    (35.0, 10.0),
    (110.0, 12.5),
    (220.0, 20.0),
    (330.0, 22.5),
    (500.0, 37.5),
    (1000.0, 37.5),
]
SETBACK_RULES = {  # rule id -> hazard class
    "GAS-10": "fuel_station",
    "PIPE-01": "pipeline",
    "PWR-09": "power_line",
    "PWR-04": "power_cable",
}
RULE_ORDER = ["GAS-10", "PIPE-01", "PWR-09", "PWR-04", "SITE-01"]
OIL_GAS = {"gas", "natural_gas", "oil", "fuel"}  # what PIPE-01 protects


def _pwr_setback(kv: float) -> float:
    for top, metres in PWR_TABLE:
        if kv <= top:
            return metres
    return PWR_TABLE[-1][1]


def _setback(hazard_class: str, kv: float) -> float:
    if hazard_class == "fuel_station":
        return FUEL_M
    if hazard_class == "pipeline":
        return PIPE_M
    if hazard_class == "power_cable":
        return CABLE_M
    return _pwr_setback(kv)


def _expected(parcels: gpd.GeoDataFrame, hazards: gpd.GeoDataFrame) -> pd.DataFrame:
    """Every rule by brute force: one shapely call per parcel x hazard."""
    rows = []
    for poly in parcels.geometry:
        margins = dict.fromkeys(SETBACK_RULES, math.inf)
        crosses = False
        for cls, geom, kv in zip(
            hazards["hazard_class"], hazards.geometry, hazards["voltage_kv"], strict=True
        ):
            d = poly.distance(geom)
            rule = next(r for r, c in SETBACK_RULES.items() if c == cls)
            margins[rule] = min(margins[rule], d - _setback(cls, kv))
            if cls in ("power_line", "pipeline") and poly.intersects(geom):
                crosses = True
        failing = [r for r in RULE_ORDER[:-1] if margins[r] < 0]
        if crosses:
            failing.append("SITE-01")
        rows.append(
            {
                **{f"m_{r}": m for r, m in margins.items()},
                "crosses": crosses,
                "excluded_by": ";".join(failing),
            }
        )
    return pd.DataFrame(rows, index=parcels.index)


def _hazards(rows: list[tuple[str, object, float]]) -> gpd.GeoDataFrame:
    """Hazard table like hazards_from_layers: (class, geometry, kV)."""
    return gpd.GeoDataFrame(
        {
            "hazard_class": [r[0] for r in rows],
            "osm_id": list(range(len(rows))),
            "voltage_kv": pd.Series([r[2] for r in rows], dtype=float),
        },
        geometry=[r[1] for r in rows],
        crs=CRS,
    )


def _no_hazards() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"hazard_class": pd.Series([], dtype=object), "voltage_kv": pd.Series([], dtype=float)},
        geometry=gpd.GeoSeries([], crs=CRS),
        crs=CRS,
    )


def _parcels(*polys) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"parcel_id": [f"P{i}" for i in range(len(polys))]}, geometry=list(polys), crs=CRS
    )


SQUARE = box(0, 0, 100, 100)


@pytest.fixture(scope="module")
def rulebook() -> siting.Rulebook:
    return default_rulebook()


@pytest.fixture(scope="module")
def karhula(karhula_metric):
    parcels = parcels_from_blocks(karhula_metric["landuse"], karhula_metric["roads"])
    return parcels, hazards_from_layers(karhula_metric)


@pytest.fixture(scope="module")
def helsinki(helsinki_metric):
    parcels = parcels_from_blocks(helsinki_metric["landuse"], helsinki_metric["roads"])
    return parcels, hazards_from_layers(helsinki_metric)


# --------------------------------------------------------------------------- real data


def test_rulebook_matches_the_written_out_setbacks(rulebook):
    assert [r.id for r in rulebook.rules] == RULE_ORDER
    assert rulebook.rule("GAS-10").setback_m() == FUEL_M
    assert rulebook.rule("PIPE-01").setback_m() == PIPE_M
    for kv in [0.4, 1.0, 6.0, 10.0, 20.0, 35.0, 66.0, 110.0, 132.0, 220.0, 400.0, 1200.0]:
        assert rulebook.rule("PWR-09").setback_m(kv) == _pwr_setback(kv), kv


def test_karhula_has_the_hazards_the_checks_need(karhula):
    parcels, hazards = karhula
    counts = hazards["hazard_class"].value_counts().to_dict()
    assert counts == {"fuel_station": 2, "power_line": 2}
    lines = hazards[hazards["hazard_class"] == "power_line"]
    # two voltages, so PWR-09 mixes setbacks (12.5 m and 5 m)
    assert sorted(lines["voltage_kv"]) == [10.0, 110.0]
    assert len(parcels) > 50


def test_karhula_eligibility_matches_brute_force(karhula, rulebook):
    parcels, hazards = karhula
    got = apply_constraints(parcels, hazards, rulebook)
    exp = _expected(parcels, hazards)
    mismatch = parcels["parcel_id"][got["excluded_by"] != exp["excluded_by"]]
    detail = pd.DataFrame({"got": got["excluded_by"], "expected": exp["excluded_by"]})
    assert mismatch.empty, (
        f"excluded_by differs for {list(mismatch)}:\n{detail.loc[mismatch.index]}"
    )
    assert (got["eligible"] == (exp["excluded_by"] == "")).all()
    # the data must exercise both outcomes and both rule kinds
    assert got["eligible"].sum() > 0
    assert got["excluded_by"].str.contains("GAS-10").any()
    assert got["excluded_by"].str.contains("SITE-01").any()


def test_karhula_margins_match_brute_force(karhula, rulebook):
    parcels, hazards = karhula
    got = apply_constraints(parcels, hazards, rulebook)
    exp = _expected(parcels, hazards)
    for rule_id in SETBACK_RULES:
        col = margin_column(rulebook.rule(rule_id))
        np.testing.assert_allclose(
            got[col], exp[f"m_{rule_id}"], rtol=0, atol=1e-6, err_msg=f"{col}"
        )
    np.testing.assert_array_equal(got["crosses_site_01"], exp["crosses"])


def test_karhula_eligible_parcels_clear_of_fuel_and_power(karhula, rulebook):
    parcels, hazards = karhula
    got = apply_constraints(parcels, hazards, rulebook)
    ok = parcels[got["eligible"].to_numpy()]
    fuel = hazards[hazards["hazard_class"] == "fuel_station"].geometry
    power = hazards[hazards["hazard_class"] == "power_line"].geometry
    for poly in ok.geometry:
        assert all(poly.distance(f) >= FUEL_M for f in fuel)
        assert not any(poly.intersects(line) for line in power)


def test_karhula_distance_columns(karhula, rulebook):
    parcels, hazards = karhula
    got = apply_constraints(parcels, hazards, rulebook)
    for cls in ("fuel_station", "power_line"):
        geoms = hazards[hazards["hazard_class"] == cls].geometry
        expected = [min(p.distance(g) for g in geoms) for p in parcels.geometry]
        np.testing.assert_allclose(got[f"dist_{cls}_m"], expected, rtol=0, atol=1e-6)
    for cls in ("pipeline", "power_cable"):  # none in Karhula
        assert np.isinf(got[f"dist_{cls}_m"]).all()
    assert np.isinf(got["margin_pipe_01_m"]).all()


def test_helsinki_only_gas_or_unknown_pipelines_are_hazards(helsinki_metric, helsinki):
    _, hazards = helsinki
    pipes = helsinki_metric["pipelines"]
    substance = pipes["substance"].fillna(pipes["pipeline_type"])
    # oil/gas pipelines, and pipelines of unknown contents (conservatively)
    hazardous = [pd.isna(s) or str(s).lower() in OIL_GAS for s in substance]
    expected_ids = sorted(pipes["id"][hazardous])
    got = hazards[hazards["hazard_class"] == "pipeline"]
    assert sorted(got["osm_id"]) == expected_ids
    # Helsinki has gas pipes, one of unknown contents, and many water/heat ones
    assert set(substance[hazardous].dropna().str.lower()) == {"gas"}
    assert substance[hazardous].isna().sum() == 1
    assert len(expected_ids) < len(pipes)


def test_helsinki_pipeline_rules_match_brute_force(helsinki, rulebook):
    parcels, hazards = helsinki
    got = apply_constraints(parcels, hazards, rulebook)
    exp = _expected(parcels, hazards)
    np.testing.assert_allclose(got["margin_pipe_01_m"], exp["m_PIPE-01"], rtol=0, atol=1e-6)
    np.testing.assert_allclose(got["margin_pwr_09_m"], exp["m_PWR-09"], rtol=0, atol=1e-6)
    np.testing.assert_array_equal(got["crosses_site_01"], exp["crosses"])
    assert list(got["excluded_by"]) == list(exp["excluded_by"])
    assert got["excluded_by"].str.contains("PIPE-01").sum() >= 3
    # no eligible parcel within 5 m of a hazardous pipeline
    pipes = hazards[hazards["hazard_class"] == "pipeline"].geometry
    for poly in parcels.geometry[got["eligible"].to_numpy()]:
        assert min(poly.distance(p) for p in pipes) >= PIPE_M


def test_water_and_heat_pipes_do_not_exclude(helsinki_metric, helsinki, rulebook):
    parcels, hazards = helsinki
    got = apply_constraints(parcels, hazards, rulebook)
    pipes = helsinki_metric["pipelines"]
    harmless = pipes[pipes["pipeline_type"].isin(["water", "heat", "cold"])].geometry
    gas = hazards[hazards["hazard_class"] == "pipeline"].geometry
    # parcels close to a water/heat pipe but clear of every gas pipe stay eligible
    near_harmless = np.array(
        [min(p.distance(g) for g in harmless) < PIPE_M for p in parcels.geometry]
    )
    clear_gas = np.array([min(p.distance(g) for g in gas) >= PIPE_M for p in parcels.geometry])
    no_power = got["margin_pwr_09_m"].to_numpy() >= 0
    subset = near_harmless & clear_gas & no_power
    assert subset.sum() > 0
    assert got["eligible"].to_numpy()[subset].all()


# --------------------------------------------------------------------------- synthetic


@pytest.mark.parametrize(
    ("x", "eligible"), [(150.0, True), (149.9, False), (160.0, True), (100.0, False)]
)
def test_fuel_station_setback_boundary(rulebook, x, eligible):
    got = apply_constraints(
        _parcels(SQUARE), _hazards([("fuel_station", Point(x, 50), np.nan)]), rulebook
    )
    assert bool(got["eligible"].iloc[0]) is eligible
    assert got["excluded_by"].iloc[0] == ("" if eligible else "GAS-10")
    assert got["margin_gas_10_m"].iloc[0] == pytest.approx(x - 100.0 - FUEL_M, abs=1e-9)


@pytest.mark.parametrize(
    ("kv", "setback"), [(0.4, 1.0), (10.0, 5.0), (10.5, 10.0), (110.0, 12.5), (750.0, 37.5)]
)
def test_power_line_setback_by_voltage(rulebook, kv, setback):
    def line_at(gap):
        return LineString([(100 + gap, -50), (100 + gap, 150)])

    at = apply_constraints(
        _parcels(SQUARE), _hazards([("power_line", line_at(setback), kv)]), rulebook
    )
    assert at["eligible"].iloc[0]
    assert at["margin_pwr_09_m"].iloc[0] == pytest.approx(0.0, abs=1e-9)
    inside = apply_constraints(
        _parcels(SQUARE), _hazards([("power_line", line_at(setback - 0.1), kv)]), rulebook
    )
    assert inside["excluded_by"].iloc[0] == "PWR-09"


def test_pwr09_margin_uses_each_lines_own_setback(rulebook):
    """A 10 kV line 8 m away (5 m setback) and a 110 kV line 500 m away (12.5 m)."""
    hazards = _hazards(
        [
            ("power_line", LineString([(108, -50), (108, 150)]), 10.0),
            ("power_line", LineString([(600, -50), (600, 150)]), 110.0),
        ]
    )
    got = apply_constraints(_parcels(SQUARE), hazards, rulebook)
    assert got["margin_pwr_09_m"].iloc[0] == pytest.approx(8.0 - 5.0)
    assert got["eligible"].iloc[0]


def test_crossing_line_and_pipe_fail_site_01(rulebook):
    crossing = LineString([(-10, 50), (110, 50)])
    for cls, kv in (("power_line", 10.0), ("pipeline", np.nan)):
        got = apply_constraints(_parcels(SQUARE), _hazards([(cls, crossing, kv)]), rulebook)
        assert "SITE-01" in got["excluded_by"].iloc[0].split(";")
        assert got["crosses_site_01"].iloc[0]
        assert not got["eligible"].iloc[0]
    # an underground cable is not a crossing-ban hazard: only its own 0.75 m zone applies
    got = apply_constraints(_parcels(SQUARE), _hazards([("power_cable", crossing, 10.0)]), rulebook)
    assert got["excluded_by"].iloc[0] == "PWR-04"
    assert not got["crosses_site_01"].iloc[0]


def test_excluded_by_lists_every_failing_rule_in_rulebook_order(rulebook):
    parcels = _parcels(SQUARE, box(1000, 0, 1100, 100))
    hazards = _hazards(
        [
            ("power_line", LineString([(50, -10), (50, 110)]), 110.0),
            ("fuel_station", Point(120, 50), np.nan),
        ]
    )
    got = apply_constraints(parcels, hazards, rulebook)
    assert list(got["excluded_by"]) == ["GAS-10;PWR-09;SITE-01", ""]
    assert list(got["eligible"]) == [False, True]


def test_no_hazards_means_infinite_margins_and_eligible(rulebook):
    parcels = _parcels(SQUARE, box(500, 500, 600, 650))
    got = apply_constraints(parcels, _no_hazards(), rulebook)
    margins = [c for c in got.columns if c.startswith("margin_")]
    assert len(margins) == 4
    assert np.isinf(got[margins].to_numpy()).all()
    assert (got[margins] > 0).all().all()
    assert got["eligible"].all()
    assert (got["excluded_by"] == "").all()
    assert not got["crosses_site_01"].any()


def test_output_aligned_to_parcel_index(rulebook):
    parcels = _parcels(box(1000, 0, 1100, 100), SQUARE).set_index(pd.Index([7, 3]))
    got = apply_constraints(parcels, _hazards([("fuel_station", Point(120, 50), np.nan)]), rulebook)
    assert list(got.index) == [7, 3]
    assert list(got["eligible"]) == [True, False]


def test_setbacks_for_picks_rows_of_the_table(rulebook):
    hazards = _hazards(
        [
            ("power_line", LineString([(0, 0), (1, 0)]), 10.0),
            ("power_line", LineString([(0, 0), (1, 0)]), 220.0),
            ("fuel_station", Point(0, 0), np.nan),
        ]
    )
    got = setbacks_for(rulebook.rule("PWR-09"), hazards)
    np.testing.assert_array_equal(got[:2], [5.0, 20.0])
    assert np.isnan(got[2])


# --------------------------------------------------------------------------- setback zones


def _union_of_buffers(hazards: gpd.GeoDataFrame, cls: str):
    feats = hazards[hazards["hazard_class"] == cls]
    return shapely.union_all(
        [
            g.buffer(_setback(cls, kv), quad_segs=64)  # close to the exact setback zone
            for g, kv in zip(feats.geometry, feats["voltage_kv"], strict=True)
        ]
    )


@pytest.mark.parametrize("study", ["karhula", "helsinki"])
def test_setback_zones_are_union_of_buffers(request, rulebook, study):
    _, hazards = request.getfixturevalue(study)
    zones = setback_zones(hazards, rulebook)
    present = set(hazards["hazard_class"])
    expected_rules = [r for r, c in SETBACK_RULES.items() if c in present]
    assert list(zones["rule_id"]) == expected_rules
    assert zones.crs == hazards.crs
    for _, row in zones.iterrows():
        cls = SETBACK_RULES[row["rule_id"]]
        assert row["hazard_class"] == cls
        assert row["n_features"] == (hazards["hazard_class"] == cls).sum()
        expected = _union_of_buffers(hazards, cls)
        # polygonal buffers approximate the round ends: allow 1 % area, 0.5 m outline
        assert row.geometry.area == pytest.approx(expected.area, rel=1e-2)
        assert row.geometry.symmetric_difference(expected).area < 1e-2 * expected.area
        assert row.geometry.hausdorff_distance(expected) < 0.5


def test_setback_zones_without_hazards_is_empty(rulebook):
    zones = setback_zones(_no_hazards(), rulebook)
    assert len(zones) == 0
    assert {"rule_id", "hazard_class", "n_features", "geometry"} <= set(zones.columns)
    assert zones.crs == CRS


def test_setback_zone_contains_excluded_parcels_part(karhula, rulebook):
    """A parcel failing GAS-10 overlaps the GAS-10 zone; an eligible one does not."""
    parcels, hazards = karhula
    zones = setback_zones(hazards, rulebook).set_index("rule_id")
    got = apply_constraints(parcels, hazards, rulebook)
    gas_zone = zones.loc["GAS-10", "geometry"]
    fails = got["excluded_by"].str.contains("GAS-10").to_numpy()
    assert fails.any()
    for poly in parcels.geometry[fails]:
        assert poly.intersection(gas_zone).area > 0
    for poly in parcels.geometry[got["eligible"].to_numpy()]:
        assert poly.intersection(gas_zone).area < 1e-6


# --------------------------------------------------------------------------- bad input


def test_geographic_parcels_or_hazards_rejected(karhula, rulebook):
    parcels, hazards = karhula
    with pytest.raises(siting.CRSError):
        apply_constraints(parcels.to_crs("EPSG:4326"), hazards, rulebook)
    with pytest.raises(siting.CRSError):
        apply_constraints(parcels.to_crs("EPSG:4326"), hazards.to_crs("EPSG:4326"), rulebook)
    with pytest.raises(siting.CRSError):
        setback_zones(hazards.to_crs("EPSG:4326"), rulebook)


def test_mismatched_crs_rejected(karhula, rulebook):
    parcels, hazards = karhula
    with pytest.raises(siting.CRSError):
        apply_constraints(parcels, hazards.to_crs("EPSG:3067"), rulebook)


def test_parcels_without_crs_rejected(rulebook):
    parcels = gpd.GeoDataFrame({"parcel_id": ["P0"]}, geometry=[SQUARE])
    with pytest.raises(siting.CRSError):
        apply_constraints(parcels, _no_hazards(), rulebook)


def test_hazards_missing_columns_rejected(rulebook):
    hazards = _hazards([("fuel_station", Point(0, 0), np.nan)]).drop(columns="voltage_kv")
    with pytest.raises(siting.InputDataError):
        apply_constraints(_parcels(SQUARE), hazards, rulebook)


def test_inputs_not_mutated(karhula, rulebook):
    parcels, hazards = karhula
    p_before, h_before = parcels.copy(), hazards.copy()
    apply_constraints(parcels, hazards, rulebook)
    setback_zones(hazards, rulebook)
    pd.testing.assert_frame_equal(parcels, p_before)
    pd.testing.assert_frame_equal(hazards, h_before)
    assert parcels.index.equals(p_before.index)
    assert hazards.index.equals(h_before.index)
