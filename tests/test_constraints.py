"""Tests for siting.constraints: exact setbacks, crossing bans, adjacency, soft bands.

Issue "exact constraint engine, every exclusion names its clause". Real-data checks recompute
every active rule of the default rulebook with plain shapely loops and the rules written out
here from docs/rulebook-format.md and the Fuxin 2020 profile (not read from the rulebook and
not using any siting.constraints helper), so a wiring, filtering or table error shows up.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import NamedTuple

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import LineString, MultiPolygon, Point, box

import siting
from siting.constraints import (
    apply_constraints,
    buildable_area,
    compliance_table,
    rule_key,
    setback_buffers,
    setback_zones,
    thresholds,
)
from siting.hazards import hazards_from_layers
from siting.parcels import parcels_from_blocks
from siting.rulebook import default_rulebook, overlay_rulebook

CRS = "EPSG:32651"
POWER = frozenset({"power_line", "power_cable"})
OIL_GAS = {"gas", "natural_gas", "oil", "fuel"}  # pipeline substances that are hazards


# --------------------------------------------------------------------------- written-out rules


class Spec(NamedTuple):
    """One geometric rule of the Fuxin 2020 profile, written out by hand."""

    id: str
    kind: str
    classes: frozenset[str]
    dist: float | tuple[tuple[float, float], ...]  # metres, or ((kV, metres), ...) ascending
    subtypes: frozenset[str] | None = None
    min_kv: float | None = None
    hard: bool = True
    soft: float | None = None
    weight: float | None = None


PWR01_TABLE = ((10.0, 5.0), (110.0, 10.0), (330.0, 15.0), (500.0, 20.0), (750.0, 25.0),
               (1000.0, 30.0))  # fmt: skip
PWR09_TABLE = ((1.0, 1.0), (10.0, 5.0), (35.0, 10.0), (110.0, 12.5), (220.0, 20.0),
               (330.0, 22.5), (500.0, 37.5), (1000.0, 37.5))  # fmt: skip
OIL_GAS_UNKNOWN = frozenset({"gas", "oil", "unknown"})


def _f(*names: str) -> frozenset[str]:
    return frozenset(names)


SPECS = (
    Spec("SITE-01", "no_cross", _f("power_line", "pipeline"), 0.0, min_kv=1.0),
    Spec("SITE-02", "no_cross", _f("geohazard"), 0.0),
    Spec("SITE-03", "setback", _f("hazardous_storage"), 50.0),
    Spec("SITE-04", "adjacent", _f("crowded_venue"), 0.0, soft=50.0, weight=0.05),
    Spec("GAS-03", "setback", _f("fuel_station"), 50.0, subtypes=_f("petrol")),
    Spec("GAS-06", "setback", _f("fuel_station"), 100.0, subtypes=_f("lpg")),
    Spec("GAS-07", "setback", _f("fuel_station"), 50.0, subtypes=_f("cng")),
    Spec("GAS-08", "setback", _f("fuel_station"), 80.0, subtypes=_f("lng")),
    Spec("GAS-09", "setback", _f("fuel_station"), 100.0, subtypes=_f("hydrogen")),
    Spec("GAS-10", "setback", _f("fuel_station"), 50.0, soft=100.0, weight=0.05),
    Spec("PIPE-01", "setback", _f("pipeline"), 5.0, subtypes=OIL_GAS_UNKNOWN),
    Spec(
        "PIPE-10",
        "setback",
        _f("pipeline"),
        50.0,
        subtypes=OIL_GAS_UNKNOWN,
        soft=200.0,
        weight=0.05,
    ),
    Spec("PWR-01", "setback", _f("power_line"), PWR01_TABLE, min_kv=1.0),
    Spec("PWR-04", "setback", _f("power_cable"), 0.75),
    Spec("PWR-08", "setback", _f("substation"), 0.0, hard=False, soft=50.0, weight=0.05),
    Spec("PWR-09", "setback", _f("power_line"), PWR09_TABLE),
    Spec(
        "POL-01", "setback", _f("hospital"), 20.0, subtypes=_f("infectious"), soft=50.0, weight=0.05
    ),
    Spec("POL-02", "adjacent", _f("hospital"), 0.0, subtypes=_f("general")),
    Spec("POL-03", "setback", _f("waste_transfer"), 50.0),
    Spec("POL-04", "setback", _f("landfill"), 500.0),
    Spec("POL-05", "setback", _f("wastewater_plant"), 300.0),
    Spec("POL-06", "setback", _f("industrial"), 0.0, hard=False, soft=100.0, weight=0.05),
)
SPEC = {s.id: s for s in SPECS}
HARD_IDS = [s.id for s in SPECS if s.hard]
KVS = [0.0, 0.23, 0.4, 0.6, 1.0, 1.5, 6.0, 10.0, 10.5, 20.0, 35.0, 66.0, 110.0, 132.0, 220.0,
       330.0, 400.0, 500.0, 750.0, 800.0, 1000.0, 1200.0]  # fmt: skip


def _limit(spec: Spec, kv: float) -> float:
    """Hard threshold of one feature under a written-out rule."""
    if spec.kind == "no_cross":
        return 0.0
    if isinstance(spec.dist, tuple):
        for top, metres in spec.dist:
            if kv <= top:
                return metres
        return spec.dist[-1][1]
    return spec.dist


def _applies(spec: Spec, cls: str, subtypes: str, kv: float) -> bool:
    if cls not in spec.classes:
        return False
    if spec.subtypes is not None and not spec.subtypes & set(str(subtypes).split(";")):
        return False
    # min_kv filters power features only; an unknown voltage counts (conservative)
    return not (spec.min_kv is not None and cls in POWER and kv < spec.min_kv)


class Brute(NamedTuple):
    nearest: dict[str, list[float]]  # rule id -> nearest applicable feature, per parcel
    pairs: dict[str, list[list[tuple[str, float, float]]]]  # rule -> per parcel (class, d, lim)
    fails: dict[str, list[bool]]
    excluded_by: list[str]
    class_dist: dict[str, list[list[float]]]  # class -> per parcel, every feature distance


def _brute(parcels: gpd.GeoDataFrame, hazards: gpd.GeoDataFrame) -> Brute:
    """Every written-out rule by brute force: one shapely call per parcel x feature."""
    feats = list(
        zip(
            hazards["hazard_class"],
            hazards["subtypes"],
            hazards["voltage_kv"].astype(float),
            hazards.geometry,
            strict=True,
        )
    )
    nearest: dict[str, list[float]] = {s.id: [] for s in SPECS}
    pairs: dict[str, list[list[tuple[str, float, float]]]] = {s.id: [] for s in SPECS}
    fails: dict[str, list[bool]] = {s.id: [] for s in SPECS}
    classes = {c for s in SPECS for c in s.classes}
    class_dist: dict[str, list[list[float]]] = {c: [] for c in classes}
    excluded = []
    for poly in parcels.geometry:
        dists = [poly.distance(geom) for *_, geom in feats]
        touch = [poly.intersects(geom) for *_, geom in feats]
        for c in classes:
            class_dist[c].append([d for d, f in zip(dists, feats, strict=True) if f[0] == c])
        failing = []
        for s in SPECS:
            idx = [i for i, (c, st, kv, _) in enumerate(feats) if _applies(s, c, st, kv)]
            lims = [_limit(s, feats[i][2]) for i in idx]
            if s.kind == "setback":
                fail = any(dists[i] < lim for i, lim in zip(idx, lims, strict=True))
            elif s.kind == "no_cross":
                fail = any(touch[i] for i in idx)
            else:  # adjacent: touching or within dist_m
                fail = any(touch[i] or dists[i] <= lim for i, lim in zip(idx, lims, strict=True))
            nearest[s.id].append(min((dists[i] for i in idx), default=math.inf))
            pairs[s.id].append(
                [(feats[i][0], dists[i], lim) for i, lim in zip(idx, lims, strict=True)]
            )
            fails[s.id].append(fail)
            if fail and s.hard:
                failing.append(s.id)
        excluded.append(";".join(failing))
    return Brute(nearest, pairs, fails, excluded, class_dist)


def _screening(hazards: gpd.GeoDataFrame) -> dict[str, float]:
    """Largest threshold or soft band of the rules applying to each class's features."""
    out = {c: 0.0 for s in SPECS for c in s.classes}
    for c, st, kv in zip(
        hazards["hazard_class"], hazards["subtypes"], hazards["voltage_kv"], strict=True
    ):
        for s in SPECS:
            if _applies(s, c, st, kv):
                out[c] = max(out[c], _limit(s, kv), s.soft or 0.0)
    return out


