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

import geopandas as gpd
import numpy as np
import pandas as pd

from siting._errors import ConfigError, InputDataError
from siting._validate import require_columns, require_projected, require_same_crs

__all__ = ["DEFAULT_LEVELS", "RESIDENTIAL_BUILDINGS", "demand_from_buildings"]

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
    if not dwelling.any():
        msg = (
            "no residential buildings found (building=residential/apartments/house..., or "
            "building=yes inside landuse=residential); demand cannot be estimated"
        )
        raise InputDataError(msg)
    kind = kind[dwelling]
    levels = pd.to_numeric(polys["levels"][dwelling], errors="coerce")
    levels = levels.where(levels > 0)
    tagged = levels.notna()
    levels = levels.fillna(kind.map(DEFAULT_LEVELS)).fillna(_DEFAULT_LEVELS_OTHER)
    floor = polys.geometry[dwelling].area.to_numpy() * levels.to_numpy()
    if total_population is not None:
        residents = floor / floor.sum() * float(total_population)
        basis = f"floor-area share of {total_population:,.0f} residents"
    else:
        residents = floor / floor_m2_per_resident
        basis = f"floor area / {floor_m2_per_resident:g} m² per resident"
    estimate = np.where(
        tagged.to_numpy(),
        f"estimate: {basis}; storeys tagged",
        f"estimate: {basis}; storeys assumed by building type",
    )
    ids = polys["id"][dwelling].to_numpy() if "id" in polys else np.flatnonzero(dwelling)
    return gpd.GeoDataFrame(
        {
            "building_id": ids,
            "floor_area_m2": floor,
            "residents": residents,
            "under3": residents * under3_share,
            "estimate": estimate,
        },
        geometry=points[dwelling].to_numpy(),
        crs=buildings.crs,
    )
