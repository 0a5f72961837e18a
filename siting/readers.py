"""Read the user's own files: vector layers, point tables (CSV, Excel) and tables.

Formats: GeoPackage (choose the ``layer``), Shapefile (text encoding from the ``.cpg``, the
``encoding`` option, or the DBF's language byte; see below), GeoJSON and anything else GDAL
reads; CSV (UTF-8 or GB18030) and Excel ``.xlsx`` tables with lon/lat or x/y columns.

Every reader takes the options a study config needs (``crs`` to declare or override the
CRS, ``datum`` for GCJ-02/BD-09 coordinates, ``encoding``, ``layer``, column names) and gives
one clear error naming the file and the fix when the file is missing, truncated,
unreadable, empty, without geometry or CRS, or when its CRS does not fit its numbers
(:func:`siting.crs.check_crs`). Nothing the user gave is modified: files are only read.

Shapefile text
--------------
A Shapefile's ``.dbf`` does not say reliably how its text is encoded; Chinese files are
usually GBK. The encoding is taken from, in order: the ``encoding`` option; the ``.cpg``
file; the DBF's language-driver byte (GBK and Big5 codes). The text is checked against it,
and a mismatch (e.g. a ``.cpg`` saying UTF-8 on GBK text) is an error naming the encoding
that does decode it. Without any of the three, UTF-8 text is read as UTF-8, and other
non-ASCII text as **GB18030** (a superset of GBK and GB2312) with a ``UserWarning``
saying so, because GDAL's own fallback (ISO-8859-1) turns Chinese into mojibake
(``"¼ÓÓÍÕ¾"`` for ``"加油站"``); text that is neither is an error asking for ``encoding``.
"""

from __future__ import annotations

import codecs
import logging
import warnings
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyproj

from siting._errors import ConfigError, CRSError, DataSourceError, InputDataError, SitingError
from siting.crs import _coordinates_hint, check_crs
from siting.datums import _datum_name, to_wgs84
from siting.parcels import _NO_GEOMETRY_HINT, _has_geometry, _validate_parcels

__all__ = ["read_layer", "read_parcels", "read_points", "read_table"]

log = logging.getLogger(__name__)


# --- vector files -------------------------------------------------------------------


def read_parcels(
    path: str | Path,
    *,
    id_column: str | None = None,
    layer: str | None = None,
    encoding: str | None = None,
    crs: Any = None,
    datum: str = "wgs84",
) -> gpd.GeoDataFrame:
    """Read candidate parcels from any vector file GDAL reads (GeoPackage, Shapefile, GeoJSON).

    Parameters
    ----------
    path
        Polygon layer of candidate parcels.
    id_column
        Column holding the parcel id; default: a ``parcel_id`` column if present, else the
        row number.
    layer, encoding, crs, datum
        As for :func:`read_layer`.

    Returns
    -------
    GeoDataFrame
        Polygons with a ``parcel_id`` column, in the file's (or the declared) CRS;
        EPSG:4326 when a ``datum`` other than WGS84 was converted.

    Raises
    ------
    DataSourceError
        If the file is missing, truncated or unreadable, or its text does not decode.
    InputDataError
        If it has no geometry column (e.g. a CSV), no features, features without
        geometry, non-polygon geometries, or ids that are missing or not unique, or lacks
        ``id_column``; or if ``layer`` is needed or wrong.
    CRSError
        If it has no CRS, or one that does not fit its coordinates.

    Notes
    -----
    Invalid polygons (self-intersections) are repaired with ``make_valid``, with a
    warning. The same checks apply to GeoDataFrames passed to
    :func:`siting.parcels.prepare_parcels`.
    """
    path = Path(path)
    what = f"parcel file {path}"
    parcels = _open_vector(path, noun="parcel", what="parcels", layer=layer, encoding=encoding)
    if _has_geometry(parcels) and len(parcels) > 0:
        parcels = _declare_crs(parcels, crs=crs, datum=datum, what=what)
    return _validate_parcels(parcels, what, id_column=id_column, number_rows=True)


