"""Supply: existing infant-care places, their accessibility (E2SFCA) and the gap to the targets.

Capacity (:func:`facility_capacity`)
------------------------------------
Places come from the OSM ``capacity`` tag when it holds a number (``"60"``); a number with
words around it (``"approx 60"``, ``"ca. 60"``, ``"60+"``, ``"60 places"``) is read as that
number, and a range (``"60-80"``, ``"60～80"``, ``"60 to 80"``) as its midpoint. Anything else
(``"yes"``, ``"60;80"``, ``"2 groups of 12"``) is left unread and estimated by facility type
(:data:`DEFAULT_CAPACITY_BY_TYPE`). Under-3 places are a stated share of all places by type
(:data:`UNDER3_SHARE_BY_TYPE`): every place of a ``childcare`` centre, and 10 % of a
``kindergarten``'s places for the toddler classes (托班) it could open. Every number says where
it came from in ``capacity_source`` / ``under3_source``.

Accessibility (:func:`e2sfca`)
------------------------------
The enhanced two-step floating catchment area method (Luo & Qi 2009). With distance
``d_ij`` from facility *j* to demand point *i*, a step weight ``W(d)`` that is 0 beyond the
catchment, ``S_j`` places and ``P_i`` children:

1. ``R_j = S_j / sum_i W(d_ij) P_i`` (places per weighted child in the facility's catchment);
2. ``A_i = sum_j W(d_ij) R_j`` (places per child at the demand point).

Because the same weights enter both steps, ``sum_i A_i P_i = sum_j S_j`` over the facilities
that reach any child: ``A_i P_i`` is the point's share of the places (its *accessible slots*).
The default weights are Luo & Qi's 1.00 / 0.68 / 0.22 for three equal distance bands
(:data:`LUO_QI_WEIGHTS`, from a Gaussian distance decay; also the default of PySAL ``access``),
here over thirds of the 300 m walk: (0, 100] m → 1.00, (100, 200] m → 0.68, (200, 300] m →
0.22. Bands include their upper bound, as ``access.weights.step_fn`` does.

Gap (:func:`supply_gap`, :func:`community_coverage`)
----------------------------------------------------
Unmet demand at a point is ``max(P_i - A_i P_i, 0)``: the children its share of the places
does not cover (places left over elsewhere cannot be walked to). Slots per 1,000 residents are
existing under-3 places / residents x 1000, against the 4.5 target (rulebook DEM-02). Community
coverage is the share of residential communities whose representative point is within the
catchment walk of at least one facility, against 50 % (DEM-07).

References
----------
Luo, W. & Qi, Y. (2009). An enhanced two-step floating catchment area (E2SFCA) method for
measuring spatial accessibility to primary care physicians. *Health & Place* 15(4),
1100-1107. doi:10.1016/j.healthplace.2009.06.002
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import sparse

from siting._errors import ConfigError, InputDataError
from siting._validate import require_columns, require_projected

__all__ = [
    "DEFAULT_CAPACITY_BY_TYPE",
    "E2SFCA",
    "LUO_QI_WEIGHTS",
    "UNDER3_SHARE_BY_TYPE",
    "Coverage",
    "SupplyGap",
    "communities_from_landuse",
    "community_coverage",
    "e2sfca",
    "facility_capacity",
    "parse_capacity",
    "step_weights",
    "supply_gap",
]

log = logging.getLogger(__name__)

#: Places assumed when a facility has no readable ``capacity`` tag, by ``amenity``.
#: ``childcare``: 45 = one class each of 乳儿班 10, 托小班 15 and 托大班 20 (class sizes of
#: JGJ 39-2016 表1.0.3-2 / 托育机构设置标准, rulebook BLDG-06/07), the small end of a 托儿所
#: (1-3 classes, JGJ 39 表1.0.3-1). ``kindergarten``: 180 = 6 classes of 30, a medium 幼儿园
#: (5-8 classes, JGJ 39 表1.0.3-1; 中班 of 30 per 《幼儿园工作规程》). Both toolkit choices.
DEFAULT_CAPACITY_BY_TYPE: Mapping[str, float] = {"childcare": 45.0, "kindergarten": 180.0}

#: Share of a facility's places open to children under 3, by ``amenity``. ``childcare``: all
#: of them. ``kindergarten``: 10 %, about one 托大班 (20 children, 2-3 years) per 200 places,
#: the toddler classes a kindergarten could open (幼儿园开设托班; toolkit choice). Types not
#: listed offer no under-3 places.
UNDER3_SHARE_BY_TYPE: Mapping[str, float] = {"childcare": 1.0, "kindergarten": 0.1}

#: E2SFCA step weights of Luo & Qi (2009) for three equal distance bands (Gaussian decay).
LUO_QI_WEIGHTS: tuple[float, float, float] = (1.0, 0.68, 0.22)

#: A band of the distance decay: ``(lower_m, upper_m, weight)``, distances in (lower, upper].
Band = tuple[float, float, float]

_NUM = r"\d+(?:\.\d+)?"
_RANGE = re.compile(rf"^[^\d-]*({_NUM})\s*(?:-|–|—|~|～|to|bis|\.\.)\s*({_NUM})[^\d]*$", re.I)
_SINGLE = re.compile(rf"^[^\d-]*({_NUM})[^\d]*$")
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")


class E2SFCA(NamedTuple):
    """Result of :func:`e2sfca`."""

    #: Places per unit of demand at each demand point (e.g. slots per under-3 child); 0 where
    #: no facility is within the catchment. Indexed like ``demand``.
    accessibility: pd.Series
    #: Places per weighted unit of demand in each facility's catchment (step 1, ``R_j``); NaN
    #: where no demand is within the catchment. Indexed like ``supply``.
    ratio: pd.Series
    #: Distance-weighted demand in each facility's catchment (``sum_i W(d_ij) P_i``).
    weighted_demand: pd.Series


@dataclass(frozen=True)
class SupplyGap:
    """Result of :func:`supply_gap`.

    Attributes
    ----------
    points
        Per demand point (indexed like ``homes``): ``under3``, ``residents``,
        ``accessibility`` (slots per under-3 child), ``facilities_within`` and
        ``slots_within`` (facilities and their slots within the catchment, not shared),
        ``accessible_slots`` (``accessibility x under3``: the point's share of the slots),
        ``unmet_under3`` (``max(under3 - accessible_slots, 0)``) and ``slots_per_1000``
        (``accessible_slots / residents x 1000``; NaN where no residents).
    facilities
        Per facility (indexed like ``slots``): ``slots``, ``under3_within`` (children within
        the catchment), ``weighted_demand`` and ``ratio`` (E2SFCA step 1).
    totals
        JSON-ready numbers for the whole area with their basis; see :func:`supply_gap`.
    """

    points: pd.DataFrame
    facilities: pd.DataFrame
    totals: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Coverage:
    """Result of :func:`community_coverage`.

    Attributes
    ----------
    covered
        Whether each community is within the catchment of a facility (indexed like
        ``communities``).
    nearest_m
        Shortest walk from a facility to each community within the catchment, metres; inf
        beyond.
    share
        Covered communities / all communities (0-1).
    target
        The target share (0.5 by default, DEM-07).
    met
        ``share >= target``.
    basis
        How the share was measured, in words.
    """

    covered: pd.Series
    nearest_m: pd.Series
    share: float
    target: float
    met: bool
    basis: str

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready summary (no per-community values)."""
        return {
            "communities": len(self.covered),
            "covered": int(self.covered.sum()),
            "share": round(self.share, 4),
            "target": self.target,
            "met": self.met,
            "basis": self.basis,
        }


# ----------------------------------------------------------------------------- capacity


def parse_capacity(value: object) -> tuple[float, str]:
    """Read an OSM ``capacity`` value as a number of places.

    Parameters
    ----------
    value
        The tag value: a number, a string, or missing (None/NaN).

    Returns
    -------
    tuple of (float, str)
        Places (NaN when unreadable) and how they were read: ``"given"`` for a plain number,
        ``"given: ..."`` for a number read from words or a range, ``""`` when unreadable.

    Raises
    ------
    InputDataError
        On a negative number.

    Examples
    --------
    >>> parse_capacity("60")
    (60.0, 'given')
    >>> parse_capacity("approx 60")
    (60.0, "given: number read from 'approx 60'")
    >>> parse_capacity("60-80")
    (70.0, "given: midpoint of range '60-80'")
    >>> parse_capacity("yes")
    (nan, '')
    """
    number = math.nan
    if isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool):
        number = float(value)
    elif isinstance(value, str) and value.strip():
        try:
            number = float(value.strip())
        except ValueError:
            return _capacity_from_text(value.strip())
    if number < 0 or math.isinf(number):
        msg = f"capacity {value!r} is not a number of places"
        raise InputDataError(msg)
    return (number, "given") if not math.isnan(number) else (math.nan, "")


