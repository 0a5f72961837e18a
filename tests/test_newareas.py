"""Tests for siting.newareas: planned residents -> required slots -> served or flagged."""

from __future__ import annotations

import json
import textwrap

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

import siting
from siting import ConfigError, InputDataError, config, newareas

SIZES = [10, 15, 20]


def _whole_classes(need: float) -> int:
    """Smallest facility of whole classes (10, 15, 20, 10, ...) holding ``need``, by loop."""
    if need <= 0:
        return 0
    total = 0
    for k in range(10):
        total += SIZES[k % 3]
        if total >= need:
            return total
    return total


def test_required_slots_from_population_or_dwellings() -> None:
    areas = gpd.GeoDataFrame(
        {"规划人口": [12_000, np.nan, 900, np.nan], "规划户数": [np.nan, 2500, 100, 40],
         "名称": ["新城一期", "新城二期", "小区", "零星"]},
        geometry=[shapely.Point(i * 1000, 0) for i in range(4)], crs=32651,
    )  # fmt: skip
    out = newareas.new_area_demand(
        areas, population="规划人口", dwellings="规划户数", name_column="名称"
    )
    residents = [12_000, 2500 * 3.0, 900, 40 * 3.0]
    assert out["planned_residents"].tolist() == residents
    assert out["residents_basis"].tolist() == [
        "规划人口",
        "规划户数 x 3",
        "规划人口",
        "规划户数 x 3",
    ]
    exact = [r * 6 / 1000 for r in residents]
    np.testing.assert_allclose(out["required_slots_exact"], exact)
    assert out["required_slots"].tolist() == [_whole_classes(x) for x in exact]
    assert out["area_id"].tolist() == ["N001", "N002", "N003", "N004"]
    rate = newareas.new_area_demand(areas, dwellings="规划户数", population="规划人口",
                                    rate_per_1000=4.5, persons_per_dwelling=3.2)  # fmt: skip
    assert rate["planned_residents"].iloc[1] == pytest.approx(8000.0)
    assert rate["required_slots"].iloc[1] == _whole_classes(8000 * 4.5 / 1000)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({}, ConfigError, r"give population = "),
        ({"population": "POP"}, ConfigError, r"population = 'POP' is not a column"),
        ({"population": "pop", "id_column": "ID"}, ConfigError, r"id = 'ID' is not a column"),
        ({"population": "bad"}, InputDataError, r"must hold numbers >= 0; row 1 has '约三千'"),
        ({"population": "neg"}, InputDataError, r"must hold numbers >= 0"),
        ({"population": "gap"}, InputDataError, r"row 1 has no planned residents"),
        ({"dwellings": "pop", "persons_per_dwelling": 0}, ConfigError, r"persons_per_dwelling"),
        ({"population": "pop", "rate_per_1000": -1}, ConfigError, r"rate must be"),
    ],
)
def test_bad_new_area_input(kwargs, error, match) -> None:
    areas = gpd.GeoDataFrame(
        {"pop": [100, 200], "bad": [100, "约三千"], "neg": [100, -5], "gap": [100, None]},
        geometry=[shapely.Point(0, 0)] * 2, crs=32651,
    )  # fmt: skip
    with pytest.raises(error, match=match):
        newareas.new_area_demand(areas, **kwargs)


@pytest.fixture(scope="module")
def study(karhula_layers: dict[str, gpd.GeoDataFrame]) -> siting.StudyResult:
    return siting.run_study(karhula_layers, k=2)


@pytest.fixture(scope="module")
def areas(study: siting.StudyResult, karhula_layers) -> gpd.GeoDataFrame:
    """Karhula's residential land-use polygons as planned residential areas."""
    lu = karhula_layers["landuse"].to_crs(study.candidates.crs)
    res = lu[lu["landuse"] == "residential"].reset_index(drop=True)
    return res.assign(households=(res.area / 50).round())[["households", "geometry"]]


def test_flagged_when_no_facility_within_the_radius(study, areas) -> None:
    demand = newareas.new_area_demand(areas, dwellings="households")
    out = newareas.new_areas_from_result(demand, study)
    fac = study.facilities[study.facilities["amenity"].isin(["childcare", "kindergarten"])]
    assert len(fac) >= 1
    # independent: the distance from each polygon to each facility with geopandas
    dist = np.array([[a.distance(f) for f in fac.geometry] for a in demand.geometry])
    np.testing.assert_allclose(out["nearest_facility_m"], dist.min(axis=1))
    assert out["facilities_in_catchment"].tolist() == (dist <= 300).sum(axis=1).tolist()
    assert out["flagged"].tolist() == (dist.min(axis=1) > 300).tolist()
    assert out["flagged"].any() and (~out["flagged"]).any()
    # the selected sites' reach
    sel = np.array([[a.distance(s) for s in study.selected.geometry] for a in demand.geometry])
    assert out["served_by_selected"].tolist() == (sel.min(axis=1) <= 300).tolist()


