"""Run the benchmarks: ``python -m benchmarks [--quick] [--parcels N] [--hazards M]``.

Prints each case as "ours vs peer, ratio and agreement" and writes a JSON record (machine,
versions, parameters, data, times, ratios, agreement) to ``benchmarks/results.json``
(``benchmarks/results-quick.json`` with ``--quick``, so a smoke run never overwrites the
full-size record).
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import io
import json
import os
import platform
import pstats
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
FULL = {"parcels": 200_000, "hazards": 2_000}
QUICK = {"parcels": 20_000, "hazards": 300}


def _parse(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small smoke size (20,000 x 300)")
    ap.add_argument("--parcels", type=int, help="number of parcels (default 200,000)")
    ap.add_argument("--hazards", type=int, help="minimum number of hazards (default 2,000)")
    ap.add_argument("--seed", type=int, default=None, help="seed of the random extra hazards")
    ap.add_argument("--repeat", type=int, default=3, help="timed runs of ours and of the read")
    ap.add_argument("--quad-segs", type=int, default=16, help="peer buffer segments (quarter)")
    ap.add_argument(
        "--peer-budget",
        type=float,
        default=600.0,
        help="seconds the peer may take at full size before it is timed on a subset",
    )
    ap.add_argument("--profile", action="store_true", help="cProfile one run of ours")
    ap.add_argument("--out", type=Path, help="JSON record (default benchmarks/results.json)")
    return ap.parse_args(argv)


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_gb() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024**2, 1)
    except OSError:
        pass
    return None


def _git(*args: str) -> str:
    try:
        out = subprocess.run(
            ["git", *args], cwd=HERE.parent, capture_output=True, text=True, check=True
        )
    except (OSError, subprocess.CalledProcessError):
        return ""
    return out.stdout.strip()


def machine() -> dict[str, Any]:
    return {
        "platform": platform.platform(),
        "cpu": _cpu_model(),
        "cpus": os.cpu_count(),
        "memory_gb": _memory_gb(),
        "python": sys.version.split()[0],
        "note": "every step runs on one core (GEOS and shapely calls are single-threaded)",
    }


def versions() -> dict[str, Any]:
    import geopandas
    import numpy
    import pandas
    import pyogrio
    import pyproj
    import shapely

    import siting

    dirty = _git("status", "--porcelain", "--", "siting")
    return {
        "siting": siting.__version__,
        "git_commit": _git("rev-parse", "HEAD"),
        "siting_tree_modified": bool(dirty),
        "numpy": numpy.__version__,
        "pandas": pandas.__version__,
        "shapely": shapely.__version__,
        "geos": shapely.geos_version_string,
        "geopandas": geopandas.__version__,
        "pyogrio": pyogrio.__version__,
        "gdal": pyogrio.__gdal_version_string__,
        "pyproj": pyproj.__version__,
    }


def write_cases(out: Path, cases: dict[str, Any]) -> None:
    """Read-modify-write the ``cases`` of a results file (other cases are kept)."""
    record: dict[str, Any] = {}
    if out.exists():
        record = json.loads(out.read_text(encoding="utf-8"))
    record.setdefault("cases", {}).update(cases)
    out.write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _profile(fn: Any, top: int = 25) -> str:
    prof = cProfile.Profile()
    prof.enable()
    fn()
    prof.disable()
    buf = io.StringIO()
    stats = pstats.Stats(prof, stream=buf).strip_dirs()
    stats.sort_stats("cumulative").print_stats(top)
    stats.sort_stats("tottime").print_stats(top)
    return buf.getvalue()


def main(argv: list[str] | None = None) -> int:  # noqa: PLR0911 - one return per case
    given = sys.argv[1:] if argv is None else argv
    if given[:2] == ["--case", "supply"]:  # E2SFCA vs PySAL access: benchmarks/supply.py
        from benchmarks import supply

        return supply.main(given[2:])
    if given[:2] == ["--case", "population"]:  # catchment population: benchmarks/population.py
        from benchmarks import population

        return population.main(given[2:])
    if given[:2] == ["--case", "network"]:  # walking catchments: benchmarks/network.py
        from benchmarks import network

        return network.main(given[2:])
    if given[:2] == ["--case", "map"]:  # map.html of a 100,000-parcel study: benchmarks/map.py
        from benchmarks import map as map_case

        return map_case.main(given[2:])
    if given[:2] == ["--case", "scale"]:  # the partitioned study on dask: benchmarks/scale.py
        from benchmarks import scale

        return scale.main(given[2:])
    if given[:2] == ["--case", "pbf"]:  # a study area out of a large PBF: benchmarks/pbf.py
        from benchmarks import pbf

        return pbf.main(given[2:])
    if given[:2] == ["--case", "selection"]:  # MCLP vs spopt, bounded at scale
        from benchmarks import selection

        return selection.main(given[2:])
    args = _parse(argv)
    from benchmarks import constraints, data
    from siting.rulebook import default_rulebook

    size = QUICK if args.quick else FULL
    n_parcels = args.parcels or size["parcels"]
    n_hazards = args.hazards if args.hazards is not None else size["hazards"]
    seed = data.SEED if args.seed is None else args.seed
    out = args.out or HERE / ("results-quick.json" if args.quick else "results.json")
    started = dt.datetime.now(dt.UTC)

    print(f"building data: {n_parcels:,} parcels, >= {n_hazards:,} hazards (seed {seed})")
    ds = data.build(n_parcels, n_hazards, seed=seed)
    info = ds.info
    classes = ", ".join(f"{k} {v}" for k, v in info["hazards_by_class"].items())
    print(
        f"  {info['n_parcels']:,} parcels ({info['tiles']} tiles, "
        f"{info['extent_km'][0]} x {info['extent_km'][1]} km), {info['n_hazards']:,} hazards"
        f" ({classes}) in {info['build_s']:.1f} s"
    )
    rulebook = default_rulebook()
    rules = [r.id for r in constraints.tested_rules(rulebook)]
    print(f"  rulebook {rulebook.id} {rulebook.version}: hard geometric rules {', '.join(rules)}")

    t0 = time.perf_counter()
    apply = constraints.apply_constraints
    apply(ds.parcels.iloc[:1000], ds.hazards, rulebook)  # warm imports and caches
    print(f"  warm-up on 1,000 parcels: {time.perf_counter() - t0:.2f} s")

    print("\nconstraints_vs_buffer_union")
    case1 = constraints.run_buffer_union(
        ds.parcels,
        ds.hazards,
        rulebook,
        repeat=args.repeat,
        quad_segs=args.quad_segs,
        peer_budget_s=args.peer_budget,
        seed=seed,
    )
    agr = case1["agreement"]
    scaled = " (scaled from a subset)" if case1["peer"]["scaled_from_subset"] else ""
    print(
        f"  => ours {case1['ours']['median_s']:.2f} s vs peer {case1['peer']['total_s']:.2f} s"
        f"{scaled}: ratio {case1['ratio']:.1f}x (target >= 100x: "
        f"{'met' if case1['met'] else 'NOT met'})"
    )
    tuned, sj = case1["peer_prepared"], case1["peer_sjoin"]
    print(
        f"     for reference, other ways to write the peer: zones prepared {tuned['total_s']:.2f}"
        f" s (ratio {tuned['ratio']:.1f}x); buffers + gpd.sjoin, no union {sj['total_s']:.2f} s"
        f" (ratio {sj['ratio']:.2f}x)"
    )
    print(
        f"  => agreement: {agr['parcels'] - agr['eligibility_disagreements']:,} of "
        f"{agr['parcels']:,} parcels identical; {agr['eligibility_disagreements']} "
        f"eligibility disagreement(s): {agr['eligibility_disagreements_buffer_approximation']}"
        f" from the buffer approximation, {agr['eligibility_disagreements_unexplained']} "
        f"unexplained ({agr['rule_disagreements']} rule-level, "
        f"{agr['rule_disagreements_unexplained']} unexplained); eligible: ours "
        f"{agr['eligible_ours']:,}, peer {agr['eligible_peer']:,}"
    )
    for row in agr["details"][:20]:
        print(
            f"     {row['parcel_id']} {row['rule_id']}: ours {row['ours']}, peer {row['peer']};"
            f" exact distance {row['distance_m']:.4f} m vs {row['threshold_m']:g} m "
            f"(margin {row['margin_cm']:+.2f} cm, chord error <= {row['chord_error_cm']:.2f} cm)"
            f" -> {row['explained']}"
        )
    if len(agr["details"]) > 20:
        print(f"     ... {len(agr['details']) - 20} more in {out.name}")

    print("\nconstraints_vs_read_floor")
    case2 = constraints.run_read_floor(ds.parcels, case1["ours"]["times_s"], repeat=args.repeat)
    print(
        f"  => ours {case2['ours']['median_s']:.2f} s vs read {case2['read']['median_s']:.2f} s:"
        f" ratio {case2['ratio']:.2f}x (target <= 2x: {'met' if case2['met'] else 'NOT met'})"
    )

    profile = None
    if args.profile:
        profile = _profile(lambda: apply(ds.parcels, ds.hazards, rulebook))
        print("\nprofile of one apply_constraints run\n" + profile)

    record = {
        "benchmark": "siting constraint stage",
        "started_utc": started.isoformat(timespec="seconds"),
        "command": "python -m benchmarks " + " ".join(sys.argv[1:] if argv is None else argv),
        "machine": machine(),
        "versions": versions(),
        "parameters": {
            "quick": args.quick,
            "parcels": n_parcels,
            "hazards": n_hazards,
            "seed": seed,
            "repeat": args.repeat,
            "quad_segs": args.quad_segs,
            "peer_budget_s": args.peer_budget,
            "rulebook": f"{rulebook.id} {rulebook.version}",
            "tested_rules": rules,
        },
        "data": info,
        "cases": {
            "constraints_vs_buffer_union": case1,
            "constraints_vs_read_floor": case2,
        },
    }
    if profile:
        record["profile"] = profile
    if out.exists():  # keep cases other runs wrote (e.g. --case population)
        previous = json.loads(out.read_text(encoding="utf-8")).get("cases", {})
        record["cases"] = {**previous, **record["cases"]}
    out.write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
