"""siting: find where to build community infant-care (托育) facilities.

Stages (each a module of plain functions): :mod:`~siting.sources` (OSM),
:mod:`~siting.readers` (your files), :mod:`~siting.datums`, :mod:`~siting.crs`,
:mod:`~siting.boundary`, :mod:`~siting.roles`, :mod:`~siting.hazards`,
:mod:`~siting.rulebook`, :mod:`~siting.parcels`, :mod:`~siting.constraints`,
:mod:`~siting.demand`, :mod:`~siting.population`, :mod:`~siting.access`,
:mod:`~siting.supply`, :mod:`~siting.scoring`, :mod:`~siting.selection`,
:mod:`~siting.outputs`, :mod:`~siting.maps`, :mod:`~siting.report`; :func:`run_study` wires
them and :func:`run_config` runs a study from a TOML config.
"""

from __future__ import annotations

import logging
from importlib.metadata import PackageNotFoundError, version

from siting._errors import (
    ConfigError,
    CRSError,
    DataSourceError,
    InputDataError,
    OutputError,
    SitingError,
)
from siting.boundary import area_from_cnmaps, area_from_file, area_from_place
from siting.config import load_config, run_config
from siting.constraints import apply_constraints, setback_zones
from siting.crs import analysis_crs, metric_crs
from siting.datums import gcj02_to_wgs84, to_wgs84
from siting.demand import demand_from_buildings
from siting.hazards import hazards_from_layers
from siting.outputs import write_outputs
from siting.parcels import parcels_from_blocks
from siting.readers import read_layer, read_parcels, read_points
from siting.rulebook import Rulebook, default_rulebook, load_rulebook
from siting.scoring import score_parcels
from siting.sources import layers_from_gpkg, layers_from_osm, layers_from_osmnx
from siting.study import StudyResult, run_study

try:
    __version__ = version("siting")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = [
    "CRSError",
    "ConfigError",
    "DataSourceError",
    "InputDataError",
    "OutputError",
    "Rulebook",
    "SitingError",
    "StudyResult",
    "__version__",
    "analysis_crs",
    "apply_constraints",
    "area_from_cnmaps",
    "area_from_file",
    "area_from_place",
    "default_rulebook",
    "demand_from_buildings",
    "gcj02_to_wgs84",
    "hazards_from_layers",
    "layers_from_gpkg",
    "layers_from_osm",
    "layers_from_osmnx",
    "load_config",
    "load_rulebook",
    "metric_crs",
    "parcels_from_blocks",
    "read_layer",
    "read_parcels",
    "read_points",
    "run_config",
    "run_study",
    "score_parcels",
    "setback_zones",
    "to_wgs84",
    "write_outputs",
]
