"""Checks run once at the public boundary; messages say problem, fix, evidence."""

from __future__ import annotations

from collections.abc import Iterable

import geopandas as gpd

from siting._errors import CRSError, InputDataError

__all__ = ["require_columns", "require_nonempty", "require_projected", "require_same_crs"]


def require_projected(gdf: gpd.GeoDataFrame, name: str) -> None:
    """Raise :class:`CRSError` unless ``gdf`` has a projected CRS in metres.

    Parameters
    ----------
    gdf
        Layer to check.
    name
        Layer name used in the message.
    """
    if gdf.crs is None:
        msg = (
            f"{name} has no CRS; set one with `{name}.set_crs(...)` "
            "(EPSG:4326 for lon/lat, EPSG:4490 for CGCS2000)"
        )
        raise CRSError(msg)
    if not gdf.crs.is_projected:
        msg = (
            f"{name} is in {gdf.crs.to_string()} (degrees) but distances and setbacks are metres; "
            f"reproject first, e.g. `{name}.to_crs({name}.estimate_utm_crs())` "
            "or `siting.crs.metric_crs(...)`"
        )
        raise CRSError(msg)
    unit = gdf.crs.axis_info[0].unit_name if gdf.crs.axis_info else "metre"
    if unit not in {"metre", "meter"}:
        msg = (
            f"{name} is in {gdf.crs.to_string()} with units of {unit!r}; "
            "reproject to a CRS in metres"
        )
        raise CRSError(msg)


def require_same_crs(a: gpd.GeoDataFrame, a_name: str, b: gpd.GeoDataFrame, b_name: str) -> None:
    """Raise :class:`CRSError` if two layers are in different CRSs."""
    if a.crs != b.crs:
        msg = (
            f"{b_name} is in {b.crs.to_string() if b.crs else None} but {a_name} is in "
            f"{a.crs.to_string() if a.crs else None}; reproject with "
            f"`{b_name}.to_crs({a_name}.crs)`"
        )
        raise CRSError(msg)


def require_columns(gdf: gpd.GeoDataFrame, name: str, columns: Iterable[str]) -> None:
    """Raise :class:`InputDataError` naming every missing column."""
    missing = [c for c in columns if c not in gdf.columns]
    if missing:
        msg = (
            f"{name} lacks column(s) {missing}; it has {list(gdf.columns)}. "
            "Rename your columns or map them in the study config"
        )
        raise InputDataError(msg)


def require_nonempty(gdf: gpd.GeoDataFrame, name: str, *, hint: str = "") -> None:
    """Raise :class:`InputDataError` if a layer has no features."""
    if len(gdf) == 0:
        msg = f"{name} is empty" + (f"; {hint}" if hint else "")
        raise InputDataError(msg)
