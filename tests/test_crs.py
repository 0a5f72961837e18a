"""Tests for :mod:`siting.crs`: UTM zone choice and metric CRS for a layer."""

from __future__ import annotations

import math

import geopandas as gpd
import pytest
from shapely.geometry import LineString, Point, Polygon

from siting import CRSError, InputDataError, SitingError
from siting.crs import metric_crs, utm_crs_for_lonlat


@pytest.mark.parametrize(
    ("lon", "lat", "epsg"),
    [
        pytest.param(121.67, 42.02, 32651, id="fuxin"),
        pytest.param(26.93, 60.46, 32635, id="karhula"),
        pytest.param(24.94, 60.17, 32635, id="helsinki"),
        pytest.param(-58.38, -34.60, 32721, id="buenos-aires-south"),
        pytest.param(151.21, -33.87, 32756, id="sydney-south"),
        pytest.param(0.0, 0.0, 32631, id="equator-counts-as-north"),
        pytest.param(0.0, -0.001, 32731, id="just-south-of-equator"),
        pytest.param(5.999, 50.0, 32631, id="west-of-zone-edge"),
        pytest.param(6.0, 50.0, 32632, id="on-zone-edge"),
        pytest.param(-180.0, 10.0, 32601, id="lon-minus-180"),
        pytest.param(180.0, 10.0, 32660, id="lon-180-stays-in-zone-60"),
        pytest.param(179.999, -10.0, 32760, id="just-west-of-180-south"),
        pytest.param(0.0, 84.0, 32631, id="northern-limit"),
        pytest.param(0.0, -80.0, 32731, id="southern-limit"),
    ],
)
def test_utm_crs_for_lonlat(lon: float, lat: float, epsg: int) -> None:
    crs = utm_crs_for_lonlat(lon, lat)
    assert crs.to_epsg() == epsg
    assert crs.is_projected
    assert crs.axis_info[0].unit_name == "metre"


@pytest.mark.parametrize(
    ("lon", "lat"),
    [
        pytest.param(500000.0, 4600000.0, id="projected-metres"),
        pytest.param(121.67, 4600000.0, id="northing-as-latitude"),
        pytest.param(180.001, 0.0, id="lon-over-180"),
        pytest.param(-180.001, 0.0, id="lon-under-minus-180"),
        pytest.param(0.0, 84.5, id="north-of-utm"),
        pytest.param(0.0, -80.5, id="south-of-utm"),
        pytest.param(math.nan, 10.0, id="nan-lon"),
        pytest.param(10.0, math.nan, id="nan-lat"),
    ],
)
def test_utm_crs_rejects_non_degrees(lon: float, lat: float) -> None:
    with pytest.raises(CRSError, match="not a lon/lat position") as info:
        utm_crs_for_lonlat(lon, lat)
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, SitingError)


def test_projected_metres_message_suggests_cause() -> None:
    with pytest.raises(CRSError, match="projected metres rather than degrees"):
        utm_crs_for_lonlat(500000, 4600000)


def test_metric_crs_of_geographic_layers(
    karhula_layers: dict[str, gpd.GeoDataFrame], helsinki_layers: dict[str, gpd.GeoDataFrame]
) -> None:
    assert karhula_layers["walk_edges"].crs.to_epsg() == 4326
    assert metric_crs(karhula_layers["walk_edges"]).to_epsg() == 32635
    assert metric_crs(helsinki_layers["buildings"]).to_epsg() == 32635


def test_metric_crs_of_projected_layer_is_utm_of_its_centre(
    karhula_metric: dict[str, gpd.GeoDataFrame],
) -> None:
    edges = karhula_metric["walk_edges"]
    assert edges.crs.to_epsg() == 32635
    assert metric_crs(edges).to_epsg() == 32635


def test_metric_crs_reprojects_before_choosing_zone() -> None:
    # Fuxin in Web Mercator: raw coordinates are metres (~1.35e7, ~5.2e6), which would be
    # rejected if taken for degrees; the zone must come from the lon/lat of the centre.
    fuxin = gpd.GeoDataFrame(geometry=[Point(121.67, 42.02)], crs="EPSG:4326").to_crs(3857)
    assert abs(fuxin.geometry.x.iloc[0]) > 1e6
    assert metric_crs(fuxin).to_epsg() == 32651


def test_metric_crs_uses_centre_of_bounds() -> None:
    # A line from zone 50 (lon 114-120) to zone 52 (lon 126-132): centre lon 123 -> zone 51.
    line = gpd.GeoDataFrame(geometry=[LineString([(115.0, 40.0), (131.0, 44.0)])], crs=4326)
    assert metric_crs(line).to_epsg() == 32651
    south = gpd.GeoDataFrame(geometry=[Point(151.21, -33.87)], crs=4326)
    assert metric_crs(south).to_epsg() == 32756


def test_metric_crs_without_crs() -> None:
    layer = gpd.GeoDataFrame(geometry=[Point(26.9, 60.5)])
    assert layer.crs is None
    with pytest.raises(CRSError, match="no CRS"):
        metric_crs(layer)


def test_metric_crs_empty_layer() -> None:
    layer = gpd.GeoDataFrame(geometry=gpd.GeoSeries([], crs=4326), crs=4326)
    with pytest.raises(InputDataError, match="empty"):
        metric_crs(layer)


def test_metric_crs_all_geometries_empty() -> None:
    layer = gpd.GeoDataFrame(geometry=[Point(), Polygon()], crs=4326)
    with pytest.raises(InputDataError, match="empty"):
        metric_crs(layer)


def test_metric_crs_all_geometries_missing() -> None:
    layer = gpd.GeoDataFrame(geometry=gpd.GeoSeries([None, None], crs=4326), crs=4326)
    with pytest.raises(InputDataError, match="empty"):
        metric_crs(layer)
