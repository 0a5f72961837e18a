"""Study files: a study's layers read from a GeoPackage piece by piece (province scale).

At a million parcels the layers of a study (streets, buildings, parcels) are what fills the
memory of the process that holds them. :func:`siting.distributed.run_study_partitioned`
therefore also takes the *path* of a GeoPackage holding the layers
(:func:`siting.sources.layers_to_gpkg`, or a layer per name of :data:`STUDY_LAYERS`) and of
the parcels. The client then reads whole only the layers the study needs whole (hazard
sources, land use, facilities, stops, arterial roads), streams the buildings (demand) and the
parcels (their centres, to partition them) in batches, and each worker reads its
partition's parcels (by feature id), streets and roads (by bounding box, through the
GeoPackage's spatial index).

Rows keep the file's order (feature ids ascending) and go through the same tidying as
:func:`siting.sources.layers_from_gpkg`, so a partition sees exactly the rows, in the same
order, that the in-memory study would give it: the answers are the same.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from siting._errors import DataSourceError, InputDataError
from siting.crs import System, analysis_crs

__all__ = [
    "STUDY_LAYERS",
    "StudyFiles",
    "file_digest",
    "layer_info",
    "open_study_files",
    "parcel_batches",
    "parcel_outline",
    "read_box",
    "read_layer",
    "read_near",
    "read_parcels",
    "stream_layer",
]

#: Layers a partitioned study reads from the file (``sites`` and ``stops`` optional).
STUDY_LAYERS = ("walk_edges", "roads", "buildings", "landuse", "amenities", "power",
                "pipelines", "sites", "stops")  # fmt: skip
#: Features per batch when a layer is streamed.
BATCH = 50_000


@dataclass(frozen=True)
class StudyFiles:
    """Where a study's layers are, and the analysis CRS they are read into.

    Attributes
    ----------
    layers
        GeoPackage of the layers (:data:`STUDY_LAYERS`).
    parcels, parcels_layer
        File (GeoPackage, Shapefile, GeoJSON ...) and layer of the candidate parcels, or
        ``None`` for street blocks built from the layers.
    crs
        The analysis CRS (metres).
    present
        Layers the GeoPackage holds.
    extent
        Bounds of the street network in the analysis CRS.
    """

    layers: Path
    parcels: Path | None
    parcels_layer: str | None
    crs: pyproj.CRS
    present: frozenset[str]
    extent: tuple[float, float, float, float]


def open_study_files(
    layers: str | Path,
    parcels: str | Path | None = None,
    *,
    parcels_layer: str | None = None,
    system: System = "utm",
) -> StudyFiles:
    """Check a study's files and choose its analysis CRS, reading no layer whole.

    The CRS is chosen as :func:`siting.crs.metric_crs` chooses it for the street network
    (the centre of its extent in degrees), from the network streamed in batches.

    Raises
    ------
    DataSourceError
        If a file is missing or unreadable, or the GeoPackage lacks a required layer.
    """
    import pyogrio

    path = Path(layers)
    if not path.is_file():
        msg = f"layer file not found: {path}"
        raise DataSourceError(msg)
    try:
        present = frozenset(str(row[0]) for row in pyogrio.list_layers(path))
    except Exception as err:
        msg = f"{path} is not a readable GeoPackage: {err}"
        raise DataSourceError(msg) from err
    missing = [n for n in STUDY_LAYERS if n not in present and n not in ("sites", "stops")]
    if missing:
        msg = f"{path} lacks layer(s) {missing}; write it with siting.sources.layers_to_gpkg"
        raise DataSourceError(msg)
    parcel_path = None if parcels is None else Path(parcels)
    if parcel_path is not None and not parcel_path.is_file():
        msg = f"parcel file not found: {parcel_path}"
        raise DataSourceError(msg)
    box = np.array([np.inf, np.inf, -np.inf, -np.inf])
    for batch in _batches(path, "walk_edges", columns=[]):
        b = batch.to_crs("EPSG:4326").total_bounds
        box = np.r_[np.minimum(box[:2], b[:2]), np.maximum(box[2:], b[2:])]
    if not np.isfinite(box).all():
        msg = f"{path}: the walk_edges layer is empty"
        raise DataSourceError(msg)
    crs = analysis_crs((box[0] + box[2]) / 2.0, (box[1] + box[3]) / 2.0, system=system)
    extent = np.array([np.inf, np.inf, -np.inf, -np.inf])
    for batch in _batches(path, "walk_edges", columns=[]):
        b = batch.to_crs(crs).total_bounds
        extent = np.r_[np.minimum(extent[:2], b[:2]), np.maximum(extent[2:], b[2:])]
    return StudyFiles(
        layers=path, parcels=parcel_path, parcels_layer=parcels_layer, crs=crs, present=present,
        extent=(float(extent[0]), float(extent[1]), float(extent[2]), float(extent[3])),
    )  # fmt: skip


def _batches(
    path: Path, layer: str | None, *, columns: Sequence[str] | None = None
) -> Iterator[gpd.GeoDataFrame]:
    """Read a layer in file order, :data:`BATCH` features at a time, feature ids as index."""
    import pyogrio

    n = int(pyogrio.read_info(path, layer=layer)["features"])
    for start in range(0, n, BATCH):
        yield pyogrio.read_dataframe(
            path, layer=layer, columns=columns, skip_features=start, max_features=BATCH,
            fid_as_index=True,
        )  # fmt: skip


def _tidy(files: StudyFiles, name: str, layer: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    from siting.sources import tidy_layer

    out = tidy_layer(name, layer.sort_index()).to_crs(files.crs)
    return out.reset_index(drop=True)


def read_layer(files: StudyFiles, name: str, *, where: str | None = None) -> gpd.GeoDataFrame:
    """Read a whole layer (or the rows ``where`` selects, OGR SQL) in the analysis CRS."""
    import pyogrio

    from siting.sources import empty_layer

    if name not in files.present:
        return empty_layer(name).to_crs(files.crs)
    layer = pyogrio.read_dataframe(files.layers, layer=name, where=where, fid_as_index=True)
    return _tidy(files, name, layer)


def read_box(
    files: StudyFiles, name: str, bounds: Sequence[float], *, halo: float = 0.0
) -> gpd.GeoDataFrame:
    """Read the features of a layer that meet ``bounds`` grown by ``halo`` (analysis CRS).

    The same rows, in the same order, as :func:`siting.partition.rows_near` finds in the
    whole layer.
    """
    import pyogrio

    if name not in files.present:
        from siting.sources import empty_layer

        return empty_layer(name).to_crs(files.crs)
    x0, y0, x1, y1 = (float(v) for v in bounds)
    box = shapely.box(x0 - halo, y0 - halo, x1 + halo, y1 + halo)
    layer_crs = pyogrio.read_info(files.layers, layer=name)["crs"]
    # a box in the layer's CRS that holds the analysis box (edges densified)
    outer = gpd.GeoSeries([box.segmentize(max(box.length / 64.0, 1.0))], crs=files.crs)
    found = pyogrio.read_dataframe(
        files.layers, layer=name, bbox=tuple(outer.to_crs(layer_crs).total_bounds),
        fid_as_index=True,
    )  # fmt: skip
    out = _tidy(files, name, found)
    return out[out.intersects(box)].reset_index(drop=True)


def read_near(files: StudyFiles, name: str, points: gpd.GeoSeries, dist: float) -> gpd.GeoDataFrame:
    """Read the features of a layer within ``dist`` of some points (and a few more).

    A superset, in file order: every feature within ``dist`` of a point is in it, read
    through the spatial index by the points' boxes.
    """
    import pyogrio

    if len(points) == 0 or name not in files.present:
        from siting.sources import empty_layer

        return empty_layer(name).to_crs(files.crs)
    layer_crs = pyogrio.read_info(files.layers, layer=name)["crs"]
    xy = shapely.get_coordinates(points.to_numpy())
    boxes = shapely.box(xy[:, 0] - dist, xy[:, 1] - dist, xy[:, 0] + dist, xy[:, 1] + dist)
    mask = gpd.GeoSeries(shapely.segmentize(boxes, max(dist / 8.0, 1.0)), crs=files.crs)
    outer = shapely.union_all(mask.to_crs(layer_crs).envelope.to_numpy())
    found = pyogrio.read_dataframe(files.layers, layer=name, mask=outer, fid_as_index=True)
    return _tidy(files, name, found)


def layer_info(files: StudyFiles) -> dict[str, dict[str, Any]]:
    """Pyogrio's information on each study layer the file holds (``features``, ``crs`` ...)."""
    import pyogrio

    return {n: pyogrio.read_info(files.layers, layer=n) for n in STUDY_LAYERS if n in files.present}


