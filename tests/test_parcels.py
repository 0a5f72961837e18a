"""Tests for :mod:`siting.parcels`: street blocks from OSM and user parcels."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from geopandas.testing import assert_geodataframe_equal
from shapely.geometry import Point, Polygon, box

from siting import ConfigError, CRSError, InputDataError
from siting.parcels import (
    INPUT_PREFIX,
    ROAD_HALF_WIDTH_M,
    check_parcels_in_extent,
    parcels_from_blocks,
    prepare_parcels,
)

CANDIDATES = ("residential", "mixed", "commercial", "retail")


@pytest.fixture(scope="module")
def karhula_inputs(
    karhula_metric: dict[str, gpd.GeoDataFrame],
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    return karhula_metric["landuse"].copy(), karhula_metric["roads"].copy()


@pytest.fixture(scope="module")
def karhula_blocks(
    karhula_inputs: tuple[gpd.GeoDataFrame, gpd.GeoDataFrame],
) -> gpd.GeoDataFrame:
    landuse, roads = karhula_inputs
    return parcels_from_blocks(landuse.copy(), roads.copy())


def _half_widths(roads: gpd.GeoDataFrame) -> np.ndarray:
    return roads["highway"].map(ROAD_HALF_WIDTH_M).fillna(4.0).to_numpy()


def test_documented_half_widths() -> None:
    assert ROAD_HALF_WIDTH_M["motorway"] == 15.0
    assert ROAD_HALF_WIDTH_M["residential"] == 4.0


def test_blocks_basic_shape(
    karhula_blocks: gpd.GeoDataFrame, karhula_metric: dict[str, gpd.GeoDataFrame]
) -> None:
    blocks = karhula_blocks
    assert len(blocks) > 10
    assert list(blocks.columns) == ["parcel_id", "landuse", "geometry", "parcel_source"]
    assert blocks.crs == karhula_metric["landuse"].crs
    assert (blocks.geom_type == "Polygon").all()
    assert blocks.is_valid.all()
    assert (blocks.area >= 500.0).all()
    assert (blocks["parcel_source"] == "street_block").all()
    assert set(blocks["landuse"]) <= set(CANDIDATES)
    assert "residential" in set(blocks["landuse"])


def test_parcel_ids_sequential_and_west_to_east(karhula_blocks: gpd.GeoDataFrame) -> None:
    ids = karhula_blocks["parcel_id"].tolist()
    assert ids == [f"B{i:04d}" for i in range(1, len(ids) + 1)]
    assert karhula_blocks["parcel_id"].is_unique
    x = np.round(karhula_blocks.geometry.representative_point().x.to_numpy())
    assert (np.diff(x) >= 0).all()


def test_blocks_inside_candidate_landuse(
    karhula_blocks: gpd.GeoDataFrame, karhula_metric: dict[str, gpd.GeoDataFrame]
) -> None:
    landuse = karhula_metric["landuse"]
    for cls, group in karhula_blocks.groupby("landuse"):
        source = landuse[landuse["landuse"] == cls]
        area = shapely.union_all(shapely.make_valid(source.geometry.to_numpy()))
        allowed = area.buffer(1e-6)
        outside = [
            pid
            for pid, geom in zip(group["parcel_id"], group.geometry, strict=True)
            if not allowed.covers(geom)
        ]
        assert not outside, f"{cls} parcels outside {cls} land use: {outside}"


def test_blocks_keep_clear_of_road_corridors_approximately(
    karhula_blocks: gpd.GeoDataFrame, karhula_metric: dict[str, gpd.GeoDataFrame]
) -> None:
    # Corridors are polygonal buffers: at bends the polygon's chords cut slightly inside the
    # round join. Allow 1 % of the half-width for that, no more (a missing corridor gives 0 m,
    # and a coarse quad_segs=4 buffer intruded 3.7 %).
    roads = karhula_metric["roads"]
    half = _half_widths(roads)
    dist = shapely.distance(
        karhula_blocks.geometry.to_numpy()[:, None], roads.geometry.to_numpy()[None, :]
    )
    assert (dist >= 0.99 * half[None, :]).all()
    assert not shapely.intersects(
        karhula_blocks.geometry.to_numpy()[:, None], roads.geometry.to_numpy()[None, :]
    ).any()


def test_blocks_keep_full_half_width_from_roads(
    karhula_blocks: gpd.GeoDataFrame, karhula_metric: dict[str, gpd.GeoDataFrame]
) -> None:
    roads = karhula_metric["roads"]
    half = _half_widths(roads)
    dist = shapely.distance(
        karhula_blocks.geometry.to_numpy()[:, None], roads.geometry.to_numpy()[None, :]
    )
    # The corridor is a polygon with 16 segments per quarter circle: its round joins lie
    # within 2 cm of the nominal half-width (itself an assumption by road class).
    short = dist < half[None, :] - 0.02
    assert not short.any(), f"{int(short.sum())} parcel/road pairs closer than the half-width"


def test_min_area_filter(
    karhula_blocks: gpd.GeoDataFrame,
    karhula_inputs: tuple[gpd.GeoDataFrame, gpd.GeoDataFrame],
) -> None:
    landuse, roads = karhula_inputs
    big = parcels_from_blocks(landuse, roads, min_area_m2=5000.0)
    assert (big.area >= 5000.0).all()
    expected = karhula_blocks[karhula_blocks.area >= 5000.0]
    assert 0 < len(big) < len(karhula_blocks)
    assert len(big) == len(expected)
    assert sorted(np.round(big.area, 3)) == sorted(np.round(expected.area, 3))
    everything = parcels_from_blocks(landuse, roads, min_area_m2=0.0)
    assert len(everything) > len(karhula_blocks)
    assert (everything.area < 500.0).any()


def test_min_area_too_large(karhula_inputs: tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]) -> None:
    landuse, roads = karhula_inputs
    with pytest.raises(InputDataError, match="no street block"):
        parcels_from_blocks(landuse, roads, min_area_m2=1e9)


def test_other_classes(karhula_inputs: tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]) -> None:
    landuse, roads = karhula_inputs
    industrial = parcels_from_blocks(landuse, roads, classes=("industrial",))
    assert len(industrial) > 0
    assert (industrial["landuse"] == "industrial").all()


def test_no_candidate_landuse(karhula_inputs: tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]) -> None:
    landuse, roads = karhula_inputs
    not_candidate = landuse[~landuse["landuse"].isin(CANDIDATES)]
    assert len(not_candidate) > 0
    with pytest.raises(InputDataError, match="no land use of classes"):
        parcels_from_blocks(not_candidate, roads)


@pytest.mark.parametrize("which", ["landuse", "roads"])
def test_geographic_crs_rejected(
    which: str,
    karhula_inputs: tuple[gpd.GeoDataFrame, gpd.GeoDataFrame],
    karhula_layers: dict[str, gpd.GeoDataFrame],
) -> None:
    landuse, roads = karhula_inputs
    if which == "landuse":
        landuse = karhula_layers["landuse"]
    else:
        roads = karhula_layers["roads"]
    assert karhula_layers[which].crs.is_geographic
    with pytest.raises(CRSError, match=rf"{which} is in EPSG:4326"):
        parcels_from_blocks(landuse, roads)


def test_no_crs_rejected(karhula_inputs: tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]) -> None:
    landuse, roads = karhula_inputs
    bare = gpd.GeoDataFrame(landuse.drop(columns="geometry"), geometry=list(landuse.geometry))
    assert bare.crs is None
    with pytest.raises(CRSError, match="no CRS"):
        parcels_from_blocks(bare, roads)


def test_blocks_do_not_mutate_inputs(
    karhula_inputs: tuple[gpd.GeoDataFrame, gpd.GeoDataFrame],
    karhula_metric: dict[str, gpd.GeoDataFrame],
) -> None:
    landuse, roads = karhula_inputs
    parcels_from_blocks(landuse, roads)
    assert_geodataframe_equal(landuse, karhula_metric["landuse"])
    assert_geodataframe_equal(roads, karhula_metric["roads"])


def test_synthetic_block_split_by_road() -> None:
    crs = "EPSG:32651"
    landuse = gpd.GeoDataFrame(
        {"landuse": ["residential", "industrial"]},
        geometry=[box(0, 0, 100, 100), box(200, 0, 300, 100)],
        crs=crs,
    )
    roads = gpd.GeoDataFrame(
        {"highway": ["primary"]},
        geometry=[shapely.LineString([(50, -50), (50, 150)])],
        crs=crs,
    )
    blocks = parcels_from_blocks(landuse, roads)
    # a 10 m half-width primary road splits the 100 x 100 block into two 40 x 100 halves
    assert blocks["parcel_id"].tolist() == ["B0001", "B0002"]
    assert blocks.area.tolist() == pytest.approx([4000.0, 4000.0])
    assert blocks.geometry.iloc[0].bounds == pytest.approx((0, 0, 40, 100))
    assert blocks.geometry.iloc[1].bounds == pytest.approx((60, 0, 100, 100))


# --- prepare_parcels -----------------------------------------------------------------


@pytest.fixture
def user_parcels() -> gpd.GeoDataFrame:
    # two 100 m squares near Fuxin, drawn in UTM 51N and delivered in lon/lat
    squares = [box(500000, 4650000, 500100, 4650100), box(500300, 4650000, 500400, 4650100)]
    return gpd.GeoDataFrame({"parcel_id": ["a", "b"]}, geometry=squares, crs="EPSG:32651").to_crs(
        "EPSG:4326"
    )


def test_prepare_parcels_reprojects_and_measures(user_parcels: gpd.GeoDataFrame) -> None:
    out = prepare_parcels(user_parcels, "EPSG:32651")
    assert out.crs.to_epsg() == 32651
    assert out["area_m2"].tolist() == pytest.approx([10000.0, 10000.0], rel=1e-9)
    assert out["parcel_id"].tolist() == ["a", "b"]


def test_prepare_parcels_does_not_mutate(user_parcels: gpd.GeoDataFrame) -> None:
    before = user_parcels.copy(deep=True)
    prepare_parcels(user_parcels, "EPSG:32651")
    assert "area_m2" not in user_parcels.columns
    assert_geodataframe_equal(user_parcels, before)


def test_prepare_parcels_same_crs_does_not_mutate() -> None:
    parcels = gpd.GeoDataFrame(
        {"parcel_id": ["x"]},
        geometry=[Polygon([(0, 0), (30, 0), (30, 20), (0, 20)])],
        crs="EPSG:32651",
    )
    before = parcels.copy(deep=True)
    out = prepare_parcels(parcels, parcels.crs)
    assert out["area_m2"].tolist() == [600.0]
    assert "area_m2" not in parcels.columns
    assert_geodataframe_equal(parcels, before)


def test_overlapping_landuse_gives_disjoint_parcels() -> None:
    crs = "EPSG:32651"
    landuse = gpd.GeoDataFrame(
        {"landuse": ["commercial", "residential"]},
        geometry=[box(0, 0, 100, 100), box(50, 0, 150, 100)],
        crs=crs,
    )
    roads = gpd.GeoDataFrame({"highway": []}, geometry=gpd.GeoSeries([], crs=crs), crs=crs)
    blocks = parcels_from_blocks(landuse, roads)
    assert len(blocks) == 2
    a, b = blocks.geometry
    assert a.intersection(b).area == pytest.approx(0.0)
    # residential comes first in the default class order, so it keeps the overlap
    res = blocks[blocks["landuse"] == "residential"].geometry.iloc[0]
    assert res.area == pytest.approx(10_000.0)


# --- prepare_parcels: the same checks as read_parcels ------------------------------------


SQ = box(500000, 4650000, 500100, 4650100)
SQ2 = box(500300, 4650000, 500400, 4650100)


def _user(**columns: object) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"parcel_id": ["a", "b"], **columns}, geometry=[SQ, SQ2], crs="EPSG:32651"
    )


def test_prepare_parcels_empty() -> None:
    empty = gpd.GeoDataFrame({"parcel_id": []}, geometry=gpd.GeoSeries([], crs=32651), crs=32651)
    with pytest.raises(InputDataError, match="parcels has no features"):
        prepare_parcels(empty, "EPSG:32651")


def test_prepare_parcels_without_geometry() -> None:
    with pytest.raises(InputDataError, match="parcels has no geometry column; "):
        prepare_parcels(pd.DataFrame({"parcel_id": ["a"]}), "EPSG:32651")  # type: ignore[arg-type]


def test_prepare_parcels_without_parcel_id() -> None:
    frame = _user().rename(columns={"parcel_id": "code"})
    with pytest.raises(InputDataError, match="parcels has no column 'parcel_id'") as info:
        prepare_parcels(frame, "EPSG:32651")
    assert "'code'" in str(info.value)


def test_prepare_parcels_duplicate_ids() -> None:
    frame = _user()
    frame["parcel_id"] = ["x", "x"]
    with pytest.raises(InputDataError, match=r"not unique \(e.g. 'x'\)"):
        prepare_parcels(frame, "EPSG:32651")


def test_prepare_parcels_missing_ids() -> None:
    frame = _user()
    frame["parcel_id"] = ["x", None]
    with pytest.raises(InputDataError, match="1 parcel\\(s\\) in parcels have no 'parcel_id'"):
        prepare_parcels(frame, "EPSG:32651")


@pytest.mark.parametrize("geom", [None, Polygon()], ids=["missing", "empty"])
def test_prepare_parcels_missing_geometry(geom: Polygon | None) -> None:
    frame = gpd.GeoDataFrame({"parcel_id": ["a", "b"]}, geometry=[SQ, geom], crs=32651)
    with pytest.raises(InputDataError, match=r"1 parcel\(s\) in parcels have no geometry"):
        prepare_parcels(frame, "EPSG:32651")


def test_prepare_parcels_points() -> None:
    frame = gpd.GeoDataFrame({"parcel_id": ["a"]}, geometry=[Point(500000, 4650000)], crs=32651)
    with pytest.raises(InputDataError, match=r"must be polygons, found \['Point'\]"):
        prepare_parcels(frame, "EPSG:32651")


def test_prepare_parcels_no_crs() -> None:
    frame = gpd.GeoDataFrame({"parcel_id": ["a"]}, geometry=[SQ])
    with pytest.raises(CRSError, match=r"parcels has no CRS; .*set_crs"):
        prepare_parcels(frame, "EPSG:32651")


def test_prepare_parcels_repairs_bowtie_without_mutating() -> None:
    bowtie = Polygon([(0, 0), (10, 10), (10, 0), (0, 10)])
    frame = gpd.GeoDataFrame({"parcel_id": ["a"]}, geometry=[bowtie], crs=32651)
    before = frame.copy(deep=True)
    out = prepare_parcels(frame, "EPSG:32651")
    assert out.is_valid.all()
    assert out["area_m2"].tolist() == pytest.approx([50.0])
    assert_geodataframe_equal(frame, before)


def test_prepare_parcels_ids_as_text() -> None:
    frame = _user()
    frame["parcel_id"] = [1.0, 2.0]
    assert prepare_parcels(frame, "EPSG:32651")["parcel_id"].tolist() == ["1", "2"]


def test_read_parcels_and_prepare_parcels_share_messages(tmp_path: Path) -> None:
    from siting.readers import read_parcels

    frame = gpd.GeoDataFrame({"parcel_id": ["x", "x"]}, geometry=[SQ, SQ2], crs=32651)
    path = tmp_path / "p.gpkg"
    frame.to_file(path)
    with pytest.raises(InputDataError) as from_file:
        read_parcels(path)
    with pytest.raises(InputDataError) as from_frame:
        prepare_parcels(frame, "EPSG:32651")
    assert str(from_file.value) == str(from_frame.value).replace(
        "in parcels", f"in parcel file {path}"
    )


OUTPUT_LIKE = [
    "score", "rank", "eligible", "selected", "capacity_slots", "walk_under3", "excluded_by",
    "dist_main_road_m", "margin_gas_10", "penalty_x", "contrib_y", "norm_z", "area_m2",
    "landuse",
]  # fmt: skip


def test_prepare_parcels_prefixes_user_columns() -> None:
    frame = _user(**{c: [1, 2] for c in OUTPUT_LIKE})
    out = prepare_parcels(frame, "EPSG:32651")
    assert list(out.columns) == [
        "parcel_id",
        *(f"{INPUT_PREFIX}{c}" for c in OUTPUT_LIKE),
        "geometry",
        "area_m2",
    ]
    assert INPUT_PREFIX == "in_"
    assert out["in_score"].tolist() == [1, 2]
    assert out["area_m2"].tolist() == pytest.approx([10000.0, 10000.0])  # measured, not user's
    assert list(frame.columns) == ["parcel_id", *OUTPUT_LIKE, "geometry"]  # input unchanged


def test_prepare_parcels_renames_other_geometry_column() -> None:
    frame = _user(name=["n1", "n2"]).rename_geometry("geom")
    out = prepare_parcels(frame, "EPSG:32651")
    assert list(out.columns) == ["parcel_id", "in_name", "geometry", "area_m2"]
    assert out.geometry.name == "geometry"


def test_user_columns_do_not_collide_in_a_study(
    karhula_blocks: gpd.GeoDataFrame, karhula_layers: dict[str, gpd.GeoDataFrame]
) -> None:
    from siting.study import run_study

    user = karhula_blocks.head(8)[["parcel_id", "geometry"]].copy()
    for col in OUTPUT_LIKE:
        user[col] = 0
    res = run_study(karhula_layers, parcels_gdf=user, k=2)
    cand = res.candidates
    assert cand["parcel_id"].tolist() == user["parcel_id"].tolist()
    assert (cand["in_score"] == 0).all()
    assert cand["rank"].notna().any()


# --- check_parcels_in_extent -------------------------------------------------------------


EXTENT = (0.0, 0.0, 10_000.0, 10_000.0)


def _parcels_at(*corners: tuple[float, float]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"parcel_id": [f"p{i}" for i in range(len(corners))]},
        geometry=[box(x, y, x + 100, y + 100) for x, y in corners],
        crs="EPSG:32651",
        index=[10 + i for i in range(len(corners))],
    )


def test_extent_flags_parcels_near_the_edge() -> None:
    parcels = _parcels_at((5000, 5000), (300, 5000), (9850, 9850), (9950, 5000), (20000, 0))
    near = check_parcels_in_extent(parcels, EXTENT, edge_m=500.0)
    assert near.name == "near_extract_edge"
    assert near.dtype == bool
    assert near.index.tolist() == parcels.index.tolist()
    # centre; 300 m from the west edge; 50 m from the NE corner; crossing; outside
    assert near.tolist() == [False, True, True, True, True]


def test_extent_accepts_geometry_and_layers() -> None:
    parcels = _parcels_at((5000, 5000), (300, 5000))
    expected = [False, True]
    assert check_parcels_in_extent(parcels, box(*EXTENT), edge_m=500).tolist() == expected
    streets = gpd.GeoDataFrame(
        geometry=[shapely.LineString([(0, 0), (10_000, 10_000)])], crs="EPSG:32651"
    )
    assert check_parcels_in_extent(parcels, streets, edge_m=500).tolist() == expected
    # a layer in lon/lat is reprojected to the parcels' CRS first
    lonlat = streets.to_crs(4326)
    got = check_parcels_in_extent(parcels, lonlat, edge_m=500)
    assert got.tolist() == expected


def test_extent_edge_zero_and_tiny_extent() -> None:
    parcels = _parcels_at((5000, 5000), (9950, 5000))
    assert check_parcels_in_extent(parcels, EXTENT, edge_m=0).tolist() == [False, True]
    small = (4900.0, 4900.0, 5300.0, 5300.0)  # narrower than two 500 m bands
    assert check_parcels_in_extent(parcels, small, edge_m=500).tolist() == [True, True]


def test_extent_no_parcel_inside_raises() -> None:
    # parcels drawn in UTM 51N (Fuxin) against an extract in Finland (UTM 35N numbers)
    parcels = _parcels_at((500000, 4650000), (500300, 4650000))
    finland = gpd.GeoDataFrame(
        geometry=[shapely.Point(26.9, 60.4), shapely.Point(27.0, 60.5)], crs=4326
    )
    with pytest.raises(InputDataError, match="the parcels are in lon ") as info:
        check_parcels_in_extent(parcels, finland, edge_m=100)
    msg = str(info.value)
    # the extract's box, drawn in the parcels' CRS and shown in degrees
    assert "the OSM extract covers lon 26.8" in msg
    assert "lat 60.4000..60.5000" in msg
    assert "the parcels are in lon 123.0000..123.0048, lat 42.0" in msg  # in degrees
    assert "check the parcels' CRS" in msg


def test_extent_bad_arguments() -> None:
    parcels = _parcels_at((5000, 5000))
    with pytest.raises(ConfigError, match="edge_m"):
        check_parcels_in_extent(parcels, EXTENT, edge_m=-1)
    with pytest.raises(ConfigError, match="extent must be"):
        check_parcels_in_extent(parcels, "0,0,1,1", edge_m=1)
    with pytest.raises(CRSError, match="degrees"):
        check_parcels_in_extent(parcels.to_crs(4326), EXTENT, edge_m=1)