def _capacity_from_text(text: str) -> tuple[float, str]:
    """Places in a free-text capacity: one number among words, or a range's midpoint."""
    clean = _THOUSANDS.sub("", text).replace(",", ".")
    if m := _RANGE.match(clean):
        low, high = float(m.group(1)), float(m.group(2))
        if low <= high:
            return (low + high) / 2.0, f"given: midpoint of range {text!r}"
    elif m := _SINGLE.match(clean):
        return float(m.group(1)), f"given: number read from {text!r}"
    return math.nan, ""


def facility_capacity(
    facilities: pd.DataFrame,
    *,
    default_by_type: Mapping[str, float] = DEFAULT_CAPACITY_BY_TYPE,
    under3_share_by_type: Mapping[str, float] = UNDER3_SHARE_BY_TYPE,
    type_column: str = "amenity",
    capacity_column: str = "capacity",
) -> pd.DataFrame:
    """Places (all ages) and under-3 places of existing facilities, each labelled.

    Parameters
    ----------
    facilities
        Existing childcare centres and kindergartens (a GeoDataFrame or DataFrame) with a
        ``type_column`` (OSM ``amenity``) and, if known, a ``capacity_column`` (OSM
        ``capacity``: numbers or free text, see :func:`parse_capacity`). Geometry is not used.
    default_by_type
        Places assumed by type when the capacity is missing or unreadable
        (:data:`DEFAULT_CAPACITY_BY_TYPE`: childcare 45, kindergarten 180).
    under3_share_by_type
        Share (0-1) of a facility's places open to children under 3, by type
        (:data:`UNDER3_SHARE_BY_TYPE`: childcare 1.0, kindergarten 0.1). Types not listed
        get no under-3 places.
    type_column, capacity_column
        Column names. The capacity column may be absent (all places are then estimated).

    Returns
    -------
    pandas.DataFrame
        Indexed like ``facilities``: ``capacity`` (places, float; NaN when neither given nor
        a default exists for the type), ``capacity_source`` (``"given"``, ``"given: ..."``,
        ``"estimated: default for amenity=... (N places)"`` or ``"unknown: ..."``),
        ``under3_slots`` (places for under-3s) and ``under3_source``.

    Raises
    ------
    InputDataError
        If ``type_column`` is missing or a given capacity is negative.
    ConfigError
        If a default is negative or a share is outside 0-1.

    Examples
    --------
    >>> import pandas as pd
    >>> f = pd.DataFrame({"amenity": ["childcare", "kindergarten"], "capacity": ["ca. 30", None]})
    >>> facility_capacity(f)[["capacity", "under3_slots"]].to_numpy().tolist()
    [[30.0, 30.0], [180.0, 18.0]]
    """
    for kind, places in default_by_type.items():
        if not np.isfinite(places) or places < 0:
            msg = (
                f"default_by_type[{kind!r}] must be a number of places >= 0, got {places}; "
                f"the defaults are {dict(DEFAULT_CAPACITY_BY_TYPE)}"
            )
            raise ConfigError(msg)
    for kind, share in under3_share_by_type.items():
        if not np.isfinite(share) or not 0.0 <= share <= 1.0:
            msg = f"under3_share_by_type[{kind!r}] must be a share between 0 and 1, got {share}"
            raise ConfigError(msg)
    require_columns(facilities, "facilities", [type_column])
    kinds = facilities[type_column].astype(object).where(facilities[type_column].notna(), "")
    kinds = kinds.astype(str)
    raw = (
        facilities[capacity_column]
        if capacity_column in facilities.columns
        else pd.Series(None, index=facilities.index, dtype=object)
    )
    capacity = np.full(len(facilities), np.nan)
    source = np.empty(len(facilities), dtype=object)
    bad: list[tuple[object, object]] = []
    for pos, (label, value) in enumerate(raw.items()):
        try:
            capacity[pos], source[pos] = parse_capacity(value)
        except InputDataError:
            bad.append((label, value))
    if bad:
        msg = (
            f"facilities has {len(bad)} negative or infinite {capacity_column!r} value(s); "
            "capacity counts places (>= 0): correct or drop them "
            f"(index, value): {bad[:5]}"
        )
        raise InputDataError(msg)
    for missing in np.flatnonzero(np.isnan(capacity)):
        kind = kinds.iloc[missing]
        if kind in default_by_type:
            places = float(default_by_type[kind])
            capacity[missing] = places
            source[missing] = f"estimated: default for {type_column}={kind} ({places:g} places)"
        else:
            source[missing] = (
                f"unknown: no {capacity_column} and no default for {type_column}={kind}"
            )
    shares = kinds.map(lambda k: under3_share_by_type.get(k, 0.0)).to_numpy(dtype=float)
    under3 = np.where(shares > 0, capacity * shares, 0.0)
    under3_source = [
        _under3_label(f"{type_column}={k}", share, str(src), listed=k in under3_share_by_type)
        for k, share, src in zip(kinds, shares, source, strict=True)
    ]
    return pd.DataFrame(
        {
            "capacity": capacity,
            "capacity_source": source.astype(str),
            "under3_slots": under3,
            "under3_source": under3_source,
        },
        index=facilities.index,
    )


