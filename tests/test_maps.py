"""map.html: packed data vs the study, offline assets, escaping, languages, basemaps, and real
renders in headless Chromium with the network cut off (screenshots in out/test-artifacts/)."""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import prcoords
import pyproj
import pytest
import shapely

from siting import ConfigError, landuse, run_study
from siting.maps import COORD_SCALE, leaflet_assets, map_data, result_map
from siting.newareas import labelled_table

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `pytest` (not `python -m pytest`) puts only tests/ on the path
    sys.path.insert(0, str(ROOT))

from test_outputs import EVIL as _EVIL  # noqa: E402
from test_outputs import land_use_study  # noqa: E402

from benchmarks.browser import CHROMIUM, Chromium  # noqa: E402

ARTIFACTS = ROOT / "out" / "test-artifacts"  # git-ignored (out/)
EVIL = _EVIL
#: The text of the popup opened last (a closed one fades out for a moment).
LAST_POPUP = "[...document.querySelectorAll('.leaflet-popup-content')].pop().innerText"


@pytest.fixture(scope="module")
def result(helsinki_layers):
    res = run_study(helsinki_layers, k=2, study_name="<b>helsinki</b>")
    fac = res.facilities.copy()
    fac.loc[fac.index[0], "name"] = EVIL
    haz = res.hazards.copy()
    haz.loc[haz.index[0], "name"] = EVIL
    cand = res.candidates.copy()
    ranked = cand[cand["eligible"]].sort_values("rank")
    evil_row = ranked.index[-1]  # a low-ranked parcel: never a selected site
    old_id = cand.loc[evil_row, "parcel_id"]
    cand.loc[evil_row, "parcel_id"] = EVIL
    comp = res.compliance.copy()
    comp.loc[comp["parcel_id"] == old_id, "parcel_id"] = EVIL
    return dataclasses.replace(res, facilities=fac, hazards=haz, candidates=cand, compliance=comp)


def _decode_ring(flat: list[int]) -> np.ndarray:
    xy = np.cumsum(np.asarray(flat, dtype=np.int64).reshape(-1, 2), axis=0)
    return xy / COORD_SCALE


def _decode(geom: list) -> shapely.Geometry:
    kind, parts = geom
    if kind == "pt":
        return shapely.Point(np.asarray(parts) / COORD_SCALE)
    if kind == "ln":
        return shapely.MultiLineString([_decode_ring(p) for p in parts])
    return shapely.MultiPolygon(
        [shapely.Polygon(_decode_ring(rings[0]), [_decode_ring(r) for r in rings[1:]])
         for rings in parts]
    )  # fmt: skip


def test_packed_parcels_match_the_study_geometry(result) -> None:
    data = map_data(result, basemap="none")
    cand = result.candidates
    decoded = gpd.GeoSeries([_decode(g) for g in data["parcels"]["geom"]], crs=4326)
    metric = decoded.to_crs(cand.crs)
    # simplified by 0.5 m, then rounded to 1e-5 degree (<= 0.56 m east-west, 0.56 m north)
    gap = shapely.hausdorff_distance(metric.to_numpy(), cand.geometry.to_numpy())
    assert gap.max() < 0.5 + 0.8, gap.max()
    rel = np.abs(metric.area.to_numpy() / cand.area.to_numpy() - 1)
    assert np.median(rel) < 0.01
    assert data["parcels"]["id"] == cand["parcel_id"].astype(str).tolist()
    flags = np.asarray(data["parcels"]["f"])
    assert ((flags & 1) == cand["eligible"].to_numpy()).all()
    assert ((flags >> 1 & 1) == cand["selected"].to_numpy()).all()
    score = pd.Series(data["parcels"]["score"], dtype=float)
    ok = cand["eligible"].to_numpy()
    np.testing.assert_allclose(score[ok], cand.loc[ok, "score"], atol=0.051)


