"""The partitioned study on a dask LocalCluster gives the in-process answers (real OSM data).

Reference: :func:`siting.run_study` on the same inputs. Partitions are checked to really cut
through setbacks and walking catchments (hazards and counted homes outside a parcel's own
partition), and a worker killed mid-run is reported by partition and resumed.
"""

from __future__ import annotations

import importlib.util
import itertools
import json
import os
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import pytest
import shapely
from distributed import Client, LocalCluster
from distributed.diagnostics.plugin import WorkerPlugin

from siting import ConfigError, run_study
from siting.access import network_from_edges, walk_distances
from siting.checkpoint import finished, load_manifest, remove_partial, save_manifest, write_atomic
from siting.crs import metric_crs
from siting.distributed import PartitionError, run_study_partitioned
from siting.partition import halo_widths, hazard_catalogue, hilbert_partitions, rows_near
from siting.rulebook import default_rulebook
from siting.sources import layers_from_gpkg

ROOT = Path(__file__).resolve().parents[1]
CRITERIA = [
    "walk_under3", "walk_residents", "radius_under3", "unserved_under3", "dist_public_m",
    "dist_stop_m", "dist_main_road_m", "frontage_roads", "arterial_only_frontage",
    "dist_childcare_m", "hazard_margin_m", "buildable_m2", "capacity_slots",
]  # fmt: skip


def _script(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def client():
    """Two worker processes; a task on a worker that dies is reported at once."""
    import dask

    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        cluster = LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
            memory_limit=0,
        )  # fmt: skip
        c = Client(cluster)
    yield c
    c.close()
    cluster.close()


@pytest.fixture(scope="module")
def karhula():
    """The Karhula demo with blocks and every building as candidates (~2,000 parcels)."""
    layers = layers_from_gpkg(ROOT / "data" / "demo" / "karhula.gpkg")
    plots = _script("make_big_study")._plots(layers)
    return layers, plots, run_study(layers, parcels_gdf=plots, k=3)


@pytest.fixture(scope="module")
def karhula_parts(karhula, client, tmp_path_factory):
    layers, plots, _ = karhula
    out = tmp_path_factory.mktemp("karhula")
    return run_study_partitioned(
        layers, parcels_gdf=plots, k=3, out_dir=out, n_partitions=4, cluster=client
    )


def _compare(ref: gpd.GeoDataFrame, got: gpd.GeoDataFrame) -> None:
    """Every parcel the same: eligibility, reasons, criteria, scores and ranks, to the bit."""
    a = ref.set_index("parcel_id")
    b = got.set_index("parcel_id").loc[a.index]
    assert len(got) == len(ref)
    assert (a["eligible"] == b["eligible"]).all()
    assert (a["excluded_by"] == b["excluded_by"]).all()
    for col in [*CRITERIA, *a.filter(regex="^(dist|margin|penalty|contrib)_").columns, "score"]:
        np.testing.assert_array_equal(b[col].to_numpy(float), a[col].to_numpy(float), err_msg=col)
    ok = a["eligible"].to_numpy()
    np.testing.assert_array_equal(
        b["rank"].to_numpy()[ok].astype(int), a["rank"].to_numpy()[ok].astype(int)
    )


def _cut_counts(cand, hazards, homes, net, parts) -> tuple[int, int]:
    """Excluded parcels whose deciding hazard point, and parcels whose counted homes, lie
    nearer to a parcel of another partition (the partitions cut setbacks and catchments)."""
    part_of = np.empty(len(cand), dtype=int)
    for p in parts:
        part_of[p.rows] = p.id
    tree = cand.sindex

    def owner(points: np.ndarray) -> np.ndarray:
        (_, near) = tree.nearest(points, return_all=False)
        return part_of[near]

    reach = max(r.dist_m or 0.0 for r in default_rulebook().active_rules if r.hard)
    bad = np.flatnonzero(~cand["eligible"].to_numpy())
    p_idx, h_idx = hazards.sindex.query(
        cand.geometry.to_numpy()[bad], predicate="dwithin", distance=reach
    )
    lines = shapely.shortest_line(
        cand.geometry.to_numpy()[bad][p_idx], hazards.geometry.to_numpy()[h_idx]
    )
    on_hazard = shapely.get_point(lines, 1)
    cut_setbacks = np.unique(bad[p_idx][owner(on_hazard) != part_of[bad[p_idx]]])
    sample = np.arange(0, len(cand), 7)
    w = walk_distances(
        net, cand.geometry.iloc[sample].representative_point(), homes.geometry, dist=300.0
    ).tocoo()
    home_owner = owner(homes.geometry.to_numpy())
    cut_walks = np.unique(sample[w.row][home_owner[w.col] != part_of[sample[w.row]]])
    return len(cut_setbacks), len(cut_walks)