def _under3_label(kind: str, share: float, capacity_source: str, *, listed: bool) -> str:
    """Say how a facility's under-3 places were derived."""
    if not listed or share == 0:
        return f"none: {kind} offers no under-3 places (share 0)"
    if share == 1:
        what = f"all places ({kind})"
    else:
        what = f"estimated: {share:.0%} of places ({kind}: toddler classes it could open)"
    if capacity_source.startswith("given"):
        return what + "; capacity given"
    if capacity_source.startswith("estimated"):
        return what + "; capacity estimated"
    return what + "; capacity unknown"


# ----------------------------------------------------------------------------- E2SFCA


def step_weights(catchment_m: float, *, weights: Sequence[float] = LUO_QI_WEIGHTS) -> list[Band]:
    """Equal-width distance bands over the catchment with the given step weights.

    Parameters
    ----------
    catchment_m
        Largest distance that counts, metres.
    weights
        One weight per band, nearest band first (default Luo & Qi's 1.00, 0.68, 0.22).

    Returns
    -------
    list of (lower_m, upper_m, weight)
        Distances in ``(lower_m, upper_m]`` get ``weight``.

    Examples
    --------
    >>> step_weights(300.0)
    [(0.0, 100.0, 1.0), (100.0, 200.0, 0.68), (200.0, 300.0, 0.22)]
    """
    _check_catchment(catchment_m)
    if len(weights) == 0:
        msg = "weights must hold at least one weight, e.g. (1.0, 0.68, 0.22)"
        raise ConfigError(msg)
    n = len(weights)
    edges = [catchment_m * k / n for k in range(n + 1)]
    return [(float(edges[k]), float(edges[k + 1]), float(w)) for k, w in enumerate(weights)]


