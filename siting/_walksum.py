"""Compiled kernels of :func:`siting.access.walk_sums`: bounded Dijkstra, then sums.

The street network is walked over its *junctions* (degree-2 nodes folded into chains, see
``siting._localwalk._Chains``). Dead-end junctions lead nowhere and are never entered.

1. :func:`ranges`: one bounded Dijkstra from every junction that ends an origin's chain, kept
   as a list of (junction, walk) pairs within the walking distance, nearest first.
2. :func:`sums`: per origin, the walk to each junction is the smaller of (walk to its chain's
   ``a`` end + the range of ``a``) and the same for ``b`` (the multi-source shortest path),
   then one pass over the chains touching the reached junctions: a chain whose every
   destination is within reach from one end adds its precomputed total, any other adds its
   destinations one by one (nearer end, or straight along the origin's own chain).

Origins sharing a chain end share its Dijkstra, and no origin-destination pair is stored, so
memory grows with the network and the origins, not with the pairs. The functions release
the GIL: the caller runs blocks of work on threads. Compiled by numba, cached on disk after
the first call.
"""

from __future__ import annotations

import numba
import numpy as np

__all__: list[str] = []

_INF = np.inf


@numba.njit(cache=True, nogil=True)
def _push(hk: np.ndarray, hv: np.ndarray, n: int, key: float, val: int) -> int:
    """Push ``(key, val)`` on the binary heap of size ``n``; return the new size."""
    i = n
    hk[i] = key
    hv[i] = val
    while i > 0:
        parent = (i - 1) >> 1
        if hk[parent] <= hk[i]:
            break
        hk[i], hk[parent] = hk[parent], hk[i]
        hv[i], hv[parent] = hv[parent], hv[i]
        i = parent
    return n + 1


@numba.njit(cache=True, nogil=True)
def _pop(hk: np.ndarray, hv: np.ndarray, n: int) -> int:
    """Move the smallest entry of the heap of size ``n`` to position ``n - 1``."""
    last = n - 1
    hk[0], hk[last] = hk[last], hk[0]
    hv[0], hv[last] = hv[last], hv[0]
    i = 0
    while True:
        left = 2 * i + 1
        if left >= last:
            break
        small = left
        if left + 1 < last and hk[left + 1] < hk[left]:
            small = left + 1
        if hk[i] <= hk[small]:
            break
        hk[i], hk[small] = hk[small], hk[i]
        hv[i], hv[small] = hv[small], hv[i]
        i = small
    return last


