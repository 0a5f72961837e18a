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

User parcels (:func:`prepare_parcels`)
--------------------------------------
User parcels are checked like :func:`siting.readers.read_parcels` checks a parcel file.
Their own attribute columns are kept with an ``in_`` prefix (``landuse`` becomes
``in_landuse``), so they can never collide with the columns a study adds (``score``,
``rank``, ``eligible``, ``dist_*``, ``margin_*`` …). Columns that ``siting`` itself added
before the study (:data:`ANNOTATION_COLUMNS`: land-use roles from
:func:`siting.landuse.classify_parcels`, idle land, shape checks, reused buildings) keep
their names.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from siting._errors import ConfigError, CRSError, InputDataError
from siting._validate import require_projected

__all__ = [
    "ANNOTATION_COLUMNS",
    "ARTERIALS",
    "CANDIDATE_LANDUSE",
    "INPUT_PREFIX",
    "ROAD_HALF_WIDTH_M",
    "check_parcels_in_extent",
    "frontage",
    "parcels_from_blocks",
    "prepare_parcels",
]

log = logging.getLogger(__name__)

#: Prefix given to the user's own parcel columns by :func:`prepare_parcels`.
INPUT_PREFIX = "in_"

#: Columns siting adds to parcels before a study (:mod:`siting.landuse`,
#: :mod:`siting.idleland`, :mod:`siting.parcel_shape`, :mod:`siting.reuse`); kept unprefixed
#: by :func:`prepare_parcels`.
ANNOTATION_COLUMNS = frozenset(
    {"landuse_code", "landuse_name", "landuse_scheme", "landuse_role", "landuse_match",
     "landuse_confidence", "landuse_source", "landuse_basis", "land_status", "idle_land",
     "perimeter_m", "compactness", "width_m", "shape_ok", "shape_fail", "area_recorded_m2",
     "area_diff", "building_floors", "floors_assumed", "footprint_m2", "reuse_usable_m2",
     "reuse_of", "parcel_source"}
)  # fmt: skip

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


_NO_GEOMETRY_HINT = (
    "a table without geometry (e.g. a CSV) cannot be used; save it with its geometry "
    "(GeoPackage, Shapefile or GeoJSON)"
)


def _has_geometry(frame: pd.DataFrame) -> bool:
    """Whether ``frame`` is a GeoDataFrame with an active geometry column."""
    if not isinstance(frame, gpd.GeoDataFrame):
        return False
    try:
        frame.geometry  # noqa: B018 - raises AttributeError when no geometry column is set
    except AttributeError:
        return False
    return True


def _validate_parcels(
    parcels: pd.DataFrame,
    what: str,
    *,
    id_column: str | None = None,
    number_rows: bool = False,
) -> gpd.GeoDataFrame:
    """Check candidate parcels and return a copy with a text ``parcel_id``.

    Shared by :func:`siting.readers.read_parcels` and :func:`prepare_parcels`, so a parcel
    file and a GeoDataFrame pass the same checks with the same messages. Invalid polygons
    are repaired with ``make_valid`` (a warning is logged).

    Parameters
    ----------
    parcels
        The parcels as read or passed.
    what
        What they are, for messages (``"parcel file x.gpkg"``, ``"parcels"``).
    id_column
        Column holding the ids (copied to ``parcel_id``); default ``parcel_id``.
    number_rows
        Without ``id_column`` or a ``parcel_id`` column, number the rows ``P00000`` …
        instead of raising.

    Raises
    ------
    InputDataError
        No geometry column, no features, missing or empty geometries, non-polygons,
        missing id column, or missing or duplicate ids.
    CRSError
        No CRS.
    """
    if not _has_geometry(parcels):
        msg = (
            f"{what} has no geometry column; {_NO_GEOMETRY_HINT}, "
            f"it has columns {list(parcels.columns)}"
        )
        raise InputDataError(msg)
    assert isinstance(parcels, gpd.GeoDataFrame)  # for mypy: _has_geometry checked it
    if len(parcels) == 0:
        msg = f"{what} has no features"
        raise InputDataError(msg)
    missing_geom = parcels.geometry.isna() | parcels.geometry.is_empty
    if missing_geom.any():
        msg = (
            f"{int(missing_geom.sum())} parcel(s) in {what} have no geometry "
            f"(e.g. row {int(np.flatnonzero(missing_geom.to_numpy())[0])}); fix or drop them"
        )
        raise InputDataError(msg)
    if parcels.crs is None:
        msg = (
            f"{what} has no CRS; save the file with its CRS (e.g. add a .prj) "
            "or set it with GeoDataFrame.set_crs(...)"
        )
        raise CRSError(msg)
    parcels = parcels.copy()
    invalid = ~parcels.geometry.is_valid
    if invalid.any():
        # "structure" repair drops collapsed spikes, so a polygon stays a polygon.
        parcels.loc[invalid, parcels.geometry.name] = shapely.make_valid(
            parcels.geometry[invalid].to_numpy(), method="structure", keep_collapsed=False
        )
        log.warning("repaired %d invalid parcel geometries with make_valid", int(invalid.sum()))
    kinds = set(parcels.geometry.geom_type.dropna())
    if not kinds <= {"Polygon", "MultiPolygon"}:
        msg = f"parcels in {what} must be polygons, found {sorted(kinds)}"
        raise InputDataError(msg)
    column = id_column or "parcel_id"
    if column not in parcels.columns:
        if id_column is None and number_rows:
            parcels["parcel_id"] = [f"P{i:05d}" for i in range(len(parcels))]
            return parcels
        msg = f"{what} has no column {column!r}; it has {list(parcels.columns)}"
        if id_column is None:
            msg += "; add a unique parcel_id column (or read the file with id_column=...)"
        raise InputDataError(msg)
    ids = parcels[column]
    if ids.isna().any():
        msg = f"{int(ids.isna().sum())} parcel(s) in {what} have no {column!r}"
        raise InputDataError(msg)
    if pd.api.types.is_float_dtype(ids) and (ids == ids.round()).all():
        ids = ids.astype("int64")  # ids stored as floats: 1.0 -> "1"
    parcels["parcel_id"] = ids.astype(str)
    if parcels["parcel_id"].duplicated().any():
        dup = parcels.loc[parcels["parcel_id"].duplicated(), "parcel_id"].iloc[0]
        msg = f"parcel ids in {what} are not unique (e.g. {dup!r}); choose a unique id column"
        raise InputDataError(msg)
    return parcels


