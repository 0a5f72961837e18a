"""report.html: rules with citations and counts, targets, top sites with compliance, rank
stability, the static PNG map, attribution, escaping, both languages, offline in Chromium."""

from __future__ import annotations

import base64
import dataclasses
import html
import io
import re
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from siting import ConfigError, landuse, parcel_shape, run_study
from siting.newareas import labelled_table
from siting.report import TOP_N, report_html, static_map_png

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from test_outputs import EVIL, land_use_study  # noqa: E402

from benchmarks.browser import CHROMIUM, Chromium  # noqa: E402

ARTIFACTS = ROOT / "out" / "test-artifacts"
VIRIDIS = ("#440154", "#3b528b", "#21918c", "#5ec962", "#fde725")


@pytest.fixture(scope="module")
def result(karhula_layers):
    return run_study(karhula_layers, k=2, study_name="karhula")


def _rows(page: str, table_id: str) -> list[list[str]]:
    table = re.search(rf"<table id='{table_id}'[^>]*>(.*?)</table>", page, flags=re.S).group(1)
    return [
        [re.sub(r"<[^>]+>", "", c) for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row)]
        for row in re.findall(r"<tr>(.*?)</tr>", table, flags=re.S)
    ]


def test_exclusion_counts_and_citations(result) -> None:
    page = report_html(result, static_map=False)
    rows = {r[0]: r for r in _rows(page, "exclusions")[1:]}
    failing = result.candidates["excluded_by"].fillna("").str.split(";")
    for rule in result.rulebook.active_rules:
        row = rows[rule.id]
        if rule.hard and rule.is_geometric:  # counted from the parcels, not from the summary
            assert int(row[3]) == int(failing.map(lambda ids, r=rule: r.id in ids).sum())
        if rule.has_soft_band:
            col = [c for c in result.candidates if c.startswith("penalty_") and
                   c.endswith(rule.id.lower().replace("-", "_"))]  # fmt: skip
            assert int(row[4]) == int((result.candidates[col[0]] > 0).sum())
        assert rule.source.split("（")[0].split("《")[0][:8] in row[5]
    assert "JGJ 39-2016" in page and "3.1.2" in page


def test_targets_and_top_sites(result) -> None:
    page = report_html(result, lang="en", static_map=False)
    tg = result.summary["targets"]
    targets = _rows(page, "targets")
    assert targets[1][1] == f"≥ {100 * tg['coverage_target']:.1f} %"
    assert targets[2][3] == f"{tg['slots_per_1000_after']:g}"
    top = re.search(r"<table class='top'>(.*?)</table>", page, flags=re.S).group(1)
    ids = re.findall(r"<tr><td class='num'>\d+</td><td>([^<★]+?)(?: ★)?</td>", top)
    expect = result.candidates[result.candidates["eligible"]].sort_values("rank")["parcel_id"]
    assert ids == expect.head(TOP_N).tolist()
    # a parcel with a soft penalty shows it in its compliance cell
    comp = result.compliance
    pen = comp[(comp["result"] == "penalty") & comp["parcel_id"].isin(ids)]
    if len(pen):
        assert f"{pen.iloc[0]['rule_id']} penalty" in top
    assert "OpenStreetMap" in page and "ODbL" in page
    if "p_top_k" in result.candidates:  # the study now runs the sensitivity analysis
        assert "p_top_k: share of the sensitivity runs" in page
    else:
        assert "Rank stability (sensitivity analysis) was not computed" in page


