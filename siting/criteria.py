"""Criteria: the per-parcel part of a study, the same in one process and per partition.

:func:`parcel_constraints` decides each parcel (hazard setbacks, land use, size and shape)
and writes its compliance rows; :func:`parcel_criteria` measures what scoring reads (walking
and straight-line demand, distances to services, frontage, hazard clearance).
:func:`siting.run_study` calls them on the whole study, :mod:`siting.distributed` on each
partition with the features of its halo: the arithmetic is the same, so are the answers
(catchment sums are exact and independent of the order of their terms).
"""

from __future__ import annotations

from collections.abc import Mapping

import geopandas as gpd
import numpy as np
import pandas as pd

from siting import access, constraints, idleland, landuse, parcel_shape, parcels, reuse, scoring
from siting.rulebook import Rulebook

__all__ = [
    "CRITERIA_INFO",
    "concat_categorical",
    "min_site_area",
    "parcel_constraints",
    "parcel_criteria",
    "radius_sums",
    "scoring_inputs",
]

#: Every criterion scoring can read: the parcels' own and idle land (when marked).
CRITERIA_INFO = {**scoring.CRITERIA, **idleland.CRITERIA}


def min_site_area(rulebook: Rulebook) -> float:
    """Smallest parcel that holds one class at the rulebook's area per child, m²."""
    return parcel_shape.min_site_area_m2(
        m2_per_child=rulebook.param("m2_per_child"),
        class_sizes=rulebook.parameters["class_sizes"].values,
    )


