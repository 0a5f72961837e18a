"""E2SFCA benchmark: :func:`siting.supply.e2sfca` against PySAL ``access`` on the same costs.

``e2sfca_vs_access``
    Facilities and homes scattered uniformly over a square city (seeded), straight-line
    distances within the catchment (300 m) from ``scipy.spatial.cKDTree``, stored once as a
    sparse facilities x homes matrix. *Ours*: ``siting.supply.e2sfca(dist, slots, children)``
    on that matrix. *Peer*: ``access.Access(...)`` on the same pairs as its long cost table
    (origin = home, dest = facility), then ``enhanced_two_stage_fca`` with
    ``access.weights.step_fn({100: 1, 200: 0.68, 300: 0.22})`` and ``max_cost=300``: the same
    bands (upper bound included) and the same Luo & Qi weights. Building the cost table from
    the matrix is timed separately and not counted for the peer (a user of ``access`` starts
    from a table). Agreement: largest absolute and relative difference in accessibility per
    home (target <= 1e-6). Peak memory: ``tracemalloc`` peak of one extra run of each side
    (numpy and pandas buffers included).

Run: ``python -m benchmarks.supply [--facilities N] [--points M] [--repeat R]``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.spatial import cKDTree

from siting.supply import e2sfca, step_weights

__all__ = ["SupplyData", "build", "main", "peer_e2sfca", "run"]

HERE = Path(__file__).resolve().parent
SEED = 20_250_505
#: Homes per km² of the synthetic city (a dense Chinese district holds more; 100,000 homes
#: then cover 100 km², about a 10 x 10 km city).
HOMES_PER_KM2 = 1_000.0


@dataclass(frozen=True)
class SupplyData:
    """Synthetic supply and demand with their sparse cost matrix (facilities x homes, m)."""

    dist: sparse.csr_matrix
    slots: np.ndarray
    children: np.ndarray
    info: dict[str, Any]


def build(
    n_facilities: int, n_points: int, *, catchment_m: float = 300.0, seed: int = SEED
) -> SupplyData:
    """Scatter facilities and homes over a square city; distances within ``catchment_m``."""
    t0 = time.perf_counter()
    rng = np.random.default_rng(seed)
    side_m = float(np.sqrt(n_points / HOMES_PER_KM2) * 1000.0)
    homes = rng.uniform(0, side_m, (n_points, 2))
    facilities = rng.uniform(0, side_m, (n_facilities, 2))
    coo = cKDTree(facilities).sparse_distance_matrix(
        cKDTree(homes), catchment_m, output_type="coo_matrix"
    )
    # a home standing on a facility would vanish from a sparse matrix at 0 m
    dist = sparse.csr_matrix(
        (np.maximum(coo.data, 1e-9), (coo.row, coo.col)), shape=(n_facilities, n_points)
    )
    # under-3 places: childcare centres of 45 and a few larger ones; children per home
    slots = rng.choice([20.0, 45.0, 45.0, 90.0], n_facilities)
    children = rng.gamma(2.0, 0.12, n_points)
    info = {
        "facilities": n_facilities,
        "homes": n_points,
        "extent_km": round(side_m / 1000.0, 2),
        "catchment_m": catchment_m,
        "pairs_within_catchment": int(dist.nnz),
        "facilities_reaching_a_home": int((np.diff(dist.indptr) > 0).sum()),
        "slots": float(slots.sum()),
        "children": round(float(children.sum()), 1),
        "seed": seed,
        "build_s": round(time.perf_counter() - t0, 3),
    }
    return SupplyData(dist=dist, slots=slots, children=children, info=info)


def cost_table(dist: sparse.csr_matrix) -> pd.DataFrame:
    """The matrix as ``access``'s long cost table: origin = home, dest = facility."""
    coo = dist.tocoo()
    return pd.DataFrame({"origin": coo.col, "dest": coo.row, "cost": coo.data})


def peer_e2sfca(
    cost: pd.DataFrame, slots: np.ndarray, children: np.ndarray, *, catchment_m: float = 300.0
) -> np.ndarray:
    """E2SFCA with PySAL ``access`` (Luo & Qi steps over thirds of the catchment)."""
    from access import Access
    from access import weights as access_weights

    peer = Access(
        demand_df=pd.DataFrame({"u3": children}, index=pd.RangeIndex(len(children), name="home")),
        demand_index=True,
        demand_value="u3",
        supply_df=pd.DataFrame({"slots": slots}, index=pd.RangeIndex(len(slots), name="fac")),
        supply_index=True,
        supply_value="slots",
        cost_df=cost,
        cost_origin="origin",
        cost_dest="dest",
        cost_name="cost",
    )
    steps = {hi: w for _, hi, w in step_weights(catchment_m)}
    out = peer.enhanced_two_stage_fca(
        name="e2sfca", max_cost=catchment_m, weight_fn=access_weights.step_fn(steps)
    )
    return out["e2sfca_slots"].reindex(range(len(children))).fillna(0.0).to_numpy()


def _timed(fn: Callable[[], Any], repeat: int) -> tuple[Any, list[float]]:
    times, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return result, times