def _check_against_brute(parcels, hazards, got) -> Brute:
    """Assert that apply_constraints agrees exactly with the brute force."""
    exp = _brute(parcels, hazards)
    detail = pd.DataFrame(
        {"parcel": parcels["parcel_id"], "got": got["excluded_by"], "expected": exp.excluded_by}
    )
    bad = detail[detail["got"] != detail["expected"]]
    assert bad.empty, f"excluded_by differs:\n{bad}"
    assert (got["eligible"] == (got["excluded_by"] == "")).all()
    # no eligible parcel violates any hard rule (restated, independent of the string form)
    for s in SPECS:
        if s.hard:
            assert not np.asarray(exp.fails[s.id])[got["eligible"].to_numpy()].any(), s.id
    # the screening radius is the largest threshold or soft band, class by class
    screening = _screening(hazards)
    assert got.attrs["screening_m"] == pytest.approx(screening)
    for s in SPECS:
        key = s.id.lower().replace("-", "_")
        # distances: exact inside the class's screening radius, inf beyond it
        within = [
            min((d for c, d, _ in row if d <= screening[c]), default=math.inf)
            for row in exp.pairs[s.id]
        ]
        np.testing.assert_allclose(got[f"dist_{key}_m"], within, rtol=0, atol=1e-6, err_msg=s.id)
        finite = np.isfinite(got[f"dist_{key}_m"].to_numpy())
        np.testing.assert_allclose(
            got[f"dist_{key}_m"][finite], np.asarray(exp.nearest[s.id])[finite], atol=1e-6
        )
        if s.kind != "no_cross":
            margin = got[f"margin_{key}_m"].to_numpy()
            true_min = np.array([min((d - lim for _, d, lim in row), default=math.inf)
                                 for row in exp.pairs[s.id]])  # fmt: skip
            # the sign of the margin is exact: negative (or <= 0 for adjacency) = failing
            if s.kind == "setback":
                np.testing.assert_array_equal(margin < 0, true_min < 0, err_msg=s.id)
            else:
                np.testing.assert_array_equal(margin <= 0, true_min <= 0, err_msg=s.id)
            # finite margins are the smallest distance - threshold over every feature
            # (inf only beyond the screening radius, where the parcel passes)
            finite = np.isfinite(margin)
            np.testing.assert_allclose(
                margin[finite], true_min[finite], rtol=0, atol=1e-6, err_msg=s.id
            )
            assert (true_min[~finite] > 0).all(), s.id
        if s.soft is not None:
            penalty = np.clip(1.0 - np.asarray(exp.nearest[s.id]) / s.soft, 0.0, 1.0)
            np.testing.assert_allclose(got[f"penalty_{key}"], penalty, atol=1e-9, err_msg=s.id)
        else:
            assert f"penalty_{key}" not in got.columns
    for c, per_parcel in exp.class_dist.items():
        within = [min((d for d in ds if d <= screening[c]), default=math.inf) for ds in per_parcel]
        np.testing.assert_allclose(got[f"dist_{c}_m"], within, rtol=0, atol=1e-6, err_msg=c)
    return exp


def _check_compliance(parcels, got, exp: Brute, rulebook) -> None:
    table = compliance_table(got, parcels["parcel_id"], rulebook)
    active = [r.id for r in rulebook.active_rules]
    assert len(table) == len(parcels) * len(active)
    for pid, excluded in zip(parcels["parcel_id"], got["excluded_by"], strict=True):
        rows = table[table["parcel_id"] == pid]
        assert list(rows["rule_id"]) == active  # one row per active geometric rule
        ids = excluded.split(";") if excluded else []
        for _, row in rows.iterrows():
            assert (row["result"] == "fail") == (row["rule_id"] in ids), (pid, row["rule_id"])
            assert row["result"] in {"pass", "fail", "penalty", "no feature"}
            assert (row["result"] == "no feature") == (not math.isfinite(row["measured_m"]))
            if row["result"] in {"pass", "penalty"}:
                assert (row["result"] == "penalty") == (row["penalty"] > 0)
            if not row["hard"]:
                assert row["result"] != "fail"
            assert row["source"] and row["clause"] and row["confidence"]
    for s in SPECS:
        measured = table.loc[table["rule_id"] == s.id, "measured_m"].to_numpy()
        finite = np.isfinite(measured)
        np.testing.assert_allclose(
            measured[finite], np.asarray(exp.nearest[s.id])[finite], rtol=0, atol=1e-6
        )


# --------------------------------------------------------------------------- helpers


