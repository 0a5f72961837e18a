"""Tests for siting.parcel_shape: size, width, compactness, site slots, recorded areas."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import pytest
import shapely

from siting import ConfigError, CRSError, parcel_shape
from siting.parcels import parcels_from_blocks

SIZES = [10, 15, 20]


@pytest.fixture(scope="module")
def blocks(karhula_metric: dict[str, gpd.GeoDataFrame]) -> gpd.GeoDataFrame:
    """Karhula's street blocks with slivers cut off their edges (real boundaries)."""
    b = parcels_from_blocks(karhula_metric["landuse"].copy(), karhula_metric["roads"].copy())
    # a 3 m and a 6 m strip along each of the first blocks' boundaries: slivers
    strips = []
    for geom in b.geometry.iloc[:6]:
        for w in (3.0, 6.0):
            strips.append(shapely.difference(geom, shapely.buffer(geom, -w)))
    extra = gpd.GeoDataFrame(
        {"parcel_id": [f"S{i}" for i in range(len(strips))]}, geometry=strips, crs=b.crs
    )
    return pd.concat([b, extra], ignore_index=True)


def test_width_agrees_with_the_negative_buffer(blocks) -> None:
    """A parcel is at least w wide exactly when a -w/2 buffer leaves something."""
    checks = parcel_shape.shape_checks(blocks, min_area_m2=0.0, min_width_m=12.0)
    geoms = blocks.geometry.to_numpy()
    for w in (5.0, 8.0, 12.0, 20.0, 40.0):
        survives = ~shapely.is_empty(shapely.buffer(geoms, -w / 2, quad_segs=32))
        wide = checks["width_m"].to_numpy() >= w
        near = np.abs(checks["width_m"].to_numpy() - w) < 0.2  # within the tolerance
        assert (wide == survives)[~near].all(), w
    # ring strips: a 3 m strip is 3 m wide (at most, where corners add), never 10
    strips = blocks["parcel_id"].astype(str).str.startswith("S").to_numpy()
    assert (checks["width_m"][strips] < 10).all()
    assert not checks["shape_ok"][strips].any()
    assert (checks["shape_fail"][strips].str.contains("SIZE-WIDTH")).all()
    assert checks["shape_ok"][~strips].mean() > 0.9


def test_compactness_of_known_shapes() -> None:
    circle = shapely.Point(0, 0).buffer(50, quad_segs=256)
    frame = gpd.GeoDataFrame(
        geometry=[circle, shapely.box(0, 0, 100, 100), shapely.box(0, 0, 400, 25)], crs=32635
    )
    got = parcel_shape.shape_checks(frame, min_area_m2=0)["compactness"].to_numpy()
    np.testing.assert_allclose(got, [1.0, math.pi / 4, 4 * math.pi * 10_000 / 850**2], rtol=1e-4)


def test_min_area_fails_scraps(blocks) -> None:
    checks = parcel_shape.shape_checks(blocks, min_area_m2=5000.0, min_width_m=0.0)
    small = blocks.area.to_numpy() < 5000.0
    assert small.any() and (~small).any()
    assert (checks["shape_fail"].to_numpy()[small] == "SIZE-AREA").all()
    assert checks["shape_ok"].to_numpy()[~small].all()
    assert parcel_shape.exclusion_reasons(blocks.join(checks)).equals(checks["shape_fail"])
    assert (parcel_shape.exclusion_reasons(blocks) == "").all()


def _brute_site_slots(area: float) -> int:
    """Largest whole-class facility whose floor and play area fit, by enumeration."""
    best, children = 0, 0
    for k in range(1, 11):
        children += SIZES[(k - 1) % 3]
        floor_ok = math.floor(0.6 * area / 8) >= children
        play_ok = 0.4 * area >= 60 * k + 2 * children
        if floor_ok and play_ok:
            best = children
    return best


def test_site_slots_against_enumeration(blocks) -> None:
    areas = np.r_[blocks.area.to_numpy(), np.linspace(0, 6000, 301)]
    got = parcel_shape.site_slots(areas, m2_per_child=8, class_sizes=SIZES)
    assert got.tolist() == [_brute_site_slots(a) for a in areas]
    # the play area binds on mid-sized sites, the floor area never alone beyond it
    floor_only = np.floor(0.6 * areas / 8)
    assert (got <= floor_only).all() and (got < floor_only - 20).any()


