"""OpenStreetMap data as files: PBF or XML, cut to a study area, or downloaded through osmnx.

Every path ends in one small PBF that :func:`siting.sources.layers_from_osm` parses with
pyrosm, so the layers are the same whichever way the data came:

- **PBF**, any size (a city cut, a provincial or national Geofabrik extract): cut to the study
  area with pyrosm's streaming crop (``OSM(...).to_pbf``), which reads the file block by block
  with bounded memory and keeps complete ways (a way with one node inside keeps all its
  nodes). ``benchmarks/pbf.py`` chose it by measurement: reading a 2 km² area out of a
  203 MB file took 25.7 s and 378 MB peak (83 MB over the imports), against 164 s and 665 MB
  for pyrosm reading the whole file by a bounding box, 61 s and 629 MB for a pyosmium cut,
  and 59 s and 1.1 GB for quackosm (features only); ``benchmarks/results.json``, case
  ``pbf_area_read``.
- **OSM XML** (``.osm``, also ``.osm.gz`` / ``.osm.bz2``, e.g. from JOSM or an Overpass
  download): converted to PBF with pyosmium, streaming; a file whose objects are not in the
  usual order (nodes, ways, relations, each by id) is sorted in memory first.
- **Online**: the Overpass API through osmnx (its cache, timeouts and polygon subdivision), one
  query of every tag the layers need; the elements are written to PBF with pyosmium.

The format is read from the file's first bytes, not its name. Temporary files go to a private
folder that is removed when the work ends, also on errors: nothing half-written is left.
"""

from __future__ import annotations

import bz2
import contextlib
import gzip
import logging
import math
import shutil
import tempfile
import warnings
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from shapely.geometry import MultiPolygon, Polygon, box

from siting._errors import ConfigError, DataSourceError, InputDataError
from siting.boundary import Area, area_polygon

__all__ = ["osm_format", "osm_to_pbf", "overpass_to_pbf"]

log = logging.getLogger(__name__)

_WGS84 = "EPSG:4326"
_XML_FORMATS = {"osm": "OSM XML", "osm.gz": "gzip-compressed OSM XML", "osm.bz2": "bzip2 OSM XML"}
_TYPE_ORDER = {"n": 0, "w": 1, "r": 2}


def _bounds_text(bounds: Sequence[float]) -> str:
    left, bottom, right, top = bounds
    return f"lon {left:.4f} to {right:.4f}, lat {bottom:.4f} to {top:.4f}"


# --- files -----------------------------------------------------------------------------


def osm_format(path: str | Path) -> str:
    """Tell the format of an OSM file from its first bytes.

    Parameters
    ----------
    path
        An OSM file.

    Returns
    -------
    str
        ``"pbf"``, ``"osm"`` (XML), ``"osm.gz"`` or ``"osm.bz2"`` (compressed XML): the
        format names osmium uses.

    Raises
    ------
    DataSourceError
        If the file is missing, a folder, empty, or neither OSM PBF nor OSM XML. A file
        named ``*.pbf`` that is not PBF is refused even when it holds XML (rename it).
    """
    path = Path(path)
    if not path.is_file():
        msg = (
            f"OSM file not found: {path}; pass an existing .osm.pbf or .osm (XML) file"
            if not path.exists()
            else f"{path} is a folder, not an OSM file; pass a .osm.pbf or .osm file"
        )
        raise DataSourceError(msg)
    try:
        with path.open("rb") as fh:
            head = fh.read(64)
    except OSError as err:
        msg = f"cannot read OSM file {path}: {err}"
        raise DataSourceError(msg) from err
    if b"OSMHeader" in head[:32]:
        return "pbf"
    if path.name.lower().endswith(".pbf"):
        kind = " (it holds XML: rename it to .osm)" if _is_osm_xml(_text_head(path, head)) else ""
        msg = (
            f"{path} is not an OSM PBF file (no OSMHeader block at the start){kind}; "
            "download a .osm.pbf extract, e.g. from Geofabrik, or give an OSM XML file as .osm"
        )
        raise DataSourceError(msg)
    text = _text_head(path, head)
    if _is_osm_xml(text):
        if head[:2] == b"\x1f\x8b":
            return "osm.gz"
        if head[:3] == b"BZh":
            return "osm.bz2"
        return "osm"
    shown = head[:16]
    msg = (
        f"{path} is not an OSM PBF or OSM XML file (it starts with {shown!r}); give a "
        ".osm.pbf extract or an .osm XML file (also .osm.gz / .osm.bz2)"
    )
    raise DataSourceError(msg)


