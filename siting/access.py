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
"""

from __future__ import annotations

import copy
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

from siting._errors import ConfigError
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
]

log = logging.getLogger(__name__)


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
    # GEOS releases the GIL: large queries run in parallel parts (same answers, same order)
    n_parts = min(_MAX_THREADS, os.cpu_count() or 1, max(1, len(pts) // _SNAP_PART))
    starts = np.linspace(0, len(pts), n_parts + 1).astype(np.int64)

    def nearest(part: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        lo, hi = starts[part], starts[part + 1]
        (src, edge), dist = tree.nearest(pts[lo:hi], return_distance=True, return_all=False)
        return src + lo, edge, dist

    if n_parts > 1:
        with ThreadPoolExecutor(n_parts) as pool:
            found = list(pool.map(nearest, range(n_parts)))
    else:
        found = [nearest(0)]
    src = np.concatenate([f[0] for f in found])
    order = np.argsort(src, kind="stable")
    edge = np.concatenate([f[1] for f in found])[order]
    access = np.concatenate([f[2] for f in found])[order]
    geoms = network.edges.geometry.to_numpy()[edge]
    along = shapely.line_locate_point(geoms, pts)
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
    if not np.isfinite(dist) or dist <= 0:
        msg = f"dist must be a positive number of metres, got {dist}"
        raise ConfigError(msg)
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


# --------------------------------------------------------------------------- local walks

#: Target tile side for grouping origins, metres (tiles are ``dist / m`` for a whole ``m``).
_TILE_M = 300.0
#: Entries per block of rows in :func:`catchment_sum`.
_SUM_BLOCK = 1 << 20
#: Fewest points per parallel part of :func:`snap_points`.
_SNAP_PART = 20_000
#: Most threads walking tiles (or snapping points) at once.
_MAX_THREADS = 4
#: Most floats in one dense (origins x local junctions) block of :class:`_TileWalker`.
_BLOCK_CELLS = 1 << 20


def _ragged_arange(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Concatenate ``arange(s, s + c)`` for every start ``s`` and count ``c``."""
    offsets = np.cumsum(counts) - counts
    out = np.repeat(starts - offsets, counts)
    out += np.arange(len(out))
    return out


def _node_xy(network: Network) -> np.ndarray:
    """Coordinates of the network nodes, shape ``(n_nodes, 2)`` (NaN for none)."""
    geoms = network.edges.geometry.to_numpy()
    coords = shapely.get_coordinates(geoms)
    n_coords = shapely.get_num_coordinates(geoms)
    last = np.cumsum(n_coords) - 1
    has = n_coords > 0
    xy = np.full((network.n_nodes, 2), np.nan)
    xy[network.edges["iv"].to_numpy()[has]] = coords[last[has]]
    xy[network.edges["iu"].to_numpy()[has]] = coords[(last - n_coords + 1)[has]]
    return xy


@dataclass(frozen=True)
class _Chains:
    """The network with its pass-through nodes folded into chains.

    A *junction* is a node where a walk can change course: any node whose degree is not 2
    (dead ends included), an end of parallel segments or of a self-loop, and one node of any
    ring made only of degree-2 nodes. A *chain* is the run of segments between two junctions
    through degree-2 nodes (possibly a single segment, or a self-loop). A walk enters or
    leaves a chain only at its end junctions, so shortest paths need only the junctions.
    """

    chain_a: np.ndarray  #: junction at position 0 of each chain
    chain_b: np.ndarray  #: junction at the far end
    chain_len: np.ndarray  #: length of each chain, m
    seg_chain: np.ndarray  #: chain of each segment
    seg_off: np.ndarray  #: chain position of the segment end the chain reaches first
    seg_fwd: np.ndarray  #: whether that end is the segment's ``iu`` end
    junction_xy: np.ndarray  #: junction coordinates, shape ``(n_junctions, 2)``
    graph: sparse.csr_matrix  #: symmetric junction graph: shortest chain between junctions
    inc_ptr: np.ndarray  #: junction -> chains ending there (CSR pointers into ``inc_chain``)
    inc_chain: np.ndarray  #: chains ending at each junction
    inc_is_b: np.ndarray  #: whether the junction is that chain's ``chain_b`` end

    def locate(self, snap: Snap) -> tuple[np.ndarray, np.ndarray]:
        """Chain and position along it (m) of snapped points."""
        e = snap.edge
        along = np.where(self.seg_fwd[e], snap.to_iu_m, snap.to_iv_m)
        return self.seg_chain[e], self.seg_off[e] + along


