"""The user's own layers in their study roles: hazards and facilities, merged with OSM.

A bureau has better data than OSM for some roles (its fuel-station register, the grid
company's lines with their voltage, the geohazard survey) and none for others. Each user
layer is turned into the rows the study already reads: hazard features with the attributes
rules test (:data:`siting.hazards.HAZARD_COLUMNS`), or facilities in the ``amenities``
schema (existing childcare with its capacity, public resources). Per role the OSM features
are then kept (``"merge"``, the default: OSM features that the user's layer already holds,
within ``dedupe_m``, are dropped), replaced (``"replace"``) or used alone (``"osm"``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from siting._errors import ConfigError, InputDataError
from siting.crs import metric_crs
from siting.hazards import ASSUMED_KV, HAZARD_COLUMNS, parse_voltage_kv
from siting.sources import LAYER_COLUMNS

__all__ = [
    "AMENITY_ROLES",
    "HAZARD_ROLES",
    "OsmPolicy",
    "amenities_from_user",
    "hazards_from_user",
    "merge_amenities",
    "merge_hazards",
]

log = logging.getLogger(__name__)

#: OSM policy of a role: keep OSM and add the user's features (de-duplicated), replace the
#: OSM features of the role by the user's, or ignore the user's.
OsmPolicy = Literal["merge", "replace", "osm"]

#: Hazard roles and the hazard class each gives (``pollution_sources`` take theirs from the
#: config: industrial, landfill, wastewater_plant, waste_transfer, hospital, ...).
HAZARD_ROLES: dict[str, str | None] = {
    "fuel_stations": "fuel_station",
    "pipelines": "pipeline",
    "power_lines": "power_line",
    "substations": "substation",
    "pollution_sources": None,
    "geohazards": "geohazard",
}

#: Facility roles and the OSM ``amenity`` value they default to.
AMENITY_ROLES: dict[str, str] = {
    "existing_childcare": "childcare",
    "public_resources": "community_centre",
}

#: Distance within which a user feature and an OSM feature of the same role are one, metres.
DEDUPE_M = 30.0


def _column(layer: gpd.GeoDataFrame, column: str | None, key: str, what: str) -> pd.Series:
    """Return the user's column ``column`` (config key ``key``), or raise a clear error."""
    if column is None:
        return pd.Series([None] * len(layer), index=layer.index, dtype=object)
    if column not in layer.columns:
        have = [c for c in layer.columns if c != layer.geometry.name]
        msg = f"{what}: {key} = {column!r} is not a column of the layer; set {key} to one of {have}"
        raise ConfigError(msg)
    return layer[column]