def test_compliance_card_matches_the_compliance_table(result) -> None:
    data = map_data(result, basemap="none")
    rules = [r["id"] for r in data["rules"]]
    geometric = {r.id for r in result.rulebook.rules if r.is_geometric}
    in_rulebook = result.compliance["rule_id"].isin(geometric)
    comp = result.compliance[in_rulebook]  # the others are notes (test below)
    codes = data["results"]
    failing = comp[comp["result"] == "fail"].iloc[0]
    row = data["parcels"]["id"].index(str(failing["parcel_id"]))
    card = {rules[k]: (m, g, codes[c]) for k, m, g, c in data["parcels"]["card"][row]}
    theirs = comp[comp["parcel_id"] == failing["parcel_id"]].set_index("rule_id")
    for rid, (measured, margin, res) in card.items():
        assert res.replace("_", " ") == theirs.loc[rid, "result"]
        assert measured == pytest.approx(theirs.loc[rid, "measured_m"], abs=0.051)
        if margin is not None:
            assert margin == pytest.approx(theirs.loc[rid, "margin_m"], abs=0.051)
    assert card[failing["rule_id"]][2] == "fail"
    # rules with no feature in the study are one quiet line, the others are listed
    quiet = set(data["quiet"].split(", "))
    n = comp.groupby("rule_id")["n_features"].max()
    assert quiet == set(n[n == 0].index)
    assert set(rules) == set(n[n > 0].index)


def test_dots_beyond_the_polygon_budget(result) -> None:
    data = map_data(result, basemap="none", max_polygons=20)
    p = data["parcels"]
    cand = result.candidates
    poly = [i for i, g in enumerate(p["geom"]) if g]
    assert len(poly) == 20 == data["polygons"]
    # the budget goes to the selected sites first, then by rank
    assert set(np.flatnonzero(cand["selected"])) <= set(poly)
    ranks = cand.loc[poly, "rank"].dropna()
    others = cand.drop(index=poly)
    assert ranks.max() < others.loc[others["eligible"], "rank"].min()
    rows = p["dots_scored"]["rows"] + p["dots_excluded"]["rows"]
    assert sorted(rows + poly) == list(range(len(cand)))
    for key in ("dots_scored", "dots_excluded"):
        spec = p[key]
        xy = np.cumsum(np.column_stack([spec["x"], spec["y"]]), axis=0) / COORD_SCALE
        rep = cand.geometry.iloc[spec["rows"]].representative_point().to_crs(4326)
        np.testing.assert_allclose(xy, shapely.get_coordinates(rep.to_numpy()), atol=0.6e-5)
    assert "排名前 20 的地块显示为多边形" in result_map(result, max_polygons=20).get_root().render()


def _in_fuxin(res):
    """The study moved to Fuxin (Liaoning), in degrees: GCJ-02 applies there."""

    def move(gdf):
        out = gdf.to_crs(4326)
        geoms = shapely.transform(out.geometry.to_numpy(), lambda xy: xy + np.array([96.6, -18.0]))
        return out.set_geometry(gpd.GeoSeries(geoms, index=out.index, crs=4326))

    keys = ("candidates", "selected", "hazards", "hazard_zones", "demand", "catchments",
            "facilities")  # fmt: skip
    return dataclasses.replace(res, **{k: move(getattr(res, k)) for k in keys})


def test_amap_basemap_shifts_data_to_gcj02_and_says_so(result) -> None:
    moved = _in_fuxin(result)
    wgs = map_data(moved, basemap="osm")
    gcj = map_data(moved, basemap="amap")
    assert gcj["gcj02"] and not wgs["gcj02"]
    spec_w, spec_g = wgs["demand"]["dots"], gcj["demand"]["dots"]
    xw = np.cumsum(np.column_stack([spec_w["x"], spec_w["y"]]), axis=0) / COORD_SCALE
    xg = np.cumsum(np.column_stack([spec_g["x"], spec_g["y"]]), axis=0) / COORD_SCALE
    # prcoords (an independent implementation) shifts the same WGS84 points
    expect = np.array([prcoords.wgs_gcj((lat, lon))[::-1] for lon, lat in xw])
    np.testing.assert_allclose(xg, expect, atol=1.1e-5)
    assert np.abs(xg - xw).max() > 1e-3  # hundreds of metres: the shift is real
    page = result_map(moved, basemap="amap").get_root().render()
    assert "GCJ-02" in page and "autonavi.com" in page and "tile.openstreetmap" not in page