def _chains_of(network: Network) -> _Chains:
    """Fold the degree-2 nodes of ``network`` into chains (see :class:`_Chains`)."""
    edges = network.edges
    n = network.n_nodes
    iu = edges["iu"].to_numpy().astype(np.int64)
    iv = edges["iv"].to_numpy().astype(np.int64)
    length = edges["length_m"].to_numpy(dtype=float)
    weight = np.maximum(length, 1e-9)  # as in the graph
    loop = iu == iv
    line = np.flatnonzero(~loop)
    lu, lv = iu[line], iv[line]

    junction = np.diff(network.graph.indptr) != 2
    junction[iu[loop]] = True
    pair = np.minimum(lu, lv) * n + np.maximum(lu, lv)
    _, inverse, count = np.unique(pair, return_inverse=True, return_counts=True)
    parallel = count[inverse] > 1
    junction[lu[parallel]] = True
    junction[lv[parallel]] = True
    # a ring of degree-2 nodes has no junction: promote its lowest node
    inner = ~junction
    both = inner[lu] & inner[lv]
    ring = sparse.coo_matrix((np.ones(int(both.sum())), (lu[both], lv[both])), shape=(n, n))
    n_comp, label = csgraph.connected_components(ring, directed=False)
    touched = np.zeros(n_comp, dtype=bool)
    touched[label[lu[inner[lu] & junction[lv]]]] = True
    touched[label[lv[inner[lv] & junction[lu]]]] = True
    lonely = np.flatnonzero(inner & ~touched[label])
    if len(lonely):
        first = np.full(n_comp, n)
        np.minimum.at(first, label[lonely], lonely)
        junction[first[first < n]] = True

    # segments at each node (self-loops apart)
    ends = np.concatenate([lu, lv])
    by_node = np.argsort(ends, kind="stable")
    node_ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(ends, minlength=n), out=node_ptr[1:])
    node_seg = np.concatenate([line, line])[by_node]

    # walk from every junction along each of its segments until the next junction
    at_junction = junction[ends[by_node]]
    start_node = ends[by_node][at_junction]
    node, seg = start_node.copy(), node_seg[at_junction]
    first_seg = seg.copy()
    n_walk = len(node)
    last_seg = np.zeros(n_walk, dtype=np.int64)
    end_node = np.zeros(n_walk, dtype=np.int64)
    end_len = np.zeros(n_walk)
    walker = np.arange(n_walk)
    pos = np.zeros(n_walk)
    rec_walker, rec_seg, rec_pos, rec_fwd = [], [], [], []
    while len(walker):
        fwd = iu[seg] == node
        rec_walker.append(walker)
        rec_seg.append(seg)
        rec_pos.append(pos)
        rec_fwd.append(fwd)
        node = np.where(fwd, iv[seg], iu[seg])
        pos = pos + weight[seg]
        done = junction[node]
        end_node[walker[done]] = node[done]
        end_len[walker[done]] = pos[done]
        last_seg[walker[done]] = seg[done]
        go = ~done
        node, seg, pos, walker = node[go], seg[go], pos[go], walker[go]
        ptr = node_ptr[node]
        other = node_seg[ptr]
        seg = np.where(other == seg, node_seg[ptr + 1], other)
    # every chain was walked from both ends: keep one walk
    keep = (first_seg < last_seg) | ((first_seg == last_seg) & (start_node == iu[first_seg]))
    n_line = int(keep.sum())
    chain_id = np.full(n_walk, -1)
    chain_id[keep] = np.arange(n_line)
    loops = np.flatnonzero(loop)
    n_chain = n_line + len(loops)

    seg_chain = np.zeros(len(iu), dtype=np.int64)
    seg_off = np.zeros(len(iu))
    seg_fwd = np.ones(len(iu), dtype=bool)
    rw = np.concatenate(rec_walker) if rec_walker else np.zeros(0, dtype=np.int64)
    kept = chain_id[rw] >= 0
    rs = np.concatenate(rec_seg)[kept] if rec_walker else rw
    seg_chain[rs] = chain_id[rw[kept]]
    seg_off[rs] = np.concatenate(rec_pos)[kept] if rec_walker else 0.0
    seg_fwd[rs] = np.concatenate(rec_fwd)[kept] if rec_walker else True
    seg_chain[loops] = n_line + np.arange(len(loops))

    jnode = np.flatnonzero(junction)
    node_junction = np.full(n, -1, dtype=np.int64)
    node_junction[jnode] = np.arange(len(jnode))
    chain_a = node_junction[np.concatenate([start_node[keep], iu[loops]])]
    chain_b = node_junction[np.concatenate([end_node[keep], iu[loops]])]
    chain_len = np.concatenate([end_len[keep], length[loops]])

    n_j = len(jnode)
    sel = chain_a != chain_b
    a = np.minimum(chain_a[sel], chain_b[sel])
    b = np.maximum(chain_a[sel], chain_b[sel])
    w = chain_len[sel]
    order = np.lexsort((w, b, a))
    a, b, w = a[order], b[order], w[order]
    first = np.ones(len(a), dtype=bool)
    first[1:] = (a[1:] != a[:-1]) | (b[1:] != b[:-1])
    a, b, w = a[first], b[first], np.maximum(w[first], 1e-9)
    graph = sparse.csr_matrix(
        (np.concatenate([w, w]), (np.concatenate([a, b]), np.concatenate([b, a]))),
        shape=(n_j, n_j),
    )

    inc_j = np.concatenate([chain_a, chain_b])
    by_j = np.argsort(inc_j, kind="stable")
    inc_ptr = np.zeros(n_j + 1, dtype=np.int64)
    np.cumsum(np.bincount(inc_j, minlength=n_j), out=inc_ptr[1:])
    ids = np.arange(n_chain)
    return _Chains(
        chain_a=chain_a,
        chain_b=chain_b,
        chain_len=chain_len,
        seg_chain=seg_chain,
        seg_off=seg_off,
        seg_fwd=seg_fwd,
        junction_xy=_node_xy(network)[jnode],
        graph=graph,
        inc_ptr=inc_ptr,
        inc_chain=np.concatenate([ids, ids])[by_j],
        inc_is_b=np.concatenate([np.zeros(n_chain, bool), np.ones(n_chain, bool)])[by_j],
    )


