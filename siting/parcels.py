"""Candidate parcels: from the user's file, or derived from OSM as street blocks.

Method for derived parcels (:func:`parcels_from_blocks`)
--------------------------------------------------------
1. Take OSM land-use polygons of the candidate classes (default ``residential``, ``mixed``,
   and ``commercial``/``retail``, which stand in for mixed-use centres since OSM rarely
   tags ``landuse=mixed``), dissolved per class.
2. Subtract the street corridors: every driveable OSM road buffered by a half-width for its
   class (:data:`ROAD_HALF_WIDTH_M`, motorway 15 m … residential 4 m).
3. Each remaining connected piece is a street block, i.e. a candidate parcel. Pieces smaller
   than ``min_area_m2`` (default 500 m²) are dropped as too small for a facility.

This approximates the blocks a bureau's regulatory-plan parcels would follow; real parcel
layers (``read_parcels``) should be preferred when available.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from siting._errors import InputDataError
from siting._validate import require_projected

__all__ = [
    "ARTERIALS",
    "CANDIDATE_LANDUSE",
    "ROAD_HALF_WIDTH_M",
    "frontage",
    "parcels_from_blocks",
    "prepare_parcels",
]

#: OSM land-use classes whose street blocks become candidates by default.
CANDIDATE_LANDUSE = ("residential", "mixed", "commercial", "retail")

#: Half-width of the street corridor subtracted from land use, by ``highway`` class (m).
ROAD_HALF_WIDTH_M = {
    "motorway": 15.0,
    "motorway_link": 8.0,
    "trunk": 12.0,
    "trunk_link": 6.0,
    "primary": 10.0,
    "primary_link": 5.0,
    "secondary": 8.0,
    "secondary_link": 5.0,
    "tertiary": 6.0,
    "tertiary_link": 4.0,
    "residential": 4.0,
    "unclassified": 4.0,
    "living_street": 3.0,
    "service": 2.5,
    "road": 4.0,
}
_DEFAULT_HALF_WIDTH_M = 4.0
_QUAD_SEGS = 16


def parcels_from_blocks(
    landuse: gpd.GeoDataFrame,
    roads: gpd.GeoDataFrame,
    *,
    classes: tuple[str, ...] = CANDIDATE_LANDUSE,
    min_area_m2: float = 500.0,
) -> gpd.GeoDataFrame:
    """Derive candidate parcels as street blocks inside candidate land use.

    Parameters
    ----------
    landuse
        Polygons with a ``landuse`` column, in a projected CRS (metres).
    roads
        Street lines with a ``highway`` column, same CRS.
    classes
        Land-use values whose blocks are candidates, in priority order: where land-use
        polygons overlap, the area goes to the earlier class.
    min_area_m2
        Smallest block kept, in m².

    Returns
    -------
    GeoDataFrame
        ``parcel_id`` (``"B0001"`` … ordered west to east, then south to north),
        ``landuse``, ``parcel_source`` (``"street_block"``), polygons.

    Raises
    ------
    CRSError
        If a layer is not in a projected CRS.
    InputDataError
        If no land use of the candidate classes exists, or no block is large enough.
    """
    require_projected(landuse, "landuse")
    require_projected(roads, "roads")
    land = landuse[
        landuse["landuse"].isin(classes)
        & landuse.geometry.geom_type.isin(["Polygon", "MultiPolygon"])
    ]
    if len(land) == 0:
        msg = (
            f"no land use of classes {list(classes)} to derive candidate parcels from; "
            "pass a parcel file (--parcels) or other land-use classes"
        )
        raise InputDataError(msg)
    widths = roads["highway"].map(ROAD_HALF_WIDTH_M).fillna(_DEFAULT_HALF_WIDTH_M).to_numpy()
    # 16 segments per quarter circle: round joins are within 2 cm of the nominal half-width.
    corridors = shapely.union_all(
        shapely.buffer(roads.geometry.to_numpy(), widths, quad_segs=_QUAD_SEGS)
    )
    pieces = []
    taken = shapely.Polygon()
    # Classes in the order given: land claimed by an earlier class is not reused, so
    # overlapping land-use polygons never give overlapping parcels.
    for cls in [c for c in classes if (land["landuse"] == c).any()]:
        group = land[land["landuse"] == cls]
        area = shapely.union_all(shapely.make_valid(group.geometry.to_numpy()))
        area = shapely.difference(area, taken)
        taken = shapely.union(taken, area)
        blocks = shapely.difference(area, corridors) if len(roads) else area
        parts = shapely.get_parts(blocks)
        parts = parts[shapely.get_type_id(parts) == 3]  # polygons only
        pieces.append(
            gpd.GeoDataFrame({"landuse": [cls] * len(parts)}, geometry=parts, crs=landuse.crs)
        )
    blocks_gdf = gpd.GeoDataFrame(pd.concat(pieces, ignore_index=True), crs=landuse.crs)
    blocks_gdf = blocks_gdf[blocks_gdf.area >= min_area_m2]
    if len(blocks_gdf) == 0:
        msg = f"no street block of at least {min_area_m2:g} m² in the candidate land use"
        raise InputDataError(msg)
    pts = blocks_gdf.geometry.representative_point()
    order = np.lexsort((np.round(pts.y.to_numpy()), np.round(pts.x.to_numpy())))
    blocks_gdf = blocks_gdf.iloc[order].reset_index(drop=True)
    blocks_gdf.insert(0, "parcel_id", [f"B{i + 1:04d}" for i in range(len(blocks_gdf))])
    blocks_gdf["parcel_source"] = "street_block"
    return blocks_gdf


def prepare_parcels(parcels: gpd.GeoDataFrame, crs: object) -> gpd.GeoDataFrame:
    """Reproject user parcels to the analysis CRS and add ``area_m2``, without mutating input.

    Parameters
    ----------
    parcels
        Polygons with a ``parcel_id`` column and a CRS.
    crs
        The analysis CRS (metres).
    """
    out = parcels.to_crs(crs)
    require_projected(out, "parcels (analysis CRS)")
    out["area_m2"] = out.area
    return out


#: ``highway`` classes that are urban arterials (城市干道) for the entrance rule (SITE-10).
ARTERIALS = frozenset(
    {"motorway", "motorway_link", "trunk", "trunk_link", "primary", "primary_link",
     "secondary", "secondary_link"}
)  # fmt: skip


def frontage(
    parcels: gpd.GeoDataFrame, roads: gpd.GeoDataFrame, *, reach_m: float = 5.0
) -> pd.DataFrame:
    """Which streets each parcel fronts, and whether its only frontage is an arterial.

    A parcel fronts a road when the road's centreline is within the road's corridor
    half-width (:data:`ROAD_HALF_WIDTH_M`) plus ``reach_m`` of the parcel. JGJ 39 (SITE-10)
    does not want the main gate on an urban arterial, so a parcel whose every frontage road
    is an arterial (:data:`ARTERIALS`) is flagged.

    Parameters
    ----------
    parcels
        Polygons in a projected CRS.
    roads
        Street lines with ``highway``, same CRS.
    reach_m
        Extra distance beyond the corridor half-width, metres.

    Returns
    -------
    DataFrame
        Aligned to ``parcels``: ``frontage_roads`` (number of roads fronted),
        ``arterial_only_frontage`` (1.0 when every fronted road is an arterial, else 0.0).
    """
    require_projected(parcels, "parcels")
    require_projected(roads, "roads")
    n = len(parcels)
    count = np.zeros(n, dtype=int)
    minor = np.zeros(n, dtype=int)
    if len(roads) and n:
        widths = roads["highway"].map(ROAD_HALF_WIDTH_M).fillna(_DEFAULT_HALF_WIDTH_M).to_numpy()
        road_idx, parcel_idx = shapely.STRtree(parcels.geometry.to_numpy()).query(
            roads.geometry.to_numpy(), predicate="dwithin", distance=widths + reach_m
        )
        np.add.at(count, parcel_idx, 1)
        is_minor = ~roads["highway"].isin(list(ARTERIALS)).to_numpy()
        np.add.at(minor, parcel_idx, is_minor[road_idx].astype(int))
    return pd.DataFrame(
        {"frontage_roads": count,
         "arterial_only_frontage": ((count > 0) & (minor == 0)).astype(float)},
        index=parcels.index,
    )  # fmt: skip