def test_tianditu_needs_a_key_and_uses_it(result) -> None:
    with pytest.raises(ConfigError, match="Tianditu"):
        map_data(result, basemap="tianditu")
    with pytest.raises(ConfigError, match="Tianditu"):
        map_data(result, basemap="tianditu", tianditu_key="abc'+alert(1)+'0123456789")
    data = map_data(result, basemap="tianditu", tianditu_key="0123456789abcdef0123456789abcdef")
    urls = [tile["url"] for tile in data["tiles"]]
    assert len(urls) == 2 and all("tk=0123456789abcdef0123456789abcdef" in u for u in urls)
    assert "LAYER=vec" in urls[0] and "LAYER=cva" in urls[1]  # Chinese labels
    en = map_data(result, lang="en", basemap="tianditu", tianditu_key="0123456789abcdef")
    assert "LAYER=eva" in en["tiles"][1]["url"]


def test_bad_options(result) -> None:
    with pytest.raises(ConfigError, match="lang"):
        result_map(result, lang="fr")
    with pytest.raises(ConfigError, match="basemap"):
        result_map(result, basemap="google")
    with pytest.raises(ConfigError, match="max_polygons"):
        result_map(result, max_polygons=-1)


def test_leaflet_and_controls_inlined_without_cdn(result) -> None:
    css, js = leaflet_assets()
    assert "L.version" in js or "Leaflet" in js
    assert "url(images/" not in css and "data:image/png;base64" in css
    page = result_map(result, basemap="none").get_root().render()
    assert "cdn.jsdelivr" not in page and "code.jquery" not in page and "bootstrap" not in page
    assert not re.search(r"<script[^>]+src=", page)
    assert not re.search(r"<link[^>]+href=", page)
    assert "tile.openstreetmap.org" not in page and "sitingApp" in page


def test_untrusted_names_escaped_in_the_page(result) -> None:
    page = result_map(result, basemap="none").get_root().render()
    assert EVIL not in page and "\\u003cscript>alert(1)\\u003c/script>" in page
    assert "<b>helsinki</b>" not in page and "&lt;b&gt;helsinki&lt;/b&gt;" in page


def test_template_syntax_in_data_is_not_evaluated(result) -> None:
    cand = result.candidates.copy()
    cand.loc[cand.index[0], "parcel_id"] = "{{ 7 * 191 }}{% if true %}X{% endif %}"
    page = result_map(dataclasses.replace(result, candidates=cand)).get_root().render()
    assert "{{ 7 * 191 }}{% if true %}X{% endif %}" in page and "1337" not in page


def test_languages(result) -> None:
    zh = result_map(result, basemap="none").get_root().render()
    en = result_map(result, lang="en", basemap="none").get_root().render()
    assert "托育设施选址分析" in zh and "排除地块" in zh and "按地块编号查找" in zh
    assert "Infant-care facility siting" in en and "Excluded parcels" in en
    assert "Find a parcel by id" in en


NODE = shutil.which("node")


@pytest.mark.skipif(NODE is None, reason="node not installed")
def test_page_scripts_are_valid_javascript(result, tmp_path: Path) -> None:
    cand = result.candidates.copy()
    cand.loc[cand.index[0], "parcel_id"] = "B`${alert(1)}`"
    cand.loc[cand.index[1], "parcel_id"] = "C:\\users\\x</script>"
    page = result_map(dataclasses.replace(result, candidates=cand)).get_root().render()
    scripts = re.findall(r"<script>(.*?)</script>", page, flags=re.S)
    assert len(scripts) >= 3  # Leaflet, siting's controls, the map
    data = re.findall(r"<script type='application/json'[^>]*>(.*?)</script>", page, flags=re.S)
    assert json.loads(data[0])["parcels"]["id"][:2] == ["B`${alert(1)}`", "C:\\users\\x</script>"]
    path = tmp_path / "map.js"
    path.write_text("\n;\n".join(scripts), encoding="utf-8")
    check = subprocess.run(
        [NODE, "--check", str(path)], capture_output=True, text=True, check=False
    )
    assert check.returncode == 0, check.stderr[-500:]