def _check_catchment(catchment_m: float) -> None:
    if not np.isfinite(catchment_m) or catchment_m <= 0:
        msg = f"catchment_m must be a positive number of metres (e.g. 300), got {catchment_m}"
        raise ConfigError(msg)


def _check_bands(bands: Sequence[Band], catchment_m: float) -> tuple[np.ndarray, np.ndarray]:
    """Validate decay bands; return their upper bounds and weights."""
    if len(bands) == 0:
        msg = "weights must hold at least one (lower_m, upper_m, weight) band"
        raise ConfigError(msg)
    arr = np.asarray(bands, dtype=float)
    if arr.ndim != 2 or arr.shape[1] != 3:
        msg = (
            "weights must be (lower_m, upper_m, weight) bands, e.g. "
            f"{step_weights(catchment_m)}; got {list(bands)}"
        )
        raise ConfigError(msg)
    lower, upper, w = arr[:, 0], arr[:, 1], arr[:, 2]
    tol = 1e-9 * max(1.0, catchment_m)
    if (
        not np.isfinite(arr).all()
        or (w < 0).any()
        or (upper <= lower).any()
        or abs(lower[0]) > tol
        or (np.abs(lower[1:] - upper[:-1]) > tol).any()
    ):
        msg = (
            "weights must be contiguous (lower_m, upper_m, weight) bands from 0 m with "
            f"weights >= 0, e.g. {step_weights(catchment_m)}; got {list(bands)}"
        )
        raise ConfigError(msg)
    if abs(upper[-1] - catchment_m) > tol:
        msg = (
            f"weights end at {upper[-1]:g} m but catchment_m is {catchment_m:g} m; pass "
            f"catchment_m={upper[-1]:g} or bands that end at {catchment_m:g} m"
        )
        raise ConfigError(msg)
    return upper, w


