"""Batch: one folder per area, every parcel in exactly one area, an index page linking maps."""

from __future__ import annotations

import sys
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
import shapely

from siting import ConfigError
from siting.batch import INDEX_COLUMNS, area_folder_names, run_batch
from siting.crs import metric_crs
from siting.outputs import CONTRACT_FILES
from siting.parcels import parcels_from_blocks

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.browser import CHROMIUM, Chromium  # noqa: E402

ARTIFACTS = ROOT / "out" / "test-artifacts"
WEST = "<script>alert(1)</script>西区"


@pytest.fixture(scope="module")
def areas(helsinki_layers) -> gpd.GeoDataFrame:
    """The Helsinki extract cut in two halves at its middle longitude, plus an empty area."""
    left, bottom, right, top = helsinki_layers["landuse"].total_bounds
    mid = (left + right) / 2
    return gpd.GeoDataFrame(
        {"name": [WEST, "东区", "far away"]},
        geometry=[shapely.box(left - 0.01, bottom - 0.01, mid, top + 0.01),
                  shapely.box(mid, bottom - 0.01, right + 0.01, top + 0.01),
                  shapely.box(10.0, 50.0, 10.01, 50.01)],
        crs=helsinki_layers["landuse"].crs,
    )  # fmt: skip


@pytest.fixture(scope="module")
def batch(helsinki_layers, areas, tmp_path_factory):
    out = tmp_path_factory.mktemp("batch")
    table = run_batch(areas, "name", helsinki_layers, out_dir=out, k=1, basemap="none")
    return out, table


def test_one_folder_per_area_and_failures_listed(batch) -> None:
    out, table = batch
    assert list(table.columns) == list(INDEX_COLUMNS)
    assert table["folder"].tolist() == ["script_alert(1)_script_西区", "东区", "far_away"]
    assert table["status"].tolist()[:2] == ["ok", "ok"]
    assert table["status"].iloc[2].startswith("failed: no street of the extract inside")
    for folder in table["folder"].iloc[:2]:
        assert sorted(p.name for p in (out / folder).iterdir()) == sorted(CONTRACT_FILES)
    assert not (out / "far_away").exists()
    saved = pd.read_csv(out / "index.csv", encoding="utf-8-sig")
    assert saved["area"].tolist() == [WEST, "东区", "far away"]


def test_every_parcel_in_exactly_one_area(batch, helsinki_layers, areas) -> None:
    out, table = batch
    # independent: street blocks of the whole extract, assigned by representative point
    crs = metric_crs(helsinki_layers["walk_edges"])
    blocks = parcels_from_blocks(
        helsinki_layers["landuse"].to_crs(crs), helsinki_layers["roads"].to_crs(crs)
    )
    reps = blocks.geometry.representative_point()
    for k, folder in enumerate(table["folder"].iloc[:2]):
        cand = pyogrio.read_dataframe(out / folder / "results.gpkg", layer="candidates")
        shape = areas.geometry.iloc[[k]].to_crs(cand.crs).union_all()
        assert cand.geometry.representative_point().within(shape).all()
        expect = blocks[reps.within(areas.geometry.iloc[[k]].to_crs(crs).union_all())]
        assert len(cand) == len(expect)
        assert sorted(cand.area.round(1)) == sorted(expect.area.round(1))
        assert table.loc[k, "candidates"] == len(cand)


def test_index_links_maps_and_escapes_names(batch) -> None:
    out, _ = batch
    page = (out / "index.html").read_text(encoding="utf-8")
    assert "<script" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;西区" in page
    assert "href='%E4%B8%9C%E5%8C%BA/map.html'" in page  # 东区, percent-encoded
    assert "failed: no street of the extract" in page


def test_bad_arguments(helsinki_layers, areas, tmp_path) -> None:
    with pytest.raises(ConfigError, match="no column 'district'"):
        run_batch(areas, "district", helsinki_layers, out_dir=tmp_path)
    with pytest.raises(ConfigError, match="empty"):
        run_batch(areas.iloc[:0], "name", helsinki_layers, out_dir=tmp_path)
    with pytest.raises(ConfigError, match="Tianditu"):
        run_batch(areas, "name", helsinki_layers, out_dir=tmp_path, basemap="tianditu")
    assert area_folder_names(pd.Series(["a", "A", "a:b"])) == ["a", "A-2", "a_b"]


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (.ci/run installs it)")
def test_index_and_linked_map_offline_in_chromium(batch) -> None:
    out, _ = batch
    index = out / "index.html"
    with Chromium(width=1100, height=500) as browser:
        browser.open(index.as_uri())
        assert browser.requests() == [index.as_uri()] and browser.errors() == []
        links = browser.evaluate("[...document.querySelectorAll('#areas a')].map(a => a.href)")
        assert len(links) == 4 and links[0].endswith("/map.html")
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        browser.screenshot(ARTIFACTS / "batch-index.png")
        browser.events.clear()
        browser.evaluate("document.querySelector('#areas a').click(), 0")
        browser.pump(0.5)
        browser.open(links[0], ready="window.siting && window.siting.map")
        title = browser.evaluate("document.querySelector('.siting-title').textContent")
        assert WEST in title
        assert browser.errors() == [] and browser.dialogs() == []
