"""New residential areas: planned population, required slots, and a facility in reach.

The Fuxin policy asks new residential areas to build infant-care places that match their
planned population (阜政办发〔2020〕17号 二(二)1). For each planned residential area (a
polygon, or a point, with planned residents or dwellings):

1. planned residents = the population column, or dwellings x persons per dwelling (default
   3.0: the ratio of residents to dwellings in GB 50180-2018's living-circle sizes, rulebook
   CIRC-01 to CIRC-04, lies between 2.9 and 3.3);
2. required slots = residents x rate / 1,000 (default: the rulebook's
   ``new_area_slots_per_1000``, 6 per 1,000 for new residential areas, DEM-06), rounded up
   to a whole-class facility (:func:`siting.capacity.slots_for_need`);
3. the area is **served** when an existing facility (childcare or kindergarten) lies within
   the catchment of the area (default the rulebook's ``walk_m``, 300 m: the 托儿所/幼儿园
   service radius, CIRC-05 / SITE-09), measured straight from the area's boundary, and
   **flagged** otherwise;
4. the nearest candidate sites (eligible parcels of a suitable or co-location land use) are
   listed with their distances, and whether the study's selected sites reach the area.

:func:`new_areas_from_result` runs 3-4 on a finished study.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from siting import capacity
from siting._errors import ConfigError, InputDataError
from siting._validate import require_projected

if TYPE_CHECKING:
    from siting.study import StudyResult

__all__ = [
    "LABELS",
    "PERSONS_PER_DWELLING",
    "assess_new_areas",
    "labelled_table",
    "new_area_demand",
    "new_areas_from_result",
    "new_areas_summary",
]

#: Residents per dwelling when only dwellings are planned (CIRC-01..04 ratios: 2.9-3.3).
PERSONS_PER_DWELLING = 3.0

#: Column labels for map popups and the report, ``{column: (zh, en)}``.
LABELS: dict[str, tuple[str, str]] = {
    "area_id": ("新建居住区", "New residential area"),
    "name": ("名称", "Name"),
    "planned_residents": ("规划人口", "Planned residents"),
    "residents_basis": ("人口依据", "Residents from"),
    "rate_per_1000": ("千人托位标准", "Slots per 1,000 residents"),
    "required_slots": ("应配托位（整班）", "Required slots (whole classes)"),
    "facilities_in_catchment": ("服务半径内现有托育设施", "Existing facilities within the radius"),
    "nearest_facility_m": ("最近现有托育设施距离 (m)", "Nearest existing facility, m"),
    "flagged": ("缺少托育服务", "No facility serves it"),
    "served_by_selected": ("新选址可覆盖", "Reached by a selected site"),
    "candidate_ids": ("最近候选地块", "Nearest candidate parcels"),
    "candidate_dist_m": ("候选地块距离 (m)", "Their distances, m"),
    "candidate_slots": ("候选地块可提供托位", "Slots the candidates hold"),
}


def _number_column(frame: pd.DataFrame, column: str, key: str, what: str) -> np.ndarray:
    if column not in frame.columns:
        have = [c for c in frame.columns if c != frame.geometry.name]
        msg = f"{what}: {key} = {column!r} is not a column of the layer; set {key} to one of {have}"
        raise ConfigError(msg)
    values = pd.to_numeric(frame[column], errors="coerce")
    bad = values.isna() & frame[column].notna()
    if bad.any() or (values < 0).any():
        i = int(np.flatnonzero((bad | (values < 0)).to_numpy())[0])
        msg = (
            f"{what}: {key} column {column!r} must hold numbers >= 0; row {i} has "
            f"{frame[column].iloc[i]!r}"
        )
        raise InputDataError(msg)
    return values.to_numpy(dtype=float)


def new_area_demand(
    areas: gpd.GeoDataFrame,
    *,
    population: str | None = None,
    dwellings: str | None = None,
    persons_per_dwelling: float = PERSONS_PER_DWELLING,
    rate_per_1000: float = 6.0,
    class_sizes: Sequence[float] = (10, 15, 20),
    max_classes: int = 10,
    id_column: str | None = None,
    name_column: str | None = None,
    what: str = "new residential areas",
) -> gpd.GeoDataFrame:
    """Planned residents and required slots of each new residential area.

    Parameters
    ----------
    areas
        Planned residential areas (polygons or points) with a CRS. Not modified.
    population
        Column with planned residents (used where it has a value).
    dwellings
        Column with planned dwellings (where no population is given).
    persons_per_dwelling
        Residents per dwelling.
    rate_per_1000
        Slots per 1,000 residents (DEM-06: 6 for new residential areas).
    class_sizes, max_classes
        Whole classes the facility opens (BLDG-06; :func:`siting.capacity.slots_for_need`).
    id_column, name_column
        Columns with the area's id (default ``N001`` ...) and name.
    what
        For messages.

    Returns
    -------
    GeoDataFrame
        ``area_id``, ``name``, ``planned_residents``, ``residents_basis``, ``rate_per_1000``,
        ``required_slots_exact`` (residents x rate / 1,000), ``required_slots`` (whole
        classes), geometry (in the input CRS).

    Raises
    ------
    ConfigError
        If neither column is given, a named column is missing, or a number is invalid.
    InputDataError
        If an area has neither residents nor dwellings, or values are not numbers >= 0.

    Examples
    --------
    >>> a = gpd.GeoDataFrame({"户数": [1000, 150]}, geometry=[shapely.Point(0, 0)] * 2,
    ...                      crs=3857)
    >>> d = new_area_demand(a, dwellings="户数")
    >>> d["planned_residents"].tolist(), d["required_slots"].tolist()
    ([3000.0, 450.0], [25.0, 10.0])
    """
    if population is None and dwellings is None:
        msg = f'{what}: give population = "COLUMN" (planned residents) or dwellings = "COLUMN"'
        raise ConfigError(msg)
    for name, value in (("persons_per_dwelling", persons_per_dwelling),
                        ("rate", rate_per_1000)):  # fmt: skip
        if not math.isfinite(value) or value < 0 or (name == "persons_per_dwelling" and value == 0):
            msg = f"{what}: {name} must be a positive number, got {value}"
            raise ConfigError(msg)
    if areas.crs is None:
        msg = f"{what} have no CRS"
        raise InputDataError(msg)
    n = len(areas)
    residents = np.full(n, np.nan)
    basis = np.full(n, "", dtype=object)
    if population is not None:
        pop = _number_column(areas, population, "population", what)
        residents = pop
        basis[~np.isnan(pop)] = f"{population}"
    if dwellings is not None:
        dw = _number_column(areas, dwellings, "dwellings", what)
        fill = np.isnan(residents) & ~np.isnan(dw)
        residents = np.where(fill, dw * persons_per_dwelling, residents)
        basis[fill] = f"{dwellings} x {persons_per_dwelling:g}"
    if np.isnan(residents).any():
        i = int(np.flatnonzero(np.isnan(residents))[0])
        msg = f"{what}: area in row {i} has no planned residents or dwellings"
        raise InputDataError(msg)
    exact = residents * rate_per_1000 / 1000.0
    for key, col in (("id", id_column), ("name", name_column)):
        if col is not None and col not in areas.columns:
            msg = f"{what}: {key} = {col!r} is not a column of the layer"
            raise ConfigError(msg)
    ids = (
        areas[id_column].astype(str).to_numpy() if id_column
        else np.array([f"N{i + 1:03d}" for i in range(n)], dtype=object)
    )  # fmt: skip
    names = areas[name_column].astype(str).to_numpy() if name_column else np.full(n, "")
    return gpd.GeoDataFrame(
        {
            "area_id": ids,
            "name": names,
            "planned_residents": residents,
            "residents_basis": basis,
            "rate_per_1000": float(rate_per_1000),
            "required_slots_exact": exact,
            "required_slots": capacity.slots_for_need(
                exact, class_sizes=class_sizes, max_classes=max_classes
            ).astype(float),
        },
        geometry=areas.geometry.to_numpy(),
        crs=areas.crs,
    )


def assess_new_areas(
    demand: gpd.GeoDataFrame,
    *,
    facilities: gpd.GeoDataFrame | gpd.GeoSeries,
    candidates: gpd.GeoDataFrame,
    catchment_m: float = 300.0,
    n_candidates: int = 3,
    selected: gpd.GeoDataFrame | gpd.GeoSeries | None = None,
) -> gpd.GeoDataFrame:
    """Flag new residential areas no existing facility serves; list the nearest candidates.

    Distances are straight lines from the area (its boundary; 0 inside it), in metres.

    Parameters
    ----------
    demand
        From :func:`new_area_demand`, in a projected CRS.
    facilities
        Existing infant-care facilities (childcare, kindergartens), any CRS.
    candidates
        Candidate parcels with ``parcel_id`` and ``eligible`` (and ``landuse_role``,
        ``capacity_slots`` when the study has them), any CRS: eligible parcels of a
        suitable or co-location land use (any, without land-use data) are listed.
    catchment_m
        Service radius, m (CIRC-05: 300).
    n_candidates
        How many candidates to list per area.
    selected
        The study's selected sites: ``served_by_selected`` says whether one reaches the area.

    Returns
    -------
    GeoDataFrame
        ``demand`` with ``facilities_in_catchment``, ``nearest_facility_m``, ``flagged``
        (no facility within ``catchment_m``), ``served_by_selected``, ``candidate_ids`` and
        ``candidate_dist_m`` (``;``-joined, nearest first), ``candidates_in_catchment``,
        ``candidate_slots`` (slots of the listed candidates within the catchment).

    Raises
    ------
    CRSError
        If ``demand`` is not in a projected CRS.
    ConfigError
        If ``catchment_m`` or ``n_candidates`` is invalid.
    """
    require_projected(demand, "new residential areas")
    if not math.isfinite(catchment_m) or catchment_m <= 0 or n_candidates < 0:
        msg = f"catchment_m must be > 0 and n_candidates >= 0, got {catchment_m}, {n_candidates}"
        raise ConfigError(msg)
    crs = demand.crs
    areas = demand.geometry.to_numpy()
    fac = _geoms(facilities, crs)
    out = demand.copy()
    count = np.zeros(len(out), dtype=int)
    nearest = np.full(len(out), np.inf)
    if len(fac):
        tree = shapely.STRtree(fac)
        a_idx, _ = tree.query(areas, predicate="dwithin", distance=catchment_m)
        np.add.at(count, a_idx, 1)
        (left, _), d = tree.query_nearest(areas, return_distance=True, all_matches=False)
        np.minimum.at(nearest, left, d)
    out["facilities_in_catchment"] = count
    out["nearest_facility_m"] = nearest
    out["flagged"] = count == 0
    sel = _geoms(selected, crs) if selected is not None else np.empty(0, dtype=object)
    reached = np.zeros(len(out), dtype=bool)
    if len(sel):
        a_idx, _ = shapely.STRtree(sel).query(areas, predicate="dwithin", distance=catchment_m)
        reached[a_idx] = True
    out["served_by_selected"] = reached
    ok = candidates["eligible"].to_numpy(dtype=bool)
    if "landuse_role" in candidates.columns:
        role = candidates["landuse_role"].fillna("").astype(str)
        known = role.isin(["suitable", "co_location"]) | (role == "")
        ok = ok & known.to_numpy()
    pool = candidates[ok]
    pool_geoms = _geoms(pool, crs)
    ids, dists, inside, slots = [], [], [], []
    cap = (
        pool["capacity_slots"].to_numpy(dtype=float) if "capacity_slots" in pool.columns
        else np.zeros(len(pool))
    )  # fmt: skip
    for geom in areas:
        if not len(pool_geoms) or n_candidates == 0:
            ids.append("")
            dists.append("")
            inside.append(0)
            slots.append(0.0)
            continue
        d = shapely.distance(geom, pool_geoms)
        order = np.argsort(d, kind="stable")[:n_candidates]
        ids.append(";".join(pool["parcel_id"].astype(str).to_numpy()[order]))
        dists.append(";".join(f"{x:.0f}" for x in d[order]))
        near = order[d[order] <= catchment_m]
        inside.append(int((d <= catchment_m).sum()))
        slots.append(float(cap[near].sum()))
    out["candidate_ids"] = ids
    out["candidate_dist_m"] = dists
    out["candidates_in_catchment"] = inside
    out["candidate_slots"] = slots
    return out


def _geoms(layer: gpd.GeoDataFrame | gpd.GeoSeries | None, crs: Any) -> np.ndarray:
    if layer is None or len(layer) == 0:
        return np.empty(0, dtype=object)
    series = layer.geometry if isinstance(layer, gpd.GeoDataFrame) else layer
    if series.crs is None:
        msg = "a layer given to assess_new_areas has no CRS"
        raise InputDataError(msg)
    return series.to_crs(crs).to_numpy()


def new_areas_from_result(
    demand: gpd.GeoDataFrame,
    result: StudyResult,
    *,
    n_candidates: int = 3,
    catchment_m: float | None = None,
    existing: Sequence[str] = ("childcare", "kindergarten"),
) -> gpd.GeoDataFrame:
    """Assess new residential areas against a finished study.

    Existing facilities are the study's ``facilities`` whose ``amenity`` is in ``existing``;
    candidates are its ``candidates``; ``served_by_selected`` uses its ``selected`` sites.

    Parameters
    ----------
    demand
        From :func:`new_area_demand` (any CRS; reprojected to the study's).
    result
        From :func:`siting.run_study`.
    n_candidates
        Candidates listed per area.
    catchment_m
        Service radius, m; default the rulebook's ``walk_m``.
    existing
        ``amenity`` values counted as existing infant care.

    Returns
    -------
    GeoDataFrame
        As :func:`assess_new_areas`, in the study's CRS.
    """
    crs = result.candidates.crs
    fac = result.facilities
    fac = fac[fac["amenity"].isin(list(existing))]
    radius = float(result.rulebook.param("walk_m")) if catchment_m is None else catchment_m
    return assess_new_areas(
        demand.to_crs(crs),
        facilities=fac,
        candidates=result.candidates,
        catchment_m=radius,
        n_candidates=n_candidates,
        selected=result.selected,
    )


def new_areas_summary(assessed: pd.DataFrame) -> dict[str, Any]:
    """JSON-ready summary for ``summary.json`` and the report.

    Returns
    -------
    dict
        ``areas``, ``flagged``, ``planned_residents``, ``required_slots`` (total), and
        ``rows``: per area its id, name, residents, required slots, flagged,
        served_by_selected, nearest candidates and distances.
    """
    rows = [
        {
            "area_id": str(r["area_id"]),
            "name": str(r["name"]),
            "planned_residents": round(float(r["planned_residents"]), 1),
            "required_slots": int(r["required_slots"]),
            "flagged": bool(r["flagged"]),
            "served_by_selected": bool(r["served_by_selected"]),
            "nearest_facility_m": None
            if not np.isfinite(r["nearest_facility_m"])
            else round(float(r["nearest_facility_m"]), 1),
            "candidate_ids": str(r["candidate_ids"]),
            "candidate_dist_m": str(r["candidate_dist_m"]),
        }
        for _, r in assessed.iterrows()
    ]
    return {
        "areas": len(assessed),
        "flagged": int(assessed["flagged"].sum()),
        "planned_residents": round(float(assessed["planned_residents"].sum()), 1),
        "required_slots": int(assessed["required_slots"].sum()),
        "rows": rows,
    }


def labelled_table(assessed: pd.DataFrame, *, lang: str = "zh") -> pd.DataFrame:
    """Show the assessed areas with readable headers and values (popups, report).

    Parameters
    ----------
    assessed
        From :func:`assess_new_areas`.
    lang
        ``"zh"`` or ``"en"``.

    Returns
    -------
    DataFrame
        One row per area, the columns of :data:`LABELS` present, headed by their label;
        flags read 是/否 (yes/no), distances are whole metres, missing distances are empty.

    Examples
    --------
    >>> a = pd.DataFrame({"area_id": ["N001"], "required_slots": [25.0], "flagged": [True],
    ...                   "nearest_facility_m": [np.inf]})
    >>> labelled_table(a, lang="en").iloc[0].to_dict()  # doctest: +NORMALIZE_WHITESPACE
    {'New residential area': 'N001', 'Required slots (whole classes)': '25',
     'Nearest existing facility, m': '', 'No facility serves it': 'yes'}
    """
    i = 1 if lang == "en" else 0
    yes, no = ("yes", "no") if lang == "en" else ("是", "否")

    def fmt(value: object) -> str:
        if isinstance(value, bool | np.bool_):
            return yes if value else no
        if isinstance(value, float | np.floating):
            return f"{value:.0f}" if math.isfinite(value) else ""
        return str(value)

    cols = [c for c in LABELS if c in assessed.columns]
    return pd.DataFrame({LABELS[c][i]: [fmt(v) for v in assessed[c]] for c in cols})