def _values(x: npt.ArrayLike | pd.Series, name: str, what: str) -> tuple[np.ndarray, pd.Index]:
    """Float array and index of a per-facility or per-point input; must be finite and >= 0."""
    index = x.index if isinstance(x, pd.Series) else None
    try:
        arr = np.asarray(x, dtype=float)
    except (TypeError, ValueError) as err:
        msg = f"{name} must be numbers ({what}); could not read them: {err}"
        raise InputDataError(msg) from err
    if arr.ndim != 1:
        msg = f"{name} must be one value per {what}, got an array of shape {arr.shape}"
        raise InputDataError(msg)
    if index is None:
        index = pd.RangeIndex(len(arr))
    bad = ~np.isfinite(arr)
    if bad.any():
        pos = np.flatnonzero(bad)
        msg = (
            f"{name} has {len(pos)} missing or infinite value(s); fill them first "
            "(facility_capacity estimates missing capacities by type) "
            f"(index: {list(index[pos[:5]])})"
        )
        raise InputDataError(msg)
    neg = arr < 0
    if neg.any():
        pos = np.flatnonzero(neg)
        msg = (
            f"{name} has {len(pos)} negative value(s) but counts {what}s (>= 0); correct "
            f"them (index, value): {list(zip(index[pos[:5]], arr[pos[:5]], strict=True))}"
        )
        raise InputDataError(msg)
    return arr, index


def _pairs(
    dist: sparse.spmatrix | sparse.sparray | npt.ArrayLike, name: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[int, int]]:
    """Rows, columns and finite distances of a sparse or dense matrix, and its shape."""
    if sparse.issparse(dist):
        coo = sparse.coo_matrix(dist)
        rows, cols, d = coo.row, coo.col, coo.data.astype(float)
        shape = (int(coo.shape[0]), int(coo.shape[1]))
        if np.isnan(d).any():
            msg = (
                f"{name} stores NaN distances; leave pairs beyond the catchment out of a "
                "sparse matrix (or store inf)"
            )
            raise InputDataError(msg)
    else:
        arr = np.asarray(dist, dtype=float)
        if arr.ndim != 2:
            msg = f"{name} must be a 2-D matrix (rows facilities), got shape {arr.shape}"
            raise InputDataError(msg)
        rows, cols = np.nonzero(~np.isnan(arr))
        d = arr[rows, cols]
        shape = (int(arr.shape[0]), int(arr.shape[1]))
    if (d < 0).any():
        msg = (
            f"{name} has {int((d < 0).sum())} negative distance(s) (min {d.min():g} m); "
            "distances are metres >= 0"
        )
        raise InputDataError(msg)
    return rows, cols, d, shape


def _weight_matrix(
    dist: sparse.spmatrix | sparse.sparray | npt.ArrayLike,
    shape: tuple[int, int],
    *,
    catchment_m: float,
    upper: np.ndarray,
    w: np.ndarray,
    name: str = "dist",
) -> sparse.csr_matrix:
    """Decay weights ``W(d)`` as a CSR matrix of ``shape``; absent/inf/NaN = beyond."""
    rows, cols, d, dist_shape = _pairs(dist, name)
    if dist_shape != shape:
        msg = (
            f"{name} has shape {dist_shape} but there are {shape[0]} facilities (supply) and "
            f"{shape[1]} demand points; rows must be facilities and columns demand points in "
            "the same order (e.g. `walk_distances(net, facility_points, homes.geometry, ...)`)"
        )
        raise InputDataError(msg)
    within = d <= catchment_m
    rows, cols, d = rows[within], cols[within], d[within]
    band = np.searchsorted(upper, d, side="left")
    weight = w[np.minimum(band, len(w) - 1)]
    matrix = sparse.csr_matrix((weight, (rows, cols)), shape=shape)
    matrix.eliminate_zeros()
    return matrix


