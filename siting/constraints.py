"""Constraints: parcels x hazards -> distances, pass/fail per rule, eligibility.

All distances are exact shapely distances between the parcel polygon and the hazard
geometry (point, line or polygon) in the analysis CRS (metres). A parcel fails a setback
rule when any feature of the rule's hazard class is closer than that feature's setback
(``distance < setback``); it fails a crossing ban when any such feature intersects it.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from siting._validate import require_columns, require_projected, require_same_crs
from siting.rulebook import Rule, Rulebook

__all__ = ["apply_constraints", "margin_column", "setback_zones", "setbacks_for"]


def margin_column(rule: Rule) -> str:
    """Name of the column holding a setback rule's margin (``margin_gas_10_m``)."""
    return "margin_" + rule.id.lower().replace("-", "_") + "_m"


def setbacks_for(rule: Rule, hazards: gpd.GeoDataFrame) -> np.ndarray:
    """Setback of each hazard feature under one rule, in metres (NaN where it does not apply)."""
    applies = hazards["hazard_class"].isin(rule.hazard_classes).to_numpy()
    out = np.full(len(hazards), np.nan)
    kv = hazards["voltage_kv"].to_numpy(dtype=float)
    for i in np.flatnonzero(applies):
        out[i] = rule.setback_m(kv[i] if rule.dist_by_kv else None)
    return out


def _nearest_dist(parcels: gpd.GeoDataFrame, feats: gpd.GeoDataFrame) -> np.ndarray:
    dist = np.full(len(parcels), np.inf)
    if len(feats) == 0:
        return dist
    (left, _), d = feats.sindex.nearest(parcels.geometry, return_distance=True)
    np.minimum.at(dist, left, d)
    return dist


def apply_constraints(
    parcels: gpd.GeoDataFrame,
    hazards: gpd.GeoDataFrame,
    rulebook: Rulebook,
) -> pd.DataFrame:
    """Test every parcel against every hard rule of the rulebook.

    Parameters
    ----------
    parcels
        Candidate polygons in a projected CRS (metres).
    hazards
        Output of :func:`siting.hazards.hazards_from_layers`, same CRS.
    rulebook
        Rules to apply.

    Returns
    -------
    DataFrame
        Aligned to ``parcels.index``:

        - ``dist_<hazard_class>_m``: distance to the nearest feature of each class the
          rulebook names (``inf`` if the study has none);
        - ``margin_<rule>_m`` for each setback rule: the smallest ``distance - setback`` over
          the rule's features (negative = inside the setback);
        - ``crosses_<rule>`` for each crossing ban;
        - ``excluded_by``: failing hard rule ids joined by ``";"`` (``""`` if none);
        - ``eligible``: no hard rule fails.

    Raises
    ------
    CRSError
        If a layer is not projected or the CRSs differ.
    """
    require_projected(parcels, "parcels")
    require_projected(hazards, "hazards")
    require_same_crs(parcels, "parcels", hazards, "hazards")
    require_columns(hazards, "hazards", ["hazard_class", "voltage_kv"])
    hazards = hazards.reset_index(drop=True)
    geoms = parcels.geometry.to_numpy()
    out = pd.DataFrame(index=parcels.index)
    failing: list[list[str]] = [[] for _ in range(len(parcels))]

    classes = sorted({c for r in rulebook.rules for c in r.hazard_classes})
    for cls in classes:
        out[f"dist_{cls}_m"] = _nearest_dist(parcels, hazards[hazards["hazard_class"] == cls])

    for rule in rulebook.rules:
        mask = hazards["hazard_class"].isin(rule.hazard_classes).to_numpy()
        feats = hazards[mask].reset_index(drop=True)
        if rule.kind == "no_cross":
            hit = np.zeros(len(parcels), dtype=bool)
            if len(feats):
                left, _ = feats.sindex.query(geoms, predicate="intersects")
                hit[left] = True
            out["crosses_" + rule.id.lower().replace("-", "_")] = hit
            fails = hit
        else:
            setback = setbacks_for(rule, feats)
            margin = np.full(len(parcels), np.inf)
            if len(feats):
                # Only features nearer than nearest + (max - min setback) can set the margin.
                reach = _nearest_dist(parcels, feats) + np.nanmax(setback) - np.nanmin(setback)
                finite = np.isfinite(reach)
                left, right = feats.sindex.query(
                    geoms[finite], predicate="dwithin", distance=reach[finite] + 1e-6
                )
                left = np.flatnonzero(finite)[left]
                d = shapely.distance(geoms[left], feats.geometry.to_numpy()[right])
                np.minimum.at(margin, left, d - setback[right])
            out[margin_column(rule)] = margin
            fails = margin < 0
        if rule.hard:
            for i in np.flatnonzero(fails):
                failing[i].append(rule.id)
    out["excluded_by"] = [";".join(ids) for ids in failing]
    out["eligible"] = out["excluded_by"] == ""
    return out


def setback_zones(hazards: gpd.GeoDataFrame, rulebook: Rulebook) -> gpd.GeoDataFrame:
    """Draw the area each setback rule forbids: hazards buffered by their setback.

    Parameters
    ----------
    hazards
        Hazards in a projected CRS.
    rulebook
        Rules whose setback zones to draw (crossing bans have no zone).

    Returns
    -------
    GeoDataFrame
        ``rule_id``, ``hazard_class`` (``;``-joined), ``n_features``, dissolved zone polygon.
    """
    require_projected(hazards, "hazards")
    rows = []
    for rule in rulebook.rules:
        if rule.kind != "setback":
            continue
        feats = hazards[hazards["hazard_class"].isin(rule.hazard_classes)]
        if len(feats) == 0:
            continue
        setback = setbacks_for(rule, feats)
        # 32 segments per quarter circle: the drawn zone is within 2 cm of the true setback.
        zone = shapely.union_all(shapely.buffer(feats.geometry.to_numpy(), setback, quad_segs=32))
        rows.append(
            {
                "rule_id": rule.id,
                "hazard_class": ";".join(rule.hazard_classes),
                "n_features": len(feats),
                "geometry": zone,
            }
        )
    if not rows:
        return gpd.GeoDataFrame(
            {"rule_id": [], "hazard_class": [], "n_features": []},
            geometry=gpd.GeoSeries([], crs=hazards.crs),
            crs=hazards.crs,
        )
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=hazards.crs)
