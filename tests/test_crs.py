"""Tests for :mod:`siting.crs`: UTM and CGCS2000 zones, the metric CRS, CRS checks."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pyproj
import pytest
import shapely
from shapely.geometry import LineString, Point, Polygon

from siting import ConfigError, CRSError, InputDataError, SitingError
from siting.crs import (
    analysis_crs,
    cgcs2000_gk_crs,
    check_crs,
    gk_zone_for_lon,
    is_cgcs2000,
    metric_crs,
    utm_crs_for_lonlat,
)


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


# --- CGCS2000 Gauss-Krüger zones ---------------------------------------------------------


@pytest.mark.parametrize(
    ("lon", "zone"),
    [
        pytest.param(121.67, 41, id="fuxin-cm-123"),
        pytest.param(121.49, 40, id="west-of-121.5-is-cm-120"),
        pytest.param(121.5, 41, id="zone-edge-goes-east"),
        pytest.param(73.5, 25, id="westmost"),
        pytest.param(136.49, 45, id="eastmost"),
        pytest.param(116.40, 39, id="beijing"),
    ],
)
def test_gk_zone_for_lon(lon: float, zone: int) -> None:
    assert gk_zone_for_lon(lon) == zone
    # Independent: the zone's EPSG definition has the nearest central meridian.
    crs = cgcs2000_gk_crs(zone, prefix=False)
    params = {p.name: p.value for p in crs.coordinate_operation.params}
    assert abs(lon - params["Longitude of natural origin"]) <= 1.5


@pytest.mark.parametrize("lon", [73.49, 136.5, 24.94, math.nan])
def test_gk_zone_outside_china(lon: float) -> None:
    with pytest.raises(CRSError, match="outside the CGCS2000 3-degree"):
        gk_zone_for_lon(lon)


@pytest.mark.parametrize("zone", list(range(25, 46)))
def test_cgcs2000_gk_crs_matches_epsg_definitions(zone: int) -> None:
    for prefix, false_easting in ((True, zone * 1e6 + 500000.0), (False, 500000.0)):
        crs = cgcs2000_gk_crs(zone, prefix=prefix)
        params = {p.name: p.value for p in crs.coordinate_operation.params}
        assert crs.coordinate_operation.method_name == "Transverse Mercator"
        assert params["Longitude of natural origin"] == 3.0 * zone
        assert params["False easting"] == false_easting
        assert params["Scale factor at natural origin"] == 1.0
        assert crs.datum.name == "China 2000"
        assert "3-degree" in crs.name
        assert is_cgcs2000(crs)
    assert cgcs2000_gk_crs(zone, prefix=True).to_epsg() == 4513 + zone - 25
    assert cgcs2000_gk_crs(zone, prefix=False).to_epsg() == 4534 + zone - 25


@pytest.mark.parametrize("zone", [24, 46, 0, 13])
def test_cgcs2000_gk_crs_bad_zone(zone: int) -> None:
    with pytest.raises(CRSError, match=f"zone {zone} does not exist"):
        cgcs2000_gk_crs(zone, prefix=True)


def test_analysis_crs_systems() -> None:
    assert analysis_crs(121.67, 42.02).to_epsg() == 32651
    assert analysis_crs(121.67, 42.02, system="cgcs2000").to_epsg() == 4550
    assert analysis_crs(121.67, 42.02, system="cgcs2000", prefix=True).to_epsg() == 4529
    with pytest.raises(ConfigError, match="unknown analysis CRS system 'gk'"):
        analysis_crs(121.67, 42.02, system="gk")  # type: ignore[arg-type]
    with pytest.raises(CRSError, match="not a lon/lat position"):
        analysis_crs(41500000.0, 4650000.0, system="cgcs2000")
    with pytest.raises(CRSError, match="outside the CGCS2000"):
        analysis_crs(24.94, 60.17, system="cgcs2000")


def test_metric_crs_cgcs2000_of_real_streets_in_gk(
    karhula_layers: dict[str, gpd.GeoDataFrame],
) -> None:
    # Distances in the chosen GK zone agree with geodesic lengths (pyproj.Geod) on a
    # real network placed at Fuxin: CGCS2000 GK is as good a metric CRS as UTM there.
    edges = karhula_layers["walk_edges"]
    src = metric_crs(edges)
    shift = pyproj.Transformer.from_crs(4326, 32651, always_xy=True).transform(121.67, 42.02)
    x0, y0 = pyproj.Transformer.from_crs(4326, src, always_xy=True).transform(26.93, 60.46)
    moved = gpd.GeoSeries(
        shapely.transform(
            edges.to_crs(src).geometry.to_numpy(),
            lambda c: c + np.array([shift[0] - x0, shift[1] - y0]),
        ),
        crs=32651,
    ).to_crs(4326)
    gk = metric_crs(gpd.GeoDataFrame(geometry=moved), system="cgcs2000")
    assert gk.to_epsg() == 4550
    geod = pyproj.Geod(ellps="GRS80")
    lengths = moved.apply(geod.geometry_length).to_numpy()
    in_gk = moved.to_crs(gk).length.to_numpy()
    assert lengths.sum() > 10_000
    assert np.abs(in_gk / lengths - 1).max() < 3e-4  # GK scale error ~1.5 deg off CM


def test_is_cgcs2000() -> None:
    assert is_cgcs2000("EPSG:4490") and is_cgcs2000(4529) and is_cgcs2000(4550)
    esri = pyproj.CRS(4529).to_wkt("WKT1_ESRI")  # as in a .prj written by ArcGIS
    assert is_cgcs2000(esri)
    assert not is_cgcs2000(4326) and not is_cgcs2000(32651) and not is_cgcs2000(None)


# --- check_crs: the declared CRS against the numbers --------------------------------------

FUXIN_LONLAT = (121.67, 42.02)


def _fuxin(crs: int | str, *, n: int = 3) -> gpd.GeoDataFrame:
    pts = gpd.GeoDataFrame(
        geometry=[Point(121.67 + 0.01 * i, 42.02 + 0.01 * i) for i in range(n)], crs=4326
    )
    return pts.to_crs(crs)


def test_check_crs_accepts_consistent_layers() -> None:
    for crs in (4326, 4490, 4529, 4550, 32651, 3857):
        check_crs(_fuxin(crs), what="fuel stations")
    check_crs(_fuxin(4529).iloc[:0], what="empty")


def test_check_crs_gk_declared_prefixed_but_plain() -> None:
    layer = _fuxin(4550).set_crs(4529, allow_override=True)
    with pytest.raises(CRSError, match=r"parcels is declared in \"EPSG:4529\"") as info:
        check_crs(layer, what="parcels")
    text = str(info.value)
    assert "carry the zone prefix 41" in text and "have no prefix" in text
    assert 'crs = "EPSG:4550"' in text
    # Independent: the suggested CRS puts the points back at Fuxin.
    back = layer.set_crs(4550, allow_override=True).to_crs(4326)
    assert back.geometry.iloc[0].x == pytest.approx(FUXIN_LONLAT[0])


def test_check_crs_gk_declared_plain_but_prefixed() -> None:
    layer = _fuxin(4529).set_crs(4550, allow_override=True)
    assert layer.total_bounds[0] > 41e6
    with pytest.raises(
        CRSError, match=r'carry the zone number in front \(41\): declare crs = "EPSG:4529"'
    ):
        check_crs(layer, what="parcels")
    utm = _fuxin(4529).set_crs(32651, allow_override=True)
    with pytest.raises(CRSError, match='"EPSG:4529"'):
        check_crs(utm, what="parcels")


def test_check_crs_gk_wrong_zone_prefix() -> None:
    layer = _fuxin(4529).set_crs(4528, allow_override=True)  # zone 40 declared, 41 in the data
    with pytest.raises(
        CRSError, match=r'zone prefix 40\), but .* prefix \[41\]: declare crs = "EPSG:4529"'
    ):
        check_crs(layer, what="parcels")


def test_check_crs_six_degree_prefix() -> None:
    layer = _fuxin(4499)  # CGCS2000 6-degree zone 21 (central meridian 123 E), prefixed
    assert layer.total_bounds[0] // 1e6 == 21
    check_crs(layer, what="parcels")
    with pytest.raises(CRSError, match=r'front \(21\): declare crs = "EPSG:4499"'):
        check_crs(layer.set_crs(4510, allow_override=True), what="parcels")


def _no_crs(layer: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    return layer.set_crs(None, allow_override=True)


@pytest.mark.parametrize(
    ("crs", "expected"),
    [
        pytest.param(4326, r'look like lon/lat degrees .*crs = "EPSG:4326"', id="lonlat"),
        pytest.param(4529, r'zone prefix 41 .*crs = "EPSG:4529"', id="gk-prefixed"),
        pytest.param(4550, r"without a zone prefix .*cannot be told", id="gk-plain"),
    ],
)
def test_check_crs_no_crs_says_what_numbers_look_like(crs: int, expected: str) -> None:
    with pytest.raises(CRSError, match=r"schools \(schools.shp\) has no CRS; .*" + expected):
        check_crs(_no_crs(_fuxin(crs)), what="schools (schools.shp)")


def test_check_crs_swapped_lat_lon() -> None:
    pts = _fuxin(4326)
    swapped = pts.set_geometry(shapely.transform(pts.geometry.to_numpy(), lambda c: c[:, ::-1]))
    assert swapped.geometry.iloc[0].x == pytest.approx(42.02)
    with pytest.raises(CRSError, match="look like lat/lon swapped"):
        check_crs(swapped, what="stations")
    with pytest.raises(CRSError, match="has no CRS; they look like lat/lon swapped"):
        check_crs(_no_crs(swapped), what="stations")
    # Western China swapped (Kashgar 76.0 E 39.5 N): still a valid lat, still caught.
    kashgar = gpd.GeoDataFrame(geometry=[Point(39.47, 75.99)], crs=4326)
    with pytest.raises(CRSError, match="swapped"):
        check_crs(kashgar, what="stations")


def test_check_crs_geographic_declared_metres() -> None:
    layer = _fuxin(4529).set_crs(4490, allow_override=True)
    with pytest.raises(CRSError, match=r'declared in the geographic CRS "EPSG:4490".*"EPSG:4529"'):
        check_crs(layer, what="parcels")


def test_check_crs_real_layers_pass(karhula_layers: dict[str, gpd.GeoDataFrame]) -> None:
    for name, layer in karhula_layers.items():
        check_crs(layer, what=name)
        if len(layer):
            check_crs(layer.to_crs(32635), what=name)


def test_check_crs_survey_order() -> None:
    # Chinese surveying convention writes X = northing, Y = easting: read as x/y it is swapped.
    gk = _fuxin(4529)
    survey = gk.set_geometry(shapely.transform(gk.geometry.to_numpy(), lambda c: c[:, ::-1]))
    with pytest.raises(CRSError, match=r"surveying order .*swap the x and y .*\"EPSG:4529\""):
        check_crs(survey, what="parcels")
    with pytest.raises(
        CRSError, match=r"has no CRS; they look like Gauss-Krüger metres in surveying"
    ):
        check_crs(_no_crs(survey), what="parcels")
    plain = _fuxin(4550)
    survey = plain.set_geometry(shapely.transform(plain.geometry.to_numpy(), lambda c: c[:, ::-1]))
    with pytest.raises(CRSError, match="surveying order"):
        check_crs(survey, what="parcels")
