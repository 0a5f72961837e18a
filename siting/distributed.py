"""Distributed: the same study, partitioned over a dask cluster, with the same answers.

:func:`run_study_partitioned` takes the arguments of :func:`siting.run_study` plus an output
folder and a cluster (``None`` or ``"local"``: a :class:`distributed.LocalCluster`; a
scheduler address; or a :class:`distributed.Client`). The stages that grow with the parcels
run per partition (:mod:`siting.partition`: Hilbert runs of parcels, each with the hazards,
streets, homes and roads within its halo):

1. ``criteria``: constraints, compliance, buildable area, walking catchments
   (:func:`siting.access.walk_sums` on the street network cut to the halo), straight-line
   catchment, frontage, clearance, nearest facilities, and the walks of eligible parcels
   for site selection;
2. ``scores``: :func:`siting.scoring.score_parcels` with each criterion's min and max over
   the eligible parcels of the *whole* study (a reduce over the partitions' extremes);
3. ``candidates``: ranks over the whole study and the selected sites, one GeoParquet file
   per partition, then merged into ``candidates.parquet``.

The demand (homes), the existing supply and its gap (E2SFCA) and community coverage are
computed once on the client with the functions :func:`siting.run_study` uses, the walks of
the facilities on the streets near them only (:func:`siting.partition.local_walks`). Site
selection is exact (:func:`siting.selection.max_cover` on the partitions' walks, as
``run_study``) while the walks hold at most :data:`EXACT_SELECTION_PAIRS` pairs; beyond, the
greedy maximal covering of :func:`siting.selection.greedy_max_cover`, run exactly (same
picks, same tie-breaks, same floating-point sums) by reading only the walks of the
partitions near each pick. The answers are ``run_study``'s to the last bit (see
``docs/scale.md``).

The layers and parcels may be files (:mod:`siting.studyfiles`): then no process holds the
study's data, and each worker reads its partition's pieces.

Checkpoints (:mod:`siting.checkpoint`): every partition's files are written under a
temporary name and renamed when whole, and recorded in ``manifest.json`` by the client; a
re-run with the same inputs and folder skips what is recorded and gives the same result. A
partition that fails (an error, or its worker killed) is reported by id with its error in a
:class:`PartitionError`, after the other partitions have finished and been recorded.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from siting import (
    _partwork,
    access,
    checkpoint,
    demand,
    hazards,
    idleland,
    parcels,
    rastersum,
    scoring,
    studyfiles,
)
from siting._errors import ConfigError
from siting._validate import require_columns
from siting.cluster import PartitionError, connect, failure, run_stage
from siting.crs import System, metric_crs
from siting.partition import (
    halo_widths,
    hazard_catalogue,
    hilbert_cut,
    hilbert_partitions,
    largest_reach,
    local_network,
    rows_near,
)
from siting.rulebook import Rulebook, default_rulebook
from siting.study import (
    FLOOR_AREA_RATIO,
    PUBLIC_RESOURCES,
    Census,
    community_share,
    existing_supply,
    study_demand,
)
from siting.timing import Stages

if TYPE_CHECKING:
    from siting.population import PopulationSurface

__all__ = ["PartitionError", "PartitionedResult", "connect", "run_study_partitioned"]

log = logging.getLogger(__name__)

#: Map stages, in order; each writes one set of files per partition.
STAGES = ("criteria", "scores", "candidates")
#: Default parcels per partition.
PARTITION_SIZE = 50_000
#: Most walking pairs of eligible parcels for the exact site selection (as in-process);
#: beyond, the greedy maximal covering over the partitions' walks.
EXACT_SELECTION_PAIRS = 20_000_000


@dataclass
class PartitionedResult:
    """What a partitioned run leaves: files in ``out_dir`` and the small tables in memory.

    Attributes
    ----------
    out_dir
        The run folder: ``candidates.parquet`` (merged), ``candidates/part-*.parquet``,
        ``compliance/part-*.parquet``, ``selected.parquet``, ``summary.json``,
        ``manifest.json``.
    selected, catchments
        Chosen new sites in pick order, and the walking catchment of each.
    summary
        As ``summary.json``; ``seconds`` per stage, ``partitions`` (count, halo widths,
        reused partitions, per-partition seconds and worker peak memory).
    dashboard_link
        The dask dashboard of the cluster used.
    """

    out_dir: Path
    selected: gpd.GeoDataFrame
    catchments: gpd.GeoDataFrame
    summary: dict[str, Any]
    dashboard_link: str | None = None
    n_partitions: int = 0
    part_files: list[Path] = field(default_factory=list)

    @property
    def candidates_path(self) -> Path:
        """The merged GeoParquet of every parcel."""
        return self.out_dir / "candidates.parquet"

    def candidates(self, columns: list[str] | None = None) -> pd.DataFrame:
        """Every parcel (read from the merged GeoParquet; partition by partition order).

        Without ``geometry`` among ``columns``, a plain DataFrame.
        """
        if columns is not None and "geometry" not in columns:
            return pd.read_parquet(self.candidates_path, columns=columns)
        return gpd.read_parquet(self.candidates_path, columns=columns)

    def candidates_dask(self) -> Any:
        """Read the candidates as a dask-geopandas frame, one partition per file."""
        import dask_geopandas

        return dask_geopandas.read_parquet([str(p) for p in self.part_files])

    def compliance(self) -> pd.DataFrame:
        """Read the compliance table (one row per parcel and tested rule)."""
        files = sorted((self.out_dir / "compliance").glob("part-*.parquet"))
        return pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)


def run_study_partitioned(
    layers: Mapping[str, gpd.GeoDataFrame] | str | Path,
    *,
    out_dir: str | Path,
    parcels_gdf: gpd.GeoDataFrame | str | Path | None = None,
    parcels_layer: str | None = None,
    rulebook: Rulebook | None = None,
    weights: Mapping[str, float] = scoring.DEFAULT_WEIGHTS,
    k: int = 5,
    census: Census | None = None,
    under3_share: float | None = None,
    study_name: str = "study",
    progress: bool = False,
    hazards_gdf: gpd.GeoDataFrame | None = None,
    analysis_crs: System = "utm",
    population: PopulationSurface | None = None,
    cluster: object = None,
    n_workers: int = 2,
    partition_size: int = PARTITION_SIZE,
    n_partitions: int | None = None,
    allowed_failures: int = 0,
) -> PartitionedResult:
    """Run the study partitioned on a dask cluster (same answers as :func:`siting.run_study`).

    Parameters
    ----------
    layers, parcels_gdf
        As :func:`siting.run_study`, or the paths of a GeoPackage of the layers
        (:func:`siting.sources.layers_to_gpkg`) and of the parcel file: then the client
        streams them and each worker reads its own pieces (:mod:`siting.studyfiles`), so
        no process holds the study's data.
    parcels_layer
        Layer of the parcel file (default: its only or first layer).
    rulebook, weights, k, census, under3_share, study_name, progress, hazards_gdf,
    analysis_crs, population
        As :func:`siting.run_study`. With a population raster in the analysis CRS, each
        partition gets the window of the raster (or of its convolution with the walking
        disk) its parcels read for the straight-line catchment.
    out_dir
        Run folder (created); it must be readable by every worker (a shared disk for a
        remote cluster). A re-run with the same inputs skips the partitions recorded there.
    cluster
        ``None``/``"local"`` (a LocalCluster of ``n_workers`` processes), a scheduler
        address or a :class:`distributed.Client` (see :func:`connect`).
    n_workers
        Workers of a local cluster.
    partition_size, n_partitions
        Parcels per partition (default 50,000), or the number of partitions.
    allowed_failures
        Local cluster only: see :func:`connect`.

    Returns
    -------
    PartitionedResult

    Raises
    ------
    PartitionError
        If partitions failed (each listed with its error); what finished is kept.
    ConfigError
        On bad options, or when ``out_dir`` holds a run of other inputs.
    DataSourceError, InputDataError
        When the layer or parcel files are missing or unreadable, lack a layer, or hold
        repeated parcel ids (file mode).
    """
    from siting import capacity, constraints

    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        msg = f"k (number of new sites) must be a positive integer, got {k!r}"
        raise ConfigError(msg)
    if (
        isinstance(partition_size, bool)
        or not isinstance(partition_size, int)
        or partition_size < 1
    ):
        msg = f"partition_size must be a positive number of parcels, got {partition_size!r}"
        raise ConfigError(msg)
    out = Path(out_dir)
    rb = rulebook or default_rulebook()
    timer = Stages(progress)
    walk_m = rb.param("walk_m")
    cap = scoring.CRITERIA["hazard_margin_m"].cap
    edge_m = max(largest_reach(rb), walk_m)
    if isinstance(layers, str | Path):
        # the layers stay in their file: whole only what the study needs whole, the parcels
        # and buildings streamed, each partition's pieces read by the worker
        if not isinstance(parcels_gdf, str | Path):
            msg = (
                "with the layers in a file, give the parcels as a file too "
                "(parcels_gdf='parcels.gpkg')"
            )
            raise ConfigError(msg)
        with timer.stage("crs"):
            source = studyfiles.open_study_files(
                layers, parcels_gdf, parcels_layer=parcels_layer, system=analysis_crs
            )
            crs = source.crs
            lay = {n: studyfiles.read_layer(source, n) for n in _WHOLE}
            lay["arterials"] = studyfiles.read_layer(source, "roads", where=_arterials_sql())
        inputs = {n: int(i["features"]) for n, i in studyfiles.layer_info(source).items()}
    else:
        source = None
        with timer.stage("crs"):
            crs = metric_crs(layers["walk_edges"], system=analysis_crs)
            lay = {n: _project(layer, crs) for n, layer in layers.items() if n in _USED}
            roads_all = lay["roads"]
            lay["arterials"] = roads_all[roads_all["highway"].isin(list(parcels.ARTERIALS))]
        inputs = {name: len(layer) for name, layer in layers.items()}
    with timer.stage("hazards"):
        if hazards_gdf is None:
            haz = hazards.hazards_from_layers(lay)
        else:
            require_columns(hazards_gdf, "hazards_gdf", hazards.HAZARD_COLUMNS)
            haz = hazards_gdf.to_crs(crs).reset_index(drop=True)
    halo = halo_widths(rb, walk_m=walk_m, clearance_cap=cap)
    with timer.stage("parcels"):
        cand = None
        if source is not None:
            outline = studyfiles.parcel_outline(source, edge_m=edge_m)
            n_cand = len(outline)
            near = outline["near_extract_edge"].to_numpy()
            rep_xy = outline[["rx", "ry"]].to_numpy()
            has_idle = "idle_land" in outline.attrs["columns"]
        else:
            if parcels_gdf is None:
                cand = parcels.parcels_from_blocks(lay["landuse"], lay["roads"])
            else:
                cand = parcels.prepare_parcels(parcels_gdf, crs)
            cand = cand.reset_index(drop=True)
            cand["area_m2"] = cand.area
            cand["near_extract_edge"] = parcels.check_parcels_in_extent(
                cand, lay["walk_edges"], edge_m=edge_m
            ).to_numpy()
            n_cand = len(cand)
            near = cand["near_extract_edge"].to_numpy()
            rep_xy = shapely.get_coordinates(cand.geometry.representative_point().to_numpy())
            has_idle = "idle_land" in cand.columns
    if weights is scoring.DEFAULT_WEIGHTS and has_idle:
        # as run_study: idle and low-efficiency land preferred (policy)
        weights = {**scoring.DEFAULT_WEIGHTS, "idle_land": idleland.IDLE_WEIGHT}
    weight_map = dict(getattr(weights, "weights", weights))  # a mapping or an AHPWeights

    def edges_near(points: gpd.GeoSeries) -> gpd.GeoDataFrame:
        """Streets that hold every walk of ``walk_m`` from ``points`` (and more)."""
        if source is None:
            return lay["walk_edges"]
        return studyfiles.read_near(source, "walk_edges", points, 2.0 * walk_m)

    with timer.stage("demand"):
        share = rb.param("under3_share") if under3_share is None else under3_share
        dwellings = None
        if source is not None:  # the buildings streamed: their residential points kept
            batches = studyfiles.stream_layer(source, "buildings")
            dwellings = demand.dwellings_in_batches(batches, lay["landuse"])
        homes, surface, calibration, method = study_demand(
            lay.get("buildings"), lay["landuse"], under3_share=share, population=population,
            census=census, dwellings=dwellings,
        )  # fmt: skip
    with timer.stage("supply"):
        # on the streets near the facilities only (no whole network on the client)
        am = lay["amenities"]
        streets = lay["walk_edges"] if source is None else edges_near
        sup = existing_supply(streets, am, lay["landuse"], homes, rb)
        existing, ex_pts, served, gap = sup.existing, sup.points, sup.served, sup.gap
        homes = sup.homes.reset_index(drop=True)
        communities, coverage_before = sup.communities, sup.coverage_before
    with timer.stage("raster"):
        # the straight-line catchment from the raster, as run_study: the grid prepared once
        # (the method chosen for all the parcels), a window of it sent to each partition
        grid = None
        if surface is not None and pyproj.CRS(surface.crs) == pyproj.CRS(crs):
            pts = gpd.GeoSeries(shapely.points(rep_xy), crs=crs)
            grid = rastersum.catchment_grid(
                surface, dist=walk_m, method=rastersum.choose_method(surface, pts, dist=walk_m)
            )
            del pts
    with timer.stage("partition"):
        n_parts = n_partitions or max(1, -(-n_cand // partition_size))
        if cand is not None:
            parts = hilbert_partitions(cand, n_partitions=n_parts)
        else:
            parts = hilbert_cut(
                outline[["cx", "cy"]].to_numpy(),
                outline[["minx", "miny", "maxx", "maxy"]].to_numpy(), n_partitions=n_parts,
            )  # fmt: skip
        public = am[am["amenity"].isin(PUBLIC_RESOURCES)]
        catalogue = hazard_catalogue(haz)
        empty = constraints.apply_constraints(_no_parcels(crs), haz, rb)
        penalties = {
            f"penalty_{constraints.rule_key(r)}": float(r.weight or 0.0)
            for r in rb.active_rules
            if r.has_soft_band
        }
        options = {
            "study": study_name, "rulebook": repr(rb), "weights": weight_map, "k": k,
            "partitions": [int(p.rows[0]) for p in parts], "n": len(parts),
            "under3_share": share, "census": calibration is not None, "crs": crs.to_string(),
            "raster": None if grid is None else {
                "method": grid.method, "shape": grid.shape, "transform": list(grid.transform),
                "values": checkpoint.fingerprint({"v": grid.values.tobytes()}),
            },
        }  # fmt: skip
        if source is None:
            fp = _partwork.study_fingerprint(
                _partwork.frame_pieces(cand, lay["walk_edges"]), haz, homes, options
            )
        else:
            digests = studyfiles.file_digest([source.layers, source.parcels])
            fp = _partwork.study_fingerprint({"source": digests}, haz, homes, options)
        checkpoint.remove_partial(out)
        manifest = checkpoint.load_manifest(out, fp)
        out.mkdir(parents=True, exist_ok=True)
    client, close = connect(cluster, n_workers=n_workers, allowed_failures=allowed_failures)
    link = getattr(client, "dashboard_link", None)
    log.info("dask dashboard: %s", link)
    if progress:
        print(f"dask dashboard: {link}", flush=True)
    workers = max(1, len(client.scheduler_info().get("workers", {})))
    try:
        ctx = {
            "out_dir": str(out), "rulebook": rb, "walk_m": walk_m, "under3_share": share,
            "n_features": empty.attrs["n_features"], "screening_m": empty.attrs["screening_m"],
            "facilities": {
                "public": public[["geometry"]], "stops": lay["stops"][["geometry"]],
                "arterials": lay["arterials"][["geometry"]], "existing": existing[["geometry"]],
            },
            "source": source, "crs": crs, "halo": halo,
        }  # fmt: skip
        [ctx_f] = client.scatter([ctx], broadcast=True)
        trees = [haz, homes] + ([] if source else [lay["walk_edges"], lay["roads"]])
        for frame in trees:
            _ = frame.sindex
        home_cols = ["geometry", "under3", "residents", "unmet_under3"]

        def criteria(pid: int) -> Any:
            p = parts[pid]
            hz_rows = np.union1d(rows_near(haz, p.bounds, halo["hazards"]), catalogue)
            h_rows = rows_near(homes, p.bounds, halo["homes"])
            data = {
                "id": pid,
                "rows": p.rows,
                "bounds": p.bounds,
                "hazards": haz.iloc[hz_rows].reset_index(drop=True),
                "homes": homes.iloc[h_rows][home_cols].assign(home=h_rows).reset_index(drop=True),
                "radius_grid": None if grid is None else rastersum.crop_grid(grid, p.bounds),
            }
            if cand is not None:
                edges, roads = lay["walk_edges"], lay["roads"]
                data["parcels"] = cand.iloc[p.rows].reset_index(drop=True)
                data["edges"] = edges.iloc[rows_near(edges, p.bounds, halo["network"])]
                data["roads"] = roads.iloc[rows_near(roads, p.bounds, halo["roads"])]
            else:  # the worker reads its parcels, streets and roads from the source
                data["parcel_fids"] = outline["fid"].to_numpy()[p.rows]
                data["near_extract_edge"] = near[p.rows]
            [data_f] = client.scatter([data], hash=False)
            return client.submit(
                _partwork.criteria_task, data_f, ctx_f, key=f"criteria-{pid}-{fp[:8]}"
            )

        reused: dict[str, int] = {}

        def run(stage: str, submit: Callable[[int], Any]) -> None:
            todo = [p.id for p in parts if not checkpoint.finished(out, manifest, stage, p.id)]
            reused[stage] = len(parts) - len(todo)
            failures = run_stage(
                stage, todo, submit, out_dir=out, manifest=manifest, in_flight=2 * workers,
                progress=progress,
            )  # fmt: skip
            if failures:
                raise failure(stage, failures, len(parts), out)

        with timer.stage("criteria (partitioned)"):
            run("criteria", criteria)
        stats = [manifest["stages"]["criteria"][str(p.id)] for p in parts]
        with timer.stage("normalisation (reduce)"):
            spans, norm = _partwork.normalisation_ranges(stats)
        sctx = {"out_dir": str(out), "rulebook": rb, "weights": weight_map,
                "penalties": penalties, "normalisation": norm,
                "floor_area_ratio": FLOOR_AREA_RATIO}  # fmt: skip
        [sctx_f] = client.scatter([sctx], broadcast=True)
        with timer.stage("scores (partitioned)"):
            run("scores", lambda pid: client.submit(
                _partwork.scores_task, pid, sctx_f, key=f"scores-{pid}-{fp[:8]}"))  # fmt: skip
        with timer.stage("ranks (reduce)"):
            cols = ["parcel_id", "eligible", "score", "_row"]
            table = pd.concat(
                [pd.read_parquet(out / f"scores/part-{p.id:05d}.parquet", columns=cols)
                 for p in parts], ignore_index=True,
            )  # fmt: skip
            table["rank"] = scoring.rank_scores(
                table["score"], parcel_id=table["parcel_id"], eligible=table["eligible"]
            )
        with timer.stage("selection"):
            unmet = homes["unmet_under3"].to_numpy()
            # exact, as in-process, while the walks fit in memory; else the greedy over the
            # partitions' walks, which reads only the partitions near each pick
            picks = _partwork.exact_partitioned(
                out, parts, table, unmet, k=k, max_pairs=EXACT_SELECTION_PAIRS
            )
            selection_method = "maximal covering (MCLP), exact (HiGHS), as run_study"
            if picks is None:
                selection_method = "greedy maximal covering, exact greedy, over the partitions"
                picks = _partwork.greedy_partitioned(
                    out, parts, table, unmet, k=k, reach=walk_m, homes=homes.geometry
                )
            chosen = np.array([p[0] for p in picks], dtype=np.int64)
        first = pd.read_parquet(out / f"scores/part-{parts[0].id:05d}.parquet").columns
        columns = [c for c in first if c != "_row"]
        columns.insert(columns.index("score") + 1, "rank")
        cctx = {"out_dir": str(out), "columns": [*columns, "selected"]}
        [cctx_f] = client.scatter([cctx], broadcast=True)
        ranked = table[table["eligible"]]
        by_part = {p.id: ranked[ranked["_row"].isin(p.rows)] for p in parts}

        def final(pid: int) -> Any:
            r = by_part[pid]
            arr = np.vstack([r["_row"].to_numpy(), r["rank"].to_numpy(dtype=np.int64)])
            [arr_f] = client.scatter([arr], hash=False)
            return client.submit(_partwork.candidates_task, pid, arr_f, chosen, cctx_f,
                                 key=f"candidates-{pid}-{fp[:8]}")  # fmt: skip

        with timer.stage("candidates (partitioned)"):
            run("candidates", final)
    finally:
        close()
    files = [out / f"candidates/part-{p.id:05d}.parquet" for p in parts]
    with timer.stage("merge"):
        _partwork.merge_parquet(files, out / "candidates.parquet")
    with timer.stage("selected"):
        sel = _partwork.selected_frame(files, parts, picks, crs)
        need = sel["walk_residents"].to_numpy() * rb.param("target_slots_per_1000") / 1000
        whole = capacity.slots_for_need(
            need, class_sizes=rb.parameters["class_sizes"].values,
            max_classes=int(rb.param("max_classes")),
        )  # fmt: skip
        sel["planned_slots"] = np.minimum(sel["capacity_slots"].to_numpy(), whole)
        new_pts = sel.geometry.representative_point()
        catch = gpd.GeoDataFrame(
            {"parcel_id": sel["parcel_id"].to_numpy(),
             "under3_in_walk": sel["walk_under3"].to_numpy(), "walk_m": walk_m},
            geometry=_service_areas(edges_near(new_pts), new_pts, walk_m), crs=crs,
        )  # fmt: skip
        checkpoint.write_atomic(out / "selected.parquet", sel.to_parquet)
    with timer.stage("geopackage"):
        _partwork.write_geopackage(
            files, {"selected": sel, "catchments": catch}, out / "results.gpkg"
        )
    u3 = homes["under3"].to_numpy()
    total_u3 = float(u3.sum())
    covered_after = served.copy()
    for _, cols_hit, _ in picks:
        covered_after[cols_hit] = True
    residents = float(homes["residents"].sum())
    new_slots = int(sel["planned_slots"].sum())
    all_pts = gpd.GeoSeries(pd.concat([ex_pts, new_pts]).to_numpy(), crs=crs)
    coverage_after = community_share(streets, all_pts, communities, walk_m)
    crit_stats = manifest["stages"]["criteria"]
    part_info = _partwork.partition_summary(
        manifest, STAGES, parts, halo=halo, reused=reused, workers=workers
    )
    summary: dict[str, Any] = {
        "study": study_name,
        "crs": crs.to_string(),
        "rulebook": {"id": rb.id, "version": rb.version},
        "inputs": inputs,
        "counts": {
            "candidates": n_cand,
            "eligible": int(table["eligible"].sum()),
            "excluded": int((~table["eligible"]).sum()),
            "near_extract_edge": int(near.sum()),
            "selected": len(sel),
            "hazards": {str(k_): int(v) for k_, v in haz["hazard_class"].value_counts().items()},
            "existing_childcare": len(existing),
            "residential_buildings": len(homes),
        },
        "excluded_by_rule": {
            rid: sum(int(e["excluded_by_rule"][rid]) for e in crit_stats.values())
            for rid in next(iter(crit_stats.values()))["excluded_by_rule"]
        }
        if crit_stats
        else {},
        "screening_m": empty.attrs["screening_m"],
        "demand": {
            "residents_estimate": round(residents, 1),
            "under3_estimate": round(total_u3, 1),
            "method": method,
            "under3_share": share,
        },
        "targets": {
            "coverage_before": coverage_before,
            "coverage_after": coverage_after,
            "communities": len(communities),
            "under3_in_walk_before": round(float(u3[served].sum() / total_u3), 4)
            if total_u3
            else 0.0,
            "under3_in_walk_after": round(float(u3[covered_after].sum() / total_u3), 4)
            if total_u3
            else 0.0,
            "new_slots": new_slots,
        },
        "supply_gap_before": gap.totals,
        "selection": {
            "method": selection_method,
            "k": k,
            "under3_newly_covered": round(float(sum(g for _, _, g in picks)), 2),
        },
        "normalisation_ranges": spans,
        "weights": weight_map,
        "partitions": part_info,
        "seconds": timer.seconds,
        "client_peak_rss_mb": timer.peak_mb,
    }
    text = json.dumps(summary, indent=1, ensure_ascii=False, default=str)
    checkpoint.write_atomic(out / "summary.json", lambda p: p.write_text(text, encoding="utf-8"))
    return PartitionedResult(
        out_dir=out, selected=sel, catchments=catch, summary=summary, dashboard_link=link,
        n_partitions=len(parts), part_files=files,
    )  # fmt: skip


#: Layers the client reads whole from a file (the others are streamed or read per partition).
_WHOLE = ("amenities", "landuse", "stops", "power", "pipelines", "sites")


def _arterials_sql() -> str:
    """OGR SQL condition selecting the arterial roads (:data:`siting.parcels.ARTERIALS`)."""
    classes = ", ".join(f"'{c}'" for c in sorted(parcels.ARTERIALS))
    return f"highway IN ({classes})"


def _no_parcels(crs: Any) -> gpd.GeoDataFrame:
    """Make an empty parcel table (to read the study-wide constraint attributes)."""
    return gpd.GeoDataFrame({"parcel_id": []}, geometry=gpd.GeoSeries([], crs=crs), crs=crs)


#: Layers the study reads (``walk_nodes`` and others are not projected).
_USED = ("walk_edges", "roads", "buildings", "landuse", "amenities", "stops", "power",
         "pipelines", "sites")  # fmt: skip


def _project(layer: gpd.GeoDataFrame, crs: Any) -> gpd.GeoDataFrame:
    """Return the layer in ``crs``: itself (not a copy) when it is already there."""
    return layer if layer.crs is not None and layer.crs == crs else layer.to_crs(crs)


def _service_areas(edges: gpd.GeoDataFrame, points: gpd.GeoSeries, walk_m: float) -> np.ndarray:
    """Draw the walking catchments of a few points, on the streets near them."""
    net = local_network(edges, points, dist=walk_m)
    if net is None:
        return np.array([shapely.Polygon()] * len(points), dtype=object)
    return access.service_areas(net, points, dist=walk_m).to_numpy()