def _text_head(path: Path, head: bytes) -> bytes:
    """Read the first bytes of a file's text, decompressed when it is gzip or bzip2."""
    opener: Any = None
    if head[:2] == b"\x1f\x8b":
        opener = gzip.open
    elif head[:3] == b"BZh":
        opener = bz2.open
    if opener is None:
        return head
    try:
        with opener(path, "rb") as fh:
            return bytes(fh.read(1024))
    except (OSError, EOFError, ValueError):
        return b""


def _is_osm_xml(text: bytes) -> bool:
    start = text.lstrip(b"\xef\xbb\xbf \t\r\n")
    return start.startswith((b"<?xml", b"<osm")) and b"<osm" in text


def osm_to_pbf(
    path: str | Path,
    out: str | Path,
    *,
    area: Area | None = None,
    margin_m: float = 0.0,
    progress: bool = False,
) -> Path:
    """Write an OSM file (PBF or XML) as PBF, cut to a study area if one is given.

    Use it to cut a provincial or national extract to a city once and keep the small file.
    The cut streams through the file with bounded memory and keeps complete ways.

    Parameters
    ----------
    path
        OSM PBF, or OSM XML (``.osm``, ``.osm.gz``, ``.osm.bz2``).
    out
        The PBF to write (``.osm.pbf``); replaced only once it is complete.
    area
        Study area (see :func:`area_polygon`); ``None`` keeps everything.
    margin_m
        Widen the area by this many metres.
    progress
        Show pyrosm's progress bar while cutting.

    Returns
    -------
    Path
        ``out``.

    Raises
    ------
    DataSourceError
        If the file is missing, not OSM data, truncated or corrupt.
    InputDataError
        If no OSM data lie inside the area.
    OutputError
        If ``out`` cannot be written.
    """
    from siting._errors import OutputError

    path, out = Path(path), Path(out)
    polygon = None if area is None else area_polygon(area, margin_m=margin_m)
    with _workdir() as tmp:
        pbf = _prepared_pbf(path, tmp, area=polygon, progress=progress, stacklevel=3)
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            partial = out.with_name(out.name + ".part")
            shutil.copyfile(pbf, partial)
            partial.replace(out)
        except OSError as err:
            msg = f"cannot write {out}: {err}"
            raise OutputError(msg) from err
    return out


@contextlib.contextmanager
def _workdir() -> Iterator[Path]:
    """Make a private temporary folder, removed afterwards (also after an error)."""
    with tempfile.TemporaryDirectory(prefix="siting-osm-") as name:
        yield Path(name)


def _prepared_pbf(
    path: Path,
    tmp: Path,
    *,
    area: Polygon | MultiPolygon | None,
    progress: bool = False,
    stacklevel: int = 2,
) -> Path:
    """Give the PBF pyrosm should read: ``path`` itself, or a conversion/cut inside ``tmp``.

    The returned file's name ends in ``.pbf`` (pyrosm requires it).
    """
    fmt = osm_format(path)
    if fmt == "pbf":
        pbf = path if path.name.endswith(".pbf") else _linked(path, tmp / "input.osm.pbf")
    else:
        pbf = _xml_to_pbf(path, fmt, tmp / "from-xml.osm.pbf")
    if area is None:
        return pbf
    _check_extract_covers(path, pbf, area, stacklevel=stacklevel + 1)
    return _crop(path, pbf, area, tmp / "area.osm.pbf", progress=progress)


def _linked(path: Path, link: Path) -> Path:
    try:
        link.symlink_to(path.resolve())
    except OSError:
        shutil.copyfile(path, link)
    return link


