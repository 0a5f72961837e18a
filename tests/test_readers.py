"""Tests for siting.readers: the user's own vector files, point tables and tables."""

from __future__ import annotations

import hashlib
import logging
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import prcoords
import pyogrio
import pyproj
import pytest
import shapely
from shapely.geometry import LineString, Point, Polygon, box

from siting import ConfigError, CRSError, DataSourceError, InputDataError, SitingError
from siting.crs import utm_crs_for_lonlat
from siting.datums import wgs84_to_bd09, wgs84_to_gcj02
from siting.readers import read_layer, read_parcels, read_points
from siting.sources import layers_from_gpkg

DEMO = Path(__file__).parents[1] / "data" / "demo"
GEOD = pyproj.Geod(ellps="WGS84")

# --- read_parcels --------------------------------------------------------------------


SQUARE = box(500000, 4650000, 500100, 4650100)
OTHER = box(500200, 4650000, 500300, 4650100)


def _save(tmp_path: Path, frame: gpd.GeoDataFrame, name: str = "parcels.gpkg") -> Path:
    path = tmp_path / name
    frame.to_file(path)
    return path


def test_read_parcels_default_ids(tmp_path: Path) -> None:
    path = _save(tmp_path, gpd.GeoDataFrame({"a": [1, 2]}, geometry=[SQUARE, OTHER], crs=32651))
    parcels = read_parcels(path)
    assert parcels["parcel_id"].tolist() == ["P00000", "P00001"]
    assert parcels.crs.to_epsg() == 32651
    assert parcels.area.tolist() == pytest.approx([10000.0, 10000.0])


def test_read_parcels_id_column(tmp_path: Path) -> None:
    frame = gpd.GeoDataFrame({"code": [17, 23]}, geometry=[SQUARE, OTHER], crs=32651)
    path = _save(tmp_path, frame, "parcels.geojson")
    parcels = read_parcels(path, id_column="code")
    assert parcels["parcel_id"].tolist() == ["17", "23"]


def test_read_parcels_existing_parcel_id(tmp_path: Path) -> None:
    frame = gpd.GeoDataFrame({"parcel_id": [5, 6]}, geometry=[SQUARE, OTHER], crs=32651)
    parcels = read_parcels(_save(tmp_path, frame))
    assert parcels["parcel_id"].tolist() == ["5", "6"]


def test_read_parcels_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataSourceError, match="parcel file not found"):
        read_parcels(tmp_path / "none.gpkg")


def test_read_parcels_zero_byte_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.gpkg"
    path.write_bytes(b"")
    with pytest.raises(DataSourceError, match="could not read parcels"):
        read_parcels(path)


def test_read_parcels_no_features(tmp_path: Path) -> None:
    empty = gpd.GeoDataFrame({"a": []}, geometry=gpd.GeoSeries([], crs=32651), crs=32651)
    with pytest.raises(InputDataError, match="has no features"):
        read_parcels(_save(tmp_path, empty))


def test_read_parcels_points(tmp_path: Path) -> None:
    pts = gpd.GeoDataFrame({"a": [1]}, geometry=[Point(500000, 4650000)], crs=32651)
    with pytest.raises(InputDataError, match=r"must be polygons, found \['Point'\]"):
        read_parcels(_save(tmp_path, pts))


def test_read_parcels_missing_id_column(tmp_path: Path) -> None:
    path = _save(tmp_path, gpd.GeoDataFrame({"a": [1]}, geometry=[SQUARE], crs=32651))
    with pytest.raises(InputDataError, match="has no column 'code'"):
        read_parcels(path, id_column="code")


@pytest.mark.parametrize("column", ["code", "parcel_id"])
def test_read_parcels_duplicate_ids(tmp_path: Path, column: str) -> None:
    frame = gpd.GeoDataFrame({column: ["x", "x"]}, geometry=[SQUARE, OTHER], crs=32651)
    path = _save(tmp_path, frame)
    with pytest.raises(InputDataError, match="not unique") as info:
        read_parcels(path, id_column=column if column == "code" else None)
    assert "'x'" in str(info.value)


