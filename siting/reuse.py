"""Reused buildings: usable area by floors, slots, and existing facilities as candidates.

The policy asks to reuse idle buildings and to co-locate with community service centres,
health stations and kindergartens (toddler classes). A building's usable area is its
footprint times its storeys, **floors 1-3 only**: inside another building children's rooms
may be on floors 1-3 (fire grade 1-2; GB 50016-2014 5.4.4, rulebook BLDG-08) and never in a
basement or semi-basement (JGJ 39-2016 4.1.3, BLDG-04), so storeys are counted above ground
and capped at 3. Slots are then whole classes at 8 m² per child (BLDG-10,
:mod:`siting.capacity`). A facility that shares a building has at most 3 classes, and the
building must meet the conditions of JGJ 39-2016 (2019 ed.) 3.2.2 (BLDG-05,
:data:`SHARING_CONDITIONS`), which :func:`compliance_rows` puts on the candidate's card.

Reuse candidates come from two places: parcels with a floors column (an idle office, a
community centre's plot: the footprint from a column or from the mapped buildings inside the
parcel, :func:`footprint_from_buildings`) and the study's existing facilities
(:func:`reuse_candidates`: the building each kindergarten, community centre or clinic is in).
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from siting import capacity
from siting._validate import require_projected
from siting.parcel_shape import CLASS_OUTDOOR_M2, OUTDOOR_M2_PER_CHILD, outdoor_slots, site_slots

__all__ = [
    "COLUMNS",
    "MAX_REUSE_FLOOR",
    "REUSE_AMENITIES",
    "SHARED_MAX_CLASSES",
    "SHARING_CONDITIONS",
    "compliance_rows",
    "footprint_from_buildings",
    "parcel_slots",
    "reuse_candidates",
    "reused_slots",
    "reused_usable_m2",
]

log = logging.getLogger(__name__)

#: Highest floor counted in a reused building (GB 50016-2014 5.4.4, BLDG-08).
MAX_REUSE_FLOOR = 3
#: Most classes when sharing a building (JGJ 39-2016 3.2.2, BLDG-05).
SHARED_MAX_CLASSES = 3
#: Amenities that become reuse candidates (Fuxin: community service centres, health
#: stations, kindergartens' toddler classes).
REUSE_AMENITIES = ("kindergarten", "community_centre", "clinic", "doctors")
#: Columns the reuse functions add to candidates.
COLUMNS = (
    "building_floors", "floors_assumed", "footprint_m2", "reuse_usable_m2", "reuse_of",
    "parcel_source",
)  # fmt: skip

#: JGJ 39-2016 (2019 ed.) 3.2.2 conditions for sharing a building (BLDG-05), ``(zh, en)``.
SHARING_CONDITIONS: tuple[tuple[str, str], ...] = (
    ("合建时托育不超过 3 个班（4 个班及以上应独立设置）",
     "At most 3 classes when sharing a building (4 or more need a stand-alone building)"),
    ("建筑经抗震、消防鉴定合格，且场地符合 3.1.2 条（选址规则）",
     "The building is certified safe (seismic, fire) and the site meets 3.1.2 (siting rules)"),
    ("有独立的楼梯和出入口", "Its own stair and entrance"),
    ("设置送接停留场地", "Space for dropping off and picking up children"),
    ("设置独立的室外活动场地并有防护", "Its own fenced outdoor play area"),
    ("有防止物体坠落的措施", "Protection against falling objects"),
)  # fmt: skip


def reused_usable_m2(
    footprint_m2: np.ndarray, floors: np.ndarray, *, max_floor: int = MAX_REUSE_FLOOR
) -> np.ndarray:
    """Usable area of a reused building: footprint x storeys, floors 1 to ``max_floor`` only.

    ``floors`` are storeys above ground (basements never count, BLDG-04); fractional
    storeys are rounded down and values below 1 give 0. NaN stays NaN (no building).

    Examples
    --------
    >>> reused_usable_m2(np.array([200.0] * 4), np.array([1, 2.5, 6, np.nan])).tolist()
    [200.0, 400.0, 600.0, nan]
    """
    storeys = np.clip(np.floor(np.asarray(floors, dtype=float)), 0, max_floor)
    return np.asarray(footprint_m2, dtype=float) * storeys


def _slots(usable: np.ndarray, shared: np.ndarray, **cap: Any) -> np.ndarray:
    """Whole-class slots of usable areas, capped at 3 classes where ``shared``."""
    most = int(cap.pop("max_classes"))
    own = capacity.slots_from_area(usable, max_classes=most, **cap)
    capped = capacity.slots_from_area(usable, max_classes=min(SHARED_MAX_CLASSES, most), **cap)
    return np.where(shared, capped, own)


def reused_slots(
    footprint_m2: np.ndarray,
    floors: np.ndarray,
    *,
    m2_per_child: float,
    class_sizes: Sequence[float],
    max_classes: int = 10,
    shared: np.ndarray | bool = True,
    open_m2: np.ndarray | None = None,
    max_floor: int = MAX_REUSE_FLOOR,
    class_outdoor_m2: float = CLASS_OUTDOOR_M2,
    outdoor_m2_per_child: float = OUTDOOR_M2_PER_CHILD,
) -> np.ndarray:
    """Slots in a reused building: footprint x floors 1-3, at most 3 classes when shared.

    Parameters
    ----------
    footprint_m2, floors
        Building footprint (m²) and storeys above ground.
    m2_per_child, class_sizes, max_classes
        As :func:`siting.capacity.slots_from_area` (BLDG-10, BLDG-06).
    shared
        True where the facility shares the building with other uses (co-location): at most
        :data:`SHARED_MAX_CLASSES` classes (BLDG-05).
    open_m2
        Open ground around the building, m²: the play area must fit in it (BLDG-02).
        Default: not tested (the own fenced outdoor area is a check on the card).
    max_floor
        Highest floor counted (BLDG-08).
    class_outdoor_m2, outdoor_m2_per_child
        Outdoor area per class and per child, m² (BLDG-02).

    Returns
    -------
    numpy.ndarray
        Integer slots (0 where there is no building).

    Examples
    --------
    A 300 m² footprint: one floor holds 37 children (25 in whole classes), three floors 112
    (100, or 45 in 3 classes when shared); the 4th to 6th floors do not count:

    >>> reused_slots(np.array([300.0] * 4), np.array([1, 3, 3, 6]), m2_per_child=8,
    ...              class_sizes=[10, 15, 20], shared=np.array([False, False, True, False])
    ...              ).tolist()
    [25, 100, 45, 100]
    """
    usable = np.nan_to_num(reused_usable_m2(footprint_m2, floors, max_floor=max_floor))
    share = np.broadcast_to(np.asarray(shared, dtype=bool), usable.shape)
    slots = _slots(
        usable, share, m2_per_child=m2_per_child, class_sizes=class_sizes,
        max_classes=max_classes,
    )  # fmt: skip
    if open_m2 is not None:
        room = outdoor_slots(
            np.asarray(open_m2, dtype=float), class_sizes=class_sizes, max_classes=max_classes,
            class_outdoor_m2=class_outdoor_m2, outdoor_m2_per_child=outdoor_m2_per_child,
        )  # fmt: skip
        slots = np.minimum(slots, room)
    return slots.astype(int)


def parcel_slots(
    candidates: pd.DataFrame,
    *,
    buildable_m2: np.ndarray,
    m2_per_child: float,
    class_sizes: Sequence[float],
    max_classes: int = 10,
) -> np.ndarray:
    """Slots of every candidate: its reused building where it has one, else bare land.

    A candidate with ``reuse_usable_m2`` (:func:`reuse_candidates`, or a parcel layer with a
    floors column) holds that area in whole classes, at most 3 when its land-use role is
    ``co_location`` or it is an existing facility (sharing a building, BLDG-05); the others
    hold :func:`siting.parcel_shape.site_slots` of their buildable area.

    Parameters
    ----------
    candidates
        Candidates, aligned with ``buildable_m2``.
    buildable_m2
        Area left after setbacks (:func:`siting.constraints.buildable_area`), m².
    m2_per_child, class_sizes, max_classes
        From the rulebook (BLDG-10, BLDG-06).

    Returns
    -------
    numpy.ndarray
        Integer slots, aligned with ``candidates`` (the study's ``capacity_slots``).
    """
    bare = site_slots(
        buildable_m2, m2_per_child=m2_per_child, class_sizes=class_sizes, max_classes=max_classes
    )
    if "reuse_usable_m2" not in candidates.columns:
        return bare
    usable = candidates["reuse_usable_m2"].to_numpy(dtype=float)
    idx = candidates.index
    role = candidates.get("landuse_role", pd.Series("", index=idx)).fillna("").astype(str)
    source = candidates.get("parcel_source", pd.Series("", index=idx)).fillna("").astype(str)
    shared = ((role == "co_location") | (source == "reuse")).to_numpy()
    reuse = _slots(
        np.nan_to_num(usable), shared, m2_per_child=m2_per_child, class_sizes=class_sizes,
        max_classes=max_classes,
    )  # fmt: skip
    return np.where(np.isnan(usable), bare, reuse).astype(int)


def _valid(geoms: np.ndarray) -> np.ndarray:
    """Repair invalid polygons (OSM buildings may self-intersect), keeping them polygons."""
    bad = ~shapely.is_valid(geoms)
    if not bad.any():
        return geoms
    out = geoms.copy()
    out[bad] = shapely.make_valid(geoms[bad], method="structure", keep_collapsed=False)
    return out


def footprint_from_buildings(parcels: gpd.GeoDataFrame, buildings: gpd.GeoDataFrame) -> pd.Series:
    """Area of the building footprints inside each parcel, m² (parts outside are cut off).

    Parameters
    ----------
    parcels, buildings
        Polygons in the same projected CRS.

    Returns
    -------
    Series
        ``footprint_m2``, aligned to ``parcels`` (0 where there is no building).

    Examples
    --------
    >>> p = gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 100, 100)], crs=3857)
    >>> b = gpd.GeoDataFrame(geometry=[shapely.box(10, 10, 30, 20), shapely.box(90, 0, 110, 10)],
    ...                      crs=3857)
    >>> footprint_from_buildings(p, b).tolist()
    [300.0]
    """
    require_projected(parcels, "parcels")
    out: np.ndarray = np.zeros(len(parcels))
    polys = buildings.geometry[buildings.geom_type.isin(["Polygon", "MultiPolygon"])].to_numpy()
    polys = _valid(polys)  # OSM buildings may self-intersect
    if len(polys) and len(parcels):
        geoms = parcels.geometry.to_numpy()
        geoms = _valid(geoms)
        p_idx, b_idx = shapely.STRtree(polys).query(geoms, predicate="intersects")
        parts = shapely.area(shapely.intersection(geoms[p_idx], polys[b_idx]))
        out = np.bincount(p_idx, weights=parts, minlength=len(parcels))
    return pd.Series(out, index=parcels.index, name="footprint_m2")


def _levels(value: object) -> float:
    """Storeys from an OSM ``building:levels`` text (``"3"``, ``"2;3"``, ``"4.5"``), or NaN."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return math.nan
    numbers = [float(x) for x in re.findall(r"\d+(?:\.\d+)?", str(value))]
    return max(numbers) if numbers else math.nan


