"""Demand: residents and under-3 children, estimated from residential buildings.

Dasymetric estimate (:func:`demand_from_buildings`)
---------------------------------------------------
1. Residential buildings: ``building`` is a dwelling type (:data:`RESIDENTIAL_BUILDINGS`), or
   a generic ``building=yes`` standing in residential land use.
2. Floor area = footprint area x storeys (``building:levels`` when tagged, else
   :data:`DEFAULT_LEVELS` by type).
3. Residents = floor area / ``floor_m2_per_resident`` (default 40 m², China's 2020 census
   per-capita housing floor area of about 41.8 m², rounded), or the floor-area share of a
   known ``total_population``.
4. Under-3 children = residents x ``under3_share`` (rulebook ``under3_share``: 1.2 %,
   3 x Liaoning's 2023 crude birth rate).

Every number is an estimate and is labelled so in the ``estimate`` column.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd

from siting._errors import ConfigError, InputDataError
from siting._validate import require_columns, require_projected, require_same_crs

if TYPE_CHECKING:
    from siting.population import PopulationSurface

__all__ = [
    "DEFAULT_LEVELS",
    "RESIDENTIAL_BUILDINGS",
    "demand_from_buildings",
    "demand_from_raster",
]

#: ``building`` values counted as dwellings wherever they stand.
RESIDENTIAL_BUILDINGS = frozenset(
    {
        "residential",
        "apartments",
        "house",
        "detached",
        "semidetached_house",
        "terrace",
        "bungalow",
        "dormitory",
        "farm",
    }
)
#: ``building`` values counted as dwellings only inside residential land use.
_GENERIC_BUILDINGS = frozenset({"yes"})
#: Storeys assumed when ``building:levels`` is missing.
DEFAULT_LEVELS = {
    "house": 2.0,
    "detached": 2.0,
    "semidetached_house": 2.0,
    "terrace": 2.0,
    "bungalow": 1.0,
    "farm": 2.0,
    "apartments": 5.0,
    "dormitory": 4.0,
}
_DEFAULT_LEVELS_OTHER = 3.0


def demand_from_buildings(
    buildings: gpd.GeoDataFrame,
    landuse: gpd.GeoDataFrame,
    *,
    under3_share: float,
    floor_m2_per_resident: float = 40.0,
    total_population: float | None = None,
    dwellings: gpd.GeoDataFrame | None = None,
) -> gpd.GeoDataFrame:
    """Estimate residents and under-3 children per residential building.

    Parameters
    ----------
    buildings
        Footprints with ``building`` and ``levels`` columns, projected CRS (metres).
    landuse
        Land-use polygons with a ``landuse`` column, same CRS.
    under3_share
        Share of residents under 3 (0-1).
    floor_m2_per_resident
        Residential floor area per resident, m².
    total_population
        If given, residents are this total split by floor area instead.
    dwellings
        The residential buildings already found (:func:`dwellings_in_batches`, for
        buildings streamed from a file); ``buildings`` and ``landuse`` are then not read.

    Returns
    -------
    GeoDataFrame
        One point per residential building (its representative point): ``building_id``,
        ``floor_area_m2``, ``residents``, ``under3``, ``estimate``. Fresh RangeIndex.

    Raises
    ------
    ConfigError
        On a share outside 0-1 or a non-positive area per resident.
    InputDataError
        If no building is residential.
    """
    if not np.isfinite(under3_share) or not 0.0 <= under3_share <= 1.0:
        msg = f"under3_share must be a share between 0 and 1, got {under3_share}"
        raise ConfigError(msg)
    if not np.isfinite(floor_m2_per_resident) or floor_m2_per_resident <= 0:
        msg = f"floor_m2_per_resident must be positive, got {floor_m2_per_resident}"
        raise ConfigError(msg)
    if total_population is not None and (
        not np.isfinite(total_population) or total_population <= 0
    ):
        msg = f"total_population must be a positive number of residents, got {total_population}"
        raise ConfigError(msg)
    dw = _dwellings(buildings, landuse) if dwellings is None else dwellings
    if len(dw) == 0:
        raise InputDataError(_NO_DWELLINGS)
    floor, tagged = dw["floor_area_m2"].to_numpy(), dw["storeys_tagged"].to_numpy()
    if total_population is not None:
        residents = floor / floor.sum() * float(total_population)
        basis = f"floor-area share of {total_population:,.0f} residents"
    else:
        residents = floor / floor_m2_per_resident
        basis = f"floor area / {floor_m2_per_resident:g} m² per resident"
    estimate = pd.Categorical.from_codes(  # two texts, a code per home
        np.where(tagged, 0, 1),
        dtype=pd.CategoricalDtype([
            f"estimate: {basis}; storeys tagged",
            f"estimate: {basis}; storeys assumed by building type",
        ]),
    )  # fmt: skip
    return gpd.GeoDataFrame(
        {
            "building_id": dw["building_id"].to_numpy(),
            "floor_area_m2": floor,
            "residents": residents,
            "under3": residents * under3_share,
            "estimate": estimate,
        },
        geometry=dw.geometry.to_numpy(),
        crs=dw.crs,
    )


_NO_DWELLINGS = (
    "no residential buildings found (building=residential/apartments/house..., or "
    "building=yes inside landuse=residential); demand cannot be estimated"
)


def dwellings_in_batches(
    batches: Iterable[gpd.GeoDataFrame], landuse: gpd.GeoDataFrame
) -> gpd.GeoDataFrame:
    """Find the residential buildings among buildings read in batches (file order kept).

    The same points, floor areas and order as from all the buildings at once: each
    building is judged on its own tags and the land use under it.
    """
    found = [d for d in (_dwellings(b, landuse, require=False) for b in batches) if len(d)]
    if not found:
        return gpd.GeoDataFrame(
            {"building_id": [], "floor_area_m2": [], "storeys_tagged": []},
            geometry=gpd.GeoSeries([], crs=landuse.crs),
            crs=landuse.crs,
        )
    return gpd.GeoDataFrame(pd.concat(found, ignore_index=True), crs=landuse.crs)


def _dwellings(
    buildings: gpd.GeoDataFrame, landuse: gpd.GeoDataFrame, *, require: bool = True
) -> gpd.GeoDataFrame:
    """Residential buildings as points with floor area (footprint x storeys).

    Without any: an error, or (``require=False``) an empty table.
    """
    require_projected(buildings, "buildings")
    require_same_crs(buildings, "buildings", landuse, "landuse")
    require_columns(buildings, "buildings", ["building", "levels"])
    polys = buildings[buildings.geometry.geom_type.isin(["Polygon", "MultiPolygon"])]
    kind = polys["building"].fillna("yes").astype(str)
    points = polys.geometry.representative_point()
    residential_land = landuse[landuse["landuse"] == "residential"]
    in_res = np.zeros(len(polys), dtype=bool)
    if len(residential_land):
        left, _ = residential_land.sindex.query(points.to_numpy(), predicate="intersects")
        in_res[left] = True
    dwelling = kind.isin(RESIDENTIAL_BUILDINGS).to_numpy() | (
        kind.isin(_GENERIC_BUILDINGS).to_numpy() & in_res
    )
    if require and not dwelling.any():
        raise InputDataError(_NO_DWELLINGS)
    kind = kind[dwelling]
    levels = pd.to_numeric(polys["levels"][dwelling], errors="coerce")
    levels = levels.where(levels > 0)
    tagged = levels.notna()
    levels = levels.fillna(kind.map(DEFAULT_LEVELS)).fillna(_DEFAULT_LEVELS_OTHER)
    floor = polys.geometry[dwelling].area.to_numpy() * levels.to_numpy()
    ids = polys["id"][dwelling].to_numpy() if "id" in polys else np.flatnonzero(dwelling)
    return gpd.GeoDataFrame(
        {"building_id": ids, "floor_area_m2": floor, "storeys_tagged": tagged.to_numpy()},
        geometry=points[dwelling].to_numpy(),
        crs=buildings.crs,
    )


def demand_from_raster(
    surface: PopulationSurface,
    buildings: gpd.GeoDataFrame,
    landuse: gpd.GeoDataFrame,
    *,
    under3_share: float,
    dwellings: gpd.GeoDataFrame | None = None,
) -> gpd.GeoDataFrame:
    """Place a population raster's people in the residential buildings of each cell.

    Each cell's population is shared among the residential buildings (see
    :func:`demand_from_buildings`) whose representative point falls in the cell, in
    proportion to their floor area; a populated cell with no residential building keeps its
    people at the cell centre. The walk to a facility then starts at real front doors, not
    at a coarse cell centre.

    Parameters
    ----------
    surface
        From :func:`siting.population.read_population_raster` (any CRS), possibly calibrated.
    buildings, landuse
        Footprints and land use in the analysis CRS (projected, metres).
    under3_share
        Share of residents under 3 (0-1).
    dwellings
        The residential buildings already found (:func:`dwellings_in_batches`);
        ``buildings`` and ``landuse`` are then not read.

    Returns
    -------
    GeoDataFrame
        Points in the analysis CRS: ``building_id`` (``-1`` for cell centres),
        ``floor_area_m2``, ``residents``, ``under3``, ``estimate``. The residents sum to the
        surface's population over the cells the study covers.

    Raises
    ------
    ConfigError
        On a share outside 0-1.
    """
    if not np.isfinite(under3_share) or not 0.0 <= under3_share <= 1.0:
        msg = f"under3_share must be a share between 0 and 1, got {under3_share}"
        raise ConfigError(msg)
    if dwellings is not None:
        dw = dwellings
    else:
        require_projected(buildings, "buildings")
        dw = dwellings_in_batches([buildings], landuse)
    rows, cols = surface.shape
    values = np.nan_to_num(surface.values, nan=0.0).ravel()
    pts = dw.geometry.to_crs(surface.crs)
    t = surface.transform  # north-up, no rotation (PopulationSurface contract)
    col_f = (pts.x.to_numpy() - t.c) / t.a
    row_f = (pts.y.to_numpy() - t.f) / t.e
    col_i, row_i = np.floor(col_f).astype(int), np.floor(row_f).astype(int)
    inside = (col_i >= 0) & (col_i < cols) & (row_i >= 0) & (row_i < rows)
    cell = np.where(inside, row_i * cols + col_i, -1)
    floor = dw["floor_area_m2"].to_numpy(dtype=float)
    floor_in_cell = np.bincount(cell[inside], weights=floor[inside], minlength=rows * cols)
    share = np.zeros(len(dw))
    ok = inside & (floor_in_cell[np.maximum(cell, 0)] > 0)
    share[ok] = floor[ok] / floor_in_cell[cell[ok]]
    residents = np.where(ok, values[np.maximum(cell, 0)] * share, 0.0)
    keep = residents > 0
    empty = np.flatnonzero((values > 0) & (floor_in_cell == 0))
    cr, cc = np.divmod(empty, cols)
    cx, cy = t.c + (cc + 0.5) * t.a, t.f + (cr + 0.5) * t.e
    centres = gpd.GeoSeries(gpd.points_from_xy(cx, cy), crs=surface.crs).to_crs(dw.crs)
    source = surface.estimate or "population raster"
    return gpd.GeoDataFrame(
        {
            "building_id": np.concatenate([dw["building_id"].to_numpy()[keep],
                                           np.full(len(empty), -1)]),
            "floor_area_m2": np.concatenate([floor[keep], np.zeros(len(empty))]),
            "residents": np.concatenate([residents[keep], values[empty]]),
            "estimate": pd.Categorical.from_codes(
                np.r_[np.zeros(int(keep.sum()), dtype=int), np.ones(len(empty), dtype=int)],
                dtype=pd.CategoricalDtype([
                    f"{source}; shared among residential buildings by floor area",
                    f"{source}; cell centre (no residential building)",
                ]),
            ),
        },
        geometry=np.concatenate([dw.geometry.to_numpy()[keep], centres.to_numpy()]),
        crs=dw.crs,
    ).assign(under3=lambda d: d["residents"] * under3_share)[
        ["building_id", "floor_area_m2", "residents", "under3", "estimate", "geometry"]
    ]  # fmt: skip
