"""Coordinate reference systems: choose a metric CRS for a study area.

Distances and setbacks in ``siting`` are metres, so every analysis runs in a projected
CRS. :func:`metric_crs` picks the UTM zone (WGS84 datum) of the study area's centre.
CGCS2000 Gauss-Krüger zones and GCJ-02/BD-09 corrections are added by the data-sources
work; this module is where they belong.
"""

from __future__ import annotations

import geopandas as gpd
import pyproj

from siting._errors import CRSError, InputDataError

__all__ = ["metric_crs", "utm_crs_for_lonlat"]


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


def metric_crs(gdf: gpd.GeoDataFrame) -> pyproj.CRS:
    """Choose a metric CRS for the area a layer covers.

    Parameters
    ----------
    gdf
        Any layer with a CRS (geographic or projected) and at least one geometry.

    Returns
    -------
    pyproj.CRS
        The UTM zone of the centre of the layer's bounds.

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
    return utm_crs_for_lonlat((left + right) / 2.0, (bottom + top) / 2.0)
