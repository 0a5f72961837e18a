"""Tests for siting.readers: the user's own vector files and tables."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
from shapely.geometry import Point, Polygon, box

from siting import CRSError, DataSourceError, InputDataError, SitingError
from siting.readers import read_layer, read_parcels

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
