"""Packed geometry for ``map.html``: compact, JSON-ready coordinates and numbers.

Coordinates are integers of degrees x :data:`COORD_SCALE` (1e-5 degree, about 1.1 m): a ring
or line is a flat list whose first vertex is absolute and the others are deltas from the one
before, vertices that round onto the previous one are dropped, and closing vertices are left
out. Geometries are simplified by :data:`SIMPLIFY_M` metres (topology kept) first. Numbers
are rounded, integers lose their ``.0``, NaN becomes ``null`` and infinity ``"inf"``. The
browser side is ``decode``/``ring`` in :data:`siting._assets.APP_JS`.
"""

from __future__ import annotations

import math
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

__all__ = [
    "COORD_SCALE",
    "SIMPLIFY_M",
    "curve_order",
    "display_geoms",
    "dots",
    "numbers",
    "pack_geoms",
    "pack_rings",
    "to_gcj02",
]

#: Packed coordinates are integers of degrees x COORD_SCALE (1e-5 degree ~ 1.1 m).
COORD_SCALE = 100_000
#: Geometries are simplified by this much (metres, topology kept) before packing.
SIMPLIFY_M = 0.5


def numbers(values: Any, digits: int) -> list[Any]:
    """Round to ``digits``; integers without ``.0``, NaN as None, infinity as ``"inf"``."""
    arr = np.asarray(pd.to_numeric(pd.Series(values), errors="coerce"), dtype=float)
    out: list[Any] = []
    for v in np.round(arr, digits).tolist():
        if math.isnan(v):
            out.append(None)
        elif math.isinf(v):
            out.append("inf" if v > 0 else "-inf")
        elif v == int(v):
            out.append(int(v))
        else:
            out.append(v)
    return out


def display_geoms(geoms: gpd.GeoSeries, *, gcj02: bool, simplify_m: float) -> gpd.GeoSeries:
    """Simplify in metres, then WGS84 degrees (shifted to GCJ-02 when asked)."""
    if simplify_m > 0 and geoms.crs is not None and geoms.crs.is_projected:
        geoms = geoms.simplify(simplify_m, preserve_topology=True)
    out = geoms.to_crs("EPSG:4326")
    return to_gcj02(out) if gcj02 else out


def to_gcj02(geoms: gpd.GeoSeries) -> gpd.GeoSeries:
    """WGS84 degrees shifted to GCJ-02 (unchanged outside China), for Amap tiles."""
    from siting.datums import wgs84_to_gcj02

    def shift(xy: np.ndarray) -> np.ndarray:
        lon, lat = wgs84_to_gcj02(xy[:, 0], xy[:, 1])
        return np.column_stack([lon, lat])

    moved = shapely.transform(geoms.to_numpy(), shift)
    return gpd.GeoSeries(moved, index=geoms.index, crs=geoms.crs)


def pack_rings(rings: np.ndarray, *, closed: bool) -> list[list[int]]:
    """Rings or lines as flat integer lists: first vertex absolute, then deltas."""
    if len(rings) == 0:
        return []
    coords, owner = shapely.get_coordinates(rings, return_index=True)
    q = np.rint(coords * COORD_SCALE).astype(np.int64)
    first = np.r_[True, owner[1:] != owner[:-1]]
    keep = np.ones(len(q), dtype=bool)
    if closed:  # the closing vertex repeats the first
        last = np.r_[owner[1:] != owner[:-1], True]
        keep &= ~last
    delta = q.copy()
    delta[1:] -= q[:-1]
    delta[first] = q[first]
    # vertices that round onto the previous one add nothing
    keep &= first | (delta != 0).any(axis=1)
    delta, owner = delta[keep], owner[keep]
    splits = np.searchsorted(owner, np.arange(1, len(rings)))
    return [part.ravel().tolist() for part in np.split(delta, splits)]


def pack_geoms(geoms: gpd.GeoSeries) -> list[Any]:
    """Pack degree geometries for the browser (see :func:`pack_rings`).

    Points as ``["pt", [x, y]]``, lines as ``["ln", [line, ...]]``, polygons as
    ``["pg", [[ring, ...], ...]]``; empty ones as 0.
    """
    arr = geoms.to_numpy()
    out: list[Any] = [0] * len(arr)
    dim = shapely.get_dimensions(arr)
    empty = shapely.is_empty(arr) | pd.isna(arr)
    # points (and multipoints) as one point
    pts = np.flatnonzero((dim == 0) & ~empty)
    if len(pts):
        xy = np.rint(shapely.get_coordinates(shapely.centroid(arr[pts])) * COORD_SCALE)
        for i, (x, y) in zip(pts, xy.astype(np.int64).tolist(), strict=True):
            out[i] = ["pt", [x, y]]
    lines = np.flatnonzero((dim == 1) & ~empty)
    if len(lines):
        parts, owner = shapely.get_parts(arr[lines], return_index=True)
        packed = pack_rings(parts, closed=False)
        grouped: dict[int, list[list[int]]] = {}
        for o, p in zip(owner.tolist(), packed, strict=True):
            grouped.setdefault(o, []).append(p)
        for o, ps in grouped.items():
            out[lines[o]] = ["ln", ps]
    polys = np.flatnonzero((dim == 2) & ~empty)
    if len(polys):
        parts, owner = shapely.get_parts(arr[polys], return_index=True)
        poly_parts = shapely.get_type_id(parts) == 3  # collections may hold lines
        parts, owner = parts[poly_parts], owner[poly_parts]
        rings, ring_part = shapely.get_rings(parts, return_index=True)
        packed = pack_rings(rings, closed=True)
        by_part: dict[int, list[list[int]]] = {}
        for rp, r in zip(ring_part.tolist(), packed, strict=True):
            by_part.setdefault(rp, []).append(r)
        by_geom: dict[int, list[list[list[int]]]] = {}
        for part, o in enumerate(owner.tolist()):
            if part in by_part:
                by_geom.setdefault(o, []).append(by_part[part])
        for o, polys_of in by_geom.items():
            out[polys[o]] = ["pg", polys_of]
    return out


def dots(points: gpd.GeoSeries, colors: np.ndarray, palette: list[str]) -> dict[str, Any]:
    """Points (degrees) as delta-coded integer arrays, in the order given."""
    xy = np.rint(shapely.get_coordinates(points.to_numpy()) * COORD_SCALE).astype(np.int64)
    delta = xy.copy()
    delta[1:] -= xy[:-1]
    return {
        "x": delta[:, 0].tolist(),
        "y": delta[:, 1].tolist(),
        "c": np.asarray(colors, dtype=int).tolist(),
        "palette": palette,
    }


def curve_order(points: gpd.GeoSeries) -> np.ndarray:
    """Positions of ``points`` along a Hilbert curve (short deltas between neighbours)."""
    if len(points) < 2:
        return np.arange(len(points))
    return np.argsort(points.hilbert_distance(), kind="stable")
