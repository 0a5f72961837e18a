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
    "subtypes",
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
    assert karhula_hazards["subtypes"].map(type).eq(str).all()


def test_karhula_industrial_landuse(
    karhula_hazards: gpd.GeoDataFrame, karhula_metric: dict[str, gpd.GeoDataFrame]
) -> None:
    landuse = karhula_metric["landuse"]
    raw = landuse[landuse["landuse"] == "industrial"]
    assert len(raw) > 0
    assert not (landuse["landuse"] == "landfill").any()
    industrial = karhula_hazards[karhula_hazards["hazard_class"] == "industrial"]
    assert sorted(industrial["osm_id"]) == sorted(raw["id"])
    assert (industrial["subtypes"] == "").all()
    for _, row in industrial.iterrows():
        assert row.geometry.equals(raw.loc[raw["id"] == row["osm_id"]].geometry.iloc[0])
    # residential, retail, farmland ... are not hazards
    assert set(karhula_hazards["hazard_class"]) == {"fuel_station", "power_line", "industrial"}
    assert len(karhula_metric["sites"]) == 0


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
    # no fuel:* tags in Karhula: every station is a petrol station
    assert (raw_fuel["fuel_tags"].fillna("") == "").all()
    assert (fuel["subtypes"] == "petrol").all()


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
    assert (gas_rows["subtypes"] == "gas").all()
    assert not gas_rows["substance_assumed"].any()
    unknown_rows = pipes[pipes["osm_id"].isin(raw.loc[unknown, "id"])]
    assert len(unknown_rows) == unknown.sum()
    assert unknown_rows["substance_assumed"].all()
    assert unknown_rows["substance"].isna().all()
    assert (unknown_rows["subtypes"] == "unknown").all()


