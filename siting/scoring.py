"""Scoring: normalise criteria, weight them, rank eligible parcels, explain each score.

Each criterion is capped, then scaled to a 0-1 desirability by its normalisation
(:mod:`siting.normalisation`; default: linear min-max over the eligible parcels, benefit =
higher is better, cost = lower is better). Weights are given directly or from an AHP matrix
(:func:`siting.weights.ahp_weights`) and scaled to sum to 1. Two aggregations:

``wlc`` (weighted linear combination, the default)
    ``score = 100 x sum_j w_j n_j``; ``contrib_<c> = 100 w_c n_c``.
``topsis`` (Hwang & Yoon 1981)
    On the weighted desirabilities ``v_j = w_j n_j``, the ideal is each criterion's best
    value over the eligible parcels and the anti-ideal its worst; with ``S+`` and ``S-`` the
    Euclidean distances to them, ``score = 100 x S- / (S+ + S-)`` (the closeness
    coefficient; 100 when a parcel is the ideal). A parcel's score is shared among the
    criteria in proportion to how far each carries it from the anti-ideal:
    ``contrib_<c> = score x (v_c - v_c^-)^2 / (S-)^2`` (by weight when ``S- = 0``). This is a
    decomposition of the score, not a marginal effect: moving one criterion also moves the
    distance to the ideal.

Soft-rule penalties then take ``weight x penalty x 100`` points off (negative
``contrib_penalty_<rule>``), so for both methods a score always equals the sum of its
``contrib_`` columns. Ranks are 1..n over eligible parcels by score, ties broken by
``parcel_id``; excluded parcels get no score and no rank.

References
----------
Hwang, C.-L. & Yoon, K. (1981). *Multiple Attribute Decision Making*. Springer.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from siting._errors import ConfigError
from siting._validate import require_columns
from siting.normalisation import Normalisation, normalisation_from_config, normalise
from siting.weights import check_weight_values, check_weights

__all__ = [
    "CRITERIA",
    "DEFAULT_WEIGHTS",
    "METHODS",
    "Criterion",
    "ScoringConfig",
    "default_normalisation",
    "rank_scores",
    "score_parcels",
    "scoring_config",
]

#: Aggregation methods of :func:`score_parcels`.
METHODS = ("wlc", "topsis")


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


def default_normalisation(criterion: Criterion) -> Normalisation:
    """Return the default scaling of a criterion: linear min-max in its direction."""
    return Normalisation(kind="linear", direction=criterion.direction)


def _resolve_normalisation(
    normalisation: Mapping[str, Normalisation | Mapping[str, Any]] | None,
    names: list[str],
    info: Mapping[str, Criterion],
) -> dict[str, Normalisation]:
    given = dict(normalisation or {})
    unknown = sorted(set(given) - set(info))
    if unknown:
        msg = f"normalisation given for unknown criteria {unknown}; known criteria: {sorted(info)}"
        raise ConfigError(msg)
    out = {}
    for name in names:
        spec = given.get(name)
        if spec is None:
            out[name] = default_normalisation(info[name])
        elif isinstance(spec, Normalisation):
            out[name] = spec
        else:
            out[name] = normalisation_from_config(spec)
    return out


def rank_scores(score: pd.Series, *, parcel_id: pd.Series, eligible: pd.Series) -> pd.Series:
    """Ranks 1..n of the eligible parcels by score (highest first), ties by ``parcel_id``.

    Parameters
    ----------
    score
        Scores (NaN where not eligible).
    parcel_id
        Parcel ids aligned with ``score``; compared as strings.
    eligible
        Boolean mask of the parcels to rank.

    Returns
    -------
    pandas.Series
        Nullable Int64, ``<NA>`` where not eligible.

    Examples
    --------
    >>> s = pd.Series([5.0, 7.0, 5.0])
    >>> rank_scores(s, parcel_id=pd.Series(["b", "c", "a"]), eligible=pd.Series([True] * 3)).tolist()
    [3, 1, 2]
    """  # noqa: E501
    ok = eligible.to_numpy(dtype=bool)
    order = pd.DataFrame(
        {"score": score.to_numpy(dtype=float), "pid": parcel_id.astype(str).to_numpy()},
        index=score.index,
    )[ok]
    order = order.sort_values(["score", "pid"], ascending=[False, True], kind="mergesort")
    rank = pd.Series(pd.NA, index=score.index, dtype="Int64")
    rank.loc[order.index] = np.arange(1, len(order) + 1)
    return rank


def _topsis(v: np.ndarray, ok: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """TOPSIS closeness (0-1), distance to the ideal and to the anti-ideal, per row of ``v``."""
    if not ok.any():
        nan = np.full(len(v), np.nan)
        return nan, nan, nan
    best, worst = v[ok].max(axis=0), v[ok].min(axis=0)
    s_plus = np.sqrt(((v - best) ** 2).sum(axis=1))
    s_minus = np.sqrt(((v - worst) ** 2).sum(axis=1))
    total = s_plus + s_minus
    # every eligible parcel alike (total 0): each is the ideal
    closeness = np.divide(s_minus, total, out=np.ones(len(v)), where=total > 0)
    return closeness, s_plus, s_minus


def score_parcels(
    criteria: pd.DataFrame,
    *,
    eligible: pd.Series,
    parcel_id: pd.Series,
    weights: Mapping[str, float] | Any = DEFAULT_WEIGHTS,
    penalties: Mapping[str, float] | None = None,
    normalisation: Mapping[str, Normalisation | Mapping[str, Any]] | None = None,
    method: str = "wlc",
    criteria_info: Mapping[str, Criterion] = CRITERIA,
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
        Criterion name -> weight, or an :class:`~siting.weights.AHPWeights` (its
        ``weights``). Scaled to sum to 1; a criterion left out is not used.
    penalties
        Soft-rule penalty column (``penalty_<rule>``, 0-1 from
        :func:`siting.constraints.apply_constraints`) -> the rule's weight. Each takes
        ``weight x penalty x 100`` points off (its ``contrib_`` column is negative); the
        criterion weights alone are normalised to sum to 1, so an unpenalised parcel scores
        0-100 and a penalised one can fall below 0.
    normalisation
        Criterion -> :class:`~siting.normalisation.Normalisation` or its config table
        (``{"kind": "fuzzy", ...}``); default linear min-max in the criterion's direction.
    method
        ``"wlc"`` (weighted linear combination) or ``"topsis"``; see the module docstring.
    criteria_info
        The criteria that may be weighted (default :data:`CRITERIA`; add your own
        :class:`Criterion` to score a column of your parcels).

    Returns
    -------
    DataFrame
        Aligned to ``criteria.index``: ``norm_<c>`` (0-1), ``contrib_<c>`` (points; negative
        for penalties), ``score`` (their sum, NaN if excluded) and ``rank`` (nullable Int64,
        1 = best); with TOPSIS also ``topsis_s_plus`` and ``topsis_s_minus`` (distances to
        the ideal and anti-ideal, in weighted 0-1 units).

    Raises
    ------
    ConfigError
        On unknown criteria, bad weights, an unknown method or a bad normalisation.
    InputDataError
        If a weighted criterion column is missing.
    """
    if method not in METHODS:
        msg = f"scoring method must be one of {list(METHODS)}, got {method!r}"
        raise ConfigError(msg)
    pen = dict(penalties or {})
    bad = [k for k in pen if not k.startswith("penalty_")]
    if bad:
        msg = f"penalty columns must be named penalty_<rule>, got {bad}"
        raise ConfigError(msg)
    raw_weights = getattr(weights, "weights", weights)
    if not isinstance(raw_weights, Mapping):
        msg = f"weights must be a mapping criterion -> weight or an AHPWeights, got {weights!r}"
        raise ConfigError(msg)
    w = check_weights(raw_weights, known=criteria_info)
    check_weight_values(pen)
    specs = _resolve_normalisation(normalisation, list(w), criteria_info)
    require_columns(criteria, "criteria", [*w, *pen])
    ok = eligible.to_numpy(dtype=bool)
    n = len(criteria)
    out = pd.DataFrame(index=criteria.index)
    points = np.zeros(n)
    for name, weight in pen.items():
        # A soft rule takes points off: weight x penalty x 100 (the rule's own weight).
        value = np.where(ok, criteria[name].to_numpy(dtype=float), np.nan)
        out[f"contrib_{name}"] = -value * weight * 100.0
        points = points - np.nan_to_num(value) * weight * 100.0
    names = list(w)
    norm = np.zeros((n, len(names)))
    for col, name in enumerate(names):
        values = np.minimum(criteria[name].to_numpy(dtype=float), criteria_info[name].cap)
        norm[:, col] = normalise(values, specs[name], eligible=ok)
        out[f"norm_{name}"] = np.where(ok, norm[:, col], np.nan)
    wv = np.array([w[c] for c in names])
    if method == "wlc":
        contrib = norm * wv * 100.0
    else:
        v = norm * wv
        closeness, s_plus, s_minus = _topsis(v, ok)
        worst = v[ok].min(axis=0) if ok.any() else np.zeros(len(names))
        sq = (v - worst) ** 2
        total = sq.sum(axis=1, keepdims=True)
        # no distance from the anti-ideal to share (a parcel at the anti-ideal scores 0; when
        # every eligible parcel is alike each scores 100): share by weight
        share = np.divide(sq, total, out=np.broadcast_to(wv, sq.shape).copy(), where=total > 0)
        contrib = 100.0 * closeness[:, None] * share
        out["topsis_s_plus"] = np.where(ok, s_plus, np.nan)
        out["topsis_s_minus"] = np.where(ok, s_minus, np.nan)
    for col, name in enumerate(names):
        out[f"contrib_{name}"] = np.where(ok, contrib[:, col], np.nan)
    score = contrib.sum(axis=1) + points
    out["score"] = np.where(ok, score, np.nan)
    out["rank"] = rank_scores(out["score"], parcel_id=parcel_id, eligible=eligible)
    return out


