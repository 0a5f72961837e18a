"""Benchmark data: the demo study areas tiled over a grid, plus random hazards.

Recipe (deterministic for a given seed, EPSG:32635, the demo areas' UTM zone):

1. Read both demo areas (``data/demo/karhula.gpkg``, ``data/demo/helsinki.gpkg``, real OSM
   data) with :func:`siting.sources.layers_from_gpkg` and project them to EPSG:32635.
2. Parcels of one area: its street blocks (:func:`siting.parcels.parcels_from_blocks`) plus
   every OSM building footprint as a small parcel (a plot-sized candidate), so one *tile*
   (Karhula with Helsinki beside it) holds about 2,800 parcels at real urban density.
3. Copy the tile over a near-square grid, each copy translated by the tile's extent plus a
   250 m gap, until there are at least ``n_parcels`` parcels; keep the first ``n_parcels``
   (tile by tile). Every OSM layer that can hold hazards is tiled with it, so the real
   hazards (fuel stations, a 110 kV and a 10 kV line, gas pipelines, ...) repeat per tile.
4. Add random OSM-like hazard features over the parcels' extent, 1.2 per km² (more if
   needed for the hazard table to reach ``n_hazards`` rows): fuel stations (points and
   station areas, with ``fuel:*`` tags), ``power=line`` (110/220/400 kV ways of 1-4 km),
   ``power=minor_line`` (0.4-20 kV), ``power=cable`` and oil/gas pipelines (some with
   unknown substance).
5. Classify everything with :func:`siting.hazards.hazards_from_layers`, as a study would.

Building the full size (200,000 parcels, 2,000 hazards) takes a few seconds.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from siting.hazards import hazards_from_layers
from siting.parcels import parcels_from_blocks
from siting.sources import layers_from_gpkg

__all__ = ["AREAS", "CRS", "EXTRA_MIX", "EXTRA_PER_KM2", "SEED", "Dataset", "build"]

#: Analysis CRS: UTM zone 35N, the zone of both demo areas (metres).
CRS = "EPSG:32635"
#: Default seed of the random extra hazards.
SEED = 20201017
#: Demo areas making up one tile, west to east.
AREAS = ("karhula", "helsinki")
#: Gap between copies, in metres.
GAP_M = 250.0
#: Layers not copied (the walking network holds no hazards and is large).
_NOT_TILED = ("walk_nodes", "walk_edges")
_DEMO = Path(__file__).resolve().parents[1] / "data" / "demo"

#: Random extra hazard features per km² of the parcels' extent (topped up to ``n_hazards``).
EXTRA_PER_KM2 = 1.2
#: Extra hazard features: kind -> share of the extras.
EXTRA_MIX = {
    "fuel": 0.35,
    "line": 0.12,
    "minor_line": 0.20,
    "cable": 0.13,
    "pipeline": 0.20,
}
_FUEL_TAGS = (
    ("fuel:diesel;fuel:octane_95;fuel:octane_98", 0.55),
    ("fuel:diesel;fuel:lpg;fuel:octane_95", 0.15),
    ("fuel:cng;fuel:diesel;fuel:octane_95", 0.05),
    ("fuel:lng", 0.02),
    ("fuel:hydrogen", 0.01),
    ("", 0.22),
)
# voltage tag -> probability, by power=* value; None = no voltage tag (siting assumes one)
_VOLTAGES: dict[str, tuple[tuple[str | None, float], ...]] = {
    "line": (("110000", 0.55), ("220000", 0.2), ("400000", 0.1), ("110000;20000", 0.05),
             (None, 0.1)),
    "minor_line": (("10000", 0.35), ("20000", 0.3), ("400", 0.2), ("1000", 0.05), (None, 0.1)),
    "cable": (("10000", 0.45), ("20000", 0.35), ("110000", 0.1), ("400", 0.1)),
}  # fmt: skip
_SUBSTANCES = (("gas", 0.65), ("oil", 0.1), ("fuel", 0.05), (None, 0.2))
# kind -> (length range m, segment length m, heading jitter per vertex in degrees)
_LINE_SHAPE = {
    "line": ((1000.0, 4000.0), 300.0, 4.0),
    "minor_line": ((300.0, 1500.0), 50.0, 15.0),
    "cable": ((200.0, 1200.0), 60.0, 25.0),
    "pipeline": ((300.0, 2500.0), 120.0, 20.0),
}


@dataclass
class Dataset:
    """Benchmark inputs and how they were made."""

    parcels: gpd.GeoDataFrame
    hazards: gpd.GeoDataFrame
    info: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class _Area:
    name: str
    layers: dict[str, gpd.GeoDataFrame]
    parcels: gpd.GeoDataFrame
    n_hazards: int
    bounds: tuple[float, float, float, float]


def _single_parts(geoms: np.ndarray) -> np.ndarray:
    """Valid polygons: one-part multipolygons become polygons, invalid ones are repaired."""
    geoms = geoms.copy()
    single = shapely.get_num_geometries(geoms) == 1
    geoms[single] = shapely.get_geometry(geoms[single], 0)
    bad = ~shapely.is_valid(geoms)
    if bad.any():
        geoms[bad] = shapely.make_valid(geoms[bad], method="structure", keep_collapsed=False)
    return geoms


@cache
def _area(name: str) -> _Area:
    raw = layers_from_gpkg(_DEMO / f"{name}.gpkg")
    layers = {k: v.to_crs(CRS) for k, v in raw.items()}
    blocks = parcels_from_blocks(layers["landuse"], layers["roads"])
    blocks = blocks[["parcel_id", "landuse", "parcel_source", "geometry"]]
    b = layers["buildings"]
    b = b[b.geom_type.isin(["Polygon", "MultiPolygon"])]
    buildings = gpd.GeoDataFrame(
        {
            "parcel_id": "W" + b["id"].astype(str).to_numpy(),
            "landuse": b["building"].fillna("yes").to_numpy(),
            "parcel_source": "building",
        },
        geometry=_single_parts(b.geometry.to_numpy()),
        crs=CRS,
    )
    parcels = pd.concat([blocks, buildings], ignore_index=True)
    parcels = gpd.GeoDataFrame(parcels, geometry="geometry", crs=CRS)
    hazards = hazards_from_layers(layers)
    boxes = [parcels.total_bounds] + ([hazards.total_bounds] if len(hazards) else [])
    lo = np.min([bx[:2] for bx in boxes], axis=0)
    hi = np.max([bx[2:] for bx in boxes], axis=0)
    return _Area(name, layers, parcels, len(hazards), (lo[0], lo[1], hi[0], hi[1]))


def _translate(geoms: np.ndarray, dx: np.ndarray, dy: np.ndarray) -> np.ndarray:
    """Move each geometry by its own (dx, dy), in one vectorised call."""
    n = shapely.get_num_coordinates(geoms)
    shift = np.column_stack([np.repeat(dx, n), np.repeat(dy, n)])
    return shapely.transform(geoms, lambda coords: coords + shift)


def _tile(frame: gpd.GeoDataFrame, dx: np.ndarray, dy: np.ndarray) -> gpd.GeoDataFrame:
    """``len(dx)`` copies of a frame, copy ``t`` moved by ``(dx[t], dy[t])``."""
    n, copies = len(frame), len(dx)
    rows = np.tile(np.arange(n), copies)
    attrs = pd.DataFrame(frame.drop(columns=frame.geometry.name)).iloc[rows]
    geoms = _translate(
        np.tile(frame.geometry.to_numpy(), copies), np.repeat(dx, n), np.repeat(dy, n)
    )
    return gpd.GeoDataFrame(attrs.reset_index(drop=True), geometry=geoms, crs=CRS)


def _choice(rng: np.random.Generator, table: tuple[tuple[Any, float], ...], size: int) -> list:
    values = [v for v, _ in table]
    p = np.array([w for _, w in table])
    return [values[i] for i in rng.choice(len(values), size=size, p=p / p.sum())]


def _polylines(rng: np.random.Generator, starts: np.ndarray, kind: str) -> np.ndarray:
    (lo, hi), seg, jitter = _LINE_SHAPE[kind]
    out = []
    for x0, y0 in starts:
        n = max(2, round(rng.uniform(lo, hi) / seg))
        heading = rng.uniform(0.0, 2.0 * math.pi) + np.cumsum(
            rng.normal(0.0, math.radians(jitter), n)
        )
        step = seg * rng.uniform(0.8, 1.2, n)
        xs = x0 + np.concatenate([[0.0], np.cumsum(step * np.cos(heading))])
        ys = y0 + np.concatenate([[0.0], np.cumsum(step * np.sin(heading))])
        out.append(shapely.linestrings(xs, ys))
    return np.array(out, dtype=object)


def _extra_layers(
    rng: np.random.Generator, n: int, bounds: tuple[float, float, float, float]
) -> dict[str, gpd.GeoDataFrame]:
    """``n`` random OSM-like hazard features (one hazard each) inside ``bounds``."""
    kinds = np.array(list(EXTRA_MIX))
    share = np.array(list(EXTRA_MIX.values()))
    kind = kinds[rng.choice(len(kinds), size=n, p=share / share.sum())]
    x0, y0, x1, y1 = bounds
    starts = np.column_stack([rng.uniform(x0, x1, n), rng.uniform(y0, y1, n)])
    ids = 9_000_000_000 + np.arange(n)
    out: dict[str, gpd.GeoDataFrame] = {}

    fuel = np.flatnonzero(kind == "fuel")
    area = rng.random(len(fuel)) < 0.3  # mapped as the station's area, not a node
    geoms = shapely.points(starts[fuel])
    w, h = rng.uniform(25, 45, len(fuel)), rng.uniform(20, 35, len(fuel))
    for i in np.flatnonzero(area):
        rect = shapely.box(-w[i] / 2, -h[i] / 2, w[i] / 2, h[i] / 2)
        rect = shapely.affinity.rotate(rect, rng.uniform(0, 90), origin=(0, 0))
        geoms[i] = shapely.affinity.translate(rect, *starts[fuel[i]])
    out["amenities"] = gpd.GeoDataFrame(
        {
            "id": ids[fuel],
            "osm_type": np.where(area, "way", "node"),
            "amenity": "fuel",
            "name": [f"Fuel {i}" for i in range(len(fuel))],
            "fuel_tags": _choice(rng, _FUEL_TAGS, len(fuel)),
        },
        geometry=geoms,
        crs=CRS,
    )

    power = np.flatnonzero(np.isin(kind, ["line", "minor_line", "cable"]))
    geoms = np.empty(len(power), dtype=object)
    voltage: list[str | None] = [None] * len(power)
    for k in ("line", "minor_line", "cable"):
        sel = np.flatnonzero(kind[power] == k)
        geoms[sel] = _polylines(rng, starts[power[sel]], k)
        for j, v in zip(sel, _choice(rng, _VOLTAGES[k], len(sel)), strict=True):
            voltage[j] = v
    out["power"] = gpd.GeoDataFrame(
        {"id": ids[power], "power": kind[power], "voltage": voltage, "name": None},
        geometry=geoms,
        crs=CRS,
    )

    pipes = np.flatnonzero(kind == "pipeline")
    out["pipelines"] = gpd.GeoDataFrame(
        {
            "id": ids[pipes],
            "substance": _choice(rng, _SUBSTANCES, len(pipes)),
            "pipeline_type": None,
            "location": _choice(rng, (("underground", 0.8), ("overground", 0.2)), len(pipes)),
            "name": None,
        },
        geometry=_polylines(rng, starts[pipes], "pipeline"),
        crs=CRS,
    )
    return out


def _grid(n_tiles: int, width: float, height: float) -> tuple[int, int]:
    cols = max(1, round(math.sqrt(n_tiles * height / width)))
    return cols, math.ceil(n_tiles / cols)


def build(n_parcels: int = 200_000, n_hazards: int = 2_000, *, seed: int = SEED) -> Dataset:
    """Tile the demo areas until there are ``n_parcels`` parcels and ``>= n_hazards`` hazards.

    Returns parcels (``parcel_id``, ``landuse``, ``parcel_source``, ``area``, ``tile``) with a
    fresh RangeIndex, hazards from :func:`siting.hazards.hazards_from_layers`, and ``info``
    (tiles, grid, extent, counts by class, build time).
    """
    if n_parcels < 1 or n_hazards < 0:
        msg = f"need n_parcels >= 1 and n_hazards >= 0, got {n_parcels}, {n_hazards}"
        raise ValueError(msg)
    t0 = time.perf_counter()
    areas = [_area(name) for name in AREAS]
    per_tile = sum(len(a.parcels) for a in areas)
    n_tiles = math.ceil(n_parcels / per_tile)
    widths = [a.bounds[2] - a.bounds[0] for a in areas]
    height = max(a.bounds[3] - a.bounds[1] for a in areas) + GAP_M
    width = sum(widths) + GAP_M * len(areas)
    cols, rows = _grid(n_tiles, width, height)
    tile = np.arange(n_tiles)
    col, row = tile % cols, tile // cols

    # Tile 0 keeps the first area where it is; the others sit east of it.
    x_origin, y_origin = areas[0].bounds[0], areas[0].bounds[1]
    parcel_parts: list[gpd.GeoDataFrame] = []
    layer_parts: dict[str, list[gpd.GeoDataFrame]] = {}
    x_at = x_origin
    for order, a in enumerate(areas):
        dx = x_at - a.bounds[0] + col * width
        dy = y_origin - a.bounds[1] + row * height
        x_at += widths[order] + GAP_M
        p = _tile(a.parcels, dx, dy)
        p["area"] = a.name
        p["tile"] = np.repeat(tile, len(a.parcels))
        p["_order"] = order
        p["_row"] = np.tile(np.arange(len(a.parcels)), n_tiles)
        parcel_parts.append(p)
        for name, layer in a.layers.items():
            copied = layer.iloc[:0] if name in _NOT_TILED else _tile(layer, dx, dy)
            layer_parts.setdefault(name, []).append(copied)

    parcels = pd.concat(parcel_parts, ignore_index=True)
    parcels = parcels.sort_values(["tile", "_order", "_row"], kind="stable").iloc[:n_parcels]
    code = parcels["area"].str[0].str.upper()
    parcels["parcel_id"] = (
        "T" + parcels["tile"].map("{:03d}".format) + code + "-" + parcels["parcel_id"]
    )
    parcels = gpd.GeoDataFrame(
        parcels.drop(columns=["_order", "_row"]).reset_index(drop=True),
        geometry="geometry",
        crs=CRS,
    )

    n_tiled_hazards = n_tiles * sum(a.n_hazards for a in areas)
    bounds = tuple(float(v) for v in parcels.total_bounds)
    km2 = (bounds[2] - bounds[0]) * (bounds[3] - bounds[1]) / 1e6
    n_extra = max(round(EXTRA_PER_KM2 * km2), n_hazards - n_tiled_hazards)
    rng = np.random.default_rng(seed)
    extra = _extra_layers(rng, n_extra, bounds)  # type: ignore[arg-type]
    layers = {}
    for name, parts in layer_parts.items():
        frames = [f for f in [*parts, extra.get(name)] if f is not None and len(f)]
        if not frames:
            layers[name] = parts[0].iloc[:0]
            continue
        merged = pd.concat(frames, ignore_index=True)
        layers[name] = gpd.GeoDataFrame(merged, geometry=merged.geometry.name, crs=CRS)
    hazards = hazards_from_layers(layers)
    if len(hazards) < n_hazards:
        msg = f"built {len(hazards)} hazards, fewer than the {n_hazards} asked for"
        raise RuntimeError(msg)

    x0, y0, x1, y1 = bounds
    info = {
        "recipe": (
            "demo areas " + " + ".join(AREAS) + " (real OSM, data/demo/*.gpkg): street blocks "
            "+ building footprints as parcels; tiled on a grid with a "
            f"{GAP_M:g} m gap; random OSM-like hazards added over the parcels' extent"
        ),
        "crs": CRS,
        "seed": seed,
        "parcels_per_tile": per_tile,
        "tiles": n_tiles,
        "grid_cols_rows": [cols, rows],
        "tile_size_m": [round(float(width), 1), round(float(height), 1)],
        "extent_km": [round((x1 - x0) / 1000, 2), round((y1 - y0) / 1000, 2)],
        "n_parcels": len(parcels),
        "parcels_by_source": parcels["parcel_source"].value_counts().to_dict(),
        "n_hazards": len(hazards),
        "hazards_tiled": n_tiled_hazards,
        "hazards_random": n_extra,
        "hazards_by_class": hazards["hazard_class"].value_counts().to_dict(),
        "build_s": round(time.perf_counter() - t0, 2),
    }
    return Dataset(parcels, hazards, info)
