"""map.html: offline assets, escaping, languages, and a real render in headless Chromium."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from siting import ConfigError, run_study
from siting.maps import leaflet_assets, result_map


@pytest.fixture(scope="module")
def result(helsinki_layers):
    layers = {k: v.copy() for k, v in helsinki_layers.items()}
    layers["amenities"].loc[0, "name"] = '<script>alert("x")</script>'
    return run_study(layers, k=2, study_name="<b>helsinki</b>")


def test_leaflet_inlined_without_cdn(result) -> None:
    css, js = leaflet_assets()
    assert "L.version" in js or "Leaflet" in js
    assert "url(images/" not in css and "data:image/png;base64" in css
    page = result_map(result, basemap="none").get_root().render()
    assert "cdn.jsdelivr" not in page and "code.jquery" not in page
    assert "<script src=" not in page
    assert "tile.openstreetmap.org" not in page


def test_osm_basemap_requests_tiles_only(result) -> None:
    page = result_map(result, basemap="osm").get_root().render()
    assert "tile.openstreetmap.org" in page
    assert "<script src=" not in page and '<link rel="stylesheet" href="http' not in page


def test_untrusted_names_escaped(result) -> None:
    page = result_map(result, basemap="none").get_root().render()
    assert '<script>alert("x")</script>' not in page
    assert "&lt;script&gt;" in page
    assert "<b>helsinki</b>" not in page


def test_languages(result) -> None:
    zh = result_map(result, basemap="none").get_root().render()
    en = result_map(result, lang="en", basemap="none").get_root().render()
    assert "托育设施选址分析" in zh and "排除地块" in zh
    assert "Infant-care facility siting" in en and "Excluded parcels" in en


def test_bad_options(result) -> None:
    with pytest.raises(ConfigError, match="lang"):
        result_map(result, lang="fr")
    with pytest.raises(ConfigError, match="basemap"):
        result_map(result, basemap="google")


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (.ci/run installs it)")
def test_map_renders_in_chromium_without_console_errors(result, tmp_path: Path) -> None:
    page = tmp_path / "map.html"
    result_map(result, basemap="none").save(str(page))
    profile = tmp_path / "profile"
    base = [CHROMIUM, *_FLAGS, f"--user-data-dir={profile}", "--virtual-time-budget=4000"]
    dom = subprocess.run(
        [*base, "--enable-logging=stderr", "--v=0", "--dump-dom", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    console = [line for line in dom.stderr.splitlines() if "CONSOLE" in line]
    assert not [c for c in console if "Uncaught" in c or "Error" in c], console
    # Leaflet built the map: panes, vector paths for parcels and the layer control exist.
    assert "leaflet-map-pane" in dom.stdout
    assert dom.stdout.count("<path") > 20
    assert "leaflet-control-layers" in dom.stdout
    shot = tmp_path / "map.png"
    subprocess.run(
        [*base, "--window-size=1200,800", f"--screenshot={shot}", page.as_uri()],
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert shot.is_file() and shot.stat().st_size > 10_000


NODE = shutil.which("node")


@pytest.mark.skipif(NODE is None, reason="node not installed")
def test_backticks_dollars_backslashes_keep_the_script_valid(result, tmp_path: Path) -> None:
    import dataclasses
    import re

    cand = result.candidates.copy()
    cand.loc[cand.index[0], "parcel_id"] = "B`${alert(1)}`"
    cand.loc[cand.index[1], "parcel_id"] = "C:\\users\\x"
    evil = dataclasses.replace(result, candidates=cand)
    page = result_map(evil, basemap="none").get_root().render()
    assert "${alert(1)}" not in page
    scripts = re.findall(r"<script>(.*?)</script>", page, flags=re.S)
    assert scripts
    path = tmp_path / "map.js"
    path.write_text("\n;\n".join(scripts[1:]), encoding="utf-8")  # [0] is Leaflet itself
    check = subprocess.run(
        [NODE, "--check", str(path)], capture_output=True, text=True, check=False
    )
    assert check.returncode == 0, check.stderr[-500:]
