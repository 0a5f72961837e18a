"""Batch: one study per area, one folder each, and an index page linking their maps.

Areas are e.g. every district of a boundary file; ``index.html`` links each area's
``map.html`` and ``report.html``. Each area is studied on the layers clipped to the area
grown by ``margin_m`` (hazards just outside a district still set back its parcels, and walks
cross its boundary), and its candidate parcels are those whose representative point lies
inside the area, so every parcel belongs to exactly one area. An area that fails is listed in
the index with its error; the others still run.
"""

from __future__ import annotations

import html
import logging
import re
import time
import urllib.parse
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from siting._errors import ConfigError, InputDataError, SitingError
from siting._i18n import LANGS, t
from siting.crs import metric_crs
from siting.outputs import check_out_dir, write_outputs

__all__ = ["INDEX_COLUMNS", "area_folder_names", "clip_layers", "index_html", "run_batch"]

log = logging.getLogger(__name__)

#: Columns of the table :func:`run_batch` returns (and ``index.csv``).
INDEX_COLUMNS = (
    "area", "folder", "status", "candidates", "eligible", "selected", "coverage_before",
    "coverage_after", "slots_per_1000_before", "slots_per_1000_after", "seconds",
)  # fmt: skip
_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f\s]+')


def area_folder_names(names: pd.Series) -> list[str]:
    """Folder names for area names: unsafe characters become ``_``, duplicates numbered.

    Examples
    --------
    >>> area_folder_names(pd.Series(["海州区", "a/b", "海州区", " ..", None]))
    ['海州区', 'a_b', '海州区-2', 'area-4', 'area-5']
    """
    out: list[str] = []
    seen: dict[str, int] = {}
    for k, name in enumerate(names.tolist()):
        text = "" if name is None or pd.isna(name) else str(name)
        safe = _UNSAFE.sub("_", text).strip("._ ")[:80] or f"area-{k + 1}"
        n = seen.get(safe.lower(), 0) + 1
        seen[safe.lower()] = n
        out.append(safe if n == 1 else f"{safe}-{n}")
    return out


def clip_layers(
    layers: Mapping[str, gpd.GeoDataFrame], area: gpd.GeoSeries, *, margin_m: float
) -> dict[str, gpd.GeoDataFrame]:
    """Features of every layer that intersect ``area`` grown by ``margin_m`` metres.

    Features are kept whole (not cut), so street blocks and walks near the edge are the same
    as in a study of the whole extract.

    Parameters
    ----------
    layers
        As from :func:`siting.sources.layers_from_osm`, any CRS each.
    area
        One polygon (a one-row GeoSeries with a CRS).
    margin_m
        Metres added around the area.
    """
    crs = metric_crs(gpd.GeoDataFrame(geometry=area))
    grown = area.to_crs(crs).buffer(margin_m)
    out = {}
    for name, layer in layers.items():
        shape = grown.to_crs(layer.crs).union_all() if layer.crs is not None else None
        if shape is None or len(layer) == 0:
            out[name] = layer.copy()
            continue
        hit = layer.sindex.query(shape, predicate="intersects")
        out[name] = layer.iloc[sorted(hit)].copy()
    return out


def _area_parcels(
    layers: Mapping[str, gpd.GeoDataFrame],
    area: gpd.GeoSeries,
    parcels_gdf: gpd.GeoDataFrame | None,
) -> gpd.GeoDataFrame:
    """Candidate parcels whose representative point lies in the area."""
    if parcels_gdf is None:
        from siting.parcels import parcels_from_blocks

        crs = metric_crs(layers["walk_edges"])
        parcels_gdf = parcels_from_blocks(
            layers["landuse"].to_crs(crs), layers["roads"].to_crs(crs)
        )
    shape = area.to_crs(parcels_gdf.crs).union_all()
    inside = parcels_gdf.geometry.representative_point().within(shape)
    return parcels_gdf[inside.to_numpy()].reset_index(drop=True)


def index_html(table: pd.DataFrame, *, lang: str = "zh", title: str = "") -> str:
    """Render the batch index page: one row per area, linking its map and report."""
    e = html.escape

    def pct(v: Any) -> str:
        return "–" if v is None or pd.isna(v) else f"{100 * float(v):.1f} %"

    def num(v: Any) -> str:
        return "–" if v is None or pd.isna(v) else f"{float(v):g}"

    rows = []
    for r in table.to_dict("records"):
        ok = r["status"] == "ok"
        href = urllib.parse.quote(str(r["folder"]))
        links = (
            f"<a href='{e(href)}/map.html'>{e(t('map_link', lang))}</a> · "
            f"<a href='{e(href)}/report.html'>{e(t('report_link', lang))}</a>"
            if ok
            else f"<span class='no'>{e(str(r['status']))}</span>"
        )
        rows.append(
            f"<tr><td>{e(str(r['area']))}</td><td>{links}</td>"
            f"<td class='num'>{num(r['candidates'])}</td><td class='num'>{num(r['eligible'])}</td>"
            f"<td class='num'>{num(r['selected'])}</td>"
            f"<td class='num'>{pct(r['coverage_before'])} → {pct(r['coverage_after'])}</td>"
            f"<td class='num'>{num(r['slots_per_1000_before'])} → "
            f"{num(r['slots_per_1000_after'])}</td></tr>"
        )
    heads = [t("area_name", lang), "", t("candidates", lang), t("eligible", lang),
             t("selected", lang), t("coverage", lang), t("slots_per_1000", lang)]  # fmt: skip
    head = "".join(f"<th>{e(h)}</th>" for h in heads)
    name = title or t("batch_title", lang)
    return (
        f"<!DOCTYPE html><html lang='{'en' if lang == 'en' else 'zh-CN'}'><head>"
        f"<meta charset='utf-8'><title>{e(name)}</title><style>"
        "body{font-family:'Noto Sans CJK SC','Microsoft YaHei',sans-serif;max-width:1000px;"
        "margin:24px auto;padding:0 12px;color:#222}table{border-collapse:collapse;width:100%}"
        "td,th{border:1px solid #bbb;padding:4px 8px;font-size:13px;text-align:left}"
        "th{background:#eee}.num{text-align:right;white-space:nowrap}.no{color:#b2182b}.note{color:#555;"
        "font-size:12px}</style></head>"
        f"<body><h1>{e(name)}</h1><table id='areas'><tr>{head}</tr>{''.join(rows)}</table>"
        f"<p class='note'>{e(t('batch_note', lang))}<br>{e(t('attribution', lang))}</p>"
        "</body></html>"
    )


