"""Network-walk benchmarks: siting's walking catchments against pandana and networkx.

Data (:func:`build`, deterministic): the real OpenStreetMap walking network of the Helsinki
demo area (``data/demo/helsinki.gpkg``, layer ``walk_edges``, read with
:func:`siting.sources.layers_from_gpkg`, projected to EPSG:32635) is copied over a
near-square grid, each copy moved by the area's extent plus a :data:`GAP_M` gap, until there
are at least ``n_nodes`` nodes (18 copies, 100,062 nodes and about 115,000 segments for the
default 100,000). Neighbouring copies are joined by :data:`CONNECTORS` straight connector
segments per side (from the largest connected part of each copy: in each of as many bands
along the shared side, the outermost node of one copy to the outermost node of the other),
so the main parts form one network. Candidates: every node. Demand: every node, with a
seeded Poisson population (mean 3 per node), so catchment sums are integers compared
exactly.

Cases (printed as "ours vs peer, ratio, agreement"; written into the ``cases`` of
``benchmarks/results.json`` by read-modify-write):

``network_vs_pandana``
    *Ours*: ``network_from_edges`` + ``walk_sums(net, nodes, nodes, pop, dist=300)`` (the
    catchment totals without storing the pairs; nodes are the same GeoSeries for candidates
    and demand, so they are
    snapped once; the time with two separate GeoSeries, snapped twice, is reported too).
    *Peer*: pandana (AGPL; installed by the ``dev`` extra, never imported by the package)
    ``Network(x, y, from, to, length)`` (its contraction hierarchy) + ``precompute(300)`` +
    ``set(node_ids, variable=pop)`` + ``aggregate(300, type="sum", decay="flat")`` (pandana's
    default decay is linear: ``flat`` is the plain sum). Agreement: catchment sums of all
    candidates, and the reachable set of every candidate (pandana's ``nodes_in_range``).
    Target: ours >= 5x faster.
``network_vs_networkx``
    *Peer*: an ``nx.Graph`` of the same segments (shortest of parallel ones) and, per
    candidate, ``nx.single_source_dijkstra_path_length(G, n, cutoff=300)`` summed over the
    reached nodes. Timed on a random subset of candidates (``--sample``, default 2,000) and
    scaled linearly to all of them (graph construction counted once, in full). Agreement:
    reachable sets of the subset. Target: ours >= 50x faster.

Timing and memory: each timed run is a fresh subprocess (``python -m benchmarks.network
--worker SIDE``) that builds the data and warms up (untimed: imports, and one call on a
200-node network, which for ours loads the numba kernels from their on-disk cache; the
warm-up time is reported), then times one run; ours and pandana take
turns, ``--repeat`` times each (median reported), so both meet the same machine load. Peak
memory is the process's ``ru_maxrss`` (peak resident set: Python, libraries, the data and
the work) read right after its timed run, before any agreement data is extracted (the
largest over the runs is reported); the resident set just before the timed run is reported
beside it.

Run: ``python -m benchmarks --case network [--quick] [--nodes N] [--repeat R] [--sample S]``
(or ``python -m benchmarks.network ...``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy import sparse
from scipy.sparse import csgraph

from siting.access import catchment_sum
from siting.sources import layers_from_gpkg

__all__ = [
    "CONNECTORS",
    "CRS",
    "GAP_M",
    "SEED",
    "NetworkData",
    "build",
    "main",
    "ours",
    "ours_pairs",
]

HERE = Path(__file__).resolve().parent
_DEMO = HERE.parent / "data" / "demo" / "helsinki.gpkg"
#: Analysis CRS: UTM zone 35N (metres).
CRS = "EPSG:32635"
#: Seed of the population and of the sampled candidates.
SEED = 20_201_017
#: Gap between copies of the demo network, metres.
GAP_M = 30.0
#: Connector segments joining two neighbouring copies.
CONNECTORS = 8
#: Mean population per node (Poisson).
POP_MEAN = 3.0
#: Walking distance, metres (the 5-minute living circle).
DIST_M = 300.0
#: A pair is "at the limit" when its exact walk is within this of ``dist`` (pandana keeps
#: edge lengths to whole thousandths of its unit, truncated, so its walks run a little short).
NEAR_M = 0.05
#: Pandana is given lengths in centimetres (10 µm resolution after its truncation; in
#: millimetres its precompute did not finish in 10 minutes on 10,000 nodes).
PANDANA_UNITS_PER_M = 100.0
_ID_STRIDE = 10**11  # node ids of copy t: OSM id + t * stride (OSM ids are < 2e10)


@dataclass(frozen=True)
class NetworkData:
    """Tiled street network and its nodes (candidates and demand alike)."""

    edges: gpd.GeoDataFrame  #: segments with ``u``/``v`` node ids, EPSG:32635
    node_id: np.ndarray  #: node ids, in node order
    xy: np.ndarray  #: node coordinates, shape (n, 2)
    pop: np.ndarray  #: population per node (0 on the nodes that are not points)
    points: np.ndarray  #: the candidates and demand points: nodes alone at their location
    info: dict[str, Any]


def _outermost(
    xy: np.ndarray, ok: np.ndarray, axis: int, lo: float, hi: float, *, largest: bool
) -> np.ndarray:
    """In each of CONNECTORS bands along the other axis: the node farthest along ``axis``."""
    other = 1 - axis
    edges = np.linspace(lo, hi, CONNECTORS + 1)
    out = []
    for a, b in itertools.pairwise(edges):
        idx = np.flatnonzero(ok & (xy[:, other] >= a) & (xy[:, other] < b))
        if len(idx):
            key = xy[idx, axis]
            out.append(idx[np.argmax(key)] if largest else idx[np.argmin(key)])
    return np.asarray(out, dtype=np.int64)


def build(n_nodes: int = 100_000, *, seed: int = SEED) -> NetworkData:
    """Copy the Helsinki walking network over a grid until it has ``>= n_nodes`` nodes."""
    if n_nodes < 1:
        msg = f"need n_nodes >= 1, got {n_nodes}"
        raise ValueError(msg)
    t0 = time.perf_counter()
    walk = layers_from_gpkg(_DEMO)["walk_edges"].to_crs(CRS)
    walk = walk[walk.geom_type == "LineString"].reset_index(drop=True)
    u = walk["u"].to_numpy(dtype=np.int64)
    v = walk["v"].to_numpy(dtype=np.int64)
    geoms = walk.geometry.to_numpy()
    ids = pd.unique(np.concatenate([u, v]))
    pos = pd.Index(ids)
    coords = shapely.get_coordinates(geoms)
    n_coords = shapely.get_num_coordinates(geoms)
    last = np.cumsum(n_coords) - 1
    xy = np.empty((len(ids), 2))
    xy[pos.get_indexer(v)] = coords[last]
    xy[pos.get_indexer(u)] = coords[last - n_coords + 1]
    # the largest connected part of one copy: where connectors attach
    iu, iv = pos.get_indexer(u), pos.get_indexer(v)
    adj = sparse.coo_matrix((np.ones(len(iu)), (iu, iv)), shape=(len(ids), len(ids)))
    _, label = csgraph.connected_components(adj, directed=False)
    main = label == np.bincount(label).argmax()

    per_copy = len(ids)
    copies = math.ceil(n_nodes / per_copy)
    x0, y0, x1, y1 = walk.total_bounds
    width, height = x1 - x0 + GAP_M, y1 - y0 + GAP_M
    cols = max(1, round(math.sqrt(copies * height / width)))
    east = _outermost(xy, main, 0, y0, y1, largest=True)
    west = _outermost(xy, main, 0, y0, y1, largest=False)
    north = _outermost(xy, main, 1, x0, x1, largest=True)
    south = _outermost(xy, main, 1, x0, x1, largest=False)

    shift = np.array([[(t % cols) * width, (t // cols) * height] for t in range(copies)])
    parts = []
    for t in range(copies):
        moved = shapely.transform(geoms, lambda c, s=shift[t]: c + s)
        frame = {"u": u + t * _ID_STRIDE, "v": v + t * _ID_STRIDE}
        parts.append(gpd.GeoDataFrame(frame, geometry=moved, crs=CRS))
    cu, cv, cg = [], [], []
    for t in range(copies):
        pairs = []
        if t % cols + 1 < cols and t + 1 < copies:
            pairs.append((t + 1, east, west))
        if t + cols < copies:
            pairs.append((t + cols, north, south))
        for other, mine, theirs in pairs:
            for a, b in zip(mine, theirs, strict=True):
                cu.append(ids[a] + t * _ID_STRIDE)
                cv.append(ids[b] + other * _ID_STRIDE)
                cg.append(shapely.LineString([xy[a] + shift[t], xy[b] + shift[other]]))
    parts.append(gpd.GeoDataFrame({"u": cu, "v": cv}, geometry=cg, crs=CRS))
    edges = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), geometry="geometry", crs=CRS)

    node_id = (ids[None, :] + (np.arange(copies) * _ID_STRIDE)[:, None]).ravel()
    node_xy = (xy[None, :, :] + shift[:, None, :]).reshape(-1, 2)
    # a node sharing its location with another (ways crossing at different levels) is no
    # well-defined point: snapped to the nearest street, it may join the other node's street
    colocated = pd.DataFrame(node_xy).duplicated(keep=False).to_numpy()
    points = np.flatnonzero(~colocated)
    pop = np.random.default_rng(seed).poisson(POP_MEAN, len(node_id)).astype(float)
    pop[colocated] = 0.0
    connector_m = shapely.length(np.asarray(cg, dtype=object)) if cg else np.zeros(0)
    info = {
        "recipe": (
            "OSM walking network of the Helsinki demo area (data/demo/helsinki.gpkg, "
            f"walk_edges) copied over a grid with a {GAP_M:g} m gap; neighbouring copies "
            f"joined by {CONNECTORS} straight connectors per side; candidates = demand = "
            "every node not sharing its location with another node; population "
            f"Poisson(mean {POP_MEAN:g}) per such node, seed {seed}"
        ),
        "crs": CRS,
        "seed": seed,
        "copies": copies,
        "grid_cols_rows": [cols, math.ceil(copies / cols)],
        "nodes_per_copy": per_copy,
        "n_nodes": len(node_id),
        "n_points": len(points),
        "n_colocated_nodes": int(colocated.sum()),
        "n_segments": len(edges),
        "n_connectors": len(cg),
        "connector_m": [round(float(connector_m.min()), 1), round(float(connector_m.max()), 1)]
        if cg
        else [],
        "extent_km": [
            round(float(np.ptp(node_xy[:, 0])) / 1000, 2),
            round(float(np.ptp(node_xy[:, 1])) / 1000, 2),
        ],
        "population": int(pop.sum()),
        "build_s": round(time.perf_counter() - t0, 2),
    }
    return NetworkData(edges=edges, node_id=node_id, xy=node_xy, pop=pop, points=points, info=info)


# ----------------------------------------------------------------------------- the sides


def ours(data: NetworkData, dist: float = DIST_M, *, same_points: bool = True) -> np.ndarray:
    """Catchment population of every point: siting's ``walk_sums`` (the timed side)."""
    from siting.access import network_from_edges, walk_sums

    net = network_from_edges(data.edges)
    xy = data.xy[data.points]
    nodes = gpd.GeoSeries(shapely.points(xy), crs=CRS)
    demand = nodes if same_points else gpd.GeoSeries(shapely.points(xy), crs=CRS)
    return walk_sums(net, nodes, demand, data.pop[data.points], dist=dist)


