"""Read the layers a study needs from OpenStreetMap data or a saved GeoPackage.

OpenStreetMap data come three ways, all parsed by the same pyrosm reader so the layers are
the same: a PBF file of any size (cut to the study area while streaming), an OSM XML file
(:func:`layers_from_osm`), or a download by place name or polygon through osmnx
(:func:`layers_from_osmnx`); :mod:`siting.osm` handles the files and the download.

The layers form a plain ``dict`` keyed by :data:`LAYER_NAMES`; each value is a
GeoDataFrame in EPSG:4326 with the columns listed in :data:`LAYER_COLUMNS`.
Missing features give an empty layer with those columns, never ``None``.

OSM tag values are kept as the tag's text (e.g. ``amenities.capacity`` is ``"60"``,
``"ca. 30"`` or ``None`` when untagged); :mod:`siting.supply` interprets them.
"""

from __future__ import annotations

import json
import logging
import shutil
import warnings
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
from shapely.geometry import MultiPolygon, Polygon

from siting._errors import ConfigError, DataSourceError, InputDataError
from siting.boundary import Area, area_polygon

__all__ = [
    "AMENITIES",
    "LAYER_COLUMNS",
    "LAYER_NAMES",
    "OPTIONAL_COLUMNS",
    "OPTIONAL_LAYERS",
    "OVERPASS_TAGS",
    "PIPELINE_TAGS",
    "POWER_LINE_TAGS",
    "SITE_TAGS",
    "STOP_TAGS",
    "layers_from_gpkg",
    "layers_from_osm",
    "layers_from_osmnx",
    "layers_to_gpkg",
]

log = logging.getLogger(__name__)

#: OSM ``amenity`` values read into the ``amenities`` layer.
AMENITIES = (
    "fuel", "kindergarten", "childcare", "school", "clinic", "doctors", "hospital",
    "community_centre", "social_facility",
)  # fmt: skip

#: Columns of each layer (besides ``geometry``).
LAYER_COLUMNS: dict[str, list[str]] = {
    "walk_nodes": ["id"],
    "walk_edges": ["u", "v", "length", "highway", "name"],
    "roads": ["id", "highway", "name"],
    "buildings": ["id", "building", "levels", "name"],
    "landuse": ["id", "landuse", "name"],
    "amenities": ["id", "osm_type", "amenity", "name", "fuel_tags", "capacity"],
    "power": ["id", "power", "voltage", "name"],
    "pipelines": ["id", "substance", "pipeline_type", "location", "name"],
    "sites": ["id", "osm_type", "category", "name", "content", "speciality"],
    "stops": ["id", "osm_type", "mode", "name"],
}

#: Layers that older saved files may lack (read as empty).
OPTIONAL_LAYERS = frozenset({"sites", "stops"})

#: Columns that older saved files may lack, by layer (read as ``None``).
OPTIONAL_COLUMNS: dict[str, frozenset[str]] = {"amenities": frozenset({"capacity"})}

#: Raw OSM tag text columns kept as text (``None`` when untagged) through a GeoPackage.
_TEXT_COLUMNS: dict[str, tuple[str, ...]] = {"amenities": ("capacity",)}

#: Tags read into the ``stops`` layer (public transport stops), and the mode each means.
STOP_TAGS: dict[str, dict[str, str]] = {
    "highway": {"bus_stop": "bus"},
    "railway": {"tram_stop": "tram", "station": "rail", "halt": "rail", "subway_entrance": "metro"},
    "public_transport": {"platform": "platform", "stop_position": "stop", "station": "station"},
}

#: Tags read into the ``sites`` layer: point or area hazards other than fuel stations.
SITE_TAGS: dict[str, list[str]] = {
    "power": ["substation"],
    "man_made": ["wastewater_plant", "storage_tank"],
    "amenity": ["waste_transfer_station", "marketplace", "hospital"],
    "shop": ["mall", "department_store", "wholesale"],
}
#: Tags read into the ``power`` layer (lines, as ways).
POWER_LINE_TAGS: dict[str, list[str]] = {"power": ["line", "minor_line", "cable"]}
#: Tags read into the ``pipelines`` layer (as ways).
PIPELINE_TAGS: dict[str, list[str]] = {"man_made": ["pipeline"]}
LAYER_NAMES = tuple(LAYER_COLUMNS)