def run_batch(
    areas_gdf: gpd.GeoDataFrame,
    name_column: str,
    layers: Mapping[str, gpd.GeoDataFrame],
    *,
    out_dir: str | Path,
    parcels_gdf: gpd.GeoDataFrame | None = None,
    margin_m: float = 1_000.0,
    lang: str = "zh",
    basemap: str = "osm",
    tianditu_key: str | None = None,
    progress: bool = False,
    **study_options: Any,
) -> pd.DataFrame:
    """Run one study per area and write ``out_dir/<area>/`` plus ``out_dir/index.html``.

    Parameters
    ----------
    areas_gdf
        Area polygons (e.g. districts) with a CRS and a name column.
    name_column
        Column naming each area (folder and index label; unsafe characters become ``_``).
    layers
        The layers of the whole extract (:func:`siting.sources.layers_from_osm`).
    out_dir
        Batch folder (created); each area writes the usual outputs into its own folder.
    parcels_gdf
        Candidate parcels for all areas (default: street blocks); each area takes those
        whose representative point lies inside it.
    margin_m
        Metres around each area from which hazards, streets and homes are still read.
    lang, basemap, tianditu_key
        As for :func:`siting.outputs.write_outputs`.
    progress
        Print each area as it starts.
    **study_options
        Passed to :func:`siting.study.run_study` (``k``, ``rulebook``, ``weights``,
        ``population``, ``census``, ``under3_share``, ...).

    Returns
    -------
    DataFrame
        One row per area with :data:`INDEX_COLUMNS` (also written as ``index.csv``).

    Raises
    ------
    ConfigError
        On a missing name column, a bad option, or no areas.
    InputDataError
        If ``areas_gdf`` has no CRS.
    """
    from siting.maps import map_options
    from siting.study import run_study

    if name_column not in areas_gdf:
        msg = (
            f"the areas have no column {name_column!r}; choose one of "
            f"{[c for c in areas_gdf.columns if c != areas_gdf.geometry.name]}"
        )
        raise ConfigError(msg)
    if len(areas_gdf) == 0:
        msg = "no areas to run: the boundary layer is empty"
        raise ConfigError(msg)
    if areas_gdf.crs is None:
        msg = "the areas have no CRS; set it with `.set_crs(...)` (e.g. EPSG:4490 for CGCS2000)"
        raise InputDataError(msg)
    if lang not in LANGS:
        msg = f"lang must be one of {list(LANGS)}, got {lang!r}"
        raise ConfigError(msg)
    map_options(lang=lang, basemap=basemap, tianditu_key=tianditu_key)
    out = check_out_dir(out_dir)
    folders = area_folder_names(areas_gdf[name_column])
    rows = []
    for k, (folder, (_, area)) in enumerate(zip(folders, areas_gdf.iterrows(), strict=True)):
        name = area[name_column]
        shape = gpd.GeoSeries([area.geometry], crs=areas_gdf.crs)
        if progress:
            print(f"[{k + 1}/{len(areas_gdf)}] {name} …", flush=True)
        t0 = time.perf_counter()
        row: dict[str, Any] = dict.fromkeys(INDEX_COLUMNS)
        row.update(area=str(name), folder=folder)
        try:
            lay = clip_layers(layers, shape, margin_m=margin_m)
            if len(lay["walk_edges"]) == 0:
                msg = (
                    f"no street of the extract inside area {name!r}: does the boundary overlap "
                    f"the OSM extract, and is its CRS right ({areas_gdf.crs.to_string()})?"
                )
                raise InputDataError(msg)
            cand = _area_parcels(lay, shape, parcels_gdf)
            if len(cand) == 0:
                msg = f"no candidate parcel inside area {name!r}"
                raise InputDataError(msg)
            result = run_study(lay, parcels_gdf=cand, study_name=str(name), **study_options)
            write_outputs(result, out / folder, lang=lang, basemap=basemap,
                          tianditu_key=tianditu_key)  # fmt: skip
            c, tg = result.summary["counts"], result.summary["targets"]
            row.update(
                status="ok", candidates=c["candidates"], eligible=c["eligible"],
                selected=c["selected"], coverage_before=tg["coverage_before"],
                coverage_after=tg["coverage_after"],
                slots_per_1000_before=tg["slots_per_1000_before"],
                slots_per_1000_after=tg["slots_per_1000_after"],
            )  # fmt: skip
        except SitingError as err:
            log.warning("area %s failed: %s", name, err)
            row["status"] = f"failed: {err}"
        row["seconds"] = round(time.perf_counter() - t0, 2)
        rows.append(row)
    table = pd.DataFrame(rows, columns=list(INDEX_COLUMNS))
    table.to_csv(out / "index.csv", index=False, encoding="utf-8-sig")
    (out / "index.html").write_text(index_html(table, lang=lang), encoding="utf-8")
    return table
