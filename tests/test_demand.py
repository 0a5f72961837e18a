"""Tests for :mod:`siting.demand`: residents and under-3 children from buildings."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from geopandas.testing import assert_geodataframe_equal
from shapely.geometry import box

from siting import ConfigError, CRSError, InputDataError
from siting.demand import demand_from_buildings

SHARE = 0.012
# Storeys documented for untagged buildings (siting.demand.DEFAULT_LEVELS and the fallback).
DOCUMENTED_LEVELS = {"house": 2.0, "apartments": 5.0, "terrace": 2.0, "residential": 3.0}


@pytest.fixture(scope="module")
def inputs(
    karhula_metric: dict[str, gpd.GeoDataFrame],
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    return karhula_metric["buildings"].copy(), karhula_metric["landuse"].copy()


@pytest.fixture(scope="module")
def demand(inputs: tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]) -> gpd.GeoDataFrame:
    buildings, landuse = inputs
    return demand_from_buildings(buildings.copy(), landuse.copy(), under3_share=SHARE)


@pytest.fixture(scope="module")
def residential_area(inputs: tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]) -> shapely.Geometry:
    _, landuse = inputs
    res = landuse[landuse["landuse"] == "residential"]
    return shapely.union_all(shapely.make_valid(res.geometry.to_numpy()))


def _row(demand: gpd.GeoDataFrame, building_id: int) -> pd.Series:
    rows = demand[demand["building_id"] == building_id]
    assert len(rows) == 1, f"building {building_id} appears {len(rows)} times"
    return rows.iloc[0]


def test_output_shape(demand: gpd.GeoDataFrame, inputs: tuple[gpd.GeoDataFrame, ...]) -> None:
    buildings, _ = inputs
    assert list(demand.columns) == [
        "building_id",
        "floor_area_m2",
        "residents",
        "under3",
        "estimate",
        "geometry",
    ]
    assert demand.crs == buildings.crs
    assert demand.index.equals(pd.RangeIndex(len(demand)))
    assert demand["building_id"].is_unique
    assert (demand.geom_type == "Point").all()
    assert 0 < len(demand) < len(buildings)
    # Karhula has a few degenerate (zero-area) footprints: they count, with 0 residents
    assert (demand["residents"] >= 0).all()
    assert (demand["residents"] > 0).mean() > 0.99


def test_points_lie_in_their_buildings(
    demand: gpd.GeoDataFrame, inputs: tuple[gpd.GeoDataFrame, ...]
) -> None:
    buildings, _ = inputs
    footprints = buildings.set_index("id").geometry
    polys = footprints.loc[demand["building_id"]].to_numpy()
    assert shapely.intersects(polys, demand.geometry.to_numpy()).all()


@pytest.mark.parametrize(
    ("kind", "tagged"),
    [("terrace", True), ("house", False), ("apartments", False), ("residential", False)],
)
def test_residents_from_floor_area(
    demand: gpd.GeoDataFrame, inputs: tuple[gpd.GeoDataFrame, ...], kind: str, tagged: bool
) -> None:
    buildings, _ = inputs
    subset = buildings[
        (buildings["building"] == kind) & (buildings["levels"].notna() == tagged)
    ].head(3)
    assert len(subset) > 0
    for _, building in subset.iterrows():
        levels = float(building["levels"]) if tagged else DOCUMENTED_LEVELS[kind]
        floor = building.geometry.area * levels
        row = _row(demand, building["id"])
        assert row["floor_area_m2"] == pytest.approx(floor, rel=1e-9)
        assert row["residents"] == pytest.approx(floor / 40.0, rel=1e-9)
        assert row["under3"] == pytest.approx(floor / 40.0 * SHARE, rel=1e-9)
        assert "estimate" in row["estimate"]
        assert ("storeys tagged" in row["estimate"]) is tagged


def test_generic_building_inside_vs_outside_residential_landuse(
    demand: gpd.GeoDataFrame,
    inputs: tuple[gpd.GeoDataFrame, ...],
    residential_area: shapely.Geometry,
) -> None:
    buildings, _ = inputs
    generic = buildings[buildings["building"] == "yes"]
    inside = generic[generic.within(residential_area)]
    outside = generic[generic.disjoint(residential_area)]
    assert len(inside) > 100
    assert len(outside) > 100
    ids = set(demand["building_id"])
    assert set(inside["id"]) <= ids
    assert not set(outside["id"]) & ids
    one = inside.iloc[0]
    assert _row(demand, one["id"])["residents"] == pytest.approx(one.geometry.area * 3.0 / 40.0)


def test_dwelling_types_count_anywhere_and_others_never(
    demand: gpd.GeoDataFrame,
    inputs: tuple[gpd.GeoDataFrame, ...],
    residential_area: shapely.Geometry,
) -> None:
    buildings, _ = inputs
    ids = set(demand["building_id"])
    dwellings = buildings[buildings["building"].isin(["residential", "terrace", "house"])]
    assert set(dwellings["id"]) <= ids
    assert dwellings.disjoint(residential_area).any()  # some stand outside residential land
    non_res = buildings[buildings["building"].isin(["industrial", "public", "retail", "school"])]
    assert len(non_res) > 0
    assert not set(non_res["id"]) & ids


def test_under3_is_share_of_residents(demand: gpd.GeoDataFrame) -> None:
    np.testing.assert_allclose(demand["under3"], demand["residents"] * SHARE, rtol=1e-12)
    assert demand["estimate"].str.contains("estimate").all()


def test_total_population_rescales(
    demand: gpd.GeoDataFrame, inputs: tuple[gpd.GeoDataFrame, ...]
) -> None:
    buildings, landuse = inputs
    scaled = demand_from_buildings(buildings, landuse, under3_share=0.02, total_population=12345)
    assert scaled["residents"].sum() == pytest.approx(12345.0, rel=1e-9)
    assert scaled["under3"].sum() == pytest.approx(12345.0 * 0.02, rel=1e-9)
    assert scaled["building_id"].tolist() == demand["building_id"].tolist()
    # split in proportion to floor area
    np.testing.assert_allclose(
        scaled["residents"], demand["floor_area_m2"] / demand["floor_area_m2"].sum() * 12345
    )
    assert scaled["estimate"].str.contains("12,345").all()
    assert scaled["estimate"].str.contains("estimate").all()


def test_floor_area_per_resident_option(
    demand: gpd.GeoDataFrame, inputs: tuple[gpd.GeoDataFrame, ...]
) -> None:
    buildings, landuse = inputs
    roomy = demand_from_buildings(buildings, landuse, under3_share=SHARE, floor_m2_per_resident=80)
    np.testing.assert_allclose(roomy["residents"], demand["residents"] / 2.0, rtol=1e-12)
    assert roomy["estimate"].str.contains("80 m²").all()


def test_inputs_not_mutated(
    inputs: tuple[gpd.GeoDataFrame, ...], karhula_metric: dict[str, gpd.GeoDataFrame]
) -> None:
    buildings, landuse = inputs
    demand_from_buildings(buildings, landuse, under3_share=SHARE, total_population=1000)
    assert_geodataframe_equal(buildings, karhula_metric["buildings"])
    assert_geodataframe_equal(landuse, karhula_metric["landuse"])


# --- synthetic buildings: exact numbers ----------------------------------------------


def _town() -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    crs = "EPSG:32651"
    buildings = gpd.GeoDataFrame(
        {
            "id": [1, 2, 3, 4, 5, 6, 7],
            "building": ["apartments", "apartments", "house", "yes", "yes", "industrial", None],
            "levels": ["4", "0", None, None, "2", None, "abc"],
        },
        geometry=[
            box(0, 0, 10, 10),  # 100 m2 x 4 tagged storeys
            box(20, 0, 30, 10),  # levels 0 -> default 5 storeys
            box(40, 0, 50, 10),  # house -> 2 storeys
            box(60, 0, 70, 10),  # generic, inside residential land -> 3 storeys
            box(500, 0, 510, 10),  # generic, outside residential land -> excluded
            box(80, 0, 90, 10),  # industrial -> excluded
            box(0, 20, 10, 30),  # no building value -> treated as generic, inside
        ],
        crs=crs,
    )
    landuse = gpd.GeoDataFrame(
        {"landuse": ["residential", "industrial"]},
        geometry=[box(-5, -5, 95, 35), box(495, -5, 515, 15)],
        crs=crs,
    )
    return buildings, landuse


def test_synthetic_exact_numbers() -> None:
    buildings, landuse = _town()
    out = demand_from_buildings(buildings, landuse, under3_share=0.01).set_index("building_id")
    assert sorted(out.index) == [1, 2, 3, 4, 7]
    expected_floor = {1: 400.0, 2: 500.0, 3: 200.0, 4: 300.0, 7: 300.0}
    for bid, floor in expected_floor.items():
        assert out.loc[bid, "floor_area_m2"] == pytest.approx(floor)
        assert out.loc[bid, "residents"] == pytest.approx(floor / 40.0)
        assert out.loc[bid, "under3"] == pytest.approx(floor / 40.0 * 0.01)
    assert "storeys tagged" in out.loc[1, "estimate"]
    assert "storeys assumed" in out.loc[2, "estimate"]


def test_no_residential_landuse_means_only_dwelling_types() -> None:
    buildings, landuse = _town()
    industrial_only = landuse[landuse["landuse"] != "residential"]
    out = demand_from_buildings(buildings, industrial_only, under3_share=0.01)
    assert sorted(out["building_id"]) == [1, 2, 3]


# --- errors --------------------------------------------------------------------------


@pytest.mark.parametrize("share", [1.5, -0.1, math.nan])
def test_bad_share(share: float) -> None:
    buildings, landuse = _town()
    with pytest.raises(ConfigError, match="under3_share"):
        demand_from_buildings(buildings, landuse, under3_share=share)


@pytest.mark.parametrize("per_resident", [0.0, -40.0])
def test_bad_floor_area_per_resident(per_resident: float) -> None:
    buildings, landuse = _town()
    with pytest.raises(ConfigError, match="floor_m2_per_resident must be positive"):
        demand_from_buildings(
            buildings, landuse, under3_share=0.01, floor_m2_per_resident=per_resident
        )


@pytest.mark.parametrize(
    "options",
    [
        pytest.param({"floor_m2_per_resident": math.nan}, id="nan-area-per-resident"),
        pytest.param({"total_population": -5000.0}, id="negative-population"),
    ],
)
def test_nonsense_options_rejected(options: dict[str, float]) -> None:
    buildings, landuse = _town()
    with pytest.raises(ConfigError):
        demand_from_buildings(buildings, landuse, under3_share=0.01, **options)


def test_no_residential_buildings(inputs: tuple[gpd.GeoDataFrame, ...]) -> None:
    buildings, landuse = inputs
    industrial = buildings[buildings["building"] == "industrial"]
    assert len(industrial) > 0
    with pytest.raises(InputDataError, match="no residential buildings"):
        demand_from_buildings(industrial, landuse, under3_share=SHARE)


def test_geographic_crs_rejected(karhula_layers: dict[str, gpd.GeoDataFrame]) -> None:
    with pytest.raises(CRSError, match="EPSG:4326"):
        demand_from_buildings(
            karhula_layers["buildings"], karhula_layers["landuse"], under3_share=SHARE
        )


def test_mismatched_crs_rejected(
    inputs: tuple[gpd.GeoDataFrame, ...], karhula_layers: dict[str, gpd.GeoDataFrame]
) -> None:
    buildings, _ = inputs
    with pytest.raises(CRSError, match="landuse is in EPSG:4326"):
        demand_from_buildings(buildings, karhula_layers["landuse"], under3_share=SHARE)


def test_missing_levels_column() -> None:
    buildings, landuse = _town()
    with pytest.raises(InputDataError, match=r"lacks column\(s\) \['levels'\]"):
        demand_from_buildings(buildings.drop(columns="levels"), landuse, under3_share=0.01)


# --- demand_from_raster -----------------------------------------------------------------


def _raster_over(layers: dict, tmp_path, *, cell: float = 100.0):
    import rasterio
    from rasterio.transform import from_origin

    from siting.population import read_population_raster

    left, bottom, right, top = layers["buildings"].total_bounds
    cols, rows = int((right - left) // cell) + 3, int((top - bottom) // cell) + 3
    rng = np.random.default_rng(7)
    values = rng.uniform(0, 40, size=(rows, cols)).astype("float32")
    path = tmp_path / "pop.tif"
    transform = from_origin(left - cell, top + cell, cell, cell)
    with rasterio.open(
        path, "w", driver="GTiff", height=rows, width=cols, count=1, dtype="float32",
        crs=layers["buildings"].crs.to_wkt(), transform=transform, nodata=-1,
    ) as dst:  # fmt: skip
        dst.write(values, 1)
    return read_population_raster(path), values


def test_raster_people_go_to_buildings_by_floor_area(karhula_metric, tmp_path) -> None:
    from siting.demand import demand_from_raster

    surface, values = _raster_over(karhula_metric, tmp_path)
    got = demand_from_raster(
        surface, karhula_metric["buildings"], karhula_metric["landuse"], under3_share=0.012
    )
    # nobody is lost or invented: all people of the raster are placed
    assert got["residents"].sum() == pytest.approx(float(values.astype(float).sum()), rel=1e-9)
    np.testing.assert_allclose(got["under3"], got["residents"] * 0.012)
    # independent recomputation for the buildings: cell of each point, floor-area shares
    homes = demand_from_buildings(
        karhula_metric["buildings"], karhula_metric["landuse"], under3_share=0.012
    )
    t = surface.transform
    col = np.floor((homes.geometry.x - t.c) / t.a).astype(int)
    row = np.floor((homes.geometry.y - t.f) / t.e).astype(int)
    cell = row * surface.shape[1] + col
    floor_sum = homes.groupby(cell.to_numpy())["floor_area_m2"].transform("sum")
    expected = values.ravel()[cell] * homes["floor_area_m2"] / floor_sum
    placed = got[got["building_id"] >= 0].set_index("building_id")["residents"]
    exp = pd.Series(expected.to_numpy(), index=homes["building_id"])
    exp = exp[exp > 0]
    pd.testing.assert_series_equal(
        placed.sort_index(), exp.sort_index(), check_names=False, rtol=1e-9
    )
    centres = got[got["building_id"] == -1]
    assert len(centres) > 0 and centres["estimate"].str.contains("cell centre").all()


def test_raster_demand_bad_share(karhula_metric, tmp_path) -> None:
    from siting.demand import demand_from_raster

    surface, _ = _raster_over(karhula_metric, tmp_path)
    with pytest.raises(ConfigError):
        demand_from_raster(
            surface, karhula_metric["buildings"], karhula_metric["landuse"], under3_share=2.0
        )