def test_min_site_area_is_the_first_class() -> None:
    a = parcel_shape.min_site_area_m2(m2_per_child=8, class_sizes=SIZES)
    assert a == pytest.approx(200.0)
    assert parcel_shape.site_slots(np.array([a]), m2_per_child=8, class_sizes=SIZES)[0] == 10
    assert parcel_shape.site_slots(np.array([a - 0.01]), m2_per_child=8, class_sizes=SIZES)[0] == 0
    three = parcel_shape.min_site_area_m2(m2_per_child=8, class_sizes=SIZES, classes=3)
    assert _brute_site_slots(three) == 45 and _brute_site_slots(three - 0.01) < 45
    with pytest.raises(ConfigError):
        parcel_shape.min_site_area_m2(m2_per_child=8, class_sizes=SIZES, classes=0)


def test_outdoor_slots() -> None:
    got = parcel_shape.outdoor_slots(np.array([0.0, 80.0, 169.9, 170.0, 1e6]), class_sizes=SIZES)
    assert got.tolist() == [0, 10, 10, 25, 145]


# --------------------------------------------------------------------------- recorded area


@pytest.fixture(scope="module")
def gk_blocks(blocks) -> gpd.GeoDataFrame:
    """The blocks in CGCS2000 geographic coordinates, as a survey would hold them."""
    return blocks[~blocks["parcel_id"].astype(str).str.startswith("S")].to_crs(4490)


def test_recorded_area_matches_the_ellipsoid(gk_blocks) -> None:
    geod = pyproj.Geod(ellps="GRS80")
    tbmj = np.array([abs(geod.geometry_area_perimeter(g)[0]) for g in gk_blocks.geometry])
    frame = gk_blocks.assign(TBMJ=tbmj, MJ_HA=tbmj / 10_000)
    got = parcel_shape.check_recorded_area(frame, column="TBMJ")
    assert np.abs(got["area_diff"]).max() < 1e-6
    np.testing.assert_allclose(got["area_recorded_m2"], tbmj)
    got = parcel_shape.check_recorded_area(frame, column="MJ_HA", unit="ha")
    assert np.abs(got["area_diff"]).max() < 1e-6


def test_recorded_area_off_by_more_than_5_percent_warns(gk_blocks) -> None:
    geod = pyproj.Geod(ellps="GRS80")
    tbmj = np.array([abs(geod.geometry_area_perimeter(g)[0]) for g in gk_blocks.geometry])
    rec = tbmj.copy()
    rec[3] *= 1.04  # inside the tolerance
    rec[5] *= 0.90
    frame = gk_blocks.assign(TBMJ=rec)
    with pytest.warns(UserWarning, match=r"1 of \d+ parcel\(s\).*-10%") as w:
        got = parcel_shape.check_recorded_area(frame, column="TBMJ")
    assert len(w) == 1
    assert got["area_diff"].iloc[5] == pytest.approx(-0.10, abs=1e-6)
    # areas typed in 亩 under m2: the warning names the unit
    with pytest.warns(UserWarning, match=r"area_unit = 'mu'"):
        parcel_shape.check_recorded_area(frame.assign(TBMJ=tbmj / (10_000 / 15)), column="TBMJ")


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"column": "MJ"}, ConfigError, r"area = 'MJ' is not a column"),
        ({"column": "TBMJ", "unit": "acre"}, ConfigError, r"area_unit = 'acre'"),
        ({"column": "DLMC"}, ConfigError, r"holds no numbers"),
    ],
)
def test_recorded_area_bad_input(gk_blocks, kwargs, error, match) -> None:
    frame = gk_blocks.assign(TBMJ=1000.0, DLMC="旱地")
    with pytest.raises(error, match=match):
        parcel_shape.check_recorded_area(frame, **kwargs)


def test_shape_checks_bad_input(blocks) -> None:
    with pytest.raises(CRSError):
        parcel_shape.shape_checks(blocks.to_crs(4326), min_area_m2=200)
    with pytest.raises(ConfigError, match="min_width_m"):
        parcel_shape.shape_checks(blocks, min_area_m2=200, min_width_m=-1)
    with pytest.raises(ConfigError, match="min_area_m2"):
        parcel_shape.shape_checks(blocks, min_area_m2=float("nan"))


def test_compliance_rows(blocks) -> None:
    cand = blocks.join(parcel_shape.shape_checks(blocks, min_area_m2=1000, min_width_m=10))
    card = parcel_shape.compliance_rows(cand, min_area_m2=1000, min_width_m=10)
    assert set(card["rule_id"]) == {"SIZE-AREA", "SIZE-WIDTH"}
    assert len(card) == 2 * len(cand)
    width = card[card["rule_id"] == "SIZE-WIDTH"].set_index("parcel_id")
    fail = cand.set_index("parcel_id")["shape_fail"].str.contains("SIZE-WIDTH")
    assert ((width["result"] == "fail") == fail.reindex(width.index)).all()
    np.testing.assert_allclose(width["margin_m"], width["measured_m"] - 10)
    assert parcel_shape.compliance_rows(blocks, min_area_m2=1).empty