def test_helsinki_sites(
    helsinki_hazards: gpd.GeoDataFrame, helsinki_metric: dict[str, gpd.GeoDataFrame]
) -> None:
    sites = helsinki_metric["sites"]
    expected = {  # OSM tag -> (class, subtype), as in the siting.hazards table
        "shop=mall": ("crowded_venue", "mall"),
        "shop=department_store": ("crowded_venue", "mall"),
        "amenity=marketplace": ("crowded_venue", "marketplace"),
        "power=substation": ("substation", ""),
    }
    assert set(sites["category"]) == set(expected)
    got = helsinki_hazards[helsinki_hazards["osm_id"].isin(sites["id"])]
    assert len(got) == len(sites) == 8
    for _, site in sites.iterrows():
        row = got[got["osm_id"] == site["id"]].iloc[0]
        assert (row["hazard_class"], row["subtypes"]) == expected[site["category"]]
        assert row.geometry.equals(site.geometry)
    counts = helsinki_hazards["hazard_class"].value_counts().to_dict()
    assert counts["crowded_venue"] == 7
    assert counts["substation"] == 1


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
    area = Point(50, 50).buffer(20)
    return {
        "amenities": _layer(
            [
                {"id": 1, "amenity": "fuel", "name": "Sinopec", "geometry": Point(5, 5)},
                {
                    "id": 3,
                    "amenity": "fuel",
                    "fuel_tags": "fuel:diesel;fuel:lpg",
                    "geometry": Point(6, 6),
                },
                {
                    "id": 4,
                    "amenity": "fuel",
                    "fuel_tags": "fuel:h2;fuel:cng;fuel:lng",
                    "geometry": Point(7, 7),
                },
                {"id": 5, "amenity": "fuel", "fuel_tags": "fuel:hydrogen", "geometry": Point(8, 8)},
                {"id": 2, "amenity": "school", "name": "S", "geometry": Point(9, 9)},
                {"id": 6, "amenity": "hospital", "name": "H", "geometry": Point(9, 8)},
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
                {"id": 16, "substance": "natural_gas", "geometry": line},
                {"id": 17, "substance": "crude_oil", "geometry": line},
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
        "landuse": _layer(
            [
                {"id": 30, "landuse": "industrial", "name": "Works", "geometry": area},
                {"id": 31, "landuse": "landfill", "geometry": area},
                {"id": 32, "landuse": "residential", "geometry": area},
                {"id": 33, "landuse": "commercial", "geometry": area},
            ],
            ["id", "landuse", "name"],
        ),
        "sites": _layer(
            [
                {"id": 40, "category": "power=substation", "geometry": area},
                {"id": 41, "category": "man_made=wastewater_plant", "geometry": area},
                {
                    "id": 42,
                    "category": "man_made=storage_tank",
                    "content": "oil",
                    "geometry": Point(1, 1),
                },
                {
                    "id": 43,
                    "category": "man_made=storage_tank",
                    "content": "water",
                    "geometry": Point(1, 2),
                },
                {"id": 44, "category": "man_made=storage_tank", "geometry": Point(1, 3)},
                {
                    "id": 45,
                    "category": "man_made=storage_tank",
                    "content": "natural_gas",
                    "geometry": Point(1, 4),
                },
                {"id": 46, "category": "amenity=waste_transfer_station", "geometry": area},
                {"id": 47, "category": "amenity=marketplace", "geometry": area},
                {"id": 48, "category": "amenity=hospital", "name": "General", "geometry": area},
                {
                    "id": 49,
                    "category": "amenity=hospital",
                    "speciality": "infectious_diseases",
                    "geometry": area,
                },
                {"id": 50, "category": "shop=mall", "geometry": area},
                {"id": 51, "category": "shop=department_store", "geometry": area},
                {"id": 52, "category": "shop=wholesale", "geometry": area},
                {
                    "id": 53,
                    "category": "amenity=hospital",
                    "speciality": "general;Infectious",
                    "geometry": area,
                },
            ],
            ["id", "osm_type", "category", "name", "content", "speciality"],
        ),
    }


def test_synthetic_classification() -> None:
    layers = _synthetic()
    before = copies(layers)
    table = hazards_from_layers(layers).set_index("osm_id")
    for name, layer in layers.items():
        assert_geodataframe_equal(layer, before[name])
    assert table.index.is_unique

    # fuel stations: petrol always, the gas fuels from fuel:*=yes
    fuel = table[table["hazard_class"] == "fuel_station"]["subtypes"].to_dict()
    assert fuel == FUEL_SUBTYPES
    assert {2, 6}.isdisjoint(table.index)  # school; the hospital comes from `sites` only
    # substance wins over the legacy `type` tag; case does not matter
    assert {10, 13, 15}.isdisjoint(table.index)
    assert table.loc[11, "substance"] == "oil"
    assert table.loc[12, "substance"] == "gas"
    assert not table.loc[[11, 12], "substance_assumed"].any()
    assert bool(table.loc[14, "substance_assumed"]) is True
    pipes = table[table["hazard_class"] == "pipeline"]["subtypes"].to_dict()
    assert pipes == {11: "oil", 12: "gas", 14: "unknown", 16: "gas", 17: "oil"}
    # voltages: power=line without voltage takes the conservative 220 kV
    assert table.loc[20, ["hazard_class", "voltage_kv"]].tolist() == ["power_line", 220.0]
    assert bool(table.loc[20, "voltage_assumed"]) is True
    assert table.loc[21, ["hazard_class", "voltage_kv"]].tolist() == ["power_cable", 10.0]
    assert bool(table.loc[21, "voltage_assumed"]) is True
    assert table.loc[22, ["hazard_class", "voltage_kv"]].tolist() == ["power_cable", 35.0]
    assert bool(table.loc[22, "voltage_assumed"]) is False
    assert table.loc[23, "voltage_kv"] == 500.0
    assert (table.loc[[20, 21, 22, 23], "subtypes"] == "").all()
    # land use: industrial and landfill only
    assert table.loc[30, ["hazard_class", "subtypes", "name"]].tolist() == [
        "industrial", "", "Works",
    ]  # fmt: skip
    assert table.loc[31, "hazard_class"] == "landfill"
    assert {32, 33}.isdisjoint(table.index)
    # sites: class and subtype from the category; only tanks of oil or gas are hazards
    sites = table.loc[[i for i in range(40, 54) if i in table.index]]
    assert sites[["hazard_class", "subtypes"]].apply(tuple, axis=1).to_dict() == {
        40: ("substation", ""),
        41: ("wastewater_plant", ""),
        42: ("hazardous_storage", ""),
        45: ("hazardous_storage", ""),
        46: ("waste_transfer", ""),
        47: ("crowded_venue", "marketplace"),
        48: ("hospital", "general"),
        49: ("hospital", "infectious"),
        50: ("crowded_venue", "mall"),
        51: ("crowded_venue", "mall"),
        52: ("crowded_venue", "wholesale"),
        53: ("hospital", "infectious"),
    }
    assert table.loc[42, "substance"] == "oil"
    assert table.loc[48, "name"] == "General"
    assert len(table) == 4 + 5 + 4 + 2 + 12
    assert table.crs.to_epsg() == 32651
    assert table.loc[40].geometry.equals(layers["sites"].geometry.iloc[0])


FUEL_SUBTYPES = {1: "petrol", 3: "petrol;lpg", 4: "petrol;cng;hydrogen;lng", 5: "petrol;hydrogen"}


def test_fuel_subtypes_follow_their_station_whatever_the_row_order() -> None:
    layers = _synthetic()
    am = layers["amenities"]
    # schools and hospitals first, as OSM order may give
    layers["amenities"] = gpd.GeoDataFrame(
        pd.concat([am.iloc[4:], am.iloc[:4]], ignore_index=True), crs=am.crs
    )
    table = hazards_from_layers(layers).set_index("osm_id")
    fuel = table[table["hazard_class"] == "fuel_station"]["subtypes"].to_dict()
    assert fuel == FUEL_SUBTYPES


def test_sites_layer_is_optional() -> None:
    layers = _synthetic()
    del layers["sites"]
    table = hazards_from_layers(layers)
    assert not table["hazard_class"].isin(["substation", "hospital", "crowded_venue"]).any()
    assert (table["hazard_class"] == "industrial").sum() == 1


@pytest.mark.parametrize(
    ("power", "voltage", "kv", "assumed"),
    [
        ("line", "unknown", 220.0, True),
        ("minor_line", "unknown", 10.0, True),
        ("cable", "unknown", 10.0, True),
        ("line", "", 220.0, True),
        ("minor_line", "", 10.0, True),
        ("line", None, 220.0, True),
        ("line", "10 kV", 10.0, False),
        ("minor_line", "10 kV", 10.0, False),
        ("line", "110000;10000", 110.0, False),
        ("cable", "110000;10000", 110.0, False),
        ("line", "10000;110000", 110.0, False),
        ("minor_line", "400", 0.4, False),
        ("line", "110000;unknown", 110.0, False),
    ],
)
def test_voltage_strings_through_hazards_from_layers(
    power: str, voltage: str | None, kv: float, assumed: bool
) -> None:
    layers = _synthetic()
    layers["power"] = _layer(
        [{"id": 99, "power": power, "voltage": voltage, "geometry": LineString([(0, 0), (1, 1)])}],
        ["id", "power", "voltage", "name"],
    )
    table = hazards_from_layers(layers).set_index("osm_id")
    row = table.loc[99]
    assert row["hazard_class"] == ("power_cable" if power == "cable" else "power_line")
    assert row["voltage_kv"] == pytest.approx(kv)
    assert bool(row["voltage_assumed"]) is assumed
    assert row["subtypes"] == ""


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
