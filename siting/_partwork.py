"""Partition work: what each partition computes, and the study-wide steps over its files.

Private to :mod:`siting.distributed`. The task functions run on dask workers: each reads its
inputs (a partition's parcels with the features in its halo, or the files an earlier stage
wrote), writes its files atomically (:func:`siting.checkpoint.write_atomic`) and returns a
small record for the manifest. :func:`greedy_partitioned` is the exact greedy maximal
covering over the partitions' walk files; :func:`merge_parquet` streams the partition files
into one GeoParquet.
"""

from __future__ import annotations

import io
import itertools
import json
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy import sparse

from siting import (
    access,
    checkpoint,
    criteria,
    landuse,
    parcel_shape,
    parcels,
    rastersum,
    reuse,
    scoring,
    studyfiles,
)
from siting._errors import SitingError
from siting.normalisation import Normalisation
from siting.rulebook import Rulebook
from siting.timing import peak_rss_mb

__all__ = [
    "candidates_task",
    "criteria_task",
    "exact_partitioned",
    "frame_pieces",
    "greedy_partitioned",
    "merge_parquet",
    "normalisation_ranges",
    "partition_summary",
    "scores_task",
    "selected_frame",
    "study_fingerprint",
    "write_geopackage",
]


def _write_parquet(frame: pd.DataFrame, path: Path) -> int:
    return checkpoint.write_atomic(path, lambda p: frame.to_parquet(p, index=False))