def prepare_parcels(parcels: gpd.GeoDataFrame, crs: object) -> gpd.GeoDataFrame:
    """Check user parcels, reproject them to the analysis CRS and add ``area_m2``.

    The input is not mutated.

    Parameters
    ----------
    parcels
        Polygons with a unique ``parcel_id`` column and a CRS, e.g. from
        :func:`siting.readers.read_parcels`.
    crs
        The analysis CRS (metres).

    Returns
    -------
    GeoDataFrame
        ``parcel_id`` (as text), ``geometry`` (in ``crs``), the user's other columns
        renamed with the prefix ``in_`` (:data:`INPUT_PREFIX`; ``landuse`` becomes
        ``in_landuse``) so that none collides with a column the study adds (``score``,
        ``rank``, ``eligible``, ``dist_*``, ``margin_*`` …), the columns siting added
        before (:data:`ANNOTATION_COLUMNS`) unchanged, and ``area_m2``.

    Raises
    ------
    InputDataError
        If ``parcels`` has no geometry column or no features, lacks ``parcel_id``, has
        missing or duplicate ids, missing or empty geometries, or non-polygons (invalid
        polygons are repaired with a warning, as in :func:`siting.readers.read_parcels`).
    CRSError
        If ``parcels`` has no CRS or ``crs`` is not projected in metres.
    """
    checked = _validate_parcels(parcels, "parcels")
    geom = checked.geometry.name
    others = [c for c in checked.columns if c not in {"parcel_id", geom}]
    out = gpd.GeoDataFrame(
        {
            "parcel_id": checked["parcel_id"],
            **{c if c in ANNOTATION_COLUMNS else f"{INPUT_PREFIX}{c}": checked[c] for c in others},
        },
        geometry=checked.geometry.rename("geometry"),
        crs=checked.crs,
    ).to_crs(crs)
    require_projected(out, "parcels (analysis CRS)")
    out["area_m2"] = out.area
    return out


def _extent_bounds(extent: object, crs: CRS | None) -> tuple[float, float, float, float]:
    """Bounds of a geometry, a GeoSeries/GeoDataFrame (reprojected to ``crs``) or a tuple."""
    bounds: Sequence[float]
    if isinstance(extent, gpd.GeoDataFrame | gpd.GeoSeries):
        frame = extent
        if frame.crs is not None and crs is not None and frame.crs != crs:
            frame = frame.to_crs(crs)
        bounds = frame.total_bounds
    elif isinstance(extent, shapely.Geometry):
        bounds = extent.bounds
    elif (
        isinstance(extent, Sequence | np.ndarray)
        and not isinstance(extent, str)
        and len(extent) == 4
    ):
        bounds = tuple(extent)
    else:
        msg = (
            "extent must be a shapely geometry, a GeoSeries/GeoDataFrame or bounds "
            f"(minx, miny, maxx, maxy); got {type(extent).__name__}"
        )
        raise ConfigError(msg)
    minx, miny, maxx, maxy = (float(b) for b in bounds)
    if not all(np.isfinite([minx, miny, maxx, maxy])) or minx > maxx or miny > maxy:
        msg = f"extent bounds {(minx, miny, maxx, maxy)} are empty or not finite"
        raise InputDataError(msg)
    return minx, miny, maxx, maxy


