"""Scoring: normalise criteria, weight them, rank eligible parcels, explain each score.

Each criterion is capped, then scaled linearly to 0-1 over the eligible parcels (benefit:
higher is better; cost: lower is better). The score is the weighted sum x 100, and the
``contrib_<criterion>`` columns hold each criterion's share of it, so a score always equals
the sum of its contributions. Ranks are 1..n over eligible parcels by score, ties broken by
``parcel_id``; excluded parcels get no score and no rank.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from siting._errors import ConfigError
from siting._validate import require_columns

__all__ = ["CRITERIA", "DEFAULT_WEIGHTS", "Criterion", "score_parcels"]


@dataclass(frozen=True)
class Criterion:
    """How one criterion column is read."""

    column: str
    direction: str  #: "benefit" or "cost"
    cap: float  #: values beyond the cap count as the cap
    zh: str
    en: str

    def label(self, lang: str = "zh") -> str:
        """Criterion name in ``"zh"`` or ``"en"``."""
        return self.en if lang == "en" else self.zh


#: The foundation criteria, by name.
CRITERIA: dict[str, Criterion] = {
    "unserved_under3": Criterion(
        "unserved_under3",
        "benefit",
        math.inf,
        "步行5分钟内未被现有托育覆盖的婴幼儿数",
        "Under-3s within a 5-min walk not served by existing childcare",
    ),
    "walk_under3": Criterion(
        "walk_under3", "benefit", math.inf, "步行5分钟内婴幼儿数", "Under-3s within a 5-min walk"
    ),
    "dist_public_m": Criterion(
        "dist_public_m",
        "cost",
        1000.0,
        "距公共服务设施（学校、幼儿园、诊所）距离 (m)",
        "Distance to public facilities (school, kindergarten, clinic), m",
    ),
    "dist_stop_m": Criterion(
        "dist_stop_m",
        "cost",
        1000.0,
        "距最近公交、电车站距离 (m)",
        "Distance to the nearest bus or tram stop, m",
    ),
    "arterial_only_frontage": Criterion(
        "arterial_only_frontage",
        "cost",
        1.0,
        "仅临城市干道（出入口不宜开向干道，SITE-10）",
        "Fronts only an arterial (gate should not open onto one, SITE-10)",
    ),
    "hazard_margin_m": Criterion(
        "hazard_margin_m",
        "benefit",
        200.0,
        "超出最近危险源退让距离的余量 (m)",
        "Clearance beyond the nearest hazard setback, m",
    ),
    "area_m2": Criterion("area_m2", "benefit", 5000.0, "地块面积 (m²)", "Parcel area, m²"),
}

#: Default weights (toolkit choice): unmet demand first, then demand, co-location, transit,
#: the entrance rule, hazard clearance and room.
DEFAULT_WEIGHTS: dict[str, float] = {
    "unserved_under3": 0.30,
    "walk_under3": 0.20,
    "dist_public_m": 0.15,
    "dist_stop_m": 0.10,
    "arterial_only_frontage": 0.05,
    "hazard_margin_m": 0.10,
    "area_m2": 0.10,
}


def _check_weight_values(weights: Mapping[str, float]) -> None:
    for name, w in weights.items():
        if isinstance(w, bool) or not isinstance(w, numbers.Real) or not math.isfinite(w) or w < 0:
            msg = f"weight of {name!r} must be a non-negative number, got {w!r}"
            raise ConfigError(msg)


def _check_weights(weights: Mapping[str, float], *, known: set[str]) -> dict[str, float]:
    unknown = sorted(set(weights) - known)
    if unknown:
        msg = f"unknown criterion weight(s) {unknown}; known criteria: {sorted(CRITERIA)}"
        raise ConfigError(msg)
    _check_weight_values(weights)
    total = float(sum(weights.values()))
    if total <= 0:
        msg = "at least one criterion weight must be positive"
        raise ConfigError(msg)
    return {k: float(v) / total for k, v in weights.items()}


def score_parcels(
    criteria: pd.DataFrame,
    *,
    eligible: pd.Series,
    parcel_id: pd.Series,
    weights: Mapping[str, float] = DEFAULT_WEIGHTS,
    penalties: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """Score and rank parcels.

    Parameters
    ----------
    criteria
        One column per weighted criterion (see :data:`CRITERIA`), aligned with ``eligible``.
    eligible
        Boolean: only eligible parcels are scored and ranked.
    parcel_id
        Parcel ids, used to break ties deterministically.
    weights
        Criterion name -> weight.
    penalties
        Soft-rule penalty column (``penalty_<rule>``, 0-1 from
        :func:`siting.constraints.apply_constraints`) -> the rule's weight. Each takes
        ``weight x penalty x 100`` points off (its ``contrib_`` column is negative); the
        criterion weights alone are normalised to sum to 1, so an unpenalised parcel scores
        0-100 and a penalised one can fall below 0.

    Returns
    -------
    DataFrame
        Aligned to ``criteria.index``: ``norm_<c>`` (0-1), ``contrib_<c>`` (points; negative
        for penalties), ``score`` (their sum, NaN if excluded) and ``rank`` (nullable Int64,
        1 = best).

    Raises
    ------
    ConfigError
        On unknown criteria or bad weights.
    InputDataError
        If a weighted criterion column is missing.
    """
    pen = dict(penalties or {})
    bad = [k for k in pen if not k.startswith("penalty_")]
    if bad:
        msg = f"penalty columns must be named penalty_<rule>, got {bad}"
        raise ConfigError(msg)
    w = _check_weights(weights, known=set(CRITERIA))
    _check_weight_values(pen)
    require_columns(criteria, "criteria", [*w, *pen])
    ok = eligible.to_numpy(dtype=bool)
    out = pd.DataFrame(index=criteria.index)
    score = np.zeros(len(criteria))
    for name, weight in pen.items():
        # A soft rule takes points off: weight x penalty x 100 (the rule's own weight).
        value = np.where(ok, criteria[name].to_numpy(dtype=float), np.nan)
        out[f"contrib_{name}"] = -value * weight * 100.0
        score = score - np.nan_to_num(value) * weight * 100.0
    for name, weight in w.items():
        crit = CRITERIA[name]
        values = np.minimum(criteria[name].to_numpy(dtype=float), crit.cap)
        norm = np.full(len(values), np.nan)
        if ok.any():
            lo, hi = np.nanmin(values[ok]), np.nanmax(values[ok])
            span = hi - lo
            scaled = (values - lo) / span if span > 0 else np.ones(len(values))
            if crit.direction == "cost" and span > 0:
                scaled = 1.0 - scaled
            norm[ok] = scaled[ok]
        out[f"norm_{name}"] = norm
        out[f"contrib_{name}"] = norm * weight * 100.0
        score = score + np.nan_to_num(norm) * weight * 100.0
    out["score"] = np.where(ok, score, np.nan)
    order = pd.DataFrame(
        {"score": out["score"], "pid": parcel_id.astype(str).to_numpy()}, index=criteria.index
    )[ok]
    order = order.sort_values(["score", "pid"], ascending=[False, True])
    rank = pd.Series(pd.NA, index=criteria.index, dtype="Int64")
    rank.loc[order.index] = np.arange(1, len(order) + 1)
    out["rank"] = rank
    return out
