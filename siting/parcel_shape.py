"""Parcel size and shape, what a bare site holds in slots, and recorded areas.

Slivers and scraps are not sites: :func:`shape_checks` measures each parcel's area, its
compactness (Polsby-Popper ``4 pi A / P^2``: 1 for a circle, 0.785 for a square) and its
**width**, the diameter of the largest circle that fits inside it (the distance at which a
negative buffer empties), and fails parcels below a minimum area (``SIZE-AREA``) or width
(``SIZE-WIDTH``).

Slots on bare land (:func:`site_slots`)
---------------------------------------
A new facility needs floor area (8 m² of usable area per child, BLDG-10) and outdoor play
area (each class's own 60 m² and 2 m² per child shared, JGJ 39-2016 3.2.3, BLDG-02). On a
site of area A the toolkit assumes (toolkit choice, configurable) a building covering 30 %
of the site on two storeys (usable floor area ``0.6 A``, as in the study's
``FLOOR_AREA_RATIO``), 30 % green space (JGJ 39 3.2.4, BLDG-03) and the remaining 40 % as
play area. Slots are whole classes (:mod:`siting.capacity`) that fit both the floor area and
the play area. :func:`min_site_area_m2` is the smallest site holding one class: with the
defaults, ``max(10 x 8 / 0.6, (60 + 2 x 10) / 0.4) = 200`` m².

Reused buildings are :mod:`siting.reuse`.

Recorded areas (:func:`check_recorded_area`)
--------------------------------------------
Survey and plan layers carry an area attribute (图斑面积 ``TBMJ``, 用地面积) in m², 亩 or
hectares. Survey areas are ellipsoidal (椭球面积), so the geometry's area is computed in an
equal-area projection centred on the layer; a difference above 5 % is warned about.
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from siting import capacity
from siting._errors import ConfigError, InputDataError
from siting._validate import require_projected

__all__ = [
    "AREA_UNITS",
    "CLASS_OUTDOOR_M2",
    "COLUMNS",
    "EXCLUSIONS",
    "FLOOR_AREA_RATIO",
    "MIN_WIDTH_M",
    "OUTDOOR_M2_PER_CHILD",
    "OUTDOOR_SHARE",
    "check_recorded_area",
    "compliance_rows",
    "exclusion_reasons",
    "min_site_area_m2",
    "outdoor_slots",
    "shape_checks",
    "site_slots",
]

log = logging.getLogger(__name__)

#: Usable floor area of a new facility per m² of site (toolkit choice: 30 % cover, 2 storeys).
FLOOR_AREA_RATIO = 0.6
#: Share of a new site left for outdoor play (toolkit choice: 1 - 30 % cover - 30 % green).
OUTDOOR_SHARE = 0.4
#: Each class's own outdoor area, m² (JGJ 39-2016 3.2.3, BLDG-02).
CLASS_OUTDOOR_M2 = 60.0
#: Shared outdoor area per child, m² (JGJ 39-2016 3.2.3, BLDG-02).
OUTDOOR_M2_PER_CHILD = 2.0
#: Narrowest useful site, m (toolkit choice: a one-class building of ~8 m depth plus access;
#: no standard gives a width).
MIN_WIDTH_M = 10.0
#: Area units of recorded areas, in m².
AREA_UNITS = {"m2": 1.0, "ha": 10_000.0, "mu": 10_000.0 / 15.0, "km2": 1_000_000.0}
#: Columns :func:`shape_checks` and :func:`check_recorded_area` add.
COLUMNS = (
    "perimeter_m", "compactness", "width_m", "shape_ok", "shape_fail", "area_recorded_m2",
    "area_diff",
)  # fmt: skip
#: Exclusion reasons this module adds to ``excluded_by``.
EXCLUSIONS: dict[str, dict[str, str]] = {
    "SIZE-AREA": {
        "zh": "地块面积小于最小托育设施（一个班）所需场地",
        "en": "Parcel smaller than the site of the smallest facility (one class)",
        "source": "BLDG-10 (8 m²/child), BLDG-02 (outdoor area), BLDG-03 (green space)",
    },
    "SIZE-WIDTH": {
        "zh": "地块过窄（最大内切圆直径小于最小宽度），无法布置托育建筑和室外场地",
        "en": "Parcel too narrow (largest inscribed circle below the minimum width) for a "
        "building and a play area",
        "source": "toolkit choice (no standard gives a width)",
    },
}


# --- shape ---------------------------------------------------------------------------


def shape_checks(
    parcels: gpd.GeoDataFrame,
    *,
    min_area_m2: float,
    min_width_m: float = MIN_WIDTH_M,
    tolerance_m: float = 0.05,
) -> pd.DataFrame:
    """Area, compactness and width of each parcel, and whether it is big and wide enough.

    Parameters
    ----------
    parcels
        Polygons in a projected CRS (metres).
    min_area_m2
        Smallest site, m² (e.g. :func:`min_site_area_m2`).
    min_width_m
        Narrowest site, m: the diameter of the largest circle inside the parcel.
    tolerance_m
        Accuracy of the width near ``min_width_m``, m (elsewhere widths are found to 1 %
        of the parcel's size); a parcel within ``2 x tolerance_m`` below ``min_width_m``
        counts as wide enough.

    Returns
    -------
    DataFrame
        Aligned to ``parcels``: ``perimeter_m``, ``compactness`` (0-1), ``width_m``,
        ``shape_ok`` (bool), ``shape_fail`` (``"SIZE-AREA"``, ``"SIZE-WIDTH"``, both joined
        by ``;``, or ``""``).

    Raises
    ------
    CRSError
        If the parcels are not in a projected CRS.
    ConfigError
        If a threshold is negative or not finite.

    Examples
    --------
    >>> p = gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 40, 40), shapely.box(0, 0, 4, 400)],
    ...                      crs=3857)
    >>> c = shape_checks(p, min_area_m2=200)
    >>> c["width_m"].round(2).tolist(), c["shape_fail"].tolist()
    ([40.0, 4.0], ['', 'SIZE-WIDTH'])
    """
    require_projected(parcels, "parcels")
    for name, value in (("min_area_m2", min_area_m2), ("min_width_m", min_width_m),
                        ("tolerance_m", tolerance_m)):  # fmt: skip
        if not math.isfinite(value) or value < 0:
            msg = f"{name} must be a number >= 0, got {value}"
            raise ConfigError(msg)
    geoms = parcels.geometry.to_numpy()
    area = shapely.area(geoms)
    perimeter = shapely.length(geoms)
    compact = np.divide(4 * np.pi * area, perimeter**2, out=np.zeros(len(geoms)),
                        where=perimeter > 0)  # fmt: skip
    width = np.zeros(len(geoms))
    ok_geom = ~(shapely.is_empty(geoms) | pd.isna(geoms))
    if ok_geom.any():
        width[ok_geom] = _widths(geoms[ok_geom], fine=max(tolerance_m, 1e-3), near=min_width_m)
    small = area < min_area_m2
    narrow = width + 2 * tolerance_m < min_width_m
    fail = [
        ";".join(r for r, f in (("SIZE-AREA", s), ("SIZE-WIDTH", n)) if f)
        for s, n in zip(small, narrow, strict=True)
    ]
    return pd.DataFrame(
        {"perimeter_m": perimeter, "compactness": compact, "width_m": width,
         "shape_ok": ~(small | narrow), "shape_fail": fail},
        index=parcels.index,
    )  # fmt: skip


def _widths(geoms: np.ndarray, *, fine: float, near: float) -> np.ndarray:
    """Diameter of the largest inscribed circle of each polygon, m.

    A coarse search first (to 1 % of the polygon's size: a city's parcels in seconds),
    then a search to ``fine`` where the coarse width could lie on either side of ``near``.
    The circle found is always inside the polygon, so a width is never overstated; the
    true width is at most ``2 x sqrt(2) x`` the search tolerance larger.
    """
    x0, y0, x1, y1 = shapely.bounds(geoms).T
    coarse = np.maximum(np.maximum(x1 - x0, y1 - y0) / 100.0, fine)
    width = 2.0 * shapely.length(shapely.maximum_inscribed_circle(geoms, tolerance=coarse))
    redo = (width < near) & (width + 2 * math.sqrt(2) * coarse >= near) & (coarse > fine)
    if redo.any():
        circles = shapely.maximum_inscribed_circle(geoms[redo], tolerance=fine)
        width[redo] = 2.0 * shapely.length(circles)
    return width


def exclusion_reasons(candidates: pd.DataFrame) -> pd.Series:
    """Size and shape exclusion of each candidate (``shape_fail``), ``""`` when none.

    Candidates without :func:`shape_checks` columns are not excluded.
    """
    if "shape_fail" not in candidates.columns:
        return pd.Series("", index=candidates.index, dtype=object)
    return candidates["shape_fail"].fillna("").astype(str)


# --- slots -----------------------------------------------------------------------------


def _steps(class_sizes: Sequence[float], max_classes: int) -> np.ndarray:
    """Children after opening 1, 2, ... ``max_classes`` classes (as :mod:`siting.capacity`)."""
    sizes = [int(s) for s in class_sizes]
    return np.cumsum([sizes[i % len(sizes)] for i in range(max_classes)])


def outdoor_slots(
    outdoor_m2: np.ndarray,
    *,
    class_sizes: Sequence[float],
    max_classes: int = 10,
    class_outdoor_m2: float = CLASS_OUTDOOR_M2,
    outdoor_m2_per_child: float = OUTDOOR_M2_PER_CHILD,
) -> np.ndarray:
    """Slots in whole classes whose outdoor area need fits in ``outdoor_m2`` (m²).

    ``k`` classes of ``n`` children need ``k x class_outdoor_m2 + n x outdoor_m2_per_child``
    (BLDG-02: each class's own 60 m², and 2 m² per child shared).

    Examples
    --------
    >>> outdoor_slots(np.array([79.0, 80.0, 350.0]), class_sizes=[10, 15, 20], max_classes=10,
    ...               class_outdoor_m2=60, outdoor_m2_per_child=2).tolist()
    [0, 10, 55]
    """
    steps = _steps(class_sizes, max_classes)
    need = class_outdoor_m2 * np.arange(1, max_classes + 1) + outdoor_m2_per_child * steps
    fit = np.searchsorted(need, np.nan_to_num(np.asarray(outdoor_m2, dtype=float)), side="right")
    return np.where(fit > 0, steps[np.maximum(fit - 1, 0)], 0).astype(int)


def site_slots(
    site_m2: np.ndarray,
    *,
    m2_per_child: float,
    class_sizes: Sequence[float],
    max_classes: int = 10,
    floor_area_ratio: float = FLOOR_AREA_RATIO,
    outdoor_share: float = OUTDOOR_SHARE,
    class_outdoor_m2: float = CLASS_OUTDOOR_M2,
    outdoor_m2_per_child: float = OUTDOOR_M2_PER_CHILD,
) -> np.ndarray:
    """Slots a new facility on bare land holds: floor area and play area both fit.

    Parameters
    ----------
    site_m2
        Site (buildable) area, m².
    m2_per_child
        Usable floor area per child, m² (BLDG-10: 8).
    class_sizes, max_classes
        As :func:`siting.capacity.slots_from_area` (BLDG-06).
    floor_area_ratio
        Usable floor area per m² of site.
    outdoor_share
        Share of the site for outdoor play.
    class_outdoor_m2, outdoor_m2_per_child
        Outdoor area per class and per child, m² (BLDG-02: 60 and 2).

    Returns
    -------
    numpy.ndarray
        Integer slots (whole classes).

    Examples
    --------
    >>> site_slots(np.array([199.0, 200.0, 1000.0]), m2_per_child=8, class_sizes=[10, 15, 20]).tolist()
    [0, 10, 55]
    """  # noqa: E501
    site = np.asarray(site_m2, dtype=float)
    floor = capacity.slots_from_area(
        floor_area_ratio * site, m2_per_child=m2_per_child, class_sizes=class_sizes,
        max_classes=max_classes,
    )  # fmt: skip
    outdoor = outdoor_slots(
        outdoor_share * site, class_sizes=class_sizes, max_classes=max_classes,
        class_outdoor_m2=class_outdoor_m2, outdoor_m2_per_child=outdoor_m2_per_child,
    )  # fmt: skip
    return np.minimum(floor, outdoor)


def min_site_area_m2(
    *,
    m2_per_child: float,
    class_sizes: Sequence[float],
    classes: int = 1,
    floor_area_ratio: float = FLOOR_AREA_RATIO,
    outdoor_share: float = OUTDOOR_SHARE,
    class_outdoor_m2: float = CLASS_OUTDOOR_M2,
    outdoor_m2_per_child: float = OUTDOOR_M2_PER_CHILD,
) -> float:
    """Smallest site holding ``classes`` classes under :func:`site_slots`, m².

    Examples
    --------
    >>> min_site_area_m2(m2_per_child=8, class_sizes=[10, 15, 20])
    200.0
    """
    if classes < 1 or floor_area_ratio <= 0 or outdoor_share <= 0:
        msg = "classes must be >= 1 and floor_area_ratio, outdoor_share > 0"
        raise ConfigError(msg)
    children = float(_steps(class_sizes, classes)[-1])
    return max(
        children * m2_per_child / floor_area_ratio,
        (class_outdoor_m2 * classes + outdoor_m2_per_child * children) / outdoor_share,
    )


# --- recorded areas ------------------------------------------------------------------


def check_recorded_area(
    parcels: gpd.GeoDataFrame,
    *,
    column: str,
    unit: str = "m2",
    tolerance: float = 0.05,
    what: str = "parcels",
) -> pd.DataFrame:
    """Compare the area recorded in the attribute table with the geometry's area.

    The geometry's area is taken in a Lambert azimuthal equal-area projection centred on
    the layer (GRS80), i.e. on the ellipsoid like survey areas (椭球面积), whatever CRS the
    layer is in.

    Parameters
    ----------
    parcels
        Polygons with a CRS.
    column
        Column with the recorded area (e.g. ``TBMJ``).
    unit
        Its unit: ``"m2"``, ``"ha"``, ``"mu"`` (亩 = 666.67 m²) or ``"km2"``.
    tolerance
        Relative difference above which a parcel is warned about (0.05 = 5 %).
    what
        For messages.

    Returns
    -------
    DataFrame
        Aligned to ``parcels``: ``area_recorded_m2`` and ``area_diff`` (recorded / geometry
        - 1; NaN where no area is recorded).

    Warns
    -----
    UserWarning
        When some parcels differ by more than ``tolerance``: how many, the worst, and a
        hint when the differences look like a unit mistake.

    Raises
    ------
    ConfigError
        If the column is missing, the unit unknown, or the column not numeric.
    """
    if unit not in AREA_UNITS:
        msg = f"{what}: area_unit = {unit!r}; use one of {list(AREA_UNITS)}"
        raise ConfigError(msg)
    if column not in parcels.columns:
        have = [c for c in parcels.columns if c != parcels.geometry.name]
        msg = f"{what}: area = {column!r} is not a column of the layer; set area to one of {have}"
        raise ConfigError(msg)
    recorded = pd.to_numeric(parcels[column], errors="coerce")
    if recorded.isna().all() and parcels[column].notna().any():
        msg = f"{what}: area column {column!r} holds no numbers (e.g. {parcels[column].iloc[0]!r})"
        raise ConfigError(msg)
    if parcels.crs is None:
        msg = f"{what} has no CRS: cannot compare areas"
        raise InputDataError(msg)
    lon, lat = (
        gpd.GeoSeries([shapely.box(*parcels.total_bounds)], crs=parcels.crs)
        .to_crs(4326).iloc[0].centroid.coords[0]
    )  # fmt: skip
    laea = f"+proj=laea +lat_0={lat:.6f} +lon_0={lon:.6f} +ellps=GRS80 +units=m +no_defs"
    geom_m2 = parcels.geometry.to_crs(laea).area.to_numpy()
    rec_m2 = recorded.to_numpy(dtype=float) * AREA_UNITS[unit]
    diff = np.divide(rec_m2, geom_m2, out=np.full(len(parcels), np.nan), where=geom_m2 > 0) - 1
    bad = np.abs(np.nan_to_num(diff)) > tolerance
    if bad.any():
        worst = int(np.nanargmax(np.abs(np.where(bad, diff, 0))))
        ids = (
            parcels["parcel_id"].astype(str).to_numpy()
            if "parcel_id" in parcels.columns
            else parcels.index.astype(str).to_numpy()
        )
        ratio = float(np.nanmedian((diff + 1)[bad]))
        hint = ""
        for name, factor in AREA_UNITS.items():
            if name != unit and ratio > 0 and abs(AREA_UNITS[unit] / ratio / factor - 1) < 0.05:
                hint = f"; the areas look like {name}: set area_unit = {name!r}"
        warnings.warn(
            f"{what}: {int(bad.sum())} of {len(parcels)} parcel(s) have a recorded area "
            f"({column}, {unit}) more than {tolerance:.0%} away from their geometry's area "
            f"(worst: {ids[worst]}, recorded {rec_m2[worst]:,.0f} m², geometry "
            f"{geom_m2[worst]:,.0f} m², {diff[worst]:+.0%}){hint}; the geometry's area is used",
            UserWarning,
            stacklevel=2,
        )
    return pd.DataFrame({"area_recorded_m2": rec_m2, "area_diff": diff}, index=parcels.index)


# --- compliance card --------------------------------------------------------------------

_CARD_COLUMNS = [
    "parcel_id", "rule_id", "kind", "hard", "n_features", "measured_m", "screening_m",
    "margin_m", "threshold", "threshold_zh", "result", "penalty", "source", "clause",
    "confidence", "zh", "en",
]  # fmt: skip


def compliance_rows(
    candidates: pd.DataFrame, *, min_area_m2: float, min_width_m: float = MIN_WIDTH_M
) -> pd.DataFrame:
    """Compliance-card rows for size and width.

    Columns as :func:`siting.constraints.compliance_table`. Every candidate with
    :func:`shape_checks` columns gets a ``SIZE-AREA`` and a ``SIZE-WIDTH`` row
    (``measured_m``: the width for ``SIZE-WIDTH``, and ``margin_m`` its margin); rows
    without them (e.g. reused buildings added later) get none.
    """
    frames = []
    if "shape_fail" in candidates.columns:
        candidates = candidates[candidates["shape_fail"].notna().to_numpy()]
    n = len(candidates)
    pid = candidates["parcel_id"].astype(str).to_numpy()
    base = {"kind": "info", "hard": True, "n_features": 0, "screening_m": np.nan,
            "penalty": 0.0}  # fmt: skip
    if "shape_fail" in candidates.columns:
        fail = candidates["shape_fail"].fillna("").astype(str)
        area = (
            candidates.geometry.area.to_numpy()
            if isinstance(candidates, gpd.GeoDataFrame)
            else np.full(n, np.nan)
        )
        frames.append(pd.DataFrame({
            "parcel_id": pid, "rule_id": "SIZE-AREA", **base, "measured_m": np.nan,
            "margin_m": np.nan, "threshold": f"≥ {min_area_m2:,.0f} m²",
            "threshold_zh": f"≥ {min_area_m2:,.0f} 平方米",
            "result": np.where(fail.str.contains("SIZE-AREA"), "fail", "pass"),
            "source": EXCLUSIONS["SIZE-AREA"]["source"], "clause": "BLDG-02, BLDG-03, BLDG-10",
            "confidence": "toolkit choice",
            "zh": [f"地块面积 {a:,.0f} 平方米；{EXCLUSIONS['SIZE-AREA']['zh']}" for a in area],
            "en": [f"Parcel area {a:,.0f} m². {EXCLUSIONS['SIZE-AREA']['en']}" for a in area],
        }))  # fmt: skip
        width = candidates["width_m"].to_numpy(dtype=float)
        frames.append(pd.DataFrame({
            "parcel_id": pid, "rule_id": "SIZE-WIDTH", **base, "measured_m": width,
            "margin_m": width - min_width_m, "threshold": f"≥ {min_width_m:g} m",
            "threshold_zh": f"≥ {min_width_m:g} 米",
            "result": np.where(fail.str.contains("SIZE-WIDTH"), "fail", "pass"),
            "source": EXCLUSIONS["SIZE-WIDTH"]["source"], "clause": "—",
            "confidence": "uncertain", "zh": EXCLUSIONS["SIZE-WIDTH"]["zh"],
            "en": EXCLUSIONS["SIZE-WIDTH"]["en"],
        }))  # fmt: skip
    if not frames:
        return pd.DataFrame(columns=_CARD_COLUMNS)
    return pd.concat(frames, ignore_index=True)[_CARD_COLUMNS]
