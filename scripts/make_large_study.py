"""Make a large study (layers + parcels) by tiling the real OSM demo areas, for scale runs.

    .venv/bin/python scripts/make_large_study.py --parcels 500000 --out out/large-500k

Recipe (deterministic for a given ``--parcels`` and ``--seed``): one tile is the Karhula and
the Helsinki demo areas (``data/demo/*.gpkg``, real OSM streets, buildings, land use, stops,
amenities and hazards) side by side; its candidate parcels are the street blocks plus every
building footprint as a plot-sized parcel (as ``scripts/make_big_study.py``). The tile is
copied over a near-square grid, each copy moved by the tile's extent plus ``GAP_M`` (so that
setbacks and walks of one copy reach the next), with OSM ids offset per copy and ``-t<N>``
appended to the parcel ids, until there are enough parcels. Province-like hazards are then
laid over the whole grid from a seeded generator: long 220 kV power lines crossing it
(``LINES_PER_10KM`` per 10 km of its width), one fuel station per ``FUEL_PER_KM2`` square
kilometres and one kindergarten (existing supply, 60 places) per tile at random points.

A province-like population raster (:func:`population_raster`, ``RASTER_CELL_M`` = 100 m
cells, like WorldPop's) covers the grid: each cell holds the residents of the residential
buildings whose point lies in it (the dasymetric estimate from floor area), plus a rural background
(gamma-distributed, ``RURAL_PER_CELL`` people per cell on average), with ``NODATA_SHARE`` of
the cells left without data (water).

Written (:func:`write_study`): ``layers.gpkg`` (every layer but ``walk_nodes``, EPSG:32635,
as :func:`siting.sources.layers_to_gpkg` writes it), ``parcels.gpkg`` and ``population.tif``;
or use :func:`large_study` and :func:`population_raster` in memory.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "data" / "demo"
AREAS = ("karhula", "helsinki")
CRS = "EPSG:32635"
#: Space between copies, metres: less than a setback or a walk, so partitions see across.
GAP_M = 60.0
#: Long-distance power lines per 10 km of the grid's width.
LINES_PER_10KM = 3.0
#: Square kilometres per extra fuel station.
FUEL_PER_KM2 = 2.0
#: Offset between the OSM ids of two copies.
ID_STRIDE = 10**11
SEED = 20240601
#: Population raster: cell size, rural background (mean people per cell) and share of
#: cells without data.
RASTER_CELL_M = 100.0
RURAL_PER_CELL = 1.5
NODATA_SHARE = 0.02
#: Layers not copied: the study does not read the walk network's nodes (the edges carry
#: their ids).
SKIP = ("walk_nodes",)

for _p in (ROOT, ROOT / "scripts"):
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))

from make_big_study import _plots  # noqa: E402

from siting.sources import layers_from_gpkg  # noqa: E402

__all__ = ["large_study", "main", "population_raster", "tile", "write_study"]


def _shift(gdf: gpd.GeoDataFrame, dx: float, dy: float) -> gpd.GeoDataFrame:
    moved = shapely.transform(gdf.geometry.to_numpy(), lambda xy: xy + np.array([dx, dy]))
    return gdf.set_geometry(gpd.GeoSeries(moved, index=gdf.index, crs=gdf.crs))


def tile() -> tuple[dict[str, gpd.GeoDataFrame], gpd.GeoDataFrame]:
    """One tile: the demo areas side by side in EPSG:32635, and its candidate parcels."""
    layers: dict[str, list[gpd.GeoDataFrame]] = {}
    plots = []
    left = bottom = None
    for n, name in enumerate(AREAS):
        lay = {k: v.to_crs(CRS) for k, v in layers_from_gpkg(DEMO / f"{name}.gpkg").items()}
        p = _plots(lay).to_crs(CRS)
        x0, y0, x1, _ = lay["walk_edges"].total_bounds
        if left is None:
            left, bottom = x0, y0
        dx, dy = left - x0, bottom - y0
        left = x1 + dx + GAP_M
        for key, layer in lay.items():
            moved = _shift(layer, dx, dy)
            moved = _offset_ids(moved, n * ID_STRIDE // 2)
            layers.setdefault(key, []).append(moved)
        p = _shift(p, dx, dy)
        p["parcel_id"] = p["parcel_id"].astype(str) + f"-{name[0]}"
        plots.append(p)
    one = {k: gpd.GeoDataFrame(pd.concat(v, ignore_index=True), crs=CRS) for k, v in layers.items()}
    return one, gpd.GeoDataFrame(pd.concat(plots, ignore_index=True), crs=CRS)


def _offset_ids(layer: gpd.GeoDataFrame, offset: int) -> gpd.GeoDataFrame:
    out = layer.copy()
    for col in ("id", "u", "v"):
        if col in out and pd.api.types.is_integer_dtype(out[col]):
            out[col] = out[col].astype(np.int64) + np.int64(offset)
    return out


def large_study(
    n_parcels: int, *, seed: int = SEED, extra_hazards: bool = True
) -> tuple[dict[str, gpd.GeoDataFrame], gpd.GeoDataFrame]:
    """Layers (EPSG:32635) and at least ``n_parcels`` candidate parcels (see the module doc)."""
    one, plots = tile()
    per_tile = len(plots)
    copies = max(1, math.ceil(n_parcels / per_tile))
    cols = math.ceil(math.sqrt(copies))
    x0, y0, x1, y1 = one["walk_edges"].total_bounds
    w, h = x1 - x0 + GAP_M, y1 - y0 + GAP_M
    parts: dict[str, list[gpd.GeoDataFrame]] = {}
    parcel_parts = []
    for c in range(copies):
        dx, dy = (c % cols) * w, (c // cols) * h
        for key, layer in one.items():
            if key in SKIP:
                continue
            parts.setdefault(key, []).append(_offset_ids(_shift(layer, dx, dy), c * ID_STRIDE))
        p = _shift(plots, dx, dy)
        p["parcel_id"] = p["parcel_id"] + f"-t{c}"
        parcel_parts.append(p)
    layers = {}
    for key in list(parts):  # one layer at a time, freeing its copies as it goes
        layers[key] = gpd.GeoDataFrame(pd.concat(parts.pop(key), ignore_index=True), crs=CRS)
    parcels = gpd.GeoDataFrame(pd.concat(parcel_parts, ignore_index=True), crs=CRS)
    parcels = parcels.iloc[:n_parcels].reset_index(drop=True)
    if extra_hazards:
        _add_hazards(layers, copies=copies, seed=seed)
    return layers, parcels


def _add_hazards(layers: dict[str, gpd.GeoDataFrame], *, copies: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    x0, y0, x1, y1 = layers["walk_edges"].total_bounds
    width_km, height_km = (x1 - x0) / 1000.0, (y1 - y0) / 1000.0
    n_lines = max(1, round(LINES_PER_10KM * width_km / 10.0))
    # each line runs from the west edge to the east edge at random heights
    ys = rng.uniform(y0, y1, size=(n_lines, 2))
    mids = rng.uniform(x0, x1, size=n_lines)
    lines = [
        shapely.LineString([(x0, a), (m, (a + b) / 2 + rng.uniform(-500, 500)), (x1, b)])
        for (a, b), m in zip(ys, mids, strict=True)
    ]
    power = gpd.GeoDataFrame(
        {"id": -np.arange(1, n_lines + 1, dtype=np.int64), "power": "line",
         "voltage": "220000", "name": [f"220 kV line {i}" for i in range(n_lines)]},
        geometry=lines, crs=CRS,
    )  # fmt: skip
    n_fuel = max(1, round(width_km * height_km / FUEL_PER_KM2))
    fuel_xy = np.c_[rng.uniform(x0, x1, n_fuel), rng.uniform(y0, y1, n_fuel)]
    kg_xy = np.c_[rng.uniform(x0, x1, copies), rng.uniform(y0, y1, copies)]
    am = layers["amenities"]
    extra = gpd.GeoDataFrame(
        {
            "id": -np.arange(1, n_fuel + copies + 1, dtype=np.int64),
            "osm_type": "node",
            "amenity": ["fuel"] * n_fuel + ["kindergarten"] * copies,
            "name": None,
            "fuel_tags": None,
            "capacity": [None] * n_fuel + ["60"] * copies,
        },
        geometry=gpd.points_from_xy(*np.r_[fuel_xy, kg_xy].T),
        crs=CRS,
    )
    layers["power"] = gpd.GeoDataFrame(
        pd.concat([layers["power"], power], ignore_index=True), crs=CRS
    )
    layers["amenities"] = gpd.GeoDataFrame(pd.concat([am, extra], ignore_index=True), crs=CRS)


def population_raster(layers: dict[str, gpd.GeoDataFrame], *, seed: int = SEED) -> Any:
    """People per 100 m cell over the study's extent (see the module docstring).

    Returns a :class:`siting.population.PopulationSurface` in EPSG:32635.
    """
    import pyproj
    from rasterio.transform import Affine

    from siting.demand import demand_from_buildings
    from siting.population import PopulationSurface

    rng = np.random.default_rng(seed + 1)
    x0, y0, x1, y1 = layers["walk_edges"].total_bounds
    cell = RASTER_CELL_M
    cols, rows = math.ceil((x1 - x0) / cell), math.ceil((y1 - y0) / cell)
    homes = demand_from_buildings(layers["buildings"], layers["landuse"], under3_share=0.01)
    xy = shapely.get_coordinates(homes.geometry.to_numpy())
    people, _, _ = np.histogram2d(
        y1 - xy[:, 1], xy[:, 0] - x0, bins=(rows, cols),
        range=((0, rows * cell), (0, cols * cell)), weights=homes["residents"].to_numpy(),
    )  # fmt: skip
    people += rng.gamma(0.5, RURAL_PER_CELL / 0.5, size=people.shape)
    people[rng.random(people.shape) < NODATA_SHARE] = np.nan
    return PopulationSurface(
        values=people, transform=Affine(cell, 0.0, x0, 0.0, -cell, y1), crs=pyproj.CRS(CRS),
        estimate="synthetic: residents by floor area, binned to 100 m, + rural background",
    )  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--parcels", type=int, default=500_000)
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--out", type=Path, default=ROOT / "out" / "large")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    layers, parcels = large_study(args.parcels, seed=args.seed)
    sizes = ", ".join(f"{k} {len(v):,}" for k, v in layers.items())
    print(f"{len(parcels):,} parcels; {sizes} in {time.perf_counter() - t0:.1f} s")
    write_study(layers, parcels, population_raster(layers, seed=args.seed), args.out)
    print(f"wrote {args.out}")
    return 0


def write_study(
    layers: dict[str, gpd.GeoDataFrame], parcels: gpd.GeoDataFrame, surface: Any, out: Path
) -> None:
    """Write a study as files: ``layers.gpkg``, ``parcels.gpkg``, ``population.tif``."""
    from siting.sources import layers_to_gpkg

    out.mkdir(parents=True, exist_ok=True)
    layers_to_gpkg(layers, out / "layers.gpkg")
    parcels.to_file(out / "parcels.gpkg", layer="parcels", driver="GPKG")
    _write_raster(surface, out / "population.tif")


def _write_raster(surface: Any, path: Path) -> None:
    import rasterio

    rows, cols = surface.values.shape
    with rasterio.open(
        path, "w", driver="GTiff", width=cols, height=rows, count=1, dtype="float32",
        crs=surface.crs.to_wkt(), transform=surface.transform, nodata=-1.0, compress="deflate",
    ) as dst:  # fmt: skip
        dst.write(np.nan_to_num(surface.values, nan=-1.0).astype("float32"), 1)


if __name__ == "__main__":
    sys.exit(main())