def read_layer(
    path: str | Path,
    *,
    what: str = "layer",
    layer: str | None = None,
    encoding: str | None = None,
    crs: Any = None,
    datum: str = "wgs84",
) -> gpd.GeoDataFrame:
    """Read any vector file GDAL reads, with one clear error when it cannot.

    Parameters
    ----------
    path
        GeoPackage, Shapefile, GeoJSON, ...
    what
        What the layer is, for messages (e.g. ``"districts"``).
    layer
        Layer name inside a multi-layer file (GeoPackage); required when it has several.
    encoding
        Text encoding of a Shapefile's attributes (e.g. ``"gbk"``); overrides the
        ``.cpg``. Only for Shapefiles (GeoPackage and GeoJSON are always UTF-8).
    crs
        CRS of the coordinates (anything pyproj accepts, e.g. ``"EPSG:4490"``): declares
        it for a file without one, or replaces a wrong one (logged as a warning).
    datum
        ``"wgs84"`` (default), ``"gcj02"`` (Amap, Tencent) or ``"bd09"`` (Baidu): a layer
        in a Chinese map datum is converted with :func:`siting.datums.to_wgs84` and comes
        back in EPSG:4326.

    Returns
    -------
    GeoDataFrame
        In the file's (or the declared) CRS; EPSG:4326 after a datum conversion.

    Raises
    ------
    DataSourceError
        If the file is missing, truncated or unreadable, or its text does not decode.
    InputDataError
        If it has no geometry column (e.g. a CSV) or no features, or ``layer`` is needed
        or wrong.
    CRSError
        If it has no CRS, or one that does not fit its coordinates (see
        :func:`siting.crs.check_crs`).
    ConfigError
        If ``encoding``, ``crs`` or ``datum`` is not valid.
    """
    path = Path(path)
    frame = _open_vector(path, noun=what, what=what, layer=layer, encoding=encoding)
    if not _has_geometry(frame):
        msg = (
            f"{what} file {path} has no geometry column; {_NO_GEOMETRY_HINT}, "
            f"it has columns {list(frame.columns)}"
        )
        raise InputDataError(msg)
    if len(frame) == 0:
        msg = f"{what} file {path} has no features"
        raise InputDataError(msg)
    return _declare_crs(frame, crs=crs, datum=datum, what=f"{what} file {path}")


def _open_vector(
    path: Path, *, noun: str, what: str, layer: str | None, encoding: str | None
) -> gpd.GeoDataFrame:
    """Open one layer of a vector file: DataSourceError if it is missing or unreadable."""
    if not path.exists():
        msg = f"{noun} file not found: {path}"
        raise DataSourceError(msg)
    shapefile = path.suffix.lower() in {".shp", ".dbf"}
    if encoding is not None and not shapefile:
        msg = (
            f"encoding={encoding!r} was given for {path}, but only Shapefiles (.shp) take "
            "an encoding; GeoPackage and GeoJSON text is always UTF-8"
        )
        raise ConfigError(msg)
    text_encoding = _shapefile_encoding(path, encoding, what=what) if shapefile else None
    try:
        names = [str(name) for name in pyogrio.list_layers(path)[:, 0]]
    except Exception as err:
        msg = f"could not read {what} from {path}: {err}"
        raise DataSourceError(msg) from err
    if layer is None and len(names) > 1:
        msg = (
            f"{path} holds {len(names)} layers {names}; say which one holds the {what} "
            '(`layer = "..."` in the study config, or layer=...)'
        )
        raise InputDataError(msg)
    if layer is not None and layer not in names:
        msg = f"{path} has no layer {layer!r}; its layers are {names}"
        raise InputDataError(msg)
    try:
        return gpd.read_file(path, layer=layer, encoding=text_encoding)
    except Exception as err:
        msg = f"could not read {what} from {path}: {err}"
        raise DataSourceError(msg) from err


def _declare_crs(frame: gpd.GeoDataFrame, *, crs: Any, datum: str, what: str) -> gpd.GeoDataFrame:
    """Apply the ``crs`` option, check the CRS against the numbers, convert the datum."""
    name = _datum_name(datum)
    if crs is not None:
        declared = _parse_crs(crs, what=what)
        if frame.crs is not None and pyproj.CRS(frame.crs) != declared:
            log.warning(
                "%s: the crs option %s replaces the file's CRS %s",
                what,
                declared.to_string(),
                pyproj.CRS(frame.crs).to_string(),
            )
        frame = frame.set_crs(declared, allow_override=True)
    check_crs(frame, what=what)
    if name != "wgs84":
        return to_wgs84(frame, name, what=what)
    return frame


