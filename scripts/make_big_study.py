"""Make a large study result (default 100,000 parcels) from the real demo data, and its map.

    .venv/bin/python scripts/make_big_study.py [--parcels 100000] [--out out/big] [--lang zh]
        [--basemap none] [--report]

Recipe (deterministic): run :func:`siting.run_study` on each demo area (real OSM data,
``data/demo``) with candidate parcels = its street blocks plus every building footprint as a
plot-sized parcel (as ``benchmarks/data.py`` does), so each area yields a real result with
real criteria, compliance cards, hazards, demand and selected sites. The two results side by
side make one tile; the tile is copied over a near-square grid (each copy moved by the tile's
extent plus a 250 m gap) until there are enough parcels, with ``-t<N>`` appended to the ids of
copy N, and the eligible parcels re-ranked over the whole study (score, then id). Every copy
keeps its selected sites: a city of many districts.

Used by ``benchmarks/map.py`` (size and load time of ``map.html``).
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "data" / "demo"
AREAS = ("karhula", "helsinki")
GAP_M = 250.0

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from siting import StudyResult, run_study  # noqa: E402
from siting.crs import metric_crs  # noqa: E402
from siting.parcels import parcels_from_blocks  # noqa: E402
from siting.sources import layers_from_gpkg  # noqa: E402

__all__ = ["area_result", "big_study", "main"]


def _plots(layers: dict[str, gpd.GeoDataFrame]) -> gpd.GeoDataFrame:
    """Street blocks plus every building footprint as a small candidate parcel."""
    crs = metric_crs(layers["walk_edges"])
    lay = {k: v.to_crs(crs) for k, v in layers.items()}
    blocks = parcels_from_blocks(lay["landuse"], lay["roads"])[["parcel_id", "geometry"]]
    b = lay["buildings"]
    b = b[b.geom_type.isin(["Polygon", "MultiPolygon"])]
    geoms = b.geometry.to_numpy().copy()
    single = shapely.get_num_geometries(geoms) == 1
    geoms[single] = shapely.get_geometry(geoms[single], 0)
    bad = ~shapely.is_valid(geoms)
    geoms[bad] = shapely.make_valid(geoms[bad])
    plots = gpd.GeoDataFrame(
        {"parcel_id": "W" + b["id"].astype(str).to_numpy()}, geometry=geoms, crs=crs
    )
    plots = plots[plots.geom_type.isin(["Polygon", "MultiPolygon"]) & (plots.area > 20)]
    plots = plots.drop_duplicates("parcel_id")
    return gpd.GeoDataFrame(pd.concat([blocks, plots], ignore_index=True), crs=crs)


def area_result(name: str) -> StudyResult:
    """A real study of one demo area, with blocks and building plots as candidates."""
    layers = layers_from_gpkg(DEMO / f"{name}.gpkg")
    return run_study(layers, parcels_gdf=_plots(layers), k=3, study_name=name)


def _move(gdf: gpd.GeoDataFrame, dx: float, dy: float, crs: object) -> gpd.GeoDataFrame:
    out = gdf.to_crs(crs)
    moved = shapely.transform(out.geometry.to_numpy(), lambda xy: xy + np.array([dx, dy]))
    return out.set_geometry(gpd.GeoSeries(moved, index=out.index, crs=crs))


def _suffix(frame: pd.DataFrame, tag: str, column: str = "parcel_id") -> pd.DataFrame:
    out = frame.copy()
    if column in out:
        out[column] = out[column].astype(str) + tag
    return out


def big_study(n_parcels: int = 100_000) -> StudyResult:
    """Tile the demo results until there are ``n_parcels`` candidate parcels.

    Returns
    -------
    StudyResult
        In the UTM zone of the demo areas (EPSG:32635), ranks over the whole study.
    """
    parts = [area_result(a) for a in AREAS]
    crs = parts[0].candidates.crs
    # one tile: the areas side by side, west to east
    tile: dict[str, list[gpd.GeoDataFrame | pd.DataFrame]] = {}
    left, bottom = parts[0].candidates.to_crs(crs).total_bounds[:2]
    for res in parts:
        x0, y0, x1, _ = res.candidates.to_crs(crs).total_bounds
        dx, dy = left - x0, bottom - y0
        left = x1 + dx + GAP_M
        tag = f"-{res.summary['study'][0]}"
        for key in ("candidates", "selected", "hazards", "hazard_zones", "demand",
                    "catchments", "facilities"):  # fmt: skip
            layer = _move(getattr(res, key), dx, dy, crs)
            tile.setdefault(key, []).append(_suffix(layer, tag))
        tile.setdefault("compliance", []).append(_suffix(res.compliance, tag))
    one = {
        k: gpd.GeoDataFrame(pd.concat(v, ignore_index=True), crs=crs)
        if k != "compliance"
        else pd.concat(v, ignore_index=True)
        for k, v in tile.items()
    }
    per_tile = len(one["candidates"])
    copies = math.ceil(n_parcels / per_tile)
    cols = math.ceil(math.sqrt(copies))
    x0, y0, x1, y1 = one["candidates"].total_bounds
    w, h = x1 - x0 + GAP_M, y1 - y0 + GAP_M
    out: dict[str, list[pd.DataFrame]] = {}
    for c in range(copies):
        dx, dy = (c % cols) * w, (c // cols) * h
        tag = f"-t{c}"
        for key, layer in one.items():
            if key == "compliance":
                out.setdefault(key, []).append(_suffix(layer, tag))
            else:
                out.setdefault(key, []).append(_suffix(_move(layer, dx, dy, crs), tag))
    frames = {
        k: gpd.GeoDataFrame(pd.concat(v, ignore_index=True), crs=crs)
        if k != "compliance"
        else pd.concat(v, ignore_index=True)
        for k, v in out.items()
    }
    cand = frames["candidates"].iloc[:n_parcels].copy()
    keep = set(cand["parcel_id"])
    comp = frames["compliance"]
    comp = comp[comp["parcel_id"].isin(keep)].reset_index(drop=True)
    sel = frames["selected"][frames["selected"]["parcel_id"].isin(keep)].reset_index(drop=True)
    cand["selected"] = cand["parcel_id"].isin(set(sel["parcel_id"]))
    # rank over the whole study: score descending, ties by id
    ok = cand["eligible"].to_numpy(dtype=bool)
    order = cand[ok].sort_values(["score", "parcel_id"], ascending=[False, True]).index
    rank = pd.Series(pd.NA, index=cand.index, dtype="Int64")
    rank.loc[order] = np.arange(1, len(order) + 1)
    cand["rank"] = rank
    sel["pick_order"] = np.arange(1, len(sel) + 1)
    catch = frames["catchments"]
    catch = catch[catch["parcel_id"].isin(keep)].reset_index(drop=True)
    summary = dict(parts[1].summary)
    summary["study"] = f"synthetic {n_parcels:,}-parcel study (demo tiled x{copies})"
    summary["counts"] = dict(summary["counts"])
    summary["counts"].update(
        candidates=len(cand), eligible=int(ok.sum()), excluded=int((~ok).sum()),
        selected=len(sel),
    )  # fmt: skip
    return dataclasses.replace(
        parts[1],
        candidates=cand.reset_index(drop=True),
        selected=sel,
        hazards=frames["hazards"],
        hazard_zones=frames["hazard_zones"],
        demand=frames["demand"],
        catchments=catch,
        facilities=frames["facilities"],
        compliance=comp,
        summary=summary,
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--parcels", type=int, default=100_000)
    ap.add_argument("--out", type=Path, default=ROOT / "out" / "big")
    ap.add_argument("--lang", choices=("zh", "en"), default="zh")
    ap.add_argument("--basemap", default="none")
    ap.add_argument("--report", action="store_true", help="also write report.html")
    args = ap.parse_args(argv)
    from siting.maps import result_map

    t0 = time.perf_counter()
    result = big_study(args.parcels)
    print(f"study: {len(result.candidates):,} parcels in {time.perf_counter() - t0:.1f} s")
    args.out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    page = args.out / "map.html"
    result_map(result, lang=args.lang, basemap=args.basemap).save(str(page))
    print(f"map: {page} {page.stat().st_size / 1e6:.2f} MB in {time.perf_counter() - t0:.1f} s")
    if args.report:
        from siting.report import report_html

        (args.out / "report.html").write_text(report_html(result, lang=args.lang), "utf-8")
        print(f"report: {args.out / 'report.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
