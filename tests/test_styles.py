"""QGIS styles in results.gpkg: the layer_styles table as QGIS reads it, QML that parses, refers
to real fields, and classifies every parcel exactly once as the map does."""

from __future__ import annotations

import re
import sqlite3
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio
import pytest
from test_outputs import land_use_study  # Karhula with land-use codes, reuse and new areas

from siting import OutputError
from siting.maps import SCORE_COLORS, score_class
from siting.outputs import write_outputs
from siting.styles import LAYER_STYLES_COLUMNS, NEW_AREA_COLORS, STYLED_LAYERS, write_layer_styles


@pytest.fixture(scope="module")
def gpkg(karhula_layers, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("styled")
    result = land_use_study(karhula_layers)  # every styled layer, new_areas included
    return write_outputs(result, out, basemap="none")["results.gpkg"]


def _styles(gpkg: Path) -> pd.DataFrame:
    return pyogrio.read_dataframe(gpkg, layer="layer_styles")


def test_layer_styles_table_has_qgis_schema(gpkg: Path) -> None:
    con = sqlite3.connect(gpkg)
    cols = [r[1] for r in con.execute("PRAGMA table_info(layer_styles)")]
    assert cols == ["id", *LAYER_STYLES_COLUMNS]
    pk = [r[1] for r in con.execute("PRAGMA table_info(layer_styles)") if r[5]]
    assert pk == ["id"]
    kind = con.execute(
        "SELECT data_type FROM gpkg_contents WHERE table_name = 'layer_styles'"
    ).fetchone()
    assert kind == ("attributes",)
    geom = dict(con.execute("SELECT table_name, column_name FROM gpkg_geometry_columns"))
    con.close()
    styles = _styles(gpkg)
    # GDAL (as QGIS does) reads the table; one default style per spatial layer
    assert sorted(styles["f_table_name"]) == sorted(STYLED_LAYERS)
    assert styles["useAsDefault"].all()
    assert (styles["f_table_schema"] == "").all() and (styles["f_table_catalog"] == "").all()
    for row in styles.itertuples():
        assert row.f_geometry_column == geom[row.f_table_name]


def _fields(expr: str) -> set[str]:
    return set(re.findall(r'"([^"]+)"', expr))


def test_qml_parses_and_names_real_fields(gpkg: Path) -> None:
    for row in _styles(gpkg).itertuples():
        root = ET.fromstring(row.styleQML.split("'SYSTEM'>", 1)[1])
        assert root.tag == "qgis"
        renderer = root.find("renderer-v2")
        assert renderer is not None and renderer.get("type") == "RuleRenderer"
        rules = renderer.findall("rules/rule")
        symbols = {s.get("name"): s for s in renderer.findall("symbols/symbol")}
        assert rules and {r.get("symbol") for r in rules} == set(symbols)
        fields = set(pyogrio.read_info(gpkg, layer=row.f_table_name)["fields"])
        for r in rules:
            assert _fields(r.get("filter", "")) <= fields, (row.f_table_name, r.get("filter"))
        for sym in symbols.values():
            layer = sym.find("layer")
            opts = {o.get("name"): o.get("value") for o in layer.findall("Option/Option")}
            props = {p.get("k"): p.get("v") for p in layer.findall("prop")}
            assert opts == props and opts


def _qgis_to_pandas(expr: str) -> str:
    out = re.sub(r'"([^"]+)"', r"`\1`", expr)
    return out.replace(" AND ", " and ").replace(" = ", " == ")


def test_parcel_classes_match_the_map(gpkg: Path) -> None:
    style = _styles(gpkg).set_index("f_table_name").loc["candidates", "styleQML"]
    root = ET.fromstring(style.split("'SYSTEM'>", 1)[1])
    rules = root.findall("renderer-v2/rules/rule")
    colors = {
        s.get("name"): s.find("layer/Option/Option[@name='color']").get("value")
        for s in root.findall("renderer-v2/symbols/symbol")
    }
    parcels = pyogrio.read_dataframe(gpkg, layer="candidates", read_geometry=False)
    hits = np.zeros((len(parcels), len(rules)), dtype=bool)
    for k, rule in enumerate(rules):
        hits[:, k] = parcels.eval(_qgis_to_pandas(rule.get("filter"))).to_numpy()
    assert (hits.sum(axis=1) == 1).all()  # every parcel drawn once
    drawn = [colors[rules[k].get("symbol")] for k in hits.argmax(axis=1)]
    for ok, score, color in zip(parcels["eligible"], parcels["score"], drawn, strict=True):
        expect = SCORE_COLORS[score_class(score)] if ok else "#9e9e9e"
        rgb = ",".join(str(int(expect[i : i + 2], 16)) for i in (1, 3, 5))
        assert color == f"{rgb},255"


def test_hazards_style_covers_every_geometry_type(gpkg: Path) -> None:
    style = _styles(gpkg).set_index("f_table_name").loc["hazards", "styleQML"]
    root = ET.fromstring(style.split("'SYSTEM'>", 1)[1])
    kinds = {s.get("type") for s in root.findall("renderer-v2/symbols/symbol")}
    assert kinds == {"fill", "line", "marker"}
    hazards = pyogrio.read_dataframe(gpkg, layer="hazards")
    filters = [r.get("filter") for r in root.findall("renderer-v2/rules/rule")]
    qgis_type = {"Point": "Point", "LineString": "Line", "Polygon": "Polygon",
                 "MultiPolygon": "Polygon", "MultiLineString": "Line"}  # fmt: skip
    for cls, gtype in zip(hazards["hazard_class"], hazards.geom_type, strict=True):
        want = f"\"hazard_class\" = '{cls}' AND geometry_type($geometry) = '{qgis_type[gtype]}'"
        assert want in filters


def test_rewriting_styles_replaces_them(gpkg: Path, tmp_path: Path) -> None:
    copy = tmp_path / "r.gpkg"
    copy.write_bytes(gpkg.read_bytes())
    assert write_layer_styles(copy, lang="en") == len(STYLED_LAYERS)
    styles = _styles(copy)
    assert len(styles) == len(STYLED_LAYERS)
    assert "Excluded parcels" in styles.set_index("f_table_name").loc["candidates", "styleQML"]
    with pytest.raises(OutputError, match="does not exist"):
        write_layer_styles(tmp_path / "missing.gpkg")
    bad = tmp_path / "bad.gpkg"
    bad.write_text("not a database")
    with pytest.raises(OutputError, match="GeoPackage"):
        write_layer_styles(bad)


def test_new_areas_drawn_once_red_where_flagged(gpkg: Path) -> None:
    style = _styles(gpkg).set_index("f_table_name").loc["new_areas", "styleQML"]
    root = ET.fromstring(style.split("'SYSTEM'>", 1)[1])
    rules = root.findall("renderer-v2/rules/rule")
    colors = {
        s.get("name"): s.find("layer/Option/Option[@name='color']").get("value")
        for s in root.findall("renderer-v2/symbols/symbol")
    }
    areas = pyogrio.read_dataframe(gpkg, layer="new_areas", read_geometry=False)
    assert areas["flagged"].any() and (~areas["flagged"]).any()
    hits = np.column_stack([areas.eval(_qgis_to_pandas(r.get("filter"))).to_numpy() for r in rules])
    assert (hits.sum(axis=1) == 1).all()
    for flagged, k in zip(areas["flagged"], hits.argmax(axis=1), strict=True):
        want = NEW_AREA_COLORS["flagged" if flagged else "served"]
        rgb = ",".join(str(int(want[i : i + 2], 16)) for i in (1, 3, 5))
        assert colors[rules[k].get("symbol")].startswith(rgb + ",")
