"""Read the user's own files: vector layers (GeoPackage, Shapefile, GeoJSON) and tables.

Every reader gives one clear error naming the file and the fix when the file is missing,
unreadable, empty, without geometry or without a CRS; nothing the user gave is modified.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd

from siting._errors import CRSError, DataSourceError, InputDataError
from siting.parcels import _NO_GEOMETRY_HINT, _has_geometry, _validate_parcels

__all__ = ["read_layer", "read_parcels", "read_table"]


def read_parcels(path: str | Path, *, id_column: str | None = None) -> gpd.GeoDataFrame:
    """Read candidate parcels from any vector file GDAL reads (GeoPackage, Shapefile, GeoJSON).

    Parameters
    ----------
    path
        Polygon layer of candidate parcels.
    id_column
        Column holding the parcel id; default: a ``parcel_id`` column if present, else the
        row number.

    Returns
    -------
    GeoDataFrame
        Polygons with a ``parcel_id`` column, in the file's CRS.

    Raises
    ------
    DataSourceError
        If the file is missing or unreadable.
    InputDataError
        If it has no geometry column (e.g. a CSV), no features, features without
        geometry, non-polygon geometries, or ids that are missing or not unique, or lacks
        ``id_column``.
    CRSError
        If it has no CRS.

    Notes
    -----
    Invalid polygons (self-intersections) are repaired with ``make_valid``, with a
    warning. The same checks apply to GeoDataFrames passed to
    :func:`siting.parcels.prepare_parcels`.
    """
    path = Path(path)
    parcels = _read_vector(path, "parcel", "parcels")
    return _validate_parcels(parcels, f"parcel file {path}", id_column=id_column, number_rows=True)


def _read_vector(path: Path, noun: str, what: str) -> gpd.GeoDataFrame:
    """Open a vector file: DataSourceError if it is missing or GDAL cannot read it."""
    if not path.exists():
        msg = f"{noun} file not found: {path}"
        raise DataSourceError(msg)
    try:
        return gpd.read_file(path)
    except Exception as err:
        msg = f"could not read {what} from {path}: {err}"
        raise DataSourceError(msg) from err


def read_layer(path: str | Path, *, what: str = "layer") -> gpd.GeoDataFrame:
    """Read any vector file GDAL reads, with one clear error when it cannot.

    Parameters
    ----------
    path
        GeoPackage, Shapefile, GeoJSON, ...
    what
        What the layer is, for messages (e.g. ``"districts"``).

    Raises
    ------
    DataSourceError
        If the file is missing or unreadable.
    InputDataError
        If it has no geometry column (e.g. a CSV) or no features.
    CRSError
        If it has no CRS.
    """
    path = Path(path)
    layer = _read_vector(path, what, what)
    if not _has_geometry(layer):
        msg = (
            f"{what} file {path} has no geometry column; {_NO_GEOMETRY_HINT}, "
            f"it has columns {list(layer.columns)}"
        )
        raise InputDataError(msg)
    if len(layer) == 0:
        msg = f"{what} file {path} has no features"
        raise InputDataError(msg)
    if layer.crs is None:
        msg = f"{what} file {path} has no CRS; add a .prj or save it with its CRS"
        raise CRSError(msg)
    return layer


def read_table(path: str | Path, *, what: str = "table") -> pd.DataFrame:
    """Read a CSV (UTF-8, with or without BOM, or GB18030) or Excel table.

    Raises
    ------
    DataSourceError
        If the file is missing, unreadable or empty.
    """
    path = Path(path)
    if not path.is_file():
        msg = f"{what} file not found: {path}"
        raise DataSourceError(msg)
    try:
        if path.suffix.lower() in {".xlsx", ".xls"}:
            table = pd.read_excel(path)
        else:
            try:
                table = pd.read_csv(path, encoding="utf-8-sig")
            except UnicodeDecodeError:
                table = pd.read_csv(path, encoding="gb18030")
    except Exception as err:
        msg = f"could not read {what} from {path}: {err}"
        raise DataSourceError(msg) from err
    if table.empty:
        msg = f"{what} file {path} has no rows"
        raise DataSourceError(msg)
    return table