def e2sfca(
    dist: sparse.spmatrix | sparse.sparray | npt.ArrayLike,
    supply: npt.ArrayLike | pd.Series,
    demand: npt.ArrayLike | pd.Series,
    *,
    catchment_m: float = 300.0,
    weights: Sequence[Band] | None = None,
) -> E2SFCA:
    """Enhanced two-step floating catchment area accessibility (Luo & Qi 2009).

    Parameters
    ----------
    dist
        Facilities x demand points, metres: a scipy sparse matrix (absent pairs are beyond
        the catchment; e.g. :func:`siting.access.walk_distances` from facility points to
        homes with ``dist=catchment_m``) or a dense array (inf or NaN = beyond).
    supply
        Places per facility (``len == dist.shape[0]``), e.g. ``under3_slots`` from
        :func:`facility_capacity`. A Series keeps its index in the output.
    demand
        Demand per point (``len == dist.shape[1]``), e.g. ``under3`` children from
        :func:`siting.demand.demand_from_buildings`.
    catchment_m
        Largest distance that counts, metres (default 300, the 5-minute walk, CIRC-03).
    weights
        Distance decay as contiguous ``(lower_m, upper_m, weight)`` bands from 0 to
        ``catchment_m``, distances in ``(lower, upper]``. Default: Luo & Qi's Gaussian-derived
        steps 1.00 / 0.68 / 0.22 over thirds of the catchment (:func:`step_weights`):
        ``[(0, 100, 1.0), (100, 200, 0.68), (200, 300, 0.22)]`` at 300 m. One band of weight
        1 gives the classic 2SFCA.

    Returns
    -------
    E2SFCA
        ``accessibility`` per demand point (places per unit of demand, e.g. slots per under-3
        child; 0 where no facility is within reach), ``ratio`` per facility (places per
        weighted unit of demand; NaN where its catchment holds no demand, and then it adds
        nothing to any point) and ``weighted_demand`` per facility. No facilities give zero
        accessibility everywhere.

    Raises
    ------
    InputDataError
        On mismatched shapes, negative or missing places, demand or distances.
    ConfigError
        On a bad ``catchment_m`` or bands.

    Examples
    --------
    >>> import numpy as np
    >>> res = e2sfca(np.array([[50.0, 150.0, np.inf]]), [10.0], [4.0, 10.0, 3.0])
    >>> res.ratio.round(4).tolist(), res.accessibility.round(4).tolist()
    ([0.9259], [0.9259, 0.6296, 0.0])
    """
    _check_catchment(catchment_m)
    bands = step_weights(catchment_m) if weights is None else weights
    upper, w = _check_bands(bands, catchment_m)
    s, s_index = _values(supply, "supply", "facility's places")
    p, p_index = _values(demand, "demand", "demand point's children")
    wm = _weight_matrix(dist, (len(s), len(p)), catchment_m=catchment_m, upper=upper, w=w)
    weighted = np.asarray(wm @ p).ravel()
    ratio = np.full(len(s), np.nan)
    has = weighted > 0
    ratio[has] = s[has] / weighted[has]
    acc = np.asarray(wm.T @ np.where(has, ratio, 0.0)).ravel()
    return E2SFCA(
        accessibility=pd.Series(acc, index=p_index, name="accessibility"),
        ratio=pd.Series(ratio, index=s_index, name="ratio"),
        weighted_demand=pd.Series(weighted, index=s_index, name="weighted_demand"),
    )


# ----------------------------------------------------------------------------- the gap