def _header_bounds(pbf: Path) -> tuple[float, float, float, float] | None:
    """Read the bounding box a PBF's header declares, if any."""
    import osmium

    try:
        reader = osmium.io.Reader(str(pbf), osmium.osm.osm_entity_bits.NOTHING)
    except RuntimeError:
        return None
    try:
        bbox = reader.header().box()
        if not bbox.valid():
            return None
        return (bbox.bottom_left.lon, bbox.bottom_left.lat, bbox.top_right.lon, bbox.top_right.lat)
    finally:
        reader.close()


def _check_extract_covers(
    path: Path, pbf: Path, area: Polygon | MultiPolygon, *, stacklevel: int
) -> None:
    """Refuse an area outside the extract's declared bounds; warn if it reaches beyond them."""
    bounds = _header_bounds(pbf)
    if bounds is None:
        return
    extract = box(*bounds).buffer(1e-6)
    if not extract.intersects(area):
        msg = (
            f"the study area ({_bounds_text(area.bounds)}) lies outside the extract {path} "
            f"({_bounds_text(bounds)}): nothing left after clipping. Check that the area is "
            "WGS84 lon/lat (a GCJ-02 or projected boundary lands elsewhere) and that the "
            "extract is the right one"
        )
        raise InputDataError(msg)
    if not extract.covers(area):
        warnings.warn(
            f"the study area ({_bounds_text(area.bounds)}) reaches beyond the extract {path} "
            f"({_bounds_text(bounds)}): OSM layers will be empty there; use an extract that "
            "covers the whole area",
            UserWarning,
            stacklevel=stacklevel,
        )


def _crop(
    source: Path, pbf: Path, area: Polygon | MultiPolygon, out: Path, *, progress: bool
) -> Path:
    """Cut ``pbf`` to the bounding box of ``area`` with pyrosm's streaming crop.

    The crop keeps complete ways (all nodes of a way with a node in the box). It uses the
    area's box, not the polygon: pyrosm reading by a polygon selects by the polygon's box
    and then keeps what intersects the polygon, which includes a way crossing a corner of
    the polygon with no node inside it; the box crop keeps those too, so reading the crop by
    the polygon gives exactly what reading the whole file by the polygon gives.
    """
    from pyrosm import OSM

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pyrosm warns on an empty crop: checked below
            crop = OSM(str(pbf), bounding_box=list(area.bounds), progress=progress)
            crop.to_pbf(str(out))
    except Exception as err:  # protobuf, zlib, struct errors on corrupt files
        msg = f"could not read OSM data from {source} (corrupt or truncated?): {err}"
        raise DataSourceError(msg) from err
    if not _has_nodes(out):
        bounds = _header_bounds(pbf)
        covers = f" (the file covers {_bounds_text(bounds)})" if bounds else ""
        msg = (
            f"no OSM data inside the study area ({_bounds_text(area.bounds)}) in "
            f"{source}{covers}: nothing left after clipping. Check that the area is WGS84 "
            "lon/lat (a GCJ-02 or projected boundary lands elsewhere) and that the extract "
            "covers it"
        )
        raise InputDataError(msg)
    return out


def _has_nodes(pbf: Path) -> bool:
    import osmium

    for _ in osmium.FileProcessor(str(pbf), osmium.osm.NODE):
        return True
    return False


def _xml_to_pbf(path: Path, fmt: str, out: Path) -> Path:
    """Convert OSM XML to PBF with pyosmium, streaming; sort in memory if it is unsorted."""
    import osmium

    kind = _XML_FORMATS[fmt]
    try:
        in_order = True
        with osmium.SimpleWriter(str(out), overwrite=True) as writer:
            previous = (-1, -math.inf)
            for obj in osmium.FileProcessor(osmium.io.File(str(path), fmt)):
                key = (_TYPE_ORDER[obj.type_str()], obj.id)
                if key <= previous:
                    in_order = False
                    break
                previous = key
                writer.add(obj)
        if not in_order:
            log.info("%s is not sorted by type and id: sorting it in memory", path)
            objects = [_copy(obj) for obj in osmium.FileProcessor(osmium.io.File(str(path), fmt))]
            objects.sort(key=lambda item: item[0])
            with osmium.SimpleWriter(str(out), overwrite=True) as writer:
                for _, obj in _unique(objects):
                    writer.add(obj)
    except RuntimeError as err:  # osmium: XML parsing error, unexpected end of file
        msg = f"could not read {kind} from {path} (truncated or not OSM XML?): {err}"
        raise DataSourceError(msg) from err
    return out


