"""Access: walking distance on the street network, catchment demand, nearest facilities.

Points (parcels, homes, facilities) join the network where they really meet it: each is
snapped to the nearest point of the nearest street segment (not to the nearest node), and a
walk runs point → snap point (straight, the "access leg") → along the segment to either end
→ shortest path over the network → and the same in reverse at the other end. Two points on
the same segment may also walk directly along it. Segment lengths are measured in the
analysis CRS (metres). Shortest paths use :func:`scipy.sparse.csgraph.dijkstra`.

:func:`walk_distances` scales to a city: runs of degree-2 nodes are folded into *chains*
between junctions (a walk enters or leaves a chain only at its ends), origins are grouped by
square tiles, and each tile's shortest paths run only over the junctions within ``dist`` of
it (a walk of at most ``dist`` never leaves the disc of that radius around its origin, and
the access legs only shorten it, so the result is exact). Tiles are walked on a few threads.

:func:`walk_sums` gives the catchment totals only (e.g. under-3 children within a 5-minute
walk of every parcel) without storing the pairs: a compiled (numba) bounded Dijkstra from
each junction that ends an origin's chain, shared by the origins on that chain, then one
pass per origin over the chains it reaches. Same walks, same totals as
``catchment_sum(walk_distances(...))``, several times faster on a city.
"""

from __future__ import annotations

import logging
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cached_property

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely
import shapely.ops
from scipy import sparse
from scipy.sparse import csgraph
from tqdm.auto import tqdm

from siting._errors import ConfigError, InputDataError
from siting._localwalk import (
    _MAX_THREADS,
    _Batch,
    _Chains,
    _chains_of,
    _ragged_arange,
    _tiles,
    _TileWalker,
)
from siting._validate import require_columns, require_nonempty, require_projected, require_same_crs

__all__ = [
    "Network",
    "Snap",
    "catchment_sum",
    "nearest_dist",
    "network_from_edges",
    "service_areas",
    "snap_points",
    "walk_distances",
    "walk_edges_from_graph",
    "walk_sums",
]

log = logging.getLogger(__name__)

#: Entries per block of rows in :func:`catchment_sum`.
_SUM_BLOCK = 1 << 20
#: Fewest points per parallel part of :func:`snap_points`.
_SNAP_PART = 20_000
#: Parts of the bounded Dijkstra runs of :func:`walk_sums` (run on up to _MAX_THREADS).
_RANGE_PARTS = 8


@dataclass(frozen=True)
class Network:
    """An undirected street network ready for shortest paths.

    Attributes
    ----------
    edges
        Segments (LineStrings) in a projected CRS with integer node positions ``iu``/``iv``
        (0..n_nodes-1) and ``length_m``; ``iu`` is the end where the geometry starts.
    graph
        Symmetric CSR adjacency matrix of segment lengths (m), shortest of parallel segments.
    """

    edges: gpd.GeoDataFrame
    graph: sparse.csr_matrix

    @property
    def n_nodes(self) -> int:
        """Number of network nodes."""
        return int(self.graph.shape[0])

    @cached_property
    def _chains(self) -> _Chains:
        """The network folded into chains between junctions, built on first use."""
        return _chains_of(self)


@dataclass(frozen=True)
class Snap:
    """Where points join the network (arrays aligned with the points)."""

    edge: np.ndarray  #: segment position in ``Network.edges``
    along_m: np.ndarray  #: distance from the segment's ``iu`` end to the snap point
    access_m: np.ndarray  #: straight distance from the point to its snap point
    iu: np.ndarray  #: node at the segment start
    iv: np.ndarray  #: node at the segment end
    to_iu_m: np.ndarray  #: walk along the segment to ``iu``
    to_iv_m: np.ndarray  #: walk along the segment to ``iv``


def walk_edges_from_graph(graph: nx.MultiDiGraph) -> gpd.GeoDataFrame:
    """Street segments of an osmnx graph as a GeoDataFrame with ``u``/``v`` columns.

    Parameters
    ----------
    graph
        An osmnx graph (e.g. from ``osmnx.graph_from_place(..., network_type="walk")``).
    """
    import osmnx as ox

    edges = ox.convert.graph_to_gdfs(graph, nodes=False, fill_edge_geometry=True)
    return edges.reset_index()[["u", "v", "geometry"]]


