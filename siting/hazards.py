"""Hazards: classify OSM features into the hazard classes and subtypes the rulebook names.

=====================  ==============================================  ====================
class                  OSM source                                      subtypes
=====================  ==============================================  ====================
``fuel_station``       ``amenity=fuel``                                ``petrol`` (always),
                                                                       ``lpg``, ``cng``,
                                                                       ``lng``, ``hydrogen``
                                                                       from ``fuel:*=yes``
``pipeline``           ``man_made=pipeline`` carrying oil or gas, or   ``gas``, ``oil``,
                       of unknown content (``substance_assumed``);     ``unknown``
                       water, heat, cooling, sewage pipes are skipped
``power_line``         ``power=line|minor_line``; highest voltage of   —
                       the ``voltage`` tag, else :data:`ASSUMED_KV`
``power_cable``        ``power=cable``                                 —
``substation``         ``power=substation``                            —
``industrial``         ``landuse=industrial``                          —
``landfill``           ``landuse=landfill``                            —
``wastewater_plant``   ``man_made=wastewater_plant``                   —
``waste_transfer``     ``amenity=waste_transfer_station``              —
``hospital``           ``amenity=hospital``                            ``infectious`` if
                                                                       ``healthcare:
                                                                       speciality`` says so,
                                                                       else ``general``
``crowded_venue``      ``shop=mall|department_store|wholesale``,       ``mall``,
                       ``amenity=marketplace``                         ``marketplace``,
                                                                       ``wholesale``
``hazardous_storage``  ``man_made=storage_tank`` holding oil, fuel     —
                       or gas (``content``/``substance``)
``geohazard``          user layers only                                —
=====================  ==============================================  ====================

``subtypes`` holds the feature's subtypes joined by ``;``.
"""

from __future__ import annotations

import re

import geopandas as gpd
import numpy as np
import pandas as pd

__all__ = [
    "ASSUMED_KV",
    "HAZARD_COLUMNS",
    "NOT_HAZARDOUS_SUBSTANCES",
    "hazards_from_layers",
    "parse_voltage_kv",
]

#: Voltage assumed when a power feature has no usable ``voltage`` tag, in kV.
ASSUMED_KV = {"line": 220.0, "minor_line": 10.0, "cable": 10.0}

#: Pipeline substances (``substance`` or legacy ``type`` tag) that are not oil/gas hazards.
NOT_HAZARDOUS_SUBSTANCES = frozenset(
    {"water", "heat", "hot_water", "cold", "cooling", "sewage", "wastewater", "rainwater",
     "drain", "steam", "air", "compressed_air"}
)  # fmt: skip
_GAS = frozenset({"gas", "natural_gas", "lpg", "cng", "lng", "methane", "biogas", "hydrogen"})
_OIL = frozenset({"oil", "crude_oil", "petroleum", "fuel", "diesel", "gasoline", "petrol",
                  "kerosene", "naphtha"})  # fmt: skip
_FUEL_SUBTYPES = {"fuel:lpg": "lpg", "fuel:cng": "cng", "fuel:lng": "lng",
                  "fuel:h2": "hydrogen", "fuel:hydrogen": "hydrogen"}  # fmt: skip
_SITE_CLASS = {
    "power=substation": ("substation", ""),
    "man_made=wastewater_plant": ("wastewater_plant", ""),
    "man_made=storage_tank": ("hazardous_storage", ""),
    "amenity=waste_transfer_station": ("waste_transfer", ""),
    "amenity=marketplace": ("crowded_venue", "marketplace"),
    "amenity=hospital": ("hospital", "general"),
    "shop=mall": ("crowded_venue", "mall"),
    "shop=department_store": ("crowded_venue", "mall"),
    "shop=wholesale": ("crowded_venue", "wholesale"),
}
_LANDUSE_CLASS = {"industrial": "industrial", "landfill": "landfill"}

#: Columns of the hazards layer (besides ``geometry``).
HAZARD_COLUMNS = [
    "hazard_class", "subtypes", "osm_id", "name", "voltage_kv", "voltage_assumed",
    "substance", "substance_assumed",
]  # fmt: skip
_NUMBER = re.compile(r"(\d+(?:\.\d+)?)\s*(kv)?", re.IGNORECASE)


def parse_voltage_kv(value: object) -> float:
    """Highest voltage in an OSM ``voltage`` tag, in kV (NaN if none can be read).

    Parameters
    ----------
    value
        Tag value in volts, possibly several separated by ``;`` (e.g. ``"110000;10000"``).

    Examples
    --------
    >>> parse_voltage_kv("110000;10000")
    110.0
    >>> parse_voltage_kv("600")
    0.6
    >>> parse_voltage_kv("0,4 kV")
    0.4
    """
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return float("nan")
    volts = []
    text = re.sub(r"(?<=\d)[ \u00a0\u202f](?=\d{3}\b)", "", str(value))  # "10 000" -> "10000"
    parts: list[str] = []
    for chunk in re.split(r"[;/]", text):
        # "0,4 kV" is a decimal comma; "110000,10000" lists two voltages.
        parts += [chunk.replace(",", ".")] if "kv" in chunk.lower() else chunk.split(",")
    for part in parts:
        m = _NUMBER.search(part)
        if m:
            number = float(m.group(1))
            volts.append(number * 1000.0 if m.group(2) else number)
    return max(volts) / 1000.0 if volts else float("nan")