def _parse_crs(crs: Any, *, what: str) -> pyproj.CRS:
    try:
        return pyproj.CRS(crs)
    except pyproj.exceptions.CRSError as err:
        msg = f'crs {crs!r} given for {what} is not a CRS pyproj knows (e.g. "EPSG:4490"): {err}'
        raise ConfigError(msg) from err


# --- Shapefile text encoding ---------------------------------------------------------

#: .cpg spellings (upper case, no "-", "_" or spaces) -> encoding name that both Python
#: (to check the text) and GDAL's iconv (to read it) know.
_CPG_CODECS = {
    "UTF8": "UTF-8", "65001": "UTF-8",
    "GBK": "GBK", "CP936": "GBK", "936": "GBK", "ANSI936": "GBK", "GB2312": "GBK",
    "GB18030": "GB18030", "54936": "GB18030",
    "BIG5": "BIG5", "CP950": "BIG5", "950": "BIG5",
    "88591": "ISO-8859-1", "ISO88591": "ISO-8859-1", "LATIN1": "ISO-8859-1",
    "1252": "CP1252", "ANSI1252": "CP1252", "CP1252": "CP1252",
}  # fmt: skip
#: DBF language-driver bytes (header byte 29) for Chinese code pages.
_LDID_CODECS = {0x4D: "GBK", 0x7A: "GBK", 0x4F: "BIG5", 0x78: "BIG5"}
#: Records whose text is checked against the encoding (the rest are read as the first).
_MAX_CHECKED_RECORDS = 50_000


def _sibling(path: Path, suffix: str) -> Path | None:
    for candidate in (path.with_suffix(suffix), path.with_suffix(suffix.upper())):
        if candidate.is_file():
            return candidate
    return None


def _codec(name: str, *, source: str) -> str:
    key = name.strip().upper().replace("-", "").replace("_", "").replace(" ", "")
    if key in _CPG_CODECS:
        return _CPG_CODECS[key]
    try:
        codecs.lookup(name.strip())
    except LookupError as err:
        msg = (
            f"{source} names the text encoding {name!r}, which Python does not know; "
            'use e.g. "gbk" or "utf-8"'
        )
        raise ConfigError(msg) from err
    return name.strip()


def _shapefile_encoding(path: Path, encoding: str | None, *, what: str) -> str | None:
    """Choose and check the encoding of a Shapefile's text (see the module notes)."""
    shp = path.with_suffix(".shp") if path.suffix.lower() == ".dbf" else path
    _check_shapefile_sizes(shp, what=what)
    dbf = _sibling(shp, ".dbf")
    if dbf is None:
        return encoding
    texts, ldid = _dbf_texts(dbf, what=what)
    cpg = _sibling(shp, ".cpg")
    declared: tuple[str, str] | None = None  # (codec, where it was declared)
    if encoding is not None:
        declared = (_codec(encoding, source="the encoding option"), f"encoding={encoding!r}")
    elif cpg is not None:
        label = cpg.read_bytes().decode("ascii", errors="replace").strip()
        declared = (_codec(label, source=f"{cpg}"), f"{cpg.name} ({label!r})")
    elif ldid in _LDID_CODECS:
        declared = (_LDID_CODECS[ldid], f"the DBF language byte (0x{ldid:02X})")
    if declared is not None:
        return _checked(texts, declared[0], declared[1], dbf, what)
    if not texts:
        return None  # ASCII only: every encoding reads it the same
    if _first_failure(texts, "UTF-8") is None:
        log.info("%s: %s has no .cpg; its text is valid UTF-8, read as UTF-8", what, dbf)
        return "UTF-8"
    if _first_failure(texts, "GB18030") is None:
        warnings.warn(
            f"{what} file {shp} has no .cpg file saying how its text is encoded; it was "
            f'read as GB18030 (GBK), which decodes it (e.g. "{texts[0][2].decode("GB18030")}"). '
            'If names look wrong, give the encoding (`encoding = "..."` in the study '
            f"config); to confirm GBK, add {shp.with_suffix('.cpg').name} containing GBK",
            UserWarning,
            stacklevel=4,
        )
        return "GB18030"
    msg = (
        f"the text in {dbf} is neither UTF-8 nor GB18030 and there is no .cpg saying what it "
        f'is; give its encoding (`encoding = "..."` in the study config, e.g. "big5")'
    )
    raise DataSourceError(msg)


