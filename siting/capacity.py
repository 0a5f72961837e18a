"""Capacity: usable floor area -> infant-care slots in whole classes.

Slots are the usable area divided by the area per child (8 m², Fuxin 2020 / BLDG-10),
then rounded down to whole classes: classes of the rulebook's ``class_sizes`` (乳儿班 10,
托小班 15, 托大班 20; BLDG-06/07) are opened in turn (10, 15, 20, 10, 15, …) while they
fit, up to ``max_classes`` (a large 托儿所 has at most 10 classes, BLDG-06).

For a new facility on bare land the usable area is assumed to be ``floor_area_ratio`` x the
buildable area (default 0.6: a two- or three-storey building on a fifth to a third of the
site, leaving the outdoor play area). Reused buildings (footprint x floors) come later.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from siting._errors import ConfigError

__all__ = ["slots_for_need", "slots_from_area"]


def slots_from_area(
    usable_m2: np.ndarray,
    *,
    m2_per_child: float,
    class_sizes: Sequence[float],
    max_classes: int = 10,
) -> np.ndarray:
    """Slots in whole classes for each usable floor area.

    Parameters
    ----------
    usable_m2
        Usable floor area per site, m².
    m2_per_child
        Usable area per child, m² (8 in Fuxin).
    class_sizes
        Children per class, opened in this order and repeated.
    max_classes
        Most classes one facility holds.

    Returns
    -------
    numpy.ndarray
        Integer slots per site (0 where not even the first class fits).

    Examples
    --------
    >>> slots_from_area(np.array([79.0, 80.0, 400.0, 10_000.0]), m2_per_child=8,
    ...                 class_sizes=[10, 15, 20]).tolist()
    [0, 10, 45, 145]
    """
    if not np.isfinite(m2_per_child) or m2_per_child <= 0:
        msg = f"m2_per_child must be positive, got {m2_per_child}"
        raise ConfigError(msg)
    sizes = [int(s) for s in class_sizes]
    if not sizes or min(sizes) <= 0:
        msg = f"class_sizes must be positive numbers, got {list(class_sizes)}"
        raise ConfigError(msg)
    raw = np.floor(np.nan_to_num(np.asarray(usable_m2, dtype=float)) / m2_per_child)
    # cumulative slots after opening 1, 2, ... max_classes classes in turn
    steps = np.cumsum([sizes[i % len(sizes)] for i in range(max_classes)])
    opened = np.searchsorted(steps, raw, side="right")
    return np.where(opened > 0, steps[np.maximum(opened - 1, 0)], 0).astype(int)


def slots_for_need(
    need: np.ndarray, *, class_sizes: Sequence[float], max_classes: int = 10
) -> np.ndarray:
    """Smallest whole-class size of facility that meets each need (in slots).

    Classes open in the same order as in :func:`slots_from_area`; a need above
    ``max_classes`` classes gets the largest facility.

    Examples
    --------
    >>> slots_for_need(np.array([0, 4, 10, 11, 46, 999]), class_sizes=[10, 15, 20]).tolist()
    [0, 10, 10, 25, 55, 145]
    """
    sizes = [int(s) for s in class_sizes]
    steps = np.cumsum([sizes[i % len(sizes)] for i in range(max_classes)])
    want = np.nan_to_num(np.asarray(need, dtype=float))
    opened = np.minimum(np.searchsorted(steps, want, side="left"), max_classes - 1)
    return np.where(want > 0, steps[opened], 0).astype(int)