def _hazards(rows: list[tuple]) -> gpd.GeoDataFrame:
    """Hazard table like hazards_from_layers: (class, geometry, kV[, subtypes])."""
    return gpd.GeoDataFrame(
        {
            "hazard_class": [r[0] for r in rows],
            "subtypes": [r[3] if len(r) > 3 else "" for r in rows],
            "osm_id": list(range(len(rows))),
            "voltage_kv": pd.Series([r[2] for r in rows], dtype=float),
        },
        geometry=[r[1] for r in rows],
        crs=CRS,
    )


def _no_hazards() -> gpd.GeoDataFrame:
    return _hazards([])


def _parcels(*polys) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"parcel_id": [f"P{i}" for i in range(len(polys))]}, geometry=list(polys), crs=CRS
    )


def _one(hazard_rows: list[tuple], parcel=None, rulebook=None) -> pd.Series:
    """apply_constraints for one parcel (default: SQUARE); returns its row."""
    got = apply_constraints(
        _parcels(SQUARE if parcel is None else parcel),
        _hazards(hazard_rows),
        rulebook or default_rulebook(),
    )
    return got.iloc[0]


SQUARE = box(0, 0, 100, 100)
NAN = math.nan


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


# --------------------------------------------------------------------------- the rulebook


def test_rulebook_matches_the_written_out_rules(rulebook):
    active = rulebook.active_rules
    assert [r.id for r in active] == [s.id for s in SPECS]
    for rule, spec in zip(active, SPECS, strict=True):
        assert rule.kind == spec.kind, rule.id
        assert set(rule.hazard_classes) == spec.classes, rule.id
        assert (None if rule.subtypes is None else set(rule.subtypes)) == spec.subtypes, rule.id
        assert rule.min_kv == spec.min_kv, rule.id
        assert rule.hard is spec.hard, rule.id
        assert rule.soft_dist_m == spec.soft, rule.id
        assert rule.weight == spec.weight, rule.id
        assert rule.has_soft_band is (spec.soft is not None), rule.id
        for kv in KVS:
            assert rule.setback_m(kv) == _limit(spec, kv), (rule.id, kv)


def test_soft_rules_have_weights_and_hard_rules_exclude(rulebook):
    for rule in rulebook.active_rules:
        if rule.soft_dist_m is not None or not rule.hard:
            assert rule.weight is not None and rule.weight > 0, rule.id
            assert rule.soft_dist_m is not None and rule.soft_dist_m > 0, rule.id


# --------------------------------------------------------------------------- real data


def test_karhula_has_the_hazards_the_checks_need(karhula, karhula_metric):
    parcels, hazards = karhula
    counts = hazards["hazard_class"].value_counts().to_dict()
    landuse = karhula_metric["landuse"]
    n_industrial = int((landuse["landuse"] == "industrial").sum())
    assert n_industrial > 0
    assert counts == {"fuel_station": 2, "power_line": 2, "industrial": n_industrial}
    lines = hazards[hazards["hazard_class"] == "power_line"]
    # two voltages, so PWR-09 mixes setbacks (12.5 m and 5 m)
    assert sorted(lines["voltage_kv"]) == [10.0, 110.0]
    fuel = hazards[hazards["hazard_class"] == "fuel_station"]
    assert set(fuel["subtypes"]) == {"petrol"}
    assert len(parcels) > 50


@pytest.mark.parametrize("study", ["karhula", "helsinki"])
def test_every_hard_rule_matches_brute_force(request, rulebook, study):
    parcels, hazards = request.getfixturevalue(study)
    got = apply_constraints(parcels, hazards, rulebook)
    exp = _check_against_brute(parcels, hazards, got)
    _check_compliance(parcels, got, exp, rulebook)
    # the data exercise both outcomes
    assert got["eligible"].sum() > 0
    assert (~got["eligible"]).sum() > 0
    failing = {i for ids in got["excluded_by"] for i in ids.split(";") if i}
    expected = {
        "karhula": {"SITE-01", "GAS-03", "GAS-10", "PWR-01", "PWR-09"},
        "helsinki": {"SITE-01", "SITE-04", "PIPE-01", "PIPE-10"},
    }[study]
    assert expected <= failing


