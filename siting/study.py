"""Study: wire the stages into one run (OSM layers -> ranked, selected sites).

:func:`run_study` is what the CLI and notebooks call. Each stage stays usable on its own;
this module only passes data between them and times them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeAlias

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
from scipy import sparse

from siting import (
    access,
    capacity,
    constraints,
    criteria,
    demand,
    hazards,
    idleland,
    landuse,
    newareas,
    parcel_shape,
    parcels,
    reuse,
    scoring,
    selection,
    stability,
    supply,
)
from siting._errors import ConfigError
from siting._validate import require_columns
from siting.crs import System, metric_crs
from siting.partition import largest_reach, local_walks
from siting.rulebook import Rulebook, default_rulebook
from siting.timing import Stages

if TYPE_CHECKING:
    from siting.population import PopulationSurface

__all__ = [
    "EXISTING_CHILDCARE",
    "PUBLIC_RESOURCES",
    "Census",
    "StudyResult",
    "run_study",
    "study_demand",
]

log = logging.getLogger(__name__)

#: ``amenity`` values counted as existing infant-care supply.
EXISTING_CHILDCARE = ("childcare", "kindergarten")
#: ``amenity`` values counted as public resources to co-locate with.
PUBLIC_RESOURCES = (
    "kindergarten", "childcare", "school", "clinic", "doctors", "community_centre",
    "social_facility",
)  # fmt: skip


@dataclass
class StudyResult:
    """Everything one run produces, in the analysis CRS (metres).

    Attributes
    ----------
    candidates
        Every parcel: ``parcel_id``, ``eligible``, ``excluded_by``, criteria, ``score``,
        ``rank``, ``capacity_slots``, ``selected``.
    selected
        Chosen new sites, in pick order.
    hazards, hazard_zones
        Hazard features and the setback area of each rule.
    demand
        Residential buildings as points with ``residents`` and ``under3``.
    catchments
        Walking catchment polygon of each selected site.
    facilities
        Existing childcare and public resources (``amenity``, ``name``).
    compliance
        One row per parcel and tested rule (:func:`siting.constraints.compliance_table`).
    summary
        The ``summary.json`` content.
    new_areas
        New residential areas with their required slots, whether a facility serves them and
        the nearest suitable candidates (:func:`siting.newareas.assess_new_areas`), when
        given.
    """

    candidates: gpd.GeoDataFrame
    selected: gpd.GeoDataFrame
    hazards: gpd.GeoDataFrame
    hazard_zones: gpd.GeoDataFrame
    demand: gpd.GeoDataFrame
    catchments: gpd.GeoDataFrame
    facilities: gpd.GeoDataFrame
    rulebook: Rulebook
    compliance: pd.DataFrame = field(default_factory=pd.DataFrame)
    summary: dict[str, Any] = field(default_factory=dict)
    new_areas: gpd.GeoDataFrame | None = None

    def card(self, parcel_id: str) -> pd.DataFrame:
        """Compliance card of one parcel: every tested rule, measured value, threshold, result.

        Raises
        ------
        KeyError
            If there is no such parcel.
        """
        rows = self.compliance[self.compliance["parcel_id"] == str(parcel_id)]
        if rows.empty:
            raise KeyError(parcel_id)
        return rows.drop(columns="parcel_id").reset_index(drop=True)

    def explore(self, *, lang: str = "zh", basemap: str = "osm", **options: Any) -> Any:
        """Folium map of the result (displays inline in Jupyter).

        ``options`` go to :func:`siting.maps.result_map` (e.g. ``tianditu_key``,
        ``max_polygons``).
        """
        from siting.maps import result_map

        return result_map(self, lang=lang, basemap=basemap, **options)


@dataclass(frozen=True)
class Census:
    """District polygons and their census populations, to calibrate demand.

    Attributes
    ----------
    districts
        Polygons with a CRS and the name column ``district_col``.
    table
        One row per district: ``census_name_col`` and ``census_pop_col`` (persons).
    """

    districts: gpd.GeoDataFrame
    table: pd.DataFrame
    district_col: str = "name"
    census_name_col: str = "name"
    census_pop_col: str = "population"

    def calibrate(self, population: Any) -> tuple[Any, pd.DataFrame]:
        """Scale a surface or points (``residents``) to the census; see calibrate_to_census."""
        from siting.population import calibrate_to_census

        return calibrate_to_census(
            population, self.districts, self.table, district_col=self.district_col,
            census_name_col=self.census_name_col, census_pop_col=self.census_pop_col,
        )  # fmt: skip


def study_demand(
    buildings: gpd.GeoDataFrame | None,
    landuse: gpd.GeoDataFrame,
    *,
    under3_share: float,
    population: PopulationSurface | None = None,
    census: Census | None = None,
    dwellings: gpd.GeoDataFrame | None = None,
) -> tuple[gpd.GeoDataFrame, PopulationSurface | None, pd.DataFrame | None, str]:
    """Demand points of a study: residents and under-3 children in residential buildings.

    From a population raster placed in the buildings (:func:`siting.demand.demand_from_raster`)
    when there is one, else the dasymetric estimate from residential floor area; either
    scaled to the census by district when ``census`` is given. ``dwellings`` are the
    residential buildings already found (buildings streamed from a file), in place of
    ``buildings``.

    Returns
    -------
    homes, surface, calibration, method
        The demand points; the (calibrated) surface or ``None``; the calibration table or
        ``None``; how the numbers were estimated (for the summary).
    """
    calibration = None
    if population is not None:
        surface = population
        if census is not None:
            surface, calibration = census.calibrate(surface)
        homes = demand.demand_from_raster(
            surface, buildings, landuse, under3_share=under3_share, dwellings=dwellings
        )
        return (
            homes,
            surface,
            calibration,
            (f"population raster ({surface.estimate}) placed in residential buildings"),
        )
    homes = demand.demand_from_buildings(
        buildings, landuse, under3_share=under3_share, dwellings=dwellings
    )
    method = "dasymetric from residential building floor area (estimate)"
    if census is not None:
        homes, calibration = census.calibrate(homes)
        homes["under3"] = homes["residents"] * under3_share
        method += "; scaled to census totals by district"
    return homes, None, calibration, method


def community_share(
    net: Streets,
    facilities: gpd.GeoSeries,
    communities: gpd.GeoDataFrame,
    walk_m: float,
) -> float | None:
    """Share of communities within ``walk_m`` of a facility (None when there are none).

    ``net`` is the walking network, its edges, or a reader of the edges near some points
    (:data:`Streets`); only the streets near the facilities are walked on
    (:func:`siting.partition.local_walks`).
    """
    if len(communities) == 0:
        return None
    reps = communities.geometry.representative_point()
    within = _walks(net, facilities, reps, walk_m)
    cov = supply.community_coverage(communities, within, catchment_m=walk_m)
    return round(float(cov.share), 4)


#: Streets for walks from some points: the network, its edges, or a function giving the
#: edges near the points (layers read from a file, :mod:`siting.studyfiles`).
Streets: TypeAlias = access.Network | gpd.GeoDataFrame | Callable[[gpd.GeoSeries], gpd.GeoDataFrame]
#: Origins walked from at once when the streets are read near them (bounded memory).
WALK_CHUNK = 256


def _walks(
    net: Streets, origins: gpd.GeoSeries, destinations: gpd.GeoSeries, walk_m: float
) -> sparse.csr_matrix:
    """Walk from the origins (rows) to the destinations on ``net`` (see :data:`Streets`)."""
    if isinstance(net, access.Network):
        return local_walks(None, origins, destinations, dist=walk_m, network=net)
    if isinstance(net, gpd.GeoDataFrame):
        return local_walks(net, origins, destinations, dist=walk_m)
    # a reader: a few origins at a time, each chunk on the streets read near it
    rows = [
        local_walks(net(chunk), chunk, destinations, dist=walk_m)
        for chunk in (origins.iloc[i : i + WALK_CHUNK] for i in range(0, len(origins), WALK_CHUNK))
    ]
    if not rows:
        return sparse.csr_matrix((0, len(destinations)))
    return sparse.csr_matrix(sparse.vstack(rows, format="csr"))


@dataclass(frozen=True)
class Supply:
    """The existing infant-care supply of a study (:func:`existing_supply`).

    Attributes
    ----------
    existing, points, capacity
        Existing childcare facilities, a point on each, and their places
        (:func:`siting.supply.facility_capacity`).
    served
        Per demand point: within a walk of an existing facility.
    gap
        :func:`siting.supply.supply_gap` (E2SFCA accessibility, unmet demand, totals).
    homes
        The demand points with ``accessibility`` and ``unmet_under3``.
    communities, coverage_before
        Residential communities, and the share within a walk of a facility (None: none).
    """

    existing: gpd.GeoDataFrame
    points: gpd.GeoSeries
    capacity: pd.DataFrame
    served: np.ndarray
    gap: Any
    homes: gpd.GeoDataFrame
    communities: gpd.GeoDataFrame
    coverage_before: float | None


def existing_supply(
    net: Streets,
    amenities: gpd.GeoDataFrame,
    landuse: gpd.GeoDataFrame,
    homes: gpd.GeoDataFrame,
    rulebook: Rulebook,
) -> Supply:
    """Existing supply, its gap at every home (E2SFCA) and community coverage.

    ``net`` is the walking network, its edges, or a reader of the edges near some points
    (:data:`Streets`): the walks of the facilities are those on the streets near them
    either way (:func:`siting.partition.local_walks`).
    """
    walk_m = rulebook.param("walk_m")
    existing = amenities[amenities["amenity"].isin(EXISTING_CHILDCARE)]
    ex_pts = existing.geometry.representative_point()
    ex_within = _walks(net, ex_pts, homes.geometry, walk_m)
    served = np.asarray((ex_within > 0).sum(axis=0) > 0).ravel()
    ex_capacity = supply.facility_capacity(existing)
    gap = supply.supply_gap(
        ex_within, ex_capacity["under3_slots"].to_numpy(), homes, catchment_m=walk_m,
        target_per_1000=rulebook.param("target_slots_per_1000"),
    )  # fmt: skip
    homes = homes.assign(
        accessibility=gap.points["accessibility"].to_numpy(),
        unmet_under3=gap.points["unmet_under3"].to_numpy(),
    )
    communities = supply.communities_from_landuse(landuse)
    return Supply(
        existing=existing, points=ex_pts, capacity=ex_capacity, served=served, gap=gap, homes=homes,
        communities=communities,
        coverage_before=community_share(net, ex_pts, communities, walk_m),
    )  # fmt: skip


def _fewest_sites(
    net: access.Network,
    *,
    sites: gpd.GeoSeries,
    ex_pts: gpd.GeoSeries,
    communities: gpd.GeoDataFrame,
    candidates: gpd.GeoDataFrame,
    rows: np.ndarray,
    existing_slots: np.ndarray,
    coverage_target: float,
    slots_target: float,
    residents: float,
    walk_m: float,
) -> dict[str, Any]:
    """Find the fewest eligible parcels that, with the existing facilities, reach both targets.

    Community coverage: a community counts when its representative point is within
    ``walk_m`` of an open site; slots per 1,000 residents: each new site at its capacity.
    Returns the :class:`~siting.selection.Selection` summary with the parcel ids, or
    ``{"reachable": False, "reason": ...}`` saying what is possible.
    """
    if len(rows) == 0:
        return {"reachable": False, "reason": "no eligible parcel"}
    reps = communities.geometry.representative_point()
    n_new = len(rows)
    # rows 0..n_new-1: the eligible parcels; then the existing facilities (fixed)
    pts = gpd.GeoSeries(pd.concat([sites.iloc[rows], ex_pts]).to_numpy(), crs=sites.crs)
    reach = access.walk_distances(net, pts, reps, dist=walk_m)
    slots = np.r_[candidates["capacity_slots"].to_numpy(dtype=float)[rows], existing_slots]
    try:
        plan = selection.fewest_sites(
            reach,
            np.ones(len(communities)),
            candidates=np.arange(n_new),
            fixed=np.arange(n_new, n_new + len(ex_pts)),
            coverage_share=coverage_target if len(communities) else None,
            slots=slots,
            slots_per_1000=slots_target,
            residents=residents,
            time_limit=60,
        )
    except ConfigError as err:
        return {"reachable": False, "reason": str(err)}
    ids = candidates["parcel_id"].to_numpy()[rows[plan.sites]].tolist()
    return {"reachable": True, **plan.as_dict(), "parcel_ids": ids}


#: Usable floor area of a new facility as a share of the buildable parcel area (assumption).
FLOOR_AREA_RATIO = 0.6


def run_study(
    layers: Mapping[str, gpd.GeoDataFrame],
    *,
    parcels_gdf: gpd.GeoDataFrame | None = None,
    rulebook: Rulebook | None = None,
    weights: Mapping[str, float] = scoring.DEFAULT_WEIGHTS,
    k: int = 5,
    population: PopulationSurface | None = None,
    census: Census | None = None,
    under3_share: float | None = None,
    study_name: str = "study",
    progress: bool = False,
    hazards_gdf: gpd.GeoDataFrame | None = None,
    analysis_crs: System = "utm",
    new_residential: gpd.GeoDataFrame | None = None,
    reuse_facilities: bool = False,
    scoring_options: scoring.ScoringConfig | None = None,
    targets: bool = True,
) -> StudyResult:
    """Run every stage on one study area.

    Parameters
    ----------
    layers
        From :func:`siting.sources.layers_from_osm` or :func:`~siting.sources.layers_from_gpkg`.
    parcels_gdf
        Candidate parcels (with ``parcel_id``); default: street blocks derived from OSM
        (:func:`siting.parcels.parcels_from_blocks`).
    rulebook
        Default: the Fuxin 2020 profile.
    weights
        Criterion weights for :func:`siting.scoring.score_parcels`.
    k
        Number of new sites to select.
    population
        A population raster (:func:`siting.population.read_population_raster`); its people
        are placed in residential buildings (:func:`siting.demand.demand_from_raster`).
        Default: the dasymetric estimate from residential floor area.
    census
        District polygons and census totals: the population (raster or estimate) is scaled
        so that each district sums to its census figure.
    under3_share
        Share of residents under 3; default the rulebook's ``under3_share`` (see also
        :func:`siting.population.under3_share_from_cbr`).
    study_name
        Name recorded in the summary.
    progress
        Print each stage as it starts.
    hazards_gdf
        Hazard features with :data:`siting.hazards.HAZARD_COLUMNS` (any CRS), e.g. the OSM
        hazards merged with the bureau's own layers (:func:`siting.roles.merge_hazards`).
        Default: :func:`siting.hazards.hazards_from_layers` of ``layers``.
    analysis_crs
        ``"utm"`` (the UTM zone of the study area) or ``"cgcs2000"`` (its CGCS2000 3-degree
        Gauss-Krüger zone); see :func:`siting.crs.metric_crs`.
    new_residential
        Planned residential areas (polygons with ``required_slots`` etc., from
        :func:`siting.newareas.new_area_demand`): flagged when no existing facility serves
        them, with the nearest suitable candidates (``StudyResult.new_areas``).
    scoring_options
        How to score (:func:`siting.scoring.scoring_config`: WLC or TOPSIS, weights or an AHP
        matrix, normalisations, rank-stability draws); default WLC with ``weights``.
    targets
        Also find the fewest new sites that reach the coverage and slots targets (an exact
        MILP over the eligible parcels; ``summary["targets"]["fewest_sites"]``).
    reuse_facilities
        Add existing kindergartens, community service centres and health stations (their
        buildings) as "reuse" candidates beside the parcels, scored by the same rules, with
        the JGJ 39 3.2.2 sharing conditions on their compliance cards.

    Returns
    -------
    StudyResult
    """
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        msg = f"k (number of new sites) must be a positive integer, got {k!r}"
        raise ConfigError(msg)
    rb = rulebook or default_rulebook()
    timer = Stages(progress)
    walk_m = rb.param("walk_m")
    with timer.stage("crs"):
        crs = metric_crs(layers["walk_edges"], system=analysis_crs)
        lay = {name: layer.to_crs(crs) for name, layer in layers.items()}
    with timer.stage("hazards"):
        if hazards_gdf is None:
            haz = hazards.hazards_from_layers(lay)
        else:
            require_columns(hazards_gdf, "hazards_gdf", hazards.HAZARD_COLUMNS)
            haz = hazards_gdf.to_crs(crs).reset_index(drop=True)
    with timer.stage("parcels"):
        if parcels_gdf is None:
            cand = parcels.parcels_from_blocks(lay["landuse"], lay["roads"])
        else:
            cand = parcels.prepare_parcels(parcels_gdf, crs)
        cand = cand.reset_index(drop=True)
        min_area = criteria.min_site_area(rb)
        if "shape_fail" not in cand.columns:
            cand = cand.join(parcel_shape.shape_checks(cand, min_area_m2=min_area))
        if reuse_facilities:
            extra = reuse.reuse_candidates(lay["amenities"], lay["buildings"])
            cand = pd.concat([cand, extra.to_crs(crs)], ignore_index=True)
            cand = gpd.GeoDataFrame(cand, geometry="geometry", crs=crs)
        cand["area_m2"] = cand.area
        # Hazards just outside the extract are not seen: flag parcels near its edge.
        cand["near_extract_edge"] = parcels.check_parcels_in_extent(
            cand, lay["walk_edges"], edge_m=max(largest_reach(rb), walk_m)
        ).to_numpy()
    with timer.stage("constraints"):
        cons, compliance = criteria.parcel_constraints(cand, haz, rb)
        zones = constraints.setback_zones(haz, rb)
    with timer.stage("demand"):
        share = rb.param("under3_share") if under3_share is None else under3_share
        homes, surface, calibration, method = study_demand(
            lay["buildings"], lay["landuse"], under3_share=share, population=population,
            census=census,
        )  # fmt: skip
    with timer.stage("access"):
        net = access.network_from_edges(lay["walk_edges"])
        sites = cand.geometry.representative_point()
        # the walks themselves only for eligible parcels (site selection); the catchment
        # totals of every parcel come from walk_sums below, without storing the pairs
        ok = np.flatnonzero(cons["eligible"].to_numpy())
        within = sparse.csr_matrix(
            (np.ones(len(ok)), (ok, np.arange(len(ok)))), shape=(len(cand), len(ok))
        ) @ access.walk_distances(
            net, sites.iloc[ok], homes.geometry, dist=walk_m, progress=progress
        )
        am = lay["amenities"]
        # Existing supply and its gap: E2SFCA over the same walks (issue: supply gap).
        sup = existing_supply(net, am, lay["landuse"], homes, rb)
        existing, ex_pts, ex_capacity = sup.existing, sup.points, sup.capacity
        served, gap, homes = sup.served, sup.gap, sup.homes
        communities, coverage_before = sup.communities, sup.coverage_before
        u3 = homes["under3"].to_numpy()
        unmet = homes["unmet_under3"].to_numpy()
        # Straight-line catchment (a circle of walk_m): from a metric raster when there is
        # one (exact cell coverage), else from the placed demand points.
        radius = None
        if surface is not None and pyproj.CRS(surface.crs) == pyproj.CRS(crs):
            from siting.population import catchment_sum_raster

            pts = gpd.GeoSeries(sites.to_numpy(), crs=crs).to_crs(surface.crs)
            radius = share * np.nan_to_num(catchment_sum_raster(surface, pts, dist=walk_m))
        public = am[am["amenity"].isin(PUBLIC_RESOURCES)]
        roads = lay["roads"]
        crit = criteria.parcel_criteria(
            cand, network=net, homes=homes, haz=haz, rulebook=rb, roads=roads,
            facilities={
                "public": public, "stops": lay["stops"], "existing": existing,
                "arterials": roads[roads["highway"].isin(list(parcels.ARTERIALS))],
            },
            radius_under3=radius,
        )  # fmt: skip
        crit["area_m2"] = cand["area_m2"]
        if "idle_land" in cand.columns:
            crit["idle_land"] = cand["idle_land"].fillna(0.0).to_numpy()
            if weights is scoring.DEFAULT_WEIGHTS:
                weights = {**scoring.DEFAULT_WEIGHTS, "idle_land": idleland.IDLE_WEIGHT}
        penalties = {
            f"penalty_{constraints.rule_key(r)}": float(r.weight or 0.0)
            for r in rb.active_rules
            if r.has_soft_band
        }
    with timer.stage("scoring"):
        info = {**scoring.CRITERIA, **idleland.CRITERIA}
        sc = scoring_options or scoring.ScoringConfig(
            weights=scoring.check_weights(weights, known=set(info))
        )
        scored = scoring.score_parcels(
            pd.concat([crit, cons[list(penalties)]], axis=1),
            eligible=cons["eligible"],
            parcel_id=cand["parcel_id"],
            weights=sc.weights,
            penalties=penalties,
            normalisation=sc.normalisation,
            method=sc.method,
            criteria_info=info,
        )
        n_ok = int(cons["eligible"].sum())
        # rank stability: the share of perturbed weightings keeping each parcel in the top k
        p_top_k = (
            stability.rank_stability(
                scored, weights=sc.weights, k=min(k, n_ok), parcel_id=cand["parcel_id"],
                spread=sc.spread, draws=sc.draws, seed=sc.seed, method=sc.method,
            ).to_numpy()
            if n_ok
            else np.full(len(cand), np.nan)
        )  # fmt: skip
        out = pd.concat(
            [
                cand,
                cons,
                crit.drop(columns=[c for c in ("area_m2", "idle_land") if c in crit]),
                scored,
            ],
            axis=1,
        )
        out["capacity_slots"] = reuse.parcel_slots(
            cand,
            buildable_m2=cons["buildable_m2"].to_numpy(),
            m2_per_child=rb.param("m2_per_child"),
            class_sizes=rb.parameters["class_sizes"].values,
            max_classes=int(rb.param("max_classes")),
        )
        out["p_top_k"] = p_top_k
        candidates = gpd.GeoDataFrame(out, geometry="geometry", crs=crs)
    with timer.stage("selection"):
        ranked = candidates[candidates["eligible"]].sort_values("rank")
        rows = ranked.index.to_numpy()
        # maximal covering of the unmet under-3 demand, solved to proven optimality (HiGHS);
        # ConfigError when k exceeds the eligible parcels
        choice = selection.max_cover(within, unmet, k=k, candidates=rows)
        picks = choice.table()
        candidates["selected"] = False
        candidates.loc[picks["row"].to_numpy(), "selected"] = True
        sel = candidates.loc[picks["row"].to_numpy()].copy()
        sel["pick_order"] = picks["order"].to_numpy()
        sel["new_under3_covered"] = picks["gain"].to_numpy()
        sel["under3_served"] = picks["served"].to_numpy()
        served_by = np.where(
            choice.assigned >= 0, cand["parcel_id"].to_numpy()[np.maximum(choice.assigned, 0)], ""
        )
        homes = homes.assign(served_by=served_by, under3_served=choice.served)
        # Size each new site to its catchment at the policy rate, within what the parcel holds.
        need = sel["walk_residents"].to_numpy() * rb.param("target_slots_per_1000") / 1000
        whole = capacity.slots_for_need(
            need, class_sizes=rb.parameters["class_sizes"].values,
            max_classes=int(rb.param("max_classes")),
        )  # fmt: skip
        sel["planned_slots"] = np.minimum(sel["capacity_slots"].to_numpy(), whole)
        catch = gpd.GeoDataFrame(
            {
                "parcel_id": sel["parcel_id"].to_numpy(),
                "under3_in_walk": sel["walk_under3"].to_numpy(),
                "walk_m": walk_m,
            },
            geometry=access.service_areas(
                net, sites.iloc[picks["row"].to_numpy()], dist=walk_m
            ).to_numpy(),
            crs=crs,
        )
    facilities = gpd.GeoDataFrame(
        am[am["amenity"].isin(PUBLIC_RESOURCES)][["id", "amenity", "name", "geometry"]],
        geometry="geometry",
        crs=crs,
    ).reset_index(drop=True)
    total_u3 = float(u3.sum())
    covered_after = served.copy()
    for row in picks["row"]:
        covered_after[within[row].indices] = True
    residents = float(homes["residents"].sum())
    new_slots = int(sel["planned_slots"].sum())
    new_pts = sites.iloc[picks["row"].to_numpy()]
    all_pts = gpd.GeoSeries(pd.concat([ex_pts, new_pts]).to_numpy(), crs=crs)
    coverage_after = community_share(net, all_pts, communities, walk_m)
    existing_slots = float(gap.totals["slots"])
    failing = candidates["excluded_by"].str.split(";")
    excluded_counts = {
        r.id: int(failing.map(lambda ids, r=r: r.id in ids).sum())
        for r in rb.active_rules
        if r.hard
    }
    for rid in (*landuse.EXCLUSIONS, *parcel_shape.EXCLUSIONS):
        excluded_counts[rid] = int(failing.map(lambda ids, rid=rid: rid in ids).sum())
    penalised_counts = {
        r.id: int((candidates[f"penalty_{constraints.rule_key(r)}"] > 0).sum())
        for r in rb.active_rules
        if r.has_soft_band
    }
    cov_target = rb.param("coverage_target")
    slots_target = rb.param("target_slots_per_1000")
    summary: dict[str, Any] = {
        "study": study_name,
        "crs": crs.to_string(),
        "rulebook": {"id": rb.id, "version": rb.version},
        "inputs": {name: len(layer) for name, layer in layers.items()},
        "counts": {
            "candidates": len(candidates),
            "eligible": int(candidates["eligible"].sum()),
            "excluded": int((~candidates["eligible"]).sum()),
            "near_extract_edge": int(candidates["near_extract_edge"].sum()),
            "selected": len(sel),
            "hazards": {str(k_): int(v) for k_, v in haz["hazard_class"].value_counts().items()},
            "power_lines_voltage_assumed": int(haz["voltage_assumed"].sum()),
            "pipelines_substance_assumed": int(haz["substance_assumed"].sum()),
            "existing_childcare": len(existing),
            "residential_buildings": len(homes),
        },
        "excluded_by_rule": excluded_counts,
        "penalised_by_rule": penalised_counts,
        "screening_m": cons.attrs.get("screening_m", {}),
        "demand": {
            "residents_estimate": round(residents, 1),
            "under3_estimate": round(total_u3, 1),
            "method": method,
            "under3_share": share,
            "census_calibration": None
            if calibration is None
            else calibration.reset_index().to_dict(orient="records"),
        },
        "targets": {
            "coverage_target": cov_target,
            "coverage_before": coverage_before,
            "coverage_after": coverage_after,
            "communities": len(communities),
            "coverage_basis": f"share of residential communities (OSM landuse=residential "
            f"polygons) whose representative point is within a {walk_m:g} m walk of existing "
            "childcare/kindergartens (before) and of those plus the selected sites (after)",
            "under3_in_walk_before": round(float(u3[served].sum() / total_u3), 4)
            if total_u3
            else 0.0,
            "under3_in_walk_after": round(float(u3[covered_after].sum() / total_u3), 4)
            if total_u3
            else 0.0,
            "slots_target_per_1000": slots_target,
            "existing_slots": round(existing_slots, 1),
            "existing_slots_basis": "; ".join(
                f"{n} x {src}" for src, n in ex_capacity["under3_source"].value_counts().items()
            ),
            "slots_per_1000_before": round(existing_slots / residents * 1000.0, 2)
            if residents
            else 0.0,
            "new_slots": new_slots,
            "new_slots_basis": "each selected site sized to the residents within its walk at "
            f"{slots_target:g} per 1,000, rounded up to whole classes, capped by its "
            "capacity_slots",
            "new_slots_per_1000": round(new_slots / residents * 1000.0, 2) if residents else 0.0,
            "slots_per_1000_after": round((existing_slots + new_slots) / residents * 1000.0, 2)
            if residents
            else 0.0,
        },
        "supply_gap_before": gap.totals,
        "selection": {
            **choice.as_dict(),
            "k": k,
            "under3_newly_covered": round(float(picks["gain"].sum()), 2),
        },
        "weights": dict(sc.weights),
        "scoring": sc.as_dict(),
        "stability": {
            "k": min(k, n_ok),
            "spread": sc.spread,
            "draws": sc.draws,
            "seed": sc.seed,
            "parcels_p_ge_0_9": int((candidates["p_top_k"] >= 0.9).sum()),
            "selected_p_top_k": {
                str(pid): round(float(pk), 4)
                for pid, pk in zip(sel["parcel_id"], sel["p_top_k"], strict=True)
            },
        },
        "seconds": timer.seconds,
    }
    new_areas = None
    if new_residential is not None:
        existing_pts = am[am["amenity"].isin(EXISTING_CHILDCARE)]
        new_areas = newareas.assess_new_areas(
            new_residential.to_crs(crs),
            facilities=existing_pts,
            candidates=candidates,
            catchment_m=walk_m,
            selected=sel,
        )
        summary["new_residential"] = newareas.new_areas_summary(new_areas)
    if "landuse_role" in candidates.columns:
        summary["landuse"] = landuse.landuse_report(candidates)
    shape_fail = candidates["shape_fail"].fillna("").astype(str)
    summary["parcel_shape"] = {
        "min_site_area_m2": float(min_area),
        "failed": int((shape_fail != "").sum()),
        **{rid: int(shape_fail.str.contains(rid).sum()) for rid in parcel_shape.EXCLUSIONS},
    }
    tg = summary["targets"]
    tg["coverage_met_before"] = coverage_before is not None and coverage_before >= cov_target
    tg["coverage_met"] = coverage_after is not None and coverage_after >= cov_target
    if coverage_after is None:
        tg["coverage_note"] = "no landuse=residential polygons: community coverage not computed"
    tg["slots_met_before"] = tg["slots_per_1000_before"] >= slots_target
    tg["slots_met"] = tg["slots_per_1000_after"] >= slots_target
    # how far each target is met (positive) or missed (negative)
    if coverage_after is not None:
        tg["coverage_margin"] = round(coverage_after - cov_target, 4)
    tg["slots_margin_per_1000"] = round(tg["slots_per_1000_after"] - slots_target, 3)
    if targets:
        with timer.stage("targets"):
            tg["fewest_sites"] = _fewest_sites(
                net, sites=sites, ex_pts=ex_pts, communities=communities,
                candidates=candidates, rows=rows,
                existing_slots=ex_capacity["under3_slots"].to_numpy(dtype=float),
                coverage_target=cov_target, slots_target=slots_target, residents=residents,
                walk_m=walk_m,
            )  # fmt: skip
        summary["seconds"] = timer.seconds
    return StudyResult(
        candidates=candidates,
        selected=sel.reset_index(drop=True),
        hazards=haz,
        hazard_zones=zones,
        demand=homes,
        catchments=catch,
        facilities=facilities,
        compliance=compliance,
        rulebook=rb,
        summary=summary,
        new_areas=new_areas,
    )
