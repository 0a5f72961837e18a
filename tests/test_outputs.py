"""outputs: contract files, atomic rewrite, ranking table, output-folder checks, and the
``new_areas`` layer of a study with land-use codes, reused buildings and new residential areas
(:func:`land_use_study`, also used by test_maps, test_report and test_styles)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from siting import ConfigError, OutputError, StudyResult, landuse, run_study
from siting.crs import metric_crs
from siting.newareas import new_area_demand
from siting.outputs import check_out_dir, ranking_table, write_outputs
from siting.parcels import parcels_from_blocks

EVIL = "<script>alert(1)</script>"
#: Survey codes (GB/T 21010-2017 / 三调) given to Karhula's street blocks in turn; 0799 is
#: not in the code table.
CODES = [
    ("0701", "城镇住宅用地"), ("1201", "空闲地"), ("08H1", "机关团体新闻出版用地"),
    ("0702", "农村宅基地"), ("05H1", "商业服务业设施用地"), ("0601", "工业用地"),
    ("0701", "城镇住宅用地"), ("1101", "河流水面"), ("0799", "自定义地类"),
]  # fmt: skip


def land_use_study(layers: dict[str, gpd.GeoDataFrame]) -> StudyResult:
    """Karhula with issue 9's inputs, as a natural-resources bureau would run it.

    Its street blocks carry survey codes (one not in the table) plus a 4 m wide sliver; the
    existing facilities are reuse candidates; two residential areas are planned: the one
    farthest from existing childcare (named like a script: 3,000 residents) and the nearest
    (800 residents).
    """
    crs = metric_crs(layers["walk_edges"])
    blocks = parcels_from_blocks(layers["landuse"].to_crs(crs), layers["roads"].to_crs(crs))
    x0, y0 = blocks.geometry.iloc[0].representative_point().coords[0]
    geoms = [*blocks.geometry, shapely.box(x0, y0, x0 + 4, y0 + 150)]
    codes = [CODES[i % len(CODES)] for i in range(len(blocks))] + [CODES[0]]
    parcels = gpd.GeoDataFrame(
        {"parcel_id": [*blocks["parcel_id"], "SLIVER"], "DLBM": [c for c, _ in codes],
         "DLMC": [m for _, m in codes]},
        geometry=geoms, crs=crs,
    )  # fmt: skip
    with pytest.warns(UserWarning, match="0799"):
        coded = landuse.classify_parcels(parcels, code="DLBM", code_name="DLMC", scheme="gbt21010")
    land = layers["landuse"].to_crs(crs)
    homes = land[land["landuse"] == "residential"]
    amen = layers["amenities"].to_crs(crs)
    kids = amen[amen["amenity"].isin(["childcare", "kindergarten"])].geometry.union_all()
    dist = homes.distance(kids)
    areas = gpd.GeoDataFrame(
        {"名称": [EVIL, "新区二"], "规划人口": [3000, 800]},
        geometry=[homes.geometry[dist.idxmax()], homes.geometry[dist.idxmin()]], crs=crs,
    )  # fmt: skip
    need = new_area_demand(areas, population="规划人口", name_column="名称")
    return run_study(
        layers, parcels_gdf=coded, k=1, reuse_facilities=True, new_residential=need,
        study_name="karhula-landuse",
    )  # fmt: skip


@pytest.fixture(scope="module")
def result(karhula_layers):
    return run_study(karhula_layers, k=2, study_name="karhula")


@pytest.fixture(scope="module")
def lu_result(karhula_layers) -> StudyResult:
    return land_use_study(karhula_layers)


def test_ranking_table_sorted_with_lonlat(result) -> None:
    table = ranking_table(result)
    assert table["rank"].is_monotonic_increasing
    assert table["lon"].between(26, 28).all() and table["lat"].between(60, 61).all()
    assert not table.isin([float("inf")]).any().any()


def test_rewrite_replaces_previous_run(result, tmp_path: Path) -> None:
    write_outputs(result, tmp_path, basemap="none")
    first = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))
    write_outputs(result, tmp_path, lang="en", basemap="none")
    second = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))
    assert first["counts"] == second["counts"]
    assert "Infant-care" in (tmp_path / "map.html").read_text(encoding="utf-8")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["map.html", "ranking.csv", "report.html", "results.gpkg", "summary.json"]
    )


def test_check_out_dir_errors(tmp_path: Path) -> None:
    blocker = tmp_path / "f"
    blocker.write_text("x")
    with pytest.raises(OutputError, match="cannot write"):
        check_out_dir(blocker / "out")
    assert isinstance(OutputError("x"), OSError)


def test_map_options_checked_before_anything_is_written(result, tmp_path: Path) -> None:
    out = tmp_path / "run"
    with pytest.raises(ConfigError, match="Tianditu"):
        write_outputs(result, out, basemap="tianditu")
    assert not out.exists()  # not even the folder


def test_results_gpkg_carries_qgis_styles(result, tmp_path: Path) -> None:
    import pyogrio

    write_outputs(result, tmp_path, basemap="none")
    layers = [name for name, _ in pyogrio.list_layers(tmp_path / "results.gpkg")]
    assert "layer_styles" in layers and "candidates" in layers


def test_no_new_areas_layer_without_new_areas(result, tmp_path: Path) -> None:
    import pyogrio

    assert result.new_areas is None
    write_outputs(result, tmp_path, basemap="none")
    assert "new_areas" not in [n for n, _ in pyogrio.list_layers(tmp_path / "results.gpkg")]


def test_new_areas_layer_round_trips(lu_result, tmp_path: Path) -> None:
    import pyogrio

    areas = lu_result.new_areas
    assert areas is not None and areas["flagged"].any() and not areas["flagged"].all()
    write_outputs(lu_result, tmp_path, basemap="none")
    gpkg = tmp_path / "results.gpkg"
    back = gpd.read_file(gpkg, layer="new_areas")
    assert [c for c in back.columns if c != "geometry"] == [
        c for c in areas.columns if c != "geometry"
    ]
    assert back.crs == areas.crs
    for col in areas.columns:
        if col == "geometry":
            assert shapely.equals_exact(back.geometry.to_numpy(), areas.geometry.to_numpy(),
                                        tolerance=1e-6).all()  # fmt: skip
        elif pd.api.types.is_numeric_dtype(areas[col]) and areas[col].dtype != bool:
            np.testing.assert_allclose(back[col].to_numpy(float), areas[col].to_numpy(float))
        else:
            assert back[col].tolist() == areas[col].tolist(), col
    assert EVIL in back["name"].tolist()  # stored as the text it is
    # QGIS opens it red where flagged
    styles = pyogrio.read_dataframe(gpkg, layer="layer_styles").set_index("f_table_name")
    qml = styles.loc["new_areas", "styleQML"]
    root = ET.fromstring(qml.split("'SYSTEM'>", 1)[1])
    color = {
        sym.get("name"): sym.find("layer/Option/Option[@name='color']").get("value")
        for sym in root.findall("renderer-v2/symbols/symbol")
    }
    by_filter = {
        r.get("filter"): color[r.get("symbol")] for r in root.findall("renderer-v2/rules/rule")
    }
    assert by_filter['"flagged" = 1'].startswith("215,25,28,")  # #d7191c
    assert by_filter['"flagged" = 0'].startswith("44,123,182,")
    summary = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))
    assert summary["new_residential"]["flagged"] == int(areas["flagged"].sum())
