"""Constraints: parcels x hazards -> exact distances, pass/fail per rule, eligibility.

Every test uses exact shapely distances between the parcel polygon and the hazard geometry
(point, line or polygon) in the analysis CRS (metres); buffers are drawn only for display
(:func:`setback_zones`). A parcel fails

- a ``setback`` rule when a feature the rule applies to is closer than that feature's
  threshold (``distance < threshold``),
- a ``no_cross`` rule when such a feature intersects it (a line crossing the parcel far from
  any vertex counts: GEOS intersects, not a vertex distance),
- an ``adjacent`` rule when such a feature touches it or is within ``dist_m``.

Soft bands give ``penalty_<rule>`` in 0-1 (``1 - distance / soft_dist_m``).

Speed: one spatial query for all hazards at once — an STRtree of the parcels is asked, for
each hazard, for the parcels within that hazard class's screening radius (the largest
threshold or soft band of its rules) — then exact distances for those pairs only.
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from siting._validate import require_columns, require_projected, require_same_crs
from siting.rulebook import Rule, Rulebook, column_key

__all__ = [
    "applies_to",
    "apply_constraints",
    "buildable_area",
    "clearance",
    "compliance_table",
    "rule_key",
    "setback_buffers",
    "setback_zones",
    "thresholds",
]


def rule_key(rule: Rule) -> str:
    """Column-safe form of a rule id (``"GAS-10"`` → ``"gas_10"``)."""
    return column_key(rule.id)


def applies_to(
    rule: Rule, hazards: gpd.GeoDataFrame, *, subtype_sets: pd.Series | None = None
) -> np.ndarray:
    """Boolean mask of the hazard features a rule applies to (class, subtypes, min_kv).

    ``subtype_sets`` (the ``subtypes`` column split into sets) may be passed to avoid
    splitting it again for every rule.
    """
    mask = hazards["hazard_class"].isin(rule.hazard_classes).to_numpy().copy()
    if rule.subtypes is not None:
        wanted = {s.strip().lower() for s in rule.subtypes}
        if subtype_sets is None:
            subtype_sets = _subtype_sets(hazards)
        mask &= subtype_sets.map(lambda s: bool(wanted & s)).to_numpy(dtype=bool)
    if rule.min_kv is not None:
        is_power = hazards["hazard_class"].isin(["power_line", "power_cable"]).to_numpy()
        kv = hazards["voltage_kv"].to_numpy(dtype=float)
        mask &= ~is_power | (np.nan_to_num(kv, nan=np.inf) >= rule.min_kv)
    return mask


def _subtype_sets(hazards: gpd.GeoDataFrame) -> pd.Series:
    """Each feature's subtypes as a set, normalised ("petrol; LPG" -> {"petrol", "lpg"})."""
    return (
        hazards["subtypes"].fillna("").astype(str).str.lower().str.split(";")
        .map(lambda parts: {p.strip() for p in parts if p.strip()})
    )  # fmt: skip


def thresholds(
    rule: Rule, hazards: gpd.GeoDataFrame, *, mask: np.ndarray | None = None
) -> np.ndarray:
    """Hard threshold of each feature under a rule, metres (NaN where it does not apply)."""
    if mask is None:
        mask = applies_to(rule, hazards)
    out = np.full(len(hazards), np.nan)
    if rule.dist_by_kv:
        kv = hazards["voltage_kv"].to_numpy(dtype=float)
        for i in np.flatnonzero(mask):
            out[i] = rule.setback_m(kv[i])
    else:
        out[mask] = rule.setback_m()
    return out


