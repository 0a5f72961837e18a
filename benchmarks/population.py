"""Catchment-population benchmark: :func:`siting.rastersum.catchment_sum_raster` vs exactextract.

``catchment_population_vs_exactextract``
    People within ``dist`` (300 m, straight line) of 100,000 candidate points on a
    4,000 x 4,000 population raster (100 m cells, EPSG:32651, a 400 x 400 km region).
    *Ours*: :func:`siting.population.read_population_raster` (the whole GeoTIFF) then
    :func:`siting.rastersum.catchment_sum_raster` (``method="auto"``, which picks the
    per-point window method for 100 m cells at 300 m), median of ``--repeat`` runs.
    ``method="convolve"`` (one FFT convolution of the whole grid + bilinear reading) is
    timed the same way for reference. *Peer*: the analyst's recipe, the same points buffered
    (``points.buffer(dist, quad_segs=16)``, 64-vertex circles) and
    ``exactextract.exact_extract(raster_path, circles, "sum", output="pandas")`` (default
    ``feature-sequential`` strategy), run once. Buffering is counted in the peer's time.

    *Agreement*: relative difference per point where the peer counts more than one person
    (median, 95th percentile, max), plus the median signed difference: the peer's 64-gon
    has 0.16 % less area than the circle, so ours should read about 0.16 % higher.

    *Memory*: each side runs in a fresh subprocess; its peak resident set size is the
    ``VmHWM`` line of ``/proc/self/status`` at the end (whole process: Python, numpy, GDAL,
    the raster; ``getrusage`` ``ru_maxrss`` is not used because on Linux it inherits the
    parent's peak across fork + exec), and ``increase`` is that peak minus the same measure
    taken after the imports and the points, before any work. tracemalloc would miss
    exactextract's C++ allocations, so it is not used.

Data (deterministic for a seed): towns at random positions with Pareto-distributed sizes
(20,000 to 4 million people) and Clark's exponential density decay (scale ~ size^0.35),
times spatially correlated lognormal noise (Gaussian-filtered, sigma 2 cells); a thin rural
background; 10 % of land cells empty (fields, water); a sea (nodata) along one edge.
Candidates: 70 % drawn in proportion to population, 30 % uniformly over land, each at a
random spot inside its cell.

Run: ``python -m benchmarks --case population [--quick] [--points N] [--size N]``, or
``python -m benchmarks.population ...``. Results are merged into the ``cases`` of
``benchmarks/results.json`` (``results-quick.json`` with ``--quick``) without touching the
other cases.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["CASE", "build_points", "build_surface", "merge_case", "run", "write_raster"]

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CASE = "catchment_population_vs_exactextract"
CRS = "EPSG:32651"  # Fuxin's UTM zone
CELL_M = 100.0
DIST_M = 300.0
SEED = 20201017
FULL = {"size": 4000, "points": 100_000}
QUICK = {"size": 1000, "points": 10_000}
QUAD_SEGS = 16
TARGET_RATIO = 20.0
TARGET_MEDIAN = 0.01
_ORIGIN = (300_000.0, 4_850_000.0)  # top-left corner, metres


# ----------------------------------------------------------------------------- data


def build_surface(size: int, *, seed: int = SEED) -> np.ndarray:
    """People per 100 m cell, float32 ``(size, size)``; NaN = sea (nodata)."""
    from scipy import ndimage

    rng = np.random.default_rng(seed)
    pop = np.zeros((size, size), dtype=np.float32)
    n_towns = max(8, round(150 * (size / 4000) ** 2))
    people = np.minimum((rng.pareto(1.1, n_towns) + 1.0) * 20_000.0, 4_000_000.0)
    for cx, cy, total in zip(
        rng.uniform(0, size, n_towns), rng.uniform(0, size, n_towns), people, strict=True
    ):
        scale = 6.0 * (total / 20_000.0) ** 0.35  # cells
        reach = int(8 * scale) + 2
        r0, r1 = max(0, int(cy) - reach), min(size, int(cy) + reach)
        c0, c1 = max(0, int(cx) - reach), min(size, int(cx) + reach)
        yy, xx = np.ogrid[r0:r1, c0:c1]
        dist = np.hypot(yy + 0.5 - cy, xx + 0.5 - cx)
        pop[r0:r1, c0:c1] += (total / (2 * math.pi * scale**2) * np.exp(-dist / scale)).astype(
            np.float32
        )
    noise = ndimage.gaussian_filter(rng.standard_normal((size, size), dtype=np.float32), 2.0)
    noise /= noise.std()
    pop *= np.exp(0.6 * noise - 0.18)
    pop += rng.uniform(0.0, 0.6, (size, size)).astype(np.float32)  # rural background
    pop[rng.random((size, size), dtype=np.float32) < 0.10] = 0.0
    coast = size * (0.93 + 0.04 * np.sin(np.arange(size) / size * 9.0))
    pop[np.arange(size)[:, None] > coast[None, :]] = np.nan  # sea along the south edge
    return pop


def build_points(values: np.ndarray, n: int, *, seed: int = SEED) -> np.ndarray:
    """Candidate (x, y) in metres: 70 % where people live, 30 % anywhere on land."""
    rng = np.random.default_rng(seed + 1)
    size_c = values.shape[1]
    weights = np.nan_to_num(values.astype(np.float64)).ravel()
    land = np.flatnonzero(~np.isnan(values.ravel()))
    n_people = int(0.7 * n)
    cells = np.r_[
        rng.choice(weights.size, size=n_people, p=weights / weights.sum()),
        rng.choice(land, size=n - n_people),
    ]
    rows, cols = np.divmod(cells, size_c)
    x = _ORIGIN[0] + (cols + rng.random(n)) * CELL_M
    y = _ORIGIN[1] - (rows + rng.random(n)) * CELL_M
    return np.column_stack([x, y])


def write_raster(path: Path, values: np.ndarray) -> Path:
    """GeoTIFF like WorldPop's: float32, nodata -99999, deflate, 512-pixel tiles."""
    import rasterio
    from rasterio.transform import Affine

    size_r, size_c = values.shape
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=size_c,
        height=size_r,
        count=1,
        dtype="float32",
        crs=CRS,
        transform=Affine(CELL_M, 0.0, _ORIGIN[0], 0.0, -CELL_M, _ORIGIN[1]),
        nodata=-99999.0,
        tiled=True,
        blockxsize=512,
        blockysize=512,
        compress="deflate",
    ) as dst:
        dst.write(np.where(np.isnan(values), np.float32(-99999.0), values), 1)
    return path