def ours_pairs(data: NetworkData, dist: float = DIST_M) -> sparse.csr_matrix:
    """Every (point, point within ``dist``) walk with siting's ``walk_distances`` (untimed)."""
    from siting.access import network_from_edges, walk_distances

    nodes = gpd.GeoSeries(shapely.points(data.xy[data.points]), crs=CRS)
    return walk_distances(network_from_edges(data.edges), nodes, nodes, dist=dist)


def _pandana_network(data: NetworkData, *, units_per_m: float = PANDANA_UNITS_PER_M) -> Any:
    """Pandana network of the segments, impedance = length (m)."""
    import pandana

    pos = pd.Index(data.node_id)
    frm = pos.get_indexer(data.edges["u"].to_numpy())
    to = pos.get_indexer(data.edges["v"].to_numpy())
    # in centimetres: pandana keeps whole thousandths of the unit given (truncated), so
    # metres would put its walks up to centimetres short; centimetres keep 10 µm
    length = shapely.length(data.edges.geometry.to_numpy()) * units_per_m
    keep = frm != to  # self-loops lead nowhere
    nodes = pd.DataFrame({"x": data.xy[:, 0], "y": data.xy[:, 1]})
    links = pd.DataFrame({"from": frm[keep], "to": to[keep], "length": length[keep]})
    return pandana.Network(
        nodes["x"], nodes["y"], links["from"], links["to"], links[["length"]], twoway=True
    )


