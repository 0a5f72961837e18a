"""Existing supply: capacity parsing, E2SFCA against PySAL ``access``, the gap and coverage."""

from __future__ import annotations

import logging
import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from access import Access
from access import weights as access_weights
from scipy import sparse

from siting import access, demand, supply
from siting._errors import ConfigError, CRSError, InputDataError
from siting.study import EXISTING_CHILDCARE

# ----------------------------------------------------------------------------- helpers


def peer_e2sfca(
    dist: sparse.spmatrix | np.ndarray,
    slots: np.ndarray,
    children: np.ndarray,
    bands: list[tuple[float, float, float]],
) -> np.ndarray:
    """E2SFCA by PySAL ``access`` on the same cost matrix (facilities x demand points)."""
    coo = sparse.coo_matrix(dist) if sparse.issparse(dist) else None
    if coo is not None:
        rows, cols, d = coo.row, coo.col, coo.data
    else:
        rows, cols = np.nonzero(np.isfinite(dist))
        d = np.asarray(dist)[rows, cols]
    cost = pd.DataFrame({"origin": cols, "dest": rows, "cost": d})
    n_f, n_d = len(slots), len(children)
    # Named indexes with `*_index=True`: access then never calls the `set_index(inplace=True)`
    # that pandas 3 deprecates, so no third-party warning needs filtering.
    peer = Access(
        demand_df=pd.DataFrame({"u3": children}, index=pd.RangeIndex(n_d, name="home")),
        demand_index=True,
        demand_value="u3",
        supply_df=pd.DataFrame({"slots": slots}, index=pd.RangeIndex(n_f, name="facility")),
        supply_index=True,
        supply_value="slots",
        cost_df=cost,
        cost_origin="origin",
        cost_dest="dest",
        cost_name="cost",
    )
    catchment = bands[-1][1]
    out = peer.enhanced_two_stage_fca(
        name="e2sfca",
        max_cost=catchment,
        weight_fn=access_weights.step_fn({hi: w for _, hi, w in bands}),
    )
    # access leaves points with no facility in reach out (NaN): that is 0 slots per child
    return out["e2sfca_slots"].reindex(range(n_d)).fillna(0.0).to_numpy()


@pytest.fixture(scope="module")
def karhula_supply(karhula_metric):
    """Real Karhula facilities (a kindergarten, a daycare centre), homes and walk network."""
    am = karhula_metric["amenities"]
    facilities = am[am["amenity"].isin(EXISTING_CHILDCARE)]
    homes = demand.demand_from_buildings(
        karhula_metric["buildings"], karhula_metric["landuse"], under3_share=0.012
    )
    net = access.network_from_edges(karhula_metric["walk_edges"])
    return facilities, homes, net


# ----------------------------------------------------------------------------- capacity


@pytest.mark.parametrize(
    ("value", "places", "source"),
    [
        ("60", 60.0, "given"),
        (" 45 ", 45.0, "given"),
        (60, 60.0, "given"),
        (np.int64(12), 12.0, "given"),
        (0, 0.0, "given"),
        ("approx 60", 60.0, "given: number read from 'approx 60'"),
        ("ca. 60", 60.0, "given: number read from 'ca. 60'"),
        ("~60", 60.0, "given: number read from '~60'"),
        ("60+", 60.0, "given: number read from '60+'"),
        ("60 places", 60.0, "given: number read from '60 places'"),
        ("约60人", 60.0, "given: number read from '约60人'"),
        ("1,200", 1200.0, "given: number read from '1,200'"),
        ("60-80", 70.0, "given: midpoint of range '60-80'"),
        ("60 – 80", 70.0, "given: midpoint of range '60 – 80'"),
        ("60～80", 70.0, "given: midpoint of range '60～80'"),
        ("60 to 81", 70.5, "given: midpoint of range '60 to 81'"),
    ],
)
def test_parse_capacity_reads_numbers_words_and_ranges(value, places, source):
    assert supply.parse_capacity(value) == (places, source)


@pytest.mark.parametrize(
    "value", [None, math.nan, "", "yes", "unknown", "60;80", "2 groups of 12", "80-60", True]
)
def test_parse_capacity_leaves_junk_unread(value):
    places, source = supply.parse_capacity(value)
    assert math.isnan(places)
    assert source == ""


@pytest.mark.parametrize("value", [-5, "-5", -0.5, math.inf])
def test_parse_capacity_refuses_negative(value):
    with pytest.raises(InputDataError, match="not a number of places"):
        supply.parse_capacity(value)


