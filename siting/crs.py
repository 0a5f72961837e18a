"""Coordinate reference systems: the analysis CRS, CGCS2000 Gauss-Krüger zones, CRS checks.

Distances and setbacks in ``siting`` are metres, so every analysis runs in a projected
CRS, chosen by :func:`analysis_crs` (or :func:`metric_crs` for a layer):

- ``system="utm"`` (the default): the WGS84 UTM zone of the study area's centre.
- ``system="cgcs2000"``: the CGCS2000 3-degree Gauss-Krüger zone whose central meridian
  (3 n degrees E, zone n = 25..45) is nearest the centre; use it when the bureau's data are
  CGCS2000 (:func:`is_cgcs2000`) so results come back in the bureau's own grid.

Inside one zone both are conformal with a scale error under 0.1 % (UTM) and 0.03 % (GK)
over a city; CGCS2000 and WGS84 agree to a few centimetres, far below any setback.

Chinese Gauss-Krüger eastings come in two forms: with the zone number in front
(``40 512 345`` m is zone 40; EPSG:4513-4533 for 3-degree zones 25-45) and without it
(``512 345`` m; EPSG:4534-4554, named by central meridian). A layer declared in one form
whose numbers are in the other is off by tens of thousands of kilometres, or silently
shifted a zone; :func:`check_crs` refuses it and names the right EPSG code. It also
reads what the numbers of a layer *without* a CRS look like (lon/lat, lat/lon swapped,
prefixed or plain Gauss-Krüger metres) to say which CRS to declare.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pyproj

from siting._errors import ConfigError, CRSError, InputDataError
from siting.datums import CHINA_BOUNDS

__all__ = [
    "analysis_crs",
    "cgcs2000_gk_crs",
    "check_crs",
    "crs_name",
    "gk_zone_for_lon",
    "is_cgcs2000",
    "metric_crs",
    "utm_crs_for_lonlat",
]

System = Literal["utm", "cgcs2000"]

#: CGCS2000 3-degree Gauss-Krüger zones with an EPSG code: 25 (75 E) to 45 (135 E).
GK3_ZONES = range(25, 46)
#: CGCS2000 6-degree Gauss-Krüger zones with an EPSG code: 13 (75 E) to 23 (135 E).
GK6_ZONES = range(13, 24)
_GK3_PREFIXED, _GK3_PLAIN = 4513, 4534  # EPSG of zone 25, with and without the prefix
_GK6_PREFIXED, _GK6_PLAIN = 4491, 4502  # EPSG of 6-degree zone 13, with and without it


def utm_crs_for_lonlat(lon: float, lat: float) -> pyproj.CRS:
    """Return the WGS84 UTM zone CRS containing a point.

    Parameters
    ----------
    lon, lat
        Coordinates in degrees (EPSG:4326).

    Returns
    -------
    pyproj.CRS
        e.g. EPSG:32651 for Fuxin (121.7 E, 42.0 N).

    Raises
    ------
    CRSError
        If the coordinates are not valid degrees.

    Examples
    --------
    >>> utm_crs_for_lonlat(121.67, 42.02).to_epsg()
    32651
    """
    if not (-180.0 <= lon <= 180.0 and -80.0 <= lat <= 84.0):
        msg = (
            f"({lon}, {lat}) is not a lon/lat position inside the UTM range "
            "(lon -180..180, lat -80..84); are these projected metres rather than degrees?"
        )
        raise CRSError(msg)
    zone = min(int((lon + 180.0) // 6.0) + 1, 60)
    return pyproj.CRS.from_epsg((32600 if lat >= 0 else 32700) + zone)


def gk_zone_for_lon(lon: float) -> int:
    """Return the CGCS2000 3-degree Gauss-Krüger zone of a longitude.

    Zone ``n`` has central meridian ``3 n`` degrees E and covers ``3 n ± 1.5`` degrees.

    Parameters
    ----------
    lon
        Longitude in degrees E (WGS84 or CGCS2000).

    Returns
    -------
    int
        Zone number, 25 (75 E) to 45 (135 E).

    Raises
    ------
    CRSError
        If ``lon`` is outside 73.5-136.5 E, where CGCS2000 3-degree zones are defined.

    Examples
    --------
    >>> gk_zone_for_lon(121.67)  # Fuxin: central meridian 123 E
    41
    """
    if not (math.isfinite(lon) and 73.5 <= lon < 136.5):
        msg = (
            f"longitude {lon} is outside the CGCS2000 3-degree Gauss-Krüger zones "
            "(zones 25-45 cover 73.5-136.5 E); use the UTM analysis CRS (system='utm')"
        )
        raise CRSError(msg)
    return math.floor(lon / 3.0 + 0.5)


def cgcs2000_gk_crs(zone: int, *, prefix: bool) -> pyproj.CRS:
    """Return the CGCS2000 3-degree Gauss-Krüger CRS of a zone.

    Parameters
    ----------
    zone
        Zone number 25-45 (central meridian ``3 * zone`` degrees E).
    prefix
        True for eastings with the zone number in front (``41 500 000`` m at the central
        meridian; EPSG:4513-4533), False for plain eastings (``500 000`` m; EPSG:4534-4554).

    Returns
    -------
    pyproj.CRS

    Raises
    ------
    CRSError
        If ``zone`` is not 25-45.

    Examples
    --------
    >>> cgcs2000_gk_crs(41, prefix=True).to_epsg(), cgcs2000_gk_crs(41, prefix=False).to_epsg()
    (4529, 4550)
    """
    if zone not in GK3_ZONES:
        msg = (
            f"CGCS2000 3-degree Gauss-Krüger zone {zone} does not exist; zones are 25-45 "
            "(central meridians 75-135 E, zone = central meridian / 3)"
        )
        raise CRSError(msg)
    return pyproj.CRS.from_epsg((_GK3_PREFIXED if prefix else _GK3_PLAIN) + zone - 25)


def analysis_crs(
    lon: float, lat: float, *, system: System = "utm", prefix: bool = False
) -> pyproj.CRS:
    """Choose the metric CRS to analyse a study area centred at ``(lon, lat)``.

    Parameters
    ----------
    lon, lat
        Centre of the study area in degrees (WGS84 or CGCS2000).
    system
        ``"utm"`` (default): the WGS84 UTM zone. ``"cgcs2000"``: the CGCS2000 3-degree
        Gauss-Krüger zone, for bureaus whose data are CGCS2000.
    prefix
        With ``system="cgcs2000"``, whether eastings carry the zone number.

    Returns
    -------
    pyproj.CRS

    Raises
    ------
    ConfigError
        If ``system`` is unknown.
    CRSError
        If the position is not degrees, or outside the CGCS2000 zones for
        ``system="cgcs2000"``.

    Examples
    --------
    >>> analysis_crs(121.67, 42.02).to_epsg()
    32651
    >>> analysis_crs(121.67, 42.02, system="cgcs2000").name
    'CGCS2000 / 3-degree Gauss-Kruger CM 123E'
    """
    if system == "utm":
        return utm_crs_for_lonlat(lon, lat)
    if system == "cgcs2000":
        utm_crs_for_lonlat(lon, lat)  # the same degree checks and message
        return cgcs2000_gk_crs(gk_zone_for_lon(lon), prefix=prefix)
    msg = f"unknown analysis CRS system {system!r}; use 'utm' or 'cgcs2000'"
    raise ConfigError(msg)


def metric_crs(
    gdf: gpd.GeoDataFrame, *, system: System = "utm", prefix: bool = False
) -> pyproj.CRS:
    """Choose a metric CRS for the area a layer covers.

    Parameters
    ----------
    gdf
        Any layer with a CRS (geographic or projected) and at least one geometry.
    system, prefix
        As for :func:`analysis_crs`.

    Returns
    -------
    pyproj.CRS
        The UTM zone (or CGCS2000 Gauss-Krüger zone) of the centre of the layer's bounds.

    Raises
    ------
    CRSError
        If the layer has no CRS.
    InputDataError
        If the layer is empty.
    """
    if gdf.crs is None:
        msg = "cannot choose a metric CRS: the layer has no CRS; set it with `.set_crs(...)`"
        raise CRSError(msg)
    if len(gdf) == 0 or (gdf.geometry.isna() | gdf.geometry.is_empty).all():
        msg = "cannot choose a metric CRS for an empty layer"
        raise InputDataError(msg)
    left, bottom, right, top = gdf.to_crs("EPSG:4326").total_bounds
    return analysis_crs((left + right) / 2.0, (bottom + top) / 2.0, system=system, prefix=prefix)


def is_cgcs2000(crs: Any) -> bool:
    """Tell whether a CRS (geographic or projected) is on the CGCS2000 datum.

    Examples
    --------
    >>> is_cgcs2000("EPSG:4490"), is_cgcs2000("EPSG:4529"), is_cgcs2000("EPSG:4326")
    (True, True, False)
    """
    if crs is None:
        return False
    geodetic = pyproj.CRS(crs).geodetic_crs
    if geodetic is None:
        return False
    datum = geodetic.datum.name.lower() if geodetic.datum is not None else ""
    return "china 2000" in datum or "cgcs2000" in geodetic.name.lower()


# --- checks on a layer's CRS against its numbers ---------------------------------------


def _gk_crs_for_prefix(prefix: int, *, with_prefix: bool) -> pyproj.CRS | None:
    """CGCS2000 Gauss-Krüger CRS of an easting prefix (3-degree 25-45, 6-degree 13-23)."""
    if prefix in GK3_ZONES:
        return cgcs2000_gk_crs(prefix, prefix=with_prefix)
    if prefix in GK6_ZONES:
        return pyproj.CRS.from_epsg((_GK6_PREFIXED if with_prefix else _GK6_PLAIN) + prefix - 13)
    return None


def crs_name(crs: pyproj.CRS) -> str:
    """Short name of a CRS for messages: ``EPSG:<code>``, or its name without one.

    Examples
    --------
    >>> crs_name(pyproj.CRS(32651))
    'EPSG:32651'
    """
    epsg = crs.to_epsg()
    return f"EPSG:{epsg}" if epsg else crs.name


def _crs_text(crs: pyproj.CRS) -> str:
    epsg = crs.to_epsg()
    return f'"EPSG:{epsg}" ({crs.name})' if epsg else f"{crs.name}"


def _range_text(values: npt.NDArray[np.float64]) -> str:
    low, high = float(np.nanmin(values)), float(np.nanmax(values))
    if max(abs(low), abs(high)) >= 1000.0:
        return f"{low:,.0f} to {high:,.0f}"
    return f"{low:.6g} to {high:.6g}"


def _coordinates_hint(x: npt.ArrayLike, y: npt.ArrayLike) -> str:  # noqa: PLR0911 - a return per kind
    """Say what coordinate numbers look like and which CRS to declare for them.

    Used in the messages for layers and tables without a CRS.

    Parameters
    ----------
    x, y
        First and second coordinates (finite values are used).

    Returns
    -------
    str
        e.g. ``'they look like lon/lat degrees (x 121.6 to 121.8, y 41.9 to 42.1): declare
        crs = "EPSG:4326" (or "EPSG:4490" for CGCS2000)'``.
    """
    xs = np.asarray(x, dtype=float)
    ys = np.asarray(y, dtype=float)
    keep = np.isfinite(xs) & np.isfinite(ys)
    xs, ys = xs[keep], ys[keep]
    if xs.size == 0:
        return "there are no finite coordinates to tell from"
    ranges = f"(x {_range_text(xs)}, y {_range_text(ys)})"
    if _looks_swapped(xs, ys):
        return (
            f"they look like lat/lon swapped {ranges}: the first number is a latitude in "
            "China's range and the second a longitude; swap the x and y columns"
        )
    if np.all(np.abs(xs) <= 180.0) and np.all(np.abs(ys) <= 90.0):
        return (
            f'they look like lon/lat degrees {ranges}: declare crs = "EPSG:4326" '
            '(or "EPSG:4490" for CGCS2000 lon/lat)'
        )
    if _survey_order(xs, ys):
        return (
            f"they look like Gauss-Krüger metres in surveying order {ranges}, where X is the "
            "northing and Y the easting: swap the x and y columns, then declare the CRS"
            + _survey_fix(ys)
        )
    prefixes = np.unique(np.floor(xs / 1e6)).astype(int)
    if prefixes.size == 1 and (gk := _gk_crs_for_prefix(int(prefixes[0]), with_prefix=True)):
        return (
            f"they look like Gauss-Krüger metres with the zone prefix {prefixes[0]} {ranges}: "
            f"declare crs = {_crs_text(gk)}"
        )
    if np.all((xs > 0) & (xs < 1e6)) and np.all(np.abs(ys) < 1e7):
        return (
            f"they look like projected metres without a zone prefix {ranges}, whose zone "
            "cannot be told from the numbers: declare the CRS they were made in, e.g. "
            '"EPSG:4549" (CGCS2000 3-degree Gauss-Krüger, central meridian 120 E; '
            'EPSG:4534-4554 for 75-135 E) or "EPSG:32651" (WGS84 UTM 51N)'
        )
    return f"their range {ranges} matches no CRS siting can guess; declare the CRS they are in"


def _survey_order(xs: npt.NDArray[np.float64], ys: npt.NDArray[np.float64]) -> bool:
    """Chinese surveying order (X north, Y east): northings of China (1-7e6 m) come first."""
    if not np.all((xs > 1e6) & (xs < 7e6)):
        return False
    prefixes = np.unique(np.floor(ys / 1e6)).astype(int)
    prefixed = prefixes.size == 1 and _gk_crs_for_prefix(int(prefixes[0]), with_prefix=True)
    return bool(prefixed or np.all((ys > 0) & (ys < 1e6)))


def _survey_fix(eastings: npt.NDArray[np.float64]) -> str:
    prefixes = np.unique(np.floor(eastings / 1e6)).astype(int)
    gk = _gk_crs_for_prefix(int(prefixes[0]), with_prefix=True) if prefixes.size == 1 else None
    return f" (the eastings' zone prefix says {_crs_text(gk)})" if gk else ""


def _looks_swapped(xs: npt.NDArray[np.float64], ys: npt.NDArray[np.float64]) -> bool:
    """Lat/lon swapped in China: swapped they all fall in China, as given they cannot.

    As given, the second number must exceed 66 (the Arctic, or not a latitude at all),
    so a layer in the Arctic read the right way round (e.g. Svalbard, 15 E 78 N) is
    the one real layer this heuristic would misread.
    """
    left, bottom, right, top = CHINA_BOUNDS
    if not (np.all(np.abs(xs) <= 90.0) and np.all(np.abs(ys) <= 180.0)):
        return False
    swapped_in_china = np.all((ys >= left) & (ys <= right) & (xs >= bottom) & (xs <= top))
    return bool(swapped_in_china and np.nanmax(np.abs(ys)) > 66.0)


def check_crs(gdf: gpd.GeoDataFrame, *, what: str = "layer") -> None:
    """Check that a layer's declared CRS fits its coordinate numbers.

    Refuses, each with the CRS to declare instead:

    - a layer without a CRS (the message says what its numbers look like);
    - a geographic CRS whose numbers are not degrees, or are lat/lon swapped;
    - a Gauss-Krüger (or UTM) CRS declared with the zone prefix while the eastings lack
      it, or without it while they carry it, or with another zone's prefix.

    Parameters
    ----------
    gdf
        Any layer; empty or missing geometries are ignored.
    what
        Name of the layer for messages, e.g. ``"parcels (parcels.shp)"``.

    Raises
    ------
    CRSError
        As listed above; the message names the layer, the fix, and the numbers seen.
    """
    geoms = gdf.geometry[gdf.geometry.notna() & ~gdf.geometry.is_empty]
    if len(geoms) == 0:
        if gdf.crs is None:
            msg = f'{what} has no CRS; declare it (e.g. crs = "EPSG:4490" in the study config)'
            raise CRSError(msg)
        return
    # Vertex bounds are enough: the checks are about ranges, not individual points.
    bounds = geoms.bounds.to_numpy()
    xs = np.concatenate([bounds[:, 0], bounds[:, 2]])
    ys = np.concatenate([bounds[:, 1], bounds[:, 3]])
    if gdf.crs is None:
        msg = (
            f"{what} has no CRS; {_coordinates_hint(xs, ys)} "
            "(in the study config, the layer's `crs = ...`; in Python, `.set_crs(...)`)"
        )
        raise CRSError(msg)
    crs = pyproj.CRS(gdf.crs)
    if crs.is_geographic:
        if _looks_swapped(xs, ys) or not (
            np.all(np.abs(xs) <= 180.0) and np.all(np.abs(ys) <= 90.0)
        ):
            msg = (
                f"{what} is declared in the geographic CRS {_crs_text(crs)}, but "
                f"{_coordinates_hint(xs, ys)}"
            )
            raise CRSError(msg)
        return
    if crs.is_projected and _survey_order(xs, ys):
        msg = f"{what} is declared in {_crs_text(crs)}, but {_coordinates_hint(xs, ys)}"
        raise CRSError(msg)
    _check_false_easting(crs, xs, what)


def _check_false_easting(crs: pyproj.CRS, xs: npt.NDArray[np.float64], what: str) -> None:
    op = crs.coordinate_operation
    if op is None or "transverse mercator" not in op.method_name.lower():
        return
    params = {p.name.lower(): p.value for p in op.params}
    false_easting = float(params.get("false easting", 0.0))
    declared = int(false_easting // 1e6)  # zone prefix the CRS puts in front, or 0
    seen = np.unique(np.floor(xs / 1e6)).astype(int)
    ranges = f"eastings {_range_text(xs)}"
    if declared == 0 and seen.min() >= 10:
        zone = int(seen[0]) if seen.size == 1 else None
        fix = _gk_crs_for_prefix(zone, with_prefix=True) if zone else None
        msg = (
            f"{what} is declared in {_crs_text(crs)}, whose eastings have no zone prefix, "
            f"but its {ranges} carry the zone number in front"
            + (f" ({zone}): declare crs = {_crs_text(fix)}" if fix else "; declare the CRS")
        )
        raise CRSError(msg)
    gk_prefix = declared in GK3_ZONES or declared in GK6_ZONES
    if gk_prefix and not np.all(seen == declared):
        if np.all((xs > 0) & (xs < 1e6)):
            fix = _gk_crs_for_prefix(declared, with_prefix=False)
            msg = (
                f"{what} is declared in {_crs_text(crs)}, whose eastings carry the zone "
                f"prefix {declared} ({declared},500,000 m at the central meridian), but its "
                f"{ranges} have no prefix"
                + (
                    f": declare the same zone without prefix, crs = {_crs_text(fix)}"
                    if fix
                    else "; declare the same zone without the prefix"
                )
            )
            raise CRSError(msg)
        other = _gk_crs_for_prefix(int(seen[0]), with_prefix=True) if seen.size == 1 else None
        msg = (
            f"{what} is declared in {_crs_text(crs)} (zone prefix {declared}), but its "
            f"{ranges} carry the prefix {sorted(seen.tolist())}"
            + (f": declare crs = {_crs_text(other)}" if other else "; declare the right zone")
        )
        raise CRSError(msg)