def peer_pandana(
    data: NetworkData, dist: float = DIST_M, *, units_per_m: float = PANDANA_UNITS_PER_M
) -> tuple[np.ndarray, Any]:
    """Catchment population of every node with pandana, network preparation included."""
    net = _pandana_network(data, units_per_m=units_per_m)
    reach = dist * units_per_m
    net.precompute(reach)
    ids = pd.Series(np.arange(len(data.node_id)))
    net.set(ids, variable=pd.Series(data.pop), name="pop")
    sums = net.aggregate(reach, type="sum", decay="flat", name="pop")
    return sums.to_numpy(dtype=float), net


def nx_graph(data: NetworkData) -> Any:
    """Undirected networkx graph of the segments, weight = length, shortest parallel kept."""
    import networkx as nx

    pos = pd.Index(data.node_id)
    frame = pd.DataFrame(
        {
            "a": pos.get_indexer(data.edges["u"].to_numpy()),
            "b": pos.get_indexer(data.edges["v"].to_numpy()),
            "w": shapely.length(data.edges.geometry.to_numpy()),
        }
    )
    frame = frame[frame["a"] != frame["b"]]
    lo = np.minimum(frame["a"], frame["b"])
    hi = np.maximum(frame["a"], frame["b"])
    frame = frame.assign(a=lo, b=hi).groupby(["a", "b"], as_index=False)["w"].min()
    g = nx.Graph()
    g.add_nodes_from(range(len(data.node_id)))
    g.add_weighted_edges_from(frame.itertuples(index=False, name=None), weight="length")
    return g