def test_facility_capacity_labels_given_and_estimated():
    facilities = pd.DataFrame(
        {
            "amenity": ["childcare", "childcare", "kindergarten", "kindergarten", "school"],
            "capacity": ["30", "approx 60", None, "200-240", None],
        },
        index=[10, 11, 12, 13, 14],
    )
    out = supply.facility_capacity(facilities)
    assert list(out.index) == [10, 11, 12, 13, 14]
    assert out["capacity"].iloc[:4].tolist() == [30.0, 60.0, 180.0, 220.0]
    assert math.isnan(out["capacity"].iloc[4])
    src = out["capacity_source"].tolist()
    assert src[0] == "given"
    assert src[1].startswith("given: number read from")
    assert src[2] == "estimated: default for amenity=kindergarten (180 places)"
    assert src[3].startswith("given: midpoint")
    assert src[4].startswith("unknown:")
    # childcare: every place is for under-3s; kindergartens: 10 % (toddler classes)
    assert out["under3_slots"].iloc[:4].tolist() == pytest.approx([30.0, 60.0, 18.0, 22.0])
    assert out["under3_slots"].iloc[4] == 0.0  # a school offers no under-3 places
    assert out["under3_source"].iloc[0] == "all places (amenity=childcare); capacity given"
    assert out["under3_source"].iloc[2] == (
        "estimated: 10% of places (amenity=kindergarten: toddler classes it could open); "
        "capacity estimated"
    )
    assert out["under3_source"].iloc[3].endswith("capacity given")
    assert out["under3_source"].iloc[4].startswith("none:")
    assert list(facilities.columns) == ["amenity", "capacity"]  # input untouched


def test_facility_capacity_without_capacity_column_estimates_every_real_facility(
    karhula_supply,
):
    facilities, _, _ = karhula_supply
    assert facilities["capacity"].isna().all()  # no capacity tag in this extract
    out = supply.facility_capacity(facilities)
    assert out.index.equals(facilities.index)
    by_type = dict(zip(facilities["amenity"], out["under3_slots"], strict=True))
    assert by_type == {"childcare": 45.0, "kindergarten": 18.0}
    assert out["capacity_source"].str.startswith("estimated: default for amenity=").all()


def test_facility_capacity_custom_defaults_and_shares():
    facilities = pd.DataFrame({"type": ["kindergarten", "tuoyu"]})
    out = supply.facility_capacity(
        facilities,
        type_column="type",
        default_by_type={"kindergarten": 300, "tuoyu": 60},
        under3_share_by_type={"kindergarten": 0.0, "tuoyu": 1.0},
    )
    assert out["capacity"].tolist() == [300.0, 60.0]
    assert out["under3_slots"].tolist() == [0.0, 60.0]


def test_facility_capacity_bad_input():
    with pytest.raises(InputDataError, match="negative or infinite 'capacity'"):
        supply.facility_capacity(pd.DataFrame({"amenity": ["childcare"], "capacity": [-10]}))
    with pytest.raises(InputDataError, match=r"lacks column\(s\) \['amenity'\]"):
        supply.facility_capacity(pd.DataFrame({"kind": ["childcare"]}))
    with pytest.raises(ConfigError, match="default_by_type"):
        supply.facility_capacity(
            pd.DataFrame({"amenity": ["childcare"]}), default_by_type={"childcare": -1}
        )
    with pytest.raises(ConfigError, match="under3_share_by_type"):
        supply.facility_capacity(
            pd.DataFrame({"amenity": ["childcare"]}), under3_share_by_type={"childcare": 1.5}
        )


# ----------------------------------------------------------------------------- E2SFCA


def test_e2sfca_hand_computed():
    # facility A: 20 slots; B: 10 slots. Distances (m), inf = beyond 300 m.
    dist = np.array(
        [
            [50.0, 150.0, 250.0, np.inf],
            [np.inf, 100.0, 300.0, 301.0],
        ]
    )
    children = np.array([10.0, 5.0, 20.0, 7.0])
    res = supply.e2sfca(dist, [20.0, 10.0], children)
    # step 1: A sees 10*1 + 5*0.68 + 20*0.22 = 17.8; B sees 5*1 + 20*0.22 = 9.4
    assert res.weighted_demand.tolist() == pytest.approx([17.8, 9.4])
    r_a, r_b = 20 / 17.8, 10 / 9.4
    assert res.ratio.tolist() == pytest.approx([r_a, r_b])
    # step 2: sum of weighted ratios in reach; the 4th point is 301 m away: nothing
    expected = [r_a, 0.68 * r_a + r_b, 0.22 * r_a + 0.22 * r_b, 0.0]
    assert res.accessibility.tolist() == pytest.approx(expected)
    # the shares of the slots add up to every slot (same weights in both steps)
    assert float((res.accessibility * children).sum()) == pytest.approx(30.0)