def _copy(obj: Any) -> tuple[tuple[int, int], Any]:
    """Copy a pyosmium object out of its (reused) buffer; return it with its sort key."""
    from osmium.osm import mutable

    meta = {
        "version": obj.version,
        "changeset": obj.changeset,
        "timestamp": obj.timestamp,
        "uid": obj.uid,
        "user": obj.user,
        "visible": obj.visible,
    }
    tags = {tag.k: tag.v for tag in obj.tags}
    kind = obj.type_str()
    copy: Any
    if kind == "n":
        loc = obj.location
        location = (loc.lon, loc.lat) if loc.valid() else None
        copy = mutable.Node(id=obj.id, location=location, tags=tags, **meta)
    elif kind == "w":
        copy = mutable.Way(id=obj.id, nodes=[n.ref for n in obj.nodes], tags=tags, **meta)
    else:
        members = [(m.type, m.ref, m.role) for m in obj.members]
        copy = mutable.Relation(id=obj.id, members=members, tags=tags, **meta)
    return (_TYPE_ORDER[kind], obj.id), copy


def _unique(objects: list[tuple[tuple[int, int], Any]]) -> Iterator[tuple[tuple[int, int], Any]]:
    """Sorted objects with repeated (type, id) dropped: the last one read wins."""
    for i, item in enumerate(objects):
        if i + 1 < len(objects) and objects[i + 1][0] == item[0]:
            continue
        yield item


# --- online (osmnx) --------------------------------------------------------------------


@contextlib.contextmanager
def _osmnx_settings(
    *,
    cache_folder: str | Path | None,
    use_cache: bool,
    overpass_url: str | None = None,
    nominatim_url: str | None = None,
    timeout_s: float | None = None,
) -> Iterator[None]:
    """Set osmnx's settings for one download and restore them afterwards."""
    import osmnx as ox

    wanted: dict[str, Any] = {"use_cache": bool(use_cache)}
    if cache_folder is not None:
        wanted["cache_folder"] = str(cache_folder)
    if overpass_url is not None:
        wanted["overpass_url"] = overpass_url
    if nominatim_url is not None:
        wanted["nominatim_url"] = nominatim_url
    if timeout_s is not None:
        if not (math.isfinite(timeout_s) and timeout_s > 0):
            msg = f"timeout_s must be a number of seconds > 0, got {timeout_s!r}"
            raise ConfigError(msg)
        wanted["requests_timeout"] = float(timeout_s)
    saved = {key: getattr(ox.settings, key) for key in wanted}
    try:
        for key, value in wanted.items():
            setattr(ox.settings, key, value)
        yield
    finally:
        for key, value in saved.items():
            setattr(ox.settings, key, value)


@contextlib.contextmanager
def _online_errors(service: str, url: str) -> Iterator[None]:
    """Turn network and HTTP errors of a download into one :class:`DataSourceError`."""
    import requests
    from osmnx._errors import InsufficientResponseError, ResponseStatusCodeError

    try:
        yield
    except (requests.RequestException, ResponseStatusCodeError) as err:
        msg = (
            f"could not download from the {service} ({url}): {err}. Check the internet "
            "connection (or proxy) and try again later; responses already downloaded are "
            "kept in the osmnx cache folder and not asked for again"
        )
        raise DataSourceError(msg) from err
    except InsufficientResponseError as err:
        msg = f"the {service} ({url}) gave an unusable answer: {err}"
        raise DataSourceError(msg) from err