def _overpass_tags() -> dict[str, bool | list[str]]:
    tags: dict[str, bool | list[str]] = {"highway": True, "building": True, "landuse": True}
    filters: list[dict[str, list[str]]] = [
        {"amenity": list(AMENITIES)}, POWER_LINE_TAGS, PIPELINE_TAGS, SITE_TAGS,
        {k: list(v) for k, v in STOP_TAGS.items()},
    ]  # fmt: skip
    for one in filters:
        for key, values in one.items():
            if tags.get(key) is not True:
                old = tags.get(key, [])
                tags[key] = sorted({*(old if isinstance(old, list) else []), *values})
    return tags


#: Tags of the Overpass query behind :func:`layers_from_osmnx` (osmnx's ``tags`` format):
#: every tag a layer is read by, so the online layers equal those of an extract.
OVERPASS_TAGS: dict[str, bool | list[str]] = _overpass_tags()

_WGS84 = "EPSG:4326"


def empty_layer(name: str) -> gpd.GeoDataFrame:
    """Make an empty layer with the columns of :data:`LAYER_COLUMNS` (EPSG:4326)."""
    return gpd.GeoDataFrame(
        {c: pd.Series(dtype=object) for c in LAYER_COLUMNS[name]},
        geometry=gpd.GeoSeries([], crs=_WGS84),
        crs=_WGS84,
    )


def _tags(frame: pd.DataFrame) -> pd.Series:
    """Parse pyrosm's JSON ``tags`` column into dicts (empty dict where absent)."""
    if "tags" not in frame.columns:
        return pd.Series([{}] * len(frame), index=frame.index, dtype=object)

    def parse(value: Any) -> dict[str, str]:
        if isinstance(value, dict):
            return value
        if isinstance(value, str) and value:
            try:
                parsed = json.loads(value)
            except json.JSONDecodeError:
                return {}
            return parsed if isinstance(parsed, dict) else {}
        return {}

    return frame["tags"].map(parse)


def _tag(frame: pd.DataFrame, tags: pd.Series, key: str) -> pd.Series:
    """Value of ``key`` from its own column if pyrosm made one, else from ``tags``."""
    from_tags = tags.map(lambda t: t.get(key))
    if key in frame.columns:
        return frame[key].where(frame[key].notna(), from_tags)
    return from_tags


def _text(values: pd.Series) -> pd.Series:
    """Values as text (``str``) with ``None`` where missing, in an object column."""
    values = values.astype(object)
    return values.where(values.isna(), values.map(str)).where(values.notna(), None)


def _select(
    frame: gpd.GeoDataFrame | None, layer: str, /, **columns: pd.Series
) -> gpd.GeoDataFrame:
    if frame is None or len(frame) == 0:
        return empty_layer(layer)
    out = gpd.GeoDataFrame(
        {c: columns[c] if c in columns else frame.get(c) for c in LAYER_COLUMNS[layer]},
        geometry=frame.geometry.to_numpy(),
        crs=frame.crs or _WGS84,
    )
    return out[out.geometry.notna() & ~out.geometry.is_empty].reset_index(drop=True)


def _stops(stops: gpd.GeoDataFrame | None) -> gpd.GeoDataFrame:
    """Public transport stops with their mode (bus, tram, rail, metro, or generic)."""
    if stops is None or len(stops) == 0:
        return empty_layer("stops")
    tags = _tags(stops)
    mode = pd.Series(None, index=stops.index, dtype=object)
    for key, values in STOP_TAGS.items():
        value = _tag(stops, tags, key)
        hit = mode.isna() & value.isin(list(values))
        mode[hit] = value[hit].map(values)
    keep = mode.notna()
    return _select(stops[keep], "stops", mode=mode[keep], name=_tag(stops, tags, "name")[keep])


def _sites(sites: gpd.GeoDataFrame | None) -> gpd.GeoDataFrame:
    """Label each site with the first matching ``key=value`` of :data:`SITE_TAGS`."""
    if sites is None or len(sites) == 0:
        return empty_layer("sites")
    tags = _tags(sites)
    category = pd.Series(None, index=sites.index, dtype=object)
    for key, values in SITE_TAGS.items():
        value = _tag(sites, tags, key)
        hit = category.isna() & value.isin(values)
        category[hit] = key + "=" + value[hit]
    content = _tag(sites, tags, "content").fillna(_tag(sites, tags, "substance"))
    return _select(
        sites[category.notna()], "sites", category=category[category.notna()],
        content=content[category.notna()],
        speciality=_tag(sites, tags, "healthcare:speciality")[category.notna()],
        name=_tag(sites, tags, "name")[category.notna()],
    )  # fmt: skip