def test_e2sfca_band_edges_include_their_upper_bound():
    dist = np.array([[0.0, 100.0, 100.001, 200.0, 300.0, 300.001]])
    res = supply.e2sfca(dist, [1.0], np.ones(6))
    w = res.accessibility.to_numpy() * res.weighted_demand.iloc[0]
    assert w.tolist() == pytest.approx([1.0, 1.0, 0.68, 0.68, 0.22, 0.0])


def test_e2sfca_single_band_is_classic_2sfca():
    dist = np.array([[10.0, 290.0], [np.inf, 20.0]])
    res = supply.e2sfca(dist, [6.0, 3.0], [2.0, 1.0], weights=[(0, 300, 1.0)])
    assert res.accessibility.tolist() == pytest.approx([2.0, 2.0 + 3.0])


def test_e2sfca_sparse_and_dense_agree_and_keep_indexes():
    rng = np.random.default_rng(1)
    dense = rng.uniform(0, 600, (8, 40))
    dense[dense > 300] = np.inf
    sp = sparse.csr_matrix(np.where(np.isfinite(dense), dense, 0.0))
    s = pd.Series(rng.uniform(5, 50, 8), index=[f"f{i}" for i in range(8)])
    p = pd.Series(rng.uniform(0, 3, 40), index=np.arange(100, 140))
    a = supply.e2sfca(dense, s, p)
    b = supply.e2sfca(sp, s, p)
    assert a.accessibility.index.equals(p.index)
    assert a.ratio.index.equals(s.index)
    np.testing.assert_allclose(a.accessibility, b.accessibility, rtol=1e-12)
    np.testing.assert_allclose(a.ratio, b.ratio, rtol=1e-12)


@pytest.mark.parametrize("catchment_m", [300.0, 1000.0])
def test_e2sfca_agrees_with_pysal_access_on_karhula(karhula_supply, catchment_m):
    facilities, homes, net = karhula_supply
    slots = supply.facility_capacity(facilities)["under3_slots"].to_numpy()
    dist = access.walk_distances(
        net, facilities.geometry.representative_point(), homes.geometry, dist=catchment_m
    )
    assert dist.nnz >= 7  # both facilities reach homes
    bands = supply.step_weights(catchment_m)
    ours = supply.e2sfca(dist, slots, homes["under3"], catchment_m=catchment_m, weights=bands)
    theirs = peer_e2sfca(dist, slots, homes["under3"].to_numpy(), bands)
    assert np.count_nonzero(theirs) == np.count_nonzero(ours.accessibility)
    assert np.abs(ours.accessibility.to_numpy() - theirs).max() <= 1e-6
    np.testing.assert_allclose(ours.accessibility.to_numpy(), theirs, rtol=1e-9, atol=1e-12)
    assert ours.accessibility.index.equals(homes.index)


def test_e2sfca_agrees_with_pysal_access_under_competition():
    # 40 facilities competing for 1,500 homes on a 2 x 2 km square, straight-line metres
    rng = np.random.default_rng(7)
    fxy = rng.uniform(0, 2000, (40, 2))
    hxy = rng.uniform(0, 2000, (1500, 2))
    dist = np.hypot(*(fxy[:, None, :] - hxy[None, :, :]).transpose(2, 0, 1))
    dist[dist > 300] = np.inf
    slots = rng.integers(10, 150, 40).astype(float)
    children = rng.uniform(0.05, 3.0, 1500)
    ours = supply.e2sfca(dist, slots, children)
    theirs = peer_e2sfca(dist, slots, children, supply.step_weights(300.0))
    assert (theirs > 0).mean() > 0.5
    assert np.abs(ours.accessibility.to_numpy() - theirs).max() <= 1e-6


def test_e2sfca_no_facilities_gives_zero_accessibility():
    res = supply.e2sfca(sparse.csr_matrix((0, 3)), [], [1.0, 2.0, 0.0])
    assert res.accessibility.tolist() == [0.0, 0.0, 0.0]
    assert len(res.ratio) == 0


