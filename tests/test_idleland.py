"""Tests for siting.idleland: idle / low-efficiency status from columns and layers."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from siting import ConfigError, idleland
from siting.parcels import parcels_from_blocks


def test_idle_status_values() -> None:
    got = idleland.idle_status(pd.Series(
        ["闲置", "闲置土地", "低效用地", "城镇低效用地", "否", "在用", None, np.nan, True, False,
         1, 0, "yes", "IDLE", "未知状态"]
    ))  # fmt: skip
    assert got.tolist() == ["idle", "idle", "low_efficiency", "low_efficiency", "", "", "", "",
                            "idle", "", "idle", "", "idle", "idle", ""]  # fmt: skip


@pytest.fixture(scope="module")
def blocks(karhula_metric: dict[str, gpd.GeoDataFrame]) -> gpd.GeoDataFrame:
    return parcels_from_blocks(karhula_metric["landuse"].copy(), karhula_metric["roads"].copy())


def test_idle_layer_covers_half_a_parcel(blocks) -> None:
    """The register's polygons mark parcels they cover by >= 50 % (independent overlay)."""
    geoms = blocks.geometry.to_numpy()

    # the register: the west 70 % of block 0, the west 30 % of block 1, all of block 2
    # (as 低效), and block 3 twice (overlapping copies must not count twice)
    def west(g: shapely.Geometry, share: float) -> shapely.Geometry:
        x0, y0, x1, y1 = g.bounds
        lo, hi = x0, x1
        for _ in range(60):  # bisect the cut so the piece holds `share` of the area
            mid = (lo + hi) / 2
            if shapely.area(shapely.intersection(g, shapely.box(x0, y0, mid, y1))) < share * g.area:
                lo = mid
            else:
                hi = mid
        return shapely.intersection(g, shapely.box(x0, y0, hi, y1))

    register = gpd.GeoDataFrame(
        {"类型": ["闲置", "闲置", "低效用地", "闲置", "闲置"]},
        geometry=[west(geoms[0], 0.7), west(geoms[1], 0.3), geoms[2], west(geoms[3], 0.3),
                  west(geoms[3], 0.3)],
        crs=blocks.crs,
    ).to_crs(4326)  # fmt: skip
    out = idleland.mark_idle(blocks, layer=register, layer_status="类型")
    status = out["land_status"].tolist()
    assert status[:4] == ["idle", "", "low_efficiency", ""]
    assert set(status[4:]) == {""}
    assert out["idle_land"].tolist()[:4] == [1.0, 0.0, 1.0, 0.0]
    # the same shares by geopandas overlay
    merged = register.to_crs(blocks.crs).dissolve()[["geometry"]]
    parts = gpd.overlay(blocks[["parcel_id", "geometry"]].iloc[:4], merged, how="intersection")
    share = parts.set_index("parcel_id").area / blocks.set_index("parcel_id").area.iloc[:4]
    half = share.reindex(blocks["parcel_id"].iloc[:4]).fillna(0).to_numpy() >= 0.5
    assert (half == (out["idle_land"].iloc[:4] == 1.0).to_numpy()).all()
    assert "land_status" not in blocks.columns  # input untouched
    # a lower share marks block 1 too; the whole register is idle without a status column
    out = idleland.mark_idle(blocks, layer=register, min_share=0.25)
    assert out["land_status"].tolist()[:4] == ["idle"] * 4


def test_column_and_layer_combine_idle_first(blocks) -> None:
    frame = blocks.assign(ZT=["低效"] * len(blocks))
    register = gpd.GeoDataFrame(geometry=[blocks.geometry.iloc[0]], crs=blocks.crs)
    out = idleland.mark_idle(frame, column="ZT", layer=register)
    assert out["land_status"].iloc[0] == "idle"
    assert (out["land_status"].iloc[1:] == "low_efficiency").all()
    assert (out["idle_land"] == 1.0).all()


def test_bad_idle_input(blocks) -> None:
    with pytest.raises(ConfigError, match=r"idle = 'XZ' is not a column"):
        idleland.mark_idle(blocks, column="XZ")
    with pytest.raises(ConfigError, match="min_share"):
        idleland.mark_idle(blocks, column="landuse", min_share=0)
    register = gpd.GeoDataFrame(geometry=[blocks.geometry.iloc[0]], crs=blocks.crs)
    with pytest.raises(ConfigError, match=r"status = 'ZT' is not a column"):
        idleland.mark_idle(blocks, layer=register, layer_status="ZT")
