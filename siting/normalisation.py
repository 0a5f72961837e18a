"""Normalisation: turn each raw criterion into a 0-1 desirability (1 = best).

One :class:`Normalisation` per criterion, set in the study config (a TOML table or a dict,
:func:`normalisation_from_config`). Kinds:

``linear`` (default)
    Straight line between ``lo`` and ``hi`` (default: the smallest and largest value over the
    eligible parcels after the criterion's cap, i.e. min-max scaling); ``benefit``: ``lo`` -> 0,
    ``hi`` -> 1; ``cost``: reversed. Values outside ``[lo, hi]`` are clipped. When every
    eligible parcel has the same value, each gets 1.
``threshold``
    A step function: ``breaks`` (ascending, n) and ``scores`` (n + 1, each 0-1); a value
    below ``breaks[0]`` gets ``scores[0]``, from ``breaks[i-1]`` up to below ``breaks[i]``
    gets ``scores[i]``. E.g. a stop within 300 m is full marks, within 500 m half:
    ``breaks = [300, 500], scores = [1, 0.5, 0]``.
``fuzzy``
    A fuzzy membership function (as in TerrSet/IDRISI ``FUZZY``) over control ``points``:
    ``increasing`` (a, b: 0 below a, 1 above b), ``decreasing`` (a, b: 1 below a, 0 above b),
    ``triangular`` (a, b, c) or ``trapezoidal`` (a, b, c, d: rising a-b, 1 on b-c, falling
    c-d); the ``curve`` between control points is ``linear`` or ``sigmoidal`` (cosine
    squared: ``mu = sin(pi/2 * t)**2`` on the rising limb, ``t`` the linear position 0-1).

Missing values (NaN) normalise to 0 (worst) for every kind, so a parcel never gains from a
missing measurement.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from siting._errors import ConfigError

__all__ = ["FUZZY_SHAPES", "KINDS", "Normalisation", "normalisation_from_config", "normalise"]

#: Normalisation kinds.
KINDS = ("linear", "threshold", "fuzzy")
#: Fuzzy membership shapes and their number of control points.
FUZZY_SHAPES: Mapping[str, int] = {
    "increasing": 2,
    "decreasing": 2,
    "triangular": 3,
    "trapezoidal": 4,
}
_FIELDS = {
    "linear": {"kind", "direction", "lo", "hi"},
    "threshold": {"kind", "breaks", "scores"},
    "fuzzy": {"kind", "shape", "points", "curve"},
}


@dataclass(frozen=True)
class Normalisation:
    """How one criterion is scaled to 0-1; see the module docstring for each kind.

    Attributes
    ----------
    kind
        ``"linear"``, ``"threshold"`` or ``"fuzzy"``.
    direction
        ``linear`` only: ``"benefit"`` (higher is better) or ``"cost"``.
    lo, hi
        ``linear`` only: fixed ends of the line in the criterion's unit; None = the eligible
        parcels' min / max.
    breaks, scores
        ``threshold`` only: ascending breakpoints and the n + 1 scores (0-1) between them.
    shape, points, curve
        ``fuzzy`` only: membership shape, its control points (ascending, in the criterion's
        unit) and ``"linear"`` or ``"sigmoidal"`` limbs.
    """

    kind: str = "linear"
    direction: str = "benefit"
    lo: float | None = None
    hi: float | None = None
    breaks: tuple[float, ...] = field(default_factory=tuple)
    scores: tuple[float, ...] = field(default_factory=tuple)
    shape: str = "increasing"
    points: tuple[float, ...] = field(default_factory=tuple)
    curve: str = "linear"

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            msg = f"normalisation kind must be one of {list(KINDS)}, got {self.kind!r}"
            raise ConfigError(msg)
        if self.direction not in ("benefit", "cost"):
            msg = f"direction must be 'benefit' or 'cost', got {self.direction!r}"
            raise ConfigError(msg)
        if self.kind == "linear":
            ends = [v for v in (self.lo, self.hi) if v is not None]
            if any(not _finite(v) for v in ends):
                msg = f"linear normalisation lo/hi must be finite numbers, got {ends}"
                raise ConfigError(msg)
            if self.lo is not None and self.hi is not None and not self.lo < self.hi:
                msg = f"linear normalisation needs lo < hi, got lo={self.lo}, hi={self.hi}"
                raise ConfigError(msg)
        elif self.kind == "threshold":
            b, s = list(self.breaks), list(self.scores)
            if not b or len(s) != len(b) + 1:
                msg = (
                    f"threshold normalisation needs n >= 1 breaks and n + 1 scores, got "
                    f"{len(b)} break(s) and {len(s)} score(s)"
                )
                raise ConfigError(msg)
            if not all(_finite(v) for v in b) or np.any(np.diff(b) <= 0):
                msg = f"threshold breaks must be finite and strictly ascending, got {b}"
                raise ConfigError(msg)
            if not all(_finite(v) and 0.0 <= v <= 1.0 for v in s):
                msg = f"threshold scores must be numbers between 0 and 1, got {s}"
                raise ConfigError(msg)
        else:
            if self.shape not in FUZZY_SHAPES:
                msg = f"fuzzy shape must be one of {list(FUZZY_SHAPES)}, got {self.shape!r}"
                raise ConfigError(msg)
            if self.curve not in ("linear", "sigmoidal"):
                msg = f"fuzzy curve must be 'linear' or 'sigmoidal', got {self.curve!r}"
                raise ConfigError(msg)
            p, need = list(self.points), FUZZY_SHAPES[self.shape]
            if len(p) != need or not all(_finite(v) for v in p) or np.any(np.diff(p) < 0):
                msg = (
                    f"fuzzy {self.shape} membership needs {need} ascending finite control "
                    f"points, got {p}"
                )
                raise ConfigError(msg)
            if p[0] == p[-1]:
                msg = f"fuzzy control points must not all be equal, got {p}"
                raise ConfigError(msg)

    def describe(self) -> str:
        """One line saying how values are scaled (for reports and popups)."""
        if self.kind == "linear":
            lo = "min" if self.lo is None else f"{self.lo:g}"
            hi = "max" if self.hi is None else f"{self.hi:g}"
            return f"linear {self.direction} {lo}..{hi}"
        if self.kind == "threshold":
            return f"threshold at {list(self.breaks)} -> {list(self.scores)}"
        return f"fuzzy {self.shape} {self.curve} {list(self.points)}"


def _finite(v: object) -> bool:
    return (
        isinstance(v, int | float | np.integer | np.floating)
        and not isinstance(v, bool)
        and math.isfinite(float(v))
    )


def normalisation_from_config(config: Mapping[str, Any]) -> Normalisation:
    """Build a :class:`Normalisation` from a config table.

    Parameters
    ----------
    config
        ``{"kind": "fuzzy", "shape": "decreasing", "points": [300, 800]}`` and so on; keys
        other than those of the kind are refused.

    Returns
    -------
    Normalisation

    Raises
    ------
    ConfigError
        On an unknown kind or key, or invalid values.

    Examples
    --------
    >>> normalisation_from_config({"kind": "threshold", "breaks": [300], "scores": [1, 0]})
    Normalisation(kind='threshold', direction='benefit', lo=None, hi=None, breaks=(300.0,), scores=(1.0, 0.0), shape='increasing', points=(), curve='linear')
    """  # noqa: E501
    if not isinstance(config, Mapping):
        msg = f"a normalisation must be a table such as {{kind = 'linear'}}, got {config!r}"
        raise ConfigError(msg)
    kind = config.get("kind", "linear")
    if kind not in _FIELDS:
        msg = f"normalisation kind must be one of {list(KINDS)}, got {kind!r}"
        raise ConfigError(msg)
    unknown = sorted(set(config) - _FIELDS[kind])
    if unknown:
        msg = (
            f"unknown key(s) {unknown} for a {kind} normalisation; allowed: {sorted(_FIELDS[kind])}"
        )
        raise ConfigError(msg)
    args: dict[str, Any] = dict(config)
    for key in ("breaks", "scores", "points"):
        if key in args:
            values = args[key]
            if isinstance(values, str) or not isinstance(values, Sequence):
                msg = f"{key} must be a list of numbers, got {values!r}"
                raise ConfigError(msg)
            if not all(_finite(v) for v in values):
                msg = f"{key} must be a list of finite numbers, got {list(values)}"
                raise ConfigError(msg)
            args[key] = tuple(float(v) for v in values)
    return Normalisation(**args)


def normalise(
    values: np.ndarray, spec: Normalisation, *, eligible: np.ndarray | None = None
) -> np.ndarray:
    """Scale raw criterion values to 0-1 (1 = best) by ``spec``.

    Parameters
    ----------
    values
        Raw values (already capped, in the criterion's unit); NaN gives 0.
    spec
        The normalisation.
    eligible
        Boolean mask of the parcels whose min/max set a ``linear`` range (default all).

    Returns
    -------
    numpy.ndarray
        Floats in [0, 1], same length as ``values``.

    Examples
    --------
    >>> normalise(np.array([0.0, 5.0, 10.0]), Normalisation(direction="cost")).tolist()
    [1.0, 0.5, 0.0]
    >>> fuzzy = Normalisation(kind="fuzzy", shape="decreasing", points=(300.0, 800.0))
    >>> normalise(np.array([100.0, 550.0, 900.0]), fuzzy).tolist()
    [1.0, 0.5, 0.0]
    """
    x = np.asarray(values, dtype=float)
    mask = np.ones(len(x), dtype=bool) if eligible is None else np.asarray(eligible, dtype=bool)
    if spec.kind == "linear":
        pool = x[mask & ~np.isnan(x)]
        lo = spec.lo if spec.lo is not None else (float(pool.min()) if len(pool) else 0.0)
        hi = spec.hi if spec.hi is not None else (float(pool.max()) if len(pool) else 0.0)
        if hi > lo:
            out = np.clip((x - lo) / (hi - lo), 0.0, 1.0)
            if spec.direction == "cost":
                out = 1.0 - out
        else:  # every eligible parcel alike: none is worse than another
            out = np.ones(len(x))
    elif spec.kind == "threshold":
        idx = np.searchsorted(np.asarray(spec.breaks), x, side="right")
        out = np.asarray(spec.scores)[np.minimum(idx, len(spec.scores) - 1)]
    else:
        out = _membership(x, spec)
    return np.where(np.isnan(x), 0.0, out).astype(float)


def _limb(t: np.ndarray, curve: str) -> np.ndarray:
    t = np.clip(t, 0.0, 1.0)
    return np.sin(np.pi / 2.0 * t) ** 2 if curve == "sigmoidal" else t


def _rise(x: np.ndarray, a: float, b: float, curve: str) -> np.ndarray:
    if b == a:
        return (x >= a).astype(float)
    return _limb((x - a) / (b - a), curve)


def _membership(x: np.ndarray, spec: Normalisation) -> np.ndarray:
    p = spec.points
    with np.errstate(invalid="ignore"):
        if spec.shape == "increasing":
            return _rise(x, p[0], p[1], spec.curve)
        if spec.shape == "decreasing":
            return 1.0 - _rise(x, p[0], p[1], spec.curve)
        if spec.shape == "triangular":
            up = _rise(x, p[0], p[1], spec.curve)
            down = 1.0 - _rise(x, p[1], p[2], spec.curve)
            return np.where(x <= p[1], up, down)
        up = _rise(x, p[0], p[1], spec.curve)
        down = 1.0 - _rise(x, p[2], p[3], spec.curve)
        return np.where(x <= p[1], up, np.where(x <= p[2], 1.0, down))
