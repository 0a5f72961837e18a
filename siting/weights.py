"""Weights: check criterion weights, or derive them from an AHP pairwise comparison matrix.

Direct weights (:func:`check_weights`) are non-negative numbers per criterion, normalised to
sum to 1. The analytic hierarchy process (AHP, :func:`ahp_weights`; Saaty 1980) derives them
from judgements ``a[i, j]`` = "how much more important is criterion *i* than *j*" on Saaty's
1-9 scale, with ``a[j, i] = 1 / a[i, j]`` and ``a[i, i] = 1``:

- the weights are the principal right eigenvector of the matrix, scaled to sum to 1;
- with its eigenvalue ``lambda_max``, the consistency index is
  ``CI = (lambda_max - n) / (n - 1)`` and the consistency ratio ``CR = CI / RI(n)``, where
  ``RI`` is Saaty's average random index (:data:`SAATY_RI`);
- judgements with ``CR > 0.1`` contradict each other too much to use (Saaty's rule): the
  pair whose judgement lies furthest from the ratio the weights imply
  (``max |ln(a[i, j] w[j] / w[i])|``) is named so it can be revised first.

References
----------
Saaty, T. L. (1980). *The Analytic Hierarchy Process*. McGraw-Hill (random index table).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from siting._errors import ConfigError

__all__ = [
    "CR_LIMIT",
    "SAATY_RI",
    "AHPWeights",
    "ahp_weights",
    "check_weights",
    "pairwise_matrix",
]

#: Saaty's (1980) average random consistency index by matrix size n (1-15).
SAATY_RI: Mapping[int, float] = {
    1: 0.0, 2: 0.0, 3: 0.58, 4: 0.90, 5: 1.12, 6: 1.24, 7: 1.32, 8: 1.41, 9: 1.45, 10: 1.49,
    11: 1.51, 12: 1.48, 13: 1.56, 14: 1.57, 15: 1.59,
}  # fmt: skip

#: Largest consistency ratio accepted (Saaty's 10 % rule).
CR_LIMIT = 0.1

#: Relative tolerance of ``a[i, j] * a[j, i] == 1`` (so 0.33 passes for 1/3).
_RECIPROCAL_RTOL = 0.02


@dataclass(frozen=True)
class AHPWeights:
    """Result of :func:`ahp_weights`.

    Attributes
    ----------
    weights
        Criterion -> weight (sum 1), in the matrix order.
    lambda_max
        Principal eigenvalue of the matrix (``n`` when perfectly consistent).
    consistency_index
        ``(lambda_max - n) / (n - 1)`` (0 for n <= 2).
    consistency_ratio
        ``consistency_index / SAATY_RI[n]`` (0 for n <= 2).
    worst_pair
        ``(criterion_i, criterion_j, judged, implied)``: the judgement ``a[i, j]`` furthest
        from the ratio ``w[i] / w[j]`` the weights imply (None for n <= 2).
    """

    weights: dict[str, float]
    lambda_max: float
    consistency_index: float
    consistency_ratio: float
    worst_pair: tuple[str, str, float, float] | None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready summary."""
        return {
            "weights": {k: round(v, 6) for k, v in self.weights.items()},
            "lambda_max": round(self.lambda_max, 6),
            "consistency_index": round(self.consistency_index, 6),
            "consistency_ratio": round(self.consistency_ratio, 6),
            "random_index": "Saaty (1980)",
        }


def check_weights(
    weights: Mapping[str, float], *, known: Iterable[str], what: str = "criterion"
) -> dict[str, float]:
    """Validate weights and scale them to sum to 1.

    Parameters
    ----------
    weights
        Criterion name -> weight (any non-negative scale).
    known
        The criteria that may be weighted.
    what
        Word used in messages.

    Returns
    -------
    dict
        The same keys, weights summing to 1.

    Raises
    ------
    ConfigError
        On an unknown criterion, a weight that is not a finite non-negative number, or all
        weights zero.

    Examples
    --------
    >>> check_weights({"a": 1, "b": 3}, known=["a", "b", "c"])
    {'a': 0.25, 'b': 0.75}
    """
    names = sorted(known)
    unknown = sorted(set(weights) - set(names))
    if unknown:
        msg = (
            f"unknown {what} weight(s) {unknown}; weight only these criteria: {names} "
            "(check the spelling in your weights or AHP matrix)"
        )
        raise ConfigError(msg)
    check_weight_values(weights)
    total = float(sum(weights.values()))
    if total <= 0:
        msg = f"at least one {what} weight must be positive, got {dict(weights)}"
        raise ConfigError(msg)
    return {k: float(v) / total for k, v in weights.items()}


