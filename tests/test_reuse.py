"""Tests for siting.reuse: usable area by floors 1-3, slots, existing facilities as candidates."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from siting import CRSError, reuse

SIZES = [10, 15, 20]


def _brute(usable: float, most: int) -> int:
    """Whole classes 10, 15, 20, 10, ... that fit ``usable`` m² at 8 m² per child."""
    children, total = math.floor(usable / 8), 0
    for k in range(most):
        if total + SIZES[k % 3] > children:
            break
        total += SIZES[k % 3]
    return total


def test_floors_above_three_and_basements_do_not_count() -> None:
    foot = np.full(8, 250.0)
    floors = np.array([-1, 0, 0.5, 1, 2, 3, 4, 12])
    usable = reuse.reused_usable_m2(foot, floors)
    assert usable.tolist() == [0.0, 0.0, 0.0, 250.0, 500.0, 750.0, 750.0, 750.0]


@pytest.mark.parametrize("shared", [False, True])
def test_reused_slots_against_enumeration(shared: bool) -> None:
    rng = np.random.default_rng(9)
    foot = rng.uniform(20, 900, 400)
    floors = rng.integers(0, 8, 400).astype(float)
    got = reuse.reused_slots(foot, floors, m2_per_child=8, class_sizes=SIZES, shared=shared)
    most = 3 if shared else 10
    want = [_brute(f * min(max(n, 0), 3), most) for f, n in zip(foot, floors, strict=True)]
    assert got.tolist() == want
    assert (got[floors >= 3] == reuse.reused_slots(
        foot[floors >= 3], np.full((floors >= 3).sum(), 3.0), m2_per_child=8,
        class_sizes=SIZES, shared=shared)).all()  # fmt: skip


def test_open_ground_limits_reuse_slots() -> None:
    # 600 m² usable holds 70 children (5 classes); 200 m² of open ground holds 2 classes
    got = reuse.reused_slots(
        np.array([200.0]), np.array([3.0]), m2_per_child=8, class_sizes=SIZES, shared=False,
        open_m2=np.array([200.0]),
    )  # fmt: skip
    assert got.tolist() == [25]  # 2 classes: 2 x 60 + 2 x 25 = 170 m² <= 200


@pytest.fixture(scope="module")
def karhula(karhula_metric: dict[str, gpd.GeoDataFrame]) -> dict[str, gpd.GeoDataFrame]:
    return karhula_metric


@pytest.fixture(params=["karhula_metric", "helsinki_metric"])
def city(request: pytest.FixtureRequest) -> dict[str, gpd.GeoDataFrame]:
    return request.getfixturevalue(request.param)


def test_footprints_against_overlay(karhula) -> None:
    landuse = karhula["landuse"]
    parcels = landuse[landuse["landuse"] == "residential"][["geometry"]].reset_index(drop=True)
    fixed = shapely.make_valid(
        parcels.geometry.to_numpy(), method="structure", keep_collapsed=False
    )
    parcels = parcels.set_geometry(fixed)
    got = reuse.footprint_from_buildings(parcels, karhula["buildings"])
    b = karhula["buildings"]
    b = b[b.geom_type.isin(["Polygon", "MultiPolygon"])][["geometry"]]
    b = b.set_geometry(
        shapely.make_valid(b.geometry.to_numpy(), method="structure", keep_collapsed=False)
    )
    parts = gpd.overlay(parcels.reset_index(), b, how="intersection", keep_geom_type=True)
    want = (
        parts.assign(a=parts.area).groupby("index")["a"].sum().reindex(parcels.index, fill_value=0)
    )
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=0.01)
    assert (got > 0).sum() > 5


def test_reuse_candidates_are_the_facilities_buildings(city) -> None:
    am, b = city["amenities"], city["buildings"]
    cand = reuse.reuse_candidates(am, b)
    kinds = am[am["amenity"].isin(reuse.REUSE_AMENITIES)]
    assert 0 < len(cand) <= len(kinds)
    assert cand["parcel_id"].is_unique and (cand["parcel_source"] == "reuse").all()
    assert (cand["landuse_role"] == "co_location").all()
    for _, row in cand.iterrows():
        near = kinds[kinds.distance(row.geometry) <= 20.0]  # in the building or its yard
        assert set(row["reuse_of"].split(";")) <= set(near["amenity"])
    # every facility within 20 m of a building found one (independent: geopandas distance)
    polys = b[b.geom_type.isin(["Polygon", "MultiPolygon"])]
    reachable = sum(polys.distance(g).min() <= 20.0 for g in kinds.geometry)
    assert sum(len(r.split(";")) for r in cand["reuse_of"]) <= reachable
    # no storeys in OSM: one floor assumed and flagged
    assert cand["floors_assumed"].all() == cand["building_floors"].eq(1).all()
    np.testing.assert_allclose(cand["footprint_m2"], cand.area)
    np.testing.assert_allclose(
        cand["reuse_usable_m2"], cand.area * np.minimum(cand["building_floors"], 3)
    )


def test_reuse_candidates_floors_from_levels() -> None:
    b = gpd.GeoDataFrame(
        {"levels": ["2", "5;6", None], "building": "yes"},
        geometry=[shapely.box(0, 0, 20, 10), shapely.box(100, 0, 130, 20),
                  shapely.box(300, 0, 310, 10)],
        crs=32651,
    )  # fmt: skip
    am = gpd.GeoDataFrame(
        {"amenity": ["kindergarten", "clinic", "community_centre", "school", "clinic"],
         "name": ["阳光幼儿园", "社区卫生服务站", None, "小学", "河边诊所"]},
        geometry=[shapely.Point(5, 5), shapely.Point(110, 5), shapely.Point(115, 15),
                  shapely.Point(105, 5), shapely.Point(500, 500)],
        crs=32651,
    )  # fmt: skip
    cand = reuse.reuse_candidates(am, b)
    assert cand["reuse_of"].tolist() == ["kindergarten", "clinic;community_centre"]
    assert cand["name"].tolist() == ["阳光幼儿园", "社区卫生服务站"]
    assert cand["building_floors"].tolist() == [2.0, 6.0]
    assert cand["reuse_usable_m2"].tolist() == [400.0, 1800.0]  # 6 storeys: 3 counted
    with pytest.raises(CRSError):
        reuse.reuse_candidates(am.to_crs(4326), b)


def test_parcel_slots_mixes_bare_land_and_buildings() -> None:
    cand = pd.DataFrame({
        "reuse_usable_m2": [np.nan, 1200.0, 1200.0, np.nan],
        "landuse_role": ["suitable", "suitable", "co_location", "co_location"],
    })  # fmt: skip
    got = reuse.parcel_slots(cand, buildable_m2=np.array([1000.0, 0, 0, 200.0]),
                             m2_per_child=8, class_sizes=SIZES)  # fmt: skip
    # bare 1000 m²: 55 (play area binds); 1200 m² usable: 145 own, 45 shared; bare 200 m²: 10
    assert got.tolist() == [55, _brute(1200, 10), 45, 10]


def test_compliance_rows_of_reuse() -> None:
    cand = pd.DataFrame({
        "parcel_id": ["A", "B", "C"], "landuse_role": ["co_location", "suitable", "excluded"],
        "reuse_usable_m2": [300.0, 600.0, np.nan], "building_floors": [2.0, 5.0, np.nan],
    })  # fmt: skip
    card = reuse.compliance_rows(cand)
    five = card[card["rule_id"] == "BLDG-05"]
    assert five["parcel_id"].tolist() == ["A"] * 6  # the JGJ 39 3.2.2 conditions
    assert five["result"].tolist() == ["pass"] + ["check"] * 5
    assert (five["clause"] == "3.2.2").all()
    eight = card[card["rule_id"] == "BLDG-08"].set_index("parcel_id")["result"]
    assert eight.to_dict() == {"A": "pass", "B": "check"}
    assert set(card.loc[card["rule_id"] == "BLDG-04", "parcel_id"]) == {"A", "B"}
