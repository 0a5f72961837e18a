"""Chinese map datums: GCJ-02 and BD-09 to and from WGS84, and a check for shifted layers.

Coordinates copied from Amap (高德), Tencent or Google China are in **GCJ-02**, those from
Baidu in **BD-09**: both are WGS84 lon/lat plus a deliberate, position-dependent offset of
100-700 m. A fuel station read as WGS84 while it is GCJ-02 lands hundreds of metres from
where it is, across any 50 m setback. Convert such layers with :func:`to_wgs84` (per layer
``datum = "gcj02"`` in a study config) before any analysis.

Conventions
-----------
- Arguments are ``(lon, lat)`` in degrees; every function takes scalars or arrays and
  returns ``float64`` arrays; a position with a NaN in either number comes out NaN in both.
- GCJ-02 shifts only positions inside the usual China bounding box
  (:data:`CHINA_BOUNDS`: lon 72.004-137.8347 E, lat 0.8293-55.8271 N); outside it GCJ-02 is
  WGS84. The box is generous on purpose (it takes in Mongolia's south, Korea and Japan's
  west) because that is what the map services do.
- BD-09 is defined from GCJ-02 by a further rotation and offset, applied everywhere.
- The inverses (:func:`gcj02_to_wgs84`, :func:`bd09_to_wgs84`) iterate the forward
  transform until it reproduces the given position within ``1e-9`` degrees (about 0.1 mm),
  so a round trip is exact to far better than a metre.

Examples
--------
>>> lon, lat = wgs84_to_gcj02(121.67, 42.02)  # Fuxin
>>> back = gcj02_to_wgs84(lon, lat)
>>> bool(abs(back[0] - 121.67) < 1e-9 and abs(back[1] - 42.02) < 1e-9)
True
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pyproj
import shapely

from siting._errors import ConfigError, CRSError

__all__ = [
    "CHINA_BOUNDS",
    "DATUMS",
    "DatumShift",
    "bd09_to_wgs84",
    "datum_shift_from_streets",
    "gcj02_to_wgs84",
    "to_wgs84",
    "warn_datum_shift",
    "wgs84_to_bd09",
    "wgs84_to_gcj02",
]

log = logging.getLogger(__name__)

#: Datums a layer may be declared in (``datum = ...`` in a study config).
DATUMS = ("wgs84", "gcj02", "bd09")

#: Where GCJ-02 differs from WGS84: ``(left, bottom, right, top)`` in degrees.
CHINA_BOUNDS = (72.004, 0.8293, 137.8347, 55.8271)

Datum = Literal["wgs84", "gcj02", "bd09"]
FloatArray = npt.NDArray[np.float64]
_Forward = Callable[[FloatArray, FloatArray], tuple[FloatArray, FloatArray]]

# Krasovsky 1940 ellipsoid, on which the GCJ-02 offset is scaled.
_A = 6378245.0
_EE = 0.00669342162296594323
# BD-09: the x-pi constant and the final offsets, in degrees.
_X_PI = np.pi * 3000.0 / 180.0
_BD_DLON = 0.0065
_BD_DLAT = 0.006

#: Inverse iterations stop when the forward transform is this close (degrees) ...
_TOLERANCE_DEG = 1e-9
#: ... or after this many steps (convergence takes 2-5 steps inside China).
_MAX_ITERATIONS = 30


def _as_lonlat(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Broadcast to float arrays and refuse values that are not degrees."""
    x, y = np.broadcast_arrays(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
    x, y = np.array(x, dtype=float), np.array(y, dtype=float)
    with np.errstate(invalid="ignore"):
        bad = (np.abs(x) > 180.0) | (np.abs(y) > 90.0)
    if bad.any():
        i = int(np.flatnonzero(bad.ravel())[0])
        msg = (
            f"({x.ravel()[i]}, {y.ravel()[i]}) is not a lon/lat position in degrees; "
            "GCJ-02 and BD-09 are lon/lat datums: are these projected metres, or lat/lon "
            f"swapped? ({int(bad.sum())} of {bad.size} positions out of range)"
        )
        raise CRSError(msg)
    missing = np.isnan(x) | np.isnan(y)
    x[missing] = np.nan  # a position with either number missing is missing
    y[missing] = np.nan
    return x, y


def _in_china(lon: FloatArray, lat: FloatArray) -> npt.NDArray[np.bool_]:
    left, bottom, right, top = CHINA_BOUNDS
    with np.errstate(invalid="ignore"):
        return (lon >= left) & (lon <= right) & (lat >= bottom) & (lat <= top)


def _gcj02_offset(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    """GCJ-02 minus WGS84 at a WGS84 position, in degrees (zero outside China)."""
    x = lon - 105.0
    y = lat - 35.0
    waves = (20.0 * np.sin(6.0 * np.pi * x) + 20.0 * np.sin(2.0 * np.pi * x)) * 2.0 / 3.0
    north = (
        -100.0
        + 2.0 * x
        + 3.0 * y
        + 0.2 * y * y
        + 0.1 * x * y
        + 0.2 * np.sqrt(np.abs(x))
        + waves
        + (20.0 * np.sin(np.pi * y) + 40.0 * np.sin(np.pi * y / 3.0)) * 2.0 / 3.0
        + (160.0 * np.sin(np.pi * y / 12.0) + 320.0 * np.sin(np.pi * y / 30.0)) * 2.0 / 3.0
    )
    east = (
        300.0
        + x
        + 2.0 * y
        + 0.1 * x * x
        + 0.1 * x * y
        + 0.1 * np.sqrt(np.abs(x))
        + waves
        + (20.0 * np.sin(np.pi * x) + 40.0 * np.sin(np.pi * x / 3.0)) * 2.0 / 3.0
        + (150.0 * np.sin(np.pi * x / 12.0) + 300.0 * np.sin(np.pi * x / 30.0)) * 2.0 / 3.0
    )
    phi = np.radians(lat)
    w = 1.0 - _EE * np.sin(phi) ** 2
    meridian_radius = _A * (1.0 - _EE) / (w * np.sqrt(w))
    parallel_radius = _A / np.sqrt(w) * np.cos(phi)
    dlat = np.degrees(north / meridian_radius)
    dlon = np.degrees(east / parallel_radius)
    inside = _in_china(lon, lat)
    return np.where(inside, dlon, 0.0), np.where(inside, dlat, 0.0)


def _gcj02_to_bd09(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    radius = np.hypot(lon, lat) + 0.00002 * np.sin(lat * _X_PI)
    angle = np.arctan2(lat, lon) + 0.000003 * np.cos(lon * _X_PI)
    return radius * np.cos(angle) + _BD_DLON, radius * np.sin(angle) + _BD_DLAT


def _forward_gcj02(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    dlon, dlat = _gcj02_offset(lon, lat)
    return lon + dlon, lat + dlat


def _forward_bd09(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    return _gcj02_to_bd09(*_forward_gcj02(lon, lat))


def wgs84_to_gcj02(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Shift WGS84 positions into GCJ-02 (Amap, Tencent).

    Parameters
    ----------
    lon, lat
        WGS84 degrees, scalars or arrays of the same shape (broadcast).

    Returns
    -------
    tuple of ndarray
        GCJ-02 ``(lon, lat)`` in degrees; unchanged outside :data:`CHINA_BOUNDS`.

    Raises
    ------
    CRSError
        If a value is not a degree (``|lon| > 180`` or ``|lat| > 90``).
    """
    return _arrays(*_forward_gcj02(*_as_lonlat(lon, lat)))


def wgs84_to_bd09(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Shift WGS84 positions into BD-09 (Baidu): GCJ-02, then Baidu's own offset.

    Parameters
    ----------
    lon, lat
        WGS84 degrees, scalars or arrays.

    Returns
    -------
    tuple of ndarray
        BD-09 ``(lon, lat)`` in degrees.
    """
    return _arrays(*_forward_bd09(*_as_lonlat(lon, lat)))


def _invert(
    forward: _Forward, lon: npt.ArrayLike, lat: npt.ArrayLike
) -> tuple[FloatArray, FloatArray]:
    """Find WGS84 positions whose ``forward`` image is (lon, lat), by fixed-point steps.

    The forward transforms are the identity plus a slowly varying offset, so
    ``w <- w + (target - forward(w))`` converges in a few steps.
    """
    tx, ty = _as_lonlat(lon, lat)
    wx, wy = tx.copy(), ty.copy()
    fx, fy = forward(wx, wy)
    wx, wy = wx - (fx - tx), wy - (fy - ty)
    for _ in range(_MAX_ITERATIONS):
        fx, fy = forward(wx, wy)
        ex, ey = tx - fx, ty - fy
        with np.errstate(invalid="ignore"):
            worst = np.nanmax(np.maximum(np.abs(ex), np.abs(ey)), initial=0.0)
        if worst < _TOLERANCE_DEG:
            break
        wx, wy = wx + ex, wy + ey
    else:
        log.debug("datum inverse stopped after %d steps, error %.2e deg", _MAX_ITERATIONS, worst)
    return _arrays(wx, wy)


def _arrays(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Arrays out, also for scalars in (numpy turns 0-d arithmetic into scalars)."""
    return np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)


def gcj02_to_wgs84(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Convert GCJ-02 positions (Amap, Tencent) to WGS84 by iterating the forward shift.

    Parameters
    ----------
    lon, lat
        GCJ-02 degrees, scalars or arrays.

    Returns
    -------
    tuple of ndarray
        WGS84 ``(lon, lat)`` in degrees whose GCJ-02 shift reproduces the input within
        1e-9 degrees (about 0.1 mm); unchanged outside :data:`CHINA_BOUNDS`.

    Raises
    ------
    CRSError
        If a value is not a degree.

    Examples
    --------
    >>> lon, lat = gcj02_to_wgs84([121.6754], [42.0221])
    >>> [round(float(lon[0]), 4), round(float(lat[0]), 4)]
    [121.67, 42.02]
    """
    return _invert(_forward_gcj02, lon, lat)


def bd09_to_wgs84(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Convert BD-09 positions (Baidu) to WGS84 by iterating the forward shift.

    Parameters
    ----------
    lon, lat
        BD-09 degrees, scalars or arrays.

    Returns
    -------
    tuple of ndarray
        WGS84 ``(lon, lat)`` in degrees, accurate to about 0.1 mm of the exact inverse.
    """
    return _invert(_forward_bd09, lon, lat)


_TO_WGS84 = {"gcj02": gcj02_to_wgs84, "bd09": bd09_to_wgs84}
_FROM_WGS84 = {"gcj02": wgs84_to_gcj02, "bd09": wgs84_to_bd09}


def _datum_name(datum: str) -> Datum:
    key = str(datum).strip().lower().replace("-", "").replace("_", "").replace(" ", "")
    aliases: dict[str, Datum] = {
        "wgs84": "wgs84",
        "epsg4326": "wgs84",
        "gcj02": "gcj02",
        "gcj": "gcj02",
        "bd09": "bd09",
        "bd09ll": "bd09",
    }
    if key not in aliases:
        msg = (
            f"unknown datum {datum!r}; use one of {list(DATUMS)} "
            '(Amap/Tencent coordinates are "gcj02", Baidu\'s "bd09")'
        )
        raise ConfigError(msg)
    return aliases[key]


def _transform_geometries(geoms: npt.NDArray[np.object_], datum: Datum) -> npt.NDArray[np.object_]:
    convert = _TO_WGS84[datum]

    def lonlat(coords: FloatArray) -> FloatArray:
        out = np.array(coords, dtype=float)
        out[:, 0], out[:, 1] = convert(coords[:, 0], coords[:, 1])
        return out

    result = np.array(geoms, dtype=object)
    has_z = shapely.has_z(result)
    if has_z.any():
        result[has_z] = shapely.transform(result[has_z], lonlat, include_z=True)
    if (~has_z).any():
        result[~has_z] = shapely.transform(result[~has_z], lonlat, include_z=False)
    return result


def to_wgs84(gdf: gpd.GeoDataFrame, datum: str, *, what: str = "layer") -> gpd.GeoDataFrame:
    """Return a copy of a lon/lat layer with every vertex converted to WGS84 (EPSG:4326).

    Parameters
    ----------
    gdf
        Any geometry types. For ``datum="gcj02"`` or ``"bd09"`` it must be in a geographic
        CRS (GCJ-02 has no EPSG code: such files usually declare EPSG:4326 or CGCS2000,
        EPSG:4490); its numbers are taken as GCJ-02/BD-09 degrees whatever that CRS says.
        For ``datum="wgs84"`` any CRS is reprojected.
    datum
        ``"wgs84"``, ``"gcj02"`` (Amap, Tencent) or ``"bd09"`` (Baidu); case, ``-`` and
        ``_`` are ignored.
    what
        Name of the layer for messages (e.g. ``"fuel stations"``).

    Returns
    -------
    GeoDataFrame
        A new frame with the same index and columns, in EPSG:4326; ``gdf`` is not modified.

    Raises
    ------
    ConfigError
        If ``datum`` is not one of :data:`DATUMS`.
    CRSError
        If the layer has no CRS, or a projected CRS with ``datum`` other than ``"wgs84"``.
    """
    name = _datum_name(datum)
    if gdf.crs is None:
        msg = (
            f"{what} has no CRS; declare the CRS its coordinates are in "
            '(e.g. `crs = "EPSG:4326"` for lon/lat degrees in the study config, or '
            '`.set_crs("EPSG:4326")`)'
        )
        raise CRSError(msg)
    crs = pyproj.CRS(gdf.crs)
    if name == "wgs84":
        return gdf.to_crs("EPSG:4326")
    if not crs.is_geographic:
        msg = (
            f"{what} is declared {name} but is in the projected CRS {crs.to_string()} "
            f"({crs.name}); {name} offsets apply to lon/lat degrees only. Give the layer in "
            "lon/lat degrees as copied from the map service, or drop the datum option if "
            "the projected coordinates were surveyed (e.g. CGCS2000 Gauss-Krüger)"
        )
        raise CRSError(msg)
    out = gdf.copy()
    out[out.geometry.name] = gpd.GeoSeries(
        _transform_geometries(gdf.geometry.to_numpy(), name), index=gdf.index, crs="EPSG:4326"
    )
    out = out.set_crs("EPSG:4326", allow_override=True)
    log.info("%s: converted %d features from %s to WGS84", what, len(out), name)
    return out


# --- detecting a shifted point layer -------------------------------------------------


@dataclass(frozen=True)
class DatumShift:
    """Evidence that a point layer is in a Chinese map datum rather than WGS84.

    Attributes
    ----------
    datum
        The datum whose conversion brings the points onto the streets.
    n_points
        Points inside China that were compared.
    shift_m
        Median distance the conversion moves a point, metres.
    median_dist_given_m, median_dist_converted_m
        Median distance from a point to its nearest street as given and after conversion,
        metres.
    share_closer
        Share of points nearer a street after conversion than before.
    """

    datum: Datum
    n_points: int
    shift_m: float
    median_dist_given_m: float
    median_dist_converted_m: float
    share_closer: float


#: A conversion explains a layer when it halves the median distance to the streets ...
_MAX_DIST_RATIO = 0.5
#: ... moves at least this share of points closer ...
_MIN_SHARE_CLOSER = 0.7
#: ... and moves them far enough to tell (metres). The GCJ-02 offset is 100-700 m over
#: eastern China but falls to about 20 m in the far west; BD-09 adds about 1 km more.
_MIN_SHIFT_M = 50.0


def datum_shift_from_streets(
    points: gpd.GeoDataFrame, streets: gpd.GeoDataFrame, *, min_points: int = 5
) -> DatumShift | None:
    """Tell whether a point layer sits systematically off the street network by a GCJ-02 shift.

    Each point's distance to its nearest street is measured as given and after
    :func:`gcj02_to_wgs84` (and :func:`bd09_to_wgs84`). A layer counts as shifted when a
    conversion moves the points at least 50 m (GCJ-02 moves them 100-700 m in eastern
    China), brings at least 70 % of them closer to a street and at least halves their median
    distance; of two conversions that fit, the one that brings the points closer wins.
    Points in a true WGS84 layer are already near streets, so a conversion moves them away
    and nothing is reported.

    Parameters
    ----------
    points
        Point layer claimed to be WGS84 (any CRS; non-point geometries use a
        representative point).
    streets
        Street lines in WGS84 (e.g. the OSM walking network), any CRS.
    min_points
        Fewest points inside China needed for a verdict.

    Returns
    -------
    DatumShift or None
        The best-fitting datum and its evidence, or ``None`` if the layer looks like WGS84
        (or has too few points in China, or the streets are empty).

    Raises
    ------
    CRSError
        If either layer has no CRS.
    """
    for layer, role in ((points, "points"), (streets, "streets")):
        if layer.crs is None:
            msg = f"cannot check the {role} layer for a datum shift: it has no CRS"
            raise CRSError(msg)
    geoms = points.geometry[points.geometry.notna() & ~points.geometry.is_empty]
    lines = streets.geometry[streets.geometry.notna() & ~streets.geometry.is_empty]
    if len(lines) == 0 or len(geoms) == 0:
        return None
    pts = geoms.representative_point().to_crs("EPSG:4326")
    lon, lat = pts.x.to_numpy(), pts.y.to_numpy()
    inside = _in_china(lon, lat)
    if int(inside.sum()) < min_points:
        return None
    lon, lat = lon[inside], lat[inside]
    from siting.crs import utm_crs_for_lonlat

    crs = utm_crs_for_lonlat(float(np.median(lon)), float(np.median(lat)))
    tree = shapely.STRtree(lines.to_crs(crs).to_numpy())
    to_metric = pyproj.Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    given_xy = np.column_stack(to_metric.transform(lon, lat))
    given = _nearest_dist(tree, given_xy)
    best: DatumShift | None = None
    for datum, convert in _TO_WGS84.items():
        cxy = np.column_stack(to_metric.transform(*convert(lon, lat)))
        converted = _nearest_dist(tree, cxy)
        shift = float(np.median(np.hypot(*(cxy - given_xy).T)))
        found = DatumShift(
            datum=datum,  # type: ignore[arg-type]
            n_points=len(lon),
            shift_m=shift,
            median_dist_given_m=float(np.median(given)),
            median_dist_converted_m=float(np.median(converted)),
            share_closer=float(np.mean(converted < given)),
        )
        log.debug("datum check: %s", found)
        fits = (
            shift >= _MIN_SHIFT_M
            and found.share_closer >= _MIN_SHARE_CLOSER
            and found.median_dist_converted_m <= _MAX_DIST_RATIO * found.median_dist_given_m
        )
        if fits and (best is None or found.median_dist_converted_m < best.median_dist_converted_m):
            best = found
    return best


def _nearest_dist(tree: shapely.STRtree, xy: FloatArray) -> FloatArray:
    _, dist = tree.query_nearest(shapely.points(xy), return_distance=True, all_matches=False)
    return np.asarray(dist, dtype=float)


def warn_datum_shift(
    points: gpd.GeoDataFrame,
    streets: gpd.GeoDataFrame,
    *,
    what: str = "points",
    stacklevel: int = 2,
) -> DatumShift | None:
    """Warn when a point layer looks like GCJ-02 or BD-09 read as WGS84.

    Parameters
    ----------
    points, streets
        As for :func:`datum_shift_from_streets`.
    what
        Name of the layer, for the warning (e.g. ``"fuel stations"``).
    stacklevel
        Passed to :func:`warnings.warn`; the default points at the caller's line.

    Returns
    -------
    DatumShift or None
        The diagnosis that was warned about, or ``None`` (no warning).

    Warns
    -----
    UserWarning
        Naming the layer, the distances and the fix (``datum = "gcj02"``).
    """
    found = datum_shift_from_streets(points, streets)
    if found is None:
        return None
    msg = (
        f"{what} look shifted from the street network by a {found.datum} offset: as given "
        f"their median distance to the nearest street is {found.median_dist_given_m:.0f} m, "
        f"after converting from {found.datum} it is {found.median_dist_converted_m:.0f} m "
        f"({found.share_closer:.0%} of {found.n_points} points closer, moved "
        f"{found.shift_m:.0f} m). If the coordinates were copied from "
        f"{'Baidu' if found.datum == 'bd09' else 'Amap or Tencent'}, declare the layer's "
        f'datum: `datum = "{found.datum}"` in the study config, or '
        f'`siting.datums.to_wgs84(layer, "{found.datum}")`'
    )
    warnings.warn(msg, UserWarning, stacklevel=stacklevel)
    return found
