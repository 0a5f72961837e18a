"""Local walks behind :mod:`siting.access`: chains between junctions, tiles of origins.

Runs of degree-2 nodes are folded into *chains* between junctions (a walk enters or leaves a
chain only at its ends); origins are grouped by square tiles, and each tile's shortest paths
run only over the junctions within ``dist`` of it (a walk of at most ``dist`` never leaves the
disc of that radius around its origin, and the access legs only shorten it, so the result is
exact).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import shapely
from scipy import sparse
from scipy.sparse import csgraph

if TYPE_CHECKING:
    from siting.access import Network, Snap

__all__: list[str] = []

#: Target tile side for grouping origins, metres (tiles are ``dist / m`` for a whole ``m``).
_TILE_M = 300.0
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
