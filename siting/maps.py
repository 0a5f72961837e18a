"""Maps: a Folium map of a study result, self-contained for offline intranets.

Leaflet's JavaScript and CSS are inlined from the ``django-js-lib-leaflet`` package (BSD-2,
Leaflet 1.9.4) instead of folium's CDN links, so ``map.html`` renders with no internet; the
only requests it makes are for basemap tiles, and ``basemap="none"`` makes none at all.
Every text taken from data (OSM names, ids) is HTML-escaped.
"""

from __future__ import annotations

import base64
import html
import json
import math
import re
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING

import folium
import pandas as pd
from branca.element import Figure, MacroElement
from jinja2 import Template

from siting._errors import ConfigError
from siting._i18n import LANGS, t
from siting.scoring import CRITERIA

if TYPE_CHECKING:
    import geopandas as gpd

    from siting.study import StudyResult

__all__ = ["BASEMAPS", "SCORE_COLORS", "leaflet_assets", "result_map"]

#: Basemap choices: OpenStreetMap tiles, or none (fully offline).
BASEMAPS = ("osm", "none")
#: Five score classes, low to high (viridis: colour-blind safe, prints in grey).
SCORE_COLORS = ("#440154", "#3b528b", "#21918c", "#5ec962", "#fde725")
_EXCLUDED = "#9e9e9e"
_HAZARD_COLORS = {
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


@cache
def leaflet_assets() -> tuple[str, str]:
    """Leaflet's CSS (images inlined as data URIs) and JS, from the installed package."""
    root = resources.files("js_lib_leaflet").joinpath("static", "js_lib_leaflet")
    css = root.joinpath("leaflet.css").read_text("utf-8")

    def inline(match: re.Match[str]) -> str:
        data = root.joinpath(match.group(1)).read_bytes()
        return f"url(data:image/png;base64,{base64.b64encode(data).decode()})"

    css = re.sub(r"url\((images/[\w\-.]+\.png)\)", inline, css)
    js = root.joinpath("leaflet.js").read_text("utf-8")
    js = js.replace("//# sourceMappingURL=leaflet.js.map", "")
    return css, js


class _Popup(MacroElement):
    """Bind an HTML popup to the parent layer without folium.Popup's jQuery dependency."""

    _template = Template(
        "{% macro script(this, kwargs) %}"
        "{{ this._parent.get_name() }}.bindPopup({{ this.content }}, {maxWidth: 440});"
        "{% endmacro %}"
    )

    def __init__(self, content: str) -> None:
        super().__init__()
        self._name = "SitingPopup"
        # JSON is a valid JS string literal; "</" is split so the HTML cannot end the script.
        self.content = json.dumps(content, ensure_ascii=False).replace("</", "<\\/")


_JS_TEMPLATE_CHARS = str.maketrans({"`": "&#96;", "$": "&#36;", "\\": "&#92;"})


def _esc(value: object) -> str:
    """Escape text from data for HTML *and* for folium's JavaScript template strings.

    folium puts tooltips inside backtick strings, so a backtick, ``${`` or a backslash in an
    OSM name would break the page or run code; they become HTML character references.
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return html.escape(str(value)).translate(_JS_TEMPLATE_CHARS)


def _fmt(value: float, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if math.isinf(value):
        return "∞"
    return f"{value:,.{digits}f}"


def _compliance_rows(card: pd.DataFrame, lang: str) -> str:
    cells = []
    quiet = card[(card["n_features"] == 0) & ~card["result"].isin(["fail", "penalty"])]
    for row in card.drop(index=quiet.index).to_dict("records"):
        kind, result = str(row["kind"]), str(row["result"])
        dist, margin = float(row["measured_m"]), float(row["margin_m"])
        if kind == "no_cross":
            measured = t("crosses" if result == "fail" else "not_crosses", lang)
        elif not math.isfinite(dist):
            measured = t("none_within", lang, v=_fmt(float(row["screening_m"]), 0))
        elif kind == "setback" and math.isfinite(margin):
            key = "margin" if margin >= 0 else "inside"
            measured = f"{_fmt(dist)} m · " + t(key, lang, v=_fmt(abs(margin)))
        else:
            measured = f"{_fmt(dist)} m"
        verdict = t(result.replace(" ", "_"), lang)
        style = {"fail": ' style="color:#b2182b;font-weight:bold"',
                 "penalty": ' style="color:#b35806"'}.get(result, "")  # fmt: skip
        cells.append(
            f"<tr><td title='{_esc(row['source'])} {_esc(row['clause'])}'>"
            f"{_esc(row['rule_id'])}</td><td>{_esc(row['en'] if lang == 'en' else row['zh'])}"
            f"</td><td>{_esc(row['threshold' if lang == 'en' else 'threshold_zh'])}</td>"
            f"<td>{_esc(measured)}</td>"
            f"<td{style}>{_esc(verdict)}</td></tr>"
        )
    if len(quiet):
        ids = ", ".join(quiet["rule_id"].astype(str))
        cells.append(
            f"<tr><td colspan='5' style='color:#555'>{_esc(ids)}: "
            f"{_esc(t('none_in_study', lang))}</td></tr>"
        )
    return "".join(cells)


def _parcel_popup(row: pd.Series, card: pd.DataFrame, lang: str) -> str:
    head = (
        f"<b>{_esc(t('parcel', lang))} {_esc(row['parcel_id'])}</b><br>"
        f"{_esc(t('area', lang))}: {_fmt(row['area_m2'], 0)} m² · "
        f"{_esc(t('capacity', lang))}: {int(row['capacity_slots'])}<br>"
    )
    if row["eligible"]:
        head += (
            f"{_esc(t('score', lang))}: <b>{_fmt(row['score'])}</b> · "
            f"{_esc(t('rank', lang))}: <b>{int(row['rank'])}</b><br>"
        )
    else:
        head += f"<b>{_esc(t('excluded_by', lang))}: {_esc(row['excluded_by'])}</b><br>"
    table = (
        "<table class='card'><tr>"
        f"<th>{_esc(t('rule', lang))}</th><th></th><th>{_esc(t('threshold', lang))}</th>"
        f"<th>{_esc(t('measured', lang))}</th><th>{_esc(t('result', lang))}</th></tr>"
        f"{_compliance_rows(card, lang)}</table>"
    )
    if not row["eligible"]:
        return head + table
    crit_rows = "".join(
        f"<tr><td>{_esc(c.label(lang))}</td><td>{_fmt(float(row[name]))}</td>"
        f"<td>{_fmt(float(row[f'contrib_{name}']))}</td></tr>"
        for name, c in CRITERIA.items()
        if f"contrib_{name}" in row.index
    ) + "".join(
        f"<tr><td>{_esc(name.removeprefix('penalty_').upper().replace('_', '-'))} "
        f"{_esc(t('soft_penalty', lang))}</td><td>{_fmt(float(row[name]), 2)}</td>"
        f"<td>{_fmt(float(row[f'contrib_{name}']))}</td></tr>"
        for name in row.index
        if name.startswith("penalty_") and f"contrib_{name}" in row.index
    )
    scores = (
        "<table class='card'><tr>"
        f"<th>{_esc(t('criterion', lang))}</th><th>{_esc(t('value', lang))}</th>"
        f"<th>{_esc(t('points', lang))}</th></tr>{crit_rows}</table>"
    )
    return head + table + scores


def _score_class(score: float) -> int:
    return min(int(score // 20), 4)


def _geojson(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    return gdf.to_crs("EPSG:4326")


def _legend(result: StudyResult, lang: str) -> folium.Element:
    swatches = "".join(
        f"<div><i style='background:{c}'></i>{lo}–{lo + 20}</div>"
        for c, lo in zip(SCORE_COLORS, range(0, 100, 20), strict=True)
    )
    hazards = "".join(
        f"<div><i style='background:{color}'></i>{_esc(t(cls, lang))}</div>"
        for cls, color in _HAZARD_COLORS.items()
        if (result.hazards["hazard_class"] == cls).any()
    )
    return folium.Element(
        "<style>.siting-legend{position:fixed;bottom:28px;right:12px;z-index:9999;"
        "background:#fff;padding:8px 10px;border-radius:4px;font:12px/1.4 sans-serif;"
        "box-shadow:0 1px 4px rgba(0,0,0,.4);max-width:260px}"
        ".siting-legend i{display:inline-block;width:14px;height:10px;margin-right:6px;"
        "opacity:.85}.siting-title{position:fixed;top:10px;left:54px;z-index:9999;"
        "background:#fff;padding:6px 10px;border-radius:4px;font:bold 15px sans-serif;"
        "box-shadow:0 1px 4px rgba(0,0,0,.4)}.card{border-collapse:collapse;margin:4px 0;"
        "font-size:11px}.card td,.card th{border:1px solid #ccc;padding:2px 4px;"
        "vertical-align:top}.leaflet-popup-content{max-height:360px;overflow:auto}</style>"
        f"<div class='siting-title'>{_esc(t('title', lang))} · "
        f"{_esc(result.summary.get('study', ''))}</div>"
        f"<div class='siting-legend'><b>{_esc(t('score_classes', lang))}</b>{swatches}"
        f"<div><i style='background:{_EXCLUDED}'></i>{_esc(t('excluded', lang))}</div>"
        f"<div><i style='background:none;border:3px solid #e7298a'></i>"
        f"{_esc(t('selected', lang))}</div>"
        f"<b>{_esc(t('demand', lang))}</b>"
        f"<div><i style='background:#e66101;border-radius:50%'></i>{_esc(t('unmet', lang))}</div>"
        f"<div><i style='background:#2166ac;border-radius:50%'></i>{_esc(t('met_demand', lang))}"
        "</div>"
        f"<b>{_esc(t('hazards', lang))}</b>{hazards}"
        f"<div style='margin-top:4px;color:#555'>{_esc(t('estimate_note', lang))}<br>"
        f"{_esc(t('attribution', lang))}</div></div>"
    )


def result_map(result: StudyResult, *, lang: str = "zh", basemap: str = "osm") -> folium.Map:
    """Draw a study result as a Folium map.

    Parameters
    ----------
    result
        From :func:`siting.study.run_study`.
    lang
        ``"zh"`` (default) or ``"en"``.
    basemap
        ``"osm"`` (OpenStreetMap tiles, needs the tile server) or ``"none"`` (offline).

    Returns
    -------
    folium.Map
        Layers: setback zones, hazards, demand, excluded and scored parcels, catchments,
        selected sites, existing facilities; layer control and legend. Popups show each
        parcel's compliance card and score breakdown.

    Raises
    ------
    ConfigError
        On an unknown ``lang`` or ``basemap``.
    """
    if lang not in LANGS:
        msg = f"lang must be one of {list(LANGS)}, got {lang!r}"
        raise ConfigError(msg)
    if basemap not in BASEMAPS:
        msg = f"basemap must be one of {list(BASEMAPS)}, got {basemap!r}"
        raise ConfigError(msg)
    cand = _geojson(result.candidates)
    left, bottom, right, top = cand.total_bounds
    fmap = folium.Map(
        location=[(bottom + top) / 2, (left + right) / 2],
        tiles="OpenStreetMap" if basemap == "osm" else None,
        control_scale=True,
        zoom_start=14,
    )
    fmap.default_js = []
    fmap.default_css = []
    css, js = leaflet_assets()
    root = fmap.get_root()
    assert isinstance(root, Figure)  # a new Map always sits in a Figure
    root.header.add_child(
        folium.Element(f"<style>{css}</style><script>{js}</script>"), name="leaflet_inline"
    )
    if basemap == "none":
        root.header.add_child(
            folium.Element("<style>.leaflet-container{background:#f4f4f0}</style>")
        )

    zones = folium.FeatureGroup(name=t("zones", lang), show=True)
    if len(result.hazard_zones):
        hz = _geojson(result.hazard_zones)
        for _, row in hz.iterrows():
            folium.GeoJson(
                row.geometry.__geo_interface__,
                style_function=lambda _f: {
                    "color": "#d7191c",
                    "weight": 1,
                    "fillOpacity": 0.15,
                    "dashArray": "4 3",
                },
                tooltip=_esc(row["rule_id"]),
            ).add_to(zones)
    zones.add_to(fmap)

    haz_group = folium.FeatureGroup(name=t("hazards", lang))
    for _, row in _geojson(result.hazards).iterrows():
        color = _HAZARD_COLORS.get(row["hazard_class"], "#000")
        label = f"{t(row['hazard_class'], lang)} {_esc(row['name'])}"
        if row["hazard_class"].startswith("power"):
            kv = _fmt(row["voltage_kv"], 1)
            label += f" · {kv} kV" + (" (?)" if row["voltage_assumed"] else "")
        if row.geometry.geom_type == "Point":
            folium.CircleMarker(
                [row.geometry.y, row.geometry.x],
                radius=6,
                color=color,
                fill=True,
                fill_opacity=0.9,
                tooltip=label,
            ).add_to(haz_group)
        else:
            folium.GeoJson(
                row.geometry.__geo_interface__,
                tooltip=label,
                style_function=lambda _f, c=color: {"color": c, "weight": 3, "fillOpacity": 0.4},
            ).add_to(haz_group)
    haz_group.add_to(fmap)

    dem = folium.FeatureGroup(name=t("demand", lang), show=False)
    homes = _geojson(result.demand)
    unmet = homes["unmet_under3"] if "unmet_under3" in homes else homes["under3"]
    for geom, u3, gap in zip(homes.geometry, homes["under3"], unmet, strict=True):
        # orange: most of the home's under-3 demand is not met by existing childcare (E2SFCA)
        folium.CircleMarker(
            [geom.y, geom.x],
            radius=1.5 + 3 * math.sqrt(float(u3)),
            weight=0,
            fill=True,
            fill_color="#e66101" if float(gap) > 0.5 * float(u3) else "#2166ac",
            fill_opacity=0.5,
        ).add_to(dem)
    dem.add_to(fmap)

    excl = folium.FeatureGroup(name=t("excluded", lang))
    scored = folium.FeatureGroup(name=t("candidates", lang))
    cards = dict(tuple(result.compliance.groupby("parcel_id", sort=False)))
    for _, row in cand.iterrows():
        if row["eligible"]:
            color, group = SCORE_COLORS[_score_class(float(row["score"]))], scored
        else:
            color, group = _EXCLUDED, excl
        layer = folium.GeoJson(
            row.geometry.__geo_interface__,
            style_function=lambda _f, c=color: {
                "color": "#333",
                "weight": 0.6,
                "fillColor": c,
                "fillOpacity": 0.7,
            },
            tooltip=f"{_esc(row['parcel_id'])}"
            + (f" · {_fmt(row['score'])}" if row["eligible"] else " ✕"),
        )
        card = cards.get(row["parcel_id"], result.compliance.iloc[:0])
        layer.add_child(_Popup(_parcel_popup(row, card, lang)))
        layer.add_to(group)
    excl.add_to(fmap)
    scored.add_to(fmap)

    catch = folium.FeatureGroup(name=t("catchments", lang))
    for geom in _geojson(result.catchments).geometry:
        folium.GeoJson(
            geom.__geo_interface__,
            style_function=lambda _f: {"color": "#e7298a", "weight": 1, "fillOpacity": 0.08},
        ).add_to(catch)
    catch.add_to(fmap)
    sel = folium.FeatureGroup(name=t("selected", lang))
    for _, row in _geojson(result.selected).iterrows():
        folium.GeoJson(
            row.geometry.__geo_interface__,
            style_function=lambda _f: {"color": "#e7298a", "weight": 4, "fillOpacity": 0},
            tooltip=f"{_esc(t('pick', lang))} {int(row['pick_order'])}: "
            f"{_esc(row['parcel_id'])} · {_esc(t('planned', lang))} "
            f"{int(row['planned_slots'])}",
        ).add_to(sel)
    sel.add_to(fmap)

    fac = folium.FeatureGroup(name=t("facilities", lang))
    for _, row in _geojson(result.facilities).iterrows():
        pt = row.geometry.representative_point()
        childcare = row["amenity"] in ("childcare", "kindergarten")
        folium.CircleMarker(
            [pt.y, pt.x],
            radius=6,
            color="#1b7837" if childcare else "#5aae61",
            fill=True,
            fill_opacity=0.9 if childcare else 0.4,
            tooltip=f"{_esc(row['amenity'])} {_esc(row['name'])}",
        ).add_to(fac)
    fac.add_to(fmap)

    folium.LayerControl(collapsed=False).add_to(fmap)
    root.html.add_child(_legend(result, lang))
    fmap.fit_bounds([[bottom, left], [top, right]])
    return fmap