def _checked(
    texts: list[tuple[str, int, bytes]], codec: str, source: str, dbf: Path, what: str
) -> str:
    """Return ``codec`` if it decodes all text (GBK widened to GB18030), else raise."""
    failure = _first_failure(texts, codec)
    if failure is None:
        return codec
    if codec == "GBK" and _first_failure(texts, "GB18030") is None:
        return "GB18030"  # GB18030 extends GBK: characters GBK lacks are still read
    field, record, raw = failure
    others = [c for c in ("UTF-8", "GB18030") if c != codec and _first_failure(texts, c) is None]
    fix = (
        f'it decodes as {others[0]}: give encoding = "{others[0]}" (the option overrides the .cpg)'
        if others
        else 'give the right encoding (`encoding = "..."`)'
    )
    where = "a field name" if record == 0 else f"record {record} of field {field!r}"
    msg = (
        f"{what}: the text in {dbf} is not {codec} as {source} says "
        f"({where} holds bytes {raw[:24]!r}); {fix}"
    )
    raise DataSourceError(msg)


def _first_failure(
    texts: list[tuple[str, int, bytes]], codec: str
) -> tuple[str, int, bytes] | None:
    for item in texts:
        try:
            item[2].decode(codec)
        except UnicodeDecodeError:
            return item
    return None


def _dbf_texts(dbf: Path, *, what: str) -> tuple[list[tuple[str, int, bytes]], int]:
    """Non-ASCII field names and character values of a DBF, as raw bytes.

    Returns ``[(field, record, bytes)]`` (record 0 for a field name, else 1-based) and the
    language-driver byte. Also refuses a DBF shorter than its header says.
    """
    data = dbf.read_bytes()
    if len(data) < 32:
        msg = f"{what}: {dbf} is truncated or not a DBF file ({len(data)} bytes)"
        raise DataSourceError(msg)
    n_records = int.from_bytes(data[4:8], "little")
    header_len = int.from_bytes(data[8:10], "little")
    record_len = int.from_bytes(data[10:12], "little")
    expected = header_len + n_records * record_len
    if len(data) < expected:
        msg = (
            f"{what}: {dbf} is truncated: its header promises {n_records} records "
            f"({expected:,} bytes) but the file has {len(data):,} bytes; copy it again"
        )
        raise DataSourceError(msg)
    fields: list[tuple[bytes, str, int]] = []
    for start in range(32, header_len - 31, 32):
        desc = data[start : start + 32]
        if desc[0] == 0x0D:
            break
        kind = chr(desc[11])
        width = desc[16] if kind in "NF" else desc[16] + 256 * desc[17]
        fields.append((desc[:11].split(b"\0")[0], kind, width))
    texts: list[tuple[str, int, bytes]] = []

    def label(raw: bytes) -> str:
        return raw.decode("ascii", errors="backslashreplace")

    texts += [(label(name), 0, name) for name, _, _ in fields if not name.isascii()]
    for record in range(min(n_records, _MAX_CHECKED_RECORDS)):
        offset = header_len + record * record_len + 1  # byte 0: deletion flag
        for name, kind, width in fields:
            if kind == "C":
                raw = data[offset : offset + width].rstrip(b" \0")
                if not raw.isascii():
                    texts.append((label(name), record + 1, raw))
            offset += width
    return texts, data[29]


def _check_shapefile_sizes(shp: Path, *, what: str) -> None:
    """Refuse a .shp or .shx shorter than its header says (GDAL reads those silently)."""
    for part in (shp, _sibling(shp, ".shx")):
        if part is None or not part.is_file():
            continue
        with part.open("rb") as handle:
            head = handle.read(28)
        size = part.stat().st_size
        declared = int.from_bytes(head[24:28], "big") * 2 if len(head) == 28 else -1
        if declared < 0 or size < declared:
            msg = (
                f"{what}: {part} is truncated: its header says {max(declared, 0):,} bytes, "
                f"the file has {size:,}; copy it again (features past the cut would be lost)"
            )
            raise DataSourceError(msg)


# --- tables ---------------------------------------------------------------------------