def layers_from_osm(
    path: str | Path,
    *,
    area: Area | None = None,
    bbox: tuple[float, float, float, float] | None = None,
    margin_m: float = 0.0,
    progress: bool = False,
) -> dict[str, gpd.GeoDataFrame]:
    """Read every layer a study needs from an OSM file (PBF or XML), offline.

    Parameters
    ----------
    path
        An ``.osm.pbf`` file of any size (a city cut, a provincial or national Geofabrik
        extract), or OSM XML (``.osm``, ``.osm.gz``, ``.osm.bz2``, e.g. saved from JOSM or
        Overpass). The format is read from the file's first bytes.
    area
        Study area to read (see :func:`siting.boundary.area_polygon`): a
        ``(left, bottom, right, top)`` box in degrees, a shapely (Multi)Polygon in
        EPSG:4326, or a GeoDataFrame/GeoSeries in any CRS, e.g. from
        :func:`siting.boundary.area_from_cnmaps`. The file is cut to it first, streaming with
        bounded memory, so a national extract can be read for one district. Features with a
        node inside the area are read whole. Default: the whole file.
    bbox
        Older spelling of a box ``area`` (``(left, bottom, right, top)``, degrees).
    margin_m
        Widen the area by this many metres, e.g. to read hazards just outside it whose
        setbacks reach inside.
    progress
        Show pyrosm's progress bar while cutting and reading.

    Returns
    -------
    dict of str to GeoDataFrame
        Layers keyed by :data:`LAYER_NAMES`, all in EPSG:4326.

    Raises
    ------
    DataSourceError
        If the file is missing, is not OSM PBF or XML, or is corrupt or truncated.
    InputDataError
        If no OSM data lie inside the area, or the data have no walkable streets or no
        buildings (nothing to analyse).
    ConfigError
        If both ``area`` and ``bbox`` are given.
    """
    from siting.osm import _prepared_pbf, _workdir

    if bbox is not None:
        if area is not None:
            msg = "give the study area once: area=... (bbox=... is its older spelling)"
            raise ConfigError(msg)
        area = bbox
    path = Path(path)
    polygon = None if area is None else area_polygon(area, margin_m=margin_m)
    with _workdir() as tmp:
        pbf = _prepared_pbf(path, tmp, area=polygon, progress=progress, stacklevel=3)
        try:
            return _layers_from_pbf(pbf, source=str(path), area=polygon, progress=progress)
        finally:
            if pbf != path:
                _clear_pyrosm_cache(pbf)


def _clear_pyrosm_cache(pbf: Path) -> None:
    """Drop the result cache pyrosm keeps for a temporary file (it never serves it again)."""
    from pyrosm import OSM

    OSM.clear_cache(str(pbf))