def check_weight_values(weights: Mapping[str, float]) -> None:
    """Raise :class:`ConfigError` unless every weight is a finite number >= 0."""
    for name, w in weights.items():
        if isinstance(w, bool) or not isinstance(w, numbers.Real) or not math.isfinite(w) or w < 0:
            msg = f"weight of {name!r} must be a non-negative number, got {w!r}"
            raise ConfigError(msg)


def pairwise_matrix(
    judgements: Mapping[tuple[str, str], float], criteria: Sequence[str]
) -> np.ndarray:
    """Full reciprocal AHP matrix from one judgement per pair.

    Parameters
    ----------
    judgements
        ``(i, j) -> a``: criterion *i* is ``a`` times as important as *j* (Saaty 1-9 scale,
        or its reciprocals). Each unordered pair at most once; a missing pair counts as 1
        (equally important). The reciprocal ``a[j, i] = 1 / a`` is filled in.
    criteria
        Matrix order.

    Returns
    -------
    numpy.ndarray
        ``n x n`` positive reciprocal matrix.

    Raises
    ------
    ConfigError
        On an unknown criterion, a pair given twice or with itself, or a judgement that is
        not a positive finite number.

    Examples
    --------
    >>> pairwise_matrix({("a", "b"): 3}, ["a", "b"]).tolist()
    [[1.0, 3.0], [0.3333333333333333, 1.0]]
    """
    order = list(criteria)
    if len(set(order)) != len(order):
        msg = f"criteria must be unique, got {order}"
        raise ConfigError(msg)
    pos = {c: i for i, c in enumerate(order)}
    a = np.ones((len(order), len(order)))
    seen: set[frozenset[str]] = set()
    for (ci, cj), value in judgements.items():
        for c in (ci, cj):
            if c not in pos:
                msg = f"AHP judgement on unknown criterion {c!r}; the matrix holds {order}"
                raise ConfigError(msg)
        key = frozenset((ci, cj))
        if ci == cj or key in seen:
            msg = (
                f"AHP judgement ({ci!r}, {cj!r}) is given twice or compares a criterion with "
                "itself; give each pair of different criteria once"
            )
            raise ConfigError(msg)
        seen.add(key)
        _check_judgement(value, ci, cj)
        a[pos[ci], pos[cj]] = float(value)
        a[pos[cj], pos[ci]] = 1.0 / float(value)
    return a


def _check_judgement(value: object, ci: str, cj: str) -> None:
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not math.isfinite(value)
        or value <= 0
    ):
        msg = (
            f"AHP judgement a[{ci}, {cj}] must be a positive number (Saaty scale 1/9 .. 9), "
            f"got {value!r}"
        )
        raise ConfigError(msg)


