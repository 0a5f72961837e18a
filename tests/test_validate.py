"""_validate and _errors: messages name the problem, the fix and the evidence."""

from __future__ import annotations

import geopandas as gpd
import pytest
from shapely.geometry import Point

from siting import ConfigError, CRSError, DataSourceError, InputDataError, OutputError, SitingError
from siting._validate import (
    require_columns,
    require_nonempty,
    require_projected,
    require_same_crs,
)


def _layer(crs: object) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"a": [1]}, geometry=[Point(0, 0)], crs=crs)


def test_errors_subclass_builtins() -> None:
    assert issubclass(CRSError, ValueError) and issubclass(CRSError, SitingError)
    assert issubclass(DataSourceError, OSError)
    assert issubclass(OutputError, OSError)
    assert issubclass(InputDataError, ValueError)
    assert issubclass(ConfigError, ValueError)


def test_degrees_refused_with_fix() -> None:
    with pytest.raises(CRSError, match=r"EPSG:4326 \(degrees\).*to_crs"):
        require_projected(_layer(4326), "hazards")
    with pytest.raises(CRSError, match="no CRS"):
        require_projected(_layer(None), "hazards")
    with pytest.raises(CRSError, match="foot"):
        require_projected(_layer(2263), "hazards")  # NY State Plane, feet
    require_projected(_layer(32651), "hazards")


def test_same_crs() -> None:
    with pytest.raises(CRSError, match=r"to_crs\(parcels.crs\)"):
        require_same_crs(_layer(32651), "parcels", _layer(32650), "hazards")
    require_same_crs(_layer(32651), "parcels", _layer(32651), "hazards")


def test_columns_and_empty() -> None:
    with pytest.raises(InputDataError, match=r"\['voltage'\]"):
        require_columns(_layer(32651), "power", ["a", "voltage"])
    with pytest.raises(InputDataError, match="empty; add some"):
        require_nonempty(_layer(32651).iloc[:0], "parcels", hint="add some")