def test_e2sfca_facility_without_demand_has_undefined_ratio():
    res = supply.e2sfca(np.array([[50.0, np.inf], [np.inf, np.inf]]), [5.0, 9.0], [2.0, 1.0])
    assert res.ratio.iloc[0] == pytest.approx(2.5)
    assert math.isnan(res.ratio.iloc[1])
    assert res.accessibility.tolist() == pytest.approx([2.5, 0.0])


def test_e2sfca_bad_input():
    dist = np.array([[50.0, 150.0]])
    with pytest.raises(InputDataError, match="supply has 1 negative"):
        supply.e2sfca(dist, [-3.0], [1.0, 1.0])
    with pytest.raises(InputDataError, match="demand has 1 negative"):
        supply.e2sfca(dist, [3.0], [1.0, -1.0])
    with pytest.raises(InputDataError, match="missing or infinite"):
        supply.e2sfca(dist, [math.nan], [1.0, 1.0])
    with pytest.raises(InputDataError, match=r"shape \(1, 2\) but there are 2 facilities"):
        supply.e2sfca(dist, [3.0, 4.0], [1.0, 1.0])
    with pytest.raises(InputDataError, match="and 3 demand points"):
        supply.e2sfca(sparse.csr_matrix(dist), [3.0], [1.0, 1.0, 1.0])
    with pytest.raises(InputDataError, match="negative distance"):
        supply.e2sfca(np.array([[-1.0, 5.0]]), [3.0], [1.0, 1.0])
    with pytest.raises(InputDataError, match="2-D"):
        supply.e2sfca(np.array([1.0, 2.0]), [3.0], [1.0, 1.0])
    with pytest.raises(InputDataError, match="one value per"):
        supply.e2sfca(dist, [[3.0]], [1.0, 1.0])
    with pytest.raises(ConfigError, match="catchment_m must be a positive"):
        supply.e2sfca(dist, [3.0], [1.0, 1.0], catchment_m=0)
    with pytest.raises(ConfigError, match="weights end at 500 m but catchment_m is 300 m"):
        supply.e2sfca(dist, [3.0], [1.0, 1.0], weights=[(0, 500, 1.0)])
    with pytest.raises(ConfigError, match="contiguous"):
        supply.e2sfca(dist, [3.0], [1.0, 1.0], weights=[(0, 100, 1.0), (150, 300, 0.5)])
    with pytest.raises(ConfigError, match="contiguous"):
        supply.e2sfca(dist, [3.0], [1.0, 1.0], weights=[(0, 300, -1.0)])
    with pytest.raises(ConfigError, match="bands"):
        supply.e2sfca(dist, [3.0], [1.0, 1.0], weights=[(0, 300)])  # type: ignore[list-item]


# ----------------------------------------------------------------------------- the gap


def _homes(under3, residents) -> pd.DataFrame:
    return pd.DataFrame({"under3": under3, "residents": residents}, index=[7, 8, 9])


def test_supply_gap_hand_computed():
    # one facility of 12 slots at 50 m and 250 m from two homes, the third out of reach
    dist = np.array([[50.0, 250.0, np.inf]])
    homes = _homes([10.0, 10.0, 5.0], [800.0, 800.0, 400.0])
    gap = supply.supply_gap(dist, [12.0], homes)
    pts = gap.points
    assert list(pts.index) == [7, 8, 9]
    ratio = 12.0 / (10 * 1.0 + 10 * 0.22)
    assert pts["accessibility"].tolist() == pytest.approx([ratio, 0.22 * ratio, 0.0])
    assert pts["accessible_slots"].tolist() == pytest.approx([10 * ratio, 2.2 * ratio, 0.0])
    assert pts["unmet_under3"].tolist() == pytest.approx([10 - 10 * ratio, 10 - 2.2 * ratio, 5.0])
    assert pts["slots_within"].tolist() == [12.0, 12.0, 0.0]
    assert pts["facilities_within"].tolist() == [1, 1, 0]
    assert pts["slots_per_1000"].tolist() == pytest.approx(
        [10 * ratio / 0.8, 2.2 * ratio / 0.8, 0.0]
    )
    t = gap.totals
    assert t["slots"] == 12.0
    assert t["slots_allocated"] == pytest.approx(12.0)
    assert t["unmet_under3"] == pytest.approx(25.0 - 12.0, abs=0.01)
    assert t["slots_per_1000"] == pytest.approx(12 / 2000 * 1000)
    assert t["target_per_1000"] == 4.5
    assert t["target_met"] is True  # 6 per 1,000
    assert t["slots_short"] == 0
    assert t["under3_within_catchment_share"] == pytest.approx(0.8)
    assert gap.facilities["under3_within"].tolist() == [20.0]
    assert "note" not in t


