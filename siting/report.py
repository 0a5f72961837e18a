"""Report: a printable, self-contained ``report.html`` for planners.

No script and no link to load: the static map is a PNG drawn with matplotlib and embedded
as a ``data:`` URI, the score histogram is inline SVG, and the styles are inline, so the file
prints and opens on an offline intranet. Chinese by default, ``lang="en"`` for English.
Every text from data is HTML-escaped.

Sections: overview, targets vs achieved, parcels excluded and penalised per rule with their
citations, score distribution, rank stability (the ``p_top_k`` column when the run computed
it), top sites with their compliance, the static map, data sources and attribution. When the
study has them: new residential areas (flagged ones and the slots they need, with
:func:`siting.newareas.labelled_table`), land use (parcels per role, unknown codes, idle
land) and the land-use, size and shape exclusions (``LAND-*``, ``SIZE-*``) with their text.
"""

from __future__ import annotations

import base64
import html
import io
import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from siting import landuse, parcel_shape
from siting._errors import ConfigError
from siting._i18n import LANGS, t
from siting.newareas import LABELS, labelled_table

if TYPE_CHECKING:
    import geopandas as gpd

    from siting.study import StudyResult

__all__ = ["TOP_N", "report_html", "static_map_png"]

#: Parcels listed in the top-sites table.
TOP_N = 15
_SCORE_COLORS = ("#440154", "#3b528b", "#21918c", "#5ec962", "#fde725")
_EXCLUDED = "#9e9e9e"
_SELECTED = "#e7298a"
_FLAGGED = "#d7191c"
_SERVED = "#2c7bb6"

_CSS = (
    "body{font-family:'Noto Sans CJK SC','Microsoft YaHei','PingFang SC',sans-serif;"
    "max-width:980px;margin:24px auto;color:#222;line-height:1.5;padding:0 12px}"
    "table{border-collapse:collapse;margin:8px 0;width:100%}"
    "td,th{border:1px solid #bbb;padding:3px 6px;font-size:12.5px;text-align:left;"
    "vertical-align:top}th{background:#eee}tr{page-break-inside:avoid}"
    ".check{color:#8a6d00}.ok{color:#1a7f37;font-weight:bold}.no{color:#b2182b;font-weight:bold}"
    ".fail{color:#b2182b;font-weight:bold}.penalty{color:#b35806}"
    "h1{font-size:22px}h2{font-size:17px;border-bottom:2px solid #3b528b;margin-top:26px;"
    "page-break-after:avoid}.note{color:#555;font-size:12px}.num{text-align:right}"
    "figure{margin:8px 0}figure img{max-width:100%;border:1px solid #ccc}"
    ".legend i{display:inline-block;width:14px;height:10px;margin:0 4px 0 10px}"
    "@page{size:A4;margin:14mm}@media print{body{margin:0;max-width:none}"
    "h2{page-break-after:avoid}figure{page-break-inside:avoid}}"
)


def _e(value: object) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return html.escape(str(value))


def _pct(v: float | None) -> str:
    return "–" if v is None else f"{100 * v:.1f} %"


def _num(v: Any, digits: int = 1) -> str:
    try:
        x = float(v)
    except (TypeError, ValueError):
        return "–"
    if math.isnan(x):
        return "–"
    return "∞" if math.isinf(x) else f"{x:,.{digits}f}"


