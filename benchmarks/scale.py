"""Scale benchmark: the partitioned study on dask at province size (issue 6).

Data: ``scripts/make_large_study.py`` (the Karhula and Helsinki demo areas, real OSM data,
tiled over a grid with province-like 220 kV lines, fuel stations and kindergartens laid
over it from a fixed seed; candidates = street blocks + every building as a plot; a 100 m
population raster over the whole grid gives the demand and the straight-line catchments).

Cases (written into the ``cases`` of ``benchmarks/results.json`` by read-modify-write):

``scale_agreement``
    *Ours*: :func:`siting.distributed.run_study_partitioned` on a LocalCluster of 2 worker
    processes; *peer*: :func:`siting.run_study` in one process, same inputs
    (``--agree-parcels``, default 100,000). Time of each, ratio, and agreement: eligibility
    and exclusion reasons identical, largest score difference, ranks identical or within
    their tie group (scores equal to 1e-9 points), same selected sites.
``scale_sizes``
    The partitioned study at each of ``--sizes`` (default 500,000, 1,000,000, 2,000,000
    parcels) on 2 workers: seconds and the client's peak memory after each client stage,
    summed task seconds and the workers' peak memory per partitioned stage, partitions.
``scale_workers``
    The same study (``--scaling-parcels``, default 500,000) on 1 and on 2 workers: wall time
    of the partitioned stages and end to end, and the scaling efficiency ``T1 / (2 T2)``.

The study of each size is made once into files (``layers.gpkg``, ``parcels.gpkg``,
``population.tif`` under ``out/bench-scale/data-N``) by ``scripts/make_large_study.py`` in its
own process. Every run is then a fresh process (``python -m benchmarks.scale --one N
--workers W``) that gives the partitioned study the *paths* (the client streams the files,
each worker reads its pieces), so peak memory is that run's own: the client's is what the
partitioned run holds, not the study's data.

Run: ``python -m benchmarks --case scale [--sizes 500000,1000000,2000000]
[--agree-parcels 100000] [--scaling-parcels 500000] [--partition-size 50000]``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WORK = ROOT / "out" / "bench-scale"
PARTITIONED = ("criteria (partitioned)", "scores (partitioned)", "candidates (partitioned)")

__all__ = ["agreement", "main"]


def _peak_mb() -> float:
    from siting._partwork import peak_rss_mb  # VmHWM: this process's own peak

    return peak_rss_mb()


def agreement(ref: pd.DataFrame, got: pd.DataFrame, tol: float = 1e-9) -> dict[str, Any]:
    """Compare an in-process and a partitioned candidates table (by ``parcel_id``)."""
    a = ref.set_index("parcel_id")
    b = got.set_index("parcel_id").loc[a.index]
    ok = a["eligible"].to_numpy()
    ra = a["rank"].to_numpy()[ok].astype(int)
    rb = b["rank"].to_numpy()[ok].astype(int)
    score = a["score"].to_numpy()[ok]
    order = np.argsort(ra)
    group = np.empty(len(ra), dtype=int)
    group[order] = np.r_[0, np.cumsum(np.diff(score[order]) < -tol)]
    lo = pd.Series(ra).groupby(group).transform("min").to_numpy()
    hi = pd.Series(ra).groupby(group).transform("max").to_numpy()
    diff = np.abs(b["score"].to_numpy()[ok] - score)
    return {
        "parcels": len(a),
        "eligible": int(ok.sum()),
        "eligibility_disagreements": int((a["eligible"] != b["eligible"]).sum()),
        "excluded_by_disagreements": int((a["excluded_by"] != b["excluded_by"]).sum()),
        "max_abs_score_diff": float(diff.max()) if len(diff) else 0.0,
        "scores_identical": int((diff == 0).sum()),
        "ranks_identical": int((ra == rb).sum()),
        "ranks_within_tie_group": int(((rb >= lo) & (rb <= hi)).sum()),
        "ranks_outside_tie_group": int(((rb < lo) | (rb > hi)).sum()),
    }


def _data(n: int) -> tuple[Path, float]:
    """The study of ``n`` parcels as files (made once, in its own process); seconds taken."""
    folder = WORK / f"data-{n}"
    if (folder / "population.tif").is_file():
        return folder, 0.0
    t0 = time.perf_counter()
    cmd = [sys.executable, str(ROOT / "scripts" / "make_large_study.py"), "--parcels", str(n),
           "--out", str(folder)]  # fmt: skip
    subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True, text=True)
    return folder, time.perf_counter() - t0


def _one(args: argparse.Namespace) -> int:
    import geopandas as gpd

    from siting import run_study
    from siting.distributed import run_study_partitioned
    from siting.population import read_population_raster
    from siting.sources import layers_from_gpkg

    folder = WORK / f"data-{args.one}"
    start_mb = _peak_mb()
    surface = read_population_raster(folder / "population.tif")
    out = WORK / f"{args.one}-w{args.workers}"
    shutil.rmtree(out, ignore_errors=True)
    t0 = time.perf_counter()
    # the layers and parcels stay in their files: the client streams them, each worker
    # reads its partition's pieces
    res = run_study_partitioned(
        folder / "layers.gpkg", parcels_gdf=folder / "parcels.gpkg", k=10, out_dir=out,
        n_workers=args.workers, partition_size=args.partition_size, progress=True,
        population=surface,
    )  # fmt: skip
    ours_s = time.perf_counter() - t0
    record: dict[str, Any] = {
        "parcels": res.summary["counts"]["candidates"],
        "workers": args.workers,
        "layers": res.summary["inputs"],
        "inputs_mb": {p.name: round(p.stat().st_size / 1e6, 1) for p in folder.iterdir()},
        "raster_cells": int(surface.values.size),
        "raster_people": round(surface.total),
        "client_start_mb": start_mb,
        "partitioned_s": round(ours_s, 1),
        "partitioned_stages_s": round(sum(res.summary["seconds"][s] for s in PARTITIONED), 1),
        "client_peak_mb": _peak_mb(),
        "summary": {
            k: res.summary[k]
            for k in ("counts", "seconds", "client_peak_rss_mb", "partitions", "selection")
        },
        "output_mb": round(res.candidates_path.stat().st_size / 1e6, 1),
    }
    if args.compare:
        t0 = time.perf_counter()
        layers = layers_from_gpkg(folder / "layers.gpkg")
        parcels = gpd.read_file(folder / "parcels.gpkg")
        ref = run_study(layers, parcels_gdf=parcels, k=10, population=surface)
        record["in_process_s"] = round(time.perf_counter() - t0, 1)
        record["in_process_seconds"] = ref.summary["seconds"]
        record["in_process_peak_mb"] = _peak_mb()
        cols = ["parcel_id", "eligible", "excluded_by", "score", "rank"]
        record["agreement"] = agreement(ref.candidates[cols], res.candidates(columns=cols))
        record["agreement"]["same_selection"] = (
            ref.selected["parcel_id"].tolist() == res.selected["parcel_id"].tolist()
        )
    shutil.rmtree(out, ignore_errors=True)
    args.result.write_text(json.dumps(record, indent=1, default=str), encoding="utf-8")
    return 0


def _run(n: int, workers: int, args: argparse.Namespace, *, compare: bool = False) -> dict:
    result = WORK / f"result-{n}-w{workers}.json"
    WORK.mkdir(parents=True, exist_ok=True)
    cmd = [
        sys.executable, "-m", "benchmarks.scale", "--one", str(n), "--workers", str(workers),
        "--partition-size", str(args.partition_size), "--result", str(result),
        *(["--compare"] if compare else []),
    ]  # fmt: skip
    print(f"\n{n:,} parcels on {workers} worker(s){' + in-process' if compare else ''}:")
    _, gen_s = _data(n)
    t0 = time.perf_counter()
    done = subprocess.run(cmd, cwd=ROOT, check=False, capture_output=True, text=True)
    if done.returncode != 0:
        print(done.stdout[-3000:], done.stderr[-6000:])
        return {"parcels": n, "workers": workers, "failed": done.stderr[-2000:]}
    rec = json.loads(result.read_text(encoding="utf-8"))
    rec["process_s"] = round(time.perf_counter() - t0, 1)
    rec["generate_s"] = round(gen_s, 1)
    p = rec["summary"]["partitions"]
    print(
        f"  files made in {rec['generate_s']} s; partitioned run {rec['partitioned_s']} s "
        f"({p['count']} partitions; partitioned stages {rec['partitioned_stages_s']} s); "
        f"client peak {rec['client_peak_mb']:,.0f} MB, worker peak "
        f"{p['worker_peak_rss_mb']:,.0f} MB"
    )
    for name, sec in rec["summary"]["seconds"].items():
        mem = rec["summary"]["client_peak_rss_mb"].get(name)
        print(f"    {name:26s} {sec:8.1f} s   client peak {mem:8,.0f} MB")
    for st, parts in p["task_seconds"].items():
        peak = p["worker_peak_rss_mb_by_stage"][st]
        inner = ", ".join(f"{k} {v:.1f}" for k, v in parts.items())
        print(f"    tasks {st:20s} {inner} (summed s); worker peak {peak:,.0f} MB")
    if "criteria_cpu_s" in p:
        wall = sum(p["task_seconds"]["criteria"].values())
        print(f"    criteria tasks: {wall:.1f} s wall, {p['criteria_cpu_s']:.1f} s CPU (summed)")
    if compare:
        ag = rec["agreement"]
        print(
            f"  in-process {rec['in_process_s']} s; agreement: {ag['eligibility_disagreements']}"
            f" eligibility disagreements, max |score diff| {ag['max_abs_score_diff']:.2e}, "
            f"ranks identical {ag['ranks_identical']:,} of {ag['eligible']:,}, outside tie "
            f"group {ag['ranks_outside_tie_group']}, same selection {ag['same_selection']}"
        )
    return rec


def _parse(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m benchmarks --case scale", description=__doc__)
    ap.add_argument("--sizes", default="500000,1000000,2000000", help="parcels, comma-separated")
    ap.add_argument("--agree-parcels", type=int, default=100_000)
    ap.add_argument("--scaling-parcels", type=int, default=500_000)
    ap.add_argument("--partition-size", type=int, default=50_000)
    ap.add_argument("--no-agreement", action="store_true", help="skip scale_agreement")
    ap.add_argument("--no-scaling", action="store_true", help="skip scale_workers")
    ap.add_argument("--out", type=Path, help="JSON record (default benchmarks/results.json)")
    ap.add_argument("--one", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--workers", type=int, default=2, help=argparse.SUPPRESS)
    ap.add_argument("--compare", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    return ap.parse_args(argv)


def _write(out: Path, cases: dict[str, Any]) -> None:
    from benchmarks.__main__ import write_cases

    write_cases(out, cases)


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    if args.one:
        return _one(args)
    from benchmarks.__main__ import machine, versions

    out = args.out or HERE / "results.json"
    started = dt.datetime.now(dt.UTC)
    common = {
        "started_utc": started.isoformat(timespec="seconds"),
        "command": "python -m benchmarks --case scale "
        + " ".join(sys.argv[1:] if argv is None else argv),
        "machine": machine(),
        "versions": versions(),
        "partition_size": args.partition_size,
    }
    cases: dict[str, Any] = {}
    if not args.no_agreement:
        agree = _run(args.agree_parcels, 2, args, compare=True)
        if "agreement" in agree:
            agree["ratio_in_process_over_partitioned"] = round(
                agree["in_process_s"] / agree["partitioned_s"], 2
            )
        cases["scale_agreement"] = {**common, **agree}
        _write(out, cases)
    sizes = [int(s) for s in args.sizes.split(",") if s]
    runs: dict[int, dict[str, Any]] = {}
    if out.exists():  # sizes measured by an earlier run are kept unless measured again
        old = json.loads(out.read_text(encoding="utf-8")).get("cases", {}).get("scale_sizes", {})
        runs = {r["parcels"]: r for r in old.get("runs", []) if r["parcels"] not in sizes}
    if not args.no_scaling:
        _scaling(args, common, cases, runs, out)
    for n in sizes:
        if n == args.scaling_parcels and not args.no_scaling:
            continue  # measured by the scaling pair
        runs[n] = _run(n, 2, args)
        cases["scale_sizes"] = {**common, "runs": [runs[m] for m in sorted(runs)]}
        _write(out, cases)
    print(f"\nwrote {out}")
    return 0


def _scaling(
    args: argparse.Namespace, common: dict[str, Any], cases: dict[str, Any],
    runs: dict[int, dict[str, Any]], out: Path,
) -> None:  # fmt: skip
    """1 and 2 workers on the same study; the 2-worker run counts among the sizes too."""
    two = runs[args.scaling_parcels] = _run(args.scaling_parcels, 2, args)
    cases["scale_sizes"] = {**common, "runs": [runs[m] for m in sorted(runs)]}
    one = _run(args.scaling_parcels, 1, args)
    scaling: dict[str, Any] = {**common, "parcels": args.scaling_parcels, "one": one, "two": two}
    if "failed" not in one and "failed" not in two:
        for key in ("partitioned_stages_s", "partitioned_s"):
            scaling[f"efficiency_{key}"] = round(one[key] / (2 * two[key]), 3)
        print(
            f"\nscaling 1 -> 2 workers at {args.scaling_parcels:,} parcels: partitioned stages "
            f"{one['partitioned_stages_s']} s -> {two['partitioned_stages_s']} s (efficiency "
            f"{scaling['efficiency_partitioned_stages_s']:.2f}); end to end "
            f"{one['partitioned_s']} s -> {two['partitioned_s']} s (efficiency "
            f"{scaling['efficiency_partitioned_s']:.2f})"
        )
    cases["scale_workers"] = scaling
    _write(out, cases)


if __name__ == "__main__":
    sys.exit(main())