def test_hilbert_partitions_and_halos(karhula) -> None:
    ref = karhula[2]
    cand = ref.candidates
    parts = hilbert_partitions(cand, n_partitions=5)
    rows = np.concatenate([p.rows for p in parts])
    assert sorted(rows.tolist()) == list(range(len(cand)))  # each parcel exactly once
    # partitions are runs of geopandas' Hilbert order of the centroids
    cent = cand.geometry.centroid
    h = cent.hilbert_distance(total_bounds=cent.total_bounds).to_numpy()
    for a, b in itertools.pairwise(parts):
        assert h[a.rows].max() <= h[b.rows].min()
    # the halo holds every hazard within its width of any parcel (brute force with shapely)
    haz = ref.hazards
    width = halo_widths(default_rulebook(), walk_m=300.0, clearance_cap=200.0)["hazards"]
    for p in parts:
        got = set(rows_near(haz, p.bounds, width).tolist())
        pgeoms = cand.geometry.to_numpy()[p.rows]
        for j, g in enumerate(haz.geometry.to_numpy()):
            if shapely.dwithin(pgeoms, g, width).any():
                assert j in got
    cat = hazard_catalogue(haz)
    kinds = haz[["hazard_class", "subtypes", "voltage_kv"]].astype(str)
    assert len(cat) == len(kinds.drop_duplicates())


def test_demo_identical_to_in_process(karhula, karhula_parts) -> None:
    _, _, ref = karhula
    res = karhula_parts
    got = res.candidates()
    _compare(ref.candidates, got)
    # the same columns as run_study's candidates (but p_top_k, which the partitioned run does
    # not compute yet), plus where each parcel was and came from
    assert {c for c in got.columns if c not in ("partition", "input_row")} == set(
        ref.candidates.columns
    ) - {"p_top_k"}
    by_input = got.sort_values("input_row")
    assert by_input["parcel_id"].tolist() == ref.candidates["parcel_id"].tolist()
    assert res.selected["parcel_id"].tolist() == ref.selected["parcel_id"].tolist()
    np.testing.assert_allclose(
        res.selected["new_under3_covered"], ref.selected["new_under3_covered"], rtol=1e-12
    )
    assert res.selected["planned_slots"].tolist() == ref.selected["planned_slots"].tolist()
    comp = res.compliance().sort_values(["parcel_id", "rule_id"]).reset_index(drop=True)
    exp = ref.compliance.sort_values(["parcel_id", "rule_id"]).reset_index(drop=True)
    assert (comp["result"] == exp["result"]).all()
    assert (comp["n_features"] == exp["n_features"]).all()
    assert res.summary["counts"]["eligible"] == ref.summary["counts"]["eligible"]
    assert res.summary["excluded_by_rule"] == ref.summary["excluded_by_rule"]
    assert res.summary["targets"]["coverage_after"] == ref.summary["targets"]["coverage_after"]
    # the GeoPackage beside the GeoParquet: every parcel, the selected sites, catchments
    import pyogrio

    layers_gpkg = dict(pyogrio.list_layers(res.out_dir / "results.gpkg"))
    assert set(layers_gpkg) == {"candidates", "selected", "catchments"}
    gp = gpd.read_file(res.out_dir / "results.gpkg", layer="candidates")
    assert len(gp) == len(got)
    assert gp.sort_values("parcel_id")["score"].equals(
        got.sort_values("parcel_id")["score"]
        .reset_index(drop=True)
        .set_axis(gp.sort_values("parcel_id").index)
    )
    assert gpd.read_file(res.out_dir / "results.gpkg", layer="selected")["parcel_id"].tolist() == (
        ref.selected["parcel_id"].tolist()
    )
    # one GeoParquet per partition, merged; readable by dask-geopandas partition by partition
    assert res.n_partitions == 4
    dgdf = res.candidates_dask()
    assert dgdf.npartitions == 4
    assert len(dgdf.compute()) == len(got)
    assert json.loads((res.out_dir / "summary.json").read_text())["counts"]["candidates"] == len(
        got
    )