def _peak_mb(fn: Callable[[], Any]) -> float:
    tracemalloc.start()
    try:
        fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return round(peak / 1024**2, 1)


def run(ds: SupplyData, *, repeat: int = 3, peer_repeat: int = 1) -> dict[str, Any]:
    """Time ours and the peer on the same data; report agreement and peak memory."""
    catchment_m = float(ds.info["catchment_m"])

    def ours_fn() -> np.ndarray:
        res = e2sfca(ds.dist, ds.slots, ds.children, catchment_m=catchment_m)
        return res.accessibility.to_numpy()

    ours_fn()  # warm-up
    ours, ours_times = _timed(ours_fn, repeat)
    cost, table_times = _timed(lambda: cost_table(ds.dist), 1)
    theirs, peer_times = _timed(
        lambda: peer_e2sfca(cost, ds.slots, ds.children, catchment_m=catchment_m), peer_repeat
    )
    diff = np.abs(ours - theirs)
    scale = np.maximum(np.abs(theirs), 1e-300)
    ours_s, peer_s = statistics.median(ours_times), statistics.median(peer_times)
    max_abs = float(diff.max()) if len(diff) else 0.0
    return {
        "ours": {
            "call": "siting.supply.e2sfca(dist, slots, children, catchment_m=300)",
            "times_s": [round(t, 4) for t in ours_times],
            "median_s": round(ours_s, 4),
            "peak_mb": _peak_mb(ours_fn),
        },
        "peer": {
            "call": "access.Access(...).enhanced_two_stage_fca(max_cost=300, "
            "weight_fn=step_fn({100: 1, 200: 0.68, 300: 0.22}))",
            "times_s": [round(t, 3) for t in peer_times],
            "median_s": round(peer_s, 3),
            "cost_table_s": round(table_times[0], 3),
            "peak_mb": _peak_mb(
                lambda: peer_e2sfca(cost, ds.slots, ds.children, catchment_m=catchment_m)
            ),
        },
        "ratio": round(peer_s / ours_s, 1) if ours_s > 0 else None,
        "agreement": {
            "homes": len(ours),
            "max_abs_diff": max_abs,
            "max_rel_diff": float((diff / scale)[theirs != 0].max()) if (theirs != 0).any() else 0,
            "homes_with_access_ours": int((ours > 0).sum()),
            "homes_with_access_peer": int((theirs > 0).sum()),
            "slots_per_child_mean": round(float(ours.mean()), 6) if len(ours) else 0.0,
            "target": 1e-6,
            "met": max_abs <= 1e-6,
        },
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.supply", description=__doc__)
    ap.add_argument("--facilities", type=int, default=2_000, help="facilities (default 2,000)")
    ap.add_argument("--points", type=int, default=100_000, help="homes (default 100,000)")
    ap.add_argument("--repeat", type=int, default=3, help="timed runs of ours (median)")
    ap.add_argument("--peer-repeat", type=int, default=3, help="timed runs of the peer (median)")
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--out", type=Path, default=HERE / "results-supply.json")
    args = ap.parse_args(argv)
    from benchmarks.__main__ import machine, versions

    started = dt.datetime.now(dt.UTC)
    ds = build(args.facilities, args.points, seed=args.seed)
    info = ds.info
    print(
        f"e2sfca_vs_access: {info['facilities']:,} facilities x {info['homes']:,} homes over "
        f"{info['extent_km']} x {info['extent_km']} km, {info['pairs_within_catchment']:,} "
        f"pairs within {info['catchment_m']:g} m (built in {info['build_s']:.2f} s)"
    )
    case = run(ds, repeat=args.repeat, peer_repeat=args.peer_repeat)
    agr = case["agreement"]
    print(
        f"  => ours {case['ours']['median_s']:.3f} s vs access {case['peer']['median_s']:.2f} s"
        f" (+ {case['peer']['cost_table_s']:.2f} s to build its cost table): "
        f"ratio {case['ratio']}x; peak memory ours {case['ours']['peak_mb']} MB, access "
        f"{case['peer']['peak_mb']} MB"
    )
    print(
        f"  => agreement: max |diff| {agr['max_abs_diff']:.3g}, max relative "
        f"{agr['max_rel_diff']:.3g} over {agr['homes']:,} homes (target <= 1e-6: "
        f"{'met' if agr['met'] else 'NOT met'}); homes with access: ours "
        f"{agr['homes_with_access_ours']:,}, access {agr['homes_with_access_peer']:,}"
    )
    import access

    vers = versions()
    vers["access"] = getattr(access, "__version__", "unknown")
    record = {
        "benchmark": "siting supply: E2SFCA",
        "started_utc": started.isoformat(timespec="seconds"),
        "command": "python -m benchmarks.supply "
        + " ".join(sys.argv[1:] if argv is None else argv),
        "machine": machine(),
        "versions": vers,
        "data": info,
        "cases": {"e2sfca_vs_access": case},
    }
    args.out.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")
    return 0 if agr["met"] else 1


if __name__ == "__main__":
    sys.exit(main())