def test_nearest_candidates_listed(study, areas) -> None:
    demand = newareas.new_area_demand(areas, dwellings="households")
    out = newareas.new_areas_from_result(demand, study, n_candidates=3)
    ok = study.candidates[study.candidates["eligible"]]
    for geom, ids, dists, inside in zip(out.geometry, out["candidate_ids"],
                                        out["candidate_dist_m"], out["candidates_in_catchment"],
                                        strict=True):  # fmt: skip
        d = ok.distance(geom).to_numpy()
        order = np.argsort(d, kind="stable")[:3]
        assert ids.split(";") == ok["parcel_id"].to_numpy()[order].tolist()
        assert [float(x) for x in dists.split(";")] == [round(x) for x in d[order]]
        assert inside == int((d <= 300).sum())
    # slots of the listed candidates within the radius
    row = out.iloc[int(np.argmax(out["candidates_in_catchment"].to_numpy()))]
    listed = ok.set_index("parcel_id").loc[row["candidate_ids"].split(";")]
    near = listed[listed.distance(row.geometry) <= 300]
    assert row["candidate_slots"] == near["capacity_slots"].sum()


def test_layer_round_trips_through_a_geopackage(study, areas, tmp_path) -> None:
    demand = newareas.new_area_demand(areas, dwellings="households")
    out = newareas.new_areas_from_result(demand, study)
    path = tmp_path / "results.gpkg"
    out.to_file(path, layer="new_areas")
    back = gpd.read_file(path, layer="new_areas")
    assert back["flagged"].tolist() == out["flagged"].tolist()
    assert back["candidate_ids"].tolist() == out["candidate_ids"].tolist()
    np.testing.assert_allclose(back["required_slots"], out["required_slots"])
    summary = newareas.new_areas_summary(out)
    json.dumps(summary)  # JSON-ready
    assert summary["flagged"] == int(out["flagged"].sum())
    assert summary["required_slots"] == int(out["required_slots"].sum())
    assert set(newareas.LABELS) <= set(out.columns)


def test_candidates_of_unsuitable_land_are_not_listed(study, areas) -> None:
    demand = newareas.new_area_demand(areas.iloc[:3], dwellings="households")
    cand = study.candidates.assign(landuse_role="excluded")
    cand.loc[cand.index[::2], "landuse_role"] = "co_location"
    fac = study.facilities
    out = newareas.assess_new_areas(demand, facilities=fac, candidates=cand)
    listed = {p for ids in out["candidate_ids"] for p in ids.split(";") if p}
    roles = cand.set_index("parcel_id")["landuse_role"]
    assert listed and set(roles[list(listed)]) == {"co_location"}
    with pytest.raises(siting.CRSError):
        newareas.assess_new_areas(demand.to_crs(4326), facilities=fac, candidates=cand)
    with pytest.raises(ConfigError):
        newareas.assess_new_areas(demand, facilities=fac, candidates=cand, catchment_m=0)


def test_config_new_residential_in_the_summary(
    karhula_pbf, karhula_layers, areas, tmp_path
) -> None:
    areas.assign(name=[f"规划区{i}" for i in range(len(areas))]).to_crs(4326).to_file(
        tmp_path / "新建居住区.gpkg"
    )
    cfg = tmp_path / "study.toml"
    cfg.write_text(textwrap.dedent(f"""
        [study]
        k = 2
        out = "out"
        basemap = "none"
        [osm]
        file = "{karhula_pbf}"
        [layers.new_residential]
        file = "新建居住区.gpkg"
        dwellings = "households"
        name = "name"
        """), encoding="utf-8")  # fmt: skip
    result = config.run_config(cfg)
    part = result.summary["new_residential"]
    assert part["areas"] == len(areas)
    assert part["rows"][0]["name"] == "规划区0"
    on_disk = json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))
    assert on_disk["new_residential"] == part
    # the rate defaults to the rulebook's new-area rate (DEM-06)
    rate = result.rulebook.param("new_area_slots_per_1000")
    want = [_whole_classes(h * 3.0 * rate / 1000) for h in areas["households"]]
    assert [r["required_slots"] for r in part["rows"]] == want


def test_config_new_residential_needs_a_column(karhula_pbf, tmp_path) -> None:
    path = tmp_path / "bad.toml"
    gpd.GeoDataFrame(geometry=[shapely.Point(27, 60.5)], crs=4326).to_file(tmp_path / "a.gpkg")
    path.write_text(
        f'[osm]\nfile = "{karhula_pbf}"\n[layers.new_residential]\nfile = "a.gpkg"\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match=r"needs population = .* or dwellings"):
        config.load_config(path)
    path.write_text(path.read_text("utf-8") + 'dwellings = "HS"\nrate = -2\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"rate must be a number"):
        config.load_config(path)


def test_labels_cover_popup_columns() -> None:
    assert all(len(v) == 2 and all(v) for v in newareas.LABELS.values())
    assert isinstance(pd.Series(newareas.LABELS).index[0], str)


def test_labelled_table_for_popups_and_report(study, areas) -> None:
    out = newareas.new_areas_from_result(
        newareas.new_area_demand(areas, dwellings="households"), study
    )
    zh = newareas.labelled_table(out)
    en = newareas.labelled_table(out, lang="en")
    assert list(zh.columns) == [newareas.LABELS[c][0] for c in newareas.LABELS]
    assert set(zh["缺少托育服务"]) <= {"是", "否"} and len(en) == len(out)
    assert (zh["应配托位（整班）"] == out["required_slots"].map(lambda v: f"{v:.0f}")).all()
    assert (en["Nearest candidate parcels"] == out["candidate_ids"]).all()