# ----------------------------------------------------------------------------- config

_CONFIG_KEYS = {
    "method": "wlc (weighted linear combination) or topsis",
    "weights": "criterion -> weight (any scale; normalised to sum 1)",
    "ahp": "AHP pairwise matrix: criteria = [...], matrix = [[...], ...]",
    "normalisation": "criterion -> {kind = linear | threshold | fuzzy, ...}",
    "stability": "Monte Carlo rank stability: spread, draws, seed",
}
_STABILITY_KEYS = {"spread", "draws", "seed"}


@dataclass(frozen=True)
class ScoringConfig:
    """How to score, from the ``[scoring]`` table of a study config (:func:`scoring_config`).

    Attributes
    ----------
    method
        ``"wlc"`` or ``"topsis"``.
    weights
        Criterion -> weight, summing to 1 (from ``weights`` or the AHP matrix).
    ahp
        The AHP result when the weights came from a pairwise matrix (its consistency ratio
        belongs in the summary), else None.
    normalisation
        Criterion -> normalisation, for the criteria that do not use the default.
    spread, draws, seed
        Rank-stability options (:func:`siting.stability.rank_stability`).
    """

    method: str = "wlc"
    weights: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    ahp: Any = None
    normalisation: dict[str, Normalisation] = field(default_factory=dict)
    spread: float = 0.2
    draws: int = 2000
    seed: int = 0

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready summary."""
        return {
            "method": self.method,
            "weights": {k: round(v, 6) for k, v in self.weights.items()},
            "ahp": None if self.ahp is None else self.ahp.as_dict(),
            "normalisation": {k: v.describe() for k, v in self.normalisation.items()},
            "stability": {"spread": self.spread, "draws": self.draws, "seed": self.seed},
        }


def scoring_config(
    table: Mapping[str, Any] | None, *, criteria_info: Mapping[str, Criterion] = CRITERIA
) -> ScoringConfig:
    """Read and check a ``[scoring]`` config table.

    Parameters
    ----------
    table
        E.g. ``{"method": "topsis", "ahp": {"criteria": [...], "matrix": [[...]]},
        "normalisation": {"dist_stop_m": {"kind": "fuzzy", ...}}, "stability":
        {"spread": 0.2, "draws": 2000, "seed": 0}}``; None or empty = the defaults.
    criteria_info
        The criteria that may be weighted.

    Returns
    -------
    ScoringConfig

    Raises
    ------
    ConfigError
        On an unknown key, both ``weights`` and ``ahp``, weights or an AHP matrix that do
        not match the criteria, an inconsistent or non-reciprocal AHP matrix, or bad
        normalisation or stability options.

    Examples
    --------
    >>> cfg = scoring_config({"method": "topsis", "weights": {"walk_under3": 1, "area_m2": 1}})
    >>> cfg.method, cfg.weights
    ('topsis', {'walk_under3': 0.5, 'area_m2': 0.5})
    """
    from siting.stability import weight_draws
    from siting.weights import ahp_weights

    t = dict(table or {})
    unknown = sorted(set(t) - set(_CONFIG_KEYS))
    if unknown:
        msg = f"unknown key(s) {unknown} in [scoring]; allowed: {_CONFIG_KEYS}"
        raise ConfigError(msg)
    method = t.get("method", "wlc")
    if method not in METHODS:
        msg = f"[scoring] method must be one of {list(METHODS)}, got {method!r}"
        raise ConfigError(msg)
    if "weights" in t and "ahp" in t:
        msg = "[scoring] gives both weights and ahp: keep one of them"
        raise ConfigError(msg)
    ahp = None
    if "ahp" in t:
        spec = t["ahp"]
        if not isinstance(spec, Mapping) or set(spec) != {"criteria", "matrix"}:
            msg = (
                "[scoring.ahp] needs exactly criteria = [names] and matrix = [[...], ...] "
                f"(one row per criterion); got {spec!r}"
            )
            raise ConfigError(msg)
        ahp = ahp_weights(spec["matrix"], list(spec["criteria"]))
        weights = check_weights(ahp.weights, known=criteria_info)
    elif "weights" in t:
        if not isinstance(t["weights"], Mapping):
            msg = f"[scoring] weights must be a table criterion = weight, got {t['weights']!r}"
            raise ConfigError(msg)
        weights = check_weights(t["weights"], known=criteria_info)
    else:
        weights = check_weights(DEFAULT_WEIGHTS, known=criteria_info)
    norm_table = t.get("normalisation", {})
    if not isinstance(norm_table, Mapping):
        msg = f"[scoring.normalisation] must be a table of criterion tables, got {norm_table!r}"
        raise ConfigError(msg)
    normalisation = _resolve_normalisation(norm_table, list(norm_table), criteria_info)
    stab = t.get("stability", {})
    if not isinstance(stab, Mapping) or set(stab) - _STABILITY_KEYS:
        msg = f"[scoring.stability] takes only {sorted(_STABILITY_KEYS)}, got {stab!r}"
        raise ConfigError(msg)
    spread = stab.get("spread", 0.2)
    draws = stab.get("draws", 2000)
    seed = stab.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int):
        msg = f"[scoring.stability] seed must be an integer, got {seed!r}"
        raise ConfigError(msg)
    weight_draws(weights, spread=spread, draws=draws, seed=seed)  # checks spread and draws
    return ScoringConfig(method, weights, ahp, normalisation, float(spread), int(draws), seed)