def network_from_edges(edges: gpd.GeoDataFrame) -> Network:
    """Build a :class:`Network` from street segments with ``u``/``v`` node ids.

    Parameters
    ----------
    edges
        LineStrings with ``u`` and ``v`` columns (OSM node ids), projected CRS; each geometry
        runs from ``u`` to ``v`` (as pyrosm and osmnx write them). Direction of travel is
        ignored (walking).

    Raises
    ------
    CRSError
        If not in a projected CRS.
    InputDataError
        If empty or missing ``u``/``v``.
    """
    require_projected(edges, "walk_edges")
    require_columns(edges, "walk_edges", ["u", "v"])
    require_nonempty(edges, "walk_edges", hint="the study needs a walkable street network")
    lines = edges[edges.geometry.geom_type == "LineString"].reset_index(drop=True)
    ids = pd.Index(pd.unique(np.concatenate([lines["u"].to_numpy(), lines["v"].to_numpy()])))
    iu = ids.get_indexer(lines["u"])
    iv = ids.get_indexer(lines["v"])
    geoms = lines.geometry.to_numpy()
    length = shapely.length(geoms)
    out = gpd.GeoDataFrame({"iu": iu, "iv": iv, "length_m": length}, geometry=geoms, crs=edges.crs)
    pairs = pd.DataFrame({"a": np.minimum(iu, iv), "b": np.maximum(iu, iv), "w": length})
    shortest = pairs[pairs["a"] != pairs["b"]].groupby(["a", "b"], as_index=False)["w"].min()
    n = len(ids)
    a, b, w = shortest["a"].to_numpy(), shortest["b"].to_numpy(), shortest["w"].to_numpy()
    # Zero-length segments would vanish from a sparse matrix; keep them walkable.
    w = np.maximum(w, 1e-9)
    graph = sparse.csr_matrix(
        (np.concatenate([w, w]), (np.concatenate([a, b]), np.concatenate([b, a]))), shape=(n, n)
    )
    return Network(edges=out, graph=graph)


