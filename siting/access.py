"""Access: walking distance on the street network, catchment demand, nearest facilities.

Points (parcels, homes, facilities) join the network where they really meet it: each is
snapped to the nearest point of the nearest street segment (not to the nearest node), and a
walk runs point → snap point (straight, the "access leg") → along the segment to either end
→ shortest path over the network → and the same in reverse at the other end. Two points on
the same segment may also walk directly along it. Segment lengths are measured in the
analysis CRS (metres). Shortest paths use :func:`scipy.sparse.csgraph.dijkstra`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

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
    (src, edge), access = network.edges.sindex.nearest(pts, return_distance=True, return_all=False)
    order = np.argsort(src)
    edge, access = edge[order], access[order]
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

    Parameters
    ----------
    network
        From :func:`network_from_edges`.
    origins, destinations
        Points in the network's CRS (e.g. parcel representative points and homes).
    dist
        Largest walk kept, metres (e.g. 300 for the 5-minute living circle).
    chunk
        Origins per Dijkstra batch (bounds memory to ``chunk x n_nodes`` floats).
    progress
        Show a progress bar.

    Returns
    -------
    scipy.sparse.csr_matrix
        Shape ``(len(origins), len(destinations))``; entry = walk in metres, including both
        access legs; pairs farther than ``dist`` are absent. A pair at distance 0 is stored as
        1e-9 m so it stays visible in the sparse matrix.

    Raises
    ------
    ConfigError
        If ``dist`` is not a positive number of metres.
    """
    if not np.isfinite(dist) or dist <= 0:
        msg = f"dist must be a positive number of metres, got {dist}"
        raise ConfigError(msg)
    so = snap_points(network, origins)
    sd = snap_points(network, destinations)
    n_o, n_d = len(origins), len(destinations)
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    vals: list[np.ndarray] = []
    starts = range(0, n_o, chunk)
    for start in tqdm(starts, disable=not progress, desc="walking catchments", unit="batch"):
        sl = slice(start, min(start + chunk, n_o))
        nodes, inv = np.unique(np.concatenate([so.iu[sl], so.iv[sl]]), return_inverse=True)
        d_nodes = csgraph.dijkstra(network.graph, directed=False, indices=nodes, limit=dist)
        k = sl.stop - sl.start
        ru, rv = inv[:k], inv[k:]
        # origin -> every node: leave by either end of the origin's segment
        to_node = (
            np.minimum(so.to_iu_m[sl, None] + d_nodes[ru], so.to_iv_m[sl, None] + d_nodes[rv])
            + so.access_m[sl, None]
        )
        d = np.minimum(to_node[:, sd.iu] + sd.to_iu_m, to_node[:, sd.iv] + sd.to_iv_m)
        # same segment: walk straight along it
        same = so.edge[sl, None] == sd.edge[None, :]
        if same.any():
            r, c = np.nonzero(same)
            direct = so.access_m[sl][r] + np.abs(so.along_m[sl][r] - sd.along_m[c])
            d[r, c] = np.minimum(d[r, c], direct)
        d = d + sd.access_m
        r, c = np.nonzero(d <= dist)
        rows.append(r + start)
        cols.append(c)
        vals.append(np.maximum(d[r, c], 1e-9))
    if not rows:
        return sparse.csr_matrix((n_o, n_d))
    return sparse.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n_o, n_d)
    )


def catchment_sum(within: sparse.csr_matrix, values: np.ndarray) -> np.ndarray:
    """Sum ``values`` over each row's reachable columns (e.g. under-3 children per parcel)."""
    mask = within.copy()
    mask.data = np.ones_like(mask.data)
    return np.asarray(mask @ np.asarray(values, dtype=float)).ravel()


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