def test_rank_stability_when_present(result) -> None:
    cand = result.candidates.copy()
    rng = np.random.default_rng(1)
    cand["p_top_k"] = np.where(cand["eligible"], rng.random(len(cand)), np.nan)
    page = report_html(dataclasses.replace(result, candidates=cand), static_map=False)
    p = cand.loc[cand["eligible"], "p_top_k"]
    section = page.split("id='stability'")[1].split("</table>")[0]
    counts = [int(n) for n in re.findall(r"<td class='num'>(\d+)</td></tr>", section)]
    expect = [(p >= 0.9), (p >= 0.5) & (p < 0.9), (p >= 0.1) & (p < 0.5), (p < 0.1)]
    assert counts == [int(m.sum()) for m in expect]
    header = page.split("<table class='top'>")[1].split("</tr>")[0]
    assert "进入前 k 名的概率" in header


def test_static_map_png_draws_the_score_classes(result) -> None:
    png = static_map_png(result, width_px=800)
    img = Image.open(io.BytesIO(png)).convert("RGB")
    assert img.size[0] == 800
    pixels = {tuple(int(v) for v in px) for px in np.asarray(img).reshape(-1, 3)}
    ok = result.candidates[result.candidates["eligible"]]
    classes = set(np.minimum(np.round(ok["score"], 1) // 20, 4).astype(int))
    for cls in classes:
        rgb = tuple(int(VIRIDIS[cls][i : i + 2], 16) for i in (1, 3, 5))
        assert rgb in pixels, (cls, VIRIDIS[cls])
    if (~result.candidates["eligible"]).any():
        assert (158, 158, 158) in pixels  # excluded grey
    page = report_html(result)
    data = re.search(r"src='data:image/png;base64,([^']+)'", page).group(1)
    assert base64.b64decode(data)[:8] == b"\x89PNG\r\n\x1a\n"


def test_self_contained_escaped_and_languages(result) -> None:
    cand = result.candidates.copy()
    top = cand[cand["eligible"]].sort_values("rank").index[0]
    cand.loc[top, "parcel_id"] = "<script>alert(1)</script>"
    evil = dataclasses.replace(
        result, candidates=cand, summary={**result.summary, "study": "<img src=x onerror=1>"}
    )
    zh = report_html(evil)
    assert "<script" not in zh and "&lt;script&gt;alert(1)&lt;/script&gt;" in zh
    assert "<img src=x" not in zh
    assert not re.search(r"(src|href)=['\"]?(https?:)?//", zh)
    assert "社区托育覆盖率" in zh and "lang='zh-CN'" in zh
    en = report_html(result, lang="en", static_map=False)
    assert "Community childcare coverage" in en and "lang='en'" in en
    with pytest.raises(ConfigError, match="lang"):
        report_html(result, lang="fr")


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (.ci/run installs it)")
def test_report_offline_in_chromium(result, tmp_path) -> None:
    page = tmp_path / "report.html"
    page.write_text(report_html(result), encoding="utf-8")
    with Chromium(width=1000, height=1200) as browser:
        browser.open(page.as_uri())
        assert browser.requests() == [page.as_uri()] and browser.errors() == []
        img = browser.evaluate("document.querySelector('#static-map img').naturalWidth")
        assert img == 1400
        heads = browser.evaluate("[...document.querySelectorAll('h2')].map(h => h.textContent)")
        assert heads == ["概况", "目标与达成", "各规则排除地块数", "得分分布", "排名稳定性",
                         "排名前列地块", "静态地图", "数据来源"]  # fmt: skip
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        height = browser.evaluate("document.body.scrollHeight")
        size = {"width": 1000, "height": height, "deviceScaleFactor": 1, "mobile": False}
        browser.send("Emulation.setDeviceMetricsOverride", size)
        browser.screenshot(ARTIFACTS / "report-zh.png")
        pdf = browser.send("Page.printToPDF", {"printBackground": True})["data"]
        (ARTIFACTS / "report-zh.pdf").write_bytes(base64.b64decode(pdf))
        assert base64.b64decode(pdf)[:5] == b"%PDF-"


# --- land use, reused buildings, new residential areas (issue 9) ------------------------------


@pytest.fixture(scope="module")
def lu_result(karhula_layers):
    return land_use_study(karhula_layers)


def test_new_areas_section(lu_result, karhula_layers) -> None:
    areas = lu_result.new_areas
    # flagged = no existing childcare within 300 m of the area, by shapely on the input layer
    amen = karhula_layers["amenities"].to_crs(areas.crs)
    kids = amen[amen["amenity"].isin(["childcare", "kindergarten"])].geometry.union_all()
    flagged = (areas.distance(kids) > 300).to_numpy()
    assert flagged.tolist() == areas["flagged"].tolist() and flagged.any()
    need = int(areas.loc[flagged, "required_slots"].sum())
    for lang, text in (
        ("zh", f"{int(flagged.sum())} 个新建居住区周边 300 米内无托育设施，需配建托位 {need} 个"),
        ("en", f"{int(flagged.sum())} new residential areas have no facility within 300 m; "
               f"they need {need} slots"),
    ):  # fmt: skip
        page = report_html(lu_result, lang=lang, static_map=False)
        assert f"<b id='new-areas-text'>{html.escape(text)}</b>" in page
        table = labelled_table(areas, lang=lang)
        rows = _rows(page, "new-areas")
        assert rows[0] == [html.escape(c) for c in table.columns]
        assert rows[1:] == [[html.escape(v) for v in r] for r in table.astype(str).to_numpy()]
    # the name written like a script is text
    assert EVIL in areas["name"].tolist()
    assert "<script" not in page and html.escape(EVIL) in page


def test_land_use_table_and_exclusions(lu_result) -> None:
    page = report_html(lu_result, static_map=False)
    cand = lu_result.candidates
    coded = cand[cand["landuse_scheme"].notna()]
    roles = coded["landuse_role"].fillna("unknown").value_counts()
    rows = {r[0]: r for r in _rows(page, "landuse")[1:]}
    assert {k: int(r[2]) for k, r in rows.items()} == roles.to_dict()
    assert rows["co_location"][1] == "可合建（共享建筑）"
    unknown = {r[0]: int(r[1]) for r in _rows(page, "landuse-unknown")[1:]}
    codes = coded.loc[coded["landuse_role"] == "unknown", "landuse_code"].value_counts()
    assert unknown == codes.to_dict() == {"0799": 7}
    # the land-use and shape exclusions, counted from the parcels, with their text
    ex = {r[0]: r for r in _rows(page, "exclusions")[1:]}
    failing = cand["excluded_by"].fillna("").str.split(";")
    for rid, text in (*landuse.EXCLUSIONS.items(), *parcel_shape.EXCLUSIONS.items()):
        assert int(ex[rid][3]) == int(failing.map(lambda ids, rid=rid: rid in ids).sum())
        assert ex[rid][1] == html.escape(text["zh"])
    assert int(ex["SIZE-WIDTH"][3]) == 1 and ex["SIZE-WIDTH"][2] == "≥ 10 米"
    assert int(ex["LAND-UNKNOWN"][3]) == 7


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (.ci/run installs it)")
def test_new_areas_report_in_chromium(lu_result, tmp_path) -> None:
    page = tmp_path / "report.html"
    page.write_text(report_html(lu_result), encoding="utf-8")
    with Chromium(width=1000, height=1200) as browser:
        browser.open(page.as_uri())
        assert browser.requests() == [page.as_uri()] and browser.errors() == []
        heads = browser.evaluate("[...document.querySelectorAll('h2')].map(h => h.textContent)")
        assert heads[:5] == ["概况", "目标与达成", "各规则排除地块数", "用地类型", "新建居住区"]
        name = browser.evaluate(
            "document.querySelector('#new-areas tr:nth-child(2) td:nth-child(2)').textContent"
        )
        assert name == EVIL and browser.dialogs() == []
        browser.evaluate("document.getElementById('landuse-section').scrollIntoView(), 0")
        browser.screenshot(ARTIFACTS / "report-zh-new-areas.png")