def peer_networkx(
    g: Any, data: NetworkData, sample: np.ndarray, dist: float = DIST_M, *, ego: bool = True
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Per sampled point: the points within ``dist`` with networkx, and their population.

    ``ego=True``: ``nx.ego_graph(G, n, radius=dist, distance="length")`` (the peer);
    ``ego=False``: ``nx.single_source_dijkstra_path_length(G, n, cutoff=dist)`` (the same
    search without building the subgraph, for reference).
    """
    import networkx as nx

    point_of = _point_of(data)
    sums = np.empty(len(sample))
    sets = []
    for i, p in enumerate(sample):
        source = int(data.points[p])
        if ego:
            reach = nx.ego_graph(g, source, radius=dist, distance="length").nodes
        else:
            reach = nx.single_source_dijkstra_path_length(g, source, cutoff=dist, weight="length")
        nodes = np.fromiter(reach, dtype=np.int64, count=len(reach))
        sums[i] = data.pop[nodes].sum()
        found = point_of[nodes]
        sets.append(found[found >= 0])
    return sums, sets


def _point_of(data: NetworkData) -> np.ndarray:
    """Position among the points of each node (-1 if the node is not a point)."""
    out = np.full(len(data.node_id), -1, dtype=np.int64)
    out[data.points] = np.arange(len(data.points))
    return out


# ----------------------------------------------------------------------------- workers


def _pandana_pairs(net: Any, data: NetworkData, dist: float) -> dict[str, np.ndarray]:
    """Every (point, point within ``dist``) pair of a pandana network, with its distance."""
    point_of = _point_of(data)
    src, dst, w = [], [], []
    step = 10_000
    for first in range(0, len(data.points), step):
        pairs = net.nodes_in_range(data.points[first : first + step], dist * PANDANA_UNITS_PER_M)
        s = point_of[pairs["source"].to_numpy()]
        d = point_of[pairs["destination"].to_numpy()]
        ok = d >= 0
        src.append(s[ok].astype(np.int32))
        dst.append(d[ok].astype(np.int32))
        w.append(pairs[pairs.columns[2]].to_numpy(dtype=float)[ok] / PANDANA_UNITS_PER_M)
    return {"src": np.concatenate(src), "dst": np.concatenate(dst), "dist": np.concatenate(w)}


def _rss_mb() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _sample(n: int, size: int, seed: int) -> np.ndarray:
    return np.sort(np.random.default_rng(seed + 1).choice(n, size=min(size, n), replace=False))


def _warm_up(side: str) -> float:
    """Import the side's library and make one tiny call; return the seconds it took.

    Both sides pay their one-off costs here, outside the timed runs: imports, and for ours
    loading the compiled kernels from numba's on-disk cache (a dynamic-library load).
    """
    t0 = time.perf_counter()
    tiny = build(200)
    if side == "ours":
        ours(tiny)
    elif side == "pandana":
        peer_pandana(tiny)
    return time.perf_counter() - t0


def _worker(args: argparse.Namespace) -> int:
    data = build(args.nodes, seed=args.seed)
    first_call_s = _warm_up(args.worker)
    rss_before = _rss_mb()
    out: dict[str, Any] = {
        "side": args.worker,
        "rss_before_mb": round(rss_before, 1),
        "warm_up_s": round(first_call_s, 3),
    }
    arrays: dict[str, np.ndarray] = {}
    if args.worker == "ours":
        times = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            sums = ours(data, args.dist)
            times.append(time.perf_counter() - t0)
        out["peak_mb"] = round(_peak_mb(), 1)
        out["times_s"] = [round(t, 3) for t in times]
        if not args.arrays:
            np.savez(args.result, meta=np.array(json.dumps(out)))
            return 0
        t0 = time.perf_counter()
        again = ours(data, args.dist, same_points=False)
        out["separate_points_s"] = round(time.perf_counter() - t0, 3)
        out["separate_points_same_sums"] = bool(np.array_equal(again, sums))
        within = ours_pairs(data, args.dist)
        out["pairs_sums_equal_walk_sums"] = bool(
            np.array_equal(catchment_sum(within, data.pop[data.points]), sums)
        )
        # pairs just beyond the limit, to tell pandana's rounding from a real difference
        wide = ours_pairs(data, args.dist + NEAR_M)
        wide = wide.tocoo()
        near = wide.data > args.dist
        within.sort_indices()
        arrays = {
            "sums": sums,
            "indptr": within.indptr,
            "indices": within.indices,
            "dist": within.data,
            "near_src": wide.row[near],
            "near_dst": wide.col[near],
            "near_dist": wide.data[near],
        }
    elif args.worker == "pandana":
        times = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            sums, net = peer_pandana(data, args.dist)
            times.append(time.perf_counter() - t0)
            if len(times) < args.repeat:
                del net
        out["peak_mb"] = round(_peak_mb(), 1)
        out["times_s"] = [round(t, 3) for t in times]
        arrays = {"sums": sums[data.points]}
        if args.arrays:
            arrays.update(_pandana_pairs(net, data, args.dist))
            # the same in metres, pandana's usual unit: to show the choice of unit does not
            # slow the peer down
            del net
            t0 = time.perf_counter()
            peer_pandana(data, args.dist, units_per_m=1.0)
            out["metres_s"] = round(time.perf_counter() - t0, 3)
    elif args.worker == "networkx":
        sample = _sample(len(data.points), args.sample, args.seed)
        t0 = time.perf_counter()
        g = nx_graph(data)
        build_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        sums, sets = peer_networkx(g, data, sample, args.dist)
        run_s = time.perf_counter() - t0
        out["peak_mb"] = round(_peak_mb(), 1)
        t0 = time.perf_counter()
        _, sets_sp = peer_networkx(g, data, sample, args.dist, ego=False)
        sp_s = time.perf_counter() - t0
        same = all(
            np.array_equal(np.sort(a), np.sort(b)) for a, b in zip(sets, sets_sp, strict=True)
        )
        out.update(
            graph_s=round(build_s, 3),
            sample_s=round(run_s, 3),
            sample=len(sample),
            per_candidate_ms=round(run_s / len(sample) * 1000, 4),
            dijkstra_sample_s=round(sp_s, 3),
            dijkstra_per_candidate_ms=round(sp_s / len(sample) * 1000, 4),
            dijkstra_same_sets=bool(same),
        )
        arrays = {
            "sample": sample,
            "sums": sums,
            "indptr": np.concatenate([[0], np.cumsum([len(s) for s in sets])]),
            "indices": np.concatenate(sets) if sets else np.zeros(0, dtype=np.int64),
        }
    else:  # pragma: no cover - argparse restricts the choices
        msg = f"unknown side {args.worker}"
        raise ValueError(msg)
    np.savez(args.result, meta=np.array(json.dumps(out)), **arrays)
    return 0


def _run_worker(
    side: str,
    args: argparse.Namespace,
    folder: Path,
    *,
    repeat: int,
    arrays: bool = True,
    nodes: int | None = None,
) -> tuple[dict, Any]:
    result = folder / f"{side}.npz"
    cmd = [
        sys.executable,
        "-m",
        "benchmarks.network",
        "--worker",
        side,
        "--nodes",
        str(nodes or args.nodes),
        "--dist",
        str(args.dist),
        "--repeat",
        str(repeat),
        "--sample",
        str(args.sample),
        "--seed",
        str(args.seed),
        "--result",
        str(result),
        *(["--arrays"] if arrays else []),
    ]
    t0 = time.perf_counter()
    done = subprocess.run(cmd, cwd=HERE.parent, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        msg = f"{side} worker failed ({done.returncode}):\n{done.stderr[-4000:]}"
        raise RuntimeError(msg)
    loaded = np.load(result)
    meta = json.loads(str(loaded["meta"]))
    meta["process_s"] = round(time.perf_counter() - t0, 1)
    return meta, loaded


# ----------------------------------------------------------------------------- agreement


def _member(keys: np.ndarray, sorted_keys: np.ndarray) -> np.ndarray:
    """Whether each key is in ``sorted_keys``, and where."""
    at = np.minimum(np.searchsorted(sorted_keys, keys), max(len(sorted_keys) - 1, 0))
    found = sorted_keys[at] == keys if len(sorted_keys) else np.zeros(len(keys), dtype=bool)
    return found, at


def compare_pandana(ours_npz: Any, peer_npz: Any, n: int, dist: float) -> dict[str, Any]:
    """Reachable sets and catchment sums of every candidate, ours against pandana's.

    A pair found by pandana only is *at the limit* when our exact walk is in
    ``(dist, dist + NEAR_M]`` and pandana's is no longer than ours: pandana truncates each
    edge length to whole millimetres, so its walks run slightly short.
    """
    indptr = ours_npz["indptr"]
    k_o = np.repeat(np.arange(n, dtype=np.int64), np.diff(indptr)) * n + ours_npz["indices"]
    d_o = ours_npz["dist"]
    order = np.argsort(k_o, kind="stable")  # already sorted when the indices are
    k_o, d_o = k_o[order], d_o[order]
    k_p = peer_npz["src"].astype(np.int64) * n + peer_npz["dst"]
    order = np.argsort(k_p, kind="stable")
    k_p, d_p = k_p[order], peer_npz["dist"][order]
    in_p, at_p = _member(k_o, k_p)
    in_o, _ = _member(k_p, k_o)
    gap = d_p[at_p[in_p]] - d_o[in_p]  # pandana - ours, on the common pairs
    only_o, only_p = np.flatnonzero(~in_p), np.flatnonzero(~in_o)
    # pandana-only pairs: our walk, if just beyond the limit
    k_near = ours_npz["near_src"].astype(np.int64) * n + ours_npz["near_dst"]
    order = np.argsort(k_near)
    k_near, d_near = k_near[order], ours_npz["near_dist"][order]
    found, at = _member(k_p[only_p], k_near)
    ours_m = np.where(found, d_near[at] if len(d_near) else np.nan, np.nan)
    at_limit = found & (d_p[only_p] <= ours_m)
    bad_rows = np.unique(np.concatenate([k_o[only_o] // n, k_p[only_p] // n]))
    real_rows = np.unique(np.concatenate([k_o[only_o] // n, k_p[only_p[~at_limit]] // n]))
    details = [
        {"candidate": int(k // n), "point": int(k % n), "in": "ours only", "ours_m": float(d)}
        for k, d in zip(k_o[only_o][:20], d_o[only_o][:20], strict=True)
    ] + [
        {
            "candidate": int(k // n),
            "point": int(k % n),
            "in": "pandana only",
            "pandana_m": round(float(d), 4),
            "ours_m": round(float(m), 4),
        }
        for k, d, m in zip(k_p[only_p][:20], d_p[only_p][:20], ours_m[:20], strict=True)
    ]
    sums_o, sums_p = ours_npz["sums"], peer_npz["sums"]
    sum_diff = np.abs(sums_o - sums_p)
    return {
        "candidates": n,
        "pairs_ours": len(k_o),
        "pairs_pandana": len(k_p),
        "identical_sets": int(n - len(bad_rows)),
        "identical_sets_share": round(1 - len(bad_rows) / n, 6),
        "pairs_ours_only": len(only_o),
        "pairs_pandana_only": len(only_p),
        "pairs_pandana_only_at_limit": int(at_limit.sum()),
        "identical_sets_but_for_pairs_at_limit": int(n - len(real_rows)),
        "identical_sets_but_for_pairs_at_limit_share": round(1 - len(real_rows) / n, 6),
        "distance_gap_m": {
            "what": "pandana - ours on the pairs both find",
            "min": round(float(gap.min()), 5) if len(gap) else None,
            "median": round(float(np.median(gap)), 5) if len(gap) else None,
            "max": round(float(gap.max()), 5) if len(gap) else None,
        },
        "identical_sums": int((sum_diff <= 1e-6).sum()),
        "sum_max_abs_diff": float(sum_diff.max()) if n else 0.0,
        "details": details,
    }


def compare_networkx(ours_npz: Any, peer_npz: Any) -> dict[str, Any]:
    """Reachable sets of the sampled candidates, ours against networkx's."""
    sample = peer_npz["sample"]
    o_ptr, o_idx = ours_npz["indptr"], ours_npz["indices"]
    p_ptr, p_idx = peer_npz["indptr"], peer_npz["indices"]
    bad = []
    for i, n in enumerate(sample):
        a = np.sort(o_idx[o_ptr[n] : o_ptr[n + 1]])
        b = np.sort(p_idx[p_ptr[i] : p_ptr[i + 1]])
        if not np.array_equal(a, b):
            bad.append(
                {
                    "candidate": int(n),
                    "ours_only": np.setdiff1d(a, b).tolist()[:10],
                    "networkx_only": np.setdiff1d(b, a).tolist()[:10],
                }
            )
    sums_o = ours_npz["sums"][sample]
    return {
        "candidates": len(sample),
        "identical_sets": len(sample) - len(bad),
        "identical_sets_share": round(1 - len(bad) / max(len(sample), 1), 6),
        "identical_sums": int((np.abs(sums_o - peer_npz["sums"]) <= 1e-6).sum()),
        "details": bad[:20],
    }


# ----------------------------------------------------------------------------- main


def _versions() -> dict[str, str]:
    import importlib.metadata as md

    out = {}
    for name in (
        "siting",
        "numpy",
        "numba",
        "scipy",
        "shapely",
        "geopandas",
        "networkx",
        "pandana",
    ):
        try:
            out[name] = md.version(name)
        except md.PackageNotFoundError:
            out[name] = "not installed"
    return out


def _machine() -> dict[str, Any]:
    from benchmarks.__main__ import machine

    info = machine()
    info["note"] = (
        "ours: numba kernels (cached compiled code) on up to "
        f"{min(4, os.cpu_count() or 1)} threads; pandana: OpenMP threads (all cores); "
        "networkx: one core"
    )
    return info


def _parse(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m benchmarks --case network", description=__doc__)
    ap.add_argument("--quick", action="store_true", help="smoke size: 10,000 nodes, 1 repeat")
    ap.add_argument("--nodes", type=int, help="network size (default 100,000 nodes)")
    ap.add_argument("--dist", type=float, default=DIST_M, help="walk, metres (default 300)")
    ap.add_argument("--repeat", type=int, help="timed runs of ours and pandana (default 3)")
    ap.add_argument("--sample", type=int, help="candidates timed with networkx (2,000)")
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--out", type=Path, help="JSON record (default benchmarks/results.json)")
    ap.add_argument("--worker", choices=("ours", "pandana", "networkx"), help=argparse.SUPPRESS)
    ap.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--arrays", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    args.nodes = args.nodes or (10_000 if args.quick else 100_000)
    args.repeat = args.repeat or (1 if args.quick else 3)
    args.sample = args.sample or (500 if args.quick else 2_000)
    return args


def _write(out: Path, cases: dict[str, Any]) -> None:
    from benchmarks.__main__ import write_cases

    write_cases(out, cases)


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    if args.worker:
        return _worker(args)
    out = args.out or HERE / ("results-quick.json" if args.quick else "results.json")
    started = dt.datetime.now(dt.UTC)
    data = build(args.nodes, seed=args.seed)
    info = data.info
    print(
        f"network: {info['n_nodes']:,} nodes, {info['n_segments']:,} segments "
        f"({info['copies']} copies of Helsinki, {info['extent_km'][0]} x "
        f"{info['extent_km'][1]} km, {info['n_connectors']} connectors); candidates = demand"
        f" = every node; walk {args.dist:g} m"
    )
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        # compile (or load) the numba kernels once, outside the timed runs: the first call
        # after installing siting compiles them and caches the machine code on disk
        t0 = time.perf_counter()
        _run_worker("ours", args, folder, repeat=1, arrays=False, nodes=2_000)
        warmup_s = round(time.perf_counter() - t0, 1)
        # ours and pandana take turns, one timed run per process, so that both meet the
        # same machine load; the last turn also returns the data for the agreement
        o_runs, p_runs = [], []
        for turn in range(args.repeat):
            last = turn == args.repeat - 1
            o_meta, o_npz = _run_worker("ours", args, folder, repeat=1, arrays=last)
            p_meta, p_npz = _run_worker("pandana", args, folder, repeat=1, arrays=last)
            o_runs.append(o_meta)
            p_runs.append(p_meta)
        for meta, runs in ((o_meta, o_runs), (p_meta, p_runs)):
            meta["times_s"] = [r["times_s"][0] for r in runs]
            meta["peak_mb"] = max(r["peak_mb"] for r in runs)
        x_meta, x_npz = _run_worker("networkx", args, folder, repeat=1)
        n = info["n_points"]
        agree_p = compare_pandana(o_npz, p_npz, n, args.dist)
        agree_x = compare_networkx(o_npz, x_npz)
        pairs = int(o_npz["indptr"][-1])

    ours_s = statistics.median(o_meta["times_s"])
    peer_s = statistics.median(p_meta["times_s"])
    nx_s = x_meta["graph_s"] + x_meta["sample_s"] / x_meta["sample"] * n
    sp_s = x_meta["graph_s"] + x_meta["dijkstra_sample_s"] / x_meta["sample"] * n
    common = {
        "started_utc": started.isoformat(timespec="seconds"),
        "command": "python -m benchmarks --case network "
        + " ".join(sys.argv[1:] if argv is None else argv),
        "machine": _machine(),
        "versions": _versions(),
        "parameters": {
            "nodes": args.nodes,
            "dist_m": args.dist,
            "repeat": args.repeat,
            "networkx_sample": args.sample,
            "seed": args.seed,
        },
        "data": info,
        "memory_note": "peak_mb = ru_maxrss of the side's own process (Python, libraries, "
        "data and work), read right after its timed runs; rss_before_mb = resident set "
        "before the first timed run",
    }
    ours_rec = {
        "median_s": round(ours_s, 3),
        "times_s": o_meta["times_s"],
        "separate_points_s": o_meta["separate_points_s"],
        "pairs_sums_equal_walk_sums": o_meta["pairs_sums_equal_walk_sums"],
        "first_process_s": warmup_s,
        "warm_up_s": o_meta["warm_up_s"],
        "pairs_within": pairs,
        "peak_mb": o_meta["peak_mb"],
        "rss_before_mb": o_meta["rss_before_mb"],
    }
    case_p = {
        **common,
        "ours": ours_rec,
        "peer": {
            "library": "pandana",
            "units": "lengths given in cm (10 µm kept); one run in metres for reference",
            "metres_s": p_meta["metres_s"],
            "warm_up_s": p_meta["warm_up_s"],
            "median_s": round(peer_s, 3),
            "times_s": p_meta["times_s"],
            "peak_mb": p_meta["peak_mb"],
            "rss_before_mb": p_meta["rss_before_mb"],
        },
        "ratio": round(peer_s / ours_s, 2),
        "target": ">= 5x",
        "met": bool(peer_s / ours_s >= 5 and agree_p["identical_sets_share"] >= 0.99),
        "agreement": agree_p,
    }
    case_x = {
        **common,
        "ours": ours_rec,
        "peer": {
            "library": "networkx",
            "total_s": round(nx_s, 2),
            "scaled_from_subset": True,
            "graph_s": x_meta["graph_s"],
            "sample": x_meta["sample"],
            "sample_s": x_meta["sample_s"],
            "per_candidate_ms": x_meta["per_candidate_ms"],
            "peak_mb": x_meta["peak_mb"],
            "rss_before_mb": x_meta["rss_before_mb"],
        },
        "ratio": round(nx_s / ours_s, 1),
        "peer_dijkstra": {
            "what": "nx.single_source_dijkstra_path_length(G, n, cutoff) per candidate: the "
            "same search without building the ego subgraph, for reference",
            "total_s": round(sp_s, 2),
            "per_candidate_ms": x_meta["dijkstra_per_candidate_ms"],
            "ratio": round(sp_s / ours_s, 1),
            "same_sets_as_ego": x_meta["dijkstra_same_sets"],
        },
        "target": ">= 50x",
        "met": bool(nx_s / ours_s >= 50 and agree_x["identical_sets_share"] >= 0.99),
        "agreement": agree_x,
    }

    print("\nnetwork_vs_pandana")
    print(
        f"  => ours {ours_s:.2f} s vs pandana {peer_s:.2f} s (network + precompute + set + "
        f"aggregate): ratio {case_p['ratio']:.1f}x (target >= 5x: "
        f"{'met' if case_p['met'] else 'NOT met'})"
    )
    print(
        f"     ours with candidates and demand as two GeoSeries (snapped twice): "
        f"{o_meta['separate_points_s']:.2f} s; {pairs:,} pairs within {args.dist:g} m"
    )
    gap = agree_p["distance_gap_m"]
    print(
        f"  => agreement: {agree_p['identical_sets']:,} of {n:,} candidates with identical "
        f"reachable sets ({100 * agree_p['identical_sets_share']:.3f} %; target >= 99 %), "
        f"{agree_p['identical_sums']:,} identical sums; pairs found by ours only: "
        f"{agree_p['pairs_ours_only']}, by pandana only: {agree_p['pairs_pandana_only']}, of "
        f"which {agree_p['pairs_pandana_only_at_limit']} at the limit (our exact walk within "
        f"{100 * NEAR_M:g} cm beyond {args.dist:g} m: pandana, given lengths in cm, "
        f"truncates them to 10 µm; its walks differ from ours by "
        f"{1e6 * gap['min']:+.1f} to {1e6 * gap['max']:+.1f} µm); "
        f"identical but for those: "
        f"{100 * agree_p['identical_sets_but_for_pairs_at_limit_share']:.3f} %"
    )
    for row in agree_p["details"][:5]:
        print(f"     {row}")

    print(
        f"  => peak memory: ours {o_meta['peak_mb']:,.0f} MB (before {o_meta['rss_before_mb']:,.0f}"
        f" MB), pandana {p_meta['peak_mb']:,.0f} MB (before {p_meta['rss_before_mb']:,.0f} MB)"
    )
    print("\nnetwork_vs_networkx")
    print(
        f"  => ours {ours_s:.2f} s vs networkx ego graphs {nx_s:.1f} s "
        f"(graph {x_meta['graph_s']:.2f} s + "
        f"{x_meta['per_candidate_ms']:.3f} ms x {n:,} candidates, scaled from "
        f"{x_meta['sample']:,} random candidates timed): ratio {case_x['ratio']:.0f}x (target "
        f">= 50x: {'met' if case_x['met'] else 'NOT met'})"
    )
    print(
        f"     for reference, single_source_dijkstra_path_length(cutoff) instead of ego_graph: "
        f"{sp_s:.1f} s ({x_meta['dijkstra_per_candidate_ms']:.3f} ms per candidate): ratio "
        f"{sp_s / ours_s:.1f}x"
    )
    print(
        f"  => agreement: {agree_x['identical_sets']:,} of {agree_x['candidates']:,} sampled "
        f"candidates with identical reachable sets, {agree_x['identical_sums']:,} identical sums"
    )
    for row in agree_x["details"][:10]:
        print(f"     {row}")
    print(f"  => peak memory: networkx {x_meta['peak_mb']:,.0f} MB")
    _write(out, {"network_vs_pandana": case_p, "network_vs_networkx": case_x})
    print(f"\nwrote {out} (cases network_vs_pandana, network_vs_networkx)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