def test_supply_gap_slots_short_of_the_target():
    homes = _homes([10.0, 10.0, 5.0], [8000.0, 8000.0, 4000.0])
    gap = supply.supply_gap(np.array([[50.0, 250.0, np.inf]]), [12.0], homes)
    assert gap.totals["slots_per_1000"] == pytest.approx(0.6)
    assert gap.totals["target_met"] is False
    assert gap.totals["slots_short"] == 90 - 12


def test_supply_gap_with_no_facilities_reports_it(caplog):
    homes = _homes([1.0, 2.0, 0.0], [100.0, 100.0, 0.0])
    with caplog.at_level(logging.WARNING, logger="siting.supply"):
        gap = supply.supply_gap(sparse.csr_matrix((0, 3)), [], homes)
    assert gap.points["accessibility"].tolist() == [0.0, 0.0, 0.0]
    assert gap.points["unmet_under3"].tolist() == [1.0, 2.0, 0.0]
    assert math.isnan(gap.points["slots_per_1000"].iloc[2])
    assert gap.totals["unmet_share"] == 1.0
    assert gap.totals["slots"] == 0.0
    assert "no existing facilities" in gap.totals["note"]
    assert "no existing facilities" in caplog.text


def test_supply_gap_on_karhula_allocates_every_reached_slot(karhula_supply):
    facilities, homes, net = karhula_supply
    cap = supply.facility_capacity(facilities)
    dist = access.walk_distances(
        net, facilities.geometry.representative_point(), homes.geometry, dist=300
    )
    gap = supply.supply_gap(dist, cap["under3_slots"], homes)
    t = gap.totals
    assert gap.points.index.equals(homes.index)
    assert gap.facilities.index.equals(cap.index)
    assert t["slots"] == pytest.approx(63.0)
    assert gap.points["accessible_slots"].sum() == pytest.approx(t["slots_allocated"], abs=0.01)
    assert (gap.points["unmet_under3"] <= gap.points["under3"] + 1e-12).all()
    assert (gap.points["unmet_under3"] >= 0).all()
    assert t["slots_per_1000"] == pytest.approx(63.0 / homes["residents"].sum() * 1000, rel=1e-3)
    assert 0 < t["unmet_under3"] <= t["under3"]
    # slots_within agrees with access's plain catchment sum of supply
    peer = Access(
        demand_df=pd.DataFrame(
            {"u3": homes["under3"].to_numpy()}, index=pd.RangeIndex(len(homes), name="home")
        ),
        demand_index=True,
        demand_value="u3",
        supply_df=pd.DataFrame(
            {"slots": cap["under3_slots"].to_numpy()},
            index=pd.RangeIndex(len(cap), name="facility"),
        ),
        supply_index=True,
        supply_value="slots",
        cost_df=pd.DataFrame(
            {"origin": dist.tocoo().col, "dest": dist.tocoo().row, "cost": dist.tocoo().data}
        ),
        cost_origin="origin",
        cost_dest="dest",
        cost_name="cost",
    )
    within = peer.weighted_catchment(name="within", max_cost=300)["within_slots"]
    np.testing.assert_allclose(
        gap.points["slots_within"].to_numpy(),
        within.reindex(range(len(homes))).fillna(0).to_numpy(),
    )


def test_supply_gap_bad_input():
    dist = np.array([[50.0, 250.0, np.inf]])
    with pytest.raises(InputDataError, match=r"lacks column\(s\) \['residents'\]"):
        supply.supply_gap(dist, [1.0], pd.DataFrame({"under3": [1.0, 1.0, 1.0]}))
    with pytest.raises(InputDataError, match=r"homes\['residents'\] has 1 negative"):
        supply.supply_gap(dist, [1.0], _homes([1.0, 1.0, 1.0], [10.0, -1.0, 10.0]))
    with pytest.raises(InputDataError, match="slots has 1 negative"):
        supply.supply_gap(dist, [-1.0], _homes([1.0, 1.0, 1.0], [10.0, 10.0, 10.0]))
    with pytest.raises(ConfigError, match="target_per_1000"):
        supply.supply_gap(
            dist, [1.0], _homes([1.0, 1.0, 1.0], [10.0, 10.0, 10.0]), target_per_1000=-1
        )