def _group_min(index: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    out = np.full(n, np.inf)
    if len(index):
        np.minimum.at(out, index, values)
    return out


def _segments(geoms: np.ndarray, owner: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Split lines into two-point segments (other geometries stay whole), keeping owners.

    Long lines have huge bounding boxes; segments let the spatial index prune far better.
    """
    kind = shapely.get_type_id(geoms)
    is_line = (kind == 1) | (kind == 5)  # LineString, MultiLineString
    lines, line_owner = shapely.get_parts(geoms[is_line], return_index=True)
    coords, which = shapely.get_coordinates(lines, return_index=True)
    same = which[:-1] == which[1:]
    segs = shapely.linestrings(np.stack([coords[:-1][same], coords[1:][same]], axis=1))
    seg_owner = owner[is_line][line_owner[which[:-1][same]]]
    return (np.concatenate([geoms[~is_line], segs]),
            np.concatenate([owner[~is_line], seg_owner]))  # fmt: skip


def _pairs_within(
    pgeoms: np.ndarray, hgeoms: np.ndarray, h_sel: np.ndarray, search: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Hazard/parcel pairs closer than each hazard's search radius, with exact distances.

    A pair may appear more than once (one per segment of a line); every use is a minimum.
    """
    parts, owner = _segments(hgeoms[h_sel], h_sel)
    r = search[owner]
    x0, y0, x1, y1 = shapely.bounds(parts).T
    boxes = shapely.box(x0 - r, y0 - r, x1 + r, y1 + r)
    part_idx, p_idx = shapely.STRtree(pgeoms).query(boxes)
    d = shapely.distance(pgeoms[p_idx], parts[part_idx])
    keep = d <= r[part_idx]
    return owner[part_idx][keep], p_idx[keep], d[keep]


def apply_constraints(
    parcels: gpd.GeoDataFrame,
    hazards: gpd.GeoDataFrame,
    rulebook: Rulebook,
) -> pd.DataFrame:
    """Test every parcel against every active rule of the rulebook.

    Parameters
    ----------
    parcels
        Candidate polygons in a projected CRS (metres).
    hazards
        Output of :func:`siting.hazards.hazards_from_layers` (or the same columns from the
        user's layers), same CRS.
    rulebook
        Rules to apply (``info`` and disabled rules are skipped).

    Returns
    -------
    DataFrame
        Aligned to ``parcels.index``:

        - ``dist_<class>_m``: distance to the nearest feature of each class the rules name,
          exact within the class's screening radius (``.attrs["screening_m"]``), ``inf``
          beyond it or when the study has none;
        - ``dist_<rule>_m``: the same for the features the rule applies to;
        - ``margin_<rule>_m`` (setback and adjacent rules): the smallest
          ``distance - threshold`` (negative = inside the setback);
        - ``penalty_<rule>`` (rules with a soft band): 0-1;
        - ``excluded_by``: failing hard rule ids joined by ``";"`` (``""`` if none);
        - ``eligible``: no hard rule fails.

    Raises
    ------
    CRSError
        If a layer is not projected or the CRSs differ.
    InputDataError
        If the hazards lack ``hazard_class``, ``subtypes`` or ``voltage_kv``.
    """
    require_projected(parcels, "parcels")
    require_projected(hazards, "hazards")
    require_same_crs(parcels, "parcels", hazards, "hazards")
    require_columns(hazards, "hazards", ["hazard_class", "subtypes", "voltage_kv"])
    hz = hazards.reset_index(drop=True)
    rules = rulebook.active_rules
    n = len(parcels)

    sets = _subtype_sets(hz)
    masks = {r.id: applies_to(r, hz, subtype_sets=sets) for r in rules}
    limits = {r.id: thresholds(r, hz, mask=masks[r.id]) for r in rules}
    reach = np.zeros(len(hz))
    for r in rules:
        band = np.fmax(limits[r.id], r.soft_dist_m or 0.0)
        reach = np.where(masks[r.id], np.fmax(reach, np.nan_to_num(band)), reach)
    classes = sorted({c for r in rules for c in r.hazard_classes})
    hz_class = hz["hazard_class"].to_numpy()
    screening = {c: float(reach[hz_class == c].max()) if (hz_class == c).any() else 0.0
                 for c in classes}  # fmt: skip
    used = np.isin(hz_class, classes)
    radius = np.array([screening.get(c, 0.0) for c in hz_class])
    # Margins (distance - threshold) are exact for every parcel with a feature within the
    # screening radius R if the search reaches R + (largest - smallest threshold) of the class.
    spread = dict.fromkeys(classes, 0.0)
    for r in rules:
        lim = limits[r.id]
        for c in r.hazard_classes:
            vals = lim[(hz_class == c) & ~np.isnan(lim)]
            if len(vals):
                spread[c] = max(spread[c], float(vals.max() - vals.min()))
    search = radius + np.array([spread.get(c, 0.0) for c in hz_class])

    pgeoms = parcels.geometry.to_numpy()
    hgeoms = hz.geometry.to_numpy()
    if used.any() and n:
        h_idx, p_idx, d = _pairs_within(pgeoms, hgeoms, np.flatnonzero(used), search)
    else:
        h_idx = p_idx = np.zeros(0, dtype=int)
        d = np.zeros(0)

    within = d <= radius[h_idx]  # pairs inside the screening radius
    cols: dict[str, np.ndarray] = {}
    for c in classes:
        sel = (hz_class[h_idx] == c) & within
        cols[f"dist_{c}_m"] = _group_min(p_idx[sel], d[sel], n)
    fails: list[tuple[str, np.ndarray]] = []
    for r in rules:
        key = rule_key(r)
        sel = masks[r.id][h_idx]
        near = sel & within
        dist = _group_min(p_idx[near], d[near], n)
        cols[f"dist_{key}_m"] = dist
        if r.kind == "setback":
            margin = _group_min(p_idx[sel], d[sel] - limits[r.id][h_idx[sel]], n)
            margin[np.isinf(dist)] = np.inf  # nothing within the screening radius
            cols[f"margin_{key}_m"] = margin
            fail = margin < 0
        elif r.kind == "adjacent":
            margin = dist - (r.dist_m or 0.0)
            cols[f"margin_{key}_m"] = margin
            fail = margin <= 0
        else:  # no_cross: GEOS distance is 0 exactly when the geometries intersect
            fail = dist == 0.0
        if r.has_soft_band:
            cols[f"penalty_{key}"] = np.clip(1.0 - dist / float(r.soft_dist_m or 1.0), 0.0, 1.0)
        if r.hard:
            fails.append((r.id, fail))
    # One float block: much faster than assembling dozens of columns one by one.
    block = np.column_stack(list(cols.values())) if cols else np.empty((n, 0))
    out = pd.DataFrame(block, index=parcels.index, columns=list(cols))
    excluded = np.full(n, "", dtype=object)
    if fails:
        matrix = np.column_stack([f for _, f in fails])
        ids = np.array([rid for rid, _ in fails], dtype=object)
        for i in np.flatnonzero(matrix.any(axis=1)):
            excluded[i] = ";".join(ids[matrix[i]])
    out["excluded_by"] = excluded
    out["eligible"] = out["excluded_by"] == ""
    out.attrs["screening_m"] = screening
    out.attrs["n_features"] = {r.id: int(masks[r.id].sum()) for r in rules}
    return out


def setback_buffers(hazards: gpd.GeoDataFrame, rulebook: Rulebook) -> gpd.GeoDataFrame:
    """Draw the area each hard setback rule forbids around each hazard feature (undissolved).

    Parameters
    ----------
    hazards
        Hazards in a projected CRS.
    rulebook
        Rules whose zones to draw (setback rules with a positive threshold).

    Returns
    -------
    GeoDataFrame
        One row per rule and feature it applies to, by rule then by feature: ``rule_id``,
        ``hazard_class`` (the rule's, ``;``-joined), ``hazard_row`` (the feature's position
        in ``hazards``), buffer polygon (32 segments per quarter circle: within 2 cm of the
        true setback).
    """
    require_projected(hazards, "hazards")
    hz = hazards.reset_index(drop=True)
    frames = []
    for rule in rulebook.active_rules:
        if rule.kind != "setback" or not rule.hard:
            continue
        limit = thresholds(rule, hz)
        keep = np.flatnonzero(~np.isnan(limit) & (np.nan_to_num(limit) > 0))
        if len(keep):
            rings = shapely.buffer(hz.geometry.to_numpy()[keep], limit[keep], quad_segs=32)
            frames.append(
                pd.DataFrame({"rule_id": rule.id, "hazard_class": ";".join(rule.hazard_classes),
                              "hazard_row": keep, "geometry": rings})
            )  # fmt: skip
    if not frames:
        return _no_zones(hazards.crs, hazard_row=np.zeros(0, dtype=np.int64))
    return gpd.GeoDataFrame(
        pd.concat(frames, ignore_index=True), geometry="geometry", crs=hazards.crs
    )


def _no_zones(crs: Any, **columns: Any) -> gpd.GeoDataFrame:
    """Make an empty zone table: ``rule_id``, ``hazard_class``, the ``columns``, geometry."""
    return gpd.GeoDataFrame(
        {"rule_id": [], "hazard_class": [], **columns},
        geometry=gpd.GeoSeries([], crs=crs),
        crs=crs,
    )


def setback_zones(hazards: gpd.GeoDataFrame, rulebook: Rulebook) -> gpd.GeoDataFrame:
    """Draw the area each hard setback rule forbids, one polygon per rule (for maps).

    Parameters
    ----------
    hazards
        Hazards in a projected CRS.
    rulebook
        Rules whose zones to draw (setback rules with a positive threshold).

    Returns
    -------
    GeoDataFrame
        ``rule_id``, ``hazard_class`` (``;``-joined), ``n_features``, dissolved zone polygon
        (the union of the rule's :func:`setback_buffers`).
    """
    buffers = setback_buffers(hazards, rulebook)
    rows = [
        {"rule_id": rid, "hazard_class": grp["hazard_class"].iloc[0], "n_features": len(grp),
         "geometry": shapely.union_all(grp.geometry.to_numpy())}
        for rid, grp in buffers.groupby("rule_id", sort=False)
    ]  # fmt: skip
    if not rows:
        return _no_zones(hazards.crs, n_features=[])
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=hazards.crs)


def buildable_area(parcels: gpd.GeoDataFrame, zones: gpd.GeoDataFrame) -> pd.Series:
    """Parcel area left after removing the setback zones, m² (aligned to ``parcels``).

    An eligible parcel keeps its whole area (no zone reaches it); an excluded one keeps what
    lies outside every zone, which tells a planner whether re-parcelling could save it.

    Each parcel has the zones that intersect it cut away one by one, in the order of
    ``zones``. With :func:`setback_buffers` (one buffer per feature) a parcel's area thus
    depends only on the hazards near it, to the last bit: a partition of the study that
    holds those hazards gets the whole study's areas (:mod:`siting.distributed`).
    :func:`setback_zones` (dissolved per rule) gives the same areas up to rounding.
    """
    require_projected(parcels, "parcels")
    area = parcels.area.to_numpy(dtype=float).copy()
    if len(zones) == 0:
        return pd.Series(area, index=parcels.index, name="buildable_m2")
    geoms = zones.geometry.to_numpy()
    p_idx, z_idx = shapely.STRtree(geoms).query(parcels.geometry.to_numpy(), predicate="intersects")
    order = np.lexsort((z_idx, p_idx))
    p_idx, z_idx = p_idx[order], z_idx[order]
    hit, first = np.unique(p_idx, return_index=True)
    step = np.arange(len(p_idx)) - np.repeat(first, np.diff(np.r_[first, len(p_idx)]))
    slot = np.searchsorted(hit, p_idx)
    rest = parcels.geometry.to_numpy()[hit].copy()
    for t in range(int(step.max()) + 1 if len(step) else 0):
        now = step == t
        rest[slot[now]] = shapely.difference(rest[slot[now]], geoms[z_idx[now]])
    area[hit] = shapely.area(rest)
    return pd.Series(area, index=parcels.index, name="buildable_m2")


#: Results of a rule for a parcel, in the order of their codes.
RESULTS = ("pass", "fail", "penalty", "no feature")


def compliance_table(
    constraints: pd.DataFrame, parcel_id: pd.Series, rulebook: Rulebook
) -> pd.DataFrame:
    """One row per parcel and tested rule: measured value, threshold, result, citation.

    Parameters
    ----------
    constraints
        Output of :func:`apply_constraints`.
    parcel_id
        Parcel ids aligned with ``constraints``.
    rulebook
        The rulebook used.

    Returns
    -------
    DataFrame
        ``parcel_id``, ``rule_id``, ``kind``, ``hard``, ``n_features`` (features of the study
        the rule applies to), ``measured_m`` (distance to the
        nearest feature the rule applies to; ``inf`` = none within ``screening_m``),
        ``screening_m``, ``margin_m``, ``threshold``, ``result`` (``pass``, ``fail``,
        ``penalty`` or ``no feature``), ``penalty``, ``source``, ``clause``, ``confidence``,
        ``zh``, ``en``.
    """
    screening = constraints.attrs.get("screening_m", {})
    n_features = constraints.attrs.get("n_features", {})
    rules = list(rulebook.active_rules)
    if not rules:
        return pd.DataFrame(columns=["parcel_id", "rule_id", "result"])
    n = len(constraints)
    excluded = constraints["excluded_by"].str.split(";")
    columns: dict[str, list[np.ndarray]] = {
        k: [] for k in ("measured_m", "margin_m", "result", "penalty")
    }
    for r in rules:
        key = rule_key(r)
        dist = constraints[f"dist_{key}_m"].to_numpy()
        failing = excluded.map(lambda ids, r=r: r.id in ids).to_numpy(dtype=bool)
        penalty = constraints.get(f"penalty_{key}", pd.Series(0.0, index=constraints.index))
        result = np.where(
            failing, 1, np.where(~np.isfinite(dist), 3, np.where(penalty.to_numpy() > 0, 2, 0))
        )
        if not r.hard:
            result = np.where(result == 1, 2, result)
        margin = constraints.get(f"margin_{key}_m", pd.Series(np.nan, index=constraints.index))
        columns["measured_m"].append(dist)
        columns["margin_m"].append(margin.to_numpy())
        columns["result"].append(result)
        columns["penalty"].append(penalty.to_numpy())
    which = np.repeat(np.arange(len(rules)), n)

    def per_rule(values: list[object]) -> Any:
        # one value per rule, repeated for each parcel: text as categories (a code per row)
        if all(v is None or isinstance(v, str) for v in values):
            codes, uniques = pd.factorize(pd.Series(values, dtype=object))
            return pd.Categorical.from_codes(codes[which], dtype=pd.CategoricalDtype(list(uniques)))
        return np.asarray(values)[which]

    return pd.DataFrame({
        "parcel_id": np.tile(parcel_id.to_numpy(), len(rules)),
        "rule_id": per_rule([r.id for r in rules]),
        "kind": per_rule([r.kind for r in rules]),
        "hard": per_rule([r.hard for r in rules]),
        "n_features": per_rule([n_features.get(r.id, 0) for r in rules]),
        "measured_m": np.concatenate(columns["measured_m"]),
        "screening_m": per_rule(
            [max(screening.get(c, 0.0) for c in r.hazard_classes) for r in rules]
        ),
        "margin_m": np.concatenate(columns["margin_m"]),
        "threshold": per_rule([r.threshold_text() for r in rules]),
        "threshold_zh": per_rule([r.threshold_text("zh") for r in rules]),
        "result": pd.Categorical.from_codes(
            np.concatenate(columns["result"]), dtype=pd.CategoricalDtype(list(RESULTS))
        ),
        "penalty": np.concatenate(columns["penalty"]),
        "source": per_rule([r.source for r in rules]),
        "clause": per_rule([r.clause for r in rules]),
        "confidence": per_rule([r.confidence for r in rules]),
        "zh": per_rule([r.zh for r in rules]),
        "en": per_rule([r.en for r in rules]),
    })  # fmt: skip


def clearance(
    parcels: gpd.GeoDataFrame,
    hazards: gpd.GeoDataFrame,
    rulebook: Rulebook,
    *,
    cap: float = 200.0,
) -> pd.Series:
    """Clearance beyond the binding hard setback: min over features of distance - setback.

    Unlike the ``margin_<rule>_m`` columns (exact only within each class's screening
    radius), this is exact up to ``cap`` metres for every parcel, so a score built on it
    does not jump at a screening radius. Values are capped at ``cap``; a parcel inside a
    setback gets a negative value.

    Parameters
    ----------
    parcels, hazards
        Same projected CRS.
    rulebook
        Its active hard setback rules give each feature's binding setback (the largest).
    cap
        Largest clearance reported, metres.

    Returns
    -------
    Series
        ``hazard_margin_m``, aligned to ``parcels``.
    """
    require_projected(parcels, "parcels")
    require_same_crs(parcels, "parcels", hazards, "hazards")
    hz = hazards.reset_index(drop=True)
    binding = np.full(len(hz), np.nan)
    sets = _subtype_sets(hz)
    for r in rulebook.active_rules:
        if r.kind == "setback" and r.hard:
            mask = applies_to(r, hz, subtype_sets=sets)
            binding = np.fmax(binding, thresholds(r, hz, mask=mask))
    out = np.full(len(parcels), float(cap))
    used = np.flatnonzero(~np.isnan(binding))
    if len(used) and len(parcels):
        search = np.nan_to_num(binding) + cap
        h_idx, p_idx, d = _pairs_within(parcels.geometry.to_numpy(), hz.geometry.to_numpy(),
                                        used, search)  # fmt: skip
        out = np.minimum(out, _group_min(p_idx, d - binding[h_idx], len(parcels)))
    return pd.Series(out, index=parcels.index, name="hazard_margin_m")