def hazards_from_user(
    layer: gpd.GeoDataFrame,
    hazard_class: str,
    *,
    what: str,
    subtype: str = "",
    subtype_column: str | None = None,
    voltage_column: str | None = None,
    substance_column: str | None = None,
    name_column: str | None = None,
) -> gpd.GeoDataFrame:
    """Turn a user layer into hazard features that the rules test.

    Parameters
    ----------
    layer
        The user's features, with a CRS.
    hazard_class
        e.g. ``"fuel_station"``, ``"power_line"``, ``"pipeline"``, ``"geohazard"``,
        ``"industrial"`` (see :data:`HAZARD_ROLES` and the rulebook's classes).
    what
        The role, for messages (e.g. ``"layers.power_lines"``).
    subtype, subtype_column
        Subtype for every feature (e.g. ``"lpg"``) or the column holding it.
    voltage_column
        Power lines: the column with the voltage (``"110kV"``, ``110``, ``"110000"``).
        Values that do not parse are assumed as for OSM lines (220 kV) and flagged
        ``voltage_assumed``. Required for ``power_line``.
    substance_column
        Pipelines: the column with the substance (gas, oil, ...).
    name_column
        Column with the feature's name.

    Returns
    -------
    GeoDataFrame
        :data:`~siting.hazards.HAZARD_COLUMNS` in the layer's CRS, ``osm_id`` = ``None``.

    Raises
    ------
    ConfigError
        If a named column is missing, or a power-line layer has no voltage column.
    InputDataError
        If the layer has features without geometry.
    """
    if layer.geometry.isna().any() or layer.geometry.is_empty.any():
        bad = np.flatnonzero((layer.geometry.isna() | layer.geometry.is_empty).to_numpy())
        msg = f"{what}: features {bad[:10].tolist()} have no geometry; remove them"
        raise InputDataError(msg)
    if hazard_class == "power_line" and voltage_column is None:
        msg = (
            f'{what}: say which column holds the voltage (voltage = "COLUMN"); setbacks '
            f"from power lines depend on it (PWR-01, PWR-09)"
        )
        raise ConfigError(msg)
    sub: pd.Series | str = subtype
    if subtype_column:
        sub = _column(layer, subtype_column, "subtype_column", what).fillna(subtype)
        sub = sub.astype(str).str.strip().str.lower()
    kv = _column(layer, voltage_column, "voltage", what).map(parse_voltage_kv)
    assumed = kv.isna() & (hazard_class == "power_line")
    if hazard_class == "power_line":
        if assumed.any():
            log.warning(
                "%s: %d of %d lines have no readable voltage; assumed %g kV",
                what, int(assumed.sum()), len(layer), ASSUMED_KV["line"],
            )  # fmt: skip
        kv = kv.fillna(ASSUMED_KV["line"])
    substance = _column(layer, substance_column, "substance", what)
    frame = pd.DataFrame(
        {
            "hazard_class": hazard_class,
            "subtypes": sub,
            "osm_id": None,
            "name": _column(layer, name_column, "name", what).to_numpy(),
            "voltage_kv": pd.to_numeric(kv, errors="coerce").to_numpy(dtype=float),
            "voltage_assumed": assumed.to_numpy(dtype=bool),
            "substance": substance.to_numpy(),
            "substance_assumed": substance.isna().to_numpy() & (hazard_class == "pipeline"),
        },
        index=range(len(layer)),
    )
    return gpd.GeoDataFrame(
        frame[HAZARD_COLUMNS], geometry=layer.geometry.to_numpy(), crs=layer.crs
    )


def amenities_from_user(
    layer: gpd.GeoDataFrame,
    amenity: str,
    *,
    what: str,
    type_column: str | None = None,
    capacity_column: str | None = None,
    name_column: str | None = None,
) -> gpd.GeoDataFrame:
    """Turn a user layer of facilities into rows of the ``amenities`` layer.

    Parameters
    ----------
    layer
        Points or polygons with a CRS.
    amenity
        OSM ``amenity`` value of every row (e.g. ``"childcare"``), unless ``type_column``.
    what
        The role, for messages.
    type_column
        Column holding the amenity value per row (``kindergarten``, ``clinic``, ...).
    capacity_column
        Column with the capacity (places); kept as text like the OSM tag and read by
        :func:`siting.supply.facility_capacity` (missing values are estimated, labelled).
    name_column
        Column with the facility's name.

    Returns
    -------
    GeoDataFrame
        The ``amenities`` columns (:data:`siting.sources.LAYER_COLUMNS`), ``osm_type`` =
        ``"user"``, in the layer's CRS.
    """
    kind: pd.Series | str = amenity
    if type_column:
        kind = _column(layer, type_column, "type_column", what).fillna(amenity).astype(str)
    capacity = _column(layer, capacity_column, "capacity", what)
    capacity = capacity.map(lambda v: None if pd.isna(v) else str(v))
    frame = pd.DataFrame(
        {
            "id": [f"user:{what}:{i}" for i in range(len(layer))],
            "osm_type": "user",
            "amenity": kind,
            "name": _column(layer, name_column, "name", what).to_numpy(),
            "fuel_tags": None,
            "capacity": capacity.to_numpy(),
        },
        index=range(len(layer)),
    )
    return gpd.GeoDataFrame(
        frame[LAYER_COLUMNS["amenities"]], geometry=layer.geometry.to_numpy(), crs=layer.crs
    )