# ----------------------------------------------------------------------------- coverage


def test_community_coverage_share_against_target():
    communities = pd.DataFrame({"name": list("abcd")}, index=[3, 1, 4, 1_5])
    walk = sparse.csr_matrix(
        (np.array([120.0, 280.0, 40.0]), (np.array([0, 1, 1]), np.array([0, 0, 2]))),
        shape=(2, 4),
    )
    cov = supply.community_coverage(communities, walk)
    assert cov.covered.tolist() == [True, False, True, False]
    assert cov.covered.index.equals(communities.index)
    assert cov.nearest_m.tolist() == [120.0, math.inf, 40.0, math.inf]
    assert cov.share == 0.5
    assert cov.met is True
    assert cov.as_dict()["covered"] == 2
    # a shorter catchment drops the 120 m community
    assert supply.community_coverage(communities, walk, catchment_m=100).share == 0.25
    dense = np.full((2, 4), np.inf)
    dense[0, 0], dense[1, 2] = 120.0, 40.0
    assert supply.community_coverage(communities, dense, target=0.6).met is False


def test_community_coverage_no_facilities_is_zero():
    cov = supply.community_coverage(pd.DataFrame(index=range(3)), sparse.csr_matrix((0, 3)))
    assert cov.share == 0.0
    assert cov.met is False


def test_community_coverage_on_karhula(karhula_metric, karhula_supply):
    facilities, _, net = karhula_supply
    communities = supply.communities_from_landuse(karhula_metric["landuse"])
    assert len(communities) > 0
    assert (communities["landuse"] == "residential").all()
    walk = access.walk_distances(
        net,
        facilities.geometry.representative_point(),
        communities.representative_point(),
        dist=300,
    )
    cov = supply.community_coverage(communities, walk)
    assert cov.share == pytest.approx(cov.covered.sum() / len(communities))
    assert 0.0 <= cov.share <= 1.0
    assert (cov.nearest_m[cov.covered] <= 300).all()
    assert "residential communities" in cov.basis


def test_communities_from_landuse_filters_and_checks():
    landuse = gpd.GeoDataFrame(
        {"landuse": ["residential", "industrial", "residential"]},
        geometry=[shapely.box(0, 0, 100, 100), shapely.box(0, 0, 50, 50), shapely.box(0, 0, 5, 5)],
        crs="EPSG:32635",
    )
    assert list(supply.communities_from_landuse(landuse).index) == [0, 2]
    assert list(supply.communities_from_landuse(landuse, min_area_m2=100).index) == [0]
    with pytest.raises(CRSError, match="degrees"):
        supply.communities_from_landuse(landuse.set_crs("EPSG:4326", allow_override=True))


def test_community_coverage_bad_input():
    with pytest.raises(InputDataError, match="communities is empty"):
        supply.community_coverage(pd.DataFrame(), np.zeros((1, 0)))
    with pytest.raises(InputDataError, match=r"shape \(1, 2\) but there are 3 communities"):
        supply.community_coverage(pd.DataFrame(index=range(3)), np.zeros((1, 2)))
    with pytest.raises(InputDataError, match="facilities_within has 1 negative distance"):
        supply.community_coverage(pd.DataFrame(index=range(2)), np.array([[-1.0, 2.0]]))
    with pytest.raises(ConfigError, match="target"):
        supply.community_coverage(pd.DataFrame(index=range(2)), np.zeros((1, 2)), target=50)


def test_benchmark_sides_agree_on_a_small_city():
    """Smoke test of benchmarks/supply.py: correctness only, timings are never asserted."""
    import sys
    from pathlib import Path

    root = str(Path(__file__).resolve().parents[1])
    if root not in sys.path:  # `pytest` (not `python -m pytest`) puts only tests/ on the path
        sys.path.insert(0, root)
    from benchmarks import supply as bench

    ds = bench.build(30, 2_000)
    assert ds.dist.shape == (30, 2_000)
    assert ds.info["pairs_within_catchment"] == ds.dist.nnz > 0
    case = bench.run(ds, repeat=1)
    assert case["agreement"]["met"]
    assert (
        case["agreement"]["homes_with_access_ours"] == case["agreement"]["homes_with_access_peer"]
    )
