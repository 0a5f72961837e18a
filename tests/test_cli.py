"""End-to-end: the CLI on the real-OSM demo, checked independently of the pipeline's code."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from pyrosm import OSM

from siting.cli import main
from siting.outputs import CONTRACT_FILES

UTM35N = "EPSG:32635"  # both demo extracts lie in southern Finland, 24-30 E


@pytest.fixture(scope="module")
def demo_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo")
    assert main(["demo", "--out", str(out), "-q", "--basemap", "none"]) == 0
    return out


def _raw_hazards(pbf: Path) -> tuple[gpd.GeoSeries, gpd.GeoSeries]:
    """Fuel stations and power lines straight from the PBF with pyrosm, in UTM 35N."""
    osm = OSM(str(pbf))
    fuel = osm.get_pois(custom_filter={"amenity": ["fuel"]})
    power = osm.get_data_by_custom_criteria(
        custom_filter={"power": ["line", "minor_line"]}, filter_type="keep", keep_nodes=False
    )
    empty = gpd.GeoSeries([], crs="EPSG:4326")
    fuel_g = fuel.geometry.set_crs(4326, allow_override=True) if fuel is not None else empty
    power_g = power.geometry.set_crs(4326, allow_override=True) if power is not None else empty
    return fuel_g.to_crs(UTM35N), power_g.to_crs(UTM35N)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("area", "dataset"), [("karhula", "karhula_pbf"), ("helsinki", "helsinki_pbf")]
)
def test_demo_outputs_respect_setbacks(demo_out: Path, area: str, dataset: str, request) -> None:
    pbf = request.getfixturevalue(dataset)
    cand = gpd.read_file(demo_out / area / "results.gpkg", layer="candidates").to_crs(UTM35N)
    fuel, power = _raw_hazards(pbf)
    eligible = cand[cand["eligible"].astype(bool)]
    assert len(eligible) > 0
    if len(fuel):
        d_fuel = np.array([fuel.distance(g).min() for g in eligible.geometry])
        assert (d_fuel >= 50.0 - 1e-6).all(), d_fuel.min()
    if len(power):
        crossed = np.array([power.intersects(g).any() for g in eligible.geometry])
        assert not crossed.any()
    # The demo exercises the rules: excluded parcels exist and each names its rule.
    excluded = cand[~cand["eligible"].astype(bool)]
    assert len(excluded) > 0
    assert excluded["excluded_by"].str.len().gt(0).all()


@pytest.mark.slow
def test_karhula_fuel_exclusion_matches_shapely(demo_out: Path, karhula_pbf: Path) -> None:
    cand = gpd.read_file(demo_out / "karhula" / "results.gpkg", layer="candidates").to_crs(UTM35N)
    fuel, _ = _raw_hazards(karhula_pbf)
    near = np.array([fuel.distance(g).min() < 50.0 for g in cand.geometry])
    has_gas10 = cand["excluded_by"].fillna("").str.split(";").map(lambda ids: "GAS-10" in ids)
    assert near.any(), "the demo should show a parcel excluded by a fuel station"
    np.testing.assert_array_equal(near, has_gas10.to_numpy())


@pytest.mark.slow
def test_helsinki_pipeline_exclusion(demo_out: Path, helsinki_pbf: Path) -> None:
    cand = gpd.read_file(demo_out / "helsinki" / "results.gpkg", layer="candidates")
    pipes = OSM(str(helsinki_pbf)).get_data_by_custom_criteria(
        custom_filter={"man_made": ["pipeline"]}, filter_type="keep", keep_nodes=False
    )
    tags = pipes["tags"].map(lambda s: json.loads(s) if isinstance(s, str) else {})
    gas = pipes[tags.map(lambda t: t.get("substance") == "gas").to_numpy()]
    gas = gas.geometry.set_crs(4326, allow_override=True).to_crs(cand.crs)
    assert len(gas) >= 1
    near = np.array([gas.distance(g).min() < 5.0 for g in cand.geometry])
    assert near.any()
    assert not cand.loc[near, "eligible"].astype(bool).any()


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.external: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        for key, value in attrs:
            if key in ("src",) and value and value.startswith(("http:", "https:", "//")):
                self.external.append(value)
            if tag == "link" and key == "href" and value and value.startswith(("http", "//")):
                self.external.append(value)


@pytest.mark.slow
@pytest.mark.parametrize("area", ["karhula", "helsinki"])
def test_contract_files_readable_and_consistent(demo_out: Path, area: str) -> None:
    folder = demo_out / area
    for name in CONTRACT_FILES:
        assert (folder / name).is_file(), name
    assert not list(folder.glob(".siting-*")), "staging folder left behind"
    layers = {row[0] for row in pyogrio.list_layers(folder / "results.gpkg")}
    assert {"candidates", "selected", "hazard_zones", "catchments"} <= layers
    cand = gpd.read_file(folder / "results.gpkg", layer="candidates")
    for col in ("parcel_id", "eligible", "excluded_by", "score", "rank", "capacity_slots"):
        assert col in cand.columns
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    counts = summary["counts"]
    assert counts["candidates"] == len(cand)
    assert counts["eligible"] == int(cand["eligible"].astype(bool).sum())
    assert counts["excluded"] == int((~cand["eligible"].astype(bool)).sum())
    split = cand["excluded_by"].fillna("").str.split(";")
    for rule_id, n in summary["excluded_by_rule"].items():
        assert n == int(split.map(lambda ids, r=rule_id: r in ids).sum()), rule_id
    selected = gpd.read_file(folder / "results.gpkg", layer="selected")
    assert counts["selected"] == len(selected) == int(cand["selected"].astype(bool).sum())
    assert selected["eligible"].astype(bool).all()
    ranking = pd.read_csv(folder / "ranking.csv", encoding="utf-8-sig")
    assert len(ranking) == counts["eligible"]
    assert ranking["rank"].tolist() == list(range(1, len(ranking) + 1))
    assert ranking["lon"].between(20, 32).all() and ranking["lat"].between(59, 61).all()
    for page in ("map.html", "report.html"):
        parser = _Collect()
        parser.feed((folder / page).read_text(encoding="utf-8"))
        assert "html" in parser.tags
        assert parser.external == [], parser.external
    assert summary["rulebook"]["id"] == "fuxin-2020"
    assert set(summary["seconds"]) >= {"constraints", "demand", "access", "scoring"}


@pytest.mark.slow
@pytest.mark.parametrize("dataset", ["karhula_pbf", "helsinki_pbf"])
def test_run_osm_on_both_extracts(tmp_path: Path, dataset: str, request) -> None:
    pbf = request.getfixturevalue(dataset)
    out = tmp_path / "out"
    assert main(["run", "--osm", str(pbf), "--out", str(out), "-q", "--lang", "en"]) == 0
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["counts"]["candidates"] > 0
    assert "Infant-care" in (out / "map.html").read_text(encoding="utf-8")


def test_run_with_parcel_file(tmp_path: Path, karhula_pbf: Path) -> None:
    parcels = gpd.GeoDataFrame(
        {"code": ["near_fuel", "far"]},
        geometry=[shapely.box(0, 0, 60, 60), shapely.box(0, 0, 60, 60)],
        crs=UTM35N,
    )
    fuel, _ = _raw_hazards(karhula_pbf)
    x, y = fuel.iloc[0].x, fuel.iloc[0].y
    parcels.loc[0, "geometry"] = shapely.box(x + 10, y + 10, x + 70, y + 70)
    parcels.loc[1, "geometry"] = shapely.box(x + 900, y + 900, x + 960, y + 960)
    path = tmp_path / "parcels.gpkg"
    parcels.to_file(path)
    out = tmp_path / "out"
    code = main(
        [
            "run",
            "--osm",
            str(karhula_pbf),
            "--parcels",
            str(path),
            "--parcel-id",
            "code",
            "--out",
            str(out),
            "-q",
            "-k",
            "1",
        ]
    )
    assert code == 0
    cand = gpd.read_file(out / "results.gpkg", layer="candidates").set_index("parcel_id")
    assert "GAS-10" in cand.loc["near_fuel", "excluded_by"]
    assert not bool(cand.loc["near_fuel", "eligible"])


# --- bad input: one clear line, non-zero exit, no output that looks complete -------------


def _assert_clean_failure(
    capsys: pytest.CaptureFixture[str], code: int, out: Path, *words: str
) -> None:
    err = capsys.readouterr().err.strip()
    assert code != 0
    assert err.startswith("siting: error:"), err
    assert len(err.splitlines()) == 1, err
    assert "Traceback" not in err
    for w in words:
        assert w in err, (w, err)
    assert not (out / "summary.json").exists()
    assert not (out / "map.html").exists()


def test_missing_osm_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    code = main(["run", "--osm", str(tmp_path / "nope.osm.pbf"), "--out", str(out)])
    _assert_clean_failure(capsys, code, out, "not found")


def test_not_osm_data(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fake = tmp_path / "fake.osm.pbf"
    fake.write_text("id,name\n1,not osm\n")
    out = tmp_path / "out"
    code = main(["run", "--osm", str(fake), "--out", str(out)])
    _assert_clean_failure(capsys, code, out, "not an OSM PBF")


@pytest.mark.parametrize(
    ("method", "word"), [("get_buildings", "no buildings"), ("get_network", "no walkable streets")]
)
def test_extract_without_roads_or_buildings(
    tmp_path: Path,
    karhula_pbf: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    method: str,
    word: str,
) -> None:
    import pyrosm

    monkeypatch.setattr(pyrosm.OSM, method, lambda *_a, **_k: None)
    out = tmp_path / "out"
    code = main(["run", "--osm", str(karhula_pbf), "--out", str(out), "-q"])
    _assert_clean_failure(capsys, code, out, word)


def test_unwritable_output(
    tmp_path: Path, karhula_pbf: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    out = blocker / "sub"
    code = main(["run", "--osm", str(karhula_pbf), "--out", str(out), "-q"])
    _assert_clean_failure(capsys, code, out, "cannot write to output folder")


def test_failed_write_leaves_no_partial_output(
    tmp_path: Path,
    karhula_pbf: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import siting.report

    def boom(*_a: object, **_k: object) -> str:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(siting.report, "report_html", boom)
    out = tmp_path / "out"
    code = main(["run", "--osm", str(karhula_pbf), "--out", str(out), "-q"])
    _assert_clean_failure(capsys, code, out, "No space left")
    assert list(out.iterdir()) == []


def test_bad_rules_file(
    tmp_path: Path, karhula_pbf: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text('[[rules]]\nid = "X-1"\nhazard_class = "volcano"\ndist_m = 5\n')
    out = tmp_path / "out"
    code = main(["run", "--osm", str(karhula_pbf), "--out", str(out), "--rules", str(rules)])
    _assert_clean_failure(capsys, code, out, "volcano")


def test_rules_command_prints_sources(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "--lang", "en"]) == 0
    text = capsys.readouterr().out
    for rid in ("GAS-10", "PIPE-01", "PWR-09", "SITE-01"):
        assert rid in text
    assert "JGJ 39-2016" in text and "50 m" in text


def test_console_script_exit_code(tmp_path: Path) -> None:
    exe = shutil.which("siting", path=str(Path(sys.executable).parent))
    assert exe, "console script not installed"
    proc = subprocess.run(
        [exe, "run", "--osm", str(tmp_path / "x.pbf"), "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr


def test_run_with_population_raster_and_census(
    tmp_path: Path, karhula_pbf: Path, karhula_layers
) -> None:
    import rasterio
    from rasterio.transform import from_origin

    left, bottom, right, top = karhula_layers["walk_edges"].to_crs(UTM35N).total_bounds
    cell = 100.0
    cols, rows = int((right - left) // cell) + 3, int((top - bottom) // cell) + 3
    x0, y0 = left - cell, top + cell
    values = np.full((rows, cols), 5.0, dtype="float32")
    raster = tmp_path / "pop.tif"
    with rasterio.open(
        raster, "w", driver="GTiff", height=rows, width=cols, count=1, dtype="float32",
        crs=UTM35N, transform=from_origin(x0, y0, cell, cell), nodata=-1,
    ) as dst:  # fmt: skip
        dst.write(values, 1)
    mid = x0 + cell * (cols // 2)
    districts = gpd.GeoDataFrame(
        {"区名": ["西区", "东区"]},
        geometry=[shapely.box(x0, y0 - rows * cell, mid, y0),
                  shapely.box(mid, y0 - rows * cell, x0 + cols * cell, y0)],
        crs=UTM35N,
    )  # fmt: skip
    districts.to_file(tmp_path / "districts.gpkg")
    (tmp_path / "census.csv").write_text("name,pop\n西区,12000\n东区,8000\n", encoding="utf-8-sig")
    out = tmp_path / "out"
    code = main([
        "run", "--osm", str(karhula_pbf), "--out", str(out), "-q",
        "--population", str(raster), "--districts", str(tmp_path / "districts.gpkg"),
        "--district-col", "区名", "--census", str(tmp_path / "census.csv"),
        "--census-pop-col", "pop", "--cbr", "5",
    ])  # fmt: skip
    assert code == 0
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    demand = summary["demand"]
    assert demand["residents_estimate"] == pytest.approx(20000.0, abs=0.5)
    assert demand["under3_share"] == pytest.approx(0.015)
    assert demand["under3_estimate"] == pytest.approx(300.0, abs=0.1)
    assert "raster" in demand["method"]
    assert {r["census"] for r in demand["census_calibration"]} == {12000.0, 8000.0}
    homes = gpd.read_file(out / "results.gpkg", layer="demand")
    assert homes["residents"].sum() == pytest.approx(20000.0, rel=1e-6)


def test_census_names_not_matching(
    tmp_path: Path, karhula_pbf: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    districts = gpd.GeoDataFrame(
        {"name": ["A"]}, geometry=[shapely.box(0, 0, 1e6, 8e6)], crs=UTM35N
    )
    districts.to_file(tmp_path / "d.gpkg")
    (tmp_path / "c.csv").write_text("name,population\nB,100\n", encoding="utf-8")
    out = tmp_path / "out"
    code = main(
        [
            "run",
            "--osm",
            str(karhula_pbf),
            "--out",
            str(out),
            "-q",
            "--districts",
            str(tmp_path / "d.gpkg"),
            "--census",
            str(tmp_path / "c.csv"),
        ]
    )
    _assert_clean_failure(capsys, code, out, "B")


def test_parcels_far_from_the_extract(
    tmp_path: Path, karhula_pbf: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    beijing = gpd.GeoDataFrame(
        {"parcel_id": ["BJ1"]}, geometry=[shapely.box(116.39, 39.90, 116.40, 39.91)], crs=4326
    )
    beijing.to_file(tmp_path / "bj.gpkg")
    out = tmp_path / "out"
    code = main(["run", "--osm", str(karhula_pbf), "--parcels", str(tmp_path / "bj.gpkg"),
                 "--out", str(out), "-q"])  # fmt: skip
    _assert_clean_failure(capsys, code, out, "bounding box")


def test_run_batch_over_areas(tmp_path: Path, karhula_pbf: Path, capsys) -> None:
    """--areas: one study per polygon (the Karhula extract cut in two), and an index page."""
    from shapely.geometry import box

    from siting.sources import layers_from_osm

    x0, y0, x1, y1 = layers_from_osm(karhula_pbf)["walk_edges"].total_bounds
    mid = (x0 + x1) / 2
    areas = gpd.GeoDataFrame(
        {"名称": ["西区", "东区"]}, geometry=[box(x0, y0, mid, y1), box(mid, y0, x1, y1)], crs=4326
    )
    areas.to_file(tmp_path / "areas.gpkg")
    out = tmp_path / "out"
    code = main(
        ["run", "--osm", str(karhula_pbf), "--areas", str(tmp_path / "areas.gpkg"),
         "--area-name", "名称", "--out", str(out), "-q", "--basemap", "none", "-k", "1"]
    )  # fmt: skip
    printed = capsys.readouterr().out
    assert code == 0, printed
    index = (out / "index.html").read_text(encoding="utf-8")
    for name in ("西区", "东区"):
        assert name in index
        assert f"[{name}] ok" in printed
    maps = sorted(out.glob("*/map.html"))
    assert len(maps) == 2
    assert all((m.parent / "summary.json").is_file() for m in maps)


def test_tianditu_basemap_needs_a_key(tmp_path: Path, karhula_pbf: Path, capsys, monkeypatch):
    monkeypatch.delenv("TIANDITU_KEY", raising=False)
    out = tmp_path / "out"
    code = main(
        ["run", "--osm", str(karhula_pbf), "--out", str(out), "-q", "--basemap", "tianditu"]
    )
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "tianditu" in err[0].lower()
    assert not (out / "summary.json").exists()


def test_more_sites_than_eligible_parcels_is_one_clear_error(
    tmp_path: Path, karhula_pbf: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    code = main(["run", "--osm", str(karhula_pbf), "--out", str(out), "-q", "-k", "500"])
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "k = 500 new sites asked for, but only" in err[0] and "choose k <=" in err[0]
    assert not (out / "summary.json").exists()