def _duplicates(osm: gpd.GeoSeries, user: gpd.GeoSeries, *, dedupe_m: float) -> np.ndarray:
    """Whether each OSM feature is already in the user's layer (metric CRS).

    A point is when a user feature is within ``dedupe_m``; a line or polygon is when it lies
    wholly within ``dedupe_m`` of the user's features.
    """
    if len(user) == 0 or len(osm) == 0:
        return np.zeros(len(osm), dtype=bool)
    near = shapely.buffer(shapely.union_all(user.to_numpy()), dedupe_m)
    geoms = osm.to_numpy()
    points = shapely.get_type_id(geoms) == 0
    return np.where(points, shapely.intersects(near, geoms), shapely.covers(near, geoms))


def _merge(
    osm: gpd.GeoDataFrame,
    user: Mapping[str, tuple[gpd.GeoDataFrame, OsmPolicy]],
    key: str,
    dedupe_m: float,
) -> gpd.GeoDataFrame:
    """Merge user layers into ``osm``, per value of ``key`` (hazard class or amenity)."""
    crs = metric_crs(osm) if len(osm) else None
    keep = np.ones(len(osm), dtype=bool)
    parts = []
    for role, (layer, policy) in user.items():
        if policy not in {"merge", "replace", "osm"}:
            msg = f'layers.{role}: osm = {policy!r}; use "merge", "replace" or "osm"'
            raise ConfigError(msg)
        if policy == "osm":
            continue
        mine = layer.to_crs(osm.crs)
        for value in pd.unique(mine[key]):
            same = (osm[key] == value).to_numpy()
            dropped = same.copy()
            if policy == "merge" and crs is not None:
                dup = _duplicates(
                    osm.geometry[same].to_crs(crs),
                    mine.geometry[(mine[key] == value).to_numpy()].to_crs(crs),
                    dedupe_m=dedupe_m,
                )
                dropped[np.flatnonzero(same)[~dup]] = False
            keep &= ~dropped
            log.info("%s: %d OSM %s features dropped (%s)", role, dropped.sum(), value, policy)
        parts.append(mine)
    out = pd.concat([osm[keep], *parts], ignore_index=True)
    return gpd.GeoDataFrame(out, geometry="geometry", crs=osm.crs)


def merge_hazards(
    osm: gpd.GeoDataFrame,
    user: Mapping[str, tuple[gpd.GeoDataFrame, OsmPolicy]],
    *,
    dedupe_m: float = DEDUPE_M,
) -> gpd.GeoDataFrame:
    """Merge the user's hazard layers with those from OSM, role by role.

    Parameters
    ----------
    osm
        From :func:`siting.hazards.hazards_from_layers`.
    user
        Role → (hazards from :func:`hazards_from_user`, OSM policy). With ``"merge"``, OSM
        features of the same hazard class that the user's layer already holds (within
        ``dedupe_m``) are dropped; with ``"replace"``, every OSM feature of that class is;
        with ``"osm"`` the user's layer is not used.
    dedupe_m
        Metres within which two features are the same.

    Returns
    -------
    GeoDataFrame
        In the CRS of ``osm``; OSM rows first, then the user's, fresh index.

    Raises
    ------
    ConfigError
        If a policy is not one of ``"merge"``, ``"replace"``, ``"osm"``.
    """
    return _merge(osm, user, "hazard_class", dedupe_m)


def merge_amenities(
    osm: gpd.GeoDataFrame,
    user: Mapping[str, tuple[gpd.GeoDataFrame, OsmPolicy]],
    *,
    dedupe_m: float = DEDUPE_M,
) -> gpd.GeoDataFrame:
    """Merge the user's facility layers into the OSM ``amenities`` layer, role by role.

    As :func:`merge_hazards`, by ``amenity`` value instead of hazard class: e.g. the bureau's
    register of childcare centres replaces or completes OSM's ``amenity=childcare``.
    """
    return _merge(osm, user, "amenity", dedupe_m)