def _tiles(
    o_xy: np.ndarray, j_ids: np.ndarray, j_xy: np.ndarray, *, dist: float
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Group origins by square tiles; with each, the junctions within ``dist`` of the tile.

    Tiles have side ``t = dist / m`` (``m`` whole, ``t`` near :data:`_TILE_M`, never below
    it), so the ``(2m + 1)²`` tiles centred on a tile cover every point within ``dist`` of it.
    Returns ``(origin positions, junctions from j_ids)`` per non-empty tile.
    """
    m = int(min(max(dist // _TILE_M, 1), 8))
    side = max(dist / m, _TILE_M)
    o_cell = np.floor(o_xy / side).astype(np.int64)
    j_cell = np.floor(j_xy / side).astype(np.int64)
    y_min = min(o_cell[:, 1].min(), j_cell[:, 1].min() if len(j_cell) else 0) - m
    y_span = max(o_cell[:, 1].max(), j_cell[:, 1].max() if len(j_cell) else 0) - y_min + m + 1

    def key(cx: np.ndarray, cy: np.ndarray) -> np.ndarray:
        return cx * y_span + (cy - y_min)

    o_key = key(o_cell[:, 0], o_cell[:, 1])
    by_tile = np.argsort(o_key, kind="stable")
    tile_key, tile_start = np.unique(o_key[by_tile], return_index=True)
    tile_end = np.append(tile_start[1:], len(by_tile))
    j_key = key(j_cell[:, 0], j_cell[:, 1])
    j_order = np.argsort(j_key, kind="stable")
    j_sorted = j_key[j_order]
    # for each tile, 2m + 1 columns of 2m + 1 cells: one key range per column
    cx = tile_key // y_span
    cy = tile_key % y_span + y_min
    shift = np.arange(-m, m + 1)
    lo = np.searchsorted(j_sorted, key(cx[:, None] + shift, (cy - m)[:, None]), "left")
    hi = np.searchsorted(j_sorted, key(cx[:, None] + shift, (cy + m)[:, None]), "right")
    out = []
    for t in range(len(tile_key)):
        local = np.sort(j_ids[j_order[_ragged_arange(lo[t], hi[t] - lo[t])]])
        out.append((by_tile[tile_start[t] : tile_end[t]], local))
    return out


class _TileWalker:
    """Walks from the origins of one tile to every destination, over the local junctions.

    The arrays built from the snapped points are shared and read-only; :meth:`fork` gives a
    walker with its own scratch space, so tiles can be walked in parallel threads.
    """

    def __init__(self, chains: _Chains, so: Snap, sd: Snap, *, dist: float) -> None:
        self.ch = chains
        self.dist = dist
        n_chain = len(chains.chain_len)
        self.o_chain, self.o_pos = chains.locate(so)
        self.o_rest = chains.chain_len[self.o_chain] - self.o_pos
        self.o_access = so.access_m
        d_chain, d_pos = chains.locate(sd)
        # destinations grouped by chain, with the walk from either chain end (access included)
        by_chain = np.argsort(d_chain, kind="stable")
        self.d_id = by_chain.astype(np.int32 if len(by_chain) < 2**31 else np.int64)
        self.d_count = np.bincount(d_chain, minlength=n_chain)
        self.d_start = np.cumsum(self.d_count) - self.d_count
        self.d_pos = d_pos[by_chain]
        self.d_access = sd.access_m[by_chain]
        self.d_from_a = self.d_pos + self.d_access
        self.d_from_b = chains.chain_len[d_chain[by_chain]] - self.d_pos + self.d_access
        self._scratch()

    def _scratch(self) -> None:
        self.g2l = np.full(len(self.ch.junction_xy), -1, dtype=np.int64)
        self.c2l = np.full(len(self.ch.chain_len), -1, dtype=np.int64)

    def fork(self) -> _TileWalker:
        """Return a walker sharing the arrays of this one, with its own scratch space."""
        other = copy.copy(self)
        other._scratch()
        return other

    def tile(self, members: np.ndarray, local: np.ndarray, chunk: int) -> list[_Batch]:
        """Walk from origins ``members`` over junctions ``local``, in batches of origins."""
        ch = self.ch
        n_loc = len(local)
        self.g2l[local] = np.arange(n_loc)
        # the junction graph restricted to the tile's neighbourhood
        g = ch.graph
        start = g.indptr[local]
        count = g.indptr[local + 1] - start
        flat = _ragged_arange(start, count)
        col = self.g2l[g.indices[flat]]
        inside = col >= 0
        indptr = np.zeros(n_loc + 1, dtype=np.int32)
        np.cumsum(
            np.bincount(np.repeat(np.arange(n_loc), count)[inside], minlength=n_loc), out=indptr[1:]
        )
        sub = sparse.csr_matrix(
            (g.data[flat][inside], col[inside].astype(np.int32), indptr), shape=(n_loc, n_loc)
        )
        # chains holding destinations that can be entered: at a local junction, or the
        # origins' own chains
        start = ch.inc_ptr[local]
        near = ch.inc_chain[_ragged_arange(start, ch.inc_ptr[local + 1] - start)]
        candidates = np.concatenate([near, self.o_chain[members]])
        candidates = candidates[self.d_count[candidates] > 0]
        slot = np.arange(len(candidates))
        self.c2l[candidates] = slot  # the last write of each chain wins: keep one of each
        chains = np.sort(candidates[self.c2l[candidates] == slot])
        self.c2l[chains] = np.arange(len(chains))  # local numbers, in chain order
        tab = _LocalChains(
            a=self._loc(ch.chain_a[chains], n_loc),
            b=self._loc(ch.chain_b[chains], n_loc),
            start=self.d_start[chains],
            count=self.d_count[chains],
        )
        # keep the dense (origins x local chains) blocks within _BLOCK_CELLS floats
        step = max(1, min(chunk, _BLOCK_CELLS // (n_loc + len(chains) + 1)))
        out = []
        for first in range(0, len(members), step):
            batch = members[first : first + step]
            out.append(_Batch(batch, *self._walk(batch, sub, tab)))
        self.g2l[local] = -1
        self.c2l[chains] = -1
        return out

    def _loc(self, junction: np.ndarray, n_loc: int) -> np.ndarray:
        """Local position of junctions; ``n_loc`` (an all-inf column) if not local."""
        pos = self.g2l[junction]
        pos[pos < 0] = n_loc
        return pos

    def _walk(
        self, batch: np.ndarray, sub: sparse.csr_matrix, tab: _LocalChains
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Walk from origins ``batch``: pairs per origin, destinations, metres (by origin)."""
        ch, dist = self.ch, self.dist
        n_loc = sub.shape[0]
        k = len(batch)
        rows = np.arange(k)
        chain = self.o_chain[batch]
        pos, rest = self.o_pos[batch], self.o_rest[batch]
        ia = self._loc(ch.chain_a[chain], n_loc)
        ib = self._loc(ch.chain_b[chain], n_loc)
        # an origin at a routing chain end needs no shortest paths from the other end
        only_a = (pos <= 0) & (ia < n_loc)
        only_b = (rest <= 0) & (ib < n_loc) & ~only_a
        src_a = np.where(only_b, n_loc, ia)
        src_b = np.where(only_a, n_loc, ib)
        src = np.unique(np.concatenate([src_a, src_b]))
        src = src[src < n_loc]
        # junction distances from each source, plus an all-inf row and column
        d_src = np.full((len(src) + 1, n_loc + 1), np.inf)
        if len(src):
            d_src[:-1, :-1] = csgraph.dijkstra(sub, directed=True, indices=src, limit=dist)
        # walk from each origin to each local junction, access leg included
        reach = d_src[np.searchsorted(src, src_a)]
        reach += pos[:, None]
        alt = d_src[np.searchsorted(src, src_b)]
        alt += rest[:, None]
        np.minimum(reach, alt, out=reach)
        access = self.o_access[batch]
        if access.any():
            reach += access[:, None]
        # chains entered within dist by either end, and each origin's own chain (screened
        # on booleans, an eighth of the memory traffic of the distances)
        near = reach <= dist
        hit = near.take(tab.a, axis=1)
        hit |= near.take(tab.b, axis=1)
        own = self.c2l[chain]
        hit[rows[own >= 0], own[own >= 0]] = True
        po, pl = np.nonzero(hit)
        row = po * (n_loc + 1)
        at_a, at_b = reach.take(row + tab.a[pl]), reach.take(row + tab.b[pl])
        start, count = tab.start[pl], tab.count[pl]
        # every destination on those chains, entered by the nearer end (one repeat, then
        # takes, which run without the GIL)
        ends = np.cumsum(count)
        pair = np.repeat(np.arange(len(count)), count)
        xi = (start - ends + count).take(pair)
        xi += np.arange(len(xi))
        d = at_a.take(pair)
        d += self.d_from_a.take(xi)
        alt = at_b.take(pair)
        alt += self.d_from_b.take(xi)
        np.minimum(d, alt, out=d)
        # or straight along the origin's own chain
        mine = np.flatnonzero(pl == own[po])
        if len(mine):
            at = _ragged_arange(ends[mine] - count[mine], count[mine])
            o_at = np.repeat(batch[po[mine]], count[mine])
            di = xi[at]
            direct = self.o_access[o_at] + np.abs(self.o_pos[o_at] - self.d_pos[di])
            direct += self.d_access[di]
            d[at] = np.minimum(d[at], direct)
        keep = np.flatnonzero(d <= dist)
        # pairs per origin: split the kept positions at each origin's first chain
        bounds = np.concatenate([[0], ends])[np.searchsorted(po, np.arange(k + 1))]
        n_per = np.diff(np.searchsorted(keep, bounds))
        vals = d[keep]
        np.maximum(vals, 1e-9, out=vals)
        return n_per, self.d_id[xi[keep]], vals


@dataclass(frozen=True)
class _LocalChains:
    """Chains near one tile: local end junctions and their destinations' range."""

    a: np.ndarray
    b: np.ndarray
    start: np.ndarray
    count: np.ndarray


@dataclass(frozen=True)
class _Batch:
    """Walks from a batch of origins, grouped by origin."""

    origins: np.ndarray  #: origin positions
    n_per: np.ndarray  #: pairs within the distance, per origin
    cols: np.ndarray  #: destination positions
    vals: np.ndarray  #: walks, metres