def ahp_weights(
    matrix: Sequence[Sequence[float]] | np.ndarray,
    criteria: Sequence[str],
    *,
    max_cr: float = CR_LIMIT,
) -> AHPWeights:
    """Criterion weights from an AHP pairwise comparison matrix.

    Parameters
    ----------
    matrix
        ``n x n``: ``matrix[i][j]`` = importance of ``criteria[i]`` over ``criteria[j]``;
        positive, 1 on the diagonal, reciprocal (``matrix[j][i] = 1 / matrix[i][j]``, to 2 %).
    criteria
        Criterion names in matrix order (n <= 15, the extent of Saaty's random index).
    max_cr
        Largest consistency ratio accepted (Saaty: 0.1).

    Returns
    -------
    AHPWeights
        Eigenvector weights (sum 1), ``lambda_max``, consistency index and ratio.

    Raises
    ------
    ConfigError
        If the matrix is not square, does not match ``criteria``, is not positive with a unit
        diagonal, is not reciprocal (the pair is named with the value it should have), or is
        too inconsistent (``CR > max_cr``; the most inconsistent pair is named).

    Examples
    --------
    >>> w = ahp_weights([[1, 2, 4], [1 / 2, 1, 2], [1 / 4, 1 / 2, 1]], ["a", "b", "c"])
    >>> {k: round(v, 4) for k, v in w.weights.items()}, round(w.consistency_ratio, 6)
    ({'a': 0.5714, 'b': 0.2857, 'c': 0.1429}, 0.0)
    """
    names = list(criteria)
    n = len(names)
    if n == 0 or len(set(names)) != n:
        msg = f"AHP needs one or more unique criterion names, got {names}"
        raise ConfigError(msg)
    try:
        a = np.asarray(matrix, dtype=float)
    except (TypeError, ValueError) as err:
        msg = f"AHP matrix must be a square table of positive numbers: {err}"
        raise ConfigError(msg) from err
    if a.shape != (n, n):
        msg = (
            f"AHP matrix is {'x'.join(map(str, a.shape))} but {n} criteria are named "
            f"({names}); give one row and one column per criterion, in that order"
        )
        raise ConfigError(msg)
    if n > max(SAATY_RI):
        msg = f"AHP supports at most {max(SAATY_RI)} criteria (Saaty's random index), got {n}"
        raise ConfigError(msg)
    if not np.isfinite(a).all() or (a <= 0).any():
        i, j = np.argwhere(~np.isfinite(a) | (a <= 0))[0]
        msg = (
            f"AHP matrix entries must be positive numbers (Saaty scale 1/9 .. 9); "
            f"a[{names[i]}, {names[j]}] = {a[i, j]!r}"
        )
        raise ConfigError(msg)
    off = np.abs(np.diag(a) - 1.0) > 1e-9
    if off.any():
        i = int(np.flatnonzero(off)[0])
        msg = (
            "AHP matrix diagonal must be 1 (a criterion is as important as itself); "
            f"a[{names[i]}, {names[i]}] = {a[i, i]:g}"
        )
        raise ConfigError(msg)
    product = a * a.T
    bad = np.abs(product - 1.0) > _RECIPROCAL_RTOL
    if bad.any():
        i, j = (int(v) for v in np.argwhere(np.triu(bad))[0])
        msg = (
            f"AHP matrix is not reciprocal: a[{names[i]}, {names[j]}] = {a[i, j]:g} but "
            f"a[{names[j]}, {names[i]}] = {a[j, i]:g} (should be 1/{a[i, j]:g} = "
            f"{1 / a[i, j]:.4g}); give each judgement once and its reciprocal, e.g. with "
            "siting.weights.pairwise_matrix"
        )
        raise ConfigError(msg)
    values, vectors = np.linalg.eig(a)
    top = int(np.argmax(values.real))
    lam = float(values[top].real)
    vec = np.abs(vectors[:, top].real)
    w = vec / vec.sum()
    weights = {c: float(v) for c, v in zip(names, w, strict=True)}
    if n <= 2:
        return AHPWeights(weights, lam, 0.0, 0.0, None)
    ci = max((lam - n) / (n - 1), 0.0)
    cr = ci / SAATY_RI[n]
    dev = np.abs(np.log(a * w[None, :] / w[:, None]))
    i, j = (int(v) for v in np.unravel_index(int(np.argmax(np.triu(dev, 1))), dev.shape))
    worst = (names[i], names[j], float(a[i, j]), float(w[i] / w[j]))
    if cr > max_cr:
        msg = (
            f"AHP judgements are inconsistent: consistency ratio {cr:.3f} > {max_cr:g} "
            f"(lambda_max {lam:.3f}, n {n}). The most inconsistent pair is {names[i]} vs "
            f"{names[j]}: judged {a[i, j]:.3g}, but the other judgements imply about "
            f"{w[i] / w[j]:.3g}; revise that judgement (then the next worst) and try again"
        )
        raise ConfigError(msg)
    return AHPWeights(weights, lam, ci, cr, worst)