def snap_points(network: Network, points: gpd.GeoSeries) -> Snap:
    """Snap points to the nearest point of the nearest street segment.

    Parameters
    ----------
    network
        From :func:`network_from_edges`.
    points
        Point geometries in the network's CRS.
    """
    require_same_crs(network.edges, "network", gpd.GeoDataFrame(geometry=points), "points")
    pts = points.to_numpy()
    tree = network.edges.sindex
    geoms = network.edges.geometry.to_numpy()
    # points lying on a segment (nodes, stops drawn on the street) are found by one
    # intersects query, and such a segment is the nearest (the lowest one is taken, so the
    # choice is deterministic); the others search the tree
    at_pt, seg = tree.query(pts, predicate="intersects")
    on_edge = np.full(len(pts), len(geoms), dtype=np.int64)
    np.minimum.at(on_edge, at_pt, seg)
    on_line = on_edge < len(geoms)
    off = np.flatnonzero(~on_line)
    off_pts = pts[off]
    # GEOS releases the GIL: large queries run in parallel parts (same answers, same order)
    n_parts = min(_MAX_THREADS, os.cpu_count() or 1, max(1, len(off_pts) // _SNAP_PART))
    starts = np.linspace(0, len(off_pts), n_parts + 1).astype(np.int64)

    def nearest(part: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        lo, hi = starts[part], starts[part + 1]
        (src, edge), dist = tree.nearest(off_pts[lo:hi], return_distance=True, return_all=False)
        return src + lo, edge, dist

    if n_parts > 1:
        with ThreadPoolExecutor(n_parts) as pool:
            found = list(pool.map(nearest, range(n_parts)))
    else:
        found = [nearest(0)]
    src = np.concatenate([f[0] for f in found])
    order = np.argsort(src, kind="stable")
    edge = on_edge.copy()
    edge[off] = np.concatenate([f[1] for f in found])[order]
    access = np.zeros(len(pts))
    access[off] = np.concatenate([f[2] for f in found])[order]
    along = shapely.line_locate_point(geoms[edge], pts)
    length = network.edges["length_m"].to_numpy()[edge]
    iu = network.edges["iu"].to_numpy()[edge]
    iv = network.edges["iv"].to_numpy()[edge]
    return Snap(
        edge=edge,
        along_m=along,
        access_m=access,
        iu=iu,
        iv=iv,
        to_iu_m=along,
        to_iv_m=length - along,
    )


def walk_distances(
    network: Network,
    origins: gpd.GeoSeries,
    destinations: gpd.GeoSeries,
    *,
    dist: float,
    chunk: int = 512,
    progress: bool = False,
) -> sparse.csr_matrix:
    """Compute the walk from every origin to every destination within ``dist`` metres.

    The work is local (see the module notes): time and memory grow with the number of
    origins and of reachable pairs, not with the size of the network. The walks are the same
    as Dijkstra's over the whole network, up to float rounding (1e-9 m).

    Parameters
    ----------
    network
        From :func:`network_from_edges`.
    origins, destinations
        Points in the network's CRS (e.g. parcel representative points and homes). Passing
        the same GeoSeries twice snaps it once.
    dist
        Largest walk kept, metres (e.g. 300 for the 5-minute living circle).
    chunk
        Most origins per shortest-path batch (with the size of the tile's neighbourhood, it
        bounds the working memory).
    progress
        Show a progress bar.

    Returns
    -------
    scipy.sparse.csr_matrix
        Shape ``(len(origins), len(destinations))``; entry = walk in metres, including both
        access legs; pairs farther than ``dist`` are absent. A pair at distance 0 is stored as
        1e-9 m so it stays visible in the sparse matrix. Within a row, columns come in a fixed
        order (by street chain), not ascending: call ``.sort_indices()`` if you need that.

    Raises
    ------
    ConfigError
        If ``dist`` is not a positive number of metres or ``chunk`` is not positive.
    """
    _check_dist(dist)
    if chunk < 1:
        msg = f"chunk must be a positive number of origins, got {chunk}"
        raise ConfigError(msg)
    so = snap_points(network, origins)
    sd = so if destinations is origins else snap_points(network, destinations)
    n_o, n_d = len(origins), len(destinations)
    if n_o == 0 or n_d == 0:
        return sparse.csr_matrix((n_o, n_d))
    chains = network._chains
    o_xy = shapely.get_coordinates(origins.to_numpy())
    walker = _TileWalker(chains, so, sd, dist=float(dist))
    # dead ends are entered only from their chain: no shortest paths through them
    routing = np.flatnonzero(np.diff(chains.inc_ptr) != 1)
    tiles = _tiles(o_xy, routing, chains.junction_xy[routing], dist=float(dist))
    n_threads = min(_MAX_THREADS, os.cpu_count() or 1, max(1, len(tiles) // 8))
    scratch = threading.local()

    def walk_tile(tile: tuple[np.ndarray, np.ndarray]) -> list[_Batch]:
        if n_threads == 1:
            return walker.tile(*tile, chunk)
        if not hasattr(scratch, "walker"):
            scratch.walker = walker.fork()
        return scratch.walker.tile(*tile, chunk)

    with ThreadPoolExecutor(n_threads) as pool:
        done = tqdm(
            pool.map(walk_tile, tiles) if n_threads > 1 else map(walk_tile, tiles),
            total=len(tiles),
            disable=not progress,
            desc="walking catchments",
            unit="tile",
        )
        batches = [batch for tile in done for batch in tile]
        # one row per origin, in the order of the origins
        n_per = np.zeros(n_o, dtype=np.int64)
        for b in batches:
            n_per[b.origins] = b.n_per
        indptr = np.zeros(n_o + 1, dtype=np.int64)
        np.cumsum(n_per, out=indptr[1:])
        nnz = int(indptr[-1])
        idx_dtype = np.int32 if max(nnz, n_d) < np.iinfo(np.int32).max else np.int64
        cols = np.empty(nnz, dtype=idx_dtype)
        vals = np.empty(nnz)

        def place(part: list[_Batch]) -> None:
            while part:  # each batch is freed once placed
                b = part.pop()
                at = _ragged_arange(indptr[b.origins], b.n_per)
                cols[at] = b.cols
                vals[at] = b.vals

        parts = [batches[i::n_threads] for i in range(n_threads)]
        batches.clear()
        list(pool.map(place, parts))
    return sparse.csr_matrix((vals, cols, indptr.astype(idx_dtype, copy=False)), shape=(n_o, n_d))


def _check_dist(dist: float) -> None:
    """ConfigError unless ``dist`` is a positive, finite number of metres."""
    if not np.isfinite(dist) or dist <= 0:
        msg = f"dist must be a positive number of metres, got {dist}"
        raise ConfigError(msg)


def walk_sums(
    network: Network,
    origins: gpd.GeoSeries,
    destinations: gpd.GeoSeries,
    values: np.ndarray,
    *,
    dist: float,
) -> np.ndarray:
    """Sum ``values`` of the destinations within a walk of ``dist`` metres of each origin.

    The same walks as :func:`walk_distances` (access legs, partial segments, walks along a
    shared segment; pairs at most ``dist`` apart count), summed without storing the pairs: use
    it when only the catchment totals are needed (e.g. under-3 children within a 5-minute
    walk of every candidate), since time and memory then grow with the network and the
    origins, not with the tens of millions of pairs of a city. It runs a compiled Dijkstra
    per origin (numba, cached after the first call) on all cores.

    The sums are exact and independent of the order in which the destinations are found:
    values are added as 2**-52 fixed-point integers, then turned back into floats once. A
    catchment total is thus the same, to the last bit, on the whole network and on any cut
    of it that holds the walks (:mod:`siting.distributed` relies on it).

    Parameters
    ----------
    network
        From :func:`network_from_edges`.
    origins, destinations
        Points in the network's CRS. Passing the same GeoSeries twice snaps it once.
    values
        Per destination: shape ``(len(destinations),)``, or ``(len(destinations), m)`` for
        ``m`` sums at once (e.g. under-3 children, residents, unmet demand).
    dist
        Largest walk, metres.

    Returns
    -------
    numpy.ndarray
        Shape ``(len(origins),)`` or ``(len(origins), m)``, in the order of the origins.

    Raises
    ------
    ConfigError
        If ``dist`` is not a positive number of metres.
    InputDataError
        If ``values`` does not have one row per destination, is not finite, or sums beyond
        4.4e12 in absolute value (the fixed-point range).
    """
    from siting import _walksum

    _check_dist(dist)
    vals = np.asarray(values, dtype=float)
    flat = vals.ndim == 1
    table = vals[:, None] if flat else vals
    if table.ndim != 2 or len(table) != len(destinations):
        msg = (
            f"values must have one row per destination ({len(destinations)}), "
            f"got shape {vals.shape}"
        )
        raise InputDataError(msg)
    if not np.isfinite(table).all():
        msg = "values must be finite numbers (fill missing values with 0 first)"
        raise InputDataError(msg)
    n_o, n_val = len(origins), table.shape[1]
    fixed = _fixed_point(table)
    out = np.zeros((n_o, 2 * n_val), dtype=np.int64)
    if n_o and len(destinations):
        so = snap_points(network, origins)
        sd = so if destinations is origins else snap_points(network, destinations)
        ch = network._chains
        n_chain = len(ch.chain_len)
        o_chain, o_pos = ch.locate(so)
        d_chain, d_pos = ch.locate(sd)
        by_chain = np.argsort(d_chain, kind="stable")
        d_chain, d_pos = d_chain[by_chain], d_pos[by_chain]
        d_access = sd.access_m[by_chain]
        d_count = np.bincount(d_chain, minlength=n_chain)
        d_start = np.cumsum(d_count) - d_count
        from_a = d_pos + d_access
        from_b = ch.chain_len[d_chain] - d_pos + d_access
        d_values = np.ascontiguousarray(fixed[by_chain])
        # per chain: the farthest destination from each end, and the value totals
        max_a = np.full(n_chain, np.inf)
        max_b = np.full(n_chain, np.inf)
        has = d_count > 0
        max_a[has] = np.maximum.reduceat(from_a, d_start[has])
        max_b[has] = np.maximum.reduceat(from_b, d_start[has])
        total = np.zeros((n_chain, 2 * n_val), dtype=np.int64)
        np.add.at(total, d_chain, d_values)
        routing = np.diff(ch.inc_ptr) != 1
        net = (ch.chain_a, ch.chain_b, ch.chain_len, ch.inc_ptr, ch.inc_chain)
        # the junction graph without its dead ends (a walk never passes through one)
        g = ch.graph.tocoo()
        through = routing[g.col]
        adj = sparse.csr_matrix((g.data[through], (g.row[through], g.col[through])), shape=g.shape)
        adj_j = adj.indices.astype(np.int64)
        adj_ptr = adj.indptr.astype(np.int64)
        # one bounded Dijkstra per junction ending an origin's chain, shared by its origins
        ends = np.unique(np.concatenate([ch.chain_a[o_chain], ch.chain_b[o_chain]]))
        sources = ends[routing[ends]]
        slot = np.full(len(routing), -1, dtype=np.int64)
        slot[sources] = np.arange(len(sources))
        n_threads = min(_MAX_THREADS, os.cpu_count() or 1)
        with ThreadPoolExecutor(n_threads) as pool:
            # a fixed number of parts: one compiled signature of the sums kernel
            split = np.array_split(sources, _RANGE_PARTS)
            parts = list(
                pool.map(
                    lambda part: _walksum.ranges(part, float(dist), adj_ptr, adj_j, adj.data),
                    split,
                )
            )
            src_part = np.repeat(np.arange(_RANGE_PARTS), [len(x) for x in split])
            src_lo = np.concatenate([p[0][:-1] for p in parts])
            src_hi = np.concatenate([p[0][1:] for p in parts])
            rng = (
                slot,
                src_part,
                src_lo,
                src_hi,
                tuple(p[1] for p in parts),
                tuple(p[2] for p in parts),
            )
            parts.clear()
            orig = (o_chain, o_pos, so.access_m)
            dest = (
                d_start,
                d_count,
                d_pos,
                d_access,
                from_a,
                from_b,
                d_values,
                max_a,
                max_b,
                total,
            )
            bounds = np.linspace(0, n_o, min(n_o, 8 * n_threads) + 1).astype(np.int64)
            out = np.concatenate(
                list(
                    pool.map(
                        lambda lo, hi: _walksum.sums(lo, hi, float(dist), net, rng, orig, dest),
                        bounds[:-1],
                        bounds[1:],
                    )
                )
            )
    sums = _from_fixed_point(out)
    return sums[:, 0] if flat else sums


#: Fixed-point scales of :func:`walk_sums`: a value is ``hi / 2**20 + lo / 2**52``.
_FIX_HI, _FIX_LO = 2.0**20, 2.0**32


def _fixed_point(values: np.ndarray) -> np.ndarray:
    """Values ``(n, m)`` as two int64 limbs each, ``(n, 2 m)``: ``hi`` columns, then ``lo``.

    Integer sums are associative, so a catchment total is the same whatever the order in
    which the walk finds its destinations (a partition of the study numbers the network
    differently from the whole). The grid is 2**-52 (absolute): values of 1 or more are
    represented exactly, smaller ones to within 1.1e-16.
    """
    big = np.abs(values).sum(axis=0) if len(values) else np.zeros(values.shape[1])
    if (big >= 2.0**42).any():
        msg = (
            f"values sum to {float(big.max()):.3g} in absolute value; walk_sums adds them exactly "
            "in fixed point up to 4.4e12: rescale them (e.g. thousands) first"
        )
        raise InputDataError(msg)
    scaled = values * _FIX_HI
    hi = np.floor(scaled)
    lo = np.rint((scaled - hi) * _FIX_LO)
    return np.hstack([hi, lo]).astype(np.int64)


def _from_fixed_point(fixed: np.ndarray) -> np.ndarray:
    """Turn sums of :func:`_fixed_point` limbs back into floats (one rounding)."""
    m = fixed.shape[1] // 2
    hi, lo = fixed[:, :m].copy(), fixed[:, m:]
    hi += lo >> 32  # carry whole units of 2**-20 from the low limb
    return hi / _FIX_HI + (lo & 0xFFFFFFFF) / (_FIX_HI * _FIX_LO)


def catchment_sum(within: sparse.csr_matrix, values: np.ndarray) -> np.ndarray:
    """Sum ``values`` over each row's reachable columns (e.g. under-3 children per parcel)."""
    values = np.asarray(values, dtype=float)
    if getattr(within, "format", None) != "csr":
        mask = within.copy()
        mask.data = np.ones_like(mask.data)
        return np.asarray(mask @ values).ravel()
    # block by block of rows, so no copy of a large matrix is made
    n_rows, n_cols = within.shape
    indptr, indices = within.indptr, within.indices
    out = np.zeros(n_rows)
    ones = np.ones(max(min(_SUM_BLOCK, int(indptr[-1])), int(np.diff(indptr).max(initial=0))))
    first = 0
    while first < n_rows:
        last = int(np.searchsorted(indptr, indptr[first] + _SUM_BLOCK, side="right")) - 1
        last = min(max(last, first + 1), n_rows)
        lo, hi = indptr[first], indptr[last]
        block = sparse.csr_matrix(
            (
                ones[: hi - lo],
                indices[lo:hi],
                (indptr[first : last + 1] - lo).astype(indices.dtype),
            ),
            shape=(last - first, n_cols),
        )
        out[first:last] = block @ values
        first = last
    return out


def nearest_dist(geoms: gpd.GeoSeries, features: gpd.GeoDataFrame | gpd.GeoSeries) -> np.ndarray:
    """Straight-line distance (m) from each geometry to the nearest feature (inf if none).

    Raises
    ------
    CRSError
        If the layers are not in the same projected CRS.
    """
    frame_a = gpd.GeoDataFrame(geometry=geoms)
    frame_b = gpd.GeoDataFrame(
        geometry=features.geometry if hasattr(features, "geometry") else features
    )
    require_projected(frame_a, "geometries")
    require_same_crs(frame_a, "geometries", frame_b, "features")
    out = np.full(len(geoms), np.inf)
    if len(features) == 0:
        return out
    (left, _), d = frame_b.sindex.nearest(geoms.to_numpy(), return_distance=True)
    np.minimum.at(out, left, d)
    return out


def service_areas(
    network: Network, points: gpd.GeoSeries, *, dist: float, width: float = 25.0
) -> gpd.GeoSeries:
    """Draw the walking service area of each point: streets reachable within ``dist``.

    Every segment (or the part of it) that can be reached within ``dist`` metres, access leg
    included, is kept; the union is buffered by ``width`` metres so it reads as an area.

    Parameters
    ----------
    network
        From :func:`network_from_edges`.
    points
        Origins in the network's CRS.
    dist
        Walking distance, metres.
    width
        Half-width of the drawn area around the reachable streets, metres.

    Returns
    -------
    GeoSeries
        One polygon per point, aligned with ``points``.
    """
    if not np.isfinite(dist) or dist <= 0:
        msg = f"dist must be a positive number of metres, got {dist}"
        raise ConfigError(msg)
    snap = snap_points(network, points)
    geoms = network.edges.geometry.to_numpy()
    length = network.edges["length_m"].to_numpy()
    e_u = network.edges["iu"].to_numpy()
    e_v = network.edges["iv"].to_numpy()
    out = []
    for i in range(len(points)):
        budget = dist - snap.access_m[i]
        if budget < 0:
            out.append(shapely.buffer(points.iloc[i], width))
            continue
        d = csgraph.dijkstra(
            network.graph, directed=False, indices=[snap.iu[i], snap.iv[i]], limit=budget
        )
        to_node = np.minimum(snap.to_iu_m[i] + d[0], snap.to_iv_m[i] + d[1])
        left_u = budget - to_node[e_u]  # metres left on arrival at each segment's start
        left_v = budget - to_node[e_v]
        parts = [
            shapely.LineString(
                [
                    points.iloc[i],
                    shapely.line_interpolate_point(geoms[snap.edge[i]], snap.along_m[i]),
                ]
            )
        ]
        whole = (left_u >= 0) & (left_v >= 0) & (left_u + left_v >= length)
        parts += list(geoms[whole])
        for k in np.flatnonzero(~whole & ((left_u > 0) | (left_v > 0))):
            if left_u[k] > 0:
                parts.append(shapely.ops.substring(geoms[k], 0, min(left_u[k], length[k])))
            if left_v[k] > 0:
                parts.append(
                    shapely.ops.substring(geoms[k], max(length[k] - left_v[k], 0), length[k])
                )
        # the origin's own segment, walked both ways from the snap point
        k = snap.edge[i]
        parts.append(
            shapely.ops.substring(
                geoms[k], max(snap.along_m[i] - budget, 0), min(snap.along_m[i] + budget, length[k])
            )
        )
        # Buffer each part, then dissolve: far faster than buffering one overlapping union.
        pieces = shapely.buffer(shapely.simplify(np.array(parts), 2.0), width, quad_segs=2)
        out.append(shapely.union_all(pieces))
    return gpd.GeoSeries(out, index=points.index, crs=points.crs)
