"""Report: a printable, self-contained ``report.html`` for planners (no scripts, no links)."""

from __future__ import annotations

import html
import math
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from siting._i18n import t

if TYPE_CHECKING:
    from siting.study import StudyResult

__all__ = ["report_html"]

_CSS = (
    "body{font-family:'Noto Sans CJK SC','Microsoft YaHei',sans-serif;max-width:960px;"
    "margin:24px auto;color:#222;line-height:1.5}table{border-collapse:collapse;margin:8px 0;"
    "width:100%}td,th{border:1px solid #bbb;padding:3px 6px;font-size:13px;text-align:left}"
    "th{background:#eee}.ok{color:#1a7f37;font-weight:bold}.no{color:#b2182b;font-weight:bold}"
    "h1{font-size:22px}h2{font-size:17px;border-bottom:2px solid #3b528b;margin-top:24px}"
    ".note{color:#555;font-size:12px}@media print{body{margin:0}}"
)


def _e(value: object) -> str:
    return html.escape(str(value))


def _pct(v: float | None) -> str:
    return "–" if v is None else f"{100 * v:.1f} %"


def _histogram_svg(scores: np.ndarray) -> str:
    """Draw an inline SVG histogram of scores in 10-point bins."""
    counts, _ = np.histogram(scores, bins=10, range=(0, 100))
    peak = max(int(counts.max()), 1) if len(counts) else 1
    bars = []
    for i, c in enumerate(counts):
        h = 120 * int(c) / peak
        bars.append(
            f"<rect x='{40 + i * 50}' y='{140 - h:.1f}' width='44' height='{h:.1f}' "
            f"fill='#21918c'/><text x='{62 + i * 50}' y='{135 - h:.1f}' font-size='11' "
            f"text-anchor='middle'>{int(c)}</text><text x='{40 + i * 50}' y='156' "
            f"font-size='10'>{i * 10}</text>"
        )
    return (
        f"<svg width='560' height='165' role='img'>{''.join(bars)}"
        "<text x='540' y='156' font-size='10'>100</text></svg>"
    )


def _top_row(r: pd.Series, selected: bool) -> str:
    margin = r["hazard_margin_m"]
    margin_txt = "∞" if math.isinf(margin) else f"{margin:.0f}"
    return (
        f"<tr><td>{int(r['rank'])}</td><td>{_e(r['parcel_id'])}{' ★' if selected else ''}</td>"
        f"<td>{r['score']:.1f}</td><td>{r['walk_under3']:.1f}</td>"
        f"<td>{r['unserved_under3']:.1f}</td><td>{r['area_m2']:,.0f}</td>"
        f"<td>{int(r['capacity_slots'])}</td><td>{margin_txt}</td></tr>"
    )


def report_html(result: StudyResult, *, lang: str = "zh") -> str:
    """Render the study report as one HTML string.

    Parameters
    ----------
    result
        From :func:`siting.study.run_study`.
    lang
        ``"zh"`` (default) or ``"en"``.
    """
    s = result.summary
    tg = s["targets"]
    yes, no = t("yes", lang), t("no", lang)
    cov_ok = bool(tg["coverage_met"])
    slots_ok = bool(tg["slots_met"])
    targets = (
        f"<table><tr><th></th><th>{t('target', lang)}</th><th>{t('before', lang)}</th>"
        f"<th>{t('after', lang)}</th><th>{t('met', lang)}</th></tr>"
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
    rules = "".join(
        f"<tr><td>{_e(r.id)}</td><td>{_e(r.text(lang))}</td>"
        f"<td>{s['excluded_by_rule'].get(r.id, 0)}</td><td>{_e(r.source)}</td>"
        f"<td>{_e(r.confidence)}</td></tr>"
        for r in result.rulebook.rules
    )
    exclusions = (
        f"<table><tr><th>{t('rule', lang)}</th><th></th><th>{t('count', lang)}</th>"
        f"<th>{t('source', lang)}</th><th>{t('confidence', lang)}</th></tr>{rules}</table>"
    )
    cand = result.candidates
    top = cand[cand["eligible"]].sort_values("rank").head(15)
    sel_ids = set(result.selected["parcel_id"])
    top_rows = "".join(_top_row(r, r["parcel_id"] in sel_ids) for _, r in top.iterrows())
    head_cells = "".join(
        f"<th>{h}</th>"
        for h in (
            t("rank", lang),
            t("parcel", lang),
            t("score", lang),
            "≤300 m " + t("under3", lang),
            "unserved " + t("under3", lang) if lang == "en" else "未覆盖" + t("under3", lang),
            t("area", lang) + " m²",
            t("capacity", lang),
            "hazard margin m" if lang == "en" else "危险源余量 m",
        )
    )
    top_table = (
        f"<table><tr>{head_cells}</tr>{top_rows}</table>"
        f"<p class='note'>★ = {t('selected', lang)}</p>"
    )
    c = s["counts"]
    overview = (
        f"<p>{_e(s['study'])} · CRS {_e(s['crs'])} · {_e(s['rulebook']['id'])} "
        f"v{_e(s['rulebook']['version'])}</p><ul>"
        f"<li>{t('candidates', lang)}: {c['candidates']} · {t('eligible', lang)}: "
        f"{c['eligible']} · {t('excluded', lang)}: {c['excluded']} · {t('selected', lang)}: "
        f"{c['selected']}</li><li>{t('residents', lang)} ≈ "
        f"{s['demand']['residents_estimate']:,.0f}, {t('under3', lang)} ≈ "
        f"{s['demand']['under3_estimate']:,.0f} ({_e(s['demand']['method'])})</li></ul>"
    )
    scores = cand.loc[cand["eligible"], "score"].to_numpy(dtype=float)
    return (
        f"<!DOCTYPE html><html lang='{'en' if lang == 'en' else 'zh-CN'}'><head>"
        f"<meta charset='utf-8'><title>{t('report_title', lang)}</title>"
        f"<style>{_CSS}</style></head><body><h1>{t('report_title', lang)}</h1>"
        f"<h2>{t('summary', lang)}</h2>{overview}<h2>{t('targets', lang)}</h2>{targets}"
        f"<h2>{t('exclusions', lang)}</h2>{exclusions}"
        f"<h2>{t('scores_dist', lang)}</h2>{_histogram_svg(scores)}"
        f"<h2>{t('top_sites', lang)}</h2>{top_table}"
        f"<h2>{t('data_sources', lang)}</h2><p>{t('attribution', lang)} "
        "(openstreetmap.org/copyright). "
        f"{t('estimate_note', lang)}.</p></body></html>"
    )