# --- in the browser ---------------------------------------------------------------------------

needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium not installed (.ci/run installs it)"
)


def _artifact(name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS / name


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        pytest.skip("chromium not installed")
    with Chromium() as c:
        yield c


def _open(browser: Chromium, page: Path) -> None:
    browser.events.clear()
    browser.open(page.as_uri(), ready="window.siting && window.siting.map")


@pytest.mark.slow
@needs_chromium
def test_map_offline_in_chromium_layers_legend_search_measure(result, browser, tmp_path) -> None:
    page = tmp_path / "map.html"
    result_map(result, basemap="none").save(str(page))
    _open(browser, page)
    assert browser.errors() == []
    assert browser.requests() == [page.as_uri()]  # nothing but the page itself
    overlays = browser.evaluate(
        "[...document.querySelectorAll('.leaflet-control-layers-overlays label')]"
        ".map(l => [l.textContent.trim(), l.querySelector('input').checked])"
    )
    assert [o[0] for o in overlays] == [
        "危险源退让范围", "危险源", "婴幼儿需求（估算）", "排除地块", "候选地块（按得分）",
        "步行5分钟服务范围", "推荐新址", "现有托育与公共资源",
    ]  # fmt: skip
    assert [o[1] for o in overlays] == [True, True, False, True, True, True, True, True]
    legend = browser.evaluate("document.querySelector('.siting-legend').innerText")
    assert "得分分级" in legend and "80–100" in legend and "输油输气管道" in legend
    counts = browser.evaluate("window.siting.counts")
    assert counts == {"polygons": len(result.candidates), "dots": 0, "demand": len(result.demand)}
    # canvas pixels: the parcels are drawn
    painted = browser.evaluate(
        "(() => { const c = document.querySelector('canvas.siting-shapes');"
        " const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
        " let n = 0; for (let i = 3; i < d.length; i += 4) { if (d[i]) n++; } return n; })()"
    )
    assert painted > 10_000
    assert browser.evaluate("document.querySelectorAll('.leaflet-control-scale').length") == 1
    assert browser.evaluate("!!document.querySelector('.siting-fullscreen')")
    # search: the top parcel's popup holds its compliance card and score breakdown
    top = result.candidates.sort_values("rank").iloc[0]
    assert browser.evaluate(f"window.siting.find({json.dumps(top['parcel_id'])}).found")
    text = browser.evaluate("document.querySelector('.leaflet-popup-content').innerText")
    assert top["parcel_id"] in text and "PIPE-01" in text and "得分贡献" in text
    assert f"{top['score']:.1f}" in text
    browser.pump(0.4)  # the popup fades in
    browser.screenshot(_artifact("map-zh-popup.png"))
    missing = browser.evaluate("window.siting.find('no-such-parcel')")
    assert missing == {"found": False, "suggestions": []}
    # measure tool: two points and a third, against pyproj's geodesic on the WGS84 ellipsoid
    a, b, c = (60.1650, 24.9300), (60.1700, 24.9450), (60.1600, 24.9500)
    browser.evaluate(
        "(() => { const m = window.siting.measure; m.toggle();"
        f" m.addPoint({list(a)}); m.addPoint({list(b)}); }})()"
    )
    meters = float(
        browser.evaluate("document.querySelector('.siting-measure-panel').dataset.meters")
    )
    geod = pyproj.Geod(ellps="WGS84")
    expect = geod.inv(a[1], a[0], b[1], b[0])[2]
    assert meters == pytest.approx(expect, rel=0.005)
    browser.evaluate(f"window.siting.measure.addPoint({list(c)}), 0")
    panel = browser.evaluate(
        "(() => { const p = document.querySelector('.siting-measure-panel');"
        " return [p.innerText, Number(p.dataset.squareMeters)]; })()"
    )
    area = abs(geod.polygon_area_perimeter([a[1], b[1], c[1]], [a[0], b[0], c[0]])[0])
    assert panel[1] == pytest.approx(area, rel=0.01)
    shown = re.search(r"面积: ([\d.]+) km²", panel[0])
    assert shown and float(shown.group(1)) == pytest.approx(area / 1e6, rel=0.01)
    browser.screenshot(_artifact("map-zh-measure.png"))
    assert browser.errors() == []


@pytest.mark.slow
@needs_chromium
def test_script_names_show_as_text_in_chromium(result, browser, tmp_path) -> None:
    page = tmp_path / "map.html"
    result_map(result, lang="en", basemap="none").save(str(page))
    _open(browser, page)
    assert browser.evaluate(f"window.siting.find({json.dumps(EVIL)}).found")
    popup = browser.evaluate(
        "(() => { const p = document.querySelector('.leaflet-popup-content');"
        " return [p.textContent, p.querySelectorAll('script').length]; })()"
    )
    assert EVIL in popup[0] and popup[1] == 0
    # the POI and the hazard named like a script: their tooltips hold the text
    tips = browser.evaluate(
        "(() => { const out = []; ['facilities', 'hazards'].forEach(k => {"
        " window.siting.layers[k].eachLayer(l => { l.openTooltip();"
        " const t = l.getTooltip().getElement(); out.push([t.textContent,"
        " t.querySelectorAll('script').length]); l.closeTooltip(); }); }); return out; })()"
    )
    assert any(EVIL in text for text, _ in tips)
    assert all(n == 0 for _, n in tips)
    title = browser.evaluate("document.querySelector('.siting-title').textContent")
    assert "<b>helsinki</b>" in title
    assert browser.dialogs() == [] and browser.errors() == []
    browser.pump(0.4)
    browser.screenshot(_artifact("map-en-script-name.png"))


@pytest.mark.slow
@needs_chromium
def test_dots_are_clickable_in_chromium(result, browser, tmp_path) -> None:
    page = tmp_path / "map.html"
    result_map(result, lang="en", basemap="none", max_polygons=10).save(str(page))
    _open(browser, page)
    assert browser.evaluate("window.siting.counts.dots") == len(result.candidates) - 10
    low = result.candidates[result.candidates["eligible"]].sort_values("rank").iloc[-2]
    browser.evaluate(f"window.siting.find({json.dumps(low['parcel_id'])}), 0")
    browser.evaluate("window.siting.map.closePopup(), 0")
    # a real mouse click on the dot opens the same parcel's card
    xy = browser.evaluate(
        "(() => { const p = window.siting.map.latLngToContainerPoint("
        "window.siting.map.getCenter()); const r = window.siting.map.getContainer()"
        ".getBoundingClientRect(); return [p.x + r.left, p.y + r.top]; })()"
    )
    for kind in ("mousePressed", "mouseReleased"):
        browser.send(
            "Input.dispatchMouseEvent",
            {"type": kind, "x": xy[0], "y": xy[1], "button": "left", "clickCount": 1},
        )
    browser.pump(0.3)
    text = browser.evaluate("document.querySelector('.leaflet-popup-content').innerText")
    assert low["parcel_id"] in text and "ranking.csv" in text
    assert browser.errors() == []
    browser.screenshot(_artifact("map-en-dots.png"))


@pytest.mark.slow
@needs_chromium
def test_osm_basemap_requests_tiles_only(result, browser, tmp_path) -> None:
    page = tmp_path / "map.html"
    result_map(result, basemap="osm").save(str(page))
    _open(browser, page)
    browser.pump(1.0)
    requests = browser.requests()
    assert requests[0] == page.as_uri()
    tiles = requests[1:]
    assert tiles and all(
        re.fullmatch(r"https://tile\.openstreetmap\.org/\d+/\d+/\d+\.png", u) for u in tiles
    ), tiles
    base = browser.evaluate(
        "[...document.querySelectorAll('.leaflet-control-layers-base label')]"
        ".map(l => [l.textContent.trim(), l.querySelector('input').checked])"
    )
    assert base == [["OpenStreetMap 底图", True]]
    # with the network cut off the tiles fail, and that is the only kind of error
    assert all("tile.openstreetmap.org" in e or "ERR_" in e for e in browser.errors())


@pytest.mark.slow
def test_large_study_map_stays_within_the_size_budget(tmp_path) -> None:
    """A tiled 6,000-parcel study at the 100,000-parcel settings, scaled: <= 15 MB per 100k."""
    sys.path.insert(0, str(ROOT / "scripts"))
    from make_big_study import big_study

    study = big_study(6_000)
    assert len(study.candidates) == 6_000
    ranks = study.candidates["rank"].dropna().astype(int)
    assert sorted(ranks) == list(range(1, int(study.candidates["eligible"].sum()) + 1))
    page = tmp_path / "map.html"
    result_map(study, basemap="none", max_polygons=600).save(str(page))  # 10 %, as at 100k
    data = map_data(study, basemap="none", max_polygons=600)
    assert data["polygons"] == 600
    p = data["parcels"]
    assert len(p["dots_scored"]["rows"]) + len(p["dots_excluded"]["rows"]) == 6_000 - 600
    from siting._assets import APP_CSS, APP_JS

    fixed = sum(len(x.encode()) for x in (*leaflet_assets(), APP_CSS, APP_JS))
    per_parcel = (page.stat().st_size - fixed) / 6_000  # demand and hazards grow with it
    assert fixed + per_parcel * 100_000 <= 15e6, per_parcel


# --- land use, reused buildings, new residential areas (issue 9) ------------------------------


@pytest.fixture(scope="module")
def lu_result(karhula_layers):
    return land_use_study(karhula_layers)


def test_new_areas_layer_and_land_use_cards_packed(lu_result) -> None:
    data = map_data(lu_result, basemap="none")
    areas = lu_result.new_areas
    packed = data["new_areas"]
    table = labelled_table(areas)
    assert packed["head"] == list(table.columns)
    assert packed["rows"] == table.astype(str).to_numpy().tolist()
    assert packed["flagged"] == areas["flagged"].astype(int).tolist()
    decoded = gpd.GeoSeries([_decode(g) for g in packed["geom"]], crs=4326).to_crs(areas.crs)
    gap = shapely.hausdorff_distance(decoded.to_numpy(), areas.geometry.to_numpy())
    assert gap.max() < 0.5 + 0.8, gap.max()
    # cards: every row of a non-geometric check is on its parcel's card with its text and result
    p, notes, codes = data["parcels"], data["notes"], data["results"]
    comp = lu_result.compliance
    geometric = {r.id for r in lu_result.rulebook.rules if r.is_geometric}
    extra = comp[~comp["rule_id"].isin(geometric)]
    assert set(extra["rule_id"].str.split("-").str[0]) == {"LAND", "SIZE", "BLDG"}
    for pid, rows in extra.groupby("parcel_id"):
        card = p["note"][p["id"].index(pid)]
        got = [(notes[a], notes[b], notes[c], codes[r]) for a, b, c, _m, r in card]
        want = [(str(r.rule_id), str(r.zh), str(r.threshold_zh), r.result.replace(" ", "_"))
                for r in rows.itertuples()]  # fmt: skip
        assert got == want
    assert "check" in {codes[e[4]] for card in p["note"] if card for e in card}
    # land-use role of every coded parcel; reused buildings flagged and described
    cand = lu_result.candidates
    for i, role in enumerate(cand["landuse_role"]):
        if isinstance(role, str):
            assert data["roles"][p["lu"][i]] == landuse.role_label(role)
        else:
            assert p["lu"][i] is None
    reused = (cand["parcel_source"] == "reuse").to_numpy()
    assert ((np.asarray(p["f"]) >> 3 & 1) == reused).all()
    for i in np.flatnonzero(reused):
        assert p["reuse"][i][:2] == [cand["reuse_of"].iloc[i], cand["name"].iloc[i]]
    assert data["reasons"]["LAND-UNKNOWN"].startswith("LAND-UNKNOWN: 地类代码不在对照表中")


@pytest.mark.slow
@needs_chromium
def test_new_areas_reuse_and_land_use_in_chromium(lu_result, browser, tmp_path) -> None:
    page = tmp_path / "map.html"
    result_map(lu_result, basemap="none").save(str(page))
    _open(browser, page)
    assert browser.errors() == []
    assert browser.requests() == [page.as_uri()]
    overlays = browser.evaluate(
        "[...document.querySelectorAll('.leaflet-control-layers-overlays label')]"
        ".map(l => l.textContent.trim())"
    )
    assert overlays == [
        "危险源退让范围", "危险源", "婴幼儿需求（估算）", "排除地块", "候选地块（按得分）",
        "利用既有设施（候选）", "新建居住区", "步行5分钟服务范围", "推荐新址",
        "现有托育与公共资源",
    ]  # fmt: skip
    legend = browser.evaluate("document.querySelector('.siting-legend').innerText")
    assert "周边无托育设施（需配建）" in legend
    # the flagged area (named like a script) is red, and its popup shows the name as text
    areas = lu_result.new_areas
    shown = browser.evaluate(
        "(() => { const out = []; window.siting.layers.new_areas.eachLayer(l => {"
        " l.openPopup(); const p = l.getPopup().getElement()"
        ".querySelector('.leaflet-popup-content');"
        " out.push([l.options.color, p.textContent, p.querySelectorAll('script').length]);"
        " }); return out; })()"
    )
    assert len(shown) == len(areas)
    for (color, text, scripts), row in zip(shown, areas.itertuples(), strict=True):
        assert color == ("#d7191c" if row.flagged else "#2c7bb6")
        assert scripts == 0 and row.name in text and f"{row.required_slots:.0f}" in text
    assert any(EVIL in text for _, text, _ in shown)
    layer = "window.siting.layers.new_areas"
    browser.evaluate(f"{layer}.eachLayer(l => {{ if (l.options.color === '#d7191c') {{"
                     " window.siting.map.fitBounds(l.getBounds(), {animate: false});"
                     " l.openPopup(); } }), 0")  # fmt: skip
    browser.pump(0.4)
    browser.screenshot(_artifact("map-zh-new-area.png"))
    # a parcel whose code is not in the table: role, reason and card row in words
    cand = lu_result.candidates
    unknown = cand.loc[cand["landuse_role"] == "unknown", "parcel_id"].iloc[0]
    assert browser.evaluate(f"window.siting.find({json.dumps(unknown)}).found")
    text = browser.evaluate(LAST_POPUP)
    assert "代码不在对照表中" in text and "LAND-UNKNOWN" in text and "0799" in text
    # the sliver: too narrow, with its width
    assert browser.evaluate("window.siting.find('SLIVER').found")
    text = browser.evaluate(LAST_POPUP)
    width = cand.loc[cand["parcel_id"] == "SLIVER", "width_m"].iloc[0]
    assert "SIZE-WIDTH" in text and "地块过窄" in text and f"{width:.1f} m" in text
    # a reused building: marked, outlined, with the JGJ 39 3.2.2 rows to check
    reused = cand.loc[cand["parcel_source"] == "reuse", "parcel_id"].iloc[0]
    assert browser.evaluate(f"window.siting.find({json.dumps(reused)}).found")
    text = browser.evaluate(LAST_POPUP)
    assert "利用既有设施" in text and "BLDG-05" in text and "需核实" in text
    assert "有独立的楼梯和出入口" in text
    n_outlined = browser.evaluate("window.siting.layers.reuse.getLayers().length")
    assert n_outlined == int((cand["parcel_source"] == "reuse").sum())
    browser.pump(0.4)
    browser.screenshot(_artifact("map-zh-reuse.png"))
    assert browser.dialogs() == [] and browser.errors() == []