def read_table(
    path: str | Path,
    *,
    what: str = "table",
    encoding: str | None = None,
    sheet: str | int | None = None,
) -> pd.DataFrame:
    """Read a CSV (UTF-8, with or without BOM, or GB18030) or Excel (.xlsx) table.

    Parameters
    ----------
    path
        ``.csv`` / ``.txt`` or ``.xlsx`` / ``.xlsm``.
    what
        What the table is, for messages.
    encoding
        CSV text encoding; default: UTF-8, else GB18030 (logged).
    sheet
        Excel sheet name or 0-based position; default the first sheet.

    Raises
    ------
    DataSourceError
        If the file is missing, unreadable, truncated or empty, or its text does not
        decode.
    InputDataError
        If ``sheet`` is not in the workbook.
    """
    path = Path(path)
    if not path.is_file():
        msg = f"{what} file not found: {path}"
        raise DataSourceError(msg)
    suffix = path.suffix.lower()
    try:
        if suffix in {".xlsx", ".xlsm", ".xls"}:
            table = _read_excel(path, sheet=sheet, what=what)
        elif encoding is not None:
            table = pd.read_csv(path, encoding=_codec(encoding, source="the encoding option"))
        else:
            try:
                table = pd.read_csv(path, encoding="utf-8-sig")
            except UnicodeDecodeError:
                table = pd.read_csv(path, encoding="gb18030")
                log.info("%s: %s is not UTF-8; read as GB18030", what, path)
    except SitingError:
        raise
    except UnicodeDecodeError as err:
        msg = f"the text of {what} file {path} is not {encoding}: {err}; give the right encoding"
        raise DataSourceError(msg) from err
    except Exception as err:
        msg = f"could not read {what} from {path}: {err}"
        raise DataSourceError(msg) from err
    if table.empty:
        msg = f"{what} file {path} has no rows"
        raise DataSourceError(msg)
    return table


def _read_excel(path: Path, *, sheet: str | int | None, what: str) -> pd.DataFrame:
    if path.suffix.lower() == ".xls":
        msg = f"{what} file {path} is an old .xls workbook; save it as .xlsx or CSV"
        raise DataSourceError(msg)
    with pd.ExcelFile(path, engine="openpyxl") as book:
        names = [str(name) for name in book.sheet_names]
        if isinstance(sheet, str) and sheet not in names:
            msg = f"{path} has no sheet {sheet!r}; its sheets are {names}"
            raise InputDataError(msg)
        if isinstance(sheet, int) and not 0 <= sheet < len(names):
            msg = f"{path} has no sheet number {sheet} (0-based); its sheets are {names}"
            raise InputDataError(msg)
        return pd.read_excel(book, sheet_name=sheet if sheet is not None else 0)


# --- point tables ---------------------------------------------------------------------

#: Column-name pairs recognised as coordinates, in order of preference (case-insensitive).
LONLAT_COLUMNS = (
    ("lon", "lat"), ("lng", "lat"), ("longitude", "latitude"), ("long", "lat"),
    ("经度", "纬度"), ("wgs84_lon", "wgs84_lat"), ("gcj02_lon", "gcj02_lat"),
)  # fmt: skip
XY_COLUMNS = (("x", "y"), ("x坐标", "y坐标"), ("easting", "northing"), ("东坐标", "北坐标"))


def _find_columns(
    table: pd.DataFrame, x: str | None, y: str | None, *, projected: bool, where: str
) -> tuple[str, str]:
    columns = [str(c) for c in table.columns]
    if x is not None or y is not None:
        missing = [c for c in (x, y) if c is None or c not in columns]
        if missing or x is None or y is None:
            msg = (
                f"{where} has no column {missing[0]!r} for the "
                f"{'x' if missing[0] == x else 'y'} coordinate; its columns are {columns}"
            )
            raise InputDataError(msg)
        return x, y
    by_name = {c.strip().lower(): c for c in columns}
    pairs = (XY_COLUMNS + LONLAT_COLUMNS) if projected else (LONLAT_COLUMNS + XY_COLUMNS)
    for first, second in pairs:
        if first in by_name and second in by_name:
            return by_name[first], by_name[second]
    msg = (
        f"{where} has no coordinate columns: none of lon/lat, lng/lat, longitude/latitude, "
        f'经度/纬度, x/y; name them with x = "..." and y = "..."; its columns are {columns}'
    )
    raise InputDataError(msg)