def reuse_candidates(
    amenities: gpd.GeoDataFrame,
    buildings: gpd.GeoDataFrame,
    *,
    kinds: Sequence[str] = REUSE_AMENITIES,
    assumed_floors: float = 1.0,
    snap_m: float = 20.0,
) -> gpd.GeoDataFrame:
    """Existing facilities whose buildings may host infant care, as candidates.

    Each facility (``amenity`` in ``kinds``) becomes its building: a facility mapped as a
    polygon is its own building; a point takes the largest building containing it, else
    the nearest building within ``snap_m`` (points are often drawn in the yard or at the
    gate); points farther from any building are skipped and logged. Facilities in one
    building are one candidate.

    Parameters
    ----------
    amenities
        The study's ``amenities`` layer (``amenity``, ``name``), projected CRS.
    buildings
        Building polygons with ``levels`` (OSM ``building:levels``), same CRS.
    kinds
        Amenities to reuse.
    assumed_floors
        Storeys assumed where the building has no ``levels`` (``floors_assumed`` is set).
    snap_m
        Largest distance from a point to its building when no building contains it, m.

    Returns
    -------
    GeoDataFrame
        ``parcel_id`` (``R0001`` ...), ``parcel_source`` (``"reuse"``), ``reuse_of``
        (amenities, ``;``-joined), ``name``, ``building_floors``, ``floors_assumed``,
        ``footprint_m2``, ``reuse_usable_m2`` (floors 1-3, :func:`reused_usable_m2`),
        ``landuse_role`` (``"co_location"``), building polygons.
    """
    require_projected(amenities, "amenities")
    rows = amenities[amenities["amenity"].isin(list(kinds))].reset_index(drop=True)
    polys = buildings[buildings.geom_type.isin(["Polygon", "MultiPolygon"])]
    polys = polys.reset_index(drop=True).set_geometry(_valid(polys.geometry.to_numpy()))
    geoms = rows.geometry.to_numpy()
    is_area = np.isin(shapely.get_type_id(geoms), [3, 6])
    building = np.full(len(rows), -1)
    points = np.flatnonzero(~is_area)
    if len(polys) and len(points):
        shapes = polys.geometry.to_numpy()
        p_idx, b_idx = shapely.STRtree(shapes).query(geoms[points], predicate="within")
        for i in np.argsort(shapely.area(shapes[b_idx]), kind="stable"):
            building[points[p_idx[i]]] = b_idx[i]  # the largest building comes last and wins
        loose = points[building[points] < 0]
        if len(loose) and snap_m > 0:
            (near_p, near_b), _ = shapely.STRtree(shapes).query_nearest(
                geoms[loose], max_distance=snap_m, return_distance=True, all_matches=False
            )
            building[loose[near_p]] = near_b
    lost = int(((~is_area) & (building < 0)).sum())
    if lost:
        log.info("%d facilities to reuse lie in no mapped building: skipped", lost)
    records: dict[str, dict[str, Any]] = {}
    for i in range(len(rows)):
        if is_area[i]:
            key, geom, levels = f"a{i}", geoms[i], None
        elif building[i] >= 0:
            b = int(building[i])
            key, geom = f"b{b}", polys.geometry.iloc[b]
            levels = polys["levels"].iloc[b] if "levels" in polys.columns else None
        else:
            continue
        rec = records.setdefault(key, {"of": [], "name": [], "geometry": geom, "levels": levels})
        rec["of"].append(str(rows.at[i, "amenity"]))
        name = rows.at[i, "name"]
        if isinstance(name, str) and name:
            rec["name"].append(name)
    recs = list(records.values())
    floors = np.array([_levels(r["levels"]) for r in recs], dtype=float)
    assumed = np.isnan(floors)
    floors = np.where(assumed, assumed_floors, floors)
    shapes_out = np.array([r["geometry"] for r in recs], dtype=object)
    footprint = shapely.area(shapes_out) if recs else np.zeros(0)
    return gpd.GeoDataFrame(
        {
            "parcel_id": [f"R{i + 1:04d}" for i in range(len(recs))],
            "parcel_source": "reuse",
            "reuse_of": [";".join(dict.fromkeys(r["of"])) for r in recs],
            "name": ["; ".join(dict.fromkeys(r["name"])) for r in recs],
            "building_floors": floors,
            "floors_assumed": assumed,
            "footprint_m2": footprint,
            "reuse_usable_m2": reused_usable_m2(footprint, floors),
            "landuse_role": "co_location",
        },
        geometry=list(shapes_out),
        crs=amenities.crs,
    )