@numba.njit(cache=True, nogil=True)
def ranges(
    sources: np.ndarray, dist: float, adj_ptr: np.ndarray, adj_j: np.ndarray, adj_w: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bounded Dijkstra from each source junction; CSR ``(ptr, junction, walk)``, nearest first.

    ``adj_*`` is the CSR adjacency of the junctions a walk can pass through (dead ends left
    out), weighted by the shortest chain between them.
    """
    n_j = len(adj_ptr) - 1
    dj = np.full(n_j, _INF)
    cap = len(adj_j) + 2
    hk = np.empty(cap)
    hv = np.empty(cap, dtype=np.int64)
    ptr = np.zeros(len(sources) + 1, dtype=np.int64)
    size = max(16, 256 * len(sources))  # a city's ranges hold ~150 junctions
    out_j = np.empty(size, dtype=np.int32)
    out_d = np.empty(size)
    n_out = 0
    for i in range(len(sources)):
        src = sources[i]
        dj[src] = 0.0
        n_heap = _push(hk, hv, 0, 0.0, src)
        first = n_out
        while n_heap > 0:
            n_heap = _pop(hk, hv, n_heap)
            d, j = hk[n_heap], hv[n_heap]
            if d > dj[j]:
                continue  # stale entry
            if n_out == size:  # grow the output
                size *= 2
                grown_j = np.empty(size, dtype=np.int32)
                grown_d = np.empty(size)
                grown_j[:n_out] = out_j[:n_out]
                grown_d[:n_out] = out_d[:n_out]
                out_j, out_d = grown_j, grown_d
            out_j[n_out] = j
            out_d[n_out] = d
            n_out += 1
            for k in range(adj_ptr[j], adj_ptr[j + 1]):
                other = adj_j[k]
                nd = d + adj_w[k]
                if nd <= dist and nd < dj[other]:
                    dj[other] = nd
                    n_heap = _push(hk, hv, n_heap, nd, other)
        for x in range(first, n_out):
            dj[out_j[x]] = _INF
        ptr[i + 1] = n_out
    return ptr, out_j[:n_out], out_d[:n_out]


@numba.njit(cache=True, nogil=True)
def sums(  # noqa: PLR0917 (numba kernels take positional arguments only)
    first: int, last: int, dist: float, net: tuple, rng: tuple, orig: tuple, dest: tuple
) -> np.ndarray:
    """Sum the destinations' values within ``dist`` of origins ``first..last - 1``.

    ``net`` is ``(chain_a, chain_b, chain_len, inc_ptr, inc_chain)`` (see
    ``siting._localwalk._Chains``); ``rng`` is ``(slot, part, lo, hi, junctions, walks)``:
    each junction's position among the sources of :func:`ranges` (-1 for none), and for each
    source the part of the ranges (``junctions[part]``, ``walks[part]``: tuples with one array
    per call of :func:`ranges`) and the span ``lo..hi`` of its range in it; ``orig`` is
    ``(chain, position, access leg)`` per origin; ``dest`` is, for destinations ordered by
    chain, ``(start, count)`` per chain, ``(position, access leg, walk from the chain's a end,
    walk from its b end, values)`` per destination, and ``(largest walk from a, largest walk
    from b, value totals)`` per chain. Values are fixed-point integers (``int64``; see
    ``siting.access._fixed_point``), so the sums do not depend on the order of the additions.
    Returns the sums, shape ``(last - first, n_values)``.
    """
    chain_a, chain_b, chain_len, inc_ptr, inc_chain = net
    slot, src_part, src_lo, src_hi, r_j, r_d = rng
    o_chain, o_pos, o_access = orig
    (d_start, d_count, d_pos, d_access, d_from_a, d_from_b, d_values, c_max_a, c_max_b, c_total) = (
        dest
    )
    n_val = d_values.shape[1]
    dj = np.full(len(inc_ptr) - 1, _INF)
    touched = np.empty(len(inc_ptr) - 1, dtype=np.int64)
    seen = np.full(len(chain_len), -1, dtype=np.int64)
    out = np.zeros((last - first, n_val), dtype=np.int64)
    for o in range(first, last):
        own = o_chain[o]
        a, b = chain_a[own], chain_b[own]
        n_t = 0
        for end, seed in (
            (a, o_access[o] + o_pos[o]),
            (b, o_access[o] + chain_len[own] - o_pos[o]),
        ):
            s = slot[end]
            if s < 0:
                continue  # a dead end: leads nowhere
            part_j, part_d = r_j[src_part[s]], r_d[src_part[s]]
            for x in range(src_lo[s], src_hi[s]):
                w = seed + part_d[x]
                if w > dist:
                    break  # ranges are nearest first
                j = part_j[x]
                if w < dj[j]:
                    if dj[j] == _INF:
                        touched[n_t] = j
                        n_t += 1
                    dj[j] = w
        acc = out[o - first]
        # the origin's own chain: its ends, or straight along it
        seen[own] = o
        for x in range(d_start[own], d_start[own] + d_count[own]):
            w = min(dj[a] + d_from_a[x], dj[b] + d_from_b[x])
            w = min(w, o_access[o] + abs(o_pos[o] - d_pos[x]) + d_access[x])
            if w <= dist:
                for v in range(n_val):
                    acc[v] += d_values[x, v]
        for t in range(n_t):
            j = touched[t]
            for k in range(inc_ptr[j], inc_ptr[j + 1]):
                c = inc_chain[k]
                if seen[c] == o or d_count[c] == 0:
                    continue
                seen[c] = o
                ea, eb = dj[chain_a[c]], dj[chain_b[c]]
                if ea + c_max_a[c] <= dist or eb + c_max_b[c] <= dist:
                    for v in range(n_val):
                        acc[v] += c_total[c, v]
                    continue
                for x in range(d_start[c], d_start[c] + d_count[c]):
                    if min(ea + d_from_a[x], eb + d_from_b[x]) <= dist:
                        for v in range(n_val):
                            acc[v] += d_values[x, v]
        for t in range(n_t):
            dj[touched[t]] = _INF
    return out
