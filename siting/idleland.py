"""Idle and low-efficiency land (闲置土地、低效用地): the policy's first choice, as a criterion.

The Fuxin policy asks to build first on idle or low-efficiency land, by purchase, swap or
lease. A parcel is idle or low-efficiency when

- its land-use class is idle land by definition (空闲地, GB/T 21010 1201 / guide 2301:
  :func:`siting.landuse.classify_parcels` sets ``land_status``),
- its own status column says so (:func:`idle_status` reads 闲置, 低效用地, yes/no, ...), or
- the bureau's idle-land layer (闲置土地 register, 城镇低效用地 inventory) covers at least half
  of its area (:func:`mark_idle`).

``idle_land`` (1.0 for either, else 0.0) is a benefit criterion (:data:`CRITERIA`): give it
a weight beside :data:`siting.scoring.DEFAULT_WEIGHTS` (suggested :data:`IDLE_WEIGHT`) and
pass ``criteria_info={**scoring.CRITERIA, **idleland.CRITERIA}`` to
:func:`siting.scoring.score_parcels`, and idle parcels rise in the ranking.
"""

from __future__ import annotations

import logging
import math

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from siting._errors import ConfigError
from siting.landuse import column_of
from siting.scoring import Criterion

__all__ = ["COLUMNS", "CRITERIA", "IDLE_WEIGHT", "idle_status", "mark_idle"]

log = logging.getLogger(__name__)

#: Columns :func:`mark_idle` adds to parcels.
COLUMNS = ("land_status", "idle_land")
#: The idle-land criterion, for :func:`siting.scoring.score_parcels` (``criteria_info``).
CRITERIA: dict[str, Criterion] = {
    "idle_land": Criterion(
        "idle_land",
        "benefit",
        1.0,
        "闲置或低效用地（政策优先利用）",
        "Idle or low-efficiency land (the policy's first choice)",
    ),
}
#: Suggested weight of ``idle_land`` beside :data:`siting.scoring.DEFAULT_WEIGHTS`
#: (toolkit choice: as much as the transit or hazard-clearance criterion).
IDLE_WEIGHT = 0.10


_IDLE_WORDS = frozenset({"闲置", "闲置土地", "闲置地", "闲置用地", "空闲", "空闲地", "供而未用",
                         "idle", "vacant"})  # fmt: skip
_LOW_WORDS = frozenset({"低效", "低效用地", "低效土地", "城镇低效用地", "low_efficiency",
                        "low-efficiency", "low efficiency", "low"})  # fmt: skip
_YES = frozenset({"1", "true", "yes", "y", "t", "是"})
_NO = frozenset({"", "0", "false", "no", "n", "f", "否", "nan", "none", "在用", "已利用", "正常",
                 "使用中", "已建"})  # fmt: skip


def idle_status(values: pd.Series) -> pd.Series:
    """Read an idle / low-efficiency status column: ``"idle"``, ``"low_efficiency"`` or ``""``.

    Recognised: 闲置, 闲置土地, 空闲地, 供而未用, idle, vacant, and yes/true/1/是 (idle);
    低效, 低效用地, 城镇低效用地, low_efficiency (low efficiency); no/false/0/否/在用/已利用/empty
    (neither).
    Other values count as neither and are logged.

    Examples
    --------
    >>> idle_status(pd.Series(["闲置", "低效用地", "否", None, True, "在用"])).tolist()
    ['idle', 'low_efficiency', '', '', 'idle', '']
    """
    out = []
    other: set[str] = set()
    for v in values:
        if v is None or (isinstance(v, float) and math.isnan(v)):
            out.append("")
            continue
        if isinstance(v, bool | np.bool_):
            out.append("idle" if v else "")
            continue
        if isinstance(v, int | float | np.integer | np.floating):
            out.append("idle" if v != 0 else "")
            continue
        s = str(v).strip().lower()
        if s in _IDLE_WORDS or s in _YES:
            out.append("idle")
        elif s in _LOW_WORDS:
            out.append("low_efficiency")
        else:
            if s not in _NO:
                other.add(str(v))
            out.append("")
    if other:
        log.warning("status values read as neither idle nor low-efficiency: %s", sorted(other))
    return pd.Series(out, index=values.index, dtype=object)


def mark_idle(
    parcels: gpd.GeoDataFrame,
    *,
    column: str | None = None,
    layer: gpd.GeoDataFrame | None = None,
    layer_status: str | None = None,
    min_share: float = 0.5,
    what: str = "parcels",
) -> gpd.GeoDataFrame:
    """Mark idle and low-efficiency parcels (``land_status``, criterion ``idle_land``).

    A parcel is idle or low-efficiency when its land-use class is (空闲地, from
    :func:`classify_parcels`), its status column says so (:func:`idle_status`), or idle-land
    polygons (e.g. the bureau's 闲置土地 register) cover at least ``min_share`` of its area.
    Idle wins over low efficiency.

    Parameters
    ----------
    parcels
        Parcels with a CRS (not modified).
    column
        Status column of the parcels.
    layer
        Idle-land polygons (any CRS).
    layer_status
        Status column of ``layer`` (default: every polygon is idle).
    min_share
        Share of a parcel's area the layer must cover, 0-1.
    what
        For messages.

    Returns
    -------
    GeoDataFrame
        A copy with ``land_status`` (``"idle"``, ``"low_efficiency"`` or ``""``) and
        ``idle_land`` (1.0 for both, else 0.0: the policy prefers either).

    Raises
    ------
    ConfigError
        If a named column is missing or ``min_share`` is not in (0, 1].
    """
    if not 0 < min_share <= 1:
        msg = f"{what}: min_share must be in (0, 1], got {min_share}"
        raise ConfigError(msg)
    out = parcels.copy()
    status = out.get("land_status", pd.Series("", index=out.index)).fillna("").astype(str)
    if column is not None:
        status = _combine(status, idle_status(column_of(out, column, "idle", what)))
    if layer is not None and len(layer):
        from siting.crs import metric_crs

        crs = out.crs if out.crs is not None and out.crs.is_projected else metric_crs(out)
        geoms = out.to_crs(crs).geometry.to_numpy()
        marks = layer.to_crs(crs)
        kinds = (
            idle_status(column_of(marks, layer_status, "status", f"{what} idle-land layer"))
            .replace("", "idle")
            if layer_status else pd.Series("idle", index=marks.index)
        )  # fmt: skip
        area = shapely.area(geoms)
        best = np.zeros(len(out))
        found = np.full(len(out), "", dtype=object)
        for kind in ("low_efficiency", "idle"):
            part = marks.geometry[(kinds == kind).to_numpy()].to_numpy()
            if not len(part):
                continue
            union = shapely.union_all(shapely.make_valid(part))
            share = np.divide(
                shapely.area(shapely.intersection(geoms, union)), area,
                out=np.zeros(len(out)), where=area > 0,
            )  # fmt: skip
            take = (share >= min_share) & ((share >= best) | (kind == "idle"))
            found[take] = kind
            best = np.maximum(best, share)
        status = _combine(status, pd.Series(found, index=out.index))
    out["land_status"] = status.to_numpy()
    out["idle_land"] = status.isin(["idle", "low_efficiency"]).astype(float).to_numpy()
    return out


def _combine(a: pd.Series, b: pd.Series) -> pd.Series:
    """Combine two status series: idle beats low efficiency beats nothing."""
    rank = {"": 0, "low_efficiency": 1, "idle": 2}
    return pd.Series(
        [x if rank.get(x, 0) >= rank.get(y, 0) else y for x, y in zip(a, b, strict=True)],
        index=a.index,
        dtype=object,
    )