def parcel_constraints(
    cand: gpd.GeoDataFrame,
    haz: gpd.GeoDataFrame,
    rulebook: Rulebook,
    *,
    n_features: Mapping[str, int] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Decide every parcel and list its compliance rows.

    Parameters
    ----------
    cand
        Parcels with ``parcel_id`` and the shape checks
        (:func:`siting.parcel_shape.shape_checks`), in the hazards' projected CRS.
    haz
        Hazards (:func:`siting.hazards.hazards_from_layers`); a partition passes those of
        its halo.
    rulebook
        The rules.
    n_features
        Hazards of each rule in the whole study (a partition sees only its halo's); by
        default those of ``haz``.

    Returns
    -------
    constraints, compliance
        :func:`siting.constraints.apply_constraints` with the land-use and size exclusions
        merged and ``buildable_m2`` (the parcel outside every setback, cut by each
        feature's buffer: :func:`siting.constraints.buildable_area`); one row per
        parcel and tested rule.
    """
    cons = constraints.apply_constraints(cand, haz, rulebook)
    attrs = dict(cons.attrs)
    if n_features is not None:
        attrs["n_features"] = dict(n_features)
    cons = landuse.merge_exclusions(
        cons, landuse.exclusion_reasons(cand), parcel_shape.exclusion_reasons(cand)
    )
    cons.attrs.update(attrs)
    compliance = concat_categorical([
        constraints.compliance_table(cons, cand["parcel_id"], rulebook),
        landuse.compliance_rows(cand),
        parcel_shape.compliance_rows(cand, min_area_m2=min_site_area(rulebook)),
        reuse.compliance_rows(cand),
    ])  # fmt: skip
    buffers = constraints.setback_buffers(haz, rulebook)
    cons["buildable_m2"] = constraints.buildable_area(cand, buffers)
    return cons, compliance


def concat_categorical(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Stack tables, keeping a column categorical when any table has it so.

    The repeated texts of a compliance table (rule, source, clause, ...) stay one code per
    row instead of a string per row (a city's table has millions of rows).

    Examples
    --------
    >>> a = pd.DataFrame({"r": pd.Categorical(["x", "y"])})
    >>> concat_categorical([a, pd.DataFrame({"r": ["z"]})])["r"].cat.categories.tolist()
    ['x', 'y', 'z']
    """
    frames = [f for f in frames if len(f.columns)]
    cats = {c for f in frames for c in f.columns if isinstance(f[c].dtype, pd.CategoricalDtype)}
    out = [f.copy() for f in frames]
    for c in cats:
        seen = [
            f[c].cat.categories.tolist()
            if isinstance(f[c].dtype, pd.CategoricalDtype)
            else f[c].dropna().unique().tolist()
            for f in out
            if c in f.columns
        ]
        union = pd.CategoricalDtype(list(dict.fromkeys(v for cat in seen for v in cat)))
        for f in out:
            if c not in f.columns:
                continue
            if isinstance(f[c].dtype, pd.CategoricalDtype):
                f[c] = f[c].cat.set_categories(union.categories)
            else:
                f[c] = f[c].astype(object).astype(union)
    return pd.concat(out, ignore_index=True)


def radius_sums(
    sites: gpd.GeoSeries,
    homes: gpd.GeoSeries,
    values: np.ndarray,
    *,
    dist: float,
    home_ids: np.ndarray | None = None,
) -> np.ndarray:
    """Sum ``values`` of the homes within ``dist`` (straight line) of each site.

    Terms are added per site in the order of ``home_ids`` (default: the homes' positions),
    so a partition holding a subset of the homes, with their study-wide ids, gets the
    study's sums to the last bit.

    Examples
    --------
    >>> import shapely
    >>> pts = gpd.GeoSeries(shapely.points([(0, 0), (3, 0), (9, 0)]), crs=3857)
    >>> radius_sums(pts.iloc[:1], pts, np.array([1.0, 2.0, 4.0]), dist=5.0).tolist()
    [3.0]
    """
    near, home = homes.sindex.query(sites.to_numpy(), predicate="dwithin", distance=dist)
    ids = (home if home_ids is None else np.asarray(home_ids)[home]).astype(np.int64)
    span = int(ids.max()) + 1 if len(ids) else 1
    order = np.argsort(near.astype(np.int64) * span + ids, kind="stable")  # by site, then home
    return np.bincount(near[order], weights=values[home[order]], minlength=len(sites))


def parcel_criteria(
    cand: gpd.GeoDataFrame,
    *,
    network: access.Network | None,
    homes: gpd.GeoDataFrame,
    haz: gpd.GeoDataFrame,
    rulebook: Rulebook,
    facilities: Mapping[str, gpd.GeoDataFrame],
    roads: gpd.GeoDataFrame,
    radius_under3: np.ndarray | None = None,
    home_ids: np.ndarray | None = None,
) -> pd.DataFrame:
    """Measure the scoring criteria of every parcel (:data:`siting.scoring.CRITERIA`).

    Parameters
    ----------
    cand
        Parcels, projected CRS.
    network
        The walking network (:func:`siting.access.network_from_edges`); ``None`` when a
        partition has no street in its halo (walking sums are then 0).
    homes
        Demand points with ``under3``, ``residents`` and ``unmet_under3``.
    haz
        Hazards (for the clearance criterion).
    rulebook
        The rules (``walk_m``).
    facilities
        ``public``, ``stops``, ``arterials`` and ``existing`` (childcare): the nearest of
        each is measured. A partition passes the whole layers (their distances have no
        bound).
    roads
        Roads with ``highway``, for frontage.
    radius_under3
        Under-3 children within a straight-line walk radius from a population raster
        (:func:`siting.rastersum.catchment_sum_raster`); by default summed from ``homes``.
    home_ids
        Study-wide positions of ``homes`` (a partition's subset), see :func:`radius_sums`.

    Returns
    -------
    DataFrame
        ``walk_under3``, ``walk_residents``, ``radius_under3``, ``unserved_under3``,
        ``dist_public_m``, ``dist_stop_m``, ``dist_main_road_m``, frontage columns,
        ``dist_childcare_m``, ``hazard_margin_m``; indexed like ``cand``.
    """
    walk_m = rulebook.param("walk_m")
    sites = cand.geometry.representative_point()
    u3 = homes["under3"].to_numpy()
    if network is not None and len(homes):
        values = np.c_[u3, homes["residents"].to_numpy(), homes["unmet_under3"].to_numpy()]
        totals = access.walk_sums(network, sites, homes.geometry, values, dist=walk_m)
    else:
        totals = np.zeros((len(cand), 3))
    crit = pd.DataFrame(index=cand.index)
    crit["walk_under3"] = totals[:, 0]
    crit["walk_residents"] = totals[:, 1]
    if radius_under3 is None:
        radius_under3 = radius_sums(sites, homes.geometry, u3, dist=walk_m, home_ids=home_ids)
    crit["radius_under3"] = radius_under3
    crit["unserved_under3"] = totals[:, 2]
    crit["dist_public_m"] = access.nearest_dist(cand.geometry, facilities["public"])
    crit["dist_stop_m"] = access.nearest_dist(cand.geometry, facilities["stops"])
    crit["dist_main_road_m"] = access.nearest_dist(cand.geometry, facilities["arterials"])
    crit = crit.join(parcels.frontage(cand, roads))
    crit["dist_childcare_m"] = access.nearest_dist(cand.geometry, facilities["existing"])
    crit["hazard_margin_m"] = constraints.clearance(
        cand, haz, rulebook, cap=scoring.CRITERIA["hazard_margin_m"].cap
    )
    return crit


def scoring_inputs(frame: pd.DataFrame) -> pd.DataFrame:
    """Select the criteria columns of ``frame`` as scoring reads them (unmarked idle land: 0).

    Examples
    --------
    >>> scoring_inputs(pd.DataFrame({"area_m2": [5.0], "idle_land": [None]})).to_dict("list")
    {'area_m2': [5.0], 'idle_land': [0.0]}
    """
    out = frame[[c for c in CRITERIA_INFO if c in frame.columns]].copy()
    if "idle_land" in out:
        out["idle_land"] = out["idle_land"].astype(float).fillna(0.0)
    return out