def _synthetic_around(parcels: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Features of every class, placed at known gaps east of real parcels.

    A feature placed ``gap`` metres east of a parcel's easternmost vertex is exactly ``gap``
    metres from the parcel (the parcel lies west of that vertex).
    """
    items = [  # (class, subtypes, kV, shape, gap); gap < 0: through the parcel
        ("fuel_station", "petrol", NAN, "point", 49.9),
        ("fuel_station", "petrol", NAN, "point", 50.1),
        ("fuel_station", "petrol;lpg", NAN, "point", 99.0),
        ("fuel_station", "petrol;lpg", NAN, "point", 101.0),
        ("fuel_station", "petrol;cng", NAN, "point", 49.0),
        ("fuel_station", "petrol;lng", NAN, "point", 79.0),
        ("fuel_station", "petrol;cng;hydrogen", NAN, "point", 99.5),
        ("fuel_station", "", NAN, "point", 30.0),
        ("pipeline", "gas", NAN, "line", 4.9),
        ("pipeline", "oil", NAN, "line", 49.0),
        ("pipeline", "unknown", NAN, "line", -1),
        ("pipeline", "", NAN, "line", -1),  # unlisted subtype: SITE-01 only
        ("power_line", "", 0.4, "line", -1),
        ("power_line", "", 10.0, "line", 4.9),
        ("power_line", "", 35.0, "line", 9.9),
        ("power_line", "", 110.0, "line", 10.5),
        ("power_line", "", 220.0, "line", -1),
        ("power_line", "", 800.0, "line", 37.4),
        ("power_cable", "", 10.0, "line", 0.5),
        ("substation", "", NAN, "point", 10.0),
        ("industrial", "", NAN, "box", -1),
        ("hospital", "general", NAN, "box", 0.0),
        ("hospital", "general", NAN, "box", 1.0),
        ("hospital", "infectious", NAN, "box", 19.0),
        ("crowded_venue", "mall", NAN, "box", 0.0),
        ("crowded_venue", "wholesale", NAN, "box", 2.0),
        ("hazardous_storage", "", NAN, "point", 45.0),
        ("waste_transfer", "", NAN, "box", 49.0),
        ("geohazard", "", NAN, "box", -1),
        ("landfill", "", NAN, "box", 499.0),
        ("wastewater_plant", "", NAN, "box", 299.0),
    ]
    n = len(parcels)
    rows = []
    for j, (cls, sub, kv, shape, gap) in enumerate(items):
        far = cls in ("landfill", "wastewater_plant")
        poly = parcels.geometry.iloc[n - 1 if far else (j * 7 + 3) % n]
        xy = shapely.get_coordinates(poly.exterior)
        x, y = xy[np.argmax(xy[:, 0])]
        if gap < 0:  # through the parcel
            p = poly.representative_point()
            geom = {
                "line": LineString([(p.x - 3, p.y - 3), (p.x + 3, p.y + 3)]),
                "box": p.buffer(4, quad_segs=2),
            }[shape]
        else:
            geom = {
                "point": Point(x + gap, y),
                "line": LineString([(x + gap, y - 30), (x + gap, y + 30)]),
                "box": box(x + gap, y - 10, x + gap + 20, y + 10),
            }[shape]
        rows.append({"hazard_class": cls, "subtypes": sub, "osm_id": -j - 1, "name": None,
                     "voltage_kv": kv, "geometry": geom})  # fmt: skip
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=parcels.crs)


def test_every_rule_on_real_parcels_with_features_of_every_class(karhula, rulebook):
    """Real Karhula parcels and hazards plus features of every class at known gaps."""
    parcels, hazards = karhula
    extra = _synthetic_around(parcels)
    both = pd.concat([hazards, extra], ignore_index=True)
    both = gpd.GeoDataFrame(both, geometry="geometry", crs=hazards.crs)
    got = apply_constraints(parcels, both, rulebook)
    exp = _check_against_brute(parcels, both, got)
    _check_compliance(parcels, got, exp, rulebook)
    failing = {i for ids in got["excluded_by"] for i in ids.split(";") if i}
    assert set(HARD_IDS) <= failing, set(HARD_IDS) - failing
    assert failing <= set(HARD_IDS)
    for s in SPECS:
        if s.soft is not None:
            assert (got[f"penalty_{s.id.lower().replace('-', '_')}"] > 0).any(), s.id
    assert got["eligible"].sum() > 0


def test_karhula_eligible_parcels_clear_of_fuel_and_power(karhula, rulebook):
    parcels, hazards = karhula
    got = apply_constraints(parcels, hazards, rulebook)
    ok = parcels[got["eligible"].to_numpy()]
    fuel = hazards[hazards["hazard_class"] == "fuel_station"].geometry
    power = hazards[hazards["hazard_class"] == "power_line"].geometry
    for poly in ok.geometry:
        assert all(poly.distance(f) >= 50.0 for f in fuel)
        assert not any(poly.intersects(line) for line in power)


def test_karhula_distance_columns(karhula, rulebook):
    parcels, hazards = karhula
    got = apply_constraints(parcels, hazards, rulebook)
    # fuel stations are screened out to the GAS-10 soft band (100 m): exact within it
    geoms = hazards[hazards["hazard_class"] == "fuel_station"].geometry
    nearest = np.array([min(p.distance(g) for g in geoms) for p in parcels.geometry])
    near = nearest <= 100.0
    assert near.any()
    assert (~near).any()
    np.testing.assert_allclose(got["dist_fuel_station_m"][near], nearest[near], atol=1e-6)
    assert np.isinf(got["dist_fuel_station_m"][~near]).all()
    for cls in ("pipeline", "power_cable", "landfill", "geohazard"):  # none in Karhula
        assert np.isinf(got[f"dist_{cls}_m"]).all()
    assert np.isinf(got["margin_pipe_10_m"]).all()
    assert (got["penalty_pipe_10"] == 0).all()


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
    assert sorted(got["subtypes"].unique()) == ["gas", "unknown"]


def test_helsinki_eligible_parcels_clear_of_pipelines(helsinki, rulebook):
    parcels, hazards = helsinki
    got = apply_constraints(parcels, hazards, rulebook)
    assert got["excluded_by"].str.contains("PIPE-10").sum() >= 3
    assert got["excluded_by"].str.contains("PIPE-01").sum() >= 3
    # no eligible parcel within 50 m (PIPE-10) of a hazardous pipeline
    pipes = hazards[hazards["hazard_class"] == "pipeline"].geometry
    for poly in parcels.geometry[got["eligible"].to_numpy()]:
        assert min(poly.distance(p) for p in pipes) >= 50.0


def test_water_and_heat_pipes_do_not_exclude(helsinki_metric, helsinki, rulebook):
    parcels, hazards = helsinki
    got = apply_constraints(parcels, hazards, rulebook)
    without_pipes = apply_constraints(
        parcels, hazards[hazards["hazard_class"] != "pipeline"], rulebook
    )
    pipes = helsinki_metric["pipelines"]
    harmless = pipes[pipes["pipeline_type"].isin(["water", "heat", "cold"])].geometry
    gas = hazards[hazards["hazard_class"] == "pipeline"].geometry
    # parcels close to a water/heat pipe, clear of every gas pipe and of every other hazard
    near_harmless = np.array([min(p.distance(g) for g in harmless) < 50 for p in parcels.geometry])
    clear_gas = np.array([min(p.distance(g) for g in gas) >= 50 for p in parcels.geometry])
    subset = near_harmless & clear_gas & without_pipes["eligible"].to_numpy()
    assert subset.sum() > 0
    assert got["eligible"].to_numpy()[subset].all()


# --------------------------------------------------------------------------- thresholds


@pytest.mark.parametrize(
    ("subtypes", "gap", "excluded"),
    [
        ("petrol", 49.9, "GAS-03;GAS-10"),
        ("petrol", 50.1, ""),
        ("petrol", 50.0, ""),  # fail only when distance < dist_m
        ("", 49.9, "GAS-10"),  # a station of unknown fuel: GAS-10 alone
        ("", 50.1, ""),
    ],
)
def test_fuel_station_threshold(subtypes, gap, excluded):
    row = _one([("fuel_station", Point(100 + gap, 50), NAN, subtypes)])
    assert row["excluded_by"] == excluded
    assert bool(row["eligible"]) is (excluded == "")
    assert row["dist_gas_10_m"] == pytest.approx(gap, abs=1e-9)
    assert row["margin_gas_10_m"] == pytest.approx(gap - 50.0, abs=1e-9)
    # inside the 100 m soft band, eligible or not: 1 - d / 100
    assert row["penalty_gas_10"] == pytest.approx(1.0 - gap / 100.0, abs=1e-12)


def test_fuel_station_soft_band_ends_at_100_m():
    assert _one([("fuel_station", Point(200, 50), NAN, "petrol")])["penalty_gas_10"] == 0.0
    assert _one([("fuel_station", Point(250, 50), NAN, "petrol")])["penalty_gas_10"] == 0.0


@pytest.mark.parametrize(("gap", "excluded"), [(99.0, "GAS-06"), (101.0, ""), (49.0, None)])
def test_lpg_station_threshold(gap, excluded):
    row = _one([("fuel_station", Point(100 + gap, 50), NAN, "petrol;lpg")])
    if excluded is None:  # inside 50 m every rule naming petrol or any station fails too
        assert row["excluded_by"] == "GAS-03;GAS-06;GAS-10"
    else:
        assert row["excluded_by"] == excluded
    # exact within the fuel-station screening radius (100 m), inf beyond it
    assert row["margin_gas_06_m"] == (pytest.approx(gap - 100.0) if gap <= 100 else math.inf)
    assert row["penalty_gas_10"] == pytest.approx(max(0.0, 1.0 - gap / 100.0))


@pytest.mark.parametrize(
    ("subtypes", "rule", "metres"),
    [("petrol;cng", "GAS-07", 50.0), ("petrol;lng", "GAS-08", 80.0),
     ("petrol;hydrogen", "GAS-09", 100.0)],
)  # fmt: skip
def test_gas_station_thresholds(subtypes, rule, metres):
    inside = _one([("fuel_station", Point(100 + metres - 0.1, 50), NAN, subtypes)])
    assert rule in inside["excluded_by"].split(";")
    outside = _one([("fuel_station", Point(100 + metres + 0.1, 50), NAN, subtypes)])
    assert outside["excluded_by"] == ""


@pytest.mark.parametrize(
    ("kv", "setback", "also"),
    [
        (0.4, 1.0, ""),  # below 1 kV: PWR-09's first row only (PWR-01 has min_kv 1)
        (10.0, 5.0, "PWR-01;"),  # PWR-01 5 m = PWR-09 5 m
        (10.5, 10.0, "PWR-01;"),  # PWR-01 10 m = PWR-09 10 m
        (110.0, 12.5, ""),  # PWR-01 10 m < 12.4 m
        (750.0, 37.5, ""),
        (1200.0, 37.5, ""),  # above the table: the last row
    ],
)
def test_power_line_setback_by_voltage(kv, setback, also):
    def line_at(gap):
        return LineString([(100 + gap, -50), (100 + gap, 150)])

    at = _one([("power_line", line_at(setback), kv)])
    assert at["excluded_by"] == ""
    assert at["margin_pwr_09_m"] == pytest.approx(0.0, abs=1e-9)
    inside = _one([("power_line", line_at(setback - 0.1), kv)])
    assert inside["excluded_by"] == f"{also}PWR-09"


def test_pwr09_margin_uses_each_lines_own_setback():
    """A 10 kV line 8 m away (5 m setback) and a 110 kV line 500 m away (12.5 m)."""
    row = _one(
        [
            ("power_line", LineString([(108, -50), (108, 150)]), 10.0),
            ("power_line", LineString([(600, -50), (600, 150)]), 110.0),
        ]
    )
    assert row["margin_pwr_09_m"] == pytest.approx(8.0 - 5.0)
    assert row["eligible"]


def test_pwr09_margin_is_the_smallest_over_all_lines():
    """10 kV line 12 m east (5 m setback, margin 7), 110 kV line 13 m west (12.5 m, 0.5)."""
    row = _one(
        [
            ("power_line", LineString([(112, -50), (112, 150)]), 10.0),
            ("power_line", LineString([(-13, -50), (-13, 150)]), 110.0),
        ]
    )
    assert row["excluded_by"] == ""
    assert row["margin_pwr_09_m"] == pytest.approx(0.5)


def test_line_crossing_a_parcel_far_from_its_vertices():
    """A long thin parcel crossed in the middle: 500 m from every vertex of the parcel."""
    thin = box(0, 0, 1000, 10)
    line = LineString([(500, -100), (500, 110)])
    assert min(Point(xy).distance(line) for xy in thin.exterior.coords) == 500.0
    hv = _one([("power_line", line, 110.0)], thin)
    assert hv["excluded_by"] == "SITE-01;PWR-01;PWR-09"
    assert hv["dist_site_01_m"] == 0.0
    pipe = _one([("pipeline", line, NAN, "gas")], thin)
    assert pipe["excluded_by"] == "SITE-01;PIPE-01;PIPE-10"
    # 0.4 kV is below SITE-01's min_kv (1 kV) and PWR-01's; PWR-09's first row (≤ 1 kV:
    # 1 m, from PWR-02) still applies, so the crossing low-voltage line excludes by PWR-09
    lv = _one([("power_line", line, 0.4)], thin)
    assert lv["excluded_by"] == "PWR-09"
    assert "SITE-01" not in lv["excluded_by"].split(";")
    assert np.isinf(lv["dist_site_01_m"])
    near = _one([("power_line", LineString([(1000.9, -100), (1000.9, 110)]), 0.4)], thin)
    assert near["excluded_by"] == "PWR-09"
    assert near["margin_pwr_09_m"] == pytest.approx(-0.1)
    beside = _one([("power_line", LineString([(1001.5, -100), (1001.5, 110)]), 0.4)], thin)
    assert beside["excluded_by"] == ""
    assert beside["margin_pwr_09_m"] > 0  # inf: beyond the 1 m screening radius


def test_crossing_cable_is_not_site_01():
    crossing = LineString([(-10, 50), (110, 50)])
    # an underground cable is not a crossing-ban hazard: only its own 0.75 m zone applies
    row = _one([("power_cable", crossing, 10.0)])
    assert row["excluded_by"] == "PWR-04"
    assert np.isinf(row["dist_site_01_m"])


def test_pipeline_subtypes():
    crossing = LineString([(-10, 50), (110, 50)])
    for sub in ("gas", "oil", "unknown"):
        assert _one([("pipeline", crossing, NAN, sub)])["excluded_by"] == (
            "SITE-01;PIPE-01;PIPE-10"
        )
    # a pipeline of another subtype still may not cross (SITE-01 names no subtypes)
    assert _one([("pipeline", crossing, NAN, "")])["excluded_by"] == "SITE-01"
    # exact: a pipeline 0.1 mm outside does not cross, one touching the boundary does
    beside = LineString([(100.0001, -10), (100.0001, 110)])
    assert _one([("pipeline", beside, NAN, "")])["excluded_by"] == ""
    touching = LineString([(100, -10), (100, 110)])
    assert _one([("pipeline", touching, NAN, "")])["excluded_by"] == "SITE-01"


def test_multipolygon_parcel_distance_to_nearest_part():
    parts = MultiPolygon([box(0, 0, 10, 10), box(500, 0, 510, 10)])
    station = ("fuel_station", Point(530, 5), NAN, "petrol")
    row = _one([station], parts)
    assert row["dist_fuel_station_m"] == pytest.approx(20.0)
    assert row["dist_gas_10_m"] == pytest.approx(20.0)
    assert row["excluded_by"] == "GAS-03;GAS-10"
    far = _one([("fuel_station", Point(580, 5), NAN, "petrol")], parts)
    assert far["dist_gas_10_m"] == pytest.approx(70.0)
    assert far["excluded_by"] == ""
    # a line crossing only the far part still crosses the parcel
    cross = _one([("power_line", LineString([(505, -50), (505, 60)]), 110.0)], parts)
    assert "SITE-01" in cross["excluded_by"].split(";")


# --------------------------------------------------------------------------- adjacency, soft


@pytest.mark.parametrize(
    ("cls", "sub", "rule"), [("crowded_venue", "mall", "SITE-04"),
                             ("hospital", "general", "POL-02")]
)  # fmt: skip
def test_adjacent_rules(cls, sub, rule):
    key = rule.lower().replace("-", "_")
    touching = _one([(cls, box(100, 0, 200, 100), NAN, sub)])
    assert touching["excluded_by"] == rule
    assert touching[f"dist_{key}_m"] == 0.0
    corner = _one([(cls, box(100, 100, 200, 200), NAN, sub)])  # one shared point
    assert corner["excluded_by"] == rule
    overlap = _one([(cls, Point(50, 50), NAN, sub)])
    assert overlap["excluded_by"] == rule
    apart = _one([(cls, box(101, 0, 200, 100), NAN, sub)])
    assert apart["excluded_by"] == ""
    assert bool(apart["eligible"]) is True
    if rule == "SITE-04":  # penalised within its 50 m soft band
        assert apart["penalty_site_04"] == pytest.approx(1.0 - 1.0 / 50.0)
        assert touching["penalty_site_04"] == 1.0
        assert _one([(cls, Point(160, 50), NAN, sub)])["penalty_site_04"] == 0.0
    else:
        assert "penalty_pol_02" not in apart.index


def test_hospital_subtypes_choose_the_rule():
    touching = box(100, 0, 200, 100)
    assert _one([("hospital", touching, NAN, "infectious")])["excluded_by"] == "POL-01"
    row = _one([("hospital", box(119, 0, 200, 100), NAN, "infectious")])
    assert row["excluded_by"] == "POL-01"
    row = _one([("hospital", box(121, 0, 200, 100), NAN, "infectious")])
    assert row["excluded_by"] == ""
    assert row["penalty_pol_01"] == pytest.approx(1.0 - 21.0 / 50.0)


@pytest.mark.parametrize(
    ("cls", "rule", "band"), [("industrial", "POL-06", 100.0), ("substation", "PWR-08", 50.0)]
)
def test_soft_only_rules_never_exclude(cls, rule, band):
    key = rule.lower().replace("-", "_")
    for geom, dist in [
        (box(20, 20, 300, 300), 0.0),  # overlapping
        (Point(50, 50), 0.0),  # inside
        (box(100 + band / 2, 0, 400, 100), band / 2),
        (Point(100 + band + 1, 50), band + 1),
    ]:
        row = _one([(cls, geom, NAN)])
        assert row["excluded_by"] == ""
        assert bool(row["eligible"]) is True
        assert row[f"penalty_{key}"] == pytest.approx(max(0.0, 1.0 - dist / band))


# --------------------------------------------------------------------------- results


def test_excluded_by_lists_every_failing_rule_in_rulebook_order(rulebook):
    parcels = _parcels(SQUARE, box(1000, 0, 1100, 100))
    hazards = _hazards(
        [
            ("power_line", LineString([(50, -10), (50, 110)]), 110.0),
            ("fuel_station", Point(120, 50), NAN, "petrol"),
            ("crowded_venue", box(0, 100, 50, 150), NAN, "mall"),
        ]
    )
    got = apply_constraints(parcels, hazards, rulebook)
    assert list(got["excluded_by"]) == ["SITE-01;SITE-04;GAS-03;GAS-10;PWR-01;PWR-09", ""]
    assert list(got["eligible"]) == [False, True]


def test_no_hazards_means_infinite_margins_and_eligible(rulebook):
    parcels = _parcels(SQUARE, box(500, 500, 600, 650))
    got = apply_constraints(parcels, _no_hazards(), rulebook)
    margins = [c for c in got.columns if c.startswith("margin_")]
    assert len(margins) == sum(s.kind != "no_cross" for s in SPECS)
    assert np.isinf(got[margins].to_numpy()).all()
    assert (got[margins] > 0).all().all()
    assert got["eligible"].all()
    assert (got["excluded_by"] == "").all()
    penalties = [c for c in got.columns if c.startswith("penalty_")]
    assert len(penalties) == sum(s.soft is not None for s in SPECS)
    assert (got[penalties] == 0).all().all()
    assert np.isinf(got["dist_site_01_m"]).all()


def test_output_aligned_to_parcel_index(rulebook):
    parcels = _parcels(box(1000, 0, 1100, 100), SQUARE).set_index(pd.Index([7, 3]))
    got = apply_constraints(
        parcels, _hazards([("fuel_station", Point(120, 50), NAN, "petrol")]), rulebook
    )
    assert list(got.index) == [7, 3]
    assert list(got["eligible"]) == [True, False]


def test_thresholds_pick_rows_of_the_table(rulebook):
    hazards = _hazards(
        [
            ("power_line", LineString([(0, 0), (1, 0)]), 10.0),
            ("power_line", LineString([(0, 0), (1, 0)]), 220.0),
            ("fuel_station", Point(0, 0), NAN),
        ]
    )
    got = thresholds(rulebook.rule("PWR-09"), hazards)
    np.testing.assert_array_equal(got[:2], [5.0, 20.0])
    assert np.isnan(got[2])


def test_compliance_table_synthetic(rulebook):
    parcels = _parcels(SQUARE, box(1000, 0, 1100, 100))
    hazards = _hazards(
        [("fuel_station", Point(149.9, 50), NAN, "petrol"), ("industrial", Point(1150, 50), NAN)]
    )
    got = apply_constraints(parcels, hazards, rulebook)
    table = compliance_table(got, parcels["parcel_id"], rulebook).set_index(
        ["parcel_id", "rule_id"]
    )
    assert table.loc[("P0", "GAS-10"), "result"] == "fail"
    assert table.loc[("P0", "GAS-10"), "measured_m"] == pytest.approx(49.9)
    assert table.loc[("P0", "GAS-03"), "result"] == "fail"
    assert table.loc[("P0", "GAS-06"), "result"] == "no feature"
    assert table.loc[("P1", "GAS-10"), "result"] == "no feature"
    assert table.loc[("P1", "POL-06"), "result"] == "penalty"
    assert table.loc[("P1", "POL-06"), "penalty"] == pytest.approx(0.5)
    assert table.loc[("P0", "POL-06"), "result"] == "no feature"
    assert table.loc[("P0", "GAS-10"), "clause"] == rulebook.rule("GAS-10").clause
    assert table.loc[("P0", "GAS-10"), "confidence"] == "toolkit choice"


# --------------------------------------------------------------------------- setback zones


def _union_of_buffers(hazards: gpd.GeoDataFrame, spec: Spec):
    keep = [
        (g, _limit(spec, kv))
        for c, st, kv, g in zip(
            hazards["hazard_class"],
            hazards["subtypes"],
            hazards["voltage_kv"],
            hazards.geometry,
            strict=True,
        )
        if _applies(spec, c, st, kv)
    ]
    # quad_segs=64: close to the exact setback zone
    return len(keep), shapely.union_all([g.buffer(d, quad_segs=64) for g, d in keep if d > 0])


@pytest.mark.parametrize("study", ["karhula", "helsinki"])
def test_setback_zones_are_union_of_buffers(request, rulebook, study):
    _, hazards = request.getfixturevalue(study)
    zones = setback_zones(hazards, rulebook)
    expected_rules = [
        s.id
        for s in SPECS
        if s.kind == "setback" and s.hard and _union_of_buffers(hazards, s)[1].area > 0
    ]
    assert list(zones["rule_id"]) == expected_rules
    assert len(expected_rules) >= 3
    assert zones.crs == hazards.crs
    for _, row in zones.iterrows():
        spec = SPEC[row["rule_id"]]
        assert row["hazard_class"] == ";".join(sorted(spec.classes))
        n, expected = _union_of_buffers(hazards, spec)
        assert row["n_features"] == n
        # polygonal buffers approximate the round ends: allow 1 % area, 0.5 m outline
        assert row.geometry.area == pytest.approx(expected.area, rel=1e-2)
        assert row.geometry.symmetric_difference(expected).area < 1e-2 * expected.area
        assert row.geometry.hausdorff_distance(expected) < 0.5


def test_no_hazards_from_empty_osm_layers(rulebook):
    from siting.sources import LAYER_COLUMNS

    empty = {
        name: gpd.GeoDataFrame(
            {c: pd.Series(dtype=object) for c in cols}, geometry=gpd.GeoSeries([], crs=CRS)
        )
        for name, cols in LAYER_COLUMNS.items()
    }
    hazards = hazards_from_layers(empty)
    assert len(hazards) == 0
    got = apply_constraints(_parcels(SQUARE), hazards, rulebook)
    assert got["eligible"].all()
    assert len(setback_zones(hazards, rulebook)) == 0


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


def test_buildable_area(rulebook):
    station = Point(0, 0)
    half = box(40, -5, 60, 5)  # the 50 m circle cuts it near x = 50
    clear = box(1000, 1000, 1100, 1100)
    parcels = _parcels(half, clear)
    hazards = _hazards([("fuel_station", station, NAN, "petrol")])
    got = apply_constraints(parcels, hazards, rulebook)
    assert list(got["eligible"]) == [False, True]
    area = buildable_area(parcels, setback_zones(hazards, rulebook))
    assert list(area.index) == list(parcels.index)
    assert area.iloc[1] == pytest.approx(clear.area, rel=1e-12)  # eligible: the whole area
    true_rest = half.difference(station.buffer(50.0, quad_segs=4096)).area
    assert 0.4 < true_rest / half.area < 0.6
    assert area.iloc[0] == pytest.approx(true_rest, rel=5e-3)


def test_buildable_area_of_eligible_real_parcels(karhula, rulebook):
    parcels, hazards = karhula
    got = apply_constraints(parcels, hazards, rulebook)
    area = buildable_area(parcels, setback_zones(hazards, rulebook))
    ok = got["eligible"].to_numpy()
    np.testing.assert_allclose(area[ok], parcels.area[ok], rtol=1e-9)
    assert (area <= parcels.area + 1e-6).all()
    assert (area[~ok] < parcels.area[~ok]).any()


def test_buildable_area_per_feature_buffers(karhula, rulebook):
    """Per-feature buffers: the dissolved zones' areas (rounding aside), and a parcel's area
    depends only on the hazards near it, to the bit (what a partition of the study holds)."""
    parcels, hazards = karhula
    buffers = setback_buffers(hazards, rulebook)
    zones = setback_zones(hazards, rulebook).set_index("rule_id")
    assert buffers.groupby("rule_id").size().to_dict() == zones["n_features"].to_dict()
    by_buffers = buildable_area(parcels, buffers)
    by_zones = buildable_area(parcels, setback_zones(hazards, rulebook))
    np.testing.assert_allclose(by_buffers, by_zones, rtol=1e-9, atol=1e-6)
    cut = by_buffers < parcels.area - 1e-6
    assert cut.sum() >= 3
    # the parcels cut, with only the hazards within 500 m of them (the largest setback
    # is smaller), in the study's order
    some = parcels.iloc[cut.to_numpy()]
    near = np.unique(hazards.sindex.query(some.geometry.to_numpy(), "dwithin", distance=500.0)[1])
    assert len(near) < len(hazards)
    subset = buildable_area(some, setback_buffers(hazards.iloc[near], rulebook))
    np.testing.assert_array_equal(subset.to_numpy(), by_buffers[cut].to_numpy())


# --------------------------------------------------------------------------- user rule files


def _overlay(tmp_path: Path, text: str, name: str = "local.toml") -> siting.Rulebook:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return overlay_rulebook(default_rulebook(), path)


def test_overlay_changes_a_value(tmp_path):
    station = ("fuel_station", Point(155, 50), NAN, "")  # 55 m from SQUARE
    assert _one([station])["excluded_by"] == ""
    book = _overlay(tmp_path, '[[rules]]\nid = "GAS-10"\ndist_m = 60\n')
    row = _one([station], rulebook=book)
    assert row["excluded_by"] == "GAS-10"
    assert row["margin_gas_10_m"] == pytest.approx(-5.0)
    # the keys not given are kept
    gas = book.rule("GAS-10")
    base = default_rulebook().rule("GAS-10")
    assert (gas.soft_dist_m, gas.weight, gas.source, gas.clause) == (
        base.soft_dist_m, base.weight, base.source, base.clause,
    )  # fmt: skip
    assert default_rulebook().rule("GAS-10").dist_m == 50.0


def test_overlay_adds_a_local_rule(tmp_path):
    book = _overlay(
        tmp_path,
        '[[rules]]\nid = "LOCAL-01"\nkind = "setback"\nhazard_class = "hospital"\n'
        'dist_m = 100\nzh = "医院 100 米"\nen = "100 m from hospitals"\nsource = "local"\n'
        'clause = "1"\nconfidence = "toolkit choice"\n',
    )
    assert [r.id for r in book.rules][-1] == "LOCAL-01"
    assert len(book.rules) == len(default_rulebook().rules) + 1
    row = _one([("hospital", box(180, 0, 200, 100), NAN, "general")], rulebook=book)
    assert row["excluded_by"] == "LOCAL-01"
    assert row["margin_local_01_m"] == pytest.approx(-20.0)
    assert _one([("hospital", box(180, 0, 200, 100), NAN, "general")])["excluded_by"] == ""


def test_overlay_switches_a_rule_off(tmp_path):
    book = _overlay(tmp_path, '[[rules]]\nid = "GAS-10"\nenabled = false\n')
    assert "GAS-10" not in [r.id for r in book.active_rules]
    assert book.rule("GAS-10").enabled is False
    row = _one([("fuel_station", Point(110, 50), NAN, "")], rulebook=book)
    assert row["excluded_by"] == ""
    assert "penalty_gas_10" not in row.index
    row = _one([("fuel_station", Point(110, 50), NAN, "petrol")], rulebook=book)
    assert row["excluded_by"] == "GAS-03"
    # never in excluded_by, whatever the data
    parcels = _parcels(*[box(x, 0, x + 10, 10) for x in range(0, 200, 20)])
    got = apply_constraints(
        parcels, _hazards([("fuel_station", Point(95, 5), NAN, "petrol;lpg")]), book
    )
    assert not got["excluded_by"].str.contains("GAS-10").any()
    assert got["excluded_by"].str.contains("GAS-06").all()
    assert [r.id for r in default_rulebook().active_rules] == [s.id for s in SPECS]


def test_overlay_changes_a_parameter(tmp_path):
    book = _overlay(tmp_path, "[parameters.walk_m]\nvalue = 500\n")
    assert book.param("walk_m") == 500.0
    assert book.parameters["walk_m"].id == "CIRC-03"
    assert book.param("under3_share") == default_rulebook().param("under3_share")
    assert default_rulebook().param("walk_m") == 300.0
    assert book.rules == default_rulebook().rules


# --------------------------------------------------------------------------- bad input


def test_geographic_parcels_or_hazards_rejected(karhula, rulebook):
    parcels, hazards = karhula
    with pytest.raises(siting.CRSError, match=r"degrees.*to_crs") as info:
        apply_constraints(parcels.to_crs("EPSG:4326"), hazards, rulebook)
    assert "parcels" in str(info.value)
    assert "EPSG:4326" in str(info.value)
    with pytest.raises(siting.CRSError, match=r"hazards.*to_crs"):
        apply_constraints(parcels, hazards.to_crs("EPSG:4326"), rulebook)
    with pytest.raises(siting.CRSError, match="to_crs"):
        apply_constraints(parcels.to_crs("EPSG:4326"), hazards.to_crs("EPSG:4326"), rulebook)
    with pytest.raises(siting.CRSError, match="to_crs"):
        setback_zones(hazards.to_crs("EPSG:4326"), rulebook)


def test_mismatched_crs_rejected(karhula, rulebook):
    parcels, hazards = karhula
    with pytest.raises(siting.CRSError, match="to_crs"):
        apply_constraints(parcels, hazards.to_crs("EPSG:3067"), rulebook)


def test_parcels_without_crs_rejected(rulebook):
    parcels = gpd.GeoDataFrame({"parcel_id": ["P0"]}, geometry=[SQUARE])
    with pytest.raises(siting.CRSError):
        apply_constraints(parcels, _no_hazards(), rulebook)


@pytest.mark.parametrize("column", ["voltage_kv", "subtypes", "hazard_class"])
def test_hazards_missing_columns_rejected(rulebook, column):
    hazards = _hazards([("fuel_station", Point(0, 0), NAN)]).drop(columns=column)
    with pytest.raises(siting.InputDataError, match=column):
        apply_constraints(_parcels(SQUARE), hazards, rulebook)


def test_inputs_not_mutated(karhula, rulebook):
    parcels, hazards = karhula
    p_before, h_before = parcels.copy(), hazards.copy()
    got = apply_constraints(parcels, hazards, rulebook)
    compliance_table(got, parcels["parcel_id"], rulebook)
    buildable_area(parcels, setback_zones(hazards, rulebook))
    pd.testing.assert_frame_equal(parcels, p_before)
    pd.testing.assert_frame_equal(hazards, h_before)
    assert parcels.index.equals(p_before.index)
    assert hazards.index.equals(h_before.index)


def test_rule_key():
    assert rule_key(default_rulebook().rule("GAS-10")) == "gas_10"


def test_clearance_is_exact_up_to_the_cap_on_karhula(karhula_metric) -> None:
    """B0040-type case: a parcel 13 m from a 10 kV line must not get the full mark."""
    from siting.constraints import clearance
    from siting.hazards import hazards_from_layers
    from siting.parcels import parcels_from_blocks
    from siting.rulebook import default_rulebook

    parcels = parcels_from_blocks(karhula_metric["landuse"], karhula_metric["roads"])
    hz = hazards_from_layers(karhula_metric)
    got = clearance(parcels, hz, default_rulebook(), cap=200.0)
    # independent: binding setbacks by hand (fuel 50 m; PWR-09 by voltage: 110 kV 12.5, 10 kV 5)
    expected = np.full(len(parcels), 200.0)
    for _, h in hz.iterrows():
        if h["hazard_class"] == "fuel_station":
            s = 50.0
        elif h["hazard_class"] == "power_line":
            s = 12.5 if h["voltage_kv"] > 35 else 5.0
        else:
            continue  # industrial land: soft band only, never binding
        d = shapely.distance(parcels.geometry.to_numpy(), h.geometry)
        expected = np.minimum(expected, d - s)
    np.testing.assert_allclose(got.to_numpy(), expected, atol=1e-9)
    assert ((got > 0) & (got < 20)).any()  # finite clearances beyond the screening radius