def _describe_bounds(bounds: tuple[float, float, float, float], crs: CRS | None) -> str:
    """Bounds in lon/lat when the CRS allows, else in the layer's own units."""
    minx, miny, maxx, maxy = bounds
    text = f"x {minx:.0f}..{maxx:.0f}, y {miny:.0f}..{maxy:.0f}"
    if crs is None:
        return text
    try:
        lon0, lat0, lon1, lat1 = (
            gpd.GeoSeries([shapely.box(*bounds)], crs=crs).to_crs("EPSG:4326").total_bounds
        )
    except Exception:  # description only: fall back to projected units
        return f"{text} ({crs.to_string()})"
    if not np.isfinite([lon0, lat0, lon1, lat1]).all():
        return f"{text} ({crs.to_string()})"
    return f"lon {lon0:.4f}..{lon1:.4f}, lat {lat0:.4f}..{lat1:.4f}"


def check_parcels_in_extent(
    parcels: gpd.GeoDataFrame, extent_geom_or_bounds: object, *, edge_m: float
) -> pd.Series:
    """Check that parcels lie where the OSM data is, and flag those near its edge.

    Hazards, streets and homes are read from the OSM extract only: parcels outside its
    bounding box cannot be assessed, and parcels near the edge may have hazards just
    outside the cut that the study does not see.

    Parameters
    ----------
    parcels
        Candidate parcels in a projected CRS (metres).
    extent_geom_or_bounds
        The street network's extent, in the parcels' CRS: a shapely geometry, bounds
        ``(minx, miny, maxx, maxy)``, or a GeoSeries/GeoDataFrame (reprojected to the
        parcels' CRS when its CRS differs). Only its bounding box is used.
    edge_m
        Width of the edge band, metres (e.g. the largest setback distance).

    Returns
    -------
    pandas.Series
        ``near_extract_edge`` (bool), indexed like ``parcels``: True for a parcel that is
        not wholly inside the bounding box shrunk by ``edge_m`` (it is within ``edge_m``
        of the edge, or crosses or lies outside it).

    Raises
    ------
    InputDataError
        If no parcel intersects the bounding box: the parcels are in one place and the
        OSM extract covers another (wrong CRS or wrong extract).
    ConfigError
        If ``edge_m`` is negative or not finite, or the extent is of an unknown type.
    CRSError
        If the parcels are not in a projected CRS.
    """
    require_projected(parcels, "parcels")
    if not np.isfinite(edge_m) or edge_m < 0:
        msg = f"edge_m must be a distance >= 0 in metres, got {edge_m}"
        raise ConfigError(msg)
    bounds = _extent_bounds(extent_geom_or_bounds, parcels.crs)
    if len(parcels) == 0:
        return pd.Series(np.zeros(0, dtype=bool), index=parcels.index, name="near_extract_edge")
    geoms = parcels.geometry.to_numpy()
    bbox = shapely.box(*bounds)
    if not shapely.intersects(geoms, bbox).any():
        x0, y0, x1, y1 = (float(b) for b in parcels.total_bounds)
        here = (x0, y0, x1, y1)
        msg = (
            f"no parcel lies within the street network's bounding box: the parcels are in "
            f"{_describe_bounds(here, parcels.crs)}, the OSM extract covers "
            f"{_describe_bounds(bounds, parcels.crs)}; check the parcels' CRS and that the "
            "extract covers the study area"
        )
        raise InputDataError(msg)
    minx, miny, maxx, maxy = bounds
    if maxx - minx > 2 * edge_m and maxy - miny > 2 * edge_m:
        inner = shapely.box(minx + edge_m, miny + edge_m, maxx - edge_m, maxy - edge_m)
        near = ~shapely.within(geoms, inner)
    else:  # the extract is narrower than two edge bands: every parcel is near an edge
        near = np.ones(len(parcels), dtype=bool)
    return pd.Series(near, index=parcels.index, name="near_extract_edge")


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
