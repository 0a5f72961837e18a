"""Maps: a Folium map of a study result, self-contained for offline intranets.

``map.html`` inlines every script and stylesheet it needs (Leaflet from the
``django-js-lib-leaflet`` package, siting's own controls from :mod:`siting._assets`) instead
of folium's CDN links, so it renders with no internet; the only requests it makes are for
basemap tiles, and ``basemap="none"`` makes none at all.

The layers are not one Folium object per feature: the whole study is packed once into a JSON
block (coordinates as integer deltas of 1e-5 degree, about 1.1 m, after a 0.5 m
simplification) and drawn by :data:`siting._assets.APP_JS`. Parcels beyond ``max_polygons``
(the lowest-ranked and the excluded ones of a large study) and demand points are drawn as dots
on one canvas. Popups are built in the browser when a feature is clicked, and every text
from data (OSM names, parcel ids) is inserted as text, never as HTML.

Compliance-card rows of checks that are not geometric rulebook rules (land use ``LAND-*``,
size and shape ``SIZE-*``, the building rows ``BLDG-*`` of reused buildings) are listed on
each card with their own text; candidates show their land-use role, reused buildings are outlined in
their own layer, and new residential areas (when the study assessed them) are a layer of
their own, red where no facility serves them, with their row of
:func:`siting.newareas.labelled_table` as popup.
"""

from __future__ import annotations

import html
import json
import math
import re
from typing import TYPE_CHECKING, Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
from branca.element import Element, Figure, MacroElement
from jinja2 import Template

from siting._assets import APP_CSS, APP_JS, leaflet_assets
from siting._errors import ConfigError
from siting._geopack import (
    COORD_SCALE,
    SIMPLIFY_M,
    curve_order,
    display_geoms,
    dots,
    numbers,
    pack_geoms,
    to_gcj02,
)
from siting._i18n import LANGS, t
from siting.landuse import EXCLUSIONS as LAND_EXCLUSIONS
from siting.landuse import role_label
from siting.newareas import labelled_table
from siting.parcel_shape import EXCLUSIONS as SHAPE_EXCLUSIONS
from siting.scoring import CRITERIA
from siting.styles import NEW_AREA_COLORS

if TYPE_CHECKING:
    from siting.study import StudyResult

__all__ = [
    "BASEMAPS",
    "COORD_SCALE",
    "HAZARD_COLORS",
    "MAX_POLYGONS",
    "SCORE_COLORS",
    "leaflet_assets",
    "map_data",
    "map_options",
    "result_map",
    "score_class",
]

#: Basemaps: OpenStreetMap tiles, Tianditu (needs the user's key; CGCS2000, drawn as WGS84),
#: Amap (GCJ-02: the data are shifted to GCJ-02 for display), or none (fully offline).
BASEMAPS = ("osm", "tianditu", "amap", "none")
#: Five score classes, low to high (viridis: colour-blind safe, prints in grey).
SCORE_COLORS = ("#440154", "#3b528b", "#21918c", "#5ec962", "#fde725")
EXCLUDED_COLOR = "#9e9e9e"
#: Colour of each hazard class on the map, the legend and the QGIS styles.
HAZARD_COLORS = {
    "fuel_station": "#d7191c",
    "pipeline": "#ff7f00",
    "power_line": "#7b3294",
    "power_cable": "#c2a5cf",
    "substation": "#40004b",
    "industrial": "#8c510a",
    "landfill": "#543005",
    "wastewater_plant": "#35978f",
    "waste_transfer": "#bf812d",
    "hospital": "#e41a1c",
    "crowded_venue": "#f781bf",
    "hazardous_storage": "#b2182b",
    "geohazard": "#4d4d4d",
}
#: Parcels drawn as polygons; beyond that the lowest-ranked and excluded ones become dots.
MAX_POLYGONS = 10_000
_RESULTS = ("pass", "fail", "penalty", "no_feature", "check")
_DEMAND_COLORS = ("#2166ac", "#e66101")  # mostly met, mostly unmet (E2SFCA)
_REUSE_COLOR = "#01665e"  # outline of reused buildings
_KEY = re.compile(r"^[A-Za-z0-9]{8,64}$")
_JS_LABELS = (
    "zones", "hazards", "demand", "candidates", "excluded", "selected", "catchments",
    "facilities", "parcel", "score", "rank", "excluded_by", "rule", "measured", "result",
    "pass", "fail", "penalty", "no_feature", "margin", "inside", "none_within",
    "none_in_study", "soft_penalty", "threshold", "crosses", "not_crosses", "criterion",
    "value", "points", "area", "capacity", "under3", "fullscreen", "measure", "measure_hint",
    "distance", "area_label", "search_placeholder", "not_found", "p_top_k", "light_note",
    "unmet_value", "check", "new_areas", "land_use", "reuse", "reuse_layer", "reuse_of",
    "usable_area",
)  # fmt: skip