def _pipeline_subtype(substance: object) -> str:
    text = str(substance).lower() if isinstance(substance, str) else ""
    if text in _GAS or "gas" in text:
        return "gas"
    if text in _OIL or "oil" in text:
        return "oil"
    return "unknown"


def _fuel_subtypes(fuel_tags: object) -> str:
    keys = str(fuel_tags).split(";") if isinstance(fuel_tags, str) else []
    extra = sorted({_FUEL_SUBTYPES[k] for k in keys if k in _FUEL_SUBTYPES})
    return ";".join(["petrol", *extra])


def _frame(hazard_class: object, layer: gpd.GeoDataFrame, **columns: object) -> pd.DataFrame:
    data = {
        "hazard_class": hazard_class,
        "osm_id": layer["id"].to_numpy(),
        "name": layer["name"].to_numpy(),
        **columns,
        "geometry": layer.geometry.to_numpy(),
    }
    return pd.DataFrame(data, index=range(len(layer)))


def hazards_from_layers(layers: dict[str, gpd.GeoDataFrame]) -> gpd.GeoDataFrame:
    """Collect every hazard feature from the OSM layers, with the attributes rules need.

    Parameters
    ----------
    layers
        Layers from :func:`siting.sources.layers_from_osm` (any CRS, all layers alike).

    Returns
    -------
    GeoDataFrame
        One row per hazard feature with :data:`HAZARD_COLUMNS`; fresh RangeIndex. Inputs are
        not modified.
    """
    crs = layers["amenities"].crs
    parts: list[pd.DataFrame] = []

    am = layers["amenities"]
    fuel = am[am["amenity"] == "fuel"]
    parts.append(
        _frame("fuel_station", fuel, subtypes=fuel["fuel_tags"].map(_fuel_subtypes).to_numpy())
    )

    pipes = layers["pipelines"]
    substance = pipes["substance"].fillna(pipes["pipeline_type"])
    keep = ~substance.fillna("").astype(str).str.lower().isin(NOT_HAZARDOUS_SUBSTANCES)
    pipes, substance = pipes[keep], substance[keep]
    parts.append(_frame(
        "pipeline", pipes, subtypes=substance.map(_pipeline_subtype).to_numpy(),
        substance=substance.to_numpy(), substance_assumed=substance.isna().to_numpy(),
    ))  # fmt: skip

    power = layers["power"]
    kv = power["voltage"].map(parse_voltage_kv)
    assumed = kv.isna()
    kv = kv.fillna(power["power"].map(ASSUMED_KV))
    parts.append(_frame(
        np.where(power["power"] == "cable", "power_cable", "power_line"), power,
        voltage_kv=kv.to_numpy(), voltage_assumed=assumed.to_numpy(),
    ))  # fmt: skip

    sites = layers.get("sites")
    if sites is not None and len(sites):
        mapped = sites["category"].map(lambda c: _SITE_CLASS.get(c, (None, "")))
        cls = mapped.map(lambda m: m[0])
        sub = mapped.map(lambda m: m[1])
        speciality = sites["speciality"].fillna("").astype(str).str.lower()
        sub = sub.where(~((cls == "hospital") & speciality.str.contains("infect")), "infectious")
        content = sites["content"].map(_pipeline_subtype)
        flammable = (cls != "hazardous_storage") | content.isin(["gas", "oil"])
        ok = cls.notna() & flammable
        parts.append(_frame(
            cls[ok].to_numpy(), sites[ok], subtypes=sub[ok].to_numpy(),
            substance=sites["content"][ok].to_numpy(),
        ))  # fmt: skip

    land = layers["landuse"]
    land = land[land["landuse"].isin(list(_LANDUSE_CLASS))]
    parts.append(_frame(land["landuse"].map(_LANDUSE_CLASS).to_numpy(), land, subtypes=""))

    frames = [p for p in parts if len(p)]
    if frames:
        table = pd.concat(frames, ignore_index=True)
    else:
        table = pd.DataFrame({c: pd.Series(dtype=object) for c in [*HAZARD_COLUMNS, "geometry"]})
    for col in HAZARD_COLUMNS:
        if col not in table.columns:
            table[col] = None
    table["subtypes"] = table["subtypes"].fillna("").astype(str)
    table["voltage_kv"] = pd.to_numeric(table["voltage_kv"], errors="coerce").astype(float)
    table["voltage_assumed"] = table["voltage_assumed"].astype("boolean").fillna(False)
    table["voltage_assumed"] = table["voltage_assumed"].astype(bool)
    table["substance_assumed"] = table["substance_assumed"].astype("boolean").fillna(False)
    table["substance_assumed"] = table["substance_assumed"].astype(bool)
    return gpd.GeoDataFrame(table[HAZARD_COLUMNS], geometry=list(table["geometry"]), crs=crs)
