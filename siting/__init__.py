"""siting: find where to build community infant-care (托育) facilities.

Stages (each a module of plain functions): :mod:`~siting.sources`, :mod:`~siting.crs`,
:mod:`~siting.hazards`, :mod:`~siting.rulebook`, :mod:`~siting.parcels`,
:mod:`~siting.constraints`, :mod:`~siting.demand`, :mod:`~siting.access`,
:mod:`~siting.scoring`, :mod:`~siting.selection`, :mod:`~siting.outputs`,
:mod:`~siting.maps`, :mod:`~siting.report`; :func:`run_study` wires them.
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
from siting.constraints import apply_constraints, setback_zones
from siting.crs import metric_crs
from siting.demand import demand_from_buildings
from siting.hazards import hazards_from_layers
from siting.outputs import write_outputs
from siting.parcels import parcels_from_blocks
from siting.readers import read_parcels
from siting.rulebook import Rulebook, default_rulebook, load_rulebook
from siting.scoring import score_parcels
from siting.sources import layers_from_gpkg, layers_from_osm
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
    "apply_constraints",
    "default_rulebook",
    "demand_from_buildings",
    "hazards_from_layers",
    "layers_from_gpkg",
    "layers_from_osm",
    "load_rulebook",
    "metric_crs",
    "parcels_from_blocks",
    "read_parcels",
    "run_study",
    "score_parcels",
    "setback_zones",
    "write_outputs",
]
