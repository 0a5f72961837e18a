"""Hazards: classify OSM features into the hazard classes the rulebook names.

Classes
-------
``fuel_station``
    ``amenity=fuel`` (point or area).
``pipeline``
    ``man_made=pipeline`` carrying oil, gas or fuel, or with unknown contents (treated as a
    hazard, conservatively, and flagged ``substance_assumed``). Water, heat, cooling and
    sewage pipes are not hazards under the Fuxin policy ("输油输气管道").
``power_line``
    ``power=line|minor_line``; voltage from the ``voltage`` tag (``"110000;10000"`` → the
    highest, 110 kV). Missing voltage: :data:`ASSUMED_KV` (conservative), flagged
    ``voltage_assumed``.
``power_cable``
    ``power=cable`` (underground).
"""

from __future__ import annotations

import re

import geopandas as gpd
import numpy as np
import pandas as pd

__all__ = ["ASSUMED_KV", "NOT_HAZARDOUS_SUBSTANCES", "hazards_from_layers", "parse_voltage_kv"]

#: Voltage assumed when a power feature has no usable ``voltage`` tag, in kV.
ASSUMED_KV = {"line": 220.0, "minor_line": 10.0, "cable": 10.0}

#: Pipeline substances (``substance`` or legacy ``type`` tag) that are not oil/gas hazards.
NOT_HAZARDOUS_SUBSTANCES = frozenset(
    {
        "water",
        "heat",
        "hot_water",
        "cold",
        "cooling",
        "sewage",
        "wastewater",
        "rainwater",
        "drain",
        "steam",
        "air",
        "compressed_air",
    }
)

_COLUMNS = [
    "hazard_class",
    "osm_id",
    "name",
    "voltage_kv",
    "voltage_assumed",
    "substance",
    "substance_assumed",
]
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


def hazards_from_layers(layers: dict[str, gpd.GeoDataFrame]) -> gpd.GeoDataFrame:
    """Collect every hazard feature from the OSM layers, with the attributes rules need.

    Parameters
    ----------
    layers
        Layers from :func:`siting.sources.layers_from_osm` (any CRS, all layers alike).

    Returns
    -------
    GeoDataFrame
        One row per hazard feature: ``hazard_class``, ``osm_id``, ``name``, ``voltage_kv``,
        ``voltage_assumed``, ``substance``, ``substance_assumed``, geometry. Fresh
        RangeIndex; inputs are not modified.
    """
    crs = layers["amenities"].crs
    parts: list[pd.DataFrame] = []

    fuel = layers["amenities"][layers["amenities"]["amenity"] == "fuel"]
    parts.append(
        pd.DataFrame(
            {
                "hazard_class": "fuel_station",
                "osm_id": fuel["id"],
                "name": fuel["name"],
                "geometry": fuel.geometry,
            }
        )
    )

    pipes = layers["pipelines"]
    substance = pipes["substance"].fillna(pipes["pipeline_type"])
    lowered = substance.fillna("").astype(str).str.lower()
    hazardous = ~lowered.isin(NOT_HAZARDOUS_SUBSTANCES)
    parts.append(
        pd.DataFrame(
            {
                "hazard_class": "pipeline",
                "osm_id": pipes["id"][hazardous],
                "name": pipes["name"][hazardous],
                "substance": substance[hazardous],
                "substance_assumed": substance[hazardous].isna(),
                "geometry": pipes.geometry[hazardous],
            }
        )
    )

    power = layers["power"]
    kv = power["voltage"].map(parse_voltage_kv)
    assumed = kv.isna()
    kv = kv.fillna(power["power"].map(ASSUMED_KV))
    parts.append(
        pd.DataFrame(
            {
                "hazard_class": np.where(power["power"] == "cable", "power_cable", "power_line"),
                "osm_id": power["id"],
                "name": power["name"],
                "voltage_kv": kv,
                "voltage_assumed": assumed,
                "geometry": power.geometry,
            }
        )
    )

    frames = [p for p in parts if len(p)]
    table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=_COLUMNS)
    for col in _COLUMNS:
        if col not in table.columns:
            table[col] = None
    table["voltage_kv"] = pd.to_numeric(table["voltage_kv"], errors="coerce").astype(float)
    table["voltage_assumed"] = table["voltage_assumed"].fillna(False).astype(bool)
    table["substance_assumed"] = table["substance_assumed"].fillna(False).astype(bool)
    geometry = table["geometry"] if "geometry" in table else gpd.GeoSeries([], crs=crs)
    return gpd.GeoDataFrame(table[_COLUMNS], geometry=list(geometry), crs=crs)
