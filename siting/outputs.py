"""Outputs: write a study's contract files atomically into its ``--out`` folder.

Files: ``results.gpkg`` (layers ``candidates``, ``selected``, ``hazard_zones``,
``catchments``, ``hazards``, ``demand``, ``new_areas`` when the study assessed new residential
areas, and the tables ``compliance`` — one row per parcel
and tested rule —, ``rules`` and ``layer_styles``, the QGIS default style of each layer),
``ranking.csv``, ``map.html``, ``report.html`` and ``summary.json``. Everything is first
written to a hidden staging folder beside the output; only when every file is complete are
they moved into place, ``summary.json`` last. So ``summary.json`` marks a finished run, and a
failed run leaves no file of its own behind.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio

from siting._errors import OutputError

if TYPE_CHECKING:
    from siting.rulebook import Rulebook
    from siting.study import StudyResult

__all__ = ["CONTRACT_FILES", "check_out_dir", "ranking_table", "rules_table", "write_outputs"]

#: Files every finished run writes.
CONTRACT_FILES = ("results.gpkg", "ranking.csv", "map.html", "report.html", "summary.json")
_LIST_COLUMNS_TO_TEXT = ("excluded_by",)


def check_out_dir(out_dir: str | Path) -> Path:
    """Create ``out_dir`` if needed and check it is writable, before any work is done.

    Raises
    ------
    OutputError
        If the folder cannot be created or written, naming the reason.
    """
    path = Path(out_dir)
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".siting-write-test-"):
            pass
    except OSError as err:
        msg = f"cannot write to output folder {path}: {err.strerror or err}; choose another --out"
        raise OutputError(msg) from err
    return path


def _package_version() -> str:
    try:
        return version("siting")
    except PackageNotFoundError:
        return "unknown"


def rules_table(rulebook: Rulebook) -> pd.DataFrame:
    """Every rule of a rulebook as a table (also the ``rules`` layer of ``results.gpkg``)."""
    rows = [
        {
            "rule_id": r.id,
            "kind": r.kind,
            "hazard_class": ";".join(r.hazard_classes),
            "subtypes": ";".join(r.subtypes or ()),
            "hard": r.hard,
            "enabled": r.enabled,
            "threshold": r.threshold_text(),
            "value": r.value,
            "zh": r.zh,
            "en": r.en,
            "applies_to": r.applies_to,
            "source": r.source,
            "clause": r.clause,
            "confidence": r.confidence,
        }
        for r in rulebook.rules
    ]
    return pd.DataFrame(rows)


def gpkg_ready(gdf: pd.DataFrame) -> Any:
    """Copy of a table GDAL writes as it reads: no infinities, text columns as text."""
    out = gdf.copy()
    geom_name = out.geometry.name if isinstance(out, gpd.GeoDataFrame) else None
    for col in out.columns:
        if col == geom_name:
            continue
        if out[col].dtype == bool:
            continue
        if isinstance(out[col].dtype, pd.CategoricalDtype):  # written as its texts
            out[col] = out[col].astype(object)
        if pd.api.types.is_float_dtype(out[col]):
            out[col] = out[col].replace([np.inf, -np.inf], np.nan)
        elif out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].astype(object).where(out[col].notna(), None)
            out[col] = out[col].map(lambda v: v if v is None else str(v))
    return out


def ranking_table(result: StudyResult) -> pd.DataFrame:
    """Eligible parcels by rank with WGS84 lon/lat of their representative point and criteria."""
    cand = result.candidates
    ranked = cand[cand["eligible"]].sort_values("rank")
    pts = ranked.geometry.representative_point().to_crs("EPSG:4326")
    keep = [
        c for c in ranked.columns if c != "geometry" and not c.startswith(("norm_", "crosses_"))
    ]
    table = pd.DataFrame(ranked[keep]).reset_index(drop=True)
    table.insert(1, "lon", np.round(pts.x.to_numpy(), 6))
    table.insert(2, "lat", np.round(pts.y.to_numpy(), 6))
    return table.replace([np.inf, -np.inf], np.nan)


def _json_default(value: Any) -> Any:
    if isinstance(value, np.integer | np.floating | np.bool_):
        return value.item()
    msg = f"not JSON serialisable: {type(value)}"
    raise TypeError(msg)


def write_outputs(
    result: StudyResult,
    out_dir: str | Path,
    *,
    lang: str = "zh",
    basemap: str = "osm",
    tianditu_key: str | None = None,
) -> dict[str, Path]:
    """Write the output contract for one study.

    Parameters
    ----------
    result
        From :func:`siting.study.run_study`.
    out_dir
        Folder to write into (created if needed). Files of an earlier run are replaced.
    lang
        ``"zh"`` (default) or ``"en"`` for the map and report.
    basemap
        ``"osm"``, ``"tianditu"``, ``"amap"`` or ``"none"`` (see
        :func:`siting.maps.result_map`).
    tianditu_key
        Your Tianditu key, for ``basemap="tianditu"``.

    Returns
    -------
    dict of str to Path
        Written file paths keyed by file name.

    Raises
    ------
    OutputError
        If the folder cannot be written.
    ConfigError
        On an unknown ``lang`` or ``basemap`` or a Tianditu basemap without a key (checked
        before anything is written).
    """
    from siting.maps import map_options, result_map
    from siting.report import report_html
    from siting.styles import write_layer_styles

    map_options(lang=lang, basemap=basemap, tianditu_key=tianditu_key)

    out = check_out_dir(out_dir)
    summary = dict(result.summary)
    summary["siting_version"] = _package_version()
    summary["outputs"] = list(CONTRACT_FILES)
    staging = Path(tempfile.mkdtemp(prefix=".siting-partial-", dir=out))
    try:
        gpkg = staging / "results.gpkg"
        layers = {
            "candidates": result.candidates,
            "selected": result.selected,
            "hazard_zones": result.hazard_zones,
            "catchments": result.catchments,
            "hazards": result.hazards,
            "demand": result.demand,
        }
        if result.new_areas is not None:
            layers["new_areas"] = result.new_areas
        for name, layer in layers.items():
            gpkg_ready(layer).to_file(gpkg, layer=name, driver="GPKG")
        tables = {"compliance": result.compliance, "rules": rules_table(result.rulebook)}
        for name, table in tables.items():
            pyogrio.write_dataframe(gpkg_ready(table), gpkg, layer=name, driver="GPKG")
        write_layer_styles(gpkg, lang=lang)  # QGIS opens the layers styled
        ranking_table(result).to_csv(staging / "ranking.csv", index=False, encoding="utf-8-sig")
        fmap = result_map(result, lang=lang, basemap=basemap, tianditu_key=tianditu_key)
        fmap.save(str(staging / "map.html"))
        (staging / "report.html").write_text(report_html(result, lang=lang), encoding="utf-8")
        (staging / "summary.json").write_text(
            json.dumps(summary, ensure_ascii=False, indent=2, default=_json_default),
            encoding="utf-8",
        )
        (out / "summary.json").unlink(missing_ok=True)  # an old marker must not outlive its run
        written = {}
        for name in CONTRACT_FILES:  # summary.json is last
            (staging / name).replace(out / name)
            written[name] = out / name
    except OSError as err:
        msg = f"could not write outputs to {out}: {err}"
        raise OutputError(msg) from err
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return written