# ----------------------------------------------------------------------------- workers


def _peak_rss_mb() -> float:
    """Peak resident set size of this process so far, MB.

    ``VmHWM`` of ``/proc/self/status`` (Linux): the high-water mark of this process image
    only. ``getrusage(RUSAGE_SELF).ru_maxrss`` would do elsewhere, but on Linux it also
    carries the parent's peak across fork + exec.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # pragma: no cover


def _worker(argv: list[str]) -> int:
    """One side in a fresh process: ``worker SIDE RASTER POINTS OUT DIST REPEAT``."""
    side, raster, points_npy, out_npy = argv[0], argv[1], argv[2], argv[3]
    dist, repeat = float(argv[4]), int(argv[5])
    import geopandas as gpd

    if side == "peer":
        from exactextract import exact_extract
    else:
        from siting.population import read_population_raster
        from siting.rastersum import catchment_sum_raster
    xy = np.load(points_npy)
    points = gpd.GeoSeries(gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=CRS)
    base = _peak_rss_mb()
    record: dict[str, Any] = {"side": side}
    if side == "peer":
        t0 = time.perf_counter()
        circles = gpd.GeoDataFrame(geometry=points.buffer(dist, quad_segs=QUAD_SEGS))
        t1 = time.perf_counter()
        frame = exact_extract(raster, circles, "sum", output="pandas")
        t2 = time.perf_counter()
        sums = frame["sum"].to_numpy(dtype=np.float64)
        record |= {"buffer_s": t1 - t0, "extract_s": t2 - t1, "total_s": t2 - t0}
    else:
        method = side.removeprefix("ours-")
        reads, calcs = [], []
        for _ in range(repeat):
            t0 = time.perf_counter()
            surface = read_population_raster(raster)
            t1 = time.perf_counter()
            result = catchment_sum_raster(surface, points, dist=dist, method=method)
            sums = result.to_numpy()
            t2 = time.perf_counter()
            reads.append(t1 - t0)
            calcs.append(t2 - t1)
            del surface
        totals = [r + c for r, c in zip(reads, calcs, strict=True)]
        record |= {
            "method": method,
            "read_s": reads,
            "catchment_s": calcs,
            "times_s": totals,
            "median_s": statistics.median(totals),
            "read_median_s": statistics.median(reads),
            "catchment_median_s": statistics.median(calcs),
        }
    peak = _peak_rss_mb()
    record |= {"rss_after_imports_mb": round(base, 1), "peak_rss_mb": round(peak, 1)}
    record["rss_increase_mb"] = round(peak - base, 1)
    np.save(out_npy, sums)
    print(json.dumps(record))
    return 0


def _run_side(side: str, raster: Path, points: Path, dist: float, repeat: int) -> dict[str, Any]:
    out = points.with_name(f"sums-{side}.npy")
    cmd = [sys.executable, "-m", "benchmarks.population", "worker", side, str(raster)]
    cmd += [str(points), str(out), str(dist), str(repeat)]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        msg = f"benchmark worker {side} failed:\n{done.stderr[-4000:]}"
        raise RuntimeError(msg)
    record: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    record["sums"] = np.load(out)
    return record


# ----------------------------------------------------------------------------- comparison


def agreement(ours: np.ndarray, peer: np.ndarray, *, floor: float = 1.0) -> dict[str, Any]:
    """Relative differences where the peer counts more than ``floor`` people."""
    keep = peer > floor
    rel = np.abs(ours[keep] - peer[keep]) / peer[keep]
    signed = (ours[keep] - peer[keep]) / peer[keep]
    rest = np.abs(ours[~keep] - peer[~keep])
    return {
        "points": len(peer),
        "compared": int(keep.sum()),
        "floor_persons": floor,
        "median_rel": float(np.median(rel)),
        "p95_rel": float(np.percentile(rel, 95)),
        "p99_rel": float(np.percentile(rel, 99)),
        "max_rel": float(rel.max()),
        "median_signed_rel": float(np.median(signed)),
        "max_abs_below_floor": float(rest.max()) if len(rest) else 0.0,
        "peer_polygon_area_deficit": 1.0
        - (4 * QUAD_SEGS) / (2 * math.pi) * math.sin(2 * math.pi / (4 * QUAD_SEGS)),
        "ours_nan": int(np.isnan(ours).sum()),
    }


def run(
    size: int, n_points: int, *, dist: float = DIST_M, seed: int = SEED, repeat: int = 3
) -> dict[str, Any]:
    """Build the data, run both sides (and ours with ``method="convolve"``) and compare."""
    t0 = time.perf_counter()
    values = build_surface(size, seed=seed)
    xy = build_points(values, n_points, seed=seed)
    build_s = time.perf_counter() - t0
    with tempfile.TemporaryDirectory(prefix="siting-bench-pop-") as tmp:
        raster = write_raster(Path(tmp) / "population.tif", values)
        points = Path(tmp) / "points.npy"
        np.save(points, xy)
        data = {
            "recipe": "towns (Pareto sizes, exponential decay) x correlated lognormal noise, "
            "rural background, 10 % empty land cells, sea as nodata; candidates 70 % by "
            "population, 30 % uniform on land",
            "crs": CRS,
            "seed": seed,
            "raster_cells": [size, size],
            "cell_m": CELL_M,
            "extent_km": [size * CELL_M / 1000] * 2,
            "raster_mb_on_disk": round(raster.stat().st_size / 1e6, 1),
            "population": round(float(np.nansum(values))),
            "max_per_cell": round(float(np.nanmax(values)), 1),
            "nodata_cells": int(np.isnan(values).sum()),
            "points": n_points,
            "dist_m": dist,
            "build_s": round(build_s, 2),
        }
        del values
        print(
            f"  {size:,} x {size:,} cells of {CELL_M:g} m ({data['raster_mb_on_disk']} MB "
            f"GeoTIFF), {data['population']:,} people, {n_points:,} points, dist {dist:g} m"
        )
        ours = _run_side("ours-auto", raster, points, dist, repeat)
        print(
            f"  ours (read + catchment_sum_raster, auto): {ours['median_s']:.2f} s "
            f"(read {ours['read_median_s']:.2f} s + sums {ours['catchment_median_s']:.2f} s)"
        )
        conv = _run_side("ours-convolve", raster, points, dist, repeat)
        print(f"  ours, method='convolve': {conv['median_s']:.2f} s")
        peer = _run_side("peer", raster, points, dist, 1)
        print(f"  peer (buffer + exact_extract): {peer['total_s']:.2f} s")
    agree = agreement(ours.pop("sums"), peer["sums"])
    agree_conv = agreement(conv.pop("sums"), peer.pop("sums"))
    ratio = peer["total_s"] / ours["median_s"]
    return {
        "what": "people within dist (straight line) of each candidate point",
        "data": data,
        "ours": {
            "what": "siting.population.read_population_raster(path) + "
            "catchment_sum_raster(surface, points, dist=dist) (method auto), fresh process",
            **ours,
        },
        "ours_convolve": {
            "what": "same with method='convolve': one fftconvolve of the whole grid + bilinear",
            **conv,
            "ratio": peer["total_s"] / conv["median_s"],
        },
        "peer": {
            "what": f"points.buffer(dist, quad_segs={QUAD_SEGS}) + exactextract.exact_extract("
            "path, circles, 'sum', output='pandas'), fresh process, one run",
            **peer,
        },
        "ratio": ratio,
        "agreement": agree,
        "agreement_convolve": agree_conv,
        "memory_note": "peak RSS (VmHWM of /proc/self/status) of a fresh subprocess per "
        "side; increase = peak minus the same after imports and points, before any work",
        "targets": {"ratio_min": TARGET_RATIO, "median_rel_max": TARGET_MEDIAN},
        "met": bool(ratio >= TARGET_RATIO and agree["median_rel"] <= TARGET_MEDIAN),
    }


def merge_case(out: Path, name: str, case: dict[str, Any]) -> None:
    """Read ``out`` (if any), set ``cases[name]``, write it back: other cases are kept."""
    record: dict[str, Any] = {}
    if out.exists():
        record = json.loads(out.read_text(encoding="utf-8"))
    record.setdefault("benchmark", "siting benchmarks")
    record.setdefault("cases", {})[name] = case
    out.write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _parse(argv: list[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        prog="python -m benchmarks --case population", description=__doc__.splitlines()[0]
    )
    ap.add_argument("--quick", action="store_true", help="1,000 x 1,000 cells, 10,000 points")
    ap.add_argument("--size", type=int, help="raster side in cells (default 4,000)")
    ap.add_argument("--points", type=int, help="candidate points (default 100,000)")
    ap.add_argument("--dist", type=float, default=DIST_M, help="catchment radius, m")
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--repeat", type=int, default=3, help="timed runs of ours (median)")
    ap.add_argument("--out", type=Path, help="JSON record (default benchmarks/results.json)")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    given = sys.argv[1:] if argv is None else argv
    if given[:1] == ["worker"]:
        return _worker(given[1:])
    args = _parse(given)
    from benchmarks.__main__ import machine, versions

    size = QUICK if args.quick else FULL
    n_size = args.size or size["size"]
    n_points = args.points or size["points"]
    out = args.out or HERE / ("results-quick.json" if args.quick else "results.json")
    started = dt.datetime.now(dt.UTC)
    print(CASE)
    case = run(n_size, n_points, dist=args.dist, seed=args.seed, repeat=args.repeat)
    import exactextract
    import rasterio
    import scipy

    case = {
        "started_utc": started.isoformat(timespec="seconds"),
        "command": "python -m benchmarks --case population " + " ".join(given),
        "machine": machine(),
        "versions": versions()
        | {
            "rasterio": rasterio.__version__,
            "rasterio_gdal": rasterio.__gdal_version__,
            "exactextract": exactextract.__version__,
            "scipy": scipy.__version__,
        },
        "parameters": {
            "quick": args.quick,
            "size": n_size,
            "points": n_points,
            "dist_m": args.dist,
            "seed": args.seed,
            "repeat": args.repeat,
            "quad_segs": QUAD_SEGS,
        },
        **case,
    }
    agr, conv = case["agreement"], case["agreement_convolve"]
    print(
        f"  => ours {case['ours']['median_s']:.2f} s vs peer {case['peer']['total_s']:.2f} s: "
        f"ratio {case['ratio']:.1f}x (target >= {TARGET_RATIO:g}x); median difference "
        f"{agr['median_rel']:.4%}, p95 {agr['p95_rel']:.4%}, max {agr['max_rel']:.3%} over "
        f"{agr['compared']:,} points (target median <= {TARGET_MEDIAN:.0%}): "
        f"{'met' if case['met'] else 'NOT met'}"
    )
    print(
        f"     signed median {agr['median_signed_rel']:+.4%} (peer 64-gon area deficit "
        f"{agr['peer_polygon_area_deficit']:.4%})"
    )
    print(
        f"     method='convolve': {case['ours_convolve']['median_s']:.2f} s (ratio "
        f"{case['ours_convolve']['ratio']:.1f}x), median {conv['median_rel']:.4%}, p95 "
        f"{conv['p95_rel']:.4%}, max {conv['max_rel']:.3%}"
    )
    print(
        f"  => peak RSS: ours {case['ours']['peak_rss_mb']:.0f} MB (+"
        f"{case['ours']['rss_increase_mb']:.0f} MB over imports), convolve "
        f"{case['ours_convolve']['peak_rss_mb']:.0f} MB (+"
        f"{case['ours_convolve']['rss_increase_mb']:.0f}), peer "
        f"{case['peer']['peak_rss_mb']:.0f} MB (+{case['peer']['rss_increase_mb']:.0f})"
    )
    merge_case(out, CASE, case)
    print(f"\nwrote {out} (cases: {CASE})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