_CARD_COLUMNS = [
    "parcel_id", "rule_id", "kind", "hard", "n_features", "measured_m", "screening_m",
    "margin_m", "threshold", "threshold_zh", "result", "penalty", "source", "clause",
    "confidence", "zh", "en",
]  # fmt: skip
_JGJ39 = "JGJ 39-2016（2019 年版）《托儿所、幼儿园建筑设计规范》"


def _card(pid: np.ndarray, rule_id: str, **values: Any) -> pd.DataFrame:
    base = {"kind": "info", "hard": False, "n_features": 0, "measured_m": np.nan,
            "screening_m": np.nan, "margin_m": np.nan, "penalty": 0.0}  # fmt: skip
    return pd.DataFrame({"parcel_id": pid, "rule_id": rule_id, **base, **values})


def compliance_rows(candidates: pd.DataFrame) -> pd.DataFrame:
    """Compliance-card rows of reuse candidates: sharing conditions and floors counted.

    Columns as :func:`siting.constraints.compliance_table`. Every co-location candidate
    (land-use role ``co_location`` or an existing facility) gets six ``BLDG-05`` rows, the
    JGJ 39-2016 3.2.2 conditions (:data:`SHARING_CONDITIONS`): the class limit ``pass``
    (capacity is capped at 3 classes, :func:`parcel_slots`), the others ``check`` (not in
    the data). Every candidate with a building to reuse gets a ``BLDG-08`` row (floors
    counted; ``check`` when the building is taller than 3 storeys) and a ``BLDG-04`` row
    (basements not counted).
    """
    idx = candidates.index
    pid = candidates["parcel_id"].astype(str).to_numpy()
    role = candidates.get("landuse_role", pd.Series("", index=idx)).fillna("").astype(str)
    source = candidates.get("parcel_source", pd.Series("", index=idx)).fillna("").astype(str)
    co = ((role == "co_location") | (source == "reuse")).to_numpy()
    frames = [
        _card(
            pid[co],
            "BLDG-05",
            threshold=en,
            threshold_zh=zh,
            result="pass" if i == 0 else "check",
            source=_JGJ39,
            clause="3.2.2",
            confidence="verified in text",
            zh=zh,
            en=en,
        )
        for i, (zh, en) in enumerate(SHARING_CONDITIONS)
    ]
    if "reuse_usable_m2" in candidates.columns:
        has = candidates["reuse_usable_m2"].notna().to_numpy()
        fl = candidates.get("building_floors", pd.Series(np.nan, index=idx)).to_numpy(float)[has]
        counted = np.clip(np.floor(np.nan_to_num(fl)), 0, MAX_REUSE_FLOOR)
        zh = [f"建筑 {f:g} 层，计入一至 {c:g} 层；耐火等级三级时仅一、二层，四级仅首层"
              for f, c in zip(fl, counted, strict=True)]  # fmt: skip
        en = [f"Building of {f:g} storeys: floors 1-{c:g} counted; floors 1-2 only for fire "
              "grade 3, floor 1 for grade 4" for f, c in zip(fl, counted, strict=True)]  # fmt: skip
        frames.append(_card(
            pid[has], "BLDG-08", threshold="floors 1-3 (fire grade 1-2)",
            threshold_zh="一至三层（一、二级耐火等级）",
            result=np.where(fl > MAX_REUSE_FLOOR, "check", "pass"),
            source="GB 50016-2014（2018 年版）《建筑设计防火规范》", clause="5.4.4",
            confidence="verified in text", zh=zh, en=en,
        ))  # fmt: skip
        frames.append(_card(
            pid[has], "BLDG-04", threshold="no basement", threshold_zh="不设在地下室或半地下室",
            result="pass", source=_JGJ39, clause="4.1.3", confidence="verified in text",
            zh="地下室、半地下室不计入可用面积", en="Basements are not counted as usable area",
        ))  # fmt: skip
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame(columns=_CARD_COLUMNS)
    return pd.concat(frames, ignore_index=True)[_CARD_COLUMNS]