def score_class(score: float) -> int:
    """Score class 0-4 of a 0-100 score (20-point bins; 100 is in the top class).

    Examples
    --------
    >>> [score_class(s) for s in (0, 19.9, 20, 99.9, 100)]
    [0, 0, 1, 4, 4]
    """
    return min(int(score // 20), 4)


class _Raw(Element):
    """Text put into the page as is: never parsed as a Jinja template (data may hold ``{{``)."""

    _template = Template("{{ this.text }}")

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text


class _App(MacroElement):
    """Call ``sitingApp`` on the parent map with the packed data of element ``data_id``."""

    _template = Template(
        "{% macro script(this, kwargs) %}"
        "sitingApp({{ this._parent.get_name() }}, JSON.parse("
        "document.getElementById('{{ this.data_id }}').textContent));"
        "{% endmacro %}"
    )

    def __init__(self, data_id: str) -> None:
        super().__init__()
        self._name = "SitingApp"
        self.data_id = data_id


# --- the parcel table ---------------------------------------------------------------------------


def _rule_meta(
    comp: pd.DataFrame, lang: str
) -> tuple[list[dict[str, Any]], list[str], dict[str, int]]:
    """Rules with features in the study (listed per parcel) and the quiet ones (one line)."""
    first = comp.drop_duplicates("rule_id")
    stats = comp.groupby("rule_id", sort=False).agg(
        n=("n_features", "max"), screening=("screening_m", "max")
    )
    rules: list[dict[str, Any]] = []
    quiet: list[str] = []
    index: dict[str, int] = {}
    n_features = stats["n"].astype(int).to_dict()
    for r in first.to_dict("records"):
        rid = str(r["rule_id"])
        if n_features[rid] == 0:
            quiet.append(rid)
            continue
        index[rid] = len(rules)
        rules.append(
            {
                "id": rid,
                "kind": str(r["kind"]),
                "text": str(r["en"] if lang == "en" else r["zh"]),
                "threshold": str(r["threshold" if lang == "en" else "threshold_zh"]),
                "source": str(r["source"]),
                "clause": str(r["clause"]),
                "screening": numbers([stats.loc[rid, "screening"]], 1)[0],
            }
        )
    return rules, quiet, index


def _notes(comp: pd.DataFrame, ids: pd.Series, lang: str) -> tuple[list[Any], list[str]]:
    """Card rows of checks that measure no distance (``LAND-*``, ``SIZE-*``, ``BLDG-*``).

    Per parcel ``[id, text, threshold, measured_m, result]``, the first three as positions
    in the returned string list (shared: the same texts repeat on many parcels).
    """
    notes: list[Any] = [0] * len(ids)
    strings: dict[str, int] = {}
    if comp.empty:
        return notes, []

    def code(text: object) -> int:
        return strings.setdefault(_text(text), len(strings))

    row = pd.Index(ids.astype(str)).get_indexer(pd.Index(comp["parcel_id"].astype(str)))
    text = comp["en" if lang == "en" else "zh"]
    threshold = comp["threshold" if lang == "en" else "threshold_zh"]
    results = comp["result"].map({r.replace("_", " "): i for i, r in enumerate(_RESULTS)})
    table = zip(
        row.tolist(),
        [code(v) for v in comp["rule_id"]],
        [code(v) for v in text],
        [code(v) for v in threshold],
        numbers(comp["measured_m"], 1),
        results.fillna(_RESULTS.index("check")).astype(int).tolist(),
        strict=True,
    )
    for r, k, x, th, m, c in table:
        if r < 0:
            continue
        if notes[r] == 0:
            notes[r] = []
        notes[r].append([k, x, th, m, c])
    return notes, list(strings)


def _cards(comp: pd.DataFrame, ids: pd.Series, index: dict[str, int]) -> list[Any]:
    """Per parcel: ``[rule, measured_m, margin_m, result]`` of the rules that measured something."""
    rule_pos = comp["rule_id"].map(index)
    measured = comp["measured_m"].to_numpy(dtype=float)
    shown = rule_pos.notna().to_numpy() & (
        np.isfinite(measured) | comp["result"].isin(["fail", "penalty"]).to_numpy()
    )
    sub = comp.loc[shown]
    cards: list[Any] = [0] * len(ids)
    if sub.empty:
        return cards
    row = pd.Index(ids.astype(str)).get_indexer(sub["parcel_id"].astype(str))
    codes = sub["result"].map({r.replace("_", " "): i for i, r in enumerate(_RESULTS)})
    table = zip(
        row.tolist(),
        rule_pos.loc[shown].astype(int).tolist(),
        numbers(sub["measured_m"], 1),
        numbers(sub["margin_m"], 1),
        codes.fillna(0).astype(int).tolist(),
        strict=True,
    )
    for r, k, m, g, c in table:
        if r < 0:
            continue
        if cards[r] == 0:
            cards[r] = []
        cards[r].append([k, m, g, c])
    return cards


def _parcels(
    result: StudyResult, lang: str, *, gcj02: bool, max_polygons: int
) -> tuple[dict[str, Any], dict[str, Any], int]:
    """Packed parcel table, the rule list, and how many parcels are polygons."""
    cand = result.candidates.reset_index(drop=True)
    n = len(cand)
    eligible = cand["eligible"].to_numpy(dtype=bool)
    selected = cand["selected"].to_numpy(dtype=bool) if "selected" in cand else np.zeros(n, bool)
    score = cand["score"].to_numpy(dtype=float)
    rank = pd.to_numeric(cand["rank"], errors="coerce").to_numpy(dtype=float)
    # the polygon budget goes to the selected sites, then by rank
    if n <= max_polygons:
        as_poly = np.ones(n, dtype=bool)
    else:
        order = np.lexsort((np.where(np.isnan(rank), np.inf, rank), ~selected))
        as_poly = np.zeros(n, dtype=bool)
        as_poly[order[:max_polygons]] = True
        as_poly &= eligible | selected
    # classes of the score as shown (one decimal), as the browser colours the polygons
    cls = np.where(eligible, np.minimum(np.round(np.nan_to_num(score), 1) // 20, 4), 0)
    cls = cls.astype(int)
    geoms = display_geoms(cand.geometry, gcj02=gcj02, simplify_m=SIMPLIFY_M)
    packed = pack_geoms(geoms[as_poly])
    geom: list[Any] = [0] * n
    for i, g in zip(np.flatnonzero(as_poly).tolist(), packed, strict=True):
        geom[i] = g

    comp = result.compliance
    # the geometric rules measured per parcel; the others (land use, size, building rows of
    # reused buildings) are notes with their own text
    in_rulebook = (
        comp["rule_id"].isin({r.id for r in result.rulebook.rules if r.is_geometric}).to_numpy()
    )
    rules, quiet, index = _rule_meta(comp[in_rulebook], lang)
    # rows outside the rulebook: all of them for polygons; dots keep those to check (their
    # failed ones are named, with their text, by the exclusion line of the card)
    extra = comp[~in_rulebook]
    pos = pd.Index(cand["parcel_id"].astype(str)).get_indexer(pd.Index(extra["parcel_id"]))
    keep = (pos >= 0) & (as_poly[pos] | (extra["result"] == "check").to_numpy())
    notes, note_text = _notes(extra[keep], cand["parcel_id"], lang)
    terms = [name for name in CRITERIA if f"contrib_{name}" in cand]
    pens = [c for c in cand if c.startswith("penalty_") and f"contrib_{c}" in cand]
    values = np.column_stack(
        [cand[c].to_numpy(dtype=float) for name in terms for c in (name, f"contrib_{name}")]
    ) if terms else np.zeros((n, 0))  # fmt: skip
    light = ~as_poly
    bd: list[Any] = [0] * n
    rounded = [numbers(values[:, j], 1) for j in range(values.shape[1])]
    for i in np.flatnonzero(eligible).tolist():
        row = [col[i] for col in rounded]
        # low-ranked dots: the points only (values are in ranking.csv)
        bd[i] = row[1::2] if light[i] else row
    pen: list[Any] = [0] * n
    for k, c in enumerate(pens):
        v, contrib = cand[c].to_numpy(dtype=float), cand[f"contrib_{c}"].to_numpy(dtype=float)
        for i in np.flatnonzero(eligible & (v > 0)).tolist():
            if pen[i] == 0:
                pen[i] = []
            pen[i].append([k, round(float(v[i]), 2), round(float(contrib[i]), 1)])
    source = cand.get("parcel_source", pd.Series("", index=cand.index)).fillna("").astype(str)
    reused = (source == "reuse").to_numpy()
    table: dict[str, Any] = {
        "id": cand["parcel_id"].astype(str).tolist(),
        # flags: 1 eligible, 2 selected, 4 drawn as a polygon with its full breakdown,
        # 8 a reused building
        "f": (eligible.astype(int) + 2 * selected + 4 * as_poly + 8 * reused).tolist(),
        "score": numbers(np.where(eligible, score, np.nan), 1),
        "rank": numbers(rank, 0),
        "excl": cand["excluded_by"].fillna("").astype(str).where(~eligible, "").tolist(),
        "area": numbers(cand["area_m2"], 0),
        "cap": numbers(cand["capacity_slots"], 0),
        "card": _cards(comp[in_rulebook], cand["parcel_id"], index),
        "note": notes,
        "bd": bd,
        "pen": pen,
        "geom": geom,
    }
    if "p_top_k" in cand:
        table["p_top_k"] = numbers(cand["p_top_k"], 2)
    roles: list[str] = []
    if "landuse_role" in cand:
        role = cand["landuse_role"].astype(object).where(cand["landuse_role"].notna(), None)
        uniq = sorted({str(r) for r in role if r is not None})
        roles = [role_label(r, lang) for r in uniq]
        table["lu"] = [None if r is None else uniq.index(str(r)) for r in role]
    if reused.any():
        of = cand.get("reuse_of", pd.Series("", index=cand.index))
        name = cand.get("name", pd.Series("", index=cand.index))
        usable = numbers(cand.get("reuse_usable_m2", pd.Series(np.nan, index=cand.index)), 0)
        table["reuse"] = [
            [_text(of.iloc[i]), _text(name.iloc[i]), usable[i]] if reused[i] else 0
            for i in range(n)
        ]
    # the others as dots, one canvas per layer
    rest = np.flatnonzero(~as_poly)
    if len(rest):
        reps = cand.geometry.iloc[rest].representative_point().to_numpy()
        pts = display_geoms(gpd.GeoSeries(reps, crs=cand.crs), gcj02=False, simplify_m=0)
        for key, mask in (("dots_scored", eligible[rest]), ("dots_excluded", ~eligible[rest])):
            rows = rest[mask]
            sub = pts[mask]
            order = curve_order(sub)  # of the WGS84 points: the same in every datum
            rows, sub = rows[order], sub.iloc[order]
            if gcj02:
                sub = to_gcj02(sub)
            palette = [*SCORE_COLORS] if key == "dots_scored" else [EXCLUDED_COLOR]
            spec = dots(sub, cls[rows] if key == "dots_scored" else np.zeros(len(rows)), palette)
            spec["rows"] = rows.tolist()
            spec["r0"] = 3
            table[key] = spec
    meta = {
        "rules": rules,
        "quiet": ", ".join(quiet),
        "terms": [CRITERIA[name].label(lang) for name in terms],
        "penalties": [c.removeprefix("penalty_").upper().replace("_", "-") for c in pens],
        "notes": note_text,
        "roles": roles,
        "reasons": {
            rid: f"{rid}: {text[lang]}"
            for rid, text in (*LAND_EXCLUSIONS.items(), *SHAPE_EXCLUSIONS.items())
        },
    }
    return table, meta, int(as_poly.sum())


# --- other layers -----------------------------------------------------------------------------


def _labelled(
    gdf: gpd.GeoDataFrame, labels: list[str], *, gcj02: bool, **cols: list[Any]
) -> dict[str, Any]:
    geoms = display_geoms(gdf.geometry, gcj02=gcj02, simplify_m=SIMPLIFY_M)
    return {"geom": pack_geoms(geoms), "label": labels, **cols}


def _fmt(value: Any, digits: int = 1) -> str:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return "–"
    if math.isnan(v):
        return "–"
    return "∞" if math.isinf(v) else f"{v:,.{digits}f}"


def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value)


def _hazard_layer(result: StudyResult, lang: str, *, gcj02: bool) -> dict[str, Any]:
    haz = result.hazards
    labels = []
    for row in haz.to_dict("records"):
        cls = str(row["hazard_class"])
        label = f"{t(cls, lang) if cls in HAZARD_COLORS else cls} {_text(row.get('name'))}"
        if cls.startswith("power") and "voltage_kv" in row:
            label += f" · {_fmt(row['voltage_kv'])} kV" + (
                " (?)" if row.get("voltage_assumed") else ""
            )
        labels.append(label.strip())
    out = _labelled(haz, labels, gcj02=gcj02)
    out["cls"] = haz["hazard_class"].astype(str).tolist()
    return out


def _new_areas_layer(result: StudyResult, lang: str, *, gcj02: bool) -> dict[str, Any] | None:
    """Pack the new residential areas: geometry, flag, and their labelled row (popup)."""
    areas = result.new_areas
    if areas is None:
        return None
    table = labelled_table(areas, lang=lang)
    labels = [
        f"{_text(a)} {_text(nm)}".strip()
        for a, nm in zip(areas["area_id"], areas.get("name", areas["area_id"]), strict=True)
    ]
    out = _labelled(areas, labels, gcj02=gcj02)
    out["flagged"] = areas["flagged"].astype(bool).astype(int).tolist()
    out["head"] = [str(c) for c in table.columns]
    out["rows"] = table.astype(str).to_numpy().tolist()
    out["colors"] = [NEW_AREA_COLORS["served"], NEW_AREA_COLORS["flagged"]]
    return out


def _demand_layer(result: StudyResult, *, gcj02: bool) -> dict[str, Any]:
    homes = result.demand
    pts = display_geoms(homes.geometry.representative_point(), gcj02=False, simplify_m=0)
    order = curve_order(pts)  # of the WGS84 points: the same in every datum
    if gcj02:
        pts = to_gcj02(pts)
    u3 = homes["under3"].to_numpy(dtype=float)[order]
    unmet = homes["unmet_under3"].to_numpy(dtype=float)[order] if "unmet_under3" in homes else u3
    # radius in the browser: 1.5 + 3 sqrt(under-3s) pixels
    spec = dots(pts.iloc[order], (unmet > 0.5 * u3).astype(int), list(_DEMAND_COLORS))
    return {"dots": spec, "under3": numbers(u3, 2), "unmet": numbers(unmet, 2)}


def _tiles(basemap: str, lang: str, key: str | None) -> list[dict[str, Any]]:
    if basemap == "osm":
        return [
            {
                "url": "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
                "attribution": "&copy; <a href='https://www.openstreetmap.org/copyright'>"
                "OpenStreetMap</a> contributors",
                "max_zoom": 19,
            }
        ]
    if basemap == "tianditu":
        wmts = (
            "https://t{s}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile"
            "&VERSION=1.0.0&LAYER={layer}&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles"
            "&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk=" + str(key)
        )
        attribution = "&copy; <a href='https://www.tianditu.gov.cn/'>天地图</a>"
        return [
            {"url": wmts.replace("{layer}", layer), "subdomains": "01234567",
             "attribution": attribution, "max_zoom": 18}
            for layer in ("vec", "eva" if lang == "en" else "cva")
        ]  # fmt: skip
    if basemap == "amap":
        return [
            {
                "url": "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1"
                "&style=8&x={x}&y={y}&z={z}",
                "subdomains": "1234",
                "attribution": "&copy; <a href='https://www.amap.com/'>高德地图</a>",
                "max_zoom": 18,
            }
        ]
    return []


def map_options(
    *,
    lang: str = "zh",
    basemap: str = "osm",
    tianditu_key: str | None = None,
    max_polygons: int = MAX_POLYGONS,
) -> None:
    """Check the map options before any work (see :func:`result_map`).

    Raises
    ------
    ConfigError
        On an unknown ``lang`` or ``basemap``, a Tianditu basemap without a valid key, or
        a ``max_polygons`` below 0.
    """
    if lang not in LANGS:
        msg = f"lang must be one of {list(LANGS)}, got {lang!r}"
        raise ConfigError(msg)
    if basemap not in BASEMAPS:
        msg = f"basemap must be one of {list(BASEMAPS)}, got {basemap!r}"
        raise ConfigError(msg)
    if basemap == "tianditu" and not (tianditu_key and _KEY.match(tianditu_key)):
        msg = (
            "the Tianditu basemap needs your key: pass tianditu_key (--tianditu-key), the "
            "letters and digits of the key from console.tianditu.gov.cn; got "
            f"{tianditu_key!r}"
        )
        raise ConfigError(msg)
    if isinstance(max_polygons, bool) or not isinstance(max_polygons, int) or max_polygons < 0:
        msg = f"max_polygons must be an integer >= 0, got {max_polygons!r}"
        raise ConfigError(msg)


def map_data(
    result: StudyResult,
    *,
    lang: str = "zh",
    basemap: str = "osm",
    tianditu_key: str | None = None,
    max_polygons: int = MAX_POLYGONS,
) -> dict[str, Any]:
    """Everything ``map.html`` draws, packed as one JSON-ready dict (see :func:`result_map`).

    Coordinates are integers of degrees x :data:`COORD_SCALE` (WGS84, or GCJ-02 with
    ``basemap="amap"``); rings and lines start with an absolute vertex followed by deltas.

    Raises
    ------
    ConfigError
        On an unknown ``lang`` or ``basemap``, a Tianditu basemap without a valid key, or
        a ``max_polygons`` below 0.
    """
    map_options(lang=lang, basemap=basemap, tianditu_key=tianditu_key, max_polygons=max_polygons)
    gcj02 = basemap == "amap"
    parcels, meta, n_poly = _parcels(result, lang, gcj02=gcj02, max_polygons=max_polygons)
    sel = result.selected
    catch = result.catchments
    fac = result.facilities
    bounds = display_geoms(result.candidates.geometry, gcj02=gcj02, simplify_m=0).total_bounds
    zones = result.hazard_zones
    data: dict[str, Any] = {
        "lang": lang,
        "scale": COORD_SCALE,
        "labels": {k: t(k, lang) for k in _JS_LABELS},
        "results": list(_RESULTS),
        "score_colors": list(SCORE_COLORS),
        "excluded_color": EXCLUDED_COLOR,
        "hazard_colors": HAZARD_COLORS,
        "tiles": _tiles(basemap, lang, tianditu_key),
        "basemap": basemap,
        "basemap_name": t(f"basemap_{basemap}", lang) if basemap != "none" else "",
        "data_attribution": t("data_attribution", lang),
        "gcj02": gcj02,
        "bounds": [[bounds[1], bounds[0]], [bounds[3], bounds[2]]]
        if np.isfinite(bounds).all()
        else None,
        "zones": _labelled(
            zones,
            zones["rule_id"].astype(str).tolist(),
            gcj02=gcj02,
            rule_id=zones["rule_id"].astype(str).tolist(),
        ),
        "hazards": _hazard_layer(result, lang, gcj02=gcj02),
        "demand": _demand_layer(result, gcj02=gcj02),
        "parcels": parcels,
        "polygons": n_poly,
        "catchments": _labelled(
            catch, [t("walk_label", lang, v=_text(p)) for p in catch["parcel_id"]], gcj02=gcj02
        ),
        "selected": _labelled(
            sel,
            [
                f"{t('pick', lang)} {int(o)}: {_text(p)} · {t('planned', lang)} {int(s)}"
                for o, p, s in zip(
                    sel["pick_order"], sel["parcel_id"], sel["planned_slots"], strict=True
                )
            ],
            gcj02=gcj02,
            id=sel["parcel_id"].astype(str).tolist(),
        ),
        "facilities": _labelled(
            fac,
            [
                f"{_text(a)} {_text(nm)}".strip()
                for a, nm in zip(fac["amenity"], fac["name"], strict=True)
            ],
            gcj02=gcj02,
            childcare=fac["amenity"].isin(["childcare", "kindergarten"]).astype(int).tolist(),
        ),
        "new_areas": _new_areas_layer(result, lang, gcj02=gcj02),
        "reuse_color": _REUSE_COLOR,
        **meta,
    }
    n_new = 0 if result.new_areas is None else len(result.new_areas)
    n_drawn = len(zones) + len(result.hazards) + n_poly + len(catch) + len(sel) + len(fac) + n_new
    data["canvas"] = n_drawn > 2_000
    return data


# --- the page -----------------------------------------------------------------------------------


def _legend(result: StudyResult, lang: str, data: dict[str, Any]) -> str:
    e = html.escape
    swatches = "".join(
        f"<div><i style='background:{c}'></i>{lo}–{lo + 20}</div>"
        for c, lo in zip(SCORE_COLORS, range(0, 100, 20), strict=True)
    )
    present = set(result.hazards["hazard_class"].astype(str))
    hazards = "".join(
        f"<div><i style='background:{color}'></i>{e(t(cls, lang))}</div>"
        for cls, color in HAZARD_COLORS.items()
        if cls in present
    )
    extra = ""
    if "reuse" in data["parcels"]:
        extra += (
            f"<div><i style='background:none;border:2px dashed {_REUSE_COLOR}'></i>"
            f"{e(t('reuse_layer', lang))}</div>"
        )
    if data["new_areas"] is not None:
        extra += (
            f"<b>{e(t('new_areas', lang))}</b><div><i style='background:"
            f"{NEW_AREA_COLORS['flagged']}'></i>{e(t('new_area_flagged', lang))}</div><div>"
            f"<i style='background:{NEW_AREA_COLORS['served']}'></i>"
            f"{e(t('new_area_served', lang))}</div>"
        )
    n_poly = int(data["polygons"])
    dots = (
        f"<div class='note'>{e(t('dots_note', lang, v=f'{n_poly:,}'))}</div>"
        if n_poly < len(result.candidates)
        else ""
    )
    return (
        f"<div class='siting-legend' id='siting-legend'><b>{e(t('score_classes', lang))}</b>"
        f"{swatches}<div><i style='background:{EXCLUDED_COLOR}'></i>{e(t('excluded', lang))}"
        f"</div><div><i style='background:none;border:3px solid #e7298a'></i>"
        f"{e(t('selected', lang))}</div>{dots}"
        f"<b>{e(t('demand', lang))}</b>"
        f"<div><i style='background:{_DEMAND_COLORS[1]};border-radius:50%'></i>"
        f"{e(t('unmet', lang))}</div>"
        f"<div><i style='background:{_DEMAND_COLORS[0]};border-radius:50%'></i>"
        f"{e(t('met_demand', lang))}</div>"
        f"{extra}<b>{e(t('hazards', lang))}</b>{hazards}"
        f"<div><i style='background:#1b7837;border-radius:50%'></i>{e(t('facilities', lang))}"
        f"</div><div class='note'>{e(t('estimate_note', lang))}<br>"
        f"{e(t('attribution', lang))}</div></div>"
    )


def result_map(
    result: StudyResult,
    *,
    lang: str = "zh",
    basemap: str = "osm",
    tianditu_key: str | None = None,
    max_polygons: int = MAX_POLYGONS,
) -> folium.Map:
    """Draw a study result as a self-contained Folium map.

    Parameters
    ----------
    result
        From :func:`siting.study.run_study`.
    lang
        ``"zh"`` (default) or ``"en"``.
    basemap
        ``"osm"`` (OpenStreetMap tiles), ``"tianditu"`` (needs ``tianditu_key``),
        ``"amap"`` (GCJ-02 tiles: the data are shifted to GCJ-02 for display and the map
        says so) or ``"none"`` (no request at all).
    tianditu_key
        Your Tianditu key (letters and digits), for ``basemap="tianditu"``.
    max_polygons
        Parcels drawn as polygons: all of them up to this many, else the selected sites and
        the best-ranked eligible ones; the others are drawn as dots (click for their card).

    Returns
    -------
    folium.Map
        Layers: setback zones, hazards, demand (hidden at first), excluded and scored
        parcels, reused buildings and new residential areas (when present), catchments,
        selected sites, existing facilities; layer control, legend,
        scale, fullscreen, measure tool and search by parcel id (also ``#parcel=ID`` in the
        address). Popups show each parcel's compliance card and score breakdown.
        ``.save("map.html")`` writes a page with every script and style inlined.

    Raises
    ------
    ConfigError
        On an unknown ``lang`` or ``basemap``, or a Tianditu basemap without a key.
    """
    data = map_data(
        result, lang=lang, basemap=basemap, tianditu_key=tianditu_key, max_polygons=max_polygons
    )
    (left, bottom), (right, top) = (
        (data["bounds"][0][1], data["bounds"][0][0]),
        (data["bounds"][1][1], data["bounds"][1][0]),
    ) if data["bounds"] else ((0.0, 0.0), (0.0, 0.0))  # fmt: skip
    fmap = folium.Map(
        location=[(bottom + top) / 2, (left + right) / 2],
        tiles=None,
        zoom_start=14,
        prefer_canvas=bool(data["canvas"]),
    )
    fmap.default_js = []
    fmap.default_css = []
    css, js = leaflet_assets()
    root = fmap.get_root()
    assert isinstance(root, Figure)  # a new Map always sits in a Figure
    root.header.add_child(
        _Raw(
            f"<title>{html.escape(t('title', lang))}</title>"
            f"<style>{css}</style><style>{APP_CSS}</style><script>{js}</script>"
            f"<script>{APP_JS}</script>"
            + ("<style>.leaflet-container{background:#f4f4f0}</style>" if basemap == "none" else "")
        ),
        name="siting_assets",
    )
    payload = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    data_id = f"siting-data-{fmap.get_name()}"
    gcj = (
        f"<small id='siting-gcj02'>{html.escape(t('gcj_note', lang))}</small>"
        if data["gcj02"]
        else ""
    )
    root.html.add_child(
        _Raw(
            f"<script type='application/json' id='{data_id}'>"
            + payload.replace("<", "\\u003c")
            + "</script>"
            f"<div class='siting-title' id='siting-title'>{html.escape(t('title', lang))} · "
            f"{html.escape(_text(result.summary.get('study', '')))}{gcj}</div>"
            + _legend(result, lang, data)
        ),
        name="siting_data",
    )
    fmap.add_child(_App(data_id))
    return fmap