def _layers_from_pbf(
    pbf: Path,
    *,
    source: str,
    area: Polygon | MultiPolygon | None = None,
    progress: bool = False,
) -> dict[str, gpd.GeoDataFrame]:
    """Parse the layers from a PBF with pyrosm (reading only ``area`` if given).

    ``source`` names the user's input in messages (``pbf`` may be a temporary file).
    """
    from pyrosm import OSM  # heavy import, only needed here

    where = source if area is None else f"the study area of {source}"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pyrosm's pandas idioms warn on new pandas
            osm = OSM(str(pbf), bounding_box=area, progress=progress)
            walk = osm.get_network(network_type="walking", nodes=True)
            drive = osm.get_network(network_type="driving")
            buildings = osm.get_buildings()
            landuse = osm.get_landuse()
            amenities = osm.get_pois(custom_filter={"amenity": list(AMENITIES)})
            power = osm.get_data_by_custom_criteria(
                custom_filter=POWER_LINE_TAGS,
                filter_type="keep",
                keep_nodes=False,
                keep_relations=False,
            )
            pipelines = osm.get_data_by_custom_criteria(
                custom_filter=PIPELINE_TAGS,
                filter_type="keep",
                keep_nodes=False,
                keep_relations=False,
            )
            stops = osm.get_data_by_custom_criteria(
                custom_filter={k: list(v) for k, v in STOP_TAGS.items()},
                filter_type="keep",
                keep_nodes=True,
                keep_ways=False,
                keep_relations=False,
            )
            sites = osm.get_data_by_custom_criteria(
                custom_filter=SITE_TAGS,
                filter_type="keep",
                keep_nodes=True,
                keep_ways=True,
                keep_relations=True,
            )
    except Exception as err:  # pyrosm raises protobuf, zlib, Key/Value errors on corrupt files
        msg = f"could not read OSM data from {source} (corrupt or truncated?): {err}"
        raise DataSourceError(msg) from err

    layers: dict[str, gpd.GeoDataFrame] = {}
    if walk is None or walk[1] is None or len(walk[1]) == 0:
        msg = (
            f"{where} has no walkable streets (highway=*); siting needs a street network. "
            "Use an extract (or area) that covers the built-up area"
        )
        raise InputDataError(msg)
    nodes, edges = walk
    layers["walk_nodes"] = _select(nodes, "walk_nodes")
    layers["walk_edges"] = _select(edges, "walk_edges")
    layers["roads"] = _select(drive, "roads")
    if buildings is None or len(buildings) == 0:
        msg = (
            f"{where} has no buildings (building=*); under-3 demand is estimated from "
            "residential buildings, so use an extract (or area) where buildings are mapped"
        )
        raise InputDataError(msg)
    btags = _tags(buildings)
    layers["buildings"] = _select(
        buildings, "buildings", levels=_tag(buildings, btags, "building:levels")
    )
    layers["landuse"] = _select(landuse, "landuse")
    if amenities is not None and len(amenities):
        atags = _tags(amenities)
        fuel_tags = atags.map(
            lambda t: ";".join(
                sorted(k for k, v in t.items() if k.startswith("fuel:") and v == "yes")
            )
        )
        layers["amenities"] = _select(
            amenities,
            "amenities",
            fuel_tags=fuel_tags,
            capacity=_text(_tag(amenities, atags, "capacity")),
        )
    else:
        layers["amenities"] = empty_layer("amenities")
    if power is not None and len(power):
        ptags = _tags(power)
        layers["power"] = _select(
            power, "power", voltage=_tag(power, ptags, "voltage"), name=_tag(power, ptags, "name")
        )
    else:
        layers["power"] = empty_layer("power")
    if pipelines is not None and len(pipelines):
        qtags = _tags(pipelines)
        layers["pipelines"] = _select(
            pipelines,
            "pipelines",
            substance=_tag(pipelines, qtags, "substance"),
            pipeline_type=_tag(pipelines, qtags, "type"),
            location=_tag(pipelines, qtags, "location"),
            name=_tag(pipelines, qtags, "name"),
        )
    else:
        layers["pipelines"] = empty_layer("pipelines")
    layers["sites"] = _sites(sites)
    layers["stops"] = _stops(stops)
    for name, layer in layers.items():
        for col in ("id", "u", "v"):
            if col in layer.columns and len(layer):
                layer[col] = layer[col].astype("int64")
        log.debug("%s: %d features", name, len(layer))
    return layers


