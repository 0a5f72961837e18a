"""Population: residents per raster cell, census calibration, under-3 share.

Surfaces (:func:`read_population_raster`)
-----------------------------------------
A WorldPop-style GeoTIFF of people per cell (``kind="count"``) or per km² (``"density"``), in
any CRS, read over the window of a study area into a :class:`PopulationSurface`: a float64
array of persons per cell (NaN where the raster has no data) with its affine transform, CRS
and a note of how the numbers were estimated.

Calibration (:func:`calibrate_to_census`)
-----------------------------------------
Scale a surface, or points carrying residents, so that each district sums to its census
figure: factor = census / modelled, per district.

Catchment sums (:func:`catchment_sum_raster`)
---------------------------------------------
People within ``dist`` metres (straight line) of each point: see :mod:`siting.rastersum`
(re-exported here).

Under-3 share (:func:`under3_share_from_cbr`)
---------------------------------------------
3 x the crude birth rate.
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Hashable
from dataclasses import dataclass, replace
from difflib import get_close_matches
from os import PathLike
from pathlib import Path
from typing import Literal, overload

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import rasterio
import rasterio.errors
import rasterio.features
import rasterio.io
import rasterio.windows
import shapely
from rasterio.transform import Affine

from siting._errors import ConfigError, CRSError, DataSourceError, InputDataError
from siting._validate import require_columns, require_nonempty
from siting.crs import crs_name, metric_crs
from siting.rastersum import catchment_sum_raster

__all__ = [
    "PopulationSurface",
    "calibrate_to_census",
    "catchment_sum_raster",
    "read_population_raster",
    "under3_share_from_cbr",
]

log = logging.getLogger(__name__)

_KM2 = 1e6


@dataclass(frozen=True, eq=False)
class PopulationSurface:
    """People per raster cell, north-up, with the georeferencing to place them.

    Attributes
    ----------
    values
        Persons per cell, float64, shape ``(rows, cols)``; NaN where the raster has no data.
    transform
        Affine transform from (col, row) to the CRS: ``transform.a`` is the cell width and
        ``transform.e`` minus the cell height, in CRS units; no rotation.
    crs
        The raster's CRS (:class:`pyproj.CRS`).
    estimate
        How the numbers were derived (source file, unit conversion, calibration).
    """

    values: np.ndarray
    transform: Affine
    crs: pyproj.CRS
    estimate: str

    @property
    def shape(self) -> tuple[int, int]:
        """Rows and columns."""
        rows, cols = self.values.shape
        return int(rows), int(cols)

    @property
    def res(self) -> tuple[float, float]:
        """Cell width and height, CRS units (positive)."""
        return abs(float(self.transform.a)), abs(float(self.transform.e))

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """``(left, bottom, right, top)`` in the CRS."""
        rows, cols = self.shape
        t = self.transform
        return (float(t.c), float(t.f + rows * t.e), float(t.c + cols * t.a), float(t.f))

    @property
    def total(self) -> float:
        """Sum of all cells with data, persons."""
        return float(np.nansum(self.values))


# ----------------------------------------------------------------------------- reading


def read_population_raster(
    path: str | PathLike[str],
    *,
    study_area: gpd.GeoDataFrame | gpd.GeoSeries | None = None,
    kind: Literal["count", "density"] = "count",
    margin_m: float = 0.0,
) -> PopulationSurface:
    """Read band 1 of a population GeoTIFF over a study area.

    Parameters
    ----------
    path
        GeoTIFF (or any raster GDAL reads) of persons per cell, e.g. a WorldPop
        "unconstrained" or "constrained" count raster; any CRS, north-up.
    study_area
        Layer with a CRS; only the raster window covering its bounds (reprojected to the
        raster's CRS, densified so curved edges are covered) is read. ``None`` reads it all.
    kind
        ``"count"``: cells hold persons. ``"density"``: cells hold persons per km² and are
        converted to persons per cell by the cell's area: on the ellipsoid (exact area of a
        latitude-longitude quadrangle) when the raster is geographic, the map area of the
        cell (units converted to metres) when projected — exact for an equal-area
        projection, within the projection's scale error otherwise (< 0.1 % in UTM).
    margin_m
        Metres added around the study area's bounds before reading, e.g. the catchment
        ``dist``, so that catchments at the edge of the area see the people just outside it.

    Returns
    -------
    PopulationSurface
        Persons per cell (float64, NaN = nodata), the window's transform and the CRS.
        Cells of the window are kept whole: people are not clipped to the study polygon.

    Raises
    ------
    DataSourceError
        If the file does not exist or cannot be read as a raster.
    CRSError
        If the raster has no CRS, a CRS without a datum (engineering / ``LOCAL_CS``), or the
        study area has none.
    InputDataError
        If the raster is rotated, the study area is empty or outside the raster, every cell
        over the study area is nodata, or a cell holds a negative or infinite population.
    ConfigError
        On an unknown ``kind`` or a negative ``margin_m``.
    """
    if kind not in ("count", "density"):
        msg = (
            f"kind must be 'count' (persons per cell) or 'density' (persons per km²), got {kind!r}"
        )
        raise ConfigError(msg)
    if not math.isfinite(margin_m) or margin_m < 0:
        msg = f"margin_m must be a distance in metres >= 0, got {margin_m}"
        raise ConfigError(msg)
    path = Path(path)
    if not path.is_file():
        where = "is a directory" if path.is_dir() else "does not exist"
        msg = (
            f"population raster {path} {where}; pass the path of a GeoTIFF "
            f"(working directory: {Path.cwd()})"
        )
        raise DataSourceError(msg)
    try:
        with warnings.catch_warnings():
            # a file without georeferencing warns; it is refused below with a clear message
            warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
            src = rasterio.open(path)
    except rasterio.errors.RasterioIOError as exc:
        msg = f"cannot read {path} as a raster ({exc}); check that it is a GeoTIFF, not corrupt"
        raise DataSourceError(msg) from exc
    with src:
        crs = _raster_crs(src, path)
        transform = src.transform
        if not (transform.b == 0 and transform.d == 0) or transform.a <= 0 or transform.e >= 0:
            msg = (
                f"population raster {path} is rotated or not north-up (transform "
                f"{tuple(transform)[:6]}); warp it north-up first, e.g. "
                "`gdalwarp -r sum in.tif out.tif`"
            )
            raise InputDataError(msg)
        window = rasterio.windows.Window(0, 0, src.width, src.height)
        if study_area is not None:
            window = _study_window(src, crs, study_area, margin_m, path)
        try:
            band = src.read(1, window=window, out_dtype=np.float64, masked=True)
        except rasterio.errors.RasterioIOError as exc:  # pragma: no cover - corrupt blocks
            msg = f"cannot read the pixels of {path} ({exc}); the file may be truncated"
            raise DataSourceError(msg) from exc
        nodata = src.nodata
        win_transform = Affine(
            transform.a,
            0.0,
            transform.c + window.col_off * transform.a,
            0.0,
            transform.e,
            transform.f + window.row_off * transform.e,
        )
    values = band.data  # float64, fresh from the read: masked cells become NaN in place
    values[np.ma.getmaskarray(band)] = np.nan
    del band
    _check_values(
        values,
        path=path,
        window=window,
        transform=win_transform,
        crs=crs,
        nodata=nodata,
        windowed=study_area is not None,
    )
    note = f"{kind} raster {path.name} ({crs_name(crs)}), band 1"
    if kind == "density":
        area_m2 = _cell_area_m2(win_transform, crs, values.shape[0])
        values *= area_m2 / _KM2
        how = "ellipsoidal" if crs.is_geographic else "map"
        note += f"; persons per km² x {how} cell area"
    return PopulationSurface(values=values, transform=win_transform, crs=crs, estimate=note)


def _raster_crs(src: rasterio.io.DatasetReader, path: Path) -> pyproj.CRS:
    fix = (
        f"set it if you know it, e.g. `gdal_edit.py -a_srs EPSG:4326 {path.name}` "
        "(WorldPop rasters are EPSG:4326)"
    )
    if src.crs is None or not src.crs:
        msg = f"population raster {path} has no CRS, so its cells cannot be placed; {fix}"
        raise CRSError(msg)
    try:
        crs = pyproj.CRS.from_wkt(src.crs.to_wkt())
    except pyproj.exceptions.CRSError as exc:
        msg = f"population raster {path} has a CRS pyproj cannot read ({exc}); {fix}"
        raise CRSError(msg) from exc
    if not (crs.is_geographic or crs.is_projected):
        msg = (
            f"population raster {path} is in an unknown CRS ({crs.type_name} "
            f"{crs.name!r}, no datum), so it cannot be placed on the map; {fix}"
        )
        raise CRSError(msg)
    return crs


def _study_window(
    src: rasterio.io.DatasetReader,
    crs: pyproj.CRS,
    study_area: gpd.GeoDataFrame | gpd.GeoSeries,
    margin_m: float,
    path: Path,
) -> rasterio.windows.Window:
    if study_area.crs is None:
        msg = (
            "study_area has no CRS, so it cannot be placed on the raster; set one with "
            "`study_area.set_crs(...)`"
        )
        raise CRSError(msg)
    geoms = study_area.geometry
    if len(geoms) == 0 or (geoms.isna() | geoms.is_empty).all():
        msg = "study_area is empty; pass the polygons (or any layer) covering the study"
        raise InputDataError(msg)
    area_crs = pyproj.CRS.from_user_input(study_area.crs)
    if margin_m > 0:
        area_crs = metric_crs(gpd.GeoDataFrame(geometry=geoms))
        geoms = geoms.to_crs(area_crs)
    left, bottom, right, top = geoms.total_bounds
    left, bottom, right, top = left - margin_m, bottom - margin_m, right + margin_m, top + margin_m
    to_raster = pyproj.Transformer.from_crs(area_crs, crs, always_xy=True)
    bounds = to_raster.transform_bounds(left, bottom, right, top, densify_pts=21)
    t = src.transform  # north-up: checked by the caller
    cols = (np.array(bounds)[[0, 2]] - t.c) / t.a
    rows = (np.array(bounds)[[3, 1]] - t.f) / t.e
    c0, c1 = max(math.floor(min(cols)), 0), min(math.ceil(max(cols)), src.width)
    r0, r1 = max(math.floor(min(rows)), 0), min(math.ceil(max(rows)), src.height)
    if not (np.isfinite(bounds).all() and c0 < c1 and r0 < r1):
        msg = (
            f"the study area does not overlap population raster {path}: study bounds "
            f"{_fmt_bounds(bounds)} vs raster bounds {_fmt_bounds(tuple(src.bounds))} in "
            f"{crs_name(crs)}; use a raster that covers the study area"
        )
        raise InputDataError(msg)
    return rasterio.windows.Window(c0, r0, c1 - c0, r1 - r0)


def _fmt_bounds(bounds: tuple[float, ...] | np.ndarray) -> str:
    return "(" + ", ".join(f"{v:.6g}" for v in bounds) + ")"


def _check_values(
    values: np.ndarray,
    *,
    path: Path,
    window: rasterio.windows.Window,
    transform: Affine,
    crs: pyproj.CRS,
    nodata: float | None,
    windowed: bool,
) -> None:
    valid = ~np.isnan(values)
    if not valid.any():
        where = (
            f"over the study area (rows {window.row_off}-{window.row_off + window.height - 1}, "
            f"cols {window.col_off}-{window.col_off + window.width - 1})"
            if windowed
            else "everywhere"
        )
        msg = (
            f"population raster {path} is all nodata {where} (nodata value {nodata}); use a "
            "raster that covers the study area with people in it, or check the nodata value"
        )
        raise InputDataError(msg)
    bad = valid & ~(values >= 0) | np.isinf(values)
    if bad.any():
        rows, cols = np.nonzero(bad)
        r, c = int(rows[0]), int(cols[0])
        x, y = transform.c + (c + 0.5) * transform.a, transform.f + (r + 0.5) * transform.e
        first = float(values[r, c])
        msg = (
            f"population raster {path} has {len(rows):,} cell(s) with a negative or infinite "
            f"population, first {first:g} at row {r + int(window.row_off)}, col "
            f"{c + int(window.col_off)} (x={x:.6g}, y={y:.6g} in {crs_name(crs)}); "
            "populations cannot be negative: set those cells to nodata or fix the source"
        )
        negatives = np.unique(values[bad])
        if len(negatives) == 1 and negatives[0] < 0:
            msg += (
                f" (all are {negatives[0]:g}: if that is a nodata marker, declare it, e.g. "
                f"`gdal_edit.py -a_nodata {negatives[0]:g} {path.name}`; raster nodata: {nodata})"
            )
        raise InputDataError(msg)


def _cell_area_m2(transform: Affine, crs: pyproj.CRS, rows: int) -> np.ndarray:
    """Area of each cell in m², shape ``(rows, 1)`` (it varies only with the row)."""
    width, height = abs(transform.a), abs(transform.e)
    if crs.is_geographic:
        ellipsoid = crs.ellipsoid
        if ellipsoid is None:  # pragma: no cover - a geographic CRS always has one
            msg = f"{crs_name(crs)} has no ellipsoid; cannot compute cell areas"
            raise CRSError(msg)
        a = ellipsoid.semi_major_metre
        b = ellipsoid.semi_minor_metre
        lat_top = transform.f + np.arange(rows + 1) * transform.e
        lat = np.clip(lat_top, -90.0, 90.0)
        strip = _authalic_integral(np.radians(lat), a, b)
        area = np.abs(np.diff(strip)) * math.radians(width)
        return area[:, None]
    unit = crs.axis_info[0].unit_conversion_factor if crs.axis_info else 1.0
    return np.full((rows, 1), width * height * unit * unit)


def _authalic_integral(phi: np.ndarray, a: float, b: float) -> np.ndarray:
    """Area per radian of longitude between the equator and latitude ``phi``, m²."""
    e2 = 1.0 - (b * b) / (a * a)
    s = np.sin(phi)
    if e2 == 0:
        return a * a * s
    e = math.sqrt(e2)
    q = s / (1.0 - e2 * s * s) + np.arctanh(e * s) / e
    return 0.5 * b * b * q


# ----------------------------------------------------------------------------- calibration


@overload
def calibrate_to_census(
    population: PopulationSurface,
    districts: gpd.GeoDataFrame,
    census: pd.DataFrame,
    *,
    district_col: str = ...,
    census_name_col: str = ...,
    census_pop_col: str = ...,
    value_col: str = ...,
) -> tuple[PopulationSurface, pd.DataFrame]: ...


@overload
def calibrate_to_census(
    population: gpd.GeoDataFrame,
    districts: gpd.GeoDataFrame,
    census: pd.DataFrame,
    *,
    district_col: str = ...,
    census_name_col: str = ...,
    census_pop_col: str = ...,
    value_col: str = ...,
) -> tuple[gpd.GeoDataFrame, pd.DataFrame]: ...


def calibrate_to_census(
    population: PopulationSurface | gpd.GeoDataFrame,
    districts: gpd.GeoDataFrame,
    census: pd.DataFrame,
    *,
    district_col: str = "name",
    census_name_col: str = "name",
    census_pop_col: str = "population",
    value_col: str = "residents",
) -> tuple[PopulationSurface | gpd.GeoDataFrame, pd.DataFrame]:
    """Scale modelled population so that each district sums to its census figure.

    Each district's people are multiplied by ``census / modelled``. A raster cell belongs
    to the district containing its centre; a point to the district containing it. Cells and
    points outside every district are left unchanged.

    Parameters
    ----------
    population
        A :class:`PopulationSurface`, or points (e.g. from
        :func:`siting.demand.demand_from_buildings`) with persons in ``value_col``.
    districts
        District polygons with a CRS and a name column; rows sharing a name are one district.
        Reprojected to the population's CRS as needed.
    census
        Table with one row per district: name and census population (persons).
    district_col, census_name_col, census_pop_col
        Column names. Names are compared as text with surrounding whitespace removed.
    value_col
        Persons column of a points layer (ignored for a surface).

    Returns
    -------
    population : PopulationSurface or GeoDataFrame
        Same type as given, scaled; a surface's ``estimate`` (and a points layer's
        ``estimate`` column, if any) says so. Points keep their index; input not modified.
    table : DataFrame
        One row per district, indexed by name: ``modelled`` and ``census`` (persons),
        ``factor`` (census / modelled; 1 where both are 0) and ``units`` (cells or points
        inside).

    Raises
    ------
    InputDataError
        If names do not match one to one (both sides' unmatched names are listed), census
        figures are missing or negative, districts overlap, or a district with a positive
        census figure has no modelled population.
    CRSError
        If the districts or the points have no CRS.
    """
    require_nonempty(districts, "districts")
    require_columns(districts, "districts", [district_col])
    missing = [c for c in (census_name_col, census_pop_col) if c not in census.columns]
    if missing:
        msg = (
            f"census lacks column(s) {missing}; it has {list(census.columns)}; pass "
            "`census_name_col=` / `census_pop_col=` to name yours"
        )
        raise InputDataError(msg)
    if districts.crs is None:
        msg = "districts have no CRS; set one with `districts.set_crs(...)`"
        raise CRSError(msg)
    names, figures = _match_census(districts, census, district_col, census_name_col, census_pop_col)
    if isinstance(population, PopulationSurface):
        zones = _dissolve(districts.to_crs(population.crs), names)
        code, counts, modelled = _surface_zones(population, zones)
    else:
        require_columns(population, "population", [value_col])
        if population.crs is None:
            msg = "the population points have no CRS; set one with `points.set_crs(...)`"
            raise CRSError(msg)
        zones = _dissolve(districts.to_crs(population.crs), names)
        code, counts, modelled = _point_zones(population, zones, value_col)
    census_pop = figures.reindex(zones.index).to_numpy(dtype=np.float64)
    empty = (modelled <= 0) & (census_pop > 0)
    if empty.any():
        unit = "cell" if isinstance(population, PopulationSurface) else "point"
        rows = [
            f"{name!r} (census {c:,.0f}, {n:,} {unit}(s) inside)"
            for name, c, n in zip(zones.index[empty], census_pop[empty], counts[empty], strict=True)
        ]
        msg = (
            f"{int(empty.sum())} district(s) have a census population but no modelled "
            f"population: {', '.join(rows)}; the modelled layer does not reach them (read the "
            "raster over every district, use finer cells, or merge tiny districts)"
        )
        raise InputDataError(msg)
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(modelled > 0, census_pop / modelled, 1.0)
    table = pd.DataFrame(
        {"modelled": modelled, "census": census_pop, "factor": factor, "units": counts},
        index=pd.Index(zones.index, name=district_col),
    )
    scale = np.concatenate([[1.0], factor])[code]
    note = f"scaled to census totals of {len(zones)} district(s) (factor census / modelled)"
    if isinstance(population, PopulationSurface):
        scaled = population.values * scale.reshape(population.shape)
        surface = replace(population, values=scaled, estimate=f"{population.estimate}; {note}")
        return surface, table
    points = population.copy()
    points[value_col] = population[value_col].to_numpy(dtype=np.float64) * scale
    if "estimate" in points.columns:
        points["estimate"] = points["estimate"].astype(str) + f"; {note}"
    return points, table


def _norm(values: pd.Series) -> pd.Series:
    return values.map(lambda v: None if pd.isna(v) else str(v).strip())


def _match_census(
    districts: gpd.GeoDataFrame,
    census: pd.DataFrame,
    district_col: str,
    name_col: str,
    pop_col: str,
) -> tuple[pd.Series, pd.Series]:
    names = _norm(districts[district_col])
    if names.isna().any():
        msg = (
            f"{int(names.isna().sum())} district(s) have no {district_col!r}; every district "
            "needs the name its census row carries"
        )
        raise InputDataError(msg)
    census_names = _norm(census[name_col])
    dupes = sorted(set(census_names[census_names.duplicated()].dropna()))
    if dupes:
        msg = f"census has several rows for {dupes}; keep one row per district (sum them first)"
        raise InputDataError(msg)
    ours, theirs = set(names), set(census_names.dropna())
    only_districts = sorted(ours - theirs)
    only_census = sorted(theirs - ours)
    if only_districts or only_census:
        hints = [
            f"{n!r} ~ {close[0]!r}"
            for n in only_districts
            if (close := get_close_matches(n, only_census, n=1, cutoff=0.5))
        ]
        msg = (
            "census names do not match the district names: "
            f"{len(only_districts)} district(s) without a census row {only_districts}; "
            f"{len(only_census)} census row(s) without a district {only_census}. Rename one "
            "side or drop rows that are not districts (totals), e.g. "
            f"`census[census[{name_col!r}].isin(districts[{district_col!r}])]`"
            + (f"; close matches: {', '.join(hints)}" if hints else "")
        )
        raise InputDataError(msg)
    figures = pd.to_numeric(census[pop_col], errors="coerce")
    bad = ~(figures >= 0) | ~np.isfinite(figures)
    if bad.any():
        shown = {str(n): v for n, v in zip(census_names[bad], census[pop_col][bad], strict=True)}
        msg = f"census {pop_col!r} must be a number of persons >= 0; bad value(s): {shown}"
        raise InputDataError(msg)
    return names, pd.Series(figures.to_numpy(dtype=np.float64), index=census_names.to_numpy())


def _dissolve(districts: gpd.GeoDataFrame, names: pd.Series) -> gpd.GeoSeries:
    geoms = shapely.make_valid(districts.geometry.to_numpy())
    parts: dict[Hashable, list[shapely.Geometry]] = {}
    for name, geom in zip(names, geoms, strict=True):
        parts.setdefault(name, []).append(geom)
    return gpd.GeoSeries(
        [shapely.union_all(g) for g in parts.values()],
        index=pd.Index(list(parts)),
        crs=districts.crs,
    )


def _overlap_error(pairs: set[tuple[str, str]], units: str) -> InputDataError:
    shown = ", ".join(f"{a!r} & {b!r}" for a, b in sorted(pairs)[:10])
    msg = (
        f"districts overlap ({units} inside more than one: {shown}); each person must "
        "belong to one district: fix the boundaries (e.g. `shapely.make_valid` and a "
        "topology clean) or merge the districts"
    )
    return InputDataError(msg)


def _surface_zones(
    surface: PopulationSurface, zones: gpd.GeoSeries
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """District code (0 = none) of each cell, cells and people per district."""
    shapes = [(g, i + 1) for i, g in enumerate(zones.to_numpy()) if not g.is_empty]
    kwargs = {"out_shape": surface.shape, "transform": surface.transform, "dtype": "int32"}
    code = rasterio.features.rasterize(shapes, fill=0, **kwargs)
    again = rasterio.features.rasterize(shapes[::-1], fill=0, **kwargs)
    if (code != again).any():
        both = np.unique(np.stack([code[code != again], again[code != again]]), axis=1)
        pairs: set[tuple[str, str]] = set()
        for a, b in both.T:
            first, second = sorted((str(zones.index[a - 1]), str(zones.index[b - 1])))
            pairs.add((first, second))
        raise _overlap_error(pairs, "cells")
    n = len(zones) + 1
    flat = code.ravel()
    people = np.nan_to_num(surface.values.ravel(), nan=0.0)
    counts = np.bincount(flat, minlength=n)[1:]
    modelled = np.bincount(flat, weights=people, minlength=n)[1:]
    return flat, counts, modelled


def _point_zones(
    points: gpd.GeoDataFrame, zones: gpd.GeoSeries, value_col: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """District code (0 = none) of each point, points and people per district."""
    geoms = points.geometry.to_numpy()
    where = geoms.copy()
    other = shapely.get_type_id(geoms) != 0
    where[other] = shapely.point_on_surface(geoms[other])
    left, right = zones.sindex.query(where, predicate="intersects")
    code = np.zeros(len(points), dtype=np.int64)
    code[left] = right + 1
    seen = np.bincount(left, minlength=len(points))
    if (seen > 1).any():
        pairs: set[tuple[str, str]] = set()
        for i in np.flatnonzero(seen > 1)[:50]:
            hit = sorted(str(zones.index[j]) for j in right[left == i])
            pairs.add((hit[0], hit[1]))
        raise _overlap_error(pairs, "points")
    values = pd.to_numeric(points[value_col], errors="coerce").to_numpy(dtype=np.float64)
    if not (np.isfinite(values) & (values >= 0)).all():
        msg = f"population points {value_col!r} must be finite numbers of persons >= 0"
        raise InputDataError(msg)
    n = len(zones) + 1
    counts = np.bincount(code, minlength=n)[1:]
    modelled = np.bincount(code, weights=values, minlength=n)[1:]
    return code, counts, modelled


# ----------------------------------------------------------------------------- under-3 share


def under3_share_from_cbr(cbr_per_mille: float) -> float:
    """Share of residents under 3 years old from the crude birth rate: 3 x CBR / 1000.

    Estimated as three yearly birth cohorts at today's rate (a stationary population):
    children aged 0, 1 and 2 are the births of the last three years. Child deaths (under-5
    mortality about 0.7 % in China) and migration are ignored. When births are falling, as
    in China since 2017, the two older cohorts were born at higher rates and the share is
    underestimated; use cohort counts where the statistics bureau publishes them.

    Parameters
    ----------
    cbr_per_mille
        Crude birth rate, live births per 1,000 residents per year (‰), e.g. 4.06 for
        Liaoning in 2023.

    Returns
    -------
    float
        Share of residents under 3 (0-1).

    Raises
    ------
    ConfigError
        If the rate is not a number between 1 and 60 per mille (the range of every
        population on record; a value below 1 is most likely a fraction, not per mille).

    Examples
    --------
    >>> round(under3_share_from_cbr(4.06), 5)
    0.01218
    """
    rate = float(cbr_per_mille)
    if not math.isfinite(rate) or rate < 1.0 or rate > 60.0:
        hint = (
            f" (a fraction? {rate:g} as per mille is {rate * 1000:g})"
            if math.isfinite(rate) and 0.0 < rate < 1.0
            else ""
        )
        msg = (
            f"cbr_per_mille must be live births per 1,000 residents between 1 and 60, got "
            f"{cbr_per_mille!r}{hint}; e.g. 4.06 for Liaoning 2023"
        )
        raise ConfigError(msg)
    return 3.0 * rate / 1000.0