def _numbers(table: pd.DataFrame, column: str, *, where: str) -> np.ndarray:
    raw = table[column]
    text = raw.astype("string").str.strip() if raw.dtype == object else raw
    values = pd.to_numeric(text, errors="coerce").to_numpy(dtype=float)
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        rows = ", ".join(f"{i + 2} ({raw.iloc[i]!r})" for i in bad[:10])
        more = f" and {bad.size - 10} more" if bad.size > 10 else ""
        msg = (
            f"{where}: column {column!r} has {bad.size} value(s) that are not numbers, in "
            f"rows {rows}{more} (rows numbered as in the file, header = row 1); fix or "
            "delete those rows"
        )
        raise InputDataError(msg)
    return values


def read_points(
    path: str | Path,
    *,
    x: str | None = None,
    y: str | None = None,
    crs: Any = None,
    datum: str = "wgs84",
    what: str = "points",
    encoding: str | None = None,
    sheet: str | int | None = None,
) -> gpd.GeoDataFrame:
    """Read a CSV or Excel table of points with coordinate columns.

    Parameters
    ----------
    path
        ``.csv`` (UTF-8 or GB18030) or ``.xlsx``.
    x, y
        Coordinate column names. Default: the first pair found of lon/lat, lng/lat,
        longitude/latitude, 经度/纬度, ..., x/y, X坐标/Y坐标 (case-insensitive; with a
        projected ``crs``, x/y pairs are preferred).
    crs
        CRS of the coordinates, e.g. ``"EPSG:4490"`` or ``"EPSG:4529"`` (CGCS2000
        Gauss-Krüger zone 41 with prefix). Default: lon/lat degrees (EPSG:4326) when the
        numbers are degrees; otherwise an error that says what the numbers look like.
    datum
        ``"wgs84"``, ``"gcj02"`` (copied from Amap, Tencent) or ``"bd09"`` (Baidu).
    what
        What the points are, for messages (e.g. ``"fuel stations"``).
    encoding, sheet
        As for :func:`read_table`.

    Returns
    -------
    GeoDataFrame
        Every column of the table plus point geometries, in EPSG:4326 (WGS84); row order
        and a fresh 0-based index as in the file.

    Raises
    ------
    DataSourceError
        If the file is missing, unreadable, truncated or empty.
    InputDataError
        If the coordinate columns are missing (the message lists the columns) or hold
        non-numbers or blanks (the message gives the row numbers).
    CRSError
        If the numbers are not degrees and no ``crs`` is given, look like lat/lon
        swapped, or do not fit the given ``crs`` (e.g. a Gauss-Krüger zone prefix).
    ConfigError
        If ``crs``, ``datum`` or ``encoding`` is not valid.
    """
    path = Path(path)
    where = f"{what} file {path}"
    name = _datum_name(datum)
    declared = _parse_crs(crs, what=where) if crs is not None else None
    table = read_table(path, what=what, encoding=encoding, sheet=sheet)
    projected = declared is not None and declared.is_projected
    xcol, ycol = _find_columns(table, x, y, projected=projected, where=where)
    xs = _numbers(table, xcol, where=where)
    ys = _numbers(table, ycol, where=where)
    if declared is None:
        degrees = np.all(np.abs(xs) <= 180.0) and np.all(np.abs(ys) <= 90.0)
        hint = _coordinates_hint(xs, ys)
        if not degrees or "swapped" in hint:
            msg = (
                f"{where} has no CRS for columns {xcol!r}/{ycol!r}; {hint} "
                "(in the study config, the layer's `crs = ...`; in Python, crs=...)"
            )
            raise CRSError(msg)
        declared = pyproj.CRS("EPSG:4326")
        log.info("%s: columns %s/%s read as lon/lat degrees (EPSG:4326)", where, xcol, ycol)
    points = gpd.GeoDataFrame(
        table.reset_index(drop=True), geometry=gpd.points_from_xy(xs, ys), crs=declared
    )
    check_crs(points, what=f"{where} (columns {xcol!r}/{ycol!r})")
    if name != "wgs84":
        return to_wgs84(points, name, what=where)
    if not declared.equals("EPSG:4326"):
        log.info("%s: reprojected from %s to EPSG:4326", where, declared.to_string())
        points = points.to_crs("EPSG:4326")
    return points