def layers_from_osmnx(
    place_or_area: str | Area,
    *,
    margin_m: float = 0.0,
    cache_folder: str | Path | None = None,
    use_cache: bool = True,
    overpass_url: str | None = None,
    nominatim_url: str | None = None,
    timeout_s: float | None = None,
    save_pbf: str | Path | None = None,
) -> dict[str, gpd.GeoDataFrame]:
    """Download every layer a study needs from OpenStreetMap through osmnx (online).

    The data of :data:`OVERPASS_TAGS` inside the area come from the Overpass API in osmnx's
    features query and are parsed exactly as :func:`layers_from_osm` parses a file cut to
    the same area, so the layers are the same as from an extract of the same date.

    Parameters
    ----------
    place_or_area
        A place name geocoded by Nominatim (:func:`siting.boundary.area_from_place`, e.g.
        ``"Kotka, Finland"``), or a study area: a box, a shapely (Multi)Polygon in EPSG:4326
        or a GeoDataFrame/GeoSeries in any CRS (e.g. from
        :func:`siting.boundary.area_from_cnmaps`).
    margin_m
        Widen the area by this many metres.
    cache_folder
        osmnx's response cache folder (default: osmnx's ``settings.cache_folder``,
        ``./cache``). A repeated run reads its answers from there instead of the network.
    use_cache
        Reuse cached responses and save new ones (osmnx's ``settings.use_cache``).
    overpass_url, nominatim_url
        Other servers, e.g. a national Overpass mirror (default: osmnx's settings).
    timeout_s
        HTTP and Overpass query timeout, seconds (default: osmnx's, 180 s).
    save_pbf
        Also keep the downloaded data as this ``.osm.pbf`` file (for offline re-runs with
        :func:`layers_from_osm`, or to archive a study's input).

    Returns
    -------
    dict of str to GeoDataFrame
        Layers keyed by :data:`LAYER_NAMES`, all in EPSG:4326.

    Raises
    ------
    DataSourceError
        If a request fails (network, HTTP status, an Overpass error such as a timeout).
    InputDataError
        If the place is unknown or not an area, or the area holds no OSM data, no walkable
        streets or no buildings.
    OutputError
        If ``save_pbf`` cannot be written.
    """
    from siting._errors import OutputError
    from siting.osm import _crop, _workdir, overpass_to_pbf

    if isinstance(place_or_area, str):
        from siting.boundary import area_from_place

        area: Area = area_from_place(
            place_or_area, cache_folder=cache_folder, use_cache=use_cache,
            nominatim_url=nominatim_url, timeout_s=timeout_s,
        )  # fmt: skip
        label = f"OpenStreetMap (Overpass) for {place_or_area!r}"
    else:
        area = place_or_area
        label = "OpenStreetMap (Overpass)"
    polygon = area_polygon(area, margin_m=margin_m)
    with _workdir() as tmp:
        pbf = overpass_to_pbf(
            polygon, tmp / "overpass.osm.pbf", tags=OVERPASS_TAGS, cache_folder=cache_folder,
            use_cache=use_cache, overpass_url=overpass_url, timeout_s=timeout_s,
        )  # fmt: skip
        cut = _crop(Path(label), pbf, polygon, tmp / "area.osm.pbf", progress=False)
        try:
            layers = _layers_from_pbf(cut, source=label, area=polygon)
        finally:
            _clear_pyrosm_cache(cut)
        if save_pbf is not None:
            target = Path(save_pbf)
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                partial = target.with_name(target.name + ".part")
                shutil.copyfile(pbf, partial)
                partial.replace(target)
            except OSError as err:
                msg = f"cannot write the downloaded OSM data to {target}: {err}"
                raise OutputError(msg) from err
    return layers


def layers_to_gpkg(layers: dict[str, gpd.GeoDataFrame], path: str | Path) -> Path:
    """Save layers from :func:`layers_from_osm` to one GeoPackage (one table per layer).

    Returns
    -------
    Path
        The written file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.gpkg")
    tmp.unlink(missing_ok=True)
    for name in LAYER_NAMES:
        layer = layers.get(name, empty_layer(name))
        layer.astype({c: str for c in ("name",) if c in layer.columns}).to_file(
            tmp, layer=name, driver="GPKG", promote_to_multi=False
        )
    tmp.replace(path)
    return path


def layers_from_gpkg(path: str | Path) -> dict[str, gpd.GeoDataFrame]:
    """Read layers saved by :func:`layers_to_gpkg`.

    Raises
    ------
    DataSourceError
        If the file is missing or lacks one of :data:`LAYER_NAMES`.
    """
    import pyogrio

    path = Path(path)
    if not path.is_file():
        msg = f"layer file not found: {path}"
        raise DataSourceError(msg)
    try:
        present = {row[0] for row in pyogrio.list_layers(path)}
    except Exception as err:
        msg = f"{path} is not a readable GeoPackage: {err}"
        raise DataSourceError(msg) from err
    missing = [n for n in LAYER_NAMES if n not in present and n not in OPTIONAL_LAYERS]
    if missing:
        msg = f"{path} lacks layer(s) {missing}; write it with siting.sources.layers_to_gpkg"
        raise DataSourceError(msg)
    layers = {}
    for name in LAYER_NAMES:
        if name not in present:
            layers[name] = empty_layer(name)
            continue
        layers[name] = tidy_layer(name, gpd.read_file(path, layer=name))
    return layers


def tidy_layer(name: str, layer: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Give a layer read back from a GeoPackage the types and columns it was written with.

    Text ``None``/``nan`` back to missing names, optional columns of older files added,
    text columns as text, columns in :data:`LAYER_COLUMNS` order (others after).
    """
    if "name" in layer.columns:
        layer["name"] = layer["name"].replace({"None": None, "nan": None})
    for col in OPTIONAL_COLUMNS.get(name, ()):
        if col not in layer.columns:  # written before the column existed
            layer[col] = pd.Series(None, index=layer.index, dtype=object)
    for col in _TEXT_COLUMNS.get(name, ()):
        layer[col] = _text(layer[col])
    schema = LAYER_COLUMNS[name]
    extra = [c for c in layer.columns if c not in schema and c != "geometry"]
    return layer[[*schema, *extra, "geometry"]]