def stream_layer(files: StudyFiles, name: str) -> Iterator[gpd.GeoDataFrame]:
    """Read a layer in batches, in file order, tidied, in the analysis CRS."""
    for batch in _batches(files.layers, name):
        yield _tidy(files, name, batch)


def parcel_batches(files: StudyFiles) -> Iterator[tuple[np.ndarray, gpd.GeoDataFrame]]:
    """Read the parcel file in batches: feature ids and parcels (in their own CRS)."""
    if files.parcels is None:
        return
    for batch in _batches(files.parcels, files.parcels_layer):
        yield batch.index.to_numpy(), batch.reset_index(drop=True)


def parcel_outline(files: StudyFiles, *, edge_m: float) -> pd.DataFrame:
    """Stream the parcels once: what the client keeps of each, a few numbers.

    Returns
    -------
    DataFrame
        One row per parcel in file order: ``fid``, centroid ``cx, cy``,
        representative point ``rx, ry``, bounds ``minx, miny, maxx, maxy`` (analysis CRS)
        and ``near_extract_edge`` (:func:`siting.parcels.check_parcels_in_extent`). The
        column names of the prepared parcels are in ``.attrs["columns"]``.

    Raises
    ------
    InputDataError
        As :func:`siting.parcels.prepare_parcels`; for ids repeated across the file; when
        no parcel lies in the street network's bounding box.
    """
    from siting.parcels import check_parcels_in_extent, prepare_parcels

    parts = []
    columns: list[str] = []
    inside = False
    box = shapely.box(*files.extent)
    for fids, batch in parcel_batches(files):
        cand = prepare_parcels(batch, files.crs)
        columns = list(cand.columns)
        geoms = cand.geometry.to_numpy()
        hits = shapely.intersects(geoms, box)
        inside = inside or bool(hits.any())
        near = (
            check_parcels_in_extent(cand, files.extent, edge_m=edge_m).to_numpy()
            if hits.any()
            else np.ones(len(cand), dtype=bool)  # a batch wholly outside: all near or out
        )
        cxy = shapely.get_coordinates(shapely.centroid(geoms))
        rxy = shapely.get_coordinates(shapely.point_on_surface(geoms))
        b = shapely.bounds(geoms)
        parts.append(pd.DataFrame({
            "fid": fids, "parcel_id": cand["parcel_id"].to_numpy(),
            "cx": cxy[:, 0], "cy": cxy[:, 1], "rx": rxy[:, 0], "ry": rxy[:, 1],
            "minx": b[:, 0], "miny": b[:, 1], "maxx": b[:, 2], "maxy": b[:, 3],
            "near_extract_edge": near,
        }))  # fmt: skip
    if not parts:
        msg = f"{files.parcels} has no features"
        raise InputDataError(msg)
    outline = pd.concat(parts, ignore_index=True)
    if not inside:
        msg = (
            f"no parcel of {files.parcels} lies within the street network's bounding box; "
            "check the parcels' CRS and that the layers cover the study area"
        )
        raise InputDataError(msg)
    dup = outline["parcel_id"].duplicated(keep=False)
    if dup.any():
        ids = outline.loc[dup, "parcel_id"].unique()[:5].tolist()
        msg = f"parcel ids in {files.parcels} are not unique (e.g. {ids}); choose a unique id"
        raise InputDataError(msg)
    outline.attrs["columns"] = columns
    return outline.drop(columns="parcel_id")  # checked; the workers read them again


def read_parcels(files: StudyFiles, fids: np.ndarray) -> gpd.GeoDataFrame:
    """Read the parcels with these feature ids, in that order (their own CRS)."""
    import pyogrio

    if files.parcels is None:
        msg = "the study files name no parcel file"
        raise DataSourceError(msg)
    found = pyogrio.read_dataframe(
        files.parcels, layer=files.parcels_layer, fids=np.asarray(fids), fid_as_index=True
    )
    return found.loc[np.asarray(fids)].reset_index(drop=True)


def file_digest(paths: Sequence[Path | None]) -> Iterator[bytes]:
    """SHA-256 of each file's bytes (streamed), for the run's fingerprint."""
    for p in paths:
        if p is None:
            continue
        h = hashlib.sha256()
        with Path(p).open("rb") as fh:
            while chunk := fh.read(1 << 24):
                h.update(chunk)
        yield p.name.encode() + h.digest()
