"""Partition: cut a study into compact spatial pieces, and the halo each piece needs.

Parcels are ordered along a Hilbert curve by their centroids (neighbours on the curve are
neighbours on the ground) and cut into runs of equal size. Each partition is then given every
feature within a *halo* of its parcels' bounding box, as wide as the farthest any stage can
look (:func:`halo_widths`):

- hazards: a hazard can decide a parcel up to its screening radius plus the spread of the
  thresholds of its class (:func:`siting.constraints.apply_constraints`), and the clearance
  criterion looks ``cap`` metres beyond the largest setback: ``2 x reach + cap``;
- the street network: a walk of ``walk_m`` never leaves the disc of that radius around its
  origin, and a home that can be counted has its nearest street within ``walk_m`` of it, so
  every street within ``2 x walk_m`` of a parcel snaps and routes exactly as on the whole
  network;
- homes: ``walk_m`` (a walk is never shorter than the straight line);
- roads for frontage: the widest road corridor plus the frontage reach.

:func:`local_walks` applies the same argument to a few origins spread over a whole study
(existing facilities, new sites): their walks on the streets within ``2 x dist`` of them are
their walks on the whole network, so the client never builds the whole network.

:func:`hazard_catalogue` adds one hazard of every kind (class, subtypes, voltage) to each
partition, so the screening radii, which depend on the kinds present, are those of the whole
study.

Examples
--------
>>> import geopandas as gpd, shapely
>>> g = gpd.GeoDataFrame(geometry=[shapely.box(x, 0, x + 1, 1) for x in range(6)], crs=3857)
>>> [p.rows.tolist() for p in hilbert_partitions(g, n_partitions=2)]
[[0, 1, 2], [3, 4, 5]]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import shapely
from scipy import sparse

from siting import access
from siting._errors import ConfigError
from siting._validate import require_projected
from siting.parcels import _DEFAULT_HALF_WIDTH_M, ROAD_HALF_WIDTH_M
from siting.rulebook import Rulebook

__all__ = [
    "KIND_COLUMNS",
    "Partition",
    "halo_widths",
    "hazard_catalogue",
    "hilbert_cut",
    "hilbert_partitions",
    "largest_reach",
    "local_network",
    "local_walks",
    "rows_near",
]

#: Hazard columns that decide which rules apply to a feature and its threshold.
KIND_COLUMNS = ("hazard_class", "subtypes", "voltage_kv")


@dataclass(frozen=True)
class Partition:
    """One spatial piece of a study.

    Attributes
    ----------
    id
        0..n-1 along the Hilbert curve.
    rows
        Positions of its parcels in the study's parcel table, ascending.
    bounds
        ``(minx, miny, maxx, maxy)`` of its parcels (whole polygons), CRS units.
    """

    id: int
    rows: np.ndarray
    bounds: tuple[float, float, float, float]


def hilbert_partitions(
    parcels: gpd.GeoDataFrame | gpd.GeoSeries, *, n_partitions: int, level: int = 16
) -> list[Partition]:
    """Cut parcels into ``n_partitions`` runs of the Hilbert curve through their centroids.

    Parameters
    ----------
    parcels
        Polygons in a projected CRS.
    n_partitions
        Number of partitions (at most one per parcel; sizes differ by at most one).
    level
        Hilbert curve level (the extent is cut into ``2**level`` cells per side).

    Returns
    -------
    list of Partition
        In Hilbert order; ties on the curve are broken by parcel position.

    Raises
    ------
    ConfigError
        If ``n_partitions`` is not a positive integer.
    """
    if isinstance(n_partitions, bool) or not isinstance(n_partitions, int) or n_partitions < 1:
        msg = f"n_partitions must be a positive integer, got {n_partitions!r}"
        raise ConfigError(msg)
    geoms = parcels.geometry if isinstance(parcels, gpd.GeoDataFrame) else parcels
    require_projected(gpd.GeoDataFrame(geometry=geoms), "parcels")
    n = len(geoms)
    if n == 0:
        return []
    arr = geoms.to_numpy()
    return hilbert_cut(
        shapely.get_coordinates(shapely.centroid(arr)), shapely.bounds(arr),
        n_partitions=n_partitions, level=level,
    )  # fmt: skip


def hilbert_cut(
    centroids: np.ndarray, bounds: np.ndarray, *, n_partitions: int, level: int = 16
) -> list[Partition]:
    """:func:`hilbert_partitions` from the parcels' centroids ``(n, 2)`` and bounds ``(n, 4)``.

    For parcels streamed from a file: only these arrays are held, not the polygons.
    """
    n = len(centroids)
    if n == 0:
        return []
    cent = gpd.GeoSeries(shapely.points(centroids))
    h = cent.hilbert_distance(total_bounds=cent.total_bounds, level=level).to_numpy()
    order = np.lexsort((np.arange(n), h))
    out = []
    for i, chunk in enumerate(np.array_split(order, min(n_partitions, n))):
        rows = np.sort(chunk)
        b = bounds[rows]
        box = (
            float(b[:, 0].min()),
            float(b[:, 1].min()),
            float(b[:, 2].max()),
            float(b[:, 3].max()),
        )
        out.append(Partition(id=i, rows=rows, bounds=box))
    return out


def rows_near(
    features: gpd.GeoDataFrame | gpd.GeoSeries,
    bounds: Sequence[float],
    halo: float,
) -> np.ndarray:
    """Positions (ascending) of the features that reach the box ``bounds`` grown by ``halo``.

    A superset of the features within ``halo`` of anything inside ``bounds``.

    Examples
    --------
    >>> pts = gpd.GeoSeries(gpd.points_from_xy([0, 5, 20], [0, 0, 0]), crs=3857)
    >>> rows_near(pts, (0, 0, 1, 1), 4.0).tolist()
    [0, 1]
    """
    if len(features) == 0:
        return np.zeros(0, dtype=np.int64)
    x0, y0, x1, y1 = (float(v) for v in bounds)
    box = shapely.box(x0 - halo, y0 - halo, x1 + halo, y1 + halo)
    return np.sort(features.sindex.query(box, predicate="intersects")).astype(np.int64)


def largest_reach(rulebook: Rulebook) -> float:
    """Largest distance any active rule looks at (hard threshold or soft band), metres."""
    reach = [0.0]
    for r in rulebook.active_rules:
        reach += [r.dist_m or 0.0, r.soft_dist_m or 0.0, *(m for _, m in r.dist_by_kv)]
    return float(max(reach))


def halo_widths(
    rulebook: Rulebook, *, walk_m: float, clearance_cap: float, frontage_reach_m: float = 5.0
) -> dict[str, float]:
    """Halo of each layer around a partition, metres (see the module docstring).

    Examples
    --------
    >>> from siting.rulebook import default_rulebook
    >>> h = halo_widths(default_rulebook(), walk_m=300.0, clearance_cap=200.0)
    >>> h["network"], h["homes"]
    (600.0, 300.0)
    """
    reach = largest_reach(rulebook)
    widest = max([*ROAD_HALF_WIDTH_M.values(), _DEFAULT_HALF_WIDTH_M])
    return {
        "hazards": 2.0 * reach + float(clearance_cap),
        "network": 2.0 * float(walk_m),
        "homes": float(walk_m),
        "roads": float(widest) + float(frontage_reach_m),
    }


def hazard_catalogue(hazards: gpd.GeoDataFrame) -> np.ndarray:
    """Positions of one hazard of every kind (:data:`KIND_COLUMNS`), the first of each.

    Examples
    --------
    >>> import pandas as pd
    >>> h = pd.DataFrame({"hazard_class": ["a", "a", "b"], "subtypes": ["", "", ""],
    ...                   "voltage_kv": [10.0, 10.0, float("nan")]})
    >>> hazard_catalogue(h).tolist()
    [0, 2]
    """
    if len(hazards) == 0:
        return np.zeros(0, dtype=np.int64)
    kinds = hazards[list(KIND_COLUMNS)].reset_index(drop=True).astype(str)
    return np.flatnonzero(~kinds.duplicated().to_numpy()).astype(np.int64)


def local_network(
    edges: gpd.GeoDataFrame, origins: gpd.GeoSeries, *, dist: float
) -> access.Network | None:
    """Cut the walking network to the streets within ``2 x dist`` of ``origins``.

    Every walk of at most ``dist`` from an origin, and the snapping of every point it can
    reach, are those of the whole network (see the module docstring). ``None`` when no
    street is that near.
    """
    if len(origins) == 0 or len(edges) == 0:
        return None
    rows = np.unique(
        edges.sindex.query(origins.to_numpy(), predicate="dwithin", distance=2.0 * dist)[1]
    )
    return access.network_from_edges(edges.iloc[rows]) if len(rows) else None


def local_walks(
    edges: gpd.GeoDataFrame | None,
    origins: gpd.GeoSeries,
    destinations: gpd.GeoSeries,
    *,
    dist: float,
    network: access.Network | None = None,
) -> sparse.csr_matrix:
    """:func:`siting.access.walk_distances` over the destinations near the origins.

    Only the destinations within ``dist`` (straight line) of an origin are snapped and
    walked to, on ``network`` or, without one, on :func:`local_network` of ``edges``: the
    same walks as on the whole network, for any number of destinations.

    Returns
    -------
    scipy.sparse.csr_matrix
        ``(len(origins), len(destinations))`` walks in metres as ``walk_distances`` gives
        them, with the columns of each row in ascending order (so the result, and sums over
        it, do not depend on how the network was numbered).
    """
    shape = (len(origins), len(destinations))
    near = np.zeros(0, dtype=np.int64)
    if len(origins) and len(destinations):
        near = np.unique(
            destinations.sindex.query(origins.to_numpy(), predicate="dwithin", distance=dist)[1]
        )
    if network is None and len(near) and edges is not None:
        network = local_network(edges, origins, dist=dist)
    if network is None or len(near) == 0:
        return sparse.csr_matrix(shape)
    sub = sparse.csr_matrix(
        access.walk_distances(network, origins, destinations.iloc[near], dist=dist)
    )
    out = sparse.csr_matrix((sub.data, near[sub.indices], sub.indptr), shape=shape)
    out.sort_indices()
    return out