def supply_gap(
    dist: sparse.spmatrix | sparse.sparray | npt.ArrayLike,
    slots: npt.ArrayLike | pd.Series,
    homes: pd.DataFrame,
    *,
    catchment_m: float = 300.0,
    weights: Sequence[Band] | None = None,
    target_per_1000: float = 4.5,
    demand_column: str = "under3",
    residents_column: str = "residents",
) -> SupplyGap:
    """Existing supply against demand: accessible slots, unmet demand, slots per 1,000.

    Parameters
    ----------
    dist
        Facilities x homes distances, metres (see :func:`e2sfca`).
    slots
        Under-3 places per facility, e.g. ``facility_capacity(...)["under3_slots"]``.
    homes
        Demand points with ``demand_column`` (under-3 children) and ``residents_column``,
        e.g. :func:`siting.demand.demand_from_buildings`; the output is indexed like it.
    catchment_m, weights
        Catchment and distance decay of :func:`e2sfca` (default 300 m, Luo & Qi steps).
    target_per_1000
        Target slots per 1,000 residents (4.5, rulebook DEM-02).
    demand_column, residents_column
        Column names in ``homes``.

    Returns
    -------
    SupplyGap
        ``points`` and ``facilities`` tables (see :class:`SupplyGap`) and ``totals``:
        ``residents``, ``under3``, ``facilities``, ``slots`` (existing under-3 places),
        ``slots_allocated`` (places of facilities with children in reach: the sum of
        ``accessible_slots``), ``slots_unreached``, ``under3_within_catchment`` and its
        ``_share`` (children with at least one facility within ``catchment_m``),
        ``unmet_under3`` and ``unmet_share``, ``slots_per_1000``, ``target_per_1000``,
        ``target_met``, ``slots_short`` (places to add to reach the target, >= 0),
        ``catchment_m``, ``weights``, ``basis`` and, when there are no facilities, ``note``.

    Raises
    ------
    InputDataError
        On missing columns, mismatched shapes, negative slots, children or residents.
    ConfigError
        On a bad catchment, bands or target.
    """
    if not np.isfinite(target_per_1000) or target_per_1000 < 0:
        msg = f"target_per_1000 must be a number of slots >= 0 (e.g. 4.5), got {target_per_1000}"
        raise ConfigError(msg)
    require_columns(homes, "homes", [demand_column, residents_column])
    u3, _ = _values(homes[demand_column].to_numpy(), f"homes[{demand_column!r}]", "child")
    res, _ = _values(homes[residents_column].to_numpy(), f"homes[{residents_column!r}]", "person")
    s, s_index = _values(slots, "slots", "facility's place")
    bands = list(step_weights(catchment_m) if weights is None else weights)
    acc = e2sfca(dist, s, u3, catchment_m=catchment_m, weights=bands)
    # unweighted reach (the catchment itself), for counts not shared by competition
    reach = _weight_matrix(
        dist,
        (len(s), len(u3)),
        catchment_m=catchment_m,
        upper=np.array([catchment_m]),
        w=np.ones(1),
    )
    accessible = acc.accessibility.to_numpy() * u3
    unmet = np.maximum(u3 - accessible, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        per_1000 = np.where(res > 0, accessible / res * 1000.0, np.nan)
    points = pd.DataFrame(
        {
            "under3": u3,
            "residents": res,
            "accessibility": acc.accessibility.to_numpy(),
            "facilities_within": np.asarray(reach.sum(axis=0)).ravel().astype(int),
            "slots_within": np.asarray(reach.T @ s).ravel(),
            "accessible_slots": accessible,
            "unmet_under3": unmet,
            "slots_per_1000": per_1000,
        },
        index=homes.index,
    )
    facilities = pd.DataFrame(
        {
            "slots": s,
            "under3_within": np.asarray(reach @ u3).ravel(),
            "weighted_demand": acc.weighted_demand.to_numpy(),
            "ratio": acc.ratio.to_numpy(),
        },
        index=s_index,
    )
    total_res, total_u3, total_slots = float(res.sum()), float(u3.sum()), float(s.sum())
    allocated = float(s[acc.weighted_demand.to_numpy() > 0].sum())
    in_reach = float(u3[points["facilities_within"].to_numpy() > 0].sum())
    per_1000_total = total_slots / total_res * 1000.0 if total_res > 0 else math.nan
    need = math.ceil(target_per_1000 * total_res / 1000.0 - 1e-9)
    totals: dict[str, Any] = {
        "residents": round(total_res, 1),
        "under3": round(total_u3, 2),
        "facilities": len(s),
        "slots": round(total_slots, 2),
        "slots_allocated": round(allocated, 2),
        "slots_unreached": round(total_slots - allocated, 2),
        "under3_within_catchment": round(in_reach, 2),
        "under3_within_catchment_share": round(in_reach / total_u3, 4) if total_u3 else 0.0,
        "unmet_under3": round(float(unmet.sum()), 2),
        "unmet_share": round(float(unmet.sum()) / total_u3, 4) if total_u3 else 0.0,
        "slots_per_1000": round(per_1000_total, 3) if total_res > 0 else None,
        "target_per_1000": target_per_1000,
        "target_met": bool(total_res > 0 and per_1000_total >= target_per_1000),
        "slots_short": max(need - math.floor(total_slots + 1e-9), 0),
        "catchment_m": catchment_m,
        "weights": [list(b) for b in bands],
        "basis": (
            "E2SFCA (Luo & Qi 2009) with step weights "
            + ", ".join(f"({lo:g}, {hi:g}] m: {wt:g}" for lo, hi, wt in bands)
            + "; unmet = sum over homes of max(under3 - accessibility x under3, 0); "
            "slots per 1,000 = existing under-3 slots / residents x 1000"
        ),
    }
    if len(s) == 0:
        totals["note"] = (
            "no existing facilities: accessibility is 0 everywhere and all demand is unmet"
        )
        log.warning("supply_gap: %s", totals["note"])
    return SupplyGap(points=points, facilities=facilities, totals=totals)


def communities_from_landuse(
    landuse: gpd.GeoDataFrame, *, min_area_m2: float = 0.0
) -> gpd.GeoDataFrame:
    """Residential communities: ``landuse=residential`` polygons of at least ``min_area_m2``.

    Parameters
    ----------
    landuse
        Land-use polygons with a ``landuse`` column, projected CRS (metres).
    min_area_m2
        Smallest polygon kept, m² (drops slivers).

    Returns
    -------
    GeoDataFrame
        The residential polygons, with ``landuse``'s index.

    Raises
    ------
    InputDataError
        If ``landuse`` lacks the ``landuse`` column.
    """
    require_columns(landuse, "landuse", ["landuse"])
    require_projected(landuse, "landuse")
    polys = landuse.geometry.geom_type.isin(["Polygon", "MultiPolygon"])
    keep = (landuse["landuse"] == "residential") & polys & (landuse.area >= min_area_m2)
    return landuse[keep.to_numpy()].copy()


def community_coverage(
    communities: pd.DataFrame,
    facilities_within: sparse.spmatrix | sparse.sparray | npt.ArrayLike,
    *,
    catchment_m: float = 300.0,
    target: float = 0.5,
) -> Coverage:
    """Share of residential communities within the catchment walk of at least one facility.

    Parameters
    ----------
    communities
        Residential communities (e.g. :func:`communities_from_landuse` or a user layer), one
        row each; only their number and index are used here.
    facilities_within
        Facilities x communities walk, metres, from each facility to each community's
        representative point (e.g. ``walk_distances(net, facility_points,
        communities.representative_point(), dist=catchment_m)``); sparse (absent = beyond)
        or dense (inf/NaN = beyond).
    catchment_m
        Walk that counts as covered, metres (300, CIRC-03).
    target
        Target share (0.5, DEM-07).

    Returns
    -------
    Coverage
        Per-community ``covered`` and ``nearest_m``, the ``share``, ``target`` and ``met``.
        With no facilities the share is 0.

    Raises
    ------
    InputDataError
        If there are no communities or the matrix does not have one column per community.
    ConfigError
        On a bad ``catchment_m`` or ``target``.
    """
    _check_catchment(catchment_m)
    if not np.isfinite(target) or not 0.0 <= target <= 1.0:
        msg = f"target must be a share between 0 and 1 (e.g. 0.5), got {target}"
        raise ConfigError(msg)
    n = len(communities)
    if n == 0:
        msg = (
            "communities is empty, so no coverage share can be measured; pass residential "
            "polygons (e.g. `communities_from_landuse(landuse)`) or your own community layer"
        )
        raise InputDataError(msg)
    _, cols, d, shape = _pairs(facilities_within, "facilities_within")
    if shape[1] != n:
        msg = (
            f"facilities_within has shape {shape} but there are {n} communities; rows "
            "must be facilities and columns communities in the same order"
        )
        raise InputDataError(msg)
    nearest = np.full(n, np.inf)
    within = d <= catchment_m
    np.minimum.at(nearest, cols[within], d[within])
    covered = np.isfinite(nearest)
    share = float(covered.mean())
    return Coverage(
        covered=pd.Series(covered, index=communities.index, name="covered"),
        nearest_m=pd.Series(nearest, index=communities.index, name="nearest_m"),
        share=share,
        target=float(target),
        met=share >= target,
        basis=(
            f"share of {n} residential communities whose representative point is within a "
            f"{catchment_m:g} m walk of at least one existing facility"
        ),
    )