def _histogram_svg(scores: np.ndarray) -> str:
    """Inline SVG histogram of scores in 10-point bins."""
    counts, _ = np.histogram(scores, bins=10, range=(0, 100))
    peak = max(int(counts.max()), 1) if len(counts) else 1
    bars = []
    for i, c in enumerate(counts):
        h = 120 * int(c) / peak
        color = _SCORE_COLORS[min(i // 2, 4)]
        bars.append(
            f"<rect x='{40 + i * 50}' y='{140 - h:.1f}' width='44' height='{h:.1f}' "
            f"fill='{color}'/><text x='{62 + i * 50}' y='{135 - h:.1f}' font-size='11' "
            f"text-anchor='middle'>{int(c):,}</text><text x='{40 + i * 50}' y='156' "
            f"font-size='10'>{i * 10}</text>"
        )
    return (
        f"<svg width='560' height='165' role='img' class='histogram'>{''.join(bars)}"
        "<text x='540' y='156' font-size='10'>100</text></svg>"
    )


def static_map_png(
    result: StudyResult, *, width_px: int = 1400, dpi: int = 150, max_parcels: int = 200_000
) -> bytes:
    """Draw the result as a static PNG map (no basemap, no text but the scale bar).

    Drawn in the analysis CRS (true scale): setback zones, parcels coloured by score class
    (viridis) or grey if excluded, hazards, walking catchments and the selected sites.

    Parameters
    ----------
    width_px
        Image width in pixels (height follows the study's extent).
    dpi
        Dots per inch of the PNG.
    max_parcels
        Above this many parcels, the excluded and the lowest-ranked ones are left out of the
        picture (they would be sub-pixel).

    Returns
    -------
    bytes
        The PNG file.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    cand = result.candidates
    crs = cand.crs
    left, bottom, right, top = cand.total_bounds
    span_x, span_y = max(right - left, 1.0), max(top - bottom, 1.0)
    aspect = min(max(span_y / span_x, 0.35), 1.6)
    fig = Figure(figsize=(width_px / dpi, width_px * aspect / dpi), dpi=dpi)
    ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
    ax.set_axis_off()
    ax.set_aspect("equal")

    def draw(gdf: gpd.GeoDataFrame, **style: Any) -> None:
        if len(gdf):
            gdf.to_crs(crs).plot(ax=ax, **style)

    draw(result.hazard_zones, color="#d7191c", alpha=0.12, linewidth=0)
    shown = cand
    if len(cand) > max_parcels:
        shown = cand[cand["eligible"]].sort_values("rank").head(max_parcels)
    excl = shown[~shown["eligible"]]
    draw(excl, color=_EXCLUDED, linewidth=0.2, edgecolor="#555")
    ok = shown[shown["eligible"]]
    if len(ok):
        cls = np.minimum(np.round(ok["score"].to_numpy(dtype=float), 1) // 20, 4).astype(int)
        colors = [_SCORE_COLORS[c] for c in cls]
        ok.plot(ax=ax, color=colors, linewidth=0.2, edgecolor="#333")
    haz = result.hazards.to_crs(crs)
    if len(haz):
        from siting.maps import HAZARD_COLORS

        hcol = [HAZARD_COLORS.get(c, "#000") for c in haz["hazard_class"]]
        pts = haz.geom_type.isin(["Point", "MultiPoint"]).to_numpy()
        if (~pts).any():
            haz[~pts].plot(ax=ax, color=[c for c, p in zip(hcol, pts, strict=True) if not p],
                           linewidth=1.5, alpha=0.7)  # fmt: skip
        if pts.any():
            haz[pts].plot(ax=ax, color=[c for c, p in zip(hcol, pts, strict=True) if p],
                          markersize=18, marker="^")  # fmt: skip
    if result.new_areas is not None and len(result.new_areas):
        flagged = result.new_areas["flagged"].astype(bool).to_numpy()
        draw(result.new_areas[flagged], facecolor=_FLAGGED, alpha=0.35, edgecolor=_FLAGGED,
             linewidth=1.5)  # fmt: skip
        draw(result.new_areas[~flagged], facecolor="none", edgecolor=_SERVED, linewidth=1.2,
             linestyle=":")  # fmt: skip
    draw(result.catchments, facecolor="none", edgecolor=_SELECTED, linewidth=0.8,
         linestyle="--")  # fmt: skip
    draw(result.selected, facecolor="none", edgecolor=_SELECTED, linewidth=2.2)
    pad_x, pad_y = 0.03 * span_x, 0.03 * span_y
    ax.set_xlim(left - pad_x, right + pad_x)
    ax.set_ylim(bottom - pad_y, top + pad_y)
    if crs is not None and crs.is_projected:  # scale bar: a round length near a fifth
        target = span_x / 5
        bar = 10 ** math.floor(math.log10(target))
        bar *= max(m for m in (1, 2, 5) if m * bar <= target) if target >= bar else 1
        x0, y0 = left + pad_x * 0.2, bottom - pad_y * 0.4
        ax.plot([x0, x0 + bar], [y0, y0], color="#000", linewidth=3, solid_capstyle="butt")
        label = f"{bar / 1000:g} km" if bar >= 1000 else f"{bar:g} m"
        ax.text(x0 + bar / 2, y0 + pad_y * 0.25, label, ha="center", va="bottom", fontsize=8)
        ax.annotate("N", xy=(right + pad_x * 0.5, top), xytext=(right + pad_x * 0.5,
                    top - 0.08 * span_y), ha="center", fontsize=9,
                    arrowprops={"arrowstyle": "-|>", "color": "#000"})  # fmt: skip
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, facecolor="#ffffff")
    return buf.getvalue()


def _compliance_text(comp: pd.DataFrame, lang: str) -> str:
    """Rules that measured something for one parcel: ``RULE result (distance)``."""
    rows = comp[np.isfinite(comp["measured_m"].to_numpy(dtype=float))
                | comp["result"].isin(["fail", "penalty", "check"])]  # fmt: skip
    if rows.empty:
        return _e(t("no_hazard_near", lang))
    parts = []
    for r in rows.to_dict("records"):
        res = str(r["result"])
        cls = res if res in ("fail", "penalty", "check") else ""
        dist = float(r["measured_m"])
        where = f" {dist:,.0f} m" if math.isfinite(dist) else ""
        parts.append(
            f"<span class='{cls}'>{_e(r['rule_id'])} {_e(t(res.replace(' ', '_'), lang))}"
            f"{where}</span>"
        )
    return "; ".join(parts)


def _top_table(result: StudyResult, lang: str) -> str:
    cand = result.candidates
    top = cand[cand["eligible"]].sort_values("rank").head(TOP_N)
    sel_ids = set(result.selected["parcel_id"].astype(str))
    source = top.get("parcel_source", pd.Series("", index=top.index)).fillna("").astype(str)
    reuse_ids = set(top.loc[source == "reuse", "parcel_id"].astype(str))
    cards = dict(tuple(result.compliance.groupby("parcel_id", sort=False)))
    stab = "p_top_k" in cand
    heads = [
        t("rank", lang), t("parcel", lang), t("score", lang), t("walk_u3", lang),
        t("unserved_u3", lang), t("area", lang) + " m²", t("capacity", lang),
        t("margin_m", lang), *( [t("p_top_k", lang)] if stab else []), t("compliance", lang),
    ]  # fmt: skip
    rows = []
    for r in top.to_dict("records"):
        pid = str(r["parcel_id"])
        comp = cards.get(pid, result.compliance.iloc[:0])
        cells = [
            f"<td class='num'>{int(r['rank'])}</td>",
            f"<td>{_e(pid)}{' ★' if pid in sel_ids else ''}{' ♻' if pid in reuse_ids else ''}</td>",
            f"<td class='num'>{_num(r['score'])}</td>",
            f"<td class='num'>{_num(r['walk_under3'])}</td>",
            f"<td class='num'>{_num(r['unserved_under3'])}</td>",
            f"<td class='num'>{_num(r['area_m2'], 0)}</td>",
            f"<td class='num'>{int(r['capacity_slots'])}</td>",
            f"<td class='num'>{_num(r['hazard_margin_m'], 0)}</td>",
        ]
        if stab:
            cells.append(f"<td class='num'>{_num(r['p_top_k'], 2)}</td>")
        cells.append(f"<td>{_compliance_text(comp, lang)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    head = "".join(f"<th>{_e(h)}</th>" for h in heads)
    return (
        f"<table class='top'><tr>{head}</tr>{''.join(rows)}</table>"
        f"<p class='note'>★ = {_e(t('selected', lang))}. {_e(t('compliance_note', lang))}"
        + (f"<br>{_e(t('reuse_note', lang))}" if reuse_ids else "")
        + "</p>"
    )


def _stability(result: StudyResult, lang: str) -> str:
    cand = result.candidates
    if "p_top_k" not in cand:
        return f"<p class='note' id='stability'>{_e(t('no_stability', lang))}</p>"
    p = pd.to_numeric(cand.loc[cand["eligible"], "p_top_k"], errors="coerce").dropna()
    bins = ((0.9, 1.01), (0.5, 0.9), (0.1, 0.5), (0.0, 0.1))
    cells = "".join(
        f"<tr><td>{lo:g} ≤ p{' ≤ 1' if hi > 1 else f' < {hi:g}'}</td>"
        f"<td class='num'>{int(((p >= lo) & (p < hi)).sum()):,}</td></tr>"
        for lo, hi in bins
    )
    info = result.summary.get("sensitivity", {})
    extra = f" ({_e(info)})" if info else ""
    return (
        f"<div id='stability'><p>{_e(t('stability_intro', lang))}{extra}</p>"
        f"<table style='width:auto'><tr><th>p_top_k</th><th>{_e(t('count', lang))}</th></tr>"
        f"{cells}</table></div>"
    )


def _legend(result: StudyResult, lang: str) -> str:
    from siting.maps import HAZARD_COLORS

    present = set(result.hazards["hazard_class"].astype(str))
    hazards = [(c, t(k, lang)) for k, c in HAZARD_COLORS.items() if k in present]
    items = [(c, f"{lo}–{lo + 20}") for c, lo in zip(_SCORE_COLORS, range(0, 100, 20),
                                                       strict=True)]  # fmt: skip
    items += [(_EXCLUDED, t("excluded", lang)), ("#f6c9c9", t("zones", lang)), *hazards]
    sw = "".join(f"<i style='background:{c}'></i>{_e(label)}" for c, label in items)
    return (
        f"<p class='legend note'>{sw}<i style='border:2px solid {_SELECTED}'></i>"
        f"{_e(t('selected', lang))}<i style='border:1px dashed {_SELECTED}'></i>"
        f"{_e(t('catchments', lang))}</p>"
    )


def _new_areas(result: StudyResult, lang: str) -> str:
    """Write the new-areas section: how many lack a facility, the slots they need."""
    areas = result.new_areas
    if areas is None:
        return ""
    flagged = areas["flagged"].astype(bool).to_numpy()
    need = int(areas.loc[flagged, "required_slots"].sum())
    radius = result.rulebook.param("walk_m")
    table = labelled_table(areas, lang=lang)
    head = "".join(f"<th>{_e(c)}</th>" for c in table.columns)
    flag_head = LABELS["flagged"][1 if lang == "en" else 0]  # red where no facility serves it
    rows = "".join(
        "<tr>"
        + "".join(
            f"<td class='no'>{_e(v)}</td>" if f and h == flag_head else f"<td>{_e(v)}</td>"
            for h, v in zip(table.columns, values, strict=True)
        )
        + "</tr>"
        for f, values in zip(flagged, table.astype(str).to_numpy().tolist(), strict=True)
    )
    total = t(
        "new_areas_total", lang, n=len(areas), p=f"{areas['planned_residents'].sum():,.0f}",
        x=f"{int(areas['required_slots'].sum()):,}",
    )  # fmt: skip
    text = t("new_areas_text", lang, n=int(flagged.sum()), r=f"{radius:g}", x=f"{need:,}")
    return (
        f"<h2>{_e(t('new_areas', lang))}</h2><div id='new-areas-section'>"
        f"<p><b id='new-areas-text'>{_e(text)}</b></p><p>{_e(total)}</p>"
        f"<table id='new-areas'><tr>{head}</tr>{rows}</table>"
        f"<p class='note'>{_e(t('new_areas_note', lang))}</p></div>"
    )


def _land_use(result: StudyResult, lang: str) -> str:
    """Parcels per land-use role, the codes not in the table, idle land."""
    lu = result.summary.get("landuse") or {}
    if not lu:
        return ""
    roles = "".join(
        f"<tr><td>{_e(role)}</td><td>{_e(landuse.role_label(role, lang))}</td>"
        f"<td class='num'>{int(n):,}</td></tr>"
        for role, n in lu.get("by_role", {}).items()
    )
    unknown = lu.get("unknown", {})
    if unknown:
        rows = "".join(
            f"<tr><td>{_e(code)}</td><td class='num'>{int(n):,}</td></tr>"
            for code, n in unknown.items()
        )
        unknown_html = (
            f"<p>{_e(t('unknown_codes', lang))}:</p><table id='landuse-unknown' "
            f"style='width:auto'><tr><th>{_e(t('code', lang))}</th>"
            f"<th>{_e(t('parcels', lang))}</th></tr>{rows}</table>"
            f"<p class='note'>{_e(t('unknown_codes_note', lang))}</p>"
        )
    else:
        unknown_html = f"<p class='note'>{_e(t('no_unknown_codes', lang))}</p>"
    return (
        f"<h2>{_e(t('land_use', lang))}</h2><div id='landuse-section'>"
        f"<p>{_e(t('land_use_scheme', lang))}: {_e(lu.get('scheme'))} · "
        f"{_e(t('parcels', lang))}: {int(lu.get('parcels', 0)):,} · "
        f"{_e(t('idle_parcels', lang))}: {int(lu.get('idle', 0)):,} · "
        f"{_e(t('low_efficiency_parcels', lang))}: {int(lu.get('low_efficiency', 0)):,}</p>"
        f"<table id='landuse' style='width:auto'><tr><th>{_e(t('land_use_role', lang))}</th>"
        f"<th></th><th>{_e(t('parcels', lang))}</th></tr>{roles}</table>{unknown_html}</div>"
    )


def _toolkit_exclusions(result: StudyResult, lang: str) -> str:
    """Exclusion rows of the checks outside the rulebook (``LAND-*``, ``SIZE-*``)."""
    excluded = result.summary.get("excluded_by_rule", {})
    comp = result.compliance
    rows = []
    for rid, text in (*landuse.EXCLUSIONS.items(), *parcel_shape.EXCLUSIONS.items()):
        if rid not in excluded:
            continue
        shown = comp[comp["rule_id"] == rid]
        threshold = (
            shown["threshold" if lang == "en" else "threshold_zh"].iloc[0] if len(shown) else None
        )
        rows.append(
            f"<tr><td>{_e(rid)}</td><td>{_e(text[lang])}</td><td>{_e(threshold)}</td>"
            f"<td class='num'>{int(excluded[rid])}</td><td class='num'>–</td>"
            f"<td>{_e(text['source'])}</td><td>{_e(t('toolkit_reasons', lang))}</td></tr>"
        )
    return "".join(rows)


def report_html(result: StudyResult, *, lang: str = "zh", static_map: bool = True) -> str:
    """Render the study report as one self-contained HTML string.

    Parameters
    ----------
    result
        From :func:`siting.study.run_study`.
    lang
        ``"zh"`` (default) or ``"en"``.
    static_map
        Embed the static PNG map (:func:`static_map_png`).

    Raises
    ------
    ConfigError
        On an unknown ``lang``.
    """
    if lang not in LANGS:
        msg = f"lang must be one of {list(LANGS)}, got {lang!r}"
        raise ConfigError(msg)
    s = result.summary
    tg = s["targets"]
    yes, no = t("yes", lang), t("no", lang)
    cov_ok = bool(tg["coverage_met"])
    slots_ok = bool(tg["slots_met"])
    targets = (
        f"<table id='targets'><tr><th></th><th>{t('target', lang)}</th>"
        f"<th>{t('before', lang)}</th><th>{t('after', lang)}</th><th>{t('met', lang)}</th></tr>"
        f"<tr><td>{t('coverage', lang)}</td><td>≥ {_pct(tg['coverage_target'])}</td>"
        f"<td>{_pct(tg['coverage_before'])}</td><td>{_pct(tg['coverage_after'])}</td>"
        f"<td class='{'ok' if cov_ok else 'no'}'>{yes if cov_ok else no}</td></tr>"
        f"<tr><td>{t('slots_per_1000', lang)}</td><td>≥ {tg['slots_target_per_1000']:g}</td>"
        f"<td>{tg['slots_per_1000_before']:g}</td><td>{tg['slots_per_1000_after']:g}</td>"
        f"<td class='{'ok' if slots_ok else 'no'}'>{yes if slots_ok else no}</td></tr>"
        f"<tr><td>{t('under3_in_walk', lang)}</td><td>–</td>"
        f"<td>{_pct(tg['under3_in_walk_before'])}</td><td>{_pct(tg['under3_in_walk_after'])}</td>"
        f"<td>–</td></tr></table>"
        f"<p class='note'>{_e(tg['coverage_basis'])}. {t('existing_slots', lang)}: "
        f"{tg['existing_slots']:g} ({_e(tg['existing_slots_basis'])}). "
        f"{_e(tg['new_slots_basis'])}. {_e(s['supply_gap_before']['basis'])}.</p>"
    )
    excluded = s.get("excluded_by_rule", {})
    penalised = s.get("penalised_by_rule", {})
    rules = "".join(
        f"<tr><td>{_e(r.id)}</td><td>{_e(r.text(lang))}</td>"
        f"<td>{_e(r.threshold_text(lang))}</td>"
        f"<td class='num'>{excluded.get(r.id, '–')}</td>"
        f"<td class='num'>{penalised.get(r.id, '–')}</td>"
        f"<td>{_e(r.source)} {_e(r.clause)}</td><td>{_e(r.confidence)}</td></tr>"
        for r in result.rulebook.rules
        if r.enabled
    )
    exclusions = (
        f"<table id='exclusions'><tr><th>{t('rule', lang)}</th><th></th>"
        f"<th>{t('threshold', lang)}</th><th>{t('excluded', lang)}</th>"
        f"<th>{t('penalised', lang)}</th><th>{t('source', lang)}</th>"
        f"<th>{t('confidence', lang)}</th></tr>{rules}{_toolkit_exclusions(result, lang)}</table>"
        f"<p class='note'>{_e(t('exclusions_note', lang))}</p>"
    )
    c = s["counts"]
    overview = (
        f"<p>{_e(s['study'])} · CRS {_e(s['crs'])} · {_e(s['rulebook']['id'])} "
        f"v{_e(s['rulebook']['version'])}</p><ul>"
        f"<li>{t('candidates', lang)}: {c['candidates']:,} · {t('eligible', lang)}: "
        f"{c['eligible']:,} · {t('excluded', lang)}: {c['excluded']:,} · "
        f"{t('selected', lang)}: {c['selected']:,}</li><li>{t('residents', lang)} ≈ "
        f"{s['demand']['residents_estimate']:,.0f}, {t('under3', lang)} ≈ "
        f"{s['demand']['under3_estimate']:,.0f} ({_e(s['demand']['method'])})</li></ul>"
    )
    cand = result.candidates
    scores = cand.loc[cand["eligible"], "score"].to_numpy(dtype=float)
    pcts = np.percentile(scores, [25, 50, 75]) if len(scores) else []
    quart = " · ".join(f"{q}: {v:.1f}" for q, v in zip(("P25", "P50", "P75"), pcts, strict=False))
    figure = ""
    if static_map:
        png = base64.b64encode(static_map_png(result)).decode()
        figure = (
            f"<h2>{t('static_map', lang)}</h2><figure id='static-map'>"
            f"<img alt='{_e(t('static_map', lang))}' src='data:image/png;base64,{png}'>"
            f"</figure>{_legend(result, lang)}"
        )
    version = s.get("siting_version", "")
    sources = (
        f"<ul><li>{t('attribution', lang)} (openstreetmap.org/copyright)</li>"
        f"<li>{t('demand', lang)}: {_e(s['demand']['method'])}. "
        f"{t('estimate_note', lang)}.</li>"
        f"<li>{t('rulebook_src', lang)}: {_e(result.rulebook.id)} "
        f"v{_e(result.rulebook.version)}</li>"
        f"<li>siting {_e(version)}</li></ul>"
    )
    title = t("report_title", lang)
    return (
        f"<!DOCTYPE html><html lang='{'en' if lang == 'en' else 'zh-CN'}'><head>"
        f"<meta charset='utf-8'><meta name='viewport' content='width=device-width'>"
        f"<title>{_e(title)} · {_e(s['study'])}</title>"
        f"<style>{_CSS}</style></head><body><h1>{_e(title)} · {_e(s['study'])}</h1>"
        f"<h2>{t('summary', lang)}</h2>{overview}<h2>{t('targets', lang)}</h2>{targets}"
        f"<h2>{t('exclusions', lang)}</h2>{exclusions}"
        f"{_land_use(result, lang)}{_new_areas(result, lang)}"
        f"<h2>{t('scores_dist', lang)}</h2>{_histogram_svg(scores)}"
        f"<p class='note'>{quart}</p>"
        f"<h2>{t('stability', lang)}</h2>{_stability(result, lang)}"
        f"<h2>{t('top_sites', lang)}</h2>{_top_table(result, lang)}"
        f"{figure}"
        f"<h2>{t('data_sources', lang)}</h2>{sources}</body></html>"
    )