def test_generated_study_cut_through(client, tmp_path) -> None:
    """Tiled demo with province-like power lines: partitions cut setbacks and catchments."""
    gen = _script("make_large_study")
    layers, plots = gen.large_study(6000)
    ref = run_study(layers, parcels_gdf=plots, k=4)
    res = run_study_partitioned(
        layers, parcels_gdf=plots, k=4, out_dir=tmp_path, n_partitions=5, cluster=client
    )
    _compare(ref.candidates, res.candidates())
    assert set(res.selected["parcel_id"]) == set(ref.selected["parcel_id"])
    # the same study from files (layers in EPSG:32635, read by bounding box per partition)
    from siting.sources import layers_to_gpkg

    layers_to_gpkg(layers, tmp_path / "layers.gpkg")
    plots.to_file(tmp_path / "parcels.gpkg", driver="GPKG")
    from_files = run_study_partitioned(
        tmp_path / "layers.gpkg", parcels_gdf=tmp_path / "parcels.gpkg", k=4,
        out_dir=tmp_path / "files", n_partitions=5, cluster=client,
    )  # fmt: skip
    _compare(ref.candidates, from_files.candidates())
    assert from_files.selected["parcel_id"].tolist() == res.selected["parcel_id"].tolist()
    # the partitions cut through setbacks and catchments: without the halo, eligibility and
    # walking demand of some parcels depend on hazards and homes nearer another partition
    parts = hilbert_partitions(ref.candidates, n_partitions=5)
    net = network_from_edges(layers["walk_edges"].to_crs(ref.candidates.crs))
    setbacks, walks = _cut_counts(ref.candidates, ref.hazards, ref.demand, net, parts)
    assert setbacks > 0
    assert walks > 0