def _save_without_crs(tmp_path: Path) -> Path:
    frame = gpd.GeoDataFrame({"a": [1]}, geometry=[SQUARE])
    assert frame.crs is None
    with warnings.catch_warnings():
        # pyogrio warns that the file will have no CRS, which is the point here
        warnings.filterwarnings("ignore", message=".*crs.*", category=UserWarning)
        return _save(tmp_path, frame)


def test_read_parcels_no_crs(tmp_path: Path) -> None:
    with pytest.raises(CRSError, match="has no CRS") as info:
        read_parcels(_save_without_crs(tmp_path))
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, SitingError)


def test_read_parcels_repairs_bowtie(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    bowtie = Polygon([(0, 0), (10, 10), (10, 0), (0, 10)])
    assert not bowtie.is_valid
    frame = gpd.GeoDataFrame({"a": [1, 2]}, geometry=[bowtie, SQUARE], crs=32651)
    with caplog.at_level(logging.WARNING, logger="siting"):
        parcels = read_parcels(_save(tmp_path, frame))
    assert parcels.is_valid.all()
    assert set(parcels.geom_type) <= {"Polygon", "MultiPolygon"}
    assert parcels.area.tolist() == pytest.approx([50.0, 10000.0])
    assert "repaired 1 invalid" in caplog.text


def test_read_parcels_repair_keeps_polygons(tmp_path: Path) -> None:
    spike = Polygon([(0, 0), (10, 0), (10, 10), (0, 10), (0, 5), (-5, 5), (0, 5), (0, 0)])
    assert not spike.is_valid
    frame = gpd.GeoDataFrame({"a": [1]}, geometry=[spike], crs=32651)
    parcels = read_parcels(_save(tmp_path, frame))
    assert set(parcels.geom_type) <= {"Polygon", "MultiPolygon"}
    assert parcels.is_valid.all()
    assert parcels.area.tolist() == pytest.approx([100.0])  # the spike has no area


def test_read_parcels_float_ids_and_missing_ids(tmp_path: Path) -> None:
    frame = gpd.GeoDataFrame({"code": [1.0, 2.0]}, geometry=[SQUARE, OTHER], crs=32651)
    assert read_parcels(_save(tmp_path, frame), id_column="code")["parcel_id"].tolist() == [
        "1",
        "2",
    ]
    frame = gpd.GeoDataFrame({"code": [1.0, None]}, geometry=[SQUARE, OTHER], crs=32651)
    with pytest.raises(InputDataError, match="have no 'code'"):
        read_parcels(_save(tmp_path, frame, "missing.gpkg"), id_column="code")


def test_read_parcels_null_geometry(tmp_path: Path) -> None:
    frame = gpd.GeoDataFrame({"a": [1, 2]}, geometry=[SQUARE, None], crs=32651)
    with pytest.raises(InputDataError, match="no geometry"):
        read_parcels(_save(tmp_path, frame))


# --- files and tables without geometry -----------------------------------------------


def _csv(tmp_path: Path) -> Path:
    path = tmp_path / "parcels.csv"
    path.write_text("parcel_id,area\na,100\nb,200\n", encoding="utf-8")
    return path


def test_read_parcels_csv_has_no_geometry(tmp_path: Path) -> None:
    path = _csv(tmp_path)
    with pytest.raises(InputDataError, match="has no geometry column; ") as info:
        read_parcels(path)
    assert str(path) in str(info.value)
    assert "parcel_id" in str(info.value)


def test_read_layer_csv_has_no_geometry(tmp_path: Path) -> None:
    path = _csv(tmp_path)
    with pytest.raises(InputDataError, match=r"districts file .* has no geometry column; "):
        read_layer(path, what="districts")


def test_read_layer_gpkg_attribute_table_has_no_geometry(tmp_path: Path) -> None:
    path = tmp_path / "table.gpkg"
    pyogrio.write_dataframe(pd.DataFrame({"a": [1, 2]}), path, layer="t")
    with pytest.raises(InputDataError, match="has no geometry column"):
        read_layer(path)
    with pytest.raises(InputDataError, match="has no geometry column"):
        read_parcels(path)


def test_read_layer_reads_a_layer(tmp_path: Path) -> None:
    frame = gpd.GeoDataFrame({"a": [1]}, geometry=[SQUARE], crs=32651)
    layer = read_layer(_save(tmp_path, frame))
    assert len(layer) == 1 and layer.crs.to_epsg() == 32651


def test_read_parcels_missing_parcel_ids(tmp_path: Path) -> None:
    frame = gpd.GeoDataFrame({"parcel_id": ["a", None]}, geometry=[SQUARE, OTHER], crs=32651)
    with pytest.raises(InputDataError, match="have no 'parcel_id'"):
        read_parcels(_save(tmp_path, frame))


# --- Shapefile text encodings ------------------------------------------------------------

NAMES = ["中石化加油站", "阜新市托育中心", "幼儿园"]
KINDS = ["加油站", "托育", "教育"]


def _digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def _chinese_shapefile(
    tmp_path: Path, *, encoding: str = "gbk", cpg: str | None = "keep", name: str = "sites"
) -> Path:
    """Three points at Fuxin with Chinese field names and values, written in ``encoding``."""
    frame = gpd.GeoDataFrame(
        {"名称": NAMES, "类型": KINDS, "code": [1, 2, 3]},
        geometry=[Point(121.67, 42.02), Point(121.68, 42.03), Point(121.69, 42.01)],
        crs=4490,
    )
    path = tmp_path / f"{name}.shp"
    pyogrio.write_dataframe(frame, path, encoding=encoding)
    if cpg is None:
        path.with_suffix(".cpg").unlink()
    elif cpg != "keep":
        path.with_suffix(".cpg").write_text(cpg, encoding="ascii")
    return path


def test_gbk_shapefile_with_cpg(tmp_path: Path) -> None:
    path = _chinese_shapefile(tmp_path)
    assert path.with_suffix(".cpg").read_text() == "GBK"
    raw = path.with_suffix(".dbf").read_bytes()
    assert "中石化加油站".encode("gbk") in raw  # really GBK bytes on disk
    before = _digests(tmp_path)
    layer = read_layer(path, what="fuel stations")
    assert list(layer.columns[:3]) == ["名称", "类型", "code"]
    assert layer["名称"].tolist() == NAMES and layer["类型"].tolist() == KINDS
    assert layer.crs.to_epsg() == 4490
    assert _digests(tmp_path) == before


def test_gbk_shapefile_without_cpg_is_read_as_gb18030_with_a_warning(tmp_path: Path) -> None:
    path = _chinese_shapefile(tmp_path, cpg=None)
    # What GDAL alone does with it: ISO-8859-1 mojibake, the failure this guards against.
    assert pyogrio.read_dataframe(path)["code"].tolist() == [1, 2, 3]
    assert "名称" not in pyogrio.read_dataframe(path).columns
    before = _digests(tmp_path)
    with pytest.warns(UserWarning, match=r"has no \.cpg file .* read as GB18030") as info:
        layer = read_layer(path, what="fuel stations")
    assert info[0].filename == __file__
    assert "sites.cpg containing GBK" in str(info[0].message)
    assert layer["名称"].tolist() == NAMES
    assert _digests(tmp_path) == before  # no .cpg written for the user


def test_gbk_shapefile_without_cpg_with_encoding_option(tmp_path: Path) -> None:
    path = _chinese_shapefile(tmp_path, cpg=None)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        layer = read_layer(path, encoding="GBK")
    assert layer["名称"].tolist() == NAMES


def test_cpg_contradicting_the_text(tmp_path: Path) -> None:
    path = _chinese_shapefile(tmp_path, cpg="UTF-8")
    with pytest.raises(
        DataSourceError,
        match=r"not UTF-8 as sites\.cpg \('UTF-8'\) says .*give encoding = \"GB18030\"",
    ):
        read_layer(path, what="fuel stations")
    assert read_layer(path, encoding="gb18030")["名称"].tolist() == NAMES  # option wins


def test_encoding_option_contradicting_the_text(tmp_path: Path) -> None:
    path = _chinese_shapefile(tmp_path)
    with pytest.raises(
        DataSourceError, match=r"not UTF-8 as encoding='utf8' says \(a field name holds bytes"
    ):
        read_layer(path, encoding="utf8")


def test_utf8_shapefile_without_cpg(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = _chinese_shapefile(tmp_path, encoding="utf-8", cpg=None)
    with caplog.at_level(logging.INFO, logger="siting"), warnings.catch_warnings():
        warnings.simplefilter("error")
        layer = read_layer(path)
    assert layer["名称"].tolist() == NAMES
    assert "valid UTF-8" in caplog.text


def test_gb18030_text_under_a_gbk_cpg(tmp_path: Path) -> None:
    # U+4DAE exists in GB18030 but not GBK; files labelled GBK often hold such characters.
    frame = gpd.GeoDataFrame(
        {"名称": ["䶮", "加油站"]}, geometry=[Point(0, 0), Point(1, 1)], crs=4326
    )
    path = tmp_path / "rare.shp"
    pyogrio.write_dataframe(frame, path, encoding="gb18030")
    path.with_suffix(".cpg").write_text("GBK")
    assert read_layer(path)["名称"].tolist() == ["䶮", "加油站"]


def test_dbf_language_byte_gbk(tmp_path: Path) -> None:
    path = _chinese_shapefile(tmp_path, cpg=None)
    dbf = path.with_suffix(".dbf")
    data = bytearray(dbf.read_bytes())
    data[29] = 0x4D  # language driver: Chinese GBK (PRC), as ArcGIS writes it
    dbf.write_bytes(bytes(data))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert read_layer(path)["名称"].tolist() == NAMES


def test_ascii_shapefile_without_cpg(tmp_path: Path) -> None:
    frame = gpd.GeoDataFrame({"name": ["a", "b"]}, geometry=[Point(0, 0), Point(1, 1)], crs=4326)
    path = tmp_path / "ascii.shp"
    pyogrio.write_dataframe(frame, path)
    path.with_suffix(".cpg").unlink(missing_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert read_layer(path)["name"].tolist() == ["a", "b"]


def test_text_neither_utf8_nor_gb18030(tmp_path: Path) -> None:
    frame = gpd.GeoDataFrame({"name": ["zz", "b"]}, geometry=[Point(0, 0), Point(1, 1)], crs=4326)
    path = tmp_path / "latin.shp"
    pyogrio.write_dataframe(frame, path)
    path.with_suffix(".cpg").unlink(missing_ok=True)
    dbf = path.with_suffix(".dbf")
    dbf.write_bytes(dbf.read_bytes().replace(b"zz", b"\xff\xff"))  # "ÿÿ" in Latin-1
    with pytest.raises(DataSourceError, match="neither UTF-8 nor GB18030"):
        read_layer(path)
    assert read_layer(path, encoding="latin-1")["name"].tolist() == ["ÿÿ", "b"]


def test_bad_encoding_options(tmp_path: Path) -> None:
    path = _chinese_shapefile(tmp_path)
    with pytest.raises(ConfigError, match="'klingon', which Python does not know"):
        read_layer(path, encoding="klingon")
    path.with_suffix(".cpg").write_text("MARS-1")
    with pytest.raises(ConfigError, match=r"sites\.cpg names the text encoding 'MARS-1'"):
        read_layer(path)
    gpkg = tmp_path / "a.gpkg"
    gpd.GeoDataFrame({"a": [1]}, geometry=[Point(0, 0)], crs=4326).to_file(gpkg)
    with pytest.raises(ConfigError, match="only Shapefiles"):
        read_layer(gpkg, encoding="gbk")


# --- truncated and unreadable files ---------------------------------------------------------


def _cut(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


@pytest.mark.parametrize("part", [".shp", ".shx", ".dbf"])
def test_truncated_shapefile(tmp_path: Path, part: str) -> None:
    lines = [LineString([(121.6 + i * 1e-3, 42.0), (121.7, 42.1)]) for i in range(200)]
    frame = gpd.GeoDataFrame({"名称": ["管线"] * 200}, geometry=lines, crs=4490)
    path = tmp_path / "pipes.shp"
    pyogrio.write_dataframe(frame, path, encoding="gbk")
    _cut(path.with_suffix(part))
    before = _digests(tmp_path)
    with pytest.raises(DataSourceError, match=rf"pipes\{part} is truncated"):
        read_layer(path, what="pipelines")
    assert _digests(tmp_path) == before


@pytest.mark.parametrize("suffix", [".gpkg", ".geojson"])
def test_truncated_gpkg_and_geojson(tmp_path: Path, suffix: str) -> None:
    points = [Point(121.6 + i * 1e-3, 42.0) for i in range(500)]
    path = tmp_path / f"stations{suffix}"
    gpd.GeoDataFrame({"a": range(500)}, geometry=points, crs=4326).to_file(path)
    _cut(path)
    with pytest.raises(DataSourceError, match=r"could not read fuel stations from .*stations"):
        read_layer(path, what="fuel stations")


# --- layers, CRS options, datums -------------------------------------------------------------


def test_geopackage_layer_choice(tmp_path: Path) -> None:
    path = tmp_path / "bureau.gpkg"
    gpd.GeoDataFrame({"a": [1]}, geometry=[SQUARE], crs=4550).to_file(path, layer="地块")
    gpd.GeoDataFrame({"b": [1, 2]}, geometry=[Point(0, 0), Point(1, 1)], crs=4550).to_file(
        path, layer="fuel"
    )
    with pytest.raises(InputDataError, match=r"holds 2 layers \['地块', 'fuel'\].*layer = "):
        read_layer(path, what="fuel stations")
    assert len(read_layer(path, layer="fuel")) == 2
    assert read_parcels(path, layer="地块")["parcel_id"].tolist() == ["P00000"]
    with pytest.raises(InputDataError, match=r"has no layer 'stations'; its layers are"):
        read_layer(path, layer="stations")


def test_layer_without_crs_declared_by_option(tmp_path: Path) -> None:
    path = _save_without_crs(tmp_path)  # SQUARE: plain metres, no zone prefix
    with pytest.raises(
        CRSError, match=r"layer file .* has no CRS; they look like projected metres"
    ):
        read_layer(path)
    layer = read_layer(path, crs="EPSG:4550")
    assert layer.crs.to_epsg() == 4550
    with pytest.raises(ConfigError, match="not a CRS pyproj knows"):
        read_layer(path, crs="EPSG:99999999")


def test_crs_option_replaces_a_wrong_crs(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = _save(tmp_path, gpd.GeoDataFrame({"a": [1]}, geometry=[SQUARE], crs=32651))
    with caplog.at_level(logging.WARNING, logger="siting"):
        layer = read_layer(path, crs="EPSG:4550", what="parcels")
    assert layer.crs.to_epsg() == 4550
    assert "the crs option EPSG:4550 replaces the file's CRS EPSG:32651" in caplog.text


def test_gk_prefix_mismatch_in_a_file(tmp_path: Path) -> None:
    prefixed = box(41_500_000, 4_650_000, 41_500_100, 4_650_100)
    path = _save(tmp_path, gpd.GeoDataFrame({"a": [1]}, geometry=[prefixed], crs=4550))
    with pytest.raises(CRSError, match=r'parcel file .* declare crs = "EPSG:4529"'):
        read_parcels(path)
    assert read_parcels(path, crs="EPSG:4529").crs.to_epsg() == 4529


def test_read_layer_gcj02_datum(tmp_path: Path) -> None:
    gcj = [(121.6754, 42.0221), (121.6800, 42.0300)]
    frame = gpd.GeoDataFrame({"a": [1, 2]}, geometry=[Point(p) for p in gcj], crs=4326)
    path = _save(tmp_path, frame, "amap.geojson")
    layer = read_layer(path, datum="gcj02", what="fuel stations")
    assert layer.crs.to_epsg() == 4326
    for (lon, lat), got in zip(gcj, layer.geometry, strict=True):
        peer = prcoords.gcj_wgs_bored((lat, lon))  # independent inverse
        assert GEOD.inv(got.x, got.y, peer.lon, peer.lat)[2] < 0.05
        assert GEOD.inv(got.x, got.y, lon, lat)[2] > 100
    with pytest.raises(ConfigError, match="unknown datum"):
        read_layer(path, datum="wgs-85")


def _move(
    frame: gpd.GeoDataFrame, src: tuple[float, float], dst: tuple[float, float]
) -> gpd.GeoDataFrame:
    """Carry a layer rigidly (metres in each place's UTM zone) from ``src`` to ``dst``."""
    src_crs, dst_crs = utm_crs_for_lonlat(*src), utm_crs_for_lonlat(*dst)
    sx, sy = pyproj.Transformer.from_crs(4326, src_crs, always_xy=True).transform(*src)
    dx, dy = pyproj.Transformer.from_crs(4326, dst_crs, always_xy=True).transform(*dst)
    moved = shapely.transform(
        frame.to_crs(src_crs).geometry.to_numpy(), lambda c: c + np.array([dx - sx, dy - sy])
    )
    return frame.set_geometry(gpd.GeoSeries(moved, index=frame.index, crs=dst_crs)).to_crs(4326)


def test_bureau_parcels_gbk_shapefile_in_cgcs2000_gk(tmp_path: Path) -> None:
    # Real polygons (Karhula OSM land use) carried to Fuxin, saved as a bureau would:
    # CGCS2000 3-degree GK zone 41 with prefix, GBK attributes, no .cpg.
    landuse = layers_from_gpkg(DEMO / "karhula.gpkg")["landuse"]
    wgs = _move(landuse[["landuse", "geometry"]], (26.93, 60.46), (121.67, 42.02))
    bureau = wgs.assign(用地=["居住用地"] * len(wgs), 编号=range(len(wgs))).to_crs(4529)
    path = tmp_path / "地块.shp"
    pyogrio.write_dataframe(bureau, path, encoding="gbk")
    path.with_suffix(".cpg").unlink()
    before = _digests(tmp_path)
    parcels = read_parcels(path, id_column="编号", encoding="gbk")
    assert _digests(tmp_path) == before
    assert parcels.crs.to_epsg() == 4529 and len(parcels) == len(landuse) > 40
    assert (parcels["用地"] == "居住用地").all()
    # Independent: areas in UTM from the WGS84 originals agree with areas in the GK zone
    # (the real data hold 8 self-intersecting polygons, repaired on reading: left out).
    valid = wgs.is_valid.to_numpy()
    assert 0 < (~valid).sum() < 10 and parcels.is_valid.all()
    utm_area = wgs.to_crs(32651).area.to_numpy()[valid]
    assert np.allclose(parcels.area.to_numpy()[valid], utm_area, rtol=2e-3)
    back = parcels.to_crs(4326).geometry.to_numpy()[valid]
    assert shapely.hausdorff_distance(back, wgs.geometry.to_numpy()[valid]).max() < 1e-7


# --- point tables -----------------------------------------------------------------------


def _stations() -> gpd.GeoDataFrame:
    """Real positions: Helsinki's OSM public-transport stops carried to Fuxin (WGS84)."""
    stops = layers_from_gpkg(DEMO / "helsinki.gpkg")["stops"]
    moved = _move(stops[["name", "geometry"]], (24.94, 60.17), (121.67, 42.02))
    return moved.set_geometry(moved.representative_point()).reset_index(drop=True)


def test_read_points_csv_lonlat(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    truth = _stations()
    table = pd.DataFrame({"name": truth["name"], "lon": truth.geometry.x, "lat": truth.geometry.y})
    path = tmp_path / "stations.csv"
    table.to_csv(path, index=False)
    before = _digests(tmp_path)
    with caplog.at_level(logging.INFO, logger="siting"):
        points = read_points(path, what="bus stops")
    assert _digests(tmp_path) == before
    assert "read as lon/lat degrees (EPSG:4326)" in caplog.text
    assert points.crs.to_epsg() == 4326 and len(points) == len(truth)
    assert list(points.columns) == ["name", "lon", "lat", "geometry"]
    assert np.allclose(points.geometry.x, truth.geometry.x, atol=1e-9)


def test_read_points_gcj02_gb18030_csv_with_chinese_columns(tmp_path: Path) -> None:
    truth = _stations()
    gx, gy = wgs84_to_gcj02(truth.geometry.x, truth.geometry.y)
    table = pd.DataFrame({"名称": ["加油站"] * len(truth), "经度": gx, "纬度": gy})
    path = tmp_path / "加油站.csv"
    table.to_csv(path, index=False, encoding="gb18030")
    with pytest.raises(UnicodeDecodeError):
        path.read_text(encoding="utf-8")
    points = read_points(path, datum="gcj02", what="fuel stations")
    assert points.crs.to_epsg() == 4326
    assert (points["名称"] == "加油站").all()
    error = GEOD.inv(points.geometry.x, points.geometry.y, truth.geometry.x, truth.geometry.y)[2]
    assert np.max(error) < 0.01  # metres, against the true WGS84 positions
    as_given = read_points(path, what="fuel stations")  # datum forgotten: hundreds of metres off
    off = GEOD.inv(as_given.geometry.x, as_given.geometry.y, truth.geometry.x, truth.geometry.y)[2]
    assert np.min(off) > 400


def test_read_points_excel_sheet_and_bd09(tmp_path: Path) -> None:
    truth = _stations().iloc[:20]
    bx, by = wgs84_to_bd09(truth.geometry.x, truth.geometry.y)
    path = tmp_path / "baidu.xlsx"
    with pd.ExcelWriter(path, engine="openpyxl") as book:
        pd.DataFrame({"说明": ["封面"]}).to_excel(book, sheet_name="封面", index=False)
        pd.DataFrame({"名称": truth["name"], "Lng": bx, "Lat": by}).to_excel(
            book, sheet_name="站点", index=False
        )
    points = read_points(path, sheet="站点", datum="bd09")
    error = GEOD.inv(points.geometry.x, points.geometry.y, truth.geometry.x, truth.geometry.y)[2]
    assert np.max(error) < 0.01
    with pytest.raises(
        InputDataError, match=r"has no sheet 'sites'; its sheets are \['封面', '站点'\]"
    ):
        read_points(path, sheet="sites")
    with pytest.raises(InputDataError, match="no coordinate columns"):
        read_points(path)  # first sheet has no coordinates


def test_read_points_gauss_kruger_xy(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    truth = _stations()
    gk = truth.to_crs(4529)
    table = pd.DataFrame({"X坐标": gk.geometry.x, "Y坐标": gk.geometry.y, "lon": 0.0, "lat": 0.0})
    path = tmp_path / "gk.csv"
    table.to_csv(path, index=False)
    with caplog.at_level(logging.INFO, logger="siting"):
        points = read_points(path, crs="EPSG:4529")  # prefers the x/y pair for a projected crs
    assert "reprojected from EPSG:4529 to EPSG:4326" in caplog.text
    lon, lat = pyproj.Transformer.from_crs(4529, 4326, always_xy=True).transform(
        table["X坐标"], table["Y坐标"]
    )
    assert np.allclose(points.geometry.x, lon, atol=1e-9) and np.allclose(points.geometry.y, lat)
    with pytest.raises(CRSError, match=r'has no CRS .* zone prefix 41 .*crs = "EPSG:4529"'):
        read_points(path, x="X坐标", y="Y坐标")
    with pytest.raises(CRSError, match=r'prefix 41 .*have no prefix: .*crs = "EPSG:4550"'):
        read_points(_plain(tmp_path, truth), crs="EPSG:4529")


def _plain(tmp_path: Path, truth: gpd.GeoDataFrame) -> Path:
    plain = truth.to_crs(4550)
    path = tmp_path / "plain.csv"
    pd.DataFrame({"x": plain.geometry.x, "y": plain.geometry.y}).to_csv(path, index=False)
    return path


def test_read_points_survey_order(tmp_path: Path) -> None:
    gk = _stations().to_crs(4529)
    path = tmp_path / "survey.csv"
    # Chinese surveying convention: X is the northing, Y the easting.
    pd.DataFrame({"X": gk.geometry.y, "Y": gk.geometry.x}).to_csv(path, index=False)
    with pytest.raises(CRSError, match="surveying order"):
        read_points(path, crs="EPSG:4529")
    with pytest.raises(CRSError, match=r"surveying order .*\"EPSG:4529\""):
        read_points(path)
    assert len(read_points(path, x="Y", y="X", crs="EPSG:4529")) == len(gk)


def test_read_points_swapped_lat_lon(tmp_path: Path) -> None:
    truth = _stations()
    path = tmp_path / "swapped.csv"
    pd.DataFrame({"经度": truth.geometry.y, "纬度": truth.geometry.x}).to_csv(path, index=False)
    with pytest.raises(CRSError, match="look like lat/lon swapped"):
        read_points(path, what="schools")
    with pytest.raises(CRSError, match="look like lat/lon swapped"):
        read_points(path, crs="EPSG:4490")


def test_read_points_columns(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("name,东经,北纬\na,121.6,42.0\n", encoding="utf-8")
    with pytest.raises(InputDataError, match=r"no coordinate columns.*\['name', '东经', '北纬'\]"):
        read_points(path)
    points = read_points(path, x="东经", y="北纬")
    assert points.geometry.iloc[0].x == 121.6
    with pytest.raises(InputDataError, match=r"no column 'lon' for the x coordinate; its columns"):
        read_points(path, x="lon", y="北纬")
    with pytest.raises(InputDataError, match=r"no column 'lat' for the y coordinate"):
        read_points(path, x="东经", y="lat")


def test_read_points_non_numeric_rows(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text(
        "name,lon,lat\na,121.6,42.0\nb, 121.7 ,42.1\nc,121°36',42.0\nd,,42.0\n", encoding="utf-8"
    )
    with pytest.raises(
        InputDataError, match=r"column 'lon' has 2 value.* rows 4 \(\"121°36'\"\), 5 \(nan\)"
    ):
        read_points(path)


def test_read_points_bad_files(tmp_path: Path) -> None:
    with pytest.raises(DataSourceError, match="points file not found"):
        read_points(tmp_path / "none.csv")
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(DataSourceError, match="could not read points"):
        read_points(empty)
    header = tmp_path / "header.csv"
    header.write_text("lon,lat\n")
    with pytest.raises(DataSourceError, match="has no rows"):
        read_points(header)
    book = tmp_path / "cut.xlsx"
    pd.DataFrame({"lon": [121.6] * 200, "lat": [42.0] * 200}).to_excel(book, index=False)
    _cut(book)
    with pytest.raises(DataSourceError, match=r"could not read points from .*cut\.xlsx"):
        read_points(book)
    old = tmp_path / "old.xls"
    old.write_bytes(b"\xd0\xcf\x11\xe0")
    with pytest.raises(DataSourceError, match=r"old \.xls workbook; save it as \.xlsx"):
        read_points(old)


def test_read_points_bad_options(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("lon,lat\n121.6,42.0\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="unknown datum"):
        read_points(path, datum="wgs-85")
    with pytest.raises(ConfigError, match="not a CRS pyproj knows"):
        read_points(path, crs="EPSG:0")
    with pytest.raises(CRSError, match="declared gcj02 but is in the projected CRS"):
        read_points(_plain(tmp_path, _stations()), crs="EPSG:4550", datum="gcj02")
    gbk = tmp_path / "gbk.csv"
    gbk.write_bytes("名称,lon,lat\n加油站,121.6,42.0\n".encode("gbk"))
    with pytest.raises(DataSourceError, match="is not utf-8"):
        read_points(gbk, encoding="utf-8")
    assert read_points(gbk, encoding="gbk")["名称"].tolist() == ["加油站"]


def test_read_points_truncated_csv(tmp_path: Path) -> None:
    path = tmp_path / "cut.csv"
    rows = "".join(f"s{i},121.{600 + i},42.{100 + i}\n" for i in range(50))
    path.write_bytes(("name,lon,lat\n" + rows).encode()[:-9])  # cut inside the last row
    with pytest.raises(InputDataError, match=r"column 'lat' has 1 value\(s\) .* rows 51 "):
        read_points(path)