def overpass_to_pbf(
    area: Area,
    out: str | Path,
    *,
    tags: Mapping[str, bool | str | list[str]],
    margin_m: float = 0.0,
    cache_folder: str | Path | None = None,
    use_cache: bool = True,
    overpass_url: str | None = None,
    timeout_s: float | None = None,
) -> Path:
    """Download the OSM elements with ``tags`` inside an area from Overpass, as a PBF.

    The query is osmnx's features query (each tag on nodes, ways and relations in the
    polygon, with the ways' nodes and the relations' members), sent through osmnx so that
    its cache, timeouts and subdivision of large areas apply.

    Parameters
    ----------
    area
        Study area (see :func:`area_polygon`).
    out
        The PBF to write; written only when every response arrived complete.
    tags
        osmnx-style tags: ``{"highway": True, "amenity": ["fuel", "school"], ...}``.
    margin_m
        Widen the area by this many metres.
    cache_folder
        osmnx's response cache folder (default: osmnx's ``settings.cache_folder``,
        ``./cache``).
    use_cache
        Reuse cached responses and save new ones (osmnx's ``settings.use_cache``).
    overpass_url
        Another Overpass server, e.g. a national mirror (default: osmnx's setting).
    timeout_s
        HTTP and Overpass query timeout, seconds (default: osmnx's, 180 s).

    Returns
    -------
    Path
        ``out``.

    Raises
    ------
    DataSourceError
        If a request fails (network, HTTP status, a server error remark such as a timeout).
    InputDataError
        If Overpass holds no data with those tags inside the area.
    """
    import osmnx as ox
    from osmnx import _overpass  # features query with subdivision and cache (osmnx 2.x)

    polygon = area_polygon(area, margin_m=margin_m)
    elements: dict[tuple[int, int], dict[str, Any]] = {}
    with _osmnx_settings(
        cache_folder=cache_folder, use_cache=use_cache, overpass_url=overpass_url,
        timeout_s=timeout_s,
    ):  # fmt: skip
        url = ox.settings.overpass_url
        with _online_errors("Overpass API", url):
            for response in _overpass._download_overpass_features(polygon, dict(tags)):
                remark = str(response.get("remark") or "")
                if "error" in remark.lower():
                    msg = (
                        f"the Overpass API ({url}) stopped the query: {remark!r}; the answer "
                        "would be incomplete. Try again later, a smaller area, or a longer "
                        "timeout_s"
                    )
                    raise DataSourceError(msg)
                for element in response.get("elements", []):
                    kind = str(element.get("type", ""))[:1]
                    if kind in _TYPE_ORDER:
                        elements[(_TYPE_ORDER[kind], int(element["id"]))] = element
    if not any(key[0] == 0 for key in elements):
        msg = (
            f"the Overpass API returned no OSM data inside the study area "
            f"({_bounds_text(polygon.bounds)}): nothing to analyse. Check that the area is "
            "WGS84 lon/lat (a GCJ-02 or projected boundary lands elsewhere)"
        )
        raise InputDataError(msg)
    out = Path(out)
    partial = out.with_name(out.name + ".part.osm.pbf")
    try:
        _write_elements(elements, partial)
        partial.replace(out)
    finally:
        partial.unlink(missing_ok=True)
    log.info("Overpass: %d elements inside %s", len(elements), _bounds_text(polygon.bounds))
    return out


def _write_elements(elements: Mapping[tuple[int, int], Mapping[str, Any]], out: Path) -> None:
    """Write Overpass JSON elements to a PBF, sorted by type then id."""
    import osmium
    from osmium.osm import mutable

    with osmium.SimpleWriter(str(out), overwrite=True) as writer:
        for key in sorted(elements):
            element = elements[key]
            tags = {str(k): str(v) for k, v in (element.get("tags") or {}).items()}
            if key[0] == 0:
                location = (float(element["lon"]), float(element["lat"]))
                writer.add_node(mutable.Node(id=key[1], location=location, tags=tags))
            elif key[0] == 1:
                nodes = [int(n) for n in element.get("nodes", [])]
                writer.add_way(mutable.Way(id=key[1], nodes=nodes, tags=tags))
            else:
                members = [
                    (str(m["type"])[:1], int(m["ref"]), str(m.get("role", "")))
                    for m in element.get("members", [])
                ]
                writer.add_relation(mutable.Relation(id=key[1], members=members, tags=tags))