@pytest.mark.parametrize(("cell", "method"), [(20.0, "convolve"), (100.0, "window")])
def test_population_raster_identical(karhula, client, tmp_path, cell, method) -> None:
    """Demand from a population raster; each partition reads a window of it (or of its
    convolution with the walking disk) and gets the whole study's sums."""
    from rasterio.transform import Affine

    from siting.population import PopulationSurface
    from siting.rastersum import choose_method

    layers, plots, ref0 = karhula
    crs = ref0.candidates.crs
    x0, y0, x1, y1 = ref0.candidates.total_bounds
    cols, rows = int((x1 - x0) // cell) + 8, int((y1 - y0) // cell) + 8
    rng = np.random.default_rng(3)
    values = rng.gamma(0.6, 40.0 * (cell / 100.0) ** 2, (rows, cols))
    values[rng.random((rows, cols)) < 0.1] = np.nan  # nodata
    surface = PopulationSurface(
        values=values, transform=Affine(cell, 0, x0 - 4 * cell, 0, -cell, y1 + 4 * cell),
        crs=pyproj.CRS(crs), estimate="test",
    )  # fmt: skip
    sites = gpd.GeoSeries(ref0.candidates.geometry.representative_point().to_numpy(), crs=crs)
    assert choose_method(surface, sites, dist=300.0) == method
    ref = run_study(layers, parcels_gdf=plots, k=3, population=surface)
    res = run_study_partitioned(
        layers, parcels_gdf=plots, k=3, out_dir=tmp_path, n_partitions=4, cluster=client,
        population=surface,
    )  # fmt: skip
    assert ref.summary["demand"]["method"].startswith("population raster")
    assert res.summary["demand"]["method"] == ref.summary["demand"]["method"]
    got = res.candidates()
    _compare(ref.candidates, got)
    # the raster, not the homes, gave the straight-line catchment
    assert not np.allclose(got["radius_under3"], ref0.candidates["radius_under3"])
    assert res.selected["parcel_id"].tolist() == ref.selected["parcel_id"].tolist()


def test_idle_land_scored_as_in_process(karhula, client, tmp_path) -> None:
    """Parcels marked idle (the policy prefers them) score and rank as in one process."""
    layers, plots, _ = karhula
    marked = plots.copy()
    status = np.where(np.arange(len(plots)) % 7 == 0, 1.0, np.nan)  # unmarked: NaN
    marked["idle_land"] = np.where(np.arange(len(plots)) % 14 == 0, 0.0, status)
    ref = run_study(layers, parcels_gdf=marked, k=3)
    res = run_study_partitioned(
        layers, parcels_gdf=marked, k=3, out_dir=tmp_path, n_partitions=3, cluster=client
    )
    assert "idle_land" in res.summary["weights"]
    got = res.candidates()
    _compare(ref.candidates, got)
    np.testing.assert_array_equal(
        got.set_index("parcel_id").loc[ref.candidates["parcel_id"], "contrib_idle_land"],
        ref.candidates["contrib_idle_land"],
    )
    assert res.selected["parcel_id"].tolist() == ref.selected["parcel_id"].tolist()


def test_layers_from_files_identical(karhula, client, tmp_path, monkeypatch) -> None:
    """Layers and parcels given as files: the client streams them, the workers read their
    pieces by bounding box and feature id; same answers as run_study on the same files."""
    from siting import study
    from siting.sources import layers_to_gpkg

    monkeypatch.setattr(study, "WALK_CHUNK", 2)  # facilities walked two at a time

    layers, plots, _ = karhula
    layer_file = tmp_path / "layers.gpkg"
    layers_to_gpkg(layers, layer_file)
    parcel_file = tmp_path / "parcels.gpkg"
    plots.to_file(parcel_file, layer="parcels", driver="GPKG")
    ref = run_study(layers_from_gpkg(layer_file), parcels_gdf=gpd.read_file(parcel_file), k=3)
    res = run_study_partitioned(
        layer_file, parcels_gdf=parcel_file, k=3, out_dir=tmp_path / "run", n_partitions=4,
        cluster=client,
    )  # fmt: skip
    got = res.candidates()
    _compare(ref.candidates, got)
    assert res.selected["parcel_id"].tolist() == ref.selected["parcel_id"].tolist()
    assert res.summary["counts"]["near_extract_edge"] == ref.summary["counts"]["near_extract_edge"]
    assert res.summary["targets"]["coverage_after"] == ref.summary["targets"]["coverage_after"]
    assert res.summary["supply_gap_before"] == ref.summary["supply_gap_before"]
    assert res.summary["crs"] == ref.summary["crs"]
    with pytest.raises(ConfigError, match="give the parcels as a file too"):
        run_study_partitioned(layer_file, out_dir=tmp_path / "x", cluster=client)


def test_study_files_bad_input(karhula, tmp_path, monkeypatch) -> None:
    """Missing files and layers, and ids repeated across streamed batches: one clear error."""
    from siting import DataSourceError, InputDataError, studyfiles
    from siting.sources import layers_to_gpkg

    layers, plots, _ = karhula
    with pytest.raises(DataSourceError, match="layer file not found"):
        studyfiles.open_study_files(tmp_path / "none.gpkg", tmp_path / "p.gpkg")
    partial = tmp_path / "partial.gpkg"
    layers["roads"].to_file(partial, layer="roads", driver="GPKG")
    with pytest.raises(DataSourceError, match=r"lacks layer\(s\) \['walk_edges'"):
        studyfiles.open_study_files(partial, tmp_path / "p.gpkg")
    layer_file = tmp_path / "layers.gpkg"
    layers_to_gpkg(layers, layer_file)
    with pytest.raises(DataSourceError, match="parcel file not found"):
        studyfiles.open_study_files(layer_file, tmp_path / "p.gpkg")
    twice = plots.copy()
    twice.loc[twice.index[-1], "parcel_id"] = twice["parcel_id"].iloc[0]
    twice.to_file(tmp_path / "twice.gpkg", driver="GPKG")
    files = studyfiles.open_study_files(layer_file, tmp_path / "twice.gpkg")
    monkeypatch.setattr(studyfiles, "BATCH", 500)  # the repeat lies in another batch
    with pytest.raises(InputDataError, match=r"parcel ids in .*twice.gpkg are not unique"):
        studyfiles.parcel_outline(files, edge_m=300.0)
    # streamed in batches of 500, the outline is the whole file's, in file order
    plots.to_file(tmp_path / "ok.gpkg", driver="GPKG")
    ok = studyfiles.open_study_files(layer_file, tmp_path / "ok.gpkg")
    outline = studyfiles.parcel_outline(ok, edge_m=300.0)
    assert len(outline) == len(plots)
    np.testing.assert_array_equal(outline["cx"], plots.to_crs(ok.crs).centroid.x)
    assert outline["fid"].is_monotonic_increasing


def test_local_walks_equal_the_whole_network(karhula) -> None:
    """The client's walks of scattered facilities on the streets near them only."""
    from scipy import sparse

    from siting.partition import local_walks

    layers, _, ref = karhula
    edges = layers["walk_edges"].to_crs(ref.candidates.crs)
    homes = ref.demand.geometry
    origins = homes.iloc[::400]
    whole = sparse.csr_matrix(walk_distances(network_from_edges(edges), origins, homes, dist=300.0))
    whole.sort_indices()
    got = local_walks(edges, origins, homes, dist=300.0)
    assert whole.nnz > 100
    np.testing.assert_array_equal(got.indptr, whole.indptr)
    np.testing.assert_array_equal(got.indices, whole.indices)
    np.testing.assert_array_equal(got.data, whole.data)
    near = np.unique(edges.sindex.query(origins.to_numpy(), "dwithin", distance=600.0)[1])
    assert len(near) < 0.8 * len(edges)  # a real cut
    assert local_walks(edges, origins.iloc[:0], homes, dist=300.0).shape == (0, len(homes))


class _KillOnce(WorkerPlugin):
    """Worker plugin: the first task of ``prefix`` to start kills its worker process."""

    name = "kill-once"

    def __init__(self, marker: str, prefix: str) -> None:
        self.marker, self.prefix = marker, prefix

    def transition(self, key, start, finish, **kwargs) -> None:
        name = key if isinstance(key, str) else str(key)
        marker = Path(self.marker)
        if finish == "executing" and name.startswith(self.prefix) and not marker.exists():
            marker.write_text("killed")
            os._exit(1)


def test_worker_killed_then_resume(karhula, karhula_parts, client, tmp_path) -> None:
    layers, plots, ref = karhula
    out = tmp_path / "run"
    marker = tmp_path / "killed"
    client.register_plugin(_KillOnce(str(marker), "criteria-2-"), name="kill-once")
    try:
        with pytest.raises(PartitionError) as err:
            run_study_partitioned(
                layers, parcels_gdf=plots, k=3, out_dir=out, n_partitions=4, cluster=client
            )
    finally:
        client.unregister_worker_plugin("kill-once")
    assert marker.exists()
    assert 2 in err.value.failures
    assert "partition 2" in str(err.value)
    assert "KilledWorker" in err.value.failures[2] or "lost" in err.value.failures[2].lower()
    manifest = json.loads((out / "manifest.json").read_text())
    assert "2" not in manifest["stages"]["criteria"]
    assert not list(out.rglob("*.tmp-*"))
    assert not (out / "candidates.parquet").exists()
    # the re-run computes only what is missing and gives the same result
    res = run_study_partitioned(
        layers, parcels_gdf=plots, k=3, out_dir=out, n_partitions=4, cluster=client
    )
    reused = res.summary["partitions"]["reused"]["criteria"]
    assert reused == len(manifest["stages"]["criteria"]) >= 1
    _compare(ref.candidates, res.candidates())
    assert res.selected["parcel_id"].tolist() == ref.selected["parcel_id"].tolist()
    # a third run finds everything finished
    again = run_study_partitioned(
        layers, parcels_gdf=plots, k=3, out_dir=out, n_partitions=4, cluster=client
    )
    assert again.summary["partitions"]["reused"] == {"criteria": 4, "scores": 4, "candidates": 4}
    pd.testing.assert_frame_equal(again.candidates(), res.candidates())
    # other options in the same folder are refused, not mixed in
    with pytest.raises(ConfigError, match="other inputs or options"):
        run_study_partitioned(
            layers, parcels_gdf=plots, k=2, out_dir=out, n_partitions=4, cluster=client
        )


def test_checkpoint_partial_files_never_finished(tmp_path) -> None:
    manifest = load_manifest(tmp_path, "abc")
    size = write_atomic(tmp_path / "part-0.bin", lambda p: p.write_bytes(b"x" * 100))
    manifest["stages"]["criteria"] = {"0": {"files": {"part-0.bin": size}}}
    save_manifest(tmp_path, manifest)
    assert finished(tmp_path, manifest, "criteria", 0)
    assert not finished(tmp_path, manifest, "criteria", 1)  # not recorded
    (tmp_path / "part-0.bin").write_bytes(b"x" * 50)  # cut short after it was recorded
    assert not finished(tmp_path, manifest, "criteria", 0)
    (tmp_path / "part-1.bin.tmp-123").write_bytes(b"half")
    assert [p.name for p in remove_partial(tmp_path)] == ["part-1.bin.tmp-123"]

    def broken(p: Path) -> None:
        p.write_bytes(b"half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_atomic(tmp_path / "part-2.bin", broken)
    assert not (tmp_path / "part-2.bin").exists()
    assert not list(tmp_path.glob("*.tmp-*"))
    with pytest.raises(ConfigError, match="other inputs"):
        load_manifest(tmp_path, "other")


def test_metric_crs_matches(karhula_parts, karhula) -> None:
    layers, _, ref = karhula
    assert karhula_parts.summary["crs"] == metric_crs(layers["walk_edges"]).to_string()
    assert karhula_parts.summary["crs"] == ref.summary["crs"]