def criteria_task(data: dict[str, Any], ctx: dict[str, Any]) -> dict[str, Any]:
    """Stage 1 on one partition: constraints, catchments and every criterion (see module)."""
    t: dict[str, float] = {}
    cpu0 = time.process_time()
    t0 = time.perf_counter()
    pid, out = data["id"], Path(ctx["out_dir"])
    if ctx.get("source") is not None:
        data = {**data, **_read_partition(data, ctx)}
    cand, haz, homes = data["parcels"], data["hazards"], data["homes"]
    rb: Rulebook = ctx["rulebook"]
    walk_m = ctx["walk_m"]
    # the parcels' own checks, as run_study does: size and shape, land use
    if "shape_fail" not in cand.columns:
        cand = cand.join(parcel_shape.shape_checks(cand, min_area_m2=criteria.min_site_area(rb)))
    cons, compliance = criteria.parcel_constraints(cand, haz, rb, n_features=ctx["n_features"])
    if cons.attrs["screening_m"] != ctx["screening_m"]:  # the catalogue must prevent this
        msg = (
            f"partition {pid}: screening radii {cons.attrs['screening_m']} differ from the study's"
        )
        raise SitingError(msg)
    t["constraints"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    unmet = homes["unmet_under3"].to_numpy()
    ok = np.flatnonzero(cons["eligible"].to_numpy())
    hid = homes["home"].to_numpy()
    net = access.network_from_edges(data["edges"]) if len(data["edges"]) else None
    if net is not None and len(homes):
        sites = cand.geometry.iloc[ok].representative_point()
        local = access.walk_distances(net, sites, homes.geometry, dist=walk_m)
    else:
        local = sparse.csr_matrix((len(ok), len(homes)))
    local = sparse.csr_matrix(local)
    local.eliminate_zeros()  # the study's sparse product drops zero-distance pairs too
    local.sort_indices()
    gain0 = np.asarray((local.astype(bool).astype(float)) @ unmet).ravel()
    within = {"indptr": local.indptr, "indices": hid[local.indices], "rows": data["rows"][ok]}
    t["walks"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    radius = None
    if data.get("radius_grid") is not None:  # a population raster: as run_study reads it
        grid = data["radius_grid"]
        pts = gpd.GeoSeries(cand.geometry.representative_point().to_numpy(), crs=cand.crs)
        radius = ctx["under3_share"] * np.nan_to_num(
            rastersum.grid_sums(grid, pts.to_crs(grid.crs))
        )
    crit = criteria.parcel_criteria(
        cand, network=net, homes=homes, haz=haz, rulebook=rb, roads=data["roads"],
        facilities=ctx["facilities"], radius_under3=radius, home_ids=hid,
    )  # fmt: skip
    t["criteria"] = time.perf_counter() - t0
    frame = gpd.GeoDataFrame(
        pd.concat([cand, cons, crit], axis=1), geometry="geometry", crs=cand.crs
    )
    frame["_row"] = data["rows"]
    t0 = time.perf_counter()
    files = {
        f"criteria/part-{pid:05d}.parquet": _write_parquet(
            frame, out / f"criteria/part-{pid:05d}.parquet"
        ),
        f"compliance/part-{pid:05d}.parquet": _write_parquet(
            compliance, out / f"compliance/part-{pid:05d}.parquet"
        ),
    }
    wpath = out / f"within/part-{pid:05d}.npz"
    files[f"within/part-{pid:05d}.npz"] = checkpoint.write_atomic(
        wpath,
        lambda p: p.write_bytes(_npz_bytes(gain0=gain0, **within)),
    )
    t["write"] = time.perf_counter() - t0
    # extremes over the eligible parcels, after each criterion's cap (the global min-max)
    elig = cons["eligible"].to_numpy()
    extremes = {}
    own = cand.drop(columns=[c for c in crit if c in cand.columns])
    inputs = criteria.scoring_inputs(pd.concat([own, crit], axis=1))
    for name, values in inputs.items():
        cap = criteria.CRITERIA_INFO[str(name)].cap
        v = np.minimum(values.to_numpy(dtype=float), cap)[elig]
        v = v[~np.isnan(v)]
        extremes[name] = [float(v.min()), float(v.max())] if len(v) else None
    failing = cons["excluded_by"].str.split(";")
    return {
        "files": files,
        "rows": len(cand),
        "eligible": int(elig.sum()),
        "extremes": extremes,
        "excluded_by_rule": {
            rid: int(failing.map(lambda ids, rid=rid: rid in ids).sum())
            for rid in [
                *(r.id for r in rb.active_rules if r.hard),
                *landuse.EXCLUSIONS,
                *parcel_shape.EXCLUSIONS,
            ]
        },
        "seconds": {k: round(v, 3) for k, v in t.items()},
        "cpu_s": round(time.process_time() - cpu0, 3),  # all threads of the worker process
        "peak_rss_mb": peak_rss_mb(),
        "inputs": {k: len(data[k]) for k in ("parcels", "hazards", "edges", "homes", "roads")},
    }


def _read_partition(data: Mapping[str, Any], ctx: Mapping[str, Any]) -> dict[str, Any]:
    """Read a partition's parcels, streets and roads from the study files (file mode)."""
    files, halo = ctx["source"], ctx["halo"]
    found = studyfiles.read_parcels(files, data["parcel_fids"])
    cand = parcels.prepare_parcels(found, ctx["crs"])
    cand["area_m2"] = cand.area
    cand["near_extract_edge"] = data["near_extract_edge"]
    edges = studyfiles.read_box(files, "walk_edges", data["bounds"], halo=halo["network"])
    roads = studyfiles.read_box(files, "roads", data["bounds"], halo=halo["roads"])
    return {"parcels": cand, "edges": edges, "roads": roads}


def _npz_bytes(**arrays: Any) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def scores_task(pid: int, ctx: dict[str, Any]) -> dict[str, Any]:
    """Stage 2 on one partition: scores with the study-wide normalisation ranges."""
    t0 = time.perf_counter()
    out = Path(ctx["out_dir"])
    frame = gpd.read_parquet(out / f"criteria/part-{pid:05d}.parquet")
    rb: Rulebook = ctx["rulebook"]
    penalties = ctx["penalties"]
    scored = scoring.score_parcels(
        pd.concat([criteria.scoring_inputs(frame), frame[list(penalties)]], axis=1),
        eligible=frame["eligible"],
        parcel_id=frame["parcel_id"],
        weights=ctx["weights"],
        penalties=penalties,
        normalisation=ctx["normalisation"],
        criteria_info=criteria.CRITERIA_INFO,
    ).drop(columns="rank")
    frame = pd.concat([frame, scored], axis=1)
    frame["capacity_slots"] = reuse.parcel_slots(
        frame,
        buildable_m2=frame["buildable_m2"].to_numpy(),
        m2_per_child=rb.param("m2_per_child"),
        class_sizes=rb.parameters["class_sizes"].values,
        max_classes=int(rb.param("max_classes")),
    )
    name = f"scores/part-{pid:05d}.parquet"
    files = {name: _write_parquet(frame, out / name)}
    return {"files": files, "seconds": {"scores": round(time.perf_counter() - t0, 3)},
            "peak_rss_mb": peak_rss_mb()}  # fmt: skip


def candidates_task(
    pid: int, rank: np.ndarray, chosen: np.ndarray, ctx: dict[str, Any]
) -> dict[str, Any]:
    """Stage 3 on one partition: study-wide ranks and the selected flag, final columns."""
    t0 = time.perf_counter()
    out = Path(ctx["out_dir"])
    frame = gpd.read_parquet(out / f"scores/part-{pid:05d}.parquet")
    pos = np.searchsorted(frame["_row"].to_numpy(), rank[0])
    r = pd.Series(pd.NA, index=frame.index, dtype="Int64")
    r.iloc[pos] = rank[1]
    frame["rank"] = r
    frame["selected"] = np.isin(frame["_row"].to_numpy(), chosen)
    frame["partition"] = pid
    frame["input_row"] = frame["_row"]  # the parcel's position in the study's parcel table
    cols = [c for c in ctx["columns"] if c in frame] + ["partition", "input_row"]
    name = f"candidates/part-{pid:05d}.parquet"
    files = {name: _write_parquet(frame[cols], out / name)}
    return {"files": files, "seconds": {"candidates": round(time.perf_counter() - t0, 3)},
            "peak_rss_mb": peak_rss_mb()}  # fmt: skip


def merge_parquet(files: list[Path], target: Path) -> int:
    """Stream partition GeoParquet files into one file (a row group each; bounded memory)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schemas = [pq.read_schema(f) for f in files]
    schema = pa.unify_schemas([s.remove_metadata() for s in schemas], promote_options="permissive")
    geo = json.loads(schemas[0].metadata[b"geo"])
    boxes = [json.loads(s.metadata[b"geo"])["columns"]["geometry"].get("bbox") for s in schemas]
    boxes = [b for b in boxes if b]
    if boxes:
        arr = np.array(boxes)
        geo["columns"]["geometry"]["bbox"] = [
            float(arr[:, 0].min()), float(arr[:, 1].min()),
            float(arr[:, 2].max()), float(arr[:, 3].max()),
        ]  # fmt: skip
    types = set()
    for s in schemas:
        types |= set(json.loads(s.metadata[b"geo"])["columns"]["geometry"]["geometry_types"])
    geo["columns"]["geometry"]["geometry_types"] = sorted(types)
    schema = schema.with_metadata({b"geo": json.dumps(geo).encode()})

    def write(path: Path) -> None:
        with pq.ParquetWriter(path, schema) as writer:
            for f in files:
                writer.write_table(pq.read_table(f).cast(schema))

    return checkpoint.write_atomic(target, write)


def write_geopackage(files: list[Path], extra: Mapping[str, gpd.GeoDataFrame], target: Path) -> int:
    """Write the GeoPackage of a run, atomically.

    The partition files are streamed into its ``candidates`` layer (one partition in memory
    at a time), then the ``extra`` layers are added.
    """
    import pyogrio

    from siting.outputs import gpkg_ready

    def write(path: Path) -> None:
        named = path.with_name(path.name + ".gpkg")  # GDAL wants the extension
        for i, f in enumerate(files):
            frame = gpd.read_parquet(f).drop(columns=["partition", "input_row"])
            pyogrio.write_dataframe(
                gpkg_ready(frame), named, layer="candidates", driver="GPKG", append=i > 0,
                promote_to_multi=True,
            )  # fmt: skip
        for name, frame in extra.items():
            pyogrio.write_dataframe(
                gpkg_ready(frame), named, layer=name, driver="GPKG", promote_to_multi=True
            )
        named.replace(path)

    return checkpoint.write_atomic(target, write)


def exact_partitioned(
    out: Path,
    parts: list[Any],
    table: pd.DataFrame,
    unmet: np.ndarray,
    *,
    k: int,
    max_pairs: int,
) -> list[tuple[int, np.ndarray, float]] | None:
    """Maximal covering solved exactly, as ``run_study`` does it, when the walks fit.

    The partitions' walks of the eligible parcels are stacked into one matrix (rows in rank
    order) and given to :func:`siting.selection.max_cover`; ``None`` when they hold more
    than ``max_pairs`` pairs (then :func:`greedy_partitioned`). Returns ``(parcel row, homes
    newly covered, gain)`` per pick, in the order of :meth:`Selection.table`.
    """
    from scipy import sparse

    from siting import selection

    elig = table[table["eligible"]].sort_values("rank")
    order = elig["_row"].to_numpy()
    if len(order) == 0:
        return []
    slot = pd.Series(np.arange(len(order)), index=order)
    rows, cols, total = [], [], 0
    for p in parts:
        with np.load(out / f"within/part-{p.id:05d}.npz") as z:
            total += len(z["indices"])
            if total > max_pairs:
                return None
            counts = np.diff(z["indptr"])
            rows.append(np.repeat(slot.loc[z["rows"]].to_numpy(), counts))
            cols.append(z["indices"])
    r, c = np.concatenate(rows), np.concatenate(cols)
    within = sparse.csr_matrix((np.ones(len(r)), (r, c)), shape=(len(order), len(unmet)))
    choice = selection.max_cover(within, unmet, k=k, candidates=np.arange(len(order)))
    covered = np.zeros(len(unmet), dtype=bool)
    picks = []
    for site in choice.table()["row"].to_numpy():
        reach = within[site].indices
        new = reach[~covered[reach]]
        covered[new] = True
        picks.append((int(order[site]), new, float(unmet[new].sum())))
    return picks


def greedy_partitioned(
    out: Path,
    parts: list[Any],
    table: pd.DataFrame,
    unmet: np.ndarray,
    *,
    k: int,
    reach: float,
    homes: gpd.GeoSeries,
) -> list[tuple[int, np.ndarray, float]]:
    """Greedy maximal covering over the partitions' walks, as greedy_max_cover does it.

    Candidates are the eligible parcels in rank order (ties: the best rank); each pick
    updates the gains of the candidates that reach the homes it newly covers, which lie in
    the partitions within ``reach`` of those homes. Returns ``(parcel row, homes newly
    covered, gain)`` per pick.
    """
    elig = table[table["eligible"]].sort_values("rank")
    order = elig["_row"].to_numpy()
    slot = pd.Series(np.arange(len(order)), index=order)
    gains = np.empty(len(order))
    walks: dict[int, dict[str, np.ndarray]] = {}

    def load(pid: int) -> dict[str, np.ndarray]:
        if pid not in walks:
            with np.load(out / f"within/part-{pid:05d}.npz") as z:
                walks[pid] = {key: z[key] for key in z.files}
        return walks[pid]

    owner = np.empty(int(table["_row"].max()) + 1 if len(table) else 0, dtype=np.int64)
    for p in parts:
        with np.load(out / f"within/part-{p.id:05d}.npz") as z:
            gains[slot.loc[z["rows"]].to_numpy()] = z["gain0"]
        owner[p.rows] = p.id
    covered = np.zeros(len(unmet), dtype=bool)
    picks: list[tuple[int, np.ndarray, float]] = []
    xy = shapely.get_coordinates(homes.to_numpy())
    for _ in range(min(k, len(order))):
        best = gains.max() if len(order) else 0.0
        if best <= 0:
            break
        j = int(np.flatnonzero(gains >= best)[0])
        row = int(order[j])
        w = load(int(owner[row]))
        at = int(np.flatnonzero(w["rows"] == row)[0])
        cols = w["indices"][w["indptr"][at] : w["indptr"][at + 1]]
        new = cols[~covered[cols]]
        covered[new] = True
        picks.append((row, new, float(unmet[new].sum())))
        if len(new):
            x0, y0 = xy[new].min(axis=0) - reach
            x1, y1 = xy[new].max(axis=0) + reach
            for p in parts:
                bx0, by0, bx1, by1 = p.bounds
                if bx0 > x1 or bx1 < x0 or by0 > y1 or by1 < y0:
                    continue
                z = load(p.id)
                hit = np.isin(z["indices"], new)
                if not hit.any():
                    continue
                entry_row = np.repeat(np.arange(len(z["rows"])), np.diff(z["indptr"]))
                dec = np.bincount(
                    entry_row[hit], weights=unmet[z["indices"][hit]], minlength=len(z["rows"])
                )
                touched = np.unique(entry_row[hit])
                gains[slot.loc[z["rows"][touched]].to_numpy()] -= dec[touched]
        gains[j] = -np.inf
    return picks


def selected_frame(
    files: list[Path], parts: list[Any], picks: list[tuple[int, np.ndarray, float]], crs: Any
) -> gpd.GeoDataFrame:
    rows = []
    for order, (row, _, gain) in enumerate(picks, start=1):
        pid = next(p.id for p in parts if np.isin(row, p.rows))
        frame = gpd.read_parquet(files[pid])
        hit = frame[frame["input_row"] == row].copy()
        hit["pick_order"] = order
        hit["new_under3_covered"] = gain
        rows.append(hit)
    if not rows:
        empty = gpd.read_parquet(files[0]).iloc[:0]
        return empty.assign(pick_order=[], new_under3_covered=[]).drop(
            columns=["input_row", "partition"]
        )
    sel = gpd.GeoDataFrame(pd.concat(rows, ignore_index=True), geometry="geometry", crs=crs)
    return sel.drop(columns=["input_row", "partition"])


def frame_pieces(cand: gpd.GeoDataFrame, edges: gpd.GeoDataFrame) -> dict[str, Any]:
    """Fingerprint pieces of the parcels and streets held in memory (chunks of bytes)."""
    return {
        "parcels": _wkb(cand.geometry),
        "parcel_id": (s.encode() + b"\n" for s in cand["parcel_id"].astype(str)),
        "edges": itertools.chain(_wkb(edges.geometry), [edges[["u", "v"]].to_numpy().tobytes()]),
    }


def study_fingerprint(
    inputs: Mapping[str, Any], haz: gpd.GeoDataFrame, homes: gpd.GeoDataFrame,
    options: Mapping[str, Any],
) -> str:  # fmt: skip
    """Fingerprint a study: its parcels and streets, hazards, homes and options.

    ``inputs`` are :func:`frame_pieces` of the layers in memory, or the files' digests.
    """
    pieces: dict[str, Any] = {
        **inputs,
        "hazards": itertools.chain(
            _wkb(haz.geometry),
            [haz[["hazard_class", "subtypes", "voltage_kv"]].astype(str).to_csv().encode()],
        ),
        "homes": itertools.chain(
            _wkb(homes.geometry),
            [homes[["residents", "under3", "unmet_under3"]].to_numpy().tobytes()],
        ),
        "options": json.dumps(options, sort_keys=True, default=str),
    }
    return checkpoint.fingerprint(pieces)


def _wkb(geoms: gpd.GeoSeries, chunk: int = 100_000) -> Iterator[bytes]:
    arr = geoms.to_numpy()
    for i in range(0, len(arr), chunk):
        yield b"".join(shapely.to_wkb(arr[i : i + chunk], hex=False, include_srid=False))


def normalisation_ranges(
    stats: list[Mapping[str, Any]],
) -> tuple[dict[str, list[float]], dict[str, Normalisation]]:
    """Study-wide min-max of each criterion from the partitions' extremes (the reduce).

    Returns the ranges and the linear normalisations with those ends; a criterion whose
    eligible values are all alike (or with no eligible parcel) keeps the default, which
    gives every parcel 1 in each partition as in the whole study.
    """
    spans: dict[str, list[float]] = {}
    norm: dict[str, Normalisation] = {}
    names = sorted({name for s in stats for name in s["extremes"]})
    for name in names:
        c = criteria.CRITERIA_INFO[name]
        ends = np.array([s["extremes"][name] for s in stats if s["extremes"].get(name)])
        lo, hi = (float(ends[:, 0].min()), float(ends[:, 1].max())) if len(ends) else (0.0, 0.0)
        spans[name] = [lo, hi]
        if hi > lo:
            norm[name] = Normalisation(kind="linear", direction=c.direction, lo=lo, hi=hi)
    return spans, norm


def partition_summary(
    manifest: Mapping[str, Any], stages: Sequence[str], parts: Sequence[Any], *,
    halo: Mapping[str, float], reused: Mapping[str, int], workers: int,
) -> dict[str, Any]:  # fmt: skip
    """Partition counts, halos, reused partitions, summed task seconds, worker peak memory."""
    seconds: dict[str, dict[str, float]] = {}
    for st in stages:
        entries = list(manifest["stages"].get(st, {}).values())
        names = sorted({n for e in entries for n in e["seconds"]})
        seconds[st] = {n: round(sum(e["seconds"].get(n, 0.0) for e in entries), 3) for n in names}
    peaks = [e.get("peak_rss_mb", 0.0) for st in stages for e in manifest["stages"][st].values()]
    crit = list(manifest["stages"].get("criteria", {}).values())
    return {
        "count": len(parts),
        "parcels_per_partition": [len(p.rows) for p in parts],
        "halo_m": dict(halo),
        "reused": dict(reused),
        "workers": workers,
        "task_seconds": seconds,
        # CPU seconds of the criteria tasks (all their threads) against their wall seconds:
        # below 1 per task means the worker waited for a core
        "criteria_cpu_s": round(sum(e.get("cpu_s", 0.0) for e in crit), 3),
        "worker_peak_rss_mb": max(peaks, default=0.0),
        "worker_peak_rss_mb_by_stage": {
            st: max(
                (e.get("peak_rss_mb", 0.0) for e in manifest["stages"][st].values()), default=0.0
            )
            for st in stages
        },
    }
