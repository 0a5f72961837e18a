"""Tests for :mod:`siting.hazards`: voltage parsing and hazard classification."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from geopandas.testing import assert_geodataframe_equal
from shapely.geometry import LineString, Point

from siting.hazards import hazards_from_layers, parse_voltage_kv

COLUMNS = [
    "hazard_class",
    "osm_id",
    "name",
    "voltage_kv",
    "voltage_assumed",
    "substance",
    "substance_assumed",
    "geometry",
]


def copies(layers: dict[str, gpd.GeoDataFrame]) -> dict[str, gpd.GeoDataFrame]:
    return {name: layer.copy(deep=True) for name, layer in layers.items()}


# --- parse_voltage_kv ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("tag", "kv"),
    [
        ("110000;10000", 110.0),
        ("10000;110000", 110.0),
        ("600", 0.6),
        ("20 kV", 20.0),
        ("20kV", 20.0),
        ("0.4 kV", 0.4),
        ("400000", 400.0),
        ("220000;110000;20000", 220.0),
        (110000, 110.0),
        (600.0, 0.6),
    ],
)
def test_parse_voltage_kv(tag: object, kv: float) -> None:
    assert parse_voltage_kv(tag) == pytest.approx(kv, rel=1e-12)


@pytest.mark.parametrize("tag", [None, math.nan, np.nan, "unknown", "", "medium"])
def test_parse_voltage_kv_unreadable_is_nan(tag: object) -> None:
    assert math.isnan(parse_voltage_kv(tag))


# --- Karhula: fuel stations and power lines --------------------------------------------


@pytest.fixture(scope="module")
def karhula_hazards(karhula_metric: dict[str, gpd.GeoDataFrame]) -> gpd.GeoDataFrame:
    return hazards_from_layers(copies(karhula_metric))


def test_karhula_table_shape(
    karhula_hazards: gpd.GeoDataFrame, karhula_metric: dict[str, gpd.GeoDataFrame]
) -> None:
    assert list(karhula_hazards.columns) == COLUMNS
    assert karhula_hazards.crs == karhula_metric["amenities"].crs
    assert karhula_hazards.crs.to_epsg() == 32635
    assert karhula_hazards.index.equals(pd.RangeIndex(len(karhula_hazards)))
    assert karhula_hazards["voltage_assumed"].dtype == bool
    assert karhula_hazards["substance_assumed"].dtype == bool
    assert karhula_hazards["voltage_kv"].dtype == float


def test_karhula_fuel_stations(
    karhula_hazards: gpd.GeoDataFrame, karhula_metric: dict[str, gpd.GeoDataFrame]
) -> None:
    amenities = karhula_metric["amenities"]
    raw_fuel = amenities[amenities["amenity"] == "fuel"]
    assert len(raw_fuel) == 2
    fuel = karhula_hazards[karhula_hazards["hazard_class"] == "fuel_station"]
    assert len(fuel) == 2
    assert sorted(fuel["osm_id"]) == sorted(raw_fuel["id"])
    # other amenities (school, kindergarten, childcare) are not hazards
    others = set(amenities.loc[amenities["amenity"] != "fuel", "id"])
    assert others
    assert not others & set(karhula_hazards["osm_id"])
    for _, row in fuel.iterrows():
        raw = raw_fuel[raw_fuel["id"] == row["osm_id"]].iloc[0]
        assert row["name"] == raw["name"]
        assert row.geometry.equals(raw.geometry)
    assert fuel["voltage_kv"].isna().all()


def test_karhula_power_lines(
    karhula_hazards: gpd.GeoDataFrame, karhula_metric: dict[str, gpd.GeoDataFrame]
) -> None:
    power = karhula_metric["power"]
    lines = karhula_hazards[karhula_hazards["hazard_class"] == "power_line"]
    assert len(lines) == len(power) == 2
    assert not (karhula_hazards["hazard_class"] == "power_cable").any()
    assert not (karhula_hazards["hazard_class"] == "pipeline").any()

    hv_id = power.loc[power["voltage"] == "110000", "id"]
    assert len(hv_id) == 1
    hv = lines[lines["osm_id"] == hv_id.iloc[0]]
    assert hv["voltage_kv"].tolist() == [110.0]
    assert hv["voltage_assumed"].tolist() == [False]

    minor_id = power.loc[(power["power"] == "minor_line") & power["voltage"].isna(), "id"]
    assert len(minor_id) == 1
    minor = lines[lines["osm_id"] == minor_id.iloc[0]]
    assert minor["voltage_kv"].tolist() == [10.0]
    assert minor["voltage_assumed"].tolist() == [True]


def test_karhula_inputs_not_mutated(karhula_metric: dict[str, gpd.GeoDataFrame]) -> None:
    layers = copies(karhula_metric)
    hazards_from_layers(layers)
    assert set(layers) == set(karhula_metric)
    for name, layer in layers.items():
        assert_geodataframe_equal(layer, karhula_metric[name])


# --- Helsinki: pipelines ---------------------------------------------------------------


@pytest.fixture(scope="module")
def helsinki_hazards(helsinki_metric: dict[str, gpd.GeoDataFrame]) -> gpd.GeoDataFrame:
    return hazards_from_layers(copies(helsinki_metric))


def test_helsinki_pipelines(
    helsinki_hazards: gpd.GeoDataFrame, helsinki_metric: dict[str, gpd.GeoDataFrame]
) -> None:
    raw = helsinki_metric["pipelines"]
    substance, legacy = raw["substance"], raw["pipeline_type"]
    harmless = substance.isin(["water", "heat", "cold"]) | (
        substance.isna() & legacy.isin(["water", "heat", "cold"])
    )
    gas = (substance == "gas") | (substance.isna() & (legacy == "gas"))
    unknown = substance.isna() & legacy.isna()
    # every pipeline of this extract is in exactly one of the three groups
    assert (harmless.astype(int) + gas.astype(int) + unknown.astype(int) == 1).all()
    assert harmless.sum() > 0
    assert gas.sum() > 0
    assert unknown.sum() >= 1

    pipes = helsinki_hazards[helsinki_hazards["hazard_class"] == "pipeline"]
    assert len(pipes) == gas.sum() + unknown.sum()
    assert set(pipes["osm_id"]) == set(raw.loc[gas | unknown, "id"])
    assert not set(pipes["osm_id"]) & set(raw.loc[harmless, "id"])

    gas_rows = pipes[pipes["osm_id"].isin(raw.loc[gas, "id"])]
    assert (gas_rows["substance"] == "gas").all()
    assert not gas_rows["substance_assumed"].any()
    unknown_rows = pipes[pipes["osm_id"].isin(raw.loc[unknown, "id"])]
    assert len(unknown_rows) == unknown.sum()
    assert unknown_rows["substance_assumed"].all()
    assert unknown_rows["substance"].isna().all()


def test_helsinki_minor_line_600_volts(
    helsinki_hazards: gpd.GeoDataFrame, helsinki_metric: dict[str, gpd.GeoDataFrame]
) -> None:
    power = helsinki_metric["power"]
    assert power["voltage"].tolist() == ["600"]
    lines = helsinki_hazards[helsinki_hazards["hazard_class"] == "power_line"]
    assert lines["voltage_kv"].tolist() == [pytest.approx(0.6)]
    assert lines["voltage_assumed"].tolist() == [False]
    assert not (helsinki_hazards["hazard_class"] == "fuel_station").any()


def test_helsinki_inputs_not_mutated(helsinki_metric: dict[str, gpd.GeoDataFrame]) -> None:
    layers = copies(helsinki_metric)
    hazards_from_layers(layers)
    for name, layer in layers.items():
        assert_geodataframe_equal(layer, helsinki_metric[name])


# --- synthetic layers: classes the extracts do not contain --------------------------


def _layer(rows: list[dict[str, object]], columns: list[str]) -> gpd.GeoDataFrame:
    frame = pd.DataFrame(rows, columns=[*columns, "geometry"])
    return gpd.GeoDataFrame(frame, geometry="geometry", crs="EPSG:32651")


def _synthetic() -> dict[str, gpd.GeoDataFrame]:
    line = LineString([(0, 0), (100, 0)])
    return {
        "amenities": _layer(
            [
                {"id": 1, "amenity": "fuel", "name": "Sinopec", "geometry": Point(5, 5)},
                {"id": 2, "amenity": "school", "name": "S", "geometry": Point(9, 9)},
            ],
            ["id", "osm_type", "amenity", "name", "fuel_tags"],
        ),
        "pipelines": _layer(
            [
                {"id": 10, "substance": "Water", "geometry": line},
                {"id": 11, "substance": "oil", "geometry": line},
                {"id": 12, "pipeline_type": "gas", "geometry": line},
                {"id": 13, "pipeline_type": "sewage", "geometry": line},
                {"id": 14, "geometry": line},
                {"id": 15, "substance": "hot_water", "pipeline_type": "gas", "geometry": line},
            ],
            ["id", "substance", "pipeline_type", "location", "name"],
        ),
        "power": _layer(
            [
                {"id": 20, "power": "line", "voltage": None, "geometry": line},
                {"id": 21, "power": "cable", "voltage": None, "geometry": line},
                {"id": 22, "power": "cable", "voltage": "35000", "geometry": line},
                {"id": 23, "power": "line", "voltage": "500000;220000", "geometry": line},
            ],
            ["id", "power", "voltage", "name"],
        ),
    }


def test_synthetic_classification() -> None:
    layers = _synthetic()
    before = copies(layers)
    table = hazards_from_layers(layers).set_index("osm_id")
    for name, layer in layers.items():
        assert_geodataframe_equal(layer, before[name])

    assert table.loc[1, "hazard_class"] == "fuel_station"
    assert 2 not in table.index
    # substance wins over the legacy `type` tag; case does not matter
    assert {10, 13, 15}.isdisjoint(table.index)
    assert table.loc[11, "substance"] == "oil"
    assert table.loc[12, "substance"] == "gas"
    assert not table.loc[[11, 12], "substance_assumed"].any()
    assert bool(table.loc[14, "substance_assumed"]) is True
    # voltages: power=line without voltage takes the conservative 220 kV
    assert table.loc[20, ["hazard_class", "voltage_kv"]].tolist() == ["power_line", 220.0]
    assert bool(table.loc[20, "voltage_assumed"]) is True
    assert table.loc[21, ["hazard_class", "voltage_kv"]].tolist() == ["power_cable", 10.0]
    assert bool(table.loc[21, "voltage_assumed"]) is True
    assert table.loc[22, ["hazard_class", "voltage_kv"]].tolist() == ["power_cable", 35.0]
    assert bool(table.loc[22, "voltage_assumed"]) is False
    assert table.loc[23, "voltage_kv"] == 500.0
    assert len(table) == 8
    assert table.crs.to_epsg() == 32651


def test_no_hazards_gives_empty_table() -> None:
    layers = _synthetic()
    empty = {name: layer.iloc[0:0] for name, layer in layers.items()}
    table = hazards_from_layers(empty)
    assert len(table) == 0
    assert list(table.columns) == COLUMNS
    assert table.crs.to_epsg() == 32651


@pytest.mark.parametrize(
    ("tag", "kv"),
    [("10 000", 10.0), ("0,4 kV", 0.4), ("110000,10000", 110.0), ("35 kV;10 kV", 35.0)],
)
def test_parse_voltage_kv_separators(tag: str, kv: float) -> None:
    assert parse_voltage_kv(tag) == pytest.approx(kv)
